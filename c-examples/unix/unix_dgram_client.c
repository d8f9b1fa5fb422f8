/*
 * unix_dgram_client — sends each line of standard input as a request to
 * unix_dgram_server and prints the reply.
 *
 * usage: unix_dgram_client path
 */
#include <stdio.h>
#include <string.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s path\n", argv[0]);
        return 2;
    }
    int sock = prise_unix_connect(argv[1], SOCK_DGRAM);
    if (sock < 0 || prise_set_timeout(sock, 2000) < 0) {
        fprintf(stderr, "unix_dgram_client: %s\n", prise_last_error());
        return 1;
    }
    char line[4096], reply[4096];
    while (fgets(line, sizeof line, stdin) != NULL) {
        ssize_t got;
        if (prise_send(sock, line, strlen(line), 0) < 0 ||
            (got = prise_recv(sock, reply, sizeof reply, 0)) < 0) {
            fprintf(stderr, "unix_dgram_client: %s\n", prise_last_error());
            return 1;
        }
        fwrite(reply, 1, (size_t)got, stdout);
    }
    prise_close(sock);
    return 0;
}
