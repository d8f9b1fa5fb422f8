/* Client d'echo UDP a l'ancienne (generation 1 : ports entiers), dans le meme dossier que
 * les programmes de generation 3, comme le fait le cours. */
#include "../lib/wrsock.h"

int main(int argc, char *argv[])
{
    char ligne[1024], echo[1024];
    struct sockaddr_in *serveur;
    int sock;

    if (argc != 3) {
        fprintf(stderr, "usage: %s machine port\n", argv[0]);
        exit(2);
    }
    sock = bindedSocket(NULL, SOCK_DGRAM, 0); /* machine ANY, port ANY */
    serveur = creerSockAddr(argv[1], atoi(argv[2]));
    if (sock < 0 || serveur == NULL)
        exit(1);
    while (fgets(ligne, sizeof ligne, stdin) != NULL) {
        ssize_t n;
        sendto(sock, ligne, strlen(ligne), 0, (struct sockaddr *)serveur, sizeof *serveur);
        n = recvfrom(sock, echo, sizeof echo - 1, 0, NULL, NULL);
        if (n < 0) {
            perror("recvfrom");
            exit(1);
        }
        echo[n] = '\0';
        printf("recu : %s", echo);
    }
    close(sock);
    return 0;
}
