/*
 * record - write gateway-style records to mail_logs / gui_logs.
 *
 * Lines and the header are formatted by recfmt.c (shared with the nginx
 * module). The file is opened O_APPEND and every record is formatted into one
 * buffer and written with one write(2), so lines of concurrent writers
 * (milter, nginx workers, logparse) never interleave. The header of a new
 * file is written under an flock(2), so that two processes opening the
 * same empty file write it once. Every text is cleaned on its way into
 * the line (seg_recfmt_clean: no control character of any producer
 * reaches a log). A short write (full disk) is never taken back: the
 * file is shared, and another writer may have appended after our part;
 * seg_recfmt_append_lines() ends that part with " [cut]" and a newline in
 * place instead. Errors never abort: they are returned, the record is
 * counted as dropped, one error line is logged when a burst of failures
 * starts and one when writing works again, and the loss is recorded in
 * the file itself, as a Warning record, as soon as it can be. A writer
 * that holds its records (seg_record_hold: the milter's threads, which
 * write many records under one lock) keeps them, formatted, until
 * seg_record_flush writes them all with one write(2); each is counted
 * and told to the tap then, and a short write loses only the records it
 * did not write whole (seg_recfmt_append_lines). The syslog
 * copy is sent as an RFC 3164 datagram to /dev/log with facility mail and
 * tag "mail_logs", without touching the program's own openlog().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "error.h"
#include "msg.h"
#include "recfmt.h"
#include "record.h"

#ifndef SEGTLS_VERSION
#define SEGTLS_VERSION "unknown"
#endif

struct seg_record {
    char       *path;
    int         fd;
    seg_record_clock_fn clock;
    void       *clock_ctx;
    int         syslog_fd;          /* -1: no syslog copy */
    seg_syslogpush *push;           /* NULL: no syslog push */
    char       *push_tag;
    seg_record_tap_fn tap;
    void       *tap_ctx;
    GDestroyNotify tap_destroy;
    guint64     written;
    gboolean    failing;            /* inside a burst of write errors */
    guint64     dropped;            /* records not written, ever */
    guint64     burst_dropped;      /* ... in the current burst */
    guint64     unrecorded;         /* lost records the file does not say yet */
    int         loss_errno;         /* why they were lost */
    GString    *held;               /* NULL: each record is written at once */
    GArray     *held_recs;          /* held_rec: where each held record is */
};

/* one record held for seg_record_flush: its line ends at held->str[end] */
typedef struct held_rec {
    time_t      when;
    seg_record_level level;
    size_t      text;               /* where its (cleaned) text starts in held */
    size_t      len;                /* its length */
    size_t      end;                /* the end of its line */
} held_rec;

#define HELD_MAX        16384       /* bytes held before they are written anyway */

static const struct {
    const char *name;
    int         prio;
} levels[SEG_RECORD_NLEVELS] = {
    [SEG_RECORD_INFO] = {"Info", LOG_INFO},
    [SEG_RECORD_WARNING] = {"Warning", LOG_WARNING},
    [SEG_RECORD_CRITICAL] = {"Critical", LOG_CRIT},
    [SEG_RECORD_DEBUG] = {"Debug", LOG_DEBUG},
};

/* seg_record_level_name - "Info", "Warning", ... */
const char *seg_record_level_name(seg_record_level level)
{
    return (unsigned) level < SEG_RECORD_NLEVELS ? levels[level].name : "Info";
}

/* seg_record_format_time - "Fri Nov 27 23:16:05 2026" (local time); length */
size_t seg_record_format_time(time_t when, char *buf, size_t size)
{
    return seg_recfmt_time(when, buf, size);
}

/* seg_record_format_line - "<time> <Level>: <text>\n" into buf; length */
size_t seg_record_format_line(time_t when, seg_record_level level,
                              const char *text, size_t len, char *buf, size_t size)
{
    return seg_recfmt_line(when, seg_record_level_name(level), text, len, buf, size);
}

/*
 * write_lines - lines with one write(2) that never leaves a torn line;
 * *whole (may be NULL): the bytes of the whole lines written; FALSE with
 * errno on failure
 */
static gboolean write_lines(int fd, const char *buf, size_t len, size_t *whole)
{
    int rc = seg_recfmt_append_lines(fd, buf, len, whole), saved = errno;

    if (rc < 0)
        msg_warn("a partial record could not be marked cut: %s", g_strerror(errno));
    errno = saved;
    return rc == 1;
}

/* write_header - the three lines that start a new file, in one write */
static gboolean write_header(seg_record *r, int fd, GError **error)
{
    char host[SEG_RECFMT_HOST_LEN], buf[SEG_RECFMT_HEADER_MAX];
    size_t n;

    if (seg_recfmt_host_id(host, sizeof(host)) == 0)
        g_strlcpy(host, "unknown", sizeof(host));
    n = seg_recfmt_header(r->clock(r->clock_ctx), SEGTLS_VERSION, host, buf, sizeof(buf));
    if (n == 0 || !write_lines(fd, buf, n, NULL)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "write %s: %s", r->path,
                    n ? g_strerror(errno) : "header too long");
        return FALSE;
    }
    return TRUE;
}

/* open_file - open r->path for appending, write the header if it is empty */
static int open_file(seg_record *r, GError **error)
{
    struct stat st;
    int fd;
    gboolean ok = TRUE;

    fd = open(r->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "open %s: %s", r->path, g_strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        g_set_error(error, SEG_ERROR, SEG_ERROR_IO, "%s: not a regular file", r->path);
        close(fd);
        return -1;
    }
    if (st.st_size == 0) {
        /* Another writer may be doing the same: look again under the lock. */
        (void) flock(fd, LOCK_EX);
        if (fstat(fd, &st) == 0 && st.st_size == 0)
            ok = write_header(r, fd, error);
        (void) flock(fd, LOCK_UN);
    }
    if (!ok) {
        close(fd);
        return -1;
    }
    return fd;
}

/* default_clock - time() */
static time_t default_clock(void *ctx)
{
    return time(NULL);
}

/* seg_record_open_clock - open with a time source (NULL: time()) */
seg_record *seg_record_open_clock(const char *path, seg_record_clock_fn clock,
                                  void *ctx, GError **error)
{
    g_autoptr(seg_record) r = g_new0(seg_record, 1);

    r->path = g_strdup(path);
    r->fd = -1;
    r->syslog_fd = -1;
    r->clock = clock ? clock : default_clock;
    r->clock_ctx = ctx;
    if (path == NULL)
        return g_steal_pointer(&r);     /* no file: push and tap only */
    if ((r->fd = open_file(r, error)) < 0)
        return NULL;
    return g_steal_pointer(&r);
}

/* seg_record_open - open (create 0640) for appending; header if empty */
seg_record *seg_record_open(const char *path, GError **error)
{
    return seg_record_open_clock(path, NULL, NULL, error);
}

/* seg_record_set_clock - time source of seg_record_write (default time()) */
void seg_record_set_clock(seg_record *r, seg_record_clock_fn clock, void *ctx)
{
    r->clock = clock ? clock : default_clock;
    r->clock_ctx = ctx;
}

/* seg_record_set_syslog - also send each record to syslog (mail, "mail_logs") */
void seg_record_set_syslog(seg_record *r, gboolean on)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};

    if (r->syslog_fd >= 0)
        close(r->syslog_fd);
    r->syslog_fd = -1;
    if (!on)
        return;
    g_strlcpy(sun.sun_path, "/dev/log", sizeof(sun.sun_path));
    r->syslog_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (r->syslog_fd >= 0 && connect(r->syslog_fd, (struct sockaddr *) &sun, sizeof(sun)) < 0) {
        msg_warn("syslog copy of %s: connect /dev/log: %m", seg_record_path(r));
        close(r->syslog_fd);
        r->syslog_fd = -1;
    }
}

/* seg_record_set_push - also queue each record for a syslog push with this tag */
void seg_record_set_push(seg_record *r, seg_syslogpush *push, const char *tag)
{
    r->push = push;
    g_free(r->push_tag);
    r->push_tag = g_strdup(tag ? tag : SEG_RECORD_SYSLOG_IDENT);
}

/* seg_record_set_tap - one function told of each record; destroy(ctx) when replaced or closed */
void seg_record_set_tap(seg_record *r, seg_record_tap_fn fn, void *ctx, GDestroyNotify destroy)
{
    if (r->tap_destroy)
        r->tap_destroy(r->tap_ctx);
    r->tap = fn;
    r->tap_ctx = ctx;
    r->tap_destroy = destroy;
}

/* send_syslog - the syslog copy; losses there are not counted */
static void send_syslog(seg_record *r, time_t when, seg_record_level level,
                        const char *text, size_t len)
{
    char buf[SEG_RECORD_LINE_MAX + 128], stamp[SEG_RECFMT_TIME_LEN], clean[SEG_RECORD_LINE_MAX];
    int n;

    if (seg_recfmt_syslog_time(when, stamp, sizeof(stamp)) == 0)
        return;
    len = seg_recfmt_clean(clean, text, MIN(len, sizeof(clean)), 0);
    n = snprintf(buf, sizeof(buf), "<%d>%s %s[%ld]: %s: %.*s",
                 LOG_MAIL | levels[level].prio, stamp, SEG_RECORD_SYSLOG_IDENT,
                 (long) getpid(), levels[level].name, (int) len, clean);
    if (n > 0)
        (void) send(r->syslog_fd, buf, MIN((size_t) n, sizeof(buf) - 1), MSG_DONTWAIT | MSG_NOSIGNAL);
}

/* record_loss - "Warning: N records lost by PROG[PID]: ERROR", as soon as it can be written */
static void record_loss(seg_record *r, time_t when)
{
    char text[256], buf[SEG_RECORD_LINE_MAX + 64];
    const char *prog = g_get_prgname();
    size_t n;
    int len;

    len = snprintf(text, sizeof(text), "%" G_GUINT64_FORMAT " records lost by %s[%ld]: %s",
                   r->unrecorded, prog ? prog : "segtls", (long) getpid(),
                   g_strerror(r->loss_errno));
    if (len <= 0)
        return;
    n = seg_recfmt_line(when, levels[SEG_RECORD_WARNING].name, text,
                        MIN((size_t) len, sizeof(text) - 1), buf, sizeof(buf));
    if (n > 0 && write_lines(r->fd, buf, n, NULL))
        r->unrecorded = 0;
}

/* account - count a record written (ok) or lost (errno: why), and tell the tap */
static void account(seg_record *r, seg_record_level level, const char *text, size_t len,
                    gboolean ok, int err)
{
    if (ok) {
        r->written++;
        if (r->tap)
            r->tap(r->tap_ctx, level, text, len, TRUE);
        if (r->failing)
            msg_info("%s: writing again, %" G_GUINT64_FORMAT " records were dropped",
                     r->path, r->burst_dropped);
        r->failing = FALSE;
        return;
    }
    r->loss_errno = err;
    if (!r->failing) {
        msg_error("write %s: %s; dropping records until it works again",
                  r->path, err == EBADF ? "file is not open" : g_strerror(err));
        r->failing = TRUE;
        r->burst_dropped = 0;
    }
    r->dropped++;
    r->burst_dropped++;
    if (r->tap)
        r->tap(r->tap_ctx, level, text, len, FALSE);
    r->unrecorded++;
}

/* hold_line - keep a formatted line for seg_record_flush (writing those held when full) */
static void hold_line(seg_record *r, time_t when, seg_record_level level,
                      const char *line, size_t n)
{
    /* "<time> <Level>: <text>\n": no ": " in the time, so this one ends the level */
    const char *sep = memmem(line, n, ": ", 2);
    size_t  at = sep ? (size_t) (sep + 2 - line) : 0;
    held_rec h = {.when = when, .level = level};

    if (r->held->len + n > HELD_MAX)
        (void) seg_record_flush(r);
    h.text = r->held->len + at;
    h.len = n - 1 - at;                 /* without the newline */
    h.end = r->held->len + n;
    g_string_append_len(r->held, line, (gssize) n);
    g_array_append_val(r->held_recs, h);
}

/*
 * seg_record_write_text - a preformatted message of len bytes (cleaned
 * here); while held, TRUE: seg_record_flush tells whether it was written
 */
gboolean seg_record_write_text(seg_record *r, time_t when, seg_record_level level,
                               const char *text, size_t len)
{
    char buf[SEG_RECORD_LINE_MAX + 64];
    size_t n;
    gboolean ok;

    if ((unsigned) level >= SEG_RECORD_NLEVELS)
        level = SEG_RECORD_INFO;
    n = seg_recfmt_line(when, levels[level].name, text, len, buf, sizeof(buf));
    if (r->syslog_fd >= 0)
        send_syslog(r, when, level, text, len);
    if (r->push)
        (void) seg_syslogpush_send(r->push, r->push_tag, when, levels[level].name,
                                   levels[level].prio, text, len);
    if (r->path == NULL) {
        r->written++;
        if (r->tap)
            r->tap(r->tap_ctx, level, text, len, TRUE);
        return TRUE;
    }
    if (r->held) {
        hold_line(r, when, level, buf, n);
        return TRUE;
    }
    if (r->unrecorded && r->fd >= 0)
        record_loss(r, when);           /* before the record, if it can be written */
    ok = r->fd >= 0 && write_lines(r->fd, buf, n, NULL);
    account(r, level, text, len, ok, r->fd < 0 ? EBADF : errno);
    return ok;
}

/*
 * seg_record_flush - write the held records with one write(2); FALSE
 * when any was lost (counted, logged and told to the tap like any loss)
 */
gboolean seg_record_flush(seg_record *r)
{
    size_t whole = 0;
    int err = EBADF;
    gboolean all = TRUE;

    if (r->held == NULL || r->held->len == 0)
        return TRUE;
    if (r->fd >= 0) {
        const held_rec *first = &g_array_index(r->held_recs, held_rec, 0);

        if (r->unrecorded)
            record_loss(r, first->when);
        (void) write_lines(r->fd, r->held->str, r->held->len, &whole);
        err = errno;
    }
    for (guint i = 0; i < r->held_recs->len; i++) {
        const held_rec *h = &g_array_index(r->held_recs, held_rec, i);
        gboolean ok = h->end <= whole;

        account(r, h->level, r->held->str + h->text, h->len, ok, err);
        all &= ok;
    }
    g_string_truncate(r->held, 0);
    g_array_set_size(r->held_recs, 0);
    return all;
}

/* seg_record_hold - hold the records for seg_record_flush (on), or write each at once */
void seg_record_hold(seg_record *r, gboolean on)
{
    if (!on && r->held) {
        (void) seg_record_flush(r);
        g_string_free(r->held, TRUE);
        g_array_free(r->held_recs, TRUE);
        r->held = NULL;
        r->held_recs = NULL;
    } else if (on && r->held == NULL) {
        r->held = g_string_sized_new(HELD_MAX);
        r->held_recs = g_array_new(FALSE, FALSE, sizeof(held_rec));
    }
}

/* seg_record_vwrite_at - one record stamped with a given time (va_list) */
gboolean seg_record_vwrite_at(seg_record *r, time_t when, seg_record_level level,
                              const char *fmt, va_list ap)
{
    char text[SEG_RECORD_LINE_MAX];
    int n = vsnprintf(text, sizeof(text), fmt, ap);

    if (n < 0)
        n = 0;
    return seg_record_write_text(r, when, level, text, MIN((size_t) n, sizeof(text) - 1));
}

/* seg_record_write_at - one record stamped with a given time */
gboolean seg_record_write_at(seg_record *r, time_t when, seg_record_level level,
                             const char *fmt, ...)
{
    va_list ap;
    gboolean ok;

    va_start(ap, fmt);
    ok = seg_record_vwrite_at(r, when, level, fmt, ap);
    va_end(ap);
    return ok;
}

/* seg_record_write - one record stamped with the clock's time */
gboolean seg_record_write(seg_record *r, seg_record_level level, const char *fmt, ...)
{
    va_list ap;
    gboolean ok;

    va_start(ap, fmt);
    ok = seg_record_vwrite_at(r, r->clock(r->clock_ctx), level, fmt, ap);
    va_end(ap);
    return ok;
}

/* seg_record_reopen - reopen by path (after logrotate); header if empty */
gboolean seg_record_reopen(seg_record *r, GError **error)
{
    int fd;

    if (r->path == NULL)
        return TRUE;                    /* no file */
    (void) seg_record_flush(r);         /* what was held goes where it was meant to */
    fd = open_file(r, error);
    if (fd < 0)
        return FALSE;                   /* keep writing to the old file */
    if (r->fd >= 0)
        close(r->fd);
    r->fd = fd;
    return TRUE;
}

/* seg_record_written - records written (or, without a file, pushed) */
guint64 seg_record_written(const seg_record *r)
{
    return r->written;
}

/* seg_record_field - a value fit for one field of a record ("unknown" when NULL or empty) */
const char *seg_record_field(const char *v, char *buf, size_t size, gboolean word)
{
    size_t n;

    if (v == NULL || *v == 0)
        return "unknown";
    if (size == 0)
        return "";
    n = strnlen(v, size - 1);
    buf[seg_recfmt_clean(buf, v, n, word ? SEG_RECFMT_WORD : 0)] = 0;
    return buf;
}

/* seg_record_dropped - records that could not be written */
guint64 seg_record_dropped(const seg_record *r)
{
    return r->dropped;
}

/* seg_record_path - the file name ("(no file)" without one) */
const char *seg_record_path(const seg_record *r)
{
    return r->path ? r->path : "(no file)";
}

/* seg_record_close - close the file (and the syslog socket) */
void seg_record_close(seg_record *r)
{
    if (r == NULL)
        return;
    seg_record_hold(r, FALSE);
    if (r->fd >= 0)
        close(r->fd);
    if (r->syslog_fd >= 0)
        close(r->syslog_fd);
    if (r->tap_destroy)
        r->tap_destroy(r->tap_ctx);
    g_free(r->push_tag);
    g_free(r->path);
    g_free(r);
}
