/* Attack 14, F6 and F5. F6: accept(2) passes a connection's pending network error on as accept's
   own (ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH, EOPNOTSUPP,
   ENETUNREACH; ECONNABORTED) and says to retry. Each error, injected into one accept4
   (the client it took is closed, as the kernel drops it), must cost that client only:
   the server (events, threads and fork models) goes on answering the next one.
   F5: out of descriptors (EMFILE), prise_serve_events must not sleep in its one thread
   (every client would wait with it): sleeps of the serving thread are counted. */
#include "common.h"
#include <dlfcn.h>

static int inject_errno; /* read and cleared by the one accept4 it fails */
static int emfile_left;  /* how many accept4 calls fail with EMFILE */
static pthread_t serving_thread;
static int serving_thread_set, serving_thread_sleeps;

static void count_sleep(void)
{
    if (__atomic_load_n(&serving_thread_set, __ATOMIC_SEQ_CST) &&
        pthread_equal(pthread_self(), serving_thread))
        __atomic_fetch_add(&serving_thread_sleeps, 1, __ATOMIC_SEQ_CST);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
    count_sleep();
    int (*real)(const struct timespec *, struct timespec *) = dlsym(RTLD_NEXT, "nanosleep");
    return real(req, rem);
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
    count_sleep();
    int (*real)(clockid_t, int, const struct timespec *, struct timespec *) =
        dlsym(RTLD_NEXT, "clock_nanosleep");
    return real(clock, flags, req, rem);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
    int (*real)(int, struct sockaddr *, socklen_t *, int) = dlsym(RTLD_NEXT, "accept4");
    int conn = real(fd, addr, len, flags);
    int injected = __atomic_exchange_n(&inject_errno, 0, __ATOMIC_SEQ_CST);
    if (conn >= 0 && injected == 0 && __atomic_load_n(&emfile_left, __ATOMIC_SEQ_CST) > 0) {
        __atomic_fetch_sub(&emfile_left, 1, __ATOMIC_SEQ_CST);
        injected = EMFILE;
    }
    if (conn >= 0 && injected != 0) {
        close(conn);
        errno = injected;
        return -1;
    }
    return conn;
}

static ssize_t echo_data(prise_conn *conn, const char *data, size_t len, void *ctx)
{
    (void)ctx;
    return prise_conn_send(conn, data, len) == 0 ? (ssize_t)len : -1;
}

/* One ping, one answer: a forked child holds a copy of its own client's descriptor
 * (this process is the client too), so it must not wait for the end of file. */
static int echo_handler(int fd, void *ctx)
{
    (void)ctx;
    char buf[4];
    prise_set_timeout(fd, 5000);
    if (prise_read_full(fd, buf, sizeof buf) == sizeof buf)
        prise_write_all(fd, buf, sizeof buf);
    return 0;
}

enum model { EVENTS, THREADS, FORK };
struct server { int listen_fd, result; enum model model; };

static void *serve(void *arg)
{
    struct server *s = arg;
    struct prise_events_options options = {.keep_signals = 1};
    serving_thread = pthread_self();
    __atomic_store_n(&serving_thread_set, 1, __ATOMIC_SEQ_CST);
    if (s->model == EVENTS)
        s->result = prise_serve_events(s->listen_fd, echo_data, NULL, NULL, &options);
    else if (s->model == THREADS)
        s->result = prise_serve_threads(s->listen_fd, echo_handler, NULL);
    else
        s->result = prise_serve_fork(s->listen_fd, echo_handler, NULL);
    return NULL;
}

/* Whether a fresh client of port gets its bytes back. */
static int echoes(const char *port)
{
    int fd = prise_tcp_connect("127.0.0.1", port);
    if (fd < 0)
        return 0;
    prise_set_timeout(fd, 5000);
    char back[4] = {0};
    int ok = prise_write_all(fd, "ping", 4) == 4 && prise_read_full(fd, back, 4) == 4 &&
             memcmp(back, "ping", 4) == 0;
    close(fd);
    return ok;
}

int main(void)
{
    alarm(100);
    const int errors[] = {ENETDOWN, EPROTO, ENOPROTOOPT, EHOSTDOWN, ENONET, EHOSTUNREACH,
                          EOPNOTSUPP, ENETUNREACH, ECONNABORTED};
    const char *models[] = {"events", "threads", "fork"};
    int failures = 0;
    for (int m = 0; m < 3; m++)
        for (size_t e = 0; e < sizeof errors / sizeof errors[0]; e++) {
            struct server s = {prise_tcp_listen("127.0.0.1", "0", 16), -5, (enum model)m};
            char port[8];
            snprintf(port, sizeof port, "%d", port_of(s.listen_fd));
            pthread_t thread;
            pthread_create(&thread, NULL, serve, &s);
            int before = echoes(port);
            __atomic_store_n(&inject_errno, errors[e], __ATOMIC_SEQ_CST);
            int victim = prise_tcp_connect("127.0.0.1", port); /* its accept fails */
            for (int i = 0; i < 500 && __atomic_load_n(&inject_errno, __ATOMIC_SEQ_CST); i++)
                usleep(10000);
            int after = echoes(port);
            shutdown(s.listen_fd, SHUT_RDWR);
            pthread_join(thread, NULL);
            close(victim);
            close(s.listen_fd);
            if (!before || !after || s.result != 0) {
                fprintf(stderr, "%s server, accept failing with %s: echo before %d, after %d, "
                        "returned %d (%s)\n", models[m], strerror(errors[e]), before, after,
                        s.result, prise_last_error());
                failures++;
            }
        }

    /* EMFILE for 20 clients in a row while a held client talks: answered each time, and
     * the serving thread never sleeps. */
    struct server s = {prise_tcp_listen("127.0.0.1", "0", 64), -5, EVENTS};
    char port[8];
    snprintf(port, sizeof port, "%d", port_of(s.listen_fd));
    pthread_t thread;
    pthread_create(&thread, NULL, serve, &s);
    int held = prise_tcp_connect("127.0.0.1", port);
    prise_set_timeout(held, 5000);
    char first[1];
    int victims[20], answered = 0;
    if (prise_write_all(held, "h", 1) != 1 || prise_read_full(held, first, 1) != 1)
        failures++; /* held is accepted before accepting fails */
    __atomic_store_n(&serving_thread_sleeps, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&emfile_left, 20, __ATOMIC_SEQ_CST);
    for (int i = 0; i < 20; i++) {
        victims[i] = prise_tcp_connect("127.0.0.1", port);
        char back[1];
        answered += prise_write_all(held, "h", 1) == 1 && prise_read_full(held, back, 1) == 1;
    }
    for (int i = 0; i < 500 && __atomic_load_n(&emfile_left, __ATOMIC_SEQ_CST) > 0; i++)
        usleep(10000);
    int sleeps = __atomic_load_n(&serving_thread_sleeps, __ATOMIC_SEQ_CST);
    int after = echoes(port); /* descriptors back: accepting again */
    shutdown(s.listen_fd, SHUT_RDWR);
    pthread_join(thread, NULL);
    for (int i = 0; i < 20; i++)
        close(victims[i]);
    close(held);
    close(s.listen_fd);
    if (answered != 20 || sleeps != 0 || !after || s.result != 0) {
        fprintf(stderr, "events server at EMFILE: %d of 20 answered, %d sleeps in the serving "
                "thread, echo after %d, returned %d\n", answered, sleeps, after, s.result);
        failures++;
    }
    printf("%d failures\n", failures);
    return failures ? 1 : 0;
}
