/*
 * ankicollab-mediad — media storage: /v1/media and /v1/cache.
 *
 * Reads top to bottom: config and the supervisor's listener (daemon_init),
 * the routes, the event loop.
 */
#include <time.h>

#include "common/http.h"
#include "mediad/mediad.h"

struct mediad	*mediad;

int
main(int argc, char *argv[])
{
	static struct mediad ctx;

	mediad = &ctx;
	daemon_init(&mediad->d, DAEMON_MEDIAD, argc, argv);
	mediad->started = time(NULL);
	daemon_serve_http(&mediad->d, &health_route, 1);
	daemon_ready(&mediad->d, NULL);
	return daemon_run(&mediad->d);
}
