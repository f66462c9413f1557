/*
 * apply_run - run postconf, postfix, nginx and diff for segtls-apply.
 *
 * Commands are spawned from an argv, never through a shell, and are
 * killed (with their process group) when they outlive the timeout.
 * stdout and stderr are collected together. The postfix command writes
 * its errors to stderr only when stderr is a terminal (otherwise only to
 * the mail log), so with tty set the output goes through a pseudo
 * terminal and the caller sees "postfix: fatal: ..." itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib-unix.h>

#include "apply.h"
#include "error.h"
#include "sigpipe.h"

/*
 * child_setup - own process group, so that a timeout kills every child;
 * SIGPIPE at its default again (segtls-apply ignores it, children must not)
 */
static void child_setup(gpointer data)
{
    (void) data;
    setpgid(0, 0);
    seg_default_sigpipe();
}

/* open_pty - master and slave of a new pseudo terminal */
static gboolean open_pty(int *master, int *slave, GError **error)
{
    const char *name;

    if ((*master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0
        || grantpt(*master) < 0 || unlockpt(*master) < 0
        || (name = ptsname(*master)) == NULL
        || (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
        int saved = errno;

        if (*master >= 0)
            close(*master);
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "cannot open a pseudo terminal: %s", g_strerror(saved));
        return FALSE;
    }
    return TRUE;
}

/* read_until - collect output until EOF/EIO or the deadline */
static gboolean read_until(int fd, GString *out, gint64 deadline)
{
    char buf[4096];

    for (;;) {
        gint64 left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;
        int rc;

        if (left <= 0)
            return FALSE;
        rc = poll(&pfd, 1, (int) MIN(left, 1000));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            continue;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)                     /* EOF, or EIO once the pty is gone */
            return TRUE;
        g_string_append_len(out, buf, n);
    }
}

/* command_text - the command for messages: at most its first four words */
static char *command_text(const char *const *argv)
{
    guint   n = g_strv_length((char **) argv);
    g_autofree char **head = g_new0(char *, 5);

    for (guint i = 0; i < MIN(n, 4); i++)
        head[i] = (char *) argv[i];
    g_autofree char *joined = g_strjoinv(" ", head);

    return n > 4 ? g_strconcat(joined, " ...", NULL) : g_steal_pointer(&joined);
}

/* seg_apply_run - run argv with a timeout; output is stdout+stderr */
gboolean seg_apply_run(const char *const *argv, double timeout, gboolean tty,
                       char **output, int *status, GError **error)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GError) err = NULL;
    g_autofree char *cmd = command_text(argv);
    gint64  deadline = g_get_monotonic_time() + (gint64) (timeout * G_USEC_PER_SEC);
    int     rd = -1, wr = -1, pfd[2];
    GPid    pid;
    int     wstatus = 0;
    gboolean done;

    if (tty) {
        if (!open_pty(&rd, &wr, error))
            return FALSE;
    } else {
        if (!g_unix_open_pipe(pfd, FD_CLOEXEC, &err)) {
            g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                        "cannot run %s: %s", argv[0], err->message);
            return FALSE;
        }
        rd = pfd[0];
        wr = pfd[1];
    }
    if (!g_spawn_async_with_pipes_and_fds(NULL, argv, NULL,
                                          G_SPAWN_SEARCH_PATH
                                          | G_SPAWN_DO_NOT_REAP_CHILD
                                          | G_SPAWN_STDIN_FROM_DEV_NULL,
                                          child_setup, NULL, -1, wr, wr,
                                          NULL, NULL, 0, &pid, NULL, NULL,
                                          NULL, &err)) {
        close(rd);
        close(wr);
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "cannot run %s: %s",
                    argv[0], err->message);
        return FALSE;
    }
    close(wr);
    done = read_until(rd, out, deadline);
    close(rd);
    if (!done)
        kill(-pid, SIGKILL);
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
        ;
    g_spawn_close_pid(pid);
    if (!done) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY,
                    "%s: no answer within %.0f seconds; killed", cmd, timeout);
        return FALSE;
    }
    /* the pty turns \n into \r\n */
    for (char *p; (p = strstr(out->str, "\r\n")) != NULL;)
        g_string_erase(out, p - out->str, 1);
    *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    if (output)
        *output = g_strdup(g_strstrip(out->str));
    return TRUE;
}

/* seg_apply_run_ok - run; a non-zero exit is an error quoting the output */
gboolean seg_apply_run_ok(const char *const *argv, double timeout, gboolean tty,
                          char **output, GError **error)
{
    g_autofree char *out = NULL;
    int     status;

    if (!seg_apply_run(argv, timeout, tty, &out, &status, error))
        return FALSE;
    if (status != 0) {
        g_autofree char *cmd = command_text(argv);
        /* the last line says most: "postfix: fatal: ..." */
        const char *nl = strrchr(out, '\n');

        g_set_error(error, SEG_ERROR, SEG_ERROR_APPLY, "%s failed (exit %d)%s%s",
                    cmd, status, *out ? ": " : "", nl ? nl + 1 : out);
        return FALSE;
    }
    if (output)
        *output = g_steal_pointer(&out);
    return TRUE;
}
