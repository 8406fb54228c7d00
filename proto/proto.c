/*
 * proto.c — framing, the type table, a libevent peer and blocking helpers.
 *
 * A frame is a 16-byte little-endian header and a payload; see proto.h. Both
 * the event-driven peer and the blocking reader keep their input in a struct
 * proto_reader and decode it with proto_decode(), so there is one set of
 * checks. A file descriptor rides on the first byte of its frame (one
 * sendmsg() per fd), and the receiver matches received fds to frames flagged
 * PROTO_F_FD in arrival order.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/log.h"
#include "common/clock.h"
#include "proto/proto.h"
#include "proto/msg.h"

#define PROTO_OUT_MAX	(256 * 1024)	/* queued output per peer, bytes */
#define PROTO_FDS_MAX	((int)(sizeof(((struct proto_reader *)0)->fds) / sizeof(int)))
#define PROTO_IOV_MAX	16		/* frames gathered per sendmsg() */

static const struct proto_type_info proto_types[] = {
	{ PROTO_HELLO, "HELLO", PROTO_HELLO_LEN, PROTO_HELLO_LEN, 0, 0 },
	{ PROTO_LISTEN_FD, "LISTEN_FD", 1, PROTO_STRING_MAX, 1, 0 },
	{ PROTO_READY, "READY", 0, 0, 0, 0 },
	{ PROTO_HEARTBEAT, "HEARTBEAT", PROTO_HEARTBEAT_LEN, PROTO_HEARTBEAT_LEN, 0, 0 },
	{ PROTO_HEARTBEAT_REPLY, "HEARTBEAT_REPLY", PROTO_STATS_LEN, PROTO_STATS_LEN, 0, 0 },
	{ PROTO_SHUTDOWN, "SHUTDOWN", 0, 0, 0, 0 },
	{ PROTO_RELOAD, "RELOAD", 0, 0, 0, 0 },
	{ PROTO_GC_RUN, "GC_RUN", 0, PROTO_STRING_MAX, 0, 0 },
	{ PROTO_GC_RESULT, "GC_RESULT", PROTO_RESULT_MIN, PROTO_RESULT_MAX, 0, 0 },
	{ PROTO_GC_REPORT, "GC_REPORT", PROTO_GC_COUNT_LEN, PROTO_GC_COUNT_LEN, 0, 0 },
	{ PROTO_SV_STATUS, "SV_STATUS", 0, 0, 0, 0 },
	{ PROTO_SV_DAEMON, "SV_DAEMON", PROTO_DAEMON_STATUS_LEN, PROTO_DAEMON_STATUS_LEN, 0, 0 },
	{ PROTO_SV_GC, "SV_GC", 0, PROTO_GC_COUNT_LEN * PROTO_GC_JOBS_MAX, 0,
	    PROTO_GC_COUNT_LEN },
	{ PROTO_CTL_STATUS, "CTL_STATUS", 0, 0, 0, 0 },
	{ PROTO_CTL_DAEMON, "CTL_DAEMON", PROTO_DAEMON_STATUS_LEN,
	    PROTO_DAEMON_STATUS_LEN, 0, 0 },
	{ PROTO_CTL_START, "CTL_START", 1, PROTO_STRING_MAX, 0, 0 },
	{ PROTO_CTL_STOP, "CTL_STOP", 1, PROTO_STRING_MAX, 0, 0 },
	{ PROTO_CTL_RESTART, "CTL_RESTART", 1, PROTO_STRING_MAX, 0, 0 },
	{ PROTO_CTL_RELOAD, "CTL_RELOAD", 0, 0, 0, 0 },
	{ PROTO_CTL_RESULT, "CTL_RESULT", PROTO_RESULT_MIN, PROTO_RESULT_MAX, 0, 0 },
	{ PROTO_CTL_GC_RUN, "CTL_GC_RUN", 0, PROTO_STRING_MAX, 0, 0 },
	{ PROTO_MEDIA_STAT, "MEDIA_STAT", PROTO_MD5_LEN, PROTO_MEDIA_HASHES_MAX, 0,
	    PROTO_MD5_LEN },
	{ PROTO_MEDIA_STAT_REPLY, "MEDIA_STAT_REPLY", PROTO_MEDIA_STAT_LEN,
	    PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH, 0, PROTO_MEDIA_STAT_LEN },
	{ PROTO_MEDIA_DELETE, "MEDIA_DELETE", PROTO_MD5_LEN, PROTO_MEDIA_HASHES_MAX, 0,
	    PROTO_MD5_LEN },
	{ PROTO_MEDIA_DELETE_REPLY, "MEDIA_DELETE_REPLY", PROTO_MEDIA_DELETED_LEN,
	    PROTO_MEDIA_DELETED_LEN, 0, 0 },
	{ PROTO_MEDIA_USAGE, "MEDIA_USAGE", 0, 0, 0, 0 },
	{ PROTO_MEDIA_USAGE_REPLY, "MEDIA_USAGE_REPLY", PROTO_MEDIA_USAGE_LEN,
	    PROTO_MEDIA_USAGE_LEN, 0, 0 },
	{ PROTO_MEDIA_DELETE_OLD, "MEDIA_DELETE_OLD", PROTO_MD5_LEN * 2,
	    PROTO_MD5_LEN + PROTO_MEDIA_HASHES_MAX, 0, PROTO_MD5_LEN },
};

/* One queued outgoing frame; fd rides on its first byte. */
struct proto_out {
	TAILQ_ENTRY(proto_out)	 entry;
	size_t			 len;
	size_t			 off;	/* bytes already sent */
	int			 fd;	/* -1, or ours to close once sent */
	uint8_t			 data[];
};

struct proto_peer {
	int			 sock;
	struct event		*ev_read;
	struct event		*ev_write;
	proto_dispatch_fn	 dispatch;
	void			*arg;
	TAILQ_HEAD(, proto_out)	 out;
	size_t			 outlen;
	int			 writing;	/* ev_write is added */
	int			 dispatching;	/* inside a dispatch callback */
	int			 freed;		/* freed during dispatch: free after */
	int			 dead;		/* gone; told the owner */
	int			 wdead;		/* peer stopped reading: drain input */
	struct proto_reader	 in;
};

/* ---- the type table and the pure codec ---------------------------------- */

const struct proto_type_info *
proto_type_info(uint16_t type)
{
	size_t	 i;

	for (i = 0; i < sizeof(proto_types) / sizeof(proto_types[0]); i++)
		if (proto_types[i].type == type)
			return &proto_types[i];
	return NULL;
}

const char *
proto_type_name(uint16_t type)
{
	const struct proto_type_info	*ti;

	if ((ti = proto_type_info(type)) == NULL)
		return "unknown";
	return ti->name;
}

static uint16_t
proto_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t
proto_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
proto_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
proto_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/*
 * The header alone decides whether a frame is acceptable, so a bad one is
 * refused as soon as its 16 bytes are in, before waiting for its payload.
 */
static const char *
proto_check_hdr(const struct proto_hdr *h)
{
	const struct proto_type_info	*ti;
	uint32_t			 plen;

	if (h->len < PROTO_HDR_LEN)
		return "frame length below header size";
	if (h->len > PROTO_MAX_LEN)
		return "frame too long";
	if ((ti = proto_type_info(h->type)) == NULL)
		return "unknown message type";
	plen = h->len - PROTO_HDR_LEN;
	if (plen < ti->min_len || plen > ti->max_len)
		return "bad payload length for type";
	if (ti->rec_len != 0 && plen % ti->rec_len != 0)
		return "payload not a whole number of records";
	if (h->flags & ~PROTO_F_FD)
		return "unknown flags";
	if (ti->has_fd && !(h->flags & PROTO_F_FD))
		return "fd missing on a type that carries one";
	if (!ti->has_fd && (h->flags & PROTO_F_FD))
		return "fd on a type that carries none";
	return NULL;
}

int
proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg, size_t *used,
    const char **why)
{
	struct proto_hdr	 h;
	const char		*err;

	if (len < PROTO_HDR_LEN)
		return 0;
	h.type = proto_get16(buf);
	h.flags = proto_get16(buf + 2);
	h.len = proto_get32(buf + 4);
	h.id = proto_get32(buf + 8);
	h.pid = proto_get32(buf + 12);
	if ((err = proto_check_hdr(&h)) != NULL) {
		if (why != NULL)
			*why = err;
		return -1;
	}
	if (len < h.len)
		return 0;
	msg->hdr = h;
	msg->data = buf + PROTO_HDR_LEN;
	msg->len = h.len - PROTO_HDR_LEN;
	msg->fd = -1;
	*used = h.len;
	return 1;
}

void
proto_encode_hdr(uint8_t out[PROTO_HDR_LEN], uint16_t type, uint16_t flags,
    uint32_t id, size_t payload_len)
{
	proto_put16(out, type);
	proto_put16(out + 2, flags);
	proto_put32(out + 4, (uint32_t)(PROTO_HDR_LEN + payload_len));
	proto_put32(out + 8, id);
	proto_put32(out + 12, (uint32_t)getpid());
}

/* A sender checks the same rule a receiver will, and fails early. */
static int
proto_check_send(uint16_t type, int fd, const void *data, size_t len)
{
	const struct proto_type_info	*ti;

	if ((ti = proto_type_info(type)) == NULL ||
	    len < ti->min_len || len > ti->max_len ||
	    (ti->rec_len != 0 && len % ti->rec_len != 0) ||
	    (len > 0 && data == NULL) ||
	    (ti->has_fd != 0) != (fd >= 0)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ---- input: the reader shared by both modes ----------------------------- */

void
proto_reader_init(struct proto_reader *r)
{
	r->len = 0;
	r->consumed = 0;
	r->nfds = 0;
}

void
proto_reader_clear(struct proto_reader *r)
{
	int	 i;

	for (i = 0; i < r->nfds; i++)
		close(r->fds[i]);
	proto_reader_init(r);
}

/* Closes every fd of a control message we cannot keep. */
static void
proto_close_cmsg_fds(struct msghdr *mh)
{
	struct cmsghdr	*cm;
	int		 fd;
	size_t		 i, n;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(fd);
		}
	}
}

/*
 * Queues the fds of one recvmsg(). Too many fds ahead of their frames, or
 * anything but SCM_RIGHTS, is a violation: all of them are closed then.
 */
static int
proto_reader_take_fds(struct proto_reader *r, struct msghdr *mh)
{
	struct cmsghdr	*cm;
	size_t		 i, n, total = 0;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			goto bad;
		total += (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
	}
	if ((mh->msg_flags & MSG_CTRUNC) ||
	    total > (size_t)(PROTO_FDS_MAX - r->nfds))
		goto bad;
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++)
			memcpy(&r->fds[r->nfds++], CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
	}
	return 0;
bad:
	proto_close_cmsg_fds(mh);
	errno = EBADMSG;
	return -1;
}

/*
 * One recvmsg() into the free end of the buffer, after dropping the frames
 * already handed out. Returns bytes read, 0 on EOF, -1 with errno (EAGAIN
 * and EINTR included; EBADMSG for fds we refuse).
 */
static ssize_t
proto_reader_fill(int sock, struct proto_reader *r)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * PROTO_FDS_MAX)];
	}		 cmsg;
	struct msghdr	 mh;
	struct iovec	 iov;
	ssize_t		 n;

	if (r->consumed > 0) {
		memmove(r->buf, r->buf + r->consumed, r->len - r->consumed);
		r->len -= r->consumed;
		r->consumed = 0;
	}
	if (r->len >= sizeof(r->buf)) {
		/* Cannot happen: proto_decode refuses frames over the buffer. */
		errno = EBADMSG;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = r->buf + r->len;
	iov.iov_len = sizeof(r->buf) - r->len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);
	if ((n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	if (proto_reader_take_fds(r, &mh) == -1)
		return -1;
	r->len += (size_t)n;
	return n;
}

/*
 * The next whole frame held, with its fd if flagged. Returns 1, 0 when more
 * bytes are needed, -1 with *why on a violation.
 */
static int
proto_reader_next(struct proto_reader *r, struct proto_msg *msg, const char **why)
{
	size_t	 used;
	int	 rv, need;

	rv = proto_decode(r->buf + r->consumed, r->len - r->consumed, msg, &used, why);
	if (rv != 1)
		return rv;
	need = (msg->hdr.flags & PROTO_F_FD) ? 1 : 0;
	if (r->nfds < need) {
		*why = "frame flagged for an fd but none received";
		return -1;
	}
	/*
	 * An fd arrives with its frame's first byte, so once every byte held
	 * is a whole frame, a spare fd came with a frame that carries none.
	 */
	if (r->consumed + used == r->len && r->nfds > need) {
		*why = "fd received with a frame that carries none";
		return -1;
	}
	if (need) {
		msg->fd = r->fds[0];
		r->nfds--;
		memmove(r->fds, r->fds + 1, (size_t)r->nfds * sizeof(int));
	}
	r->consumed += used;
	return 1;
}

/* ---- output: one sendmsg() with an optional fd --------------------------- */

static ssize_t
proto_sendmsg(int sock, struct iovec *iov, int iovcnt, int fd)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	}		 cmsg;
	struct msghdr	 mh;
	struct cmsghdr	*cm;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = (size_t)iovcnt;
	if (fd >= 0) {
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = sizeof(cmsg.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* ---- the blocking helpers ------------------------------------------------ */

/*
 * A Unix socket whose peer closed with our bytes unread reports ECONNRESET
 * instead of EOF; between frames that is just the end of the conversation.
 */
static int
proto_is_reset(const struct proto_reader *r)
{
	return errno == ECONNRESET && r->len == 0;
}

/* Waits for events on sock until the deadline (-1: none); 0, or -1 with errno. */
static int
proto_wait(int sock, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int64_t		 d;
	int		 left = -1, rv;

	for (;;) {
		if (deadline >= 0) {
			d = deadline - (int64_t)mono_ms();
			left = d < 0 ? 0 : (d > INT32_MAX ? INT32_MAX : (int)d);
		}
		pfd.fd = sock;
		pfd.events = events;
		pfd.revents = 0;
		rv = poll(&pfd, 1, left);
		if (rv == -1 && errno == EINTR)
			continue;
		if (rv == -1)
			return -1;
		if (rv == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (pfd.revents & POLLNVAL) {
			errno = EBADF;
			return -1;
		}
		return 0;
	}
}

int
proto_read_msg(int sock, struct proto_reader *r, struct proto_msg *msg, int timeout_ms)
{
	const char	*why = NULL;
	int64_t		 deadline = -1;
	ssize_t		 n;
	int		 rv;

	if (timeout_ms >= 0)
		deadline = (int64_t)mono_ms() + timeout_ms;
	for (;;) {
		if ((rv = proto_reader_next(r, msg, &why)) == 1)
			return 1;
		if (rv == -1) {
			errno = EBADMSG;
			return -1;
		}
		if (proto_wait(sock, POLLIN, deadline) == -1)
			return -1;
		n = proto_reader_fill(sock, r);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1 && !proto_is_reset(r))
			return -1;
		if (n <= 0) {
			if (r->len == 0)
				return 0;
			errno = EBADMSG;	/* EOF inside a frame */
			return -1;
		}
	}
}

int
proto_write_msg(int sock, uint16_t type, uint32_t id, int fd, const void *data, size_t len)
{
	uint8_t		 hdr[PROTO_HDR_LEN];
	struct iovec	 iov[2];
	int		 iovcnt = 0, i;
	ssize_t		 n;

	if (proto_check_send(type, fd, data, len) == -1)
		return -1;
	proto_encode_hdr(hdr, type, fd >= 0 ? PROTO_F_FD : 0, id, len);
	iov[iovcnt].iov_base = hdr;
	iov[iovcnt++].iov_len = sizeof(hdr);
	if (len > 0) {
		iov[iovcnt].iov_base = (void *)(uintptr_t)data;
		iov[iovcnt++].iov_len = len;
	}
	i = 0;
	while (i < iovcnt) {
		n = proto_sendmsg(sock, iov + i, iovcnt - i, fd);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (proto_wait(sock, POLLOUT, -1) == -1)
				return -1;
			continue;
		}
		if (n == -1)
			return -1;
		fd = -1;	/* it went with the first byte */
		while (i < iovcnt && (size_t)n >= iov[i].iov_len)
			n -= (ssize_t)iov[i++].iov_len;
		if (i < iovcnt) {
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
			iov[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

/* ---- the event-driven peer ----------------------------------------------- */

static void	proto_peer_read_cb(evutil_socket_t, short, void *);
static void	proto_peer_write_cb(evutil_socket_t, short, void *);

struct proto_peer *
proto_peer_new(struct event_base *base, int fd, proto_dispatch_fn dispatch, void *arg)
{
	struct proto_peer	*p;
	int			 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1))
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->sock = fd;
	p->dispatch = dispatch;
	p->arg = arg;
	TAILQ_INIT(&p->out);
	proto_reader_init(&p->in);
	p->ev_read = event_new(base, fd, EV_READ | EV_PERSIST, proto_peer_read_cb, p);
	p->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST, proto_peer_write_cb, p);
	if (p->ev_read == NULL || p->ev_write == NULL ||
	    event_add(p->ev_read, NULL) == -1) {
		if (p->ev_read != NULL)
			event_free(p->ev_read);
		if (p->ev_write != NULL)
			event_free(p->ev_write);
		free(p);
		return NULL;
	}
	return p;
}

/* Discards queued output, closing the fds that will never be sent. */
static void
proto_peer_drop_out(struct proto_peer *p)
{
	struct proto_out	*o;

	while ((o = TAILQ_FIRST(&p->out)) != NULL) {
		TAILQ_REMOVE(&p->out, o, entry);
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	p->outlen = 0;
}

/* The real release, once no dispatch callback is on the stack. */
static void
proto_peer_destroy(struct proto_peer *p)
{
	event_free(p->ev_read);
	event_free(p->ev_write);
	proto_peer_drop_out(p);
	proto_reader_clear(&p->in);
	close(p->sock);
	free(p);
}

void
proto_peer_free(struct proto_peer *peer)
{
	if (peer == NULL)
		return;
	if (peer->dispatching) {
		/* Our caller's frame still uses the peer: free on the way out. */
		peer->freed = 1;
		event_del(peer->ev_read);
		event_del(peer->ev_write);
		return;
	}
	proto_peer_destroy(peer);
}

int
proto_peer_fd(const struct proto_peer *peer)
{
	return peer->sock;
}

/*
 * Calls the owner back. Returns 1 if the peer was freed meanwhile, and the
 * caller must not touch it again.
 */
static int
proto_peer_call(struct proto_peer *p, struct proto_msg *msg)
{
	p->dispatching = 1;
	p->dispatch(p, msg, p->arg);
	p->dispatching = 0;
	if (p->freed) {
		proto_peer_destroy(p);
		return 1;
	}
	return 0;
}

/* The peer is gone: stop watching it and tell the owner, once. */
static void
proto_peer_gone(struct proto_peer *p, const char *why, int warn)
{
	if (p->dead)
		return;
	p->dead = 1;
	event_del(p->ev_read);
	event_del(p->ev_write);
	p->writing = 0;
	if (warn)
		log_warnx("proto: peer on fd %d: %s", p->sock, why);
	else
		log_debug("proto: peer on fd %d: %s", p->sock, why);
	(void)proto_peer_call(p, NULL);
}

static void
proto_peer_read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proto_peer	*p = arg;
	struct proto_msg	 msg;
	const char		*why = NULL;
	ssize_t			 n;
	int			 rv;

	(void)fd;
	(void)events;
	if (p->dead || p->freed)
		return;
	n = proto_reader_fill(p->sock, &p->in);
	if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return;
	if (n == -1 && proto_is_reset(&p->in))
		n = 0;
	if (n == -1) {
		proto_peer_gone(p, errno == EBADMSG ? "bad file descriptors received" :
		    strerror(errno), 1);
		return;
	}
	if (n == 0) {
		if (p->in.len > 0)
			proto_peer_gone(p, "end of file inside a frame", 1);
		else
			proto_peer_gone(p, "end of file", 0);
		return;
	}
	while ((rv = proto_reader_next(&p->in, &msg, &why)) == 1) {
		if (proto_peer_call(p, &msg))
			return;
	}
	if (rv == -1)
		proto_peer_gone(p, why, 1);
}

/*
 * Gathers queued frames into one sendmsg(). An fd must be on its frame's
 * first byte, so a frame with an unsent fd starts a batch and ends the one
 * before it.
 */
static int
proto_peer_flush(struct proto_peer *p)
{
	struct iovec		 iov[PROTO_IOV_MAX];
	struct proto_out	*o, *first;
	ssize_t			 n;
	size_t			 k;
	int			 cnt = 0;

	if ((first = TAILQ_FIRST(&p->out)) == NULL)
		return 0;
	for (o = first; o != NULL && cnt < PROTO_IOV_MAX; o = TAILQ_NEXT(o, entry)) {
		if (o != first && o->fd >= 0)
			break;
		iov[cnt].iov_base = o->data + o->off;
		iov[cnt++].iov_len = o->len - o->off;
	}
	n = proto_sendmsg(p->sock, iov, cnt, first->fd);
	if (n == -1)
		return (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
	if (first->fd >= 0) {
		close(first->fd);	/* the kernel holds its own reference now */
		first->fd = -1;
	}
	while (n > 0 && (o = TAILQ_FIRST(&p->out)) != NULL) {
		k = o->len - o->off;
		if ((size_t)n < k) {
			o->off += (size_t)n;
			break;
		}
		n -= (ssize_t)k;
		p->outlen -= o->len;
		TAILQ_REMOVE(&p->out, o, entry);
		free(o);
	}
	return 0;
}

static void
proto_peer_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct proto_peer	*p = arg;

	(void)fd;
	(void)events;
	if (p->dead || p->freed)
		return;
	if (proto_peer_flush(p) == -1) {
		if (errno != EPIPE) {
			proto_peer_gone(p, strerror(errno), 1);
			return;
		}
		/*
		 * The peer stopped reading, but what it sent before may still
		 * be waiting: drop our output and let the read side find EOF.
		 */
		p->wdead = 1;
		proto_peer_drop_out(p);
	}
	if (TAILQ_EMPTY(&p->out)) {
		event_del(p->ev_write);
		p->writing = 0;
	}
}

int
proto_send(struct proto_peer *peer, uint16_t type, uint32_t id, int fd,
    const void *data, size_t len)
{
	struct proto_out	*o;
	size_t			 total = PROTO_HDR_LEN + len;
	int			 saved;

	if (proto_check_send(type, fd, data, len) == -1)
		goto fail;
	if (peer->dead || peer->freed || peer->wdead) {
		errno = EPIPE;
		goto fail;
	}
	if (peer->outlen + total > PROTO_OUT_MAX) {
		errno = ENOBUFS;
		goto fail;
	}
	if ((o = malloc(sizeof(*o) + total)) == NULL)
		goto fail;
	proto_encode_hdr(o->data, type, fd >= 0 ? PROTO_F_FD : 0, id, len);
	if (len > 0)
		memcpy(o->data + PROTO_HDR_LEN, data, len);
	o->len = total;
	o->off = 0;
	o->fd = fd;
	TAILQ_INSERT_TAIL(&peer->out, o, entry);
	peer->outlen += total;
	if (!peer->writing) {
		if (event_add(peer->ev_write, NULL) == -1) {
			/* Unqueue: the caller sees a plain failure. */
			TAILQ_REMOVE(&peer->out, o, entry);
			peer->outlen -= total;
			free(o);
			errno = ENOMEM;
			goto fail;
		}
		peer->writing = 1;
	}
	return 0;
fail:
	/* Ownership of fd passed to us either way: never leak it. */
	if (fd >= 0) {
		saved = errno;
		close(fd);
		errno = saved;
	}
	return -1;
}
