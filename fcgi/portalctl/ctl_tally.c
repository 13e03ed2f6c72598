/* ctl_tally: checking a closed edition's count. See ctl_tally.h. */
#include "ctl_tally.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_catalog.h"
#include "migrate.h"

/* The lines of a CSV text after its header, sorted: a new array of
 * pointers into text (which it changes: line ends become NULs). Free the
 * array with free(). NULL when out of memory. */
static char **ballot_lines(char *text, size_t *count)
{
    size_t n = 0, cap = 64;
    char **lines = malloc(cap * sizeof(*lines));
    char *p = strchr(text, '\n');
    p = p ? p + 1 : text + strlen(text); /* past the header */
    while (lines != NULL && *p) {
        char *end = strchr(p, '\n');
        if (end)
            *end = '\0';
        if (n == cap) {
            char **grown = realloc(lines, 2 * cap * sizeof(*lines));
            if (grown == NULL) {
                free(lines);
                return NULL;
            }
            lines = grown;
            cap *= 2;
        }
        lines[n++] = p;
        p = end ? end + 1 : p + strlen(p);
    }
    *count = n;
    return lines;
}

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Prints "- line" for ballots recorded at close and missing now, "+ line"
 * for ballots there now that were not then; returns how many. */
static long print_differences(char *recorded, char *now)
{
    size_t nr = 0, nn = 0;
    char **r = ballot_lines(recorded, &nr), **n = ballot_lines(now, &nn);
    long differences = 0;
    if (r == NULL || n == NULL) {
        fprintf(stderr, "portalctl: out of memory\n");
        free(r);
        free(n);
        return -1;
    }
    qsort(r, nr, sizeof(*r), compare_lines);
    qsort(n, nn, sizeof(*n), compare_lines);
    size_t i = 0, j = 0;
    while (i < nr || j < nn) {
        int c = i == nr ? 1 : j == nn ? -1 : strcmp(r[i], n[j]);
        if (c < 0) {
            printf("- %s   (counted at close, not in the database now)\n", r[i++]);
            differences++;
        } else if (c > 0) {
            printf("+ %s   (in the database now, not counted at close)\n", n[j++]);
            differences++;
        } else {
            i++;
            j++;
        }
    }
    free(r);
    free(n);
    return differences;
}

int ctl_tally(PGconn *conn, int argc, char **argv)
{
    char *end = NULL;
    long number = argc == 2 && strcmp(argv[0], "verify") == 0 ? strtol(argv[1], &end, 10) : 0;
    if (end == NULL || *end != '\0' || number < 1 || number > 100000) {
        fprintf(stderr, "usage: portalctl tally verify NUMBER\n");
        return 2;
    }
    char err[512];
    const char *values[] = {argv[1]};
    PGresult *res = ctl_run(conn, CTL_TALLY_CHECK, 1, values, err, sizeof(err));
    if (res == NULL) {
        fprintf(stderr, "portalctl: %s\n", err);
        return 2;
    }
    if (PQntuples(res) != 1) {
        fprintf(stderr,
                "portalctl: edition %ld has no recorded tally (its vote has not closed, or it "
                "closed before tallies were kept)\n",
                number);
        PQclear(res);
        return 2;
    }
    int col_recorded = PQfnumber(res, "recorded_digest");
    int col_now = PQfnumber(res, "recounted_digest");
    const char *recorded = PQgetvalue(res, 0, col_recorded);
    const char *now = PQgetvalue(res, 0, col_now);
    printf("edition %ld\n  recorded at close: %s\n  recounted now:     %s\n", number, recorded,
           now);
    int rc = 0;
    if (strcmp(recorded, now) != 0) {
        char *then_list = strdup(PQgetvalue(res, 0, PQfnumber(res, "recorded_ballots")));
        char *now_list = strdup(PQgetvalue(res, 0, PQfnumber(res, "recounted_ballots")));
        printf("MISMATCH: the votes in the database are not the ones counted at close\n");
        long differences = then_list && now_list ? print_differences(then_list, now_list) : -1;
        if (differences == 0)
            printf("  (the same ballots in another order or encoding)\n");
        free(then_list);
        free(now_list);
        rc = 1;
    }
    const char *counts_then = PQgetvalue(res, 0, PQfnumber(res, "recorded_counts"));
    const char *counts_now = PQgetvalue(res, 0, PQfnumber(res, "recounted_counts"));
    if (strcmp(counts_then, counts_now) != 0) {
        printf("MISMATCH: counts at close %s, recounted now %s\n", counts_then, counts_now);
        rc = 1;
    }
    /* the counts kept beside the votes, which the pages showed while voting */
    const char *counts_kept = PQgetvalue(res, 0, PQfnumber(res, "kept_counts"));
    if (strcmp(counts_kept, counts_now) != 0) {
        printf("MISMATCH: counts kept beside the votes %s, recounted now %s\n", counts_kept,
               counts_now);
        rc = 1;
    }
    if (rc == 0)
        printf("OK: the ballots in the database are the ones counted and published at close\n");
    PQclear(res);
    return rc;
}
