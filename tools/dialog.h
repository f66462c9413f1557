/*
 * dialog - the prompt/answer engine of sslconfig.
 *
 * Gateway-style prompts: a question, then "[default]> " (or "[]> "),
 * flushed before one line is read. The answer is never echoed, so with
 * stdin a pipe stdout is exactly the dialog. Answers are stripped of
 * surrounding blanks; an empty answer means "keep the default". End of
 * input is reported to the caller, which decides what it abandons.
 */
#ifndef SEGTLS_DIALOG_H
#define SEGTLS_DIALOG_H

#include <stdio.h>
#include <glib.h>

#define DIALOG_MAX_LINE         8192    /* longest answer accepted */

#define DIALOG_CHOICE_NONE      (-1)    /* empty answer */
#define DIALOG_CHOICE_EOF       (-2)    /* end of input */

/* One operation of a "Choose the operation" menu. */
typedef struct dialog_choice {
    const char *name;                   /* "INBOUND", matched ignoring case */
    const char *description;            /* "Edit Inbound SMTP ssl settings." */
} dialog_choice;

/* dialog_init - use these streams (default stdin, stdout) */
void dialog_init(FILE *in, FILE *out);

/* dialog_printf - print part of the dialog */
void dialog_printf(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

/*
 * dialog_ask - print "[dflt]> ", read one answer. Returns the stripped
 * answer (g_free it; "" for an empty line), or NULL at end of input.
 */
char *dialog_ask(const char *dflt);

/*
 * dialog_yes_no - print "QUESTION [Y]> " (or [N]) and read y/yes/n/no in
 * any case; empty takes the default; anything else asks again.
 * Returns 1 yes, 0 no, -1 end of input.
 */
int dialog_yes_no(const char *question, gboolean dflt);

/*
 * dialog_choose - print "Choose the operation you want to perform:",
 * one "- NAME - DESCRIPTION" line per choice and "[]> "; read until the
 * answer names a choice. Returns its index, DIALOG_CHOICE_NONE for an
 * empty answer or DIALOG_CHOICE_EOF.
 */
int dialog_choose(const dialog_choice *choices, gsize count);

/*
 * dialog_choose_at - the same with prompt instead of "[]> " (sslconfig
 * in cluster mode: "(Cluster NAME)> ")
 */
int dialog_choose_at(const dialog_choice *choices, gsize count, const char *prompt);

/*
 * dialog_number - "1. ITEM" lines, then "[DFLT]> " (dflt 0: no default)
 * until the answer is one of the numbers; the index chosen, -1 at end of
 * input
 */
int dialog_number(const char *const *items, int count, int dflt);

#endif
