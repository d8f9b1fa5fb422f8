/*
 * daytime_server — the daytime service (RFC 867): each client receives the date and
 * time as one line, then the server closes the connection.
 *
 * usage: daytime_server [port]      (port 0 or none: the kernel picks one)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    int listener = prise_tcp_listen(NULL, argc == 2 ? argv[1] : "0", 64);
    char text[128];
    if (listener < 0 || prise_local_address(listener, text, sizeof text) < 0) {
        fprintf(stderr, "daytime_server: %s\n", prise_last_error());
        return 1;
    }
    printf("listening on %s\n", text);
    fflush(stdout);

    for (;;) {
        int conn = prise_accept(listener, NULL, NULL);
        if (conn < 0) {
            fprintf(stderr, "daytime_server: %s\n", prise_last_error());
            continue;
        }
        time_t now = time(NULL);
        struct tm tm;
        char line[128];
        strftime(line, sizeof line, "%A, %B %d, %Y %H:%M:%S-%Z\r\n", localtime_r(&now, &tm));
        if (prise_write_all(conn, line, strlen(line)) < 0)
            fprintf(stderr, "daytime_server: %s\n", prise_last_error());
        prise_close(conn);
    }
}
