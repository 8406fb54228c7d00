/*
 * status.c — the supervisor's view of the suite, for ankicollabctl status
 * (control.c) and for apid's /health and /metrics (SV_STATUS over apid's
 * control socketpair), and the sums of gcd's job reports.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/proto.h"
#include "supervisor/supervisor.h"

void
status_fill(const struct child *c, struct proto_daemon_status *st)
{
	uint64_t now = mono_ms();

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", c->name);
	st->state = c->state;
	st->pid = (uint32_t)c->pid;
	st->rss_kb = child_is_up(c) ? memlimit_rss_kb(c->pid) : 0;
	st->restarts = c->restarts;
	st->oom_kills = c->oom_kills;
	st->memory_max = sv->cfg.daemon[c->id].memory_max;
	st->requests = c->stats.requests;
	st->uptime_ms = child_is_up(c) ? now - c->started_ms : 0;
	st->memory_mode = sv->memory_mode;
	st->heartbeat_ok = (uint32_t)c->heartbeat_ok;
	st->backoff_ms = c->state == PROTO_STATE_BACKOFF && c->restart_at_ms > now ?
	    c->restart_at_ms - now : 0;
	st->supervisor_pid = (uint32_t)getpid();
}

/* SV_STATUS: one SV_DAEMON per daemon, then SV_GC with the job sums. */
void
status_answer(struct proto_peer *peer, uint32_t id)
{
	struct proto_daemon_status	 st;
	uint8_t				 buf[PROTO_GC_COUNT_LEN * PROTO_GC_JOBS_MAX];
	int				 i;

	for (i = 0; i < DAEMON_COUNT; i++) {
		status_fill(&sv->child[i], &st);
		proto_daemon_status_enc(&st, buf);
		if (proto_send(peer, PROTO_SV_DAEMON, id, -1, buf, PROTO_DAEMON_STATUS_LEN) == -1)
			return;
	}
	proto_send(peer, PROTO_SV_GC, id, -1, buf, proto_gc_counts_enc(sv->gc, sv->ngc, buf));
}

/* GC_REPORT from gcd: add one run to its job's sums (a new name takes a free slot). */
void
status_gc_report(const struct proto_msg *msg)
{
	struct proto_gc_count	 r, *t;
	size_t			 i, n;

	if (proto_gc_counts_dec(msg, &r, &n) == -1 || n != 1)
		return;
	for (i = 0; i < sv->ngc; i++)
		if (strcmp(sv->gc[i].name, r.name) == 0)
			break;
	if (i == sv->ngc) {
		if (sv->ngc == PROTO_GC_JOBS_MAX) {
			log_warnx("gc report for job %s: too many jobs", r.name);
			return;
		}
		memset(&sv->gc[i], 0, sizeof(sv->gc[i]));
		memcpy(sv->gc[i].name, r.name, sizeof(r.name));
		sv->ngc++;
	}
	t = &sv->gc[i];
	t->runs += r.runs;
	t->failures += r.failures;
	t->removed += r.removed;
}
