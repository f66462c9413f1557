/*
 * recfmt - format gateway-style record lines and file headers.
 *
 * Pure C and POSIX (no GLib, no allocation), so that the nginx module
 * compiles the very same file as the GLib record writer and both write
 * byte-identical lines. See recfmt.h for the format.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     /* tm_gmtoff */
#endif
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "recfmt.h"

#define EPOCH_TEXT "Thu Jan  1 00:00:00 1970"
#define SEC_AT  17                      /* "Www Mmm dd hh:mm:" */

/*
 * The gateway's names, whatever the locale: strftime's %a/%b follow
 * LC_TIME and GLib's %e pads with U+2007, so no library formatter is used.
 */
static const char wday_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/*
 * The last local minute formatted, per thread: a time in the same minute
 * only gets its seconds written. The minute is the window of time_t
 * values [start, start + 60); it is cached only when its first and last
 * second have the same UTC offset as the time formatted, so a zone
 * change (DST, new rules) always starts a new window. A tzset() to
 * another TZ changes tzname/timezone/daylight, which are part of the key.
 */
typedef struct time_cache {
    time_t      start;              /* first second of the minute */
    const char *tzname0, *tzname1;  /* the zone it was formatted in */
    long        tzoff;
    int         tzdst;
    size_t      len;                /* 0: nothing cached */
    size_t      sec_at;             /* offset of the two seconds digits */
    char        text[SEG_RECFMT_TIME_LEN];
} time_cache;

static _Thread_local time_cache tcache;

/* tm_sane - are the fields of tm in the ranges the names and widths need? */
static int tm_sane(const struct tm *tm)
{
    return tm->tm_wday >= 0 && tm->tm_wday < 7 && tm->tm_mon >= 0 && tm->tm_mon < 12
        && tm->tm_mday >= 1 && tm->tm_mday <= 31 && tm->tm_hour >= 0 && tm->tm_hour < 24
        && tm->tm_min >= 0 && tm->tm_min < 60 && tm->tm_sec >= 0 && tm->tm_sec <= 60;
}

/* seg_recfmt_tm - "Sat Dec  5 19:04:38 2026" from broken-down time; length */
size_t seg_recfmt_tm(const struct tm *tm, char *buf, size_t size)
{
    int n;

    if (size == 0 || !tm_sane(tm)) {
        if (size)
            buf[0] = 0;
        return 0;
    }
    n = snprintf(buf, size, "%s %s %2d %02d:%02d:%02d %ld", wday_names[tm->tm_wday],
                 month_names[tm->tm_mon], tm->tm_mday, tm->tm_hour, tm->tm_min,
                 tm->tm_sec, (long) tm->tm_year + 1900);
    if (n < 0 || (size_t) n >= size) {
        buf[0] = 0;
        return 0;
    }
    return (size_t) n;
}

/* seg_recfmt_syslog_time - "Dec  5 19:04:38" (RFC 3164, local time); length */
size_t seg_recfmt_syslog_time(time_t when, char *buf, size_t size)
{
    struct tm tm;
    int n;

    if (size == 0)
        return 0;
    buf[0] = 0;
    if (localtime_r(&when, &tm) == NULL || !tm_sane(&tm))
        return 0;
    n = snprintf(buf, size, "%s %2d %02d:%02d:%02d", month_names[tm.tm_mon], tm.tm_mday,
                 tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n < 0 || (size_t) n >= size) {
        buf[0] = 0;
        return 0;
    }
    return (size_t) n;
}

/* slow_time - localtime_r + seg_recfmt_tm, the epoch when that fails; length */
static size_t slow_time(time_t when, char *buf, size_t size)
{
    struct tm tm;
    size_t n = 0;

    if (localtime_r(&when, &tm) != NULL)
        n = seg_recfmt_tm(&tm, buf, size);
    if (n == 0) {
        if (size <= sizeof(EPOCH_TEXT) - 1) {
            buf[0] = 0;
            return 0;
        }
        memcpy(buf, EPOCH_TEXT, sizeof(EPOCH_TEXT));
        n = sizeof(EPOCH_TEXT) - 1;
    }
    return n;
}

/* same_zone - is the zone of the cache the current one? */
static int same_zone(const time_cache *c)
{
    return c->tzname0 == tzname[0] && c->tzname1 == tzname[1] && c->tzoff == timezone
        && c->tzdst == daylight;
}

/* same_minute - is when second sec of the minute of tm, with its offset? */
static int same_minute(time_t when, const struct tm *tm, int sec)
{
    struct tm t;

    return localtime_r(&when, &t) != NULL && t.tm_sec == sec && t.tm_min == tm->tm_min
        && t.tm_hour == tm->tm_hour && t.tm_mday == tm->tm_mday
        && t.tm_gmtoff == tm->tm_gmtoff;
}

/* cache_fill - format the minute of when into the cache; 0 if not cacheable */
static int cache_fill(time_cache *c, time_t when)
{
    struct tm tm;
    size_t n, at = SEC_AT;

    c->len = 0;
    if (localtime_r(&when, &tm) == NULL || tm.tm_sec < 0 || tm.tm_sec > 59)
        return 0;
    n = seg_recfmt_tm(&tm, c->text, sizeof(c->text));
    if (n == 0 || at + 2 > n || c->text[at] != '0' + tm.tm_sec / 10
        || c->text[at + 1] != '0' + tm.tm_sec % 10)
        return 0;
    c->start = when - tm.tm_sec;
    if (!same_minute(c->start, &tm, 0) || !same_minute(c->start + 59, &tm, 59))
        return 0;                       /* a zone change inside the minute */
    c->tzname0 = tzname[0];
    c->tzname1 = tzname[1];
    c->tzoff = timezone;
    c->tzdst = daylight;
    c->sec_at = at;
    c->len = n;
    return 1;
}

/* seg_recfmt_time - "Fri Nov 27 23:16:05 2026" (local time); length */
size_t seg_recfmt_time(time_t when, char *buf, size_t size)
{
    time_cache *c = &tcache;
    time_t sec;

    if (size == 0)
        return 0;
    if (c->len == 0 || when < c->start || when - c->start >= 60 || !same_zone(c)) {
        if (!cache_fill(c, when))
            return slow_time(when, buf, size);
    }
    if (size <= c->len)
        return slow_time(when, buf, size);
    sec = when - c->start;
    memcpy(buf, c->text, c->len + 1);
    buf[c->sec_at] = (char) ('0' + sec / 10);
    buf[c->sec_at + 1] = (char) ('0' + sec % 10);
    return c->len;
}

/* seg_recfmt_line - "<time> <level>: <text>\n"; a long text is cut; length */
size_t seg_recfmt_line(time_t when, const char *level, const char *text,
                       size_t len, char *buf, size_t size)
{
    size_t n, nl = strlen(level);

    n = seg_recfmt_time(when, buf, size);
    if (n == 0 || n + nl + 5 > size)
        return 0;
    buf[n++] = ' ';
    memcpy(buf + n, level, nl);
    n += nl;
    buf[n++] = ':';
    buf[n++] = ' ';
    if (len > size - n - 2)
        len = size - n - 2;             /* cut, keep the newline */
    memcpy(buf + n, text, len);
    n += len;
    buf[n++] = '\n';
    buf[n] = 0;
    return n;
}

/* seg_recfmt_syslog_msg - "<PRI>Mmm dd hh:mm:ss TAG: Level: text"; length */
size_t seg_recfmt_syslog_msg(time_t when, int pri, const char *tag, const char *level,
                             const char *text, size_t len, char *buf, size_t size)
{
    char    stamp[SEG_RECFMT_TIME_LEN];
    int     n;

    if (size == 0 || pri < 0 || pri > 191 || seg_recfmt_syslog_time(when, stamp, sizeof(stamp)) == 0)
        return 0;
    n = snprintf(buf, size, "<%d>%s %s: %s: ", pri, stamp, tag, level);
    if (n < 0 || (size_t) n >= size)
        return 0;
    if (len > size - (size_t) n - 1)
        len = size - (size_t) n - 1;    /* cut */
    memcpy(buf + n, text, len);
    buf[n + len] = 0;
    return (size_t) n + len;
}

/* seg_recfmt_utc_offset - local time offset from UTC in seconds at when */
long seg_recfmt_utc_offset(time_t when)
{
    struct tm tm;

    return localtime_r(&when, &tm) ? (long) tm.tm_gmtoff : 0;
}

/* seg_recfmt_host_id - /etc/machine-id (12 hex, upper case) or host name */
size_t seg_recfmt_host_id(char *buf, size_t size)
{
    char id[64];
    ssize_t got = -1;
    size_t i;
    int fd;

    if (buf == NULL || size < 13)
        return 0;
    if ((fd = open("/etc/machine-id", O_RDONLY | O_CLOEXEC)) >= 0) {
        got = read(fd, id, sizeof(id) - 1);
        close(fd);
    }
    if (got >= 0)
        id[got] = 0;
    if (got >= 12 && strspn(id, "0123456789abcdefABCDEF") >= 12) {
        for (i = 0; i < 12; i++)
            buf[i] = (char) (id[i] >= 'a' && id[i] <= 'f' ? id[i] - 'a' + 'A' : id[i]);
        buf[12] = 0;
        return 12;
    }
    if (gethostname(buf, size) < 0 || memchr(buf, 0, size) == NULL) {
        buf[0] = 0;
        return 0;
    }
    return strlen(buf);
}

/* seg_recfmt_header - the three header lines of a new file; length */
size_t seg_recfmt_header(time_t when, const char *version, const char *host,
                         char *buf, size_t size)
{
    char text[SEG_RECFMT_HOST_LEN + 128];
    size_t n, total;
    int len;

    total = seg_recfmt_line(when, "Info", "Begin Logfile", 13, buf, size);
    if (total == 0)
        return 0;
    len = snprintf(text, sizeof(text), "Version: %s SN: %s", version, host);
    if (len < 0 || (size_t) len >= sizeof(text))
        return 0;
    if ((n = seg_recfmt_line(when, "Info", text, (size_t) len, buf + total, size - total)) == 0)
        return 0;
    total += n;
    len = snprintf(text, sizeof(text), "Time offset from UTC: %ld seconds",
                   seg_recfmt_utc_offset(when));
    if (len < 0 || (size_t) len >= sizeof(text))
        return 0;
    if ((n = seg_recfmt_line(when, "Info", text, (size_t) len, buf + total, size - total)) == 0)
        return 0;
    return total + n;
}
