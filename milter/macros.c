/*
 * macros - the milter's parsers of untrusted macro values.
 *
 * Postfix hands the milter macro values and envelope arguments that
 * come, in part, from the SMTP client. Nothing here touches libmilter:
 * each function takes the text and returns what a record may show, so
 * that t/fuzz/fuzz_milter.c can exercise them directly. Values are
 * cleaned by the record writer's seg_record_field() (control characters
 * and, in one-word fields, blanks become '?'; long values are cut).
 *
 *   mt_envelope      "<a>" or "a" as the cleaned address without <>
 *   mt_smtpd_pid_of  the pid in macro v ("Postfix 3.7.11 smtpd-pid=1234")
 *   mt_qid_ok        macro i looks like a queue id
 */
#include <stdlib.h>
#include <string.h>

#include "milter.h"

#define ADDR_MAX        512     /* an envelope address in a record */
#define PID_TAG         "smtpd-pid="
#define PID_LIMIT       (1L << 22)      /* Linux pid_max limit */
#define QID_MIN         5
#define QID_MAX         32

/* mt_envelope - "<a>" or "a" as the address without brackets, cleaned */
char *mt_envelope(const char *arg)
{
    char buf[ADDR_MAX];
    size_t n;

    if (arg == NULL)
        arg = "";
    n = strlen(arg);
    if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
        g_autofree char *in = g_strndup(arg + 1, n - 2);

        return g_strdup(*in ? seg_record_field(in, buf, sizeof(buf), FALSE) : "");
    }
    return g_strdup(*arg ? seg_record_field(arg, buf, sizeof(buf), FALSE) : "");
}

/* mt_smtpd_pid_of - the pid in macro v ("... smtpd-pid=1234"), 0 if none */
long mt_smtpd_pid_of(const char *v)
{
    const size_t tag = strlen(PID_TAG);
    const char *p;
    char *end;
    long pid;

    if (v == NULL || (p = strstr(v, PID_TAG)) == NULL)
        return 0;
    pid = strtol(p + tag, &end, 10);
    return end > p + tag && (*end == 0 || *end == ' ') && pid > 0 && pid < PID_LIMIT ? pid : 0;
}

/* mt_qid_ok - macro i is a queue id: 5 to 32 letters and digits */
gboolean mt_qid_ok(const char *qid)
{
    size_t n;

    if (qid == NULL)
        return FALSE;
    for (n = 0; g_ascii_isalnum(qid[n]) && n < QID_MAX; n++)
        ;
    return qid[n] == 0 && n >= QID_MIN;
}
