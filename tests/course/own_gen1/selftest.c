/* Compiled against its own generation-1 header (wrsock_v1.h), linked with -lprise: each
 * call reaches prise's generation-3 symbol with ints where strings would be, and must
 * still work. Prints one line per check and "N passed, M failed". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "wrsock_v1.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (ok)
        passed++;
    else
        failed++;
}

static int port_of(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    return ntohs(a.sin_port);
}

int main(void)
{
    char buf[16];
    int reuse = -1;
    socklen_t len = sizeof reuse;
    int ecoute = bindedSocket("127.0.0.1", SOCK_STREAM, 0);
    int port = port_of(ecoute);
    struct sockaddr_in *serveur, *inconnu;
    int client, servi, udp, udp2;

    check(ecoute >= 0 && port > 0, "bindedSocket(\"127.0.0.1\", SOCK_STREAM, 0) binds an ephemeral port");
    getsockopt(ecoute, SOL_SOCKET, SO_REUSEADDR, &reuse, &len);
    check(reuse == 0, "generation 1 sets no SO_REUSEADDR");
    check(listen(ecoute, 4) == 0, "listen");

    serveur = creerSockAddr("127.0.0.1", port);
    check(serveur != NULL && serveur->sin_family == AF_INET && ntohs(serveur->sin_port) == port
              && serveur->sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "creerSockAddr(\"127.0.0.1\", port) gives 127.0.0.1:port");
    client = socket(AF_INET, SOCK_STREAM, 0);
    check(connect(client, (struct sockaddr *)serveur, sizeof *serveur) == 0, "connect to it");
    servi = accept(ecoute, NULL, NULL);
    check(writes(client, "bonjour", 7) == 7 && reads(servi, buf, 7) == 7
              && memcmp(buf, "bonjour", 7) == 0,
          "writes then reads carry the bytes");

    errno = 0;
    check(bindedSocket("127.0.0.1", SOCK_STREAM, port) == -2 && errno == EADDRINUSE,
          "a port in use is -2 with EADDRINUSE");
    udp = bindedSocket(NULL, SOCK_DGRAM, 0);
    check(udp >= 0 && port_of(udp) > 0, "bindedSocket(NULL, SOCK_DGRAM, 0) binds UDP");

    inconnu = creerSockAddr("nosuchhost.invalid", 7);
    check(inconnu != NULL && inconnu->sin_addr.s_addr == htonl(INADDR_ANY) && ntohs(inconnu->sin_port) == 7,
          "an unknown host gives 0.0.0.0:7 as the course's helper did, not a crash");

    /* Values no string can be at: ports out of range are refused, not a crash. */
    errno = 0;
    check(creerSockAddr("127.0.0.1", 70000) == NULL && errno == EINVAL, "creerSockAddr(host, 70000) is NULL EINVAL");
    errno = 0;
    check(creerSockAddr("127.0.0.1", -1) == NULL && errno == EINVAL, "creerSockAddr(host, -1) is NULL EINVAL");
    udp2 = bindedSocket(NULL, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    check(port_of(udp2) > 0, "bindedSocket(NULL, SOCK_DGRAM | SOCK_CLOEXEC, 0) binds");
    close(udp2);
    inconnu = creerSockAddr("127.0.0.1", 0);
    check(inconnu != NULL && inconnu->sin_port == 0, "creerSockAddr(host, 0) gives port 0, whatever the third register held");

    check(creerSockAddr("127.0.0.1", port) == serveur,
          "the same address twice is the same pointer: nothing leaks");

    /* reads and writes fail quietly, as the course's did: -1 and errno, no line. */
    close(servi);
    {
        char big[65536];
        int i, r = 0;
        memset(big, 'x', sizeof big);
        for (i = 0; i < 64 && r >= 0; i++)
            r = writes(client, big, (int)sizeof big);
        check(r == -1 && (errno == EPIPE || errno == ECONNRESET),
              "writes to a closed peer is -1 with EPIPE, and the process lives");
    }
    check(reads(servi, buf, 1) == -1 && errno == EBADF, "reads of a closed descriptor is -1 EBADF");

    close(client);
    close(ecoute);
    close(udp);
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
