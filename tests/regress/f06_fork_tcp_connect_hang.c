/* F6: README/SECURITY: "Every function works in the child of a fork() made while other
   threads were inside prise". One thread loops on prise_tcp_connect("127.0.0.1", a
   closed port); the main thread forks; the child calls prise_tcp_connect too and hangs
   for ever (alarm kills it after 5 s): prise_tcp_connect asks getaddrinfo for
   AI_ADDRCONFIG, and glibc's __check_pf lock, held by the other thread at the fork, is
   never released in the child. */
#include "common.h"
static volatile int stop=0;
static void *hammer(void *a){ (void)a; while(!stop){ int fd=prise_tcp_connect("127.0.0.1","1"); if(fd>=0) close(fd);} return NULL;}
int main(int argc,char**argv){
  int forks=argc>1?atoi(argv[1]):100;
  pthread_t t; pthread_create(&t,NULL,hammer,NULL); usleep(10000);
  int hung=0;
  for(int i=0;i<forks;i++){
    pid_t p=fork();
    if(p==0){ alarm(5); int fd=prise_tcp_connect("127.0.0.1","1"); _exit(fd==-1 && errno==ECONNREFUSED?0:3);}
    int st; waitpid(p,&st,0);
    if(WIFSIGNALED(st)) hung++;
  }
  stop=1; pthread_join(t,NULL);
  printf("%d forks: %d children hung in prise_tcp_connect (killed by SIGALRM after 5 s)\n",forks,hung);
  return hung!=0;
}
