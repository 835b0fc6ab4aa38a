# Table alterations (owner: table layer, alter.c). test_alter and test_sql_alter_diff are
# registered by the glob in tests/CMakeLists.txt. This adds:
#  - alter_interop_js: the .data files of a store written by `test_alter --interop DIR` before
#    and after alterations (a column added with a default, one widened, one dropped) are read
#    with Apache Arrow's JavaScript implementation (tests/js/dump.mjs) and must contain exactly
#    the inserted rows under the physical names and types each part was written with (label
#    interop; skipped, exit 77, when node or node_modules is missing).
find_program(ES_NODE node)
add_test(NAME alter_interop_js
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/table_interop.sh $<TARGET_FILE:test_alter>
                 ${PROJECT_BINARY_DIR}/alter_interop "${ES_NODE}" 0)
set_tests_properties(alter_interop_js PROPERTIES LABELS "unit;interop" TIMEOUT 120
  SKIP_RETURN_CODE 77
  ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
