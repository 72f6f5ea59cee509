# Strict warnings for the project's own targets only (dependencies are system headers).
# Warnings are errors only in our own builds (build.sh and CI turn NVME_MPATH_WERROR on): a
# packager's or user's compiler may warn where ours does not, and that must not break a build.
option(NVME_MPATH_WERROR "Treat compiler warnings as errors (build.sh and CI: ON)" OFF)

function(nvmemp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wnon-virtual-dtor -Wimplicit-fallthrough)
  if(NVME_MPATH_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
    # GCC 12 reports -Warray-bounds/-Wrestrict inside libstdc++'s inlined string and vector code
    # where there is no out-of-bounds access (GCC bugs 105329, 105651; where they appear moves
    # with inlining, e.g. under a precompiled header). They stay warnings there; ASan checks the
    # real thing.
    if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
      target_compile_options(${target} PRIVATE -Wno-error=array-bounds -Wno-error=restrict)
    endif()
  endif()
endfunction()
