# Arrow IPC tests beyond test_ipc (which the glob in tests/CMakeLists.txt registers): interop with
# Apache Arrow's JavaScript implementation and Arrow's golden integration files (label interop).
# They skip (exit 77) when node, node_modules or ../shared/arrow-golden are missing.
if(TARGET expstore_shell AND TARGET test_ipc)
  foreach(mode js-writes js-reads golden)
    add_test(NAME ipc_interop_${mode}
      COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/ipc_interop.sh ${mode}
              $<TARGET_FILE:expstore_shell> $<TARGET_FILE:test_ipc>
              ${PROJECT_BINARY_DIR}/ipc_interop/${mode})
    set_tests_properties(ipc_interop_${mode} PROPERTIES LABELS interop TIMEOUT 300
      SKIP_RETURN_CODE 77
      ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")
  endforeach()
endif()
