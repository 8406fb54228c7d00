/*
 * proto.h — framed messages between our processes, over Unix stream sockets.
 *
 * Shaped like OpenBSD's imsg: a fixed 16-byte header, little-endian,
 *
 *	u16 type | u16 flags | u32 len (header + payload) | u32 id | u32 pid
 *
 * then the payload whose layout the type fixes (proto/msg.h). A receiver
 * checks the length against the type's rule (exact for fixed layouts, a
 * min/max for those ending in a string, a min/max and a record size for
 * arrays of fixed records) and drops the peer on any violation:
 * unknown type, bad length, unknown flag, an fd on a type that does not carry
 * one, or a missing fd on one that does. File descriptors travel with
 * SCM_RIGHTS, one per message, only on types that declare one.
 *
 * Bump PROTO_VERSION whenever a type or layout changes.
 */
#ifndef ANKICOLLAB_PROTO_H
#define ANKICOLLAB_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct event_base;

#define PROTO_VERSION	4
#define PROTO_HDR_LEN	16
#define PROTO_MAX_LEN	16384		/* a whole frame, header included */
#define PROTO_F_FD	0x0001		/* an fd travels with this frame */

/*
 * Message types, grouped by channel. The payload column names the layout in
 * proto/msg.h ("-" = empty).
 */
enum proto_type {
	/* supervisor <-> daemon, over the socketpair on the daemon's fd 3 */
	PROTO_HELLO = 100,	/* d→s  proto_hello: first message, version check */
	PROTO_LISTEN_FD,	/* s→d  string address + fd: the bound TCP listener */
	PROTO_READY,		/* d→s  -: serving */
	PROTO_HEARTBEAT,	/* s→d  u64 seq */
	PROTO_HEARTBEAT_REPLY,	/* d→s  proto_stats */
	PROTO_SHUTDOWN,		/* s→d  -: finish and exit 0 */
	PROTO_RELOAD,		/* s→d  -: re-read the config file */
	PROTO_GC_RUN,		/* s→gcd string job name, empty = all: run now */
	PROTO_GC_RESULT,	/* gcd→s proto_result: the summary, same id */
	PROTO_GC_REPORT,	/* gcd→s proto_gc_count: one job ran (runs 1, its removals) */
	PROTO_SV_STATUS,	/* d→s  -: the supervisor's view, for /health and /metrics */
	PROTO_SV_DAEMON,	/* s→d  proto_daemon_status, one per daemon, same id */
	PROTO_SV_GC,		/* s→d  0..PROTO_GC_JOBS_MAX proto_gc_count: ends the answer */

	/* ankicollabctl <-> supervisor, over runtime_dir/control.sock */
	PROTO_CTL_STATUS = 200,	/* c→s  -: answered by CTL_DAEMON… then CTL_RESULT */
	PROTO_CTL_DAEMON,	/* s→c  proto_daemon_status */
	PROTO_CTL_START,	/* c→s  string daemon name */
	PROTO_CTL_STOP,		/* c→s  string daemon name */
	PROTO_CTL_RESTART,	/* c→s  string daemon name */
	PROTO_CTL_RELOAD,	/* c→s  - */
	PROTO_CTL_RESULT,	/* s→c  proto_result: ends every answer */
	PROTO_CTL_GC_RUN,	/* c→s  string job name, empty = all; relayed to gcd */

	/* apid, gcd <-> mediad, over runtime_dir/mediad.sock; a reply echoes the id */
	PROTO_MEDIA_STAT = 300,	/* c→m  1..256 raw MD5s: which are stored, how big */
	PROTO_MEDIA_STAT_REPLY,	/* m→c  proto_media_stat per MD5, in the order asked */
	PROTO_MEDIA_DELETE,	/* c→m  1..256 raw MD5s: remove these files */
	PROTO_MEDIA_DELETE_REPLY, /* m→c  proto_media_deleted */
	PROTO_MEDIA_USAGE,	/* c→m  -: storage used */
	PROTO_MEDIA_USAGE_REPLY, /* m→c  proto_media_usage */
	PROTO_MEDIA_DELETE_OLD,	/* c→m  u64 cutoff, u64 0, 1..256 raw MD5s: remove those
				   not written since cutoff; MEDIA_DELETE_REPLY */
};

struct proto_hdr {
	uint16_t	type;
	uint16_t	flags;
	uint32_t	len;		/* header + payload */
	uint32_t	id;		/* request id, echoed in answers */
	uint32_t	pid;		/* sender's pid */
};

/* A decoded frame. data points into the reader's buffer until the next read. */
struct proto_msg {
	struct proto_hdr	 hdr;
	const uint8_t		*data;
	size_t			 len;	/* payload length */
	int			 fd;	/* -1 unless the type carries one; the receiver owns it */
};

/* The rule each type obeys. */
struct proto_type_info {
	uint16_t	 type;
	const char	*name;
	uint32_t	 min_len;	/* payload bounds, inclusive */
	uint32_t	 max_len;
	int		 has_fd;
	uint32_t	 rec_len;	/* non-zero: the payload is whole records of this size */
};

/* NULL for an unknown type. */
const struct proto_type_info	*proto_type_info(uint16_t type);
const char			*proto_type_name(uint16_t type);

/*
 * The pure decoder, and the fuzz target. Looks at the first frame in buf:
 * returns 1 and fills msg (fd = -1) and *used when a whole valid frame is
 * there, 0 when more bytes are needed, -1 with a reason in *why on any
 * violation. Checks the PROTO_F_FD flag against the type's rule, not the fd.
 */
int	proto_decode(const uint8_t *buf, size_t len, struct proto_msg *msg, size_t *used,
	    const char **why);

/* Writes the 16-byte header for a frame with a payload of len bytes. */
void	proto_encode_hdr(uint8_t out[PROTO_HDR_LEN], uint16_t type, uint16_t flags,
	    uint32_t id, size_t payload_len);

/*
 * An event-driven peer on libevent. Reads frames (and fds) as they arrive and
 * hands each to dispatch; msg == NULL means the peer is gone (EOF, error or a
 * violation, logged) and the callback should free it. Writes are queued and
 * flushed when the socket is writable; the queue is bounded (256 KiB).
 * msg->data is valid only during the callback. The callback may call
 * proto_send() and proto_peer_free() on its peer (the release then waits for
 * the callback to return); it must not run the event loop recursively.
 */
struct proto_peer;
typedef void	(*proto_dispatch_fn)(struct proto_peer *peer, struct proto_msg *msg, void *arg);

/* Makes fd non-blocking and owns it; on NULL the caller still does. */
struct proto_peer	*proto_peer_new(struct event_base *base, int fd, proto_dispatch_fn dispatch,
			    void *arg);
/* Closes the socket and any fds still queued. */
void			 proto_peer_free(struct proto_peer *peer);
/*
 * Queues one frame. fd is -1, or (on a type that carries one) an fd whose
 * ownership passes to the peer layer, which closes it once sent, or at once
 * on failure. Returns 0, or -1 with errno: EINVAL if the type/length/fd break
 * the rule, ENOBUFS if the queue is full, EPIPE if the peer is gone.
 */
int			 proto_send(struct proto_peer *peer, uint16_t type, uint32_t id, int fd,
			    const void *data, size_t len);
int			 proto_peer_fd(const struct proto_peer *peer);

/*
 * Blocking use, for ankicollabctl and tests: a reader keeps the bytes of a
 * partial frame between calls.
 */
struct proto_reader {
	uint8_t		buf[PROTO_MAX_LEN];
	size_t		len;		/* bytes held */
	size_t		consumed;	/* bytes at the front already returned */
	int		fds[8];		/* fds received ahead of their frames */
	int		nfds;
};

void	proto_reader_init(struct proto_reader *r);
/* Releases any fds still held. */
void	proto_reader_clear(struct proto_reader *r);
/*
 * Returns 1 with the next frame, 0 on EOF, -1 on error/violation/timeout
 * (timeout_ms < 0: wait for ever). errno is ETIMEDOUT on a timeout, EBADMSG
 * on a violation.
 */
int	proto_read_msg(int sock, struct proto_reader *r, struct proto_msg *msg, int timeout_ms);
/*
 * Writes one whole frame (and its fd, which the caller keeps and may close at
 * once). Returns 0 or -1 with errno (EINVAL if the type's rule is broken).
 */
int	proto_write_msg(int sock, uint16_t type, uint32_t id, int fd, const void *data, size_t len);

#endif
