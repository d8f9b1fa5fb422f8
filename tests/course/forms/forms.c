/* The odd forms students write, through prise's own header: each must do what its
 * generation did. Prints one line per check and "N passed, M failed". */
#include <errno.h>
#include <fcntl.h>
#include "../lib/wrsock.h"

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s: %s\n", ok ? "ok" : "FAILED", what);
    if (ok)
        passed++;
    else
        failed++;
}

static int port_of(int fd, unsigned long *address)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    if (fd < 0 || getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return -1;
    if (address)
        *address = ntohl(a.sin_addr.s_addr);
    return ntohs(a.sin_port);
}

int main(void)
{
    unsigned long address = 1;
    short petit = 0;
    long grand = 0;
    int fd, type = -1;
    socklen_t len = sizeof type;
    int pipe_fds[2];

    /* Generation 2 with a literal 0 as its empty service (an int to the compiler). */
    fd = bindedSocket("127.0.0.1", 0, SOCK_DGRAM);
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
    check(fd >= 0 && port_of(fd, NULL) > 1023 && type == SOCK_DGRAM,
          "bindedSocket(host, 0, SOCK_DGRAM): an ephemeral UDP port, as generation 2");
    close(fd);

    /* Generation 1 with other integer types and a socket type with flags. */
    fd = bindedSocket(NULL, SOCK_STREAM, petit);
    check(port_of(fd, NULL) > 0, "bindedSocket(NULL, SOCK_STREAM, (short)0)");
    close(fd);
    fd = bindedSocket(NULL, SOCK_STREAM | SOCK_NONBLOCK, grand);
    check(port_of(fd, NULL) > 0 && (fcntl(fd, F_GETFL) & O_NONBLOCK),
          "bindedSocket(NULL, SOCK_STREAM | SOCK_NONBLOCK, (long)0) keeps the flag");
    close(fd);

    /* Generation 1: an unknown host goes on with 0.0.0.0, as the course did. */
    fd = bindedSocket("nosuchhost.invalid", SOCK_DGRAM, 0);
    check(port_of(fd, &address) > 0 && address == INADDR_ANY,
          "bindedSocket(unknown host, SOCK_DGRAM, 0) binds 0.0.0.0");
    close(fd);
    fd = SockUdp("nosuchhost.invalid", 0);
    check(port_of(fd, &address) > 0 && address == INADDR_ANY, "SockUdp(unknown host, 0) binds 0.0.0.0");
    close(fd);

    /* Ports that are no ports are refused, not cut to 16 bits. */
    errno = 0;
    check(bindedSocket(NULL, SOCK_STREAM, 70000) == -1 && errno == EINVAL,
          "bindedSocket(NULL, SOCK_STREAM, 70000) is -1 EINVAL");
    errno = 0;
    check(creerSockAddr("127.0.0.1", -1) == NULL && errno == EINVAL, "creerSockAddr(host, -1) is NULL EINVAL");

    /* A successful writes leaves errno alone, on a pipe too. */
    if (pipe(pipe_fds) == 0) {
        errno = 0;
        check(writes(pipe_fds[1], "x", 1) == 1 && errno == 0, "writes to a pipe leaves errno at 0");
        close(pipe_fds[0]);
        close(pipe_fds[1]);
    }

    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
