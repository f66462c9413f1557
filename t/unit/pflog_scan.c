/*
 * pflog_scan - unit tests of the parser's word-at-a-time scanning helpers
 * (lib/records/pflog_int.h, lib/records/pflog_field.c) against plain byte-by-byte code.
 *
 * Every helper gets random inputs of every length from 0 to past two
 * words, built from the bytes that matter to it (the ones it looks for,
 * neighbours of its ranges, NUL, high bytes), placed at the very end of
 * an allocation so that ASan sees any read past the piece. New IDs'
 * decimal text, incremented in place, is checked against formatting.
 */
#include <stdlib.h>
#include <string.h>

#include "pflog_field.h"
#include "pflog_int.h"
#include "pflog_rec.h"

#define ROUNDS  200000

/* tail - n bytes at the end of a fresh allocation of exactly n */
static char *tail(GRand *r, const char *alphabet, size_t n)
{
    char   *s = g_malloc(n ? n : 1);
    size_t  k = strlen(alphabet);

    for (size_t i = 0; i < n; i++)
        s[i] = alphabet[g_rand_int_range(r, 0, (gint32) k)];
    return s;
}

/* test_span - pf_span is the first of three bytes, or n */
static void test_span(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(1);

    for (int it = 0; it < ROUNDS; it++) {
        size_t  n = (size_t) g_rand_int_range(r, 0, 40), want = n;
        g_autofree char *s = tail(r, "ab /[x0\x80\xff", n);

        for (size_t i = 0; i < n; i++)
            if (s[i] == ' ' || s[i] == '/' || s[i] == '[') {
                want = i;
                break;
            }
        g_assert_cmpuint(pf_span(s, n, ' ', '/', '['), ==, want);
    }
}

/* test_digits - pf_nondigit8 finds the end of a number, pf_digits8 reads it */
static void test_digits(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(2);

    for (int c = 0; c < 256; c++) {
        char    d[8];

        memset(d, c, sizeof(d));
        g_assert_cmpint(pf_nondigit8(pf_load8(d)) != 0, ==, !(c >= '0' && c <= '9'));
    }
    for (int it = 0; it < ROUNDS; it++) {
        char    d[8];
        int     k = g_rand_int_range(r, 1, 8);
        guint64 want = 0, w, nd;

        for (int i = 0; i < 8; i++)
            d[i] = "0123456789]x/:\x80\xff"[g_rand_int_range(r, 0, 16)];
        for (int i = 0; i < k; i++) {
            d[i] = (char) ('0' + g_rand_int_range(r, 0, 10));
            want = want * 10 + (guint64) (d[i] - '0');
        }
        d[k] = "]: a\x80\xff/"[g_rand_int_range(r, 0, 7)];
        w = pf_load8(d);
        nd = pf_nondigit8(w);
        g_assert_cmpuint(nd ? (guint) __builtin_ctzll(nd) >> 3 : 8, ==, (guint) k);
        g_assert_cmpuint(pf_digits8(w << (8 * (8 - k))), ==, want);
    }
}

/* test_alnum - pf_nonalnum8 marks exactly the bytes that are not [0-9A-Za-z] */
static void test_alnum(void)
{
    for (int c = 0; c < 256; c++) {
        char    d[8];

        memset(d, c, sizeof(d));
        g_assert_cmpint(pf_nonalnum8(pf_load8(d)) != 0, ==, !g_ascii_isalnum(c));
    }
}

/* test_same - pf_same is memcmp() == 0 */
static void test_same(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(3);

    for (int it = 0; it < ROUNDS; it++) {
        size_t  n = (size_t) g_rand_int_range(r, 0, 40);
        g_autofree char *a = tail(r, "ab", n);
        g_autofree char *b = g_memdup2(a, n ? n : 1);

        if (n > 0 && g_rand_int_range(r, 0, 2))
            b[g_rand_int_range(r, 0, (gint32) n)] ^= 3;
        g_assert_cmpint(pf_same(a, b, n), ==, memcmp(a, b, n) == 0);
    }
}

/* test_nul_len - pf_nul_len is strnlen() */
static void test_nul_len(void)
{
    g_autoptr(GRand) r = g_rand_new_with_seed(4);

    for (int it = 0; it < ROUNDS; it++) {
        size_t  n = (size_t) g_rand_int_range(r, 0, 40);
        g_autofree char *s = tail(r, "ab\x01\xff\x80\x01\x02\x03\x04\x05\x06", n);

        if (n > 0 && g_rand_int_range(r, 0, 3) == 0)
            s[g_rand_int_range(r, 0, (gint32) n)] = 0;
        g_assert_cmpuint(pf_nul_len(s, n), ==, strnlen(s, n));
    }
}

/* test_find - pf_find is the first occurrence of a literal */
static void test_find(void)
{
    static const char *const lits[] = {">, ", "relay=", ", status=", " ", " with cipher ",
                                       "ab", "a", "aaa", "ba"};
    g_autoptr(GRand) r = g_rand_new_with_seed(5);

    for (int it = 0; it < ROUNDS; it++) {
        size_t  n = (size_t) g_rand_int_range(r, 0, 200), at = 999, want = 999, ln;
        g_autofree char *s = tail(r, "ab >,=s tu", n);
        const char *lit;
        gboolean found = FALSE;

        if (n > 20 && g_rand_int_range(r, 0, 3) == 0) {
            lit = lits[g_rand_int_range(r, 0, G_N_ELEMENTS(lits))];
            ln = strlen(lit);
            memcpy(s + g_rand_int_range(r, 0, (gint32) (n - ln + 1)), lit, ln);
        }
        lit = lits[g_rand_int_range(r, 0, G_N_ELEMENTS(lits))];
        ln = strlen(lit);
        for (size_t i = 0; i + ln <= n; i++)
            if (memcmp(s + i, lit, ln) == 0) {
                found = TRUE;
                want = i;
                break;
            }
        g_assert_cmpint(pf_find((pf_str) {s, n}, lit, ln, &at), ==, found);
        if (found)
            g_assert_cmpuint(at, ==, want);
    }
}

/* no_emit - a record callback that is never called here */
static void no_emit(void *ctx, time_t when, seg_record_level level, const char *text, size_t len)
{
    g_assert_not_reached();
}

/* test_new_id - the incremented decimal text of new IDs is pf_id_text's */
static void test_new_id(void)
{
    seg_ids *ids = seg_ids_open(NULL, NULL);
    seg_pflog *p = seg_pflog_new(ids, no_emit, NULL);
    pf_idtext t, want;

    for (guint64 i = 1; i <= ROUNDS; i++) {
        g_assert_cmpuint(pf_new_id(p, SEG_ID_MID, &t), ==, i);
        pf_id_text(&want, i);
        g_assert_cmpmem(t.t, t.n, want.t, want.n);
    }
    p->last_id[SEG_ID_MID] = 5;         /* someone else took IDs: a jump */
    g_assert_cmpuint(pf_new_id(p, SEG_ID_MID, &t), ==, ROUNDS + 1);
    pf_id_text(&want, ROUNDS + 1);
    g_assert_cmpmem(t.t, t.n, want.t, want.n);
    seg_pflog_free(p);
    seg_ids_close(ids);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pflog_scan/span", test_span);
    g_test_add_func("/pflog_scan/digits", test_digits);
    g_test_add_func("/pflog_scan/alnum", test_alnum);
    g_test_add_func("/pflog_scan/same", test_same);
    g_test_add_func("/pflog_scan/nul_len", test_nul_len);
    g_test_add_func("/pflog_scan/find", test_find);
    g_test_add_func("/pflog_scan/new_id", test_new_id);
    return g_test_run();
}
