/*
 * smtpio - the client side of plain TCP and SMTP, as the probe needs it:
 * a connect with a timeout, CRLF commands, and multi-line replies read
 * through a small buffer with a timeout per read.
 */
#ifndef SEGTLS_SMTPIO_H
#define SEGTLS_SMTPIO_H

#include <glib.h>

/*
 * seg_tcp_connect - connect to host:port (every address in turn), a
 * non-blocking connect bounded by timeout seconds. Returns a blocking fd
 * with send/receive timeouts set, or -1 with "connect to HOST:PORT:
 * Connection refused" (SEG_ERROR_IO).
 */
int seg_tcp_connect(const char *host, int port, double timeout, GError **error);

typedef struct seg_smtpio seg_smtpio;

/* seg_smtpio_new - wrap a connected fd (not owned: the caller closes it) */
seg_smtpio *seg_smtpio_new(int fd, double timeout);
void seg_smtpio_free(seg_smtpio *io);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(seg_smtpio, seg_smtpio_free)

/* seg_smtpio_command - send one command line (CRLF appended) */
gboolean seg_smtpio_command(seg_smtpio *io, const char *cmd, GError **error);

/*
 * seg_smtpio_reply - read one (multi-line) reply. *code is the 3-digit
 * code; lines (if not NULL) gets the text of each line after "250-" /
 * "250 ". A malformed reply, mixed codes, EOF or a timeout is an error.
 */
gboolean seg_smtpio_reply(seg_smtpio *io, int *code, GPtrArray *lines,
                          GError **error);

/*
 * seg_smtp_reply_line - the grammar of one reply line (RFC 5321 4.2):
 * LINE is len bytes without the LF (a final CR is ignored). Three digits,
 * then ' ' (last line), '-' (more follow) or nothing (last line, empty
 * text). Sets *code, *more and the text as an offset and length within
 * LINE; nothing is read outside it. FALSE for anything else, or a NUL.
 */
gboolean seg_smtp_reply_line(const char *line, gsize len, int *code, gboolean *more,
                             gsize *text_off, gsize *text_len);

/* seg_smtpio_pending - bytes received but not yet consumed */
gsize seg_smtpio_pending(const seg_smtpio *io);

#endif
