/* network.c — the helpers for real networks over loopback: Happy Eyeballs in
 * prise_tcp_connect, the one-call socket options, prise_serve_events (echo, partial
 * input, backpressure, idle timeout, limits, stops from a thread and from signals, the
 * callbacks' contracts) and socket activation (this program plays the service manager:
 * it forks, puts listening sockets at descriptors 3, 4, 5, sets LISTEN_* and execs
 * itself as the activated server).
 *
 *   network                         every section
 *   network activated PORT NAME UDPPORT | network activation-case CASE   (exec'd by it)
 *
 * Happy Eyeballs needs a name with an IPv6 and an IPv4 address, IPv6 first, as
 * "localhost" is on most systems (::1 and 127.0.0.1); this program defines getaddrinfo,
 * which the library's calls reach before libc's, to answer "localhost" that way here
 * whatever /etc/hosts says. No other name is changed and nothing leaves the machine. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

#include "check.h"

static int localhost_lookups;

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *,
                              struct addrinfo **);

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static getaddrinfo_fn real;
    if (__atomic_load_n(&real, __ATOMIC_ACQUIRE) == NULL) {
        getaddrinfo_fn found;
        *(void **)&found = dlsym(RTLD_NEXT, "getaddrinfo");
        __atomic_store_n(&real, found, __ATOMIC_RELEASE);
    }
    if (node == NULL || strcmp(node, "localhost") != 0)
        return real(node, service, hints, res);
    __atomic_fetch_add(&localhost_lookups, 1, __ATOMIC_SEQ_CST);
    int family = hints != NULL ? hints->ai_family : AF_UNSPEC;
    struct addrinfo *v6 = NULL, *v4 = NULL;
    int v6_result = family == AF_INET ? EAI_FAMILY : real("::1", service, hints, &v6);
    int v4_result = family == AF_INET6 ? EAI_FAMILY : real("127.0.0.1", service, hints, &v4);
    if (v6_result != 0) {
        *res = v4;
        return v4_result;
    }
    struct addrinfo *last = v6;
    while (last->ai_next != NULL)
        last = last->ai_next;
    last->ai_next = v4; /* freeaddrinfo frees node by node: one list of both is fine */
    *res = v6;
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void port_text(int fd, char *port, size_t size)
{
    snprintf(port, size, "%d", local_port(fd));
}

static int bound_listener(int family, const char *host, int port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    char text[64];
    snprintf(text, sizeof text, family == AF_INET6 ? "[%s]:%d" : "%s:%d", host, port);
    int fd = prise_socket(family, SOCK_STREAM, 0);
    if (fd < 0 || prise_addr_parse(text, (struct sockaddr *)&ss, &len) < 0 ||
        prise_bind(fd, (struct sockaddr *)&ss, len) < 0 || prise_listen(fd, backlog) < 0) {
        if (fd >= 0)
            prise_close(fd);
        return -1;
    }
    return fd;
}

/* Whether a connect to [::1]:port is still unanswered after 300 ms. */
static int syn_dropped(int port)
{
    int probe = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in6 to = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int pending = connect(probe, (struct sockaddr *)&to, sizeof to) < 0 && errno == EINPROGRESS;
    struct pollfd p = {.fd = probe, .events = POLLOUT};
    int silent = pending && poll(&p, 1, 300) == 0;
    close(probe);
    return silent;
}

/* A ::1 listener whose backlog (0) is full with a connection never accepted, so that
 * it drops every further SYN, and a 127.0.0.1 listener on the same port. */
struct race_ground {
    int v6, filler, v4;
    char port[16];
};

static int prepare_race(struct race_ground *g)
{
    for (int tries = 0; tries < 20; tries++) {
        g->v6 = bound_listener(AF_INET6, "::1", 0, 0);
        int port = local_port(g->v6);
        char where[32];
        snprintf(where, sizeof where, "%d", port);
        g->filler = prise_tcp_connect("::1", where);
        g->v4 = bound_listener(AF_INET, "127.0.0.1", port, 16);
        if (g->v6 >= 0 && g->filler >= 0 && g->v4 >= 0 && syn_dropped(port)) {
            snprintf(g->port, sizeof g->port, "%d", port);
            return 1;
        }
        prise_close(g->v6);
        prise_close(g->filler);
        prise_close(g->v4);
    }
    return 0;
}

static int peer_is_ipv4(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    return prise_getpeername(fd, (struct sockaddr *)&ss, &len) == 0 && ss.ss_family == AF_INET;
}

static int signals_noted;

static void note_signal(int signo)
{
    (void)signo;
    __atomic_fetch_add(&signals_noted, 1, __ATOMIC_SEQ_CST);
}

/* Sends SIGUSR1 to a thread after a delay. */
struct interrupt_at {
    pthread_t thread;
    int millis;
};

static void *interrupt_later(void *arg)
{
    struct interrupt_at *at = arg;
    usleep((useconds_t)at->millis * 1000);
    pthread_kill(at->thread, SIGUSR1);
    return NULL;
}

static void happy_eyeballs(void)
{
    struct race_ground g;
    CHECK(prepare_race(&g));
    int before = __atomic_load_n(&localhost_lookups, __ATOMIC_SEQ_CST);

    /* IPv6 first and silent, IPv4 answering: connected over IPv4 in about 250 ms,
     * instead of the kernel's two minutes (or the 10 s timeout, one address at a time). */
    double start = now();
    int fd = prise_tcp_connect("localhost", g.port);
    double took = now() - start;
    CHECK(fd >= 0 && peer_is_ipv4(fd));
    CHECK(took < 5.0);
    CHECK(__atomic_load_n(&localhost_lookups, __ATOMIC_SEQ_CST) > before); /* ::1 came first */
    prise_close(fd);
    struct prise_connect_options opts = {.timeout_ms = 10000};
    start = now();
    fd = prise_tcp_connect_opts("localhost", g.port, &opts);
    CHECK(fd >= 0 && peer_is_ipv4(fd) && now() - start < 5.0);
    CHECK((fcntl(fd, F_GETFL) & O_NONBLOCK) == 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    prise_close(fd);
    fd = prise_tcp_connect_timeout("localhost", g.port, 10000);
    CHECK(fd >= 0 && peer_is_ipv4(fd) && now() - start < 10.0);
    prise_close(fd);

    /* A delay longer than the timeout: one address after the other, IPv4 only once the
     * IPv6 attempt has timed out. */
    struct prise_connect_options one_by_one = {.timeout_ms = 300, .attempt_delay_ms = 60000};
    start = now();
    fd = prise_tcp_connect_opts("localhost", g.port, &one_by_one);
    CHECK(fd >= 0 && peer_is_ipv4(fd) && now() - start >= 0.25);
    prise_close(fd);
    /* The connections above, never accepted: dropped. */
    fcntl(g.v4, F_SETFL, O_NONBLOCK);
    int conn;
    while ((conn = prise_accept(g.v4, NULL, NULL)) >= 0)
        prise_close(conn);

    /* A signal caught by a handler (no SA_RESTART) ends the wait: EINTR, as connect(2),
     * instead of waiting for the silent address until its timeout. */
    struct sigaction caught = {.sa_handler = note_signal}, saved;
    sigaction(SIGUSR1, &caught, &saved);
    pthread_t interrupter;
    struct interrupt_at at = {pthread_self(), 200};
    CHECK(pthread_create(&interrupter, NULL, interrupt_later, &at) == 0);
    struct prise_connect_options slow = {.timeout_ms = 5000};
    start = now();
    CHECK_FAILS(prise_tcp_connect_opts("::1", g.port, &slow), -1, EINTR);
    CHECK(now() - start < 4.0 && __atomic_load_n(&signals_noted, __ATOMIC_SEQ_CST) == 1);
    pthread_join(interrupter, NULL);
    sigaction(SIGUSR1, &saved, NULL);

    /* Every address failing: each one named with its own reason, errno of the last. */
    prise_close(g.v4);
    struct prise_connect_options quick = {.timeout_ms = 300};
    CHECK_FAILS(prise_tcp_connect_opts("localhost", g.port, &quick), -1, ETIMEDOUT);
    char v6_reason[64], v4_reason[64];
    snprintf(v6_reason, sizeof v6_reason, "[::1]:%s: Connection timed out", g.port);
    snprintf(v4_reason, sizeof v4_reason, "127.0.0.1:%s: Connection refused", g.port);
    CHECK(strstr(prise_last_error(), "every address failed") != NULL);
    CHECK(strstr(prise_last_error(), v6_reason) != NULL);
    CHECK(strstr(prise_last_error(), v4_reason) != NULL);
    prise_close(g.v6);
    prise_close(g.filler);

    /* Options out of range; NULL options are the defaults. */
    struct prise_connect_options bad[] = {{.attempt_delay_ms = 5}, {.attempt_delay_ms = -1},
                                          {.timeout_ms = -1}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_FAILS(prise_tcp_connect_opts("127.0.0.1", "9", &bad[i]), -1, EINVAL);
    CHECK_FAILS(prise_tcp_connect_opts(NULL, "9", NULL), -1, EINVAL);
    CHECK_FAILS(prise_tcp_connect_opts("127.0.0.1", NULL, NULL), -1, EINVAL);
    CHECK_FAILS(prise_tcp_connect_opts("127.0.0.1", "65536", NULL), -1, EINVAL);
    int server = prise_tcp_listen("127.0.0.1", "0", 4);
    char port[16];
    port_text(server, port, sizeof port);
    fd = prise_tcp_connect_opts("127.0.0.1", port, NULL);
    CHECK(fd >= 0);
    prise_close(fd);
    prise_close(server);
}

static int int_option(int fd, int level, int name)
{
    int value = -1;
    socklen_t len = sizeof value;
    return prise_getsockopt(fd, level, name, &value, &len) == 0 ? value : -1;
}

static void socket_options(void)
{
    int tcp = prise_socket(AF_INET6, SOCK_STREAM, 0);
    CHECK(prise_set_nodelay(tcp, 1) == 0 && int_option(tcp, IPPROTO_TCP, TCP_NODELAY) == 1);
    CHECK(prise_set_nodelay(tcp, 0) == 0 && int_option(tcp, IPPROTO_TCP, TCP_NODELAY) == 0);
    CHECK(prise_set_keepalive(tcp, 60, 10, 6) == 0);
    CHECK(int_option(tcp, SOL_SOCKET, SO_KEEPALIVE) == 1);
    CHECK(int_option(tcp, IPPROTO_TCP, TCP_KEEPIDLE) == 60);
    CHECK(int_option(tcp, IPPROTO_TCP, TCP_KEEPINTVL) == 10);
    CHECK(int_option(tcp, IPPROTO_TCP, TCP_KEEPCNT) == 6);
    CHECK(prise_set_keepalive(tcp, 30, 0, 0) == 0 && int_option(tcp, IPPROTO_TCP, TCP_KEEPIDLE) == 30);
    CHECK(int_option(tcp, IPPROTO_TCP, TCP_KEEPCNT) == 6); /* 0 kept what was there */
    CHECK(prise_set_keepalive(tcp, 0, 0, 0) == 0 && int_option(tcp, SOL_SOCKET, SO_KEEPALIVE) == 0);
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
    int mptcp = socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP); /* where the kernel has it */
    if (mptcp >= 0) {
        CHECK(prise_set_keepalive(mptcp, 60, 10, 6) == 0);
        close(mptcp);
    }
    CHECK_FAILS(prise_set_keepalive(tcp, -1, 0, 0), -1, EINVAL);
    CHECK_FAILS(prise_set_keepalive(tcp, 32768, 0, 0), -1, EINVAL);
    CHECK_FAILS(prise_set_keepalive(tcp, 10, 0, 128), -1, EINVAL);
    CHECK(prise_set_v6only(tcp, 1) == 0 && int_option(tcp, IPPROTO_IPV6, IPV6_V6ONLY) == 1);
    CHECK(prise_set_reuseport(tcp, 1) == 0 && int_option(tcp, SOL_SOCKET, SO_REUSEPORT) == 1);
    prise_close(tcp);

    /* IPV6_V6ONLY: only before bind, only on IPv6. */
    int bound = bound_listener(AF_INET6, "::1", 0, 4);
    CHECK_FAILS(prise_set_v6only(bound, 1), -1, EINVAL);
    CHECK(strstr(prise_last_error(), "before bind") != NULL);
    prise_close(bound);
    int v4 = prise_socket(AF_INET, SOCK_STREAM, 0);
    errno = 0;
    CHECK(prise_set_v6only(v4, 1) == -1 && (errno == ENOPROTOOPT || errno == EOPNOTSUPP));
    CHECK(strstr(prise_last_error(), "IPV6_V6ONLY") != NULL);
    prise_close(v4);

    /* Not TCP: a Unix socket has no Nagle and no keepalive timers (nothing changed). */
    int pair[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    errno = 0;
    CHECK(prise_set_nodelay(pair[0], 1) == -1 && (errno == EOPNOTSUPP || errno == ENOPROTOOPT));
    CHECK(strstr(prise_last_error(), "TCP_NODELAY") != NULL);
    CHECK(prise_set_keepalive(pair[0], 10, 1, 1) == -1);
    CHECK(int_option(pair[0], SOL_SOCKET, SO_KEEPALIVE) == 0);
    /* Turning it off is refused too: keepalive is TCP's, whatever the arguments. */
    CHECK_FAILS(prise_set_keepalive(pair[0], 0, 0, 0), -1, EOPNOTSUPP);
    CHECK(strstr(prise_last_error(), "TCP") != NULL);
    int udp = prise_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_FAILS(prise_set_keepalive(udp, 0, 0, 0), -1, EOPNOTSUPP);
    CHECK_FAILS(prise_set_keepalive(udp, 10, 0, 0), -1, EOPNOTSUPP);
    prise_close(udp);
    close(pair[0]);
    close(pair[1]);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK_FAILS(prise_set_nodelay(pipefd[0], 1), -1, ENOTSOCK);
    CHECK_FAILS(prise_set_reuseport(pipefd[0], 1), -1, ENOTSOCK);
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK_FAILS(prise_set_nodelay(-1, 1), -1, EBADF);
    CHECK_FAILS(prise_set_keepalive(-1, 10, 1, 1), -1, EBADF);
    CHECK_FAILS(prise_set_v6only(-1, 1), -1, EBADF);
    CHECK_FAILS(prise_set_reuseport(-1, 1), -1, EBADF);

    /* SO_REUSEPORT: two sockets share a port when both ask, not otherwise. */
    int first = prise_socket(AF_INET, SOCK_STREAM, 0);
    int second = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(prise_set_reuseport(first, 1) == 0 && prise_set_reuseport(second, 1) == 0);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(prise_bind(first, (struct sockaddr *)&any, sizeof any) == 0);
    any.sin_port = htons((uint16_t)local_port(first));
    CHECK(prise_bind(second, (struct sockaddr *)&any, sizeof any) == 0);
    int third = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_FAILS(prise_bind(third, (struct sockaddr *)&any, sizeof any), -1, EADDRINUSE);
    /* The sentence explains TIME_WAIT and SO_REUSEADDR. */
    CHECK(strstr(prise_last_error(), "TIME_WAIT") != NULL);
    CHECK(strstr(prise_last_error(), "SO_REUSEADDR") != NULL);
    prise_close(first);
    prise_close(second);
    prise_close(third);
}

/* ---- prise_serve_events ---- */

enum mode { ECHO, LINES, ONE_LINE, FLOOD, GREET, REFUSE, GREEDY, ABORT, OTHER_THREAD, COUNTER };

struct server {
    int listen_fd;
    char port[16];
    enum mode mode;
    size_t flood;
    struct prise_events_options options;
    int result;
    pthread_t thread;
    /* Written by the callbacks (the server's thread), read by the checks. */
    int opened, closed, data_calls, reasons[256], send_after_close, other_thread_errno;
};

static void count(int *counter)
{
    __atomic_fetch_add(counter, 1, __ATOMIC_SEQ_CST);
}

static int load(const int *counter)
{
    return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

/* Waits (5 s at most) until *counter reaches value. */
static int wait_for(const int *counter, int value)
{
    for (int i = 0; i < 500 && load(counter) < value; i++)
        usleep(10000);
    return load(counter) >= value;
}

static char flood_chunk[65536];

static int on_open(struct prise_conn *conn, void *ctx)
{
    struct server *s = ctx;
    count(&s->opened);
    int fd = prise_conn_fd(conn);
    char peer[64];
    if (fd < 0 || prise_peer_address(fd, peer, sizeof peer) < 0 ||
        strncmp(peer, "127.0.0.1:", 10) != 0)
        return -1;
    if (s->mode == FLOOD) { /* small kernel buffers: the output queues in prise */
        int small = 65536;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    }
    if (s->mode == GREET) {
        prise_conn_send(conn, "hello\n", 6);
        prise_conn_close(conn);
        if (prise_conn_send(conn, "late", 4) == -1 && errno == EPIPE)
            count(&s->send_after_close);
        prise_conn_close(conn); /* a second time: nothing */
    }
    if (s->mode == COUNTER) {
        int *seen = calloc(1, sizeof *seen);
        if (seen == NULL || prise_conn_set_data(conn, seen) < 0)
            return -1;
    }
    return s->mode == REFUSE ? -1 : 0;
}

struct other_send {
    struct prise_conn *conn;
    int result, error;
};

static void *send_from_elsewhere(void *arg)
{
    struct other_send *o = arg;
    o->result = prise_conn_send(o->conn, "x", 1);
    o->error = errno;
    return NULL;
}

static ssize_t on_data(struct prise_conn *conn, const char *data, size_t len, void *ctx)
{
    struct server *s = ctx;
    count(&s->data_calls);
    switch (s->mode) {
    case LINES: { /* answers the length of each whole line; keeps a partial one */
        size_t used = 0;
        const char *newline;
        while ((newline = memchr(data + used, '\n', len - used)) != NULL) {
            size_t line = (size_t)(newline - (data + used));
            char reply[32];
            int n = snprintf(reply, sizeof reply, "%zu\n", line);
            prise_conn_send(conn, reply, (size_t)n);
            used += line + 1;
        }
        return (ssize_t)used;
    }
    case ONE_LINE: { /* one line a call, as a request-reply protocol parses */
        const char *newline = memchr(data, '\n', len);
        if (newline == NULL)
            return 0;
        char reply[32];
        int n = snprintf(reply, sizeof reply, "%zu\n", (size_t)(newline - data));
        prise_conn_send(conn, reply, (size_t)n);
        return newline - data + 1;
    }
    case FLOOD:
        if (data[0] == 'F')
            for (size_t sent = 0; sent < __atomic_load_n(&s->flood, __ATOMIC_SEQ_CST);
                 sent += sizeof flood_chunk)
                if (prise_conn_send(conn, flood_chunk, sizeof flood_chunk) < 0)
                    return -1;
        return (ssize_t)len;
    case GREEDY:
        return (ssize_t)len + 1;
    case ABORT:
        prise_conn_send(conn, "bye", 3);
        return -1;
    case OTHER_THREAD: {
        struct other_send o = {conn, 0, 0};
        pthread_t t;
        if (pthread_create(&t, NULL, send_from_elsewhere, &o) == 0)
            pthread_join(t, NULL);
        __atomic_store_n(&s->other_thread_errno, o.result == -1 ? o.error : 0, __ATOMIC_SEQ_CST);
        return prise_conn_send(conn, "ok", 2) == 0 ? (ssize_t)len : -1;
    }
    case COUNTER: {
        int *seen = prise_conn_data(conn);
        char reply[16];
        int n = snprintf(reply, sizeof reply, "%d\n", ++*seen);
        return prise_conn_send(conn, reply, (size_t)n) == 0 ? (ssize_t)len : -1;
    }
    default: /* ECHO */
        return prise_conn_send(conn, data, len) == 0 ? (ssize_t)len : -1;
    }
}

static void on_close(struct prise_conn *conn, int reason, void *ctx)
{
    struct server *s = ctx;
    if (s->mode == COUNTER)
        free(prise_conn_data(conn));
    if (reason >= 0 && reason < 256)
        count(&s->reasons[reason]);
    count(&s->closed);
}

static void *serve_main(void *arg)
{
    struct server *s = arg;
    s->result = prise_serve_events(s->listen_fd, on_data, on_close, s, &s->options);
    return NULL;
}

static void start(struct server *s, enum mode mode)
{
    s->mode = mode;
    s->options.on_open = on_open;
    s->listen_fd = prise_tcp_listen("127.0.0.1", "0", 256);
    port_text(s->listen_fd, s->port, sizeof s->port);
    s->result = -5;
    CHECK(s->listen_fd >= 0 && pthread_create(&s->thread, NULL, serve_main, s) == 0);
}

/* Stops the server from this thread, as prise_serve_fork's are stopped. */
static int stop(struct server *s)
{
    CHECK(shutdown(s->listen_fd, SHUT_RDWR) == 0);
    pthread_join(s->thread, NULL);
    CHECK((fcntl(s->listen_fd, F_GETFL) & O_NONBLOCK) == 0); /* blocking again */
    prise_close(s->listen_fd);
    return s->result;
}

static int client(const char *port)
{
    int fd = prise_tcp_connect("127.0.0.1", port);
    if (fd >= 0)
        prise_set_timeout(fd, 5000);
    return fd;
}

static int reads_exactly(int fd, const char *text)
{
    char buf[64] = {0};
    size_t n = strlen(text);
    return prise_read_full(fd, buf, n) == (ssize_t)n && memcmp(buf, text, n) == 0;
}

static int at_end(int fd)
{
    char byte;
    return prise_read(fd, &byte, 1) == 0;
}

/* Whether fd has something to read within millis. */
static int readable(int fd, int millis)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, millis) == 1;
}

static void events_echo_many(void)
{
    struct server s = {0};
    start(&s, ECHO);
    enum { CLIENTS = 200, SIZE = 3000 };
    static int fds[CLIENTS];
    static char out[SIZE], back[SIZE];
    int echoed = 0;
    for (int i = 0; i < CLIENTS; i++)
        fds[i] = client(s.port);
    for (int i = 0; i < CLIENTS; i++) {
        for (int j = 0; j < SIZE; j++)
            out[j] = (char)(i * 7 + j * 13);
        if (prise_write_all(fds[i], out, SIZE) == SIZE && prise_read_full(fds[i], back, SIZE) == SIZE &&
            memcmp(out, back, SIZE) == 0)
            echoed++;
    }
    CHECK(echoed == CLIENTS);
    CHECK(load(&s.opened) == CLIENTS);
    for (int i = 0; i < CLIENTS; i++)
        prise_close(fds[i]);
    CHECK(wait_for(&s.closed, CLIENTS) && load(&s.reasons[0]) == CLIENTS);
    CHECK(stop(&s) == 0);
}

static void events_partial_input(void)
{
    struct server s = {0};
    start(&s, LINES);
    int fd = client(s.port);
    const char *pieces[] = {"hel", "lo\nwor", "ld\n", "!\n"};
    for (int i = 0; i < 4; i++) {
        CHECK(prise_write_all(fd, pieces[i], strlen(pieces[i])) == (ssize_t)strlen(pieces[i]));
        usleep(30000); /* separate arrivals */
    }
    CHECK(reads_exactly(fd, "5\n5\n1\n"));
    prise_close(fd);
    CHECK(stop(&s) == 0);

    /* More than input_limit bytes with no newline: closed, EMSGSIZE. */
    struct server small = {.options = {.input_limit = 16}};
    start(&small, LINES);
    fd = client(small.port);
    CHECK(prise_write_all(fd, "short\n", 6) == 6 && reads_exactly(fd, "5\n"));
    CHECK(prise_write_all(fd, "0123456789abcdefghijklmnop", 26) == 26);
    CHECK(at_end(fd));
    CHECK(wait_for(&small.reasons[EMSGSIZE], 1));
    prise_close(fd);
    CHECK(stop(&small) == 0);

    /* on_data that uses one line a call: pipelined lines are all answered, though no
     * more bytes come (64 of them in one write, four times input_limit); a partial
     * line of exactly input_limit bytes is kept, one byte more closes. */
    struct server one = {.options = {.input_limit = 16}};
    start(&one, ONE_LINE);
    fd = client(one.port);
    char lines[64], expected[64];
    for (int i = 0; i < 16; i++)
        memcpy(lines + 4 * i, "abc\n", 4);
    for (int i = 0; i < 16; i++)
        memcpy(expected + 2 * i, "3\n", 2);
    expected[32] = 0;
    CHECK(prise_write_all(fd, lines, 64) == 64 && reads_exactly(fd, expected));
    CHECK(prise_write_all(fd, "0123456789abcdef", 16) == 16);
    CHECK(!readable(fd, 200) && load(&one.closed) == 0);
    CHECK(prise_write_all(fd, "g", 1) == 1 && at_end(fd));
    CHECK(wait_for(&one.reasons[EMSGSIZE], 1));
    prise_close(fd);
    /* Exactly input_limit bytes, then the client's end: an orderly close. */
    fd = client(one.port);
    CHECK(prise_write_all(fd, "0123456789abcdef", 16) == 16 && shutdown(fd, SHUT_WR) == 0);
    CHECK(at_end(fd) && wait_for(&one.reasons[0], 1));
    prise_close(fd);
    CHECK(stop(&one) == 0);
}

static void events_backpressure(void)
{
    struct server s = {.flood = 4 << 20, .options = {.output_limit = 65536}};
    start(&s, FLOOD);
    int fd = client(s.port);
    int small = 65536;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    CHECK(prise_write_all(fd, "F", 1) == 1 && wait_for(&s.data_calls, 1));
    usleep(100000);
    CHECK(prise_write_all(fd, "yy", 2) == 2);
    usleep(300000);
    /* 4 MiB wait for this client: the server reads nothing more from it. */
    CHECK(load(&s.data_calls) == 1);
    static char sink[4 << 20];
    CHECK(prise_set_timeout(fd, 20000) == 0 && prise_read_full(fd, sink, sizeof sink) == (ssize_t)sizeof sink);
    CHECK(wait_for(&s.data_calls, 2)); /* drained: "yy" is read at last */
    prise_close(fd);

    /* Stopping writes out what a client has not read yet, then closes (ECANCELED). */
    __atomic_store_n(&s.flood, (size_t)1 << 20, __ATOMIC_SEQ_CST);
    fd = client(s.port);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    CHECK(prise_write_all(fd, "F", 1) == 1 && wait_for(&s.data_calls, 3));
    int idle = client(s.port);
    CHECK(wait_for(&s.opened, 3));
    CHECK(shutdown(s.listen_fd, SHUT_RDWR) == 0);
    CHECK(prise_read_full(fd, sink, s.flood) == (ssize_t)s.flood && at_end(fd));
    CHECK(at_end(idle));
    pthread_join(s.thread, NULL);
    CHECK(s.result == 0 && load(&s.reasons[ECANCELED]) == 2);
    prise_close(fd);
    prise_close(idle);
    prise_close(s.listen_fd);
}

static void events_idle_and_limits(void)
{
    struct server s = {.options = {.idle_timeout_ms = 200}};
    start(&s, ECHO);
    int silent = client(s.port);
    int talker = client(s.port);
    double start_time = now();
    while (now() - start_time < 0.6) { /* one byte every 50 ms: never idle */
        CHECK(prise_write_all(talker, "t", 1) == 1 && reads_exactly(talker, "t"));
        usleep(50000);
    }
    CHECK(readable(silent, 0) && at_end(silent)); /* closed long since */
    CHECK(load(&s.reasons[ETIMEDOUT]) == 1);
    CHECK(prise_write_all(talker, "still", 5) == 5 && reads_exactly(talker, "still"));
    prise_close(silent);
    prise_close(talker);
    CHECK(stop(&s) == 0);

    /* max_connections: a third client waits until one of two leaves. */
    struct server two = {.options = {.max_connections = 2}};
    start(&two, ECHO);
    int a = client(two.port), b = client(two.port), c = client(two.port);
    CHECK(prise_write_all(a, "a", 1) == 1 && reads_exactly(a, "a"));
    CHECK(prise_write_all(b, "b", 1) == 1 && reads_exactly(b, "b"));
    CHECK(prise_write_all(c, "c", 1) == 1);
    CHECK(!readable(c, 300));
    prise_close(a);
    CHECK(reads_exactly(c, "c"));
    prise_close(b);
    prise_close(c);
    CHECK(stop(&two) == 0);
}

/* Another thread accepts on the server's blocking listening socket too: both wake for
 * each client, one takes it, and the server must not then wait in accept for the next
 * one (its clients would wait with it). */
struct competitor {
    int listen_fd, stop, took;
};

static void *compete(void *arg)
{
    struct competitor *c = arg;
    while (!load(&c->stop)) {
        struct pollfd p = {.fd = c->listen_fd, .events = POLLIN};
        if (poll(&p, 1, 50) == 1) {
            int fd = accept(c->listen_fd, NULL, NULL);
            if (fd >= 0) {
                count(&c->took);
                close(fd);
            }
        }
    }
    return NULL;
}

static void events_shared_listener(void)
{
    struct server s = {0};
    start(&s, ECHO);
    int held = client(s.port);
    CHECK(prise_write_all(held, "h", 1) == 1 && reads_exactly(held, "h"));
    struct competitor c = {s.listen_fd, 0, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, compete, &c) == 0);
    int answered = 0;
    for (int round = 0; round < 60; round++) {
        prise_close(client(s.port)); /* taken by the server or by the other thread */
        answered += prise_write_all(held, "h", 1) == 1 && reads_exactly(held, "h");
    }
    CHECK(answered == 60);
    __atomic_store_n(&c.stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(thread, NULL);
    prise_close(held);
    CHECK(stop(&s) == 0);
}

static void events_callbacks(void)
{
    /* on_open speaks first and closes: the client gets the line, then the end. */
    struct server greet = {0};
    start(&greet, GREET);
    int fd = client(greet.port);
    CHECK(reads_exactly(fd, "hello\n") && at_end(fd));
    CHECK(wait_for(&greet.closed, 1) && load(&greet.reasons[0]) == 1);
    CHECK(load(&greet.send_after_close) == 1); /* EPIPE once closing */
    prise_close(fd);
    CHECK(stop(&greet) == 0);

    const enum mode modes[] = {REFUSE, GREEDY, ABORT};
    const int reasons[] = {0, EINVAL, 0};
    for (int i = 0; i < 3; i++) {
        struct server s = {0};
        start(&s, modes[i]);
        fd = client(s.port);
        prise_write_all(fd, "data", 4);
        char buf[8];
        while (prise_read(fd, buf, sizeof buf) > 0) /* ABORT's "bye" may come first */
            ;
        CHECK(wait_for(&s.closed, 1) && load(&s.reasons[reasons[i]]) == 1);
        CHECK(load(&s.opened) == 1 && load(&s.data_calls) == (modes[i] == REFUSE ? 0 : 1));
        prise_close(fd);
        CHECK(stop(&s) == 0);
    }

    /* A connection belongs to the serving thread: another one gets EPERM. */
    struct server other = {0};
    start(&other, OTHER_THREAD);
    fd = client(other.port);
    CHECK(prise_write_all(fd, "?", 1) == 1 && reads_exactly(fd, "ok"));
    CHECK(load(&other.other_thread_errno) == EPERM);
    prise_close(fd);
    CHECK(stop(&other) == 0);

    /* Per-connection data, freed in on_close. */
    struct server counter = {0};
    start(&counter, COUNTER);
    int one = client(counter.port), two = client(counter.port);
    CHECK(prise_write_all(one, "x", 1) == 1 && reads_exactly(one, "1\n"));
    CHECK(prise_write_all(one, "x", 1) == 1 && reads_exactly(one, "2\n"));
    CHECK(prise_write_all(two, "x", 1) == 1 && reads_exactly(two, "1\n"));
    prise_close(one);
    CHECK(stop(&counter) == 0); /* two is still connected: closed, ECANCELED, freed */
    CHECK(at_end(two) && load(&counter.reasons[ECANCELED]) == 1);
    prise_close(two);
}

static void events_bad_input(void)
{
    /* The listening socket closed instead of shut down: epoll forgets it silently, the
     * server notices within a second or two and says so. */
    struct server closed = {0};
    start(&closed, ECHO);
    int fd = client(closed.port);
    CHECK(prise_write_all(fd, "x", 1) == 1 && reads_exactly(fd, "x"));
    prise_close(closed.listen_fd);
    pthread_join(closed.thread, NULL);
    CHECK(closed.result == -1 && at_end(fd) && load(&closed.reasons[ECANCELED]) == 1);
    prise_close(fd);

    int listener = prise_tcp_listen("127.0.0.1", "0", 4);
    CHECK_FAILS(prise_serve_events(listener, NULL, on_close, NULL, NULL), -1, EINVAL);
    struct prise_events_options negative = {.idle_timeout_ms = -1};
    CHECK_FAILS(prise_serve_events(listener, on_data, NULL, NULL, &negative), -1, EINVAL);
    struct prise_events_options too_many = {.max_connections = -3};
    CHECK_FAILS(prise_serve_events(listener, on_data, NULL, NULL, &too_many), -1, EINVAL);
    prise_close(listener);
    CHECK_FAILS(prise_serve_events(listener, on_data, NULL, NULL, NULL), -1, EBADF);
    CHECK_FAILS(prise_serve_events(-1, on_data, NULL, NULL, NULL), -1, EBADF);
    int unbound = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_FAILS(prise_serve_events(unbound, on_data, NULL, NULL, NULL), -1, EINVAL);
    CHECK(strstr(prise_last_error(), "not listening") != NULL);
    prise_close(unbound);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK_FAILS(prise_serve_events(pipefd[0], on_data, NULL, NULL, NULL), -1, ENOTSOCK);
    close(pipefd[0]);
    close(pipefd[1]);
    CHECK_FAILS(prise_conn_send(NULL, "x", 1), -1, EINVAL);
    CHECK_FAILS(prise_conn_close(NULL), -1, EINVAL);
    CHECK_FAILS(prise_conn_fd(NULL), -1, EINVAL);
    CHECK_FAILS(prise_conn_set_data(NULL, NULL), -1, EINVAL);
    CHECK_FAILS(prise_conn_data(NULL), NULL, EINVAL);
}

/* A forked child serves with the default options; SIGTERM or SIGINT stops it cleanly
 * (prise_serve_events returns 0, the signal mask is as it was). */
static int wait_exit(pid_t child);

static void events_stop_on_signals(void)
{
    const int signals[] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        struct server s = {.mode = ECHO};
        s.listen_fd = prise_tcp_listen("127.0.0.1", "0", 16);
        port_text(s.listen_fd, s.port, sizeof s.port);
        pid_t child = fork();
        if (child == 0) {
            /* A run in the background (nohup, `&` in a script) inherits SIGINT ignored,
             * which prise_serve_events honours: this part is about the default. */
            signal(signals[i], SIG_DFL);
            int served = prise_serve_events(s.listen_fd, on_data, on_close, &s, NULL);
            sigset_t mask;
            pthread_sigmask(SIG_SETMASK, NULL, &mask);
            _exit(served == 0 && !sigismember(&mask, SIGTERM) && !sigismember(&mask, SIGINT) ? 0 : 1);
        }
        int fd = client(s.port);
        CHECK(prise_write_all(fd, "up?", 3) == 3 && reads_exactly(fd, "up?"));
        CHECK(kill(child, signals[i]) == 0);
        int status = -1;
        for (int waited = 0; waited < 500 && waitpid(child, &status, WNOHANG) == 0; waited++)
            usleep(10000);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (!WIFEXITED(status) && !WIFSIGNALED(status)) {
            kill(child, SIGKILL);
            waitpid(child, NULL, 0);
        }
        CHECK(at_end(fd));
        prise_close(fd);
        prise_close(s.listen_fd);
    }

    /* SIGINT ignored by the program (SIG_IGN) stays ignored; SIGTERM still stops. */
    struct server s = {.mode = ECHO};
    s.listen_fd = prise_tcp_listen("127.0.0.1", "0", 16);
    port_text(s.listen_fd, s.port, sizeof s.port);
    pid_t child = fork();
    if (child == 0) {
        signal(SIGINT, SIG_IGN);
        _exit(prise_serve_events(s.listen_fd, on_data, on_close, &s, NULL) == 0 ? 0 : 1);
    }
    int fd = client(s.port);
    CHECK(prise_write_all(fd, "up?", 3) == 3 && reads_exactly(fd, "up?"));
    CHECK(kill(child, SIGINT) == 0);
    usleep(100000);
    CHECK(prise_write_all(fd, "still", 5) == 5 && reads_exactly(fd, "still"));
    CHECK(kill(child, SIGTERM) == 0);
    CHECK(wait_exit(child) == 0 && at_end(fd));
    prise_close(fd);
    prise_close(s.listen_fd);
}

/* ---- socket activation ---- */

/* In a forked child: puts fds at 3, 4, … (count of them), sets the environment given
 * ("NAME=value" strings, NULL-terminated; "LISTEN_PID=self" means this process) and
 * execs this program with args. */
static void exec_activated(char *self, const int *fds, int n, const char **env, char **args)
{
    int high[8];
    for (int i = 0; i < n; i++)
        high[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 100); /* out of the way of 3, 4, … */
    for (int i = 0; i < n; i++)
        if (dup2(high[i], 3 + i) < 0) /* dup2's copy is not close-on-exec */
            _exit(90);
    for (int i = n; i < n + 4; i++)
        close(3 + i); /* only the announced descriptors follow 2 */
    for (; *env != NULL; env++) {
        char name[64];
        const char *value = strchr(*env, '=') + 1;
        snprintf(name, sizeof name, "%.*s", (int)(value - 1 - *env), *env);
        char pid[16];
        if (strcmp(value, "self") == 0) {
            snprintf(pid, sizeof pid, "%d", (int)getpid());
            value = pid;
        }
        setenv(name, value, 1);
    }
    args[0] = self;
    execv(self, args);
    _exit(91);
}

static int wait_exit(pid_t child)
{
    int status = -1;
    for (int waited = 0; waited < 1500 && waitpid(child, &status, WNOHANG) == 0; waited++)
        usleep(10000);
    if (!WIFEXITED(status) && !WIFSIGNALED(status)) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void activation(char *self)
{
    int tcp = bound_listener(AF_INET, "127.0.0.1", 0, 8);
    char abstract[64];
    snprintf(abstract, sizeof abstract, "@prise-activation-%d", (int)getpid());
    int unix_sock = prise_unix_listen(abstract, SOCK_STREAM);
    int udp = prise_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(tcp >= 0 && unix_sock >= 0 && prise_bind(udp, (struct sockaddr *)&lo, sizeof lo) == 0);
    char port[16], udp_port[16];
    port_text(tcp, port, sizeof port);
    port_text(udp, udp_port, sizeof udp_port);

    /* The manager: sockets at 3, 4, 5, their names, the server's pid. */
    pid_t child = fork();
    if (child == 0) {
        int fds[] = {tcp, unix_sock, udp};
        const char *env[] = {"LISTEN_FDS=3", "LISTEN_FDNAMES=web:local:dgram", "LISTEN_PID=self",
                             NULL};
        char *args[] = {NULL, "activated", port, abstract, udp_port, NULL};
        exec_activated(self, fds, 3, env, args);
    }
    /* The activated server accepts on the socket the manager opened. */
    int fd = client(port);
    CHECK(prise_write_all(fd, "ping", 4) == 4 && reads_exactly(fd, "ping"));
    prise_close(fd);
    CHECK(wait_exit(child) == 0);

    /* Malformed or foreign variables, each in a fresh process. */
    const char *cases[][4] = {
        {"none", NULL},
        {"foreign", "LISTEN_FDS=1", "LISTEN_PID=1", NULL},
        {"malformed", "LISTEN_FDS=abc", "LISTEN_PID=self", NULL},
        {"names", "LISTEN_FDS=1", "LISTEN_FDNAMES=a:b", "LISTEN_PID=self"},
        {"closed", "LISTEN_FDS=2", "LISTEN_PID=self", NULL},
        /* A count far beyond the open descriptors: EBADF, no allocation that aborts. */
        {"huge", "LISTEN_FDS=2147483644", "LISTEN_PID=self", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        child = fork();
        if (child == 0) {
            const char *env[4] = {NULL};
            for (int j = 1; j < 4 && cases[i][j] != NULL; j++)
                env[j - 1] = cases[i][j];
            char *args[] = {NULL, "activation-case", (char *)cases[i][0], NULL};
            exec_activated(self, &tcp, 1, env, args);
        }
        int status = wait_exit(child);
        CHECK(status == 0);
        if (status != 0)
            fprintf(stderr, "activation case %s: exit %d\n", cases[i][0], status);
    }
    prise_close(tcp);
    prise_close(unix_sock);
    prise_close(udp);
}

static int cloexec(int fd)
{
    return (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0;
}

/* The exec'd server: what a program started by systemd sees. */
static int activated(const char *port, const char *abstract, const char *udp_port)
{
    CHECK(prise_listen_fds() == 3);
    CHECK(getenv("LISTEN_FDS") == NULL && getenv("LISTEN_PID") == NULL &&
          getenv("LISTEN_FDNAMES") == NULL);
    CHECK(prise_listen_fds() == 3); /* remembered */
    CHECK(cloexec(3) && cloexec(4) && cloexec(5));
    /* A port of the kernel's choice is a new socket, not a passed one. */
    int fresh = prise_tcp_listen("127.0.0.1", "0", 4);
    CHECK(fresh > 5);
    /* Its port in use by it, not by the manager's socket: the sentence leaves that out. */
    char fresh_port[16];
    port_text(fresh, fresh_port, sizeof fresh_port);
    CHECK_FAILS(prise_tcp_listen("127.0.0.1", fresh_port, 4), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "service manager") == NULL);
    prise_close(fresh);
    /* Another address than the manager's: the port is in use, and the sentence says by
     * what (the passed socket is still there for the right address). */
    CHECK_FAILS(prise_tcp_listen(NULL, port, 4), -1, EADDRINUSE);
    char passed[64];
    snprintf(passed, sizeof passed, "passed a socket bound to 127.0.0.1:%s", port);
    CHECK(strstr(prise_last_error(), passed) != NULL && strstr(prise_last_error(), "unix:") == NULL);
    CHECK(prise_tcp_listen("127.0.0.1", port, 4) == 3);
    /* Handed out once: asked again, prise binds, and the port is in use. */
    CHECK_FAILS(prise_tcp_listen("127.0.0.1", port, 4), -1, EADDRINUSE);
    /* Abstract names are per socket type: a datagram socket of that name is a new one. */
    int datagram = prise_unix_listen(abstract, SOCK_DGRAM);
    CHECK(datagram > 5);
    prise_close(datagram);
    CHECK(prise_unix_listen(abstract, SOCK_STREAM) == 4);
    CHECK(prise_udp_bind("127.0.0.1", udp_port) == 5);
    CHECK_FAILS(prise_listen_fd_named("web"), -1, ENOENT);
    CHECK(strstr(prise_last_error(), "web, local, dgram") != NULL);
    CHECK_FAILS(prise_listen_fd_named(NULL), -1, EINVAL);
    int conn = prise_accept(3, NULL, NULL);
    char buf[4];
    CHECK(conn >= 0 && prise_read_full(conn, buf, 4) == 4 && prise_write_all(conn, buf, 4) == 4);
    prise_close(conn);
    return checks_failed == 0 ? 0 : 1;
}

static int activation_case(const char *name)
{
    if (strcmp(name, "none") == 0) {
        CHECK(prise_listen_fds() == 0);
        CHECK_FAILS(prise_listen_fd_named("web"), -1, ENOENT);
    } else if (strcmp(name, "foreign") == 0) {
        /* Meant for another process: nothing used, nothing changed but the variables. */
        CHECK(prise_listen_fds() == 0 && !cloexec(3) && getenv("LISTEN_FDS") == NULL);
    } else if (strcmp(name, "malformed") == 0 || strcmp(name, "names") == 0) {
        CHECK_FAILS(prise_listen_fds(), -1, EINVAL);
        CHECK(strstr(prise_last_error(), name[0] == 'm' ? "LISTEN_FDS" : "LISTEN_FDNAMES") != NULL);
        int fresh = prise_tcp_listen("127.0.0.1", "0", 4); /* listening still works */
        CHECK(fresh >= 0);
        prise_close(fresh);
    } else {
        CHECK_FAILS(prise_listen_fds(), -1, EBADF);
        CHECK(strstr(prise_last_error(), "descriptor 4") != NULL);
    }
    CHECK(getenv("LISTEN_PID") == NULL);
    return checks_failed == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    alarm(120);
    if (argc == 5 && strcmp(argv[1], "activated") == 0)
        return activated(argv[2], argv[3], argv[4]);
    if (argc == 3 && strcmp(argv[1], "activation-case") == 0)
        return activation_case(argv[2]);
    happy_eyeballs();
    socket_options();
    events_echo_many();
    events_partial_input();
    events_backpressure();
    events_idle_and_limits();
    events_shared_listener();
    events_callbacks();
    events_bad_input();
    events_stop_on_signals();
    activation(argv[0]);
    return check_summary();
}
