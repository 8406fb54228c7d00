/*
 * health.c — GET /health, and the view of the suite it shares with
 * /metrics and /ui/status (see metrics.h).
 *
 * 200 when every daemon is running and the database answers, else 503 (a
 * load balancer or monitor then knows); the body says what is wrong either
 * way. Never rate-limited (ratelimit.c), never shed.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "apid/apid.h"
#include "apid/metrics.h"
#include "common/clock.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"
#include "common/mediaclient.h"
#include "proto/proto.h"

#define VIEW_MEDIA_TIMEOUT_MS	250	/* mediad answers usage from memory */

struct view_waiter {
	struct http_request	*req;
	void			(*done)(struct http_request *);
};

static struct suite_view	 view, next;	/* the last made; the one being made */
static struct view_waiter	 waiters[VIEW_WAITERS_MAX];
static size_t			 nwaiters;
static void			(*refresh_done)(void);
static uint32_t			 asked_id, sv_seq;	/* asked_id 0: nothing asked */
static size_t			 ndaemons;
static struct event		*timeout_ev, *answer_ev;
static struct mediaclient	 mc;
static int			 mc_ready;

const struct suite_view *
view_get(void)
{
	return &view;
}

/* What apid can see for itself: the database, the data disk, mediad. */
static void
view_local(struct suite_view *v)
{
	const struct config	*cfg = &apid->d.cfg;
	struct statvfs		 vfs;
	struct stat		 sb;
	sqlite3_stmt		*st;
	char			 path[CONFIG_PATH_MAX + 40];
	int			 mediad_up;

	st = db_stmt(apid->db, "SELECT count(*) FROM sqlite_master");
	v->db_ok = st != NULL && db_step(st) == DB_ROW;
	db_stmt_done(st);
	config_data_path(cfg, DB_FILE, path, sizeof(path));
	v->db_bytes = stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
	config_data_path(cfg, DB_FILE "-wal", path, sizeof(path));
	if (stat(path, &sb) == 0)
		v->db_bytes += (uint64_t)sb.st_size;
	if (statvfs(cfg->data_dir, &vfs) == 0) {
		v->disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		v->disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	}
	/* Asking a mediad that is not running would only wait for the timeout. */
	mediad_up = !v->sv_ok || v->daemon[DAEMON_MEDIAD].state == PROTO_STATE_RUNNING;
	if (!mc_ready) {
		mediaclient_init(&mc, cfg, VIEW_MEDIA_TIMEOUT_MS);
		mc_ready = 1;
	}
	v->media_ok = mediad_up && mediaclient_usage(&mc, &v->media) == 0;
}

/* apid itself, as the supervisor would report it, for a run without one. */
static void
view_self(struct suite_view *v)
{
	struct proto_daemon_status *d = &v->daemon[DAEMON_APID];

	snprintf(d->name, sizeof(d->name), "%s", daemon_name(DAEMON_APID));
	d->state = PROTO_STATE_RUNNING;
	d->pid = (uint32_t)getpid();
	d->rss_kb = daemon_rss_kb();
	d->uptime_ms = (uint64_t)(time(NULL) - apid->started) * 1000;
	d->heartbeat_ok = 1;
}

/* next is complete (or the supervisor is silent): make it the view, answer the waiters. */
static void
view_finish(void)
{
	struct view_waiter	 w[VIEW_WAITERS_MAX];
	void			(*rd)(void) = refresh_done;
	size_t			 i, n = nwaiters;
	int			 up = 1;

	event_del(timeout_ev);
	asked_id = 0;
	if (!next.supervised)
		view_self(&next);
	view_local(&next);
	if (next.supervised) {
		for (i = 0; i < DAEMON_COUNT; i++)
			if (next.daemon[i].state != PROTO_STATE_RUNNING)
				up = 0;
		up = up && next.sv_ok;
	}
	next.healthy = up && next.db_ok;
	next.taken_ms = mono_ms();
	next.taken_unix = time(NULL);
	view = next;
	/* A waiter's answer may free it: answer from a copy of the list. */
	memcpy(w, waiters, n * sizeof(w[0]));
	nwaiters = 0;
	refresh_done = NULL;
	for (i = 0; i < n; i++)
		w[i].done(w[i].req);
	if (rd != NULL)
		rd();
}

static void
view_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	log_warnx("the supervisor did not answer SV_STATUS within %d ms", VIEW_TIMEOUT_MS);
	next.sv_ok = 0;
	view_finish();
}

static void
view_answer_cb(evutil_socket_t fd, short ev, void *arg)
{
	view_finish();
}

/* Asks for a new view unless one is on its way. */
static void
view_ask(void)
{
	struct timeval	tv = { VIEW_TIMEOUT_MS / 1000, (VIEW_TIMEOUT_MS % 1000) * 1000 };
	struct timeval	zero = { 0, 0 };

	if (asked_id != 0)
		return;
	if (timeout_ev == NULL &&
	    ((timeout_ev = evtimer_new(apid->d.base, view_timeout_cb, NULL)) == NULL ||
	    (answer_ev = evtimer_new(apid->d.base, view_answer_cb, NULL)) == NULL))
		fatalx("health: timers");
	memset(&next, 0, sizeof(next));
	next.supervised = apid->d.control != NULL;
	asked_id = ++sv_seq ? sv_seq : ++sv_seq;
	if (!next.supervised) {
		/* Nothing to wait for; still answer from the loop, as documented. */
		evtimer_add(answer_ev, &zero);
		return;
	}
	ndaemons = 0;
	if (proto_send(apid->d.control, PROTO_SV_STATUS, asked_id, -1, NULL, 0) == -1) {
		log_warn("health: cannot ask the supervisor");
		evtimer_add(answer_ev, &zero);
		return;
	}
	evtimer_add(timeout_ev, &tv);
}

static int
view_fresh(void)
{
	return view.taken_ms != 0 && mono_ms() - view.taken_ms < VIEW_MAX_AGE_MS;
}

void
view_wait(struct http_request *req, void (*done)(struct http_request *))
{
	if (view_fresh() || nwaiters == VIEW_WAITERS_MAX) {
		done(req);
		return;
	}
	waiters[nwaiters].req = req;
	waiters[nwaiters].done = done;
	nwaiters++;
	view_ask();
}

void
view_forget(struct http_request *req)
{
	size_t i;

	for (i = 0; i < nwaiters; i++)
		if (waiters[i].req == req) {
			waiters[i] = waiters[--nwaiters];
			return;
		}
}

void
view_refresh(void (*done)(void))
{
	if (view_fresh()) {
		done();
		return;
	}
	refresh_done = done;
	view_ask();
}

int
view_message(struct proto_peer *peer, const struct proto_msg *msg, void *arg)
{
	struct proto_daemon_status	 d;
	enum daemon_id			 id;

	if (msg->hdr.type != PROTO_SV_DAEMON && msg->hdr.type != PROTO_SV_GC)
		return -1;
	if (asked_id == 0 || msg->hdr.id != asked_id)
		return 0;	/* the answer to a request that timed out */
	if (msg->hdr.type == PROTO_SV_DAEMON) {
		if (proto_daemon_status_dec(msg, &d) == 0 &&
		    (id = daemon_by_name(d.name)) != DAEMON_COUNT) {
			next.daemon[id] = d;
			ndaemons++;
		}
		return 0;
	}
	next.sv_ok = ndaemons == DAEMON_COUNT &&
	    proto_gc_counts_dec(msg, next.gc, &next.ngc) == 0;
	view_finish();
	return 0;
}

/* ---- GET /health --------------------------------------------------------------- */

static json_object *
jint(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static void
health_answer(struct http_request *req)
{
	const struct suite_view		*v = &view;
	const struct proto_daemon_status *d;
	json_object			*root, *daemons, *o;
	const char			*s;
	size_t				 len;
	int				 i;

	root = json_object_new_object();
	json_object_object_add(root, "status", json_object_new_string(v->healthy ? "ok" :
	    "degraded"));
	/* apid's own figures, as before the suite's were added. */
	json_object_object_add(root, "daemon", json_object_new_string("apid"));
	json_object_object_add(root, "pid", json_object_new_int((int)getpid()));
	json_object_object_add(root, "rss_kb", jint(daemon_rss_kb()));
	json_object_object_add(root, "uptime_s", jint((uint64_t)(time(NULL) - apid->started)));

	daemons = json_object_new_object();
	for (i = 0; i < DAEMON_COUNT; i++) {
		d = &v->daemon[i];
		if (v->supervised && !v->sv_ok)
			break;
		if (!v->supervised && i != DAEMON_APID)
			continue;
		o = json_object_new_object();
		json_object_object_add(o, "state", json_object_new_string(proto_state_name(d->state)));
		json_object_object_add(o, "pid", jint(d->pid));
		json_object_object_add(o, "rss_kb", jint(d->rss_kb));
		json_object_object_add(o, "restarts", jint(d->restarts));
		json_object_object_add(o, "oom_kills", jint(d->oom_kills));
		json_object_object_add(o, "memory_max", jint(d->memory_max));
		json_object_object_add(o, "uptime_s", jint(d->uptime_ms / 1000));
		json_object_object_add(daemons, daemon_name((enum daemon_id)i), o);
	}
	json_object_object_add(root, "daemons", daemons);

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(v->sv_ok));
	if (v->sv_ok)
		json_object_object_add(o, "pid", jint(v->daemon[DAEMON_APID].supervisor_pid));
	json_object_object_add(root, "supervisor", v->supervised ? o : NULL);
	if (!v->supervised)
		json_object_put(o);

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(v->db_ok));
	json_object_object_add(o, "bytes", jint(v->db_bytes));
	json_object_object_add(root, "db", o);

	o = json_object_new_object();
	json_object_object_add(o, "ok", json_object_new_boolean(v->media_ok));
	json_object_object_add(o, "bytes", v->media_ok ? jint(v->media.bytes) : NULL);
	json_object_object_add(o, "files", v->media_ok ? jint(v->media.files) : NULL);
	json_object_object_add(root, "media", o);

	o = json_object_new_object();
	json_object_object_add(o, "free_bytes", jint(v->disk_free));
	json_object_object_add(o, "total_bytes", jint(v->disk_total));
	json_object_object_add(root, "disk", o);

	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN, &len);
	http_add_header(req, "Cache-Control", "no-store");
	http_respond(req, v->healthy ? 200 : 503, "application/json", s, len);
	json_object_put(root);
}

static void
health_get(struct http_request *req)
{
	view_wait(req, health_answer);
}

static const struct http_route routes[] = {
	{ .path = "/health", .methods = HTTP_GET, .on_request = health_get,
	  .on_free = view_forget },
};

const struct apid_area health_area = { routes, sizeof(routes) / sizeof(routes[0]) };
