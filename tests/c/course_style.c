/* course_style.c — written as the course writes its programs: only the course's
 * header is included, and printf, inet_ntoa, getsockname, bzero and friends must come
 * through it. Compiled with -Wall -Wextra -Werror and linked with -lprise alone. */
#include "helper/helperSO.h"

int main(int argc, char *argv[])
{
    int sfd, cfd, ns;
    struct sockaddr_in adr, *srv;
    socklen_t lg = sizeof(adr);
    char buf[64];

    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: course_style\n");
        exit(2);
    }
    bzero(&adr, sizeof(adr));
    sfd = bindedSocket(NULL, "0", SOCK_STREAM, &adr);
    if (sfd < 0)
        exit(1);
    listen(sfd, 5);
    getsockname(sfd, (struct sockaddr *)&adr, &lg);
    printf("serveur sur %s port %d\n", inet_ntoa(adr.sin_addr), ntohs(adr.sin_port));

    sprintf(buf, "%d", ntohs(adr.sin_port));
    srv = creerSock("localhost", buf, SOCK_STREAM, &cfd);
    if (srv == NULL || connect(cfd, (struct sockaddr *)srv, sizeof(*srv)) < 0)
        exit(1);
    ns = accept(sfd, NULL, NULL);
    writes(cfd, "salut", 6);
    if (reads(ns, buf, 6) != 6 || strcmp(buf, "salut") != 0)
        exit(1);
    char *nom = getNameInfo(srv);
    printf("%s recu de %s\n", buf, nom);
    free(nom);
    close(ns);
    close(cfd);
    close(sfd);
    return 0;
}
