/*
 * fuzz_http.c — libFuzzer target for the HTTP layer's connection code.
 *
 * Each input is one client connection: a socketpair whose one end the server
 * adopts (http_server_adopt, as after accept) and whose other end gets the
 * input, in pieces with event-loop turns between them, then EOF. The first
 * two bytes pick the read chunk, header limit and piece size, so that
 * requests split everywhere. Routes stream bodies, pause and resume them,
 * answer early, later, chunked and from a file. A fresh server per input is
 * freed at the end, so leaks show. The server must never answer 5xx.
 */
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/http_internal.h"
#include "common/log.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct fctx {
	struct event	*ev;
	uint64_t	 sum;
	int		 left;	/* /chunked: chunks to go */
};

static struct event_base	*base;
static int			 file_fd = -1;

static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static struct fctx *
fctx(struct http_request *req)
{
	struct fctx	*x = http_req_data(req);

	if (x == NULL) {
		fuzz_check((x = calloc(1, sizeof(*x))) != NULL);
		http_req_set_data(req, x);
	}
	return x;
}

static void
f_free(struct http_request *req)
{
	struct fctx	*x = http_req_data(req);

	if (x != NULL) {
		if (x->ev != NULL)
			event_free(x->ev);
		free(x);
	}
}

static void
f_start(struct http_request *req)
{
	fctx(req);
	/* Every accessor on whatever the parser let through. */
	fuzz_check(http_req_path(req)[0] == '/');
	(void)http_req_query(req);
	(void)http_req_path_tail(req);
	(void)http_req_header(req, "host");
	(void)http_req_header_count(req, "x");
	(void)http_req_peer(req);
	(void)http_req_content_length(req);
	(void)http_req_method_name(req);
}

static int
f_body(struct http_request *req, const void *data, size_t len)
{
	const unsigned char	*p = data;
	struct fctx		*x = fctx(req);
	size_t			 i;

	for (i = 0; i < len; i++)
		x->sum += p[i];
	return len > 0 && p[0] == '!' ? -1 : 0;	/* a handler that gives up */
}

static void
f_complete(struct http_request *req)
{
	char	out[32];
	int	n = snprintf(out, sizeof(out), "%llu", (unsigned long long)fctx(req)->sum);

	http_respond(req, 200, "text/plain", out, (size_t)n);
}

/* The body was refused: answer as a handler would. */
static int
f_body_or_refuse(struct http_request *req, const void *data, size_t len)
{
	if (f_body(req, data, len) == -1) {
		http_respond_text(req, 400, "refused");
		return -1;
	}
	return 0;
}

static void
f_resume(evutil_socket_t fd, short ev, void *arg)
{
	http_body_resume(arg);
}

static int
f_pause_body(struct http_request *req, const void *data, size_t len)
{
	struct fctx	*x = fctx(req);

	if (f_body_or_refuse(req, data, len) == -1)
		return -1;
	if (x->ev == NULL)
		fuzz_check((x->ev = event_new(base, -1, 0, f_resume, req)) != NULL);
	http_body_pause(req);
	event_active(x->ev, EV_TIMEOUT, 1);
	return 0;
}

static void
f_early(struct http_request *req)
{
	f_start(req);
	http_add_header(req, "WWW-Authenticate", "Bearer");
	http_respond_text(req, 401, "no");
}

static void
f_later_fire(evutil_socket_t fd, short ev, void *arg)
{
	http_respond_text(arg, 200, "later");
}

static void
f_later(struct http_request *req)
{
	struct fctx	*x = fctx(req);

	fuzz_check((x->ev = event_new(base, -1, 0, f_later_fire, req)) != NULL);
	event_active(x->ev, EV_TIMEOUT, 1);
}

static void
f_chunk_more(struct http_request *req)
{
	struct fctx	*x = fctx(req);

	while (x->left > 0 && http_output_pending(req) < 256) {
		fuzz_check(http_respond_chunk(req, "abcdefgh", 8) == 0);
		x->left--;
	}
	if (x->left == 0)
		fuzz_check(http_respond_end(req) == 0);
}

static void
f_chunked(struct http_request *req)
{
	f_start(req);
	fctx(req)->left = 40;
	if (http_respond_start(req, 200, NULL) == 0)
		http_set_drain_cb(req, f_chunk_more, 64);
}

static void
f_file(struct http_request *req)
{
	f_start(req);
	http_respond_file(req, 200, NULL, dup(file_fd), 0, 100);
	fuzz_check(http_respond_text(req, 200, "again") == -1);
}

static const struct http_route routes[] = {
	{ "/sum", HTTP_POST | HTTP_PUT, 1 << 20, f_start, f_body_or_refuse, f_complete, f_free, NULL },
	{ "/small", HTTP_POST, 64, f_start, f_body, f_complete, f_free, NULL },
	{ "/pause", HTTP_POST, 1 << 20, f_start, f_pause_body, f_complete, f_free, NULL },
	{ "/early", HTTP_POST | HTTP_GET, 1 << 20, f_early, f_body, f_complete, f_free, NULL },
	{ "/later", HTTP_GET | HTTP_DELETE, 0, f_start, NULL, f_later, f_free, NULL },
	{ "/chunked", HTTP_GET, 0, f_chunked, NULL, NULL, f_free, NULL },
	{ "/file", HTTP_GET, 0, f_file, NULL, NULL, f_free, NULL },
	{ "/p/*", HTTP_GET | HTTP_POST | HTTP_OPTIONS | HTTP_PATCH, 128, f_start, f_body,
	    f_complete, f_free, NULL },
};

static void
fuzz_init(void)
{
	char	data[100];

	log_init("fuzz_http", 0);
	fuzz_check((base = event_base_new()) != NULL);
	fuzz_check((file_fd = memfd_create("fuzz_http", 0)) != -1);
	memset(data, 'f', sizeof(data));
	fuzz_check(write(file_fd, data, sizeof(data)) == (ssize_t)sizeof(data));
}

/* Reads what the server wrote, keeping the first part for the checks. */
static void
fuzz_read(int fd, char *out, size_t *outlen, size_t outsize)
{
	char	buf[8192];
	ssize_t	n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		if (*outlen < outsize) {
			size_t k = (size_t)n < outsize - *outlen ? (size_t)n : outsize - *outlen;

			memcpy(out + *outlen, buf, k);
			*outlen += k;
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_server_conf	 conf;
	struct http_server	*srv;
	struct http_stats	 st;
	static char		 out[65536];
	size_t			 outlen = 0, off, piece;
	int			 sv[2], i, stalled;

	if (size < 2)
		return 0;
	if (base == NULL)
		fuzz_init();
	memset(&conf, 0, sizeof(conf));
	conf.read_chunk = 16 + (size_t)(data[0] & 0x3f) * 64;
	conf.max_header_bytes = 64 + (size_t)(data[1] & 0x0f) * 128;
	piece = 1 + (size_t)(data[1] >> 4) * 97;
	data += 2;
	size -= 2;

	fuzz_check((srv = http_server_new(base, routes, sizeof(routes) / sizeof(routes[0]),
	    &conf)) != NULL);
	fuzz_check(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	fuzz_check(http_server_adopt(srv, sv[0], NULL, 0) == 0);

	/* A server that stops reading (a paused body, a full buffer) ends the input. */
	for (off = 0, stalled = 0; off < size && stalled < 8; ) {
		ssize_t n = write(sv[1], data + off, size - off < piece ? size - off : piece);

		if (n > 0) {
			off += (size_t)n;
			stalled = 0;
		} else if (n == -1 && errno == EAGAIN)
			stalled++;
		else
			break;
		event_base_loop(base, EVLOOP_NONBLOCK);
		fuzz_read(sv[1], out, &outlen, sizeof(out));
	}
	shutdown(sv[1], SHUT_WR);
	for (i = 0; i < 64; i++) {
		http_server_stats(srv, &st);
		if (st.connections == 0)
			break;
		event_base_loop(base, EVLOOP_NONBLOCK);
		fuzz_read(sv[1], out, &outlen, sizeof(out));
	}
	http_server_stats(srv, &st);
	fuzz_check(st.responses_5xx == 0);
	fuzz_check(outlen == 0 || (outlen >= 9 && memcmp(out, "HTTP/1.1 ", 9) == 0));
	fuzz_check(memmem(out, outlen, "HTTP/1.1 5", 10) == NULL);

	http_server_free(srv);
	close(sv[1]);
	/* Events of freed requests must be gone with them. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	return 0;
}
