/*
 * record - unit tests of the gateway record writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "record.h"

#define T0 ((time_t) 1694174400)        /* Fri Sep  8 12:00:00 2023 UTC */

/* fixed_clock - the injected clock: *ctx */
static time_t fixed_clock(void *ctx)
{
    return *(time_t *) ctx;
}

/* set_tz - switch the local time zone */
static void set_tz(const char *tz)
{
    g_setenv("TZ", tz, TRUE);
    tzset();
}

/* slurp - a file's lines */
static char **slurp(const char *path)
{
    g_autofree char *data = NULL;

    g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
    return g_strsplit(data, "\n", -1);
}

/* has_only_ascii - no byte above 0x7e, no control byte */
static gboolean has_only_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char) *s < 0x20 || (unsigned char) *s > 0x7e)
            return FALSE;
    return TRUE;
}

/* test_pinned_dates - exact bytes on the days and zones that went wrong */
static void test_pinned_dates(void)
{
    static const struct {
        const char *tz;
        time_t      when;
        const char *full;
        const char *syslog;
    } cases[] = {
        /* a one-digit day: an ASCII space, never GLib's U+2007 */
        {"UTC", 1796497478, "Sat Dec  5 19:04:38 2026", "Dec  5 19:04:38"},
        {"Europe/Berlin", 1796497478, "Sat Dec  5 20:04:38 2026", "Dec  5 20:04:38"},
        {"UTC", 1796497478 + 5 * 86400, "Thu Dec 10 19:04:38 2026", "Dec 10 19:04:38"},
        /* month and year boundary */
        {"UTC", 1798761599, "Thu Dec 31 23:59:59 2026", "Dec 31 23:59:59"},
        {"UTC", 1798761600, "Fri Jan  1 00:00:00 2027", "Jan  1 00:00:00"},
        {"Europe/Berlin", 1798757999, "Thu Dec 31 23:59:59 2026", "Dec 31 23:59:59"},
        {"Europe/Berlin", 1798758000, "Fri Jan  1 00:00:00 2027", "Jan  1 00:00:00"},
        /* DST starts in Berlin on 2026-03-29: 01:59:59 CET, then 03:00:00 CEST */
        {"Europe/Berlin", 1774745999, "Sun Mar 29 01:59:59 2026", "Mar 29 01:59:59"},
        {"Europe/Berlin", 1774746000, "Sun Mar 29 03:00:00 2026", "Mar 29 03:00:00"},
        /* and ends on 2026-10-25: 02:59:59 CEST, then 02:00:00 CET again */
        {"Europe/Berlin", 1792889999, "Sun Oct 25 02:59:59 2026", "Oct 25 02:59:59"},
        {"Europe/Berlin", 1792890000, "Sun Oct 25 02:00:00 2026", "Oct 25 02:00:00"},
    };
    char buf[SEG_RECFMT_TIME_LEN];
    size_t i;

    for (i = 0; i < G_N_ELEMENTS(cases); i++) {
        set_tz(cases[i].tz);
        /* twice: the second comes from the per-minute cache */
        g_assert_cmpuint(seg_recfmt_time(cases[i].when, buf, sizeof(buf)), ==, strlen(cases[i].full));
        g_assert_cmpstr(buf, ==, cases[i].full);
        g_assert_cmpuint(seg_recfmt_time(cases[i].when, buf, sizeof(buf)), ==, strlen(cases[i].full));
        g_assert_cmpstr(buf, ==, cases[i].full);
        g_assert_true(has_only_ascii(buf));
        g_assert_cmpuint(seg_recfmt_syslog_time(cases[i].when, buf, sizeof(buf)), ==, strlen(cases[i].syslog));
        g_assert_cmpstr(buf, ==, cases[i].syslog);
    }
    /* every second across the DST change, through the cache: ASCII, 24 bytes */
    set_tz("Europe/Berlin");
    for (i = 0; i < 7200; i++) {
        g_assert_cmpuint(seg_recfmt_time(1774742400 + (time_t) i, buf, sizeof(buf)), ==, 24);
        g_assert_true(has_only_ascii(buf));
    }
    set_tz("UTC");
}

/* test_format_time - "Www Mmm dd hh:mm:ss yyyy", day space-padded */
static void test_format_time(void)
{
    char buf[SEG_RECFMT_TIME_LEN], line[128];

    set_tz("UTC");
    g_assert_cmpuint(seg_recfmt_time(T0, buf, sizeof(buf)), ==, 24);
    g_assert_cmpstr(buf, ==, "Fri Sep  8 12:00:00 2023");
    g_assert_cmpuint(seg_recfmt_time(T0 + 86400 * 20, buf, sizeof(buf)), ==, 24);
    g_assert_cmpstr(buf, ==, "Thu Sep 28 12:00:00 2023");
    set_tz("XXX-2");
    seg_recfmt_time(T0, buf, sizeof(buf));
    g_assert_cmpstr(buf, ==, "Fri Sep  8 14:00:00 2023");
    set_tz("UTC");
    seg_recfmt_line(T0, "Warning", "x y", 3, line, sizeof(line));
    g_assert_cmpstr(line, ==, "Fri Sep  8 12:00:00 2023 Warning: x y\n");
    /* too small: nothing, never an overflow */
    g_assert_cmpuint(seg_recfmt_time(T0, buf, 10), ==, 0);
    g_assert_cmpuint(seg_recfmt_line(T0, "Info", "x", 1, line, 20), ==, 0);
}

/* test_header - a new file starts with the three header lines */
static void test_header(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    char host[SEG_RECFMT_HOST_LEN];
    g_autofree char *version = NULL;
    g_auto(GStrv) lines = NULL;
    g_autoptr(GError) err = NULL;
    time_t now = T0;
    seg_record *r;

    seg_recfmt_host_id(host, sizeof(host));
    set_tz("XXX-2");
    r = seg_record_open_clock(path, fixed_clock, &now, &err);
    g_assert_no_error(err);
    now += 5;
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "ICID %d TLS success protocol %s cipher %s",
                                   1020089, "TLSv1.3", "TLS_AES_256_GCM_SHA384"));
    g_assert_true(seg_record_write_at(r, T0 + 3600, SEG_RECORD_WARNING, "SSL error with client %s:%d - (%lu, '%s')",
                                      "127.0.0.1", 4431, 167772418ul, "error:0A000102:SSL routines::unsupported protocol"));
    seg_record_close(r);
    lines = slurp(path);
    version = g_strdup_printf("Fri Sep  8 14:00:00 2023 Info: Version: %s SN: %s", SEGTLS_VERSION, host);
    g_assert_cmpuint(g_strv_length(lines), ==, 6);
    g_assert_cmpstr(lines[0], ==, "Fri Sep  8 14:00:00 2023 Info: Begin Logfile");
    g_assert_cmpstr(lines[1], ==, version);
    g_assert_cmpstr(lines[2], ==, "Fri Sep  8 14:00:00 2023 Info: Time offset from UTC: 7200 seconds");
    g_assert_cmpstr(lines[3], ==, "Fri Sep  8 14:00:05 2023 Info: ICID 1020089 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384");
    g_assert_cmpstr(lines[4], ==, "Fri Sep  8 15:00:00 2023 Warning: SSL error with client 127.0.0.1:4431 - (167772418, 'error:0A000102:SSL routines::unsupported protocol')");
    g_assert_cmpstr(lines[5], ==, "");

    /* an existing file gets no second header */
    r = seg_record_open_clock(path, fixed_clock, &now, &err);
    g_assert_no_error(err);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "again"));
    seg_record_close(r);
    g_strfreev(lines);
    lines = slurp(path);
    g_assert_cmpuint(g_strv_length(lines), ==, 7);
    g_assert_cmpstr(lines[5], ==, "Fri Sep  8 14:00:05 2023 Info: again");
    set_tz("UTC");
    g_unlink(path);
    g_rmdir(dir);
}

/* test_host_id - machine-id (12 hex, upper case) or the host name */
static void test_host_id(void)
{
    char id[SEG_RECFMT_HOST_LEN];
    g_autofree char *mid = NULL;

    g_assert_cmpuint(seg_recfmt_host_id(id, sizeof(id)), >, 0);

    if (g_file_get_contents("/etc/machine-id", &mid, NULL, NULL)) {
        g_autofree char *want = g_ascii_strup(mid, 12);

        g_assert_cmpstr(id, ==, want);
        g_assert_cmpuint(strlen(id), ==, 12);
    } else {
        g_assert_cmpstr(id, ==, g_get_host_name());
    }
}

/* test_reopen - after logrotate's rename the new file gets its header */
static void test_reopen(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    g_autofree char *old = g_build_filename(dir, "mail_logs.1", NULL);
    g_auto(GStrv) a = NULL, b = NULL;
    g_autoptr(GError) err = NULL;
    time_t now = T0;
    seg_record *r = seg_record_open_clock(path, fixed_clock, &now, &err);

    g_assert_no_error(err);
    seg_record_write(r, SEG_RECORD_INFO, "one");
    g_assert_cmpint(g_rename(path, old), ==, 0);
    seg_record_write(r, SEG_RECORD_INFO, "two");     /* still the old file */
    now += 60;
    g_assert_true(seg_record_reopen(r, &err));
    g_assert_no_error(err);
    seg_record_write(r, SEG_RECORD_INFO, "three");
    seg_record_close(r);
    a = slurp(old);
    b = slurp(path);
    g_assert_cmpuint(g_strv_length(a), ==, 6);
    g_assert_cmpstr(a[3], ==, "Fri Sep  8 12:00:00 2023 Info: one");
    g_assert_cmpstr(a[4], ==, "Fri Sep  8 12:00:00 2023 Info: two");
    g_assert_cmpuint(g_strv_length(b), ==, 5);
    g_assert_cmpstr(b[0], ==, "Fri Sep  8 12:01:00 2023 Info: Begin Logfile");
    g_assert_cmpstr(b[3], ==, "Fri Sep  8 12:01:00 2023 Info: three");
    g_unlink(path);
    g_unlink(old);
    g_rmdir(dir);
}

/* test_errors - a failing write is counted and returned, never fatal */
static void test_errors(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    g_autofree char *bad = g_build_filename(dir, "no/such/dir", NULL);
    g_autoptr(GError) err = NULL;
    struct rlimit old, lim;
    seg_record *r;
    struct stat st;

    g_assert_null(seg_record_open(bad, &err));
    g_assert_error(err, g_quark_from_static_string("segtls-error-quark"), 2);
    g_assert_nonnull(strstr(err->message, "No such file or directory"));
    g_clear_error(&err);
    g_assert_null(seg_record_open(dir, &err));          /* a directory */
    g_assert_nonnull(err);
    g_clear_error(&err);

    r = seg_record_open(path, &err);
    g_assert_no_error(err);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    /* a file size limit makes write(2) fail with EFBIG, like a full disk */
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = st.st_size;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
    for (int i = 0; i < 5; i++)
        g_assert_false(seg_record_write(r, SEG_RECORD_INFO, "lost %d", i));
    g_assert_cmpuint(seg_record_dropped(r), ==, 5);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "back"));
    g_assert_cmpuint(seg_record_dropped(r), ==, 5);
    seg_record_close(r);
    g_unlink(path);
    g_rmdir(dir);
}

/*
 * The writer must never truncate its file (issue 13 item 11): this test
 * binary is linked with -Wl,--wrap=ftruncate (t/module.mk). When the
 * writer calls ftruncate, another writer appends a line first, as a
 * concurrent process could between the fstat() and the ftruncate() the
 * writer used to make.
 */
static const char *race_path;           /* the file the racing writer appends to */
static int ftruncate_calls;
int __real_ftruncate(int fd, off_t len);
int __wrap_ftruncate(int fd, off_t len);

/* __wrap_ftruncate - another writer appends, then the real ftruncate */
int __wrap_ftruncate(int fd, off_t len)
{
    struct rlimit lim = {RLIM_INFINITY, RLIM_INFINITY};
    int other;

    ftruncate_calls++;
    if (race_path && (other = open(race_path, O_WRONLY | O_APPEND)) >= 0) {
        setrlimit(RLIMIT_FSIZE, &lim);
        g_assert_cmpint(write(other, "Fri Sep  8 12:00:00 2023 Info: racing writer\n", 45), ==, 45);
        close(other);
    }
    return __real_ftruncate(fd, len);
}

/* test_short_write - a full disk cuts a record: marked in place, never truncated, loss recorded */
static void test_short_write(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    g_autofree char *loss = NULL;
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) lines = NULL;
    time_t now = T0;
    struct rlimit old, lim;
    struct stat st;
    seg_record *r;
    int other;

    set_tz("UTC");
    r = seg_record_open_clock(path, fixed_clock, &now, &err);
    g_assert_no_error(err);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "one"));
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    /* room for 40 more bytes: the next record is written in part */
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = st.st_size + 40;
    race_path = path;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
    g_assert_false(seg_record_write(r, SEG_RECORD_INFO, "MID 7 ICID 3 RID 0 To: <someone@example.net>"));
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
    race_path = NULL;
    g_assert_cmpint(ftruncate_calls, ==, 0);
    /* another writer appends: its line must be a line of its own */
    other = open(path, O_WRONLY | O_APPEND);
    g_assert_cmpint(other, >=, 0);
    g_assert_cmpint(write(other, "Fri Sep  8 12:00:00 2023 Info: other writer\n", 44), ==, 44);
    close(other);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "after"));
    g_assert_cmpuint(seg_record_dropped(r), ==, 1);
    seg_record_close(r);
    lines = slurp(path);
    loss = g_strdup_printf("Fri Sep  8 12:00:00 2023 Warning: 1 records lost by %s[%ld]: "
                           "No space left on device", g_get_prgname(), (long) getpid());
    g_assert_cmpuint(g_strv_length(lines), ==, 9);
    g_assert_cmpstr(lines[3], ==, "Fri Sep  8 12:00:00 2023 Info: one");
    /* 40 bytes written, the last 7 of them overwritten by the mark */
    g_assert_cmpstr(lines[4], ==, "Fri Sep  8 12:00:00 2023 Info: MI [cut]");
    g_assert_cmpstr(lines[5], ==, "Fri Sep  8 12:00:00 2023 Info: other writer");
    g_assert_cmpstr(lines[6], ==, loss);
    g_assert_cmpstr(lines[7], ==, "Fri Sep  8 12:00:00 2023 Info: after");
    g_assert_cmpstr(lines[8], ==, "");
    g_unlink(path);
    g_rmdir(dir);
}

/* tap_log - a tap that keeps "ok|lost:text" of each record it is told of */
static void tap_log(void *ctx, seg_record_level level, const char *text, size_t len, gboolean ok)
{
    g_ptr_array_add(ctx, g_strdup_printf("%s:%.*s", ok ? "ok" : "lost", (int) len, text));
}

/* held_cut - three held records; a full disk leaves room for lim more bytes; the file's lines */
static char **held_cut(const char *path, off_t room, gboolean *flushed, guint64 *dropped,
                       GPtrArray *seen)
{
    g_autoptr(GError) err = NULL;
    time_t now = T0;
    struct rlimit old, lim;
    struct stat st;
    seg_record *r = seg_record_open_clock(path, fixed_clock, &now, &err);

    g_assert_no_error(err);
    seg_record_set_tap(r, tap_log, seen, NULL);
    seg_record_hold(r, TRUE);
    g_assert_cmpint(g_stat(path, &st), ==, 0);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "first"));
    g_assert_true(seg_record_write(r, SEG_RECORD_WARNING, "second"));
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "third"));
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = st.st_size + room;
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &lim), ==, 0);
    *flushed = seg_record_flush(r);
    g_assert_cmpint(setrlimit(RLIMIT_FSIZE, &old), ==, 0);
    *dropped = seg_record_dropped(r);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "after"));
    seg_record_close(r);                /* writes what it holds */
    return slurp(path);
}

/* test_held - held records: one write at flush, in order, counted; a full disk loses only what it cut */
static void test_held(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    g_autofree char *loss = NULL;
    g_autoptr(GPtrArray) seen = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) lines = NULL;
    time_t now = T0;
    guint64 dropped;
    gboolean flushed;
    seg_record *r;

    set_tz("UTC");
    /* nothing reaches the file before the flush; then all, in order */
    r = seg_record_open_clock(path, fixed_clock, &now, &err);
    g_assert_no_error(err);
    seg_record_set_tap(r, tap_log, seen, NULL);
    seg_record_hold(r, TRUE);
    seg_record_write(r, SEG_RECORD_INFO, "one");
    seg_record_write(r, SEG_RECORD_INFO, "two: \x1b[31mred");
    lines = slurp(path);
    g_assert_cmpuint(g_strv_length(lines), ==, 4);      /* the header */
    g_assert_cmpuint(seen->len, ==, 0);
    g_assert_cmpuint(seg_record_written(r), ==, 0);
    g_assert_true(seg_record_flush(r));
    g_assert_true(seg_record_flush(r));                 /* nothing held: nothing to do */
    g_clear_pointer(&lines, g_strfreev);
    lines = slurp(path);
    g_assert_cmpuint(g_strv_length(lines), ==, 6);
    g_assert_cmpstr(lines[3], ==, "Fri Sep  8 12:00:00 2023 Info: one");
    g_assert_cmpstr(lines[4], ==, "Fri Sep  8 12:00:00 2023 Info: two: ?[31mred");
    g_assert_cmpuint(seg_record_written(r), ==, 2);
    g_assert_cmpuint(seen->len, ==, 2);
    g_assert_cmpstr(seen->pdata[0], ==, "ok:one");
    g_assert_cmpstr(seen->pdata[1], ==, "ok:two: ?[31mred");
    seg_record_close(r);
    g_unlink(path);
    g_clear_pointer(&lines, g_strfreev);
    g_ptr_array_set_size(seen, 0);

    /* room for the first line and 20 bytes: the second is cut and marked, two are lost */
    lines = held_cut(path, 37 + 20, &flushed, &dropped, seen);
    g_assert_false(flushed);
    g_assert_cmpuint(dropped, ==, 2);
    loss = g_strdup_printf("Fri Sep  8 12:00:00 2023 Warning: 2 records lost by %s[%ld]: "
                           "No space left on device", g_get_prgname(), (long) getpid());
    g_assert_cmpuint(g_strv_length(lines), ==, 8);
    g_assert_cmpstr(lines[3], ==, "Fri Sep  8 12:00:00 2023 Info: first");
    g_assert_cmpstr(lines[4], ==, "Fri Sep  8 12 [cut]");
    g_assert_cmpstr(lines[5], ==, loss);
    g_assert_cmpstr(lines[6], ==, "Fri Sep  8 12:00:00 2023 Info: after");
    g_assert_cmpuint(seen->len, ==, 4);
    g_assert_cmpstr(seen->pdata[0], ==, "ok:first");
    g_assert_cmpstr(seen->pdata[1], ==, "lost:second");
    g_assert_cmpstr(seen->pdata[2], ==, "lost:third");
    g_assert_cmpstr(seen->pdata[3], ==, "ok:after");
    g_unlink(path);
    g_clear_pointer(&lines, g_strfreev);
    g_ptr_array_set_size(seen, 0);

    /* room for exactly the first line: no line is cut, none is marked */
    lines = held_cut(path, 37, &flushed, &dropped, seen);
    g_assert_false(flushed);
    g_assert_cmpuint(dropped, ==, 2);
    g_assert_cmpuint(g_strv_length(lines), ==, 7);
    g_assert_cmpstr(lines[3], ==, "Fri Sep  8 12:00:00 2023 Info: first");
    g_assert_cmpstr(lines[4], ==, loss);
    g_assert_cmpstr(lines[5], ==, "Fri Sep  8 12:00:00 2023 Info: after");
    g_unlink(path);
    g_rmdir(dir);
}

/* test_control_chars - no control character of a record reaches the file or ends a line */
static void test_control_chars(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    g_autoptr(GError) err = NULL;
    g_auto(GStrv) lines = NULL;
    time_t now = T0;
    seg_record *r;
    char buf[64];
    /* a next hop's reply as it reached the standalone relay client */
    static const char reply[] = "Bounced: DCID 4 MID 9 to RID [0] - 550 no\r"
        "Fri Sep  8 12:00:00 2023 Info: DCID 999 TLS success\x1b[2J\x1b]0;x\x07\n\x9b"
        "caf\xc3\xa9 \xc2\x9b" "1m \xe2\x80\xae \xff";

    set_tz("UTC");
    r = seg_record_open_clock(path, fixed_clock, &now, &err);
    g_assert_no_error(err);
    g_assert_true(seg_record_write(r, SEG_RECORD_INFO, "%s", reply));
    g_assert_true(seg_record_write_text(r, T0, SEG_RECORD_WARNING, "a\0b\177c", 5));
    seg_record_close(r);
    lines = slurp(path);
    g_assert_cmpuint(g_strv_length(lines), ==, 6);
    g_assert_cmpstr(lines[3], ==, "Fri Sep  8 12:00:00 2023 Info: Bounced: DCID 4 MID 9 to RID [0] - 550 no?"
                    "Fri Sep  8 12:00:00 2023 Info: DCID 999 TLS success?[2J?]0;x???"
                    "caf\xc3\xa9 ?1m ? ?");
    g_assert_cmpstr(lines[4], ==, "Fri Sep  8 12:00:00 2023 Warning: a?b?c");
    /* the milter's fields: one word, "unknown" when empty, cut to fit */
    g_assert_cmpstr(seg_record_field("mail.example\r\n x", buf, sizeof(buf), TRUE), ==, "mail.example???x");
    g_assert_cmpstr(seg_record_field("a b\tc", buf, sizeof(buf), FALSE), ==, "a b?c");
    g_assert_cmpstr(seg_record_field("", buf, sizeof(buf), TRUE), ==, "unknown");
    g_assert_cmpstr(seg_record_field(NULL, buf, sizeof(buf), TRUE), ==, "unknown");
    g_assert_cmpstr(seg_record_field("abcdef\xc3\xa9", buf, 8, FALSE), ==, "abcdef?");
    g_unlink(path);
    g_rmdir(dir);
}

/* test_concurrent - lines of several writing processes never tear */
static void test_concurrent(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-record-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, "mail_logs", NULL);
    g_auto(GStrv) lines = NULL;
    const int procs = 4, each = 500;
    int counts[4] = {0};
    char pad[900];

    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = 0;
    for (int p = 0; p < procs; p++) {
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
            seg_record *r = seg_record_open(path, NULL);

            for (int i = 0; r && i < each; i++)
                seg_record_write(r, SEG_RECORD_INFO, "writer %d line %d %s", p, i, pad);
            seg_record_close(r);
            _exit(r ? 0 : 1);
        }
    }
    for (int p = 0; p < procs; p++) {
        int status;

        g_assert_cmpint(wait(&status), >, 0);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    lines = slurp(path);
    g_assert_cmpuint(g_strv_length(lines), ==, 3 + procs * each + 1);
    g_assert_nonnull(strstr(lines[0], " Info: Begin Logfile"));
    for (int i = 3; i < 3 + procs * each; i++) {
        int p, n;
        char tail[1000];

        g_assert_cmpint(sscanf(lines[i] + 25, "Info: writer %d line %d %999s", &p, &n, tail), ==, 3);
        g_assert_cmpstr(tail, ==, pad);
        g_assert_true(p >= 0 && p < procs);
        g_assert_cmpint(n, ==, counts[p]);  /* each writer's lines in order */
        counts[p]++;
    }
    g_unlink(path);
    g_rmdir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/record/format_time", test_format_time);
    g_test_add_func("/record/pinned_dates", test_pinned_dates);
    g_test_add_func("/record/header", test_header);
    g_test_add_func("/record/host_id", test_host_id);
    g_test_add_func("/record/reopen", test_reopen);
    g_test_add_func("/record/errors", test_errors);
    g_test_add_func("/record/concurrent", test_concurrent);
    g_test_add_func("/record/short-write", test_short_write);
    g_test_add_func("/record/held", test_held);
    g_test_add_func("/record/control-chars", test_control_chars);
    return g_test_run();
}
