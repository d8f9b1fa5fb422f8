/* primitives.c — every prise_* primitive over loopback: TCP and UDP on IPv4 and IPv6,
 * Unix stream and datagram; then bad input (NULL, bad descriptors, closed peers). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "check.h"

/* A listening TCP socket on the loopback of `family`, port chosen by the kernel. */
static int tcp_server(int family, struct sockaddr_storage *bound, socklen_t *len)
{
    struct sockaddr_storage any;
    memset(&any, 0, sizeof any);
    socklen_t any_len;
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&any;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        any_len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&any;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        any_len = sizeof *sin6;
    }
    int fd = prise_socket(family, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    int on = 1;
    CHECK(prise_setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) == 0);
    CHECK(prise_bind(fd, (struct sockaddr *)&any, any_len) == 0);
    CHECK(prise_listen(fd, 8) == 0);
    *len = sizeof *bound;
    CHECK(prise_getsockname(fd, (struct sockaddr *)bound, len) == 0);
    CHECK(*len == any_len);
    return fd;
}

/* A client connected to a new listening server (IPv4 loopback); returns the client, the
 * server in *server. The connection waits in the server's queue. */
static int connected_client(int *server, struct sockaddr_storage *server_addr, socklen_t *server_len)
{
    *server = tcp_server(AF_INET, server_addr, server_len);
    int client = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(prise_connect(client, (struct sockaddr *)server_addr, *server_len) == 0);
    return client;
}

static void tcp_exchange(int family)
{
    struct sockaddr_storage server_addr;
    socklen_t server_len;
    int server = tcp_server(family, &server_addr, &server_len);

    int client = prise_socket(family, SOCK_STREAM, 0);
    CHECK(client >= 0);
    CHECK(prise_connect(client, (struct sockaddr *)&server_addr, server_len) == 0);

    struct sockaddr_storage peer;
    socklen_t peer_len = sizeof peer;
    int conn = prise_accept(server, (struct sockaddr *)&peer, &peer_len);
    CHECK(conn >= 0);
    CHECK(peer.ss_family == family);

    struct sockaddr_storage client_local;
    socklen_t client_local_len = sizeof client_local;
    CHECK(prise_getsockname(client, (struct sockaddr *)&client_local, &client_local_len) == 0);
    CHECK(client_local_len == peer_len && memcmp(&client_local, &peer, peer_len) == 0);

    struct sockaddr_storage remote;
    socklen_t remote_len = sizeof remote;
    CHECK(prise_getpeername(client, (struct sockaddr *)&remote, &remote_len) == 0);
    CHECK(remote_len == server_len && memcmp(&remote, &server_addr, server_len) == 0);

    char buf[256];
    CHECK(prise_send(client, "hello", 5, 0) == 5);
    CHECK(prise_recv(conn, buf, sizeof buf, 0) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(prise_write(conn, "world", 5) == 5);
    CHECK(prise_read(client, buf, sizeof buf) == 5 && memcmp(buf, "world", 5) == 0);

    /* sendto/recvfrom on a connected stream socket: NULL address allowed. */
    CHECK(prise_sendto(client, "abc", 3, 0, NULL, 0) == 3);
    CHECK(prise_recvfrom(conn, buf, sizeof buf, 0, NULL, NULL) == 3);

    /* Whole-buffer I/O: 1 MiB from a child process, read back in many pieces. */
    enum { BIG = 1 << 20 };
    char *big = malloc(BIG), *back = malloc(BIG);
    for (int i = 0; i < BIG; i++)
        big[i] = (char)(i * 7 + 3);
    pid_t child = fork();
    if (child == 0) {
        alarm(20);
        int ok = prise_write_all(client, big, BIG) == BIG;
        free(big);
        free(back);
        _exit(ok ? 0 : 1);
    }
    CHECK(prise_read_full(conn, back, BIG) == BIG);
    CHECK(memcmp(big, back, BIG) == 0);
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR)
        ;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* Options: read back what was set. */
    int nodelay = 1, value = 0;
    socklen_t value_len = sizeof value;
    CHECK(prise_setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay) == 0);
    CHECK(prise_getsockopt(client, IPPROTO_TCP, TCP_NODELAY, &value, &value_len) == 0);
    CHECK(value == 1 && value_len == sizeof value);

    /* Shutdown: the reader sees end of file; read_full returns the short count. */
    CHECK(prise_send(client, "tail", 4, 0) == 4);
    CHECK(prise_shutdown(client, SHUT_WR) == 0);
    CHECK(prise_read_full(conn, buf, sizeof buf) == 4);
    CHECK(prise_read(conn, buf, sizeof buf) == 0);

    /* The peer has gone: writing is EPIPE (or ECONNRESET), never a SIGPIPE death. */
    CHECK(prise_close(client) == 0);
    CHECK(prise_close(server) == 0);
    usleep(10000);
    ssize_t first = prise_write_all(conn, big, BIG);
    ssize_t second = prise_write_all(conn, big, BIG);
    CHECK(first == -1 || second == -1);
    CHECK(errno == EPIPE || errno == ECONNRESET);
    CHECK(prise_close(conn) == 0);
    free(big);
    free(back);
}

static void udp_exchange(int family)
{
    struct sockaddr_storage a_addr, b_addr;
    memset(&a_addr, 0, sizeof a_addr);
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&a_addr;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof *sin;
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a_addr;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        len = sizeof *sin6;
    }
    b_addr = a_addr;
    int a = prise_socket(family, SOCK_DGRAM, 0), b = prise_socket(family, SOCK_DGRAM, 0);
    CHECK(a >= 0 && b >= 0);
    CHECK(prise_bind(a, (struct sockaddr *)&a_addr, len) == 0);
    CHECK(prise_bind(b, (struct sockaddr *)&b_addr, len) == 0);
    socklen_t a_len = sizeof a_addr, b_len = sizeof b_addr;
    CHECK(prise_getsockname(a, (struct sockaddr *)&a_addr, &a_len) == 0);
    CHECK(prise_getsockname(b, (struct sockaddr *)&b_addr, &b_len) == 0);

    CHECK(prise_sendto(a, "datagram", 8, 0, (struct sockaddr *)&b_addr, b_len) == 8);
    char buf[64];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    CHECK(prise_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len) == 8);
    CHECK(from_len == a_len && memcmp(&from, &a_addr, a_len) == 0);

    /* A too-small address buffer is filled as far as it goes, with the full length. */
    CHECK(prise_sendto(a, "x", 1, 0, (struct sockaddr *)&b_addr, b_len) == 1);
    char tiny[4];
    socklen_t tiny_len = sizeof tiny;
    CHECK(prise_recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)tiny, &tiny_len) == 1);
    CHECK(tiny_len == a_len);

    /* Connected UDP to a port nobody listens on: ECONNREFUSED after the ICMP. */
    CHECK(prise_connect(a, (struct sockaddr *)&b_addr, b_len) == 0);
    CHECK(prise_close(b) == 0);
    CHECK(prise_send(a, "ping", 4, 0) == 4);
    usleep(20000);
    CHECK_FAILS(prise_recv(a, buf, sizeof buf, MSG_DONTWAIT), -1, ECONNREFUSED);
    CHECK(prise_close(a) == 0);
}

static void unix_exchange(int type)
{
    char path[108];
    snprintf(path, sizeof path, "/tmp/prise-test-%d-%d.sock", (int)getpid(), type);
    unlink(path);
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof addr);
    addr.sun_family = AF_UNIX;
    strcpy(addr.sun_path, path);

    int server = prise_socket(AF_UNIX, type, 0);
    CHECK(server >= 0);
    CHECK(prise_bind(server, (struct sockaddr *)&addr, sizeof addr) == 0);
    char buf[64];
    if (type == SOCK_STREAM) {
        CHECK(prise_listen(server, 4) == 0);
        int client = prise_socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(prise_connect(client, (struct sockaddr *)&addr, sizeof addr) == 0);
        int conn = prise_accept(server, NULL, NULL);
        CHECK(conn >= 0);
        CHECK(prise_write_all(client, "unix", 4) == 4);
        CHECK(prise_read_full(conn, buf, 4) == 4 && memcmp(buf, "unix", 4) == 0);
        prise_close(conn);
        prise_close(client);
    } else {
        int client = prise_socket(AF_UNIX, SOCK_DGRAM, 0);
        CHECK(prise_sendto(client, "dgram", 5, 0, (struct sockaddr *)&addr, sizeof addr) == 5);
        CHECK(prise_recv(server, buf, sizeof buf, 0) == 5 && memcmp(buf, "dgram", 5) == 0);
        prise_close(client);
    }
    struct sockaddr_un local;
    socklen_t local_len = sizeof local;
    CHECK(prise_getsockname(server, (struct sockaddr *)&local, &local_len) == 0);
    CHECK(strcmp(local.sun_path, path) == 0);
    prise_close(server);
    unlink(path);
}

/* A message of `count` buffers and `room` bytes of control data, no address. */
static struct msghdr message_of(struct iovec *iov, size_t count, void *control, size_t room)
{
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    msg.msg_control = control;
    msg.msg_controllen = room;
    return msg;
}

/* accept4 marks the new descriptor as asked; sendmsg/recvmsg gather and scatter over
 * several buffers and carry a descriptor (SCM_RIGHTS) and the sender's address. */
static void messages(void)
{
    struct sockaddr_storage server_addr;
    socklen_t server_len;
    int server;
    int client = connected_client(&server, &server_addr, &server_len);
    int conn = prise_accept4(server, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    CHECK(conn >= 0);
    CHECK(fcntl(conn, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(conn, F_GETFL) & O_NONBLOCK);
    CHECK_FAILS(prise_accept4(server, NULL, NULL, 0x40000000), -1, EINVAL);
    /* Refused flags took nothing: the connection waiting is still there. */
    int second = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(prise_connect(second, (struct sockaddr *)&server_addr, server_len) == 0);
    CHECK_FAILS(prise_accept4(server, NULL, NULL, -1), -1, EINVAL);
    int taken = prise_accept4(server, NULL, NULL, 0);
    CHECK(taken >= 0 && !(fcntl(taken, F_GETFD) & FD_CLOEXEC));
    prise_close(taken);
    prise_close(second);
    prise_close(conn);
    prise_close(client);
    prise_close(server);

    int pair[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
    char head[] = "ab", tail[] = "cde";
    struct iovec out[2] = {{head, 2}, {tail, 3}};
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = message_of(out, 2, control.bytes, sizeof control.bytes);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    int passed = STDERR_FILENO;
    memcpy(CMSG_DATA(cmsg), &passed, sizeof passed);
    CHECK(prise_sendmsg(pair[0], &msg, 0) == 5);

    char first[1], rest[8];
    struct iovec in[2] = {{first, 1}, {rest, sizeof rest}};
    union {
        struct cmsghdr align;
        char bytes[CMSG_SPACE(sizeof(int))];
    } got_control;
    struct msghdr got = message_of(in, 2, got_control.bytes, sizeof got_control.bytes);
    CHECK(prise_recvmsg(pair[1], &got, MSG_CMSG_CLOEXEC) == 5);
    CHECK(first[0] == 'a' && memcmp(rest, "bcde", 4) == 0);
    CHECK((got.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0);
    struct cmsghdr *arrived = CMSG_FIRSTHDR(&got);
    CHECK(arrived != NULL && arrived->cmsg_type == SCM_RIGHTS);
    if (arrived != NULL) {
        int fd;
        memcpy(&fd, CMSG_DATA(arrived), sizeof fd);
        CHECK(fd > STDERR_FILENO && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
        close(fd);
    }

    /* Datagrams: the sender's address comes back, cut to the room given. */
    int a = prise_socket(AF_INET, SOCK_DGRAM, 0), b = prise_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CHECK(prise_bind(b, (struct sockaddr *)&local, sizeof local) == 0);
    socklen_t local_len = sizeof local;
    CHECK(prise_getsockname(b, (struct sockaddr *)&local, &local_len) == 0);
    struct msghdr to = message_of(out, 2, NULL, 0);
    to.msg_name = &local;
    to.msg_namelen = sizeof local;
    CHECK(prise_sendmsg(a, &to, 0) == 5);
    struct sockaddr_in from;
    struct msghdr from_msg = message_of(in, 1, NULL, 0);
    from_msg.msg_name = &from;
    from_msg.msg_namelen = 4;
    CHECK(prise_recvmsg(b, &from_msg, 0) == 1);
    CHECK(from_msg.msg_flags & MSG_TRUNC);
    CHECK(from_msg.msg_namelen == sizeof from && from.sin_family == AF_INET);

    /* Bad messages are refused before anything is sent or received. */
    CHECK_FAILS(prise_sendmsg(pair[0], NULL, 0), -1, EINVAL);
    CHECK_FAILS(prise_recvmsg(pair[1], NULL, 0), -1, EINVAL);
    struct msghdr bad = message_of(NULL, 1, NULL, 0);
    CHECK_FAILS(prise_sendmsg(pair[0], &bad, 0), -1, EINVAL);
    bad.msg_iov = out;
    bad.msg_iovlen = 100000;
    CHECK_FAILS(prise_sendmsg(pair[0], &bad, 0), -1, EMSGSIZE);
    CHECK_FAILS(prise_recvmsg(pair[1], &bad, 0), -1, EMSGSIZE);
    struct iovec null_piece = {NULL, 4};
    bad.msg_iov = &null_piece;
    bad.msg_iovlen = 1;
    CHECK_FAILS(prise_recvmsg(pair[1], &bad, 0), -1, EINVAL);
    bad.msg_iov = out;
    bad.msg_control = NULL;
    bad.msg_controllen = 16;
    CHECK_FAILS(prise_sendmsg(pair[0], &bad, 0), -1, EINVAL);
    bad.msg_controllen = 0;
    bad.msg_name = &from;
    bad.msg_namelen = 4096;
    CHECK_FAILS(prise_sendmsg(a, &bad, 0), -1, EINVAL);
    CHECK_FAILS(prise_sendmsg(-1, &to, 0), -1, EBADF);
    /* The failure's errno stays readable after calls that succeed and change errno. */
    errno = 0;
    CHECK(prise_getsockname(a, (struct sockaddr *)&local, &local_len) == 0);
    close(-1);
    CHECK(prise_last_errno() == EBADF);
    /* Nothing was sent by the refused calls: the stream is empty. */
    CHECK(prise_recv(pair[1], rest, sizeof rest, MSG_DONTWAIT) == -1 && errno == EAGAIN);
    prise_close(a);
    prise_close(b);
    close(pair[0]);
    close(pair[1]);
}

static void bad_input(void)
{
    char buf[16] = "0123456789abcde";
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* Descriptors that are not open. */
    CHECK_FAILS(prise_bind(-1, (struct sockaddr *)&sin, sizeof sin), -1, EBADF);
    CHECK_FAILS(prise_listen(-1, 1), -1, EBADF);
    CHECK_FAILS(prise_accept(-1, NULL, NULL), -1, EBADF);
    CHECK_FAILS(prise_connect(-1, (struct sockaddr *)&sin, sizeof sin), -1, EBADF);
    CHECK_FAILS(prise_read(-1, buf, sizeof buf), -1, EBADF);
    CHECK_FAILS(prise_write(-1, buf, sizeof buf), -1, EBADF);
    CHECK_FAILS(prise_send(-1, buf, sizeof buf, 0), -1, EBADF);
    CHECK_FAILS(prise_recv(-1, buf, sizeof buf, 0), -1, EBADF);
    CHECK_FAILS(prise_sendto(-1, buf, 1, 0, (struct sockaddr *)&sin, sizeof sin), -1, EBADF);
    CHECK_FAILS(prise_recvfrom(-1, buf, 1, 0, NULL, NULL), -1, EBADF);
    CHECK_FAILS(prise_shutdown(-1, SHUT_RDWR), -1, EBADF);
    CHECK_FAILS(prise_close(-1), -1, EBADF);
    CHECK_FAILS(prise_getsockname(-1, (struct sockaddr *)&sin, &len), -1, EBADF);
    CHECK_FAILS(prise_getpeername(-1, (struct sockaddr *)&sin, &len), -1, EBADF);
    CHECK_FAILS(prise_read_full(-1, buf, sizeof buf), -1, EBADF);
    CHECK_FAILS(prise_write_all(-1, buf, sizeof buf), -1, EBADF);
    CHECK(strstr(prise_last_error(), "not open") != NULL);

    /* A closed descriptor and one that is not a socket. */
    int fd = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(prise_close(fd) == 0);
    CHECK_FAILS(prise_listen(fd, 1), -1, EBADF);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK_FAILS(prise_listen(pipefd[0], 1), -1, ENOTSOCK);
    CHECK_FAILS(prise_send(pipefd[1], "x", 1, 0), -1, ENOTSOCK);
    /* prise_write and write_all work on pipes, and a closed pipe is EPIPE, not SIGPIPE. */
    CHECK(prise_write(pipefd[1], "pipe", 4) == 4);
    CHECK(prise_read_full(pipefd[0], buf, 4) == 4 && memcmp(buf, "pipe", 4) == 0);
    CHECK(prise_close(pipefd[0]) == 0);
    CHECK_FAILS(prise_write_all(pipefd[1], "x", 1), -1, EPIPE);
    CHECK_FAILS(prise_write(pipefd[1], "x", 1), -1, EPIPE);
    CHECK(prise_close(pipefd[1]) == 0);

    /* NULL pointers: EINVAL and a sentence naming the argument. */
    int s = prise_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK_FAILS(prise_bind(s, NULL, sizeof sin), -1, EINVAL);
    CHECK(strstr(prise_last_error(), "addr is NULL") != NULL);
    CHECK_FAILS(prise_connect(s, NULL, 0), -1, EINVAL);
    CHECK_FAILS(prise_read(s, NULL, 10), -1, EINVAL);
    CHECK_FAILS(prise_write(s, NULL, 10), -1, EINVAL);
    CHECK_FAILS(prise_send(s, NULL, 10, 0), -1, EINVAL);
    CHECK_FAILS(prise_recv(s, NULL, 10, 0), -1, EINVAL);
    CHECK_FAILS(prise_sendto(s, NULL, 10, 0, (struct sockaddr *)&sin, sizeof sin), -1, EINVAL);
    CHECK_FAILS(prise_recvfrom(s, NULL, 10, 0, NULL, NULL), -1, EINVAL);
    CHECK_FAILS(prise_recvfrom(s, buf, 10, 0, (struct sockaddr *)&sin, NULL), -1, EINVAL);
    CHECK_FAILS(prise_accept(s, (struct sockaddr *)&sin, NULL), -1, EINVAL);
    CHECK_FAILS(prise_getsockname(s, NULL, &len), -1, EINVAL);
    CHECK_FAILS(prise_getsockname(s, (struct sockaddr *)&sin, NULL), -1, EINVAL);
    CHECK_FAILS(prise_getpeername(s, NULL, NULL), -1, EINVAL);
    CHECK_FAILS(prise_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, NULL, 4), -1, EINVAL);
    CHECK_FAILS(prise_getsockopt(s, SOL_SOCKET, SO_REUSEADDR, buf, NULL), -1, EINVAL);
    CHECK_FAILS(prise_read_full(s, NULL, 10), -1, EINVAL);
    CHECK_FAILS(prise_write_all(s, NULL, 10), -1, EINVAL);
    /* Lengths no buffer can have, and addresses longer than any family's. */
    CHECK_FAILS(prise_read(s, buf, (size_t)-1), -1, EINVAL);
    CHECK_FAILS(prise_write_all(s, buf, (size_t)-1), -1, EINVAL);
    CHECK_FAILS(prise_bind(s, (struct sockaddr *)&sin, 100000), -1, EINVAL);
    /* Zero-length buffers are fine: NULL with 0 is not an error. */
    CHECK(prise_read_full(s, NULL, 0) == 0);
    CHECK(prise_write_all(s, NULL, 0) == 0);

    /* accept on a socket that is not listening; a datagram socket cannot listen. */
    CHECK_FAILS(prise_listen(s, 1), -1, EOPNOTSUPP);
    int t = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_FAILS(prise_accept(t, NULL, NULL), -1, EINVAL);
    CHECK(strstr(prise_last_error(), "listen") != NULL);

    /* A refused connection names the address and asks the learner's question. */
    struct sockaddr_storage server_addr;
    socklen_t server_len;
    int holder = tcp_server(AF_INET, &server_addr, &server_len);
    prise_close(holder); /* the port is now closed */
    CHECK_FAILS(prise_connect(t, (struct sockaddr *)&server_addr, server_len), -1, ECONNREFUSED);
    CHECK(strstr(prise_last_error(), "127.0.0.1:") != NULL);
    CHECK(strstr(prise_last_error(), "is a server listening") != NULL);

    /* Bad families and types. */
    CHECK_FAILS(prise_socket(12345, SOCK_STREAM, 0), -1, EAFNOSUPPORT);
    CHECK_FAILS(prise_socket(AF_INET, 12345, 0), -1, EINVAL);
    prise_close(s);
    prise_close(t);
}

/* Faults: a peer that resets, and a process out of descriptors. */
static void faults(void)
{
    struct sockaddr_storage server_addr;
    socklen_t server_len;
    int server;
    int client = connected_client(&server, &server_addr, &server_len);
    int conn = prise_accept(server, NULL, NULL);
    /* Linger 0: close sends a reset instead of a FIN. */
    struct linger abort_close = {1, 0};
    CHECK(prise_setsockopt(conn, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close) == 0);
    CHECK(prise_close(conn) == 0);
    usleep(10000);
    char buf[16];
    CHECK_FAILS(prise_recv(client, buf, sizeof buf, 0), -1, ECONNRESET);
    CHECK(strstr(prise_last_error(), "reset") != NULL);
    prise_close(client);
    prise_close(server);

    /* Out of descriptors: EMFILE, reported, and everything works again once some close. */
    struct rlimit saved, low;
    getrlimit(RLIMIT_NOFILE, &saved);
    low = saved;
    low.rlim_cur = 64;
    CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
    int fds[64], opened = 0, last = 0;
    while (opened < 64 && (last = prise_socket(AF_INET, SOCK_DGRAM, 0)) >= 0)
        fds[opened++] = last;
    CHECK(last == -1 && errno == EMFILE);
    CHECK(strstr(prise_last_error(), "no descriptor left") != NULL);
    CHECK_FAILS(prise_tcp_listen("127.0.0.1", "0", 1), -1, EMFILE);
    for (int i = 0; i < opened; i++)
        prise_close(fds[i]);
    setrlimit(RLIMIT_NOFILE, &saved);
    int again = prise_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(again >= 0);
    prise_close(again);
}

int main(void)
{
    alarm(30);
    /* SIGPIPE keeps its default action: any SIGPIPE raised would kill this test. */
    signal(SIGPIPE, SIG_DFL);
    tcp_exchange(AF_INET);
    tcp_exchange(AF_INET6);
    udp_exchange(AF_INET);
    udp_exchange(AF_INET6);
    unix_exchange(SOCK_STREAM);
    unix_exchange(SOCK_DGRAM);
    messages();
    bad_input();
    faults();
    return check_summary();
}
