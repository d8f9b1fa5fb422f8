/* Serveur d'echo TCP, un processus par client (generation 3 : port en chaine). */
#include <signal.h>
#include "../helper/helperSO.h"
#include "service_echo.h"

int main(int argc, char *argv[])
{
    struct sockaddr_in adresse;
    char *port = argc > 1 ? argv[1] : "0";
    char *texte;
    int ecoute = bindedSocket(NULL, port, SOCK_STREAM, &adresse);

    if (ecoute < 0) {
        fprintf(stderr, "bindedSocket a echoue (%d)\n", ecoute);
        exit(1);
    }
    if (listen(ecoute, 16) < 0) {
        perror("listen");
        exit(1);
    }
    texte = getNameInfo(&adresse);
    printf("serveur en ecoute : %s\n", texte);
    fflush(stdout);
    free(texte);
    signal(SIGCHLD, SIG_IGN); /* pas de zombies */
    for (;;) {
        int client = accept(ecoute, NULL, NULL);
        if (client < 0) {
            perror("accept");
            continue;
        }
        if (fork() == 0) {
            close(ecoute);
            service_echo(client);
            exit(0);
        }
        close(client);
    }
}
