# Table layer extras (owner: table layer). test_table and test_log are registered by the glob in
# tests/CMakeLists.txt. This adds:
#  - table_interop_js: the .data files of a store written by `test_table --interop DIR` are read
#    with Apache Arrow's JavaScript implementation (tests/js/dump.mjs) and must contain exactly
#    the inserted rows (label interop; skipped, exit 77, when node or node_modules is missing).
find_program(ES_NODE node)
add_test(NAME table_interop_js
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/table_interop.sh $<TARGET_FILE:test_table>
                 ${PROJECT_BINARY_DIR}/table_interop "${ES_NODE}")
set_tests_properties(table_interop_js PROPERTIES LABELS "unit;interop" TIMEOUT 120
  SKIP_RETURN_CODE 77
  ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")

# dict_interop_js: dictionary-encoded strings both ways with Apache Arrow JS (tests/dict_interop.sh).
if(TARGET expstore_shell)
  add_test(NAME dict_interop_js
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/dict_interop.sh $<TARGET_FILE:expstore_shell>
                   ${PROJECT_BINARY_DIR}/dict_interop "${ES_NODE}")
  set_tests_properties(dict_interop_js PROPERTIES LABELS "unit;interop" TIMEOUT 120
    SKIP_RETURN_CODE 77
    ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
endif()
