/*
 * ids - unit tests of the ICID/DCID/MID counters.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ids.h"

/* cleanup_dir - remove the state files and the directory */
static void cleanup_dir(const char *dir)
{
    g_autofree char *a = g_build_filename(dir, SEG_IDS_FILE, NULL);
    g_autofree char *b = g_build_filename(dir, SEG_IDS_LOCK, NULL);

    g_unlink(a);
    g_unlink(b);
    g_rmdir(dir);
}

/* test_memory - in memory every kind counts from 1 on its own */
static void test_memory(void)
{
    g_autoptr(seg_ids) ids = seg_ids_open(NULL, NULL);

    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, NULL), ==, 1);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, NULL), ==, 2);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_MID, NULL), ==, 1);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_DCID, NULL), ==, 1);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, NULL), ==, 3);
    g_assert_cmpstr(seg_ids_kind_name(SEG_ID_DCID), ==, "dcid");
}

/* test_persist - monotonic across reopen; the file holds the marks */
static void test_persist(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-ids-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, SEG_IDS_FILE, NULL);
    g_autofree char *text = NULL;
    g_autoptr(GError) err = NULL;
    seg_ids *ids = seg_ids_open(dir, &err);

    g_assert_no_error(err);
    seg_ids_set_block(ids, 10);
    for (guint64 i = 1; i <= 12; i++)
        g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, &err), ==, i);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_MID, &err), ==, 1);
    g_assert_no_error(err);
    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    g_assert_cmpstr(text, ==, "icid 21\ndcid 1\nmid 11\n");
    seg_ids_close(ids);

    /* a restart continues after the reserved blocks */
    ids = seg_ids_open(dir, &err);
    g_assert_no_error(err);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, &err), ==, 21);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_MID, &err), ==, 11);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_DCID, &err), ==, 1);
    seg_ids_close(ids);
    cleanup_dir(dir);
}

/* test_crash - a process that dies without closing never causes reuse */
static void test_crash(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-ids-XXXXXX", NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    guint64 got[40];
    int n = 0, fd[2], status;
    pid_t pid;

    g_assert_cmpint(pipe(fd), ==, 0);
    pid = fork();
    if (pid == 0) {
        seg_ids *ids = seg_ids_open(dir, NULL);

        for (int i = 0; i < 7; i++) {
            guint64 id = seg_ids_next(ids, SEG_ID_DCID, NULL);

            if (write(fd[1], &id, sizeof(id)) != sizeof(id))
                _exit(2);
        }
        abort();                        /* no close, no cleanup */
    }
    close(fd[1]);
    while (n < 7 && read(fd[0], &got[n], sizeof(got[0])) == sizeof(got[0]))
        n++;
    close(fd[0]);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFSIGNALED(status));
    g_assert_cmpint(n, ==, 7);
    {
        g_autoptr(seg_ids) ids = seg_ids_open(dir, NULL);
        guint64 next = seg_ids_next(ids, SEG_ID_DCID, NULL);

        g_assert_cmpuint(got[0], ==, 1);
        g_assert_cmpuint(got[6], ==, 7);
        g_assert_cmpuint(next, ==, SEG_IDS_BLOCK + 1);  /* skips the rest, no reuse */
    }
    (void) seen;
    cleanup_dir(dir);
}

/* test_processes - processes sharing the state dir never get the same ID */
static void test_processes(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-ids-XXXXXX", NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    const int procs = 4, each = 200;
    guint64 *all = g_new(guint64, procs * each);
    int fd[2], n = 0;

    g_assert_cmpint(pipe(fd), ==, 0);
    for (int p = 0; p < procs; p++) {
        if (fork() == 0) {
            seg_ids *ids = seg_ids_open(dir, NULL);
            guint64 last = 0;

            seg_ids_set_block(ids, 7);
            for (int i = 0; i < each; i++) {
                guint64 id = seg_ids_next(ids, SEG_ID_MID, NULL);

                if (id <= last || write(fd[1], &id, sizeof(id)) != sizeof(id))
                    _exit(1);           /* must increase within a process */
                last = id;
            }
            seg_ids_close(ids);
            _exit(0);
        }
    }
    close(fd[1]);
    while (n < procs * each && read(fd[0], &all[n], sizeof(all[0])) == sizeof(all[0]))
        n++;
    close(fd[0]);
    for (int p = 0; p < procs; p++) {
        int status;

        g_assert_cmpint(wait(&status), >, 0);
        g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    g_assert_cmpint(n, ==, procs * each);
    for (int i = 0; i < n; i++) {
        g_assert_cmpuint(all[i], >, 0);
        g_assert_false(g_hash_table_contains(seen, &all[i]));
        g_hash_table_add(seen, &all[i]);
    }
    g_free(all);
    cleanup_dir(dir);
}

/* test_bad_state - a broken state file is refused with file:line */
static void test_bad_state(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-ids-XXXXXX", NULL);
    g_autofree char *path = g_build_filename(dir, SEG_IDS_FILE, NULL);
    g_autofree char *missing = g_build_filename(dir, "nope", NULL);
    g_autoptr(GError) err = NULL;
    static const char *const bad[] = {
        "icid 5\nbogus 3\n", "icid\n", "icid x\n", "icid 0\n", "icid 99999999999999999999999\n",
        "mid 12abc\n",
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_assert_true(g_file_set_contents(path, bad[i], -1, NULL));
        g_assert_null(seg_ids_open(dir, &err));
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, path));
        g_clear_error(&err);
    }
    g_assert_null(seg_ids_open(missing, &err));
    g_assert_nonnull(strstr(err->message, "not a directory"));
    g_clear_error(&err);
    g_assert_true(g_file_set_contents(path, "mid 42\n", -1, NULL));
    {
        g_autoptr(seg_ids) ids = seg_ids_open(dir, &err);

        g_assert_no_error(err);
        g_assert_cmpuint(seg_ids_next(ids, SEG_ID_MID, NULL), ==, 42);
        g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, NULL), ==, 1);
    }
    cleanup_dir(dir);
}

/* ahead_lock - hold STATE_DIR/ids.lock as another process would; the fd */
static int ahead_lock(const char *dir)
{
    g_autofree char *path = g_build_filename(dir, SEG_IDS_LOCK, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(flock(fd, LOCK_EX), ==, 0);
    return fd;
}

/* test_ahead - the next block reserved ahead: taken without the file, even while it is locked */
static void test_ahead(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-ids-XXXXXX", NULL);
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_ids) ids = seg_ids_open(dir, &err);
    guint64 id;
    gint64 t0, worst = 0;
    int fd;

    g_assert_no_error(err);
    seg_ids_set_block(ids, 10);
    g_assert_cmpuint(seg_ids_try_next(ids, SEG_ID_ICID), ==, 0);    /* nothing reserved yet */
    g_assert_true(seg_ids_low(ids, SEG_ID_ICID));
    g_assert_true(seg_ids_reserve_ahead(ids, SEG_ID_ICID, &err));   /* used up: current */
    for (guint64 i = 1; i <= 5; i++)
        g_assert_cmpuint(seg_ids_try_next(ids, SEG_ID_ICID), ==, i);
    g_assert_true(seg_ids_low(ids, SEG_ID_ICID));                   /* half used */
    g_assert_true(seg_ids_reserve_ahead(ids, SEG_ID_ICID, &err));
    g_assert_false(seg_ids_low(ids, SEG_ID_ICID));
    g_assert_true(seg_ids_reserve_ahead(ids, SEG_ID_ICID, &err));   /* not low: nothing */
    fd = ahead_lock(dir);
    for (guint64 i = 6; i <= 20; i++) {
        t0 = g_get_monotonic_time();
        id = seg_ids_try_next(ids, SEG_ID_ICID);
        worst = MAX(worst, g_get_monotonic_time() - t0);
        g_assert_cmpuint(id, ==, i);
    }
    g_assert_cmpint(worst, <, 100000);  /* never waited for the locked file */
    g_assert_cmpuint(seg_ids_try_next(ids, SEG_ID_ICID), ==, 0);    /* both blocks used */
    g_assert_true(seg_ids_low(ids, SEG_ID_ICID));
    close(fd);
    g_assert_cmpuint(seg_ids_next(ids, SEG_ID_ICID, &err), ==, 21);
    g_assert_no_error(err);
    cleanup_dir(dir);
}

typedef struct {
    seg_ids    *ids;
    GMutex     *order;          /* held while an ID is taken and "written" */
    GArray     *written;        /* IDs in the order they were "written" */
    GCond      *kick;
    gboolean   *stop;
    int         n;
    gboolean    ok;
} taker;

/* take_thread - take IDs as the milter does: under a lock, never waiting for the file there */
static gpointer take_thread(gpointer data)
{
    taker *t = data;
    guint64 id, last = 0;

    t->ok = TRUE;
    for (int i = 0; i < t->n; i++) {
        g_mutex_lock(t->order);
        while ((id = seg_ids_try_next(t->ids, SEG_ID_MID)) == 0) {
            g_mutex_unlock(t->order);
            if (!seg_ids_reserve_ahead(t->ids, SEG_ID_MID, NULL))
                t->ok = FALSE;
            g_mutex_lock(t->order);
        }
        g_array_append_val(t->written, id);
        if (seg_ids_low(t->ids, SEG_ID_MID))
            g_cond_signal(t->kick);
        g_mutex_unlock(t->order);
        if (id <= last)
            t->ok = FALSE;
        last = id;
    }
    return NULL;
}

/* refill_thread - reserve ahead whenever kicked (the milter's "ids" thread) */
static gpointer refill_thread(gpointer data)
{
    taker *t = data;

    g_mutex_lock(t->order);
    while (!*t->stop) {
        g_cond_wait_until(t->kick, t->order, g_get_monotonic_time() + 10000);
        g_mutex_unlock(t->order);
        if (!seg_ids_reserve_ahead(t->ids, SEG_ID_MID, NULL))
            t->ok = FALSE;
        g_mutex_lock(t->order);
    }
    g_mutex_unlock(t->order);
    return NULL;
}

/*
 * test_threads - eight takers, a refill thread and another process on
 * one state dir with blocks of 7: every ID once, increasing per thread
 * and in the order written, none shared with the other process
 */
static void test_threads(void)
{
    g_autofree char *dir = g_dir_make_tmp("segtls-ids-XXXXXX", NULL);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_autoptr(GArray) written = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_autoptr(GArray) other = g_array_new(FALSE, FALSE, sizeof(guint64));
    seg_ids *ids = seg_ids_open(dir, NULL);
    GMutex order;
    GCond kick;
    gboolean stop = FALSE;
    taker t[8], r;
    GThread *th[8], *rt;
    int fd[2], status;
    guint64 id;
    pid_t pid;

    g_assert_cmpint(pipe(fd), ==, 0);
    if ((pid = fork()) == 0) {           /* another writer of the same IDs */
        seg_ids *o = seg_ids_open(dir, NULL);

        seg_ids_set_block(o, 7);
        for (int i = 0; i < 3000; i++) {
            id = seg_ids_next(o, SEG_ID_MID, NULL);
            if (id == 0 || write(fd[1], &id, sizeof(id)) != sizeof(id))
                _exit(1);
        }
        _exit(0);
    }
    close(fd[1]);
    seg_ids_set_block(ids, 7);
    g_mutex_init(&order);
    g_cond_init(&kick);
    r = (taker) {ids, &order, written, &kick, &stop, 0, TRUE};
    rt = g_thread_new("refill", refill_thread, &r);
    for (int i = 0; i < 8; i++) {
        t[i] = (taker) {ids, &order, written, &kick, &stop, 2000, FALSE};
        th[i] = g_thread_new("taker", take_thread, &t[i]);
    }
    for (int i = 0; i < 8; i++) {
        g_thread_join(th[i]);
        g_assert_true(t[i].ok);
    }
    g_mutex_lock(&order);
    stop = TRUE;
    g_mutex_unlock(&order);
    g_thread_join(rt);
    g_assert_true(r.ok);
    while (read(fd[0], &id, sizeof(id)) == sizeof(id))
        g_array_append_val(other, id);
    close(fd[0]);
    g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
    g_assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    g_assert_cmpuint(written->len, ==, 8 * 2000);
    g_assert_cmpuint(other->len, ==, 3000);
    for (guint i = 0; i < written->len; i++) {
        guint64 *v = &g_array_index(written, guint64, i);

        g_assert_cmpuint(*v, >, 0);
        if (i > 0)
            g_assert_cmpuint(*v, >, v[-1]);     /* in the order written */
        g_assert_false(g_hash_table_contains(seen, v));
        g_hash_table_add(seen, v);
    }
    for (guint i = 0; i < other->len; i++) {
        guint64 *v = &g_array_index(other, guint64, i);

        g_assert_false(g_hash_table_contains(seen, v));
        g_hash_table_add(seen, v);
    }
    seg_ids_close(ids);
    g_mutex_clear(&order);
    g_cond_clear(&kick);
    cleanup_dir(dir);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/ids/memory", test_memory);
    g_test_add_func("/ids/persist", test_persist);
    g_test_add_func("/ids/crash", test_crash);
    g_test_add_func("/ids/processes", test_processes);
    g_test_add_func("/ids/bad_state", test_bad_state);
    g_test_add_func("/ids/ahead", test_ahead);
    g_test_add_func("/ids/threads", test_threads);
    return g_test_run();
}
