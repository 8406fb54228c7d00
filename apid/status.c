/*
 * status.c — /ui/status, a page for admins: the figures of /health and
 * /metrics and small charts of the last hour, and /ui/status.json, which
 * the page's few lines of script fetch every STATUS_POLL_MS to replace its
 * figures and charts without reloading. Everything is inline (no external
 * assets); the charts are SVG drawn here.
 *
 * Public and read-only like /health: it shows the suite's health and sizes,
 * never a user's data.
 *
 * The charts come from a ring of STATUS_SAMPLES samples taken every
 * STATUS_SAMPLE_S (an hour), plus the current view as their last point.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <json-c/json.h>

#include "apid/apid.h"
#include "apid/ui.h"
#include "apid/metrics.h"
#include "common/http.h"
#include "common/log.h"

#define STATUS_SAMPLE_S		30
#define STATUS_SAMPLES		120		/* an hour */
#define STATUS_WINDOW_S		(STATUS_SAMPLE_S * STATUS_SAMPLES)
#define STATUS_POLL_MS		"10000"	/* the page asks for fresh figures */
#define CHART_W			560
#define CHART_H			140
#define CHART_PAD		34		/* left margin for the scale */
#define FIGURES_MAX		(8 + 5 * DAEMON_COUNT + PROTO_GC_JOBS_MAX)

struct sample {
	int64_t		t;			/* unix seconds */
	double		rss_mb[DAEMON_COUNT];
	uint64_t	requests;
	uint64_t	errors;
	double		media_mb;
	double		db_mb;
};

static struct sample	 ring[STATUS_SAMPLES];
static size_t		 nring, ring_at;	/* count, next slot */
static struct event	*sample_ev;

struct figure {
	char	key[32];
	char	label[48];
	char	value[96];
};

/* ---- sampling ------------------------------------------------------------------ */

static void
sample_of_view(struct sample *s)
{
	const struct suite_view	*v = view_get();
	int			 i;

	memset(s, 0, sizeof(*s));
	s->t = time(NULL);
	for (i = 0; i < DAEMON_COUNT; i++)
		s->rss_mb[i] = (double)v->daemon[i].rss_kb / 1024.0;
	metrics_totals(&s->requests, &s->errors);
	s->media_mb = v->media_ok ? (double)v->media.bytes / 1048576.0 : NAN;
	s->db_mb = (double)v->db_bytes / 1048576.0;
}

static void
sample_take(void)
{
	sample_of_view(&ring[ring_at]);
	ring_at = (ring_at + 1) % STATUS_SAMPLES;
	if (nring < STATUS_SAMPLES)
		nring++;
}

static void
sample_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct timeval tv = { STATUS_SAMPLE_S, 0 };

	evtimer_add(sample_ev, &tv);
	view_refresh(sample_take);
}

void
status_init(void)
{
	struct timeval tv = { 1, 0 };	/* the first once apid is READY */

	if ((sample_ev = evtimer_new(apid->d.base, sample_cb, NULL)) == NULL ||
	    evtimer_add(sample_ev, &tv) == -1)
		fatalx("status: timer");
}

/* The i-th sample, oldest first; i == nring is now. */
static const struct sample *
sample_at(size_t i, const struct sample *now)
{
	if (i >= nring)
		return now;
	return &ring[(ring_at + STATUS_SAMPLES - nring + i) % STATUS_SAMPLES];
}

/* ---- charts ---------------------------------------------------------------------- */

struct series {
	const char	*name;
	const char	*color;
	double		 v[STATUS_SAMPLES + 1];	/* NAN: no point */
};

static void
chart(struct evbuffer *b, const char *title, const char *unit, struct series *s, size_t ns,
    const struct sample *now)
{
	double		 max = 0, x, y;
	size_t		 i, k, n = nring + 1;
	int		 open;

	for (k = 0; k < ns; k++)
		for (i = 0; i < n; i++)
			if (!isnan(s[k].v[i]) && s[k].v[i] > max)
				max = s[k].v[i];
	max = max <= 0 ? 1 : max * 1.1;
	evbuffer_add_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\""
	    " height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\"><title>%s</title>"
	    "<rect x=\"%d\" y=\"4\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#ccc\"/>"
	    "<text x=\"2\" y=\"14\" font-size=\"10\">%.3g</text>"
	    "<text x=\"2\" y=\"%d\" font-size=\"10\">0</text>"
	    "<text x=\"%d\" y=\"%d\" font-size=\"10\">-60 min</text>"
	    "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\">now (%s)</text>",
	    CHART_W, CHART_H + 20, CHART_W, CHART_H + 20, title, CHART_PAD, CHART_W - CHART_PAD - 2,
	    CHART_H - 4, max, CHART_H, CHART_PAD, CHART_H + 14, CHART_W - 2, CHART_H + 14, unit);
	for (k = 0; k < ns; k++) {
		open = 0;
		for (i = 0; i < n; i++) {
			const struct sample *sm = sample_at(i, now);

			if (isnan(s[k].v[i]) || now->t - sm->t > STATUS_WINDOW_S)
				continue;
			x = CHART_PAD + (double)(CHART_W - CHART_PAD - 2) *
			    (1.0 - (double)(now->t - sm->t) / STATUS_WINDOW_S);
			y = 4 + (CHART_H - 4) * (1.0 - s[k].v[i] / max);
			if (!open)
				evbuffer_add_printf(b, "<polyline fill=\"none\" stroke=\"%s\""
				    " stroke-width=\"1.5\" points=\"", s[k].color);
			evbuffer_add_printf(b, "%s%.1f,%.1f", open ? " " : "", x, y);
			open = 1;
		}
		if (open)
			evbuffer_add_printf(b, "\"/>");
		evbuffer_add_printf(b, "<text x=\"%zu\" y=\"%d\" font-size=\"10\" fill=\"%s\">%s</text>",
		    (size_t)CHART_PAD + 80 + k * 90, CHART_H + 14, s[k].color, s[k].name);
	}
	evbuffer_add_printf(b, "</svg>");
}

static const char *const colors[] = { "#1f77b4", "#d62728", "#2ca02c" };

/* Each chart into its own buffer; *names are their ids. */
static void
charts(struct evbuffer *out[3], const struct sample *now)
{
	static struct series	 s[DAEMON_COUNT];
	const struct sample	*a, *p;
	struct sample		 start;
	size_t			 i, k, n = nring + 1;
	double			 dt;

	for (k = 0; k < DAEMON_COUNT; k++) {
		s[k].name = daemon_name((enum daemon_id)k);
		s[k].color = colors[k];
		for (i = 0; i < n; i++)
			s[k].v[i] = sample_at(i, now)->rss_mb[k];
	}
	chart(out[0], "Memory (RSS) of each daemon", "MB", s, DAEMON_COUNT, now);

	s[0].name = "requests";
	s[1].name = "5xx";
	s[0].color = colors[0];
	s[1].color = colors[1];
	/* The counters start at zero with apid: the base of the oldest point. */
	memset(&start, 0, sizeof(start));
	start.t = apid->started;
	for (i = 0; i < n; i++) {
		a = sample_at(i, now);
		p = i > 0 ? sample_at(i - 1, now) : &start;
		dt = (double)(a->t - p->t);
		s[0].v[i] = s[1].v[i] = NAN;
		if (dt > 0 && a->requests >= p->requests) {
			s[0].v[i] = (double)(a->requests - p->requests) * 60.0 / dt;
			s[1].v[i] = (double)(a->errors - p->errors) * 60.0 / dt;
		}
	}
	chart(out[1], "Requests per minute", "per min", s, 2, now);

	s[0].name = "media";
	s[1].name = "database";
	for (i = 0; i < n; i++) {
		s[0].v[i] = sample_at(i, now)->media_mb;
		s[1].v[i] = sample_at(i, now)->db_mb;
	}
	chart(out[2], "Storage", "MB", s, 2, now);
}

static const char *const chart_ids[3] = { "memory", "requests", "storage" };

/* ---- figures --------------------------------------------------------------------- */

static void
mb(char *out, size_t len, uint64_t bytes)
{
	if (bytes >= (1ull << 30))
		snprintf(out, len, "%.1f GB", (double)bytes / (1ull << 30));
	else
		snprintf(out, len, "%.1f MB", (double)bytes / (1ull << 20));
}

static size_t
figures(struct figure *f)
{
	const struct suite_view			*v = view_get();
	const struct proto_daemon_status	*d;
	uint64_t				 req, err;
	char					 a[32], b[32];
	size_t					 n = 0, i;
	int					 k;

#define FIG(k_, l_, ...) do {							\
	snprintf(f[n].key, sizeof(f[n].key), "%s", (k_));			\
	snprintf(f[n].label, sizeof(f[n].label), "%s", (l_));			\
	snprintf(f[n].value, sizeof(f[n].value), __VA_ARGS__);			\
	n++;									\
} while (0)
	FIG("status", "Status", "%s", v->healthy ? "ok" : "degraded");
	for (k = 0; k < DAEMON_COUNT; k++) {
		const char *name = daemon_name((enum daemon_id)k);

		d = &v->daemon[k];
		snprintf(a, sizeof(a), "%s-state", name);
		FIG(a, name, "%s", v->supervised && !v->sv_ok ? "unknown" :
		    proto_state_name(d->state));
		snprintf(a, sizeof(a), "%s-pid", name);
		FIG(a, "pid", "%u", d->pid);
		snprintf(a, sizeof(a), "%s-rss", name);
		mb(b, sizeof(b), d->rss_kb * 1024);
		FIG(a, "RSS", "%s", b);
		snprintf(a, sizeof(a), "%s-restarts", name);
		FIG(a, "restarts", "%u", d->restarts);
		snprintf(a, sizeof(a), "%s-oom", name);
		FIG(a, "OOM kills", "%u", d->oom_kills);
	}
	mb(a, sizeof(a), v->db_bytes);
	FIG("db", "Database", "%s, %s", v->db_ok ? "ok" : "not answering", a);
	mb(a, sizeof(a), v->media.bytes);
	if (v->media_ok)
		FIG("media", "Media", "%llu files, %s", (unsigned long long)v->media.files, a);
	else
		FIG("media", "Media", "mediad not answering");
	mb(a, sizeof(a), v->disk_free);
	mb(b, sizeof(b), v->disk_total);
	FIG("disk", "Disk (data_dir)", "%s free of %s", a, b);
	metrics_totals(&req, &err);
	FIG("requests", "Requests answered", "%llu", (unsigned long long)req);
	FIG("errors", "5xx answered", "%llu", (unsigned long long)err);
	for (i = 0; i < v->ngc; i++) {
		snprintf(a, sizeof(a), "gc-%s", v->gc[i].name);
		snprintf(b, sizeof(b), "gc %s", v->gc[i].name);
		FIG(a, b, "%llu removed in %llu runs (%llu failed)",
		    (unsigned long long)v->gc[i].removed, (unsigned long long)v->gc[i].runs,
		    (unsigned long long)v->gc[i].failures);
	}
	FIG("updated", "Updated", "%lld", (long long)v->taken_unix);
#undef FIG
	return n;
}

/* ---- the page and its JSON ------------------------------------------------------- */

/* The refresh script is its own resource, so the page's CSP allows no inline code. */
#define STATUS_CSP	"default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; " \
	"connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"

static const char page_script[] =
    "(function(){\n"
    " function tick(){\n"
    "  fetch('/ui/status.json',{cache:'no-store'}).then(function(r){return r.json();})"
    ".then(function(j){\n"
    "   var k,e;\n"
    "   for(k in j.figures){e=document.getElementById('f-'+k);if(e)e.textContent=j.figures[k];}\n"
    "   for(k in j.charts){e=document.getElementById('c-'+k);if(e)e.innerHTML=j.charts[k];}\n"
    "  }).catch(function(){});\n"
    " }\n"
    " setInterval(tick," STATUS_POLL_MS ");\n"
    "})();\n";

static void
status_page(struct http_request *req)
{
	struct figure	 f[FIGURES_MAX];
	struct evbuffer	*b, *c[3] = { NULL, NULL, NULL };
	struct sample	 now;
	size_t		 n, i;
	int		 k;

	if ((b = evbuffer_new()) == NULL)
		goto oom;
	for (k = 0; k < 3; k++)
		if ((c[k] = evbuffer_new()) == NULL)
			goto oom;
	n = figures(f);
	sample_of_view(&now);
	charts(c, &now);
	ui_page_begin(b, "Status", NULL);
	evbuffer_add_printf(b, "<h1>Status</h1>\n");
	evbuffer_add_printf(b, "<table><tr><th>Daemon</th><th>State</th><th>pid</th>"
	    "<th>RSS</th><th>Restarts</th><th>OOM kills</th></tr>\n");
	for (k = 0; k < DAEMON_COUNT; k++) {
		evbuffer_add_printf(b, "<tr><td>%s</td>", daemon_name((enum daemon_id)k));
		for (i = 1 + (size_t)k * 5; i < 1 + (size_t)k * 5 + 5; i++) {
			evbuffer_add_printf(b, "<td id=\"f-");
			ui_esc(b, f[i].key);
			evbuffer_add_printf(b, "\">");
			ui_esc(b, f[i].value);
			evbuffer_add_printf(b, "</td>");
		}
		evbuffer_add_printf(b, "</tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n<table>\n");
	for (i = 0; i < n; i++) {
		if (i >= 1 && i < 1 + DAEMON_COUNT * 5)
			continue;
		evbuffer_add_printf(b, "<tr><th>");
		ui_esc(b, f[i].label);
		evbuffer_add_printf(b, "</th><td id=\"f-");
		ui_esc(b, f[i].key);
		evbuffer_add_printf(b, "\">");
		ui_esc(b, f[i].value);
		evbuffer_add_printf(b, "</td></tr>\n");
	}
	evbuffer_add_printf(b, "</table>\n<h2>The last hour</h2>\n");
	for (k = 0; k < 3; k++) {
		evbuffer_add_printf(b, "<div class=\"chart\" id=\"c-%s\">", chart_ids[k]);
		evbuffer_add_buffer(b, c[k]);
		evbuffer_add_printf(b, "</div>\n");
	}
	evbuffer_add_printf(b, "<script src=\"/ui/status.js\"></script>\n");
	ui_page_end(b);
	for (k = 0; k < 3; k++)
		evbuffer_free(c[k]);
	ui_respond(req, 200, b, STATUS_CSP);	/* frees b */
	return;
oom:
	for (k = 0; k < 3; k++)
		if (c[k] != NULL)
			evbuffer_free(c[k]);
	if (b != NULL)
		evbuffer_free(b);
	http_respond_text(req, 503, "Out of memory");
}

static void
status_json(struct http_request *req)
{
	struct figure	 f[FIGURES_MAX];
	struct evbuffer	*c[3] = { NULL, NULL, NULL };
	struct sample	 now;
	json_object	*root, *o;
	const char	*s;
	size_t		 n, i, len;
	int		 k;

	for (k = 0; k < 3; k++)
		if ((c[k] = evbuffer_new()) == NULL) {
			while (k-- > 0)
				evbuffer_free(c[k]);
			http_respond_text(req, 503, "Out of memory");
			return;
		}
	n = figures(f);
	sample_of_view(&now);
	charts(c, &now);
	root = json_object_new_object();
	json_object_object_add(root, "healthy", json_object_new_boolean(view_get()->healthy));
	json_object_object_add(root, "samples", json_object_new_int((int)nring));
	o = json_object_new_object();
	for (i = 0; i < n; i++)
		json_object_object_add(o, f[i].key, json_object_new_string(f[i].value));
	json_object_object_add(root, "figures", o);
	o = json_object_new_object();
	for (k = 0; k < 3; k++) {
		json_object_object_add(o, chart_ids[k], json_object_new_string_len(
		    (const char *)evbuffer_pullup(c[k], -1), (int)evbuffer_get_length(c[k])));
		evbuffer_free(c[k]);
	}
	json_object_object_add(root, "charts", o);
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	http_add_header(req, "Cache-Control", "no-store");
	http_respond(req, 200, "application/json", s, len);
	json_object_put(root);
}

static void
status_script(struct http_request *req)
{
	http_add_header(req, "Cache-Control", "no-cache");
	http_respond(req, 200, "text/javascript; charset=utf-8", page_script,
	    sizeof(page_script) - 1);
}

static void
status_get(struct http_request *req)
{
	view_wait(req, status_page);
}

static void
status_json_get(struct http_request *req)
{
	view_wait(req, status_json);
}

static const struct http_route routes[] = {
	{ .path = "/ui/status", .methods = HTTP_GET, .on_request = status_get,
	  .on_free = view_forget },
	{ .path = "/ui/status.json", .methods = HTTP_GET, .on_request = status_json_get,
	  .on_free = view_forget },
	{ .path = "/ui/status.js", .methods = HTTP_GET, .on_request = status_script },
};

const struct apid_area status_area = { routes, sizeof(routes) / sizeof(routes[0]) };
