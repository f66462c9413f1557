/*
 * logread - read log files line by line: plain, rotated, gzip, or live.
 *
 * Plain files are read with read(2) 128 kB at a time (parsed while in
 * cache), gzip files through zlib. Lines are found 64 bytes at a time
 * (feed_lines): most are shorter than two cache lines, and a memchr()
 * call per line cost more than the scan. The follower polls: it reads
 * what was appended, then looks whether the name now is another file
 * (rename rotation: the old one is read to its end first) or a shorter
 * one (copytruncate: read again from the start).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "logread.h"
#include "msg.h"

#define READ_SIZE       SEG_LOGREAD_LINE_MAX
#define READ_CHUNK      (128 * 1024)

typedef struct lbuf {
    char       *buf;            /* READ_SIZE bytes */
    size_t      have;           /* bytes of an unfinished line at buf */
    gboolean    skipping;       /* inside the rest of an overlong line */
    seg_logread_fn fn;
    void       *ctx;
} lbuf;

/* feed_lines - give every complete line of s..e to fn; the rest */
static const char *feed_lines(lbuf *lb, const char *s, const char *e)
{
    const char *nl;
#ifdef __SSE2__
    const __m128i lf = _mm_set1_epi8('\n');
    const char *b;

    /* a mask of the newlines of 64 bytes, then one line per bit */
    for (b = s; e - b >= 64; b += 64) {
        guint64 m = 0;

        for (int i = 0; i < 4; i++) {
            __m128i v = _mm_loadu_si128((const __m128i *) (const void *) (b + 16 * i));

            m |= (guint64) (guint32) _mm_movemask_epi8(_mm_cmpeq_epi8(v, lf)) << (16 * i);
        }
        for (; m != 0; m &= m - 1) {
            nl = b + __builtin_ctzll(m);
            lb->fn(lb->ctx, s, nl - s);
            s = nl + 1;
        }
    }
    for (; (nl = memchr(b, '\n', e - b)) != NULL; b = s = nl + 1)
        lb->fn(lb->ctx, s, nl - s);
#else
    while ((nl = memchr(s, '\n', e - s)) != NULL) {
        lb->fn(lb->ctx, s, nl - s);
        s = nl + 1;
    }
#endif
    return s;
}

/* consume - n new bytes at lb->buf + lb->have: the complete lines, keep the rest */
static void consume(lbuf *lb, size_t n)
{
    const char *s = lb->buf, *e = lb->buf + lb->have + n, *nl;

    if (lb->skipping && (nl = memchr(s, '\n', e - s)) != NULL) {
        s = nl + 1;                     /* the end of a line longer than the buffer */
        lb->skipping = FALSE;
    }
    if (!lb->skipping)
        s = feed_lines(lb, s, e);
    lb->have = e - s;
    if (lb->have == READ_SIZE) {        /* a line longer than the buffer */
        if (!lb->skipping)
            lb->fn(lb->ctx, lb->buf, lb->have);
        lb->skipping = TRUE;
        lb->have = 0;
    } else if (lb->have > 0 && s != lb->buf) {
        memmove(lb->buf, s, lb->have);
    }
}

/* finish - the last line without a newline */
static void finish(lbuf *lb)
{
    if (lb->have > 0 && !lb->skipping)
        lb->fn(lb->ctx, lb->buf, lb->have);
    lb->have = 0;
    lb->skipping = FALSE;
}

/* is_plain - a seekable file that does not start with the gzip magic */
static gboolean is_plain(int fd)
{
    unsigned char magic[2];
    off_t   at = lseek(fd, 0, SEEK_CUR);

    return at >= 0 && pread(fd, magic, 2, at) >= 0 && !(magic[0] == 0x1f && magic[1] == 0x8b);
}

/* read_plain - read(2) without zlib; -1 on error */
static int read_plain(int fd, char *buf, size_t size)
{
    ssize_t n;

    do
        n = read(fd, buf, MIN(size, READ_CHUNK));
    while (n < 0 && errno == EINTR);
    return (int) n;
}

/* seg_logread_fd - every line of an open file (closed after); FALSE after a read error */
gboolean seg_logread_fd(const char *name, int fd, seg_logread_fn fn, void *ctx)
{
    gboolean plain = is_plain(fd);
    gzFile  gz = plain ? NULL : gzdopen(fd, "rb");
    lbuf    lb = {.fn = fn, .ctx = ctx};
    gboolean ok = TRUE;
    int     n, errnum;

    if (gz == NULL && !plain) {
        msg_error("%s: %s", name, g_strerror(errno ? errno : ENOMEM));
        close(fd);
        return FALSE;
    }
    lb.buf = g_malloc(READ_SIZE);
    if (gz)
        gzbuffer(gz, 256 * 1024);
    while ((n = plain ? read_plain(fd, lb.buf + lb.have, READ_SIZE - lb.have)
            : gzread(gz, lb.buf + lb.have, READ_SIZE - lb.have)) > 0)
        consume(&lb, (size_t) n);
    if (n < 0 && plain) {
        msg_error("%s: %s", name, g_strerror(errno));
        ok = FALSE;
    } else if (n < 0) {
        const char *why = gzerror(gz, &errnum);

        msg_error("%s: %s", name, errnum == Z_ERRNO ? g_strerror(errno) : why);
        ok = FALSE;
    }
    finish(&lb);
    if (gz)
        gzclose(gz);
    else
        close(fd);
    g_free(lb.buf);
    return ok;
}

/* seg_logread_path - the same by name, "-" being stdin */
gboolean seg_logread_path(const char *path, seg_logread_fn fn, void *ctx)
{
    int     fd = strcmp(path, "-") == 0 ? dup(0) : open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        msg_error("open %s: %s", strcmp(path, "-") == 0 ? "stdin" : path, g_strerror(errno));
        return FALSE;
    }
    return seg_logread_fd(strcmp(path, "-") == 0 ? "stdin" : path, fd, fn, ctx);
}

/* drain - read fd from where it is to its end; FALSE on a read error */
static gboolean drain(lbuf *lb, int fd, const char *path)
{
    int     n;

    while ((n = read_plain(fd, lb->buf + lb->have, READ_SIZE - lb->have)) > 0)
        consume(lb, (size_t) n);
    if (n < 0) {
        msg_warn("read %s: %s", path, g_strerror(errno));
        return FALSE;
    }
    return TRUE;
}

/* seg_logread_follow - every line of path, then new ones, across rotation */
gboolean seg_logread_follow(const char *path, guint interval_ms, seg_logread_fn fn,
                            gboolean (*tick)(void *ctx), void *ctx)
{
    lbuf    lb = {.fn = fn, .ctx = ctx};
    struct stat now, was;
    int     fd = open(path, O_RDONLY | O_CLOEXEC), nfd;

    if (fd < 0 || fstat(fd, &was) < 0) {
        msg_error("open %s: %s", path, g_strerror(errno));
        if (fd >= 0)
            close(fd);
        return FALSE;
    }
    lb.buf = g_malloc(READ_SIZE);
    for (;;) {
        (void) drain(&lb, fd, path);
        if (stat(path, &now) == 0 && (now.st_ino != was.st_ino || now.st_dev != was.st_dev)
            && (nfd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
            (void) drain(&lb, fd, path);        /* what was written before the rename */
            finish(&lb);
            close(fd);
            fd = nfd;
            if (fstat(fd, &was) < 0)
                was = now;
            continue;
        }
        if (fstat(fd, &now) == 0 && now.st_size < lseek(fd, 0, SEEK_CUR)) {
            finish(&lb);                        /* copytruncate: the file starts again */
            (void) lseek(fd, 0, SEEK_SET);
            continue;
        }
        if (tick && !tick(ctx))
            break;
        g_usleep((gulong) interval_ms * 1000);
    }
    finish(&lb);
    close(fd);
    g_free(lb.buf);
    return TRUE;
}
