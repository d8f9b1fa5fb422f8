/*
 * prise_course.h — the course's socket helper API, all three generations, provided by
 * prise (link with -lprise). Included by helperSO.h and wrsock.h; include one of those.
 *
 * The course (NSY103) changed its helper over the years and its programs use every
 * version. C has no overloading, so the names below are macros that pick the right
 * function from the call itself:
 *
 *   generation 3 (2017-12, today's):                      what it calls
 *     bindedSocket(host, "port", type, &addr)   -> bindedSocket (the exported symbol)
 *     creerSockAddr(host, "port", type)         -> creerSockAddr
 *     creerSock(host, "port", type, &fd), getAddrInfo, getNameInfo, reads, writes
 *   generation 2 (2017-11):
 *     bindedSocket(host, "port", type)          -> prise_course_binded_socket_v2
 *   generation 1 (2014-2016), int ports:
 *     bindedSocket(host, type, port)            -> prise_course_binded_socket_v1
 *     creerSockAddr(host, port)                 -> prise_course_creer_sock_addr_v1
 *     CreerSockAddr(host, port), SockUdp(host, port)   (the minichat variant)
 *
 * A three-argument bindedSocket is told apart by the type of its second argument: a
 * string (char *, an array, NULL) is generation 2, an integer generation 1. Each form
 * behaves as its generation did (generation 1: no SO_REUSEADDR; an unknown host in
 * creerSockAddr prints its line and gives 0.0.0.0, as the course did), with prise's
 * fixes: addresses owned by prise (no leak), no crash on bad input, one line on stderr
 * naming the real cause at a failure (PRISE_QUIET=1 silences it), reads/writes never
 * print and never raise SIGPIPE, sockets are close-on-exec, and SO_REUSEADDR is set on
 * stream sockets only (a UDP port in use is bind's failure, -2, not shared).
 *
 * A program compiled against the course's own generation-1 header (int ports) and
 * linked with -lprise works too: a second argument from 1 to 65535 in bindedSocket or
 * creerSockAddr cannot be a string's address on Linux, and a larger 32-bit value where
 * no memory is mapped cannot either, so it is read as that generation's int (NULL keeps
 * its generation-3 meaning). A program compiled against
 * the course's own generation-2 header (3-argument bindedSocket) must use prise's header
 * instead: `cc -include /path/to/prise/include/wrsock.h ...` (or pkg-config prise-course)
 * puts it first, and the course's own header, guarded by the same WRSOCK_H, is skipped.
 *
 * Taking a function's address (&bindedSocket, a bare bindedSocket) gives the
 * generation-3 function. Each function is documented below; a test of prise checks
 * these prototypes against the library.
 */
#ifndef PRISE_COURSE_H
#define PRISE_COURSE_H

/* Variadic macros and _Generic are C99/C11: a course program built with -std=gnu89
 * -pedantic must not be warned about what this header uses. Warnings about the
 * program's own arguments still point at the program. */
#if defined(__GNUC__)
#pragma GCC system_header
#endif

/* The system headers the course's helper headers include, which its programs rely on. */
#include <sys/types.h>
#include <sys/socket.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <netdb.h>
#include <string.h>
#include <netinet/in.h>
#include <arpa/inet.h>

/* Strict ISO modes (-std=c11) hide struct addrinfo in <netdb.h>: declared here, the
 * prototypes below mean the same struct as the program's. */
struct addrinfo;
struct sockaddr_in;

#ifdef __cplusplus
extern "C" {
#endif

/* Generation 3: the exported symbols, the course's names and prototypes (the names in
 * parentheses are not expanded by the macros below). Lookups are the course's: IPv4,
 * passive (NULL host: 0.0.0.0), NULL service: port 0; a port is digits 0-65535.
 * Failures print one line on stderr, except reads and writes, which never print. */

/* Writes all n bytes, retrying EINTR and short writes; never raises SIGPIPE. buf may be
 * NULL only when n is 0. Returns n, or -1 with errno (EPIPE when the peer has closed,
 * EBADF, EINVAL for a negative n or a NULL buf). */
int writes(int fd, char *buf, int n);

/* Reads n bytes, retrying EINTR and short reads; stops early at end of file. Returns the
 * count read (less than n only at end of file), or -1 with errno. */
int reads(int fd, char *buf, int n);

/* The IPv4 addresses of host/service for a socket type. Returns the list, to free with
 * freeaddrinfo(), or NULL with errno (ENOENT unknown host, EINVAL bad port). */
struct addrinfo *getAddrInfo(const char *host, const char *service, int socktype);

/* "ADDRESS 127.0.0.1:2023", the numeric text of an IPv4 address; sa must not be NULL.
 * Returns the text, to free(), or NULL with errno (EAFNOSUPPORT for another family). */
char *getNameInfo(struct sockaddr_in *sa);

/* Resolves host/port and creates an unbound, close-on-exec socket of the matching type
 * into *sockfd (sockfd must not be NULL; -1 on failure). Returns the address, or NULL
 * with errno. The address belongs to prise, valid for the whole process and read-only:
 * the same address always gives the same pointer (no leak; do not free it). */
struct sockaddr_in *creerSock(char *host, char *port, int socktype, int *sockfd);

/* Creates a close-on-exec socket for host/port, sets SO_REUSEADDR (stream sockets only)
 * and binds it. addr (may be NULL) receives the address actually bound, an ephemeral
 * port included. Returns the descriptor, for the caller to close; -1 when the name
 * cannot be resolved or the socket made; -2 when bind fails (EADDRINUSE, EACCES, ...). */
int (bindedSocket)(char *host, char *port, int socktype, struct sockaddr_in *addr);

/* Resolves host/port into an IPv4 address; no socket is made. Returns the address
 * (owned by prise, as creerSock's), or NULL with errno (ENOENT, EINVAL). */
struct sockaddr_in *(creerSockAddr)(char *host, char *port, int socktype);

/* Generations 1 and 2, reached through the macros. host may be NULL (0.0.0.0); an int
 * port is 0 to 65535 (0: the kernel picks one), anything else is EINVAL. */

/* bindedSocket(host, type, port), generation 1: an IPv4 socket bound to host:port,
 * without SO_REUSEADDR. A host that does not resolve prints why and 0.0.0.0 is used, as
 * that generation did. Returns the socket; -1 (errno set) when the port is out of range
 * or the socket cannot be made; -2 when bind fails. The caller closes the descriptor. */
int prise_course_binded_socket_v1(char *host, int socktype, int port);

/* bindedSocket(host, service, type), generation 2: as generation 3 (SO_REUSEADDR on a
 * stream socket, -1 or -2) without the address out. service may be NULL (port 0). */
int prise_course_binded_socket_v2(char *host, char *service, int socktype);

/* creerSockAddr(host, port), generation 1: the IPv4 address of host and port. An unknown
 * host prints the reason and gives 0.0.0.0 with the port, as the course did (never NULL
 * for a bad host); NULL with EINVAL for a bad port. The address belongs to prise, valid
 * for the whole process: the same address always gives the same pointer (no leak). */
struct sockaddr_in *prise_course_creer_sock_addr_v1(char *host, int port);

/* CreerSockAddr(host, port), the minichat variant: as creerSockAddr(host, port). */
struct sockaddr_in *CreerSockAddr(char *host, int port);

/* SockUdp(host, port), the minichat variant: an IPv4 UDP socket bound to host:port
 * without SO_REUSEADDR. Returns it even when bind fails (the reason is printed and the
 * socket left unbound, as the course did); an unknown host is 0.0.0.0 as in
 * bindedSocket; -1 with errno when the port is out of range or the socket cannot be
 * made. */
int SockUdp(char *host, int port);

#ifdef __cplusplus
}

/* C++ has overloading: the older forms are overloads of the same names. */
inline int bindedSocket(char *host, int socktype, int port)
{
    return prise_course_binded_socket_v1(host, socktype, port);
}
inline int bindedSocket(char *host, char *service, int socktype)
{
    return prise_course_binded_socket_v2(host, service, socktype);
}
inline struct sockaddr_in *creerSockAddr(char *host, int port)
{
    return prise_course_creer_sock_addr_v1(host, port);
}

#else

/* The number of arguments of a call (up to 5) picks the form... */
#define PRISE_COURSE_ARGC_(a1, a2, a3, a4, a5, n, ...) n
#define PRISE_COURSE_ARGC(...) PRISE_COURSE_ARGC_(__VA_ARGS__, 5, 4, 3, 2, 1, 0)
#define PRISE_COURSE_JOIN_(a, b) a##b
#define PRISE_COURSE_JOIN(a, b) PRISE_COURSE_JOIN_(a, b)
/* ...and, for three, whether the second one is a string. _Generic selects a function,
 * not a call, so only the chosen prototype checks the arguments; __extension__ keeps
 * -std=c99 -pedantic quiet (GCC 4.9+ and clang accept _Generic in every mode). */
#define PRISE_COURSE_IF_TEXT(x, text, integer)                                            \
    __extension__ _Generic((x), char *: text, const char *: text, signed char *: text,    \
                           unsigned char *: text, void *: text, const void *: text,       \
                           default: integer)

/* A call with a number of arguments no generation had is a compile-time error that says
 * so (GCC and clang), instead of an implicit declaration of an internal name. */
#if defined(__GNUC__)
#define PRISE_COURSE_ARGUMENTS(message) __attribute__((error(message)))
#else
#define PRISE_COURSE_ARGUMENTS(message)
#endif
int prise_course_bindedSocket_argument_count(void) PRISE_COURSE_ARGUMENTS(
    "bindedSocket takes 3 arguments (generations 1 and 2) or 4 (generation 3)");
struct sockaddr_in *prise_course_creerSockAddr_argument_count(void) PRISE_COURSE_ARGUMENTS(
    "creerSockAddr takes 2 arguments (generation 1) or 3 (generations 2 and 3)");

#define bindedSocket(...) \
    PRISE_COURSE_JOIN(PRISE_COURSE_bindedSocket_, PRISE_COURSE_ARGC(__VA_ARGS__))(__VA_ARGS__)
#define PRISE_COURSE_bindedSocket_4 (bindedSocket)
/* A literal 0 as the second argument is an int to _Generic: bindedSocket(host, 0, type)
 * reaches generation 1 with type 0, which prise takes as generation 2's empty service. */
#define PRISE_COURSE_bindedSocket_3(host, second, third)                                 \
    PRISE_COURSE_IF_TEXT(second, prise_course_binded_socket_v2,                           \
                         prise_course_binded_socket_v1)(host, second, third)
#define PRISE_COURSE_bindedSocket_1(...) prise_course_bindedSocket_argument_count()
#define PRISE_COURSE_bindedSocket_2(...) prise_course_bindedSocket_argument_count()
#define PRISE_COURSE_bindedSocket_5(...) prise_course_bindedSocket_argument_count()

#define creerSockAddr(...) \
    PRISE_COURSE_JOIN(PRISE_COURSE_creerSockAddr_, PRISE_COURSE_ARGC(__VA_ARGS__))(__VA_ARGS__)
#define PRISE_COURSE_creerSockAddr_3 (creerSockAddr)
#define PRISE_COURSE_creerSockAddr_2 prise_course_creer_sock_addr_v1
#define PRISE_COURSE_creerSockAddr_1(...) prise_course_creerSockAddr_argument_count()
#define PRISE_COURSE_creerSockAddr_4(...) prise_course_creerSockAddr_argument_count()
#define PRISE_COURSE_creerSockAddr_5(...) prise_course_creerSockAddr_argument_count()

#endif /* __cplusplus */

#endif /* PRISE_COURSE_H */
