/*
 * http.h — the one HTTP/1.1 server layer, shared by apid and mediad.
 *
 * Built on libevent bufferevents and Debian's http_parser, because libevent
 * 2.1's evhttp reads a whole body into memory before calling a handler. Here
 * a handler sees the request once its headers are in, then its body piece
 * by piece as it arrives, so a 250 MB upload costs the size of a read buffer.
 *
 * What the layer does on its own, before or around handlers:
 *  - routing: 404 (empty body) for an unknown path, 405 with Allow for a
 *    known path and another method; HEAD on every GET route (body dropped);
 *  - limits: headers over max_header_bytes → 431; a Content-Length over the
 *    route's max_body → 413 before the body is read (417 with
 *    "Expect: 100-continue"); a chunked body → 413 as soon as it passes it;
 *    Content-Length together with Transfer-Encoding → 400; bad syntax → 400;
 *  - time: headers not complete in header_timeout, or a body stalled for
 *    body_timeout → 408 and close; idle keep-alive closed after idle_timeout;
 *  - keep-alive and pipelining: requests on one connection are answered in
 *    order, one at a time; a body a handler did not read is drained, or the
 *    connection is closed after the answer;
 *  - "100 Continue" for a client that asks and whose request fits.
 * Error answers are short text/plain bodies.
 *
 * Every request gets exactly one response. Handlers may answer later (after
 * asking another daemon); on_free tells them when the request is gone.
 */
#ifndef ANKICOLLAB_HTTP_H
#define ANKICOLLAB_HTTP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct http_server;
struct http_request;

/* Method mask bits. A route with HTTP_GET also answers HEAD. */
#define HTTP_GET	0x01
#define HTTP_HEAD	0x02
#define HTTP_POST	0x04
#define HTTP_PUT	0x08
#define HTTP_DELETE	0x10
#define HTTP_OPTIONS	0x20
#define HTTP_PATCH	0x40

struct http_route {
	const char	*path;		/* exact, or ending in '*': a prefix, rest in path_tail */
	unsigned	 methods;	/* HTTP_* mask */
	size_t		 max_body;	/* bytes; 0: the route takes no body */
	/*
	 * Headers are in. The handler may answer now (the body is then
	 * drained or the connection closed) or wait for the body.
	 */
	void		(*on_request)(struct http_request *req);
	/* A piece of the body (de-chunked). Return 0, or -1 to stop reading it. */
	int		(*on_body)(struct http_request *req, const void *data, size_t len);
	/* The whole body is in (called also for requests without a body). */
	void		(*on_complete)(struct http_request *req);
	/* The request is going away: answered, or its connection lost. */
	void		(*on_free)(struct http_request *req);
	/* The daemon's own description of the route, for shared callbacks. */
	const void	*arg;
};

struct http_server_conf {
	size_t		max_header_bytes;	/* request line + headers; default 16 KiB */
	unsigned	header_timeout_ms;	/* default 10 s */
	unsigned	body_timeout_ms;	/* longest pause inside a body; default 30 s */
	unsigned	idle_timeout_ms;	/* keep-alive with no request; default 60 s */
	unsigned	write_timeout_ms;	/* client not reading our answer; default 60 s */
	unsigned	max_connections;	/* more are accepted and closed; default 512 */
	size_t		read_chunk;		/* bytes read per callback; default 64 KiB */
};

struct http_stats {
	uint64_t	requests;	/* answered */
	uint64_t	connections;	/* open now */
	uint64_t	responses_5xx;
	uint64_t	bytes_in;
	uint64_t	bytes_out;
};

/* What the layer says of each request once it is gone (apid's /metrics). */
struct http_done {
	const struct http_route	*route;		/* NULL: no route matched */
	int			 status;	/* 0: never answered (connection lost) */
	uint64_t		 usec;		/* headers in → whole answer queued */
	uint64_t		 bytes_in;	/* head and body */
	uint64_t		 bytes_out;	/* status line, headers and body */
};

/* conf may be NULL for the defaults; routes must outlive the server. */
struct http_server	*http_server_new(struct event_base *base, const struct http_route *routes,
			    size_t nroutes, const struct http_server_conf *conf);
/* Serve an already bound, listening socket (the supervisor's). Takes the fd. */
int			 http_server_listen_fd(struct http_server *srv, int fd);
/* Bind and listen on "host:port" ("[::1]:port" for IPv6). Returns 0 or -1. */
int			 http_server_listen(struct http_server *srv, const char *hostport);
/* Stop accepting, close idle connections, call done once none is left. */
void			 http_server_shutdown(struct http_server *srv, void (*done)(void *), void *arg);
void			 http_server_free(struct http_server *srv);
void			 http_server_stats(const struct http_server *srv, struct http_stats *out);
/* cb runs once per request that got its headers through, as it is freed. */
void			 http_server_on_done(struct http_server *srv,
			    void (*cb)(const struct http_done *, void *), void *arg);

/* Bind a listening TCP socket for "host:port"; -1 with a logged reason. */
int			 http_bind(const char *hostport);

/* ---- the request ---------------------------------------------------------- */

unsigned	 http_req_method(const struct http_request *req);	/* one HTTP_* bit */
const char	*http_req_method_name(const struct http_request *req);
const char	*http_req_path(const struct http_request *req);		/* without the query */
const char	*http_req_path_tail(const struct http_request *req);	/* after a '*' route's prefix */
const char	*http_req_query(const struct http_request *req);		/* after '?', or "" */
/* First header of that name (case-insensitive), or NULL. */
const char	*http_req_header(const struct http_request *req, const char *name);
/* How many headers have that name. */
int		 http_req_header_count(const struct http_request *req, const char *name);
/* The TCP peer's address, e.g. "127.0.0.1" or "::1". */
const char	*http_req_peer(const struct http_request *req);
/* -1 for chunked or absent. */
int64_t		 http_req_content_length(const struct http_request *req);
struct event_base *http_req_base(const struct http_request *req);
/* The route that matched; its arg is the daemon's. */
const struct http_route *http_req_route(const struct http_request *req);

void		 http_req_set_data(struct http_request *req, void *data);
void		*http_req_data(const struct http_request *req);

/* Stop and restart reading the body, e.g. while waiting for another daemon. */
void		 http_body_pause(struct http_request *req);
void		 http_body_resume(struct http_request *req);

/* ---- the response --------------------------------------------------------- */

/* Before the status line is sent. Returns 0 or -1 (too many / too late). */
int	http_add_header(struct http_request *req, const char *name, const char *value);

/* A whole response with Content-Length. content_type may be NULL. */
int	http_respond(struct http_request *req, int status, const char *content_type,
	    const void *body, size_t len);
/* text/plain; charset=utf-8 */
int	http_respond_text(struct http_request *req, int status, const char *text);

/* A chunked response: start, any number of chunks, end. */
int	http_respond_start(struct http_request *req, int status, const char *content_type);
int	http_respond_chunk(struct http_request *req, const void *data, size_t len);
int	http_respond_end(struct http_request *req);
/* The same with a known length: Content-Length, and exactly length bytes of chunks. */
int	http_respond_start_length(struct http_request *req, int status, const char *content_type,
	    int64_t length);

/* length bytes of fd from offset, by sendfile. Takes the fd. */
int	http_respond_file(struct http_request *req, int status, const char *content_type,
	    int fd, off_t offset, off_t length);

/*
 * Back-pressure for streamed answers: bytes queued and not yet sent, and a
 * callback run when that drops to low_water or below.
 */
size_t	http_output_pending(const struct http_request *req);
void	http_set_drain_cb(struct http_request *req, void (*cb)(struct http_request *),
	    size_t low_water);

const char	*http_status_text(int status);

#endif
