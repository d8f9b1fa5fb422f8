#include <time.h>
#include "date.h"

int date_du_jour(char *texte, size_t taille)
{
    time_t maintenant = time(NULL);
    struct tm jour;

    gmtime_r(&maintenant, &jour);
    return (int)strftime(texte, taille, "%Y-%m-%d %H:%M:%S UTC\n", &jour);
}
