/*
 * settings - the SSL Configuration model (SPEC section 2).
 *
 * One table holds every key in listing order: its place in seg_settings,
 * its kind and its default. The kind decides how a value is parsed,
 * checked and printed; seg_settings_set/get, equality and the defaults
 * all walk the same table, so a new key is one new row.
 */
#include <stddef.h>
#include <string.h>

#include "cipherstr.h"
#include "destctl.h"
#include "error.h"
#include "path.h"
#include "quote.h"
#include "settings.h"
#include "tlsver.h"


typedef enum {
    KIND_METHODS,               /* unsigned mask */
    KIND_CIPHERS,               /* char * */
    KIND_RENEG,                 /* gboolean, enabled/disabled */
    KIND_BOOL,                  /* gboolean, on/off */
    KIND_MODE_IN,               /* seg_tls_mode, no/preferred/required */
    KIND_MODE_OUT,              /* seg_tls_mode, all five */
    KIND_PATH,                  /* char *, "" or absolute path */
} value_kind;

typedef struct key_row {
    const char *key;
    value_kind  kind;
    size_t      offset;         /* into seg_settings */
    const char *def;            /* default, as text */
} key_row;

#define SVC_FIELD(i, f) offsetof(seg_settings, svc[i].f)

static const key_row key_table[] = {
    {"gui.methods", KIND_METHODS, SVC_FIELD(SEG_SVC_GUI, methods), "1.1-1.2"},
    {"gui.ciphers", KIND_CIPHERS, SVC_FIELD(SEG_SVC_GUI, ciphers),
     SEG_DEFAULT_GUI_CIPHERS},
    {"gui.renegotiation", KIND_RENEG, SVC_FIELD(SEG_SVC_GUI, renegotiation),
     "enabled"},
    {"gui.certificate", KIND_PATH, SVC_FIELD(SEG_SVC_GUI, certificate), ""},
    {"inbound.methods", KIND_METHODS, SVC_FIELD(SEG_SVC_INBOUND, methods),
     "1.1-1.2"},
    {"inbound.ciphers", KIND_CIPHERS, SVC_FIELD(SEG_SVC_INBOUND, ciphers),
     SEG_DEFAULT_INBOUND_CIPHERS},
    {"inbound.renegotiation", KIND_RENEG,
     SVC_FIELD(SEG_SVC_INBOUND, renegotiation), "enabled"},
    {"inbound.tls", KIND_MODE_IN, SVC_FIELD(SEG_SVC_INBOUND, tls), "preferred"},
    {"inbound.certificate", KIND_PATH, SVC_FIELD(SEG_SVC_INBOUND, certificate),
     ""},
    {"outbound.methods", KIND_METHODS, SVC_FIELD(SEG_SVC_OUTBOUND, methods),
     "1.1-1.2"},
    {"outbound.ciphers", KIND_CIPHERS, SVC_FIELD(SEG_SVC_OUTBOUND, ciphers),
     SEG_DEFAULT_OUTBOUND_CIPHERS},
    {"outbound.tls", KIND_MODE_OUT, SVC_FIELD(SEG_SVC_OUTBOUND, tls),
     "preferred"},
    {"outbound.ca_file", KIND_PATH, offsetof(seg_settings, outbound_ca_file),
     ""},
    {"other_client.tlsv1_0", KIND_BOOL,
     offsetof(seg_settings, other_client_tlsv1_0), "off"},
    {"peer_cert.fqdn", KIND_BOOL, offsetof(seg_settings, peer_cert_fqdn), "off"},
    {"peer_cert.x509", KIND_BOOL, offsetof(seg_settings, peer_cert_x509), "off"},
};

#define NKEYS G_N_ELEMENTS(key_table)

/* Service names, in seg_service order. */
static const struct {
    const char *key;
    const char *title;
} service_names[SEG_SVC_COUNT] = {
    {"gui", "GUI HTTPS"},
    {"inbound", "Inbound SMTP"},
    {"outbound", "Outbound SMTP"},
};

/* Boolean spellings accepted by the parser. */
static const struct {
    const char *name;
    gboolean    value;
} bool_names[] = {
    {"on", TRUE}, {"off", FALSE}, {"yes", TRUE}, {"no", FALSE},
    {"true", TRUE}, {"false", FALSE}, {"enabled", TRUE}, {"disabled", FALSE},
    {"1", TRUE}, {"0", FALSE},
};

/* field pointers into a settings structure */
#define FIELD(s, row, type) ((type *) ((char *) (s) + (row)->offset))
#define CFIELD(s, row, type) ((const type *) ((const char *) (s) + (row)->offset))

/* seg_service_key - "gui", "inbound", "outbound" */
const char *seg_service_key(seg_service svc)
{
    g_return_val_if_fail(svc < SEG_SVC_COUNT, NULL);
    return service_names[svc].key;
}

/* seg_service_title - "GUI HTTPS", "Inbound SMTP", "Outbound SMTP" */
const char *seg_service_title(seg_service svc)
{
    g_return_val_if_fail(svc < SEG_SVC_COUNT, NULL);
    return service_names[svc].title;
}

/* find_row - table row of a key */
static const key_row *find_row(const char *key)
{
    for (guint i = 0; key && i < NKEYS; i++)
        if (strcmp(key_table[i].key, key) == 0)
            return key_table + i;
    return NULL;
}

/* parse_bool - on/off and friends, case-insensitive */
static gboolean parse_bool(const char *text, gboolean *value)
{
    g_autofree char *t = g_strstrip(g_strdup(text));

    for (guint i = 0; i < G_N_ELEMENTS(bool_names); i++) {
        if (g_ascii_strcasecmp(t, bool_names[i].name) == 0) {
            *value = bool_names[i].value;
            return TRUE;
        }
    }
    return FALSE;
}

/* path_ok - "" (none configured) or a path seg_path_check() accepts */
static gboolean path_ok(const char *path, GError **error)
{
    return *path == 0 || seg_path_check(path, error);
}

/* parse_value - check one value and store it into s */
static gboolean parse_value(seg_settings *s, const key_row *row,
                            const char *value, GError **error)
{
    unsigned mask;
    gboolean flag;
    seg_tls_mode mode;

    switch (row->kind) {
    case KIND_METHODS:
        if (!seg_methods_parse_value(value, &mask, error))
            return FALSE;
        *FIELD(s, row, unsigned) = mask;
        return TRUE;
    case KIND_CIPHERS:
    case KIND_PATH:
        if (row->kind == KIND_CIPHERS ? !seg_cipher_string_check(value, error)
            : !path_ok(value, error))
            return FALSE;
        g_free(*FIELD(s, row, char *));
        *FIELD(s, row, char *) = g_strdup(value);
        return TRUE;
    case KIND_RENEG:
    case KIND_BOOL:
        if (!parse_bool(value, &flag)) {
            g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                                row->kind == KIND_RENEG
                                ? "must be enabled or disabled"
                                : "must be on or off");
            return FALSE;
        }
        *FIELD(s, row, gboolean) = flag;
        return TRUE;
    case KIND_MODE_IN:
    case KIND_MODE_OUT: {
        g_autofree char *t = g_strstrip(g_strdup(value));

        if (!seg_tls_mode_parse(t, row->kind == KIND_MODE_OUT, &mode)) {
            g_set_error_literal(error, SEG_ERROR, SEG_ERROR_INVALID,
                                row->kind == KIND_MODE_OUT
                                ? "must be one of no, preferred, required, "
                                  "preferred-verify, required-verify"
                                : "must be one of no, preferred, required");
            return FALSE;
        }
        *FIELD(s, row, seg_tls_mode) = mode;
        return TRUE;
    }
    }
    g_assert_not_reached();
}

/* format_value - canonical text of one value */
static char *format_value(const seg_settings *s, const key_row *row)
{
    switch (row->kind) {
    case KIND_METHODS:
        return seg_methods_value(*CFIELD(s, row, unsigned));
    case KIND_CIPHERS:
    case KIND_PATH:
        return g_strdup(*CFIELD(s, row, char *));
    case KIND_RENEG:
        return g_strdup(*CFIELD(s, row, gboolean) ? "enabled" : "disabled");
    case KIND_BOOL:
        return g_strdup(*CFIELD(s, row, gboolean) ? "on" : "off");
    case KIND_MODE_IN:
    case KIND_MODE_OUT:
        return g_strdup(seg_tls_mode_name(*CFIELD(s, row, seg_tls_mode)));
    }
    g_assert_not_reached();
}

/* value_equal - one value the same in both */
static gboolean value_equal(const seg_settings *a, const seg_settings *b,
                            const key_row *row)
{
    switch (row->kind) {
    case KIND_METHODS:
        return *CFIELD(a, row, unsigned) == *CFIELD(b, row, unsigned);
    case KIND_CIPHERS:
    case KIND_PATH:
        return g_strcmp0(*CFIELD(a, row, char *), *CFIELD(b, row, char *)) == 0;
    case KIND_RENEG:
    case KIND_BOOL:
        return !*CFIELD(a, row, gboolean) == !*CFIELD(b, row, gboolean);
    case KIND_MODE_IN:
    case KIND_MODE_OUT:
        return *CFIELD(a, row, seg_tls_mode) == *CFIELD(b, row, seg_tls_mode);
    }
    g_assert_not_reached();
}

/* seg_settings_new_default - every key at its default */
seg_settings *seg_settings_new_default(void)
{
    seg_settings *s = g_new0(seg_settings, 1);

    /* Fields without a key still hold valid values. */
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        s->svc[svc].methods = SEG_TLS_V11 | SEG_TLS_V12;
        s->svc[svc].ciphers = g_strdup("");
        s->svc[svc].renegotiation = TRUE;
        s->svc[svc].tls = SEG_TLSMODE_PREFERRED;
        s->svc[svc].certificate = g_strdup("");
    }
    s->outbound_ca_file = g_strdup("");
    s->destctl = seg_destctl_new();
    for (guint i = 0; i < NKEYS; i++) {
        g_autoptr(GError) error = NULL;

        if (!parse_value(s, key_table + i, key_table[i].def, &error))
            g_error("default of %s: %s", key_table[i].key, error->message);
    }
    return s;
}

/* seg_settings_copy - deep copy */
seg_settings *seg_settings_copy(const seg_settings *s)
{
    seg_settings *c = g_memdup2(s, sizeof(*s));

    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        c->svc[svc].ciphers = g_strdup(s->svc[svc].ciphers);
        c->svc[svc].certificate = g_strdup(s->svc[svc].certificate);
    }
    c->outbound_ca_file = g_strdup(s->outbound_ca_file);
    c->destctl = seg_destctl_copy(s->destctl);
    return c;
}

/* seg_settings_free - release a settings structure */
void seg_settings_free(seg_settings *s)
{
    if (s == NULL)
        return;
    for (int svc = 0; svc < SEG_SVC_COUNT; svc++) {
        g_free(s->svc[svc].ciphers);
        g_free(s->svc[svc].certificate);
    }
    g_free(s->outbound_ca_file);
    seg_destctl_free(s->destctl);
    g_free(s);
}

/* seg_settings_equal - same value for every key */
gboolean seg_settings_equal(const seg_settings *a, const seg_settings *b)
{
    for (guint i = 0; i < NKEYS; i++)
        if (!value_equal(a, b, key_table + i))
            return FALSE;
    return seg_destctl_equal(a->destctl, b->destctl);
}

/* seg_settings_keys - all keys in listing order */
const char *const *seg_settings_keys(void)
{
    static const char *keys[NKEYS + 1];
    static gsize done;

    if (g_once_init_enter(&done)) {
        for (guint i = 0; i < NKEYS; i++)
            keys[i] = key_table[i].key;
        g_once_init_leave(&done, 1);
    }
    return keys;
}

/* seg_settings_has_key - does the key exist */
gboolean seg_settings_has_key(const char *key)
{
    return find_row(key) != NULL;
}

/*
 * outbound_methods_keep - a new outbound.methods must still hold the
 * versions of every destination entry; else the value before comes back
 */
static gboolean outbound_methods_keep(seg_settings *s, const key_row *row,
                                      unsigned before, GError **error)
{
    unsigned *now = FIELD(s, row, unsigned);

    if (row->kind != KIND_METHODS || now != &s->svc[SEG_SVC_OUTBOUND].methods
        || s->destctl == NULL || seg_destctl_check_methods(s->destctl, *now, error))
        return TRUE;
    *now = before;
    return FALSE;
}

/* seg_settings_set - parse, check and store one value */
gboolean seg_settings_set(seg_settings *s, const char *key, const char *value,
                          GError **error)
{
    const key_row *row = find_row(key);
    g_autoptr(GError) why = NULL;
    unsigned before;

    g_return_val_if_fail(s != NULL && key != NULL, FALSE);
    if (row == NULL) {
        g_autofree char *q = seg_quote_value(key);
        gboolean plain = strlen(key) <= SEG_QUOTE_MAX && *key
            && key[strspn(key, "abcdefghijklmnopqrstuvwxyz"
                          "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")] == 0;

        g_set_error(error, SEG_ERROR, SEG_ERROR_UNKNOWN_KEY,
                    "%s: no such setting", plain ? key : q);
        return FALSE;
    }
    if (value == NULL)
        value = "";
    before = s->svc[SEG_SVC_OUTBOUND].methods;
    if (!parse_value(s, row, value, &why)
        || !outbound_methods_keep(s, row, before, &why)) {
        g_autofree char *q = seg_quote_value(value);

        g_set_error(error, SEG_ERROR, SEG_ERROR_INVALID, "%s: %s: %s",
                    key, q, why->message);
        return FALSE;
    }
    return TRUE;
}

/* seg_settings_get - canonical text of one value */
char *seg_settings_get(const seg_settings *s, const char *key)
{
    const key_row *row = find_row(key);

    return row ? format_value(s, row) : NULL;
}

/* seg_settings_key_service - the service a key belongs to, -1 for none */
int seg_settings_key_service(const char *key)
{
    for (int svc = 0; key != NULL && svc < SEG_SVC_COUNT; svc++) {
        gsize   n = strlen(service_names[svc].key);

        if (strncmp(key, service_names[svc].key, n) == 0 && key[n] == '.')
            return svc;
    }
    return -1;
}

/* seg_settings_changed_services - services whose settings differ */
unsigned seg_settings_changed_services(const seg_settings *a, const seg_settings *b)
{
    unsigned mask = 0;

    for (guint i = 0; i < NKEYS; i++) {
        int     svc = seg_settings_key_service(key_table[i].key);

        if (svc >= 0 && !value_equal(a, b, key_table + i))
            mask |= 1u << svc;
    }
    if (!seg_destctl_equal(a->destctl, b->destctl))
        mask |= 1u << SEG_SVC_INBOUND | 1u << SEG_SVC_OUTBOUND;
    return mask;
}

/* seg_settings_key_is_file - is the key's value a file path? */
gboolean seg_settings_key_is_file(const char *key)
{
    const key_row *row = find_row(key);

    return row != NULL && row->kind == KIND_PATH;
}

/* seg_renegotiation_note - what holds beyond the setting, or NULL */
const char *seg_renegotiation_note(const seg_settings *s, seg_service svc)
{
    g_return_val_if_fail(svc < SEG_SVC_COUNT, NULL);
    if (svc == SEG_SVC_GUI && s->svc[svc].renegotiation)
        return "nginx cannot renegotiate; not applied";
    return NULL;
}

/* seg_settings_other_client_methods - 1.1-1.2, plus 1.0 when enabled */
unsigned seg_settings_other_client_methods(const seg_settings *s)
{
    return SEG_TLS_V11 | SEG_TLS_V12
        | (s->other_client_tlsv1_0 ? SEG_TLS_V10 : 0);
}
