/*
 * msg - the one logging idiom of segtls.
 *
 * Programs call msg_init() with their name first. Until msg_syslog_init()
 * is called, everything goes to stderr as "progname: level: text";
 * afterwards to syslog with the matching priority. msg_fatal() exits 1,
 * msg_fatalx() with the status given; both flush first.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "msg.h"

static const char *msg_progname = "segtls";
static int msg_use_syslog;
int msg_verbose;

/* msg_init - remember the program name */
void msg_init(const char *progname)
{
    const char *slash = strrchr(progname, '/');

    msg_progname = slash ? slash + 1 : progname;
}

/* msg_syslog_init - send further messages to syslog */
void msg_syslog_init(int facility)
{
    openlog(msg_progname, LOG_PID | LOG_NDELAY, facility);
    msg_use_syslog = 1;
}

/* msg_set_verbose - set the debug level */
void msg_set_verbose(int level)
{
    msg_verbose = level;
}

/* msg_vprint - emit one message at one level */
G_GNUC_PRINTF(3, 0)
static void msg_vprint(int prio, const char *level, const char *fmt, va_list ap)
{
    if (msg_use_syslog) {
        vsyslog(prio, fmt, ap);
        return;
    }
    fprintf(stderr, "%s: %s", msg_progname, level);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

#define MSG_EMIT(prio, level) do { \
        va_list ap; \
        va_start(ap, fmt); \
        msg_vprint((prio), (level), fmt, ap); \
        va_end(ap); \
    } while (0)

/* msg_info - informational message */
void msg_info(const char *fmt, ...)
{
    MSG_EMIT(LOG_INFO, "");
}

/* msg_warn - warning */
void msg_warn(const char *fmt, ...)
{
    MSG_EMIT(LOG_WARNING, "warning: ");
}

/* msg_error - error, the program goes on */
void msg_error(const char *fmt, ...)
{
    MSG_EMIT(LOG_ERR, "error: ");
}

/* msg_debug - message shown only with -v */
void msg_debug(const char *fmt, ...)
{
    if (msg_verbose == 0)
        return;
    MSG_EMIT(LOG_DEBUG, "debug: ");
}

/* msg_fatal - report and exit 1 */
void msg_fatal(const char *fmt, ...)
{
    MSG_EMIT(LOG_CRIT, "fatal: ");
    exit(1);
}

/* msg_fatalx - report and exit with the given status */
void msg_fatalx(int status, const char *fmt, ...)
{
    MSG_EMIT(LOG_CRIT, "fatal: ");
    exit(status);
}
