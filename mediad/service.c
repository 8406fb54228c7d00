/*
 * service.c — mediad's proto service on runtime_dir/mediad.sock, for apid
 * (which files exist, how much is stored) and gcd (delete these files, or
 * those of them not written since a time).
 *
 * Every request is answered at once, from the event loop: a STAT or DELETE
 * is at most PROTO_MEDIA_BATCH stat()/unlink() calls. The reply echoes the
 * request's id. A peer that breaks the protocol (or sends a type meant for
 * someone else) is dropped. At most SERVICE_MAX_PEERS are served at once;
 * more are closed on accept.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "mediad/mediad.h"
#include "proto/msg.h"
#include "proto/proto.h"

#define SERVICE_MAX_PEERS	32
#define SERVICE_BACKLOG		16

static int	service_peers;

static void
service_drop(struct proto_peer *peer)
{
	proto_peer_free(peer);
	service_peers--;
}

static void
service_reply(struct proto_peer *peer, uint16_t type, uint32_t id, const void *data,
    size_t len)
{
	if (proto_send(peer, type, id, -1, data, len) == -1) {
		log_warn("mediad.sock: %s", proto_type_name(type));
		service_drop(peer);
	}
}

static void
service_stat(struct mediad *m, struct proto_peer *peer, const struct proto_msg *msg)
{
	uint8_t			 md5[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	struct proto_media_stat	 st[PROTO_MEDIA_BATCH];
	uint8_t			 out[PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH];
	size_t			 n, i, len;
	int			 rv;

	if (proto_md5s_dec(msg, md5, &n) == -1) {
		service_drop(peer);
		return;
	}
	memset(st, 0, sizeof(st[0]) * n);
	for (i = 0; i < n; i++) {
		memcpy(st[i].md5, md5[i], PROTO_MD5_LEN);
		if ((rv = store_stat(&m->store, md5[i], &st[i].size)) == 1)
			st[i].flags = PROTO_MEDIA_PRESENT;
		else if (rv == -1)
			st[i].flags = PROTO_MEDIA_ERROR;
	}
	len = proto_media_stat_enc(st, n, out);
	service_reply(peer, PROTO_MEDIA_STAT_REPLY, msg->hdr.id, out, len);
}

/* MEDIA_DELETE, and MEDIA_DELETE_OLD: files written since the cutoff stay. */
static void
service_delete(struct mediad *m, struct proto_peer *peer, const struct proto_msg *msg)
{
	uint8_t				 md5[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	uint8_t				 out[PROTO_MEDIA_DELETED_LEN];
	struct proto_media_deleted	 d = { 0, 0, 0 };
	char				 hex[MEDIA_MD5_HEX_LEN + 1];
	uint64_t			 size;
	int64_t				 cutoff = -1;
	size_t				 n, i, kept = 0;
	int				 rv;

	if ((msg->hdr.type == PROTO_MEDIA_DELETE ? proto_md5s_dec(msg, md5, &n) :
	    proto_media_delete_old_dec(msg, &cutoff, md5, &n)) == -1) {
		service_drop(peer);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((rv = store_delete(&m->store, md5[i], cutoff, &size)) == 1) {
			d.deleted++;
			d.bytes += size;
		} else if (rv == 2)
			kept++;
		else if (rv == -1) {
			media_md5_to_hex(md5[i], hex);
			log_warn("media/%.2s/%s: delete", hex, hex);
			d.failed++;
		}
	}
	if (d.deleted > 0)
		log_info("deleted %u media file(s), %llu bytes", d.deleted,
		    (unsigned long long)d.bytes);
	if (kept > 0)
		log_info("kept %zu media file(s) written since the sweep looked", kept);
	proto_media_deleted_enc(&d, out);
	service_reply(peer, PROTO_MEDIA_DELETE_REPLY, msg->hdr.id, out, sizeof(out));
}

static void
service_usage(struct mediad *m, struct proto_peer *peer, const struct proto_msg *msg)
{
	struct proto_media_usage	 u;
	uint8_t				 out[PROTO_MEDIA_USAGE_LEN];

	u.bytes = m->store.bytes;
	u.files = m->store.files;
	u.uploads = m->uploads;
	u.upload_bytes = m->upload_bytes;
	u.downloads = m->downloads;
	u.rejected = m->rejected;
	proto_media_usage_enc(&u, out);
	service_reply(peer, PROTO_MEDIA_USAGE_REPLY, msg->hdr.id, out, sizeof(out));
}

static void
service_dispatch(struct proto_peer *peer, struct proto_msg *msg, void *arg)
{
	struct mediad	*m = arg;

	if (msg == NULL) {
		service_drop(peer);
		return;
	}
	switch (msg->hdr.type) {
	case PROTO_MEDIA_STAT:
		service_stat(m, peer, msg);
		break;
	case PROTO_MEDIA_DELETE:
	case PROTO_MEDIA_DELETE_OLD:
		service_delete(m, peer, msg);
		break;
	case PROTO_MEDIA_USAGE:
		service_usage(m, peer, msg);
		break;
	default:
		log_warnx("mediad.sock: unexpected %s", proto_type_name(msg->hdr.type));
		service_drop(peer);
		break;
	}
}

static void
service_accept(evutil_socket_t fd, short ev, void *arg)
{
	int	 s;

	if ((s = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) == -1) {
		if (errno != EAGAIN && errno != EINTR)
			log_warn("mediad.sock: accept");
		return;
	}
	if (service_peers >= SERVICE_MAX_PEERS) {
		log_warnx("mediad.sock: %d clients already; closing a new one", service_peers);
		close(s);
		return;
	}
	if (proto_peer_new(mediad->d.base, s, service_dispatch, arg) == NULL) {
		close(s);
		return;
	}
	service_peers++;
}

void
service_init(struct mediad *m)
{
	struct sockaddr_un	 sun;
	struct event		*ev;
	char			 path[CONFIG_PATH_MAX + 16];
	mode_t			 old;
	int			 fd;

	/* Alone (-d), nobody made the runtime directory for us. */
	config_runtime_path(&m->d.cfg, "", path, sizeof(path));
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		fatal("%s", path);
	config_runtime_path(&m->d.cfg, "mediad.sock", path, sizeof(path));
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("%s: path too long for a socket", path);
	strcpy(sun.sun_path, path);
	/* Only one mediad runs per runtime_dir (the supervisor's): a socket file is stale. */
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		fatal("socket");
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, SERVICE_BACKLOG) == -1)
		fatal("%s", path);
	umask(old);
	if ((ev = event_new(m->d.base, fd, EV_READ | EV_PERSIST, service_accept, m)) == NULL ||
	    event_add(ev, NULL) == -1)
		fatalx("%s: cannot watch", path);
	log_info("serving %s", path);
}
