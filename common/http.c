/*
 * http.c — connections, parsing and routing of the streaming HTTP/1.1 server.
 *
 * One bufferevent per connection feeds Debian's http_parser; its read high
 * watermark (read_chunk) bounds what we hold of a request. The parser is
 * paused after the headers and after each message, so routing, limits and
 * the on_request/on_complete/on_free calls happen outside it, one request at
 * a time. conn_run() is the only place that moves a connection on, and the
 * only caller of handlers; the API a handler calls never re-enters it (it
 * kicks an event instead), so a handler may answer from any callback.
 */
#include <http_parser.h>	/* before http.h, see http_internal.h */

#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/clock.h"
#include "common/http_internal.h"
#include "common/log.h"

/* What the connection timer is armed for. */
enum { T_NONE, T_IDLE, T_HEADER, T_BODY, T_LINGER };
/* Why the parser stopped. */
enum { P_NONE, P_HEADERS, P_COMPLETE, P_BODY, P_TOOBIG };
/* The last piece the parser gave us. */
enum { L_NONE, L_URL, L_NAME, L_VALUE };

#define HTTP_METHOD_PEEK	24	/* longest method we look for, and then some */

static const struct {
	const char	*name;
	unsigned	 bit;
} http_methods[] = {
	{ "GET", HTTP_GET }, { "HEAD", HTTP_HEAD }, { "POST", HTTP_POST },
	{ "PUT", HTTP_PUT }, { "DELETE", HTTP_DELETE }, { "OPTIONS", HTTP_OPTIONS },
	{ "PATCH", HTTP_PATCH },
};

static void	conn_run(struct http_conn *);
static int	conn_wants_input(const struct http_conn *);

/* ---- small helpers --------------------------------------------------------- */

static unsigned
http_method_bit(const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < sizeof(http_methods) / sizeof(http_methods[0]); i++)
		if (strlen(http_methods[i].name) == len &&
		    memcmp(http_methods[i].name, name, len) == 0)
			return http_methods[i].bit;
	return 0;
}

static int
http_is_tchar(int ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/*
 * The first route for path and method; *allow collects the methods of every
 * route on that path (HEAD wherever GET), for a 405's Allow.
 */
static const struct http_route *
srv_route(const struct http_server *srv, const char *path, size_t plen, unsigned method,
    unsigned *allow, size_t *prefix)
{
	const struct http_route	*r;
	size_t			 i, n;
	unsigned		 m;

	for (i = 0; i < srv->nroutes; i++) {
		r = &srv->routes[i];
		n = strlen(r->path);
		if (n > 0 && r->path[n - 1] == '*') {
			if (plen < n - 1 || memcmp(path, r->path, n - 1) != 0)
				continue;
			n--;
		} else if (plen != n || memcmp(path, r->path, n) != 0)
			continue;
		m = r->methods;
		if (m & HTTP_GET)
			m |= HTTP_HEAD;
		*allow |= m;
		if (m & method) {
			if (prefix != NULL)
				*prefix = n;
			return r;
		}
	}
	return NULL;
}

/* ---- the request's text: url, names and values ------------------------------ */

static int
req_reserve(struct http_request *req, size_t n)
{
	size_t	 cap;
	char	*p;

	if (req->len + n <= req->cap)
		return 0;
	cap = req->cap ? req->cap : 256;
	while (cap < req->len + n)
		cap *= 2;
	if ((p = realloc(req->buf, cap)) == NULL) {
		log_warn("http: request buffer");
		return -1;
	}
	req->buf = p;
	req->cap = cap;
	return 0;
}

/* Parser pieces. The raw header bytes are bounded in conn_parse; this is a backstop. */
static int
req_append(struct http_request *req, const char *at, size_t len)
{
	struct http_conn	*c = req->conn;

	if (req->len + len > c->srv->conf.max_header_bytes + 2) {
		c->err_status = 431;
		return -1;
	}
	if (req_reserve(req, len + 1) == -1) {
		c->err_status = -1;
		return -1;
	}
	memcpy(req->buf + req->len, at, len);
	req->len += len;
	return 0;
}

/* Ends the url, a name or a value. */
static int
req_end_item(struct http_request *req)
{
	if (req_reserve(req, 1) == -1) {
		req->conn->err_status = -1;
		return -1;
	}
	req->buf[req->len++] = '\0';
	return 0;
}

static int
req_add_str(struct http_request *req, uint32_t off, size_t len, uint32_t *out)
{
	if (req_reserve(req, len + 1) == -1)
		return -1;
	memmove(req->buf + req->len, req->buf + off, len);
	*out = (uint32_t)req->len;
	req->len += len;
	req->buf[req->len++] = '\0';
	return 0;
}

/* Path and query from an origin-form or absolute-form target. */
static int
req_split_url(struct http_request *req)
{
	struct http_parser_url	 u;
	const char		*url = req->buf;
	size_t			 ulen = strlen(url), plen;
	uint32_t		 poff = 0, qoff = 0, qlen = 0;

	if (url[0] == '/') {
		plen = strcspn(url, "?#");
		if (url[plen] == '?') {
			qoff = (uint32_t)plen + 1;
			qlen = (uint32_t)strcspn(url + qoff, "#");
		}
	} else {
		http_parser_url_init(&u);
		if (http_parser_parse_url(url, ulen, 0, &u) != 0)
			return -1;
		if (!(u.field_set & (1 << UF_PATH)))
			return -1;
		poff = u.field_data[UF_PATH].off;
		plen = u.field_data[UF_PATH].len;
		if (u.field_set & (1 << UF_QUERY)) {
			qoff = u.field_data[UF_QUERY].off;
			qlen = u.field_data[UF_QUERY].len;
		}
		if (url[poff] != '/')
			return -1;
	}
	if (req_add_str(req, poff, plen, &req->path) == -1 ||
	    req_add_str(req, qoff, qlen, &req->query) == -1)
		return -1;
	return 0;
}

/* ---- parser callbacks: they record, conn_parse() acts ----------------------- */

static int
hp_message_begin(http_parser *p)
{
	struct http_conn	*c = p->data;
	struct http_request	*req;

	if (c->req != NULL)
		return -1;
	if ((req = calloc(1, sizeof(*req))) == NULL) {
		log_warn("http: request");
		c->err_status = -1;
		return -1;
	}
	req->conn = c;
	req->content_length = -1;
	req->out_start = c->out_added;
	c->req = req;
	return 0;
}

static int
hp_url(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;

	c->req->last = L_URL;
	return req_append(c->req, at, len);
}

static int
hp_header_field(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_request	*req = c->req;

	/* Trailers after a chunked body: their bytes are bounded by the parser. */
	if (req->flags & R_HEADERS)
		return 0;
	if (req->last != L_NAME) {
		if (req_end_item(req) == -1)
			return -1;
		if (req->nhdr == HTTP_MAX_REQ_HEADERS) {
			c->err_status = 431;
			return -1;
		}
		req->hdr[req->nhdr].name = (uint32_t)req->len;
		req->hdr[req->nhdr].value = UINT32_MAX;
		req->nhdr++;
		req->last = L_NAME;
	}
	return req_append(req, at, len);
}

static int
hp_header_value(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_request	*req = c->req;

	if (req->flags & R_HEADERS)
		return 0;
	if (req->last != L_VALUE) {
		if (req->last != L_NAME || req_end_item(req) == -1)
			return -1;
		req->hdr[req->nhdr - 1].value = (uint32_t)req->len;
		req->last = L_VALUE;
	}
	return req_append(req, at, len);
}

static int
hp_headers_complete(http_parser *p)
{
	struct http_conn	*c = p->data;
	struct http_request	*req = c->req;

	if (req->last == L_NAME) {
		/* A name without a value callback: give it "". */
		if (req_end_item(req) == -1)
			return -1;
		req->hdr[req->nhdr - 1].value = (uint32_t)req->len;
	}
	if (req_end_item(req) == -1)
		return -1;
	req->flags |= R_HEADERS;
	c->pause_why = P_HEADERS;
	http_parser_pause(p, 1);
	return 0;
}

static int
hp_body(http_parser *p, const char *at, size_t len)
{
	struct http_conn	*c = p->data;
	struct http_request	*req = c->req;
	const struct http_route	*r = req->route;

	req->body_len += len;
	if (r != NULL && req->body_len > r->max_body && !(req->flags & R_ANSWERED)) {
		/* Only a chunked body gets here: Content-Length was checked. */
		c->pause_why = P_TOOBIG;
		http_parser_pause(p, 1);
		return 0;
	}
	if ((req->flags & (R_STARTED | R_ANSWERED | R_STOPPED)) != R_STARTED ||
	    r->on_body == NULL)
		return 0;	/* nobody wants it: drop it */
	if (r->on_body(req, at, len) != 0)
		req->flags |= R_STOPPED;
	if (!conn_wants_input(c)) {
		c->pause_why = P_BODY;
		http_parser_pause(p, 1);
	}
	return 0;
}

static int
hp_message_complete(http_parser *p)
{
	struct http_conn	*c = p->data;

	c->req->flags |= R_BODY_DONE;
	c->pause_why = P_COMPLETE;
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings hp_settings = {
	.on_message_begin = hp_message_begin,
	.on_url = hp_url,
	.on_header_field = hp_header_field,
	.on_header_value = hp_header_value,
	.on_headers_complete = hp_headers_complete,
	.on_body = hp_body,
	.on_message_complete = hp_message_complete,
};

/* ---- the request's life ------------------------------------------------------ */

static void
req_free(struct http_request *req)
{
	struct http_conn	*c = req->conn;
	struct http_done	 d;

	if (c->srv->on_done != NULL && (req->flags & R_HEADERS)) {
		d.route = req->route;
		d.status = req->status;
		d.usec = (req->t_answered ? req->t_answered : mono_us()) - req->t_start;
		d.bytes_in = req->in_bytes;
		d.bytes_out = c->out_added - req->out_start;
		c->srv->on_done(&d, c->srv->on_done_arg);
	}

	if ((req->flags & (R_STARTED | R_FREED)) == R_STARTED && req->route->on_free != NULL) {
		req->flags |= R_FREED;
		req->route->on_free(req);
	}
	if (req->drain_cb != NULL)
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	if (req->out_hdrs != NULL)
		evbuffer_free(req->out_hdrs);
	free(req->buf);
	free(req);
}

/* A client's mistake or a timeout: answer it if we still can, then close. */
static void
conn_fail(struct http_conn *c, int status)
{
	struct http_request	*req = c->req;
	const char		*text;

	c->flags |= C_CLOSE;
	if (req != NULL && (req->flags & R_HDR_SENT)) {
		if (!(req->flags & R_ANSWERED))
			c->flags |= C_DEAD;	/* cut the streamed answer short */
		return;
	}
	text = status == 413 ? HTTP_413_TEXT : http_status_text(status);
	if (req != NULL)
		http_respond_text(req, status, text);
	else
		http_conn_reply(c, status, NULL, text);
}

/* Headers are in: route, check the limits, hand the request to its handler. */
static void
conn_headers(struct http_conn *c)
{
	struct http_request	*req = c->req;
	http_parser		*p = c->parser;
	const struct http_route	*r;
	const char		*expect, *path;
	unsigned		 allow = 0;
	size_t			 prefix = 0;
	char			 allowed[64];

	req->t_start = mono_us();
	req->minor = p->http_minor;
	req->method_name = http_method_str((enum http_method)p->method);
	req->method = http_method_bit(req->method_name, strlen(req->method_name));
	if (p->http_major != 1 || req->method == 0 || req_split_url(req) == -1) {
		conn_fail(c, 400);
		return;
	}
	if (!http_should_keep_alive(p) || p->upgrade)
		c->flags |= C_CLOSE;
	else if (p->http_minor == 0)
		req->flags |= R_KEEPALIVE10;
	if (p->flags & F_CHUNKED)
		req->flags |= R_CHUNKED;
	else if ((p->flags & F_CONTENTLENGTH) && p->content_length <= INT64_MAX)
		req->content_length = (int64_t)p->content_length;
	if (req->method == HTTP_HEAD)
		req->flags |= R_NOBODY;

	path = req->buf + req->path;
	r = srv_route(c->srv, path, strlen(path), req->method, &allow, &prefix);
	if (r == NULL) {
		if (allow != 0) {
			http_allow_str(allow, allowed, sizeof(allowed));
			http_add_header(req, "Allow", allowed);
		}
		http_respond(req, allow != 0 ? 405 : 404, NULL, NULL, 0);
		return;
	}
	req->route = r;
	req->tail = req->path + (uint32_t)prefix;
	/* A GET handler serves HEAD as GET; we drop the body. */
	if (req->method == HTTP_HEAD && !(r->methods & HTTP_HEAD))
		req->method = HTTP_GET;

	if ((expect = http_req_header(req, "Expect")) != NULL && req->minor >= 1) {
		if (strcasecmp(expect, "100-continue") != 0) {
			c->flags |= C_CLOSE;
			http_respond_text(req, 417, http_status_text(417));
			return;
		}
		req->flags |= R_EXPECT;
	}
	if ((p->flags & F_CONTENTLENGTH) && p->content_length > r->max_body) {
		if (req->flags & R_EXPECT) {
			c->flags |= C_CLOSE;
			http_respond_text(req, 417, http_status_text(417));
		} else
			http_respond_text(req, 413, HTTP_413_TEXT);
		return;
	}
	req->flags |= R_STARTED;
	if (r->on_request != NULL)
		r->on_request(req);
}

static void
conn_complete(struct http_conn *c)
{
	struct http_request	*req = c->req;

	if ((req->flags & (R_STARTED | R_ANSWERED)) == R_STARTED &&
	    req->route->on_complete != NULL)
		req->route->on_complete(req);
}

static void
conn_eof(struct http_conn *c)
{
	if (c->req == NULL || (c->req->flags & R_ANSWERED))
		c->flags |= C_CLOSE;
	else
		c->flags |= C_DEAD;	/* cut off inside a request */
}

/* ---- reading ----------------------------------------------------------------- */

static int
conn_wants_input(const struct http_conn *c)
{
	const struct http_request	*req = c->req;
	size_t				 out;

	if (c->flags & (C_DEAD | C_LINGER))
		return 0;
	if (req == NULL) {
		/* Pipelined requests wait while answers pile up unread. */
		out = evbuffer_get_length(bufferevent_get_output(c->bev));
		return !(c->flags & C_CLOSE) && out <= c->srv->conf.read_chunk;
	}
	if (!(req->flags & R_HEADERS))
		return 1;
	if (req->flags & R_BODY_DONE)
		return 0;
	if (req->flags & R_ANSWERED)
		return !(c->flags & C_CLOSE);	/* drain a small rest */
	return !(req->flags & (R_PAUSED | R_STOPPED));
}

/*
 * http_parser gives up at the first byte of a method it does not know, but
 * an unknown method earns 405 (404 on an unknown path). So look at the request
 * line first. Returns 0 to let the parser go on, 1 when it acted, -1 to wait.
 */
static int
conn_precheck(struct http_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	size_t		 avail = evbuffer_get_length(in), i, n;
	char		*line, *end, allowed[64];
	unsigned	 allow = 0;
	int		 full;

	/* Waiting only helps if more can come. */
	full = avail >= c->srv->conf.read_chunk || avail >= c->srv->conf.max_header_bytes ||
	    (c->flags & C_EOF);
	n = avail < HTTP_METHOD_PEEK ? avail : HTTP_METHOD_PEEK;
	if ((line = (char *)evbuffer_pullup(in, (ev_ssize_t)n)) == NULL)
		return -1;
	for (i = 0; i < n && (line[i] == '\r' || line[i] == '\n'); i++)
		;
	if (i > 0) {
		/* Blank lines before a request are allowed; they count as header bytes. */
		evbuffer_drain(in, i);
		c->head_bytes += i;
		return 1;
	}
	for (i = 0; i < n && http_is_tchar((unsigned char)line[i]); i++)
		;
	if (i == n && n < HTTP_METHOD_PEEK && !full)
		return -1;
	if (i == 0 || i == n || line[i] != ' ' || http_method_bit(line, i) != 0)
		return 0;	/* the parser's to judge */

	/* An unknown method: find the end of its target. */
	n = avail < c->srv->conf.max_header_bytes ? avail : c->srv->conf.max_header_bytes;
	if ((line = (char *)evbuffer_pullup(in, (ev_ssize_t)n)) == NULL)
		return -1;
	for (end = line + i + 1; end < line + n && strchr(" ?#\r\n", *end) == NULL; end++)
		;
	if (end == line + n) {
		if (!full)
			return -1;
		http_conn_reply(c, 400, NULL, http_status_text(400));
		return 1;
	}
	if (line[i + 1] == '/')
		srv_route(c->srv, line + i + 1, (size_t)(end - line - i - 1), 0, &allow, NULL);
	log_debug("http: %s: unknown method %.*s", c->peer, (int)i, line);
	if (allow != 0)
		http_allow_str(allow, allowed, sizeof(allowed));
	/* We cannot tell where its body ends: answer, then close. */
	http_conn_reply(c, allow != 0 ? 405 : 404, allow != 0 ? allowed : NULL, NULL);
	return 1;
}

static void
conn_parse_error(struct http_conn *c)
{
	enum http_errno	 e = HTTP_PARSER_ERRNO(c->parser);
	int		 status = c->err_status;

	log_debug("http: %s: %s", c->peer, http_errno_name(e));
	if (status == -1) {
		c->flags |= C_DEAD;	/* out of memory */
		return;
	}
	if (status == 0)
		status = e == HPE_HEADER_OVERFLOW ? 431 : 400;
	conn_fail(c, status);
}

/* One parser run over the first piece of input. Returns 1 if anything moved. */
static int
conn_parse(struct http_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct http_request	*req = c->req;
	struct evbuffer_iovec	 v;
	size_t			 max = c->srv->conf.max_header_bytes, len, used;
	int			 head, r;

	if (!conn_wants_input(c) || (HTTP_PARSER_ERRNO(c->parser) != HPE_OK &&
	    HTTP_PARSER_ERRNO(c->parser) != HPE_PAUSED))
		return 0;
	head = req == NULL || !(req->flags & R_HEADERS);
	if (!head && (req->flags & (R_EXPECT | R_CONTINUED | R_HDR_SENT)) == R_EXPECT &&
	    ((req->flags & R_CHUNKED) || req->content_length > 0)) {
		/* The client waits for this before it sends the body. */
		evbuffer_add(bufferevent_get_output(c->bev), "HTTP/1.1 100 Continue\r\n\r\n", 25);
		req->flags |= R_CONTINUED;
	}
	if (evbuffer_get_length(in) == 0) {
		if (!(c->flags & C_EOF))
			return 0;
		conn_eof(c);
		return 1;
	}
	if (head && c->head_bytes >= max) {
		conn_fail(c, 431);
		return 1;
	}
	if (req == NULL && (r = conn_precheck(c)) != 0) {
		if (r > 0)
			return 1;
		if (!(c->flags & C_EOF))
			return 0;
		conn_eof(c);
		return 1;
	}

	/*
	 * libevent 2.1 reads 4 KiB at a time; when more has piled up (a
	 * paused body), join it so that the handler gets fewer, larger pieces.
	 */
	if (!head && (len = evbuffer_get_length(in)) > 4096)
		evbuffer_pullup(in, (ev_ssize_t)(len < c->srv->conf.read_chunk ?
		    len : c->srv->conf.read_chunk));
	if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
		return 0;
	len = v.iov_len;
	if (head && len > max - c->head_bytes)
		len = max - c->head_bytes;
	c->pause_why = P_NONE;
	c->err_status = 0;
	http_parser_pause(c->parser, 0);
	used = http_parser_execute(c->parser, &hp_settings, v.iov_base, len);
	if (c->req != NULL)
		c->req->in_bytes += used;
	if (head)
		c->head_bytes += used;
	evbuffer_drain(in, used);

	switch (HTTP_PARSER_ERRNO(c->parser)) {
	case HPE_OK:
		return used > 0;
	case HPE_PAUSED:
		if (c->pause_why == P_HEADERS)
			conn_headers(c);
		else if (c->pause_why == P_COMPLETE)
			conn_complete(c);
		else if (c->pause_why == P_TOOBIG)
			conn_fail(c, 413);
		return 1;
	default:
		conn_parse_error(c);
		return 1;
	}
}

/* ---- the connection's state machine ---------------------------------------- */

static int
conn_tphase(const struct http_conn *c)
{
	const struct http_request	*req = c->req;
	struct evbuffer			*in = bufferevent_get_input(c->bev);
	struct evbuffer			*out = bufferevent_get_output(c->bev);

	if (c->flags & C_LINGER)
		return T_LINGER;
	if (req == NULL) {
		if (!conn_wants_input(c))
			return T_NONE;	/* the write timeout covers us */
		if (c->head_bytes == 0 && evbuffer_get_length(in) == 0)
			return evbuffer_get_length(out) == 0 ? T_IDLE : T_NONE;
		return T_HEADER;
	}
	if (!(req->flags & R_HEADERS))
		return T_HEADER;
	if (!(req->flags & R_BODY_DONE) && conn_wants_input(c))
		return T_BODY;
	return T_NONE;
}

static void
conn_arm(struct http_conn *c)
{
	const struct http_server_conf	*cf = &c->srv->conf;
	struct http_request		*req = c->req;
	struct timeval			 tv;
	uint64_t			 progress;
	unsigned			 ms;
	int				 phase;

	phase = conn_tphase(c);
	/* Each request's headers get one deadline in all; a body, one per pause. */
	progress = phase == T_BODY ? req->body_len : phase == T_HEADER ? c->nreq : 0;
	if (phase == c->tphase && progress == c->armed_at)
		return;
	c->tphase = phase;
	c->armed_at = progress;
	switch (phase) {
	case T_IDLE:
		ms = c->nreq > 0 ? cf->idle_timeout_ms : cf->header_timeout_ms;
		break;
	case T_HEADER:
		ms = cf->header_timeout_ms;
		break;
	case T_BODY:
		ms = cf->body_timeout_ms;
		break;
	case T_LINGER:
		ms = cf->header_timeout_ms < HTTP_LINGER_MS ? cf->header_timeout_ms : HTTP_LINGER_MS;
		break;
	default:
		event_del(c->timer);
		return;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	event_add(c->timer, &tv);
}

/* Everything is answered and sent: shut our side, read what is in flight, close. */
static int
conn_linger(struct http_conn *c)
{
	if (c->flags & C_EOF) {
		c->flags |= C_DEAD;
		return 1;
	}
	/* Closing with unread input would reset the connection, and the answer with it. */
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evbuffer_drain(bufferevent_get_input(c->bev), evbuffer_get_length(bufferevent_get_input(c->bev)));
	c->flags |= C_LINGER;
	return 1;
}

/* One move. Returns 1 if it made one, 0 if it waits, -1 when the connection is done. */
static int
conn_step(struct http_conn *c)
{
	struct http_request	*req = c->req;
	struct evbuffer		*out = bufferevent_get_output(c->bev);

	if (c->flags & C_DEAD)
		return -1;
	if (c->flags & C_LINGER)
		return 0;
	if (req != NULL) {
		if ((req->flags & (R_DRAIN_DUE | R_HDR_SENT | R_ANSWERED)) ==
		    (R_DRAIN_DUE | R_HDR_SENT) && req->drain_cb != NULL) {
			req->flags &= ~R_DRAIN_DUE;
			req->drain_cb(req);
			return 1;
		}
		req->flags &= ~R_DRAIN_DUE;
		if ((req->flags & (R_ANSWERED | R_STARTED | R_FREED)) == (R_ANSWERED | R_STARTED)) {
			req->flags |= R_FREED;
			if (req->route->on_free != NULL)
				req->route->on_free(req);
			return 1;
		}
		if ((req->flags & (R_ANSWERED | R_BODY_DONE)) == (R_ANSWERED | R_BODY_DONE)) {
			req_free(req);
			c->req = NULL;
			c->head_bytes = 0;
			c->nreq++;
			if (c->srv->shutting_down)
				c->flags |= C_CLOSE;
			return 1;
		}
	}
	if ((c->flags & C_CLOSE) && (req == NULL || (req->flags & R_ANSWERED)))
		return evbuffer_get_length(out) == 0 ? conn_linger(c) : 0;
	return conn_parse(c);
}

static void
conn_run(struct http_conn *c)
{
	int	r;

	c->flags |= C_RUNNING;
	while ((r = conn_step(c)) > 0)
		;
	c->flags &= ~C_RUNNING;
	if (r < 0)
		http_conn_free(c);
	else
		conn_arm(c);
}

void
http_conn_kick(struct http_conn *c)
{
	if (!(c->flags & C_RUNNING))
		event_active(c->kick, EV_TIMEOUT, 1);
}

/* ---- libevent callbacks ---------------------------------------------------- */

static void
conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);

	if (c->flags & C_LINGER)
		evbuffer_drain(in, evbuffer_get_length(in));
	else
		conn_run(c);
}

static void
conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct http_request	*req = c->req;

	if (req != NULL && req->drain_cb != NULL &&
	    evbuffer_get_length(bufferevent_get_output(bev)) <= req->low_water)
		req->flags |= R_DRAIN_DUE;
	conn_run(c);
}

static void
conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;

	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR)) {
		c->flags |= C_EOF;
		if (c->flags & C_LINGER)
			c->flags |= C_DEAD;
	} else {
		if (what & BEV_EVENT_TIMEOUT)
			log_debug("http: %s: not reading our answer", c->peer);
		c->flags |= C_DEAD;
	}
	conn_run(c);
}

static void
conn_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct http_conn	*c = arg;
	int			 phase = c->tphase;

	c->tphase = T_NONE;
	if (phase == T_HEADER || phase == T_BODY) {
		log_debug("http: %s: request timed out", c->peer);
		if (c->req != NULL && (c->req->flags & R_ANSWERED))
			c->flags |= C_DEAD;	/* stalled in a body we were draining */
		else
			conn_fail(c, 408);
	} else
		c->flags |= C_DEAD;	/* idle, or done lingering */
	conn_run(c);
}

static void
conn_kick_cb(evutil_socket_t fd, short ev, void *arg)
{
	conn_run(arg);
}

/* Byte counters, from libevent's own accounting of each buffer. */
static void
conn_in_count(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn	*c = arg;

	c->srv->stats.bytes_in += info->n_added;
}

static void
conn_out_count(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	struct http_conn	*c = arg;

	c->srv->stats.bytes_out += info->n_deleted;
	c->out_added += info->n_added;
}

void
http_conn_free(struct http_conn *c)
{
	struct http_server	*srv = c->srv;

	if (c->req != NULL)
		req_free(c->req);
	TAILQ_REMOVE(&srv->conns, c, entry);
	srv->stats.connections--;
	/* libevent may free the buffers later than c. */
	evbuffer_remove_cb(bufferevent_get_input(c->bev), conn_in_count, c);
	evbuffer_remove_cb(bufferevent_get_output(c->bev), conn_out_count, c);
	event_free(c->timer);
	event_free(c->kick);
	bufferevent_free(c->bev);
	free(c->parser);
	free(c);
	http_server_maybe_done(srv);
}

static void
conn_peer(struct http_conn *c, const struct sockaddr *sa)
{
	const struct sockaddr_in6	*s6 = (const struct sockaddr_in6 *)sa;
	struct in_addr			 a4;

	if (sa != NULL && sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, c->peer,
		    sizeof(c->peer));
	else if (sa != NULL && sa->sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		/* The same client gets the same key on a dual-stack socket. */
		memcpy(&a4, &s6->sin6_addr.s6_addr[12], sizeof(a4));
		inet_ntop(AF_INET, &a4, c->peer, sizeof(c->peer));
	} else if (sa != NULL && sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &s6->sin6_addr, c->peer, sizeof(c->peer));
	else
		snprintf(c->peer, sizeof(c->peer), "local");
}

int
http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa, socklen_t salen)
{
	struct http_conn	*c;
	struct timeval		 tv;
	int			 one = 1;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->parser = malloc(sizeof(*c->parser))) == NULL ||
	    (c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		log_warn("http: new connection");
		if (c != NULL)
			free(c->parser);
		free(c);
		close(fd);
		return -1;
	}
	c->srv = srv;
	c->timer = evtimer_new(srv->base, conn_timer_cb, c);
	c->kick = event_new(srv->base, -1, 0, conn_kick_cb, c);
	if (c->timer == NULL || c->kick == NULL ||
	    evbuffer_add_cb(bufferevent_get_input(c->bev), conn_in_count, c) == NULL ||
	    evbuffer_add_cb(bufferevent_get_output(c->bev), conn_out_count, c) == NULL) {
		log_warnx("http: new connection: out of memory");
		if (c->timer != NULL)
			event_free(c->timer);
		if (c->kick != NULL)
			event_free(c->kick);
		bufferevent_free(c->bev);
		free(c->parser);
		free(c);
		return -1;
	}
	http_parser_init(c->parser, HTTP_REQUEST);
	c->parser->data = c;
	conn_peer(c, salen > 0 ? sa : NULL);
	if (sa != NULL && (sa->sa_family == AF_INET || sa->sa_family == AF_INET6))
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, srv->conf.read_chunk);
	bufferevent_set_max_single_read(c->bev, srv->conf.read_chunk);
	tv.tv_sec = srv->conf.write_timeout_ms / 1000;
	tv.tv_usec = (srv->conf.write_timeout_ms % 1000) * 1000;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);

	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->stats.connections++;
	conn_arm(c);
	return 0;
}

/* ---- body flow control ---------------------------------------------------------- */

void
http_body_pause(struct http_request *req)
{
	/* The parser stops; the socket is read until read_chunk waits unparsed. */
	req->flags |= R_PAUSED;
}

void
http_body_resume(struct http_request *req)
{
	if (req->flags & R_PAUSED) {
		req->flags &= ~R_PAUSED;
		http_conn_kick(req->conn);
	}
}
