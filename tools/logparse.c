/*
 * segtls-logparse - turn Postfix logs into gateway records, offline.
 *
 * Reads Postfix log files (plain or gzip; RFC 3164, RFC 3339 or
 * maillog_file lines) or stdin and writes the SPEC §6 records, stamped
 * with the time of the log line that caused them, to stdout or (with -o)
 * through the record writer, which starts a new file with its header.
 * IDs start at 1 in memory unless --state-dir asks for the persistent
 * counters the milter uses. Only Postfix's programs are followed: those
 * under the syslog names given (--syslog-name, or read from a Postfix
 * configuration with --postfix-config; default "postfix").
 * Files are read by lib/records/logread.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "destctl.h"
#include "ids.h"
#include "keyfile.h"
#include "logread.h"
#include "msg.h"
#include "pflog.h"
#include "recfmt.h"
#include "record.h"
#include "quote.h"

#define OUT_SIZE        (256 * 1024)
#define OUT_LINE        (SEG_RECORD_LINE_MAX + 64)      /* room for one line */

typedef struct out_ctx {
    seg_record *rec;            /* -o FILE, or NULL: stdout */
    int         errnum;         /* a write to stdout failed (errno) */
    size_t      used;           /* bytes in buf */
    char       *buf;            /* OUT_SIZE bytes of lines for stdout */
    /* "<time> <Level>: " of the last record, by time and level */
    time_t      pre_when;
    int         pre_level;      /* -1: none */
    size_t      pre_len;
    char        pre[SEG_RECFMT_TIME_LEN + 32];
} out_ctx;

/* out_flush - write the buffered lines to stdout */
static void out_flush(out_ctx *o)
{
    size_t done = 0;
    ssize_t n;

    while (done < o->used) {
        if ((n = write(1, o->buf + done, o->used - done)) < 0) {
            if (errno == EINTR)
                continue;
            o->errnum = errno;
            break;
        }
        done += n;
    }
    o->used = 0;
}

/* set_prefix - "<time> <Level>: " of a time and level, as recfmt writes it */
static G_GNUC_NO_INLINE gboolean set_prefix(out_ctx *o, time_t when, seg_record_level level)
{
    const char *name = seg_record_level_name(level);
    size_t n = seg_recfmt_time(when, o->pre, SEG_RECFMT_TIME_LEN), nl = strlen(name);

    o->pre_level = -1;
    if (n == 0 || n + nl + 3 > sizeof(o->pre))
        return FALSE;
    o->pre[n++] = ' ';
    memcpy(o->pre + n, name, nl);
    n += nl;
    o->pre[n++] = ':';
    o->pre[n++] = ' ';
    o->pre_len = n;
    o->pre_when = when;
    o->pre_level = (int) level;
    return TRUE;
}

/* emit_record - the parser's callback: a line into the stdout buffer */
static void emit_record(void *ctx, time_t when, seg_record_level level,
                        const char *text, size_t len)
{
    out_ctx *o = ctx;
    char *d;

    if (o->rec) {
        seg_record_write_text(o->rec, when, level, text, len);
        return;
    }
    if (OUT_SIZE - o->used < OUT_LINE)
        out_flush(o);
    if (G_UNLIKELY(o->pre_when != when || o->pre_level != (int) level)
        && !set_prefix(o, when, level)) {
        o->used += seg_recfmt_line(when, seg_record_level_name(level), text, len,
                                   o->buf + o->used, OUT_LINE);
        return;
    }
    /* the same line as seg_recfmt_line(..., OUT_LINE) would write */
    if (len > OUT_LINE - o->pre_len - 2)
        len = OUT_LINE - o->pre_len - 2;
    d = o->buf + o->used;
    memcpy(d, o->pre, sizeof(o->pre));  /* all of it: a constant size, the text follows */
    memcpy(d + o->pre_len, text, len);
    d[o->pre_len + len] = '\n';
    o->used += o->pre_len + len + 1;
}

/* feed_line - the reader's callback: one Postfix log line to the parser */
static void feed_line(void *ctx, const char *line, size_t len)
{
    seg_pflog_line(ctx, line, len);
}

/* word_ok - an option value that goes into records: one short word */
static gboolean word_ok(const char *opt, const char *v)
{
    if (v == NULL)
        return TRUE;
    for (const char *c = v; *c; c++) {
        if (!g_ascii_isgraph(*c) || *c == '(' || *c == ')') {
            g_autofree char *q = seg_quote_value(v);

            fprintf(stderr, "segtls-logparse: %s %s: no spaces, control characters or ()\n", opt, q);
            return FALSE;
        }
    }
    if (*v == 0 || strlen(v) > 64) {
        fprintf(stderr, "segtls-logparse: %s: must be 1-64 characters\n", opt);
        return FALSE;
    }
    return TRUE;
}

int main(int argc, char **argv)
{
    g_autofree char *output = NULL, *state_dir = NULL, *state_dir2 = NULL;
    g_autofree char *ifname = NULL, *local_addr = NULL, *pf_config = NULL;
    gboolean stats = FALSE;
    gint year = 0;
    g_auto(GStrv) files = NULL, names = NULL, conf_names = NULL;
    g_autofree char *settings_path = NULL;
    g_autoptr(seg_settings) settings = NULL;
    GOptionEntry entries[] = {
        {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
         "Append records to FILE (header when new) instead of stdout", "FILE"},
        {"stats", 0, 0, G_OPTION_ARG_NONE, &stats,
         "Print lines read, records written and lines skipped to stderr", NULL},
        {"state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
         "Take IDs from the persistent counters in DIR (default: in memory from 1)", "DIR"},
        {"ids-from-state", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_FILENAME, &state_dir2,
         "Same as --state-dir", "DIR"},
        {"year", 0, 0, G_OPTION_ARG_INT, &year,
         "Year of RFC 3164 times, which have none (default: this year)", "YEAR"},
        {"interface", 0, 0, G_OPTION_ARG_STRING, &ifname,
         "Interface name in New SMTP ICID records (default: syslog name)", "NAME"},
        {"local-address", 0, 0, G_OPTION_ARG_STRING, &local_addr,
         "Local address in New SMTP ICID/DCID records (default: unknown)", "ADDR"},
        {"syslog-name", 0, 0, G_OPTION_ARG_STRING_ARRAY, &names,
         "Follow programs NAME/... (repeat for more; default: postfix)", "NAME"},
        {"postfix-config", 0, 0, G_OPTION_ARG_FILENAME, &pf_config,
         "Follow the syslog names of the Postfix configuration in DIR (postconf)", "DIR"},
        {"config", 0, 0, G_OPTION_ARG_FILENAME, &settings_path,
         "segtls settings whose Destination Controls name the entry of each "
         "delivery (\"DCID n destination ENTRY TLS MODE\")", "FILE"},
        {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "[FILE...]"},
        G_OPTION_ENTRY_NULL
    };
    g_autoptr(GOptionContext) oc = g_option_context_new("- turn Postfix logs into gateway records");
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_ids) ids = NULL;
    g_autoptr(seg_pflog) p = NULL;
    out_ctx out = {.pre_level = -1};
    seg_pflog_stats st;
    gboolean ok = TRUE;

    msg_init(argv[0]);
    g_option_context_add_main_entries(oc, entries, NULL);
    g_option_context_set_description(oc,
        "FILE may be plain or gzip-compressed; without FILE (or with -) stdin is read.\n"
        "Records carry the time of the log line. See segtls-logparse(1).");
    if (!g_option_context_parse(oc, &argc, &argv, &err)) {
        fprintf(stderr, "segtls-logparse: %s\nTry --help.\n", err->message);
        return 2;
    }
    if (year != 0 && (year < 1970 || year > 9999)) {
        fprintf(stderr, "segtls-logparse: --year %d: must be 1970..9999\n", year);
        return 2;
    }
    if (state_dir == NULL)
        state_dir = g_steal_pointer(&state_dir2);
    if (!word_ok("--interface", ifname) || !word_ok("--local-address", local_addr))
        return 2;
    if (names && pf_config) {
        fprintf(stderr, "segtls-logparse: --syslog-name and --postfix-config: give one of them\n");
        return 2;
    }
    if (pf_config && (conf_names = seg_pflog_postfix_names(pf_config, &err)) == NULL) {
        fprintf(stderr, "segtls-logparse: --postfix-config %s: %s\n", pf_config, err->message);
        return 2;
    }
    if (!seg_pflog_set_syslog_names(NULL, (const char *const *) (conf_names ? conf_names : names), &err)) {
        fprintf(stderr, "segtls-logparse: --syslog-name: %s\n", err->message);
        return 2;
    }
    if (settings_path != NULL) {
        g_autofree char *text = NULL;
        gsize   len;

        if (!g_file_get_contents(settings_path, &text, &len, &err)
            || (settings = seg_settings_from_keyfile(text, len, settings_path, &err)) == NULL) {
            fprintf(stderr, "segtls-logparse: --config: %s\n", err->message);
            return 2;
        }
    }
    if ((ids = seg_ids_open(state_dir, &err)) == NULL)
        msg_fatal("%s", err->message);
    if (output && (out.rec = seg_record_open(output, &err)) == NULL)
        msg_fatal("%s", err->message);
    if (output == NULL)
        out.buf = g_malloc(OUT_SIZE);
    p = seg_pflog_new(ids, emit_record, &out);
    seg_pflog_set_syslog_names(p, (const char *const *) (conf_names ? conf_names : names), NULL);
    if (year)
        seg_pflog_set_year(p, year);
    if (pf_config && !seg_pflog_postfix_interfaces(p, pf_config, &err)) {
        fprintf(stderr, "segtls-logparse: --postfix-config %s: %s\n", pf_config, err->message);
        return 2;
    }
    if (ifname || local_addr)
        seg_pflog_set_interface(p, ifname, local_addr);
    if (settings != NULL)
        seg_pflog_set_destinations(p, seg_destctl_dest_lookup, settings);

    if (files == NULL || files[0] == NULL) {
        ok = seg_logread_fd("stdin", dup(0), feed_line, p);
    } else {
        for (char **f = files; *f; f++)
            ok &= seg_logread_path(*f, feed_line, p);
    }
    seg_pflog_flush(p);
    seg_pflog_get_stats(p, &st);
    if (out.buf)
        out_flush(&out);
    if (out.errnum) {
        msg_error("write stdout: %s", g_strerror(out.errnum));
        ok = FALSE;
    }
    if (out.rec && seg_record_dropped(out.rec) > 0)
        ok = FALSE;
    if (stats)
        fprintf(stderr, "lines read: %" G_GUINT64_FORMAT "\nrecords written: %" G_GUINT64_FORMAT
                "\nlines skipped: %" G_GUINT64_FORMAT "\n", st.lines,
                st.records - (out.rec ? seg_record_dropped(out.rec) : 0), st.skipped);
    seg_record_close(out.rec);
    g_free(out.buf);
    return ok ? 0 : 1;
}
