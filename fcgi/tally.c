/* tally: counts into the edition's order. */
#include "tally.h"

#include <stdbool.h>
#include <stddef.h>

json_t *tally_in_order(const char *choices, const char *counts)
{
    json_error_t jerr;
    json_t *list = choices != NULL ? json_loads(choices, 0, &jerr) : NULL;
    json_t *found =
        counts != NULL && counts[0] != '\0' ? json_loads(counts, 0, &jerr) : json_object();
    json_t *tally = json_object();
    bool ok = json_is_array(list) && json_is_object(found) && tally != NULL;
    size_t i;
    json_t *choice;
    if (ok) {
        json_array_foreach(list, i, choice)
        {
            const char *name = json_string_value(choice);
            if (name == NULL || json_object_get(tally, name) != NULL) {
                ok = false; /* not a string, or a choice twice */
                break;
            }
            json_t *n = json_object_get(found, name);
            if (n != NULL && (!json_is_integer(n) || json_integer_value(n) < 0)) {
                ok = false; /* a count that is no count */
                break;
            }
            if (json_object_set_new(tally, name, json_integer(n ? json_integer_value(n) : 0)) !=
                0) {
                ok = false;
                break;
            }
        }
    }
    json_decref(list);
    json_decref(found);
    if (!ok) {
        json_decref(tally);
        return NULL;
    }
    return tally;
}
