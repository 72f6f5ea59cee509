# Strict warnings for the project's own targets only (dependencies are system headers).
function(nvmemp_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Werror -Wshadow -Wnon-virtual-dtor
                         -Wimplicit-fallthrough)
endfunction()
