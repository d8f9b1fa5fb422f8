/* F2: prise_read_line on a blocking stream socket (no timeout) takes a partial line out
   of the socket while it waits for the rest; when the wait then fails (peer reset:
   ECONNRESET) it returns -1 and the bytes it took are gone. A plain recv() loop would
   have returned them. */
#include "common.h"
int main(void){
  int l=prise_tcp_listen("127.0.0.1","0",4); char ps[8]; sprintf(ps,"%d",port_of(l));
  int c=prise_tcp_connect("127.0.0.1",ps); int s=accept(l,NULL,NULL);
  pid_t p=fork();
  if(p==0){ write(c,"PARTIAL-LINE-NO-NEWLINE",23); usleep(300000);
    struct linger lg={1,0}; setsockopt(c,SOL_SOCKET,SO_LINGER,&lg,sizeof lg); close(c); _exit(0);}
  close(c);
  char buf[256]; memset(buf,0,sizeof buf);
  ssize_t n=prise_read_line(s,buf,sizeof buf);
  int e=errno;
  printf("read_line = %zd errno=%s last_error=\"%s\"\n",n,strerror(e),prise_last_error());
  char rest[256]; ssize_t m=recv(s,rest,sizeof rest,MSG_DONTWAIT);
  printf("recv afterwards = %zd (%s)\n",m,m<0?strerror(errno):"");
  waitpid(p,NULL,0);
  if(n<0){ printf("LOST: the 23 bytes \"PARTIAL-LINE-NO-NEWLINE\" were consumed and not returned\n"); return 1;}
  return 0;
}
