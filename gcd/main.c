/*
 * ankicollab-gcd — the periodic cleanup jobs (orphaned media, expired tokens,
 * WAL checkpoints, …). It has no HTTP port: the supervisor sees it alive
 * through the start-up exchange and its heartbeats.
 *
 * Reads top to bottom: config (daemon_init), jobs, the event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/daemon.h"
#include "common/log.h"
#include "gcd/gcd.h"
#include "proto/msg.h"
#include "proto/proto.h"

static struct gcd	 gcd;

/* GC_RUN: the job(s) now; the summary goes back as GC_RESULT, same id. */
static void
gcd_gc_run(struct proto_peer *peer, const struct proto_msg *msg)
{
	char		name[PROTO_STRING_MAX + 1], line[PROTO_RESULT_MAX - 4];
	uint8_t		buf[PROTO_RESULT_MAX];
	enum gc_job	job = GC_NJOBS;
	int32_t		code = 0;

	name[0] = '\0';
	if (msg->len > 0 && proto_string_dec(msg, name, sizeof(name)) == -1)
		snprintf(name, sizeof(name), "?");
	if (name[0] != '\0' && (job = gc_job_by_name(name)) == GC_NJOBS) {
		snprintf(line, sizeof(line), "no such gc job '%s' (" GC_JOB_NAMES ")", name);
		code = 2;
	} else if (job == GC_SNAPSHOTS) {
		/* Answered when the build ends, unless it could not start. */
		if ((code = gc_snapshots_start(&gcd, peer, msg->hdr.id, line, sizeof(line))) == 1)
			return;
		code = code == -1 ? 1 : 0;
	} else if (gc_run(&gcd, job, line, sizeof(line)) == -1)
		code = 1;
	if (proto_send(peer, PROTO_GC_RESULT, msg->hdr.id, -1, buf,
	    proto_result_enc(code, line, buf)) == -1)
		log_warnx("cannot queue a gc result");
}

/* daemon.c answers the supervisor's common messages; GC_RUN is ours alone. */
static int
gcd_message(struct proto_peer *peer, const struct proto_msg *msg, void *arg)
{
	if (msg->hdr.type != PROTO_GC_RUN)
		return -1;
	gcd_gc_run(peer, msg);
	return 0;
}

static void
gcd_reload(void *arg)
{
	gcd_rearm(arg);
}

int
main(int argc, char *argv[])
{
	static struct daemon	d;
	struct daemon_hooks	hooks;
	int			rc;

	daemon_init(&d, DAEMON_GCD, argc, argv);
	if (gcd_start(&gcd, &d) == -1)
		fatalx("cannot start the gc jobs");
	memset(&hooks, 0, sizeof(hooks));
	hooks.reload = gcd_reload;
	hooks.message = gcd_message;
	hooks.arg = &gcd;
	daemon_ready(&d, &hooks);
	rc = daemon_run(&d);
	gcd_stop(&gcd);
	return rc;
}
