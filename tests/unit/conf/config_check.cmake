# Run `ferry config check CONFIG` and compare its exit status with
# EXPECT_RC and its output (stdout then stderr) with the file EXPECT_FILE.
# -DCONFIG= (empty) runs `ferry config check` without a file.
if(CONFIG STREQUAL "")
  set(args config check)
else()
  set(args config check ${CONFIG})
endif()
execute_process(COMMAND ${FERRY} ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
file(READ ${EXPECT_FILE} expected)
set(got "${out}${err}")
if(NOT rc EQUAL EXPECT_RC)
  message(FATAL_ERROR "ferry ${args}: exit status ${rc}, expected ${EXPECT_RC}\n${got}")
endif()
if(NOT got STREQUAL expected)
  message(FATAL_ERROR "ferry ${args}: output differs\n--- expected\n${expected}--- got\n${got}")
endif()
