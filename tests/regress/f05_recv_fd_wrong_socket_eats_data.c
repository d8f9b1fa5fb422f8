/* F5: prise_recv_fd on a socket that is not Unix-domain (TCP here) is not refused as
   prise_send_fd and prise_peer_cred refuse it (EINVAL): it takes one byte of the
   caller's stream and throws it away (-1 EBADMSG). Same on a Unix stream carrying
   ordinary data. */
#include "common.h"
int main(void){
  int l=prise_tcp_listen("127.0.0.1","0",4); char ps[8]; sprintf(ps,"%d",port_of(l));
  int c=prise_tcp_connect("127.0.0.1",ps); int s=accept(l,NULL,NULL);
  write(c,"HELLO\n",6); usleep(50000);
  int r=prise_recv_fd(s); int e=errno;
  printf("prise_recv_fd on TCP: %d errno=%s: %s\n",r,strerror(e),prise_last_error());
  int sr=prise_send_fd(c,0); e=errno;
  printf("prise_send_fd on TCP (for comparison): %d errno=%s: %s\n",sr,strerror(e),prise_last_error());
  char buf[16]={0}; ssize_t n=recv(s,buf,sizeof buf-1,MSG_DONTWAIT);
  printf("what is left of \"HELLO\\n\" on the TCP stream: %zd bytes \"%.*s\"\n",n,(int)(n>0?n-1:0),buf);
  return n!=6;
}
