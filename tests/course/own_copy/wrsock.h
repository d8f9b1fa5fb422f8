/* A course folder's own copy of its generation-2 helper header (three-argument
 * bindedSocket, no system include), as the course ships one beside its programs. When
 * prise builds the folder, prise's wrsock.h (same guard) is put first and this copy is
 * skipped. */
#ifndef WRSOCK_H
#define WRSOCK_H
int writes(int, char *, int);
int reads(int, char *, int);
int bindedSocket(char *, char *, int);
#endif
