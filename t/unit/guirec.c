/*
 * guirec - unit tests of the web UI's gui_logs shapes: each shape
 * exactly, "-" for empty fields, hostile paths, agents and names
 * neutralised (one line, fields still split on spaces), records cut
 * to the buffer without a torn escape.
 */
#include <string.h>
#include <glib.h>

#include "guirec.h"

/* fmt - format one record into a static buffer */
static const char *fmt(const seg_guirec *r)
{
    static char buf[SEG_GUIREC_MAX];

    g_assert_cmpuint(seg_guirec_format(r, buf, sizeof(buf)), ==, strlen(buf));
    return buf;
}

/* test_shapes - every shape of SPEC 9.1 */
static void test_shapes(void)
{
    seg_guirec r = {
        .ip = "192.0.2.7", .user = "alice", .session = "Zm9vYmFy", .role = "admin",
        .status = 200, .method = "GET", .path = "/ssl_config",
        .agent = "Mozilla/5.0 (X11; Linux x86_64)", .text = SEG_GUIREC_LOGIN,
    };

    r.kind = SEG_GUIREC_REQUEST;
    g_assert_cmpstr(fmt(&r), ==, "req:192.0.2.7 user:alice id:Zm9vYmFy 200 GET "
                    "/ssl_config HTTP/1.1 Mozilla/5.0 (X11; Linux x86_64)");
    r.kind = SEG_GUIREC_ACTION;
    g_assert_cmpstr(fmt(&r), ==, "SourceIP:192.0.2.7 Destination:/ssl_config "
                    "Username:alice Privilege:admin session:Zm9vYmFy Action: "
                    "The HTTPS session has been established successfully.");
    r.kind = SEG_GUIREC_IDLE;
    g_assert_cmpstr(fmt(&r), ==, "Action: User alice logged out from session "
                    "Zm9vYmFy beacuse of inactivity timeout");
    r.kind = SEG_GUIREC_LOGOUT;
    g_assert_cmpstr(fmt(&r), ==, "Action: User alice logged out from session Zm9vYmFy");
    r.kind = SEG_GUIREC_EXPIRED;
    g_assert_cmpstr(fmt(&r), ==, "Session Zm9vYmFy user:alice expired");
    r.kind = SEG_GUIREC_UNKNOWN;
    g_assert_cmpstr(fmt(&r), ==, "Session Zm9vYmFy from 192.0.2.7 not found "
                    "Destination:/ssl_config");
}

/* test_empty - absent fields are "-", the status three digits */
static void test_empty(void)
{
    seg_guirec r = {.kind = SEG_GUIREC_REQUEST, .ip = "::1", .status = 401,
                    .method = "PUT", .path = "/api/v1/settings/pending", .user = ""};

    g_assert_cmpstr(fmt(&r), ==, "req:::1 user:- id:- 401 PUT "
                    "/api/v1/settings/pending HTTP/1.1 -");
    r.status = 0;
    g_assert_cmpstr(fmt(&r), ==, "req:::1 user:- id:- 000 PUT "
                    "/api/v1/settings/pending HTTP/1.1 -");
}

/* test_hostile - control characters, spaces, backslashes, 8-bit bytes */
static void test_hostile(void)
{
    seg_guirec r = {.kind = SEG_GUIREC_REQUEST, .ip = "127.0.0.1", .user = "bob\nroot",
                    .session = "-", .status = 404, .method = "GET",
                    .path = "/a b\r\nInfo: forged\x1b[2J\\",
                    .agent = "curl/7\n\tInfo: x \xc3\xa9\x7f"};
    const char *got = fmt(&r);

    g_assert_cmpstr(got, ==, "req:127.0.0.1 user:bob\\x0Aroot id:- 404 GET "
                    "/a%20b\\x0D\\x0AInfo:%20forged\\x1B[2J\\x5C HTTP/1.1 "
                    "curl/7\\x0A\\x09Info: x \\xC3\\xA9\\x7F");
    g_assert_null(strpbrk(got, "\r\n\t"));
    /* the fields before the agent still split on spaces */
    {
        g_auto(GStrv) f = g_strsplit(got, " ", 8);

        g_assert_cmpstr(f[5], ==, "/a%20b\\x0D\\x0AInfo:%20forged\\x1B[2J\\x5C");
        g_assert_cmpstr(f[6], ==, "HTTP/1.1");
    }
    r.kind = SEG_GUIREC_ACTION;
    r.role = "admin";
    r.text = "Changes committed: a\nWarning: b";
    g_assert_cmpstr(strstr(fmt(&r), "Action: "), ==,
                    "Action: Changes committed: a\\x0AWarning: b");
}

/* test_cut - a small buffer cuts the record, never inside an escape */
static void test_cut(void)
{
    char    buf[24];
    seg_guirec r = {.kind = SEG_GUIREC_EXPIRED, .session = "\x01\x01\x01\x01\x01",
                    .user = "u"};
    size_t  n = seg_guirec_format(&r, buf, sizeof(buf));

    g_assert_cmpuint(n, ==, strlen(buf));
    g_assert_cmpstr(buf, ==, "Session \\x01\\x01\\x01");
    g_assert_cmpuint(seg_guirec_format(&r, buf, 1), ==, 0);
    r.kind = SEG_GUIREC_NKINDS;
    g_assert_cmpuint(seg_guirec_format(&r, buf, sizeof(buf)), ==, 0);
}

/* main - the tests */
int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/guirec/shapes", test_shapes);
    g_test_add_func("/guirec/empty", test_empty);
    g_test_add_func("/guirec/hostile", test_hostile);
    g_test_add_func("/guirec/cut", test_cut);
    return g_test_run();
}
