/*
 * privs - dropping root for good, and what the user will be allowed.
 */
#ifndef SEGTLS_PRIVS_H
#define SEGTLS_PRIVS_H

#include <pwd.h>

/* seg_drop_privileges - become pw (groups, gid, uid); fatal when it fails */
void seg_drop_privileges(const struct passwd *pw);
/*
 * seg_user_access - access(2) of path as pw would have it (its uid, gid
 * and groups, checked in a child process): 0, or the errno it would get
 */
int     seg_user_access(const struct passwd *pw, const char *path, int mode);

#endif
