/*
 * echo_serve_fork — the echo service with prise_serve_fork: a child per client, reaped
 * by prise. SIGTERM or SIGINT shuts the listening socket: the server finishes the
 * clients it has and exits cleanly.
 *
 * usage: echo_serve_fork [port]      (port 0 or none: the kernel picks one)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "prise.h"

static int listener = -1;

static void stop(int sig)
{
    (void)sig;
    shutdown(listener, SHUT_RDWR); /* async-signal-safe: ends the serve loop */
}

static int echo(int conn, void *ctx)
{
    (void)ctx;
    char buf[4096];
    ssize_t n;
    while ((n = prise_read(conn, buf, sizeof buf)) > 0)
        if (prise_write_all(conn, buf, (size_t)n) < 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    listener = prise_tcp_listen(NULL, argc == 2 ? argv[1] : "0", 128);
    if (listener < 0) {
        fprintf(stderr, "echo_serve_fork: %s\n", prise_last_error());
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    char text[128];
    prise_getsockname(listener, (struct sockaddr *)&local, &len);
    prise_addr_format((struct sockaddr *)&local, len, text, sizeof text);
    printf("listening on %s\n", text);
    fflush(stdout);
    if (prise_serve_fork(listener, echo, NULL) < 0) {
        fprintf(stderr, "echo_serve_fork: %s\n", prise_last_error());
        return 1;
    }
    prise_close(listener);
    return 0;
}
