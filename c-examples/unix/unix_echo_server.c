/*
 * unix_echo_server — echo server on a Unix-domain stream socket, a thread per client
 * (prise_serve_threads). A leading '@' in the path uses the abstract namespace.
 *
 * usage: unix_echo_server path
 * A socket file left by a server that died is replaced; a running server is not.
 */
#include <stdio.h>
#include <unistd.h>

#include "prise.h"

static int echo(int conn, void *ctx)
{
    (void)ctx;
    char buf[4096];
    ssize_t n;
    while ((n = prise_read(conn, buf, sizeof buf)) > 0)
        if (prise_write_all(conn, buf, (size_t)n) < 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s path\n", argv[0]);
        return 2;
    }
    int listener = prise_unix_listen(argv[1], SOCK_STREAM);
    char text[128];
    if (listener < 0 || prise_local_address(listener, text, sizeof text) < 0) {
        fprintf(stderr, "unix_echo_server: %s\n", prise_last_error());
        return 1;
    }
    printf("listening on %s\n", text);
    fflush(stdout);
    int rc = prise_serve_threads(listener, echo, NULL);
    if (rc < 0)
        fprintf(stderr, "unix_echo_server: %s\n", prise_last_error());
    if (argv[1][0] != '@')
        unlink(argv[1]);
    return rc < 0;
}
