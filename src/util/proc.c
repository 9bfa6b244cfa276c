#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "util/proc.h"

static _Atomic pid_t self;
static pthread_once_t hooked = PTHREAD_ONCE_INIT;

static void
forget(void)
{
	atomic_store(&self, 0);
}

static void
hook(void)
{
	/* Without the hook a child would report its parent's id; failing it, never cache. */
	if (pthread_atfork(NULL, NULL, forget) != 0)
		atomic_store(&self, -1);
}

pid_t
proc_self(void)
{
	pid_t p;

	(void)pthread_once(&hooked, hook);
	p = atomic_load(&self);
	if (p > 0)
		return p;
	if (p < 0)
		return getpid();
	p = getpid();
	atomic_store(&self, p);
	return p;
}
