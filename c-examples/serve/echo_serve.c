/*
 * echo_serve — the echo service as one prise call, in each of the three server models:
 *   --fork     prise_serve_fork: a child process per client, reaped by prise;
 *   --threads  prise_serve_threads: a thread per client, the descriptor passed by value;
 *   --events   prise_serve_events: one thread for every client (epoll), the bytes echoed
 *              as they arrive; a client that does not read its echo is not read from.
 * SIGTERM or SIGINT stops the server cleanly: it finishes the clients it has (--fork,
 * --threads: the handler shuts the listening socket; --events: prise reads the signals
 * itself, writes out what is queued and closes the clients) and exits with 0.
 *
 * usage: echo_serve --fork|--threads|--events [port]   (port 0 or none: the kernel picks)
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
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

/* Runs each time bytes arrive from a client: sends them back, uses them all. */
static ssize_t echo_data(struct prise_conn *conn, const char *data, size_t len, void *ctx)
{
    (void)ctx;
    return prise_conn_send(conn, data, len) == 0 ? (ssize_t)len : -1;
}

int main(int argc, char **argv)
{
    const char *model = argc >= 2 ? argv[1] : "";
    int fork_model = strcmp(model, "--fork") == 0;
    int thread_model = strcmp(model, "--threads") == 0;
    int event_model = strcmp(model, "--events") == 0;
    if (!(fork_model || thread_model || event_model) || argc > 3) {
        fprintf(stderr, "usage: %s --fork|--threads|--events [port]\n", argv[0]);
        return 2;
    }
    /* Thousands of clients need thousands of descriptors: the soft limit up to the hard. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    listener = prise_tcp_listen(NULL, argc == 3 ? argv[2] : "0", 4096);
    char where[128];
    if (listener < 0 || prise_local_address(listener, where, sizeof where) < 0) {
        fprintf(stderr, "echo_serve: %s\n", prise_last_error());
        return 1;
    }
    if (!event_model) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = stop;
        if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) {
            perror("echo_serve: sigaction");
            return 1;
        }
    }
    printf("listening on %s\n", where);
    fflush(stdout);
    int served = fork_model     ? prise_serve_fork(listener, echo, NULL)
                 : thread_model ? prise_serve_threads(listener, echo, NULL)
                                : prise_serve_events(listener, echo_data, NULL, NULL, NULL);
    if (served < 0) {
        fprintf(stderr, "echo_serve: %s\n", prise_last_error());
        return 1;
    }
    prise_close(listener);
    return 0;
}
