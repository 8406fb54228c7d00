/*
 * shed.c — load shedding for heavy routes.
 */
#include <sys/queue.h>

#include <malloc.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/shed.h"
#include "common/clock.h"
#include "common/http.h"
#include "common/log.h"

#define PROBE_MS	100
#define LAG_MEMORY_MS	2000	/* a late tick counts for this long */

#define ADMITTED_HEAVY	1	/* call->admitted: a heavy slot */
#define ADMITTED_PULL	2	/* ... a full pull's */

static unsigned			 in_flight, queued, pulls;
static TAILQ_HEAD(, apid_call)	 queue = TAILQ_HEAD_INITIALIZER(queue);
static unsigned long long	 refused;
static struct event		*probe;
static uint64_t			 probe_due_ms, lagged_until_ms;

/* A tick that comes late means the loop was busy that long. */
static void
probe_cb(evutil_socket_t fd, short ev, void *arg)
{
	uint64_t now = mono_ms();

	if (now > probe_due_ms + SHED_LAG_MS)
		lagged_until_ms = now + LAG_MEMORY_MS;
	probe_due_ms = now + PROBE_MS;
}

void
shed_init(struct event_base *base)
{
	struct timeval tv = { 0, PROBE_MS * 1000 };

	if ((probe = event_new(base, -1, EV_PERSIST, probe_cb, NULL)) == NULL ||
	    event_add(probe, &tv) == -1)
		fatalx("shed: timer");
	probe_due_ms = mono_ms() + PROBE_MS;
}

int
shed_is_heavy(const char *path)
{
	return strcmp(path, "/createDeck") == 0 || strcmp(path, "/submitCard") == 0 ||
	    strcmp(path, "/UploadDeckStats") == 0;
}

/* Why to refuse now, or NULL. */
static const char *
shed_reason(int pull)
{
	uint64_t high = apid->d.cfg.daemon[DAEMON_APID].memory_high;

	if (!pull && in_flight >= SHED_HEAVY_MAX && queued >= SHED_QUEUE_MAX)
		return "too many heavy requests in flight and waiting";
	if (pull && pulls >= SHED_FULL_PULLS_MAX)
		return "too many full pulls in flight";
	if (mono_ms() < lagged_until_ms)
		return "the event loop is lagging";
	if (high != 0 && daemon_rss_kb() * 1024 > high)
		return "near the memory limit";
	return NULL;
}

static void
shed_refuse(struct apid_call *call, const char *why)
{
	refused++;
	log_info("shed: %s refused: %s", http_req_path(call->req), why);
	http_add_header(call->req, "Retry-After", SHED_RETRY_AFTER);
	call_text(call, 503, "Server busy, please retry");
}

int
shed_admit(struct apid_call *call)
{
	const char *why = shed_reason(0);

	if (why != NULL) {
		shed_refuse(call, why);
		return -1;
	}
	if (in_flight < SHED_HEAVY_MAX) {
		in_flight++;
		call->admitted = ADMITTED_HEAVY;
		return 0;
	}
	http_body_pause(call->req);
	TAILQ_INSERT_TAIL(&queue, call, shed_entry);
	call->queued = 1;
	queued++;
	return 0;
}

int
shed_admit_now(struct apid_call *call)
{
	const char *why = shed_reason(1);

	if (why != NULL) {
		shed_refuse(call, why);
		return -1;
	}
	pulls++;
	call->admitted = ADMITTED_PULL;
	return 0;
}

/*
 * A publish or a full pull leaves glibc's heap at its peak; give the free
 * pages back once the last heavy request is gone, so a Pi gets them.
 */
static void
heap_trim_when_idle(void)
{
	if (in_flight == 0 && queued == 0 && pulls == 0)
		malloc_trim(0);
}

void
shed_release(struct apid_call *call)
{
	struct apid_call *next;

	if (call->queued) {
		TAILQ_REMOVE(&queue, call, shed_entry);
		call->queued = 0;
		queued--;
	}
	if (call->admitted == ADMITTED_PULL)
		pulls--;
	if (call->admitted != ADMITTED_HEAVY) {
		if (call->admitted == ADMITTED_PULL)
			heap_trim_when_idle();
		call->admitted = 0;
		return;
	}
	call->admitted = 0;
	in_flight--;
	if ((next = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, next, shed_entry);
		next->queued = 0;
		queued--;
		next->admitted = ADMITTED_HEAVY;
		in_flight++;
		http_body_resume(next->req);
	}
	heap_trim_when_idle();
}

void
shed_in_flight(unsigned *heavy, unsigned *waiting, unsigned *full_pulls)
{
	*heavy = in_flight;
	*waiting = queued;
	*full_pulls = pulls;
}

unsigned long long
shed_refused(void)
{
	return refused;
}
