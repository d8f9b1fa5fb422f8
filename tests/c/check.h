/* check.h — tiny assertion helpers for prise's C test programs.
 * Every program arms alarm() so that it can never hang, and ends with
 * "N passed, 0 failed" when every check held. */
#ifndef PRISE_CHECK_H
#define PRISE_CHECK_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "prise.h"

static int checks_passed;
static int checks_failed;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        if (cond) {                                                                     \
            checks_passed++;                                                            \
        } else {                                                                        \
            checks_failed++;                                                            \
            fprintf(stderr, "%s:%d: check failed: %s (errno %d %s; last error: %s)\n", \
                    __FILE__, __LINE__, #cond, errno, strerror(errno),                  \
                    prise_last_error());                                                \
        }                                                                               \
    } while (0)

/* A call that must fail with errno `err` and leave a non-empty sentence. */
#define CHECK_FAILS(call, bad, err)                                                       \
    do {                                                                                  \
        errno = 0;                                                                        \
        long long result_ = (long long)(call);                                            \
        int errno_ = errno;                                                               \
        if (result_ == (long long)(bad) && errno_ == (err) && prise_last_error()[0]) {   \
            checks_passed++;                                                              \
        } else {                                                                          \
            checks_failed++;                                                              \
            fprintf(stderr, "%s:%d: %s returned %lld errno %d (%s), wanted %lld errno %d (%s);" \
                    " last error: %s\n", __FILE__, __LINE__, #call, result_, errno_,      \
                    strerror(errno_), (long long)(bad), (err), strerror(err),             \
                    prise_last_error());                                                  \
        }                                                                                 \
    } while (0)

static int check_summary(void)
{
    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
