/*
 * http_resp.c — what a handler reads of a request and how it answers.
 *
 * Answers go straight into the connection's output buffer; nothing here
 * calls back into a handler (the connection is kicked to move on from the
 * event loop), so every function is safe inside any handler callback.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "common/clock.h"
#include "common/http_internal.h"
#include "common/log.h"

static const struct {
	int		 status;
	const char	*text;
} http_statuses[] = {
	{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" }, { 206, "Partial Content" }, { 301, "Moved Permanently" },
	{ 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
	{ 307, "Temporary Redirect" }, { 308, "Permanent Redirect" }, { 400, "Bad Request" },
	{ 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
	{ 405, "Method Not Allowed" }, { 406, "Not Acceptable" }, { 408, "Request Timeout" },
	{ 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
	{ 412, "Precondition Failed" }, { 413, "Payload Too Large" }, { 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" }, { 422, "Unprocessable Entity" },
	{ 426, "Upgrade Required" }, { 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" }, { 500, "Internal Server Error" },
	{ 501, "Not Implemented" }, { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" }, { 507, "Insufficient Storage" },
};

/* Headers the layer writes itself; a second copy would confuse clients. */
static const char *const http_own_headers[] = {
	"Content-Length", "Transfer-Encoding", "Connection", "Date",
};

static const char *const http_method_order[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH",
};

const char *
http_status_text(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(http_statuses) / sizeof(http_statuses[0]); i++)
		if (http_statuses[i].status == status)
			return http_statuses[i].text;
	return status >= 500 ? "Server Error" : status >= 400 ? "Client Error" : "Unknown";
}

/* RFC 7231 IMF-fixdate, made once a second and without the locale. */
const char *
http_date(struct http_server *srv)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t		now = time(NULL);
	struct tm	tm;

	if (now != srv->date_sec && gmtime_r(&now, &tm) != NULL) {
		srv->date_sec = now;
		snprintf(srv->date, sizeof(srv->date), "%s, %02d %s %04d %02d:%02d:%02d GMT",
		    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
	}
	return srv->date;
}

size_t
http_allow_str(unsigned methods, char *buf, size_t size)
{
	size_t	i, n = 0;
	int	w;

	buf[0] = '\0';
	for (i = 0; i < sizeof(http_method_order) / sizeof(http_method_order[0]); i++) {
		if (!(methods & (1u << i)))
			continue;
		w = snprintf(buf + n, size - n, "%s%s", n > 0 ? ", " : "", http_method_order[i]);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
	return n;
}

static void
http_status_line(struct evbuffer *out, struct http_server *srv, int status)
{
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nDate: %s\r\n", status,
	    http_status_text(status), http_date(srv));
	srv->stats.requests++;
	if (status >= 500)
		srv->stats.responses_5xx++;
}

void
http_conn_reply(struct http_conn *c, int status, const char *allow, const char *text)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);
	size_t		 len = text != NULL ? strlen(text) : 0;

	http_status_line(out, c->srv, status);
	if (len > 0)
		evbuffer_add_printf(out, "Content-Type: text/plain; charset=utf-8\r\n");
	if (allow != NULL)
		evbuffer_add_printf(out, "Allow: %s\r\n", allow);
	evbuffer_add_printf(out, "Content-Length: %zu\r\nConnection: close\r\n\r\n", len);
	evbuffer_add(out, text, len);
	c->flags |= C_CLOSE;
}

/* ---- the request ------------------------------------------------------------ */

unsigned
http_req_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_req_method_name(const struct http_request *req)
{
	return req->method_name;
}

const char *
http_req_path(const struct http_request *req)
{
	return req->buf + req->path;
}

const struct http_route *
http_req_route(const struct http_request *req)
{
	return req->route;
}

const char *
http_req_path_tail(const struct http_request *req)
{
	return req->buf + req->tail;
}

const char *
http_req_query(const struct http_request *req)
{
	return req->buf + req->query;
}

const char *
http_req_header(const struct http_request *req, const char *name)
{
	int	i;

	for (i = 0; i < req->nhdr; i++)
		if (strcasecmp(req->buf + req->hdr[i].name, name) == 0)
			return req->buf + req->hdr[i].value;
	return NULL;
}

int
http_req_header_count(const struct http_request *req, const char *name)
{
	int	i, n = 0;

	for (i = 0; i < req->nhdr; i++)
		if (strcasecmp(req->buf + req->hdr[i].name, name) == 0)
			n++;
	return n;
}

const char *
http_req_peer(const struct http_request *req)
{
	return req->conn->peer;
}

int64_t
http_req_content_length(const struct http_request *req)
{
	return req->content_length;
}

struct event_base *
http_req_base(const struct http_request *req)
{
	return req->conn->srv->base;
}

void
http_req_set_data(struct http_request *req, void *data)
{
	req->data = data;
}

void *
http_req_data(const struct http_request *req)
{
	return req->data;
}

/* ---- the response ------------------------------------------------------------- */

static int
http_token_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s <= ' ' || *s >= 127 || strchr("\"(),/:;<=>?@[\\]{}", *s) != NULL)
			return 0;
	return 1;
}

int
http_add_header(struct http_request *req, const char *name, const char *value)
{
	size_t	i;

	if ((req->flags & R_HDR_SENT) || req->nout_hdrs == HTTP_MAX_RESP_HEADERS ||
	    !http_token_ok(name) || strpbrk(value, "\r\n") != NULL)
		return -1;
	for (i = 0; i < sizeof(http_own_headers) / sizeof(http_own_headers[0]); i++)
		if (strcasecmp(name, http_own_headers[i]) == 0)
			return -1;
	if (req->out_hdrs == NULL && (req->out_hdrs = evbuffer_new()) == NULL)
		return -1;
	if (evbuffer_add_printf(req->out_hdrs, "%s: %s\r\n", name, value) == -1)
		return -1;
	req->nout_hdrs++;
	return 0;
}

/*
 * Whether this answer ends the connection. A body the handler did not read is
 * drained when little is left of it; otherwise, or when its size is unknown,
 * or when the client waits for "100 Continue" before sending it, we close.
 */
static int
http_resp_closes(struct http_request *req)
{
	struct http_conn	*c = req->conn;
	uint64_t		 left = 0;

	if (req->content_length > 0)
		left = (uint64_t)req->content_length - req->body_len;
	if ((req->flags & (R_HEADERS | R_BODY_DONE)) == R_HEADERS &&
	    ((req->flags & R_CHUNKED) || left > HTTP_DRAIN_MAX ||
	    (left > 0 && (req->flags & (R_EXPECT | R_CONTINUED)) == R_EXPECT)))
		c->flags |= C_CLOSE;
	if (c->srv->shutting_down)
		c->flags |= C_CLOSE;
	return (c->flags & C_CLOSE) != 0;
}

/* Status line and headers. length: body bytes, or -1 for a streamed body. */
static int
http_resp_head(struct http_request *req, int status, const char *ctype, int64_t length)
{
	struct http_conn	*c = req->conn;
	struct evbuffer		*out = bufferevent_get_output(c->bev);
	int			 nobody = status == 204 || status == 304;

	if ((req->flags & R_HDR_SENT) || status < 200 || status > 599 ||
	    (ctype != NULL && strpbrk(ctype, "\r\n") != NULL))
		return -1;
	req->flags |= R_HDR_SENT;
	req->status = status;
	if (nobody)
		req->flags |= R_NOBODY;
	if (length < 0 && req->minor == 0 && !nobody) {
		/* HTTP/1.0 has no chunks: the end of the body is the close. */
		req->flags |= R_OUT_RAW;
		c->flags |= C_CLOSE;
	}
	http_status_line(out, c->srv, status);
	if (ctype != NULL)
		evbuffer_add_printf(out, "Content-Type: %s\r\n", ctype);
	if (!nobody && length >= 0)
		evbuffer_add_printf(out, "Content-Length: %lld\r\n", (long long)length);
	else if (!nobody && !(req->flags & R_OUT_RAW)) {
		evbuffer_add_printf(out, "Transfer-Encoding: chunked\r\n");
		req->flags |= R_OUT_CHUNKED;
	}
	if (req->out_hdrs != NULL)
		evbuffer_add_buffer(out, req->out_hdrs);
	if (http_resp_closes(req))
		evbuffer_add_printf(out, "Connection: close\r\n");
	else if (req->flags & R_KEEPALIVE10)
		evbuffer_add_printf(out, "Connection: keep-alive\r\n");
	evbuffer_add(out, "\r\n", 2);
	return 0;
}

static void
http_resp_done(struct http_request *req)
{
	req->flags |= R_ANSWERED;
	req->t_answered = mono_us();
	http_conn_kick(req->conn);
}

/* Text and JSON shrink; media and our GZB64 answers are compressed already. */
static int
http_compressible(const char *ctype)
{
	size_t n;

	if (ctype == NULL)
		return 0;
	n = strcspn(ctype, "; \t");
	return (n > 5 && strncasecmp(ctype, "text/", 5) == 0) ||
	    (n == 16 && strncasecmp(ctype, "application/json", 16) == 0) ||
	    (n > 5 && strncasecmp(ctype + n - 5, "+json", 5) == 0);
}

/* "gzip" among Accept-Encoding's codings, and not refused with q=0. */
static int
http_accepts_gzip(const struct http_request *req)
{
	const char	*p = http_req_header(req, "Accept-Encoding"), *q;
	size_t		 n;

	while (p != NULL && *p != '\0') {
		p += strspn(p, " \t,");
		n = strcspn(p, " \t;,");
		if (n == 4 && strncasecmp(p, "gzip", 4) == 0) {
			q = p + n + strspn(p + n, " \t");
			if (*q != ';')
				return 1;
			q += 1 + strspn(q + 1, " \t");
			return !(strncasecmp(q, "q=", 2) == 0 && strtod(q + 2, NULL) == 0.0);
		}
		p = strchr(p, ',');
	}
	return 0;
}

/* The body gzipped in one go, or NULL (out of memory, or it would not shrink). */
static unsigned char *
http_gzip(const void *body, size_t len, size_t *outlen)
{
	z_stream	 z;
	unsigned char	*out;
	uLong		 bound;

	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	bound = deflateBound(&z, (uLong)len);
	if ((out = malloc(bound)) == NULL) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)(uintptr_t)body;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= len) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*outlen = z.total_out;
	deflateEnd(&z);
	return out;
}

int
http_respond(struct http_request *req, int status, const char *content_type, const void *body,
    size_t len)
{
	unsigned char	*gz = NULL;
	size_t		 gzlen;

	/* The add-on sends Accept-Encoding: gzip; a small answer is not worth it. */
	if (len >= HTTP_GZIP_MIN && len <= HTTP_GZIP_MAX && http_compressible(content_type) &&
	    http_accepts_gzip(req) && (gz = http_gzip(body, len, &gzlen)) != NULL &&
	    http_add_header(req, "Content-Encoding", "gzip") == 0) {
		http_add_header(req, "Vary", "Accept-Encoding");
		body = gz;
		len = gzlen;
	}
	if (http_resp_head(req, status, content_type, (int64_t)len) == -1) {
		free(gz);
		return -1;
	}
	if (!(req->flags & R_NOBODY) && len > 0 &&
	    evbuffer_add(bufferevent_get_output(req->conn->bev), body, len) == -1)
		req->conn->flags |= C_DEAD;
	free(gz);
	http_resp_done(req);
	return 0;
}

int
http_respond_text(struct http_request *req, int status, const char *text)
{
	if (text == NULL)
		text = "";
	return http_respond(req, status, "text/plain; charset=utf-8", text, strlen(text));
}

int
http_respond_start(struct http_request *req, int status, const char *content_type)
{
	return http_resp_head(req, status, content_type, -1);
}

int
http_respond_start_length(struct http_request *req, int status, const char *content_type,
    int64_t length)
{
	if (length < 0 || http_resp_head(req, status, content_type, length) == -1)
		return -1;
	/* The chunks are the body as they come: Content-Length says where it ends. */
	if (!(req->flags & R_NOBODY))
		req->flags |= R_OUT_RAW;
	return 0;
}

static int
http_streaming(const struct http_request *req)
{
	return (req->flags & (R_HDR_SENT | R_ANSWERED)) == R_HDR_SENT &&
	    (req->flags & (R_OUT_CHUNKED | R_OUT_RAW | R_NOBODY));
}

int
http_respond_chunk(struct http_request *req, const void *data, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(req->conn->bev);

	if (!http_streaming(req))
		return -1;
	/* An empty chunk would end the body. */
	if (len == 0 || (req->flags & R_NOBODY))
		return 0;
	if (((req->flags & R_OUT_CHUNKED) && evbuffer_add_printf(out, "%zx\r\n", len) == -1) ||
	    evbuffer_add(out, data, len) == -1 ||
	    ((req->flags & R_OUT_CHUNKED) && evbuffer_add(out, "\r\n", 2) == -1)) {
		req->conn->flags |= C_DEAD;
		return -1;
	}
	return 0;
}

int
http_respond_end(struct http_request *req)
{
	if (!http_streaming(req))
		return -1;
	if ((req->flags & (R_OUT_CHUNKED | R_NOBODY)) == R_OUT_CHUNKED)
		evbuffer_add(bufferevent_get_output(req->conn->bev), "0\r\n\r\n", 5);
	http_resp_done(req);
	return 0;
}

/*
 * Like evbuffer_add_file(), but knowing who closes fd when it fails: a failed
 * evbuffer_add_file_segment() on a socket's buffer has dropped the segment,
 * and with it the fd.
 */
static int
http_add_file(struct evbuffer *out, int fd, off_t offset, off_t length)
{
	struct evbuffer_file_segment	*seg;

	if ((seg = evbuffer_file_segment_new(fd, offset, length,
	    EVBUF_FS_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		return -1;
	}
	if (evbuffer_add_file_segment(out, seg, 0, length) == -1)
		return -1;
	evbuffer_file_segment_free(seg);	/* the buffer holds its own reference */
	return 0;
}

int
http_respond_file(struct http_request *req, int status, const char *content_type, int fd,
    off_t offset, off_t length)
{
	if (fd < 0 || offset < 0 || length < 0 ||
	    http_resp_head(req, status, content_type, (int64_t)length) == -1) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if ((req->flags & R_NOBODY) || length == 0)
		close(fd);
	else if (http_add_file(bufferevent_get_output(req->conn->bev), fd, offset, length) == -1) {
		/* The headers are out: the client must see the answer fail. */
		log_warnx("http: %s: cannot queue a file", req->conn->peer);
		req->conn->flags |= C_DEAD;
	}
	http_resp_done(req);
	return 0;
}

size_t
http_output_pending(const struct http_request *req)
{
	return evbuffer_get_length(bufferevent_get_output(req->conn->bev));
}

void
http_set_drain_cb(struct http_request *req, void (*cb)(struct http_request *), size_t low_water)
{
	req->drain_cb = cb;
	req->low_water = low_water;
	req->flags &= ~R_DRAIN_DUE;
	bufferevent_setwatermark(req->conn->bev, EV_WRITE, cb != NULL ? low_water : 0, 0);
	/* Already drained: nothing will be written to tell us, so ask the loop. */
	if (cb != NULL && http_output_pending(req) <= low_water) {
		req->flags |= R_DRAIN_DUE;
		http_conn_kick(req->conn);
	}
}
