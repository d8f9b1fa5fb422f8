/*
 * upload — sends bytes to an echo server and checks that they all come back, in two
 * styles: "naive" calls write() once as if it always moved everything; "careful" uses
 * the course's writes(), which loops until everything has gone. On loopback both work;
 * under `prise-run --fault short-write=0.5` (the partial writes real networks produce)
 * only the careful one does.
 *
 * usage: upload naive|careful host port [bytes]      (bytes: 100000 if not given)
 */
#include <errno.h>

#include "../helper/helperSO.h"
#include "../lib/wrsock.h"

int main(int argc, char **argv)
{
    int naive = argc >= 2 && strcmp(argv[1], "naive") == 0;
    int careful = argc >= 2 && strcmp(argv[1], "careful") == 0;
    long bytes = argc == 5 ? atol(argv[4]) : 100000;
    if ((argc != 4 && argc != 5) || !(naive || careful) || bytes <= 0 || bytes > 1 << 26) {
        fprintf(stderr, "usage: %s naive|careful host port [bytes]\n", argv[0]);
        return 2;
    }
    int sock;
    struct sockaddr_in *server = creerSock(argv[2], argv[3], SOCK_STREAM, &sock);
    if (server == NULL)
        return 1; /* creerSock has said why on stderr */
    if (connect(sock, (struct sockaddr *)server, sizeof *server) < 0) {
        fprintf(stderr, "upload: connect to %s:%s: %s\n", argv[2], argv[3], strerror(errno));
        return 1;
    }
    char *data = malloc((size_t)bytes), *echo = malloc((size_t)bytes);
    if (data == NULL || echo == NULL)
        return 1;
    for (long i = 0; i < bytes; i++)
        data[i] = (char)('a' + i % 26);

    long sent = naive ? (long)write(sock, data, (size_t)bytes) : (long)writes(sock, data, (int)bytes);
    if (sent != bytes) {
        fprintf(stderr, "upload: write moved %ld of %ld bytes; this program does not loop, "
                        "so the rest never left\n", sent, bytes);
        return 1;
    }
    int got = reads(sock, echo, (int)bytes);
    if (got != bytes || memcmp(data, echo, (size_t)bytes) != 0) {
        fprintf(stderr, "upload: %d of %ld bytes came back intact\n", got < 0 ? 0 : got, bytes);
        return 1;
    }
    printf("upload: %ld bytes sent and echoed intact\n", bytes);
    close(sock);
    free(data);
    free(echo);
    return 0;
}
