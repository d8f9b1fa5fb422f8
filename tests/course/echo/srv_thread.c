/* Serveur d'echo TCP, un thread par client (generation 3). */
#include <pthread.h>
#include "../helper/helperSO.h"
#include "service_echo.h"

static void *traiter(void *arg)
{
    int client = *(int *)arg;
    free(arg);
    service_echo(client);
    return NULL;
}

int main(int argc, char *argv[])
{
    struct sockaddr_in adresse;
    char *texte;
    int ecoute = bindedSocket(NULL, argc > 1 ? argv[1] : "0", SOCK_STREAM, &adresse);

    if (ecoute < 0 || listen(ecoute, 16) < 0) {
        fprintf(stderr, "pas de socket d'ecoute\n");
        exit(1);
    }
    texte = getNameInfo(&adresse);
    printf("serveur en ecoute : %s\n", texte);
    fflush(stdout);
    free(texte);
    for (;;) {
        pthread_t thread;
        int *client = malloc(sizeof *client);
        if (client == NULL)
            exit(1);
        *client = accept(ecoute, NULL, NULL);
        if (*client < 0 || pthread_create(&thread, NULL, traiter, client) != 0) {
            perror("accept/pthread_create");
            free(client);
            continue;
        }
        pthread_detach(thread);
    }
}
