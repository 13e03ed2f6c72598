/*
 * logfile: where log lines go. Without a log file they go to stderr as
 * started (the journal, or a terminal). With one, the file is opened for
 * appending and put in place of stderr (fd 2), so log.c's single write(2)
 * per line and anything else written to stderr (a sanitizer's report) land
 * there. Rotation: rename the file, then SIGUSR1; each process opens the
 * path again and puts it in place of fd 2, so no line is lost or split.
 */
#ifndef PORTAL_LOGFILE_H
#define PORTAL_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>

/* Opens path (O_APPEND, created 0640) as the process's stderr and remembers
 * it for logfile_reopen. "" keeps stderr. Returns 0, or -1 with a reason. */
int logfile_open(const char *path, char *err, size_t errlen);

/* Async-signal-safe: notes that the file should be opened again. */
void logfile_request_reopen(void);

/* Opens the file again if a reopen was requested (and one is configured);
 * returns true when it did. On failure the old file is kept. */
bool logfile_reopen_if_requested(void);

#endif
