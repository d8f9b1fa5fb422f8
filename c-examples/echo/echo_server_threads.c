/*
 * echo_server_threads — TCP echo server, one thread per client (the course's second
 * server model), written with the course's helper API.
 *
 * usage: echo_server_threads [port]      (port 0 or none: the kernel picks one)
 * The descriptor goes to the thread by value (cast into the void * argument), never as
 * &fd: with &fd the next accept can overwrite it before the thread has read it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "../helper/helperSO.h"
#include "../lib/wrsock.h"

static void *serve(void *arg)
{
    int conn = (int)(intptr_t)arg;
    char buf[4096];
    ssize_t n;
    while ((n = read(conn, buf, sizeof buf)) > 0)
        if (writes(conn, buf, (int)n) != n)
            break;
    close(conn);
    return NULL;
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
        return 1;
    if (listen(listener, 128) < 0) {
        perror("listen");
        return 1;
    }
    char *where = getNameInfo(&addr);
    printf("listening on %s\n", where ? where : "?");
    fflush(stdout);
    free(where);

    for (;;) {
        int conn = accept(listener, NULL, NULL);
        if (conn < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            perror("accept");
            return 1;
        }
        pthread_t thread;
        int err = pthread_create(&thread, NULL, serve, (void *)(intptr_t)conn);
        if (err != 0) {
            fprintf(stderr, "pthread_create: %s\n", strerror(err));
            close(conn);
            continue;
        }
        pthread_detach(thread);
    }
}
