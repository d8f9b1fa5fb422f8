/* Serveur daytime TCP (generation 2 : bindedSocket(machine, "port", type), sans adresse
 * en retour). Usage : server port (0 : le noyau choisit). */
#include "../lib/wrsock.h"
#include "date.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in adresse;
    socklen_t len = sizeof adresse;
    int ecoute;

    if (argc != 2) {
        fprintf(stderr, "usage: %s port\n", argv[0]);
        exit(2);
    }
    ecoute = bindedSocket(0, argv[1], SOCK_STREAM);
    if (ecoute < 0) {
        perror("Dans bindedSocket");
        exit(1);
    }
    if (listen(ecoute, 5) < 0 || getsockname(ecoute, (struct sockaddr *)&adresse, &len) < 0) {
        perror("listen");
        exit(2);
    }
    printf("daytime sur le port %d\n", ntohs(adresse.sin_port));
    fflush(stdout);
    for (;;) {
        char texte[80];
        int client = accept(ecoute, NULL, NULL);
        if (client < 0) {
            perror("accept");
            exit(3);
        }
        writes(client, texte, date_du_jour(texte, sizeof texte));
        close(client);
    }
}
