/*
 * dialog - the prompt/answer engine of sslconfig.
 *
 * Reads answers one line at a time from stdin (terminal or pipe alike),
 * writes prompts to stdout and flushes them before reading. Input is
 * untrusted: a line longer than DIALOG_MAX_LINE or holding a NUL byte is
 * refused and the prompt repeated. Refusals are printed as a blank line
 * and the message, like every block that follows an answer.
 */
#include <stdarg.h>
#include <string.h>

#include "dialog.h"

static FILE *dialog_in;
static FILE *dialog_out;

typedef enum { LINE_OK, LINE_EOF, LINE_TOO_LONG, LINE_NUL } line_status;

/* dialog_init - use these streams */
void dialog_init(FILE *in, FILE *out)
{
    dialog_in = in;
    dialog_out = out;
}

/* streams - the streams, defaulting to stdin and stdout */
static void streams(FILE **in, FILE **out)
{
    *in = dialog_in ? dialog_in : stdin;
    *out = dialog_out ? dialog_out : stdout;
}

/* dialog_printf - print part of the dialog */
void dialog_printf(const char *fmt, ...)
{
    FILE   *in, *out;
    va_list ap;

    streams(&in, &out);
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
}

/* read_line - read one line without its end; the excess of a long line is dropped */
static line_status read_line(FILE *in, GString *line)
{
    gboolean too_long = FALSE, nul = FALSE;
    int     ch;

    g_string_truncate(line, 0);
    while ((ch = getc(in)) != EOF && ch != '\n') {
        if (ch == '\0')
            nul = TRUE;
        else if (line->len >= DIALOG_MAX_LINE)
            too_long = TRUE;
        else
            g_string_append_c(line, (char) ch);
    }
    if (ch == EOF && line->len == 0 && !too_long && !nul)
        return LINE_EOF;
    if (nul)
        return LINE_NUL;
    return too_long ? LINE_TOO_LONG : LINE_OK;
}

/* ask_prompt - print prompt and read one answer */
static char *ask_prompt(const char *prompt)
{
    g_autoptr(GString) line = g_string_new(NULL);
    FILE   *in, *out;

    streams(&in, &out);
    for (;;) {
        fputs(prompt, out);
        fflush(out);
        switch (read_line(in, line)) {
        case LINE_EOF:
            return NULL;
        case LINE_TOO_LONG:
            fprintf(out, "\nThe answer is too long (at most %d characters).\n",
                    DIALOG_MAX_LINE);
            continue;
        case LINE_NUL:
            fprintf(out, "\nThe answer contains a NUL character.\n");
            continue;
        case LINE_OK:
            break;
        }
        g_strstrip(line->str);
        return g_strdup(line->str);
    }
}

/* dialog_ask - prompt with a default and read one answer */
char *dialog_ask(const char *dflt)
{
    g_autofree char *prompt = g_strdup_printf("[%s]> ", dflt ? dflt : "");

    return ask_prompt(prompt);
}

/* dialog_number - a numbered menu; the index chosen, -1 at end of input */
int dialog_number(const char *const *items, int count, int dflt)
{
    g_autofree char *d = dflt > 0 ? g_strdup_printf("%d", dflt) : NULL;
    FILE   *in, *out;

    streams(&in, &out);
    for (int i = 0; i < count; i++)
        fprintf(out, "%d. %s\n", i + 1, items[i]);
    for (;;) {
        g_autofree char *answer = dialog_ask(d);
        guint64 n;

        if (answer == NULL)
            return -1;
        if (*answer == 0 && dflt > 0)
            return dflt - 1;
        if (g_ascii_string_to_unsigned(answer, 10, 1, (guint64) count, &n, NULL))
            return (int) n - 1;
        fprintf(out, "\nPlease enter a number from 1 to %d.\n", count);
    }
}

/* dialog_yes_no - ask a yes/no question */
int dialog_yes_no(const char *question, gboolean dflt)
{
    static const struct { const char *word; int value; } answers[] = {
        {"y", 1}, {"yes", 1}, {"n", 0}, {"no", 0},
    };
    FILE   *in, *out;
    gsize   i;

    streams(&in, &out);
    fprintf(out, "%s ", question);
    for (;;) {
        g_autofree char *answer = dialog_ask(dflt ? "Y" : "N");

        if (answer == NULL)
            return -1;
        if (*answer == 0)
            return dflt ? 1 : 0;
        for (i = 0; i < G_N_ELEMENTS(answers); i++)
            if (g_ascii_strcasecmp(answer, answers[i].word) == 0)
                return answers[i].value;
        fprintf(out, "\nPlease answer Y or N.\n");
    }
}

/* printable - the answer with control characters escaped, for messages */
static char *printable(const char *answer)
{
    GString *s = g_string_new(NULL);
    const unsigned char *p;

    for (p = (const unsigned char *) answer; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            g_string_append_printf(s, "\\x%02x", *p);
        else
            g_string_append_c(s, (char) *p);
    }
    return g_string_free(s, FALSE);
}

/* dialog_choose - operation menu */
int dialog_choose(const dialog_choice *choices, gsize count)
{
    return dialog_choose_at(choices, count, NULL);
}

/* dialog_choose_at - operation menu with its own prompt */
int dialog_choose_at(const dialog_choice *choices, gsize count, const char *prompt)
{
    FILE   *in, *out;
    gsize   i;

    streams(&in, &out);
    fprintf(out, "Choose the operation you want to perform:\n");
    for (i = 0; i < count; i++)
        fprintf(out, "- %s - %s\n", choices[i].name, choices[i].description);
    for (;;) {
        g_autofree char *answer = prompt ? ask_prompt(prompt) : dialog_ask(NULL);
        g_autofree char *shown = NULL;

        if (answer == NULL)
            return DIALOG_CHOICE_EOF;
        if (*answer == 0)
            return DIALOG_CHOICE_NONE;
        for (i = 0; i < count; i++)
            if (g_ascii_strcasecmp(answer, choices[i].name) == 0)
                return (int) i;
        shown = printable(answer);
        fprintf(out, "\nUnknown operation \"%s\".\n", shown);
    }
}
