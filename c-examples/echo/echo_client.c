/*
 * echo_client — TCP echo client written with the course's helper API.
 *
 * usage: echo_client host port
 * Sends each line of standard input to the server, prints what comes back, and ends
 * cleanly at the end of its input (the course's client loops forever).
 */
#include <errno.h>

#include "../helper/helperSO.h"
#include "../lib/wrsock.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s host port\n", argv[0]);
        return 2;
    }
    int sock;
    struct sockaddr_in *server = creerSock(argv[1], argv[2], SOCK_STREAM, &sock);
    if (server == NULL)
        return 1; /* creerSock has said why on stderr */
    if (connect(sock, (struct sockaddr *)server, sizeof *server) < 0) {
        fprintf(stderr, "connect to %s:%s: %s\n", argv[1], argv[2], strerror(errno));
        return 1;
    }
    char line[4096], echo[4096];
    while (fgets(line, sizeof line, stdin) != NULL) {
        int n = (int)strlen(line);
        if (writes(sock, line, n) != n) { /* writes prints nothing: say why here */
            fprintf(stderr, "echo_client: send to the server: %s\n", strerror(errno));
            return 1;
        }
        int got = reads(sock, echo, n);
        if (got < 0) {
            fprintf(stderr, "echo_client: receive from the server: %s\n", strerror(errno));
            return 1;
        }
        if (got != n) {
            fprintf(stderr, "echo_client: the server closed the connection\n");
            return 1;
        }
        fwrite(echo, 1, (size_t)got, stdout);
        fflush(stdout);
    }
    close(sock);
    return 0;
}
