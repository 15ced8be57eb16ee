# Read by ctest in the mips64el build (tests/arch/mips64el/tests.cmake), after the Catch2
# tests are defined: tests that QEMU user mode cannot host on MIPS, each printed with why.
#
# MIPS numbers errno differently from the other Linux ports (ECONNREFUSED is 146, not
# 111). qemu-mips64el 7.2 translates a system call's errno, but not the error that
# getsockopt(SO_ERROR) returns: a non-blocking connect to a closed port reports 111, the
# host's number (checked with a 12-line C program: connect fails with EINPROGRESS, 150,
# translated; SO_ERROR then gives 111). On a MIPS kernel SO_ERROR is 146. These tests
# compare that error with ECONNREFUSED, so they cannot pass under this QEMU.
foreach(t "stream::connect by host name: localhost reaches a listener, a refused port names the host and addresses tried"
          "peer reset and broken pipe surface as std::system_error, no SIGPIPE")
  set_tests_properties("${t}" PROPERTIES DISABLED TRUE)
  message("tasklets: SKIPPED under qemu-mips64el: \"${t}\": QEMU 7.2 does not translate the errno that getsockopt(SO_ERROR) returns (ECONNREFUSED arrives as the host's 111, not MIPS's 146)")
endforeach()
