/*
 * daytime_client — asks a daytime server for the date and prints it.
 *
 * usage: daytime_client host port
 */
#include <stdio.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s host port\n", argv[0]);
        return 2;
    }
    int sock = prise_tcp_connect_timeout(argv[1], argv[2], 5000);
    if (sock < 0) {
        fprintf(stderr, "daytime_client: %s\n", prise_last_error());
        return 1;
    }
    prise_set_timeout(sock, 5000);
    char line[256];
    ssize_t n = prise_read_line(sock, line, sizeof line);
    if (n <= 0) {
        fprintf(stderr, "daytime_client: %s\n",
                n == 0 ? "the server closed without an answer" : prise_last_error());
        return 1;
    }
    fputs(line, stdout);
    prise_close(sock);
    return 0;
}
