/* helpers.c — the high-level helpers over loopback: TCP connect/listen (dual stack,
 * timeouts), UDP, Unix stream/datagram/abstract/stale files, read_line, timeouts,
 * address text, descriptor passing, peer credentials, and both server models. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "check.h"

static void tcp_helpers(void)
{
    /* NULL host: one dual-stack socket for IPv4 and IPv6 clients. */
    int server = prise_tcp_listen(NULL, "0", 16);
    CHECK(server >= 0);
    char port[16];
    snprintf(port, sizeof port, "%d", local_port(server));
    const char *hosts[] = {"127.0.0.1", "::1", "localhost"};
    for (int i = 0; i < 3; i++) {
        int client = prise_tcp_connect(hosts[i], port);
        CHECK(client >= 0);
        int conn = prise_accept(server, NULL, NULL);
        CHECK(conn >= 0);
        CHECK(prise_write_all(client, "hi\n", 3) == 3);
        char line[16];
        CHECK(prise_read_line(conn, line, sizeof line) == 3 && strcmp(line, "hi\n") == 0);
        prise_close(conn);
        prise_close(client);
    }
    /* With a timeout: connected, and blocking again. */
    int client = prise_tcp_connect_timeout("127.0.0.1", port, 2000);
    CHECK(client >= 0);
    CHECK((fcntl(client, F_GETFL) & O_NONBLOCK) == 0);
    prise_close(client);
    int conn = prise_accept(server, NULL, NULL);
    prise_close(conn);
    prise_close(server);

    /* A closed port: refused, the sentence names the address and asks the question. */
    CHECK_FAILS(prise_tcp_connect("127.0.0.1", port), -1, ECONNREFUSED);
    CHECK(strstr(prise_last_error(), port) != NULL);
    CHECK_FAILS(prise_tcp_connect_timeout("127.0.0.1", port, 500), -1, ECONNREFUSED);
    CHECK(strstr(prise_last_error(), "is a server listening") != NULL);
    CHECK_FAILS(prise_tcp_connect_timeout("127.0.0.1", port, 0), -1, EINVAL);
    CHECK_FAILS(prise_tcp_connect_timeout("127.0.0.1", port, -5), -1, EINVAL);

    /* Bad arguments and names. */
    CHECK_FAILS(prise_tcp_connect(NULL, "80"), -1, EINVAL);
    CHECK_FAILS(prise_tcp_connect("127.0.0.1", NULL), -1, EINVAL);
    CHECK_FAILS(prise_tcp_connect("127.0.0.1", "65536"), -1, EINVAL);
    CHECK(prise_last_gai_error() == EAI_SERVICE);
    errno = 0;
    CHECK(prise_tcp_connect("nosuchhost.invalid", "80") == -1 && (errno == ENOENT || errno == EAGAIN));
    CHECK_FAILS(prise_tcp_listen(NULL, NULL, 1), -1, EINVAL);

    /* A specific host; a port in use. */
    server = prise_tcp_listen("127.0.0.1", "0", 4);
    CHECK(server >= 0);
    snprintf(port, sizeof port, "%d", local_port(server));
    CHECK_FAILS(prise_tcp_listen("127.0.0.1", port, 4), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "another socket already uses") != NULL);
    prise_close(server);
    int v6 = prise_tcp_listen("::1", "0", 4);
    CHECK(v6 >= 0);
    prise_close(v6);
}

static void udp_helpers(void)
{
    int server = prise_udp_bind("127.0.0.1", "0");
    CHECK(server >= 0);
    char port[16];
    snprintf(port, sizeof port, "%d", local_port(server));
    int client = prise_udp_connect("127.0.0.1", port);
    CHECK(client >= 0);
    CHECK(prise_send(client, "ping", 4, 0) == 4);
    char buf[16];
    struct sockaddr_storage from;
    socklen_t from_len = sizeof from;
    CHECK(prise_recvfrom(server, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len) == 4);
    CHECK(prise_sendto(server, "pong", 4, 0, (struct sockaddr *)&from, from_len) == 4);
    CHECK(prise_recv(client, buf, sizeof buf, 0) == 4 && memcmp(buf, "pong", 4) == 0);

    /* Dual stack UDP: an IPv6 client reaches a NULL-host socket. */
    int any = prise_udp_bind(NULL, "0");
    CHECK(any >= 0);
    snprintf(port, sizeof port, "%d", local_port(any));
    int c4 = prise_udp_connect("127.0.0.1", port), c6 = prise_udp_connect("::1", port);
    CHECK(c4 >= 0 && c6 >= 0);
    CHECK(prise_send(c4, "4", 1, 0) == 1 && prise_send(c6, "6", 1, 0) == 1);
    CHECK(prise_recv(any, buf, 1, 0) == 1 && prise_recv(any, buf + 1, 1, 0) == 1);
    prise_close(c4);
    prise_close(c6);
    prise_close(any);

    /* Connected UDP to a closed port: ECONNREFUSED on the next receive. */
    prise_close(server);
    CHECK(prise_set_timeout(client, 1000) == 0);
    CHECK(prise_send(client, "again", 5, 0) == 5);
    CHECK_FAILS(prise_recv(client, buf, sizeof buf, 0), -1, ECONNREFUSED);
    prise_close(client);
    CHECK_FAILS(prise_udp_connect(NULL, "1"), -1, EINVAL);
}

static void unix_helpers(void)
{
    char path[108];
    snprintf(path, sizeof path, "/tmp/prise-helpers-%d.sock", (int)getpid());
    unlink(path);

    int server = prise_unix_listen(path, SOCK_STREAM);
    CHECK(server >= 0);
    int client = prise_unix_connect(path, SOCK_STREAM);
    CHECK(client >= 0);
    int conn = prise_accept(server, NULL, NULL);
    CHECK(conn >= 0);

    /* Credentials and descriptor passing. */
    pid_t pid = 0;
    uid_t uid = 1;
    gid_t gid = 1;
    CHECK(prise_peer_cred(conn, &pid, &uid, &gid) == 0);
    CHECK(pid == getpid() && uid == getuid() && gid == getgid());
    CHECK(prise_peer_cred(conn, NULL, NULL, NULL) == 0);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    CHECK(prise_send_fd(client, pipefd[1]) == 0);
    int received = prise_recv_fd(conn);
    CHECK(received >= 0 && received != pipefd[1]);
    CHECK(write(received, "via fd", 6) == 6);
    char buf[64];
    CHECK(read(pipefd[0], buf, sizeof buf) == 6 && memcmp(buf, "via fd", 6) == 0);
    close(received);
    close(pipefd[0]);
    close(pipefd[1]);
    /* A message without a descriptor, then a closed peer. */
    CHECK(prise_write_all(client, "x", 1) == 1);
    CHECK_FAILS(prise_recv_fd(conn), -1, EBADMSG);
    prise_close(client);
    CHECK_FAILS(prise_recv_fd(conn), -1, ECONNRESET);
    CHECK_FAILS(prise_send_fd(-1, 0), -1, EBADF);
    CHECK_FAILS(prise_peer_cred(-1, NULL, NULL, NULL), -1, EBADF);
    prise_close(conn);
    /* A live server is EADDRINUSE; the file is left alone. */
    CHECK_FAILS(prise_unix_listen(path, SOCK_STREAM), -1, EADDRINUSE);

    /* The server dies without removing its file: the next one replaces the stale file. */
    prise_close(server);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    server = prise_unix_listen(path, SOCK_STREAM);
    CHECK(server >= 0);
    client = prise_unix_connect(path, SOCK_STREAM);
    CHECK(client >= 0);
    prise_close(client);
    prise_close(server);
    unlink(path);
    CHECK_FAILS(prise_unix_connect(path, SOCK_STREAM), -1, ENOENT);
    CHECK(strstr(prise_last_error(), "is the server running") != NULL);

    /* Datagram request/reply: the client is auto-bound so it can be answered. */
    server = prise_unix_listen(path, SOCK_DGRAM);
    CHECK(server >= 0);
    client = prise_unix_connect(path, SOCK_DGRAM);
    CHECK(client >= 0);
    CHECK(prise_send(client, "ask", 3, 0) == 3);
    struct sockaddr_un from;
    socklen_t from_len = sizeof from;
    CHECK(prise_recvfrom(server, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len) == 3);
    char text[128];
    CHECK(prise_addr_format((struct sockaddr *)&from, from_len, text, sizeof text) > 0);
    CHECK(strncmp(text, "unix:@", 6) == 0);
    CHECK(prise_sendto(server, "answer", 6, 0, (struct sockaddr *)&from, from_len) == 6);
    CHECK(prise_recv(client, buf, sizeof buf, 0) == 6 && memcmp(buf, "answer", 6) == 0);
    prise_close(client);
    prise_close(server);
    unlink(path);

    /* The abstract namespace: no file. */
    char abstract[64];
    snprintf(abstract, sizeof abstract, "@prise-test-%d", (int)getpid());
    server = prise_unix_listen(abstract, SOCK_STREAM);
    CHECK(server >= 0);
    client = prise_unix_connect(abstract, SOCK_STREAM);
    CHECK(client >= 0);
    struct sockaddr_un local;
    socklen_t local_len = sizeof local;
    CHECK(prise_getsockname(server, (struct sockaddr *)&local, &local_len) == 0);
    CHECK(prise_addr_format((struct sockaddr *)&local, local_len, text, sizeof text) > 0);
    CHECK(strcmp(text + 5, abstract) == 0);
    prise_close(client);
    prise_close(server);

    /* Lengths: 107 bytes fit sun_path, 108 and 300 do not (never silently cut). */
    char name[301];
    memset(name, 'p', sizeof name);
    name[0] = '/';
    name[107] = 0;
    int fits = prise_unix_listen(name, SOCK_DGRAM);
    CHECK(fits >= 0 || errno != ENAMETOOLONG); /* "/ppp…" may not be writable */
    if (fits >= 0) {
        prise_close(fits);
        unlink(name);
    }
    name[107] = 'p';
    name[108] = 0;
    CHECK_FAILS(prise_unix_listen(name, SOCK_STREAM), -1, ENAMETOOLONG);
    CHECK_FAILS(prise_unix_connect(name, SOCK_STREAM), -1, ENAMETOOLONG);
    name[108] = 'p';
    name[300] = 0;
    CHECK_FAILS(prise_unix_listen(name, SOCK_DGRAM), -1, ENAMETOOLONG);
    CHECK_FAILS(prise_unix_listen(NULL, SOCK_STREAM), -1, EINVAL);
    CHECK_FAILS(prise_unix_listen("", SOCK_STREAM), -1, EINVAL);
    CHECK_FAILS(prise_unix_listen(path, 12345), -1, EINVAL);
}

static void lines_and_timeouts(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(prise_write_all(sv[0], "one\ntwo\nrest", 12) == 12);
    char line[64];
    CHECK(prise_read_line(sv[1], line, sizeof line) == 4 && strcmp(line, "one\n") == 0);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 4 && strcmp(line, "two\n") == 0);
    /* Nothing after the newline was consumed: a plain read gets the rest. */
    CHECK(prise_read(sv[1], line, sizeof line) == 4 && memcmp(line, "rest", 4) == 0);
    /* A line longer than the buffer comes in pieces of n-1 bytes. */
    CHECK(prise_write_all(sv[0], "abcdefgh\n", 9) == 9);
    CHECK(prise_read_line(sv[1], line, 5) == 4 && strcmp(line, "abcd") == 0);
    CHECK(prise_read_line(sv[1], line, 5) == 4 && strcmp(line, "efgh") == 0);
    CHECK(prise_read_line(sv[1], line, 5) == 1 && strcmp(line, "\n") == 0);
    /* Timeout: an expired wait is EAGAIN. */
    CHECK(prise_set_timeout(sv[1], 100) == 0);
    CHECK_FAILS(prise_read_line(sv[1], line, sizeof line), -1, EAGAIN);
    CHECK_FAILS(prise_recv(sv[1], line, sizeof line, 0), -1, EAGAIN);
    CHECK(prise_set_timeout(sv[1], 0) == 0);
    CHECK_FAILS(prise_set_timeout(sv[1], -1), -1, EINVAL);
    CHECK_FAILS(prise_set_timeout(-1, 10), -1, EBADF);
    /* End of file: the last partial line, then 0. */
    CHECK(prise_write_all(sv[0], "tail", 4) == 4);
    prise_close(sv[0]);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 4 && strcmp(line, "tail") == 0);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 0 && line[0] == 0);
    CHECK_FAILS(prise_read_line(sv[1], NULL, 10), -1, EINVAL);
    CHECK_FAILS(prise_read_line(sv[1], line, 0), -1, EINVAL);
    prise_close(sv[1]);

    /* read_line on a pipe (not a socket): byte by byte, still exact. */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(write(p[1], "pipe\nmore", 9) == 9);
    CHECK(prise_read_line(p[0], line, sizeof line) == 5 && strcmp(line, "pipe\n") == 0);
    CHECK(read(p[0], line, sizeof line) == 4 && memcmp(line, "more", 4) == 0);
    close(p[0]);
    close(p[1]);
}

static void address_text(void)
{
    char text[64];
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(80);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(prise_addr_format((struct sockaddr *)&sin, sizeof sin, text, sizeof text) == 12);
    CHECK(strcmp(text, "127.0.0.1:80") == 0);
    CHECK_FAILS(prise_addr_format((struct sockaddr *)&sin, sizeof sin, text, 12), -1, ENOSPC);
    CHECK(prise_addr_format((struct sockaddr *)&sin, sizeof sin, text, 13) == 12);
    CHECK_FAILS(prise_addr_format(NULL, sizeof sin, text, sizeof text), -1, EINVAL);
    CHECK_FAILS(prise_addr_format((struct sockaddr *)&sin, sizeof sin, NULL, 10), -1, EINVAL);

    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(80);
    sin6.sin6_addr = in6addr_loopback;
    CHECK(prise_addr_format((struct sockaddr *)&sin6, sizeof sin6, text, sizeof text) > 0);
    CHECK(strcmp(text, "[::1]:80") == 0);
    inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr);
    sin6.sin6_scope_id = 1; /* the loopback interface */
    CHECK(prise_addr_format((struct sockaddr *)&sin6, sizeof sin6, text, sizeof text) > 0);
    CHECK(strcmp(text, "[fe80::1%lo]:80") == 0);

    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, "/tmp/x.sock");
    CHECK(prise_addr_format((struct sockaddr *)&sun, sizeof sun, text, sizeof text) > 0);
    CHECK(strcmp(text, "unix:/tmp/x.sock") == 0);
    CHECK(prise_addr_format((struct sockaddr *)&sun, sizeof(sa_family_t), text, sizeof text) > 0);
    CHECK(strcmp(text, "unix:(unnamed)") == 0);

    /* prise_addr_parse reads back what prise_addr_format writes, for every family. */
    const char *round_trips[] = {"127.0.0.1:80", "[::1]:2023", "unix:/tmp/x.sock", "unix:@prise",
                                 "unix:(unnamed)", "0.0.0.0:0"};
    for (size_t i = 0; i < sizeof round_trips / sizeof *round_trips; i++) {
        struct sockaddr_storage ss;
        socklen_t ss_len = sizeof ss;
        CHECK(prise_addr_parse(round_trips[i], (struct sockaddr *)&ss, &ss_len) == 0);
        CHECK(prise_addr_format((struct sockaddr *)&ss, ss_len, text, sizeof text) > 0);
        CHECK(strcmp(text, round_trips[i]) == 0);
    }
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof ss;
    CHECK(prise_addr_parse("@name", (struct sockaddr *)&ss, &ss_len) == 0 && ss.ss_family == AF_UNIX);
    const char *not_addresses[] = {"", "80", "localhost:80", "1.2.3.4:", "1.2.3.4:65536",
                                   "1.2.3.4: 80", "::1:80", "[::1]", "unix:", "a\nb:1"};
    for (size_t i = 0; i < sizeof not_addresses / sizeof *not_addresses; i++) {
        ss_len = sizeof ss;
        CHECK_FAILS(prise_addr_parse(not_addresses[i], (struct sockaddr *)&ss, &ss_len), -1, EINVAL);
        CHECK(strstr(prise_last_error(), "is not an address") != NULL);
        CHECK(strchr(prise_last_error(), '\n') == NULL);
    }
    ss_len = sizeof ss;
    CHECK_FAILS(prise_addr_parse(NULL, (struct sockaddr *)&ss, &ss_len), -1, EINVAL);
    CHECK_FAILS(prise_addr_parse("1.2.3.4:1", NULL, &ss_len), -1, EINVAL);
    CHECK_FAILS(prise_addr_parse("1.2.3.4:1", (struct sockaddr *)&ss, NULL), -1, EINVAL);
    ss_len = sizeof(struct sockaddr_in);
    CHECK_FAILS(prise_addr_parse("[::1]:1", (struct sockaddr *)&ss, &ss_len), -1, ENOSPC);
    CHECK(ss_len == sizeof(struct sockaddr_in)); /* not written on failure */

    /* prise_local_address / prise_peer_address: the text of both ends of a connection. */
    int listener = prise_tcp_listen("127.0.0.1", "0", 4);
    char local[64], peer[64], port[16];
    CHECK(prise_local_address(listener, local, sizeof local) > 0);
    CHECK(strncmp(local, "127.0.0.1:", 10) == 0);
    snprintf(port, sizeof port, "%.15s", local + 10);
    int client = prise_tcp_connect("127.0.0.1", port);
    int served = prise_accept(listener, NULL, NULL);
    CHECK(prise_peer_address(client, peer, sizeof peer) > 0 && strcmp(peer, local) == 0);
    CHECK(prise_local_address(client, local, sizeof local) > 0);
    CHECK(prise_peer_address(served, peer, sizeof peer) > 0 && strcmp(peer, local) == 0);
    CHECK_FAILS(prise_peer_address(listener, peer, sizeof peer), -1, ENOTCONN);
    CHECK_FAILS(prise_local_address(listener, peer, 5), -1, ENOSPC);
    CHECK_FAILS(prise_local_address(listener, NULL, 64), -1, EINVAL);
    CHECK_FAILS(prise_local_address(-1, peer, sizeof peer), -1, EBADF);
    prise_close(served);
    prise_close(client);
    prise_close(listener);
}

/* Both server models: an echo handler, several clients, then shutdown ends the loop. */
static int echo_handler(int conn, void *ctx)
{
    int *served = ctx;
    char line[256];
    ssize_t n;
    while ((n = prise_read_line(conn, line, sizeof line)) > 0)
        if (prise_write_all(conn, line, (size_t)n) != n)
            return 1;
    __atomic_fetch_add(served, 1, __ATOMIC_SEQ_CST);
    return 0;
}

struct server_run {
    int listen_fd;
    int unused;
    int served;
    int result;
};

static void *run_server(void *arg)
{
    struct server_run *run = arg;
    run->result = prise_serve_threads(run->listen_fd, echo_handler, &run->served);
    return NULL;
}

/* Runs the clients against a server on port; returns how many were echoed exactly. */
static int echo_clients(const char *port)
{
    enum { CLIENTS = 20 };
    int clients[CLIENTS], echoed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        clients[i] = prise_tcp_connect("127.0.0.1", port);
        CHECK(clients[i] >= 0);
    }
    for (int i = 0; i < CLIENTS; i++) {
        char line[64], back[64];
        int n = snprintf(line, sizeof line, "client %d says hello\n", i);
        if (prise_write_all(clients[i], line, (size_t)n) == n &&
            prise_read_line(clients[i], back, sizeof back) == n && strcmp(line, back) == 0)
            echoed++;
    }
    for (int i = 0; i < CLIENTS; i++)
        prise_close(clients[i]);
    CHECK(echoed == CLIENTS);
    return echoed;
}

static void server_models(void)
{
    /* Threads: the server runs in a thread of this process and shares ctx. */
    struct server_run run = {prise_tcp_listen("127.0.0.1", "0", 64), 0, 0, -5};
    CHECK(run.listen_fd >= 0);
    char port[16];
    snprintf(port, sizeof port, "%d", local_port(run.listen_fd));
    pthread_t thread;
    pthread_create(&thread, NULL, run_server, &run);
    int echoed = echo_clients(port);
    /* Shut the listening socket: the server waits for its clients and returns 0. */
    CHECK(shutdown(run.listen_fd, SHUT_RDWR) == 0);
    pthread_join(thread, NULL);
    CHECK(run.result == 0);
    CHECK(run.served == echoed);
    prise_close(run.listen_fd);

    /* Fork: the server runs in its own process (its children must not inherit the
     * clients' sockets), and ends when the shared listening socket is shut down. */
    int listen_fd = prise_tcp_listen("127.0.0.1", "0", 64);
    snprintf(port, sizeof port, "%d", local_port(listen_fd));
    pid_t server = fork();
    if (server == 0) {
        int served = 0;
        int result = prise_serve_fork(listen_fd, echo_handler, &served);
        /* No zombies left behind: every child was reaped. */
        _exit(result == 0 && waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD ? 0 : 1);
    }
    echo_clients(port);
    CHECK(shutdown(listen_fd, SHUT_RDWR) == 0);
    int status = -1;
    while (waitpid(server, &status, 0) < 0 && errno == EINTR)
        ;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    prise_close(listen_fd);

    /* Misuse: a socket that is not listening, a NULL handler. */
    int plain = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_FAILS(prise_serve_threads(plain, echo_handler, NULL), -1, EINVAL);
    CHECK_FAILS(prise_serve_fork(plain, echo_handler, NULL), -1, EINVAL);
    CHECK_FAILS(prise_serve_fork(plain, NULL, NULL), -1, EINVAL);
    CHECK_FAILS(prise_serve_threads(-1, echo_handler, NULL), -1, EBADF);
    prise_close(plain);
}

int main(void)
{
    alarm(60);
    tcp_helpers();
    udp_helpers();
    unix_helpers();
    lines_and_timeouts();
    address_text();
    server_models();
    return check_summary();
}
