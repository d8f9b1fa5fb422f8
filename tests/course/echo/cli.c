/* Client d'echo TCP (generation 3) : envoie chaque ligne de l'entree, affiche l'echo. */
#include "../helper/helperSO.h"

int main(int argc, char *argv[])
{
    char ligne[512], echo[512];
    int sock;
    struct sockaddr_in *serveur;

    if (argc != 3) {
        fprintf(stderr, "usage: %s machine port\n", argv[0]);
        exit(2);
    }
    serveur = creerSock(argv[1], argv[2], SOCK_STREAM, &sock);
    if (serveur == NULL)
        exit(1);
    if (connect(sock, (struct sockaddr *)serveur, sizeof *serveur) < 0) {
        perror("connect");
        exit(1);
    }
    while (fgets(ligne, sizeof ligne, stdin) != NULL) {
        int n = (int)strlen(ligne);
        if (writes(sock, ligne, n) != n || reads(sock, echo, n) != n) {
            fprintf(stderr, "echange interrompu\n");
            exit(1);
        }
        fwrite(echo, 1, n, stdout);
    }
    close(sock);
    return 0;
}
