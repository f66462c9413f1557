/*
 * safefile - reading a file that someone else named (safefile.h).
 *
 * One open-and-check step serves both functions: open(2) with
 * O_NONBLOCK|O_NOCTTY|O_CLOEXEC, then fstat(2) of that descriptor: a
 * regular file of at most max bytes. It uses only async-signal-safe
 * calls, so that the child of seg_file_check_as() (forked from a
 * threaded daemon) may run it between fork and _exit. The child becomes
 * the user (setgroups, setgid, setuid, in that order), runs the step and
 * writes its outcome, two ints, to a pipe; the parent waits on the pipe
 * with poll(2) and kills the child at the timeout.
 *
 * Symbolic links are followed on purpose: certificate files are often
 * links (/etc/letsencrypt/live/NAME/fullchain.pem); the caller decides
 * about the real path (seg_file_read_bounded gives it) and the rights
 * are the kernel's.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "safefile.h"

#define MAX_GROUPS      256

/* Outcome of the open-and-check step. */
typedef enum {
    STEP_OK,
    STEP_ERRNO,                 /* open or fstat failed: the errno */
    STEP_NOT_REGULAR,
    STEP_TOO_BIG,
    STEP_BECOME,                /* the child could not become the user */
} step_status;

typedef struct step_result {
    int         status;         /* step_status */
    int         err;            /* errno for STEP_ERRNO and STEP_BECOME */
} step_result;

/* open_checked - open path without blocking; a regular file of <= max bytes */
static int open_checked(const char *path, gsize max, step_result *r)
{
    struct stat st;
    int     fd;

    r->status = STEP_OK;
    r->err = 0;
    if ((fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) < 0) {
        r->status = STEP_ERRNO;
        r->err = errno;
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        r->status = STEP_ERRNO;
        r->err = errno;
    } else if (!S_ISREG(st.st_mode)) {
        r->status = STEP_NOT_REGULAR;
    } else if ((guint64) st.st_size > (guint64) max) {
        r->status = STEP_TOO_BIG;
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

/* step_error - the reason of a failed step */
static void step_error(const step_result *r, gsize max, GError **error)
{
    switch ((step_status) r->status) {
    case STEP_OK:
        return;
    case STEP_ERRNO:
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_IO, g_strerror(r->err));
        return;
    case STEP_NOT_REGULAR:
        g_set_error_literal(error, SEG_ERROR, SEG_ERROR_IO, "not a regular file");
        return;
    case STEP_TOO_BIG:
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "larger than %" G_GSIZE_FORMAT
                    " bytes", max);
        return;
    case STEP_BECOME:
        g_set_error(error, SEG_ERROR, SEG_ERROR_DENIED,
                    "cannot take the user's rights to check it: %s", g_strerror(r->err));
        return;
    }
}

/* seg_file_read_bounded - a regular file of at most max bytes, read */
gboolean seg_file_read_bounded(const char *path, gsize max, char **data,
                               gsize *len, char **real, GError **error)
{
    step_result r;
    GString *buf;
    char    proc[64];
    int     fd;

    if ((fd = open_checked(path, max, &r)) < 0) {
        step_error(&r, max, error);
        return FALSE;
    }
    /* A regular file: clear O_NONBLOCK, which means nothing for it anyway. */
    (void) fcntl(fd, F_SETFL, 0);
    buf = g_string_sized_new(4096);
    for (;;) {
        char    chunk[8192];
        ssize_t n = read(fd, chunk, sizeof(chunk));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int     saved = errno;

            close(fd);
            g_string_free(buf, TRUE);
            g_set_error_literal(error, SEG_ERROR, SEG_ERROR_IO, g_strerror(saved));
            return FALSE;
        }
        if (n == 0)
            break;
        if (buf->len + (gsize) n > max) {       /* it grew since fstat */
            close(fd);
            g_string_free(buf, TRUE);
            g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "larger than %" G_GSIZE_FORMAT
                        " bytes", max);
            return FALSE;
        }
        g_string_append_len(buf, chunk, n);
    }
    if (real != NULL) {
        g_snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if ((*real = g_file_read_link(proc, NULL)) == NULL)
            *real = g_strdup(path);
    }
    close(fd);
    *len = buf->len;
    *data = g_string_free(buf, FALSE);
    return TRUE;
}

/* user_groups - the supplementary groups of uid's passwd entry, gid first */
static int user_groups(uid_t uid, gid_t gid, gid_t *groups, int max)
{
    struct passwd pw, *res = NULL;
    char    pwbuf[4096];
    int     n = max;

    if (getpwuid_r(uid, &pw, pwbuf, sizeof(pwbuf), &res) != 0 || res == NULL) {
        groups[0] = gid;
        return 1;
    }
    if (getgrouplist(pw.pw_name, gid, groups, &n) < 0)
        n = max;                        /* more: the first ones */
    return n;
}

/* child - become the user, run the step, report; async-signal-safe only */
G_NORETURN
static void child(int out, const char *path, uid_t uid, gid_t gid,
                  const gid_t *groups, int ngroups, gsize max)
{
    step_result r = {STEP_OK, 0};
    int     fd;

    if (setgroups((size_t) ngroups, groups) < 0 || setgid(gid) < 0
        || setuid(uid) < 0) {
        r.status = STEP_BECOME;
        r.err = errno;
    } else if ((fd = open_checked(path, max, &r)) >= 0) {
        close(fd);
    }
    if (write(out, &r, sizeof(r)) != (ssize_t) sizeof(r))
        _exit(2);
    _exit(0);
}

/* wait_result - the child's outcome within timeout_ms; FALSE: none */
static gboolean wait_result(int in, int timeout_ms, step_result *r)
{
    gint64  end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;
    struct pollfd p = {in, POLLIN, 0};
    gsize   got = 0;

    for (;;) {
        gint64  left = (end - g_get_monotonic_time()) / 1000;
        int     rc;
        ssize_t n;

        if (left < 0)
            return FALSE;
        rc = poll(&p, 1, (int) left);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return FALSE;
        n = read(in, (char *) r + got, sizeof(*r) - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return FALSE;
        if ((got += (gsize) n) == sizeof(*r))
            return TRUE;
    }
}

/* seg_file_check_as - may uid read path (a regular file of <= max bytes)? */
gboolean seg_file_check_as(const char *path, uid_t uid, gid_t gid, gsize max,
                           int timeout_ms, GError **error)
{
    gid_t   groups[MAX_GROUPS];
    step_result r;
    gboolean answered;
    pid_t   pid;
    int     ngroups;
    int     fds[2];
    int     status;

    if (uid == geteuid() && gid == getegid()) {
        int     fd = open_checked(path, max, &r);

        if (fd >= 0)
            close(fd);
        step_error(&r, max, error);
        return fd >= 0;
    }
    ngroups = user_groups(uid, gid, groups, MAX_GROUPS);
    if (pipe2(fds, O_CLOEXEC) < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "pipe: %s", g_strerror(errno));
        return FALSE;
    }
    if ((pid = fork()) < 0) {
        int     saved = errno;

        close(fds[0]);
        close(fds[1]);
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "fork: %s", g_strerror(saved));
        return FALSE;
    }
    if (pid == 0) {
        close(fds[0]);
        child(fds[1], path, uid, gid, groups, ngroups, max);
    }
    close(fds[1]);
    answered = wait_result(fds[0], timeout_ms, &r);
    close(fds[0]);
    if (!answered)
        kill(pid, SIGKILL);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!answered) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO,
                    "no answer within %d ms", timeout_ms);
        return FALSE;
    }
    step_error(&r, max, error);
    return r.status == STEP_OK;
}
