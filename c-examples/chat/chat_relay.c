/*
 * chat_relay — UDP group chat relay: remembers every client it has heard from and
 * forwards each message to all of them, prefixed with the sender's address.
 *
 * usage: chat_relay [port]      (port 0 or none: the kernel picks one)
 */
#include <stdio.h>
#include <string.h>

#include "prise.h"

enum { MAX_MEMBERS = 256 };

struct member {
    struct sockaddr_storage addr;
    socklen_t len;
};

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    int sock = prise_udp_bind(NULL, argc == 2 ? argv[1] : "0");
    char text[128];
    if (sock < 0 || prise_local_address(sock, text, sizeof text) < 0) {
        fprintf(stderr, "chat_relay: %s\n", prise_last_error());
        return 1;
    }
    printf("listening on %s\n", text);
    fflush(stdout);

    static struct member members[MAX_MEMBERS];
    int count = 0;
    for (;;) {
        char message[1024], out[1200];
        struct member from;
        from.len = sizeof from.addr;
        ssize_t n = prise_recvfrom(sock, message, sizeof message - 1, 0,
                                   (struct sockaddr *)&from.addr, &from.len);
        if (n < 0) {
            fprintf(stderr, "chat_relay: %s\n", prise_last_error());
            continue;
        }
        int known = 0;
        for (int i = 0; i < count && !known; i++)
            known = members[i].len == from.len && memcmp(&members[i].addr, &from.addr, from.len) == 0;
        if (!known && count < MAX_MEMBERS)
            members[count++] = from;
        prise_addr_format((struct sockaddr *)&from.addr, from.len, text, sizeof text);
        int len = snprintf(out, sizeof out, "[%s] %.*s", text, (int)n, message);
        if (len > (int)sizeof out - 1)
            len = (int)sizeof out - 1;
        for (int i = 0; i < count; i++)
            prise_sendto(sock, out, (size_t)len, 0, (struct sockaddr *)&members[i].addr, members[i].len);
    }
}
