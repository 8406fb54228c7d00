/*
 * shed.h — refusing heavy work politely before apid falls over.
 *
 * A Pi serving a popular deck gets bursts. At most SHED_HEAVY_MAX heavy
 * requests (publishing, suggesting, stats uploads) run at once; up to
 * SHED_QUEUE_MAX more wait their turn with their bodies paused (the add-on
 * does not retry these routes, so waiting beats refusing). Beyond that, or
 * when the event loop lags (a 100 ms timer fired SHED_LAG_MS late recently)
 * or apid's RSS is past its memory_high, a heavy request gets 503 with
 * Retry-After while cheap ones keep being served.
 *
 * Full pulls (a fresh subscriber's whole deck, known only once the body is
 * read) are heavy too, but stream for as long as the client reads: at most
 * SHED_FULL_PULLS_MAX run at once, none waits (the add-on retries a 503 with
 * Retry-After), and they are refused on lag or memory like the others.
 */
#ifndef ANKICOLLAB_APID_SHED_H
#define ANKICOLLAB_APID_SHED_H

struct apid_call;
struct event_base;

#define SHED_HEAVY_MAX		2
#define SHED_QUEUE_MAX		4
#define SHED_LAG_MS		500
#define SHED_FULL_PULLS_MAX	8
#define SHED_RETRY_AFTER	"5"

/* Starts the lag probe. */
void	shed_init(struct event_base *base);
/* Whether a path is heavy work. */
int	shed_is_heavy(const char *path);
/* For a heavy call: 0 (running, or queued with its body paused), or -1 after answering 503. */
int	shed_admit(struct apid_call *call);
/* For a full pull, body read: 0 (running), or -1 after answering 503. */
int	shed_admit_now(struct apid_call *call);
/* The call is gone: uncount or unqueue it, and start the next in line. */
void	shed_release(struct apid_call *call);
/* Heavy requests running, waiting, and full pulls running now (for /metrics). */
void	shed_in_flight(unsigned *heavy, unsigned *waiting, unsigned *full_pulls);
/* Heavy requests refused since start (for /metrics). */
unsigned long long	shed_refused(void);

#endif
