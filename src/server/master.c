#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers/dispatch.h"
#include "server/child.h"
#include "server/jobs.h"
#include "server/listen.h"
#include "server/master.h"
#include "server/park.h"
#include "server/scoreboard.h"
#include "server/worker.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/metrics.h"
#include "util/notify.h"
#include "util/timeutil.h"

#define TICK_US 100000		/* how often the master looks at its children */
#define RESEND_TERM_US 1000000	/* a stop signal can land just before accept(): repeat it */
#define CRASH_WINDOW_US 5000000	/* a child that dies sooner than this counts as a crash loop */
#define BACKOFF_MIN_US 100000
#define BACKOFF_MAX_US 30000000
#define READY_TIMEOUT_US 10000000

enum child_state {
	SLOT_FREE,	/* belongs to nobody */
	SLOT_WAITING,	/* its child died; respawn at respawn_at_us */
	SLOT_RUNNING,
	SLOT_STOPPING,	/* sent TERM; waiting for it to exit */
};

struct child {
	enum child_state state;
	enum metrics_role role;
	pid_t pid;
	unsigned generation;
	int64_t started_us;
	int64_t respawn_at_us;	/* SLOT_WAITING: not before this time */
	int64_t stop_sent_us;	/* SLOT_STOPPING: last TERM sent */
	unsigned crashes;	/* consecutive quick deaths */
	bool timed_out;		/* killed for request_timeout */
	bool retire;		/* free the slot once it exits (rolling restart, shrink) */
};

struct master {
	struct conf *conf;
	const char *path;
	bool path_required;
	struct listener listener;
	struct park park;	/* idle kept-open connections the workers gave up */
	int sigfd;
	struct child children[SCOREBOARD_SLOTS];
	unsigned generation;
	int64_t started_real_us;
	bool stopping;
	int64_t stop_deadline_us;
};

static const char *const role_names[METRICS_ROLE__MAX] = { "worker", "jobs" };

static void
spawn(struct master *m, size_t i, enum metrics_role role)
{
	struct child *ch = &m->children[i];
	pid_t pid;

	scoreboard_reset(i);
	pid = fork();
	if (pid < 0) {
		log_warn("fork");
		ch->state = SLOT_WAITING;
		ch->role = role;
		ch->respawn_at_us = time_mono_us() + BACKOFF_MIN_US;
		return;
	}
	if (pid == 0) {
		int status;

		if (role == METRICS_ROLE_JOBS) {
			child_close_inherited(NULL, 0);
			if (m->listener.fd <= 2)
				close(m->listener.fd);	/* fd:0, inherited from systemd */
			status = jobs_run(m->conf, i, m->started_real_us);
		} else {
			child_close_inherited((const int[]){ m->listener.fd, m->park.hand }, 2);
			status = worker_run(m->conf, m->listener.fd, m->park.hand,
			    m->listener.owns_path, i, m->started_real_us);
		}
		/* _exit: the master's atexit handlers and stdio buffers are not the child's. */
		_exit(status);
	}
	ch->state = SLOT_RUNNING;
	ch->role = role;
	ch->pid = pid;
	ch->generation = m->generation;
	ch->started_us = time_mono_us();
	ch->timed_out = false;
	ch->retire = false;
	log_event(LOGL_DEBUG, "child started", (const struct log_kv[]){
		LOG_STR("child_role", role_names[role]), LOG_NUM("child_pid", pid),
		LOG_NUM("slot", i) }, 3);
}

static void
stop_child(struct child *ch, int sig)
{
	if (ch->state != SLOT_RUNNING && ch->state != SLOT_STOPPING)
		return;
	if (kill(ch->pid, sig) != 0 && errno != ESRCH)
		log_warn("kill %d", (int)ch->pid);
	if (sig == SIGTERM) {
		ch->state = SLOT_STOPPING;
		ch->stop_sent_us = time_mono_us();
	}
}

static struct child *
find_pid(struct master *m, pid_t pid, size_t *slot)
{
	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++) {
		if ((m->children[i].state == SLOT_RUNNING || m->children[i].state == SLOT_STOPPING) &&
		    m->children[i].pid == pid) {
			*slot = i;
			return &m->children[i];
		}
	}
	return NULL;
}

static void
reap(struct master *m)
{
	enum metrics_exit cause;
	struct child *ch;
	size_t slot;
	pid_t pid;
	int status;
	int64_t now, lived;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		ch = find_pid(m, pid, &slot);
		if (ch == NULL)
			continue;
		/* A worker killed inside a database call would hold its seat forever. */
		atomic_store(&scoreboard_slot(slot)->db_since_us, 0);
		atomic_store(&scoreboard_slot(slot)->db_wait_us, 0);
		atomic_store(&scoreboard_slot(slot)->long_polling, 0);	/* and its wait */
		now = time_mono_us();
		lived = now - ch->started_us;
		if (ch->timed_out)
			cause = METRICS_EXIT_TIMEOUT;
		else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			cause = (enum metrics_exit)atomic_load(&scoreboard_slot(slot)->exit_cause);
		else
			cause = METRICS_EXIT_CRASHED;
		metrics_worker_exit(ch->role, cause);
		log_event(cause == METRICS_EXIT_CRASHED ? LOGL_WARN : LOGL_INFO, "child exited",
		    (const struct log_kv[]){
			LOG_STR("child_role", role_names[ch->role]), LOG_NUM("child_pid", pid),
			LOG_STR("cause", cause == METRICS_EXIT_CRASHED ? "crashed" :
			    cause == METRICS_EXIT_TIMEOUT ? "timeout" :
			    cause == METRICS_EXIT_RECYCLED ? "recycled" : "stopped"),
			LOG_NUM("exit_status", WIFEXITED(status) ? WEXITSTATUS(status) : -1),
			LOG_NUM("signal", WIFSIGNALED(status) ? WTERMSIG(status) : 0),
			LOG_NUM("lived_ms", lived / 1000) }, 6);
		/* Crash loops back off exponentially; a child that lived a while resets that. */
		if (cause == METRICS_EXIT_CRASHED && lived < CRASH_WINDOW_US)
			ch->crashes++;
		else
			ch->crashes = 0;
		ch->respawn_at_us = now;
		if (ch->crashes > 0) {
			int64_t delay = BACKOFF_MIN_US << (ch->crashes > 9 ? 9 : ch->crashes - 1);

			ch->respawn_at_us += delay < BACKOFF_MAX_US ? delay : BACKOFF_MAX_US;
			if (ch->crashes > 1)
				log_warnx("%s crashed %u times in a row; next start in %lld ms",
				    role_names[ch->role], ch->crashes,
				    (long long)(ch->respawn_at_us - now) / 1000);
		}
		ch->pid = 0;
		ch->state = ch->retire || m->stopping ? SLOT_FREE : SLOT_WAITING;
	}
}

/* Is slot i one of role's pool members (running for good, or waiting to respawn)? */
static bool
member(const struct child *ch, enum metrics_role role)
{
	return ch->role == role &&
	    ((ch->state == SLOT_RUNNING && !ch->retire) || ch->state == SLOT_WAITING);
}

static size_t
free_slot(const struct master *m)
{
	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++) {
		if (m->children[i].state == SLOT_FREE)
			return i;
	}
	return SCOREBOARD_SLOTS;
}

static void
retire(struct child *ch)
{
	ch->retire = true;
	if (ch->state == SLOT_WAITING)
		ch->state = SLOT_FREE;
	else
		stop_child(ch, SIGTERM);
}

/*
 * Brings role's pool to its wanted size. Dead members respawn when their backoff is over.
 * During a rolling restart the pool grows by one new-generation worker, and each time all
 * new ones are ready one old one is retired, so capacity never drops below the target.
 */
static void
balance_role(struct master *m, enum metrics_role role, size_t want)
{
	size_t members = 0, fresh = 0, ready = 0, old = SCOREBOARD_SLOTS, last = SCOREBOARD_SLOTS;
	int64_t now = time_mono_us();

	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++) {
		struct child *ch = &m->children[i];

		if (!member(ch, role))
			continue;
		if (ch->state == SLOT_WAITING && ch->respawn_at_us <= now)
			spawn(m, i, role);
		members++;
		last = i;
		if (ch->state != SLOT_RUNNING)
			continue;
		if (ch->generation != m->generation) {
			old = i;
			continue;
		}
		fresh++;
		ready += atomic_load(&scoreboard_slot(i)->ready_us) != 0;
	}
	if (role == METRICS_ROLE_WORKER) {
		size_t stale = 0;

		for (size_t i = 0; i < SCOREBOARD_SLOTS; i++) {
			const struct child *ch = &m->children[i];

			stale += ch->role == role && ch->generation != m->generation &&
			    (ch->state == SLOT_RUNNING || ch->state == SLOT_STOPPING);
		}
		metrics_gauge_set(METRIC_WORKERS_WANTED, (int64_t)want);
		metrics_gauge_set(METRIC_WORKERS_READY, (int64_t)ready);
		metrics_gauge_set(METRIC_WORKERS_STALE, (int64_t)stale);
	}
	if (old < SCOREBOARD_SLOTS) {
		if (ready < fresh)
			return;
		if (members > want)
			retire(&m->children[old]);
		else if (free_slot(m) < SCOREBOARD_SLOTS)
			spawn(m, free_slot(m), role);
		return;
	}
	for (; members < want && free_slot(m) < SCOREBOARD_SLOTS; members++)
		spawn(m, free_slot(m), role);
	if (members > want && last < SCOREBOARD_SLOTS)
		retire(&m->children[last]);
}

static void
balance(struct master *m)
{
	balance_role(m, METRICS_ROLE_WORKER, (size_t)m->conf->workers);
	balance_role(m, METRICS_ROLE_JOBS, 1);
}

/* Kills workers stuck on one request longer than request_timeout, and repeats TERMs. */
static void
watch(struct master *m)
{
	int64_t now = time_mono_us(), limit = m->conf->request_timeout * 1000000;

	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++) {
		struct child *ch = &m->children[i];
		int64_t busy;

		if (ch->state != SLOT_RUNNING && ch->state != SLOT_STOPPING)
			continue;
		if (ch->state == SLOT_STOPPING && now - ch->stop_sent_us >= RESEND_TERM_US) {
			stop_child(ch, SIGTERM);
			continue;
		}
		busy = atomic_load(&scoreboard_slot(i)->busy_since_us);
		if (ch->role == METRICS_ROLE_WORKER && busy != 0 && now - busy > limit &&
		    !ch->timed_out) {
			log_warnx("worker %d busy on one request for over %lld s: replacing it",
			    (int)ch->pid, (long long)m->conf->request_timeout);
			ch->timed_out = true;
			stop_child(ch, SIGKILL);
		}
	}
}

static size_t
alive(const struct master *m)
{
	size_t n = 0;

	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++)
		n += m->children[i].state == SLOT_RUNNING || m->children[i].state == SLOT_STOPPING;
	return n;
}

static void
begin_stop(struct master *m, int sig)
{
	log_info("%s: stopping; in-flight requests may take up to %lld s",
	    sig == SIGINT ? "SIGINT" : "SIGTERM", (long long)m->conf->shutdown_timeout);
	m->stopping = true;
	m->stop_deadline_us = time_mono_us() + m->conf->shutdown_timeout * 1000000;
	/*
	 * New connections are refused from now on, and idle parked ones closed, so that the
	 * web server soon finds this server gone and sends the rest elsewhere; the workers
	 * drain what is queued and what arrives on kept connections (worker.c).
	 */
	(void)listen_unlink(&m->listener);
	scoreboard_set_stopping();
	park_drain(&m->park);
	for (size_t i = 0; i < SCOREBOARD_SLOTS; i++)
		stop_child(&m->children[i], SIGTERM);
}

static void
reload(struct master *m)
{
	char err[CONF_ERR_MAX];
	struct conf *next = malloc(sizeof(*next));
	enum log_level level;

	if (next == NULL) {
		log_warnx("SIGHUP: out of memory; keeping the running configuration");
		return;
	}
	if (conf_load(next, m->path, m->path_required, err, sizeof(err)) != PB_OK) {
		log_warnx("SIGHUP: %s; keeping the running configuration", err);
		free(next);
		return;
	}
	if (strcmp(next->listen, m->conf->listen) != 0)
		log_warnx("SIGHUP: listen changed; it takes effect on the next restart");
	if (log_level_parse(next->log_level, &level) == 0)
		log_set_level(level);
	conf_free(m->conf);
	free(m->conf);
	m->conf = next;
	m->generation++;
	log_info("SIGHUP: configuration reloaded; replacing workers one by one");
}

/* Takes every pending signal from the signalfd; returns false when there was none. */
static bool
take_signals(struct master *m)
{
	struct signalfd_siginfo si;
	bool any = false;

	while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		any = true;
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			if (!m->stopping)
				begin_stop(m, (int)si.ssi_signo);
		} else if (si.ssi_signo == SIGHUP && !m->stopping) {
			reload(m);
		}
	}
	return any;
}

static void
master_free(struct master *m)
{
	park_close(&m->park);
	if (m->sigfd >= 0)
		close(m->sigfd);
	listen_close(&m->listener);
	metrics_cleanup();
	scoreboard_cleanup();
	conf_free(m->conf);
	free(m->conf);
}

int
master_run(struct conf *c, const char *path, bool path_required)
{
	static struct master m;
	char err[CONF_ERR_MAX];
	int64_t last_tick = 0, now;
	sigset_t set;

	memset(&m, 0, sizeof(m));
	m.conf = c;
	m.path = path;
	m.path_required = path_required;
	m.started_real_us = time_real_us();
	m.sigfd = -1;
	m.park.lot = m.park.hand = m.park.epfd = -1;
	log_set_role("master");
	if (listen_open(c, &m.listener, err, sizeof(err)) != PB_OK) {
		log_error("%s", err);
		conf_free(c);
		free(c);
		return CONF_EX_CONFIG;
	}
	if (scoreboard_init() != PB_OK || notify_init() != PB_OK ||
	    metrics_init(dispatch_route_names(), dispatch_route_count()) != PB_OK) {
		log_warn("shared memory");
		master_free(&m);
		return 1;
	}
	/* Signals are read from a signalfd; children restore their own handlers. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	m.sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (m.sigfd < 0 || park_open(&m.park) != PB_OK) {
		log_warn("signalfd or parking lot");
		master_free(&m);
		return 1;
	}
	log_event(LOGL_INFO, "paybridge started", (const struct log_kv[]){
		LOG_STR("version", PACKAGE_VERSION), LOG_STR("listen", c->listen),
		LOG_NUM("workers", c->workers) }, 3);
	balance(&m);
	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = m.sigfd, .events = POLLIN },
			{ .fd = m.park.lot,
			  .events = POLLIN | (park_backlogged(&m.park) ? POLLOUT : 0) },
			{ .fd = m.park.epfd, .events = POLLIN },
		};

		(void)poll(pfd, 3, TICK_US / 1000);
		/* Each source is read only when ready: a wake-up per hand-off is the hot path. */
		if (pfd[1].revents != 0 || pfd[2].revents != 0)
			park_service(&m.park, pfd[1].revents != 0, pfd[2].revents != 0);
		/* Children are looked after on a signal and every tick, not per hand-off. */
		now = time_mono_us();
		if (!(pfd[0].revents != 0 && take_signals(&m)) && now - last_tick < TICK_US)
			continue;
		last_tick = now;
		reap(&m);
		watch(&m);
		if (m.stopping) {
			if (alive(&m) == 0)
				break;
			if (time_mono_us() > m.stop_deadline_us) {
				log_warnx("shutdown_timeout passed: killing %zu children", alive(&m));
				for (size_t i = 0; i < SCOREBOARD_SLOTS; i++)
					stop_child(&m.children[i], SIGKILL);
				m.stop_deadline_us = INT64_MAX;
			}
			continue;
		}
		balance(&m);
	}
	log_info("stopped");
	master_free(&m);
	return 0;
}
