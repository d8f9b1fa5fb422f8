#define _GNU_SOURCE
#include <prise.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <dirent.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <poll.h>
#include <stddef.h>
__attribute__((unused)) static int count_fds(void){int n=0;DIR*d=opendir("/proc/self/fd");struct dirent*e;while((e=readdir(d)))if(e->d_name[0]!='.')n++;closedir(d);return n-1;}
__attribute__((unused)) static int port_of(int fd){struct sockaddr_storage ss;socklen_t l=sizeof ss;getsockname(fd,(struct sockaddr*)&ss,&l);
 return ss.ss_family==AF_INET?ntohs(((struct sockaddr_in*)&ss)->sin_port):ntohs(((struct sockaddr_in6*)&ss)->sin6_port);}
