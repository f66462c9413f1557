/*
 * msg - the one logging idiom of segtls.
 *
 * Every program reports through msg_info(), msg_warn(), msg_error(),
 * msg_fatal() (exit 1) and msg_fatalx() (exit with a given status).
 * Lines go to stderr as "progname: level: text" (info lines have no
 * level word); a daemon that detaches calls msg_detach_init() first.
 */
#ifndef SEGTLS_MSG_H
#define SEGTLS_MSG_H

#include <glib.h>

void msg_init(const char *progname);
/* where a detached daemon logs when /dev/log is not there */
#define MSG_FALLBACK_FILE "/var/log/segtls/segtls.log"
/*
 * msg_detach_init - further messages to syslog when a syslog daemon
 * answers on /dev/log and fallback is NULL, else appended to fallback
 * (default MSG_FALLBACK_FILE). Returns "syslog", the file, or NULL when
 * neither can be used (said on stderr). Call it while stderr still works.
 */
const char *msg_detach_init(int facility, const char *fallback);
/*
 * msg_detach_open - the first half of msg_detach_init(), for a daemon
 * that drops privileges before it detaches: choose syslog or open the
 * file now, while the rights to it are there (the file may be root's,
 * made by another daemon); messages stay on stderr until
 * msg_detach_now() switches to what was chosen.
 */
const char *msg_detach_open(int facility, const char *fallback);
void msg_detach_now(void);
void msg_set_verbose(int level);
extern int msg_verbose;

void msg_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void msg_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void msg_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
G_NORETURN void msg_fatal(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
G_NORETURN void msg_fatalx(int status, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
