/* logfile: the log file in place of stderr, reopened on request; see logfile.h. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Process state: the path given at start, copied into each worker by fork. */
static char logfile_path[PATH_MAX];
static volatile sig_atomic_t logfile_reopen_requested;

static int logfile_install(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
    if (fd < 0)
        return -1;
    if (fd != STDERR_FILENO) {
        int rc = dup2(fd, STDERR_FILENO); /* fd 2 never closes: no line has nowhere to go */
        int saved = errno;
        close(fd);
        if (rc < 0) {
            errno = saved;
            return -1;
        }
    }
    return 0;
}

int logfile_open(const char *path, char *err, size_t errlen)
{
    if (path == NULL || path[0] == '\0')
        return 0;
    if (strlen(path) >= sizeof(logfile_path)) {
        snprintf(err, errlen, "log-file path too long");
        return -1;
    }
    if (logfile_install(path) != 0) {
        snprintf(err, errlen, "cannot open log-file %s: %s", path, strerror(errno));
        return -1;
    }
    memcpy(logfile_path, path, strlen(path) + 1);
    return 0;
}

void logfile_request_reopen(void)
{
    logfile_reopen_requested = 1;
}

bool logfile_reopen_if_requested(void)
{
    if (!logfile_reopen_requested)
        return false;
    logfile_reopen_requested = 0;
    if (logfile_path[0] == '\0')
        return false;
    if (logfile_install(logfile_path) != 0) {
        log_msg("error", "log_reopen_failed",
                "cannot open %s again: %s; still writing to the "
                "old file",
                logfile_path, strerror(errno));
        return false;
    }
    return true;
}
