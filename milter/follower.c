/*
 * follower - tail the Postfix log and feed it to the record relabeler.
 *
 * One thread reads the log (maillog_file or a syslog file) from where it
 * stopped: the inode, the offset after the last complete line and the
 * identity of the file's first line (its length and SHA-256, at most
 * HEAD_MAX bytes) are kept in STATE_DIR/follower ("inode N offset N head
 * LEN HEX", written atomically about once a second and at exit). A
 * restart with the same inode and first line goes on at that offset;
 * another inode or another first line (rotated while stopped) is read
 * from its start; without a state file the follower starts at the end of
 * the log. Rotation while running: by rename (the path names another
 * inode: the old file is read to its end first) and by copytruncate (the
 * file got shorter than the offset, or its first line changed because it
 * was truncated and written past the offset again between two looks:
 * read again from 0). What copytruncate writes between its copy and its
 * truncation is lost, for every reader; segtls ships rename rotation.
 * The log is polled every 100 ms; lines longer than 64 KiB are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "msg.h"
#include "milter.h"

#define POLL_US         100000  /* 100 ms between looks at the log */
#define LINE_MAX_LEN    65536
#define HEAD_MAX        512     /* bytes of the first line that identify a file */
#define HEAD_HEX        65      /* SHA-256 in hex, with its NUL */

struct mt_follower {
    char       *path;
    char       *state_path;     /* NULL: no state dir */
    GThread    *thread;
    GMutex      lock;
    GCond       cond;
    gboolean    stop;
    int         fd;
    ino_t       ino;
    off_t       offset;         /* after the last complete line */
    off_t       saved_offset;
    ino_t       saved_ino;
    size_t      head_len;       /* the first line's identity: length, 0 unknown */
    char        head[HEAD_HEX]; /* and SHA-256 */
    gboolean    head_done;      /* the first line is complete (or HEAD_MAX long) */
    GString    *buf;            /* read but not yet a complete line */
    gboolean    skipping;       /* inside an over-long line */
    int         open_errno;     /* last open error reported */
    mt_relabel *relabel;
};

/* head_of - fd's first line: its length (0: empty file), its SHA-256 in hex */
static size_t head_of(int fd, char hex[HEAD_HEX], gboolean *done)
{
    char buf[HEAD_MAX], *nl;
    g_autofree char *sum = NULL;
    ssize_t n;

    while ((n = pread(fd, buf, sizeof(buf), 0)) < 0 && errno == EINTR)
        ;
    if (n <= 0) {
        *done = FALSE;
        return 0;
    }
    if ((nl = memchr(buf, '\n', (size_t) n)) != NULL)
        n = nl + 1 - buf;
    *done = nl != NULL || n == HEAD_MAX;
    sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) buf, (gsize) n);
    g_strlcpy(hex, sum, HEAD_HEX);
    return (size_t) n;
}

/* head_same - does fd still start with the first line we know? (TRUE when unknown) */
static gboolean head_same(mt_follower *f)
{
    char buf[HEAD_MAX];
    g_autofree char *sum = NULL;
    ssize_t n;

    if (f->head_len == 0)
        return TRUE;
    while ((n = pread(f->fd, buf, f->head_len, 0)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return TRUE;                    /* cannot tell: read on */
    if (n != (ssize_t) f->head_len)
        return FALSE;
    sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, (const guchar *) buf, (gsize) n);
    return strcmp(sum, f->head) == 0;
}

/* head_learn - take the first line's identity once it is complete */
static void head_learn(mt_follower *f)
{
    if (!f->head_done)
        f->head_len = head_of(f->fd, f->head, &f->head_done);
}

/* state_load - saved inode, offset and first line; FALSE when there is none */
static gboolean state_load(mt_follower *f, ino_t *ino, off_t *off, size_t *head_len,
                           char head[HEAD_HEX])
{
    g_autofree char *data = NULL;
    unsigned long long i, o;
    unsigned long hl = 0;
    char hex[HEAD_HEX] = "";
    int n;

    if (f->state_path == NULL || !g_file_get_contents(f->state_path, &data, NULL, NULL))
        return FALSE;
    n = sscanf(data, "inode %llu offset %llu head %lu %64[0-9a-f]", &i, &o, &hl, hex);
    if (n != 2 && !(n == 4 && hl > 0 && hl <= HEAD_MAX && strlen(hex) == HEAD_HEX - 1)) {
        msg_warn("%s: malformed; starting at the end of the log", f->state_path);
        return FALSE;
    }
    *ino = (ino_t) i;
    *off = (off_t) o;
    *head_len = n == 4 ? hl : 0;        /* a state file from before heads: none */
    g_strlcpy(head, hex, HEAD_HEX);
    return TRUE;
}

/* state_save - write inode, offset and first line atomically (when they changed) */
static void state_save(mt_follower *f)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *text = NULL;

    if (f->state_path == NULL || f->ino == 0
        || (f->offset == f->saved_offset && f->ino == f->saved_ino))
        return;
    if (f->head_done)
        text = g_strdup_printf("inode %llu offset %llu head %zu %s\n", (unsigned long long) f->ino,
                               (unsigned long long) f->offset, f->head_len, f->head);
    else
        text = g_strdup_printf("inode %llu offset %llu\n", (unsigned long long) f->ino,
                               (unsigned long long) f->offset);
    if (!g_file_set_contents(f->state_path, text, -1, &err)) {
        msg_warn("save follower state: %s", err->message);
        return;
    }
    f->saved_offset = f->offset;
    f->saved_ino = f->ino;
}

/* log_open - open the log; FALSE (quietly) while it does not exist */
static gboolean log_open(mt_follower *f, gboolean resume)
{
    struct stat st;
    ino_t ino;
    off_t off;
    size_t head_len;
    char head[HEAD_HEX];
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == EACCES && errno != f->open_errno)
            msg_warn("open %s: %s: no outbound records until this user may read it "
                     "(postlogd makes it root 0600 when it is not there: make it first, "
                     "root:adm 0640, README)", f->path, g_strerror(errno));
        else if (errno != ENOENT && errno != f->open_errno)
            msg_warn("open %s: %s", f->path, g_strerror(errno));
        f->open_errno = errno;
        return FALSE;
    }
    f->open_errno = 0;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return FALSE;
    }
    f->fd = fd;
    f->ino = st.st_ino;
    f->offset = 0;
    f->head_done = FALSE;
    f->head_len = 0;
    head_learn(f);
    if (resume) {
        if (!state_load(f, &ino, &off, &head_len, head))
            f->offset = st.st_size;     /* first start: only what comes now */
        else if (ino == st.st_ino && off <= st.st_size
                 && (head_len == 0 || (head_len == f->head_len && strcmp(head, f->head) == 0)))
            f->offset = off;
        else if (ino == st.st_ino)
            msg_info("%s was truncated while stopped; reading it from the start", f->path);
    }
    g_string_truncate(f->buf, 0);
    f->skipping = FALSE;
    return TRUE;
}

/* feed - hand the complete lines in buf to the relabeler */
static void feed(mt_follower *f)
{
    char *s = f->buf->str, *e = s + f->buf->len, *nl;

    while ((nl = memchr(s, '\n', e - s)) != NULL) {
        if (!f->skipping)
            mt_relabel_line(f->relabel, s, nl - s);
        f->skipping = FALSE;
        f->offset += nl + 1 - s;
        s = nl + 1;
    }
    g_string_erase(f->buf, 0, s - f->buf->str);
    if (f->buf->len > LINE_MAX_LEN) {  /* drop it, skip to its newline */
        f->offset += f->buf->len;
        g_string_truncate(f->buf, 0);
        f->skipping = TRUE;
    }
}

/* drain - read to the end of the open file */
static void drain(mt_follower *f)
{
    char chunk[65536];
    ssize_t n;

    for (;;) {
        n = pread(f->fd, chunk, sizeof(chunk), f->offset + (off_t) f->buf->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        g_string_append_len(f->buf, chunk, n);
        mt_records_defer(TRUE);         /* one write(2) for the records of this read */
        feed(f);
        mt_records_defer(FALSE);
    }
}

/* check_rotation - follow rename and copytruncate */
static void check_rotation(mt_follower *f)
{
    struct stat st, cur;

    if (f->fd >= 0 && fstat(f->fd, &cur) == 0
        && (cur.st_size < f->offset + (off_t) f->buf->len || !head_same(f))) {
        msg_info("%s was truncated; reading it from the start", f->path);
        f->offset = 0;
        g_string_truncate(f->buf, 0);
        f->skipping = FALSE;
        f->head_done = FALSE;
        f->head_len = 0;
        head_learn(f);
        return;
    }
    if (stat(f->path, &st) < 0 || (f->fd >= 0 && st.st_ino == f->ino))
        return;
    if (f->fd >= 0) {
        drain(f);                       /* the rest of the renamed file */
        close(f->fd);
        f->fd = -1;
        msg_info("%s was replaced; following the new file", f->path);
    }
    log_open(f, FALSE);
}

/* run - the follower thread */
static gpointer run(gpointer data)
{
    mt_follower *f = data;
    gint64 last_tick = 0, now;

    g_mutex_lock(&f->lock);
    while (!f->stop) {
        g_mutex_unlock(&f->lock);
        now = g_get_monotonic_time();
        check_rotation(f);
        if (f->fd >= 0) {
            drain(f);
            head_learn(f);
        }
        mt_log_read_to(now);            /* every line written before now is read */
        if (now - last_tick >= G_USEC_PER_SEC) {
            mt_relabel_tick(f->relabel, time(NULL));
            state_save(f);
            mt_save();
            last_tick = now;
        }
        g_mutex_lock(&f->lock);
        if (!f->stop)
            g_cond_wait_until(&f->cond, &f->lock, g_get_monotonic_time() + POLL_US);
    }
    g_mutex_unlock(&f->lock);
    if (f->fd >= 0)
        drain(f);
    state_save(f);
    return NULL;
}

/*
 * mt_follower_start - start following the log in a thread (Postfix's
 * programs: names; where they listen and send from: pf_config, or NULL)
 */
mt_follower *mt_follower_start(const char *maillog, const char *state_dir, gboolean log_only,
                                const char *const *names, const char *pf_config,
                                GError **error)
{
    mt_follower *f = g_new0(mt_follower, 1);

    f->path = g_strdup(maillog);
    f->state_path = state_dir ? g_build_filename(state_dir, MT_FOLLOWER_FILE, NULL) : NULL;
    f->fd = -1;
    f->saved_offset = -1;
    f->buf = g_string_new(NULL);
    f->relabel = mt_relabel_new(log_only, names);
    if (pf_config != NULL)
        mt_relabel_set_postfix(f->relabel, pf_config);
    mt_follow_log(!log_only);
    g_mutex_init(&f->lock);
    g_cond_init(&f->cond);
    if (!log_open(f, TRUE) && errno == ENOENT)
        msg_warn("%s does not exist yet; waiting for it", maillog);
    f->thread = g_thread_try_new("follower", run, f, error);
    if (f->thread == NULL) {
        mt_follower_stop(f);
        return NULL;
    }
    return f;
}

/* mt_follower_stop - read what is there, save the offset, stop */
void mt_follower_stop(mt_follower *f)
{
    if (f == NULL)
        return;
    if (f->thread) {
        g_mutex_lock(&f->lock);
        f->stop = TRUE;
        g_cond_signal(&f->cond);
        g_mutex_unlock(&f->lock);
        g_thread_join(f->thread);
    }
    mt_follow_log(FALSE);
    if (f->fd >= 0)
        close(f->fd);
    mt_relabel_free(f->relabel);
    g_string_free(f->buf, TRUE);
    g_mutex_clear(&f->lock);
    g_cond_clear(&f->cond);
    g_free(f->path);
    g_free(f->state_path);
    g_free(f);
}
