/*
 * unix_echo_client — sends each line of standard input to a Unix-domain echo server
 * and prints the echo; ends at the end of its input.
 *
 * usage: unix_echo_client path
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
    int sock = prise_unix_connect(argv[1], SOCK_STREAM);
    if (sock < 0) {
        fprintf(stderr, "unix_echo_client: %s\n", prise_last_error());
        return 1;
    }
    char line[4096], echo[4096];
    while (fgets(line, sizeof line, stdin) != NULL) {
        size_t n = strlen(line);
        if (prise_write_all(sock, line, n) < 0 || prise_read_full(sock, echo, n) != (ssize_t)n) {
            fprintf(stderr, "unix_echo_client: %s\n", prise_last_error());
            return 1;
        }
        fwrite(echo, 1, n, stdout);
    }
    prise_close(sock);
    return 0;
}
