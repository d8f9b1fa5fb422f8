/*
 * echo_serve — the echo service as one prise call, in the course's two server models:
 *   --fork     prise_serve_fork: a child process per client, reaped by prise;
 *   --threads  prise_serve_threads: a thread per client, the descriptor passed by value.
 * SIGTERM or SIGINT shuts the listening socket: the server finishes the clients it has
 * and exits cleanly.
 *
 * usage: echo_serve --fork|--threads [port]      (port 0 or none: the kernel picks one)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "prise.h"

static int listener = -1;

static void stop(int sig)
{
    (void)sig;
    shutdown(listener, SHUT_RDWR); /* async-signal-safe: ends the serve loop */
}

/* Runs once per client, in its own process or thread; the descriptor is closed after. */
static int echo(int conn, void *ctx)
{
    (void)ctx;
    char buf[4096];
    ssize_t n;
    while ((n = prise_read(conn, buf, sizeof buf)) > 0)
        if (prise_write_all(conn, buf, (size_t)n) < 0)
            return 1;
    return n < 0;
}

int main(int argc, char **argv)
{
    int fork_model = argc >= 2 && strcmp(argv[1], "--fork") == 0;
    int thread_model = argc >= 2 && strcmp(argv[1], "--threads") == 0;
    if (!(fork_model || thread_model) || argc > 3) {
        fprintf(stderr, "usage: %s --fork|--threads [port]\n", argv[0]);
        return 2;
    }
    listener = prise_tcp_listen(NULL, argc == 3 ? argv[2] : "0", 128);
    char where[128];
    if (listener < 0 || prise_local_address(listener, where, sizeof where) < 0) {
        fprintf(stderr, "echo_serve: %s\n", prise_last_error());
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop;
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
        perror("echo_serve: sigaction");
        return 1;
    }
    printf("listening on %s\n", where);
    fflush(stdout);
    int served = fork_model ? prise_serve_fork(listener, echo, NULL)
                            : prise_serve_threads(listener, echo, NULL);
    if (served < 0) {
        fprintf(stderr, "echo_serve: %s\n", prise_last_error());
        return 1;
    }
    prise_close(listener);
    return 0;
}
