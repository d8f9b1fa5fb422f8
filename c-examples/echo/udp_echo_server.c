/*
 * udp_echo_server — UDP echo server: sends every datagram back to its sender.
 *
 * usage: udp_echo_server [port]      (port 0 or none: the kernel picks one)
 * Dual stack: IPv4 and IPv6 clients alike (prise_udp_bind with no host).
 */
#include <stdio.h>
#include <string.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    int sock = prise_udp_bind(NULL, argc == 2 ? argv[1] : "0");
    if (sock < 0) {
        fprintf(stderr, "udp_echo_server: %s\n", prise_last_error());
        return 1;
    }
    struct sockaddr_storage local;
    socklen_t len = sizeof local;
    char text[128];
    prise_getsockname(sock, (struct sockaddr *)&local, &len);
    prise_addr_format((struct sockaddr *)&local, len, text, sizeof text);
    printf("listening on %s\n", text);
    fflush(stdout);

    for (;;) {
        char buf[65536];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = prise_recvfrom(sock, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            fprintf(stderr, "udp_echo_server: %s\n", prise_last_error());
            continue;
        }
        if (prise_sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&from, from_len) < 0)
            fprintf(stderr, "udp_echo_server: %s\n", prise_last_error());
    }
}
