/*
 * helperSO.h — the course's socket helper API, provided by prise (link with -lprise).
 *
 * Same names, prototypes and system includes as the course's helper, so a course
 * program compiles unchanged; prise.h documents each function in full. Differences
 * from the course's implementation, all fixes:
 *  - creerSock/creerSockAddr return an address owned by prise, valid for the whole
 *    process; repeated calls do not leak.
 *  - unknown host, bad port or NULL sockfd give NULL (with *sockfd = -1 when possible)
 *    instead of a crash; bindedSocket fills addr with the address actually bound.
 *  - writes never kills the process with SIGPIPE and retries EINTR.
 *  - failures print one line on stderr with the real reason (PRISE_QUIET=1 silences it).
 */
#ifndef HELPERSO_H
#define HELPERSO_H

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

/* IPv4 addresses for host/service (NULL host: 0.0.0.0; NULL service: port 0);
 * free the list with freeaddrinfo(). NULL on failure. */
struct addrinfo *getAddrInfo(const char *host, const char *service, int socktype);

/* "ADDRESS <host>:<port>" for an IPv4 address; free() it. NULL on failure. */
char *getNameInfo(struct sockaddr_in *sa);

/* Resolves host/port and creates an unbound socket into *sockfd; returns the address
 * (owned by prise). NULL on failure, with *sockfd = -1. */
struct sockaddr_in *creerSock(char *host, char *port, int socktype, int *sockfd);

/* Creates, sets SO_REUSEADDR, binds; returns the descriptor, -1 (resolution or socket
 * failed) or -2 (bind failed). addr (may be NULL) receives the address bound. */
int bindedSocket(char *host, char *port, int socktype, struct sockaddr_in *addr);

/* Resolves host/port into an address owned by prise. NULL on failure. */
struct sockaddr_in *creerSockAddr(char *host, char *port, int socktype);

/* Write/read exactly n bytes (reads stops early at end of file); -1 on error. */
int writes(int fd, char *buf, int n);
int reads(int fd, char *buf, int n);

#ifdef __cplusplus
}
#endif

#endif /* HELPERSO_H */
