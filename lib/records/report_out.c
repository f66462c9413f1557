/*
 * report_out - the TLS Connections report as a table, JSON, CSV or HTML.
 *
 * Each renderer walks one rp_result (report.c), so the numbers are the
 * same in every format. The HTML is one fragment (tables and an inline
 * SVG chart per direction, no script, no external resource) that a web
 * UI can serve inside its own page, or a whole page around it. Names in
 * the result are already cleaned (report.c); every output escapes them
 * for its own syntax all the same.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <json-glib/json-glib.h>

#include "recfmt.h"
#include "report_int.h"

static const char *const dir_title[RP_NDIRS] = {"Inbound", "Outbound"};
static const char *const dir_key[RP_NDIRS] = {"inbound", "outbound"};
static const char *const dir_domain[RP_NDIRS] = {
    "remote domain: reverse DNS host, verified", "remote domain: recipient domain",
};

static const struct {
    const char *version;
    const char *color;
} version_colors[] = {
    {"TLSv1.3", "#1b5e20"}, {"TLSv1.2", "#66bb6a"}, {"TLSv1.1", "#fdd835"},
    {"TLSv1", "#fb8c00"}, {"SSLv3", "#6d4c41"},
};
#define COLOR_OTHER     "#8e24aa"
#define COLOR_FAILED    "#c62828"
#define COLOR_PLAIN     "#9e9e9e"

/* name - a version or cipher name */
static const char *name(const rp_result *res, guint32 id)
{
    return g_ptr_array_index(res->names, id);
}

/* pct - the share encrypted, "-" without connections */
static void pct(const rp_row *row, char *buf, size_t size)
{
    if (row->conns == 0)
        g_strlcpy(buf, "-", size);
    else
        snprintf(buf, size, "%.1f%%", 100.0 * (double) row->success / (double) row->conns);
}

/* counts - "A 3, B 1" (sep ", ", eq " ") or "A=3;B=1" */
static void counts(GString *s, const rp_result *res, const GArray *a, const char *eq,
                   const char *sep)
{
    for (guint i = 0; i < a->len; i++) {
        const rp_count *c = &g_array_index(a, rp_count, i);

        g_string_append_printf(s, "%s%s%s%" G_GUINT64_FORMAT, i ? sep : "", name(res, c->id),
                               eq, c->n);
    }
}

/* when - a time as the records write it */
static void when(gint64 t, char *buf, size_t size)
{
    if (seg_recfmt_time((time_t) t, buf, size) == 0)
        g_strlcpy(buf, "?", size);
}

/* period - "from A to B" of the options, else of the connections */
static char *period(const rp_result *res)
{
    char    a[SEG_RECFMT_TIME_LEN], b[SEG_RECFMT_TIME_LEN];

    if (res->since == G_MININT64 && res->first > res->last)
        return g_strdup("no connections");
    when(res->since != G_MININT64 ? res->since : res->first, a, sizeof(a));
    if (res->until != G_MAXINT64) {
        when(res->until, b, sizeof(b));
        return g_strdup_printf("%s to %s (before)", a, b);
    }
    when(res->last, b, sizeof(b));
    return g_strdup_printf("%s to %s", a, b);
}

/* ---- text ---- */

enum { C_DOMAIN, C_CONNS, C_OK, C_FAIL, C_REQ, C_PLAIN, C_MSGS, C_TLSMSGS, C_PCT, C_VERS, C_CIPH, NCOLS };
static const char *const col_head[NCOLS] = {
    "Domain", "Connections", "TLS success", "TLS failed", "Required", "Plain", "Messages",
    "TLS messages", "Encrypted", "Versions", "Ciphers",
};

/* list_cell - "A 3, B 1", or "-" for none */
static char *list_cell(const rp_result *res, const GArray *a)
{
    GString *v = g_string_new(NULL);

    counts(v, res, a, " ", ", ");
    if (v->len == 0)
        g_string_append_c(v, '-');
    return g_string_free(v, FALSE);
}

/* row_cells - the cells of one row */
static void row_cells(const rp_result *res, const rp_row *row, char **cells)
{
    char    p[16];

    pct(row, p, sizeof(p));
    cells[C_DOMAIN] = g_strdup(strcmp(row->domain, "*") == 0 ? "Total" : row->domain);
    cells[C_CONNS] = g_strdup_printf("%" G_GUINT64_FORMAT, row->conns);
    cells[C_OK] = g_strdup_printf("%" G_GUINT64_FORMAT, row->success);
    cells[C_FAIL] = g_strdup_printf("%" G_GUINT64_FORMAT, row->failed);
    cells[C_REQ] = g_strdup_printf("%" G_GUINT64_FORMAT, row->required);
    cells[C_PLAIN] = g_strdup_printf("%" G_GUINT64_FORMAT, row->plain);
    cells[C_MSGS] = g_strdup_printf("%" G_GUINT64_FORMAT, row->msgs);
    cells[C_TLSMSGS] = g_strdup_printf("%" G_GUINT64_FORMAT, row->msgs_tls);
    cells[C_PCT] = g_strdup(p);
    cells[C_VERS] = list_cell(res, row->versions);
    cells[C_CIPH] = list_cell(res, row->ciphers);
}

/* seg_report_text - the table */
char   *seg_report_text(seg_report *r)
{
    rp_result *res = rp_compute(r);
    GString *s = g_string_new("TLS Connections report\n");
    g_autofree char *per = period(res);

    g_string_append_printf(s, "Period: %s\n", per);
    if (res->domain)
        g_string_append_printf(s, "Domain: %s\n", res->domain);
    for (int d = 0; d < RP_NDIRS; d++) {
        rp_dir *dir = &res->dir[d];
        guint   n = dir->rows->len + 1, w[NCOLS];
        char ***cells;

        if (!dir->shown)
            continue;
        g_string_append_printf(s, "\n%s (%s)", dir_title[d], dir_domain[d]);
        if (dir->nrows > dir->rows->len)
            g_string_append_printf(s, ", top %u of %u domains", dir->rows->len, dir->nrows);
        g_string_append(s, "\n");
        cells = g_new0(char **, n);
        for (guint i = 0; i < n; i++) {
            cells[i] = g_new0(char *, NCOLS + 1);
            row_cells(res, i + 1 < n ? g_ptr_array_index(dir->rows, i) : &dir->total, cells[i]);
        }
        for (int c = 0; c < NCOLS; c++) {
            w[c] = strlen(col_head[c]);
            for (guint i = 0; i < n; i++)
                w[c] = MAX(w[c], strlen(cells[i][c]));
        }
        for (guint i = 0; i <= n; i++) {
            GString *line = g_string_new(NULL);

            for (int c = 0; c < NCOLS; c++) {
                const char *t = i == 0 ? col_head[c] : cells[i - 1][c];
                gboolean left = c == C_DOMAIN || c >= C_VERS;

                g_string_append_printf(line, "%s%*s%s", c ? "  " : "", left ? 0 : (int) (w[c] - strlen(t)),
                                       "", t);
                if (left && c + 1 < NCOLS)
                    g_string_append_printf(line, "%*s", (int) (w[c] - strlen(t)), "");
            }
            while (line->len && line->str[line->len - 1] == ' ')
                g_string_truncate(line, line->len - 1);
            g_string_append_printf(s, "%s\n", line->str);
            g_string_free(line, TRUE);
        }
        for (guint i = 0; i < n; i++)
            g_strfreev(cells[i]);
        g_free(cells);
    }
    rp_result_free(res);
    return g_string_free(s, FALSE);
}

/* ---- JSON ---- */

/* iso_time - a time as ISO 8601 with the local offset */
static char *iso_time(gint64 t)
{
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local(t);

    return dt ? g_date_time_format_iso8601(dt) : g_strdup("?");
}

/* json_time - member name: ISO time, or null */
static void json_time(JsonBuilder *b, const char *member, gint64 t, gboolean none)
{
    json_builder_set_member_name(b, member);
    if (none) {
        json_builder_add_null_value(b);
    } else {
        g_autofree char *iso = iso_time(t);

        json_builder_add_string_value(b, iso);
    }
}

/* json_counts - {name: n, ...} */
static void json_counts(JsonBuilder *b, const rp_result *res, const char *member, const GArray *a)
{
    json_builder_set_member_name(b, member);
    json_builder_begin_object(b);
    for (guint i = 0; i < a->len; i++) {
        const rp_count *c = &g_array_index(a, rp_count, i);

        json_builder_set_member_name(b, name(res, c->id));
        json_builder_add_int_value(b, (gint64) c->n);
    }
    json_builder_end_object(b);
}

/* json_int - member: n */
static void json_int(JsonBuilder *b, const char *member, guint64 n)
{
    json_builder_set_member_name(b, member);
    json_builder_add_int_value(b, (gint64) n);
}

/* json_row - one row object */
static void json_row(JsonBuilder *b, const rp_result *res, const rp_row *row)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "domain");
    json_builder_add_string_value(b, row->domain);
    json_int(b, "connections", row->conns);
    json_int(b, "tls_success", row->success);
    json_int(b, "tls_failed", row->failed);
    json_int(b, "tls_failed_required", row->required);
    json_int(b, "plain", row->plain);
    json_int(b, "messages", row->msgs);
    json_int(b, "messages_tls", row->msgs_tls);
    json_builder_set_member_name(b, "encrypted_percent");
    if (row->conns)
        json_builder_add_double_value(b, (double) (gint64) (1000.0 * (double) row->success
                                                            / (double) row->conns + 0.5) / 10.0);
    else
        json_builder_add_null_value(b);
    json_counts(b, res, "versions", row->versions);
    json_counts(b, res, "ciphers", row->ciphers);
    json_builder_end_object(b);
}

/* with_newline - text (taken) and a newline */
static char *with_newline(char *text)
{
    char   *t = g_strconcat(text, "\n", NULL);

    g_free(text);
    return t;
}

/* seg_report_json - the same as a JSON object */
char   *seg_report_json(seg_report *r)
{
    rp_result *res = rp_compute(r);
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = NULL;
    char   *text;

    json_builder_begin_object(b);
    json_time(b, "since", res->since, res->since == G_MININT64);
    json_time(b, "until", res->until, res->until == G_MAXINT64);
    json_time(b, "first", res->first, res->first > res->last);
    json_time(b, "last", res->last, res->first > res->last);
    json_builder_set_member_name(b, "domain");
    if (res->domain)
        json_builder_add_string_value(b, res->domain);
    else
        json_builder_add_null_value(b);
    json_int(b, "top", res->top);
    for (int d = 0; d < RP_NDIRS; d++) {
        rp_dir *dir = &res->dir[d];

        if (!dir->shown)
            continue;
        json_builder_set_member_name(b, dir_key[d]);
        json_builder_begin_object(b);
        json_int(b, "domains", dir->nrows);
        json_builder_set_member_name(b, "total");
        json_row(b, res, &dir->total);
        json_builder_set_member_name(b, "rows");
        json_builder_begin_array(b);
        for (guint i = 0; i < dir->rows->len; i++)
            json_row(b, res, g_ptr_array_index(dir->rows, i));
        json_builder_end_array(b);
        json_builder_set_member_name(b, "chart");
        json_builder_begin_object(b);
        json_int(b, "bucket_seconds", (guint64) dir->width);
        json_builder_set_member_name(b, "buckets");
        json_builder_begin_array(b);
        for (guint i = 0; i < dir->nbuckets; i++) {
            json_builder_begin_object(b);
            json_time(b, "start", dir->bucket0 + (gint64) i * dir->width, FALSE);
            json_counts(b, res, "versions", dir->buckets[i].versions);
            json_int(b, "failed", dir->buckets[i].failed);
            json_int(b, "plain", dir->buckets[i].plain);
            json_builder_end_object(b);
        }
        json_builder_end_array(b);
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    root = json_builder_get_root(b);
    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, TRUE);
    json_generator_set_indent(gen, 2);
    text = json_generator_to_data(gen, NULL);
    rp_result_free(res);
    return with_newline(text);
}

/* ---- CSV ---- */

/* csv_field - a field, quoted when it needs to be (RFC 4180) */
static void csv_field(GString *s, const char *f)
{
    if (strpbrk(f, ",\"\r\n") == NULL) {
        g_string_append(s, f);
        return;
    }
    g_string_append_c(s, '"');
    for (; *f; f++) {
        if (*f == '"')
            g_string_append_c(s, '"');
        g_string_append_c(s, *f);
    }
    g_string_append_c(s, '"');
}

/* csv_row - one line */
static void csv_row(GString *s, const rp_result *res, const char *dir, const rp_row *row)
{
    char    p[16];
    GString *v = g_string_new(NULL), *c = g_string_new(NULL);

    if (row->conns)
        snprintf(p, sizeof(p), "%.1f", 100.0 * (double) row->success / (double) row->conns);
    else
        p[0] = 0;
    counts(v, res, row->versions, "=", ";");
    counts(c, res, row->ciphers, "=", ";");
    g_string_append_printf(s, "%s,", dir);
    csv_field(s, row->domain);
    g_string_append_printf(s, ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                           ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                           ",%" G_GUINT64_FORMAT ",%s,", row->conns, row->success, row->failed,
                           row->required, row->plain, row->msgs, row->msgs_tls, p);
    csv_field(s, v->str);
    g_string_append_c(s, ',');
    csv_field(s, c->str);
    g_string_append(s, "\r\n");
    g_string_free(v, TRUE);
    g_string_free(c, TRUE);
}

/* seg_report_csv - one line per direction and domain, totals as domain "*" */
char   *seg_report_csv(seg_report *r)
{
    rp_result *res = rp_compute(r);
    GString *s = g_string_new("direction,domain,connections,tls_success,tls_failed,"
                              "tls_failed_required,plain,messages,messages_tls,"
                              "encrypted_percent,versions,ciphers\r\n");

    for (int d = 0; d < RP_NDIRS; d++) {
        if (!res->dir[d].shown)
            continue;
        for (guint i = 0; i < res->dir[d].rows->len; i++)
            csv_row(s, res, dir_key[d], g_ptr_array_index(res->dir[d].rows, i));
        csv_row(s, res, dir_key[d], &res->dir[d].total);
    }
    rp_result_free(res);
    return g_string_free(s, FALSE);
}

/* ---- HTML and SVG ---- */

/* esc - text escaped for HTML and XML */
static void esc(GString *s, const char *t)
{
    g_autofree char *e = g_markup_escape_text(t, -1);

    g_string_append(s, e);
}

/* version_color - the chart color of a TLS version */
static const char *version_color(const char *v)
{
    for (gsize i = 0; i < G_N_ELEMENTS(version_colors); i++)
        if (strcmp(version_colors[i].version, v) == 0)
            return version_colors[i].color;
    return COLOR_OTHER;
}

/* short_time - "2026-11-27 23:20" (local time) */
static void short_time(gint64 t, char *buf, size_t size)
{
    time_t  tt = (time_t) t;
    struct tm tm;

    if (localtime_r(&tt, &tm) == NULL
        || snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min) <= 0)
        g_strlcpy(buf, "?", size);
}

/* rect - one bar segment with its tooltip */
static void rect(GString *s, double x, double y, double w, double h, const char *color,
                 const char *label, guint64 n, guint64 total, const char *at)
{
    if (h <= 0)
        return;
    g_string_append_printf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
                           "fill=\"%s\"><title>%s: ", x, y, w, h, color, at);
    esc(s, label);
    g_string_append_printf(s, " %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT "</title></rect>\n",
                           n, total);
}

/* svg_chart - the share of versions, failures and plain per bucket */
static void svg_chart(GString *s, const rp_result *res, int d)
{
    const rp_dir *dir = &res->dir[d];
    const double x0 = 56, y0 = 16, pw = 640, ph = 200;
    double  bw;
    char    t[32];

    g_string_append_printf(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
                           "width=\"720\" height=\"290\" viewBox=\"0 0 720 290\" role=\"img\" "
                           "aria-label=\"%s TLS version share and failures over time\">\n",
                           dir_title[d]);
    g_string_append_printf(s, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" "
                           "fill=\"#fafafa\" stroke=\"#bdbdbd\"/>\n", x0, y0, pw, ph);
    for (int p = 0; p <= 100; p += 25)
        g_string_append_printf(s, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" "
                               "text-anchor=\"end\">%d%%</text>\n", x0 - 6,
                               y0 + ph - ph * p / 100.0 + 4, p);
    if (dir->nbuckets == 0) {
        g_string_append_printf(s, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"13\" "
                               "text-anchor=\"middle\">no connections</text>\n</svg>\n",
                               x0 + pw / 2, y0 + ph / 2);
        return;
    }
    bw = pw / dir->nbuckets;
    for (guint b = 0; b < dir->nbuckets; b++) {
        const rp_bucket *k = &dir->buckets[b];
        guint64 total = k->failed + k->plain;
        double  y = y0 + ph;

        for (guint i = 0; i < k->versions->len; i++)
            total += g_array_index(k->versions, rp_count, i).n;
        if (total == 0)
            continue;
        short_time(dir->bucket0 + (gint64) b * dir->width, t, sizeof(t));
        /* versions newest first at the bottom, then plain, then failed on top */
        for (gsize v = 0; v <= G_N_ELEMENTS(version_colors); v++)
            for (guint i = 0; i < k->versions->len; i++) {
                const rp_count *c = &g_array_index(k->versions, rp_count, i);
                const char *vn = name(res, c->id);
                gboolean known = strcmp(version_color(vn), COLOR_OTHER) != 0;
                double  h;

                if (v < G_N_ELEMENTS(version_colors) ? strcmp(vn, version_colors[v].version) != 0
                    : known)
                    continue;
                h = ph * (double) c->n / (double) total;
                y -= h;
                rect(s, x0 + b * bw + 1, y, bw - 2, h, version_color(vn), vn, c->n, total, t);
            }
        y -= ph * (double) k->plain / (double) total;
        rect(s, x0 + b * bw + 1, y, bw - 2, ph * (double) k->plain / (double) total, COLOR_PLAIN,
             "plain", k->plain, total, t);
        y -= ph * (double) k->failed / (double) total;
        rect(s, x0 + b * bw + 1, y, bw - 2, ph * (double) k->failed / (double) total,
             COLOR_FAILED, "TLS failed", k->failed, total, t);
    }
    /* time axis: first, middle and last bucket */
    for (guint b = 0; b < dir->nbuckets; b += MAX(1u, (dir->nbuckets - 1) / 2 + ((dir->nbuckets - 1) % 2))) {
        short_time(dir->bucket0 + (gint64) b * dir->width, t, sizeof(t));
        g_string_append_printf(s, "<text x=\"%.1f\" y=\"%.0f\" font-size=\"11\" "
                               "text-anchor=\"%s\">%s</text>\n", x0 + b * bw + (b ? bw / 2 : 0),
                               y0 + ph + 16, b == 0 ? "start" : "middle", t);
        if (dir->nbuckets == 1)
            break;
    }
    /* legend */
    {
        double  lx = x0;
        const double ly = y0 + ph + 40;

        for (gsize v = 0; v < G_N_ELEMENTS(version_colors) + 2; v++) {
            const char *label = v < G_N_ELEMENTS(version_colors) ? version_colors[v].version
                : v == G_N_ELEMENTS(version_colors) ? "plain" : "TLS failed";
            const char *color = v < G_N_ELEMENTS(version_colors) ? version_colors[v].color
                : v == G_N_ELEMENTS(version_colors) ? COLOR_PLAIN : COLOR_FAILED;

            g_string_append_printf(s, "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" "
                                   "fill=\"%s\"/><text x=\"%.0f\" y=\"%.0f\" font-size=\"12\">",
                                   lx, ly - 10, color, lx + 16, ly);
            esc(s, label);
            g_string_append(s, "</text>\n");
            lx += 16 + 8 * strlen(label) + 14;
        }
        g_string_append_printf(s, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">one bar per "
                               "%" G_GINT64_FORMAT " min; height: share of the bar's connections"
                               "</text>\n", x0, ly + 20, dir->width / 60);
    }
    g_string_append(s, "</svg>\n");
}

/* html_row - one table row */
static void html_row(GString *s, const rp_result *res, const rp_row *row, gboolean total)
{
    char   *cells[NCOLS + 1];

    row_cells(res, row, cells);
    g_string_append(s, total ? "<tr class=\"total\">" : "<tr>");
    for (int c = 0; c < NCOLS; c++) {
        g_string_append(s, c == C_DOMAIN || c >= C_VERS ? "<td>" : "<td class=\"n\">");
        esc(s, cells[c]);
        g_string_append(s, "</td>");
        g_free(cells[c]);
    }
    g_string_append(s, "</tr>\n");
}

/* seg_report_html_body - the tables and charts as an HTML fragment */
char   *seg_report_html_body(seg_report *r)
{
    rp_result *res = rp_compute(r);
    GString *s = g_string_new("<section class=\"segtls-report\">\n<h1>TLS Connections</h1>\n");
    g_autofree char *per = period(res);

    g_string_append(s, "<p>Period: ");
    esc(s, per);
    if (res->domain) {
        g_string_append(s, "; domain: ");
        esc(s, res->domain);
    }
    g_string_append(s, "</p>\n");
    for (int d = 0; d < RP_NDIRS; d++) {
        rp_dir *dir = &res->dir[d];

        if (!dir->shown)
            continue;
        g_string_append_printf(s, "<h2>%s</h2>\n<p class=\"what\">%s", dir_title[d], dir_domain[d]);
        if (dir->nrows > dir->rows->len)
            g_string_append_printf(s, "; top %u of %u domains", dir->rows->len, dir->nrows);
        g_string_append_printf(s, "</p>\n<table id=\"%s\">\n<tr>", dir_key[d]);
        for (int c = 0; c < NCOLS; c++)
            g_string_append_printf(s, "<th>%s</th>", col_head[c]);
        g_string_append(s, "</tr>\n");
        for (guint i = 0; i < dir->rows->len; i++)
            html_row(s, res, g_ptr_array_index(dir->rows, i), FALSE);
        html_row(s, res, &dir->total, TRUE);
        g_string_append(s, "</table>\n<figure>\n");
        svg_chart(s, res, d);
        g_string_append_printf(s, "<figcaption>%s: TLS version share, failures and plain "
                               "connections over time</figcaption>\n</figure>\n", dir_title[d]);
    }
    g_string_append(s, "</section>\n");
    rp_result_free(res);
    return g_string_free(s, FALSE);
}

/* seg_report_html - a whole HTML page around seg_report_html_body */
char   *seg_report_html(seg_report *r)
{
    g_autofree char *body = seg_report_html_body(r);

    return g_strconcat("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                       "<title>segtls: TLS Connections</title>\n<style>\n"
                       "body { font-family: sans-serif; margin: 1.5em; color: #212121; }\n"
                       "table { border-collapse: collapse; margin: 0.5em 0 1em; }\n"
                       "th, td { border: 1px solid #bdbdbd; padding: 0.25em 0.6em; }\n"
                       "th { background: #eeeeee; }\n td.n { text-align: right; }\n"
                       "tr.total td { font-weight: bold; }\n p.what { color: #616161; }\n"
                       "figure { margin: 0 0 2em; }\n</style>\n</head>\n<body>\n", body,
                       "</body>\n</html>\n", NULL);
}
