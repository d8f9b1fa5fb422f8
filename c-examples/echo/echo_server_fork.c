/*
 * echo_server_fork — TCP echo server, one child process per client (the course's
 * first server model), written with the course's helper API.
 *
 * usage: echo_server_fork [port]      (port 0 or none: the kernel picks one)
 * Prints "listening on <address>" once ready, then echoes every byte back to each
 * client until the client closes. Children are reaped: no zombies.
 */
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>

#include "../helper/helperSO.h"
#include "../lib/wrsock.h"

static void reap_children(int sig)
{
    (void)sig;
    int saved = errno;
    while (waitpid(-1, NULL, WNOHANG) > 0)
        ;
    errno = saved;
}

static void serve(int conn)
{
    char buf[4096];
    ssize_t n;
    while ((n = read(conn, buf, sizeof buf)) > 0)
        if (writes(conn, buf, (int)n) != n)
            break;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    struct sockaddr_in addr;
    int listener = bindedSocket(NULL, argc == 2 ? argv[1] : "0", SOCK_STREAM, &addr);
    if (listener < 0)
        return 1; /* bindedSocket has said why on stderr */
    if (listen(listener, 64) < 0) {
        perror("listen");
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = reap_children;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCHLD, &sa, NULL);

    char *where = getNameInfo(&addr);
    printf("listening on %s\n", where ? where : "?");
    fflush(stdout);
    free(where);

    for (;;) {
        struct sockaddr_in client;
        socklen_t len = sizeof client;
        int conn = accept(listener, (struct sockaddr *)&client, &len);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept");
            return 1;
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(listener);
            serve(conn);
            close(conn);
            _exit(0);
        }
        if (pid < 0)
            perror("fork");
        close(conn);
    }
}
