/* resolution.c — prise_getaddrinfo/freeaddrinfo, prise_getnameinfo,
 * prise_gethostbyname (also from two threads at once), prise_last_error,
 * prise_last_gai_error and the version. */
#include <arpa/inet.h>
#include <pthread.h>

#include "check.h"

static void getaddrinfo_cases(void)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;

    CHECK(prise_getaddrinfo("127.0.0.1", "2023", &hints, &res) == 0);
    CHECK(res != NULL && res->ai_family == AF_INET);
    struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
    CHECK(ntohs(sin->sin_port) == 2023 && ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK);
    prise_freeaddrinfo(res);

    /* IPv6 literals with and without brackets. */
    CHECK(prise_getaddrinfo("::1", "80", &hints, &res) == 0);
    CHECK(res->ai_family == AF_INET6);
    freeaddrinfo(res); /* libc's freeaddrinfo works on prise's lists too */
    CHECK(prise_getaddrinfo("[::1]", "80", &hints, &res) == 0);
    CHECK(res->ai_family == AF_INET6);
    prise_freeaddrinfo(res);

    /* localhost, and a passive lookup with NULL hints. */
    CHECK(prise_getaddrinfo("localhost", "http", &hints, &res) == 0);
    CHECK(ntohs(((struct sockaddr_in *)res->ai_addr)->sin_port) == 80);
    prise_freeaddrinfo(res);
    CHECK(prise_getaddrinfo(NULL, "0", NULL, &res) == 0);
    prise_freeaddrinfo(res);
    prise_freeaddrinfo(NULL);

    /* Bad ports are EAI_SERVICE, not truncated as glibc does. */
    const char *bad_ports[] = {"65536", "99999999", "-1", "abc", ""};
    for (size_t i = 0; i < sizeof bad_ports / sizeof *bad_ports; i++) {
        res = (struct addrinfo *)0x1;
        CHECK_FAILS(prise_getaddrinfo("127.0.0.1", bad_ports[i], &hints, &res), EAI_SERVICE, EINVAL);
        CHECK(prise_last_gai_error() == EAI_SERVICE);
        CHECK(res == (struct addrinfo *)0x1); /* untouched on failure */
    }
    CHECK(strstr(prise_last_error(), "127.0.0.1") != NULL);

    /* Unknown and empty hosts, both NULL, NULL res, a 4 KiB name. */
    int rc = prise_getaddrinfo("nosuchhost.invalid", "80", &hints, &res);
    CHECK(rc == EAI_NONAME || rc == EAI_AGAIN || rc == EAI_FAIL);
    CHECK(strstr(prise_last_error(), "nosuchhost.invalid") != NULL);
    CHECK(prise_last_gai_error() == rc);
    CHECK_FAILS(prise_getaddrinfo("", "80", &hints, &res), EAI_NONAME, ENOENT);
    CHECK_FAILS(prise_getaddrinfo(NULL, NULL, &hints, &res), EAI_NONAME, ENOENT);
    CHECK_FAILS(prise_getaddrinfo("127.0.0.1", "80", &hints, NULL), EAI_SYSTEM, EINVAL);
    static char long_name[4097];
    memset(long_name, 'a', sizeof long_name - 1);
    CHECK(prise_getaddrinfo(long_name, "80", &hints, &res) != 0);
    CHECK(prise_last_error()[0] != 0);

    /* A resolution success does not touch errno's meaning; a later failure is new. */
    CHECK(prise_last_gai_error() != 0);
    int s = prise_socket(AF_INET, SOCK_STREAM, 0);
    CHECK_FAILS(prise_listen(-1, 1), -1, EBADF);
    CHECK(prise_last_gai_error() == 0);
    prise_close(s);
}

static void getnameinfo_cases(void)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons(2023);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    CHECK(prise_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv,
                            sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0);
    CHECK(strcmp(host, "127.0.0.1") == 0 && strcmp(serv, "2023") == 0);
    /* Reverse lookup of the loopback: a name (localhost or the machine's). */
    CHECK(prise_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0, 0) == 0);
    CHECK(host[0] != 0);

    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_addr = in6addr_loopback;
    sin6.sin6_port = htons(80);
    CHECK(prise_getnameinfo((struct sockaddr *)&sin6, sizeof sin6, host, sizeof host, serv,
                            sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0);
    CHECK(strcmp(host, "::1") == 0 && strcmp(serv, "80") == 0);

    /* Too small a buffer, NULL address, wrong family. */
    char tiny[4];
    CHECK_FAILS(prise_getnameinfo((struct sockaddr *)&sin, sizeof sin, tiny, sizeof tiny, NULL, 0,
                                  NI_NUMERICHOST), EAI_OVERFLOW, ENOSPC);
    CHECK_FAILS(prise_getnameinfo(NULL, sizeof sin, host, sizeof host, NULL, 0, 0), EAI_SYSTEM, EINVAL);
    CHECK_FAILS(prise_getnameinfo((struct sockaddr *)&sin, sizeof sin, NULL, 10, NULL, 0, 0),
                EAI_SYSTEM, EINVAL);
    sin.sin_family = 12345;
    CHECK(prise_getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, NULL, 0, 0) == EAI_FAMILY);
}

static void *lookup_many(void *arg)
{
    const char *name = arg;
    in_addr_t want = inet_addr(name);
    for (int i = 0; i < 2000; i++) {
        struct hostent *h = prise_gethostbyname(name);
        if (h == NULL || h->h_addrtype != AF_INET || h->h_length != 4)
            return (void *)1;
        /* The other thread's lookups never overwrite this thread's result. */
        if (memcmp(h->h_addr_list[0], &want, 4) != 0 || h->h_addr_list[1] != NULL)
            return (void *)1;
    }
    return NULL;
}

static void gethostbyname_cases(void)
{
    struct hostent *h = prise_gethostbyname("localhost");
    CHECK(h != NULL && h->h_addrtype == AF_INET && h->h_length == 4);
    CHECK(h->h_name != NULL && h->h_aliases != NULL && h->h_aliases[0] == NULL);
    int found = 0;
    for (char **a = h->h_addr_list; *a; a++)
        found |= ((struct in_addr *)*a)->s_addr == htonl(INADDR_LOOPBACK);
    CHECK(found);

    h = prise_gethostbyname("127.0.0.2");
    CHECK(h != NULL && ((struct in_addr *)h->h_addr_list[0])->s_addr == inet_addr("127.0.0.2"));

    CHECK_FAILS(prise_gethostbyname(NULL), 0, EINVAL);
    CHECK_FAILS(prise_gethostbyname(""), 0, ENOENT);
    errno = 0;
    CHECK(prise_gethostbyname("nosuchhost.invalid") == NULL && errno != 0);

    pthread_t a, b;
    void *ra, *rb;
    pthread_create(&a, NULL, lookup_many, "127.0.0.3");
    pthread_create(&b, NULL, lookup_many, "127.0.0.4");
    pthread_join(a, &ra);
    pthread_join(b, &rb);
    CHECK(ra == NULL && rb == NULL);
}

static void *fail_in_thread(void *arg)
{
    (void)arg;
    prise_listen(-1, 1);
    return (void *)prise_last_error();
}

static void last_error_and_version(void)
{
    CHECK_FAILS(prise_close(-1), -1, EBADF);
    /* Each thread has its own sentence. */
    pthread_t t;
    void *other;
    pthread_create(&t, NULL, fail_in_thread, NULL);
    pthread_join(t, &other);
    CHECK(strstr(prise_last_error(), "close") != NULL);

    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", PRISE_VERSION_MAJOR, PRISE_VERSION_MINOR,
             PRISE_VERSION_PATCH);
    CHECK(strcmp(prise_version(), expected) == 0);
    CHECK(strcmp(prise_version(), PRISE_VERSION_STRING) == 0);
}

int main(void)
{
    alarm(30);
    getaddrinfo_cases();
    getnameinfo_cases();
    gethostbyname_cases();
    last_error_and_version();
    return check_summary();
}
