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
 *   mt_envelope      "<a>" or "a" as the cleaned address without <>,
 *                    in a caller's buffer (MT_ADDR_MAX: no allocation)
 *   mt_smtpd_pid_of  the pid in macro v ("Postfix 3.7.11 smtpd-pid=1234")
 *   mt_qid_ok        macro i looks like a queue id
 */
#include <stdlib.h>
#include <string.h>

#include "milter.h"
#include "recfmt.h"

#define PID_TAG         "smtpd-pid="
#define PID_LIMIT       (1L << 22)      /* Linux pid_max limit */
#define QID_MIN         5

/*
 * mt_envelope - "<a>" or "a" as the address without brackets, cleaned,
 * in buf (size bytes, at least 1; a long address is cut); its length
 */
size_t mt_envelope(const char *arg, char *buf, size_t size)
{
    size_t n;

    if (arg == NULL)
        arg = "";
    n = strlen(arg);
    if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
        arg++;
        n -= 2;
    }
    n = seg_recfmt_clean(buf, arg, MIN(n, size - 1), 0);
    buf[n] = 0;
    return n;
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
    for (n = 0; g_ascii_isalnum(qid[n]) && n < MT_QID_MAX; n++)
        ;
    return qid[n] == 0 && n >= QID_MIN;
}
