# Object store tests (owner: object store layer). test_objstore itself is registered by the
# glob in tests/CMakeLists.txt; this file adds the conformance suite run through the wrapper
# backends selected by URI (read cache over fault injection over mem), which exercises the
# ES_TEST_STORE_URI path used to run the same suite against real S3 servers:
#   ES_TEST_STORE_URI=s3://bucket/prefix ES_TEST_STORE_ONLY=1 build/tests/test_objstore
add_test(NAME objstore_wrappers COMMAND test_objstore)
set_tests_properties(objstore_wrappers PROPERTIES LABELS unit TIMEOUT 300 SKIP_RETURN_CODE 77
  ENVIRONMENT "ES_SOURCE_DIR=${PROJECT_SOURCE_DIR};ES_BUILD_DIR=${PROJECT_BINARY_DIR};ES_TEST_STORE_URI=cache+fault+mem://wrappers;ES_TEST_STORE_ONLY=1")
