/*
 * ankicollab-mediad — media storage: /v1/media and /v1/cache.
 *
 * Reads top to bottom: config and the supervisor's listener (daemon_init),
 * the storage (spool emptied, usage counted), the routes, the proto service
 * for apid and gcd, the event loop.
 */
#include <string.h>
#include <time.h>

#include "common/http.h"
#include "common/log.h"
#include "mediad/mediad.h"

/*
 * Replay-guard capacity per map (see guard.c for what happens when it is
 * full): 16384 tokens used within one token lifetime, at most 768 KiB.
 */
#define MEDIAD_GUARD_MAX	16384

struct mediad	*mediad;

int
main(int argc, char *argv[])
{
	static struct mediad	 ctx;
	static struct http_route routes[3];

	mediad = &ctx;
	daemon_init(&mediad->d, DAEMON_MEDIAD, argc, argv);
	mediad->started = time(NULL);
	/* §8.1: a short secret makes tokens guessable; refuse to start. */
	if (strlen(mediad->d.cfg.media_token_secret) < MEDIATOKEN_SECRET_MIN ||
	    strlen(mediad->d.cfg.cache_token_secret) < MEDIATOKEN_SECRET_MIN)
		fatalx("media_token_secret and cache_token_secret need %d bytes or more",
		    MEDIATOKEN_SECRET_MIN);
	store_init(&mediad->store, &mediad->d.cfg);
	guard_init(&mediad->media_guard, MEDIAD_GUARD_MAX);
	guard_init(&mediad->cache_guard, MEDIAD_GUARD_MAX);
	routes[0] = health_route;
	routes[1] = media_route;
	routes[2] = cache_route;
	daemon_serve_http(&mediad->d, routes, sizeof(routes) / sizeof(routes[0]));
	service_init(mediad);
	daemon_ready(&mediad->d, NULL);
	return daemon_run(&mediad->d);
}
