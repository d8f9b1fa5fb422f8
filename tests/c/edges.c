/* edges.c — prise at its edges: what a careless or hostile caller, a fork, a dying
 * thread, a full disk or a closed pipe does to it. One section per finding.
 *   edges [all|SECTION] [FORKS] [memcheck]   every section (or one); FORKS for fork_safety;
 *                                            "memcheck": under valgrind (see recv_fd_edges)
 *   edges printing [ignore]                  course and trace lines to whatever stderr is
 *   edges atexit                             prise called from an atexit handler
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "helperSO.h"
#include "check.h"

static int under_memcheck;

static void port_text(int fd, char *port, size_t size)
{
    snprintf(port, size, "%d", local_port(fd));
}

/* The descriptors this process has open (the directory's own one not counted). */
static int open_descriptors(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (dir == NULL)
        return -1;
    int count = 0;
    while (readdir(dir) != NULL)
        count++;
    closedir(dir);
    return count - 3; /* ".", ".." and the directory's descriptor */
}

static int is_cloexec(int fd)
{
    int flags = fcntl(fd, F_GETFD);
    return flags >= 0 && (flags & FD_CLOEXEC) != 0;
}

/* A child's exit status, or 128 + the signal that killed it. */
static int wait_child(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int file_holds(const char *path, const char *text)
{
    char buf[64] = {0};
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    return n == (ssize_t)strlen(text) && strcmp(buf, text) == 0;
}

static void write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
}

static int echo_once(const char *port, const char *line)
{
    char back[64];
    int client = prise_tcp_connect("127.0.0.1", port);
    int n = (int)strlen(line);
    int ok = client >= 0 && prise_set_timeout(client, 10000) == 0 &&
             prise_write_all(client, line, (size_t)n) == n &&
             prise_read_line(client, back, sizeof back) == n && strcmp(back, line) == 0;
    prise_close(client);
    return ok;
}

/* 1. prise_unix_listen never removes what is not a stale socket, and its liveness probe
 * never blocks. */
static void unix_listen_guards(void)
{
    char path[108], target[108];
    snprintf(path, sizeof path, "/tmp/prise-edges-%d.sock", (int)getpid());
    snprintf(target, sizeof target, "/tmp/prise-edges-%d.target", (int)getpid());
    unlink(path);
    unlink(target);
    struct stat st;

    write_file(path, "precious\n");
    CHECK_FAILS(prise_unix_listen(path, SOCK_STREAM), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "regular file") != NULL);
    CHECK_FAILS(prise_unix_listen(path, SOCK_DGRAM), -1, EADDRINUSE);
    CHECK(file_holds(path, "precious\n"));
    unlink(path);

    CHECK(mkfifo(path, 0600) == 0);
    CHECK_FAILS(prise_unix_listen(path, SOCK_STREAM), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "FIFO") != NULL);
    CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
    unlink(path);

    /* A symbolic link, to a file or dangling: the link and its target are the caller's. */
    write_file(target, "target\n");
    CHECK(symlink(target, path) == 0);
    CHECK_FAILS(prise_unix_listen(path, SOCK_STREAM), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "symbolic link") != NULL);
    CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && file_holds(target, "target\n"));
    unlink(target);
    CHECK_FAILS(prise_unix_listen(path, SOCK_STREAM), -1, EADDRINUSE);
    CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode));
    unlink(path);

    CHECK(mkdir(path, 0700) == 0);
    CHECK_FAILS(prise_unix_listen(path, SOCK_DGRAM), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "directory") != NULL);
    CHECK(rmdir(path) == 0);

    /* A live server whose backlog is full: a blocking probe would wait for a free slot
     * forever; the answer must be EADDRINUSE at once (the child's alarm catches a hang). */
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    strcpy(sun.sun_path, path);
    CHECK(bind(server, (struct sockaddr *)&sun, sizeof sun) == 0 && listen(server, 0) == 0);
    int queued[64], count = 0, last_errno = 0;
    while (count < 64) {
        int c = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (connect(c, (struct sockaddr *)&sun, sizeof sun) < 0) {
            last_errno = errno;
            close(c);
            break;
        }
        queued[count++] = c;
    }
    CHECK(count < 64 && last_errno == EAGAIN);
    pid_t child = fork();
    if (child == 0) {
        alarm(10);
        int fd = prise_unix_listen(path, SOCK_STREAM);
        _exit(fd == -1 && errno == EADDRINUSE && strstr(prise_last_error(), "server") ? 0 : 1);
    }
    CHECK(wait_child(child) == 0);
    CHECK(lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    for (int i = 0; i < count; i++)
        close(queued[i]);
    close(server);

    /* Its server gone, the socket file is stale: replaced. */
    int again = prise_unix_listen(path, SOCK_STREAM);
    CHECK(again >= 0);
    prise_close(again);
    unlink(path);
}

/* 2. Course lines and trace lines to a stderr that cannot take them (run by the driver
 * with stderr on /dev/full or on a pipe nobody reads). */
static int printing(int ignore_sigpipe)
{
    signal(SIGPIPE, ignore_sigpipe ? SIG_IGN : SIG_DFL);
    int ok = 1;
    errno = 0;
    ok &= creerSockAddr("127.0.0.1", "99999", SOCK_STREAM) == NULL && errno == EINVAL;
    ok &= getNameInfo(NULL) == NULL && errno == EINVAL;
    ok &= bindedSocket("127.0.0.1", "99999", SOCK_STREAM, NULL) == -1 && errno == EINVAL;
    ok &= prise_close(-1) == -1 && errno == EBADF;
    int listener = prise_tcp_listen("127.0.0.1", "0", 1);
    ok &= listener >= 0 && prise_close(listener) == 0;
    /* Names with a newline: the driver checks no line can be forged with them. */
    ok &= prise_tcp_connect("x\nprise: forged() = 0", "99999") == -1 && errno == EINVAL;
    ok &= creerSockAddr("y\nforged line", "99999", SOCK_STREAM) == NULL && errno == EINVAL;
    printf("printing: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

/* 3. Calls made after this thread's Rust thread-locals are gone. */
static int late_calls(void)
{
    int ok = 1;
    errno = 0;
    ok &= prise_close(-1) == -1 && errno == EBADF;
    ok &= prise_last_error() != NULL;
    struct addrinfo *res = NULL;
    ok &= prise_getaddrinfo("127.0.0.1", "99999", NULL, &res) == EAI_SERVICE && errno == EINVAL;
    int listener = prise_tcp_listen("127.0.0.1", "0", 1);
    ok &= listener >= 0 && prise_close(listener) == 0;
    errno = 0;
    struct hostent *host = prise_gethostbyname("127.0.0.1");
    ok &= host != NULL || errno != 0;
    ok &= creerSockAddr("127.0.0.1", "99999", SOCK_STREAM) == NULL && errno == EINVAL;
    ok &= bindedSocket("127.0.0.1", "99999", SOCK_STREAM, NULL) == -1 && errno == EINVAL;
    return ok;
}

static void at_exit(void)
{
    int ok = late_calls();
    const char *line = ok ? "atexit: ok\n" : "atexit: FAILED\n";
    if (write(1, line, strlen(line)) < 0)
        _exit(4);
    _exit(ok ? 0 : 3);
}

static int from_atexit(void)
{
    /* Use the thread-locals first, so that exit() has them to destroy. */
    prise_close(-1);
    prise_gethostbyname("127.0.0.1");
    atexit(at_exit);
    return 0;
}

static pthread_key_t late_key;
static int late_result = -1;

static void late_destructor(void *value)
{
    (void)value;
    late_result = late_calls();
}

static void *late_thread(void *arg)
{
    (void)arg;
    prise_close(-1);
    prise_gethostbyname("127.0.0.1");
    /* Key destructors run after the thread-locals' (glibc's order). */
    pthread_setspecific(late_key, &late_result);
    return NULL;
}

static void thread_last_moments(void)
{
    CHECK(pthread_key_create(&late_key, late_destructor) == 0);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, late_thread, NULL) == 0);
    pthread_join(thread, NULL);
    CHECK(late_result == 1);
    pthread_key_delete(late_key);
}

/* 4. prise_serve_threads: handlers that end their thread, a non-blocking listener. */
static int exiting_handler(int conn, void *ctx)
{
    int *served = ctx;
    char line[64];
    ssize_t n;
    while ((n = prise_read_line(conn, line, sizeof line)) > 0) {
        if (strcmp(line, "exit\n") == 0)
            pthread_exit(NULL); /* as course handlers do */
        if (prise_write_all(conn, line, (size_t)n) != n)
            return 1;
    }
    __atomic_fetch_add(served, 1, __ATOMIC_SEQ_CST);
    return 0;
}

struct serve_run {
    int listen_fd;
    int served;
    int result;
    pid_t tid;
};

static void *serve_threads_main(void *arg)
{
    struct serve_run *run = arg;
    __atomic_store_n(&run->tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
    run->result = prise_serve_threads(run->listen_fd, exiting_handler, &run->served);
    return NULL;
}

/* The scheduler state of one of this process's threads ('R' running, 'S' sleeping…). */
static char thread_state(pid_t tid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return '?';
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return '?';
    buf[n] = 0;
    char *end = strrchr(buf, ')');
    return end != NULL && end[1] == ' ' ? end[2] : '?';
}

static void quit_and_echo(const char *port)
{
    /* The quitter's connection is closed by prise once its thread has exited. */
    int quitter = prise_tcp_connect("127.0.0.1", port);
    CHECK(quitter >= 0 && prise_set_timeout(quitter, 10000) == 0);
    CHECK(prise_write_all(quitter, "exit\n", 5) == 5);
    char buf[16];
    CHECK(prise_read(quitter, buf, sizeof buf) == 0);
    prise_close(quitter);
    for (int i = 0; i < 3; i++)
        CHECK(echo_once(port, "still serving\n"));
}

static void serve_edges(void)
{
    struct serve_run run = {prise_tcp_listen("127.0.0.1", "0", 16), 0, -5, 0};
    char port[16];
    port_text(run.listen_fd, port, sizeof port);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, serve_threads_main, &run) == 0);
    quit_and_echo(port);
    CHECK(shutdown(run.listen_fd, SHUT_RDWR) == 0);
    pthread_join(thread, NULL);
    CHECK(run.result == 0 && run.served == 3);
    prise_close(run.listen_fd);

    /* A non-blocking listening socket: the server sleeps until a client comes. */
    struct serve_run idle = {prise_tcp_listen("127.0.0.1", "0", 16), 0, -5, 0};
    port_text(idle.listen_fd, port, sizeof port);
    CHECK(fcntl(idle.listen_fd, F_SETFL, fcntl(idle.listen_fd, F_GETFL) | O_NONBLOCK) == 0);
    CHECK(pthread_create(&thread, NULL, serve_threads_main, &idle) == 0);
    for (int i = 0; i < 1000 && __atomic_load_n(&idle.tid, __ATOMIC_SEQ_CST) == 0; i++)
        usleep(1000);
    usleep(50000);
    int sleeping = 0;
    for (int i = 0; i < 40; i++) {
        sleeping += thread_state(idle.tid) == 'S';
        usleep(5000);
    }
    CHECK(sleeping >= 30);
    CHECK(echo_once(port, "awake\n"));
    CHECK(shutdown(idle.listen_fd, SHUT_RDWR) == 0);
    pthread_join(thread, NULL);
    CHECK(idle.result == 0 && idle.served == 1);
    prise_close(idle.listen_fd);

    /* The fork model: a handler's pthread_exit ends its child quietly (the driver checks
     * that nothing was printed: no abort message). */
    int listen_fd = prise_tcp_listen("127.0.0.1", "0", 16);
    port_text(listen_fd, port, sizeof port);
    pid_t server = fork();
    if (server == 0) {
        int served = 0;
        _exit(prise_serve_fork(listen_fd, exiting_handler, &served) == 0 ? 0 : 1);
    }
    quit_and_echo(port);
    CHECK(shutdown(listen_fd, SHUT_RDWR) == 0);
    CHECK(wait_child(server) == 0);
    prise_close(listen_fd);
}

/* 5. After fork, the child's course API and prise work even if another thread of the
 * parent was inside them at the fork. */
static int hammer_stop;

static void *hammer(void *arg)
{
    unsigned long n = (unsigned long)arg * 7919;
    while (!__atomic_load_n(&hammer_stop, __ATOMIC_RELAXED)) {
        char port[16];
        snprintf(port, sizeof port, "%lu", 20000 + n++ % 20000);
        int fd = -1;
        struct sockaddr_in *a = creerSock("127.0.0.1", port, SOCK_STREAM, &fd);
        if (fd >= 0)
            close(fd);
        creerSockAddr("127.0.0.2", port, SOCK_DGRAM);
        free(a != NULL ? getNameInfo(a) : NULL);
    }
    return NULL;
}

static int child_calls(void)
{
    int ok = 1, fd = -1;
    struct sockaddr_in *a = creerSock("127.0.0.1", "7", SOCK_STREAM, &fd);
    ok &= a != NULL && fd >= 0;
    close(fd);
    ok &= creerSockAddr("127.0.0.1", "7", SOCK_DGRAM) == a;
    char *text = a != NULL ? getNameInfo(a) : NULL;
    ok &= text != NULL && strcmp(text, "ADDRESS 127.0.0.1:7") == 0;
    free(text);
    int bound = bindedSocket("127.0.0.1", "0", SOCK_DGRAM, NULL);
    ok &= bound >= 0;
    close(bound);
    int listener = prise_tcp_listen("127.0.0.1", "0", 1);
    ok &= listener >= 0 && prise_close(listener) == 0;
    ok &= prise_close(-1) == -1 && errno == EBADF && prise_last_error()[0] != 0;
    return ok;
}

static void fork_safety(int forks)
{
    enum { HAMMERS = 4 };
    pthread_t threads[HAMMERS];
    __atomic_store_n(&hammer_stop, 0, __ATOMIC_RELAXED);
    for (long i = 0; i < HAMMERS; i++)
        CHECK(pthread_create(&threads[i], NULL, hammer, (void *)i) == 0);
    usleep(20000);
    int clean = 0;
    for (int i = 0; i < forks; i++) {
        pid_t child = fork();
        if (child == 0) {
            alarm(10); /* a lock held across the fork would hang here */
            /* exec, not exit: under valgrind an exit checks the child for leaks, and what
             * the other threads had allocated at the fork is lost in the child by nature. */
            const char *verdict = child_calls() ? "/bin/true" : "/bin/false";
            execl(verdict, verdict, (char *)NULL);
            _exit(127);
        }
        int status = wait_child(child);
        clean += status == 0;
        if (status != 0)
            fprintf(stderr, "fork %d: the child ended with %d\n", i, status);
    }
    __atomic_store_n(&hammer_stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < HAMMERS; i++)
        pthread_join(threads[i], NULL);
    CHECK(clean == forks);
}

/* 6. prise_recv_fd: several descriptors, credentials along, no descriptor left. */
static int send_descriptors(int sock, const int *fds, int count)
{
    char byte = 'f';
    struct iovec iov = {&byte, 1};
    union {
        char buf[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * count);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * count);
    memcpy(CMSG_DATA(cmsg), fds, sizeof(int) * count);
    return sendmsg(sock, &msg, 0) == 1 ? 0 : -1;
}

static void recv_fd_edges(void)
{
    int sv[2], p[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0 && pipe(p) == 0);
    int before = open_descriptors();

    CHECK(send_descriptors(sv[0], p, 2) == 0);
    CHECK_FAILS(prise_recv_fd(sv[1]), -1, EBADMSG);
    CHECK(strstr(prise_last_error(), "2 descriptors") != NULL);
    CHECK(open_descriptors() == before);
    int three[3] = {p[0], p[1], sv[0]};
    CHECK(send_descriptors(sv[0], three, 3) == 0);
    CHECK_FAILS(prise_recv_fd(sv[1]), -1, EBADMSG);
    CHECK(open_descriptors() == before);

    /* SO_PASSCRED on the receiver: credentials come along, the descriptor still arrives. */
    int on = 1;
    CHECK(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on) == 0);
    CHECK(prise_send_fd(sv[0], p[1]) == 0);
    int got = prise_recv_fd(sv[1]);
    CHECK(got >= 0 && is_cloexec(got));
    char byte = 0;
    CHECK(write(got, "x", 1) == 1 && read(p[0], &byte, 1) == 1 && byte == 'x');
    close(got);
    CHECK(open_descriptors() == before);

    /* Out of descriptors: EMFILE, nothing installed. Under valgrind the kernel's limit is
     * not the one the program sets, so this part is left to the plain and sanitizer runs. */
    if (!under_memcheck) {
        CHECK(prise_send_fd(sv[0], p[1]) == 0);
        struct rlimit saved, low;
        getrlimit(RLIMIT_NOFILE, &saved);
        low = saved;
        low.rlim_cur = 64;
        CHECK(setrlimit(RLIMIT_NOFILE, &low) == 0);
        int dups[64], count = 0;
        while (count < 64 && (dups[count] = dup(0)) >= 0)
            count++;
        CHECK(count < 64 && errno == EMFILE);
        CHECK_FAILS(prise_recv_fd(sv[1]), -1, EMFILE);
        for (int i = 0; i < count; i++)
            close(dups[i]);
        setrlimit(RLIMIT_NOFILE, &saved);
        CHECK(open_descriptors() == before);
    }
    close(sv[0]);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

/* 7. Every socket prise makes for its caller is close-on-exec; prise_socket and
 * prise_accept keep what the caller asks for. */
static int cloexec_handler(int conn, void *ctx)
{
    (void)ctx;
    char answer = is_cloexec(conn) ? 'y' : 'n';
    return prise_write_all(conn, &answer, 1) == 1 ? 0 : 1;
}

static void *serve_cloexec(void *arg)
{
    prise_serve_threads(*(int *)arg, cloexec_handler, NULL);
    return NULL;
}

static char served_answer(const char *port)
{
    char answer = 0;
    int client = prise_tcp_connect("127.0.0.1", port);
    if (client < 0 || prise_set_timeout(client, 10000) < 0 || prise_read(client, &answer, 1) != 1)
        answer = '?';
    prise_close(client);
    return answer;
}

static void close_on_exec(void)
{
    char port[16], path[108], abstract[64];
    int listener = prise_tcp_listen("127.0.0.1", "0", 16);
    CHECK(is_cloexec(listener));
    port_text(listener, port, sizeof port);
    int client = prise_tcp_connect("127.0.0.1", port);
    CHECK(is_cloexec(client));
    int accepted = prise_accept(listener, NULL, NULL);
    CHECK(accepted >= 0 && !is_cloexec(accepted)); /* prise_accept keeps accept's flags */
    prise_close(accepted);
    prise_close(client);
    client = prise_tcp_connect_timeout("127.0.0.1", port, 5000);
    CHECK(is_cloexec(client));
    prise_close(client);

    /* An exec'd program does not inherit the listening socket. */
    pid_t child = fork();
    if (child == 0) {
        char script[64];
        snprintf(script, sizeof script, "test ! -e /proc/self/fd/%d", listener);
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    CHECK(wait_child(child) == 0);
    prise_close(listener);

    int udp = prise_udp_bind("127.0.0.1", "0");
    CHECK(is_cloexec(udp));
    port_text(udp, port, sizeof port);
    int udp_client = prise_udp_connect("127.0.0.1", port);
    CHECK(is_cloexec(udp_client));
    prise_close(udp_client);
    prise_close(udp);

    snprintf(path, sizeof path, "/tmp/prise-edges-cloexec-%d.sock", (int)getpid());
    snprintf(abstract, sizeof abstract, "@prise-edges-cloexec-%d", (int)getpid());
    unlink(path);
    int types[2] = {SOCK_STREAM, SOCK_DGRAM};
    for (int i = 0; i < 2; i++) {
        int server = prise_unix_listen(i == 0 ? path : abstract, types[i]);
        int unix_client = prise_unix_connect(i == 0 ? path : abstract, types[i]);
        CHECK(is_cloexec(server) && is_cloexec(unix_client));
        prise_close(unix_client);
        prise_close(server);
    }
    unlink(path);

    /* The course API. */
    int fd = -1;
    CHECK(creerSock("127.0.0.1", "0", SOCK_STREAM, &fd) != NULL && is_cloexec(fd));
    close(fd);
    fd = bindedSocket("127.0.0.1", "0", SOCK_STREAM, NULL);
    CHECK(fd >= 0 && is_cloexec(fd));
    close(fd);

    /* prise_socket: as asked. */
    fd = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0 && !is_cloexec(fd));
    prise_close(fd);
    fd = prise_socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0 && is_cloexec(fd));
    prise_close(fd);

    /* The servers' connections, as their handlers see them. */
    int server = prise_tcp_listen("127.0.0.1", "0", 16);
    port_text(server, port, sizeof port);
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, serve_cloexec, &server) == 0);
    CHECK(served_answer(port) == 'y');
    shutdown(server, SHUT_RDWR);
    pthread_join(thread, NULL);
    prise_close(server);
    server = prise_tcp_listen("127.0.0.1", "0", 16);
    port_text(server, port, sizeof port);
    child = fork();
    if (child == 0)
        _exit(prise_serve_fork(server, cloexec_handler, NULL) == 0 ? 0 : 1);
    CHECK(served_answer(port) == 'y');
    shutdown(server, SHUT_RDWR);
    CHECK(wait_child(child) == 0);
    prise_close(server);
}

/* 9. prise_read_line under a timeout, O_NONBLOCK, datagrams and tiny buffers. */
static void tcp_pair(int *a, int *b)
{
    int listener = prise_tcp_listen("127.0.0.1", "0", 1);
    char port[16];
    port_text(listener, port, sizeof port);
    *a = prise_tcp_connect("127.0.0.1", port);
    *b = prise_accept(listener, NULL, NULL);
    prise_close(listener);
}

static void partial_lines_stay(int writer, int reader, const char *kind)
{
    char line[64];
    CHECK(prise_write_all(writer, "abc", 3) == 3);
    CHECK_FAILS(prise_read_line(reader, line, sizeof line), -1, EAGAIN);
    CHECK(prise_write_all(writer, "def\nnext", 8) == 8);
    ssize_t n = prise_read_line(reader, line, sizeof line);
    CHECK(n == 7 && strcmp(line, "abcdef\n") == 0);
    if (n != 7)
        fprintf(stderr, "%s: got %zd \"%s\"\n", kind, n, n >= 0 ? line : "");
    /* At end of file the last partial line comes whole, then 0. */
    prise_shutdown(writer, SHUT_WR);
    CHECK(prise_read_line(reader, line, sizeof line) == 4 && strcmp(line, "next") == 0);
    CHECK(prise_read_line(reader, line, sizeof line) == 0);
}

static void read_line_edges(void)
{
    int sv[2], a, b;
    /* A timeout, on a Unix stream and over TCP. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(prise_set_timeout(sv[1], 100) == 0);
    partial_lines_stay(sv[0], sv[1], "unix stream with a timeout");
    close(sv[0]);
    close(sv[1]);
    tcp_pair(&a, &b);
    CHECK(prise_set_timeout(b, 100) == 0);
    partial_lines_stay(a, b, "tcp with a timeout");
    prise_close(a);
    prise_close(b);
    /* O_NONBLOCK. */
    tcp_pair(&a, &b);
    CHECK(fcntl(b, F_SETFL, fcntl(b, F_GETFL) | O_NONBLOCK) == 0);
    partial_lines_stay(a, b, "non-blocking tcp");
    prise_close(a);
    prise_close(b);

    /* A line longer than the buffer still comes in pieces of n-1 bytes with a timeout. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(prise_set_timeout(sv[1], 100) == 0);
    char line[64];
    CHECK(prise_write_all(sv[0], "abcdefgh", 8) == 8);
    CHECK(prise_read_line(sv[1], line, 5) == 4 && strcmp(line, "abcd") == 0);
    CHECK_FAILS(prise_read_line(sv[1], line, sizeof line), -1, EAGAIN);
    /* A buffer of 1 holds only the NUL: refused, nothing consumed. */
    CHECK_FAILS(prise_read_line(sv[1], line, 1), -1, EINVAL);
    CHECK(prise_read(sv[1], line, sizeof line) == 4 && memcmp(line, "efgh", 4) == 0);
    close(sv[0]);
    close(sv[1]);

    /* Datagrams: one datagram is one line, an empty one included. */
    CHECK(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) == 0);
    CHECK(prise_set_timeout(sv[1], 1000) == 0);
    CHECK(send(sv[0], "one", 3, 0) == 3 && send(sv[0], "two\nthree", 9, 0) == 9);
    CHECK(send(sv[0], "", 0, 0) == 0 && send(sv[0], "four\n", 5, 0) == 5);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 3 && strcmp(line, "one") == 0);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 9 && strcmp(line, "two\nthree") == 0);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 0);
    CHECK(prise_read_line(sv[1], line, sizeof line) == 5 && strcmp(line, "four\n") == 0);
    CHECK_FAILS(prise_read_line(sv[1], line, sizeof line), -1, EAGAIN);
    close(sv[0]);
    close(sv[1]);
    int server = prise_udp_bind("127.0.0.1", "0");
    char port[16];
    port_text(server, port, sizeof port);
    int udp = prise_udp_connect("127.0.0.1", port);
    CHECK(prise_set_timeout(server, 1000) == 0);
    CHECK(prise_send(udp, "ping", 4, 0) == 4 && prise_send(udp, "pong\n", 5, 0) == 5);
    CHECK(prise_read_line(server, line, sizeof line) == 4 && strcmp(line, "ping") == 0);
    CHECK(prise_read_line(server, line, sizeof line) == 5 && strcmp(line, "pong\n") == 0);
    prise_close(udp);
    prise_close(server);

    /* A non-blocking pipe cannot keep a partial line: it is returned, nothing lost. */
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
    CHECK(write(p[1], "ab", 2) == 2);
    CHECK(prise_read_line(p[0], line, sizeof line) == 2 && strcmp(line, "ab") == 0);
    CHECK(write(p[1], "c\n", 2) == 2);
    CHECK(prise_read_line(p[0], line, sizeof line) == 2 && strcmp(line, "c\n") == 0);
    CHECK_FAILS(prise_read_line(p[0], line, sizeof line), -1, EAGAIN);
    close(p[0]);
    close(p[1]);
}

/* 10. Credentials and descriptor passing on the wrong sockets. */
static void unix_only(void)
{
    int a, b;
    tcp_pair(&a, &b);
    pid_t pid = 0;
    CHECK_FAILS(prise_peer_cred(b, &pid, NULL, NULL), -1, EINVAL);
    CHECK(pid == 0);
    CHECK_FAILS(prise_send_fd(a, 0), -1, EINVAL);
    char byte;
    CHECK(fcntl(b, F_SETFL, O_NONBLOCK) == 0);
    CHECK_FAILS(prise_recv(b, &byte, 1, 0), -1, EAGAIN); /* no stray byte was sent */
    prise_close(a);
    prise_close(b);

    int lone = prise_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_FAILS(prise_peer_cred(lone, &pid, NULL, NULL), -1, ENOTCONN);
    prise_close(lone);
    char abstract[64];
    snprintf(abstract, sizeof abstract, "@prise-edges-cred-%d", (int)getpid());
    int listener = prise_unix_listen(abstract, SOCK_STREAM);
    CHECK_FAILS(prise_peer_cred(listener, &pid, NULL, NULL), -1, ENOTCONN);
    prise_close(listener);

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    CHECK_FAILS(prise_send_fd(sv[0], -1), -1, EBADF);
    CHECK_FAILS(prise_send_fd(sv[0], 987654), -1, EBADF);
    CHECK_FAILS(prise_recv(sv[1], &byte, 1, 0), -1, EAGAIN);
    close(sv[0]);
    close(sv[1]);
}

/* 11. bindedSocket on a UDP port another socket holds: -2, as for TCP. */
static void binded_udp(void)
{
    struct sockaddr_in bound;
    memset(&bound, 0, sizeof bound);
    int first = bindedSocket("127.0.0.1", "0", SOCK_DGRAM, &bound);
    CHECK(first >= 0 && bound.sin_port != 0);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(bound.sin_port));
    CHECK_FAILS(bindedSocket("127.0.0.1", port, SOCK_DGRAM, NULL), -2, EADDRINUSE);
    close(first);
}

/* 12. Sentences say what is true. */
static void sentences(void)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(80);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char host[2];
    CHECK(prise_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0,
                            NI_NUMERICHOST) == EAI_OVERFLOW);
    CHECK(strstr(prise_last_error(), "too small") != NULL);
    CHECK(strstr(prise_last_error(), "Unknown error") == NULL);

    /* A Unix address in use is a path, not a port. */
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    snprintf(sun.sun_path, sizeof sun.sun_path, "/tmp/prise-edges-in-use-%d", (int)getpid());
    write_file(sun.sun_path, "x");
    int fd = prise_socket(AF_UNIX, SOCK_STREAM, 0);
    CHECK_FAILS(prise_bind(fd, (struct sockaddr *)&sun, sizeof sun), -1, EADDRINUSE);
    CHECK(strstr(prise_last_error(), "port") == NULL);
    CHECK(strstr(prise_last_error(), "path") != NULL);
    prise_close(fd);
    unlink(sun.sun_path);

    /* An abstract name: the kernel takes 107 bytes after the leading NUL. */
    char name[120];
    memset(name, 'a', sizeof name);
    name[0] = '@';
    name[108] = 0; /* '@' and 107 bytes: fits */
    fd = prise_unix_listen(name, SOCK_DGRAM);
    CHECK(fd >= 0);
    prise_close(fd);
    name[108] = 'a';
    name[109] = 0; /* 108 bytes */
    CHECK_FAILS(prise_unix_listen(name, SOCK_DGRAM), -1, ENAMETOOLONG);
    CHECK(strstr(prise_last_error(), "name of 108 bytes") != NULL);
    CHECK(strstr(prise_last_error(), "107") != NULL);

    /* Unknown socket types are shown as the value given. */
    CHECK_FAILS(prise_socket(AF_INET, -1, 0), -1, EINVAL);
    CHECK(strstr(prise_last_error(), "socket(AF_INET, -1, 0)") != NULL);
    CHECK_FAILS(prise_socket(AF_INET, 12345, 0), -1, EINVAL);
    CHECK(strstr(prise_last_error(), "socket(AF_INET, 12345, 0)") != NULL);

    /* Raw sockets have no ports: nothing about service names. */
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_RAW;
    CHECK(prise_getaddrinfo("127.0.0.1", "80", &hints, &res) == EAI_SERVICE);
    CHECK(strstr(prise_last_error(), "SOCK_RAW") != NULL);
    CHECK(strstr(prise_last_error(), "ervice name") == NULL);
    CHECK(strstr(prise_last_error(), "Servname") == NULL);
    CHECK(getAddrInfo("127.0.0.1", "80", SOCK_RAW) == NULL);
    CHECK(strstr(prise_last_error(), "ervice name") == NULL);
    /* With no port given, a raw socket's address resolves. */
    res = getAddrInfo("127.0.0.1", NULL, SOCK_RAW);
    CHECK(res != NULL && res->ai_socktype == SOCK_RAW);
    freeaddrinfo(res);
}

/* 13. Ports with blanks, and text prise writes out with control characters in it. */
static void blanks_and_escapes(void)
{
    struct addrinfo stream, *res = NULL;
    memset(&stream, 0, sizeof stream);
    stream.ai_socktype = SOCK_STREAM;
    CHECK(prise_getaddrinfo("127.0.0.1", " 80", &stream, &res) == EAI_SERVICE);
    CHECK(prise_getaddrinfo("127.0.0.1", "80 ", &stream, &res) == EAI_SERVICE);
    CHECK(prise_getaddrinfo("127.0.0.1", "8 0", &stream, &res) == EAI_SERVICE);
    CHECK(prise_getaddrinfo("127.0.0.1", "\t80", &stream, &res) == EAI_SERVICE);
    CHECK_FAILS(prise_tcp_listen("127.0.0.1", " 0", 1), -1, EINVAL);
    CHECK_FAILS(prise_tcp_listen("127.0.0.1", "0 ", 1), -1, EINVAL);

    /* A name with a newline and a NUL-free escape: the sentence stays one line. */
    CHECK_FAILS(prise_tcp_connect("bad\nhost\x01", "99999"), -1, EINVAL);
    CHECK(strchr(prise_last_error(), '\n') == NULL);
    CHECK(strstr(prise_last_error(), "bad\\nhost\\x01") != NULL);
    char path[] = "/tmp/no\nsuch\rdir/prise.sock";
    CHECK_FAILS(prise_unix_connect(path, SOCK_STREAM), -1, ENOENT);
    CHECK(strchr(prise_last_error(), '\n') == NULL && strchr(prise_last_error(), '\r') == NULL);

    /* An abstract name with NUL bytes: written escaped, its length returned. */
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, "\0a\0b\n", 5);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 5);
    char text[64];
    int n = prise_addr_format((struct sockaddr *)&sun, len, text, sizeof text);
    CHECK(n == (int)strlen(text));
    CHECK(strcmp(text, "unix:@a\\0b\\n") == 0);
}

struct section {
    const char *name;
    void (*run)(void);
};

static int forks = 300;

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static void fork_safety_section(void)
{
    if (UNDER_ASAN) {
        /* AddressSanitizer's allocator (GCC 12's libsanitizer) takes no lock around fork, so a
         * child forked while another thread is in malloc can hang in its first malloc, prise or
         * not (seen in getaddrinfo). The plain run and valgrind's test this section. */
        printf("fork_safety: skipped under AddressSanitizer (its malloc is not fork-safe)\n");
        return;
    }
    fork_safety(forks);
}

int main(int argc, char **argv)
{
    alarm(120);
    signal(SIGPIPE, SIG_DFL);
    const char *only = argc > 1 ? argv[1] : "all";
    if (strcmp(only, "printing") == 0)
        return printing(argc > 2 && strcmp(argv[2], "ignore") == 0);
    if (strcmp(only, "atexit") == 0)
        return from_atexit();
    if (argc > 2)
        forks = atoi(argv[2]);
    under_memcheck = argc > 3 && strcmp(argv[3], "memcheck") == 0;
    static const struct section sections[] = {
        {"unix_listen_guards", unix_listen_guards},
        {"thread_last_moments", thread_last_moments},
        {"serve_edges", serve_edges},
        {"fork_safety", fork_safety_section},
        {"recv_fd_edges", recv_fd_edges},
        {"close_on_exec", close_on_exec},
        {"read_line_edges", read_line_edges},
        {"unix_only", unix_only},
        {"binded_udp", binded_udp},
        {"sentences", sentences},
        {"blanks_and_escapes", blanks_and_escapes},
    };
    int ran = 0;
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++) {
        if (strcmp(only, "all") != 0 && strcmp(only, sections[i].name) != 0)
            continue;
        int failed_before = checks_failed;
        sections[i].run();
        ran++;
        if (checks_failed != failed_before)
            fprintf(stderr, "section %s: %d checks failed\n", sections[i].name,
                    checks_failed - failed_before);
    }
    if (ran == 0) {
        fprintf(stderr, "no section named %s\n", only);
        return 2;
    }
    return check_summary();
}
