/* Serveur d'echo UDP (generation 3). */
#include "../helper/helperSO.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in adresse, client;
    char buf[1024], *texte;
    int sock = bindedSocket(NULL, argc > 1 ? argv[1] : "0", SOCK_DGRAM, &adresse);

    if (sock < 0)
        exit(1);
    texte = getNameInfo(&adresse);
    printf("serveur en ecoute : %s\n", texte);
    fflush(stdout);
    free(texte);
    for (;;) {
        socklen_t len = sizeof client;
        ssize_t n = recvfrom(sock, buf, sizeof buf, 0, (struct sockaddr *)&client, &len);
        if (n < 0) {
            perror("recvfrom");
            continue;
        }
        sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&client, len);
    }
}
