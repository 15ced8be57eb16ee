# Optional: the cereal adapter, include/tasklets/serial_cereal.hpp, for Debian's header-only
# cereal (libcereal-dev). The library never includes it, so nothing here changes the
# library; the adapter's test is built when the headers are found. A cross build searches
# only the target prefix, so the host's copy (headers only, the same for every
# architecture) is offered through a directory that holds nothing else, as the Catch2 shim
# does (toolchains/catch2): adding the host's /usr/include would bring its libc headers.
# Sets TASKLETS_CEREAL_DIR (empty if not found) and reports it.
find_path(TASKLETS_CEREAL_INCLUDE cereal/cereal.hpp)
set(TASKLETS_CEREAL_DIR "")
if(TASKLETS_CEREAL_INCLUDE)
  set(TASKLETS_CEREAL_DIR ${TASKLETS_CEREAL_INCLUDE})
elseif(EXISTS /usr/include/cereal/cereal.hpp)
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/cereal-include)
  file(CREATE_LINK /usr/include/cereal ${CMAKE_BINARY_DIR}/cereal-include/cereal SYMBOLIC)
  set(TASKLETS_CEREAL_DIR ${CMAKE_BINARY_DIR}/cereal-include)
endif()
if(TASKLETS_CEREAL_DIR)
  message(STATUS "tasklets: serialisation adapter tasklets/serial_cereal.hpp: cereal found (${TASKLETS_CEREAL_DIR})")
else()
  message(STATUS "tasklets: serialisation adapter tasklets/serial_cereal.hpp: cereal not found "
                 "(install libcereal-dev); its test is not built")
endif()
