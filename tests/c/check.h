/* check.h — tiny assertion helpers for prise's C test programs.
 * Every program arms alarm() so that it can never hang, and ends with
 * "N passed, 0 failed" when every check held. Also the small loopback helpers the
 * programs share. */
#ifndef PRISE_CHECK_H
#define PRISE_CHECK_H

#include <arpa/inet.h>
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

/* The port a socket is bound to (IPv4 or IPv6), -1 when it has none. */
static inline int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (prise_getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int check_summary(void)
{
    printf("%d passed, %d failed\n", checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
