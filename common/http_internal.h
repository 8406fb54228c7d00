/*
 * http_internal.h — what the files of the HTTP layer share, and a way in for
 * the fuzz target. Not for daemons: they use common/http.h.
 *
 * http_parser.h must not be included after common/http.h: its enum
 * http_method spells HTTP_GET etc. too. So this header keeps the parser
 * behind a pointer, and http.c includes http_parser.h first.
 */
#ifndef ANKICOLLAB_HTTP_INTERNAL_H
#define ANKICOLLAB_HTTP_INTERNAL_H

#include <sys/queue.h>
#include <sys/socket.h>

#include <stdint.h>
#include <time.h>

#include "common/http.h"

struct bufferevent;
struct evconnlistener;
struct event;
struct evbuffer;
struct http_parser;

#define HTTP_MAX_REQ_HEADERS	64
#define HTTP_MAX_RESP_HEADERS	32
#define HTTP_DRAIN_MAX		(64 * 1024)	/* unread body we read past rather than close */
#define HTTP_LINGER_MS		2000		/* reading after our last answer, before close */
#define HTTP_MAX_LISTENERS	4
#define HTTP_413_TEXT		"Failed to buffer the request body: length limit exceeded"

struct http_server {
	struct event_base	*base;
	const struct http_route	*routes;
	size_t			 nroutes;
	struct http_server_conf	 conf;
	struct evconnlistener	*listeners[HTTP_MAX_LISTENERS];
	int			 nlisteners;
	struct event		*accept_retry;	/* accepting paused after EMFILE */
	TAILQ_HEAD(, http_conn)	 conns;
	struct http_stats	 stats;
	int			 shutting_down;
	void			(*done)(void *);
	void			*done_arg;
	struct event		*done_ev;
	time_t			 date_sec;
	char			 date[32];
	void			(*on_done)(const struct http_done *, void *);
	void			*on_done_arg;
};

/* Connection flags. */
#define C_CLOSE		0x01	/* no request after the current one */
#define C_EOF		0x02	/* the peer will send nothing more */
#define C_LINGER	0x04	/* answered, write side shut, discarding input */
#define C_DEAD		0x08	/* free at the next chance */
#define C_RUNNING	0x10	/* inside conn_run */

struct http_conn {
	TAILQ_ENTRY(http_conn)	 entry;
	struct http_server	*srv;
	struct bufferevent	*bev;
	struct http_parser	*parser;
	struct event		*timer;
	struct event		*kick;
	struct http_request	*req;		/* the one being read or answered */
	unsigned		 flags;
	int			 tphase;	/* what the timer is armed for */
	int			 pause_why;	/* why the parser stopped */
	int			 err_status;	/* from a parser callback that failed */
	size_t			 head_bytes;	/* raw bytes before the body */
	uint64_t		 armed_at;	/* body bytes or requests when the timer was armed */
	unsigned		 nreq;
	uint64_t		 out_added;	/* bytes queued for output, ever */
	char			 peer[48];
};

/* Request flags. */
#define R_HEADERS	0x0001	/* headers are in */
#define R_BODY_DONE	0x0002	/* the parser saw the end of the message */
#define R_STARTED	0x0004	/* on_request was called: on_free will be */
#define R_FREED		0x0008	/* on_free was called */
#define R_HDR_SENT	0x0010	/* status line queued */
#define R_ANSWERED	0x0020	/* whole answer queued */
#define R_PAUSED	0x0040	/* http_body_pause */
#define R_STOPPED	0x0080	/* on_body returned -1 */
#define R_EXPECT	0x0100	/* Expect: 100-continue */
#define R_CONTINUED	0x0200	/* "100 Continue" sent */
/* Whole answers between these sizes are gzipped for clients that accept it. */
#define HTTP_GZIP_MIN	512
#define HTTP_GZIP_MAX	(8u << 20)

#define R_NOBODY	0x0400	/* HEAD, or a status without a body: drop the answer's body */
#define R_CHUNKED	0x1000	/* the request body is chunked */
#define R_OUT_CHUNKED	0x2000
#define R_OUT_RAW	0x4000	/* HTTP/1.0 streamed answer, ended by close */
#define R_DRAIN_DUE	0x8000	/* call drain_cb */
#define R_KEEPALIVE10	0x10000	/* HTTP/1.0 with Connection: keep-alive */

struct http_hdr {
	uint32_t	name;	/* offsets into buf */
	uint32_t	value;
};

struct http_request {
	struct http_conn	*conn;
	const struct http_route	*route;
	unsigned		 flags;
	unsigned		 method;
	const char		*method_name;
	char			*buf;		/* url, then names and values, NUL-terminated */
	size_t			 len;
	size_t			 cap;
	struct http_hdr		 hdr[HTTP_MAX_REQ_HEADERS];
	int			 nhdr;
	int			 last;		/* the parser's last piece: url, name, value */
	uint32_t		 path;
	uint32_t		 query;
	uint32_t		 tail;
	int64_t			 content_length;
	uint64_t		 body_len;	/* body bytes seen */
	int			 minor;		/* HTTP/1.minor */
	struct evbuffer		*out_hdrs;
	int			 nout_hdrs;
	void			(*drain_cb)(struct http_request *);
	size_t			 low_water;
	void			*data;
	int			 status;	/* answered with */
	uint64_t		 t_start;	/* µs, headers in */
	uint64_t		 t_answered;	/* µs, whole answer queued */
	uint64_t		 out_start;	/* the connection's out_added then */
	uint64_t		 in_bytes;	/* raw bytes parsed: head, body, chunking */
};

/* http.c */
void	 http_conn_kick(struct http_conn *c);
void	 http_conn_free(struct http_conn *c);
/* A connection on an accepted (or socketpair) fd; takes the fd. */
int	 http_server_adopt(struct http_server *srv, int fd, const struct sockaddr *sa,
	    socklen_t salen);

/* http_server.c */
void	 http_server_maybe_done(struct http_server *srv);

/* http_resp.c */
const char	*http_date(struct http_server *srv);
/* An error answer when there is no request to hang it on; closes after. */
void		 http_conn_reply(struct http_conn *c, int status, const char *allow,
		    const char *text);
size_t		 http_allow_str(unsigned methods, char *buf, size_t size);

#endif
