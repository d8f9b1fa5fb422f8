/*
 * wrsock.h — the course's socket helper (lib/wrsock.h, or a wrsock.h beside the
 * program), provided by prise: link with -lprise. Every generation of the helper's
 * calls compiles against it; prise_course.h says how and documents each function.
 *
 * Its guard is the course's own, WRSOCK_H: put first (cc -include .../wrsock.h), it
 * stands in for whichever copy of the course's header a program includes.
 */
#ifndef WRSOCK_H
#define WRSOCK_H
#include "prise_course.h"
#endif /* WRSOCK_H */
