/*
 * tally: a case's vote counts as the public read them. The database hands
 * a vote's counts over as it reads them, {choice: count} for the choices
 * with any, in no order (vote_cast_counts, migrations/0022); the answer
 * names every choice of the edition, in the edition's order, with 0 for
 * a choice nobody chose, as the case's own JSON does (vote_tally).
 */
#ifndef PORTAL_TALLY_H
#define PORTAL_TALLY_H

#include <jansson.h>

/* A new object (the caller's) of every choice in choices (a JSON array of
 * strings) with its count from counts (a JSON object of non-negative
 * integers; NULL or "" when nothing is counted yet), in the order of
 * choices. A count of a choice the edition does not have is left out, as
 * vote_tally leaves it. NULL when either is not of that shape. */
json_t *tally_in_order(const char *choices, const char *counts);

#endif
