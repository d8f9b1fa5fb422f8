/* F: prise_serve_fork ends each child with _exit(): what the handler wrote with printf
   (stdout to a file or a pipe, so fully buffered) is thrown away. The course's fork
   servers end the child with exit(), which flushes. Run: ./t18 > log; count lines. */
#include "common.h"
static int handler(int fd, void *ctx){ (void)ctx; char b[64]; ssize_t n=read(fd,b,sizeof b);
  printf("served a client (%zd bytes)\n",n); prise_write_all(fd,"ok\n",3); return 0; }
static int lfd;
int main(void){
  lfd=prise_tcp_listen("127.0.0.1","0",16); char ps[8]; sprintf(ps,"%d",port_of(lfd));
  pid_t srv=fork();
  if(srv==0){ prise_serve_fork(lfd,handler,NULL); fflush(stdout); _exit(0);}
  for(int i=0;i<10;i++){ int c=prise_tcp_connect("127.0.0.1",ps); prise_write_all(c,"hi",2); char r[4]; prise_read_full(c,r,3); close(c);}
  usleep(300000); shutdown(lfd,SHUT_RDWR); waitpid(srv,NULL,0);
  fprintf(stderr,"10 clients served\n"); return 0;
}
