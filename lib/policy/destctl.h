/*
 * destctl - Destination Controls and sender groups (SPEC 9.2, 9.3).
 *
 * The gateway decides per destination domain whether outbound TLS is
 * used, required or verified (Destination Controls, destconfig), and per
 * sender group of client networks whether inbound TLS is offered or
 * required (Host Access Table). seg_destctl holds both tables; it is
 * part of seg_settings (settings.h), so pending changes, commit, clear
 * and rollback carry it with every other setting.
 *
 * A destination entry: a domain ("example.com"), its subdomains
 * (".example.com"), a TLS mode (no, preferred, required,
 * preferred-verify, required-verify), optionally a version range that
 * must lie inside outbound.methods, and optionally a cipher choice: the
 * Postfix grade ("high" is outbound.ciphers, "medium" Postfix's medium
 * list) and ciphers to exclude. The default entry is the outbound
 * settings themselves (outbound.tls, outbound.methods, outbound.ciphers).
 *
 * A sender group: a name, a TLS mode (no, preferred, required) and its
 * members: IPv4/IPv6 networks in CIDR notation, single addresses, host
 * names and ".domain" for every host under a domain. A client address
 * matches the group with the longest matching network; a client name
 * (verified reverse name) matches exact names before ".domain"s; an
 * address match wins over a name match. Clients in no group get
 * inbound.tls. A group with TLS "no" holds addresses and networks only:
 * Postfix withholds STARTTLS by client address alone.
 *
 * Every name and value is checked by its grammar before it is stored:
 * domains are LDH labels (lower-cased, at most 253 bytes), group names
 * [A-Za-z0-9_-]{1,64}, networks parse as addresses with a prefix length
 * in range; nothing that could inject into a Postfix table (blanks,
 * newlines, '[', ';', '#', ...) gets through. Errors are one line that
 * names the entry and the rule.
 */
#ifndef SEGTLS_DESTCTL_H
#define SEGTLS_DESTCTL_H

#include <glib.h>
#include <json-glib/json-glib.h>

typedef struct seg_destctl seg_destctl;

#define SEG_DEST_DEFAULT        "default"
#define SEG_DEST_MAX            4096    /* entries in each table */
#define SEG_SGROUP_MAX_MEMBERS  1024

/* One destination entry. */
typedef struct seg_dest_entry {
    char       *domain;         /* "example.com" or ".example.com" */
    int         tls;            /* seg_tls_mode */
    unsigned    methods;        /* SEG_TLS_V1x mask; 0 = outbound.methods */
    char       *ciphers;        /* "" (outbound.ciphers), "high" or "medium" */
    char       *exclude;        /* "" or "NAME:NAME..." ciphers to exclude */
} seg_dest_entry;

/* One sender group. */
typedef struct seg_sender_group {
    char       *name;
    int         tls;            /* SEG_TLSMODE_NO, _PREFERRED or _REQUIRED */
    GPtrArray  *members;        /* char *, canonical ("10.1.0.0/16", "::1/128",
                                   "mx.example.com", ".example.org") */
} seg_sender_group;

seg_destctl *seg_destctl_new(void);
seg_destctl *seg_destctl_copy(const seg_destctl *dc);
void seg_destctl_free(seg_destctl *dc);
gboolean seg_destctl_equal(const seg_destctl *a, const seg_destctl *b);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_destctl, seg_destctl_free)

/* The entries, sorted by domain; the groups, sorted by name. */
const GPtrArray *seg_destctl_dests(const seg_destctl *dc);
const GPtrArray *seg_destctl_groups(const seg_destctl *dc);

/*
 * seg_dest_domain_check - "example.com" or ".example.com": LDH labels of
 * 1-63 bytes, at most 253 bytes in all; *canonical (when not NULL) gets
 * it lower-cased. Error: "destination \"a b\": character ' ' is not
 * allowed in a domain".
 */
gboolean seg_dest_domain_check(const char *domain, char **canonical,
                               GError **error);

/*
 * seg_destctl_dest_set - add or replace the entry of domain. tls is a
 * mode name, methods "" or a version range ("1.3", "1.2-1.3") that must
 * lie inside outbound_methods, ciphers "" / "high" / "medium", exclude ""
 * or cipher names joined with ':'. With must_exist / must_be_new the
 * entry must (edit) or must not (new) be there already. Nothing changes
 * on error.
 */
gboolean seg_destctl_dest_set(seg_destctl *dc, const char *domain,
                              const char *tls, const char *methods,
                              const char *ciphers, const char *exclude,
                              unsigned outbound_methods, int must,
                              GError **error);
#define SEG_DEST_ANY            0
#define SEG_DEST_MUST_EXIST     1
#define SEG_DEST_MUST_BE_NEW    2

/* seg_destctl_dest_delete - remove the entry of domain, or fail */
gboolean seg_destctl_dest_delete(seg_destctl *dc, const char *domain,
                                 GError **error);

/* seg_destctl_dest_find - the entry of exactly this domain, or NULL */
const seg_dest_entry *seg_destctl_dest_find(const seg_destctl *dc,
                                            const char *domain);

/*
 * seg_destctl_dest_match - the entry that applies to a delivery to
 * domain, as Postfix looks it up in smtp_tls_policy_maps: the domain
 * itself, then ".parent" for each parent domain; NULL: the default.
 */
const seg_dest_entry *seg_destctl_dest_match(const seg_destctl *dc,
                                             const char *domain);

/*
 * seg_destctl_check_methods - every entry's versions inside
 * outbound_methods. Error: "destination old.test: versions 1.3 are not
 * inside outbound.methods 1.1-1.2".
 */
gboolean seg_destctl_check_methods(const seg_destctl *dc,
                                   unsigned outbound_methods, GError **error);

/*
 * seg_destctl_check - every entry and group checked again by its grammar
 * (as a renderer does before it writes anything)
 */
gboolean seg_destctl_check(const seg_destctl *dc, unsigned outbound_methods,
                           GError **error);

/*
 * seg_destctl_dest_lookup - the entry a delivery to domain (len bytes,
 * from a log: not trusted) falls under, for the record follower
 * (pflog.h seg_pflog_dest_fn; settings is a const seg_settings *): the
 * entry's name, or "default" (then *mode is outbound.tls)
 */
const char *seg_destctl_dest_lookup(void *settings, const char *domain, size_t len,
                                    const char **mode);

/*
 * seg_destctl_differences - one line for each entry or group that
 * differs between a (say, a saved configuration) and b (the committed):
 * "destination old.test = preferred versions 1.3 (committed: none)",
 * "sender group relays = none (committed: required 127.0.0.2/32)"
 */
GPtrArray *seg_destctl_differences(const seg_destctl *a, const seg_destctl *b);

/* seg_dest_entry_text - "old.test preferred versions 1.3 ciphers high" */
char *seg_dest_entry_text(const seg_dest_entry *e);

/*
 * seg_sgroup_member_check - one member: an address, a network
 * ("10.1.0.0/16", "2001:db8::/32"), a host name or ".domain". *canonical
 * gets the network with its host bits cleared ("10.1.2.3/16" is refused:
 * host bits set), an address as "/32" or "/128", names lower-cased.
 */
gboolean seg_sgroup_member_check(const char *member, char **canonical,
                                 GError **error);

/*
 * seg_destctl_group_set - add or replace the group name with tls ("no",
 * "preferred", "required") and members (NULL-terminated). must as for
 * dest_set. A network may belong to one group only.
 */
gboolean seg_destctl_group_set(seg_destctl *dc, const char *name,
                               const char *tls, const char *const *members,
                               int must, GError **error);
gboolean seg_destctl_group_delete(seg_destctl *dc, const char *name,
                                  GError **error);
const seg_sender_group *seg_destctl_group_find(const seg_destctl *dc,
                                               const char *name);

/*
 * seg_destctl_group_match - the group of a client: by address (text;
 * NULL or unparsable: none) with the longest matching network, else by
 * name (NULL or "unknown": none), exact before ".domain". NULL: no group.
 */
const seg_sender_group *seg_destctl_group_match(const seg_destctl *dc,
                                                const char *address,
                                                const char *name);

/*
 * The sender-group table as segtls-policy reads it (written by apply):
 * one group a line, "NAME<TAB>MODE<TAB>MEMBER,MEMBER,...", '#' comments,
 * and "*<TAB>MODE<TAB>*" for clients in no group (inbound.tls); it ends
 * with the line "# end" (a table without it was cut short).
 * Parsing checks everything as group_set does; errors "LINE: message".
 */
char *seg_destctl_groups_format(const seg_destctl *dc, int default_tls);
seg_destctl *seg_destctl_groups_parse(const char *text, gsize len,
                                      int *default_tls, GError **error);

/*
 * seg_destctl_policy_action - segtls-policy's answer to one policy
 * request: SEG_POLICY_REFUSE when the client (client_address, else
 * client_name) is in a group with TLS required, or in none while
 * default_tls is required, and the session is plaintext (no
 * encryption_protocol) at MAIL FROM or later; else "DUNNO". *group gets
 * the group that matched (NULL: none).
 */
#define SEG_POLICY_REFUSE   "530 5.7.0 Must issue a STARTTLS command first"
struct seg_polreq;
const char *seg_destctl_policy_action(const seg_destctl *dc, int default_tls,
                                      const struct seg_polreq *req,
                                      const seg_sender_group **group);

/* JSON: [{"domain":..,"tls":..,"methods":..,"ciphers":..,"exclude":..}] */
JsonArray *seg_destctl_dests_to_json(const seg_destctl *dc);
/* [{"name":..,"tls":..,"members":[..]}] */
JsonArray *seg_destctl_groups_to_json(const seg_destctl *dc);
/* the same back (outbound_methods for the version check) */
gboolean seg_destctl_dests_from_json(seg_destctl *dc, JsonArray *arr,
                                     unsigned outbound_methods, GError **error);
gboolean seg_destctl_groups_from_json(seg_destctl *dc, JsonArray *arr,
                                      GError **error);

#endif
