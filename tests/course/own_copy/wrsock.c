/* Stands for the course's own helper implementation shipped in the folder: prise's build
 * leaves it out, so these never run (a program that reached them would report -99). */
int bindedSocket(char *host, char *service, int type)
{
    (void)host;
    (void)service;
    (void)type;
    return -99;
}
