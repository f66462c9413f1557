/*
 * ifaddr - the network interface that holds a local address, as the
 * gateway's "New SMTP ICID n interface NAME (ADDR)" records name it.
 */
#ifndef SEGTLS_IFADDR_H
#define SEGTLS_IFADDR_H

#include <glib.h>

/*
 * seg_ifname_of - the name of the interface holding addr ("lo" for
 * 127.0.0.1), newly allocated; NULL when addr is not an address or no
 * interface holds it. IPv6 addresses may be given in brackets.
 */
char *seg_ifname_of(const char *addr);

#endif
