/*
 * http_server.c — listeners, limits on connections, shutdown, and binding.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "common/http_internal.h"
#include "common/log.h"

static void
srv_done_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct http_server	*srv = arg;
	void			(*done)(void *) = srv->done;

	srv->done = NULL;
	if (done != NULL)
		done(srv->done_arg);
}

void
http_server_maybe_done(struct http_server *srv)
{
	struct timeval	tv = { 0, 0 };

	/* From the loop, not from whatever freed the last connection. */
	if (srv->shutting_down && TAILQ_EMPTY(&srv->conns) && srv->done != NULL)
		event_add(srv->done_ev, &tv);
}

/* ---- the server --------------------------------------------------------------- */

static void
srv_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	static const char	 busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 20\r\n"
	    "Retry-After: 1\r\nConnection: close\r\n\r\nToo many connections";
	struct http_server	*srv = arg;

	if (srv->stats.connections >= srv->conf.max_connections) {
		/* One try on a fresh socket buffer; a short write is no loss. */
		if (write(fd, busy, sizeof(busy) - 1) > 0)
			srv->stats.responses_5xx++;
		close(fd);
		return;
	}
	http_server_adopt(srv, fd, sa, (socklen_t)salen);
}

static void
srv_accept_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct http_server	*srv = arg;
	int			 i;

	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_enable(srv->listeners[i]);
}

static void
srv_accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct http_server	*srv = arg;
	struct timeval		 tv = { 1, 0 };
	int			 i;

	/* Out of descriptors: a listener still readable would spin. */
	log_warn("http: accept");
	for (i = 0; i < srv->nlisteners; i++)
		evconnlistener_disable(srv->listeners[i]);
	event_add(srv->accept_retry, &tv);
}

struct http_server *
http_server_new(struct event_base *base, const struct http_route *routes, size_t nroutes,
    const struct http_server_conf *conf)
{
	struct http_server	*srv;
	struct http_server_conf	*cf;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		log_warn("http: server");
		return NULL;
	}
	srv->base = base;
	srv->routes = routes;
	srv->nroutes = nroutes;
	if (conf != NULL)
		srv->conf = *conf;
	cf = &srv->conf;
	if (cf->max_header_bytes == 0)
		cf->max_header_bytes = 16 * 1024;
	if (cf->header_timeout_ms == 0)
		cf->header_timeout_ms = 10 * 1000;
	if (cf->body_timeout_ms == 0)
		cf->body_timeout_ms = 30 * 1000;
	if (cf->idle_timeout_ms == 0)
		cf->idle_timeout_ms = 60 * 1000;
	if (cf->write_timeout_ms == 0)
		cf->write_timeout_ms = 60 * 1000;
	if (cf->max_connections == 0)
		cf->max_connections = 512;
	if (cf->read_chunk == 0)
		cf->read_chunk = 64 * 1024;
	TAILQ_INIT(&srv->conns);
	srv->done_ev = evtimer_new(base, srv_done_cb, srv);
	srv->accept_retry = evtimer_new(base, srv_accept_retry_cb, srv);
	if (srv->done_ev == NULL || srv->accept_retry == NULL) {
		log_warnx("http: server: out of memory");
		http_server_free(srv);
		return NULL;
	}
	return srv;
}

int
http_server_listen_fd(struct http_server *srv, int fd)
{
	struct evconnlistener	*l;

	if (srv->nlisteners == HTTP_MAX_LISTENERS || srv->shutting_down) {
		log_warnx("http: cannot add a listener");
		close(fd);
		return -1;
	}
	/* libevent accepts in a loop until EAGAIN. */
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (l = evconnlistener_new(srv->base, srv_accept_cb, srv,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd)) == NULL) {
		log_warn("http: listener");
		close(fd);
		return -1;
	}
	evconnlistener_set_error_cb(l, srv_accept_error_cb);
	srv->listeners[srv->nlisteners++] = l;
	return 0;
}

int
http_server_listen(struct http_server *srv, const char *hostport)
{
	int	fd;

	if ((fd = http_bind(hostport)) == -1)
		return -1;
	return http_server_listen_fd(srv, fd);
}

static void
srv_close_listeners(struct http_server *srv)
{
	while (srv->nlisteners > 0)
		evconnlistener_free(srv->listeners[--srv->nlisteners]);
	if (srv->accept_retry != NULL)
		event_del(srv->accept_retry);
}

void
http_server_shutdown(struct http_server *srv, void (*done)(void *), void *arg)
{
	struct http_conn	*c, *next;

	srv->shutting_down = 1;
	srv->done = done;
	srv->done_arg = arg;
	srv_close_listeners(srv);
	for (c = TAILQ_FIRST(&srv->conns); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		c->flags |= C_CLOSE;
		/* Idle: nothing asked, nothing left to send. */
		if (c->req == NULL && !(c->flags & C_LINGER) &&
		    evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
			http_conn_free(c);
		else
			http_conn_kick(c);
	}
	http_server_maybe_done(srv);
}

void
http_server_free(struct http_server *srv)
{
	if (srv == NULL)
		return;
	srv_close_listeners(srv);
	srv->done = NULL;
	while (!TAILQ_EMPTY(&srv->conns))
		http_conn_free(TAILQ_FIRST(&srv->conns));
	if (srv->done_ev != NULL)
		event_free(srv->done_ev);
	if (srv->accept_retry != NULL)
		event_free(srv->accept_retry);
	free(srv);
}

void
http_server_stats(const struct http_server *srv, struct http_stats *out)
{
	*out = srv->stats;
}

void
http_server_on_done(struct http_server *srv, void (*cb)(const struct http_done *, void *),
    void *arg)
{
	srv->on_done = cb;
	srv->on_done_arg = arg;
}

/* ---- binding ------------------------------------------------------------------ */

/* "host:port", "[v6]:port", ":port" or "*:port" (any address). */
static int
http_split_hostport(const char *hostport, char *host, size_t hsize, const char **port)
{
	const char	*end, *colon;
	size_t		 n;

	if (hostport[0] == '[') {
		if ((end = strchr(hostport, ']')) == NULL || end[1] != ':')
			return -1;
		n = (size_t)(end - hostport - 1);
		hostport++;
		*port = end + 2;
	} else {
		if ((colon = strrchr(hostport, ':')) == NULL)
			return -1;
		n = (size_t)(colon - hostport);
		*port = colon + 1;
		if (memchr(hostport, ':', n) != NULL)
			return -1;	/* an IPv6 address needs its brackets */
	}
	if (n >= hsize)
		return -1;
	memcpy(host, hostport, n);
	host[n] = '\0';
	if (strcmp(host, "*") == 0)
		host[0] = '\0';
	n = strlen(*port);
	if (n == 0 || n > 5 || strspn(*port, "0123456789") != n || atoi(*port) > 65535)
		return -1;
	return 0;
}

int
http_bind(const char *hostport)
{
	struct addrinfo	 hints, *res, *ai;
	char		 host[256];
	const char	*port;
	int		 fd = -1, one = 1, e, saved = 0;

	if (hostport == NULL || http_split_hostport(hostport, host, sizeof(host), &port) == -1) {
		log_warnx("http: bad listen address \"%s\" (want host:port or [v6]:port)",
		    hostport != NULL ? hostport : "");
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] != '\0' ? host : NULL, port, &hints, &res)) != 0) {
		log_warnx("http: %s: %s", hostport, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 128) == 0)
			break;
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		errno = saved;
		log_warn("http: cannot listen on %s", hostport);
	}
	return fd;
}
