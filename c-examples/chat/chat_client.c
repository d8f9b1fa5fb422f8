/*
 * chat_client — joins a chat_relay: sends each line typed, prints every message the
 * relay forwards, waiting on both at once with poll. Ends at the end of its input.
 *
 * usage: chat_client host port
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "prise.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s host port\n", argv[0]);
        return 2;
    }
    int sock = prise_udp_connect(argv[1], argv[2]);
    if (sock < 0) {
        fprintf(stderr, "chat_client: %s\n", prise_last_error());
        return 1;
    }
    struct pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sock, POLLIN, 0}};
    for (;;) {
        if (poll(fds, 2, -1) < 0)
            continue;
        if (fds[1].revents & POLLIN) {
            char message[1500];
            ssize_t n = prise_recv(sock, message, sizeof message, 0);
            if (n < 0) {
                fprintf(stderr, "chat_client: %s\n", prise_last_error());
                return 1;
            }
            fwrite(message, 1, (size_t)n, stdout);
            fflush(stdout);
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            char line[1024];
            ssize_t n = read(STDIN_FILENO, line, sizeof line);
            if (n <= 0)
                break; /* end of input: leave the chat */
            if (prise_send(sock, line, (size_t)n, 0) < 0) {
                fprintf(stderr, "chat_client: %s\n", prise_last_error());
                return 1;
            }
        }
    }
    prise_close(sock);
    return 0;
}
