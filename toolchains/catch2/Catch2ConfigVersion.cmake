# The version rules are the host Catch2's own: the shim wraps exactly that installation.
include(/usr/lib/cmake/Catch2/Catch2ConfigVersion.cmake OPTIONAL RESULT_VARIABLE _tasklets_catch2_version)
if(NOT _tasklets_catch2_version)
  set(PACKAGE_VERSION_UNSUITABLE TRUE)
endif()
