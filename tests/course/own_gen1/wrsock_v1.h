/* A generation-1 helper header of the program's own, as the course shipped it beside
 * its programs in 2014-2016: ints for ports and socket types, no system include. The
 * program is compiled against it and linked with -lprise (generation 3's symbols). */
#ifndef WRSOCK_V1_H
#define WRSOCK_V1_H
int writes(int, char *, int);
int reads(int, char *, int);
int bindedSocket(char *, int, int);
struct sockaddr_in *creerSockAddr(char *, int);
#endif
