/*
 * traced.c — a program in plain libc (no prise), run under prise-run by
 * tests/prise_run.rs. Each mode does one kind of socket work and reports on stdout
 * what the test must find in the trace (ports, pids, descriptors); the exit status says
 * whether the program itself saw what it should (0) or not (1). alarm() bounds it.
 *
 *   traced conversation        TCP server and forked client, UDP, a refused connect
 *   traced transfer W R BYTES  a forked child reads what the parent writes; W and R are
 *                              "naive" (one call, expects everything) or "loop"
 *                              (8 KiB calls, looping over short transfers and EINTR)
 *   traced epipe [handler]     writes to a closed peer (with a SIGPIPE handler)
 *   traced errno               errno after traced calls is the real one
 *   traced nonblocking         a non-blocking exchange that waits with poll on EAGAIN
 *   traced refused             connects to a server that listens (refuse= fault)
 *   traced early SELF [-]      a socket made before main, dup2, then exec of SELF
 *   traced inherited FD        writes on an inherited socket descriptor
 *   traced threads             two threads, each with a socketpair
 *   traced spawn               vfork and posix_spawn around socket calls
 *   traced signals             a signal handler sends on a socket, 1000 times a second
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what)
{
    printf("FAILED %s: %s\n", what, strerror(errno));
    fflush(stdout);
    exit(1);
}

/* A TCP socket listening on 127.0.0.1 with an ephemeral port; *port receives it. */
static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 8) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0)
        die("listen");
    *port = ntohs(addr.sin_port);
    return fd;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0)
        die("socket");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0)
        return -1;
    return fd;
}

static int conversation(void)
{
    int port;
    int listener = listen_loopback(&port);
    printf("port=%d\n", port);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        close(listener);
        int fd = connect_loopback(port);
        char reply[16] = {0};
        if (fd < 0 || write(fd, "ping\n", 5) != 5 || read(fd, reply, sizeof reply) != 5)
            _exit(1);
        close(fd);
        _exit(strcmp(reply, "pong\n") == 0 ? 0 : 1);
    }
    printf("parent=%d child=%d\n", (int)getpid(), (int)child);
    fflush(stdout);
    /* Wait for the client with select, for its bytes with epoll. */
    fd_set ready;
    FD_ZERO(&ready);
    FD_SET(listener, &ready);
    struct timeval ten = {.tv_sec = 10};
    if (select(listener + 1, &ready, NULL, NULL, &ten) != 1)
        die("select");
    int conn = accept(listener, NULL, NULL);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event interest = {.events = EPOLLIN, .data.fd = conn};
    struct epoll_event event;
    if (conn < 0 || ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, conn, &interest) < 0 ||
        epoll_wait(ep, &event, 1, 10000) != 1)
        die("accept/epoll");
    close(ep);
    char got[16] = {0};
    if (read(conn, got, sizeof got) != 5 || strcmp(got, "ping\n") != 0)
        die("read");
    struct iovec parts[2] = {{"po", 2}, {"ng\n", 3}};
    if (writev(conn, parts, 2) != 5)
        die("writev");
    close(conn);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("client");

    /* UDP: a datagram and its sender's address. */
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof to;
    if (bind(b, (struct sockaddr *)&to, sizeof to) < 0 || getsockname(b, (struct sockaddr *)&to, &len) < 0)
        die("udp bind");
    if (sendto(a, "datagram", 8, 0, (struct sockaddr *)&to, sizeof to) != 8)
        die("sendto");
    struct sockaddr_in from;
    socklen_t from_len = sizeof from;
    char buf[16];
    if (recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len) != 8)
        die("recvfrom");
    close(a);
    close(b);

    /* The old resolver the first course generation used. */
    if (gethostbyname("localhost") == NULL)
        die("gethostbyname");

    /* A port bound but not listening: the connect is refused. */
    int refused_port;
    close(listener);
    listener = listen_loopback(&refused_port);
    close(listener);
    printf("refused=%d\n", refused_port);
    if (connect_loopback(refused_port) >= 0 || errno != ECONNREFUSED)
        die("refused connect");
    printf("conversation done\n");
    return 0;
}

static const char *pattern = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/* The reader side of `transfer`: counts and checks every byte until end of file. */
static int read_all(int fd, long expected, int naive)
{
    char *buf = malloc((size_t)expected + 1);
    long total = 0;
    if (naive) {
        /* Wait until everything has arrived, then expect one read to get it all. */
        for (int i = 0; i < 2000; i++) {
            int ready = 0;
            if (ioctl(fd, FIONREAD, &ready) == 0 && ready >= expected)
                break;
            usleep(1000);
        }
        ssize_t n = read(fd, buf, (size_t)expected);
        if (n != expected) {
            printf("short read: %zd of %ld\n", n, expected);
            return 1;
        }
        total = n;
    } else {
        for (;;) {
            ssize_t n = read(fd, buf + total, (size_t)(expected + 1 - total));
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                printf("read failed: %s\n", strerror(errno));
                return 1;
            }
            if (n == 0)
                break;
            total += n;
        }
    }
    for (long i = 0; i < total; i++)
        if (buf[i] != pattern[i % 62]) {
            printf("corrupt at %ld\n", i);
            return 1;
        }
    printf("received=%ld\n", total);
    free(buf);
    return total == expected ? 0 : 1;
}

static int transfer(const char *writer, const char *reader, long bytes)
{
    int port;
    int listener = listen_loopback(&port);
    pid_t child = fork();
    if (child == 0) {
        int conn;
        while ((conn = accept(listener, NULL, NULL)) < 0 && errno == EINTR)
            ;
        close(listener);
        if (conn < 0)
            _exit(1);
        int status = read_all(conn, bytes, strcmp(reader, "naive") == 0);
        fflush(stdout);
        _exit(status);
    }
    close(listener);
    printf("writer=%d reader=%d\n", (int)getpid(), (int)child);
    fflush(stdout);
    int fd = connect_loopback(port);
    if (fd < 0)
        die("connect");
    char *data = malloc((size_t)bytes);
    for (long i = 0; i < bytes; i++)
        data[i] = pattern[i % 62];
    int failed = 0;
    if (strcmp(writer, "naive") == 0) {
        ssize_t n = write(fd, data, (size_t)bytes);
        if (n != bytes) {
            printf("short write: %zd of %ld\n", n, bytes);
            failed = 1;
        }
    } else {
        long done = 0;
        while (done < bytes) {
            long chunk = bytes - done < 8192 ? bytes - done : 8192;
            ssize_t n = write(fd, data + done, (size_t)chunk);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                printf("write failed: %s\n", strerror(errno));
                failed = 1;
                break;
            }
            done += n;
        }
    }
    close(fd);
    free(data);
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        failed = 1;
    printf("transfer %s\n", failed ? "failed" : "done");
    return failed;
}

static volatile sig_atomic_t sigpipe_seen;
static void on_sigpipe(int sig)
{
    (void)sig;
    sigpipe_seen = 1;
}

static int epipe(int with_handler)
{
    if (with_handler)
        signal(SIGPIPE, on_sigpipe);
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
        die("socketpair");
    close(pair[1]);
    ssize_t n = write(pair[0], "hello", 5);
    printf("write=%zd errno=%s handler=%d\n", n, n < 0 && errno == EPIPE ? "EPIPE" : "other",
           (int)sigpipe_seen);
    return n < 0 && errno == EPIPE ? 0 : 1;
}

#define EXPECT(cond)                                               \
    do {                                                           \
        if (!(cond)) {                                             \
            printf("errno check failed line %d: %s (errno %d)\n", \
                   __LINE__, #cond, errno);                        \
            failures++;                                            \
        }                                                          \
    } while (0)

static int errno_checks(void)
{
    int failures = 0;
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
        die("socketpair");
    char buf[8];

    errno = 12345; /* success leaves errno alone, traced or not */
    EXPECT(send(pair[0], "abc", 3, 0) == 3 && errno == 12345);
    EXPECT(recv(pair[1], buf, sizeof buf, 0) == 3 && errno == 12345);

    int port;
    int holder = listen_loopback(&port);
    close(holder);
    errno = 0;
    EXPECT(connect_loopback(port) < 0 && errno == ECONNREFUSED);

    int pipe_fds[2];
    if (pipe(pipe_fds) < 0)
        die("pipe");
    int value;
    socklen_t len = sizeof value;
    errno = 0;
    EXPECT(getsockopt(pipe_fds[0], SOL_SOCKET, SO_TYPE, &value, &len) < 0 && errno == ENOTSOCK);

    int closed = pair[1];
    EXPECT(close(closed) == 0);
    errno = 0;
    EXPECT(read(closed, buf, 1) < 0 && errno == EBADF);
    errno = 0;
    EXPECT(send(closed, "x", 1, 0) < 0 && errno == EBADF);

    /* The number of the closed socket comes back as a pipe: not a socket any more. */
    int again[2];
    if (pipe(again) < 0)
        die("pipe");
    errno = 0;
    EXPECT(write(again[1], "pipe", 4) == 4);
    EXPECT(read(again[0], buf, 4) == 4 && memcmp(buf, "pipe", 4) == 0);
    printf("pipe-fds=%d,%d closed-socket=%d\n", again[0], again[1], closed);

    /* Sockets closed behind the library's back (a raw system call): the pipe that gets
     * their numbers must still work. */
    int hidden[2], stale[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, hidden) < 0 || send(hidden[0], "x", 1, 0) != 1 ||
        recv(hidden[1], buf, 1, 0) != 1)
        die("socketpair");
    syscall(SYS_close, hidden[0]);
    syscall(SYS_close, hidden[1]);
    if (pipe(stale) < 0)
        die("pipe");
    EXPECT(write(stale[1], "stale", 5) == 5);
    EXPECT(read(stale[0], buf, 5) == 5 && memcmp(buf, "stale", 5) == 0);
    printf("errno checks: %d failed\n", failures);
    return failures != 0;
}

static int nonblocking(void)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pair) < 0)
        die("socketpair");
    int sent = 0, got = 0, eagain = 0;
    char buf[64];
    for (int round = 0; round < 20; round++) {
        while (send(pair[0], "tick", 4, 0) != 4) {
            if (errno != EAGAIN && errno != EINTR)
                die("send");
            eagain++;
        }
        sent += 4;
        for (;;) {
            ssize_t n = recv(pair[1], buf, sizeof buf, 0);
            if (n > 0) {
                got += (int)n;
                break;
            }
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                die("recv");
            eagain++;
            struct pollfd p = {.fd = pair[1], .events = POLLIN};
            poll(&p, 1, 1000);
        }
    }
    printf("sent=%d got=%d eagain=%d\n", sent, got, eagain);
    return sent == got ? 0 : 1;
}

static int refused(void)
{
    int port;
    int listener = listen_loopback(&port);
    printf("port=%d\n", port);
    int fd = connect_loopback(port);
    printf("connect=%s\n", fd >= 0 ? "ok" : strerror(errno));
    close(listener);
    return fd >= 0 ? 0 : 1;
}

/* Made before main (in mode "early" only): prise-run must already be in place.
 * glibc gives constructors the program's arguments. */
static int early_pair[2] = {-1, -1};
__attribute__((constructor)) static void before_main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "early") == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, early_pair) == 0)
        (void)!write(early_pair[0], "early", 5);
}

static int early(const char *self)
{
    char buf[16];
    if (read(early_pair[1], buf, sizeof buf) != 5)
        die("early read");
    /* A duplicate of a socket at a number of our choosing is a socket too. */
    if (dup2(early_pair[0], 50) != 50 || write(50, "dup", 3) != 3 || read(early_pair[1], buf, 3) != 3)
        die("dup2");
    /* The executed image inherits descriptor 50 and writes on it. */
    pid_t child = fork();
    if (child == 0) {
        execl(self, self, "inherited", "50", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    ssize_t n = read(early_pair[1], buf, sizeof buf);
    printf("inherited wrote %zd\n", n);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && n == 9 ? 0 : 1;
}

static int inherited(int fd)
{
    return write(fd, "inherited", 9) == 9 ? 0 : 1;
}

static void *thread_work(void *arg)
{
    (void)arg;
    int pair[2];
    char buf[8];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0 || send(pair[0], "thread", 6, 0) != 6 ||
        recv(pair[1], buf, sizeof buf, 0) != 6)
        return (void *)1;
    close(pair[0]);
    close(pair[1]);
    return NULL;
}

static int threads(void)
{
    pthread_t t[2];
    void *result[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, thread_work, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], &result[i]);
    printf("main=%d\n", (int)getpid());
    return result[0] == NULL && result[1] == NULL ? 0 : 1;
}

static int spawn(void)
{
    int pair[2];
    char buf[8];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
        die("socketpair");
    pid_t child = vfork();
    if (child == 0) {
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    int status;
    waitpid(child, &status, 0);
    int vforked = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    char *argv[] = {"true", NULL};
    pid_t spawned;
    int ok = posix_spawn(&spawned, "/bin/true", NULL, NULL, argv, environ) == 0 &&
             waitpid(spawned, &status, 0) == spawned && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (send(pair[0], "after", 5, 0) != 5 || recv(pair[1], buf, sizeof buf, 0) != 5)
        die("after spawn");
    printf("vfork=%d posix_spawn=%d\n", vforked, ok);
    return vforked && ok ? 0 : 1;
}

/* A signal handler that sends on a socket, a thousand times a second, while the
 * program sends and receives: the trace must neither deadlock nor lose a byte. */
static int alarm_pair[2];
static volatile sig_atomic_t alarms;
static void on_timer(int sig)
{
    (void)sig;
    int saved = errno;
    if (send(alarm_pair[0], "!", 1, MSG_DONTWAIT) == 1)
        alarms++;
    errno = saved;
}

static int signals(void)
{
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, alarm_pair) < 0)
        die("socketpair");
    struct sigaction action = {.sa_handler = on_timer, .sa_flags = SA_RESTART};
    sigaction(SIGUSR1, &action, NULL);
    struct sigevent event = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_t timer;
    struct itimerspec every = {.it_interval = {0, 1000000}, .it_value = {0, 1000000}};
    if (timer_create(CLOCK_MONOTONIC, &event, &timer) < 0 || timer_settime(timer, 0, &every, NULL) < 0)
        die("timer");
    int rounds = 0;
    char byte, drain[256];
    for (int i = 0; i < 3000; i++) {
        if (send(pair[0], "x", 1, 0) == 1 && recv(pair[1], &byte, 1, 0) == 1 && byte == 'x')
            rounds++;
        while (recv(alarm_pair[1], drain, sizeof drain, MSG_DONTWAIT) > 0)
            ;
    }
    timer_delete(timer);
    printf("rounds=%d alarms=%d\n", rounds, (int)alarms);
    return rounds == 3000 ? 0 : 1;
}

int main(int argc, char **argv)
{
    alarm(30);
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "conversation") == 0)
        return conversation();
    if (strcmp(mode, "transfer") == 0 && argc == 5)
        return transfer(argv[2], argv[3], atol(argv[4]));
    if (strcmp(mode, "epipe") == 0)
        return epipe(argc > 2);
    if (strcmp(mode, "errno") == 0)
        return errno_checks();
    if (strcmp(mode, "nonblocking") == 0)
        return nonblocking();
    if (strcmp(mode, "refused") == 0)
        return refused();
    if (strcmp(mode, "early") == 0 && argc == 3)
        return early(argv[2]);
    if (strcmp(mode, "inherited") == 0 && argc == 3)
        return inherited(atoi(argv[2]));
    if (strcmp(mode, "threads") == 0)
        return threads();
    if (strcmp(mode, "spawn") == 0)
        return spawn();
    if (strcmp(mode, "signals") == 0)
        return signals();
    fprintf(stderr, "usage: traced MODE ... (see the comment at the top)\n");
    return 2;
}
