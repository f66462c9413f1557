/*
 * ifaddr - find the interface of a local address (getifaddrs(3)).
 */
#include <string.h>
#include <ifaddrs.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "ifaddr.h"

/* seg_ifname_of - the interface holding addr, or NULL */
char *seg_ifname_of(const char *addr)
{
    g_autofree char *bare = NULL;
    struct in6_addr a6;
    struct in_addr a4;
    struct ifaddrs *list, *i;
    int family;
    char *name = NULL;
    size_t n;

    if (addr == NULL)
        return NULL;
    n = strlen(addr);
    bare = n > 2 && addr[0] == '[' && addr[n - 1] == ']' ? g_strndup(addr + 1, n - 2)
        : g_strdup(addr);
    if (inet_pton(AF_INET, bare, &a4) == 1)
        family = AF_INET;
    else if (inet_pton(AF_INET6, bare, &a6) == 1)
        family = AF_INET6;
    else
        return NULL;
    if (getifaddrs(&list) < 0)
        return NULL;
    for (i = list; i != NULL && name == NULL; i = i->ifa_next) {
        if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family)
            continue;
        if (family == AF_INET
            ? memcmp(&((struct sockaddr_in *) i->ifa_addr)->sin_addr, &a4, sizeof(a4)) == 0
            : memcmp(&((struct sockaddr_in6 *) i->ifa_addr)->sin6_addr, &a6, sizeof(a6)) == 0)
            name = g_strdup(i->ifa_name);
    }
    freeifaddrs(list);
    return name;
}
