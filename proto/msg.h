/*
 * msg.h — payload layouts of the proto message types, and their codecs.
 *
 * Every field is little-endian and fixed in size; a string is the rest of
 * the payload, without a terminating NUL. Each decoder checks the exact
 * length (the frame decoder has already checked the type's bounds) and
 * returns 0 or -1.
 */
#ifndef ANKICOLLAB_PROTO_MSG_H
#define ANKICOLLAB_PROTO_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/proto.h"

/* PROTO_HELLO: 12 bytes. */
#define PROTO_HELLO_LEN	12
struct proto_hello {
	uint32_t	version;	/* PROTO_VERSION */
	uint32_t	daemon;		/* enum daemon_id */
	uint32_t	pid;
};

/* PROTO_HEARTBEAT: 8 bytes. */
#define PROTO_HEARTBEAT_LEN	8

/* PROTO_HEARTBEAT_REPLY: 40 bytes. */
#define PROTO_STATS_LEN	40
struct proto_stats {
	uint64_t	seq;		/* the heartbeat answered */
	uint64_t	rss_kb;
	uint64_t	requests;	/* served since start */
	uint64_t	connections;	/* open now */
	uint64_t	errors;		/* 5xx answered since start */
};

/* Daemon states as ankicollabctl prints them. */
enum proto_daemon_state {
	PROTO_STATE_STOPPED,
	PROTO_STATE_STARTING,
	PROTO_STATE_RUNNING,
	PROTO_STATE_BACKOFF,
	PROTO_STATE_FAILED,
	PROTO_STATE_STOPPING,
};
const char	*proto_state_name(uint32_t state);

/* How the supervisor enforces memory_max. */
enum proto_memory_mode {
	PROTO_MEMORY_NONE,
	PROTO_MEMORY_CGROUP,
	PROTO_MEMORY_RLIMIT,	/* RLIMIT_AS plus RSS polling */
};
const char	*proto_memory_mode_name(uint32_t mode);

/* PROTO_CTL_DAEMON: 88 bytes. */
#define PROTO_DAEMON_STATUS_LEN	88
#define PROTO_NAME_MAX		16	/* NUL-padded */
struct proto_daemon_status {
	char		name[PROTO_NAME_MAX];
	uint32_t	state;		/* enum proto_daemon_state */
	uint32_t	pid;		/* 0 when not running */
	uint64_t	rss_kb;
	uint32_t	restarts;
	uint32_t	oom_kills;
	uint64_t	memory_max;	/* bytes, 0 = none */
	uint64_t	requests;
	uint64_t	uptime_ms;	/* since the current pid started */
	uint32_t	memory_mode;	/* enum proto_memory_mode */
	uint32_t	heartbeat_ok;	/* answered its last heartbeat */
	uint64_t	backoff_ms;	/* until the next start, in state backoff */
	uint32_t	supervisor_pid;
	uint32_t	reserved;
};

/* PROTO_CTL_RESULT: 4 + 0..1024 bytes: i32 code (0 = ok), then a message. */
#define PROTO_RESULT_MIN	4
#define PROTO_RESULT_MAX	(4 + 1024)

/* String payloads (daemon names, addresses): 1..255 bytes. */
#define PROTO_STRING_MAX	255

size_t	proto_hello_enc(const struct proto_hello *h, uint8_t out[PROTO_HELLO_LEN]);
int	proto_hello_dec(const struct proto_msg *m, struct proto_hello *h);

size_t	proto_u64_enc(uint64_t v, uint8_t out[8]);
int	proto_u64_dec(const struct proto_msg *m, uint64_t *v);

size_t	proto_stats_enc(const struct proto_stats *s, uint8_t out[PROTO_STATS_LEN]);
int	proto_stats_dec(const struct proto_msg *m, struct proto_stats *s);

size_t	proto_daemon_status_enc(const struct proto_daemon_status *d,
	    uint8_t out[PROTO_DAEMON_STATUS_LEN]);
int	proto_daemon_status_dec(const struct proto_msg *m, struct proto_daemon_status *d);

/* out must hold PROTO_RESULT_MAX bytes; a longer message is cut. */
size_t	proto_result_enc(int32_t code, const char *message, uint8_t *out);
/* message gets at most msglen-1 bytes and a NUL. */
int	proto_result_dec(const struct proto_msg *m, int32_t *code, char *message, size_t msglen);

/* Copies a string payload into out with a NUL; -1 if it holds a NUL or does not fit. */
int	proto_string_dec(const struct proto_msg *m, char *out, size_t outlen);

#endif
