/*
 * check.h: the test harness. Plain C executables; each CHECK counts a pass or a failure, and
 * CHECK_DONE() prints "N passed, N failed" and returns the exit status.
 *
 *   int main(void) { CHECK(1 + 1 == 2); CHECK_OK(es_something(...)); return CHECK_DONE(); }
 */
#ifndef ES_TEST_CHECK_H
#define ES_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;

/* Counted atomically: tests CHECK from several threads at once (flush races, writers). */
#define CHECK_PASS_() __atomic_fetch_add(&check_passed, 1, __ATOMIC_RELAXED)
#define CHECK_FAIL_() __atomic_fetch_add(&check_failed, 1, __ATOMIC_RELAXED)

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) {                                                                                \
            CHECK_PASS_();                                                                         \
        } else {                                                                                   \
            CHECK_FAIL_();                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

/* CHECK that a call returns ES_OK; prints the status and err.msg of an `es_error err` in scope
 * when it does not (pass NULL-safe message via CHECK_MSG). */
#define CHECK_OK(call)                                                                             \
    do {                                                                                           \
        int check_st_ = (int)(call);                                                               \
        if (check_st_ == 0) {                                                                      \
            CHECK_PASS_();                                                                         \
        } else {                                                                                   \
            CHECK_FAIL_();                                                                         \
            fprintf(stderr, "%s:%d: %s returned %d\n", __FILE__, __LINE__, #call, check_st_);      \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
    do {                                                                                           \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                            \
        if (check_a_ == check_b_) {                                                                \
            CHECK_PASS_();                                                                         \
        } else {                                                                                   \
            CHECK_FAIL_();                                                                         \
            fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__, __LINE__, #a, #b,  \
                    check_a_, check_b_);                                                           \
        }                                                                                          \
    } while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
    do {                                                                                           \
        const char *check_a_ = (a), *check_b_ = (b);                                               \
        if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) {                             \
            CHECK_PASS_();                                                                         \
        } else {                                                                                   \
            CHECK_FAIL_();                                                                         \
            fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, __LINE__, #a,  \
                    #b, check_a_ ? check_a_ : "(null)", check_b_ ? check_b_ : "(null)");           \
        }                                                                                          \
    } while (0)

/* Skip the whole test executable (CTest treats exit code 77 as skipped when SKIP_RETURN_CODE
 * is set; tests/CMakeLists sets it). */
#define CHECK_SKIP(why)                                                                            \
    do {                                                                                           \
        printf("SKIP: %s\n", why);                                                                 \
        return 77;                                                                                 \
    } while (0)

#define CHECK_DONE()                                                                               \
    (printf("%d passed, %d failed\n", check_passed, check_failed), check_failed ? 1 : 0)

/* CHECK that the string hay contains needle (printed with hay when not). */
#define CONTAINS(hay, needle)                                                                      \
    do {                                                                                           \
        const char *h_ = (hay), *n_ = (needle);                                                    \
        if (h_ && strstr(h_, n_)) {                                                                \
            CHECK_PASS_();                                                                         \
        } else {                                                                                   \
            CHECK_FAIL_();                                                                         \
            fprintf(stderr, "%s:%d: expected to find \"%s\" in:\n%s\n", __FILE__, __LINE__, n_,    \
                    h_ ? h_ : "(null)");                                                           \
        }                                                                                          \
    } while (0)

#endif /* ES_TEST_CHECK_H */
