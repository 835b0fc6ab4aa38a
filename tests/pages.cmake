# Paged parts (es_open_options.batch_pages, docs/FORMAT.md sections 1-2, src/table/page.c): some
# tests run again with ES_BATCH_PAGES set, so that every part whose batch_rows is a multiple of 8
# is written as record batches of 3 pages (.idx version 3) and read through the page decoder:
#  - test_table_pages: all types, nulls, pruning, corruption, the SQLite oracle;
#  - test_compact_pages, test_sql_dict_pages: compaction and dictionary columns on pages;
#  - table_interop_js_pages: Apache Arrow JS reads the multi-frame .data files (one ZSTD frame
#    per page in each buffer) with the values inserted.
foreach(t test_table test_compact test_sql_dict)
  add_test(NAME ${t}_pages COMMAND ${t})
  set_tests_properties(${t}_pages PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "ES_BATCH_PAGES=3;ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
endforeach()
add_test(NAME table_interop_js_pages
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/table_interop.sh $<TARGET_FILE:test_table>
                 ${PROJECT_BINARY_DIR}/table_interop_pages "${ES_NODE}")
set_tests_properties(table_interop_js_pages PROPERTIES LABELS "unit;interop" TIMEOUT 120
  SKIP_RETURN_CODE 77
  ENVIRONMENT "ES_BATCH_PAGES=3;ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
