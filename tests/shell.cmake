# Shell tests: they drive the real expstore binary, so they depend on it being built.
if(TARGET expstore_shell)
  foreach(t test_shell test_shell_diff test_shell_regress test_shell_dml)
    if(TARGET ${t})
      add_dependencies(${t} expstore_shell)
      set_tests_properties(${t} PROPERTIES LABELS "unit;shell")
    endif()
  endforeach()
  # Interactive prompt through a real terminal (tmux); skipped when tmux is missing.
  add_test(NAME shell_tmux
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/shell/tmux_test.sh $<TARGET_FILE:expstore_shell>)
  set_tests_properties(shell_tmux PROPERTIES LABELS "unit;shell" TIMEOUT 120
                       SKIP_RETURN_CODE 77)
endif()
