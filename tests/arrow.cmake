# Arrow layer extras: the canonical JSON of Exp Store's builders must match, byte for byte, what
# Apache Arrow's JS implementation prints for the same values (tests/js/arrow_parity.sh), and what
# `expstore arrow-dump` prints for the files apache-arrow wrote.
find_program(ES_NODE node)
if(ES_NODE)
  set(es_arrow_parity_cmd sh ${CMAKE_CURRENT_SOURCE_DIR}/js/arrow_parity.sh
      $<TARGET_FILE:test_arrow_json> ${ES_NODE} ${CMAKE_CURRENT_BINARY_DIR}/arrow_parity)
  if(TARGET expstore_shell)
    list(APPEND es_arrow_parity_cmd $<TARGET_FILE:expstore_shell>)
  endif()
  add_test(NAME arrow_json_parity COMMAND ${es_arrow_parity_cmd})
  set_tests_properties(arrow_json_parity PROPERTIES LABELS "unit;interop" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endif()
