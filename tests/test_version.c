/*
 * test_version: the version macros of expstore.h agree with each other and with the library
 * (es_version, es_version_number). CMakeLists.txt reads the same macros for project(VERSION),
 * so the soname, expstore.pc and the CMake package follow (tests/install.sh checks those).
 */
#include <stdio.h>

#include "check.h"
#include "expstore/expstore.h"

int main(void)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%d.%d.%d", ES_VERSION_MAJOR, ES_VERSION_MINOR, ES_VERSION_PATCH);
    CHECK_EQ_STR(buf, ES_VERSION_STRING);
    CHECK_EQ_STR(es_version(), ES_VERSION_STRING);
    CHECK_EQ_INT(es_version_number(), ES_VERSION_NUMBER);
    CHECK_EQ_INT(ES_VERSION_NUMBER,
                 ES_VERSION_MAJOR * 1000000 + ES_VERSION_MINOR * 1000 + ES_VERSION_PATCH);
#if ES_VERSION_NUMBER < 1000
#error "ES_VERSION_NUMBER must be usable in #if (0.1.0 is 1000)"
#endif
    return CHECK_DONE();
}
