/*
 * recfmt - unit tests of the GLib-free record format: the line shape and
 * what the record writer gives, the header with the machine-id host id,
 * long messages cut keeping the newline, 0 for too small buffers.
 */
#include <string.h>

#include "record.h"
#include "recfmt.h"

#define WHEN ((time_t) 1700000000)

/* test_line_same_as_record - seg_recfmt_line == seg_record_format_line */
static void test_line_same_as_record(void)
{
    char a[SEG_RECFMT_LINE_MAX + 64], b[SEG_RECORD_LINE_MAX + 64];
    const char *msg = "GUI HTTPS TLS success protocol TLSv1.3 cipher "
                      "TLS_AES_256_GCM_SHA384 address 127.0.0.1 port 40000";
    size_t na, nb;

    na = seg_recfmt_line(WHEN, "Warning", msg, strlen(msg), a, sizeof(a));
    nb = seg_record_format_line(WHEN, SEG_RECORD_WARNING, msg, strlen(msg), b, sizeof(b));
    g_assert_cmpuint(na, ==, nb);
    g_assert_cmpstr(a, ==, b);
    g_assert_true(g_regex_match_simple("^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123][0-9] "
                                       "[0-9]{2}:[0-9]{2}:[0-9]{2} [0-9]{4} Warning: GUI HTTPS",
                                       a, 0, 0));
    g_assert_cmpint(a[na - 1], ==, '\n');
}

/* test_line_cut - a long message is cut, the newline stays; tiny buffers give 0 */
static void test_line_cut(void)
{
    char buf[40];
    size_t n;

    n = seg_recfmt_line(WHEN, "Info", "abcdefghijklmnopqrstuvwxyz", 26, buf, sizeof(buf));
    g_assert_cmpuint(n, ==, sizeof(buf) - 1);
    g_assert_cmpuint(strlen(buf), ==, n);
    g_assert_cmpint(buf[n - 1], ==, '\n');
    g_assert_cmpuint(seg_recfmt_line(WHEN, "Info", "x", 1, buf, 20), ==, 0);
    g_assert_cmpuint(seg_recfmt_line(WHEN, "Info", "x", 1, buf, 0), ==, 0);
}

/* test_clean - control characters, separators, bidi controls and non-UTF-8 become '?' */
static void test_clean(void)
{
    static const struct {
        const char *in;
        int         flags;
        const char *out;
    } cases[] = {
        {"plain text, long enough for the fast path", 0, "plain text, long enough for the fast path"},
        {"CR\rLF\nTAB\tESC\x1b[31mDEL\x7f", 0, "CR?LF?TAB?ESC?[31mDEL?"},
        {"one word please", SEG_RECFMT_WORD, "one?word?please"},
        {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92", 0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92"},
        {"C1 \xc2\x85 \xc2\x9b" "2J \xc2\x9f|\xc2\xa0", 0, "C1 ? ?2J ?|\xc2\xa0"},
        {"LS \xe2\x80\xa8 PS \xe2\x80\xa9 RLO \xe2\x80\xae LRI \xe2\x81\xa6", 0, "LS ? PS ? RLO ? LRI ?"},
        {"bad \xff \x80 \xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 \xc3", 0,
         "bad ? ? ?? ??? ???? ?"},
        {"12345678\r1234567\x1b", 0, "12345678?1234567?"},
    };
    char buf[128];

    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        size_t n = seg_recfmt_clean(buf, cases[i].in, strlen(cases[i].in), cases[i].flags);

        buf[n] = 0;
        g_assert_cmpstr(buf, ==, cases[i].out);
        /* in place gives the same */
        g_strlcpy(buf, cases[i].in, sizeof(buf));
        n = seg_recfmt_clean(buf, buf, strlen(buf), cases[i].flags);
        buf[n] = 0;
        g_assert_cmpstr(buf, ==, cases[i].out);
    }
    /* a NUL is a control character too, not the end */
    g_assert_cmpuint(seg_recfmt_clean(buf, "a\0b", 3, 0), ==, 3);
    g_assert_cmpint(memcmp(buf, "a?b", 3), ==, 0);
    /* a line never holds a second line */
    g_assert_cmpuint(seg_recfmt_line(WHEN, "Info", "x\r\ny", 4, buf, sizeof(buf)), >, 0);
    g_assert_nonnull(strstr(buf, "Info: x??y\n"));
    g_assert_cmpuint(strlen(strchr(buf, '\n')), ==, 1);
}

/* test_header - three Info lines: begin, version and host, UTC offset */
static void test_header(void)
{
    char buf[SEG_RECFMT_HEADER_MAX], host[SEG_RECFMT_HOST_LEN], want[512], t[SEG_RECFMT_TIME_LEN];
    g_autofree char *id = NULL, *rhost = NULL;
    struct tm tm;

    if (g_file_get_contents("/etc/machine-id", &id, NULL, NULL)
        && strspn(id, "0123456789abcdefABCDEF") >= 12) {
        id[12] = 0;
        rhost = g_ascii_strup(id, -1);
    } else
        rhost = g_strdup(g_get_host_name());
    g_assert_cmpuint(seg_recfmt_host_id(host, sizeof(host)), >, 0);
    g_assert_cmpstr(host, ==, rhost);
    g_assert_nonnull(localtime_r(&(time_t) {WHEN}, &tm));
    seg_recfmt_time(WHEN, t, sizeof(t));
    g_snprintf(want, sizeof(want), "%s Info: Begin Logfile\n"
               "%s Info: Version: 1.2.3 SN: %s\n"
               "%s Info: Time offset from UTC: %ld seconds\n", t, t, host, t, (long) tm.tm_gmtoff);
    g_assert_cmpuint(seg_recfmt_header(WHEN, "1.2.3", host, buf, sizeof(buf)), ==, strlen(want));
    g_assert_cmpstr(buf, ==, want);
    g_assert_cmpuint(seg_recfmt_header(WHEN, "1.2.3", host, buf, 60), ==, 0);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/recfmt/line-same-as-record", test_line_same_as_record);
    g_test_add_func("/recfmt/line-cut", test_line_cut);
    g_test_add_func("/recfmt/clean", test_clean);
    g_test_add_func("/recfmt/header", test_header);
    return g_test_run();
}
