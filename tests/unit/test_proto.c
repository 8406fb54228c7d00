/*
 * test_proto.c — the proto library: the type table, the frame decoder's
 * checks, the payload codecs, the blocking reader/writer and the libevent
 * peer, over real socketpairs and with real fd passing.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>

#include "common/log.h"
#include "common/mediaclient.h"
#include "proto/proto.h"
#include "proto/msg.h"

/* Every type, with the bounds the table must give it (written out again on purpose). */
static const struct {
	uint16_t	type;
	uint32_t	min, max;
	int		has_fd;
} expect[] = {
	{ PROTO_HELLO, 12, 12, 0 },
	{ PROTO_LISTEN_FD, 1, 255, 1 },
	{ PROTO_READY, 0, 0, 0 },
	{ PROTO_HEARTBEAT, 8, 8, 0 },
	{ PROTO_HEARTBEAT_REPLY, 40, 40, 0 },
	{ PROTO_SHUTDOWN, 0, 0, 0 },
	{ PROTO_RELOAD, 0, 0, 0 },
	{ PROTO_GC_RUN, 0, 255, 0 },
	{ PROTO_GC_RESULT, 4, 1028, 0 },
	{ PROTO_GC_REPORT, 40, 40, 0 },
	{ PROTO_SV_STATUS, 0, 0, 0 },
	{ PROTO_SV_DAEMON, 88, 88, 0 },
	{ PROTO_SV_GC, 0, 640, 0 },
	{ PROTO_CTL_STATUS, 0, 0, 0 },
	{ PROTO_CTL_DAEMON, 88, 88, 0 },
	{ PROTO_CTL_START, 1, 255, 0 },
	{ PROTO_CTL_STOP, 1, 255, 0 },
	{ PROTO_CTL_RESTART, 1, 255, 0 },
	{ PROTO_CTL_RELOAD, 0, 0, 0 },
	{ PROTO_CTL_RESULT, 4, 1028, 0 },
	{ PROTO_CTL_GC_RUN, 0, 255, 0 },
	{ PROTO_MEDIA_STAT, 16, 4096, 0 },
	{ PROTO_MEDIA_STAT_REPLY, 32, 8192, 0 },
	{ PROTO_MEDIA_DELETE, 16, 4096, 0 },
	{ PROTO_MEDIA_DELETE_REPLY, 16, 16, 0 },
	{ PROTO_MEDIA_USAGE, 0, 0, 0 },
	{ PROTO_MEDIA_USAGE_REPLY, 48, 48, 0 },
	{ PROTO_MEDIA_DELETE_OLD, 32, 4112, 0 },
};
#define NEXPECT	(sizeof(expect) / sizeof(expect[0]))

/* A valid message; LISTEN_FD ones need an fd at send time. */
struct sample {
	uint16_t	type;
	uint32_t	id;
	size_t		len;
	uint8_t		data[PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH];	/* the longest sample */
};
#define NSAMPLES_MAX	40

static void
add_sample(struct sample *s, size_t *n, uint16_t type, const void *data, size_t len)
{
	assert_true(*n < NSAMPLES_MAX);
	s[*n].type = type;
	s[*n].id = 1000 + (uint32_t)*n;
	s[*n].len = len;
	if (len > 0)
		memcpy(s[*n].data, data, len);
	(*n)++;
}

static void
fill_status(struct proto_daemon_status *d)
{
	memset(d, 0, sizeof(*d));
	strcpy(d->name, "mediad");
	d->state = PROTO_STATE_BACKOFF;
	d->pid = 4242;
	d->rss_kb = 0x1122334455667788ULL;
	d->restarts = 3;
	d->oom_kills = 1;
	d->memory_max = 32 << 20;
	d->requests = 99;
	d->uptime_ms = 123456789;
	d->memory_mode = PROTO_MEMORY_RLIMIT;
	d->heartbeat_ok = 1;
	d->backoff_ms = 8000;
	d->supervisor_pid = 7;
}

/* mediad's types: one record and a full batch of the array ones. */
static void
make_media_samples(struct sample *s, size_t *n, uint8_t *buf)
{
	uint8_t				 md5[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	struct proto_media_stat		 st[PROTO_MEDIA_BATCH];
	struct proto_media_deleted	 d = { 3, 1, 12345 };
	struct proto_media_usage	 u = { 1 << 30, 77, 5, 5000, 9, 2 };
	size_t				 i, len;

	for (i = 0; i < PROTO_MEDIA_BATCH; i++) {
		memset(md5[i], (int)i, PROTO_MD5_LEN);
		memcpy(st[i].md5, md5[i], PROTO_MD5_LEN);
		st[i].size = i * 1000;
		st[i].flags = i % 3 == 0 ? 0 : PROTO_MEDIA_PRESENT;
		st[i].reserved = 0;
	}
	len = proto_md5s_enc(md5, 1, buf);
	add_sample(s, n, PROTO_MEDIA_STAT, buf, len);
	len = proto_md5s_enc(md5, PROTO_MEDIA_BATCH, buf);
	add_sample(s, n, PROTO_MEDIA_STAT, buf, len);
	len = proto_media_stat_enc(st, 1, buf);
	add_sample(s, n, PROTO_MEDIA_STAT_REPLY, buf, len);
	len = proto_media_stat_enc(st, PROTO_MEDIA_BATCH, buf);
	add_sample(s, n, PROTO_MEDIA_STAT_REPLY, buf, len);
	len = proto_md5s_enc(md5, 7, buf);
	add_sample(s, n, PROTO_MEDIA_DELETE, buf, len);
	len = proto_media_delete_old_enc(1750000000, md5, 5, buf);
	add_sample(s, n, PROTO_MEDIA_DELETE_OLD, buf, len);
	len = proto_media_deleted_enc(&d, buf);
	add_sample(s, n, PROTO_MEDIA_DELETE_REPLY, buf, len);
	add_sample(s, n, PROTO_MEDIA_USAGE, NULL, 0);
	len = proto_media_usage_enc(&u, buf);
	add_sample(s, n, PROTO_MEDIA_USAGE_REPLY, buf, len);
}

/* At least one of every type, and both ends of every variable one. */
static size_t
make_samples(struct sample *s)
{
	struct proto_hello		 h = { PROTO_VERSION, 1, 31337 };
	struct proto_stats		 st = { 5, 2048, 100, 3, 1 };
	struct proto_daemon_status	 d;
	uint8_t				 buf[PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH];
	char				 longstr[PROTO_RESULT_MAX];
	size_t				 n = 0, len;

	memset(longstr, 'x', sizeof(longstr));
	len = proto_hello_enc(&h, buf);
	add_sample(s, &n, PROTO_HELLO, buf, len);
	add_sample(s, &n, PROTO_LISTEN_FD, "127.0.0.1:5555", 14);
	add_sample(s, &n, PROTO_LISTEN_FD, longstr, PROTO_STRING_MAX);
	add_sample(s, &n, PROTO_READY, NULL, 0);
	len = proto_u64_enc(0x0102030405060708ULL, buf);
	add_sample(s, &n, PROTO_HEARTBEAT, buf, len);
	len = proto_stats_enc(&st, buf);
	add_sample(s, &n, PROTO_HEARTBEAT_REPLY, buf, len);
	add_sample(s, &n, PROTO_SHUTDOWN, NULL, 0);
	add_sample(s, &n, PROTO_RELOAD, NULL, 0);
	add_sample(s, &n, PROTO_GC_RUN, NULL, 0);	/* every job */
	add_sample(s, &n, PROTO_GC_RUN, "media", 5);
	add_sample(s, &n, PROTO_GC_RUN, longstr, PROTO_STRING_MAX);
	len = proto_result_enc(0, "tokens: 1 removed; media: 2 rows, 2 files removed", buf);
	add_sample(s, &n, PROTO_GC_RESULT, buf, len);
	add_sample(s, &n, PROTO_CTL_STATUS, NULL, 0);
	fill_status(&d);
	len = proto_daemon_status_enc(&d, buf);
	add_sample(s, &n, PROTO_CTL_DAEMON, buf, len);
	add_sample(s, &n, PROTO_CTL_START, "a", 1);
	add_sample(s, &n, PROTO_CTL_STOP, "mediad", 6);
	add_sample(s, &n, PROTO_CTL_RESTART, longstr, PROTO_STRING_MAX);
	add_sample(s, &n, PROTO_CTL_RELOAD, NULL, 0);
	add_sample(s, &n, PROTO_CTL_GC_RUN, NULL, 0);
	add_sample(s, &n, PROTO_CTL_GC_RUN, "wal", 3);
	len = proto_result_enc(0, NULL, buf);
	add_sample(s, &n, PROTO_CTL_RESULT, buf, len);
	len = proto_result_enc(-2, "no such daemon", buf);
	add_sample(s, &n, PROTO_CTL_RESULT, buf, len);
	longstr[PROTO_RESULT_MAX - 1] = '\0';
	len = proto_result_enc(1, longstr, buf);
	assert_int_equal(len, PROTO_RESULT_MAX);
	add_sample(s, &n, PROTO_CTL_RESULT, buf, len);
	make_media_samples(s, &n, buf);
	return n;
}

static int
type_has_fd(uint16_t type)
{
	return type == PROTO_LISTEN_FD;
}

/* A frame as a sender builds it. */
static size_t
make_frame(uint8_t *out, const struct sample *s)
{
	proto_encode_hdr(out, s->type, type_has_fd(s->type) ? PROTO_F_FD : 0, s->id, s->len);
	memcpy(out + PROTO_HDR_LEN, s->data, s->len);
	return PROTO_HDR_LEN + s->len;
}

/* A header with any field values at all, for the frames a sender cannot build. */
static void
raw_hdr(uint8_t *out, uint16_t type, uint16_t flags, uint32_t len, uint32_t id)
{
	proto_encode_hdr(out, type, flags, id, 0);
	out[4] = len & 0xff;
	out[5] = (len >> 8) & 0xff;
	out[6] = (len >> 16) & 0xff;
	out[7] = len >> 24;
}

static int
decode_status(const uint8_t *buf, size_t len)
{
	struct proto_msg	 m;
	const char		*why = NULL;
	size_t			 used = 0;
	int			 rv;

	rv = proto_decode(buf, len, &m, &used, &why);
	if (rv == -1)
		assert_non_null(why);
	return rv;
}

static void
make_socketpair(int sv[2])
{
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
}

/* The fd is open in this process. */
static int
fd_open(int fd)
{
	return fcntl(fd, F_GETFD) != -1;
}

/* Nothing waits on the socket. */
static void
assert_socket_empty(int fd)
{
	char	 c;

	assert_int_equal(recv(fd, &c, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

/* Sends bytes with optional fds, bypassing every check of ours. */
static void
raw_send(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	}		 cmsg;
	struct msghdr	 mh;
	struct iovec	 iov;
	struct cmsghdr	*cm;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cmsg, 0, sizeof(cmsg));
		mh.msg_control = cmsg.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
	}
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* The received fd is the write end of pipe p: prove it by writing through it. */
static void
assert_pipe_fd(int got, int pipe_rd)
{
	char	 buf[8];

	assert_true(got >= 0);
	assert_int_equal(fcntl(pipe_rd, F_SETFL, O_NONBLOCK), 0);	/* fail, never hang */
	assert_int_equal(write(got, "ping", 4), 4);
	assert_int_equal(read(pipe_rd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "ping", 4);
}

/* Every copy of the pipe's write end is closed; fails rather than hangs. */
static void
assert_pipe_eof(int pipe_rd)
{
	char	 c;

	assert_int_equal(fcntl(pipe_rd, F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(pipe_rd, &c, 1), 0);
}

/* ---- the table and the header --------------------------------------------- */

static void
test_type_table(void **state)
{
	const struct proto_type_info	*ti;
	size_t				 i;
	unsigned			 t;
	int				 known = 0;

	for (i = 0; i < NEXPECT; i++) {
		ti = proto_type_info(expect[i].type);
		assert_non_null(ti);
		assert_int_equal(ti->type, expect[i].type);
		assert_int_equal(ti->min_len, expect[i].min);
		assert_int_equal(ti->max_len, expect[i].max);
		assert_int_equal(!!ti->has_fd, expect[i].has_fd);
		assert_string_not_equal(proto_type_name(expect[i].type), "unknown");
	}
	/* And no other type is known. */
	for (t = 0; t <= 0xffff; t++)
		if (proto_type_info((uint16_t)t) != NULL)
			known++;
	assert_int_equal(known, NEXPECT);
	assert_null(proto_type_info(0));
	assert_string_equal(proto_type_name(99), "unknown");
	assert_string_equal(proto_type_name(PROTO_HELLO), "HELLO");
	assert_string_equal(proto_type_name(PROTO_CTL_RESULT), "CTL_RESULT");
}

static void
test_encode_hdr(void **state)
{
	uint8_t		 h[PROTO_HDR_LEN];
	uint32_t	 pid = (uint32_t)getpid();
	const uint8_t	 want[12] = {
		0x65, 0x00,		/* type 101 */
		0x01, 0x00,		/* PROTO_F_FD */
		0x12, 0x01, 0x00, 0x00,	/* 16 + 258 */
		0x44, 0x33, 0x22, 0x11,	/* id */
	};

	proto_encode_hdr(h, PROTO_LISTEN_FD, PROTO_F_FD, 0x11223344, 258);
	assert_memory_equal(h, want, sizeof(want));
	assert_int_equal(h[12] | h[13] << 8 | h[14] << 16 | (uint32_t)h[15] << 24, pid);
}

/* ---- the decoder ---------------------------------------------------------- */

static void
test_decode_valid(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	uint8_t			 buf[2 * PROTO_MAX_LEN];
	struct proto_msg	 m;
	const char		*why = NULL;
	size_t			 n, i, len, used;

	n = make_samples(s);
	for (i = 0; i < n; i++) {
		len = make_frame(buf, &s[i]);
		/* Another frame behind it must not change the answer. */
		len += make_frame(buf + len, &s[(i + 1) % n]);
		memset(&m, 0xa5, sizeof(m));
		assert_int_equal(proto_decode(buf, len, &m, &used, &why), 1);
		assert_int_equal(used, PROTO_HDR_LEN + s[i].len);
		assert_int_equal(m.hdr.type, s[i].type);
		assert_int_equal(m.hdr.flags, type_has_fd(s[i].type) ? PROTO_F_FD : 0);
		assert_int_equal(m.hdr.len, used);
		assert_int_equal(m.hdr.id, s[i].id);
		assert_int_equal(m.hdr.pid, (uint32_t)getpid());
		assert_int_equal(m.len, s[i].len);
		assert_ptr_equal(m.data, buf + PROTO_HDR_LEN);
		assert_memory_equal(m.data, s[i].data, s[i].len);
		assert_int_equal(m.fd, -1);
	}
}

/* Every prefix of every valid frame asks for more. */
static void
test_decode_truncated(void **state)
{
	struct sample	 s[NSAMPLES_MAX];
	uint8_t		 buf[PROTO_MAX_LEN];
	size_t		 n, i, len, k;

	n = make_samples(s);
	for (i = 0; i < n; i++) {
		len = make_frame(buf, &s[i]);
		for (k = 0; k < len; k++)
			assert_int_equal(decode_status(buf, k), 0);
		assert_int_equal(decode_status(buf, len), 1);
	}
}

/* Bad lengths are refused from the header alone, without waiting for more. */
static void
test_decode_bad_frame_len(void **state)
{
	static const uint32_t	 bad[] = { 0, 1, 15, PROTO_MAX_LEN + 1, 0x7fffffff,
	    0xffffffff };
	uint8_t			 buf[PROTO_MAX_LEN + 64];
	size_t			 i;

	memset(buf, 0, sizeof(buf));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* CTL_RESULT's own bounds would take PROTO_MAX_LEN's neighbours. */
		raw_hdr(buf, PROTO_CTL_RESULT, 0, bad[i], 1);
		assert_int_equal(decode_status(buf, PROTO_HDR_LEN), -1);
		assert_int_equal(decode_status(buf, sizeof(buf)), -1);
	}
}

/* One byte short and one byte long, for every type. */
static void
test_decode_wrong_payload_len(void **state)
{
	uint8_t		 buf[PROTO_MAX_LEN];
	size_t		 i;
	uint16_t	 flags;

	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < NEXPECT; i++) {
		flags = expect[i].has_fd ? PROTO_F_FD : 0;
		if (expect[i].min > 0) {
			raw_hdr(buf, expect[i].type, flags, PROTO_HDR_LEN + expect[i].min - 1, 1);
			assert_int_equal(decode_status(buf, PROTO_HDR_LEN), -1);
			assert_int_equal(decode_status(buf, sizeof(buf)), -1);
		}
		raw_hdr(buf, expect[i].type, flags, PROTO_HDR_LEN + expect[i].max + 1, 1);
		assert_int_equal(decode_status(buf, PROTO_HDR_LEN), -1);
		assert_int_equal(decode_status(buf, sizeof(buf)), -1);
		/* And both bounds themselves are fine. */
		raw_hdr(buf, expect[i].type, flags, PROTO_HDR_LEN + expect[i].min, 1);
		assert_int_equal(decode_status(buf, sizeof(buf)), 1);
		raw_hdr(buf, expect[i].type, flags, PROTO_HDR_LEN + expect[i].max, 1);
		assert_int_equal(decode_status(buf, sizeof(buf)), 1);
	}
}

static void
test_decode_unknown_type(void **state)
{
	static const uint16_t	 bad[] = { 0, 1, 99, PROTO_GC_RESULT + 1, 199,
	    PROTO_CTL_GC_RUN + 1, 299, PROTO_MEDIA_USAGE_REPLY + 1, 399,
	    0x8000 | PROTO_HELLO, 0xffff };
	uint8_t			 buf[PROTO_HDR_LEN];
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		raw_hdr(buf, bad[i], 0, PROTO_HDR_LEN, 1);
		assert_int_equal(decode_status(buf, sizeof(buf)), -1);
	}
}

static void
test_decode_unknown_flags(void **state)
{
	uint8_t		 buf[PROTO_HDR_LEN + 1] = { 0 };
	int		 bit;

	for (bit = 1; bit < 16; bit++) {
		raw_hdr(buf, PROTO_READY, (uint16_t)(1u << bit), PROTO_HDR_LEN, 1);
		assert_int_equal(decode_status(buf, PROTO_HDR_LEN), -1);
		buf[PROTO_HDR_LEN] = 'x';
		raw_hdr(buf, PROTO_LISTEN_FD, (uint16_t)(PROTO_F_FD | 1u << bit),
		    PROTO_HDR_LEN + 1, 1);
		assert_int_equal(decode_status(buf, sizeof(buf)), -1);
	}
}

/* The FD flag on every type that carries none, and its absence where one must be. */
static void
test_decode_fd_flag(void **state)
{
	uint8_t		 buf[PROTO_MAX_LEN];
	size_t		 i;

	memset(buf, 'a', sizeof(buf));
	for (i = 0; i < NEXPECT; i++) {
		raw_hdr(buf, expect[i].type, expect[i].has_fd ? 0 : PROTO_F_FD,
		    PROTO_HDR_LEN + expect[i].min, 1);
		assert_int_equal(decode_status(buf, sizeof(buf)), -1);
	}
}

/* ---- the payload codecs --------------------------------------------------- */

/* A message over a payload, as the frame decoder would hand it out. */
static struct proto_msg
msg_of(const uint8_t *data, size_t len)
{
	struct proto_msg	 m;

	memset(&m, 0, sizeof(m));
	m.data = data;
	m.len = len;
	m.fd = -1;
	return m;
}

static void
test_codec_hello(void **state)
{
	struct proto_hello	 h = { PROTO_VERSION, 2, 0xdeadbeef }, g;
	uint8_t			 buf[PROTO_HELLO_LEN + 1];
	struct proto_msg	 m;

	assert_int_equal(proto_hello_enc(&h, buf), PROTO_HELLO_LEN);
	assert_int_equal(buf[0], PROTO_VERSION);
	assert_int_equal(buf[8], 0xef);
	assert_int_equal(buf[11], 0xde);
	m = msg_of(buf, PROTO_HELLO_LEN);
	assert_int_equal(proto_hello_dec(&m, &g), 0);
	assert_int_equal(g.version, h.version);
	assert_int_equal(g.daemon, h.daemon);
	assert_int_equal(g.pid, h.pid);
	m = msg_of(buf, PROTO_HELLO_LEN - 1);
	assert_int_equal(proto_hello_dec(&m, &g), -1);
	m = msg_of(buf, PROTO_HELLO_LEN + 1);
	assert_int_equal(proto_hello_dec(&m, &g), -1);
}

static void
test_codec_u64(void **state)
{
	uint8_t			 buf[9];
	struct proto_msg	 m;
	uint64_t		 v = 0;

	assert_int_equal(proto_u64_enc(0x0102030405060708ULL, buf), 8);
	assert_int_equal(buf[0], 0x08);
	assert_int_equal(buf[7], 0x01);
	m = msg_of(buf, 8);
	assert_int_equal(proto_u64_dec(&m, &v), 0);
	assert_true(v == 0x0102030405060708ULL);
	m = msg_of(buf, 7);
	assert_int_equal(proto_u64_dec(&m, &v), -1);
	m = msg_of(buf, 9);
	assert_int_equal(proto_u64_dec(&m, &v), -1);
}

static void
test_codec_stats(void **state)
{
	struct proto_stats	 s = { UINT64_MAX, 1, 2, 3, 0x8000000000000000ULL }, g;
	uint8_t			 buf[PROTO_STATS_LEN + 1];
	struct proto_msg	 m;

	assert_int_equal(proto_stats_enc(&s, buf), PROTO_STATS_LEN);
	m = msg_of(buf, PROTO_STATS_LEN);
	assert_int_equal(proto_stats_dec(&m, &g), 0);
	assert_memory_equal(&s, &g, sizeof(s));
	m = msg_of(buf, PROTO_STATS_LEN - 1);
	assert_int_equal(proto_stats_dec(&m, &g), -1);
	m = msg_of(buf, PROTO_STATS_LEN + 1);
	assert_int_equal(proto_stats_dec(&m, &g), -1);
}

static void
test_codec_daemon_status(void **state)
{
	struct proto_daemon_status	 d, g;
	uint8_t				 buf[PROTO_DAEMON_STATUS_LEN + 1];
	struct proto_msg		 m;

	fill_status(&d);
	d.reserved = 0;
	assert_int_equal(proto_daemon_status_enc(&d, buf), PROTO_DAEMON_STATUS_LEN);
	m = msg_of(buf, PROTO_DAEMON_STATUS_LEN);
	memset(&g, 0xff, sizeof(g));
	assert_int_equal(proto_daemon_status_dec(&m, &g), 0);
	assert_memory_equal(&d, &g, sizeof(d));
	assert_string_equal(proto_state_name(g.state), "backoff");
	m = msg_of(buf, PROTO_DAEMON_STATUS_LEN - 1);
	assert_int_equal(proto_daemon_status_dec(&m, &g), -1);
	m = msg_of(buf, PROTO_DAEMON_STATUS_LEN + 1);
	assert_int_equal(proto_daemon_status_dec(&m, &g), -1);

	/* A full-width name is cut so that a NUL always ends it. */
	memcpy(d.name, "0123456789abcdef", PROTO_NAME_MAX);
	proto_daemon_status_enc(&d, buf);
	m = msg_of(buf, PROTO_DAEMON_STATUS_LEN);
	assert_int_equal(proto_daemon_status_dec(&m, &g), 0);
	assert_string_equal(g.name, "0123456789abcde");

	/* No NUL in the name, or bytes after it, are refused. */
	memset(buf, 'n', PROTO_NAME_MAX);
	assert_int_equal(proto_daemon_status_dec(&m, &g), -1);
	memset(buf, 0, PROTO_NAME_MAX);
	memcpy(buf, "apid", 4);
	buf[10] = 'z';
	assert_int_equal(proto_daemon_status_dec(&m, &g), -1);
	buf[10] = 0;
	assert_int_equal(proto_daemon_status_dec(&m, &g), 0);
	assert_string_equal(g.name, "apid");
}

static void
test_codec_result(void **state)
{
	uint8_t			 buf[PROTO_RESULT_MAX + 1];
	char			 msg[PROTO_RESULT_MAX + 1], big[2000];
	struct proto_msg	 m;
	int32_t			 code = 0;

	assert_int_equal(proto_result_enc(-5, "nope", buf), 8);
	m = msg_of(buf, 8);
	assert_int_equal(proto_result_dec(&m, &code, msg, sizeof(msg)), 0);
	assert_int_equal(code, -5);
	assert_string_equal(msg, "nope");
	/* Cut to the caller's buffer, always NUL-terminated. */
	assert_int_equal(proto_result_dec(&m, &code, msg, 3), 0);
	assert_string_equal(msg, "no");
	assert_int_equal(proto_result_dec(&m, &code, NULL, 0), 0);

	/* Empty message, and NULL on the sending side. */
	assert_int_equal(proto_result_enc(7, NULL, buf), PROTO_RESULT_MIN);
	m = msg_of(buf, PROTO_RESULT_MIN);
	assert_int_equal(proto_result_dec(&m, &code, msg, sizeof(msg)), 0);
	assert_int_equal(code, 7);
	assert_string_equal(msg, "");

	/* A long message is cut to the maximum. */
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(proto_result_enc(0, big, buf), PROTO_RESULT_MAX);
	m = msg_of(buf, PROTO_RESULT_MAX);
	assert_int_equal(proto_result_dec(&m, &code, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(msg), PROTO_RESULT_MAX - PROTO_RESULT_MIN);

	m = msg_of(buf, PROTO_RESULT_MIN - 1);
	assert_int_equal(proto_result_dec(&m, &code, msg, sizeof(msg)), -1);
	m = msg_of(buf, PROTO_RESULT_MAX + 1);
	assert_int_equal(proto_result_dec(&m, &code, msg, sizeof(msg)), -1);
	/* A NUL inside the message. */
	proto_result_enc(0, "ab", buf);
	buf[5] = '\0';
	m = msg_of(buf, 6);
	assert_int_equal(proto_result_dec(&m, &code, msg, sizeof(msg)), -1);
}

static void
test_codec_string(void **state)
{
	uint8_t			 buf[PROTO_STRING_MAX + 1];
	char			 out[PROTO_STRING_MAX + 1];
	struct proto_msg	 m;

	memset(buf, 's', sizeof(buf));
	m = msg_of((const uint8_t *)"apid", 4);
	assert_int_equal(proto_string_dec(&m, out, sizeof(out)), 0);
	assert_string_equal(out, "apid");
	assert_int_equal(proto_string_dec(&m, out, 5), 0);	/* just fits */
	assert_int_equal(proto_string_dec(&m, out, 4), -1);	/* no room for the NUL */
	m = msg_of(buf, PROTO_STRING_MAX);
	assert_int_equal(proto_string_dec(&m, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), PROTO_STRING_MAX);
	m = msg_of(buf, PROTO_STRING_MAX + 1);
	assert_int_equal(proto_string_dec(&m, out, sizeof(out) + 1), -1);
	m = msg_of(buf, 0);
	assert_int_equal(proto_string_dec(&m, out, sizeof(out)), -1);
	m = msg_of((const uint8_t *)"ap\0d", 4);
	assert_int_equal(proto_string_dec(&m, out, sizeof(out)), -1);
}

static void
test_names(void **state)
{
	static const char *const states[] = { "stopped", "starting", "running", "backoff",
	    "failed", "stopping" };
	static const char *const modes[] = { "none", "cgroup", "rlimit" };
	uint32_t	 i;

	for (i = 0; i < 6; i++)
		assert_string_equal(proto_state_name(i), states[i]);
	assert_string_equal(proto_state_name(PROTO_STATE_STOPPING + 1), "unknown");
	assert_string_equal(proto_state_name(UINT32_MAX), "unknown");
	for (i = 0; i < 3; i++)
		assert_string_equal(proto_memory_mode_name(i), modes[i]);
	assert_string_equal(proto_memory_mode_name(3), "unknown");
	assert_string_equal(proto_memory_mode_name(UINT32_MAX), "unknown");
}

/* ---- the blocking helpers ------------------------------------------------- */

static void
assert_msg_is(const struct proto_msg *m, const struct sample *s)
{
	assert_int_equal(m->hdr.type, s->type);
	assert_int_equal(m->hdr.id, s->id);
	assert_int_equal(m->hdr.pid, (uint32_t)getpid());
	assert_int_equal(m->len, s->len);
	assert_memory_equal(m->data, s->data, s->len);
	assert_int_equal(m->fd >= 0, type_has_fd(s->type));
}

/* Sends sample s, with a fresh pipe's write end where the type carries an fd. */
static void
blocking_send(int sock, const struct sample *s, int pipe_rd_out[1])
{
	int	 p[2], fd = -1;

	*pipe_rd_out = -1;
	if (type_has_fd(s->type)) {
		assert_int_equal(pipe(p), 0);
		fd = p[1];
		*pipe_rd_out = p[0];
	}
	assert_int_equal(proto_write_msg(sock, s->type, s->id, fd, s->data, s->len), 0);
	if (fd >= 0)
		close(fd);	/* proto_write_msg leaves it to us */
}

static void
test_blocking_roundtrip_each(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct proto_reader	 r;
	struct proto_msg	 m;
	size_t			 n, i;
	int			 sv[2], rd;

	n = make_samples(s);
	make_socketpair(sv);
	proto_reader_init(&r);
	for (i = 0; i < n; i++) {
		blocking_send(sv[0], &s[i], &rd);
		assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 1);
		assert_msg_is(&m, &s[i]);
		if (rd >= 0) {
			assert_int_equal(fcntl(m.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
			assert_pipe_fd(m.fd, rd);
			close(m.fd);
			close(rd);
		}
	}
	close(sv[0]);
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 0);
	proto_reader_clear(&r);
	close(sv[1]);
}

/* All frames (and fds) in flight at once: reads hold several frames. */
static void
test_blocking_roundtrip_batch(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct proto_reader	 r;
	struct proto_msg	 m;
	size_t			 n, i;
	int			 sv[2], rd[NSAMPLES_MAX];

	n = make_samples(s);
	make_socketpair(sv);
	proto_reader_init(&r);
	for (i = 0; i < n; i++)
		blocking_send(sv[0], &s[i], &rd[i]);
	close(sv[0]);
	for (i = 0; i < n; i++) {
		assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 1);
		assert_msg_is(&m, &s[i]);
		if (rd[i] >= 0) {
			assert_pipe_fd(m.fd, rd[i]);
			close(m.fd);
			close(rd[i]);
		}
	}
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 0);
	proto_reader_clear(&r);
	close(sv[1]);
}

static void
test_blocking_fd_passing(void **state)
{
	struct proto_reader	 r;
	struct proto_msg	 m;
	char			 addr[PROTO_STRING_MAX + 1], buf[32];
	int			 sv[2], p[2];

	make_socketpair(sv);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proto_write_msg(sv[0], PROTO_LISTEN_FD, 9, p[1], "[::1]:80", 8), 0);
	close(p[1]);
	proto_reader_init(&r);
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 1);
	assert_int_equal(m.hdr.flags, PROTO_F_FD);
	assert_int_equal(proto_string_dec(&m, addr, sizeof(addr)), 0);
	assert_string_equal(addr, "[::1]:80");
	assert_true(m.fd >= 0);
	assert_int_equal(write(m.fd, "through the fd", 14), 14);
	close(m.fd);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(read(p[0], buf, sizeof(buf)), 14);
	assert_memory_equal(buf, "through the fd", 14);
	/* Every copy of the write end is closed: the pipe reports EOF. */
	assert_pipe_eof(p[0]);
	close(p[0]);
	proto_reader_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

/* EOF between frames is 0; EOF after any prefix of a frame is an error. */
static void
test_blocking_eof(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct proto_reader	 r;
	struct proto_msg	 m;
	uint8_t			 buf[PROTO_MAX_LEN];
	size_t			 len, k;
	int			 sv[2];

	make_samples(s);
	len = make_frame(buf, &s[0]);
	for (k = 1; k < len; k++) {
		make_socketpair(sv);
		assert_int_equal(write(sv[0], buf, k), (ssize_t)k);
		close(sv[0]);
		proto_reader_init(&r);
		errno = 0;
		assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), -1);
		assert_int_equal(errno, EBADMSG);
		proto_reader_clear(&r);
		close(sv[1]);
	}
	make_socketpair(sv);
	close(sv[0]);
	proto_reader_init(&r);
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 0);
	close(sv[1]);
}

/* A timeout keeps the partial frame; the rest completes it. */
static void
test_blocking_timeout(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct proto_reader	 r;
	struct proto_msg	 m;
	uint8_t			 buf[PROTO_MAX_LEN];
	size_t			 len;
	int			 sv[2];

	make_samples(s);
	len = make_frame(buf, &s[0]);
	make_socketpair(sv);
	proto_reader_init(&r);
	errno = 0;
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 20), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(write(sv[0], buf, 5), 5);
	errno = 0;
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 20), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(write(sv[0], buf + 5, len - 5), (ssize_t)(len - 5));
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), 1);
	assert_msg_is(&m, &s[0]);
	proto_reader_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

/* Reads raw bytes (and fds) and expects the reader to refuse them. */
static void
expect_reader_refuses(const void *bytes, size_t len, const int *fds, int nfds)
{
	struct proto_reader	 r;
	struct proto_msg	 m;
	int			 sv[2];

	make_socketpair(sv);
	raw_send(sv[0], bytes, len, fds, nfds);
	proto_reader_init(&r);
	errno = 0;
	assert_int_equal(proto_read_msg(sv[1], &r, &m, 1000), -1);
	assert_int_equal(errno, EBADMSG);
	proto_reader_clear(&r);
	close(sv[0]);
	close(sv[1]);
}

static void
test_blocking_violations(void **state)
{
	uint8_t		 buf[PROTO_HDR_LEN + 16];
	int		 p[2], fds[2];

	memset(buf, 'v', sizeof(buf));
	raw_hdr(buf, PROTO_READY, 0, PROTO_MAX_LEN + 1, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN, NULL, 0);
	raw_hdr(buf, PROTO_READY, 0, 8, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN, NULL, 0);
	raw_hdr(buf, 4242, 0, PROTO_HDR_LEN, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN, NULL, 0);
	raw_hdr(buf, PROTO_HEARTBEAT, 0, PROTO_HDR_LEN + 7, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN + 7, NULL, 0);
	raw_hdr(buf, PROTO_READY, 0x8000, PROTO_HDR_LEN, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN, NULL, 0);
	raw_hdr(buf, PROTO_READY, PROTO_F_FD, PROTO_HDR_LEN, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN, NULL, 0);

	/* Flagged for an fd, but none travels with it. */
	raw_hdr(buf, PROTO_LISTEN_FD, PROTO_F_FD, PROTO_HDR_LEN + 4, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN + 4, NULL, 0);

	/* An fd with a frame that carries none; two with one that carries one. */
	assert_int_equal(pipe(p), 0);
	raw_hdr(buf, PROTO_READY, 0, PROTO_HDR_LEN, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN, &p[1], 1);
	fds[0] = p[0];
	fds[1] = p[1];
	raw_hdr(buf, PROTO_LISTEN_FD, PROTO_F_FD, PROTO_HDR_LEN + 4, 1);
	expect_reader_refuses(buf, PROTO_HDR_LEN + 4, fds, 2);
	close(p[0]);
	close(p[1]);
}

/* The writer checks the type's rule and sends nothing when it is broken. */
static void
test_blocking_write_rejects(void **state)
{
	uint8_t		 buf[PROTO_RESULT_MAX + 1];
	int		 sv[2], p[2];

	memset(buf, 'w', sizeof(buf));
	make_socketpair(sv);
	assert_int_equal(pipe(p), 0);
	errno = 0;
	assert_int_equal(proto_write_msg(sv[0], 99, 1, -1, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(proto_write_msg(sv[0], PROTO_READY, 1, -1, buf, 1), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_HELLO, 1, -1, buf, 11), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_HELLO, 1, -1, buf, 13), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_CTL_START, 1, -1, buf, 0), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_CTL_START, 1, -1, buf, 256), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_CTL_RESULT, 1, -1, buf,
	    PROTO_RESULT_MAX + 1), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_HEARTBEAT, 1, -1, NULL, 8), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_READY, 1, p[1], NULL, 0), -1);
	assert_int_equal(proto_write_msg(sv[0], PROTO_LISTEN_FD, 1, -1, "x", 1), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(fd_open(p[1]));	/* the caller keeps its fd */
	assert_socket_empty(sv[1]);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
}

/* ---- mediad's types ------------------------------------------------------- */

/* Array types take whole records only, on both the reading and the writing side. */
static void
test_decode_records(void **state)
{
	static const struct {
		uint16_t	type;
		uint32_t	rec;
	} arr[] = {
		{ PROTO_MEDIA_STAT, 16 }, { PROTO_MEDIA_STAT_REPLY, 32 },
		{ PROTO_MEDIA_DELETE, 16 },
	};
	uint8_t		 buf[PROTO_MAX_LEN];
	size_t		 i;
	uint32_t	 len;
	int		 sv[2];

	memset(buf, 0, sizeof(buf));
	make_socketpair(sv);
	for (i = 0; i < sizeof(arr) / sizeof(arr[0]); i++) {
		assert_int_equal(proto_type_info(arr[i].type)->rec_len, arr[i].rec);
		for (len = arr[i].rec; len <= 4 * arr[i].rec; len++) {
			raw_hdr(buf, arr[i].type, 0, PROTO_HDR_LEN + len, 1);
			assert_int_equal(decode_status(buf, sizeof(buf)),
			    len % arr[i].rec == 0 ? 1 : -1);
			if (len % arr[i].rec == 0)
				continue;
			errno = 0;
			assert_int_equal(proto_write_msg(sv[0], arr[i].type, 1, -1, buf + 64,
			    len), -1);
			assert_int_equal(errno, EINVAL);
		}
	}
	assert_socket_empty(sv[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_codec_md5s(void **state)
{
	uint8_t			 md5[PROTO_MEDIA_BATCH + 1][PROTO_MD5_LEN], got[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	uint8_t			 buf[PROTO_MEDIA_HASHES_MAX + PROTO_MD5_LEN];
	struct proto_msg	 m;
	size_t			 i, n = 0;

	for (i = 0; i <= PROTO_MEDIA_BATCH; i++)
		memset(md5[i], (int)(i * 7), PROTO_MD5_LEN);
	assert_int_equal(proto_md5s_enc(md5, 0, buf), 0);
	assert_int_equal(proto_md5s_enc(md5, PROTO_MEDIA_BATCH + 1, buf), 0);
	assert_int_equal(proto_md5s_enc(md5, 3, buf), 48);
	m = msg_of(buf, 48);
	assert_int_equal(proto_md5s_dec(&m, got, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(got, md5, 48);
	assert_int_equal(proto_md5s_enc(md5, PROTO_MEDIA_BATCH, buf), PROTO_MEDIA_HASHES_MAX);
	m = msg_of(buf, PROTO_MEDIA_HASHES_MAX);
	assert_int_equal(proto_md5s_dec(&m, got, &n), 0);
	assert_int_equal(n, PROTO_MEDIA_BATCH);
	assert_memory_equal(got, md5, PROTO_MEDIA_HASHES_MAX);
	/* Empty, partial, one record over the batch. */
	m = msg_of(buf, 0);
	assert_int_equal(proto_md5s_dec(&m, got, &n), -1);
	m = msg_of(buf, 17);
	assert_int_equal(proto_md5s_dec(&m, got, &n), -1);
	m = msg_of(buf, PROTO_MEDIA_HASHES_MAX + PROTO_MD5_LEN);
	assert_int_equal(proto_md5s_dec(&m, got, &n), -1);
}

/* MEDIA_DELETE_OLD: a cutoff head, then whole digests; the head's padding must be zero. */
static void
test_codec_delete_old(void **state)
{
	uint8_t			 md5[PROTO_MEDIA_BATCH + 1][PROTO_MD5_LEN], got[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	uint8_t			 buf[PROTO_MEDIA_HASHES_MAX + 2 * PROTO_MD5_LEN];
	struct proto_msg	 m;
	int64_t			 cutoff = 0;
	size_t			 i, n = 0;

	for (i = 0; i <= PROTO_MEDIA_BATCH; i++)
		memset(md5[i], (int)(i * 5 + 1), PROTO_MD5_LEN);
	assert_int_equal(proto_media_delete_old_enc(1, md5, 0, buf), 0);
	assert_int_equal(proto_media_delete_old_enc(1, md5, PROTO_MEDIA_BATCH + 1, buf), 0);
	assert_int_equal(proto_media_delete_old_enc(-1, md5, 1, buf), 0);
	assert_int_equal(proto_media_delete_old_enc(1750000000, md5, 2, buf), 48);
	m = msg_of(buf, 48);
	assert_int_equal(proto_media_delete_old_dec(&m, &cutoff, got, &n), 0);
	assert_int_equal(cutoff, 1750000000);
	assert_int_equal(n, 2);
	assert_memory_equal(got, md5, 32);
	assert_int_equal(proto_media_delete_old_enc(7, md5, PROTO_MEDIA_BATCH, buf),
	    PROTO_MEDIA_HASHES_MAX + PROTO_MD5_LEN);
	m = msg_of(buf, PROTO_MEDIA_HASHES_MAX + PROTO_MD5_LEN);
	assert_int_equal(proto_media_delete_old_dec(&m, &cutoff, got, &n), 0);
	assert_int_equal(n, PROTO_MEDIA_BATCH);
	/* The head alone, a partial digest, one over the batch, non-zero padding. */
	m = msg_of(buf, 16);
	assert_int_equal(proto_media_delete_old_dec(&m, &cutoff, got, &n), -1);
	m = msg_of(buf, 40);
	assert_int_equal(proto_media_delete_old_dec(&m, &cutoff, got, &n), -1);
	m = msg_of(buf, PROTO_MEDIA_HASHES_MAX + 2 * PROTO_MD5_LEN);
	assert_int_equal(proto_media_delete_old_dec(&m, &cutoff, got, &n), -1);
	proto_media_delete_old_enc(7, md5, 2, buf);
	buf[12] = 1;
	m = msg_of(buf, 48);
	assert_int_equal(proto_media_delete_old_dec(&m, &cutoff, got, &n), -1);
}

static void
test_codec_media_stat(void **state)
{
	struct proto_media_stat	 st[2], got[PROTO_MEDIA_BATCH];
	uint8_t			 buf[2 * PROTO_MEDIA_STAT_LEN];
	struct proto_msg	 m;
	size_t			 n = 0;

	memset(st, 0, sizeof(st));
	memset(st[0].md5, 0xab, PROTO_MD5_LEN);
	st[0].size = 10485760;
	st[0].flags = PROTO_MEDIA_PRESENT;
	memset(st[1].md5, 0x01, PROTO_MD5_LEN);
	st[1].flags = PROTO_MEDIA_ERROR;
	assert_int_equal(proto_media_stat_enc(st, 0, buf), 0);
	assert_int_equal(proto_media_stat_enc(st, 2, buf), 64);
	/* Little-endian size after the digest. */
	assert_int_equal(buf[16], 0x00);
	assert_int_equal(buf[18], 0xa0);
	assert_int_equal(buf[24], PROTO_MEDIA_PRESENT);
	m = msg_of(buf, 64);
	assert_int_equal(proto_media_stat_dec(&m, got, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(got, st, sizeof(st));
	m = msg_of(buf, 63);
	assert_int_equal(proto_media_stat_dec(&m, got, &n), -1);
	/* Unknown flags and a used reserved field are refused. */
	buf[24] = 0x04;
	m = msg_of(buf, 64);
	assert_int_equal(proto_media_stat_dec(&m, got, &n), -1);
	buf[24] = PROTO_MEDIA_PRESENT;
	buf[63] = 1;
	assert_int_equal(proto_media_stat_dec(&m, got, &n), -1);
}

static void
test_codec_media_fixed(void **state)
{
	struct proto_media_deleted	 d = { 0xffffffff, 2, 0x0102030405060708ULL }, dg;
	struct proto_media_usage	 u = { 1, 2, 3, 4, 5, UINT64_MAX }, ug;
	uint8_t				 buf[PROTO_MEDIA_USAGE_LEN + 1];
	struct proto_msg		 m;

	assert_int_equal(proto_media_deleted_enc(&d, buf), PROTO_MEDIA_DELETED_LEN);
	assert_int_equal(buf[8], 0x08);
	m = msg_of(buf, PROTO_MEDIA_DELETED_LEN);
	assert_int_equal(proto_media_deleted_dec(&m, &dg), 0);
	assert_memory_equal(&d, &dg, sizeof(d));
	m = msg_of(buf, PROTO_MEDIA_DELETED_LEN + 1);
	assert_int_equal(proto_media_deleted_dec(&m, &dg), -1);

	assert_int_equal(proto_media_usage_enc(&u, buf), PROTO_MEDIA_USAGE_LEN);
	m = msg_of(buf, PROTO_MEDIA_USAGE_LEN);
	assert_int_equal(proto_media_usage_dec(&m, &ug), 0);
	assert_memory_equal(&u, &ug, sizeof(u));
	m = msg_of(buf, PROTO_MEDIA_USAGE_LEN - 1);
	assert_int_equal(proto_media_usage_dec(&m, &ug), -1);
	assert_string_equal(proto_type_name(PROTO_MEDIA_USAGE_REPLY), "MEDIA_USAGE_REPLY");
}

/* GC_REPORT, SV_GC: records of a NUL-padded job name and three counters. */
static void
test_codec_gc_counts(void **state)
{
	struct proto_gc_count	 c[2], g[PROTO_GC_JOBS_MAX];
	uint8_t			 buf[PROTO_GC_COUNT_LEN * (PROTO_GC_JOBS_MAX + 1)];
	struct proto_msg	 m;
	size_t			 n;

	memset(c, 0, sizeof(c));
	snprintf(c[0].name, sizeof(c[0].name), "tokens");
	c[0].runs = 3;
	c[0].failures = 1;
	c[0].removed = 0x0102030405060708ULL;
	snprintf(c[1].name, sizeof(c[1].name), "a-very-long-job");
	c[1].removed = UINT64_MAX;
	assert_int_equal(proto_gc_counts_enc(c, 2, buf), 2 * PROTO_GC_COUNT_LEN);
	assert_int_equal(buf[32], 0x08);
	m = msg_of(buf, 2 * PROTO_GC_COUNT_LEN);
	assert_int_equal(proto_gc_counts_dec(&m, g, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(c, g, sizeof(c));
	m = msg_of(buf, 0);
	assert_int_equal(proto_gc_counts_dec(&m, g, &n), 0);
	assert_int_equal(n, 0);
	/* A part of a record, too many records, a name without its NUL: refused. */
	m = msg_of(buf, PROTO_GC_COUNT_LEN + 1);
	assert_int_equal(proto_gc_counts_dec(&m, g, &n), -1);
	assert_int_equal(proto_gc_counts_enc(c, PROTO_GC_JOBS_MAX + 1, buf), 0);
	memset(buf, 'x', sizeof(buf));
	m = msg_of(buf, PROTO_GC_COUNT_LEN * (PROTO_GC_JOBS_MAX + 1));
	assert_int_equal(proto_gc_counts_dec(&m, g, &n), -1);
	m = msg_of(buf, PROTO_GC_COUNT_LEN);
	assert_int_equal(proto_gc_counts_dec(&m, g, &n), -1);
	assert_string_equal(proto_type_name(PROTO_SV_GC), "SV_GC");
}

/* ---- mediad's client (common/mediaclient.c) against a stand-in mediad ------- */

/*
 * A child process serving mediad.sock in dir: STAT says every file is there
 * with 100 × its first byte as size, DELETE deletes them all, USAGE gives
 * fixed numbers. With mute set it reads requests and never answers.
 */
static pid_t
fake_mediad(const char *dir, int mute)
{
	struct sockaddr_un	 sun;
	struct proto_reader	*r;
	struct proto_msg	 m;
	uint8_t			 md5[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	struct proto_media_stat	 st[PROTO_MEDIA_BATCH];
	uint8_t			 out[PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH];
	size_t			 n, i, len;
	pid_t			 pid;
	int			 lfd, fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/mediad.sock", dir);
	unlink(sun.sun_path);
	assert_true((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	if ((pid = fork()) != 0) {
		close(lfd);
		return pid;
	}
	r = malloc(sizeof(*r));
	while ((fd = accept(lfd, NULL, NULL)) != -1) {
		proto_reader_init(r);
		while (proto_read_msg(fd, r, &m, -1) == 1) {
			if (mute)
				continue;
			len = 0;
			if (m.hdr.type == PROTO_MEDIA_STAT && proto_md5s_dec(&m, md5, &n) == 0) {
				for (i = 0; i < n; i++) {
					memcpy(st[i].md5, md5[i], PROTO_MD5_LEN);
					st[i].size = 100u * md5[i][0];
					st[i].flags = md5[i][0] == 0xee ? PROTO_MEDIA_ERROR :
					    md5[i][0] != 0 ? PROTO_MEDIA_PRESENT : 0;
					st[i].reserved = 0;
				}
				len = proto_media_stat_enc(st, n, out);
				proto_write_msg(fd, PROTO_MEDIA_STAT_REPLY, m.hdr.id, -1, out, len);
			} else if (m.hdr.type == PROTO_MEDIA_DELETE &&
			    proto_md5s_dec(&m, md5, &n) == 0) {
				struct proto_media_deleted d = { (uint32_t)n, 1, 10 * n };

				len = proto_media_deleted_enc(&d, out);
				proto_write_msg(fd, PROTO_MEDIA_DELETE_REPLY, m.hdr.id, -1, out, len);
			} else if (m.hdr.type == PROTO_MEDIA_USAGE) {
				struct proto_media_usage u = { 1000, 3, 4, 5, 6, 7 };

				len = proto_media_usage_enc(&u, out);
				proto_write_msg(fd, PROTO_MEDIA_USAGE_REPLY, m.hdr.id, -1, out, len);
			}
		}
		close(fd);
	}
	_exit(0);
}

static void
reap(pid_t pid)
{
	int	 status;

	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void
test_mediaclient(void **state)
{
	static struct config		 cfg;
	static struct mediaclient	 mc;
	static char			 hex[300][MEDIA_MD5_HEX_LEN + 1];
	static const char		*hashes[300];
	static struct mediaclient_stat	 st[300];
	struct proto_media_deleted	 d;
	struct proto_media_usage	 u;
	char				 dir[] = "/tmp/test_mediaclient.XXXXXX";
	uint8_t				 md5[16];
	size_t				 i;
	pid_t				 pid;

	assert_non_null(mkdtemp(dir));
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.runtime_dir, sizeof(cfg.runtime_dir), "%s", dir);
	for (i = 0; i < 300; i++) {
		memset(md5, (int)(i % 256), sizeof(md5));
		md5[15] = (uint8_t)(i / 256);
		media_md5_to_hex(md5, hex[i]);
		hashes[i] = hex[i];
	}
	assert_string_equal(hex[1], "01010101010101010101010101010100");
	assert_int_equal(media_hex_to_md5(hex[255], md5), 0);
	assert_int_equal(md5[0], 0xff);

	mediaclient_init(&mc, &cfg, 2000);
	/* No mediad yet. */
	errno = 0;
	assert_int_equal(mediaclient_usage(&mc, &u), -1);
	assert_true(errno == ENOENT || errno == ECONNREFUSED);

	pid = fake_mediad(dir, 0);
	/* 300 hashes: two requests on one connection, answers in order. */
	assert_int_equal(mediaclient_stat(&mc, hashes, 300, st), 0);
	for (i = 0; i < 300; i++) {
		assert_int_equal(st[i].present, i % 256 != 0 && i % 256 != 0xee);
		assert_int_equal(st[i].error, i % 256 == 0xee);
		assert_int_equal(st[i].size, 100 * (i % 256));
	}
	assert_int_equal(mediaclient_delete(&mc, hashes, 300, &d), 0);
	assert_int_equal(d.deleted, 300);
	assert_int_equal(d.failed, 2);
	assert_int_equal(d.bytes, 3000);
	assert_int_equal(mediaclient_usage(&mc, &u), 0);
	assert_int_equal(u.bytes, 1000);
	assert_int_equal(u.rejected, 7);
	/* A bad hash is refused before anything is sent. */
	hashes[7] = "0123456789ABCDEF0123456789abcdef";
	errno = 0;
	assert_int_equal(mediaclient_stat(&mc, hashes, 10, st), -1);
	assert_int_equal(errno, EINVAL);
	hashes[7] = "0123";
	assert_int_equal(mediaclient_delete(&mc, hashes, 10, &d), -1);
	hashes[7] = hex[7];
	assert_int_equal(mediaclient_usage(&mc, &u), 0);

	/* mediad restarts: the next call fails, the one after connects again. */
	reap(pid);
	assert_int_equal(mediaclient_usage(&mc, &u), -1);
	pid = fake_mediad(dir, 0);
	assert_int_equal(mediaclient_usage(&mc, &u), 0);
	reap(pid);

	/* A mediad that does not answer: ETIMEDOUT after the timeout. */
	mediaclient_close(&mc);
	pid = fake_mediad(dir, 1);
	mediaclient_init(&mc, &cfg, 200);
	errno = 0;
	assert_int_equal(mediaclient_stat(&mc, hashes, 1, st), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(mc.fd, -1);
	reap(pid);
	mediaclient_close(&mc);

	snprintf(cfg.runtime_dir, sizeof(cfg.runtime_dir), "%s/mediad.sock", dir);
	unlink(cfg.runtime_dir);
	rmdir(dir);
}

/* ---- the libevent peer ---------------------------------------------------- */

/* What one side of a peer test saw. */
struct rx {
	struct event_base	*base;
	struct proto_peer	*peer;
	struct sample		 got[NSAMPLES_MAX];
	int			 fds[NSAMPLES_MAX];
	size_t			 count;
	size_t			 want;
	int			 gone;
	int			 free_on_msg;	/* free the peer from the first dispatch */
	int			 free_on_gone;
	uint32_t		 next_id;	/* for the flood test */
};

static void
rx_dispatch(struct proto_peer *peer, struct proto_msg *msg, void *arg)
{
	struct rx	*rx = arg;

	assert_ptr_equal(peer, rx->peer);
	if (msg == NULL) {
		rx->gone++;
		if (rx->free_on_gone) {
			proto_peer_free(peer);
			rx->peer = NULL;
		}
		event_base_loopexit(rx->base, NULL);
		return;
	}
	assert_true(rx->count < NSAMPLES_MAX);
	rx->got[rx->count].type = msg->hdr.type;
	rx->got[rx->count].id = msg->hdr.id;
	rx->got[rx->count].len = msg->len;
	memcpy(rx->got[rx->count].data, msg->data, msg->len);
	rx->fds[rx->count] = msg->fd;
	rx->count++;
	if (rx->free_on_msg) {
		proto_peer_free(peer);
		rx->peer = NULL;
		event_base_loopexit(rx->base, NULL);
		return;
	}
	if (rx->count == rx->want)
		event_base_loopexit(rx->base, NULL);
}

/* Runs the loop until a callback stops it, or 5 s pass. */
static void
run_loop(struct event_base *base)
{
	struct timeval	 tv = { 5, 0 };

	event_base_loopexit(base, &tv);
	assert_int_equal(event_base_dispatch(base), 0);
}

static void
rx_init(struct rx *rx, struct event_base *base, int fd)
{
	memset(rx, 0, sizeof(*rx));
	rx->base = base;
	rx->peer = proto_peer_new(base, fd, rx_dispatch, rx);
	assert_non_null(rx->peer);
	assert_int_equal(proto_peer_fd(rx->peer), fd);
}

/* Both ways at once: every sample from a to b and from b to a. */
static void
test_peer_roundtrip(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct event_base	*base;
	struct rx		 a, b;
	struct rx		*side[2] = { &a, &b };
	int			 sv[2], rd[2][NSAMPLES_MAX], p[2], fd, j;
	size_t			 n, i;

	n = make_samples(s);
	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&a, base, sv[0]);
	rx_init(&b, base, sv[1]);
	for (j = 0; j < 2; j++) {
		side[j]->want = n;
		for (i = 0; i < n; i++) {
			fd = rd[j][i] = -1;
			if (type_has_fd(s[i].type)) {
				assert_int_equal(pipe(p), 0);
				fd = p[1];		/* the peer layer owns it now */
				rd[j][i] = p[0];
			}
			assert_int_equal(proto_send(side[j]->peer, s[i].type, s[i].id, fd,
			    s[i].data, s[i].len), 0);
		}
	}
	while (a.count < n || b.count < n) {
		run_loop(base);
		assert_int_equal(a.gone + b.gone, 0);
	}
	for (j = 0; j < 2; j++) {
		struct rx *r = side[1 - j];

		for (i = 0; i < n; i++) {
			assert_int_equal(r->got[i].type, s[i].type);
			assert_int_equal(r->got[i].id, s[i].id);
			assert_int_equal(r->got[i].len, s[i].len);
			assert_memory_equal(r->got[i].data, s[i].data, s[i].len);
			assert_int_equal(r->fds[i] >= 0, type_has_fd(s[i].type));
			if (rd[j][i] >= 0) {
				assert_pipe_fd(r->fds[i], rd[j][i]);
				close(r->fds[i]);
				/* The sender closed its copy once sent: EOF now. */
				assert_pipe_eof(rd[j][i]);
				close(rd[j][i]);
			}
		}
	}
	proto_peer_free(a.peer);
	proto_peer_free(b.peer);
	event_base_free(base);
}

/* A blocking writer on one end, the peer on the other: the formats agree. */
static void
test_peer_from_blocking(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct event_base	*base;
	struct rx		 b;
	int			 sv[2], rd[NSAMPLES_MAX];
	size_t			 n, i;

	n = make_samples(s);
	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&b, base, sv[1]);
	b.want = n;
	b.free_on_gone = 1;
	for (i = 0; i < n; i++)
		blocking_send(sv[0], &s[i], &rd[i]);
	close(sv[0]);
	run_loop(base);
	assert_int_equal(b.count, n);
	/* Then EOF: the peer is reported gone, once, and freed by us. */
	run_loop(base);
	assert_int_equal(b.gone, 1);
	assert_null(b.peer);
	for (i = 0; i < n; i++) {
		assert_int_equal(b.got[i].type, s[i].type);
		assert_memory_equal(b.got[i].data, s[i].data, s[i].len);
		if (rd[i] >= 0) {
			assert_pipe_fd(b.fds[i], rd[i]);
			close(b.fds[i]);
			close(rd[i]);
		}
	}
	event_base_free(base);
}

/* Frames already read when the callback frees the peer are dropped safely. */
static void
test_peer_free_in_dispatch(void **state)
{
	struct sample		 s[NSAMPLES_MAX];
	struct event_base	*base;
	struct rx		 b;
	uint8_t			 buf[4 * PROTO_MAX_LEN];
	size_t			 n, len = 0;
	int			 sv[2], p[2];

	n = make_samples(s);
	assert_true(n > 4);
	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&b, base, sv[1]);
	b.free_on_msg = 1;
	/* READY, then a LISTEN_FD whose fd must be closed with the peer. */
	len += make_frame(buf + len, &s[3]);
	len += make_frame(buf + len, &s[1]);
	len += make_frame(buf + len, &s[3]);
	assert_int_equal(pipe(p), 0);
	raw_send(sv[0], buf, len, &p[1], 1);
	close(p[1]);
	run_loop(base);
	assert_int_equal(b.count, 1);
	assert_int_equal(b.gone, 0);
	assert_null(b.peer);
	/* The fd queued in the freed peer was closed: the pipe has no writer. */
	assert_pipe_eof(p[0]);
	close(p[0]);
	close(sv[0]);
	event_base_free(base);
}

/* A violation drops the peer: dispatch(NULL) once, nothing after it. */
static void
expect_peer_refuses(const void *bytes, size_t len, const int *fds, int nfds,
    size_t want_msgs)
{
	struct event_base	*base;
	struct rx		 b;
	int			 sv[2];

	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&b, base, sv[1]);
	b.free_on_gone = 1;
	raw_send(sv[0], bytes, len, fds, nfds);
	close(sv[0]);	/* data comes before EOF: the violation is seen first */
	run_loop(base);
	assert_int_equal(b.gone, 1);
	assert_int_equal(b.count, want_msgs);
	assert_null(b.peer);
	event_base_free(base);
}

static void
test_peer_violations(void **state)
{
	uint8_t		 buf[3 * PROTO_HDR_LEN];
	int		 p[2];

	raw_hdr(buf, 4242, 0, PROTO_HDR_LEN, 1);
	expect_peer_refuses(buf, PROTO_HDR_LEN, NULL, 0, 0);
	raw_hdr(buf, PROTO_READY, 0, PROTO_MAX_LEN + 1, 1);
	expect_peer_refuses(buf, PROTO_HDR_LEN, NULL, 0, 0);
	/* A good frame first is delivered; the bad one after it ends the peer. */
	raw_hdr(buf, PROTO_READY, 0, PROTO_HDR_LEN, 1);
	raw_hdr(buf + PROTO_HDR_LEN, PROTO_READY, 2, PROTO_HDR_LEN, 1);
	expect_peer_refuses(buf, 2 * PROTO_HDR_LEN, NULL, 0, 1);
	raw_hdr(buf, PROTO_LISTEN_FD, PROTO_F_FD, PROTO_HDR_LEN + 1, 1);
	buf[PROTO_HDR_LEN] = 'x';
	expect_peer_refuses(buf, PROTO_HDR_LEN + 1, NULL, 0, 0);
	assert_int_equal(pipe(p), 0);
	raw_hdr(buf, PROTO_READY, 0, PROTO_HDR_LEN, 1);
	expect_peer_refuses(buf, PROTO_HDR_LEN, &p[1], 1, 0);
	close(p[0]);
	close(p[1]);
	/* EOF inside a frame. */
	expect_peer_refuses(buf, PROTO_HDR_LEN - 1, NULL, 0, 0);
}

static void
test_peer_send_rejects(void **state)
{
	struct event_base	*base;
	struct rx		 a;
	uint8_t			 buf[PROTO_RESULT_MAX + 1];
	int			 sv[2], p[2];

	memset(buf, 'r', sizeof(buf));
	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&a, base, sv[0]);
	errno = 0;
	assert_int_equal(proto_send(a.peer, 99, 1, -1, NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(proto_send(a.peer, PROTO_HELLO, 1, -1, buf, 11), -1);
	assert_int_equal(proto_send(a.peer, PROTO_HELLO, 1, -1, buf, 13), -1);
	assert_int_equal(proto_send(a.peer, PROTO_CTL_STOP, 1, -1, buf, 0), -1);
	assert_int_equal(proto_send(a.peer, PROTO_CTL_RESULT, 1, -1, buf,
	    PROTO_RESULT_MAX + 1), -1);
	assert_int_equal(proto_send(a.peer, PROTO_LISTEN_FD, 1, -1, "x", 1), -1);
	/* An fd on a type that carries none is refused, and closed. */
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proto_send(a.peer, PROTO_READY, 1, p[1], NULL, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_false(fd_open(p[1]));
	close(p[0]);
	/* Nothing was queued, so nothing is written. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_socket_empty(sv[1]);
	proto_peer_free(a.peer);
	close(sv[1]);
	event_base_free(base);
}

static void
flood_dispatch(struct proto_peer *peer, struct proto_msg *msg, void *arg)
{
	struct rx	*rx = arg;
	int32_t		 code;
	char		 text[PROTO_RESULT_MAX];

	assert_non_null(msg);
	assert_int_equal(msg->hdr.type, PROTO_CTL_RESULT);
	assert_int_equal(msg->hdr.id, rx->next_id);
	assert_int_equal(proto_result_dec(msg, &code, text, sizeof(text)), 0);
	assert_int_equal(code, (int32_t)rx->next_id);
	assert_int_equal(strlen(text), PROTO_RESULT_MAX - PROTO_RESULT_MIN);
	assert_int_equal(text[0], 'a' + (int)(rx->next_id % 26));
	rx->next_id++;
	if (++rx->count == rx->want)
		event_base_loopexit(rx->base, NULL);
}

/*
 * Fills the write queue to its bound, then lets it drain through a socket
 * buffer smaller than the queue: partial writes, EV_WRITE re-armed.
 */
static void
test_peer_queue_bound(void **state)
{
	struct event_base	*base;
	struct rx		 a, b;
	uint8_t			 buf[PROTO_RESULT_MAX];
	char			 text[PROTO_RESULT_MAX];
	uint32_t		 id;
	int			 sv[2], small = 4096;

	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	rx_init(&a, base, sv[0]);
	memset(&b, 0, sizeof(b));
	b.base = base;
	assert_non_null(b.peer = proto_peer_new(base, sv[1], flood_dispatch, &b));
	for (id = 0;; id++) {
		memset(text, 'a' + (int)(id % 26), sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		proto_result_enc((int32_t)id, text, buf);
		if (proto_send(a.peer, PROTO_CTL_RESULT, id, -1, buf, sizeof(buf)) == -1)
			break;
	}
	assert_int_equal(errno, ENOBUFS);
	/* 256 KiB of 1044-byte frames. */
	assert_int_equal(id, (256 * 1024) / (PROTO_HDR_LEN + PROTO_RESULT_MAX));
	b.want = id;
	run_loop(base);
	assert_int_equal(b.count, id);
	assert_int_equal(a.count + a.gone + b.gone, 0);
	/* Drained: there is room again. */
	assert_int_equal(proto_send(a.peer, PROTO_READY, 0, -1, NULL, 0), 0);
	proto_peer_free(a.peer);
	proto_peer_free(b.peer);
	event_base_free(base);
}

/* After the other end is gone, sending fails and the fd is not leaked. */
static void
test_peer_send_after_gone(void **state)
{
	struct event_base	*base;
	struct rx		 a;
	int			 sv[2], p[2];

	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&a, base, sv[0]);
	close(sv[1]);
	run_loop(base);
	assert_int_equal(a.gone, 1);
	assert_non_null(a.peer);	/* we did not free it in the callback */
	errno = 0;
	assert_int_equal(proto_send(a.peer, PROTO_READY, 1, -1, NULL, 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proto_send(a.peer, PROTO_LISTEN_FD, 1, p[1], "x", 1), -1);
	assert_false(fd_open(p[1]));
	close(p[0]);
	/* No second report. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(a.gone, 1);
	proto_peer_free(a.peer);
	event_base_free(base);
}

/* Queued output with an fd is released when the peer is freed unsent. */
static void
test_peer_free_with_queue(void **state)
{
	struct event_base	*base;
	struct rx		 a;
	int			 sv[2], p[2];

	assert_non_null(base = event_base_new());
	make_socketpair(sv);
	rx_init(&a, base, sv[0]);
	assert_int_equal(pipe(p), 0);
	assert_int_equal(proto_send(a.peer, PROTO_LISTEN_FD, 1, p[1], "x", 1), 0);
	assert_true(fd_open(p[1]));
	proto_peer_free(a.peer);
	assert_pipe_eof(p[0]);
	assert_false(fd_open(sv[0]));
	close(p[0]);
	close(sv[1]);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_table),
		cmocka_unit_test(test_encode_hdr),
		cmocka_unit_test(test_decode_valid),
		cmocka_unit_test(test_decode_truncated),
		cmocka_unit_test(test_decode_bad_frame_len),
		cmocka_unit_test(test_decode_wrong_payload_len),
		cmocka_unit_test(test_decode_unknown_type),
		cmocka_unit_test(test_decode_unknown_flags),
		cmocka_unit_test(test_decode_fd_flag),
		cmocka_unit_test(test_codec_hello),
		cmocka_unit_test(test_codec_u64),
		cmocka_unit_test(test_codec_stats),
		cmocka_unit_test(test_codec_daemon_status),
		cmocka_unit_test(test_codec_result),
		cmocka_unit_test(test_codec_string),
		cmocka_unit_test(test_decode_records),
		cmocka_unit_test(test_codec_md5s),
		cmocka_unit_test(test_codec_media_stat),
		cmocka_unit_test(test_codec_media_fixed),
		cmocka_unit_test(test_codec_gc_counts),
		cmocka_unit_test(test_mediaclient),
		cmocka_unit_test(test_codec_delete_old),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_blocking_roundtrip_each),
		cmocka_unit_test(test_blocking_roundtrip_batch),
		cmocka_unit_test(test_blocking_fd_passing),
		cmocka_unit_test(test_blocking_eof),
		cmocka_unit_test(test_blocking_timeout),
		cmocka_unit_test(test_blocking_violations),
		cmocka_unit_test(test_blocking_write_rejects),
		cmocka_unit_test(test_peer_roundtrip),
		cmocka_unit_test(test_peer_from_blocking),
		cmocka_unit_test(test_peer_free_in_dispatch),
		cmocka_unit_test(test_peer_violations),
		cmocka_unit_test(test_peer_send_rejects),
		cmocka_unit_test(test_peer_queue_bound),
		cmocka_unit_test(test_peer_send_after_gone),
		cmocka_unit_test(test_peer_free_with_queue),
	};

	log_init("test_proto", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
