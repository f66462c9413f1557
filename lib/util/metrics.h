/*
 * metrics - Prometheus text exposition (format 0.0.4) of a process's
 * counters and gauges, and a small HTTP listener that serves it.
 *
 * One registry per process, safe from any thread. A family is described
 * once (name, type, help); its series are named by a label string the
 * caller builds with seg_metrics_labels (values escaped). Summaries are
 * kept as NAME_sum and NAME_count. Collectors run before each exposition
 * to set values that live elsewhere (queues, files). The listener takes
 * "unix:/PATH" or a loopback "127.0.0.1:PORT" / "[::1]:PORT" (the GUI
 * HTTPS server proxies it) and answers GET /metrics; it runs its own
 * thread and main context, so it never waits on the program's work.
 */
#ifndef SEGTLS_METRICS_H
#define SEGTLS_METRICS_H

#include <glib.h>

/* seg_metrics_describe - a family: type "counter", "gauge" or "summary" */
void    seg_metrics_describe(const char *name, const char *type, const char *help);
/* seg_metrics_labels - "k1=\"v1\",k2=\"v2\"" of NULL-terminated key, value pairs */
char   *seg_metrics_labels(const char *key, ...) G_GNUC_NULL_TERMINATED;
/* seg_metrics_add - add to a series (created at 0) */
void    seg_metrics_add(const char *name, const char *labels, double by);
/* seg_metrics_set - set a series */
void    seg_metrics_set(const char *name, const char *labels, double value);
/*
 * seg_metrics_replace - the series of sample name become exactly the n
 * given (labels[i] = values[i]), in one step: a scrape sees the old set
 * or the new one, never a mix (a set whose members come and go)
 */
void    seg_metrics_replace(const char *name, const char *const *labels, const double *values,
                            guint n);
/* seg_metrics_collector - fn(ctx) runs before each exposition */
void    seg_metrics_collector(void (*fn)(void *ctx), void *ctx);
/* seg_metrics_render - the exposition text */
char   *seg_metrics_render(void);
/* seg_metrics_listen - serve GET /metrics at spec in a thread of its own */
gboolean seg_metrics_listen(const char *spec, GError **error);
/* seg_metrics_check_spec - is spec a UNIX socket path or a loopback address? */
gboolean seg_metrics_check_spec(const char *spec, GError **error);

#endif
