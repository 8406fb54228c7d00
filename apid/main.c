/*
 * ankicollab-apid — the AnkiCollab plugin API.
 *
 * Reads top to bottom: config and the supervisor's listener (daemon_init),
 * the routes, the event loop.
 */
#include <time.h>

#include "apid/apid.h"
#include "common/http.h"

struct apid	*apid;

static const struct http_route routes[] = {
	{ "/health", HTTP_GET, 0, health_get, NULL, NULL, NULL },
};

int
main(int argc, char *argv[])
{
	static struct apid ctx;

	apid = &ctx;
	daemon_init(&apid->d, DAEMON_APID, argc, argv);
	apid->started = time(NULL);
	daemon_serve_http(&apid->d, routes, sizeof(routes) / sizeof(routes[0]));
	daemon_ready(&apid->d, NULL);
	return daemon_run(&apid->d);
}
