#include "config.h"

#include <sys/mman.h>

#include "server/scoreboard.h"

struct board {
	atomic_size_t used;
	atomic_bool stopping;	/* the whole server stops (not one worker retired) */
	struct scoreboard_slot slots[SCOREBOARD_SLOTS];
};

static struct board *board;
static struct scoreboard_slot *slots;

enum pb_err
scoreboard_init(void)
{
	void *p = mmap(NULL, sizeof(*board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);

	if (p == MAP_FAILED)
		return PB_ESYSTEM;
	board = p;	/* zeroed by mmap: a valid state for the atomics */
	slots = board->slots;
	return PB_OK;
}

void
scoreboard_cleanup(void)
{
	if (board != NULL)
		munmap(board, sizeof(*board));
	board = NULL;
	slots = NULL;
}

size_t
scoreboard_used(void)
{
	return atomic_load(&board->used);
}

void
scoreboard_set_stopping(void)
{
	atomic_store(&board->stopping, true);
}

bool
scoreboard_stopping(void)
{
	return atomic_load(&board->stopping);
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
	atomic_store(&s->db_since_us, 0);
	atomic_store(&s->db_wait_us, 0);
	atomic_store(&s->long_polling, 0);
	atomic_store(&s->exit_cause, METRICS_EXIT_CRASHED);
	if (atomic_load(&board->used) < i + 1)
		atomic_store(&board->used, i + 1);	/* only the master writes it */
}

