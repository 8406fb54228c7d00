/*
 * apid.h — the plugin HTTP API daemon: its context and its route areas.
 *
 * Each area of the API is one file with its own route table; main.c joins
 * the tables. Route numbers are spec/api.md §0's.
 */
#ifndef ANKICOLLAB_APID_H
#define ANKICOLLAB_APID_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/daemon.h"

struct db;
struct http_request;
struct http_route;

struct apid {
	struct daemon	 d;
	struct db	*db;		/* the one writer connection */
	time_t		 started;
};

extern struct apid	*apid;

/* An area's routes. */
struct apid_area {
	const struct http_route	*routes;
	size_t			 nroutes;
};

struct apid_call;

/* accounts.c: ends the pair of that access token; answers as §6.20. */
void	accounts_logout(struct apid_call *call, const char *tok, size_t len);
/* accounts.c: ends that pair: 1, 0 if there was none, -1 on a DB fault. */
int	accounts_revoke(const char *tok, size_t len);
/* accounts.c: the live account of that (lower-cased) name: id and PHC string, 0, or -1. */
int64_t	accounts_find(const char *name, char *phc, size_t phclen);
/*
 * accounts.c: stores a fresh pair for user (inside the caller's
 * transaction); the buffers have TOKEN_ACCESS_LEN + 1 and
 * TOKEN_REFRESH_LEN + 1 bytes. Returns 0, or -1 after a logged fault.
 */
int	accounts_issue_pair(int64_t user, char *access, char *refresh, int64_t *expires_us);

extern const struct apid_area	health_area;	/* health.c: /health */
extern const struct apid_area	metrics_area;	/* metrics.c: /metrics */
extern const struct apid_area	status_area;	/* status.c: /ui/status, /ui/status.json */
extern const struct apid_area	accounts_area;	/* accounts.c: 19–23 */
extern const struct apid_area	publish_area;	/* publish.c: 2 */
extern const struct apid_area	pull_area;	/* pull.c: 1, 4, 7, 17 */
extern const struct apid_area	decks_area;	/* decks.c: 5, 6, 8, 18 */
extern const struct apid_area	links_area;	/* links.c: 9, 10 */
extern const struct apid_area	stats_area;	/* stats.c: 11 */
extern const struct apid_area	legacy_area;	/* legacy.c: §15 */
extern const struct apid_area	media_area;	/* media.c: 24–26, 28 */
extern const struct apid_area	svg_area;	/* svg.c: 27 */
extern const struct apid_area	suggest_area;	/* suggest.c: 3, 12 */
extern const struct apid_area	notify_area;	/* notify.c: 13–16 */
extern const struct apid_area	ui_area;	/* ui.c: /ui/login, /ui/logout */
extern const struct apid_area	ui_review_area;	/* ui_review.c: /ui/ review pages */

#endif
