/*
 * privs - dropping root for good.
 *
 * The daemons open their sockets and files as root, then become their
 * --user: supplementary groups, gid, uid, in that order, and a check
 * that root cannot be taken back.
 */
#include <errno.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib.h>

#include "msg.h"
#include "privs.h"

/* seg_drop_privileges - become pw (groups, gid, uid); fatal when it fails */
void seg_drop_privileges(const struct passwd *pw)
{
    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
        return;
    if (initgroups(pw->pw_name, pw->pw_gid) < 0
        || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
        msg_fatal("cannot become user %s: %s", pw->pw_name, g_strerror(errno));
    if (pw->pw_uid != 0 && setuid(0) == 0)
        msg_fatal("privileges were not dropped");
}

/* seg_user_access - access(2) of path as pw would have it: 0 or an errno */
int seg_user_access(const struct passwd *pw, const char *path, int mode)
{
    pid_t   pid;
    int     status;

    if (getuid() == pw->pw_uid && geteuid() == pw->pw_uid)
        return access(path, mode) == 0 ? 0 : errno;
    if ((pid = fork()) < 0)
        return errno;
    if (pid == 0) {
        if (initgroups(pw->pw_name, pw->pw_gid) < 0
            || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
            _exit(255);
        _exit(access(path, mode) == 0 ? 0 : errno > 0 && errno < 255 ? errno : EACCES);
    }
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return errno;
    if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
        return EPERM;                   /* could not become the user */
    return WEXITSTATUS(status);
}
