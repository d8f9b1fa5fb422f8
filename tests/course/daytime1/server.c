/* Serveur daytime TCP (generation 1 : bindedSocket(machine, type, port entier)). */
#include <time.h>
#include "wrsock.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in adresse;
    socklen_t len = sizeof adresse;
    int ecoute = bindedSocket(0, SOCK_STREAM, argc > 1 ? atoi(argv[1]) : 0);

    if (ecoute < 0) {
        perror("Dans bindedSocket");
        exit(1);
    }
    listen(ecoute, 5);
    getsockname(ecoute, (struct sockaddr *)&adresse, &len);
    printf("daytime sur le port %d\n", ntohs(adresse.sin_port));
    fflush(stdout);
    for (;;) {
        char texte[80];
        time_t maintenant = time(NULL);
        int client = accept(ecoute, NULL, NULL);
        if (client < 0) {
            perror("Erreur dans accept");
            exit(2);
        }
        strftime(texte, sizeof texte, "%Y-%m-%d %H:%M:%S UTC\n", gmtime(&maintenant));
        write(client, texte, strlen(texte));
        close(client);
    }
}
