/*
 * metrics_reg - unit tests of the Prometheus registry: the exposition of
 * described families, escaped labels, and seg_metrics_replace, which
 * swaps a sample's whole set of series (the drift gauges of
 * segtls-policyd) without touching the other samples of the family.
 */
#include <string.h>

#include "metrics.h"

/* test_render - HELP and TYPE once per family, series sorted, labels escaped */
static void test_render(void)
{
    g_autofree char *l = seg_metrics_labels("name", "a\"b\\c\nd", NULL);
    g_autofree char *out = NULL;

    seg_metrics_describe("t_render_total", "counter", "A counter");
    seg_metrics_add("t_render_total", l, 2);
    seg_metrics_add("t_render_total", l, 1);
    seg_metrics_add("t_undescribed_total", NULL, 1);
    out = seg_metrics_render();
    g_assert_nonnull(strstr(out, "# HELP t_render_total A counter\n"
                                 "# TYPE t_render_total counter\n"
                                 "t_render_total{name=\"a\\\"b\\\\c\\nd\"} 3\n"));
    g_assert_null(strstr(out, "t_undescribed_total"));
}

/* test_replace - the set becomes exactly the new one; other samples stay */
static void test_replace(void)
{
    const char *const first[] = {"service=\"gui\"", "service=\"inbound\""};
    const char *const second[] = {"service=\"inbound\"", "service=\"outbound\""};
    const double v1[] = {0, 1}, v2[] = {0, 1};
    g_autofree char *a = NULL, *b = NULL, *c = NULL;

    seg_metrics_describe("t_drift", "gauge", "Drift");
    seg_metrics_describe("t_sum", "summary", "A summary");
    seg_metrics_add("t_sum_sum", NULL, 1.5);
    seg_metrics_add("t_sum_count", NULL, 1);
    seg_metrics_replace("t_drift", first, v1, G_N_ELEMENTS(first));
    a = seg_metrics_render();
    g_assert_nonnull(strstr(a, "# TYPE t_drift gauge\n"
                               "t_drift{service=\"gui\"} 0\n"
                               "t_drift{service=\"inbound\"} 1\n# HELP"));
    seg_metrics_replace("t_drift", second, v2, G_N_ELEMENTS(second));
    b = seg_metrics_render();
    g_assert_nonnull(strstr(b, "# TYPE t_drift gauge\n"
                               "t_drift{service=\"inbound\"} 0\n"
                               "t_drift{service=\"outbound\"} 1\n# HELP"));
    g_assert_null(strstr(b, "service=\"gui\""));
    /* replacing one sample of a summary leaves the other */
    seg_metrics_replace("t_sum_sum", NULL, NULL, 0);
    c = seg_metrics_render();
    g_assert_null(strstr(c, "t_sum_sum"));
    g_assert_nonnull(strstr(c, "# TYPE t_sum summary\nt_sum_count 1\n"));
    g_assert_nonnull(strstr(c, "t_drift{service=\"outbound\"} 1\n"));
}

/* main - run the tests */
int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/metrics/render", test_render);
    g_test_add_func("/metrics/replace", test_replace);
    return g_test_run();
}
