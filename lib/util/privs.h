/*
 * privs - dropping root for good.
 */
#ifndef SEGTLS_PRIVS_H
#define SEGTLS_PRIVS_H

#include <pwd.h>

/* seg_drop_privileges - become pw (groups, gid, uid); fatal when it fails */
void seg_drop_privileges(const struct passwd *pw);

#endif
