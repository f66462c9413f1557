/*
 * tlsver - unit tests of the version table and the method encodings.
 */
#include <openssl/ssl.h>

#include "error.h"
#include "tlsver.h"

#define V10 SEG_TLS_V10
#define V11 SEG_TLS_V11
#define V12 SEG_TLS_V12
#define V13 SEG_TLS_V13

/* test_table - every spelling of every version */
static void test_table(void)
{
    static const struct {
        unsigned bit;
        const char *value, *token;
        int menu;
        const char *human, *postfix, *openssl;
        int ossl;
        const char *flag;
    } want[] = {
        {V10, "1.0", "tlsv1_0", 4, "TLS v1.0", "TLSv1", "TLSv1", TLS1_VERSION, "-tls1"},
        {V11, "1.1", "tlsv1_1", 3, "TLS v1.1", "TLSv1.1", "TLSv1.1", TLS1_1_VERSION, "-tls1_1"},
        {V12, "1.2", "tlsv1_2", 2, "TLS v1.2", "TLSv1.2", "TLSv1.2", TLS1_2_VERSION, "-tls1_2"},
        {V13, "1.3", "tlsv1_3", 1, "TLS v1.3", "TLSv1.3", "TLSv1.3", TLS1_3_VERSION, "-tls1_3"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
        const seg_tlsver *v = seg_tlsver_by_bit(want[i].bit);

        g_assert_nonnull(v);
        g_assert_true(v == &seg_tlsver_table[i]);
        g_assert_cmpstr(v->value, ==, want[i].value);
        g_assert_cmpstr(v->token, ==, want[i].token);
        g_assert_cmpint(v->menu, ==, want[i].menu);
        g_assert_cmpstr(v->human, ==, want[i].human);
        g_assert_cmpstr(v->postfix, ==, want[i].postfix);
        g_assert_cmpstr(v->nginx, ==, want[i].postfix);
        g_assert_cmpstr(v->openssl, ==, want[i].openssl);
        g_assert_cmpint(v->ossl_version, ==, want[i].ossl);
        g_assert_cmpstr(v->sclient_flag, ==, want[i].flag);
        g_assert_true(seg_tlsver_by_value(want[i].value) == v);
        g_assert_true(seg_tlsver_by_menu(want[i].menu) == v);
        g_assert_true(seg_tlsver_by_ossl(want[i].ossl) == v);
        g_assert_true(seg_tlsver_by_openssl_name(want[i].openssl) == v);
    }
    g_assert_null(seg_tlsver_by_bit(0));
    g_assert_null(seg_tlsver_by_bit(V10 | V11));
    g_assert_null(seg_tlsver_by_value("1.4"));
    g_assert_null(seg_tlsver_by_value(NULL));
    g_assert_null(seg_tlsver_by_menu(0));
    g_assert_null(seg_tlsver_by_menu(5));
    g_assert_null(seg_tlsver_by_ossl(SSL3_VERSION));
    g_assert_null(seg_tlsver_by_openssl_name("SSLv3"));
    g_assert_cmpuint(seg_methods_lowest(V11 | V12 | V13), ==, V11);
    g_assert_cmpuint(seg_methods_highest(V11 | V12 | V13), ==, V13);
    g_assert_cmpuint(seg_methods_lowest(0), ==, 0);
    g_assert_cmpuint(seg_methods_highest(0), ==, 0);
}

/* test_subsets - all 16 subsets against the sequence rules */
static void test_subsets(void)
{
    static const char *const gap[16] = {
        [0] = "at least one TLS version must be enabled",
        [V10 | V12] = "TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1",
        [V10 | V13] = "TLS v1.0 and TLS v1.3 cannot be enabled without TLS v1.1 and TLS v1.2",
        [V11 | V13] = "TLS v1.1 and TLS v1.3 cannot be enabled without TLS v1.2",
        [V10 | V11 | V13] = "TLS v1.1 and TLS v1.3 cannot be enabled without TLS v1.2",
        [V10 | V12 | V13] = "TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1",
    };
    guint accepted = 0;

    for (unsigned mask = 0; mask < 16; mask++) {
        g_autoptr(GError) error = NULL;
        gboolean ok = seg_methods_check(mask, &error);

        if (gap[mask] == NULL) {
            g_assert_no_error(error);
            g_assert_true(ok);
            accepted++;
        } else {
            g_assert_false(ok);
            g_assert_error(error, SEG_ERROR, SEG_ERROR_INVALID);
            g_assert_cmpstr(error->message, ==, gap[mask]);
        }
    }
    /* 4 singles, 3 pairs, 2 triples, all four */
    g_assert_cmpuint(accepted, ==, 10);
}

/* test_encodings - value, token, menu default and human of each run */
static void test_encodings(void)
{
    static const struct {
        unsigned mask;
        const char *value, *token, *menu, *human;
    } t[] = {
        {V10, "1.0", "tlsv1_0", "4", "TLS v1.0"},
        {V11, "1.1", "tlsv1_1", "3", "TLS v1.1"},
        {V12, "1.2", "tlsv1_2", "2", "TLS v1.2"},
        {V13, "1.3", "tlsv1_3", "1", "TLS v1.3"},
        {V10 | V11, "1.0-1.1", "tlsv1_0tlsv1_1", "3-4", "TLS v1.0, TLS v1.1"},
        {V11 | V12, "1.1-1.2", "tlsv1_1tlsv1_2", "2-3", "TLS v1.1, TLS v1.2"},
        {V12 | V13, "1.2-1.3", "tlsv1_2tlsv1_3", "1-2", "TLS v1.2, TLS v1.3"},
        {V10 | V11 | V12, "1.0-1.2", "tlsv1_0tlsv1_1tlsv1_2", "2-4",
         "TLS v1.0, TLS v1.1, TLS v1.2"},
        {V11 | V12 | V13, "1.1-1.3", "tlsv1_1tlsv1_2tlsv1_3", "1-3",
         "TLS v1.1, TLS v1.2, TLS v1.3"},
        {SEG_TLS_ALL, "1.0-1.3", "tlsv1_0tlsv1_1tlsv1_2tlsv1_3", "1-4",
         "TLS v1.0, TLS v1.1, TLS v1.2, TLS v1.3"},
    };

    for (guint i = 0; i < G_N_ELEMENTS(t); i++) {
        g_autofree char *value = seg_methods_value(t[i].mask);
        g_autofree char *token = seg_methods_token(t[i].mask);
        g_autofree char *menu = seg_methods_menu_default(t[i].mask);
        g_autofree char *human = seg_methods_human(t[i].mask);
        unsigned back;

        g_assert_cmpstr(value, ==, t[i].value);
        g_assert_cmpstr(token, ==, t[i].token);
        g_assert_cmpstr(menu, ==, t[i].menu);
        g_assert_cmpstr(human, ==, t[i].human);
        back = 0;
        g_assert_true(seg_methods_parse_value(value, &back, NULL));
        g_assert_cmpuint(back, ==, t[i].mask);
        back = 0;
        g_assert_true(seg_methods_parse_value(token, &back, NULL));
        g_assert_cmpuint(back, ==, t[i].mask);
        back = 0;
        g_assert_true(seg_methods_parse_menu(menu, &back, NULL));
        g_assert_cmpuint(back, ==, t[i].mask);
    }
    g_autofree char *empty_h = seg_methods_human(0);
    g_autofree char *empty_v = seg_methods_value(0);
    g_assert_cmpstr(empty_h, ==, "");
    g_assert_cmpstr(empty_v, ==, "");
}

/* A parser input and its outcome: mask, or the exact message. */
typedef struct parse_case {
    const char *input;
    unsigned mask;
    const char *message;
} parse_case;

/* run_cases - one parser over a table */
static void run_cases(gboolean (*parse)(const char *, unsigned *, GError **),
                      const parse_case *t, guint n)
{
    for (guint i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;
        unsigned mask = 0xdead;
        gboolean ok = parse(t[i].input, &mask, &error);

        if (g_test_verbose())
            g_test_message("input '%s'", t[i].input);
        if (t[i].message == NULL) {
            g_assert_no_error(error);
            g_assert_true(ok);
            g_assert_cmpuint(mask, ==, t[i].mask);
        } else {
            g_assert_false(ok);
            g_assert_cmpuint(mask, ==, 0xdead);
            g_assert_error(error, SEG_ERROR, SEG_ERROR_INVALID);
            g_assert_cmpstr(error->message, ==, t[i].message);
        }
    }
}

/* test_menu - the gateway menu grammar */
static void test_menu(void)
{
    static const parse_case t[] = {
        {"1", V13, NULL},
        {"2", V12, NULL},
        {"3", V11, NULL},
        {"4", V10, NULL},
        {" 2 ", V12, NULL},
        {"\t2\r", V12, NULL},
        {"1-3", V11 | V12 | V13, NULL},
        {"3-1", V11 | V12 | V13, NULL},
        {"2-3", V11 | V12, NULL},
        {"1-4", SEG_TLS_ALL, NULL},
        {"4-1", SEG_TLS_ALL, NULL},
        {"2 - 3", V11 | V12, NULL},
        {"1,2,3", V11 | V12 | V13, NULL},
        {"1, 2 ,3", V11 | V12 | V13, NULL},
        {"3,2", V11 | V12, NULL},
        {"1-2,3", V11 | V12 | V13, NULL},
        {"2,2,3,3", V11 | V12, NULL},
        {"1-2,2-3", V11 | V12 | V13, NULL},
        {"3-3", V11, NULL},
        {"5", 0, "menu number 5 is out of range 1-4"},
        {"0", 0, "menu number 0 is out of range 1-4"},
        {"1-5", 0, "menu number 5 is out of range 1-4"},
        {"99999999999", 0, "menu number 99999999999 is out of range 1-4"},
        {"x", 0, "\"x\" is not a menu number"},
        {" tls ", 0, "\"tls\" is not a menu number"},
        {"1,x", 0, "\"x\" is not a menu number"},
        {"1-2-3", 0, "\"2-3\" is not a menu number"},
        {"+1", 0, "\"+1\" is not a menu number"},
        {"1.5", 0, "\"1.5\" is not a menu number"},
        {"2\x1b", 0, "\"2\\033\" is not a menu number"},
        {"", 0, "empty menu choice"},
        {"   ", 0, "empty menu choice"},
        {"1,,2", 0, "empty menu choice"},
        {"1,", 0, "empty menu choice"},
        {"-3", 0, "empty menu choice"},
        {"3-", 0, "empty menu choice"},
        {"1,3", 0, "TLS v1.1 and TLS v1.3 cannot be enabled without TLS v1.2"},
        {"2,4", 0, "TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1"},
        {"1,4", 0, "TLS v1.0 and TLS v1.3 cannot be enabled without TLS v1.1 and TLS v1.2"},
        {"1,3-4", 0, "TLS v1.1 and TLS v1.3 cannot be enabled without TLS v1.2"},
    };

    run_cases(seg_methods_parse_menu, t, G_N_ELEMENTS(t));
}

/* test_value - the settings value and listing token grammar */
static void test_value(void)
{
    static const parse_case t[] = {
        {"1.2", V12, NULL},
        {" 1.2 ", V12, NULL},
        {"1.1-1.3", V11 | V12 | V13, NULL},
        {"1.3-1.1", V11 | V12 | V13, NULL},
        {"1.0,1.1", V10 | V11, NULL},
        {"1.0, 1.1 ,1.2", V10 | V11 | V12, NULL},
        {"1.0-1.1,1.2", V10 | V11 | V12, NULL},
        {"tlsv1_1tlsv1_2", V11 | V12, NULL},
        {"tlsv1_2tlsv1_1", V11 | V12, NULL},
        {"tlsv1_3", V13, NULL},
        {"tlsv1_0tlsv1_1tlsv1_2tlsv1_3", SEG_TLS_ALL, NULL},
        {"TLSV1_2", V12, NULL},
        {"1.4", 0, "\"1.4\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"1.1-1.4", 0, "\"1.4\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"1", 0, "\"1\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"1.0,,1.1", 0, "\"\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"tlsv1_2tlsv1_4", 0, "\"tlsv1_4\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"1.2\n", V12, NULL},
        {"1.2\nx", 0, "\"1.2\\nx\" is not a TLS version (1.0, 1.1, 1.2, 1.3)"},
        {"", 0, "at least one TLS version must be enabled"},
        {"1.0,1.2", 0, "TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1"},
        {"tlsv1_0tlsv1_3", 0, "TLS v1.0 and TLS v1.3 cannot be enabled without TLS v1.1 and TLS v1.2"},
        {"1.0-1.1,1.3", 0, "TLS v1.1 and TLS v1.3 cannot be enabled without TLS v1.2"},
    };

    run_cases(seg_methods_parse_value, t, G_N_ELEMENTS(t));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/tlsver/table", test_table);
    g_test_add_func("/tlsver/subsets", test_subsets);
    g_test_add_func("/tlsver/encodings", test_encodings);
    g_test_add_func("/tlsver/menu", test_menu);
    g_test_add_func("/tlsver/value", test_value);
    return g_test_run();
}
