/*
 * health.c — GET /health: is apid up, and how big is it.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "apid/apid.h"
#include "common/http.h"

static void
health_get(struct http_request *req)
{
	char	body[256];
	int	n;

	n = snprintf(body, sizeof(body),
	    "{\"status\":\"ok\",\"daemon\":\"apid\",\"pid\":%d,\"rss_kb\":%llu,\"uptime_s\":%lld}",
	    (int)getpid(), (unsigned long long)daemon_rss_kb(),
	    (long long)(time(NULL) - apid->started));
	http_respond(req, 200, "application/json", body, (size_t)n);
}

static const struct http_route routes[] = {
	{ .path = "/health", .methods = HTTP_GET, .on_request = health_get },
};

const struct apid_area health_area = { routes, sizeof(routes) / sizeof(routes[0]) };
