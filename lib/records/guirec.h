/*
 * guirec - the gui_logs lines of the web UI, in the gateway's shapes
 * (SPEC section 9.1), GLib-free.
 *
 * One format function, seg_guirec_format(), and one table of shapes:
 *
 *   request   req:IP user:NAME id:SESSION STATUS METHOD PATH HTTP/1.1 AGENT
 *   action    SourceIP:IP Destination:PATH Username:NAME Privilege:ROLE
 *             session:SESSION Action: TEXT
 *   idle      Action: User NAME logged out from session SESSION beacuse of
 *             inactivity timeout                     (the gateway's spelling)
 *   logout    Action: User NAME logged out from session SESSION
 *   expired   Session SESSION user:NAME expired
 *   unknown   Session SESSION from IP not found Destination:PATH
 *
 * The login line is an action line whose TEXT is "The HTTPS session has
 * been established successfully."; configuration changes are action
 * lines too ("Changes committed: COMMENT", ...). Every field is hostile
 * input (a path, a user agent, a user name, a comment): control
 * characters, bytes outside printable ASCII and the backslash become
 * \xHH, and in the space-separated fields (all but the user agent and
 * the action text, which end their line) a space becomes %20, so that a
 * record is always one line that splits the same way. An empty or NULL
 * field is "-". The result is the message part of a record (without
 * time and level; recfmt.h adds those).
 */
#ifndef SEGTLS_GUIREC_H
#define SEGTLS_GUIREC_H

#include <stddef.h>

#define SEG_GUIREC_MAX      2048    /* room for one message; longer is cut */
#define SEG_GUIREC_LOGIN    "The HTTPS session has been established successfully."

typedef enum {
    SEG_GUIREC_REQUEST,
    SEG_GUIREC_ACTION,
    SEG_GUIREC_IDLE,
    SEG_GUIREC_LOGOUT,
    SEG_GUIREC_EXPIRED,
    SEG_GUIREC_UNKNOWN,
    SEG_GUIREC_NKINDS,
} seg_guirec_kind;

typedef struct seg_guirec {
    seg_guirec_kind kind;
    const char *ip;             /* client address */
    const char *user;
    const char *session;        /* session id */
    const char *role;           /* "admin", "readonly" */
    int         status;         /* HTTP status */
    const char *method;
    const char *path;
    const char *agent;          /* User-Agent */
    const char *text;           /* action text */
} seg_guirec;

/*
 * seg_guirec_format - the message of one record into buf (NUL-terminated);
 * its length, cut to fit; 0 when size is too small for anything or the
 * kind is unknown.
 */
size_t seg_guirec_format(const seg_guirec *r, char *buf, size_t size);

#endif
