#include "config.h"

#include <sys/mman.h>

#include "server/scoreboard.h"

static struct scoreboard_slot *slots;

enum pb_err
scoreboard_init(void)
{
	void *p = mmap(NULL, sizeof(*slots) * SCOREBOARD_SLOTS, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return PB_ESYSTEM;
	slots = p;
	return PB_OK;
}

void
scoreboard_cleanup(void)
{
	if (slots != NULL)
		munmap(slots, sizeof(*slots) * SCOREBOARD_SLOTS);
	slots = NULL;
}

struct scoreboard_slot *
scoreboard_slot(size_t i)
{
	return &slots[i];
}

void
scoreboard_reset(size_t i)
{
	struct scoreboard_slot *s = &slots[i];

	atomic_store(&s->ready_us, 0);
	atomic_store(&s->busy_since_us, 0);
	atomic_store(&s->heartbeat_us, 0);
	atomic_store(&s->served, 0);
	atomic_store(&s->exit_cause, METRICS_EXIT_CRASHED);
}
