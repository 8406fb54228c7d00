/*
 * metrics.c — GET /metrics in the Prometheus text format (version 0.0.4),
 * and the per-route counters behind it.
 *
 * Routes are labelled by their pattern (/media/missing/ and a star), never by the
 * path asked, and the table is the route table's size plus one row for
 * paths no route matched: a client cannot make it grow.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "apid/apid.h"
#include "apid/metrics.h"
#include "apid/shed.h"
#include "common/http.h"
#include "common/log.h"

/* Upper bounds of the latency buckets, in µs; +Inf is implied. */
static const uint64_t bucket_us[] = {
	1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,
	5000000, 10000000,
};
#define NBUCKETS	(sizeof(bucket_us) / sizeof(bucket_us[0]))
#define STATUS_MAX	600

struct route_count {
	uint64_t	requests;
	uint64_t	le[NBUCKETS];	/* in each bucket alone; summed on output */
	uint64_t	sum_us;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
};

static const struct http_route	*table;
static size_t			 ntable;
static struct route_count	*counts;	/* ntable + 1: the last is "unmatched" */
static uint64_t			 by_status[STATUS_MAX];
static uint64_t			 total, total_5xx;
static struct http_server	*server;

static void
metrics_done(const struct http_done *d, void *arg)
{
	struct route_count	*rc = &counts[ntable];
	size_t			 i;

	if (d->route != NULL && d->route >= table && d->route < table + ntable)
		rc = &counts[d->route - table];
	rc->requests++;
	rc->sum_us += d->usec;
	rc->bytes_in += d->bytes_in;
	rc->bytes_out += d->bytes_out;
	for (i = 0; i < NBUCKETS; i++)
		if (d->usec <= bucket_us[i]) {
			rc->le[i]++;
			break;
		}
	if (d->status > 0 && d->status < STATUS_MAX)
		by_status[d->status]++;
	total++;
	if (d->status >= 500)
		total_5xx++;
}

void
metrics_init(struct http_server *srv, const struct http_route *routes, size_t n)
{
	if ((counts = calloc(n + 1, sizeof(*counts))) == NULL)
		fatal("metrics: calloc");
	table = routes;
	ntable = n;
	server = srv;
	http_server_on_done(srv, metrics_done, NULL);
}

void
metrics_totals(uint64_t *requests, uint64_t *errors_5xx)
{
	*requests = total;
	*errors_5xx = total_5xx;
}

/* ---- the text format ----------------------------------------------------------- */

static const char *
method_label(unsigned methods)
{
	static const struct {
		unsigned	 bit;
		const char	*name;
	} names[] = {
		{ HTTP_GET, "GET" }, { HTTP_POST, "POST" }, { HTTP_PUT, "PUT" },
		{ HTTP_DELETE, "DELETE" }, { HTTP_PATCH, "PATCH" }, { HTTP_OPTIONS, "OPTIONS" },
		{ HTTP_HEAD, "HEAD" },
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (methods & names[i].bit)
			return names[i].name;
	return "";
}

/* route="…",method="…" for row i; our own patterns, escaped all the same. */
static void
route_labels(size_t i, char *out, size_t outlen)
{
	const char	*p = i < ntable ? table[i].path : "unmatched";
	size_t		 n = 0;

	n += (size_t)snprintf(out, outlen, "route=\"");
	for (; *p != '\0' && n + 3 < outlen; p++) {
		if (*p == '\\' || *p == '"')
			out[n++] = '\\';
		out[n++] = *p == '\n' ? ' ' : *p;
	}
	snprintf(out + n, outlen - n, "\",method=\"%s\"",
	    i < ntable ? method_label(table[i].methods) : "");
}

static void
family(struct evbuffer *b, const char *name, const char *type, const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
per_daemon(struct evbuffer *b, const struct suite_view *v, const char *name, const char *type,
    const char *help, int what)
{
	const struct proto_daemon_status	*d;
	uint64_t				 x = 0;
	int					 i;

	family(b, name, type, help);
	for (i = 0; i < DAEMON_COUNT; i++) {
		d = &v->daemon[i];
		if (!v->supervised && i != DAEMON_APID)
			continue;
		switch (what) {
		case 0:
			x = d->state == PROTO_STATE_RUNNING;
			break;
		case 1:
			x = d->rss_kb * 1024;
			break;
		case 2:
			x = d->restarts;
			break;
		case 3:
			x = d->oom_kills;
			break;
		default:
			x = d->memory_max;
			break;
		}
		evbuffer_add_printf(b, "%s{daemon=\"%s\"} %llu\n", name,
		    daemon_name((enum daemon_id)i), (unsigned long long)x);
	}
}

static void
http_families(struct evbuffer *b)
{
	struct http_stats	 hs;
	unsigned		 heavy, waiting, pulls;
	char			 lab[160];
	uint64_t		 cum;
	size_t			 i, k;

	family(b, "ankicollab_http_requests_total", "counter",
	    "Requests apid finished, by route pattern.");
	for (i = 0; i <= ntable; i++) {
		route_labels(i, lab, sizeof(lab));
		evbuffer_add_printf(b, "ankicollab_http_requests_total{%s} %llu\n", lab,
		    (unsigned long long)counts[i].requests);
	}
	family(b, "ankicollab_http_request_duration_seconds", "histogram",
	    "From a request's headers to its whole answer queued, by route pattern.");
	for (i = 0; i <= ntable; i++) {
		route_labels(i, lab, sizeof(lab));
		for (k = 0, cum = 0; k < NBUCKETS; k++) {
			cum += counts[i].le[k];
			evbuffer_add_printf(b, "ankicollab_http_request_duration_seconds_bucket"
			    "{%s,le=\"%g\"} %llu\n", lab, (double)bucket_us[k] / 1e6,
			    (unsigned long long)cum);
		}
		evbuffer_add_printf(b, "ankicollab_http_request_duration_seconds_bucket"
		    "{%s,le=\"+Inf\"} %llu\n", lab, (unsigned long long)counts[i].requests);
		evbuffer_add_printf(b, "ankicollab_http_request_duration_seconds_sum{%s} %.6f\n",
		    lab, (double)counts[i].sum_us / 1e6);
		evbuffer_add_printf(b, "ankicollab_http_request_duration_seconds_count{%s} %llu\n",
		    lab, (unsigned long long)counts[i].requests);
	}
	family(b, "ankicollab_http_received_bytes_total", "counter",
	    "Request bytes (head and body) read, by route pattern.");
	for (i = 0; i <= ntable; i++) {
		route_labels(i, lab, sizeof(lab));
		evbuffer_add_printf(b, "ankicollab_http_received_bytes_total{%s} %llu\n", lab,
		    (unsigned long long)counts[i].bytes_in);
	}
	family(b, "ankicollab_http_sent_bytes_total", "counter",
	    "Answer bytes (status line, headers, body) queued, by route pattern.");
	for (i = 0; i <= ntable; i++) {
		route_labels(i, lab, sizeof(lab));
		evbuffer_add_printf(b, "ankicollab_http_sent_bytes_total{%s} %llu\n", lab,
		    (unsigned long long)counts[i].bytes_out);
	}
	family(b, "ankicollab_http_responses_total", "counter", "Answers by status code.");
	for (i = 0; i < STATUS_MAX; i++)
		if (by_status[i] != 0)
			evbuffer_add_printf(b, "ankicollab_http_responses_total{code=\"%zu\"} %llu\n",
			    i, (unsigned long long)by_status[i]);
	http_server_stats(server, &hs);
	family(b, "ankicollab_http_connections", "gauge", "Connections open to apid.");
	evbuffer_add_printf(b, "ankicollab_http_connections %llu\n",
	    (unsigned long long)hs.connections);
	family(b, "ankicollab_shed_refused_total", "counter",
	    "Heavy requests refused with 503 to shed load.");
	evbuffer_add_printf(b, "ankicollab_shed_refused_total %llu\n", shed_refused());
	shed_in_flight(&heavy, &waiting, &pulls);
	family(b, "ankicollab_heavy_requests", "gauge",
	    "Heavy requests now: running, waiting their turn, full pulls streaming.");
	evbuffer_add_printf(b, "ankicollab_heavy_requests{state=\"running\"} %u\n"
	    "ankicollab_heavy_requests{state=\"waiting\"} %u\n"
	    "ankicollab_heavy_requests{state=\"full_pull\"} %u\n", heavy, waiting, pulls);
}

static void
suite_families(struct evbuffer *b, const struct suite_view *v)
{
	size_t i;

	family(b, "ankicollab_supervisor_up", "gauge", "The supervisor answered apid.");
	evbuffer_add_printf(b, "ankicollab_supervisor_up %d\n", v->sv_ok);
	if (!v->supervised || v->sv_ok) {
		per_daemon(b, v, "ankicollab_daemon_up", "gauge", "The daemon is running.", 0);
		per_daemon(b, v, "ankicollab_daemon_rss_bytes", "gauge", "Resident set size.", 1);
		per_daemon(b, v, "ankicollab_daemon_restarts_total", "counter",
		    "Restarts after deaths since the supervisor started.", 2);
		per_daemon(b, v, "ankicollab_daemon_oom_kills_total", "counter",
		    "Kills for going over memory_max.", 3);
		per_daemon(b, v, "ankicollab_daemon_memory_max_bytes", "gauge",
		    "The memory limit (0: none).", 4);
	}
	family(b, "ankicollab_gc_runs_total", "counter", "Runs of each gcd job.");
	for (i = 0; i < v->ngc; i++)
		evbuffer_add_printf(b, "ankicollab_gc_runs_total{job=\"%s\"} %llu\n",
		    v->gc[i].name, (unsigned long long)v->gc[i].runs);
	family(b, "ankicollab_gc_failures_total", "counter", "Failed runs of each gcd job.");
	for (i = 0; i < v->ngc; i++)
		evbuffer_add_printf(b, "ankicollab_gc_failures_total{job=\"%s\"} %llu\n",
		    v->gc[i].name, (unsigned long long)v->gc[i].failures);
	family(b, "ankicollab_gc_removed_total", "counter",
	    "Rows (or files) each gcd job removed.");
	for (i = 0; i < v->ngc; i++)
		evbuffer_add_printf(b, "ankicollab_gc_removed_total{job=\"%s\"} %llu\n",
		    v->gc[i].name, (unsigned long long)v->gc[i].removed);
	family(b, "ankicollab_db_up", "gauge", "The database answered a query.");
	evbuffer_add_printf(b, "ankicollab_db_up %d\n", v->db_ok);
	family(b, "ankicollab_db_size_bytes", "gauge", "The database file and its WAL.");
	evbuffer_add_printf(b, "ankicollab_db_size_bytes %llu\n",
	    (unsigned long long)v->db_bytes);
	family(b, "ankicollab_media_up", "gauge", "mediad answered apid.");
	evbuffer_add_printf(b, "ankicollab_media_up %d\n", v->media_ok);
	if (v->media_ok) {
		family(b, "ankicollab_media_size_bytes", "gauge", "Media stored.");
		evbuffer_add_printf(b, "ankicollab_media_size_bytes %llu\n",
		    (unsigned long long)v->media.bytes);
		family(b, "ankicollab_media_files", "gauge", "Media files stored.");
		evbuffer_add_printf(b, "ankicollab_media_files %llu\n",
		    (unsigned long long)v->media.files);
		family(b, "ankicollab_media_uploads_total", "counter",
		    "Uploads mediad stored (since it started).");
		evbuffer_add_printf(b, "ankicollab_media_uploads_total %llu\n",
		    (unsigned long long)v->media.uploads);
		family(b, "ankicollab_media_downloads_total", "counter",
		    "Downloads mediad served (since it started).");
		evbuffer_add_printf(b, "ankicollab_media_downloads_total %llu\n",
		    (unsigned long long)v->media.downloads);
	}
	family(b, "ankicollab_disk_free_bytes", "gauge", "Space free in data_dir.");
	evbuffer_add_printf(b, "ankicollab_disk_free_bytes %llu\n",
	    (unsigned long long)v->disk_free);
	family(b, "ankicollab_disk_total_bytes", "gauge", "Size of data_dir's file system.");
	evbuffer_add_printf(b, "ankicollab_disk_total_bytes %llu\n",
	    (unsigned long long)v->disk_total);
}

static void
metrics_answer(struct http_request *req)
{
	struct evbuffer	*b;
	size_t		 len;

	if ((b = evbuffer_new()) == NULL) {
		http_respond_text(req, 503, "Out of memory");
		return;
	}
	http_families(b);
	suite_families(b, view_get());
	len = evbuffer_get_length(b);
	http_add_header(req, "Cache-Control", "no-store");
	http_respond(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    evbuffer_pullup(b, -1), len);
	evbuffer_free(b);
}

static void
metrics_get(struct http_request *req)
{
	view_wait(req, metrics_answer);
}

static const struct http_route routes[] = {
	{ .path = "/metrics", .methods = HTTP_GET, .on_request = metrics_get,
	  .on_free = view_forget },
};

const struct apid_area metrics_area = { routes, sizeof(routes) / sizeof(routes[0]) };
