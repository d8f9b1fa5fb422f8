/*
 * wrsock.h — the course's whole-buffer socket I/O, provided by prise (-lprise).
 *
 * writes() writes all n bytes, retrying EINTR and short writes, and never raises
 * SIGPIPE (a closed peer is -1 with errno EPIPE). reads() reads n bytes, stopping early
 * at end of file, and returns the count read. Both return -1 with errno on error.
 * Same system includes as the course's header; prise.h documents them in full.
 */
#ifndef WRSOCK_H
#define WRSOCK_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <netdb.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#ifdef __cplusplus
extern "C" {
#endif

int writes(int fd, char *buf, int n);
int reads(int fd, char *buf, int n);

#ifdef __cplusplus
}
#endif

#endif /* WRSOCK_H */
