/*
 * health.c — GET /health: is mediad up, and how big is it.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"
#include "mediad/mediad.h"

static void
health_get(struct http_request *req)
{
	char	body[256];
	int	n;

	n = snprintf(body, sizeof(body),
	    "{\"status\":\"ok\",\"daemon\":\"mediad\",\"pid\":%d,\"rss_kb\":%llu,\"uptime_s\":%lld}",
	    (int)getpid(), (unsigned long long)daemon_rss_kb(),
	    (long long)(time(NULL) - mediad->started));
	http_respond(req, 200, "application/json", body, (size_t)n);
}

const struct http_route health_route =
	{ .path = "/health", .methods = HTTP_GET, .on_request = health_get };
