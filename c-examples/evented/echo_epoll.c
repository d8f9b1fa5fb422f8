/*
 * echo_epoll — single-threaded TCP echo server with epoll: one process, many clients
 * at once, no thread or process per client. Dual stack (prise_tcp_listen, no host).
 *
 * usage: echo_epoll [port]      (port 0 or none: the kernel picks one)
 * Each connection keeps the bytes it could not write back yet; while some are pending
 * it stops reading, so a slow reader cannot make the server buffer without bound.
 */
#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "prise.h"

enum { CHUNK = 65536 };

struct conn {
    int fd;
    size_t pending, offset; /* bytes of buf still to write back, from offset */
    char buf[CHUNK];
};

static void set_nonblocking(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void drop(struct conn *c)
{
    prise_close(c->fd); /* closing also removes it from the epoll set */
    free(c);
}

/* Writes what is pending; returns -1 when the connection is gone. */
static int flush(int ep, struct conn *c)
{
    while (c->pending > 0) {
        ssize_t n = prise_send(c->fd, c->buf + c->offset, c->pending, 0);
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        c->offset += (size_t)n;
        c->pending -= (size_t)n;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    return 0;
}

/* Reads once and echoes; epoll is level-triggered, so bytes left in the socket wake us
 * again. Returns -1 when the client is gone. */
static int echo(int ep, struct conn *c)
{
    ssize_t n = prise_recv(c->fd, c->buf, CHUNK, 0);
    if (n == 0)
        return -1;
    if (n < 0)
        return errno == EAGAIN ? 0 : -1;
    c->pending = (size_t)n;
    c->offset = 0;
    while (c->pending > 0) {
        ssize_t w = prise_send(c->fd, c->buf + c->offset, c->pending, 0);
        if (w < 0) {
            if (errno != EAGAIN)
                return -1;
            /* wait until the client reads before reading more */
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            return 0;
        }
        c->offset += (size_t)w;
        c->pending -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 2) {
        fprintf(stderr, "usage: %s [port]\n", argv[0]);
        return 2;
    }
    /* Many clients need many descriptors: raise the soft limit to the hard one. */
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
    int listener = prise_tcp_listen(NULL, argc == 2 ? argv[1] : "0", 4096);
    if (listener < 0) {
        fprintf(stderr, "echo_epoll: %s\n", prise_last_error());
        return 1;
    }
    set_nonblocking(listener);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL: the listener */
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev) < 0) {
        perror("echo_epoll: epoll");
        return 1;
    }
    char text[128];
    if (prise_local_address(listener, text, sizeof text) < 0) {
        fprintf(stderr, "echo_epoll: %s\n", prise_last_error());
        return 1;
    }
    printf("listening on %s\n", text);
    fflush(stdout);

    struct epoll_event events[256];
    for (;;) {
        int ready = epoll_wait(ep, events, 256, -1);
        for (int i = 0; i < ready; i++) {
            struct conn *c = events[i].data.ptr;
            if (c == NULL) {
                int fd;
                /* accept4 makes the connection non-blocking in the same system call. */
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct conn *nc = malloc(sizeof *nc);
                    if (nc == NULL) {
                        prise_close(fd);
                        continue;
                    }
                    nc->fd = fd;
                    nc->pending = nc->offset = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = nc};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                if (errno != EAGAIN && errno != ECONNABORTED && errno != EINTR)
                    perror("echo_epoll: accept4");
                continue;
            }
            int gone = 0;
            if (events[i].events & EPOLLOUT)
                gone = flush(ep, c) < 0;
            if (!gone && c->pending == 0 && (events[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                gone = echo(ep, c) < 0;
            if (gone)
                drop(c);
        }
    }
}
