# Shell tests: they drive the real expstore binary, so they depend on it being built.
if(TARGET expstore_shell)
  foreach(t test_shell test_shell_diff test_shell_regress test_shell_sql test_shell_ux test_shell_dml
            test_shell_stream)
    if(TARGET ${t})
      add_dependencies(${t} expstore_shell)
      set_tests_properties(${t} PROPERTIES LABELS "unit;shell")
    endif()
  endforeach()
  # 250,000 rows printed in every output mode take 5 minutes under the sanitizers (2 s plain):
  # the ASan pass of scripts/test leaves it out (label nosan), the plain pass runs it.
  if(TARGET test_shell_stream)
    set_tests_properties(test_shell_stream PROPERTIES LABELS "unit;shell;nosan")
  endif()
  # The numeric rules against DuckDB (tests/js/duckdb_oracle.mjs); skipped without node or
  # node_modules/@duckdb/node-api.
  add_test(NAME shell_duckdb_oracle
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/shell/duckdb_oracle.sh
                   $<TARGET_FILE:expstore_shell> ${PROJECT_BINARY_DIR}/duckdb_oracle)
  set_tests_properties(shell_duckdb_oracle PROPERTIES LABELS "unit;shell;interop" TIMEOUT 300
                       SKIP_RETURN_CODE 77
                       ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
  # README's SQL examples run as written; every dot-command of .help has an item in the manual.
  add_test(NAME shell_docs
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/shell/docs_test.sh $<TARGET_FILE:expstore_shell>
                   ${PROJECT_SOURCE_DIR})
  set_tests_properties(shell_docs PROPERTIES LABELS "unit;shell" TIMEOUT 120 SKIP_RETURN_CODE 77)
  # Interactive prompt through a real terminal (tmux); skipped when tmux is missing.
  add_test(NAME shell_tmux
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/shell/tmux_test.sh $<TARGET_FILE:expstore_shell>)
  set_tests_properties(shell_tmux PROPERTIES LABELS "unit;shell" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endif()
# The SQL SQLite lacks, against DuckDB (label interop; skipped, exit 77, without node or
# node_modules/@duckdb/node-api).
if(TARGET expstore_shell)
  find_program(ES_NODE node)
  add_test(NAME shell_duckdb
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/shell_duckdb.sh $<TARGET_FILE:expstore_shell>
                   ${PROJECT_BINARY_DIR}/shell_duckdb "${ES_NODE}")
  set_tests_properties(shell_duckdb PROPERTIES LABELS "unit;shell;interop" TIMEOUT 300
    SKIP_RETURN_CODE 77
    ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
endif()
