/*
 * unix_dgram_server — request/reply over Unix-domain datagrams: answers each request
 * with the same text in upper case, to the client's (auto-bound) address.
 *
 * usage: unix_dgram_server path
 */
#include <ctype.h>
#include <stdio.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s path\n", argv[0]);
        return 2;
    }
    int sock = prise_unix_listen(argv[1], SOCK_DGRAM);
    char text[128];
    if (sock < 0 || prise_local_address(sock, text, sizeof text) < 0) {
        fprintf(stderr, "unix_dgram_server: %s\n", prise_last_error());
        return 1;
    }
    printf("listening on %s\n", text);
    fflush(stdout);
    for (;;) {
        char buf[4096], who[128];
        struct sockaddr_storage from;
        socklen_t from_len = sizeof from;
        ssize_t n = prise_recvfrom(sock, buf, sizeof buf, 0, (struct sockaddr *)&from, &from_len);
        if (n < 0) {
            fprintf(stderr, "unix_dgram_server: %s\n", prise_last_error());
            continue;
        }
        for (ssize_t i = 0; i < n; i++)
            buf[i] = (char)toupper((unsigned char)buf[i]);
        prise_addr_format((struct sockaddr *)&from, from_len, who, sizeof who);
        if (prise_sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&from, from_len) < 0)
            fprintf(stderr, "unix_dgram_server: reply to %s: %s\n", who, prise_last_error());
    }
}
