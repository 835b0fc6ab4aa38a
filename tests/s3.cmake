# S3 tests against real S3-compatible servers on loopback (label s3). Each server is a CTest
# fixture: a setup test starts it on a free port with its data in the build tree, the tests
# that need it run through tests/s3/with-env (which skips them, exit 77, when the server could
# not start because its binaries are missing), and a cleanup test stops it.
#   Ceph RADOS Gateway (Debian radosgw ceph-mon ceph-osd): the main server; the S3 backend's
#     own tests (test_s3) and the object-store conformance suite (test_objstore).
#   s3rver (node_modules): ignores If-None-Match on PUT; checks conditional-write detection.
# Run: ctest -L s3   (about 30 s; needs no network beyond loopback)
set(ES_S3_RUN ${PROJECT_BINARY_DIR}/s3-servers)
set(ES_S3_TOOLS ${CMAKE_CURRENT_SOURCE_DIR}/s3)

add_test(NAME s3_rgw_start COMMAND ${ES_S3_TOOLS}/rgw-start ${ES_S3_RUN}/rgw)
set_tests_properties(s3_rgw_start PROPERTIES FIXTURES_SETUP s3_rgw LABELS s3 TIMEOUT 120
  SKIP_RETURN_CODE 77)
add_test(NAME s3_rgw_stop COMMAND ${ES_S3_TOOLS}/rgw-stop ${ES_S3_RUN}/rgw)
set_tests_properties(s3_rgw_stop PROPERTIES FIXTURES_CLEANUP s3_rgw LABELS s3 TIMEOUT 60)

add_test(NAME s3_s3rver_start COMMAND ${ES_S3_TOOLS}/s3rver-start ${ES_S3_RUN}/s3rver
  ${PROJECT_SOURCE_DIR})
set_tests_properties(s3_s3rver_start PROPERTIES FIXTURES_SETUP s3_s3rver LABELS s3 TIMEOUT 60
  SKIP_RETURN_CODE 77)
add_test(NAME s3_s3rver_stop COMMAND ${ES_S3_TOOLS}/s3rver-stop ${ES_S3_RUN}/s3rver)
set_tests_properties(s3_s3rver_stop PROPERTIES FIXTURES_CLEANUP s3_s3rver LABELS s3 TIMEOUT 30)

set(ES_S3_TEST_ENV "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR}")

if(TARGET test_s3)
  add_test(NAME test_s3_rgw
    COMMAND ${ES_S3_TOOLS}/with-env ${ES_S3_RUN}/rgw rgw $<TARGET_FILE:test_s3>)
  set_tests_properties(test_s3_rgw PROPERTIES FIXTURES_REQUIRED s3_rgw LABELS s3 TIMEOUT 120
    SKIP_RETURN_CODE 77 ENVIRONMENT "${ES_S3_TEST_ENV}")
  add_test(NAME test_s3_s3rver
    COMMAND ${ES_S3_TOOLS}/with-env ${ES_S3_RUN}/s3rver s3rver $<TARGET_FILE:test_s3>)
  set_tests_properties(test_s3_s3rver PROPERTIES FIXTURES_REQUIRED s3_s3rver LABELS s3
    TIMEOUT 60 SKIP_RETURN_CODE 77 ENVIRONMENT "${ES_S3_TEST_ENV}")
endif()

# The conformance suite of the object store layer against RGW only (ES_TEST_STORE_ONLY), with
# fewer list keys and race rounds than its defaults to stay fast, and without its "flaky"
# sections (injected transient failures test the dispatch layer's retries, which the mem and
# local runs cover; on RGW they would double the time): test_objstore_rgw,
# test_objstore_faults_rgw (fault loops, races, allocation failures), test_objstore_cache_rgw.
foreach(t test_objstore test_objstore_faults test_objstore_cache)
  if(TARGET ${t})
    add_test(NAME ${t}_rgw
      COMMAND ${ES_S3_TOOLS}/with-env ${ES_S3_RUN}/rgw rgw $<TARGET_FILE:${t}>)
    set_tests_properties(${t}_rgw PROPERTIES FIXTURES_REQUIRED s3_rgw LABELS s3
      TIMEOUT 180 SKIP_RETURN_CODE 77
      ENVIRONMENT "${ES_S3_TEST_ENV};ES_TEST_LIST_KEYS=1001;ES_TEST_RACE_ROUNDS=10;ES_TEST_SECTIONS=basic,get_many,list,counters,keys,fault,race,nomem,cache")
  endif()
endforeach()

# The table layer, the commit log and the SQL shell against RGW: each through with-env, so
# each run gets its own fresh prefix (s3://bucket/run-PID-RANDOM) in a bucket that lives in
# memory and vanishes when s3_rgw_stop stops the gateway; the tests need no cleanup of their own.
#   test_table_rgw: every section of test_table on the prefix, with 120 oracle predicates
#     instead of 400 and a pruning test of 400 thousand rows instead of 10 million (the ranged
#     GETs a narrow query makes are still counted).
#   test_log_rgw: conflicts, checkpoints, and 4 forked writers appending to one table at once
#     (conditional PUTs of the log entries race for real).
#   test_delete_rgw: deletion vectors (inline and .delta objects) and 30 deletes, updates and
#     upserts against SQLite.
#   test_delete_conflicts_rgw: the conflict matrix and 3 threads deleting, updating and
#     upserting rows of one part at once; test_delete_procs_rgw: 4 forked processes deleting
#     disjoint rows of one part, then deleting and updating overlapping rows (every version
#     checked by time travel).
#   test_txn_rgw: transactions: basics, the conflict matrix, write skew, SQL;
#     test_txn_history_rgw: the history checker and the bank (6 forked processes transferring
#     between accounts split across two tables for 3 seconds, every committed version checked
#     by time travel).
#   test_small_rgw: rows inlined in the log (deletes, updates, flushes, time travel), count(*),
#     min and max from the statistics, and 8 threads and 8 forked processes inserting single
#     rows into one table at once (every acknowledged row once, no hole in the versions).
#   test_growth_rgw: vacuum, log retention, the horizon, and 3 forked processes inserting,
#     deleting, updating, compacting and vacuuming at once for 4 rounds, checked against
#     SQLite and fsck after each round.
#   test_alter_rgw: table alterations: widening, drop and re-add, time travel, the conflict
#     matrix, and two forked processes inserting and altering one table at once.
#   test_shell_rgw: the real expstore binary with -c/-f/stdin on the prefix.
#   test_shell_diff_rgw: the shell against SQLite as an oracle on the prefix (150 queries
#     piped to one process, instead of the local run's 400).
#   test_roundtrips_rgw: the exact requests and round trips of point queries and scans, fresh
#     and warm, through the fault store's latency on the prefix.
#   test_index_rgw: unique keys under concurrency: an update rebased over an insert of its new
#     key, two transactions inserting one key, 4 forked processes inserting overlapping keys
#     (no key committed twice, every acknowledged insert present).
foreach(t test_table test_log test_delete test_delete_conflicts test_delete_procs test_txn
    test_txn_history test_shell test_shell_diff test_small test_growth test_alter test_index
    test_roundtrips)
  if(TARGET ${t})
    add_test(NAME ${t}_rgw
      COMMAND ${ES_S3_TOOLS}/with-env ${ES_S3_RUN}/rgw rgw $<TARGET_FILE:${t}>)
    set_tests_properties(${t}_rgw PROPERTIES FIXTURES_REQUIRED s3_rgw LABELS s3 TIMEOUT 180
      SKIP_RETURN_CODE 77 ENVIRONMENT "${ES_S3_TEST_ENV}")
  endif()
endforeach()
if(TARGET test_shell_diff)
  set_tests_properties(test_shell_diff_rgw PROPERTIES
    ENVIRONMENT "${ES_S3_TEST_ENV};ES_SHELL_DIFF_QUERIES=150")
endif()
