/* Client daytime TCP (generation 1 : creerSockAddr(machine, port entier)). */
#include "wrsock.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in *serveur;
    char texte[80];
    int sock, n;

    if (argc != 3) {
        fprintf(stderr, "usage: %s machine port\n", argv[0]);
        exit(2);
    }
    if ((sock = socket(AF_INET, SOCK_STREAM, 0)) < 0)
        perror("Dans socket");
    serveur = creerSockAddr(argv[1], atoi(argv[2]));
    if (connect(sock, (const struct sockaddr *)serveur, sizeof *serveur) < 0) {
        perror("Dans connect");
        exit(1);
    }
    n = reads(sock, texte, sizeof texte);
    if (n > 0)
        write(1, texte, (size_t)n);
    close(sock);
    return n > 0 ? 0 : 1;
}
