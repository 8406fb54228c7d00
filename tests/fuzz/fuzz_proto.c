/*
 * fuzz_proto.c — libFuzzer target for proto_decode() and the payload codecs.
 *
 * Decodes frames back to back as a receiver would, and runs every payload
 * decoder on each frame. Whatever a decoder accepts must re-encode to the
 * same bytes, and every accepted frame must obey its type's rule: a breach
 * aborts, which libFuzzer reports.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"
#include "proto/msg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

/* The frame decoder's promises about an accepted frame. */
static void
fuzz_frame(const uint8_t *buf, size_t left, const struct proto_msg *m, size_t used)
{
	const struct proto_type_info	*ti;
	uint8_t				 hdr[PROTO_HDR_LEN];

	fuzz_check(used >= PROTO_HDR_LEN && used <= left && used <= PROTO_MAX_LEN);
	fuzz_check(m->len == used - PROTO_HDR_LEN && m->data == buf + PROTO_HDR_LEN);
	fuzz_check(m->hdr.len == used && m->fd == -1);
	fuzz_check((ti = proto_type_info(m->hdr.type)) != NULL);
	fuzz_check(m->len >= ti->min_len && m->len <= ti->max_len);
	fuzz_check(!!(m->hdr.flags & PROTO_F_FD) == !!ti->has_fd);
	fuzz_check((m->hdr.flags & ~PROTO_F_FD) == 0);
	fuzz_check(strcmp(proto_type_name(m->hdr.type), "unknown") != 0);
	/* The pid field is the encoder's own; the rest must match. */
	proto_encode_hdr(hdr, m->hdr.type, m->hdr.flags, m->hdr.id, m->len);
	fuzz_check(memcmp(hdr, buf, 12) == 0);
}

/* mediad's service payloads: decode, re-encode, compare. */
static void
fuzz_media_payloads(const struct proto_msg *m)
{
	static uint8_t			 md5[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	static struct proto_media_stat	 st[PROTO_MEDIA_BATCH];
	static uint8_t			 out[PROTO_MEDIA_STAT_LEN * PROTO_MEDIA_BATCH];
	struct proto_media_deleted	 del;
	struct proto_media_usage	 use;
	static struct proto_gc_count	 gc[PROTO_GC_JOBS_MAX];
	int64_t				 cutoff;
	size_t				 n;

	if (proto_md5s_dec(m, md5, &n) == 0)
		fuzz_check(proto_md5s_enc((const uint8_t (*)[PROTO_MD5_LEN])md5, n, out) ==
		    m->len && memcmp(out, m->data, m->len) == 0);
	if (proto_media_delete_old_dec(m, &cutoff, md5, &n) == 0)
		fuzz_check(proto_media_delete_old_enc(cutoff,
		    (const uint8_t (*)[PROTO_MD5_LEN])md5, n, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_media_stat_dec(m, st, &n) == 0)
		fuzz_check(proto_media_stat_enc(st, n, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_media_deleted_dec(m, &del) == 0)
		fuzz_check(proto_media_deleted_enc(&del, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_gc_counts_dec(m, gc, &n) == 0)
		fuzz_check(proto_gc_counts_enc(gc, n, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_media_usage_dec(m, &use) == 0)
		fuzz_check(proto_media_usage_enc(&use, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
}

/* Every payload decoder, whatever the type: each checks its own length. */
static void
fuzz_payloads(const struct proto_msg *m)
{
	struct proto_hello		 h;
	struct proto_stats		 s;
	struct proto_daemon_status	 d;
	uint8_t				 out[PROTO_RESULT_MAX];
	char				 str[PROTO_RESULT_MAX + 1];
	uint64_t			 v;
	int32_t				 code;

	if (proto_hello_dec(m, &h) == 0)
		fuzz_check(proto_hello_enc(&h, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_u64_dec(m, &v) == 0)
		fuzz_check(proto_u64_enc(v, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_stats_dec(m, &s) == 0)
		fuzz_check(proto_stats_enc(&s, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	if (proto_daemon_status_dec(m, &d) == 0) {
		fuzz_check(memchr(d.name, '\0', sizeof(d.name)) != NULL);
		(void)proto_state_name(d.state);
		(void)proto_memory_mode_name(d.memory_mode);
		fuzz_check(proto_daemon_status_enc(&d, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	}
	if (proto_result_dec(m, &code, str, sizeof(str)) == 0)
		fuzz_check(proto_result_enc(code, str, out) == m->len &&
		    memcmp(out, m->data, m->len) == 0);
	/* A short buffer cuts the message but must still NUL-terminate it. */
	if (proto_result_dec(m, &code, str, 3) == 0)
		fuzz_check(strlen(str) <= 2);
	if (proto_string_dec(m, str, sizeof(str)) == 0)
		fuzz_check(strlen(str) == m->len && memcmp(str, m->data, m->len) == 0);
	fuzz_media_payloads(m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_msg	 m;
	const char		*why;
	size_t			 off = 0, used;
	int			 rv;

	while (off < size) {
		why = NULL;
		used = 0;
		rv = proto_decode(data + off, size - off, &m, &used, &why);
		if (rv == -1)
			fuzz_check(why != NULL);
		if (rv != 1)
			break;
		fuzz_frame(data + off, size - off, &m, used);
		fuzz_payloads(&m);
		off += used;
	}
	return 0;
}
