/*
 * msg - the one logging idiom of segtls.
 *
 * Programs call msg_init() with their name first. Until msg_detach_init()
 * is called, everything goes to stderr as "progname: level: text". A
 * daemon that leaves its terminal calls msg_detach_init() first: then to
 * syslog with the matching priority when /dev/log answers, else appended
 * to a file ("Dec  5 19:04:38 progname[pid]: level: text", one write per
 * line), so that a host without a syslog daemon still sees why a daemon
 * stopped. msg_fatal() exits 1, msg_fatalx() with the status given.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "msg.h"
#include "recfmt.h"

#define MSG_SYSLOG_PATH "/dev/log"

static const char *msg_progname = "segtls";
static int msg_use_syslog;
static int msg_fd = -1;             /* the fallback file, -1: none */
static int msg_chosen;              /* msg_detach_open: 1 syslog, 2 file */
static int msg_chosen_facility;
static int msg_chosen_fd = -1;
int msg_verbose;

/* msg_init - remember the program name */
void msg_init(const char *progname)
{
    const char *slash = strrchr(progname, '/');

    msg_progname = slash ? slash + 1 : progname;
}

/* syslog_answers - is a syslog daemon reading /dev/log? */
static int syslog_answers(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int     fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int     ok;

    if (fd < 0)
        return 0;
    memcpy(sun.sun_path, MSG_SYSLOG_PATH, sizeof(MSG_SYSLOG_PATH));
    ok = connect(fd, (struct sockaddr *) &sun, sizeof(sun)) == 0;
    close(fd);
    return ok;
}

/* msg_detach_open - choose syslog or open the file; stay on stderr */
const char *msg_detach_open(int facility, const char *fallback)
{
    int     fd;

    if (fallback == NULL && syslog_answers()) {
        msg_chosen = 1;
        msg_chosen_facility = facility;
        return "syslog";
    }
    if (fallback == NULL) {
        fallback = MSG_FALLBACK_FILE;
        msg_warn("no syslog at %s: messages go to %s", MSG_SYSLOG_PATH, fallback);
    }
    fd = open(fallback, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        msg_warn("no syslog at %s, and %s: %s: messages are lost once detached",
                 MSG_SYSLOG_PATH, fallback, strerror(errno));
        return NULL;
    }
    if (msg_chosen_fd >= 0)
        close(msg_chosen_fd);
    msg_chosen_fd = fd;
    msg_chosen = 2;
    return fallback;
}

/* msg_detach_now - further messages to what msg_detach_open chose */
void msg_detach_now(void)
{
    if (msg_chosen == 1) {
        openlog(msg_progname, LOG_PID | LOG_NDELAY, msg_chosen_facility);
        msg_use_syslog = 1;
    } else if (msg_chosen == 2) {
        if (msg_fd >= 0)
            close(msg_fd);
        msg_fd = msg_chosen_fd;
        msg_chosen_fd = -1;
    }
    msg_chosen = 0;
}

/* msg_detach_init - syslog, or the file when none answers; where they go */
const char *msg_detach_init(int facility, const char *fallback)
{
    const char *where = msg_detach_open(facility, fallback);

    msg_detach_now();
    return where;
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
    char    line[2048], stamp[SEG_RECFMT_TIME_LEN];
    int     n, m;

    if (msg_use_syslog) {
        vsyslog(prio, fmt, ap);
        return;
    }
    if (msg_fd >= 0) {
        if (seg_recfmt_syslog_time(time(NULL), stamp, sizeof(stamp)) == 0)
            stamp[0] = 0;
        n = snprintf(line, sizeof(line), "%s %s[%ld]: %s", stamp, msg_progname,
                     (long) getpid(), level);
        if (n < 0 || (size_t) n >= sizeof(line) - 1)
            return;
        m = vsnprintf(line + n, sizeof(line) - (size_t) n - 1, fmt, ap);
        if (m < 0)
            return;
        n = (size_t) (n + m) >= sizeof(line) - 1 ? (int) sizeof(line) - 2 : n + m;
        line[n++] = '\n';
        if (write(msg_fd, line, (size_t) n) < 0)
            return;                     /* nowhere left to say it */
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
