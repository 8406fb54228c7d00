/*
 * msg.c — payload codecs: fixed little-endian fields, strings without a NUL.
 *
 * Decoders are strict: the exact length, no NUL inside a string, a name
 * field NUL-terminated and NUL-padded. So whatever decodes re-encodes to the
 * same bytes, which the fuzz target checks.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/msg.h"

/* Byte by byte, so that neither host order nor alignment matters. */
static void
proto_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = (v >> 24) & 0xff;
}

static void
proto_put64(uint8_t *p, uint64_t v)
{
	proto_put32(p, (uint32_t)v);
	proto_put32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t
proto_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static uint64_t
proto_get64(const uint8_t *p)
{
	return (uint64_t)proto_get32(p) | (uint64_t)proto_get32(p + 4) << 32;
}

const char *
proto_state_name(uint32_t state)
{
	static const char *const names[] = {
		[PROTO_STATE_STOPPED] = "stopped",
		[PROTO_STATE_STARTING] = "starting",
		[PROTO_STATE_RUNNING] = "running",
		[PROTO_STATE_BACKOFF] = "backoff",
		[PROTO_STATE_FAILED] = "failed",
		[PROTO_STATE_STOPPING] = "stopping",
	};

	if (state >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[state];
}

const char *
proto_memory_mode_name(uint32_t mode)
{
	static const char *const names[] = {
		[PROTO_MEMORY_NONE] = "none",
		[PROTO_MEMORY_CGROUP] = "cgroup",
		[PROTO_MEMORY_RLIMIT] = "rlimit",
	};

	if (mode >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[mode];
}

size_t
proto_hello_enc(const struct proto_hello *h, uint8_t out[PROTO_HELLO_LEN])
{
	proto_put32(out, h->version);
	proto_put32(out + 4, h->daemon);
	proto_put32(out + 8, h->pid);
	return PROTO_HELLO_LEN;
}

int
proto_hello_dec(const struct proto_msg *m, struct proto_hello *h)
{
	if (m->len != PROTO_HELLO_LEN)
		return -1;
	h->version = proto_get32(m->data);
	h->daemon = proto_get32(m->data + 4);
	h->pid = proto_get32(m->data + 8);
	return 0;
}

size_t
proto_u64_enc(uint64_t v, uint8_t out[8])
{
	proto_put64(out, v);
	return 8;
}

int
proto_u64_dec(const struct proto_msg *m, uint64_t *v)
{
	if (m->len != 8)
		return -1;
	*v = proto_get64(m->data);
	return 0;
}

size_t
proto_stats_enc(const struct proto_stats *s, uint8_t out[PROTO_STATS_LEN])
{
	proto_put64(out, s->seq);
	proto_put64(out + 8, s->rss_kb);
	proto_put64(out + 16, s->requests);
	proto_put64(out + 24, s->connections);
	proto_put64(out + 32, s->errors);
	return PROTO_STATS_LEN;
}

int
proto_stats_dec(const struct proto_msg *m, struct proto_stats *s)
{
	if (m->len != PROTO_STATS_LEN)
		return -1;
	s->seq = proto_get64(m->data);
	s->rss_kb = proto_get64(m->data + 8);
	s->requests = proto_get64(m->data + 16);
	s->connections = proto_get64(m->data + 24);
	s->errors = proto_get64(m->data + 32);
	return 0;
}

/* The name is cut to 15 bytes so that the receiver always finds a NUL. */
size_t
proto_daemon_status_enc(const struct proto_daemon_status *d,
    uint8_t out[PROTO_DAEMON_STATUS_LEN])
{
	size_t	 n;

	n = strnlen(d->name, PROTO_NAME_MAX - 1);
	memset(out, 0, PROTO_NAME_MAX);
	memcpy(out, d->name, n);
	proto_put32(out + 16, d->state);
	proto_put32(out + 20, d->pid);
	proto_put64(out + 24, d->rss_kb);
	proto_put32(out + 32, d->restarts);
	proto_put32(out + 36, d->oom_kills);
	proto_put64(out + 40, d->memory_max);
	proto_put64(out + 48, d->requests);
	proto_put64(out + 56, d->uptime_ms);
	proto_put32(out + 64, d->memory_mode);
	proto_put32(out + 68, d->heartbeat_ok);
	proto_put64(out + 72, d->backoff_ms);
	proto_put32(out + 80, d->supervisor_pid);
	proto_put32(out + 84, d->reserved);
	return PROTO_DAEMON_STATUS_LEN;
}

/* A name must end in a NUL within its field and be NUL-padded after it. */
static int
proto_name_ok(const uint8_t *p)
{
	const uint8_t	*nul;
	size_t		 i;

	if ((nul = memchr(p, '\0', PROTO_NAME_MAX)) == NULL)
		return 0;
	for (i = (size_t)(nul - p); i < PROTO_NAME_MAX; i++)
		if (p[i] != '\0')
			return 0;
	return 1;
}

int
proto_daemon_status_dec(const struct proto_msg *m, struct proto_daemon_status *d)
{
	const uint8_t	*p = m->data;

	if (m->len != PROTO_DAEMON_STATUS_LEN || !proto_name_ok(p))
		return -1;
	memcpy(d->name, p, PROTO_NAME_MAX);
	d->state = proto_get32(p + 16);
	d->pid = proto_get32(p + 20);
	d->rss_kb = proto_get64(p + 24);
	d->restarts = proto_get32(p + 32);
	d->oom_kills = proto_get32(p + 36);
	d->memory_max = proto_get64(p + 40);
	d->requests = proto_get64(p + 48);
	d->uptime_ms = proto_get64(p + 56);
	d->memory_mode = proto_get32(p + 64);
	d->heartbeat_ok = proto_get32(p + 68);
	d->backoff_ms = proto_get64(p + 72);
	d->supervisor_pid = proto_get32(p + 80);
	d->reserved = proto_get32(p + 84);
	return 0;
}

size_t
proto_gc_counts_enc(const struct proto_gc_count *c, size_t n, uint8_t *out)
{
	size_t	 i, k;
	uint8_t	*p;

	if (n > PROTO_GC_JOBS_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		p = out + i * PROTO_GC_COUNT_LEN;
		k = strnlen(c[i].name, PROTO_NAME_MAX - 1);
		memset(p, 0, PROTO_NAME_MAX);
		memcpy(p, c[i].name, k);
		proto_put64(p + 16, c[i].runs);
		proto_put64(p + 24, c[i].failures);
		proto_put64(p + 32, c[i].removed);
	}
	return n * PROTO_GC_COUNT_LEN;
}

int
proto_gc_counts_dec(const struct proto_msg *m, struct proto_gc_count *c, size_t *n)
{
	const uint8_t	*p;
	size_t		 i, k;

	if (m->len % PROTO_GC_COUNT_LEN != 0 ||
	    (k = m->len / PROTO_GC_COUNT_LEN) > PROTO_GC_JOBS_MAX)
		return -1;
	for (i = 0; i < k; i++) {
		p = m->data + i * PROTO_GC_COUNT_LEN;
		if (!proto_name_ok(p))
			return -1;
		memcpy(c[i].name, p, PROTO_NAME_MAX);
		c[i].runs = proto_get64(p + 16);
		c[i].failures = proto_get64(p + 24);
		c[i].removed = proto_get64(p + 32);
	}
	*n = k;
	return 0;
}

size_t
proto_result_enc(int32_t code, const char *message, uint8_t *out)
{
	size_t	 n = 0;

	proto_put32(out, (uint32_t)code);
	if (message != NULL) {
		n = strnlen(message, PROTO_RESULT_MAX - PROTO_RESULT_MIN);
		memcpy(out + PROTO_RESULT_MIN, message, n);
	}
	return PROTO_RESULT_MIN + n;
}

int
proto_result_dec(const struct proto_msg *m, int32_t *code, char *message, size_t msglen)
{
	size_t	 n;

	if (m->len < PROTO_RESULT_MIN || m->len > PROTO_RESULT_MAX)
		return -1;
	n = m->len - PROTO_RESULT_MIN;
	if (memchr(m->data + PROTO_RESULT_MIN, '\0', n) != NULL)
		return -1;
	*code = (int32_t)proto_get32(m->data);
	if (message != NULL && msglen > 0) {
		if (n > msglen - 1)
			n = msglen - 1;
		memcpy(message, m->data + PROTO_RESULT_MIN, n);
		message[n] = '\0';
	}
	return 0;
}

int
proto_string_dec(const struct proto_msg *m, char *out, size_t outlen)
{
	if (m->len < 1 || m->len > PROTO_STRING_MAX || m->len >= outlen)
		return -1;
	if (memchr(m->data, '\0', m->len) != NULL)
		return -1;
	memcpy(out, m->data, m->len);
	out[m->len] = '\0';
	return 0;
}

/* ---- mediad's service ---------------------------------------------------- */

size_t
proto_md5s_enc(const uint8_t (*md5)[PROTO_MD5_LEN], size_t n, uint8_t *out)
{
	if (n == 0 || n > PROTO_MEDIA_BATCH)
		return 0;
	memcpy(out, md5, n * PROTO_MD5_LEN);
	return n * PROTO_MD5_LEN;
}

int
proto_md5s_dec(const struct proto_msg *m, uint8_t (*md5)[PROTO_MD5_LEN], size_t *n)
{
	if (m->len == 0 || m->len > PROTO_MEDIA_HASHES_MAX || m->len % PROTO_MD5_LEN != 0)
		return -1;
	*n = m->len / PROTO_MD5_LEN;
	memcpy(md5, m->data, m->len);
	return 0;
}

size_t
proto_media_delete_old_enc(int64_t cutoff, const uint8_t (*md5)[PROTO_MD5_LEN], size_t n,
    uint8_t *out)
{
	if (n == 0 || n > PROTO_MEDIA_BATCH || cutoff < 0)
		return 0;
	proto_put64(out, (uint64_t)cutoff);
	proto_put64(out + 8, 0);
	memcpy(out + PROTO_MD5_LEN, md5, n * PROTO_MD5_LEN);
	return (n + 1) * PROTO_MD5_LEN;
}

int
proto_media_delete_old_dec(const struct proto_msg *m, int64_t *cutoff,
    uint8_t (*md5)[PROTO_MD5_LEN], size_t *n)
{
	uint64_t	c;

	if (m->len < 2 * PROTO_MD5_LEN || m->len > PROTO_MD5_LEN + PROTO_MEDIA_HASHES_MAX ||
	    m->len % PROTO_MD5_LEN != 0)
		return -1;
	c = proto_get64(m->data);
	if (c > INT64_MAX || proto_get64(m->data + 8) != 0)
		return -1;
	*cutoff = (int64_t)c;
	*n = m->len / PROTO_MD5_LEN - 1;
	memcpy(md5, m->data + PROTO_MD5_LEN, *n * PROTO_MD5_LEN);
	return 0;
}

size_t
proto_media_stat_enc(const struct proto_media_stat *st, size_t n, uint8_t *out)
{
	size_t	 i;
	uint8_t	*p;

	if (n == 0 || n > PROTO_MEDIA_BATCH)
		return 0;
	for (i = 0; i < n; i++) {
		p = out + i * PROTO_MEDIA_STAT_LEN;
		memcpy(p, st[i].md5, PROTO_MD5_LEN);
		proto_put64(p + 16, st[i].size);
		proto_put32(p + 24, st[i].flags);
		proto_put32(p + 28, st[i].reserved);
	}
	return n * PROTO_MEDIA_STAT_LEN;
}

int
proto_media_stat_dec(const struct proto_msg *m, struct proto_media_stat *st, size_t *n)
{
	const uint8_t	*p;
	size_t		 i, count;

	if (m->len == 0 || m->len > PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH ||
	    m->len % PROTO_MEDIA_STAT_LEN != 0)
		return -1;
	count = m->len / PROTO_MEDIA_STAT_LEN;
	for (i = 0; i < count; i++) {
		p = m->data + i * PROTO_MEDIA_STAT_LEN;
		memcpy(st[i].md5, p, PROTO_MD5_LEN);
		st[i].size = proto_get64(p + 16);
		st[i].flags = proto_get32(p + 24);
		st[i].reserved = proto_get32(p + 28);
		if ((st[i].flags & ~(uint32_t)(PROTO_MEDIA_PRESENT | PROTO_MEDIA_ERROR)) != 0 ||
		    st[i].reserved != 0)
			return -1;
	}
	*n = count;
	return 0;
}

size_t
proto_media_deleted_enc(const struct proto_media_deleted *d,
    uint8_t out[PROTO_MEDIA_DELETED_LEN])
{
	proto_put32(out, d->deleted);
	proto_put32(out + 4, d->failed);
	proto_put64(out + 8, d->bytes);
	return PROTO_MEDIA_DELETED_LEN;
}

int
proto_media_deleted_dec(const struct proto_msg *m, struct proto_media_deleted *d)
{
	if (m->len != PROTO_MEDIA_DELETED_LEN)
		return -1;
	d->deleted = proto_get32(m->data);
	d->failed = proto_get32(m->data + 4);
	d->bytes = proto_get64(m->data + 8);
	return 0;
}

size_t
proto_media_usage_enc(const struct proto_media_usage *u, uint8_t out[PROTO_MEDIA_USAGE_LEN])
{
	proto_put64(out, u->bytes);
	proto_put64(out + 8, u->files);
	proto_put64(out + 16, u->uploads);
	proto_put64(out + 24, u->upload_bytes);
	proto_put64(out + 32, u->downloads);
	proto_put64(out + 40, u->rejected);
	return PROTO_MEDIA_USAGE_LEN;
}

int
proto_media_usage_dec(const struct proto_msg *m, struct proto_media_usage *u)
{
	if (m->len != PROTO_MEDIA_USAGE_LEN)
		return -1;
	u->bytes = proto_get64(m->data);
	u->files = proto_get64(m->data + 8);
	u->uploads = proto_get64(m->data + 16);
	u->upload_bytes = proto_get64(m->data + 24);
	u->downloads = proto_get64(m->data + 32);
	u->rejected = proto_get64(m->data + 40);
	return 0;
}
