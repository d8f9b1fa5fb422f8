/* F1: prise_serve_threads with a handler that closes its connection itself, exactly as
   the course's service_echo (tests/course/echo/service_echo.c) does. prise closes the
   same descriptor NUMBER again after the handler returns; by then the number belongs to
   another client's connection or to a libc-internal socket (getaddrinfo's netlink). */
#include "common.h"
static void service_echo(int fd){ char buf[512]; ssize_t n;
  while((n=read(fd,buf,sizeof buf))>0) if(prise_write_all(fd,buf,n)!=n) break;
  close(fd); }
static int handler(int fd, void *ctx){ (void)ctx; service_echo(fd); usleep(1000); return 0; }
static int lfd;
static void *srv(void *a){(void)a; prise_serve_threads(lfd,handler,NULL); return NULL;}
int main(void){
  lfd=prise_tcp_listen("127.0.0.1","0",128); char ps[8]; sprintf(ps,"%d",port_of(lfd));
  pthread_t t; pthread_create(&t,NULL,srv,NULL);
  int ok=0, fail=0;
  for(int round=0; round<300; round++){
    int c[8];
    for(int i=0;i<8;i++) c[i]=prise_tcp_connect("localhost",ps);   /* getaddrinfo: netlink */
    for(int i=0;i<8;i++){ prise_set_timeout(c[i],2000); char m[16]; int l=sprintf(m,"hello%d\n",i);
      prise_write_all(c[i],m,l); shutdown(c[i],SHUT_WR); char r[16]={0}; ssize_t n=prise_read_full(c[i],r,l);
      if(n==l && memcmp(r,m,l)==0) ok++; else { fail++; if(fail<4) fprintf(stderr,"round %d client %d: echo lost, got %zd bytes\n",round,i,n); }
      close(c[i]); }
  }
  shutdown(lfd,SHUT_RDWR); pthread_join(t,NULL);
  printf("echoes ok=%d lost=%d\n",ok,fail);
  return fail?1:0;
}
