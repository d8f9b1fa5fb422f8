/* Renvoie au client tout ce qu'il envoie, jusqu'a la fin de la connexion. */
#include "../helper/helperSO.h"
#include "service_echo.h"

void service_echo(int fd)
{
    char buf[512];
    ssize_t n;

    while ((n = read(fd, buf, sizeof buf)) > 0) {
        if (writes(fd, buf, (int)n) != n) {
            perror("writes");
            break;
        }
    }
    close(fd);
}
