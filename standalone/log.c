/*
 * log - records of segtls-standalone: mail_logs, gui_logs and IDs.
 *
 * A thin layer over lib/records/record.h and lib/records/ids.h: the protocol modules
 * say sa_mail_info("ICID %lu close", icid) and this module stamps and
 * writes the line, and keeps the last SA_RECENT records for the GUI
 * status page. IDs come from the persistent counters under --state-dir.
 */
#include <string.h>
#include <time.h>

#include "guirec.h"
#include "ids.h"
#include "msg.h"
#include "recfmt.h"
#include "recmetrics.h"
#include "record.h"
#include "standalone.h"

#define SA_RECENT   20

static seg_record *mail_log;
static seg_record *gui_log;
static seg_ids *ids;
static seg_syslogpush *push;            /* --syslog */
static GPtrArray *recent;               /* formatted lines, oldest first */

/* sa_log_open - open both logs and the ID counters */
gboolean sa_log_open(GError **error)
{
    recent = g_ptr_array_new_with_free_func(g_free);
    if ((ids = seg_ids_open(sa.opt.state_dir, error)) == NULL)
        return FALSE;
    if (sa.opt.syslog
        && ((push = seg_syslogpush_new(sa.opt.syslog, sa.opt.syslog_ca,
                                       (guint) sa.opt.syslog_queue, error)) == NULL
            || (sa.opt.syslog_facility
                && !seg_syslogpush_set_facility(push, sa.opt.syslog_facility, error))))
        return FALSE;
    if ((mail_log = seg_record_open(sa.opt.no_log_files ? NULL : sa.opt.mail_log, error)) == NULL)
        return FALSE;
    if ((gui_log = seg_record_open(sa.opt.no_log_files ? NULL : sa.opt.gui_log, error)) == NULL)
        return FALSE;
    if (push) {
        seg_record_set_push(mail_log, push, "mail_logs");
        seg_record_set_push(gui_log, push, "gui_logs");
        seg_recmetrics_push(push);
    }
    seg_recmetrics_attach(mail_log, "mail_logs");
    seg_recmetrics_attach(gui_log, "gui_logs");
    return TRUE;
}

/* sa_log_reopen - after logrotate (SIGHUP) */
void sa_log_reopen(void)
{
    g_autoptr(GError) err = NULL;

    if (!seg_record_reopen(mail_log, &err))
        msg_warn("%s", err->message);
    g_clear_error(&err);
    if (!seg_record_reopen(gui_log, &err))
        msg_warn("%s", err->message);
}

/* sa_log_close - at exit */
void sa_log_close(void)
{
    g_clear_pointer(&mail_log, seg_record_close);
    g_clear_pointer(&gui_log, seg_record_close);
    if (push) {
        seg_syslogpush_stats st;

        seg_syslogpush_get_stats(push, &st);
        if (st.dropped)
            msg_warn("syslog push: %" G_GUINT64_FORMAT " records dropped", st.dropped);
        seg_syslogpush_free(push, 2000);
        push = NULL;
    }
    g_clear_pointer(&ids, seg_ids_close);
    g_clear_pointer(&recent, g_ptr_array_unref);
}

/* sa_id_next - the next ICID, DCID or MID */
guint64 sa_id_next(sa_id_kind kind)
{
    static const seg_id_kind map[] = {
        [SA_ID_ICID] = SEG_ID_ICID,
        [SA_ID_DCID] = SEG_ID_DCID,
        [SA_ID_MID] = SEG_ID_MID,
    };
    g_autoptr(GError) err = NULL;
    guint64 id = seg_ids_next(ids, map[kind], &err);

    if (id == 0)
        msg_fatal("cannot reserve an ID: %s", err->message);
    return id;
}

/* remember - keep a line for the status page */
static void remember(time_t when, seg_record_level level, const char *text)
{
    char    buf[SEG_RECFMT_LINE_MAX + 64];
    size_t  n = seg_recfmt_line(when, seg_record_level_name(level), text,
                                strlen(text), buf, sizeof(buf));

    while (n > 0 && buf[n - 1] == '\n')
        n--;
    g_ptr_array_add(recent, g_strndup(buf, n));
    if (recent->len > SA_RECENT)
        g_ptr_array_remove_index(recent, 0);
}

/* write_record - one record into one log */
static void write_record(seg_record *r, seg_record_level level, const char *text)
{
    time_t  now = time(NULL);

    (void) seg_record_write_text(r, now, level, text, strlen(text));
    remember(now, level, text);
}

/* sa_mail_info - an Info record in mail_logs */
void sa_mail_info(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    write_record(mail_log, SEG_RECORD_INFO, text);
}

/* sa_gui_record - an Info or Warning record in gui_logs */
void sa_gui_record(gboolean warning, const char *fmt, ...)
{
    va_list ap;
    g_autofree char *text = NULL;

    va_start(ap, fmt);
    text = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    write_record(gui_log, warning ? SEG_RECORD_WARNING : SEG_RECORD_INFO, text);
}

/*
 * sa_gui_request - the gateway's request line of one answer of the status
 * pages: "req:IP user:- id:- STATUS METHOD PATH HTTP/1.1 -" (no sessions
 * here; method and path NULL when the request could not be read)
 */
void sa_gui_request(const char *ip, int status, const char *method, const char *path)
{
    char    buf[SEG_GUIREC_MAX];
    seg_guirec rec = {.kind = SEG_GUIREC_REQUEST, .ip = ip, .status = status,
                      .method = method, .path = path};

    if (seg_guirec_format(&rec, buf, sizeof(buf)) > 0)
        write_record(gui_log, SEG_RECORD_INFO, buf);
}

/* sa_log_recent - the last records, oldest first */
GPtrArray *sa_log_recent(void)
{
    return recent;
}
