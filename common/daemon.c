/*
 * daemon.c — start-up exchange, heartbeats and signals for a supervised daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <systemd/sd-daemon.h>

#include "common/daemon.h"
#include "common/http.h"
#include "common/log.h"
#include "proto/msg.h"
#include "proto/proto.h"

#define HANDSHAKE_TIMEOUT_MS	5000

static void
usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-dv] [-c file]\n", prog);
	exit(100);
}

uint64_t
daemon_rss_kb(void)
{
	unsigned long	 size, resident;
	FILE		*fp;
	int		 n;

	if ((fp = fopen("/proc/self/statm", "r")) == NULL)
		return 0;
	n = fscanf(fp, "%lu %lu", &size, &resident);
	fclose(fp);
	if (n != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}

static void
daemon_load_config(struct daemon *d, const char *path)
{
	char err[1024];

	if (config_load(&d->cfg, path, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_set_verbose(d->cfg.verbose);
}

static void
daemon_reload(struct daemon *d)
{
	struct config	 fresh;
	char		 path[CONFIG_PATH_MAX], err[1024];

	snprintf(path, sizeof(path), "%s", d->cfg.path);
	if (config_load(&fresh, path[0] ? path : NULL, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the old config", err);
		return;
	}
	/* Generated secrets live in data_dir; keep them across a reload. */
	if (config_ensure_secrets(&fresh, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the old config", err);
		return;
	}
	d->cfg = fresh;
	log_set_verbose(d->cfg.verbose);
	log_info("config reloaded");
	if (d->hooks.reload != NULL)
		d->hooks.reload(d->hooks.arg);
}

static void
daemon_http_drained(void *arg)
{
	daemon_exit(arg, 0);
}

static void
daemon_shutdown(struct daemon *d)
{
	if (d->shutting_down)
		return;
	d->shutting_down = 1;
	log_info("shutting down");
	if (!d->supervised)
		sd_notify(0, "STOPPING=1");
	if (d->hooks.shutdown != NULL)
		d->hooks.shutdown(d->hooks.arg);
	else if (d->http != NULL)
		http_server_shutdown(d->http, daemon_http_drained, d);
	else
		daemon_exit(d, 0);
}

static void
daemon_heartbeat(struct daemon *d, const struct proto_msg *msg)
{
	struct proto_stats	 st;
	uint8_t			 buf[PROTO_STATS_LEN];
	uint64_t		 seq;

	if (proto_u64_dec(msg, &seq) == -1)
		fatalx("bad heartbeat from the supervisor");
	memset(&st, 0, sizeof(st));
	if (d->http != NULL) {
		struct http_stats hs;

		http_server_stats(d->http, &hs);
		st.requests = hs.requests;
		st.connections = hs.connections;
		st.errors = hs.responses_5xx;
	}
	if (d->hooks.stats != NULL)
		d->hooks.stats(&st, d->hooks.arg);
	st.seq = seq;
	st.rss_kb = daemon_rss_kb();
	proto_stats_enc(&st, buf);
	if (proto_send(d->control, PROTO_HEARTBEAT_REPLY, msg->hdr.id, -1, buf, sizeof(buf)) == -1)
		log_warnx("cannot queue a heartbeat reply");
}

static void
daemon_dispatch(struct proto_peer *peer, struct proto_msg *msg, void *arg)
{
	struct daemon *d = arg;

	if (msg == NULL) {
		/* The supervisor is gone; nobody would restart or stop us. */
		log_warnx("control socket closed; exiting");
		proto_peer_free(peer);
		d->control = NULL;
		daemon_exit(d, 1);
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_HEARTBEAT:
		daemon_heartbeat(d, msg);
		break;
	case PROTO_SHUTDOWN:
		daemon_shutdown(d);
		break;
	case PROTO_RELOAD:
		daemon_reload(d);
		break;
	default:
		if (d->hooks.message == NULL || d->hooks.message(peer, msg, d->hooks.arg) == -1)
			fatalx("unexpected %s from the supervisor",
			    proto_type_name(msg->hdr.type));
	}
}

static void
daemon_signal(evutil_socket_t sig, short ev, void *arg)
{
	struct daemon *d = arg;

	if (sig == SIGHUP)
		daemon_reload(d);
	else
		daemon_shutdown(d);
}

/* HELLO, then (for daemons that listen) wait for the supervisor's listener. */
static void
daemon_handshake(struct daemon *d, int fd)
{
	struct proto_reader	*r;
	struct proto_msg	 msg;
	struct proto_hello	 hello;
	uint8_t			 buf[PROTO_HELLO_LEN];

	hello.version = PROTO_VERSION;
	hello.daemon = d->id;
	hello.pid = (uint32_t)getpid();
	proto_hello_enc(&hello, buf);
	if (proto_write_msg(fd, PROTO_HELLO, 0, -1, buf, sizeof(buf)) == -1)
		fatal("control socket: hello");
	if (d->cfg.daemon[d->id].listen[0] == '\0')
		return;
	if ((r = malloc(sizeof(*r))) == NULL)
		fatal("malloc");
	proto_reader_init(r);
	if (proto_read_msg(fd, r, &msg, HANDSHAKE_TIMEOUT_MS) != 1)
		fatal("control socket: no listener from the supervisor");
	if (msg.hdr.type != PROTO_LISTEN_FD || msg.fd == -1)
		fatalx("control socket: expected a listener, got %s",
		    proto_type_name(msg.hdr.type));
	d->listen_fd = msg.fd;
	/* Nothing may follow before READY, so no bytes are left behind. */
	if (r->len != r->consumed)
		fatalx("control socket: unexpected data after the listener");
	proto_reader_clear(r);
	free(r);
}

void
daemon_init(struct daemon *d, enum daemon_id id, int argc, char *argv[])
{
	const char	*path = NULL, *env;
	char		 err[1024];
	int		 ch, debug = 0, verbose = 0, fd = -1;

	memset(d, 0, sizeof(*d));
	d->id = id;
	d->listen_fd = -1;
	log_init(daemon_name(id), 0);
	while ((ch = getopt(argc, argv, "c:dv")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'd':
			debug = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc)
		usage(argv[0]);
	daemon_load_config(d, path);
	if (verbose)
		d->cfg.verbose = 1;
	log_set_verbose(d->cfg.verbose);
	if (config_ensure_secrets(&d->cfg, err, sizeof(err)) == -1)
		fatalx("%s", err);
	signal(SIGPIPE, SIG_IGN);

	if (!debug && (env = getenv("ANKICOLLAB_CONTROL_FD")) != NULL) {
		fd = atoi(env);
		fcntl(fd, F_SETFD, FD_CLOEXEC);	/* ours, not a child's */
		d->supervised = 1;
		daemon_handshake(d, fd);
	} else if (d->cfg.daemon[id].listen[0] != '\0') {
		if ((d->listen_fd = http_bind(d->cfg.daemon[id].listen)) == -1)
			fatalx("cannot listen on %s", d->cfg.daemon[id].listen);
	}
	unsetenv("ANKICOLLAB_CONTROL_FD");

	if ((d->base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (d->supervised &&
	    (d->control = proto_peer_new(d->base, fd, daemon_dispatch, d)) == NULL)
		fatalx("control socket");
	d->sig_term = evsignal_new(d->base, SIGTERM, daemon_signal, d);
	d->sig_int = evsignal_new(d->base, SIGINT, daemon_signal, d);
	d->sig_hup = evsignal_new(d->base, SIGHUP, daemon_signal, d);
	if (d->sig_term == NULL || d->sig_int == NULL || d->sig_hup == NULL ||
	    evsignal_add(d->sig_term, NULL) == -1 || evsignal_add(d->sig_int, NULL) == -1 ||
	    evsignal_add(d->sig_hup, NULL) == -1)
		fatalx("signal events");
}

struct http_server *
daemon_serve_http(struct daemon *d, const struct http_route *routes, size_t nroutes)
{
	d->http = http_server_new(d->base, routes, nroutes, NULL);
	if (d->http == NULL || http_server_listen_fd(d->http, d->listen_fd) == -1)
		fatalx("cannot serve HTTP on %s", d->cfg.daemon[d->id].listen);
	d->listen_fd = -1;
	return d->http;
}

void
daemon_ready(struct daemon *d, const struct daemon_hooks *hooks)
{
	if (hooks != NULL)
		d->hooks = *hooks;
	if (d->supervised) {
		if (proto_send(d->control, PROTO_READY, 0, -1, NULL, 0) == -1)
			fatalx("cannot queue READY");
	} else
		sd_notify(0, "READY=1");
	log_info("ready (pid %d)", (int)getpid());
}

int
daemon_run(struct daemon *d)
{
	if (event_base_dispatch(d->base) == -1)
		fatalx("event loop failed");
	if (d->http != NULL)
		http_server_free(d->http);
	return d->exit_status;
}

void
daemon_exit(struct daemon *d, int status)
{
	d->exit_status = status;
	event_base_loopbreak(d->base);
}
