/*
 * status - the service lines of `segtls status`: configured, usable and
 * live TLS versions per service (the live ones from lib/apply/live.c).
 */
#include <stdio.h>
#include <string.h>

#include "status.h"

/* or_none - a version list, "none" when empty */
static const char *or_none(const char *text)
{
    return text && *text ? text : "none";
}

/*
 * print_renegotiation - "GUI HTTPS TLS renegotiation: Enabled (nginx
 * cannot renegotiate; not applied)", as the sslconfig listing says it
 */
static void print_renegotiation(JsonArray *arr)
{
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *s = json_array_get_object_element(arr, i);
        const char *r = json_object_get_string_member_with_default(s, "renegotiation", NULL);
        const char *note = json_object_get_string_member_with_default(s, "renegotiation_note",
                                                                      NULL);

        if (r == NULL)
            continue;
        printf("%s TLS renegotiation: %s%s%s%s\n",
               json_object_get_string_member_with_default(s, "title", "?"),
               strcmp(r, "enabled") == 0 ? "Enabled" : "Disabled",
               note ? " (" : "", note ? note : "", note ? ")" : "");
    }
}

/* segtls_status_print - the file, apply and service lines */
void segtls_status_print(JsonObject *resp)
{
    const char *conf = json_object_get_string_member_with_default(resp, "apply_config", "");
    const char *bad = json_object_get_string_member_with_default(resp, "config_error", NULL);
    JsonNode *node = json_object_get_member(resp, "services");
    JsonArray *arr;

    if (bad != NULL)
        printf("Settings file: invalid on disk: %s; the last good configuration "
               "stays in force until a valid file is loaded (SIGHUP)\n", bad);
    if (json_object_get_boolean_member_with_default(resp, "apply", FALSE))
        printf("Apply on commit: yes (%s)\n", conf);
    else if (json_object_get_boolean_member_with_default(resp, "apply_file", FALSE))
        printf("Apply on commit: no (disabled in %s)\n", conf);
    else
        printf("Apply on commit: no (no %s)\n", conf);
    if (json_object_get_boolean_member_with_default(resp, "applying", FALSE))
        printf("An apply is in progress.\n");
    if (node == NULL || !JSON_NODE_HOLDS_ARRAY(node))
        return;
    arr = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(arr); i++) {
        JsonObject *s = json_array_get_object_element(arr, i);
        const char *target = json_object_get_string_member_with_default(s, "target", NULL);

        printf("%s: configured %s, usable %s",
               json_object_get_string_member_with_default(s, "title", "?"),
               or_none(json_object_get_string_member_with_default(s, "configured", "")),
               or_none(json_object_get_string_member_with_default(s, "usable", "")));
        if (target == NULL)
            printf("\n");
        else if (json_object_get_boolean_member_with_default(s, "unreachable", FALSE))
            printf(", live unreachable (%s)\n",
                   json_object_get_string_member_with_default(s, "failure", target));
        else
            printf(", live %s (%s)%s\n",
                   or_none(json_object_get_string_member_with_default(s, "live", "")),
                   target,
                   json_object_get_boolean_member_with_default(s, "drift", FALSE)
                   ? ": drift" : "");
    }
    print_renegotiation(arr);
}
