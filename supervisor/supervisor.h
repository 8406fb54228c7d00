/*
 * supervisor.h — the parent of apid, mediad and gcd.
 *
 * One event loop. Each daemon is a struct child driven by a small state
 * machine (child.c):
 *
 *	stopped ──start──▶ starting ──READY──▶ running
 *	   ▲                  │  ▲                │
 *	   │               exit│  │backoff timer   │exit (crash, kill, OOM)
 *	   │                  ▼  │                ▼
 *	   └──exit── stopping ◀─stop── backoff ◀───┘
 *	                              │ crash_limit deaths within crash_window
 *	                              ▼
 *	                            failed ──start──▶ starting
 *
 * Memory limits (memlimit.c) use cgroup v2 where our cgroup is delegated
 * with the memory controller, else RLIMIT_DATA plus RSS polling. Admins
 * talk to us over runtime_dir/control.sock (control.c); systemd hears from
 * us through sd_notify (main.c).
 */
#ifndef ANKICOLLAB_SUPERVISOR_H
#define ANKICOLLAB_SUPERVISOR_H

#include <sys/types.h>

#include <stdint.h>

#include <event2/event.h>

#include "common/clock.h"
#include "common/config.h"
#include "proto/msg.h"

struct proto_msg;
struct proto_peer;

#define DEATH_TALLY	CONFIG_CRASH_LIMIT_MAX	/* deaths remembered per daemon */

struct child {
	enum daemon_id		 id;
	const char		*name;
	enum proto_daemon_state	 state;
	pid_t			 pid;
	int			 listen_fd;	/* bound once by us, lent to each pid */
	struct proto_peer	*peer;		/* control socket to the current pid */

	uint64_t		 started_ms;	/* when the current pid was spawned */
	uint64_t		 backoff_ms;	/* the next restart delay */
	uint64_t		 restart_at_ms;	/* in state backoff */
	uint64_t		 deaths[DEATH_TALLY];	/* when, ring buffer */
	unsigned		 ndeaths;
	unsigned		 restarts;
	unsigned		 oom_kills;
	int			 restart_after_stop;	/* "restart": start once it exits */
	int			 killed_for_memory;	/* we killed it over memory_max */

	int			 hello_seen;	/* HELLO received from this pid */
	uint64_t		 hb_sent;	/* seq of the last heartbeat sent */
	uint64_t		 hb_sent_ms;
	uint64_t		 hb_answered_ms;	/* when the last reply came */
	int			 heartbeat_ok;	/* answered the one before the current */
	struct proto_stats	 stats;		/* from the last reply */

	struct event		*timer;		/* backoff, or stop timeout */
};

struct supervisor {
	struct config		 cfg;
	struct event_base	*base;
	struct child		 child[DAEMON_COUNT];
	char			 self_dir[CONFIG_PATH_MAX];	/* where our binary lives */

	enum proto_memory_mode	 memory_mode;
	char			 cgroup_dir[CONFIG_PATH_MAX];	/* cgroup mode: our unit's */

	int			 ready_sent;	/* READY=1 told to systemd */
	int			 stopping;	/* SIGTERM: shutting the suite down */
	uint64_t		 watchdog_usec;	/* 0: no systemd watchdog */
	uint64_t		 hb_seq;

	int			 control_fd;
	char			 control_path[CONFIG_PATH_MAX];
	struct event		*control_ev;
	struct event		*tick;		/* heartbeats, RSS polling */
	struct event		*watchdog;
	struct event		*shutdown_timer;
	struct event		*signals[5];

	struct proto_gc_count	 gc[PROTO_GC_JOBS_MAX];	/* gcd's reports, summed per job */
	size_t			 ngc;
};

extern struct supervisor *sv;


/* child.c */
void		child_init(struct child *c, enum daemon_id id);
void		child_start(struct child *c);		/* admin start: clears failed */
void		child_stop(struct child *c);		/* admin stop: no restart */
void		child_restart(struct child *c);
void		child_reaped(struct child *c, int status);
void		child_tick(struct child *c);		/* heartbeat and memory check */
void		child_kill_now(struct child *c);	/* SIGKILL, for the shutdown deadline */
struct child	*child_by_pid(pid_t pid);
int		child_is_up(const struct child *c);	/* has a live pid */

/* memlimit.c */
void		memlimit_init(void);
/* In the forked child, before exec: join the cgroup or set the rlimit. */
void		memlimit_enter(const struct child *c);
/* After a death: did the kernel kill it for memory? (cgroup mode) */
int		memlimit_oom_killed(struct child *c);
/* RSS and swap of a pid in KiB, 0 when gone. */
uint64_t	memlimit_rss_kb(pid_t pid);
uint64_t	memlimit_swap_kb(pid_t pid);
/* After a reload: write the new limits. */
void		memlimit_apply(void);

/* control.c */
int		control_listen(void);
void		control_close(void);

/* status.c */
void		status_fill(const struct child *c, struct proto_daemon_status *st);
void		status_answer(struct proto_peer *peer, uint32_t id);	/* SV_STATUS */
void		status_gc_report(const struct proto_msg *msg);		/* GC_REPORT */

/* main.c */
void		supervisor_state_changed(void);	/* STATUS=, READY=1, maybe exit */
/* Re-reads the config and passes it on; -1 with a reason, the old one kept. */
int		supervisor_reload(char *err, size_t errlen);

#endif
