/*
 * bench — the measuring programs behind `make bench` (bench/run.py drives them).
 * Each subcommand runs one measurement and prints one line of key=value pairs.
 *
 *   bench bulk     libc|prise|course BYTES           TCP bulk, 64 KiB writes
 *   bench pingpong libc|prise|course SIZE ROUNDS     TCP round trips of SIZE bytes
 *   bench udp      libc|prise COUNT                  64-byte datagrams, sent/received/lost
 *   bench resolve  libc|prise|course NAME COUNT      resolutions per second
 *   bench calls    libc|prise COUNT                  COUNT 1-byte sends (for callgrind)
 *   bench filecopy SRC DST CHUNK                     a file copied in CHUNK-byte calls
 *   bench connect  PORT THREADS SECONDS              connect, 1-byte echo, close
 *   bench hold     PORT COUNT [wait]                 connections held open at once; with
 *                                                    wait, held until a line on stdin (the
 *                                                    driver measures the server meanwhile)
 *
 * All traffic is on loopback; the peer of bulk/pingpong/udp is a forked child.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helperSO.h"
#include "prise.h"

enum variant { LIBC, PRISE, COURSE };
enum { CHUNK = 65536 };

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench: %s: %s (%s)\n", what, strerror(errno), prise_last_error());
    exit(1);
}

static enum variant parse_variant(const char *name)
{
    if (strcmp(name, "libc") == 0)
        return LIBC;
    if (strcmp(name, "prise") == 0)
        return PRISE;
    if (strcmp(name, "course") == 0)
        return COURSE;
    fprintf(stderr, "bench: unknown variant %s (libc, prise or course)\n", name);
    exit(2);
}

/* A connected TCP pair on loopback: *server_side for the child, *client_side here. */
static void tcp_pair(int *client_side, int *server_side)
{
    int listener = prise_tcp_listen("127.0.0.1", "0", 1);
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    if (listener < 0 || getsockname(listener, (struct sockaddr *)&addr, &len) < 0)
        die("listen");
    int client = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(client, (struct sockaddr *)&addr, len) < 0)
        die("connect");
    *server_side = accept(listener, NULL, NULL);
    *client_side = client;
    close(listener);
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(*server_side, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static ssize_t write_whole(enum variant v, int fd, char *buf, size_t n)
{
    switch (v) {
    case LIBC: {
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(fd, buf + done, n - done);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            done += (size_t)w;
        }
        return (ssize_t)done;
    }
    case PRISE:
        return prise_write_all(fd, buf, n);
    default:
        return writes(fd, buf, (int)n);
    }
}

static ssize_t read_whole(enum variant v, int fd, char *buf, size_t n)
{
    switch (v) {
    case LIBC: {
        size_t done = 0;
        while (done < n) {
            ssize_t r = read(fd, buf + done, n - done);
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                return -1;
            }
            if (r == 0)
                break;
            done += (size_t)r;
        }
        return (ssize_t)done;
    }
    case PRISE:
        return prise_read_full(fd, buf, n);
    default:
        return reads(fd, buf, (int)n);
    }
}

static int bulk(enum variant v, long long bytes)
{
    int here, there;
    tcp_pair(&here, &there);
    static char buf[CHUNK];
    memset(buf, 'x', sizeof buf);
    pid_t child = fork();
    if (child == 0) { /* the sink: whole chunks until end of file, then one byte back */
        close(here);
        long long got = 0;
        ssize_t n;
        while ((n = read_whole(v, there, buf, CHUNK)) > 0)
            got += n;
        char ack = got == bytes ? 'k' : 'e';
        _exit(write(there, &ack, 1) == 1 && ack == 'k' ? 0 : 1);
    }
    close(there);
    double start = now();
    for (long long sent = 0; sent < bytes; sent += CHUNK)
        if (write_whole(v, here, buf, CHUNK) != CHUNK)
            die("write");
    shutdown(here, SHUT_WR);
    char ack = 0;
    if (read(here, &ack, 1) != 1 || ack != 'k')
        die("sink");
    double seconds = now() - start;
    waitpid(child, NULL, 0);
    printf("seconds=%.6f gbit_per_s=%.3f\n", seconds, (double)bytes * 8 / seconds / 1e9);
    return 0;
}

static ssize_t send_msg(enum variant v, int fd, char *buf, size_t n)
{
    switch (v) {
    case LIBC:
        return send(fd, buf, n, 0);
    case PRISE:
        return prise_send(fd, buf, n, 0);
    default:
        return writes(fd, buf, (int)n);
    }
}

static ssize_t recv_msg(enum variant v, int fd, char *buf, size_t n)
{
    /* A message is small and arrives whole on loopback; loop all the same. */
    size_t done = 0;
    while (done < n) {
        ssize_t r = v == LIBC ? recv(fd, buf + done, n - done, 0)
                  : v == PRISE ? prise_recv(fd, buf + done, n - done, 0)
                               : reads(fd, buf + done, (int)(n - done));
        if (r <= 0)
            return -1;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int pingpong(enum variant v, size_t size, long rounds)
{
    int here, there;
    tcp_pair(&here, &there);
    char buf[4096];
    memset(buf, 'p', sizeof buf);
    pid_t child = fork();
    if (child == 0) {
        close(here);
        for (long i = 0; i < rounds; i++)
            if (recv_msg(v, there, buf, size) < 0 || send_msg(v, there, buf, size) < 0)
                _exit(1);
        _exit(0);
    }
    close(there);
    double start = now();
    for (long i = 0; i < rounds; i++)
        if (send_msg(v, here, buf, size) < 0 || recv_msg(v, here, buf, size) < 0)
            die("ping-pong");
    double seconds = now() - start;
    waitpid(child, NULL, 0);
    printf("seconds=%.6f us_per_round_trip=%.3f\n", seconds, seconds * 1e6 / (double)rounds);
    return 0;
}

static int udp(enum variant v, long count)
{
    int receiver = prise_udp_bind("127.0.0.1", "0");
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    getsockname(receiver, (struct sockaddr *)&addr, &len);
    int sender = socket(AF_INET, SOCK_DGRAM, 0);
    int big = 4 << 20;
    setsockopt(receiver, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    int pipefd[2];
    if (pipe(pipefd) < 0)
        die("pipe");
    pid_t child = fork();
    if (child == 0) { /* receiver: counts until 200 ms of silence */
        close(sender);
        prise_set_timeout(receiver, 200);
        char buf[64];
        long got = 0;
        struct sockaddr_storage from;
        for (;;) {
            socklen_t from_len = sizeof from;
            ssize_t n = v == LIBC ? recvfrom(receiver, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len)
                                  : prise_recvfrom(receiver, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
            if (n < 0)
                break;
            got++;
        }
        if (write(pipefd[1], &got, sizeof got) != sizeof got)
            _exit(1);
        _exit(0);
    }
    close(receiver);
    char buf[64];
    memset(buf, 'u', sizeof buf);
    usleep(20000);
    double start = now();
    long sent = 0;
    for (long i = 0; i < count; i++) {
        ssize_t n = v == LIBC ? sendto(sender, buf, sizeof buf, 0, (struct sockaddr *)&addr, len)
                              : prise_sendto(sender, buf, sizeof buf, 0, (struct sockaddr *)&addr, len);
        if (n == (ssize_t)sizeof buf)
            sent++;
    }
    double seconds = now() - start;
    long received = 0;
    if (read(pipefd[0], &received, sizeof received) != sizeof received)
        die("receiver");
    waitpid(child, NULL, 0);
    printf("seconds=%.6f sent=%ld received=%ld lost=%ld sent_per_s=%.0f\n", seconds, sent,
           received, sent - received, (double)sent / seconds);
    return 0;
}

static int resolve(enum variant v, const char *name, long count)
{
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    double start = now();
    for (long i = 0; i < count; i++) {
        switch (v) {
        case LIBC:
            if (getaddrinfo(name, "80", &hints, &res) != 0)
                die("getaddrinfo");
            freeaddrinfo(res);
            break;
        case PRISE:
            if (prise_getaddrinfo(name, "80", &hints, &res) != 0)
                die("prise_getaddrinfo");
            prise_freeaddrinfo(res);
            break;
        default:
            if ((res = getAddrInfo(name, "80", SOCK_STREAM)) == NULL)
                die("getAddrInfo");
            freeaddrinfo(res);
        }
    }
    double seconds = now() - start;
    printf("seconds=%.6f calls_per_s=%.0f\n", seconds, (double)count / seconds);
    return 0;
}

/* COUNT one-byte sends on a socketpair, drained every 64 (each 1-byte message costs the
 * receive buffer far more than one byte): callgrind counts the user-space
 * instructions; the difference between variants is the ABI's cost. */
static int calls(enum variant v, long count)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    char byte = 'c', drain[1024];
    double start = now();
    for (long i = 0; i < count; i++) {
        ssize_t n = v == LIBC ? send(sv[0], &byte, 1, 0) : prise_send(sv[0], &byte, 1, 0);
        if (n != 1)
            die("send");
        if ((i & 63) == 63 && read(sv[1], drain, sizeof drain) < 0)
            die("drain");
    }
    double seconds = now() - start;
    printf("calls=%ld seconds=%.6f\n", count, seconds);
    return 0;
}

/* SRC copied to DST with read/write of CHUNK bytes: what prise-run must not slow down. */
static int filecopy(const char *src, const char *dst, size_t chunk)
{
    int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    char *buf = malloc(chunk);
    if (in < 0 || out < 0 || buf == NULL)
        die("open");
    double start = now();
    long long total = 0;
    ssize_t n;
    while ((n = read(in, buf, chunk)) > 0) {
        if (write(out, buf, (size_t)n) != n)
            die("write");
        total += n;
    }
    if (n < 0)
        die("read");
    double seconds = now() - start;
    close(in);
    close(out);
    free(buf);
    printf("seconds=%.6f mib_per_s=%.1f\n", seconds, (double)total / seconds / (1 << 20));
    return 0;
}

struct load {
    struct sockaddr_in addr;
    double until;
    long done, failed;
};

/* Each connection leaves its client port in TIME_WAIT for a minute: one source address
 * would run out of ports (~28,000) within two seconds and cap every server alike. So
 * every 16,384 connections move to the next source address of 127.0.0.0/8. */
static long connection_serial;

static int bind_next_source(int fd)
{
    long serial = __atomic_fetch_add(&connection_serial, 1, __ATOMIC_RELAXED) >> 14;
    struct sockaddr_in source;
    memset(&source, 0, sizeof source);
    source.sin_family = AF_INET;
    source.sin_addr.s_addr = htonl(0x7f010001u + (uint32_t)(serial % 60000));
    int on = 1;
    setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on, sizeof on);
    return bind(fd, (struct sockaddr *)&source, sizeof source);
}

static void *connect_loop(void *arg)
{
    struct load *load = arg;
    while (now() < load->until) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        char byte = 'c';
        if (fd < 0 || bind_next_source(fd) < 0 ||
            connect(fd, (struct sockaddr *)&load->addr, sizeof load->addr) < 0 ||
            write(fd, &byte, 1) != 1 || read(fd, &byte, 1) != 1)
            load->failed++;
        else
            load->done++;
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

static int connect_rate(int port, int threads, double seconds)
{
    /* A different run, a different range of source addresses. */
    connection_serial = (long)(getpid() % 1000) << 16;
    struct load loads[64];
    pthread_t ids[64];
    if (threads < 1 || threads > 64)
        threads = 1;
    double start = now();
    for (int i = 0; i < threads; i++) {
        memset(&loads[i], 0, sizeof loads[i]);
        loads[i].addr.sin_family = AF_INET;
        loads[i].addr.sin_port = htons((uint16_t)port);
        loads[i].addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        loads[i].until = start + seconds;
        pthread_create(&ids[i], NULL, connect_loop, &loads[i]);
    }
    long done = 0, failed = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(ids[i], NULL);
        done += loads[i].done;
        failed += loads[i].failed;
    }
    double elapsed = now() - start;
    printf("seconds=%.3f connections=%ld failed=%ld per_s=%.0f\n", elapsed, done, failed,
           (double)done / elapsed);
    return 0;
}

/* Opens COUNT connections and keeps them; each must echo one byte at the end. With
 * `wait`, the result line comes first and the connections stay open until stdin gives
 * a line (or ends). */
static int hold(int port, long count, int wait)
{
    struct rlimit lim;
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    int *fds = calloc((size_t)count, sizeof *fds);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long open_count = 0;
    for (; open_count < count; open_count++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
            if (fd >= 0)
                close(fd);
            break;
        }
        fds[open_count] = fd;
    }
    long echoed = 0;
    for (long i = 0; i < open_count; i++) {
        char byte = 'h';
        struct timeval tv = {5, 0};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        if (write(fds[i], &byte, 1) == 1 && read(fds[i], &byte, 1) == 1)
            echoed++;
    }
    printf("asked=%ld opened=%ld echoed=%ld\n", count, open_count, echoed);
    fflush(stdout);
    char line[8];
    if (wait && read(0, line, sizeof line) < 0)
        perror("bench: hold: stdin");
    for (long i = 0; i < open_count; i++)
        close(fds[i]);
    free(fds);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    alarm(600);
    if (argc >= 4 && strcmp(argv[1], "bulk") == 0)
        return bulk(parse_variant(argv[2]), atoll(argv[3]));
    if (argc >= 5 && strcmp(argv[1], "pingpong") == 0)
        return pingpong(parse_variant(argv[2]), (size_t)atol(argv[3]), atol(argv[4]));
    if (argc >= 4 && strcmp(argv[1], "udp") == 0)
        return udp(parse_variant(argv[2]), atol(argv[3]));
    if (argc >= 5 && strcmp(argv[1], "resolve") == 0)
        return resolve(parse_variant(argv[2]), argv[3], atol(argv[4]));
    if (argc >= 4 && strcmp(argv[1], "calls") == 0)
        return calls(parse_variant(argv[2]), atol(argv[3]));
    if (argc >= 5 && strcmp(argv[1], "filecopy") == 0)
        return filecopy(argv[2], argv[3], (size_t)atol(argv[4]));
    if (argc >= 5 && strcmp(argv[1], "connect") == 0)
        return connect_rate(atoi(argv[2]), atoi(argv[3]), atof(argv[4]));
    if (argc >= 4 && strcmp(argv[1], "hold") == 0)
        return hold(atoi(argv[2]), atol(argv[3]), argc >= 5 && strcmp(argv[4], "wait") == 0);
    fprintf(stderr,
            "usage: bench bulk|pingpong|udp|resolve|calls|filecopy|connect|hold ... (see bench.c)\n");
    return 2;
}
