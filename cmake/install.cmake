# Install rules (included by the top-level CMakeLists.txt when ES_INSTALL is on, the default
# when Exp Store is the top-level project). `cmake --install build --prefix P` gives:
#   P/include/expstore/*.h, sys/*.h      the public headers
#   P/lib/libexpstore.so.VERSION         with soname libexpstore.so.ES_SOVERSION and symlinks
#   P/lib/libexpstore.a                  the same library, static
#   P/lib/pkgconfig/expstore.pc          pkg-config: Libs -lexpstore; Libs.private for --static
#   P/lib/cmake/expstore/                find_package(expstore): expstore::expstore (shared) and
#                                        expstore::expstore_static
#   P/bin/expstore                       the SQL shell (statically linked to the library)
#   P/share/man/man1/expstore.1          its manual
# (lib is CMAKE_INSTALL_LIBDIR: lib/<multiarch> on Debian when the prefix is /usr.)
include(CMakePackageConfigHelpers)

install(TARGETS expstore expstore_static EXPORT expstoreTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/expstore DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h")
if(TARGET expstore_shell)
  install(TARGETS expstore_shell RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  configure_file(${PROJECT_SOURCE_DIR}/docs/expstore.1 ${PROJECT_BINARY_DIR}/expstore.1 @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/expstore.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
endif()

# The CMake package. Relocatable: paths are relative to the installed config file. While the
# major version is 0 a minor release may break compatibility, as the soname says.
set(ES_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/expstore)
install(EXPORT expstoreTargets NAMESPACE expstore:: DESTINATION ${ES_CMAKE_DIR}
       )
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/expstoreConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmake/expstoreConfig.cmake INSTALL_DESTINATION ${ES_CMAKE_DIR})
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(es_compat SameMinorVersion)
else()
  set(es_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmake/expstoreConfigVersion.cmake
  COMPATIBILITY ${es_compat})
install(FILES ${PROJECT_BINARY_DIR}/cmake/expstoreConfig.cmake
              ${PROJECT_BINARY_DIR}/cmake/expstoreConfigVersion.cmake
        DESTINATION ${ES_CMAKE_DIR})

# pkg-config. The prefix is the one given at install time (cmake --install --prefix P), not
# the CMAKE_INSTALL_PREFIX of the configure step, so the file is written when installing.
foreach(dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${dir}}")
    set(ES_PC_${dir} "${CMAKE_INSTALL_${dir}}")
  else()
    set(ES_PC_${dir} "\${prefix}/${CMAKE_INSTALL_${dir}}")
  endif()
endforeach()
set(ES_PC_PREFIX "@ES_PC_PREFIX@") # filled in at install time
configure_file(${CMAKE_CURRENT_LIST_DIR}/expstore.pc.in ${PROJECT_BINARY_DIR}/cmake/expstore.pc.in
               @ONLY)
install(CODE "
  set(ES_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/cmake/expstore.pc.in\"
                 \"${PROJECT_BINARY_DIR}/cmake/expstore.pc\" @ONLY)")
install(FILES ${PROJECT_BINARY_DIR}/cmake/expstore.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
