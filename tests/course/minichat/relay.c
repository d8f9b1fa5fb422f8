/* Relais de discussion UDP (variante minichat : SockUdp, CreerSockAddr). Chaque message
 * recu est renvoye a tous les clients deja connus, expediteur compris. */
#include "wrsock.h"

#define MAX_CLIENTS 16

int main(int argc, char *argv[])
{
    struct sockaddr_in clients[MAX_CLIENTS], adresse;
    socklen_t len = sizeof adresse;
    int connus = 0;
    int sock = SockUdp(NULL, argc > 1 ? atoi(argv[1]) : 0);

    if (sock < 0)
        exit(1);
    getsockname(sock, (struct sockaddr *)&adresse, &len);
    printf("relais sur le port %d\n", ntohs(adresse.sin_port));
    fflush(stdout);
    for (;;) {
        char message[256];
        struct sockaddr_in de;
        socklen_t delen = sizeof de;
        int i, nouveau = 1;
        ssize_t n = recvfrom(sock, message, sizeof message, 0, (struct sockaddr *)&de, &delen);

        if (n < 0)
            continue;
        for (i = 0; i < connus; i++)
            if (clients[i].sin_port == de.sin_port && clients[i].sin_addr.s_addr == de.sin_addr.s_addr)
                nouveau = 0;
        if (nouveau && connus < MAX_CLIENTS)
            clients[connus++] = de;
        for (i = 0; i < connus; i++)
            sendto(sock, message, (size_t)n, 0, (struct sockaddr *)&clients[i], sizeof clients[i]);
    }
}
