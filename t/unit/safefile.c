/*
 * safefile - unit tests of reading a file someone else named
 * (lib/util/safefile.c): a FIFO and a device are refused at once, never
 * waited on; a file over the bound is refused; the real path of a link
 * is given; seg_file_check_as decides with another user's rights (as
 * root only).
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "error.h"
#include "safefile.h"

static char *dir;

/* path_of - a file name in the test directory */
static char *path_of(const char *name)
{
    return g_build_filename(dir, name, NULL);
}

/* read_fails - seg_file_read_bounded refuses path with this reason */
static void read_fails(const char *path, gsize max, const char *why)
{
    g_autoptr(GError) err = NULL;
    char   *data = NULL;
    gsize   len = 0;
    gint64  t0 = g_get_monotonic_time();

    g_assert_false(seg_file_read_bounded(path, max, &data, &len, NULL, &err));
    g_assert_error(err, SEG_ERROR, SEG_ERROR_IO);
    g_assert_cmpstr(err->message, ==, why);
    g_assert_null(data);
    g_assert_cmpint(g_get_monotonic_time() - t0, <, G_USEC_PER_SEC);
}

/* test_fifo - a FIFO without a writer is refused at once */
static void test_fifo(void)
{
    g_autofree char *fifo = path_of("fifo");
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(mkfifo(fifo, 0600), ==, 0);
    read_fails(fifo, 1024, "not a regular file");
    g_assert_false(seg_file_check_as(fifo, geteuid(), getegid(), 1024, 1000, &err));
    g_assert_cmpstr(err->message, ==, "not a regular file");
    g_unlink(fifo);
}

/* test_device - a character device, a directory, a missing file */
static void test_device(void)
{
    g_autofree char *missing = path_of("missing");

    read_fails("/dev/zero", 1024, "not a regular file");
    read_fails("/dev/null", 1024, "not a regular file");
    read_fails(dir, 1024, "not a regular file");
    read_fails(missing, 1024, g_strerror(ENOENT));
}

/* test_bound - at most max bytes; the real path of a link */
static void test_bound(void)
{
    g_autofree char *file = path_of("chain.pem");
    g_autofree char *link = path_of("link.pem");
    g_autoptr(GError) err = NULL;
    g_autofree char *data = NULL;
    g_autofree char *real = NULL;
    gsize   len = 0;

    g_assert_true(g_file_set_contents(file, "0123456789", 10, NULL));
    read_fails(file, 9, "larger than 9 bytes");
    g_assert_cmpint(symlink(file, link), ==, 0);
    g_assert_true(seg_file_read_bounded(link, 10, &data, &len, &real, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(len, ==, 10);
    g_assert_cmpstr(data, ==, "0123456789");
    g_assert_cmpstr(real, ==, file);
    g_assert_true(seg_file_check_as(link, geteuid(), getegid(), 10, 1000, NULL));
    g_unlink(link);
    g_unlink(file);
}

/* test_as_other - another user's rights decide (root only) */
static void test_as_other(void)
{
    g_autofree char *secret = path_of("secret.pem");
    g_autofree char *open_file = path_of("open.pem");
    g_autoptr(GError) err = NULL;

    if (geteuid() != 0) {
        g_test_skip("needs root to take another user's rights");
        return;
    }
    g_assert_true(g_file_set_contents(secret, "x", 1, NULL));
    g_assert_cmpint(chmod(secret, 0600), ==, 0);
    g_assert_true(g_file_set_contents(open_file, "x", 1, NULL));
    g_assert_cmpint(chmod(open_file, 0644), ==, 0);
    g_assert_false(seg_file_check_as(secret, 65534, 65534, 1024, 5000, &err));
    g_assert_cmpstr(err->message, ==, g_strerror(EACCES));
    g_clear_error(&err);
    g_assert_true(seg_file_check_as(open_file, 65534, 65534, 1024, 5000, &err));
    g_assert_no_error(err);
    /* root itself may read the secret */
    g_assert_true(seg_file_check_as(secret, 0, 0, 1024, 5000, NULL));
    g_unlink(secret);
    g_unlink(open_file);
}

/* main - a private directory (searchable by all), then the tests */
int main(int argc, char **argv)
{
    int     status;

    g_test_init(&argc, &argv, NULL);
    dir = g_dir_make_tmp("segtls-safefile-XXXXXX", NULL);
    g_assert_nonnull(dir);
    g_assert_cmpint(chmod(dir, 0755), ==, 0);
    g_test_add_func("/safefile/fifo", test_fifo);
    g_test_add_func("/safefile/device", test_device);
    g_test_add_func("/safefile/bound", test_bound);
    g_test_add_func("/safefile/as-other", test_as_other);
    status = g_test_run();
    g_rmdir(dir);
    g_free(dir);
    return status;
}
