/* prise_serve_threads out of descriptors: the accepted client waits for a handler to free
 * one, as the clients behind it wait at accept; it used to be reset (its descriptor's
 * copy for the handler failed with EMFILE and the connection was dropped). 40 clients,
 * a descriptor limit of 16, slow handlers: every client gets its echo. */
#include "common.h"
#include <netinet/in.h>
#include <sys/resource.h>

enum { CLIENTS = 40 };

static int slow_echo(int fd, void *ctx)
{
    (void)ctx;
    char byte;
    usleep(50000);
    if (read(fd, &byte, 1) == 1 && write(fd, &byte, 1) != 1)
        return -1;
    return 0;
}

static int listener;
static pid_t clients_pid;

static void *stop_when_clients_are_done(void *verdict)
{
    int status = -1;
    waitpid(clients_pid, &status, 0);
    *(int *)verdict = WIFEXITED(status) ? WEXITSTATUS(status) : 99;
    shutdown(listener, SHUT_RDWR);
    return NULL;
}

int main(void)
{
    listener = prise_tcp_listen("127.0.0.1", "0", 128);
    if (listener < 0)
        return 2;
    struct sockaddr_in server;
    socklen_t len = sizeof server;
    getsockname(listener, (struct sockaddr *)&server, &len);
    clients_pid = fork();
    if (clients_pid == 0) {
        alarm(60);
        int fds[CLIENTS], served = 0;
        for (int i = 0; i < CLIENTS; i++) {
            fds[i] = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(fds[i], (struct sockaddr *)&server, sizeof server) < 0
                || write(fds[i], "k", 1) != 1)
                _exit(3);
        }
        for (int i = 0; i < CLIENTS; i++) {
            char byte;
            struct timeval wait = {20, 0};
            setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
            served += read(fds[i], &byte, 1) == 1;
            close(fds[i]);
        }
        printf("%d of %d clients served\n", served, CLIENTS);
        fflush(stdout);
        _exit(served == CLIENTS ? 0 : 1);
    }
    struct rlimit few = {16, 16};
    if (setrlimit(RLIMIT_NOFILE, &few) < 0)
        return 2;
    int verdict = -1;
    pthread_t stopper;
    pthread_create(&stopper, NULL, stop_when_clients_are_done, &verdict);
    int result = prise_serve_threads(listener, slow_echo, NULL);
    pthread_join(stopper, NULL);
    if (result != 0)
        fprintf(stderr, "serve_threads: %s\n", prise_last_error());
    return result == 0 && verdict == 0 ? 0 : 1;
}
