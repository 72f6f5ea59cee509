#!/usr/bin/env bash
# nvme-mpath build entry point (Debian 12, run as root on a fresh machine is fine).
#   ./build.sh test       install missing packages, build, run the whole test suite (ctest)
#   ./build.sh demo       build, then run the demo (topology, I/O, failovers on a simulated fabric)
#   ./build.sh sanitize   ASan+UBSan build in build-asan/, runs the unit, fuzz and sim tests under it
#   ./build.sh fuzz [S]   clang + libFuzzer build in build-fuzz/, fuzzes each target S seconds
#   ./build.sh build      install missing packages and build only
#   ./build.sh perf [A]   install gnuplot-nox if missing, build, run the benchmark suite
#                         (build/bench/perf_suite A; --help lists its options)
# Environment: CI=true makes a real-target VM that cannot start a failure (not a skip);
# JOBS=N sets build parallelism (default: nproc); TEST_JOBS=N the tests ctest runs at once
# (default: nproc; more starves the emulated real-target VM into I/O stalls); UNITY=OFF compiles
# the library, tools and test binaries one file at a time (default ON: batched, a clean build
# takes less time; OFF suits edit-compile loops); BUILD_TYPE sets the CMake build type of
# build/ (default RelWithDebInfo; CI tests a Release build, what packagers compile).
# Our builds treat warnings as errors (NVME_MPATH_WERROR=ON; WERROR=OFF turns it off). Release
# optimizes at -O2 as Debian's packages do (CMakeLists.txt). A plain cmake build never treats
# warnings as errors.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$PWD
JOBS=${JOBS:-$(nproc)}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
WERROR=${WERROR:-ON}
UNITY=${UNITY:-ON}
TEST_JOBS=${TEST_JOBS:-$JOBS}

DEBIAN_PACKAGES=(cmake make g++ pkg-config git ca-certificates
  libnvme-dev liburing-dev libudev-dev libtomlplusplus-dev libfmt-dev catch2 libexpected-dev
  libcli11-dev nlohmann-json3-dev libsystemd-dev libisal-dev
  libssl-dev  # OpenSSL 3: DH-HMAC-CHAP (HMAC, SHA-2, FFDHE), the secure heap for keys
  libnbd-dev  # the demo's NBD client
  libnbd-bin qemu-utils  # real NBD clients in the tests: nbdinfo, nbdcopy, qemu-img, qemu-io
  libfuse3-dev fuse3 util-linux  # the SCSI tests: a FUSE file system under two loop devices (losetup)
  libjson-c-dev  # libnvme.pc names json-c; without it pkg-config warns
  gnutls-bin  # gnutls-serv: the TLS 1.3 PSK interop test's server (GnuTLS, not our OpenSSL)
  # the real-target VM (../shared/real-target/setup.sh installs qemu-system-x86 itself)
  gdb  # gcore: a core dump of the daemon is searched for authentication keys
  cpio python3)  # python3: probe.py, the independent host the sim tests also run
FUZZ_PACKAGES=(clang-14 libclang-rt-14-dev)
PERF_PACKAGES=(gnuplot-nox)  # the suite's latency PNG

log() { printf '== [%dm%02ds] %s\n' $((SECONDS / 60)) $((SECONDS % 60)) "$*"; }  # time since start

# The real tests that need nvmet with in-band authentication (Linux 6.12): ctest -R/-E regex.
AUTH_REAL_TESTS='^real: ?DH-HMAC-CHAP'
# The default kernel for the other real tests, whatever the caller's environment says.
unset RT_KERNEL RT_KERNEL_PKG

install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  if ((EUID != 0)); then
    echo "build.sh: missing Debian packages: ${missing[*]}; run as root or: apt-get install ${missing[*]}" >&2
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

configure_and_build() {  # dir, cmake args...
  local dir=$1
  shift
  cmake -S "$ROOT" -B "$ROOT/$dir" -DNVME_MPATH_WERROR=ON -DNVME_MPATH_UNITY="$UNITY" "$@" >/dev/null
  cmake --build "$ROOT/$dir" -j "$JOBS"
}

run_ctest() {  # dir, ctest args...
  local dir=$1
  shift
  ctest --test-dir "$ROOT/$dir" --output-on-failure -j "$TEST_JOBS" "$@"
}

cmd=${1:-test}
case $cmd in
  build)
    install_missing "${DEBIAN_PACKAGES[@]}"
    configure_and_build build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DNVME_MPATH_WERROR="$WERROR"
    ;;
  test)
    install_missing "${DEBIAN_PACKAGES[@]}"
    log "building (build/, $BUILD_TYPE)"
    configure_and_build build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DNVME_MPATH_WERROR="$WERROR"
    log "running the test suite (labels unit, fuzz, sim, real$([[ ${CI:-} == true ]] && echo ', CI=true: the real-target VM must start'))"
    # The real tests on Debian's default kernel (6.1), then the in-band authentication ones on
    # 6.12, whose nvmet has it (6.1 is built without): a second boot of the VM.
    run_ctest build -E "$AUTH_REAL_TESTS"
    log "running the DH-HMAC-CHAP real tests against nvmet on Linux 6.12"
    RT_KERNEL=6.12 run_ctest build -R "$AUTH_REAL_TESTS"
    ;;
  sanitize)
    install_missing "${DEBIAN_PACKAGES[@]}"
    log "building with ASan+UBSan (build-asan/)"
    # No benchmarks (no test runs them), no real tests unless REAL_UNDER_ASAN=1 (below), and
    # line tables only (-g1: what ASan's reports need): this build is the longest part of CI.
    real_tests=OFF
    [[ ${REAL_UNDER_ASAN:-} == 1 ]] && real_tests=ON
    configure_and_build build-asan -DCMAKE_BUILD_TYPE=Debug -DNVME_MPATH_SANITIZE=ON -DNVME_MPATH_BENCH=OFF \
      -DNVME_MPATH_REAL_TESTS="$real_tests" \
      -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1
    log "running the suite under ASan+UBSan (unit, fuzz, sim; the real tests run in \`test\`)"
    # Not the real tests: they prove the protocol against nvmet, which `test` does on the Release
    # build; the code paths they drive run here under the simulated target, the hostile target
    # and the fuzz corpora. A second pair of VM boots under ASan would cost CI ~2 minutes of its
    # 20. REAL_UNDER_ASAN=1 runs them here too (Debian's default kernel; the DH-HMAC-CHAP ones
    # need 6.12 and stay in `test`).
    local_filter=(-LE real)
    [[ ${REAL_UNDER_ASAN:-} == 1 ]] && local_filter=(-E "$AUTH_REAL_TESTS")
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      run_ctest build-asan "${local_filter[@]}"
    ;;
  fuzz)
    seconds=${2:-60}
    install_missing "${DEBIAN_PACKAGES[@]}" "${FUZZ_PACKAGES[@]}"
    log "building libFuzzer targets with clang-14 (build-fuzz/)"
    CC=clang-14 CXX=clang++-14 configure_and_build build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DNVME_MPATH_FUZZ=ON -DNVME_MPATH_SANITIZE=ON
    failed=0
    for corpus in "$ROOT"/tests/fuzz/corpus/*/; do
      name=$(basename "$corpus")
      work=$(mktemp -d)
      cp -r "$corpus". "$work"
      log "fuzzing $name for ${seconds}s (corpus copy in $work; crash inputs land in build-fuzz/)"
      rc=0
      (cd "$ROOT/build-fuzz" && "./tests/fuzz/${name}_fuzz" -max_total_time="$seconds" -print_final_stats=1 \
        "$work" >"fuzz-$name.log" 2>&1) || rc=$?
      grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' "$ROOT/build-fuzz/fuzz-$name.log" || true
      ((rc == 0)) || { echo "fuzz: $name failed (exit $rc), see build-fuzz/fuzz-$name.log" >&2; failed=1; }
      rm -rf "$work"
    done
    exit $failed
    ;;
  demo)
    install_missing "${DEBIAN_PACKAGES[@]}"
    log "building (build/)"
    configure_and_build build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DNVME_MPATH_WERROR="$WERROR"
    log "running the demo: mpath-connect demo (an embedded simulated target with two paths)"
    exec "$ROOT/build/tools/mpath-connect/mpath-connect" demo
    ;;
  perf)
    shift
    install_missing "${DEBIAN_PACKAGES[@]}" "${PERF_PACKAGES[@]}"
    log "building (build/, $BUILD_TYPE)"
    configure_and_build build -DCMAKE_BUILD_TYPE="$BUILD_TYPE" -DNVME_MPATH_WERROR="$WERROR"
    log "running the benchmark suite: build/bench/perf_suite $*"
    exec "$ROOT/build/bench/perf_suite" "$@"
    ;;
  *)
    sed -n '2,15p' "$0" >&2
    exit 2
    ;;
esac
