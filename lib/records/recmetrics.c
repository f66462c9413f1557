/*
 * recmetrics - the metrics of a record writer.
 *
 * The tap reads each record back with recparse (the parser the report
 * uses), so that the sessions counted are exactly the TLS records
 * written. Labels: service inbound_smtp, outbound_smtp or gui_https;
 * direction inbound or outbound; protocol the TLS version, "none" on a
 * failure; cipher_class aead (GCM, CCM, ChaCha20-Poly1305 and every TLS
 * 1.3 suite), cbc (the others), none on a failure; result success or
 * failure.
 */
#include <string.h>

#include "metrics.h"
#include "recmetrics.h"
#include "recparse.h"

typedef struct tap {
    char       *log;
    char       *written, *lost;     /* label strings */
} tap;

/* describe - the families, once */
static void describe(void)
{
    static gsize done;

    if (!g_once_init_enter(&done))
        return;
    seg_metrics_describe("segtls_tls_sessions_total", "counter",
                         "TLS outcomes written as records, by service, direction, protocol, cipher class and result");
    seg_metrics_describe("segtls_records_written_total", "counter", "Records written, by log");
    seg_metrics_describe("segtls_records_lost_total", "counter",
                         "Records that could not be written, by log and reason");
    seg_metrics_describe("segtls_syslog_records_total", "counter",
                         "Records pushed by syslog, by destination and result (sent, dropped)");
    seg_metrics_describe("segtls_syslog_queued", "gauge",
                         "Records waiting for the syslog destination");
    g_once_init_leave(&done, 1);
}

/* seg_recmetrics_cipher_class - "aead", "cbc" or "none" */
const char *seg_recmetrics_cipher_class(const char *cipher, size_t len)
{
    static const char *const aead[] = {"GCM", "CCM", "CHACHA20", "TLS_"};

    if (len == 0)
        return "none";
    for (gsize i = 0; i < G_N_ELEMENTS(aead); i++)
        if (g_strstr_len(cipher, (gssize) len, aead[i]))
            return "aead";
    return "cbc";
}

/* session - one segtls_tls_sessions_total increment */
static void session(const char *service, const char *dir, const seg_rec *rec, gboolean ok)
{
    char    proto[32] = "none";
    const char *cls = "none";
    g_autofree char *labels = NULL;

    if (ok) {
        g_snprintf(proto, sizeof(proto), "%.*s", (int) MIN(rec->a.n, 31), rec->a.p);
        cls = seg_recmetrics_cipher_class(rec->b.p, rec->b.n);
    }
    labels = seg_metrics_labels("service", service, "direction", dir, "protocol", proto,
                                "cipher_class", cls, "result", ok ? "success" : "failure", NULL);
    seg_metrics_add("segtls_tls_sessions_total", labels, 1);
}

/* on_record - the record writer's tap */
static void on_record(void *ctx, seg_record_level level, const char *text, size_t len, gboolean ok)
{
    tap    *t = ctx;
    seg_rec rec;

    seg_metrics_add(ok ? "segtls_records_written_total" : "segtls_records_lost_total",
                    ok ? t->written : t->lost, 1);
    if (!seg_recparse_msg(text, len, &rec))
        return;
    switch (rec.kind) {
    case SEG_REC_TLS_SUCCESS:
        session(rec.dcid ? "outbound_smtp" : "inbound_smtp", rec.dcid ? "outbound" : "inbound",
                &rec, TRUE);
        break;
    case SEG_REC_TLS_FAILED:
    case SEG_REC_TLS_DEFERRING:
    case SEG_REC_TLS_REQUIRED:
    case SEG_REC_NO_STARTTLS:
        session(rec.dcid ? "outbound_smtp" : "inbound_smtp", rec.dcid ? "outbound" : "inbound",
                &rec, FALSE);
        break;
    case SEG_REC_GUI_SUCCESS:
        session("gui_https", "inbound", &rec, TRUE);
        break;
    case SEG_REC_GUI_FAILED:
        session("gui_https", "inbound", &rec, FALSE);
        break;
    default:
        break;
    }
}

/* tap_free - a tap's labels, when its record writer closes */
static void tap_free(gpointer data)
{
    tap    *t = data;

    g_free(t->log);
    g_free(t->written);
    g_free(t->lost);
    g_free(t);
}

/* seg_recmetrics_attach - count the records of r as log */
void seg_recmetrics_attach(seg_record *r, const char *log)
{
    tap    *t = g_new0(tap, 1);         /* lives as long as the record writer */

    describe();
    t->log = g_strdup(log);
    t->written = seg_metrics_labels("log", log, NULL);
    t->lost = seg_metrics_labels("log", log, "reason", "write", NULL);
    seg_metrics_set("segtls_records_written_total", t->written, 0);
    seg_metrics_set("segtls_records_lost_total", t->lost, 0);
    seg_record_set_tap(r, on_record, t, tap_free);
}

/* collect_push - a syslog push's counters, before each exposition */
static void collect_push(void *ctx)
{
    seg_syslogpush *p = ctx;
    seg_syslogpush_stats st;
    g_autofree char *sent = seg_metrics_labels("destination", seg_syslogpush_dest(p), "result", "sent", NULL);
    g_autofree char *dropped = seg_metrics_labels("destination", seg_syslogpush_dest(p), "result", "dropped", NULL);
    g_autofree char *queued = seg_metrics_labels("destination", seg_syslogpush_dest(p), NULL);

    seg_syslogpush_get_stats(p, &st);
    seg_metrics_set("segtls_syslog_records_total", sent, (double) st.sent);
    seg_metrics_set("segtls_syslog_records_total", dropped, (double) st.dropped);
    seg_metrics_set("segtls_syslog_queued", queued, (double) st.queued);
}

/* seg_recmetrics_push - export a syslog push's counters */
void seg_recmetrics_push(seg_syslogpush *p)
{
    describe();
    seg_metrics_collector(collect_push, p);
}
