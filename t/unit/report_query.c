/*
 * report_query - unit tests of the TLS Connections report's query: the
 * defaults, every field, form decoding, and hostile values refused with
 * one line that names the field and shows the value quoted.
 */
#include <string.h>
#include <glib.h>

#include "report.h"
#include "report_query.h"

/* refused - the one-line refusal of a query */
static char *refused(const char *text)
{
    seg_report_query q;
    GError *err = NULL;
    char   *msg;

    g_assert_false(seg_report_query_parse(text, &q, &err));
    g_assert_nonnull(err);
    g_assert_null(q.domain);
    g_assert_null(strchr(err->message, '\n'));
    msg = g_strdup(err->message);
    g_error_free(err);
    return msg;
}

/* test_defaults - nothing asked: a day, both directions, 20 rows */
static void test_defaults(void)
{
    const char *texts[] = {NULL, ""};

    for (guint i = 0; i < G_N_ELEMENTS(texts); i++) {
        seg_report_query q;

        g_assert_true(seg_report_query_parse(texts[i], &q, NULL));
        g_assert_cmpstr(q.range->name, ==, "day");
        g_assert_cmpint(q.range->seconds, ==, 86400);
        g_assert_cmpstr(q.direction->name, ==, "both");
        g_assert_cmpuint(q.direction->dirs, ==, SEG_REPORT_BOTH);
        g_assert_null(q.domain);
        g_assert_cmpuint(q.top, ==, 20);
    }
}

/* test_fields - every field, form-decoded */
static void test_fields(void)
{
    seg_report_query q;

    g_assert_true(seg_report_query_parse("range=week&direction=outbound&domain=b%C3%BCcher.example"
                                         "&top=0", &q, NULL));
    g_assert_cmpstr(q.range->name, ==, "week");
    g_assert_cmpuint(q.direction->dirs, ==, SEG_REPORT_OUTBOUND);
    g_assert_cmpstr(q.domain, ==, "b\xc3\xbc" "cher.example");
    g_assert_cmpuint(q.top, ==, 0);
    seg_report_query_clear(&q);
    g_assert_null(q.domain);

    /* the form's empty domain field: every domain; the last of a field wins */
    g_assert_true(seg_report_query_parse("domain=&range=all&top=1000&range=hour", &q, NULL));
    g_assert_null(q.domain);
    g_assert_cmpstr(q.range->name, ==, "hour");
    g_assert_cmpuint(q.top, ==, 1000);
    g_assert_true(seg_report_query_parse("direction=inbound&range=month", &q, NULL));
    g_assert_cmpuint(q.direction->dirs, ==, SEG_REPORT_INBOUND);
    g_assert_cmpint(q.range->seconds, ==, 30 * 86400);
}

/* test_refused - each bad field by name, its value quoted on one line */
static void test_refused(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        {"range=year", "range \"year\": hour, day, week, month or all"},
        {"top=-1", "top \"-1\": 0 to 1000 rows (0: all)"},
        {"top=1001", "top \"1001\": 0 to 1000 rows (0: all)"},
        {"top=%2B5", "top \"+5\": 0 to 1000 rows (0: all)"},
        {"top=5x", "top \"5x\": 0 to 1000 rows (0: all)"},
        {"top=", "top \"\": 0 to 1000 rows (0: all)"},
        {"top=99999999999999999999999", "top \"99999999999999999999999\": 0 to 1000 rows (0: all)"},
        {"direction=Inbound", "direction \"Inbound\": both, inbound or outbound"},
        {"colour=red", "unknown field \"colour\": range, direction, domain or top"},
        {"=x", "unknown field \"\": range, direction, domain or top"},
        /* a newline or a terminal escape in a value shows escaped */
        {"range=day%0D%0AX-Injected:%201", "range \"day\\r\\nX-Injected: 1\": hour, day, week, "
         "month or all"},
        {"domain=a%1B%5B2Jb", "domain \"a\\033[2Jb\": not a domain"},
        {"domain=a+b", "domain \"a b\": not a domain"},
        {"domain=a%C2%85b", "domain \"a\\302\\205b\": not a domain"},
        {"domain=%FF", "the query is not a form"},          /* not UTF-8 */
        {"domain=%00", "the query is not a form"},
        {"range=%zz", "the query is not a form"},
        {"range", "the query is not a form"},
        /* two bad fields: the first in name order, whatever their order */
        {"top=x&direction=y", "direction \"y\": both, inbound or outbound"},
        {"direction=y&top=x", "direction \"y\": both, inbound or outbound"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *m = refused(cases[i].text);

        g_assert_cmpstr(m, ==, cases[i].want);
    }
}

/* test_domain - the domain check that `segtls report --domain` shares */
static void test_domain(void)
{
    g_autofree char *longest = g_strnfill(SEG_REPORT_DOMAIN_MAX, 'a');
    g_autofree char *too_long = g_strnfill(SEG_REPORT_DOMAIN_MAX + 1, 'a');
    g_autofree char *m = NULL;
    g_autofree char *q = g_strconcat("domain=", too_long, NULL);
    seg_report_query rq;

    g_assert_true(seg_report_domain_check("example.org"));
    g_assert_true(seg_report_domain_check("[192.0.2.1]:25"));
    g_assert_true(seg_report_domain_check(longest));
    g_assert_false(seg_report_domain_check(too_long));
    g_assert_false(seg_report_domain_check(""));
    g_assert_false(seg_report_domain_check(NULL));
    g_assert_false(seg_report_domain_check("a\tb"));
    g_assert_false(seg_report_domain_check("a\x7f"));
    m = refused(q);
    g_assert_true(g_str_has_prefix(m, "domain \"aaaa"));
    g_assert_true(g_str_has_suffix(m, "...\": not a domain"));
    g_assert_true(seg_report_query_parse("domain=UPPER.Example", &rq, NULL));
    g_assert_cmpstr(rq.domain, ==, "UPPER.Example");
    seg_report_query_clear(&rq);
    g_assert_nonnull(seg_report_direction_find("both"));
    g_assert_null(seg_report_direction_find("sideways"));
}

int     main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/report_query/defaults", test_defaults);
    g_test_add_func("/report_query/fields", test_fields);
    g_test_add_func("/report_query/refused", test_refused);
    g_test_add_func("/report_query/domain", test_domain);
    return g_test_run();
}
