/*
 * fuzz_polreq - libFuzzer target: the Postfix policy requests
 * segtls-policy reads (lib/util/polreq.c) and its answer
 * (seg_destctl_policy_action), and the sender-group table it loads
 * (seg_destctl_groups_parse).
 *
 * The input is split at newlines as segtls-policy does; each line goes
 * to the parser, a complete request is answered against a fixed table
 * and must get "DUNNO" or the 530 refusal, a broken one ends the input.
 * The same bytes are then parsed as a sender-group table: a table that
 * parses must format and parse back to the same groups.
 */
#include <string.h>

#include "destctl.h"
#include "polreq.h"
#include "settings.h"

int LLVMFuzzerTestOneInput(const guint8 *data, size_t size);

static seg_destctl *table;

/* fixed_table - two groups, one required */
static seg_destctl *fixed_table(void)
{
    const char *const a[] = {"127.0.0.2", "10.0.0.0/8", "mx.example.org", NULL};
    const char *const b[] = {"127.0.0.3", "2001:db8::/32", NULL};
    seg_destctl *dc = seg_destctl_new();

    g_assert(seg_destctl_group_set(dc, "relays", "required", a, SEG_DEST_ANY, NULL));
    g_assert(seg_destctl_group_set(dc, "notls", "no", b, SEG_DEST_ANY, NULL));
    return dc;
}

/* requests - the input as policy requests */
static void requests(const char *p, size_t n)
{
    g_autoptr(seg_polreq) r = seg_polreq_new();
    size_t start = 0;

    for (size_t i = 0; i <= n; i++) {
        g_autoptr(GError) err = NULL;
        seg_polreq_state st;
        const char *action;

        if (i < n && p[i] != '\n')
            continue;
        if (i == n && start == n)
            break;
        st = seg_polreq_line(r, p + start, i - start, &err);
        start = i + 1;
        if (st == SEG_POLREQ_ERROR) {
            g_assert(err != NULL && strchr(err->message, '\n') == NULL);
            return;
        }
        if (st == SEG_POLREQ_DONE) {
            action = seg_destctl_policy_action(table, SEG_TLSMODE_PREFERRED, r, NULL);
            g_assert(strcmp(action, "DUNNO") == 0 || strcmp(action, SEG_POLICY_REFUSE) == 0);
            seg_polreq_reset(r);
        }
    }
}

/* as_table - the input as a sender-group table */
static void as_table(const char *p, size_t n)
{
    g_autoptr(GError) err = NULL;
    g_autoptr(seg_destctl) dc = NULL;
    g_autoptr(seg_destctl) back = NULL;
    g_autofree char *text = NULL;
    int     dflt;

    if ((dc = seg_destctl_groups_parse(p, n, &dflt, &err)) == NULL) {
        g_assert(err != NULL && strchr(err->message, '\n') == NULL);
        return;
    }
    text = seg_destctl_groups_format(dc, dflt);
    back = seg_destctl_groups_parse(text, strlen(text), NULL, NULL);
    g_assert(back != NULL && seg_destctl_equal(dc, back));
}

/* LLVMFuzzerTestOneInput - one input */
int LLVMFuzzerTestOneInput(const guint8 *data, size_t size)
{
    if (table == NULL)
        table = fixed_table();
    requests((const char *) data, size);
    as_table((const char *) data, size);
    return 0;
}
