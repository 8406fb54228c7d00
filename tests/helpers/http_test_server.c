/*
 * http_test_server — common/http.c behind a few routes, for
 * tests/integration/test_http.py and bench/bench_http_body.py.
 *
 * It listens on 127.0.0.1 (port 0 unless --port, or --listen HOST:PORT or
 * [V6]:PORT through http_bind), prints "port N" on stdout once it accepts,
 * and drains and exits 0 on SIGTERM. Timeouts and limits are flags so that
 * tests can make them short. Every route's on_request counts a start, every
 * on_free a free: /stats shows both, to catch a lost on_free.
 *
 *	POST /md5	 body up to 300 MB, streamed into MD5: "<hex> <bytes>"
 *	POST /slowmd5	 the same, pausing the body for 1 ms after every piece
 *	POST /small	 body up to 1024 bytes, echoed
 *	POST /early	 401 before reading the body
 *	GET  /hello	 "hello", with X-Peer: the client's address
 *	GET  /file?PATH	 the file, by sendfile
 *	GET  /chunked?n=N&size=S  N chunks of S bytes ('a' + k % 26), with back-pressure
 *	GET  /async?ms=N "async" after N ms (a timer)
 *	GET  /echo-header?NAME  the first NAME header and how many there were
 *	GET  /double	 answers, then checks that a second answer is refused
 *	GET  /rss	 "hwm_kb=N rss_kb=N sanitized=0|1" from /proc/self/status
 *	GET  /stats	 the server's counters, and on_request/on_free calls
 *	GET, POST /prefix/...  "tail=<rest of path> query=<query>"
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "common/http.h"
#include "common/log.h"

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED	1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED	0	/* RSS figures mean something */
#endif

#define MAX_BIG		(300UL * 1024 * 1024)
#define CHUNK_HIGH	(64 * 1024)	/* stop queueing chunks above this */

struct ctx {
	EVP_MD_CTX		*md;
	uint64_t		 n;
	struct event		*ev;
	size_t			 remaining;	/* /chunked: chunks left */
	size_t			 size;
	unsigned		 seq;
	char			 small[1024];
};

static struct http_server	*srv;
static struct event_base	*base;
static uint64_t			 starts, frees;

static struct ctx *
ctx_new(struct http_request *req)
{
	struct ctx	*x;

	starts++;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		fatal("calloc");
	http_req_set_data(req, x);
	return x;
}

static void
t_free(struct http_request *req)
{
	struct ctx	*x = http_req_data(req);

	frees++;
	if (x == NULL)
		return;
	if (x->md != NULL)
		EVP_MD_CTX_free(x->md);
	if (x->ev != NULL)
		event_free(x->ev);
	free(x);
}

/* "key=value" from the query, or def. */
static long
query_num(struct http_request *req, const char *key, long def)
{
	const char	*q = http_req_query(req), *p;
	size_t		 n = strlen(key);

	for (p = q; p != NULL && *p != '\0'; p = strchr(p, '&') ? strchr(p, '&') + 1 : NULL)
		if (strncmp(p, key, n) == 0 && p[n] == '=')
			return strtol(p + n + 1, NULL, 10);
	return def;
}

/* ---- /md5, /slowmd5 ---------------------------------------------------------- */

static void
md5_request(struct http_request *req)
{
	struct ctx	*x = ctx_new(req);

	if ((x->md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(x->md, EVP_md5(), NULL) != 1)
		fatalx("md5 init");
}

static int
md5_body(struct http_request *req, const void *data, size_t len)
{
	struct ctx	*x = http_req_data(req);

	x->n += len;
	return EVP_DigestUpdate(x->md, data, len) == 1 ? 0 : -1;
}

static void
md5_complete(struct http_request *req)
{
	struct ctx	*x = http_req_data(req);
	unsigned char	 d[EVP_MAX_MD_SIZE];
	unsigned	 dlen, i;
	char		 out[2 * EVP_MAX_MD_SIZE + 32];
	int		 n = 0;

	EVP_DigestFinal_ex(x->md, d, &dlen);
	for (i = 0; i < dlen; i++)
		n += snprintf(out + n, sizeof(out) - (size_t)n, "%02x", d[i]);
	n += snprintf(out + n, sizeof(out) - (size_t)n, " %llu", (unsigned long long)x->n);
	http_respond(req, 200, "text/plain; charset=utf-8", out, (size_t)n);
}

static void
slow_resume(evutil_socket_t fd, short ev, void *arg)
{
	http_body_resume(arg);
}

static int
slow_body(struct http_request *req, const void *data, size_t len)
{
	struct ctx	*x = http_req_data(req);
	struct timeval	 tv = { 0, 1000 };

	if (md5_body(req, data, len) == -1)
		return -1;
	if (x->ev == NULL && (x->ev = evtimer_new(base, slow_resume, req)) == NULL)
		fatalx("evtimer_new");
	http_body_pause(req);
	evtimer_add(x->ev, &tv);
	return 0;
}

/* ---- /small, /early, /hello, /prefix ------------------------------------------ */

static void
plain_request(struct http_request *req)
{
	ctx_new(req);
}

static int
small_body(struct http_request *req, const void *data, size_t len)
{
	struct ctx	*x = http_req_data(req);

	if (x->n + len > sizeof(x->small))
		return -1;	/* the layer's limit should have stopped this */
	memcpy(x->small + x->n, data, len);
	x->n += len;
	return 0;
}

static void
small_complete(struct http_request *req)
{
	struct ctx	*x = http_req_data(req);

	http_respond(req, 200, "application/octet-stream", x->small, x->n);
}

static void
early_request(struct http_request *req)
{
	ctx_new(req);
	http_respond_text(req, 401, "no token");
}

static void
hello_request(struct http_request *req)
{
	ctx_new(req);
	http_add_header(req, "X-Test", "yes");
	http_add_header(req, "X-Peer", http_req_peer(req));
	http_respond_text(req, 200, "hello");
}

static void
prefix_complete(struct http_request *req)
{
	char	out[2048];
	int	n;

	n = snprintf(out, sizeof(out), "tail=%s query=%s", http_req_path_tail(req),
	    http_req_query(req));
	http_respond(req, 200, "text/plain", out, n < (int)sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

/* ---- /file, /chunked ---------------------------------------------------------- */

static void
file_request(struct http_request *req)
{
	struct stat	 st;
	int		 fd;

	ctx_new(req);
	if ((fd = open(http_req_query(req), O_RDONLY | O_CLOEXEC)) == -1) {
		http_respond(req, 404, NULL, NULL, 0);
		return;
	}
	if (fstat(fd, &st) == -1)
		fatal("fstat");
	http_respond_file(req, 200, "application/octet-stream", fd, 0, st.st_size);
}

static void
chunked_more(struct http_request *req)
{
	struct ctx	*x = http_req_data(req);
	char		 buf[65536];

	while (x->remaining > 0 && http_output_pending(req) < CHUNK_HIGH) {
		memset(buf, 'a' + (int)(x->seq % 26), x->size);
		if (http_respond_chunk(req, buf, x->size) == -1)
			fatalx("respond_chunk");
		x->seq++;
		x->remaining--;
	}
	if (x->remaining == 0)
		http_respond_end(req);
}

static void
chunked_request(struct http_request *req)
{
	struct ctx	*x = ctx_new(req);
	long		 size = query_num(req, "size", 1000);

	x->remaining = (size_t)query_num(req, "n", 100);
	x->size = size > 0 && size <= 65536 ? (size_t)size : 1000;
	http_respond_start(req, 200, "application/octet-stream");
	http_set_drain_cb(req, chunked_more, CHUNK_HIGH / 4);
}

/* ---- /async, /echo-header, /double, /rss, /stats ------------------------------ */

static void
async_fire(evutil_socket_t fd, short ev, void *arg)
{
	http_respond_text(arg, 200, "async");
}

static void
async_complete(struct http_request *req)
{
	struct ctx	*x = http_req_data(req);
	long		 ms = query_num(req, "ms", 100);
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	if ((x->ev = evtimer_new(base, async_fire, req)) == NULL)
		fatalx("evtimer_new");
	evtimer_add(x->ev, &tv);
}

static void
echo_request(struct http_request *req)
{
	const char	*name = http_req_query(req), *v;
	char		 out[20000];
	int		 n;

	ctx_new(req);
	v = http_req_header(req, name);
	n = snprintf(out, sizeof(out), "%s\n%d", v != NULL ? v : "(none)",
	    http_req_header_count(req, name));
	http_respond(req, 200, "application/octet-stream", out,
	    n < (int)sizeof(out) ? (size_t)n : sizeof(out) - 1);
}

static void
double_request(struct http_request *req)
{
	ctx_new(req);
	if (http_respond_text(req, 200, "first") != 0)
		fatalx("first answer refused");
	if (http_respond_text(req, 500, "second") != -1 ||
	    http_add_header(req, "X-Late", "1") != -1 ||
	    http_respond_chunk(req, "x", 1) != -1 || http_respond_end(req) != -1 ||
	    http_respond_file(req, 200, NULL, dup(0), 0, 1) != -1)
		fatalx("a second answer was taken");
}

static void
rss_request(struct http_request *req)
{
	char	 line[256], out[128];
	long	 hwm = -1, rss = -1;
	FILE	*f;
	int	 n;

	ctx_new(req);
	if ((f = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "VmHWM: %ld", &hwm);
			sscanf(line, "VmRSS: %ld", &rss);
		}
		fclose(f);
	}
	n = snprintf(out, sizeof(out), "hwm_kb=%ld rss_kb=%ld sanitized=%d", hwm, rss, SANITIZED);
	http_respond_text(req, 200, n > 0 ? out : "");
}

static void
stats_request(struct http_request *req)
{
	struct http_stats	 st;
	char			 out[512];

	ctx_new(req);
	http_server_stats(srv, &st);
	snprintf(out, sizeof(out),
	    "requests=%llu connections=%llu responses_5xx=%llu bytes_in=%llu bytes_out=%llu "
	    "starts=%llu frees=%llu", (unsigned long long)st.requests,
	    (unsigned long long)st.connections, (unsigned long long)st.responses_5xx,
	    (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
	    (unsigned long long)starts, (unsigned long long)frees);
	http_respond_text(req, 200, out);
}

static const struct http_route routes[] = {
	{ "/md5", HTTP_POST | HTTP_PUT, MAX_BIG, md5_request, md5_body, md5_complete, t_free, NULL },
	{ "/slowmd5", HTTP_POST, MAX_BIG, md5_request, slow_body, md5_complete, t_free, NULL },
	{ "/small", HTTP_POST, 1024, plain_request, small_body, small_complete, t_free, NULL },
	{ "/early", HTTP_POST, MAX_BIG, early_request, NULL, NULL, t_free, NULL },
	{ "/hello", HTTP_GET, 0, hello_request, NULL, NULL, t_free, NULL },
	{ "/file", HTTP_GET, 0, file_request, NULL, NULL, t_free, NULL },
	{ "/chunked", HTTP_GET, 0, chunked_request, NULL, NULL, t_free, NULL },
	{ "/async", HTTP_GET, 0, plain_request, NULL, async_complete, t_free, NULL },
	{ "/echo-header", HTTP_GET, 0, echo_request, NULL, NULL, t_free, NULL },
	{ "/double", HTTP_GET, 0, double_request, NULL, NULL, t_free, NULL },
	{ "/rss", HTTP_GET, 0, rss_request, NULL, NULL, t_free, NULL },
	{ "/stats", HTTP_GET, 0, stats_request, NULL, NULL, t_free, NULL },
	{ "/prefix/*", HTTP_GET | HTTP_POST, 1024, plain_request, NULL, prefix_complete, t_free, NULL },
};

static void
drained(void *arg)
{
	event_base_loopexit(base, NULL);
}

static void
on_signal(evutil_socket_t sig, short ev, void *arg)
{
	http_server_shutdown(srv, drained, NULL);
}

static void
usage(void)
{
	fprintf(stderr, "usage: http_test_server [--port N | --listen HOST:PORT] [--header-timeout MS] "
	    "[--body-timeout MS] [--idle-timeout MS] [--write-timeout MS] [--max-conn N] "
	    "[--max-header BYTES] [--read-chunk BYTES] [-v]\n");
	exit(2);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "listen", required_argument, NULL, 'l' },
		{ "header-timeout", required_argument, NULL, 'H' },
		{ "body-timeout", required_argument, NULL, 'B' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "write-timeout", required_argument, NULL, 'W' },
		{ "max-conn", required_argument, NULL, 'c' },
		{ "max-header", required_argument, NULL, 'm' },
		{ "read-chunk", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_server_conf	 conf;
	struct sockaddr_storage	 ss;
	socklen_t		 slen = sizeof(ss);
	const char		*where = NULL;
	struct event		*sterm, *sint;
	char			 addr[64];
	int			 ch, fd, port = 0, verbose = 0;

	memset(&conf, 0, sizeof(conf));
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': port = atoi(optarg); break;
		case 'l': where = optarg; break;
		case 'H': conf.header_timeout_ms = (unsigned)atoi(optarg); break;
		case 'B': conf.body_timeout_ms = (unsigned)atoi(optarg); break;
		case 'I': conf.idle_timeout_ms = (unsigned)atoi(optarg); break;
		case 'W': conf.write_timeout_ms = (unsigned)atoi(optarg); break;
		case 'c': conf.max_connections = (unsigned)atoi(optarg); break;
		case 'm': conf.max_header_bytes = (size_t)atol(optarg); break;
		case 'r': conf.read_chunk = (size_t)atol(optarg); break;
		case 'v': verbose = 1; break;
		default: usage();
		}
	}
	log_init("http_test_server", verbose);
	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if ((srv = http_server_new(base, routes, sizeof(routes) / sizeof(routes[0]), &conf)) == NULL)
		fatalx("http_server_new");
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	if (where == NULL)
		where = addr;
	if ((fd = http_bind(where)) == -1)
		fatalx("cannot listen on %s", where);
	if (getsockname(fd, (struct sockaddr *)&ss, &slen) == -1)
		fatal("getsockname");
	if (http_server_listen_fd(srv, fd) == -1)
		fatalx("http_server_listen_fd");
	sterm = evsignal_new(base, SIGTERM, on_signal, NULL);
	sint = evsignal_new(base, SIGINT, on_signal, NULL);
	if (sterm == NULL || sint == NULL || evsignal_add(sterm, NULL) == -1 ||
	    evsignal_add(sint, NULL) == -1)
		fatalx("signal events");

	printf("port %d\n", ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port));
	fflush(stdout);
	event_base_dispatch(base);

	http_server_free(srv);
	event_free(sterm);
	event_free(sint);
	event_base_free(base);
	libevent_global_shutdown();
	return 0;
}
