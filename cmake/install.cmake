# Install rules: headers, the library, the CMake package (find_package(tasklets CONFIG) ->
# tasklets::tasklets, with version checking), tasklets.pc, and the gdb extension.
#
#   cmake -B build -DCMAKE_INSTALL_PREFIX=/opt/tasklets [-DBUILD_SHARED_LIBS=ON]
#   cmake --build build && cmake --install build
#
# One prefix holds one variant (static or shared): both export the same target name.
# Included from the top-level CMakeLists.txt after the tasklets target is defined.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

option(TASKLETS_INSTALL "Generate the install rules for tasklets" ${PROJECT_IS_TOP_LEVEL})

# The gdb extension, also placed next to a built shared library so that gdb auto-loads it
# in the build tree (subject to gdb's auto-load safe-path, see README).
set(TASKLETS_GDB_SCRIPT ${CMAKE_CURRENT_SOURCE_DIR}/tools/gdb/tasklets_gdb.py)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${TASKLETS_GDB_SCRIPT})
if(BUILD_SHARED_LIBS)
  add_custom_command(TARGET tasklets POST_BUILD
    COMMAND ${CMAKE_COMMAND} -E copy_if_different ${TASKLETS_GDB_SCRIPT} $<TARGET_FILE:tasklets>-gdb.py
    VERBATIM)
endif()

if(NOT TASKLETS_INSTALL)
  return()
endif()

set(TASKLETS_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/tasklets)
# For `source` in gdb (static links, or a gdb that does not auto-load).
set(TASKLETS_INSTALL_GDB_SCRIPT ${CMAKE_INSTALL_DATADIR}/tasklets/gdb/tasklets_gdb.py)

install(TARGETS tasklets EXPORT tasklets-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} NAMELINK_COMPONENT Development
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/tasklets DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp")
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/include/tasklets/version.hpp
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tasklets)

# ---- CMake package --------------------------------------------------------------------------
install(EXPORT tasklets-targets NAMESPACE tasklets:: DESTINATION ${TASKLETS_INSTALL_CMAKEDIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/tasklets-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/tasklets-config.cmake
  INSTALL_DESTINATION ${TASKLETS_INSTALL_CMAKEDIR}
  PATH_VARS TASKLETS_INSTALL_GDB_SCRIPT)
# Before 1.0 a minor release may break the API (semantic versioning), so 0.x.* only
# satisfies a request for the same 0.x; from 1.0 on, the same major version does.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(TASKLETS_COMPATIBILITY SameMinorVersion)
else()
  set(TASKLETS_COMPATIBILITY SameMajorVersion)
endif()
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/tasklets-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY ${TASKLETS_COMPATIBILITY})
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tasklets-config.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/tasklets-config-version.cmake
  DESTINATION ${TASKLETS_INSTALL_CMAKEDIR})

# ---- pkg-config -------------------------------------------------------------------------------
# Paths relative to the .pc file's own directory, so the prefix may move (cmake --install
# --prefix, DESTDIR, a copied tree).
set(TASKLETS_PC_DIR ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
cmake_path(RELATIVE_PATH CMAKE_INSTALL_PREFIX BASE_DIRECTORY ${CMAKE_INSTALL_PREFIX}/${TASKLETS_PC_DIR}
           OUTPUT_VARIABLE TASKLETS_PC_TO_PREFIX)
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
  set(TASKLETS_PC_LIBDIR ${CMAKE_INSTALL_LIBDIR})
else()
  set(TASKLETS_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  set(TASKLETS_PC_INCLUDEDIR ${CMAKE_INSTALL_INCLUDEDIR})
else()
  set(TASKLETS_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
# The io_uring backend links liburing: a static libtasklets' users link it too, a shared
# one's only for static linking (Libs.private).
set(TASKLETS_PC_LIBS "")
set(TASKLETS_PC_LIBS_PRIVATE "")
if(TASKLETS_HAVE_URING)
  if(BUILD_SHARED_LIBS)
    set(TASKLETS_PC_LIBS_PRIVATE "Libs.private: -luring")
  else()
    set(TASKLETS_PC_LIBS " -luring")
  endif()
endif()
configure_file(${CMAKE_CURRENT_LIST_DIR}/tasklets.pc.in ${CMAKE_CURRENT_BINARY_DIR}/tasklets.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/tasklets.pc DESTINATION ${TASKLETS_PC_DIR})

# ---- gdb extension ------------------------------------------------------------------------------
install(FILES ${TASKLETS_GDB_SCRIPT} DESTINATION ${CMAKE_INSTALL_DATADIR}/tasklets/gdb)
if(BUILD_SHARED_LIBS)
  # gdb's convention: <datadir>/gdb/auto-load/<real path of the library's directory>/
  # <library file name>-gdb.py, loaded when the library is (for a prefix other than /usr,
  # gdb must be told about the directory: see README, "Debugging with gdb"). The path
  # depends on the prefix, which `cmake --install --prefix` may change: computed at install time.
  get_target_property(TASKLETS_SO_VERSION tasklets VERSION)
  set(TASKLETS_SO_NAME ${CMAKE_SHARED_LIBRARY_PREFIX}tasklets${CMAKE_SHARED_LIBRARY_SUFFIX}.${TASKLETS_SO_VERSION})
  install(CODE "
    set(_tasklets_libdir \"${CMAKE_INSTALL_LIBDIR}\")
    if(NOT IS_ABSOLUTE \"\${_tasklets_libdir}\")
      set(_tasklets_libdir \"\${CMAKE_INSTALL_PREFIX}/\${_tasklets_libdir}\")
    endif()
    if(EXISTS \"\$ENV{DESTDIR}\${_tasklets_libdir}\" AND \"\$ENV{DESTDIR}\" STREQUAL \"\")
      file(REAL_PATH \"\${_tasklets_libdir}\" _tasklets_libdir)
    endif()
    file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_DATADIR}/gdb/auto-load\${_tasklets_libdir}\"
         TYPE FILE RENAME \"${TASKLETS_SO_NAME}-gdb.py\" FILES \"${TASKLETS_GDB_SCRIPT}\")
  ")
endif()
