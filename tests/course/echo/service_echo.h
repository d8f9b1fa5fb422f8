/* Le service d'echo, partage par les deux serveurs (fichier sans main). */
#ifndef SERVICE_ECHO_H
#define SERVICE_ECHO_H
void service_echo(int fd);
#endif
