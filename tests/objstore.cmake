# Object store tests (owner: object store layer). test_objstore itself is registered by the
# glob in tests/CMakeLists.txt; this file adds the conformance suite run through the wrapper
# backends selected by URI (read cache over fault injection over mem), which exercises the
# ES_TEST_STORE_URI path used to run the same suite against real S3 servers:
#   ES_TEST_STORE_URI=s3://bucket/prefix ES_TEST_STORE_ONLY=1 build/tests/test_objstore
# (and test_objstore_faults, test_objstore_cache).
# The suite is three executables (test_objstore: conformance; test_objstore_faults: fault
# loops, races, allocation failures; test_objstore_cache: the read cache): objstore_wrappers,
# objstore_wrappers_faults and objstore_wrappers_cache.
foreach(t test_objstore test_objstore_faults test_objstore_cache)
  string(REPLACE "test_objstore" "objstore_wrappers" name ${t})
  add_test(NAME ${name} COMMAND ${t})
  set_tests_properties(${name} PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77
    ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR};ES_TEST_STORE_URI=cache+fault+mem://wrappers;ES_TEST_STORE_ONLY=1")
endforeach()
