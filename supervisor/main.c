/*
 * ankicollab-supervisor — starts apid, mediad and gcd, keeps them within
 * their memory limits, restarts them when they die, and tells systemd how
 * the suite is doing.
 *
 * Reads top to bottom: config, directories and secrets, the sockets we own
 * (the daemons' TCP listeners, the control socket), memory limits, signals
 * and timers, the daemons, the event loop.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "common/http.h"
#include "common/log.h"
#include "proto/proto.h"
#include "supervisor/supervisor.h"

struct supervisor	*sv;
static struct event	*changed_ev;

/* apid first, so no request arrives after gcd or mediad are gone. */
static const enum daemon_id stop_order[] = { DAEMON_APID, DAEMON_GCD, DAEMON_MEDIAD };

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: ankicollab-supervisor [-nv] [-c file]\n");
	exit(100);
}

static void
mkdir_p(const char *dir, mode_t mode)
{
	char	path[CONFIG_PATH_MAX], *p;

	snprintf(path, sizeof(path), "%s", dir);
	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, mode) == -1 && errno != EEXIST)
			fatal("mkdir %s", path);
		*p = '/';
	}
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		fatal("mkdir %s", path);
}

/* ---- telling systemd --------------------------------------------------------- */

static void
notify_status(void)
{
	static char	 last[512];
	char		 line[512];
	size_t		 n = 0;
	int		 i;

	n += (size_t)snprintf(line, sizeof(line), "STATUS=");
	for (i = 0; i < DAEMON_COUNT && n < sizeof(line); i++) {
		const struct child *c = &sv->child[i];

		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s %s", i ? ", " : "",
		    c->name, proto_state_name(c->state));
		if (c->restarts && n < sizeof(line))
			n += (size_t)snprintf(line + n, sizeof(line) - n, " (%u restarts)",
			    c->restarts);
	}
	if (strcmp(line, last) == 0)
		return;
	snprintf(last, sizeof(last), "%s", line);
	sd_notify(0, line);
}

/*
 * Every daemon has settled: running, or given up on (failed) or stopped by
 * an admin. systemd hears READY=1 then, so one broken daemon does not take
 * the healthy ones down with a start timeout; STATUS= says which is which.
 */
static int
all_settled(void)
{
	int i;

	for (i = 0; i < DAEMON_COUNT; i++)
		switch (sv->child[i].state) {
		case PROTO_STATE_RUNNING:
		case PROTO_STATE_FAILED:
		case PROTO_STATE_STOPPED:
			break;
		default:
			return 0;
		}
	return 1;
}

/* WATCHDOG=1 only while every running daemon answered its last heartbeat. */
static void
watchdog_cb(evutil_socket_t fd, short ev, void *arg)
{
	int i;

	for (i = 0; i < DAEMON_COUNT; i++) {
		const struct child *c = &sv->child[i];

		if (c->state == PROTO_STATE_RUNNING && !c->heartbeat_ok) {
			log_debug("watchdog: %s has not answered; no ping", c->name);
			return;
		}
	}
	sd_notify(0, "WATCHDOG=1");
}

/* ---- shutting down ----------------------------------------------------------- */

/* One daemon at a time, in stop_order; the loop ends when none is left. */
static void
shutdown_next(void)
{
	size_t		 i;
	struct child	*c;

	for (i = 0; i < sizeof(stop_order) / sizeof(stop_order[0]); i++) {
		c = &sv->child[stop_order[i]];
		if (!child_is_up(c)) {
			if (c->state != PROTO_STATE_STOPPED)
				child_stop(c);
			continue;
		}
		if (c->state != PROTO_STATE_STOPPING)
			child_stop(c);
		return;
	}
	event_base_loopexit(sv->base, NULL);
}

static void
shutdown_deadline(evutil_socket_t fd, short ev, void *arg)
{
	int i;

	log_warnx("shutdown: %llu ms passed; killing what is left",
	    (unsigned long long)sv->cfg.stop_timeout_ms);
	for (i = 0; i < DAEMON_COUNT; i++)
		if (child_is_up(&sv->child[i]))
			child_kill_now(&sv->child[i]);
}

static void
shutdown_begin(void)
{
	struct timeval tv;

	if (sv->stopping)
		return;
	sv->stopping = 1;
	log_info("shutting down");
	sd_notify(0, "STOPPING=1");
	control_close();
	tv.tv_sec = (time_t)(sv->cfg.stop_timeout_ms / 1000);
	tv.tv_usec = (suseconds_t)(sv->cfg.stop_timeout_ms % 1000) * 1000;
	sv->shutdown_timer = evtimer_new(sv->base, shutdown_deadline, NULL);
	evtimer_add(sv->shutdown_timer, &tv);
	shutdown_next();
}

/* ---- state changes, coalesced: children call this from deep inside ------------ */

static void
changed_cb(evutil_socket_t fd, short ev, void *arg)
{
	notify_status();
	if (!sv->ready_sent && !sv->stopping && all_settled()) {
		sv->ready_sent = 1;
		log_info("all daemons settled; ready");
		sd_notify(0, "READY=1");
	}
	if (sv->stopping)
		shutdown_next();
}

void
supervisor_state_changed(void)
{
	event_active(changed_ev, EV_TIMEOUT, 0);
}

/* ---- signals and timers -------------------------------------------------------- */

int
supervisor_reload(char *err, size_t errlen)
{
	struct config	 fresh;
	int		 i;

	if (config_load(&fresh, sv->cfg.path[0] ? sv->cfg.path : NULL, err, errlen) == -1 ||
	    config_ensure_secrets(&fresh, err, errlen) == -1) {
		log_warnx("reload: %s; keeping the old config", err);
		return -1;
	}
	for (i = 0; i < DAEMON_COUNT; i++)
		if (strcmp(fresh.daemon[i].listen, sv->cfg.daemon[i].listen) != 0) {
			log_warnx("reload: %s listen changed; restart the supervisor for it",
			    daemon_name(i));
			snprintf(fresh.daemon[i].listen, sizeof(fresh.daemon[i].listen), "%s",
			    sv->cfg.daemon[i].listen);
		}
	sv->cfg = fresh;
	log_set_verbose(sv->cfg.verbose);
	memlimit_apply();
	for (i = 0; i < DAEMON_COUNT; i++) {
		struct child *c = &sv->child[i];

		/* A starting daemon reads the file itself when it starts. */
		if (c->peer != NULL && c->state == PROTO_STATE_RUNNING)
			proto_send(c->peer, PROTO_RELOAD, 0, -1, NULL, 0);
	}
	log_info("config reloaded and passed on");
	return 0;
}

static void
reap(void)
{
	struct child	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if ((c = child_by_pid(pid)) != NULL)
			child_reaped(c, status);
}

static void
signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		shutdown_begin();
		break;
	case SIGHUP: {
		char err[1024];

		supervisor_reload(err, sizeof(err));
		break;
	}
	case SIGCHLD:
		reap();
		break;
	}
}

static void
tick_cb(evutil_socket_t fd, short ev, void *arg)
{
	int i;

	for (i = 0; i < DAEMON_COUNT; i++)
		child_tick(&sv->child[i]);
}

static struct event *
add_timer(void (*cb)(evutil_socket_t, short, void *), uint64_t ms)
{
	struct timeval	 tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	struct event	*ev;

	if ((ev = event_new(sv->base, -1, EV_PERSIST, cb, NULL)) == NULL ||
	    event_add(ev, &tv) == -1)
		fatalx("timer");
	return ev;
}

static void
setup_events(void)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	uint64_t		 usec, tick_ms;
	size_t			 i;

	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((sv->signals[i] = evsignal_new(sv->base, sigs[i], signal_cb, NULL)) == NULL ||
		    evsignal_add(sv->signals[i], NULL) == -1)
			fatalx("signal events");
	if ((changed_ev = event_new(sv->base, -1, 0, changed_cb, NULL)) == NULL)
		fatalx("event_new");
	/* Heartbeats at their interval, RSS every second: tick at the faster. */
	tick_ms = sv->cfg.heartbeat_interval_ms < 1000 ? sv->cfg.heartbeat_interval_ms : 1000;
	sv->tick = add_timer(tick_cb, tick_ms ? tick_ms : 1000);
	if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
		/*
		 * Often, so that pings resume at once when a hung daemon has
		 * been killed; and the hang must be ended before systemd's
		 * deadline, or it ends the whole suite instead.
		 */
		uint64_t every = usec / 2000 < 1000 ? usec / 2000 : 1000;

		sv->watchdog_usec = usec;
		sv->watchdog = add_timer(watchdog_cb, every ? every : 1);
		if (sv->cfg.heartbeat_timeout_ms + sv->cfg.heartbeat_interval_ms >= usec / 1000)
			log_warnx("heartbeat_timeout + heartbeat_interval >= WatchdogSec: a hung "
			    "daemon will get the whole service restarted by systemd");
		log_info("systemd watchdog: ping every %llu ms", (unsigned long long)every);
	}
}

/* ---- start-up ------------------------------------------------------------------ */

static void
find_self_dir(void)
{
	char	exe[CONFIG_PATH_MAX];
	ssize_t	n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) == -1)
		fatal("readlink /proc/self/exe");
	exe[n] = '\0';
	snprintf(sv->self_dir, sizeof(sv->self_dir), "%s", dirname(exe));
}

/* We bind the listeners once: a restarted daemon serves the same socket and
 * connections that arrive meanwhile wait in its backlog. */
static void
bind_listeners(void)
{
	int i;

	for (i = 0; i < DAEMON_COUNT; i++) {
		const char *listen = sv->cfg.daemon[i].listen;

		if (listen[0] == '\0')
			continue;
		if ((sv->child[i].listen_fd = http_bind(listen)) == -1)
			fatalx("%s: cannot listen on %s", daemon_name(i), listen);
		log_info("%s: listening on %s", daemon_name(i), listen);
	}
}

int
main(int argc, char *argv[])
{
	static struct supervisor	 ctx;
	const char			*path = NULL;
	char				 err[1024], rundir[CONFIG_PATH_MAX];
	int				 ch, check_only = 0, verbose = 0, i;

	sv = &ctx;
	sv->control_fd = -1;
	log_init("supervisor", 0);
	while ((ch = getopt(argc, argv, "c:nv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (path == NULL && access(ANKICOLLAB_DEFAULT_CONFIG, R_OK) == 0)
		path = ANKICOLLAB_DEFAULT_CONFIG;
	if (config_load(&sv->cfg, path, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (check_only) {
		printf("%s: configuration OK\n", path ? path : "built-in defaults");
		return 0;
	}
	if (verbose)
		sv->cfg.verbose = 1;
	log_set_verbose(sv->cfg.verbose);
	find_self_dir();

	mkdir_p(sv->cfg.data_dir, 0750);
	config_runtime_path(&sv->cfg, "", rundir, sizeof(rundir));
	mkdir_p(rundir, 0750);
	if (config_ensure_secrets(&sv->cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);

	if ((sv->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	for (i = 0; i < DAEMON_COUNT; i++)
		child_init(&sv->child[i], (enum daemon_id)i);
	bind_listeners();
	if (control_listen() == -1)
		fatalx("cannot open the control socket");
	memlimit_init();
	setup_events();

	for (i = 0; i < DAEMON_COUNT; i++)
		child_start(&sv->child[i]);
	event_base_dispatch(sv->base);

	control_close();
	log_info("stopped");
	return 0;
}
