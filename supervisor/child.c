/*
 * child.c — one supervised daemon: spawning, the start-up exchange,
 * heartbeats, deaths, backoff and the crash-loop cut-off.
 *
 * The state machine is drawn in supervisor.h. A death is anything we did
 * not ask for: a crash, a kill -9, an OOM kill, a hang we ended, a start
 * that never became ready. Deaths restart the daemon after a backoff that
 * doubles from backoff_min to backoff_max and falls back to backoff_min once
 * a pid has lived healthy_after; crash_limit deaths within crash_window
 * leave it failed until an admin starts it again.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/proto.h"
#include "supervisor/supervisor.h"

#define EXEC_ARGS_MAX	32

static void	child_spawn(struct child *c);
static void	child_died(struct child *c);

static void
child_set_state(struct child *c, enum proto_daemon_state state)
{
	if (c->state == state)
		return;
	log_debug("%s: %s -> %s", c->name, proto_state_name(c->state), proto_state_name(state));
	c->state = state;
	supervisor_state_changed();
}

static void
child_arm_timer(struct child *c, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };

	evtimer_add(c->timer, &tv);
}

/* SIGKILL the daemon's process group: an exec wrapper's children go too. */
static void
child_kill(struct child *c, int sig)
{
	if (c->pid > 0 && kill(-c->pid, sig) == -1 && errno == ESRCH)
		kill(c->pid, sig);
}

static void
child_timer(evutil_socket_t fd, short ev, void *arg)
{
	struct child *c = arg;

	switch (c->state) {
	case PROTO_STATE_BACKOFF:
		c->restarts++;
		log_info("%s: restarting (restart %u)", c->name, c->restarts);
		child_spawn(c);
		break;
	case PROTO_STATE_STOPPING:
		log_warnx("%s: did not stop in time; killing pid %d", c->name, (int)c->pid);
		child_kill(c, SIGKILL);
		break;
	default:
		break;
	}
}

void
child_init(struct child *c, enum daemon_id id)
{
	memset(c, 0, sizeof(*c));
	c->id = id;
	c->name = daemon_name(id);
	c->state = PROTO_STATE_STOPPED;
	c->listen_fd = -1;
	c->backoff_ms = sv->cfg.backoff_min_ms;
	if ((c->timer = evtimer_new(sv->base, child_timer, c)) == NULL)
		fatalx("evtimer_new");
}

struct child *
child_by_pid(pid_t pid)
{
	int i;

	for (i = 0; i < DAEMON_COUNT; i++)
		if (sv->child[i].pid == pid)
			return &sv->child[i];
	return NULL;
}

int
child_is_up(const struct child *c)
{
	return c->pid > 0;
}

/* ---- the control socket to the daemon ------------------------------------ */

static void
child_hello(struct child *c, const struct proto_msg *msg)
{
	struct proto_hello	 h;
	int			 fd;

	if (proto_hello_dec(msg, &h) == -1 || h.version != PROTO_VERSION || h.daemon != c->id) {
		log_warnx("%s: bad hello (version %u, daemon %u); killing it", c->name,
		    h.version, h.daemon);
		child_kill(c, SIGKILL);
		return;
	}
	c->hello_seen = 1;
	if (c->listen_fd == -1)
		return;
	/* The peer layer closes what it sends; we keep the listener. */
	if ((fd = fcntl(c->listen_fd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    proto_send(c->peer, PROTO_LISTEN_FD, 0, fd, sv->cfg.daemon[c->id].listen,
	    strlen(sv->cfg.daemon[c->id].listen)) == -1) {
		log_warn("%s: cannot pass the listener", c->name);
		child_kill(c, SIGKILL);
	}
}

static void
child_heartbeat_reply(struct child *c, const struct proto_msg *msg)
{
	struct proto_stats st;

	if (proto_stats_dec(msg, &st) == -1)
		return;
	if (st.seq != c->hb_sent)
		return;		/* a late answer to an older one */
	c->stats = st;
	c->heartbeat_ok = 1;
	c->hb_answered_ms = mono_ms();
}

/* control.c: relays gcd's answer to the ctl that asked for the run. */
void	control_gc_result(const struct proto_msg *msg);

static void
child_dispatch(struct proto_peer *peer, struct proto_msg *msg, void *arg)
{
	struct child *c = arg;

	if (msg == NULL) {
		/* Its death, if that is what this is, comes by SIGCHLD. */
		proto_peer_free(peer);
		c->peer = NULL;
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_HELLO:
		child_hello(c, msg);
		break;
	case PROTO_READY:
		if (c->state == PROTO_STATE_STARTING) {
			log_info("%s: running, pid %d", c->name, (int)c->pid);
			c->heartbeat_ok = 1;
			c->hb_answered_ms = mono_ms();
			child_set_state(c, PROTO_STATE_RUNNING);
		}
		break;
	case PROTO_HEARTBEAT_REPLY:
		child_heartbeat_reply(c, msg);
		break;
	case PROTO_SV_STATUS:
		status_answer(peer, msg->hdr.id);
		break;
	case PROTO_GC_REPORT:
	case PROTO_GC_RESULT:
		if (c->id == DAEMON_GCD) {
			if (msg->hdr.type == PROTO_GC_REPORT)
				status_gc_report(msg);
			else
				control_gc_result(msg);
			break;
		}
		/* FALLTHROUGH */
	default:
		log_warnx("%s: unexpected %s; killing it", c->name,
		    proto_type_name(msg->hdr.type));
		child_kill(c, SIGKILL);
	}
}

/* ---- spawning ------------------------------------------------------------ */

/* argv: the exec key split on blanks, or our sibling binary; then -c FILE. */
static int
child_argv(const struct child *c, char *buf, size_t buflen, char **argv)
{
	const char	*exec = sv->cfg.daemon[c->id].exec;
	char		*p, *save = NULL;
	int		 argc = 0;

	if (exec[0] != '\0')
		snprintf(buf, buflen, "%s", exec);
	else
		snprintf(buf, buflen, "%s/ankicollab-%s", sv->self_dir, c->name);
	for (p = strtok_r(buf, " \t", &save); p != NULL && argc < EXEC_ARGS_MAX - 3;
	    p = strtok_r(NULL, " \t", &save))
		argv[argc++] = p;
	if (argc == 0)
		return -1;
	if (sv->cfg.path[0] != '\0') {
		argv[argc++] = "-c";
		argv[argc++] = sv->cfg.path;
	}
	argv[argc] = NULL;
	return 0;
}

/*
 * In the forked child: never returns. Signals are blocked on entry, and the
 * handlers still are libevent's, which would write into the supervisor's own
 * signal pipe: a SIGTERM meant for this child would stop the whole suite.
 * So reset them before unblocking.
 */
static void __attribute__((noreturn))
child_exec(const struct child *c, int sock, char **argv, pid_t supervisor)
{
	static const int	 caught[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGPIPE };
	sigset_t		 set;
	size_t			 i;

	for (i = 0; i < sizeof(caught) / sizeof(caught[0]); i++)
		signal(caught[i], SIG_DFL);
	setpgid(0, 0);
	/* If the supervisor dies without stopping us, go too. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != supervisor)
		_exit(1);
	memlimit_enter(c);
	if (sock == 3)
		fcntl(3, F_SETFD, 0);
	else if (dup2(sock, 3) == -1)
		_exit(111);
	/* Nothing else we hold, or inherited, belongs to the daemon. */
	close_range(4, ~0U, 0);
	setenv("ANKICOLLAB_CONTROL_FD", "3", 1);
	sigemptyset(&set);
	sigprocmask(SIG_SETMASK, &set, NULL);
	execvp(argv[0], argv);
	fprintf(stderr, "<3>supervisor: %s: exec %s: %s\n", c->name, argv[0], strerror(errno));
	_exit(127);
}

static void
child_spawn(struct child *c)
{
	char		 buf[CONFIG_PATH_MAX + 64], *argv[EXEC_ARGS_MAX];
	sigset_t	 all, old;
	pid_t		 pid, self = getpid();
	int		 sp[2];

	if (child_argv(c, buf, sizeof(buf), argv) == -1) {
		log_warnx("%s: empty exec", c->name);
		child_died(c);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", c->name);
		child_died(c);
		return;
	}
	fflush(stderr);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		child_exec(c, sp[1], argv, self);
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(sp[1]);
	if (pid == -1) {
		log_warn("%s: fork", c->name);
		close(sp[0]);
		child_died(c);
		return;
	}
	c->pid = pid;
	c->started_ms = mono_ms();
	c->hello_seen = 0;
	c->heartbeat_ok = 0;
	c->hb_sent = 0;
	c->hb_answered_ms = c->started_ms;
	c->killed_for_memory = 0;
	memset(&c->stats, 0, sizeof(c->stats));
	if ((c->peer = proto_peer_new(sv->base, sp[0], child_dispatch, c)) == NULL) {
		close(sp[0]);
		child_kill(c, SIGKILL);
	}
	log_info("%s: started pid %d (%s)", c->name, (int)pid, argv[0]);
	child_set_state(c, PROTO_STATE_STARTING);
}

/* ---- deaths and restarts -------------------------------------------------- */

static unsigned
child_recent_deaths(const struct child *c, uint64_t now)
{
	unsigned	i, n = 0, kept = c->ndeaths < DEATH_TALLY ? c->ndeaths : DEATH_TALLY;

	for (i = 0; i < kept; i++)
		if (now - c->deaths[i] < sv->cfg.crash_window_ms)
			n++;
	return n;
}

/* An unplanned death: count it, then back off or give up. */
static void
child_died(struct child *c)
{
	uint64_t	now = mono_ms(), delay;

	c->deaths[c->ndeaths++ % DEATH_TALLY] = now;
	if (child_recent_deaths(c, now) >= sv->cfg.crash_limit) {
		log_warnx("%s: %llu deaths within %llu s; failed until started again", c->name,
		    (unsigned long long)sv->cfg.crash_limit,
		    (unsigned long long)(sv->cfg.crash_window_ms / 1000));
		child_set_state(c, PROTO_STATE_FAILED);
		return;
	}
	if (c->started_ms != 0 && now - c->started_ms >= sv->cfg.healthy_after_ms)
		c->backoff_ms = sv->cfg.backoff_min_ms;
	delay = c->backoff_ms;
	c->backoff_ms = c->backoff_ms * 2 > sv->cfg.backoff_max_ms ?
	    sv->cfg.backoff_max_ms : c->backoff_ms * 2;
	c->restart_at_ms = now + delay;
	child_arm_timer(c, delay);
	log_info("%s: restart in %llu ms", c->name, (unsigned long long)delay);
	child_set_state(c, PROTO_STATE_BACKOFF);
}

static void
child_log_exit(const struct child *c, pid_t pid, int status, int oom)
{
	if (oom)
		log_warnx("%s: pid %d killed for memory (memory_max %llu bytes)", c->name,
		    (int)pid, (unsigned long long)sv->cfg.daemon[c->id].memory_max);
	else if (WIFSIGNALED(status))
		log_warnx("%s: pid %d killed by signal %d", c->name, (int)pid, WTERMSIG(status));
	else if (c->state == PROTO_STATE_STOPPING || sv->stopping)
		log_info("%s: pid %d exited with status %d", c->name, (int)pid,
		    WEXITSTATUS(status));
	else
		log_warnx("%s: pid %d exited with status %d", c->name, (int)pid,
		    WEXITSTATUS(status));
}

void
child_reaped(struct child *c, int status)
{
	pid_t	pid = c->pid;
	int	oom;

	c->pid = 0;
	evtimer_del(c->timer);
	if (c->peer != NULL) {
		proto_peer_free(c->peer);
		c->peer = NULL;
	}
	oom = c->killed_for_memory || memlimit_oom_killed(c);
	if (oom)
		c->oom_kills++;
	child_log_exit(c, pid, status, oom);

	if (c->state == PROTO_STATE_STOPPING || sv->stopping) {
		child_set_state(c, PROTO_STATE_STOPPED);
		if (c->restart_after_stop && !sv->stopping) {
			c->restart_after_stop = 0;
			child_start(c);
		}
		return;
	}
	child_died(c);
}

/* ---- what admins ask for -------------------------------------------------- */

void
child_start(struct child *c)
{
	switch (c->state) {
	case PROTO_STATE_STOPPED:
	case PROTO_STATE_FAILED:
		c->ndeaths = 0;
		c->backoff_ms = sv->cfg.backoff_min_ms;
		child_spawn(c);
		break;
	case PROTO_STATE_BACKOFF:
		evtimer_del(c->timer);
		child_spawn(c);
		break;
	case PROTO_STATE_STOPPING:
		c->restart_after_stop = 1;
		break;
	default:
		break;
	}
}

void
child_stop(struct child *c)
{
	c->restart_after_stop = 0;
	switch (c->state) {
	case PROTO_STATE_BACKOFF:
	case PROTO_STATE_FAILED:
		evtimer_del(c->timer);
		child_set_state(c, PROTO_STATE_STOPPED);
		break;
	case PROTO_STATE_STARTING:
	case PROTO_STATE_RUNNING:
		/* SHUTDOWN lets it finish requests; a program that never said
		 * hello (an exec slot) gets SIGTERM instead. */
		if (c->peer == NULL || !c->hello_seen ||
		    proto_send(c->peer, PROTO_SHUTDOWN, 0, -1, NULL, 0) == -1)
			child_kill(c, SIGTERM);
		child_arm_timer(c, sv->cfg.stop_timeout_ms);
		child_set_state(c, PROTO_STATE_STOPPING);
		break;
	default:
		break;
	}
}

void
child_restart(struct child *c)
{
	if (child_is_up(c)) {
		child_stop(c);
		c->restart_after_stop = 1;
	} else
		child_start(c);
}

void
child_kill_now(struct child *c)
{
	child_kill(c, SIGKILL);
}

/* ---- once a second --------------------------------------------------------- */

static void
child_check_memory(struct child *c)
{
	uint64_t	max = sv->cfg.daemon[c->id].memory_max;
	uint64_t	used_kb;

	if (sv->memory_mode != PROTO_MEMORY_RLIMIT || max == 0 || c->killed_for_memory)
		return;
	used_kb = memlimit_rss_kb(c->pid) + memlimit_swap_kb(c->pid);
	if (used_kb * 1024 <= max)
		return;
	log_warnx("%s: pid %d uses %llu KiB, over memory_max; killing it", c->name,
	    (int)c->pid, (unsigned long long)used_kb);
	c->killed_for_memory = 1;
	child_kill(c, SIGKILL);
}

static void
child_heartbeat(struct child *c, uint64_t now)
{
	uint8_t buf[PROTO_HEARTBEAT_LEN];

	if (now - c->hb_answered_ms > sv->cfg.heartbeat_timeout_ms) {
		log_warnx("%s: no heartbeat for %llu ms; killing pid %d", c->name,
		    (unsigned long long)(now - c->hb_answered_ms), (int)c->pid);
		child_kill(c, SIGKILL);
		return;
	}
	if (now - c->hb_sent_ms < sv->cfg.heartbeat_interval_ms || c->peer == NULL)
		return;
	if (c->hb_sent != 0 && c->stats.seq != c->hb_sent)
		c->heartbeat_ok = 0;
	c->hb_sent = ++sv->hb_seq;
	c->hb_sent_ms = now;
	proto_u64_enc(c->hb_sent, buf);
	if (proto_send(c->peer, PROTO_HEARTBEAT, 0, -1, buf, sizeof(buf)) == -1)
		c->heartbeat_ok = 0;
}

void
child_tick(struct child *c)
{
	uint64_t now = mono_ms();

	if (!child_is_up(c))
		return;
	child_check_memory(c);
	switch (c->state) {
	case PROTO_STATE_STARTING:
		if (now - c->started_ms > sv->cfg.start_timeout_ms) {
			log_warnx("%s: not ready after %llu ms; killing pid %d", c->name,
			    (unsigned long long)(now - c->started_ms), (int)c->pid);
			child_kill(c, SIGKILL);
		}
		break;
	case PROTO_STATE_RUNNING:
		child_heartbeat(c, now);
		break;
	default:
		break;
	}
}
