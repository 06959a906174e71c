# Warnings are on for every target of ours and fatal unless FERRY_WERROR=OFF.
set(FERRY_C_WARNINGS
  -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow
  -Wpointer-arith -Wcast-align -Wwrite-strings -Wformat=2
  -Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough)
set(FERRY_CXX_WARNINGS -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2)
if(FERRY_WERROR)
  list(APPEND FERRY_C_WARNINGS -Werror)
  list(APPEND FERRY_CXX_WARNINGS -Werror)
endif()
add_compile_options(
  "$<$<COMPILE_LANGUAGE:C>:${FERRY_C_WARNINGS}>"
  "$<$<COMPILE_LANGUAGE:CXX>:${FERRY_CXX_WARNINGS}>")
add_compile_definitions(_GNU_SOURCE)
