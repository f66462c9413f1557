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
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

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

#define ONES    0x0101010101010101ULL
#define HIGHS   0x8080808080808080ULL

/* zero8 - a byte of w is 0 (when no byte has its high bit set: exact up to the lowest) */
static uint64_t zero8(uint64_t w)
{
    return (w - ONES) & ~w & HIGHS;
}

/* plain_len - bytes of printable ASCII at s (no space with SEG_RECFMT_WORD), 8 at a time */
static size_t plain_len(const char *s, size_t n, int flags)
{
    uint64_t w, m, sp = ONES * (flags & SEG_RECFMT_WORD ? 0x21 : 0x20);
    size_t i = 0;

#ifdef __SSE2__
    if (n >= 16) {
        /* signed: bytes from 0x80 up are below 0x20 too */
        const __m128i lo = _mm_set1_epi8((char) (sp & 0xff)), del = _mm_set1_epi8(0x7f);
        __m128i v;
        unsigned bad;

        for (;; i += 16) {
            if (i + 16 > n)
                i = n - 16;             /* the last 16, again in part: clean before i */
            v = _mm_loadu_si128((const __m128i *) (const void *) (s + i));
            bad = (unsigned) _mm_movemask_epi8(_mm_or_si128(_mm_cmplt_epi8(v, lo),
                                                            _mm_cmpeq_epi8(v, del)));
            if (bad != 0)
                return i + (unsigned) __builtin_ctz(bad);
            if (i + 16 == n)
                return n;
        }
    }
#endif
    for (; i + 8 <= n; i += 8) {
        memcpy(&w, s + i, 8);
        /* each term is exact up to its lowest byte, so the lowest of all is */
        m = (w & HIGHS) | ((w - sp) & ~w & HIGHS) | zero8(w ^ (ONES * 0x7f));
        if (m != 0)
            return i + ((unsigned) __builtin_ctzll(m) >> 3);
    }
    while (i < n && (unsigned char) s[i] >= (sp & 0xff) && (unsigned char) s[i] < 0x7f)
        i++;
    return i;
}

/* utf8_len - bytes of the valid UTF-8 sequence of 2-4 bytes at s (n left), 0 if none; its code point */
static size_t utf8_len(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char b = s[0];
    size_t k;

    if (b >= 0xC2 && b <= 0xDF)
        k = 2;
    else if (b >= 0xE0 && b <= 0xEF)
        k = 3;
    else if (b >= 0xF0 && b <= 0xF4)
        k = 4;
    else
        return 0;
    if (n < k)
        return 0;
    *cp = b & (0x7F >> k);
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        *cp = *cp << 6 | (s[i] & 0x3F);
    }
    /* no overlong form, no surrogate, nothing above U+10FFFF */
    if ((k == 3 && *cp < 0x800) || (k == 4 && (*cp < 0x10000 || *cp > 0x10FFFF))
        || (*cp >= 0xD800 && *cp <= 0xDFFF))
        return 0;
    return k;
}

/* cp_unfit - a code point that must not reach a record: C1, line separators, bidi controls */
static int cp_unfit(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029
        || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

/* seg_recfmt_clean - text fit for a record (see recfmt.h); length written */
size_t seg_recfmt_clean(char *dst, const char *src, size_t len, int flags)
{
    const unsigned char *s = (const unsigned char *) src;
    size_t i = 0, o = 0, k;
    uint32_t cp;

    while (i < len) {
        if ((k = plain_len(src + i, len - i, flags)) > 0) {
            if (dst + o != src + i)
                memmove(dst + o, src + i, k);   /* dst may be src, behind it */
            i += k;
            o += k;
            continue;
        }
        if (s[i] < 0x80) {              /* a control character, DEL or a space in a word */
            dst[o++] = '?';
            i++;
        } else if ((k = utf8_len(s + i, len - i, &cp)) == 0 || cp_unfit(cp)) {
            dst[o++] = '?';
            i += k ? k : 1;
        } else {
            memmove(dst + o, src + i, k);
            i += k;
            o += k;
        }
    }
    return o;
}

/* seg_recfmt_line - "<time> <level>: <text>\n", text cleaned; a long text is cut; length */
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
    n += seg_recfmt_clean(buf + n, text, len, 0);
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
    len = seg_recfmt_clean(buf + n, text, len, 0);
    buf[n + len] = 0;
    return (size_t) n + len;
}

/*
 * mark_cut - end the n bytes a short write left at off (ours: the start
 * of line) with SEG_RECFMT_CUT, overwriting their end in place through
 * a second descriptor (pwrite on an O_APPEND one would append), only
 * when the file still holds those bytes there; 1 when done
 */
static int mark_cut(int fd, off_t off, const char *line, size_t n)
{
    static const char cut[] = SEG_RECFMT_CUT;
    char path[64], have[sizeof(cut)];
    size_t m = n >= 2 * (sizeof(cut) - 1) ? sizeof(cut) - 1 : 1;
    const char *mark = m == 1 ? "\n" : cut;
    struct stat a, b;
    int rw, ok;

    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if ((rw = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
        return 0;
    ok = fstat(fd, &a) == 0 && fstat(rw, &b) == 0 && a.st_ino == b.st_ino
        && a.st_dev == b.st_dev
        && pread(rw, have, m, off + (off_t) (n - m)) == (ssize_t) m
        && memcmp(have, line + n - m, m) == 0
        && pwrite(rw, mark, m, off + (off_t) (n - m)) == (ssize_t) m;
    close(rw);
    return ok;
}

/* seg_recfmt_append - one line, one write(2); a short write is marked cut (see recfmt.h) */
int seg_recfmt_append(int fd, const char *line, size_t len)
{
    return seg_recfmt_append_lines(fd, line, len, NULL);
}

/* seg_recfmt_append_lines - lines, one write(2); only a line a short write cut is marked */
int seg_recfmt_append_lines(int fd, const char *buf, size_t len, size_t *whole)
{
    const char *nl;
    size_t start;
    ssize_t n;
    off_t end;
    int marked;

    do
        n = write(fd, buf, len);
    while (n < 0 && errno == EINTR);
    if (whole)
        *whole = n < 0 ? 0 : (size_t) n;
    if (n < 0)
        return 0;
    if ((size_t) n == len)
        return 1;
    /* the whole lines written stay; the rest of the one that was cut is ours to mark */
    nl = n ? memrchr(buf, '\n', (size_t) n) : NULL;
    start = nl ? (size_t) (nl + 1 - buf) : 0;
    if (whole)
        *whole = start;
    /* our bytes end where the descriptor's offset is now */
    marked = (size_t) n == start || ((end = lseek(fd, 0, SEEK_CUR)) >= n
                                     && mark_cut(fd, end - (off_t) ((size_t) n - start),
                                                 buf + start, (size_t) n - start));
    errno = ENOSPC;                     /* a short write is a full disk */
    return marked ? 0 : -1;
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
