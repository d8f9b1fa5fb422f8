/* Client daytime TCP (generations 2 et 3 : creerSock). */
#include "../lib/wrsock.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in *serveur;
    char texte[80];
    int sock, n;

    if (argc != 3) {
        fprintf(stderr, "usage: %s machine port\n", argv[0]);
        exit(2);
    }
    serveur = creerSock(argv[1], argv[2], SOCK_STREAM, &sock);
    if (serveur == NULL)
        exit(1);
    if (connect(sock, (const struct sockaddr *)serveur, sizeof *serveur) < 0) {
        perror("connect");
        exit(1);
    }
    n = reads(sock, texte, sizeof texte);
    if (n > 0)
        write(1, texte, (size_t)n);
    close(sock);
    return n > 0 ? 0 : 1;
}
