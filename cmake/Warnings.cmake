# Strict warnings for the project's own targets only (dependencies are system headers).
# Warnings are errors only in our own builds (build.sh and CI turn NVME_MPATH_WERROR on): a
# packager's or user's compiler may warn where ours does not, and that must not break a build.
option(NVME_MPATH_WERROR "Treat compiler warnings as errors (build.sh and CI: ON)" OFF)

function(nvmemp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough)
  if(NVME_MPATH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
