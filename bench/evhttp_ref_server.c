/*
 * evhttp_ref_server — the reference for bench_http_body.py: libevent 2.1's
 * own evhttp, which buffers a whole request body before its handler runs.
 *
 * Listens on 127.0.0.1 (port 0 unless given), prints "port N" once ready.
 * POST (any path): "<md5 hex> <bytes>" of the buffered body. GET /rss:
 * "hwm_kb=N rss_kb=N". No body limit, as evhttp_new() leaves it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>

static void
ref_rss(struct evbuffer *out)
{
	char	 line[256];
	long	 hwm = -1, rss = -1;
	FILE	*f;

	if ((f = fopen("/proc/self/status", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			sscanf(line, "VmHWM: %ld", &hwm);
			sscanf(line, "VmRSS: %ld", &rss);
		}
		fclose(f);
	}
	evbuffer_add_printf(out, "hwm_kb=%ld rss_kb=%ld", hwm, rss);
}

/* The body is all in memory by now: that is what this server is here to show. */
static void
ref_md5(struct evbuffer *in, struct evbuffer *out)
{
	struct evbuffer_ptr	 pos;
	struct evbuffer_iovec	 v;
	unsigned char		 d[EVP_MAX_MD_SIZE];
	unsigned		 dlen, i;
	EVP_MD_CTX		*md;
	size_t			 total = evbuffer_get_length(in);

	if ((md = EVP_MD_CTX_new()) == NULL || EVP_DigestInit_ex(md, EVP_md5(), NULL) != 1)
		abort();
	evbuffer_ptr_set(in, &pos, 0, EVBUFFER_PTR_SET);
	while (evbuffer_peek(in, -1, &pos, &v, 1) > 0 && v.iov_len > 0) {
		EVP_DigestUpdate(md, v.iov_base, v.iov_len);
		if (evbuffer_ptr_set(in, &pos, v.iov_len, EVBUFFER_PTR_ADD) == -1)
			break;
	}
	EVP_DigestFinal_ex(md, d, &dlen);
	EVP_MD_CTX_free(md);
	for (i = 0; i < dlen; i++)
		evbuffer_add_printf(out, "%02x", d[i]);
	evbuffer_add_printf(out, " %zu", total);
}

static void
ref_handle(struct evhttp_request *req, void *arg)
{
	struct evbuffer	*out = evbuffer_new();

	if (out == NULL)
		abort();
	if (evhttp_request_get_command(req) == EVHTTP_REQ_POST)
		ref_md5(evhttp_request_get_input_buffer(req), out);
	else
		ref_rss(out);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
ref_signal(evutil_socket_t sig, short ev, void *arg)
{
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char *argv[])
{
	struct event_base		*base;
	struct evhttp			*http;
	struct evhttp_bound_socket	*bound;
	struct sockaddr_in		 sin;
	socklen_t			 slen = sizeof(sin);
	struct event			*term;

	signal(SIGPIPE, SIG_IGN);
	if ((base = event_base_new()) == NULL || (http = evhttp_new(base)) == NULL)
		return 1;
	evhttp_set_gencb(http, ref_handle, NULL);
	if ((bound = evhttp_bind_socket_with_handle(http, "127.0.0.1",
	    argc > 1 ? (ev_uint16_t)atoi(argv[1]) : 0)) == NULL)
		return 1;
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin, &slen) == -1)
		return 1;
	if ((term = evsignal_new(base, SIGTERM, ref_signal, base)) == NULL ||
	    evsignal_add(term, NULL) == -1)
		return 1;
	printf("port %d\n", ntohs(sin.sin_port));
	fflush(stdout);
	event_base_dispatch(base);
	event_free(term);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
