/* F7: a client started with stderr closed (2>&-, as daemons, cron jobs and some
   supervisors do) gets descriptor 2 for its first socket. prise's PRISE_TRACE lines and
   the course API's failure lines are then written INTO that connection: the server
   receives them as protocol data, though the program itself never prints anything.
   Usage: ./t09 [trace|course]   (the script runs the client with 2>&-) */
#include "common.h"
#include <helperSO.h>
int main(int argc,char**argv){
  int l=prise_tcp_listen("127.0.0.1","0",4); char ps[8]; sprintf(ps,"%d",port_of(l));
  pid_t p=fork();
  if(p==0){ close(2);                       /* as if started with 2>&- */
    if(argc>1 && strcmp(argv[1],"trace")==0) setenv("PRISE_TRACE","1",1);
    int c=prise_tcp_connect("127.0.0.1",ps);               /* c == 2 */
    int fd; creerSock("localhost","99999",SOCK_STREAM,&fd);   /* a failing course call */
    prise_write_all(c,"DATA\n",5); prise_close(c); _exit(0);}
  int s=accept(l,NULL,NULL); char buf[4096]; ssize_t n=prise_read_full(s,buf,sizeof buf-1); buf[n>0?n:0]=0;
  waitpid(p,NULL,0);
  printf("the server expected \"DATA\\n\" and received %zd bytes:\n%s",n,buf);
  return strcmp(buf,"DATA\n")!=0;
}
