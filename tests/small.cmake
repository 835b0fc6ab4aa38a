# test_small runs as two CTest entries, by section (tests/test_small.c, main): test_small the
# mem:// and local directory sections (ES_TEST_SECTIONS), test_small_shell (its argument) the
# sections that drive the expstore binary (kill -9 of a shell mid-stream, an alteration racing
# a commit window), the slowest part, so that neither entry nears its timeout on a loaded
# machine.
if(TARGET test_small)
  set_tests_properties(test_small PROPERTIES ENVIRONMENT
    "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR};ES_TEST_SECTIONS=mem,dir")
  add_test(NAME test_small_shell COMMAND test_small shell)
  set_tests_properties(test_small_shell PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
  if(TARGET expstore_shell)
    add_dependencies(test_small expstore_shell)
  endif()
endif()
