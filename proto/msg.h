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

/*
 * PROTO_GC_REPORT (one record) and PROTO_SV_GC (0..PROTO_GC_JOBS_MAX
 * records): 40 bytes each. A report is one run of one job; the supervisor
 * sums them per job name for as long as it runs (gcd's restarts included).
 */
#define PROTO_GC_COUNT_LEN	40
#define PROTO_GC_JOBS_MAX	16
struct proto_gc_count {
	char		name[PROTO_NAME_MAX];	/* the job's, NUL-padded */
	uint64_t	runs;
	uint64_t	failures;
	uint64_t	removed;	/* rows (or files) the job removed */
};

/* PROTO_CTL_RESULT: 4 + 0..1024 bytes: i32 code (0 = ok), then a message. */
#define PROTO_RESULT_MIN	4
#define PROTO_RESULT_MAX	(4 + 1024)

/* String payloads (daemon names, addresses): 1..255 bytes. */
#define PROTO_STRING_MAX	255

/*
 * mediad's service. A request names up to PROTO_MEDIA_BATCH files by the 16
 * raw bytes of their MD5 (the hex form is twice as long and must be
 * checked); a client with more sends several requests.
 */
#define PROTO_MD5_LEN		16
#define PROTO_MEDIA_BATCH	256
#define PROTO_MEDIA_HASHES_MAX	(PROTO_MD5_LEN * PROTO_MEDIA_BATCH)

/* PROTO_MEDIA_STAT_REPLY: one 32-byte record per MD5 asked, same order. */
#define PROTO_MEDIA_STAT_LEN	32
#define PROTO_MEDIA_PRESENT	0x1	/* stored; size is its length */
#define PROTO_MEDIA_ERROR	0x2	/* could not be looked at (I/O error): unknown */
struct proto_media_stat {
	uint8_t		md5[PROTO_MD5_LEN];
	uint64_t	size;		/* bytes; 0 unless PRESENT */
	uint32_t	flags;		/* PROTO_MEDIA_* */
	uint32_t	reserved;	/* 0 */
};

/* PROTO_MEDIA_DELETE_REPLY: 16 bytes. Files already absent count in neither. */
#define PROTO_MEDIA_DELETED_LEN	16
struct proto_media_deleted {
	uint32_t	deleted;	/* files removed */
	uint32_t	failed;		/* files that could not be removed */
	uint64_t	bytes;		/* bytes freed */
};

/* PROTO_MEDIA_USAGE_REPLY: 48 bytes; the counters run since mediad started. */
#define PROTO_MEDIA_USAGE_LEN	48
struct proto_media_usage {
	uint64_t	bytes;		/* stored under media/ now */
	uint64_t	files;
	uint64_t	uploads;	/* PUTs that stored or found their file */
	uint64_t	upload_bytes;
	uint64_t	downloads;	/* GETs answered with the file */
	uint64_t	rejected;	/* PUTs refused for their bytes (hash, size, type) */
};

size_t	proto_hello_enc(const struct proto_hello *h, uint8_t out[PROTO_HELLO_LEN]);
int	proto_hello_dec(const struct proto_msg *m, struct proto_hello *h);

size_t	proto_u64_enc(uint64_t v, uint8_t out[8]);
int	proto_u64_dec(const struct proto_msg *m, uint64_t *v);

size_t	proto_stats_enc(const struct proto_stats *s, uint8_t out[PROTO_STATS_LEN]);
int	proto_stats_dec(const struct proto_msg *m, struct proto_stats *s);

size_t	proto_daemon_status_enc(const struct proto_daemon_status *d,
	    uint8_t out[PROTO_DAEMON_STATUS_LEN]);
int	proto_daemon_status_dec(const struct proto_msg *m, struct proto_daemon_status *d);

/* n records (0..PROTO_GC_JOBS_MAX); out holds PROTO_GC_COUNT_LEN * n bytes. */
size_t	proto_gc_counts_enc(const struct proto_gc_count *c, size_t n, uint8_t *out);
/* c holds PROTO_GC_JOBS_MAX records; *n gets the count. */
int	proto_gc_counts_dec(const struct proto_msg *m, struct proto_gc_count *c, size_t *n);

/* out must hold PROTO_RESULT_MAX bytes; a longer message is cut. */
size_t	proto_result_enc(int32_t code, const char *message, uint8_t *out);
/* message gets at most msglen-1 bytes and a NUL. */
int	proto_result_dec(const struct proto_msg *m, int32_t *code, char *message, size_t msglen);

/* MEDIA_STAT, MEDIA_DELETE: n (1..PROTO_MEDIA_BATCH) digests. Returns the length, 0 for a bad n. */
size_t	proto_md5s_enc(const uint8_t (*md5)[PROTO_MD5_LEN], size_t n, uint8_t *out);
/* md5 holds PROTO_MEDIA_BATCH digests; *n gets the count. */
int	proto_md5s_dec(const struct proto_msg *m, uint8_t (*md5)[PROTO_MD5_LEN], size_t *n);

/*
 * MEDIA_DELETE_OLD: a 16-byte head (the cutoff, unix seconds; 8 zero bytes),
 * then n digests. A file written (or stored again) at or after the cutoff is
 * kept: a sweep that decided from an older look at the database must not
 * take a file someone uploaded since. out holds PROTO_MD5_LEN + PROTO_MEDIA_HASHES_MAX.
 */
size_t	proto_media_delete_old_enc(int64_t cutoff, const uint8_t (*md5)[PROTO_MD5_LEN],
	    size_t n, uint8_t *out);
int	proto_media_delete_old_dec(const struct proto_msg *m, int64_t *cutoff,
	    uint8_t (*md5)[PROTO_MD5_LEN], size_t *n);

/* n records (1..PROTO_MEDIA_BATCH); out holds PROTO_MEDIA_STAT_LEN * n bytes. 0 for a bad n. */
size_t	proto_media_stat_enc(const struct proto_media_stat *st, size_t n, uint8_t *out);
/* st holds PROTO_MEDIA_BATCH records. Unknown flags or a non-zero reserved: -1. */
int	proto_media_stat_dec(const struct proto_msg *m, struct proto_media_stat *st, size_t *n);

size_t	proto_media_deleted_enc(const struct proto_media_deleted *d,
	    uint8_t out[PROTO_MEDIA_DELETED_LEN]);
int	proto_media_deleted_dec(const struct proto_msg *m, struct proto_media_deleted *d);

size_t	proto_media_usage_enc(const struct proto_media_usage *u,
	    uint8_t out[PROTO_MEDIA_USAGE_LEN]);
int	proto_media_usage_dec(const struct proto_msg *m, struct proto_media_usage *u);

/* Copies a string payload into out with a NUL; -1 if it holds a NUL or does not fit. */
int	proto_string_dec(const struct proto_msg *m, char *out, size_t outlen);

#endif
