/*
 * ankicollab-apid — the AnkiCollab plugin API.
 *
 * Reads top to bottom: config and the supervisor's listener (daemon_init),
 * the database, the routes of every area, the event loop.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "apid/apid.h"
#include "apid/metrics.h"
#include "apid/shed.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"

struct apid	*apid;

static const struct apid_area *const areas[] = {
	&health_area,
	&metrics_area,
	&status_area,
	&accounts_area,
	&publish_area,
	&pull_area,
	&decks_area,
	&links_area,
	&stats_area,
	&legacy_area,
	&media_area,
	&svg_area,
	&suggest_area,
	&notify_area,
	&ui_area,
	&ui_review_area,
};

/* One table for the HTTP layer, joined from the areas' own. */
static struct http_route *
join_routes(size_t *count)
{
	struct http_route	*all;
	size_t			 i, n = 0;

	for (i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		n += areas[i]->nroutes;
	if ((all = calloc(n, sizeof(*all))) == NULL)
		fatal("calloc");
	for (i = 0, n = 0; i < sizeof(areas) / sizeof(areas[0]); i++) {
		if (areas[i]->nroutes == 0)
			continue;
		memcpy(all + n, areas[i]->routes, areas[i]->nroutes * sizeof(*all));
		n += areas[i]->nroutes;
	}
	*count = n;
	return all;
}

int
main(int argc, char *argv[])
{
	static struct apid	 ctx;
	struct daemon_hooks	 hooks = { .message = view_message };
	struct http_route	*routes;
	char			 path[CONFIG_PATH_MAX + 32];
	size_t			 nroutes;
	int			 status;

	apid = &ctx;
	umask(027);	/* the database holds password hashes */
	daemon_init(&apid->d, DAEMON_APID, argc, argv);
	apid->started = time(NULL);

	config_data_path(&apid->d.cfg, DB_FILE, path, sizeof(path));
	if ((apid->db = db_open(path, 0)) == NULL)
		fatalx("cannot open the database %s", path);

	shed_init(apid->d.base);
	routes = join_routes(&nroutes);
	metrics_init(daemon_serve_http(&apid->d, routes, nroutes), routes, nroutes);
	status_init();
	daemon_ready(&apid->d, &hooks);
	status = daemon_run(&apid->d);
	db_close(apid->db);
	free(routes);
	return status;
}
