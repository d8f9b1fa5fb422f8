/*
 * lookup — resolves a name with each address helper: every address (IPv4 and IPv6)
 * from getaddrinfo, the IPv4 ones from gethostbyname, and the reverse name of each.
 *
 * usage: lookup name [port]
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s name [port]\n", argv[0]);
        return 2;
    }
    const char *port = argc == 3 ? argv[2] : "0";
    struct addrinfo hints, *list;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_CANONNAME;
    int rc = prise_getaddrinfo(argv[1], port, &hints, &list);
    if (rc != 0) {
        fprintf(stderr, "lookup: %s\n", prise_last_error());
        return 1;
    }
    printf("getaddrinfo %s%s%s:\n", argv[1], list->ai_canonname ? " canonical name " : "",
           list->ai_canonname ? list->ai_canonname : "");
    for (struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next) {
        char text[128], name[NI_MAXHOST];
        prise_addr_format(ai->ai_addr, ai->ai_addrlen, text, sizeof text);
        if (prise_getnameinfo(ai->ai_addr, ai->ai_addrlen, name, sizeof name, NULL, 0, NI_NAMEREQD) != 0)
            snprintf(name, sizeof name, "(no reverse name)");
        printf("  %-5s %-40s reverse: %s\n", ai->ai_family == AF_INET6 ? "IPv6" : "IPv4", text, name);
    }
    prise_freeaddrinfo(list);

    struct hostent *host = prise_gethostbyname(argv[1]);
    if (host == NULL) {
        printf("gethostbyname %s: %s\n", argv[1], prise_last_error());
        return 0; /* a host with only IPv6 addresses has none to show here */
    }
    printf("gethostbyname %s: name %s\n", argv[1], host->h_name);
    for (char **a = host->h_addr_list; *a != NULL; a++) {
        char text[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, *a, text, sizeof text);
        printf("  IPv4  %s\n", text);
    }
    return 0;
}
