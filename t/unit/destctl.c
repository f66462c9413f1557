/*
 * destctl - unit tests of the Destination Controls and sender groups
 * (lib/policy/destctl.c), their key-file form, the segtls-policy table,
 * the policy decision and the request parser (lib/util/polreq.c).
 */
#include <string.h>

#include "destctl.h"
#include "error.h"
#include "keyfile.h"
#include "polreq.h"
#include "render.h"
#include "settings.h"
#include "tlsver.h"

#define ALL_OUT (SEG_TLS_V12 | SEG_TLS_V13)

/* set_ok - an entry that must be accepted */
static void set_ok(seg_destctl *dc, const char *d, const char *tls, const char *v)
{
    g_autoptr(GError) err = NULL;

    g_assert_true(seg_destctl_dest_set(dc, d, tls, v, "", "", ALL_OUT, SEG_DEST_ANY, &err));
    g_assert_no_error(err);
}

/* test_match - domain, then .parent, else the default */
static void test_match(void)
{
    g_autoptr(seg_destctl) dc = seg_destctl_new();

    set_ok(dc, "example.com", "required", "");
    set_ok(dc, ".example.com", "preferred", "1.3");
    set_ok(dc, "B.Example.COM", "no", "");
    g_assert_cmpstr(seg_destctl_dest_match(dc, "example.com")->domain, ==, "example.com");
    g_assert_cmpstr(seg_destctl_dest_match(dc, "a.example.com")->domain, ==, ".example.com");
    g_assert_cmpstr(seg_destctl_dest_match(dc, "x.a.example.com")->domain, ==, ".example.com");
    g_assert_cmpstr(seg_destctl_dest_match(dc, "b.example.com")->domain, ==, "b.example.com");
    g_assert_null(seg_destctl_dest_match(dc, "example.org"));
    g_assert_null(seg_destctl_dest_match(dc, "notexample.com"));
    g_assert_cmpuint(seg_destctl_dest_match(dc, "a.example.com")->methods, ==, SEG_TLS_V13);
    g_assert_cmpuint(seg_destctl_dests(dc)->len, ==, 3);
}

/* refused - dest_set fails with exactly this message, nothing changes */
static void refused(const char *d, const char *tls, const char *v, const char *c,
                    const char *x, unsigned out, const char *want)
{
    g_autoptr(seg_destctl) dc = seg_destctl_new();
    g_autoptr(seg_destctl) before = NULL;
    g_autoptr(GError) err = NULL;

    set_ok(dc, "keep.test", "required", "");
    before = seg_destctl_copy(dc);
    g_assert_false(seg_destctl_dest_set(dc, d, tls, v, c, x, out, SEG_DEST_ANY, &err));
    g_assert_cmpstr(err->message, ==, want);
    g_assert_true(seg_destctl_equal(dc, before));
}

/* test_refused - every hostile entry names its rule */
static void test_refused(void)
{
    refused("a b", "required", "", "", "", ALL_OUT,
            "destination \"a b\": character ' ' is not allowed in a domain");
    refused("a\nb", "required", "", "", "", ALL_OUT,
            "destination \"a\\nb\": character '\\n' is not allowed in a domain");
    refused("[1.2.3.4]", "required", "", "", "", ALL_OUT,
            "destination \"[1.2.3.4]\": character '[' is not allowed in a domain");
    refused("a;b", "required", "", "", "", ALL_OUT,
            "destination \"a;b\": character ';' is not allowed in a domain");
    refused("-a.test", "required", "", "", "", ALL_OUT,
            "destination \"-a.test\": label starts or ends with '-'");
    refused("", "required", "", "", "", ALL_OUT, "destination \"\": a domain is needed");
    refused("x.test", "maybe", "", "", "", ALL_OUT,
            "tls \"maybe\": must be one of no, preferred, required, preferred-verify, "
            "required-verify (destination x.test)");
    refused("x.test", "required", "1.1", "", "", ALL_OUT,
            "destination x.test: versions 1.1 are not inside outbound.methods 1.2-1.3");
    refused("x.test", "required", "", "high:x", "", ALL_OUT,
            "ciphers \"high:x\": must be high (outbound.ciphers) or medium (destination x.test)");
    refused("x.test", "required", "", "", "A::B", ALL_OUT,
            "exclude \"A::B\": empty cipher name (destination x.test)");
    refused("x.test", "required", "", "", "A=B", ALL_OUT,
            "exclude \"A=B\": character '=' is not allowed in a cipher name list "
            "(destination x.test)");
}

/* test_groups - members, longest prefix, names, the no-group rule */
static void test_groups(void)
{
    g_autoptr(seg_destctl) dc = seg_destctl_new();
    g_autoptr(GError) err = NULL;
    const char *const wide[] = {"10.0.0.0/8", "mx.example.org", NULL};
    const char *const narrow[] = {" 10.1.0.0/16 ", "2001:DB8::/32", NULL};
    const char *const names[] = {".example.org", NULL};
    const char *const bad[] = {"10.0.0.0/8", NULL};
    const char *const bits[] = {"10.1.2.3/16", NULL};
    const char *const host[] = {"mx.test", NULL};

    g_assert_true(seg_destctl_group_set(dc, "wide", "preferred", wide, SEG_DEST_ANY, &err));
    g_assert_true(seg_destctl_group_set(dc, "narrow", "required", narrow, SEG_DEST_ANY, &err));
    g_assert_true(seg_destctl_group_set(dc, "names", "required", names, SEG_DEST_ANY, &err));
    g_assert_no_error(err);
    g_assert_cmpstr(g_ptr_array_index(seg_destctl_group_find(dc, "narrow")->members, 0), ==,
                    "10.1.0.0/16");
    g_assert_cmpstr(g_ptr_array_index(seg_destctl_group_find(dc, "narrow")->members, 1), ==,
                    "2001:db8::/32");
    g_assert_cmpstr(seg_destctl_group_match(dc, "10.1.2.3", NULL)->name, ==, "narrow");
    g_assert_cmpstr(seg_destctl_group_match(dc, "10.2.2.3", NULL)->name, ==, "wide");
    g_assert_cmpstr(seg_destctl_group_match(dc, "2001:db8::1", NULL)->name, ==, "narrow");
    g_assert_cmpstr(seg_destctl_group_match(dc, "192.0.2.1", "mx.example.org")->name, ==, "wide");
    g_assert_cmpstr(seg_destctl_group_match(dc, "192.0.2.1", "a.example.org")->name, ==, "names");
    g_assert_cmpstr(seg_destctl_group_match(dc, "10.1.0.1", "a.example.org")->name, ==, "narrow");
    g_assert_null(seg_destctl_group_match(dc, "192.0.2.1", "unknown"));
    g_assert_null(seg_destctl_group_match(dc, "not an address", NULL));
    g_assert_false(seg_destctl_group_set(dc, "other", "required", bad, SEG_DEST_ANY, &err));
    g_assert_cmpstr(err->message, ==, "member \"10.0.0.0/8\": already in sender group wide");
    g_clear_error(&err);
    g_assert_false(seg_destctl_group_set(dc, "other", "required", bits, SEG_DEST_ANY, &err));
    g_assert_cmpstr(err->message, ==, "member \"10.1.2.3/16\": host bits set beyond the prefix length");
    g_clear_error(&err);
    g_assert_false(seg_destctl_group_set(dc, "other", "no", host, SEG_DEST_ANY, &err));
    g_assert_true(g_str_has_prefix(err->message, "member \"mx.test\": sender group other has TLS no"));
    g_clear_error(&err);
    g_assert_false(seg_destctl_group_set(dc, "wide", "no", host, SEG_DEST_MUST_BE_NEW, &err));
    g_clear_error(&err);
    g_assert_true(seg_destctl_group_delete(dc, "names", &err));
    g_assert_false(seg_destctl_group_delete(dc, "names", &err));
    g_assert_cmpstr(err->message, ==, "sender group \"names\": no such group");
}

/* test_keyfile - the tables survive the key file; hand edits name the line */
static void test_keyfile(void)
{
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(seg_settings) back = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    const char *const m[] = {"127.0.0.2", NULL};
    const char *bad = "[outbound]\nmethods=1.2\n\n[destination old.test]\ntls=preferred\nmethods=1.3\n";
    const char *badkey = "[destination old.test]\ntls=preferred\nport=25\n";
    gsize   len;

    g_assert_true(seg_settings_set(s, "outbound.methods", "1.2-1.3", &err));
    g_assert_true(seg_destctl_dest_set(s->destctl, "old.test", "preferred", "1.3", "medium",
                                       "RC4:3DES", s->svc[SEG_SVC_OUTBOUND].methods,
                                       SEG_DEST_ANY, &err));
    g_assert_true(seg_destctl_group_set(s->destctl, "relays", "required", m, SEG_DEST_ANY, &err));
    text = seg_settings_to_keyfile(s, &len);
    g_assert_nonnull(strstr(text, "[destination old.test]\ntls=preferred\nmethods=1.3\n"
                            "ciphers=medium\nexclude=RC4:3DES\n"));
    g_assert_nonnull(strstr(text, "[sendergroup relays]\ntls=required\nmembers=127.0.0.2/32\n"));
    back = seg_settings_from_keyfile(text, len, "t.conf", &err);
    g_assert_no_error(err);
    g_assert_true(seg_settings_equal(s, back));
    /* outbound.methods may not leave the entry behind */
    g_assert_false(seg_settings_set(back, "outbound.methods", "1.2", &err));
    g_assert_cmpstr(err->message, ==, "outbound.methods: \"1.2\": destination old.test: "
                    "versions 1.3 are not inside outbound.methods 1.2");
    g_assert_cmpuint(back->svc[SEG_SVC_OUTBOUND].methods, ==, ALL_OUT);
    g_clear_error(&err);
    g_assert_null(seg_settings_from_keyfile(bad, strlen(bad), "h.conf", &err));
    g_assert_cmpstr(err->message, ==, "h.conf:4: destination old.test: versions 1.3 are "
                    "not inside outbound.methods 1.2");
    g_clear_error(&err);
    g_assert_null(seg_settings_from_keyfile(badkey, strlen(badkey), "k.conf", &err));
    g_assert_cmpstr(err->message, ==, "k.conf:3: unknown key port in [destination]");
}

/* test_table - segtls-policy's table: format, parse, the end line */
static void test_table(void)
{
    g_autoptr(seg_destctl) dc = seg_destctl_new();
    g_autoptr(seg_destctl) back = NULL;
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;
    const char *const m[] = {"127.0.0.2", "10.0.0.0/8", NULL};
    int     dflt = -1;

    g_assert_true(seg_destctl_group_set(dc, "relays", "required", m, SEG_DEST_ANY, &err));
    text = seg_destctl_groups_format(dc, SEG_TLSMODE_REQUIRED);
    g_assert_nonnull(strstr(text, "\n*\trequired\t*\nrelays\trequired\t10.0.0.0/8,127.0.0.2/32\n# end\n"));
    back = seg_destctl_groups_parse(text, strlen(text), &dflt, &err);
    g_assert_no_error(err);
    g_assert_cmpint(dflt, ==, SEG_TLSMODE_REQUIRED);
    g_assert_true(seg_destctl_equal(dc, back));
    /* cut short: refused */
    g_assert_null(seg_destctl_groups_parse(text, strlen(text) - 6, &dflt, &err));
    g_assert_cmpstr(err->message, ==, "the table ends before its \"# end\" line");
    g_clear_error(&err);
    g_assert_null(seg_destctl_groups_parse("x\tno\t1.2.3.4/33\n# end\n", 22, &dflt, &err));
    g_assert_cmpstr(err->message, ==, "1: member \"1.2.3.4/33\": prefix length out of range (0-32)");
}

/* ask - the policy action of a request given as lines */
static const char *ask(const seg_destctl *dc, int dflt, const char *text)
{
    static char action[128];
    g_autoptr(seg_polreq) r = seg_polreq_new();
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GError) err = NULL;

    for (char **l = lines; *l; l++)
        if (seg_polreq_line(r, *l, strlen(*l), &err) == SEG_POLREQ_DONE)
            break;
    g_assert_no_error(err);
    g_strlcpy(action, seg_destctl_policy_action(dc, dflt, r, NULL), sizeof(action));
    return action;
}

/* test_policy - the answers and the parser's limits */
static void test_policy(void)
{
    g_autoptr(seg_destctl) dc = seg_destctl_new();
    g_autoptr(seg_polreq) r = seg_polreq_new();
    g_autoptr(GError) err = NULL;
    const char *const req[] = {"127.0.0.2", NULL};
    g_autofree char *longline = g_strnfill(SEG_POLREQ_MAX_LINE + 1, 'a');

    g_assert_true(seg_destctl_group_set(dc, "r", "required", req, SEG_DEST_ANY, &err));
    g_assert_cmpstr(ask(dc, SEG_TLSMODE_PREFERRED, "request=smtpd_access_policy\n"
                        "protocol_state=MAIL\nclient_address=127.0.0.2\n"
                        "encryption_protocol=\n\n"), ==, SEG_POLICY_REFUSE);
    g_assert_cmpstr(ask(dc, SEG_TLSMODE_PREFERRED, "request=smtpd_access_policy\n"
                        "protocol_state=MAIL\nclient_address=127.0.0.2\n"
                        "encryption_protocol=TLSv1.3\n\n"), ==, "DUNNO");
    g_assert_cmpstr(ask(dc, SEG_TLSMODE_PREFERRED, "request=smtpd_access_policy\n"
                        "protocol_state=CONNECT\nclient_address=127.0.0.2\n\n"), ==, "DUNNO");
    g_assert_cmpstr(ask(dc, SEG_TLSMODE_PREFERRED, "request=smtpd_access_policy\n"
                        "protocol_state=RCPT\nclient_address=127.0.0.9\n\n"), ==, "DUNNO");
    g_assert_cmpstr(ask(dc, SEG_TLSMODE_REQUIRED, "request=smtpd_access_policy\n"
                        "protocol_state=RCPT\nclient_address=127.0.0.9\n\n"), ==, SEG_POLICY_REFUSE);
    g_assert_cmpstr(ask(dc, SEG_TLSMODE_REQUIRED, "request=junk\nprotocol_state=RCPT\n\n"),
                    ==, "DUNNO");
    /* limits */
    g_assert_cmpint(seg_polreq_line(r, "", 0, &err), ==, SEG_POLREQ_ERROR);
    g_clear_error(&err);
    g_assert_cmpint(seg_polreq_line(r, longline, strlen(longline), &err), ==, SEG_POLREQ_ERROR);
    g_assert_cmpstr(err->message, ==, "policy request: line longer than 2048 bytes");
    g_clear_error(&err);
    g_assert_cmpint(seg_polreq_line(r, "a=1", 3, &err), ==, SEG_POLREQ_MORE);
    g_assert_cmpint(seg_polreq_line(r, "a=2", 3, &err), ==, SEG_POLREQ_ERROR);
    g_assert_cmpstr(err->message, ==, "policy request: attribute a given twice");
    g_clear_error(&err);
    g_assert_cmpint(seg_polreq_line(r, "b=x\001", 4, &err), ==, SEG_POLREQ_ERROR);
    g_clear_error(&err);
    g_assert_cmpint(seg_polreq_line(r, "b=x\0y", 5, &err), ==, SEG_POLREQ_ERROR);
    g_clear_error(&err);
    for (int i = 1; i < SEG_POLREQ_MAX_ATTRS; i++) {
        g_autofree char *l = g_strdup_printf("n%d=v", i);

        g_assert_cmpint(seg_polreq_line(r, l, strlen(l), &err), ==, SEG_POLREQ_MORE);
    }
    g_assert_cmpint(seg_polreq_line(r, "z=1", 3, &err), ==, SEG_POLREQ_ERROR);
    g_assert_cmpstr(err->message, ==, "policy request: more than 64 attributes");
}

/* test_render_hops - entries under their next hop; a shared hop must agree */
static void test_render_hops(void)
{
    static const char *const smtpd[] = {"smtp/inet", NULL};
    static const char *const smtp[] = {"smtp/unix", NULL};
    static const char *const routes[] = {"a.test\t[127.0.0.1]:2525", "b.test\t[127.0.0.1]:2525",
                                         NULL};
    seg_render_target t = {.smtpd_services = smtpd, .smtp_services = smtp,
                           .tls_config_file = "/etc/segtls/postfix-tls.cnf",
                           .routes = routes};
    g_autoptr(seg_settings) s = seg_settings_new_default();
    g_autoptr(seg_render) r = NULL;
    g_autoptr(GError) err = NULL;

    set_ok(s->destctl, "a.test", "required", "");
    set_ok(s->destctl, "b.test", "required", "");
    r = seg_render_new(s, &t, &err);
    g_assert_no_error(err);
    g_assert_nonnull(strstr(r->policy_map, "a.test encrypt\nb.test encrypt\n"
                            "# next hops of the entries above\n[127.0.0.1]:2525 encrypt\n# end\n"));
    g_clear_pointer(&r, seg_render_free);
    set_ok(s->destctl, "b.test", "preferred", "");
    g_assert_null(seg_render_new(s, &t, &err));
    g_assert_cmpstr(err->message, ==, "destination b.test: its mail goes to next hop "
                    "[127.0.0.1]:2525 like that of another entry with another TLS policy; "
                    "Postfix chooses the TLS policy by next hop");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/destctl/match", test_match);
    g_test_add_func("/destctl/refused", test_refused);
    g_test_add_func("/destctl/groups", test_groups);
    g_test_add_func("/destctl/keyfile", test_keyfile);
    g_test_add_func("/destctl/table", test_table);
    g_test_add_func("/destctl/policy", test_policy);
    g_test_add_func("/destctl/render_hops", test_render_hops);
    return g_test_run();
}
