/* static_socket.c — a program linked with -static (see the Makefile): it runs by itself,
 * and prise-run refuses it, since no dynamic loader runs to preload anything. */
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    return fd < 0 || close(fd) != 0;
}
