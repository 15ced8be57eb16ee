# Runs doxygen (when DOXYGEN and DOXYFILE are given) and reads its warning log (LOG, the
# Doxyfile's WARN_LOGFILE). A non-empty log is printed; with STRICT=ON it is also an error
# (the ctest test "api reference: doxygen builds it with no warnings"), with STRICT=OFF only
# shown (the tasklets_docs target).
#   cmake -DDOXYGEN=doxygen -DDOXYFILE=<build>/docs-test/Doxyfile -DLOG=<log> -DSTRICT=ON -P check_doxygen_log.cmake
if(DOXYGEN)
  file(REMOVE ${LOG})
  execute_process(COMMAND ${DOXYGEN} ${DOXYFILE} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "doxygen ${DOXYFILE} failed (exit ${rc})")
  endif()
endif()
if(NOT EXISTS ${LOG})
  message(FATAL_ERROR "doxygen wrote no warning log ${LOG} (WARN_LOGFILE)")
endif()
file(READ ${LOG} warnings)
string(STRIP "${warnings}" warnings)
if(warnings)
  if(STRICT)
    message(FATAL_ERROR "doxygen warned (fix the /// comments in include/tasklets):\n${warnings}")
  endif()
  message(WARNING "doxygen warned (ctest's \"api reference\" test fails on these):\n${warnings}")
endif()
