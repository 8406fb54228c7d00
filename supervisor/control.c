/*
 * control.c — the admin socket, runtime_dir/control.sock, for ankicollabctl.
 *
 * Each request is one frame; each answer ends with one CTL_RESULT (code 0
 * for success, else a message saying why). Mode 0600: whoever runs the
 * supervisor (root, or the service user) administers it.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "proto/proto.h"
#include "supervisor/supervisor.h"

static void
control_result(struct proto_peer *peer, uint32_t id, int32_t code, const char *message)
{
	uint8_t buf[PROTO_RESULT_MAX];

	proto_send(peer, PROTO_CTL_RESULT, id, -1, buf, proto_result_enc(code, message, buf));
}

static void
control_status(struct proto_peer *peer, uint32_t id)
{
	struct proto_daemon_status	 st;
	uint8_t				 buf[PROTO_DAEMON_STATUS_LEN];
	int				 i;

	for (i = 0; i < DAEMON_COUNT; i++) {
		status_fill(&sv->child[i], &st);
		proto_daemon_status_enc(&st, buf);
		proto_send(peer, PROTO_CTL_DAEMON, id, -1, buf, sizeof(buf));
	}
	control_result(peer, id, 0, "");
}

static void
control_daemon_command(struct proto_peer *peer, const struct proto_msg *msg)
{
	char		name[PROTO_STRING_MAX + 1], reply[300];
	enum daemon_id	id;
	struct child	*c;

	if (proto_string_dec(msg, name, sizeof(name)) == -1 ||
	    (id = daemon_by_name(name)) == DAEMON_COUNT) {
		control_result(peer, msg->hdr.id, 2, "no such daemon (apid, mediad, gcd)");
		return;
	}
	if (sv->stopping) {
		control_result(peer, msg->hdr.id, 1, "the supervisor is shutting down");
		return;
	}
	c = &sv->child[id];
	switch (msg->hdr.type) {
	case PROTO_CTL_START:
		if (c->state == PROTO_STATE_RUNNING || c->state == PROTO_STATE_STARTING) {
			snprintf(reply, sizeof(reply), "%s: already %s", name,
			    proto_state_name(c->state));
			break;
		}
		child_start(c);
		snprintf(reply, sizeof(reply), "%s: starting", name);
		break;
	case PROTO_CTL_STOP:
		child_stop(c);
		snprintf(reply, sizeof(reply), "%s: stopping", name);
		break;
	default:
		child_restart(c);
		snprintf(reply, sizeof(reply), "%s: restarting", name);
		break;
	}
	log_info("control: %s", reply);
	control_result(peer, msg->hdr.id, 0, reply);
}

/*
 * `gc run`: relayed to gcd, whose GC_RESULT (child.c hands it to
 * control_gc_result) becomes this request's CTL_RESULT. One run at a time;
 * one unanswered for longer than the ctl waits is forgotten (gcd died).
 */
#define GC_PENDING_MAX_MS	15000

static struct {
	struct proto_peer	*peer;		/* NULL: none in flight */
	uint32_t		 ctl_id;
	uint32_t		 gc_id;
	uint64_t		 sent_ms;
} gc_pending;
static uint32_t	gc_seq;

void	control_gc_result(const struct proto_msg *msg);	/* for child.c */

static void
control_gc_run(struct proto_peer *peer, const struct proto_msg *msg)
{
	struct child	*c = &sv->child[DAEMON_GCD];
	char		 reply[128];

	if (c->state != PROTO_STATE_RUNNING || c->peer == NULL) {
		snprintf(reply, sizeof(reply), "gcd is not running (%s)",
		    proto_state_name(c->state));
		control_result(peer, msg->hdr.id, 1, reply);
		return;
	}
	if (gc_pending.peer != NULL && mono_ms() - gc_pending.sent_ms < GC_PENDING_MAX_MS) {
		control_result(peer, msg->hdr.id, 1, "a gc run is already in progress");
		return;
	}
	if (proto_send(c->peer, PROTO_GC_RUN, ++gc_seq, -1, msg->data, msg->len) == -1) {
		control_result(peer, msg->hdr.id, 1, "cannot reach gcd");
		return;
	}
	gc_pending.peer = peer;
	gc_pending.ctl_id = msg->hdr.id;
	gc_pending.gc_id = gc_seq;
	gc_pending.sent_ms = mono_ms();
}

void
control_gc_result(const struct proto_msg *msg)
{
	char	message[PROTO_RESULT_MAX];
	int32_t	code;

	if (gc_pending.peer == NULL || msg->hdr.id != gc_pending.gc_id)
		return;		/* its ctl went away, or a stale answer */
	if (proto_result_dec(msg, &code, message, sizeof(message)) == -1) {
		code = 1;
		snprintf(message, sizeof(message), "gcd sent a bad result");
	}
	control_result(gc_pending.peer, gc_pending.ctl_id, code, message);
	gc_pending.peer = NULL;
}

static void
control_dispatch(struct proto_peer *peer, struct proto_msg *msg, void *arg)
{
	if (msg == NULL) {
		if (gc_pending.peer == peer)
			gc_pending.peer = NULL;
		proto_peer_free(peer);
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_CTL_GC_RUN:
		control_gc_run(peer, msg);
		break;
	case PROTO_CTL_STATUS:
		control_status(peer, msg->hdr.id);
		break;
	case PROTO_CTL_START:
	case PROTO_CTL_STOP:
	case PROTO_CTL_RESTART:
		control_daemon_command(peer, msg);
		break;
	case PROTO_CTL_RELOAD: {
		char err[1024];

		if (supervisor_reload(err, sizeof(err)) == -1)
			control_result(peer, msg->hdr.id, 1, err);
		else
			control_result(peer, msg->hdr.id, 0, "config reloaded");
		break;
	}
	default:
		control_result(peer, msg->hdr.id, 2, "unknown request");
		break;
	}
}

static void
control_accept(evutil_socket_t fd, short ev, void *arg)
{
	int s;

	if ((s = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("control: accept");
		return;
	}
	if (proto_peer_new(sv->base, s, control_dispatch, NULL) == NULL)
		close(s);
}

int
control_listen(void)
{
	struct sockaddr_un	sun;
	mode_t			old;
	int			fd;

	config_runtime_path(&sv->cfg, "control.sock", sv->control_path, sizeof(sv->control_path));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(sv->control_path) >= sizeof(sun.sun_path)) {
		log_warnx("%s: path too long for a socket", sv->control_path);
		return -1;
	}
	strcpy(sun.sun_path, sv->control_path);
	/* A live supervisor answers on it; a stale socket file does not. */
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	/* Non-blocking: a full backlog (EAGAIN) also means someone listens. */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0 || errno == EAGAIN) {
		log_warnx("%s: another supervisor is running", sv->control_path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(sv->control_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 || listen(fd, 16) == -1) {
		umask(old);
		log_warn("%s", sv->control_path);
		close(fd);
		return -1;
	}
	umask(old);
	sv->control_fd = fd;
	sv->control_ev = event_new(sv->base, fd, EV_READ | EV_PERSIST, control_accept, NULL);
	if (sv->control_ev == NULL || event_add(sv->control_ev, NULL) == -1)
		return -1;
	return 0;
}

void
control_close(void)
{
	if (sv->control_ev != NULL)
		event_free(sv->control_ev);
	if (sv->control_fd > 0) {
		close(sv->control_fd);
		unlink(sv->control_path);
	}
	sv->control_ev = NULL;
	sv->control_fd = -1;
}
