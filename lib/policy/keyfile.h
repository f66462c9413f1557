/*
 * keyfile - the settings as GLib key-file text, one group per service
 * ("[inbound]" / "methods=1.1-1.2"), the format of the committed file,
 * pending.conf and the rollback entries. Parsing names the line of every
 * error ("FILE:LINE: message", through kfscan) and refuses unknown groups,
 * unknown keys and a key set twice.
 */
#ifndef SEGTLS_KEYFILE_H
#define SEGTLS_KEYFILE_H

#include <glib.h>
#include "settings.h"

/* seg_settings_to_keyfile - serialise (all keys, canonical values) */
char *seg_settings_to_keyfile(const seg_settings *s, gsize *len);

/*
 * seg_settings_from_keyfile - parse key-file text. Missing keys keep
 * their defaults; unknown groups/keys and broken values are errors
 * "FILENAME:LINE: message".
 */
seg_settings *seg_settings_from_keyfile(const char *data, gsize len,
                                        const char *filename, GError **error);

/*
 * seg_settings_keyfile_fill - add every setting to kf, one group per service
 * seg_settings_from_keyfile_full - as seg_settings_from_keyfile, but the
 *      group extra_group (when not NULL) is allowed with any keys and left
 *      to the caller, who gets the parsed key file in *kf (may be NULL)
 */
void seg_settings_keyfile_fill(GKeyFile *kf, const seg_settings *s);
seg_settings *seg_settings_from_keyfile_full(const char *data, gsize len,
                                             const char *filename,
                                             const char *extra_group,
                                             GKeyFile **kf, GError **error);

#endif
