/* La date du jour en texte (fichier sans main, partage par le serveur). */
#ifndef DATE_H
#define DATE_H
#include <stddef.h>
int date_du_jour(char *texte, size_t taille);
#endif
