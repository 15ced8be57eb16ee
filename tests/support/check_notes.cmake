# cmake -DREADELF=<readelf> -DFILE=<elf> [-DEXPECT=<regex>] [-DREJECT=<regex>] -P check_notes.cmake
# Runs `readelf -n` on FILE and fails unless its GNU property lines match EXPECT and none
# matches REJECT. Used by the hardening tests (IBT/SHSTK on x86-64, BTI/PAC on AArch64).
execute_process(COMMAND ${READELF} -n ${FILE} OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "readelf -n ${FILE} failed (${rc}): ${err}")
endif()
string(REGEX MATCHALL "Properties:[^\n]*" props "${out}")
message("readelf -n ${FILE}:\n  ${props}")
if(DEFINED EXPECT AND NOT props MATCHES "${EXPECT}")
  message(FATAL_ERROR "expected a property matching '${EXPECT}'")
endif()
if(DEFINED REJECT AND props MATCHES "${REJECT}")
  message(FATAL_ERROR "found a property matching '${REJECT}', which must not be there")
endif()
message("ok")
