/*
 * tlsver - TLS protocol versions and the method encodings.
 *
 * A set of enabled versions ("methods") is a bit mask over SEG_TLS_V10 ..
 * SEG_TLS_V13. The one table in tlsver.c names each version in every
 * spelling segtls meets: the settings value ("1.2"), the gateway listing
 * token ("tlsv1_2"), the menu number (1 = TLS v1.3 ... 4 = TLS v1.0), the
 * human name ("TLS v1.2"), Postfix's ("TLSv1.2", TLS 1.0 is "TLSv1"),
 * nginx's, OpenSSL's wire name and protocol constant, and s_client's flag.
 */
#ifndef SEGTLS_TLSVER_H
#define SEGTLS_TLSVER_H

#include <glib.h>

enum {
    SEG_TLS_V10 = 1u << 0,
    SEG_TLS_V11 = 1u << 1,
    SEG_TLS_V12 = 1u << 2,
    SEG_TLS_V13 = 1u << 3,
};
#define SEG_TLS_ALL     0xfu
#define SEG_TLS_NVERS   4

typedef struct seg_tlsver {
    unsigned    bit;            /* SEG_TLS_V1x */
    const char *value;          /* "1.0" - settings value */
    const char *token;          /* "tlsv1_0" - gateway listing token */
    int         menu;           /* 4 - gateway menu number */
    const char *human;          /* "TLS v1.0" */
    const char *postfix;        /* "TLSv1" */
    const char *nginx;          /* "TLSv1" */
    const char *openssl;        /* "TLSv1" - SSL_get_version() */
    int         ossl_version;   /* TLS1_VERSION */
    const char *sclient_flag;   /* "-tls1" */
} seg_tlsver;

/* The table, oldest first; SEG_TLS_NVERS entries. */
extern const seg_tlsver seg_tlsver_table[SEG_TLS_NVERS];

const seg_tlsver *seg_tlsver_by_bit(unsigned bit);
const seg_tlsver *seg_tlsver_by_value(const char *value);     /* "1.2" */
const seg_tlsver *seg_tlsver_by_menu(int menu);               /* 1..4 */
const seg_tlsver *seg_tlsver_by_ossl(int ossl_version);       /* TLS1_2_VERSION */
const seg_tlsver *seg_tlsver_by_openssl_name(const char *name); /* "TLSv1.2" */

/* Lowest and highest bit of a non-empty mask. */
unsigned seg_methods_lowest(unsigned mask);
unsigned seg_methods_highest(unsigned mask);

/*
 * seg_methods_check - the "only in sequence" and "at least one" rules.
 * Returns TRUE or sets an error: "at least one TLS version must be
 * enabled", "TLS v1.0 and TLS v1.2 cannot be enabled without TLS v1.1".
 */
gboolean seg_methods_check(unsigned mask, GError **error);

/* Gateway listing token: "tlsv1_1tlsv1_2". Newly allocated. */
char *seg_methods_token(unsigned mask);
/* Settings value: "1.1-1.2", or "1.3" for one version. Newly allocated. */
char *seg_methods_value(unsigned mask);
/* Menu default: "2-3" (range of menu numbers, low first), or "1". */
char *seg_methods_menu_default(unsigned mask);
/* Human list: "TLS v1.1, TLS v1.2" ("" when empty). */
char *seg_methods_human(unsigned mask);

/*
 * seg_methods_parse_menu - parse gateway menu input: "2", "1-3", "3-1",
 * "1,2,3", blanks around tokens ignored. The result must pass
 * seg_methods_check(). Error messages name the offending token.
 */
gboolean seg_methods_parse_menu(const char *input, unsigned *mask, GError **error);

/*
 * seg_methods_parse_value - parse a settings value: "1.1-1.3", "1.2",
 * "1.0,1.1", or a listing token "tlsv1_1tlsv1_2". Checked as above.
 */
gboolean seg_methods_parse_value(const char *input, unsigned *mask, GError **error);

#endif
