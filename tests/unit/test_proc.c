/* util/proc: the cached process id, which a forked child must not inherit. */
#include "config.h"

#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util/proc.h"

static void
test_is_the_process_id(void)
{
	CU_ASSERT_EQUAL(proc_self(), getpid());
	CU_ASSERT_EQUAL(proc_self(), getpid());	/* the cached answer */
}

static void
test_a_child_has_its_own(void)
{
	pid_t parent = proc_self(), child;
	int status = 0;

	child = fork();
	CU_ASSERT_FATAL(child >= 0);
	if (child == 0)
		_exit(proc_self() == getpid() && proc_self() != parent ? 0 : 1);
	CU_ASSERT_EQUAL_FATAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CU_ASSERT_EQUAL(proc_self(), parent);
}

static const struct unit_test tests[] = {
	UNIT_TEST(test_is_the_process_id),
	UNIT_TEST(test_a_child_has_its_own),
};

UNIT_MAIN("proc", tests)
