/*
 * websession - sessions, PAM logins, the failed-login throttle and the
 * gui_logs records of the web UI.
 *
 * A login is checked by PAM (service --pam-service, default "segtls";
 * pam_authenticate then pam_acct_mgmt) in a worker thread, since PAM
 * modules block (pam_unix waits two seconds after a wrong password).
 * The account's groups decide the role: the admin group changes and
 * commits, the read group (or, without one, any account) reads, anyone
 * else is refused. Failed logins are counted per user name and per
 * client address; past a threshold the name (5) or the address (20) is
 * refused for a while that doubles with every further failure, even
 * with the right password.
 *
 * A session has three random values: the cookie (a credential, never
 * written anywhere), the CSRF token of its forms and API calls, and a
 * public id that records name. It ends at logout or after the idle
 * timeout; a cookie of an ended session is remembered for a while, so
 * that its next use is recorded as expired rather than as unknown.
 */
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <security/pam_appl.h>

#include "error.h"
#include "msg.h"
#include "record.h"
#include "web.h"

#define MAX_SESSIONS    1000
#define TOMB_KEEP       ((gint64) 3600 * G_USEC_PER_SEC)  /* ended cookies remembered */
#define FAIL_WINDOW     ((gint64) 900 * G_USEC_PER_SEC)   /* failures forgotten after */
#define FAIL_USER       5       /* failures before a user name is held off */
#define FAIL_IP         20      /* ... and a client address */
#define HOLD_FIRST      30      /* seconds, doubling per further failure */
#define HOLD_MAX        900
#define USER_MAX        256

typedef struct tomb {
    char        id[17];
    char       *user;
    gint64      when;
} tomb;

typedef struct fail {
    guint       count;
    gint64      last;
    gint64      until;          /* held off until (monotonic usec) */
} fail;

static GHashTable *sessions;    /* token -> web_session */
static GHashTable *tombs;       /* token -> tomb */
static GHashTable *fails;       /* "user:NAME" / "ip:ADDR" -> fail */
static seg_record *gui_log;
static guint sweep_source;
static const policyd_web_opts *wopts;

static const char *const role_names[] = {
    [WEB_ROLE_NONE] = "-",
    [WEB_ROLE_READ] = "readonly",
    [WEB_ROLE_ADMIN] = "admin",
};

/* web_role_name - "admin", "readonly", "-" */
const char *web_role_name(web_role role)
{
    return (unsigned) role < G_N_ELEMENTS(role_names) ? role_names[role] : "-";
}

/* web_record - one gui_logs record */
void web_record(seg_guirec *rec, gboolean warning)
{
    char    buf[SEG_GUIREC_MAX];
    size_t  n = seg_guirec_format(rec, buf, sizeof(buf));

    if (gui_log != NULL && n > 0)
        (void) seg_record_write_text(gui_log, time(NULL),
                                     warning ? SEG_RECORD_WARNING : SEG_RECORD_INFO,
                                     buf, n);
}

/* random_hex - n random bytes as 2n hex digits into out */
static void random_hex(char *out, gsize n)
{
    static const char hex[] = "0123456789abcdef";
    guint8  b[32];

    g_assert(n <= sizeof(b));
    if (RAND_bytes(b, (int) n) != 1)
        msg_fatal("no random bytes for a session");
    for (gsize i = 0; i < n; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* session_free - hash table value */
static void session_free(gpointer p)
{
    web_session *s = p;

    OPENSSL_cleanse(s->token, sizeof(s->token));
    g_free(s->user);
    g_free(s->flash);
    g_free(s);
}

/* tomb_free - hash table value */
static void tomb_free(gpointer p)
{
    tomb   *t = p;

    g_free(t->user);
    g_free(t);
}

/* bury - remember an ended session's cookie; forget the session */
static void bury(web_session *s)
{
    tomb   *t = g_new0(tomb, 1);

    g_strlcpy(t->id, s->id, sizeof(t->id));
    t->user = g_strdup(s->user);
    t->when = g_get_monotonic_time();
    g_hash_table_replace(tombs, g_strdup(s->token), t);
    g_hash_table_remove(sessions, s->token);
}

/* idle_out - a session passed its idle timeout: the record, then bury it */
static void idle_out(web_session *s)
{
    seg_guirec rec = {.kind = SEG_GUIREC_IDLE, .user = s->user, .session = s->id};

    web_record(&rec, FALSE);
    bury(s);
}

/* idle - has the session been idle too long */
static gboolean idle(const web_session *s, gint64 now)
{
    return now - s->last > (gint64) wopts->idle_timeout * G_USEC_PER_SEC;
}

/* sweep - once a second: idle sessions out, old tombs and failures away */
static gboolean sweep(gpointer data)
{
    gint64  now = g_get_monotonic_time();
    GHashTableIter it;
    gpointer key, value;
    GPtrArray *out = g_ptr_array_new();

    g_hash_table_iter_init(&it, sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (idle(value, now))
            g_ptr_array_add(out, value);
    for (guint i = 0; i < out->len; i++)
        idle_out(out->pdata[i]);
    g_ptr_array_free(out, TRUE);
    g_hash_table_iter_init(&it, tombs);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (now - ((tomb *) value)->when > TOMB_KEEP)
            g_hash_table_iter_remove(&it);
    g_hash_table_iter_init(&it, fails);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (now - ((fail *) value)->last > FAIL_WINDOW && ((fail *) value)->until < now)
            g_hash_table_iter_remove(&it);
    return G_SOURCE_CONTINUE;
}

/* web_sessions_init - tables, gui_logs, the sweeper */
gboolean web_sessions_init(const policyd_web_opts *o, GError **error)
{
    wopts = web_opts();
    if ((gui_log = seg_record_open(o->gui_log, error)) == NULL)
        return FALSE;
    sessions = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, session_free);
    tombs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, tomb_free);
    fails = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sweep_source = g_timeout_add_seconds(1, sweep, NULL);
    return TRUE;
}

/* web_sessions_reopen - SIGHUP, after logrotate */
void web_sessions_reopen(void)
{
    g_autoptr(GError) err = NULL;

    if (gui_log != NULL && !seg_record_reopen(gui_log, &err))
        msg_warn("%s", err->message);
}

/* web_sessions_shutdown - forget everything */
void web_sessions_shutdown(void)
{
    if (sweep_source != 0)
        g_source_remove(sweep_source);
    sweep_source = 0;
    g_clear_pointer(&sessions, g_hash_table_destroy);
    g_clear_pointer(&tombs, g_hash_table_destroy);
    g_clear_pointer(&fails, g_hash_table_destroy);
    g_clear_pointer(&gui_log, seg_record_close);
}

/*
 * web_session_find - the live session of a cookie, its idle clock reset;
 * NULL (with the expired or not-found record) when there is none
 */
web_session *web_session_find(web_req *r, const char *token)
{
    gint64  now = g_get_monotonic_time();
    web_session *s = g_hash_table_lookup(sessions, token);
    tomb   *t;
    seg_guirec rec = {.ip = r->ip, .path = r->path};
    char    shown[17];

    if (s != NULL && idle(s, now)) {
        idle_out(s);
        s = NULL;
    }
    if (s != NULL) {
        s->last = now;
        return s;
    }
    if ((t = g_hash_table_lookup(tombs, token)) != NULL) {
        rec.kind = SEG_GUIREC_EXPIRED;
        rec.session = t->id;
        rec.user = t->user;
    } else {
        g_strlcpy(shown, token, sizeof(shown));     /* a guess, never a live cookie */
        rec.kind = SEG_GUIREC_UNKNOWN;
        rec.session = shown;
    }
    web_record(&rec, FALSE);
    return NULL;
}

/* web_session_lookup - the session of a cookie, if it still lives; no record */
web_session *web_session_lookup(const char *token)
{
    return sessions ? g_hash_table_lookup(sessions, token) : NULL;
}

/* oldest - the session idle the longest */
static web_session *oldest(void)
{
    GHashTableIter it;
    gpointer key, value;
    web_session *o = NULL;

    g_hash_table_iter_init(&it, sessions);
    while (g_hash_table_iter_next(&it, &key, &value))
        if (o == NULL || ((web_session *) value)->last < o->last)
            o = value;
    return o;
}

/* web_session_new - a session for a login that succeeded; its record */
web_session *web_session_new(web_req *r, const char *user, web_role role)
{
    web_session *s = g_new0(web_session, 1);
    seg_guirec rec = {.kind = SEG_GUIREC_ACTION, .ip = r->ip, .path = r->path,
                      .user = user, .role = web_role_name(role),
                      .text = SEG_GUIREC_LOGIN};

    if (g_hash_table_size(sessions) >= MAX_SESSIONS)
        idle_out(oldest());
    random_hex(s->id, 8);
    random_hex(s->token, 32);
    random_hex(s->csrf, 32);
    s->user = g_strdup(user);
    s->role = role;
    s->last = g_get_monotonic_time();
    g_hash_table_insert(sessions, s->token, s);
    rec.session = s->id;
    web_record(&rec, FALSE);
    r->sess = s;
    g_free(r->user);
    r->user = g_strdup(user);
    r->role = role;
    g_free(r->token);
    r->token = g_strdup(s->token);
    g_strlcpy(r->sid, s->id, sizeof(r->sid));
    return s;
}

/* web_session_end - logout: the record, and the session is gone */
void web_session_end(web_req *r, web_session *s)
{
    seg_guirec rec = {.kind = SEG_GUIREC_LOGOUT, .user = s->user, .session = s->id};

    web_record(&rec, FALSE);
    bury(s);
}

/* web_csrf_ok - the token of a state-changing request is the session's */
gboolean web_csrf_ok(const web_session *s, const char *token)
{
    return token != NULL && strlen(token) == strlen(s->csrf)
        && CRYPTO_memcmp(token, s->csrf, strlen(s->csrf)) == 0;
}

/* fail_get - the failure count of a key, made when missing */
static fail *fail_get(const char *kind, const char *what)
{
    g_autofree char *key = g_strconcat(kind, ":", what, NULL);
    fail   *f = g_hash_table_lookup(fails, key);

    if (f == NULL) {
        f = g_new0(fail, 1);
        g_hash_table_insert(fails, g_steal_pointer(&key), f);
    }
    return f;
}

/* fail_count - one more failure; hold off past the threshold */
static void fail_count(fail *f, guint threshold)
{
    gint64  now = g_get_monotonic_time();
    gint64  hold;

    if (now - f->last > FAIL_WINDOW)
        f->count = 0;
    f->count++;
    f->last = now;
    if (f->count >= threshold) {
        hold = HOLD_FIRST << MIN(f->count - threshold, 5u);
        f->until = now + MIN(hold, HOLD_MAX) * G_USEC_PER_SEC;
    }
}

/* held_off - seconds a user name or address must still wait, 0: none */
static gint64 held_off(const char *user, const char *ip)
{
    gint64  now = g_get_monotonic_time();
    g_autofree char *ku = g_strconcat("user:", user, NULL);
    g_autofree char *ki = g_strconcat("ip:", ip, NULL);
    fail   *fu = g_hash_table_lookup(fails, ku);
    fail   *fi = g_hash_table_lookup(fails, ki);
    gint64  until = MAX(fu ? fu->until : 0, fi ? fi->until : 0);

    return until > now ? (until - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC : 0;
}

/* in_group - is the account a member of the group (primary or supplementary) */
static gboolean in_group(const char *user, const char *group)
{
    struct passwd pw, *pres = NULL;
    struct group gr, *gres = NULL;
    char    pbuf[4096], gbuf[8192];
    gid_t   groups[512];
    int     n = G_N_ELEMENTS(groups);

    if (group == NULL || getpwnam_r(user, &pw, pbuf, sizeof(pbuf), &pres) != 0 || pres == NULL
        || getgrnam_r(group, &gr, gbuf, sizeof(gbuf), &gres) != 0 || gres == NULL)
        return FALSE;
    if (pw.pw_gid == gr.gr_gid)
        return TRUE;
    if (getgrouplist(pw.pw_name, pw.pw_gid, groups, &n) < 0)
        n = G_N_ELEMENTS(groups);
    for (int i = 0; i < n; i++)
        if (groups[i] == gr.gr_gid)
            return TRUE;
    return FALSE;
}

typedef struct login {
    web_req    *r;
    char       *user;
    char       *password;
    char       *service;
    char       *rhost;
    web_login_done done;
    int         pam;            /* PAM result */
    char       *pam_user;       /* PAM_USER after the login */
} login;

/* conv - PAM conversation: the password for echo-off prompts */
static int conv(int n, const struct pam_message **msgs, struct pam_response **resp,
                void *data)
{
    login  *l = data;
    struct pam_response *r;

    if (n <= 0 || n > PAM_MAX_NUM_MSG)
        return PAM_CONV_ERR;
    r = calloc((size_t) n, sizeof(*r));
    if (r == NULL)
        return PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        if (msgs[i]->msg_style == PAM_PROMPT_ECHO_OFF
            || msgs[i]->msg_style == PAM_PROMPT_ECHO_ON) {
            r[i].resp = strdup(msgs[i]->msg_style == PAM_PROMPT_ECHO_OFF
                               ? l->password : l->user);
            if (r[i].resp == NULL) {
                for (int j = 0; j < i; j++)
                    free(r[j].resp);
                free(r);
                return PAM_BUF_ERR;
            }
        }
    }
    *resp = r;
    return PAM_SUCCESS;
}

/* login_thread - PAM, off the main loop */
static void login_thread(GTask *task, gpointer src, gpointer data, GCancellable *cancel)
{
    login  *l = data;
    struct pam_conv c = {conv, l};
    pam_handle_t *h = NULL;
    const void *item = NULL;

    l->pam = pam_start(l->service, l->user, &c, &h);
    if (l->pam == PAM_SUCCESS)
        l->pam = pam_set_item(h, PAM_RHOST, l->rhost);
    if (l->pam == PAM_SUCCESS)
        l->pam = pam_authenticate(h, PAM_DISALLOW_NULL_AUTHTOK);
    if (l->pam == PAM_SUCCESS)
        l->pam = pam_acct_mgmt(h, PAM_DISALLOW_NULL_AUTHTOK);
    if (l->pam == PAM_SUCCESS && pam_get_item(h, PAM_USER, &item) == PAM_SUCCESS && item)
        l->pam_user = g_strdup(item);
    if (h != NULL)
        pam_end(h, l->pam);
    g_task_return_boolean(task, TRUE);
}

/* login_free - wipe the password */
static void login_free(login *l)
{
    OPENSSL_cleanse(l->password, strlen(l->password));
    g_free(l->password);
    g_free(l->user);
    g_free(l->service);
    g_free(l->rhost);
    g_free(l->pam_user);
    g_object_unref(l->r->msg);
    g_free(l);
}

/* login_failed - count, record, answer 401 */
static void login_failed(login *l, const char *why)
{
    web_req *r = l->r;
    seg_guirec rec = {.kind = SEG_GUIREC_ACTION, .ip = r->ip, .path = r->path,
                      .user = l->user, .role = "-", .session = "-",
                      .text = "The authentication attempt failed."};

    fail_count(fail_get("user", l->user), FAIL_USER);
    fail_count(fail_get("ip", r->ip), FAIL_IP);
    web_record(&rec, TRUE);
    msg_info("web login of %s from %s failed: %s", l->user, r->ip, why);
    l->done(r, NULL, WEB_ROLE_NONE, 401, "login failed: wrong user name or password");
}

/* login_done - back in the main loop: the role, or a refusal */
static void login_done(GObject *src, GAsyncResult *res, gpointer data)
{
    login  *l = data;
    web_req *r = l->r;
    const char *user = l->pam_user ? l->pam_user : l->user;
    web_role role;
    g_autofree char *m = NULL;

    if (r->gone) {
        login_free(l);
        return;
    }
    if (l->pam != PAM_SUCCESS) {
        login_failed(l, pam_strerror(NULL, l->pam));
        login_free(l);
        return;
    }
    {
        g_autofree char *ku = g_strconcat("user:", l->user, NULL);
        g_autofree char *ki = g_strconcat("ip:", r->ip, NULL);

        g_hash_table_remove(fails, ku);
        g_hash_table_remove(fails, ki);
    }
    if (in_group(user, wopts->admin_group))
        role = WEB_ROLE_ADMIN;
    else if (wopts->read_group == NULL || in_group(user, wopts->read_group))
        role = WEB_ROLE_READ;
    else
        role = WEB_ROLE_NONE;
    if (role == WEB_ROLE_NONE) {
        m = g_strdup_printf("user %s may not use the web UI", user);
        msg_info("web login of %s from %s refused: not in %s or %s", user, r->ip,
                 wopts->admin_group, wopts->read_group);
        l->done(r, NULL, WEB_ROLE_NONE, 403, m);
    } else {
        l->done(r, user, role, 200, NULL);
    }
    login_free(l);
}

/* name_ok - a user name PAM may see: printable, no spaces, not too long */
static gboolean name_ok(const char *user)
{
    gsize   n = strlen(user);

    if (n == 0 || n > USER_MAX)
        return FALSE;
    for (const char *p = user; *p; p++)
        if ((unsigned char) *p <= ' ' || *p == 0x7f || *p == ':')
            return FALSE;
    return TRUE;
}

/*
 * web_login - check user and password with PAM, then done(r, user, role,
 * status, error): error NULL on success, else the status and one line
 */
void web_login(web_req *r, const char *user, const char *password, web_login_done done)
{
    g_autoptr(GTask) task = NULL;
    gint64  wait;
    login  *l;

    if (!name_ok(user) || strlen(password) > 4096) {
        done(r, NULL, WEB_ROLE_NONE, 401, "login failed: wrong user name or password");
        return;
    }
    if ((wait = held_off(user, r->ip)) > 0) {
        g_autofree char *m = g_strdup_printf("too many failed logins; try again in %"
                                             G_GINT64_FORMAT " seconds", wait);
        g_autofree char *secs = g_strdup_printf("%" G_GINT64_FORMAT, wait);

        soup_message_headers_replace(soup_server_message_get_response_headers(r->msg),
                                     "Retry-After", secs);
        done(r, NULL, WEB_ROLE_NONE, 429, m);
        return;
    }
    l = g_new0(login, 1);
    l->r = r;
    l->user = g_strdup(user);
    l->password = g_strdup(password);
    l->service = g_strdup(wopts->pam_service);
    l->rhost = g_strdup(r->ip);
    l->done = done;
    g_object_ref(r->msg);
    web_pause(r);
    task = g_task_new(NULL, NULL, login_done, l);
    g_task_set_task_data(task, l, NULL);
    g_task_run_in_thread(task, login_thread);
}
