/*
 * api: the library's version at run time (es_version, es_version_number), for programs to
 * compare with the ES_VERSION_* macros of the headers they were compiled with. Top layer.
 */
#include "expstore/expstore.h"

_Static_assert(ES_VERSION_MINOR < 1000 && ES_VERSION_PATCH < 1000,
               "ES_VERSION_NUMBER gives MINOR and PATCH three digits each");

const char *es_version(void)
{
    return ES_VERSION_STRING;
}

int es_version_number(void)
{
    return ES_VERSION_NUMBER;
}
