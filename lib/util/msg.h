/*
 * msg - the one logging idiom of segtls.
 *
 * Every program reports through msg_info(), msg_warn(), msg_error(),
 * msg_fatal() (exit 1) and msg_fatalx() (exit with a given status).
 * Lines go to stderr as "progname: level: text" (info lines have no
 * level word), or to syslog once msg_syslog_init() was called.
 */
#ifndef SEGTLS_MSG_H
#define SEGTLS_MSG_H

#include <glib.h>

void msg_init(const char *progname);
void msg_syslog_init(int facility);
void msg_set_verbose(int level);
extern int msg_verbose;

void msg_info(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void msg_warn(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void msg_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void msg_debug(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
G_NORETURN void msg_fatal(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
G_NORETURN void msg_fatalx(int status, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
