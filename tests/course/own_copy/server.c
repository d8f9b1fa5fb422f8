/* A generation-2 program in a folder that brings its own copy of the helper. */
#include <stdio.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include "wrsock.h"

int main(void)
{
    struct sockaddr_in adresse;
    socklen_t len = sizeof adresse;
    int fd = bindedSocket(NULL, "0", SOCK_STREAM);

    if (fd == -99) {
        printf("the folder's own helper was linked, not prise\n");
        return 1;
    }
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&adresse, &len) < 0)
        return 1;
    printf("prise's helper bound port %d\n", ntohs(adresse.sin_port) != 0);
    return 0;
}
