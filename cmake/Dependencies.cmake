# Every dependency is a Debian 12 package; build.sh installs them (see DEBIAN_PACKAGES there).
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBNVME REQUIRED IMPORTED_TARGET libnvme>=1.3)     # libnvme-dev
pkg_check_modules(LIBURING REQUIRED IMPORTED_TARGET liburing>=2.3)   # liburing-dev
pkg_check_modules(LIBUDEV REQUIRED IMPORTED_TARGET libudev)          # libudev-dev
pkg_check_modules(LIBSYSTEMD REQUIRED IMPORTED_TARGET libsystemd)    # libsystemd-dev
pkg_check_modules(LIBISAL REQUIRED IMPORTED_TARGET libisal)          # libisal-dev (CRC32C)
pkg_check_modules(LIBNBD REQUIRED IMPORTED_TARGET libnbd)            # libnbd-dev (the demo's NBD client)
pkg_check_modules(FUSE3 REQUIRED IMPORTED_TARGET fuse3)              # libfuse3-dev (the SCSI tests' two-path FUSE file system)
find_package(OpenSSL 3 REQUIRED)                                     # libssl-dev (DH-HMAC-CHAP, TLS)
find_package(tl-expected REQUIRED)                                   # libexpected-dev
find_package(fmt REQUIRED)                                           # libfmt-dev
find_package(tomlplusplus REQUIRED)                                  # libtomlplusplus-dev
find_package(CLI11 REQUIRED)                                         # libcli11-dev
find_package(nlohmann_json REQUIRED)                                 # nlohmann-json3-dev
find_package(Catch2 2 REQUIRED)                                      # catch2 (v2)
