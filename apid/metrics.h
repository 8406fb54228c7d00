/*
 * metrics.h — what apid shows of the suite: /health (health.c), /metrics
 * (metrics.c) and the status page /ui/status (status.c).
 *
 * The suite's view joins the supervisor's (each daemon's state, pid, RSS,
 * restarts and OOM kills, gcd's summed job reports; asked with SV_STATUS
 * over apid's control socket), the database's (a query answered, file
 * sizes), mediad's (MEDIA_USAGE) and the data disk's free space. It is
 * fetched at most once per VIEW_MAX_AGE_MS: a request that finds it older
 * asks for a fresh one and waits, without blocking the loop, for at most
 * VIEW_TIMEOUT_MS. So a burst of /health costs one round trip a second.
 *
 * Per-route counters come from the HTTP layer's on_done hook into a table
 * sized by the route table once at start: a path that no route matches
 * counts under one "unmatched" row, so no client can make it grow.
 */
#ifndef ANKICOLLAB_APID_METRICS_H
#define ANKICOLLAB_APID_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "proto/msg.h"

struct http_request;
struct http_route;
struct http_server;
struct proto_msg;
struct proto_peer;

#define VIEW_MAX_AGE_MS		1000
#define VIEW_TIMEOUT_MS		1000
#define VIEW_WAITERS_MAX	64	/* more are answered from the older view */

struct suite_view {
	int				 supervised;	/* 0: run alone (-d) */
	int				 sv_ok;		/* the supervisor answered */
	struct proto_daemon_status	 daemon[DAEMON_COUNT];
	struct proto_gc_count		 gc[PROTO_GC_JOBS_MAX];
	size_t				 ngc;
	int				 db_ok;		/* a query was answered */
	uint64_t			 db_bytes;	/* the file and its WAL */
	int				 media_ok;	/* mediad answered */
	struct proto_media_usage	 media;
	uint64_t			 disk_free;	/* bytes free for us in data_dir */
	uint64_t			 disk_total;
	int				 healthy;	/* every daemon running, DB answering */
	uint64_t			 taken_ms;	/* mono_ms() when made */
	int64_t				 taken_unix;	/* time(NULL) when made */
};

/* health.c */
/* The last view made (zeroed before the first). */
const struct suite_view	*view_get(void);
/*
 * done(req) once the view is fresh: now, or from the loop after the
 * supervisor answered or VIEW_TIMEOUT_MS passed. The route's on_free must
 * call view_forget(req).
 */
void	view_wait(struct http_request *req, void (*done)(struct http_request *));
void	view_forget(struct http_request *req);
/* Refresh without anyone waiting (status.c's sampler); done runs once fresh. */
void	view_refresh(void (*done)(void));
/* daemon_hooks.message: SV_DAEMON, SV_GC. 0 if ours, -1 if not. */
int	view_message(struct proto_peer *peer, const struct proto_msg *msg, void *arg);

/* metrics.c */
/* Counts every request of srv, by route (routes: srv's table of n). */
void	metrics_init(struct http_server *srv, const struct http_route *routes, size_t n);
/* Requests answered and 5xx answered since start, for the status page. */
void	metrics_totals(uint64_t *requests, uint64_t *errors_5xx);

/* status.c */
/* Starts sampling the view for the status page's charts. */
void	status_init(void);

#endif
