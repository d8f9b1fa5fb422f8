/* Client de discussion UDP (variante minichat). Usage : client machine port nom nombre :
 * envoie chaque ligne de l'entree sous la forme "nom: ligne", puis affiche les "nombre"
 * premiers messages du relais. */
#include "wrsock.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in *relais;
    char ligne[200], message[256];
    int sock, attendus;

    if (argc != 5) {
        fprintf(stderr, "usage: %s machine port nom nombre\n", argv[0]);
        exit(2);
    }
    sock = SockUdp(NULL, 0);
    relais = CreerSockAddr(argv[1], atoi(argv[2]));
    attendus = atoi(argv[4]);
    if (sock < 0 || relais == NULL)
        exit(1);
    while (fgets(ligne, sizeof ligne, stdin) != NULL) {
        int n = snprintf(message, sizeof message, "%s: %s", argv[3], ligne);
        sendto(sock, message, (size_t)n, 0, (struct sockaddr *)relais, sizeof *relais);
    }
    while (attendus-- > 0) {
        ssize_t n = recvfrom(sock, message, sizeof message - 1, 0, NULL, NULL);
        if (n < 0)
            exit(1);
        message[n] = '\0';
        printf("%s", message);
        fflush(stdout);
    }
    return 0;
}
