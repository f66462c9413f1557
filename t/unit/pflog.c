/*
 * pflog - unit tests of the Postfix log parser.
 *
 * The log lines are copied from real Postfix 3.7 logs (t/data/pflog/).
 */
#include <stdlib.h>
#include <string.h>

#include "pflog.h"

typedef struct {
    seg_ids    *ids;
    seg_pflog  *p;
    GPtrArray  *out;            /* "WHEN|text" */
} fixture;

/* collect - the emit callback: remember each record with its time */
static void collect(void *ctx, time_t when, seg_record_level level, const char *text, size_t len)
{
    fixture *f = ctx;

    g_assert_cmpint(level, ==, SEG_RECORD_INFO);
    g_ptr_array_add(f->out, g_strdup_printf("%ld|%.*s", (long) when, (int) len, text));
}

/* setup - a fresh parser with in-memory IDs, RFC 3164 year 2026, UTC */
static void setup(fixture *f, gconstpointer data)
{
    g_setenv("TZ", "UTC", TRUE);
    tzset();
    f->ids = seg_ids_open(NULL, NULL);
    f->p = seg_pflog_new(f->ids, collect, f);
    seg_pflog_set_year(f->p, 2026);
    f->out = g_ptr_array_new_with_free_func(g_free);
}

/* teardown - free everything */
static void teardown(fixture *f, gconstpointer data)
{
    seg_pflog_free(f->p);
    seg_ids_close(f->ids);
    g_ptr_array_unref(f->out);
}

/* feed - lines separated by \n; flush at the end when asked */
static void feed(fixture *f, const char *text, gboolean flush)
{
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);

    for (char **l = lines; *l; l++)
        if (**l)
            seg_pflog_line(f->p, *l, strlen(*l));
    if (flush)
        seg_pflog_flush(f->p);
}

/* expect - the records so far, one per line, without times */
static void expect(fixture *f, const char *want)
{
    g_autoptr(GString) got = g_string_new(NULL);

    for (guint i = 0; i < f->out->len; i++) {
        const char *r = strchr(f->out->pdata[i], '|') + 1;

        g_string_append_printf(got, "%s\n", r);
    }
    g_assert_cmpstr(got->str, ==, want);
}

#define T_0806 "Nov 27 23:20:06 mta "
#define T_0807 "Nov 27 23:20:07 mta "

/* test_inbound_tls - connect, TLS success, close */
static void test_inbound_tls(fixture *f, gconstpointer data)
{
    feed(f,
         T_0806 "postfix/smtpd[28051]: connect from localhost[127.0.0.1]:54534\n"
         T_0806 "postfix/smtpd[28051]: Anonymous TLS connection established from localhost[127.0.0.1]:54534: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n"
         T_0806 "postfix/smtpd[28051]: lost connection after STARTTLS from localhost[127.0.0.1]:54534\n"
         T_0806 "postfix/smtpd[28051]: disconnect from localhost[127.0.0.1]:54534 ehlo=1 starttls=1 commands=2\n"
         T_0806 "postfix/submission/smtpd[28053]: connect from unknown[192.0.2.7]:1025\n"
         T_0807 "postfix/submission/smtpd[28053]: Trusted TLS connection established from unknown[192.0.2.7]:1025: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)\n"
         T_0807 "postfix/submission/smtpd[28053]: disconnect from unknown[192.0.2.7]:1025 ehlo=2 starttls=1 quit=1 commands=4\n",
         TRUE);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 1 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\n"
           "ICID 1 close\n"
           "New SMTP ICID 2 interface unknown (unknown) address 192.0.2.7 reverse dns host unknown verified no\n"
           "ICID 2 TLS success protocol TLSv1.2 cipher ECDHE-RSA-AES256-GCM-SHA384\n"
           "ICID 2 close\n");
    /* the record time is the line's time */
    g_assert_cmpstr(f->out->pdata[0], ==,
                    "1795821606|New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes");
    g_assert_true(g_str_has_prefix(f->out->pdata[4], "1795821607|"));
}

/*
 * test_service_interfaces - each smtpd syslog name its listen address; the
 * smtp client's source address on DCIDs; unknown syslog names unknown
 */
static void test_service_interfaces(fixture *f, gconstpointer data)
{
    seg_pflog_set_service_interface(f->p, "postfix", "lo", "127.0.0.1");
    seg_pflog_set_service_interface(f->p, "postfix/submission", "eth0", "192.0.2.25");
    seg_pflog_set_client_address(f->p, "192.0.2.26");
    feed(f,
         T_0806 "postfix/smtpd[28051]: connect from localhost[127.0.0.1]:54534\n"
         T_0806 "postfix/submission/smtpd[28053]: connect from unknown[192.0.2.7]:1025\n"
         T_0806 "postfix/other/smtpd[28054]: connect from unknown[192.0.2.8]:1026\n"
         T_0807 "postfix/smtp[28060]: Untrusted TLS connection established to b.test[192.0.2.2]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)\n",
         FALSE);
    expect(f,
           "New SMTP ICID 1 interface lo (127.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "New SMTP ICID 2 interface eth0 (192.0.2.25) address 192.0.2.7 reverse dns host unknown verified no\n"
           "New SMTP ICID 3 interface unknown (unknown) address 192.0.2.8 reverse dns host unknown verified no\n"
           "New SMTP DCID 1 interface 192.0.2.26 address 192.0.2.2 port 25\n"
           "DCID 1 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\n");
}

/* test_inbound_failed - SSL_accept error + library problem -> error tuple */
static void test_inbound_failed(fixture *f, gconstpointer data)
{
    seg_pflog_stats st;

    seg_pflog_set_interface(f->p, "Data1", "10.0.0.1");
    feed(f,
         T_0807 "postfix/smtpd[28051]: warning: hostname mail.example does not resolve to address 198.51.100.9: Name or service not known\n"
         T_0807 "postfix/smtpd[28051]: connect from unknown[198.51.100.9]:43994\n"
         T_0807 "postfix/smtpd[28051]: SSL_accept error from unknown[198.51.100.9]:43994: -1\n"
         T_0807 "postfix/smtpd[28051]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:\n"
         T_0807 "postfix/smtpd[28051]: lost connection after STARTTLS from unknown[198.51.100.9]:43994\n"
         T_0807 "postfix/smtpd[28051]: disconnect from unknown[198.51.100.9]:43994 ehlo=1 starttls=0/1 commands=1/2\n"
         /* no library line: the reason is kept */
         T_0807 "postfix/smtpd[28051]: connect from localhost[127.0.0.1]:4000\n"
         T_0807 "postfix/smtpd[28051]: SSL_accept error from localhost[127.0.0.1]:4000: lost connection\n"
         T_0807 "postfix/smtpd[28051]: disconnect from localhost[127.0.0.1]:4000 ehlo=1 starttls=0/1 commands=1/2\n"
         T_0807 "postfix/smtpd[28051]: connect from localhost[127.0.0.1]:4001\n"
         T_0807 "postfix/smtpd[28051]: NOQUEUE: reject: MAIL from localhost[127.0.0.1]:4001: 530 5.7.0 Must issue a STARTTLS command first; proto=ESMTP helo=<x>\n"
         T_0807 "postfix/smtpd[28051]: connect from localhost[127.0.0.1]:4002\n",
         TRUE);
    expect(f,
           "New SMTP ICID 1 interface Data1 (10.0.0.1) address 198.51.100.9 reverse dns host mail.example verified no\n"
           "ICID 1 TLS failed: (167772418, 'error:0A000102:SSL routines::unsupported protocol')\n"
           "ICID 1 close\n"
           "New SMTP ICID 2 interface Data1 (10.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 2 TLS failed: (0, 'lost connection')\n"
           "ICID 2 close\n"
           "New SMTP ICID 3 interface Data1 (10.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 3 TLS was required but remote host did not initiate it\n"
           "ICID 3 close\n"                 /* its disconnect line was lost */
           "New SMTP ICID 4 interface Data1 (10.0.0.1) address 127.0.0.1 reverse dns host localhost verified yes\n");
    seg_pflog_get_stats(f->p, &st);
    g_assert_cmpuint(st.lines, ==, 12);
    /* "lost connection after" writes the failure (the library lines before it may be several) */
    g_assert_cmpuint(st.used, ==, 12);
    g_assert_cmpuint(st.skipped, ==, 0);
    g_assert_cmpuint(st.records, ==, 10);
}

/*
 * test_tls_last_error - Postfix logs every error of the OpenSSL queue;
 * the record has the last, the SSL library's reason (as tlserr.h reads
 * errors): a TLS 1.2 Finished with a bad MAC (Postfix 3.7.11, OpenSSL 3.0)
 */
static void test_tls_last_error(fixture *f, gconstpointer data)
{
    feed(f,
         "Dec 05 20:14:39 mta postfix/smtpd[2218]: connect from localhost[127.0.0.1]:48324\n"
         "Dec 05 20:14:39 mta postfix/smtpd[2218]: SSL_accept error from localhost[127.0.0.1]:48324: -1\n"
         "Dec 05 20:14:39 mta postfix/smtpd[2218]: warning: TLS library problem: error:1C800066:Provider routines::cipher operation failed:../providers/implementations/ciphers/ciphercommon_gcm.c:323:\n"
         "Dec 05 20:14:39 mta postfix/smtpd[2218]: warning: TLS library problem: error:0A000119:SSL routines::decryption failed or bad record mac:../ssl/record/ssl3_record.c:616:\n"
         "Dec 05 20:14:39 mta postfix/smtpd[2218]: lost connection after STARTTLS from localhost[127.0.0.1]:48324\n"
         "Dec 05 20:14:39 mta postfix/smtpd[2218]: disconnect from localhost[127.0.0.1]:48324 ehlo=1 starttls=0/1 commands=1/2\n"
         /* the same outbound: the outcome line writes it */
         "Dec 05 20:14:40 mta postfix/smtp[2300]: SSL_connect error to b[192.0.2.2]:25: -1\n"
         "Dec 05 20:14:40 mta postfix/smtp[2300]: warning: TLS library problem: error:1C800066:Provider routines::cipher operation failed:../providers/implementations/ciphers/ciphercommon_gcm.c:323:\n"
         "Dec 05 20:14:40 mta postfix/smtp[2300]: warning: TLS library problem: error:0A000119:SSL routines::decryption failed or bad record mac:../ssl/record/ssl3_record.c:616:\n"
         "Dec 05 20:14:40 mta postfix/smtp[2300]: 1A2B3C4D5E: to=<a@b.test>, relay=b[192.0.2.2]:25, delay=0.1, delays=0/0/0.1/0, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)\n"
         /* a last library line is written at the end of the input */
         "Dec 05 20:14:41 mta postfix/smtpd[2219]: connect from localhost[127.0.0.1]:48330\n"
         "Dec 05 20:14:41 mta postfix/smtpd[2219]: SSL_accept error from localhost[127.0.0.1]:48330: -1\n"
         "Dec 05 20:14:41 mta postfix/smtpd[2219]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:\n",
         TRUE);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 1 TLS failed: (167772441, 'error:0A000119:SSL routines::decryption failed or bad record mac')\n"
           "ICID 1 close\n"
           "New SMTP DCID 1 interface unknown address 192.0.2.2 port 25\n"
           "Start MID 1 ICID 0\n"
           "MID 1 ICID 0 RID 0 To: <a@b.test>\n"
           "DCID 1 TLS deferring: (167772441, 'error:0A000119:SSL routines::decryption failed or bad record mac')\n"
           "New SMTP ICID 2 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 2 TLS failed: (167772418, 'error:0A000102:SSL routines::unsupported protocol')\n"
           "DCID 1 close\n");
}

/* test_message - a message in, delivered to 2 recipients over TLS 1.3 */
static void test_message(fixture *f, gconstpointer data)
{
    feed(f,
         "Nov 27 23:20:08 mta postfix/smtpd[28051]: connect from localhost[127.0.0.1]:54560\n"
         "Nov 27 23:20:08 mta postfix/smtpd[28051]: 2A832A7213B: client=localhost[127.0.0.1]:54560\n"
         "Nov 27 23:20:08 mta postfix/cleanup[28249]: 2A832A7213B: message-id=<20261127232007.028231@vm>\n"
         "Nov 27 23:20:08 mta postfix/qmgr[28041]: 2A832A7213B: from=<a@example.org>, size=378, nrcpt=2 (queue active)\n"
         "Nov 27 23:20:08 mta postfix/smtpd[28051]: disconnect from localhost[127.0.0.1]:54560 ehlo=2 starttls=1 mail=1 rcpt=2 data=1 quit=1 commands=8\n"
         "Nov 27 23:20:08 mta postfix/smtp[28251]: Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:14026: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n"
         "Nov 27 23:20:08 mta postfix/smtp[28251]: 2A832A7213B: to=<b@example.net>, relay=127.0.0.1[127.0.0.1]:14026, delay=0.09, delays=0.03/0.01/0/0.04, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 38D7DA7213D)\n"
         "Nov 27 23:20:09 mta postfix/smtp[28251]: 2A832A7213B: to=<c@example.net>, relay=127.0.0.1[127.0.0.1]:14026, delay=0.09, delays=0.03/0.01/0/0.04, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 38D7DA7213D)\n"
         "Nov 27 23:20:09 mta postfix/qmgr[28041]: 2A832A7213B: removed\n",
         FALSE);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "Start MID 1 ICID 1\n"
           "MID 1 ICID 1 From: <a@example.org>\n"
           "ICID 1 close\n"
           "New SMTP DCID 1 interface unknown address 127.0.0.1 port 14026\n"
           "DCID 1 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\n"
           "MID 1 ICID 1 RID 0 To: <b@example.net>\n"
           "MID 1 ICID 1 RID 1 To: <c@example.net>\n"
           "Delivery start DCID 1 MID 1 to RID [0, 1]\n"
           "Message done DCID 1 MID 1 to RID [0, 1]\n"
           "DCID 1 close\n"
           "Message finished MID 1 done\n");
    g_assert_true(g_str_has_prefix(f->out->pdata[8], "1795821608|Delivery start"));
    g_assert_true(g_str_has_prefix(f->out->pdata[9], "1795821609|Message done"));
}

/* test_outbound_failures - deferring, failed + plaintext, STARTTLS missing */
static void test_outbound_failures(fixture *f, gconstpointer data)
{
    feed(f,
         "Nov 27 23:20:09 mta postfix/smtp[28251]: SSL_connect error to 127.0.0.1[127.0.0.1]:14041: -1\n"
         "Nov 27 23:20:09 mta postfix/smtp[28251]: warning: TLS library problem: error:0A00042E:SSL routines::tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70:\n"
         "Nov 27 23:20:09 mta postfix/smtp[28251]: 6C1B3A72147: to=<d@v10.test>, relay=127.0.0.1[127.0.0.1]:14041, delay=0.01, delays=0.01/0/0/0, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)\n"
         "Nov 27 23:20:10 mta postfix/smtp[28343]: 87CD4A72140: to=<e@plain.test>, relay=127.0.0.1[127.0.0.1]:14042, delay=0.02, delays=0/0.02/0/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host 127.0.0.1[127.0.0.1])\n"
         "Nov 27 23:20:12 mta postfix/qmgr[28041]: 6C1B3A72147: from=<a@example.org>, size=376, nrcpt=1 (queue active)\n"
         "Nov 27 23:20:12 mta postfix/smtp[28251]: SSL_connect error to 127.0.0.1[127.0.0.1]:14041: -1\n"
         "Nov 27 23:20:12 mta postfix/smtp[28251]: warning: TLS library problem: error:0A00042E:SSL routines::tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70:\n"
         "Nov 27 23:20:12 mta postfix/smtp[28251]: 6C1B3A72147: Cannot start TLS: handshake failure\n"
         "Nov 27 23:20:12 mta postfix/smtp[28251]: 6C1B3A72147: to=<d@v10.test>, relay=127.0.0.1[127.0.0.1]:14041, delay=3.2, delays=3.1/0/0/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 907F2A72114)\n"
         "Nov 27 23:20:12 mta postfix/qmgr[28041]: 6C1B3A72147: removed\n",
         TRUE);
    expect(f,
           "New SMTP DCID 1 interface unknown address 127.0.0.1 port 14041\n"
           "Start MID 1 ICID 0\n"
           "MID 1 ICID 0 RID 0 To: <d@v10.test>\n"
           "DCID 1 TLS deferring: (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')\n"
           "New SMTP DCID 2 interface unknown address 127.0.0.1 port 14042\n"
           "Start MID 2 ICID 0\n"
           "MID 2 ICID 0 RID 0 To: <e@plain.test>\n"
           "DCID 2 STARTTLS command not supported.\n"
           "DCID 1 close\n"
           "MID 1 ICID 0 From: <a@example.org>\n"
           "New SMTP DCID 3 interface unknown address 127.0.0.1 port 14041\n"
           "DCID 3 TLS failed: (167773230, 'error:0A00042E:SSL routines::tlsv1 alert protocol version')\n"
           "Delivery start DCID 3 MID 1 to RID [0]\n"
           "Message done DCID 3 MID 1 to RID [0]\n"
           "DCID 3 close\n"
           "Message finished MID 1 done\n"
           "DCID 2 close\n");          /* at the flush */
}

/*
 * test_forged - what a remote sender chose, quotes and all, is one field
 * (issue 13 item 13). Lines from Postfix 3.7.11 (private instance, next
 * hop under smtp_tls_security_level = encrypt without STARTTLS) given
 * RCPT TO:<"x>, relay=bank.example[203.0.113.5]:25, delay=0, dsn=2.0.0,
 * status=sent (ok"@evil.test>, MAIL FROM:<"a>, size=1"@example.org>, and
 * a rejected RCPT TO:<"Must issue a STARTTLS command first"@rej.test>
 * sent with that HELO name too.
 */
static void test_forged(fixture *f, gconstpointer data)
{
    feed(f,
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: connect from localhost[127.0.0.1]:44848\n"
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: CFE46A721AC: client=localhost[127.0.0.1]:44848\n"
         "Dec 05 19:43:52 mta postfix/cleanup[3851]: CFE46A721AC: message-id=<20261205194352.CFE46A721AC@mta.test.local>\n"
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: disconnect from localhost[127.0.0.1]:44848 ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5\n"
         "Dec 05 19:43:52 mta postfix/qmgr[3803]: CFE46A721AC: from=<a@example.org>, size=385, nrcpt=1 (queue active)\n"
         "Dec 05 19:43:52 mta postfix/smtp[3852]: CFE46A721AC: to=<\"x>, relay=bank.example[203.0.113.5]:25, delay=0, dsn=2.0.0, status=sent (ok\"@evil.test>, relay=127.0.0.1[127.0.0.1]:52827, delay=0.01, delays=0.01/0.01/0/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host 127.0.0.1[127.0.0.1])\n"
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: connect from localhost[127.0.0.1]:44860\n"
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: E6424A721B8: client=localhost[127.0.0.1]:44860\n"
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: NOQUEUE: reject: RCPT from localhost[127.0.0.1]:44860: 554 5.7.1 <Must issue a STARTTLS command first@rej.test>: Recipient address rejected: Access denied; from=<\"a>, size=1\"@example.org> to=<\"Must issue a STARTTLS command first\"@rej.test> proto=ESMTP helo=<Must?issue?a?STARTTLS?command?first>\n"
         "Dec 05 19:43:52 mta postfix/smtpd[3806]: disconnect from localhost[127.0.0.1]:44860 ehlo=1 mail=1 rcpt=3/4 data=1 quit=1 commands=7/8\n"
         "Dec 05 19:43:52 mta postfix/qmgr[3803]: E6424A721B8: from=<\"a>, size=1\"@example.org>, size=301, nrcpt=3 (queue active)\n"
         "Dec 05 19:43:52 mta postfix/smtp[3852]: E6424A721B8: to=<\"q\\\"uo\\\\te>\"@y.test>, relay=127.0.0.1[127.0.0.1]:52827, delay=0, delays=0/0/0/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host 127.0.0.1[127.0.0.1])\n"
         "Dec 05 19:43:52 mta postfix/smtp[3852]: E6424A721B8: to=<\"sp ace\"@z.test>, orig_to=<\"o>, relay=x[1.2.3.4]:25, status=sent (\"@z.test>, relay=127.0.0.1[127.0.0.1]:52827, conn_use=2, delay=0, delays=0/0/0/0, dsn=4.7.4, status=deferred (TLS is required, but was not offered by host 127.0.0.1[127.0.0.1])\n",
         TRUE);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "Start MID 1 ICID 1\n"
           "ICID 1 close\n"
           "MID 1 ICID 1 From: <a@example.org>\n"
           "New SMTP DCID 1 interface unknown address 127.0.0.1 port 52827\n"
           "MID 1 ICID 1 RID 0 To: <\"x>, relay=bank.example[203.0.113.5]:25, delay=0, dsn=2.0.0, status=sent (ok\"@evil.test>\n"
           "DCID 1 STARTTLS command not supported.\n"
           "New SMTP ICID 2 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "Start MID 2 ICID 2\n"
           "ICID 2 close\n"
           "MID 2 ICID 2 From: <\"a>, size=1\"@example.org>\n"
           "DCID 1 close\n"
           "New SMTP DCID 2 interface unknown address 127.0.0.1 port 52827\n"
           "MID 2 ICID 2 RID 0 To: <\"q\\\"uo\\\\te>\"@y.test>\n"
           "DCID 2 STARTTLS command not supported.\n"
           "MID 2 ICID 2 RID 1 To: <\"sp ace\"@z.test>\n"
           "DCID 2 close\n");
}

/*
 * test_two_connections - one message leaves over two connections at once
 * (recipients on two transports; issue 14 item 2): both keep their
 * Delivery start / Message done. Postfix 3.7.11, transport_maps
 * a.test=smtp:[127.0.0.1]:33189, b.test=relay2:[127.0.0.1]:57735.
 */
static void test_two_connections(fixture *f, gconstpointer data)
{
    feed(f,
         "Dec 05 20:02:11 mta postfix/smtpd[5229]: connect from localhost[127.0.0.1]:51150\n"
         "Dec 05 20:02:12 mta postfix/smtpd[5229]: Anonymous TLS connection established from localhost[127.0.0.1]:51150: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n"
         "Dec 05 20:02:12 mta postfix/smtpd[5229]: 05723A76A55: client=localhost[127.0.0.1]:51150\n"
         "Dec 05 20:02:12 mta postfix/cleanup[5241]: 05723A76A55: message-id=<20261205200211.005230@vm>\n"
         "Dec 05 20:02:12 mta postfix/qmgr[5226]: 05723A76A55: from=<s@example.org>, size=408, nrcpt=3 (queue active)\n"
         "Dec 05 20:02:12 mta postfix/smtpd[5229]: disconnect from localhost[127.0.0.1]:51150 ehlo=2 starttls=1 mail=1 rcpt=3 data=1 quit=1 commands=9\n"
         "Dec 05 20:02:12 mta postfix/smtp[5244]: Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:33189: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n"
         "Dec 05 20:02:12 mta postfix/smtp[5243]: Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:57735: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256\n"
         "Dec 05 20:02:12 mta postfix/smtp[5244]: 05723A76A55: to=<x@a.test>, relay=127.0.0.1[127.0.0.1]:33189, delay=0.04, delays=0.01/0.01/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 0C3B4A76A58)\n"
         "Dec 05 20:02:12 mta postfix/smtp[5243]: 05723A76A55: to=<y@b.test>, relay=127.0.0.1[127.0.0.1]:57735, delay=0.06, delays=0.01/0.03/0/0.02, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 113E4A76A5A)\n"
         "Dec 05 20:02:12 mta postfix/smtp[5244]: 05723A76A55: to=<z@a.test>, relay=127.0.0.1[127.0.0.1]:33189, delay=0.04, delays=0.01/0.01/0/0.01, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 0C3B4A76A58)\n"
         "Dec 05 20:02:12 mta postfix/qmgr[5226]: 05723A76A55: removed\n",
         TRUE);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 1 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\n"
           "Start MID 1 ICID 1\n"
           "MID 1 ICID 1 From: <s@example.org>\n"
           "ICID 1 close\n"
           "New SMTP DCID 1 interface unknown address 127.0.0.1 port 33189\n"
           "DCID 1 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\n"
           "New SMTP DCID 2 interface unknown address 127.0.0.1 port 57735\n"
           "DCID 2 TLS success protocol TLSv1.3 cipher TLS_AES_256_GCM_SHA384\n"
           "MID 1 ICID 1 RID 0 To: <x@a.test>\n"
           "MID 1 ICID 1 RID 1 To: <y@b.test>\n"
           "MID 1 ICID 1 RID 2 To: <z@a.test>\n"
           "Delivery start DCID 1 MID 1 to RID [0, 2]\n"
           "Message done DCID 1 MID 1 to RID [0, 2]\n"
           "DCID 1 close\n"
           "Delivery start DCID 2 MID 1 to RID [1]\n"
           "Message done DCID 2 MID 1 to RID [1]\n"
           "DCID 2 close\n"
           "Message finished MID 1 done\n");
}

/*
 * test_programs - only Postfix's programs count, and a process is its
 * host, program and pid (issue 13 item 14): "logger -t x/smtpd[PID]"
 * or another program with the pid of a live smtpd changes nothing
 */
static void test_programs(fixture *f, gconstpointer data)
{
    static const char *const names[] = {"postfix", "peer-v10", NULL};
    g_autoptr(GError) err = NULL;

    feed(f,
         T_0806 "postfix/smtpd[28051]: connect from localhost[127.0.0.1]:54534\n"
         /* not Postfix's: another program, a name that only starts like it */
         T_0806 "x/smtpd[28051]: Anonymous TLS connection established from localhost[127.0.0.1]:54534: TLSv1.3 with cipher EVIL (256/256 bits)\n"
         T_0806 "postfixx/smtpd[28051]: SSL_accept error from localhost[127.0.0.1]:54534: -1\n"
         T_0806 "smtpd[28051]: disconnect from localhost[127.0.0.1]:54534 commands=0/0\n"
         T_0806 "peer-v10/smtpd[28051]: connect from unknown[192.0.2.9]:7\n"
         /* Postfix's, but another process: the same pid under another program */
         T_0806 "postfix/submission/smtpd[28051]: Anonymous TLS connection established from localhost[127.0.0.1]:54534: TLSv1.3 with cipher EVIL2 (256/256 bits)\n"
         T_0806 "postfix/submission/smtpd[28051]: disconnect from localhost[127.0.0.1]:54534 commands=0/0\n"
         "Nov 27 23:20:06 other postfix/smtpd[28051]: disconnect from localhost[127.0.0.1]:54534 commands=0/0\n"
         T_0807 "postfix/smtpd[28051]: disconnect from localhost[127.0.0.1]:54534 ehlo=1 commands=1\n",
         FALSE);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 1 close\n");
    /* other names, when configured */
    g_assert_true(seg_pflog_set_syslog_names(f->p, names, &err));
    g_assert_no_error(err);
    feed(f, T_0807 "peer-v10/smtpd[7]: connect from unknown[192.0.2.9]:7\n", FALSE);
    g_assert_cmpuint(f->out->len, ==, 3);
    g_assert_false(seg_pflog_set_syslog_names(f->p, (const char *const[]) {"a b", NULL}, &err));
    g_assert_nonnull(strstr(err->message, "syslog name \"a b\""));
    g_clear_error(&err);
    g_assert_false(seg_pflog_set_syslog_names(f->p, (const char *const[]) {"", NULL}, &err));
    g_clear_error(&err);
    g_assert_false(seg_pflog_set_syslog_names(f->p, (const char *const[]) {"x[1]", NULL}, &err));
}

/* release_cb - the release callback: remember each MID */
static void release_cb(void *ctx, guint64 mid)
{
    g_array_append_val((GArray *) ctx, mid);
}

/*
 * test_release - what a process or a message holds is let go (issue 13
 * item 6): at the end of a connection, at the exit of a process
 * (master's warning, its own fatal:), and by age (log time)
 */
static void test_release(fixture *f, gconstpointer data)
{
    g_autoptr(GArray) released = g_array_new(FALSE, FALSE, sizeof(guint64));
    guint conns, msgs;

    seg_pflog_set_release(f->p, release_cb, released);
    feed(f,
         "Nov 27 10:00:00 mta postfix/smtpd[100]: connect from localhost[127.0.0.1]:1000\n"
         "Nov 27 10:00:00 mta postfix/smtpd[100]: disconnect from localhost[127.0.0.1]:1000 commands=0/0\n"
         "Nov 27 10:00:00 mta postfix/smtpd[101]: warning: hostname a.example does not resolve to address 192.0.2.1\n",
         FALSE);
    seg_pflog_held(f->p, &conns, &msgs);
    g_assert_cmpuint(conns, ==, 2);     /* 100 is kept a while, 101 waits for its connect */
    g_assert_cmpuint(msgs, ==, 0);
    feed(f,
         "Nov 27 10:00:01 mta postfix/smtpd[101]: connect from unknown[192.0.2.1]:1001\n"
         /* a session that ends after client=: the message never reaches qmgr */
         "Nov 27 10:00:01 mta postfix/smtpd[101]: 1A2B3C4D5E: client=unknown[192.0.2.1]:1001\n"
         "Nov 27 10:00:02 mta postfix/smtpd[101]: lost connection after DATA (0 bytes) from unknown[192.0.2.1]:1001\n"
         "Nov 27 10:00:02 mta postfix/smtpd[101]: disconnect from unknown[192.0.2.1]:1001 ehlo=1 mail=1 rcpt=1 data=0/1 commands=3/4\n"
         /* a process killed while it served a connection */
         "Nov 27 10:00:03 mta postfix/smtpd[102]: connect from localhost[127.0.0.1]:1002\n"
         "Nov 27 10:00:04 mta postfix/master[1]: warning: process /usr/lib/postfix/sbin/smtpd pid 102 killed by signal 9\n"
         /* one that gave up */
         "Nov 27 10:00:05 mta postfix/smtpd[103]: connect from localhost[127.0.0.1]:1003\n"
         "Nov 27 10:00:05 mta postfix/smtpd[103]: fatal: no free space\n"
         /* a delivery whose process exits */
         "Nov 27 10:00:06 mta postfix/smtp[200]: Untrusted TLS connection established to b[192.0.2.2]:25: TLSv1.3 with cipher X (256/256 bits)\n"
         "Nov 27 10:00:07 mta postfix/master[1]: warning: process /usr/lib/postfix/libexec/smtp pid 200 exit status 1\n"
         /* a connection whose end was never logged */
         "Nov 27 10:00:08 mta postfix/smtpd[104]: connect from localhost[127.0.0.1]:1004\n",
         FALSE);
    seg_pflog_held(f->p, &conns, &msgs);
    g_assert_cmpuint(conns, ==, 3);     /* 100 and 101 (connections over), 104 (open) */
    g_assert_cmpuint(msgs, ==, 1);
    /* five minutes later, by log time: what holds nothing is let go */
    feed(f, "Nov 27 10:05:03 mta postfix/qmgr[9]: 0FFFFFFFFF: removed\n", FALSE);
    seg_pflog_held(f->p, &conns, &msgs);
    g_assert_cmpuint(conns, ==, 1);
    g_assert_cmpuint(msgs, ==, 1);
    /* an hour later */
    feed(f, "Nov 27 11:00:10 mta postfix/smtpd[105]: connect from localhost[127.0.0.1]:1005\n", FALSE);
    seg_pflog_held(f->p, &conns, &msgs);
    g_assert_cmpuint(conns, ==, 1);     /* 105's */
    g_assert_cmpuint(msgs, ==, 0);
    g_assert_cmpuint(released->len, ==, 1);
    g_assert_cmpuint(g_array_index(released, guint64, 0), ==, 1);
    expect(f,
           "New SMTP ICID 1 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 1 close\n"
           "New SMTP ICID 2 interface unknown (unknown) address 192.0.2.1 reverse dns host a.example verified no\n"
           "Start MID 1 ICID 2\n"
           "ICID 2 close\n"
           "New SMTP ICID 3 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 3 close\n"
           "New SMTP ICID 4 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 4 close\n"
           "New SMTP DCID 1 interface unknown address 192.0.2.2 port 25\n"
           "DCID 1 TLS success protocol TLSv1.3 cipher X\n"
           "DCID 1 close\n"
           "New SMTP ICID 5 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n"
           "ICID 5 close\n"
           "New SMTP ICID 6 interface unknown (unknown) address 127.0.0.1 reverse dns host localhost verified yes\n");
    /* the times of the closes: when each was last heard of */
    g_assert_true(g_str_has_prefix(f->out->pdata[13], "1795773608|ICID 5 close"));
}

/* test_times - RFC 3339 with zones, RFC 3164 padding and the new year */
static void test_times(fixture *f, gconstpointer data)
{
    static const struct {
        const char *stamp;
        long        when;
    } cases[] = {
        {"2026-11-27T23:20:06.123456+00:00", 1795821606},
        {"2026-11-28T00:20:06.5+01:00", 1795821606},
        {"2026-11-27T18:50:06-04:30", 1795821606},
        {"2026-11-27T23:20:06Z", 1795821606},
        {"Nov 27 23:20:06", 1795821606},
        {"Dec  3 01:02:03", 1796259723},
        {"Jan  1 00:00:00", 1798761600},   /* after December: 2027 */
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *line = g_strdup_printf("%s h postfix/smtpd[%u]: connect from a[192.0.2.1]:1", cases[i].stamp, 100 + i);
        g_autofree char *want = NULL;

        g_assert_true(seg_pflog_line(f->p, line, strlen(line)));
        want = g_strdup_printf("%ld|New SMTP ICID %u ", cases[i].when, i + 1);
        /* the last record (connections idle for days before it were closed) */
        g_assert_true(g_str_has_prefix(f->out->pdata[f->out->len - 1], want));
    }
}

/* test_tls_error - OpenSSL 3 string from Postfix's library problem line */
static void test_tls_error(void)
{
    static const struct {
        const char *in;
        unsigned long code;
        const char *str;
    } ok[] = {
        {"error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:",
         167772418, "error:0A000102:SSL routines::unsupported protocol"},
        {"error:0A00042E:SSL routines::tlsv1 alert protocol version:../ssl/record/rec_layer_s3.c:1602:SSL alert number 70:",
         167773230, "error:0A00042E:SSL routines::tlsv1 alert protocol version"},
        {"error:1409442E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:s3_pkt.c:1493:",
         336151598, "error:1409442E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version"},
        {"error:0A000102:SSL routines::unsupported protocol",
         167772418, "error:0A000102:SSL routines::unsupported protocol"},
    };
    static const char *const bad[] = {"", "error:", "error:XYZ:foo", "warning: x", "error:0A000102", "error::a:b:c:d"};

    for (guint i = 0; i < G_N_ELEMENTS(ok); i++) {
        unsigned long code = 0;
        size_t n = 0;

        g_assert_true(seg_pflog_tls_error(ok[i].in, strlen(ok[i].in), &code, &n));
        g_assert_cmpuint(code, ==, ok[i].code);
        g_assert_cmpuint(n, ==, strlen(ok[i].str));
        g_assert_cmpint(memcmp(ok[i].in, ok[i].str, n), ==, 0);
    }
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        unsigned long code;
        size_t n;

        g_assert_false(seg_pflog_tls_error(bad[i], strlen(bad[i]), &code, &n));
    }
}

/* test_garbage - junk, truncated and binary lines are skipped, never fatal */
static void test_garbage(fixture *f, gconstpointer data)
{
    static const char *const real[] = {
        "Nov 27 23:20:06 mta postfix/smtpd[28051]: connect from localhost[127.0.0.1]:54534",
        "Nov 27 23:20:09 mta postfix/smtpd[28051]: SSL_accept error from localhost[127.0.0.1]:43994: -1",
        "Nov 27 23:20:09 mta postfix/smtpd[28051]: warning: TLS library problem: error:0A000102:SSL routines::unsupported protocol:../ssl/statem/statem_srvr.c:1664:",
        "Nov 27 23:20:08 mta postfix/smtp[28251]: Untrusted TLS connection established to 127.0.0.1[127.0.0.1]:14026: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
        "Nov 27 23:20:08 mta postfix/smtp[28251]: 2A832A7213B: to=<b@example.net>, relay=127.0.0.1[127.0.0.1]:14026, delay=0.09, delays=0.03/0.01/0/0.04, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Nov 27 23:20:09 mta postfix/smtp[28251]: 6C1B3A72147: to=<d@v10.test>, relay=127.0.0.1[127.0.0.1]:14041, delay=0.01, dsn=4.7.5, status=deferred (Cannot start TLS: handshake failure)",
        "Nov 27 23:20:08 mta postfix/qmgr[28041]: 2A832A7213B: from=<a@example.org>, size=378, nrcpt=2 (queue active)",
        "2026-11-28T00:20:05.000037+01:00 mta.test.local postfix/smtpd[1]: disconnect from localhost[127.0.0.1]:1 commands=0/0",
        "Nov 27 23:20:08 mta postfix/qmgr[28041]: 2A832A7213B: removed",
        "Nov 27 23:20:13 mta postfix/pickup[28040]: A75DAA72D65: uid=0 from=<root@mta.test.local>",
    };
    static const char *const junk[] = {
        "", "\n", "garbage", "Nov 27", "Nov 27 23:20:06", "Nov 27 23:20:06 ", "Nov 27 23:20:06 mta",
        "Nov 27 23:20:06 mta postfix/smtpd", "Nov 27 23:20:06 mta postfix/smtpd[", "Nov 27 23:20:06 mta postfix/smtpd[]: x",
        "Nov 27 23:20:06 mta postfix/smtpd[0]: connect from a[1.2.3.4]:5", "Nov 27 23:20:06 mta postfix/smtpd[-1]: x",
        "Xyz 27 23:20:06 mta postfix/smtpd[1]: x", "Nov 32 23:20:06 mta postfix/smtpd[1]: x",
        "Nov 27 25:20:06 mta postfix/smtpd[1]: x", "2026-13-01T00:00:00Z h p[1]: x", "2026-11-27T23:20:06+99:00 h p[1]: x",
        "2026-11-27T23:20:06 h postfix/smtpd[1]: x", "9999999999999999999999999999",
        "Nov 27 23:20:06 mta postfix/smtpd[99999999999999999999]: connect from a[b]:1",
    };
    seg_pflog_stats st;
    guint64 n = 0;
    char bin[512];

    for (guint i = 0; i < G_N_ELEMENTS(junk); i++, n++)
        g_assert_false(seg_pflog_line(f->p, junk[i], strlen(junk[i])));
    seg_pflog_get_stats(f->p, &st);
    g_assert_cmpuint(st.lines, ==, n);
    g_assert_cmpuint(st.skipped, ==, n);
    g_assert_cmpuint(st.records, ==, 0);
    /* every prefix of every real line, from heap copies so ASan sees overreads */
    for (guint i = 0; i < G_N_ELEMENTS(real); i++) {
        size_t len = strlen(real[i]);

        for (size_t k = 0; k <= len; k++, n++) {
            char *copy = g_memdup2(real[i], k ? k : 1);

            seg_pflog_line(f->p, copy, k);
            g_free(copy);
        }
    }
    /* random bytes, and real lines with a byte flipped */
    g_random_set_seed(42);
    for (int i = 0; i < 2000; i++, n++) {
        size_t len = g_random_int_range(0, sizeof(bin));

        for (size_t k = 0; k < len; k++)
            bin[k] = (char) g_random_int_range(0, 256);
        seg_pflog_line(f->p, bin, len);
    }
    for (int i = 0; i < 5000; i++, n++) {
        const char *r = real[i % G_N_ELEMENTS(real)];
        size_t len = strlen(r);
        char *copy = g_memdup2(r, len);

        copy[g_random_int_range(0, len)] = (char) g_random_int_range(0, 256);
        seg_pflog_line(f->p, copy, len);
        g_free(copy);
    }
    seg_pflog_flush(f->p);
    seg_pflog_get_stats(f->p, &st);
    g_assert_cmpuint(st.lines, ==, n);
    g_assert_cmpuint(st.used + st.skipped, ==, n);
    g_assert_cmpuint(st.malformed, <=, st.skipped);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define ADD(name, fn) g_test_add("/pflog/" name, fixture, NULL, setup, fn, teardown)
    ADD("inbound_tls", test_inbound_tls);
    ADD("service_interfaces", test_service_interfaces);
    ADD("inbound_failed", test_inbound_failed);
    ADD("tls_last_error", test_tls_last_error);
    ADD("message", test_message);
    ADD("outbound_failures", test_outbound_failures);
    ADD("forged", test_forged);
    ADD("two_connections", test_two_connections);
    ADD("programs", test_programs);
    ADD("release", test_release);
    ADD("times", test_times);
    ADD("garbage", test_garbage);
#undef ADD
    g_test_add_func("/pflog/tls_error", test_tls_error);
    return g_test_run();
}
