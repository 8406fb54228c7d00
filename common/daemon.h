/*
 * daemon.h — what apid, mediad and gcd share about being supervised.
 *
 * Under the supervisor a daemon finds its control socket on the fd named by
 * ANKICOLLAB_CONTROL_FD (3). Start-up is a short exchange:
 *
 *	daemon → HELLO (version, daemon id, pid)
 *	daemon ← LISTEN_FD (apid, mediad: the TCP listener the supervisor bound)
 *	daemon → READY, once it serves
 *
 * then heartbeats (answered with RSS and request counters), RELOAD and
 * SHUTDOWN. Run alone (-d, or without that variable) a daemon binds its own
 * listener, logs to stderr and speaks sd_notify itself. SIGTERM and SIGINT
 * shut it down either way; SIGHUP reloads. EOF on the control socket means
 * the supervisor is gone: the daemon exits.
 */
#ifndef ANKICOLLAB_DAEMON_H
#define ANKICOLLAB_DAEMON_H

#include <stdint.h>

#include "common/config.h"

struct event_base;
struct http_route;
struct http_server;
struct proto_msg;
struct proto_peer;
struct proto_stats;

struct daemon_hooks {
	/* More counters for a heartbeat reply (HTTP ones are filled in). */
	void	(*stats)(struct proto_stats *out, void *arg);
	/* The config was re-read; cfg already holds the new values. */
	void	(*reload)(void *arg);
	/*
	 * Finish what is in flight, then daemon_exit(). Without it the HTTP
	 * server (if any) drains and the daemon exits 0.
	 */
	void	(*shutdown)(void *arg);
	/*
	 * A message from the supervisor that only this daemon knows (gcd's
	 * GC_RUN). Return 0 if handled, -1 if unknown (the daemon then exits:
	 * a protocol violation).
	 */
	int	(*message)(struct proto_peer *control, const struct proto_msg *msg, void *arg);
	void	*arg;
};

struct daemon {
	enum daemon_id		 id;
	struct config		 cfg;
	struct event_base	*base;
	int			 supervised;	/* has a control socket */
	int			 listen_fd;	/* -1 for gcd */
	struct daemon_hooks	 hooks;
	struct http_server	*http;		/* daemon_serve_http's */
	struct proto_peer	*control;
	struct event		*sig_term, *sig_int, *sig_hup;
	int			 shutting_down;
	int			 exit_status;
};

/*
 * Parses "-c FILE -d -v", loads the config, makes the event base, does the
 * start-up exchange (or binds the listener itself when alone). Exits with a
 * message on failure.
 */
void	daemon_init(struct daemon *d, enum daemon_id id, int argc, char *argv[]);
/*
 * For daemons whose work is HTTP: serve routes on the listener. Heartbeats
 * then report its counters and shutdown drains it. Exits on failure.
 */
struct http_server	*daemon_serve_http(struct daemon *d, const struct http_route *routes,
			    size_t nroutes);
/* Hooks, then READY to the supervisor or to systemd. */
void	daemon_ready(struct daemon *d, const struct daemon_hooks *hooks);
/* event_base_dispatch until shut down. */
int	daemon_run(struct daemon *d);
/* Leave the loop; daemon_run returns status. */
void	daemon_exit(struct daemon *d, int status);

/* This process's resident set, from /proc/self/statm, in KiB. */
uint64_t	daemon_rss_kb(void);

#endif
