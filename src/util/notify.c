/* The wake-up table (see notify.h): FNV-1a buckets of atomic counters and a futex. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"
#include "util/notify.h"
#include "util/timeutil.h"

/*
 * Futex words are plain 32-bit ints handed to the kernel, so the counters are uint32_t
 * read and written with the compiler's sequentially consistent atomic builtins.
 */
static uint32_t *table;

enum pb_err
notify_init(void)
{
	void *p;

	if (table != NULL)
		return PB_OK;
	p = mmap(NULL, NOTIFY_BUCKETS * sizeof(*table), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		log_warn("notify: mmap");
		return PB_ESYSTEM;
	}
	table = p;
	return PB_OK;
}

void
notify_cleanup(void)
{
	if (table != NULL)
		(void)munmap(table, NOTIFY_BUCKETS * sizeof(*table));
	table = NULL;
}

uint32_t
notify_bucket(const char *key)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return h % NOTIFY_BUCKETS;
}

uint32_t
notify_seq(const char *key)
{
	return table != NULL ? __atomic_load_n(&table[notify_bucket(key)], __ATOMIC_SEQ_CST) : 0;
}

void
notify_bump(const char *key)
{
	uint32_t *w;

	if (table == NULL)
		return;
	w = &table[notify_bucket(key)];
	(void)__atomic_fetch_add(w, 1, __ATOMIC_SEQ_CST);
	/* Shared, not FUTEX_PRIVATE: the waiters are other processes. */
	(void)syscall(SYS_futex, w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

bool
notify_wait(const char *key, uint32_t seq, int64_t until_us)
{
	struct timespec ts;
	uint32_t *w;
	int64_t left;

	for (;;) {
		left = until_us - time_mono_us();
		if (left <= 0)
			return false;
		ts.tv_sec = (time_t)(left / 1000000);
		ts.tv_nsec = (long)(left % 1000000) * 1000;
		if (table == NULL) {
			(void)nanosleep(&ts, NULL);
			continue;
		}
		w = &table[notify_bucket(key)];
		if (__atomic_load_n(w, __ATOMIC_SEQ_CST) != seq)
			return true;
		/* FUTEX_WAIT checks the word is still seq before sleeping: no lost wake-up. */
		if (syscall(SYS_futex, w, FUTEX_WAIT, seq, &ts, NULL, 0) == 0)
			return true;
		/* EAGAIN: it moved; EINTR: a signal (the master may be stopping us). */
		if (errno != ETIMEDOUT)
			return true;
	}
}
