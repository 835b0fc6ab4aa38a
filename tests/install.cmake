# The library as users get it (tests/install.sh): cmake --install into a temporary prefix, then
# examples/hello.c built with pkg-config (shared and static), with find_package(expstore) and
# with add_subdirectory() of this source tree, and the installed program and man page. About
# 20 s on 2 cores (the add_subdirectory build compiles the library again). Not under
# sanitizers: that build is not what anyone installs, and programs linked without the
# sanitizer runtime cannot load it.
if(ES_INSTALL AND TARGET expstore_shell AND NOT ES_SANITIZE AND NOT ES_TSAN AND NOT ES_FUZZ)
  add_test(NAME install
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/install.sh ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR}
            ${PROJECT_VERSION} $<TARGET_SONAME_FILE_NAME:expstore> ${CMAKE_C_COMPILER})
  set_tests_properties(install PROPERTIES LABELS "unit;install" TIMEOUT 300)
endif()
