/* F4: prise_recv_fd on a Unix socket with SO_PASSPIDFD on (Linux >= 6.5; the sibling of
   SO_PASSCRED, which the header says works) leaks one pidfd per call: the kernel
   installs an SCM_PIDFD descriptor in the receiver and prise only closes/returns
   SCM_RIGHTS ones. Also on failure paths (no descriptor in the message). */
#include "common.h"
#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
int main(void){
  int sv[2]; socketpair(AF_UNIX,SOCK_STREAM,0,sv);
  int on=1; if(setsockopt(sv[1],SOL_SOCKET,SO_PASSPIDFD,&on,sizeof on)<0){perror("SO_PASSPIDFD unsupported");return 2;}
  int before=count_fds();
  for(int i=0;i<100;i++){ prise_send_fd(sv[0],0); int fd=prise_recv_fd(sv[1]); if(fd<0){printf("recv_fd: %s\n",prise_last_error());return 2;} close(fd); }
  for(int i=0;i<100;i++){ write(sv[0],"x",1); if(prise_recv_fd(sv[1])!=-1) return 2; } /* EBADMSG path */
  int after=count_fds();
  printf("open descriptors before %d, after 100 successful + 100 refused prise_recv_fd: %d\n",before,after);
  char l[64]; sprintf(l,"ls -l /proc/%d/fd | grep -c pidfd",getpid()); printf("pidfd entries: "); fflush(stdout); system(l);
  return after!=before;
}
