/*
 * udp_echo_client — sends each line of standard input as one datagram and prints the
 * echo. A lost datagram is reported after a timeout instead of waiting forever.
 *
 * usage: udp_echo_client host port
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s host port\n", argv[0]);
        return 2;
    }
    int sock = prise_udp_connect(argv[1], argv[2]);
    if (sock < 0 || prise_set_timeout(sock, 2000) < 0) {
        fprintf(stderr, "udp_echo_client: %s\n", prise_last_error());
        return 1;
    }
    char line[4096], echo[4096];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        if (prise_send(sock, line, n, 0) < 0) {
            fprintf(stderr, "udp_echo_client: %s\n", prise_last_error());
            return 1;
        }
        ssize_t got = prise_recv(sock, echo, sizeof echo, 0);
        if (got < 0) {
            fprintf(stderr, "udp_echo_client: %s\n",
                    errno == EAGAIN ? "no echo within 2 s (datagram lost?)" : prise_last_error());
            return 1;
        }
        fwrite(echo, 1, (size_t)got, stdout);
        fflush(stdout);
    }
    prise_close(sock);
    return 0;
}
