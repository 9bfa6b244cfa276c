/*
 * The process's own id without a system call per use (glibc no longer caches getpid, and
 * the healthz body and every log line carry it). The cache is cleared in a forked child.
 */
#ifndef PB_UTIL_PROC_H
#define PB_UTIL_PROC_H

#include <sys/types.h>

/* getpid(), taken once per process. */
pid_t proc_self(void);

#endif
