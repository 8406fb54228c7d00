/*
 * test_gzb64.c — the GZB64 decoder and encoder (spec/api.md §2.5).
 *
 * Fixtures are made here with zlib and a base64 encoder of the test's own,
 * the way the add-on makes them: base64.b64encode(gzip.compress(json)).
 * A body made by Python itself is decoded in test_jsonstream.c.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "common/gzb64.h"

struct buf {
	unsigned char	*p;
	size_t		 len, cap;
	size_t		 pieces, max_piece;
	int		 stop_after;	/* sink refuses piece number n (1-based); 0: never */
};

static void
buf_add(struct buf *b, const void *d, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int
buf_sink(void *arg, const void *d, size_t n)
{
	struct buf	*b = arg;

	assert_true(n > 0 && n <= GZB64_CHUNK);
	b->pieces++;
	if (n > b->max_piece)
		b->max_piece = n;
	if (b->stop_after != 0 && (int)b->pieces >= b->stop_after)
		return 1;
	buf_add(b, d, n);
	return 0;
}

/* gzip as Python's gzip.compress makes it: level 9, an mtime, OS 255. */
static void
gzip_py(const void *in, size_t n, struct buf *out)
{
	z_stream	 zs;
	gz_header	 h;
	unsigned char	 tmp[16384];
	int		 r;

	memset(&zs, 0, sizeof(zs));
	memset(&h, 0, sizeof(h));
	h.time = 1700000000;
	h.os = 255;
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	assert_int_equal(deflateSetHeader(&zs, &h), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		r = deflate(&zs, Z_FINISH);
		buf_add(out, tmp, sizeof(tmp) - zs.avail_out);
	} while (r == Z_OK);
	assert_int_equal(r, Z_STREAM_END);
	deflateEnd(&zs);
}

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The test's own base64, padded, no line breaks. */
static void
b64(const void *in, size_t n, struct buf *out)
{
	const unsigned char	*s = in;
	char			 q[4];
	uint32_t		 v;
	size_t			 i, k;

	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (uint32_t)s[i] << 16;
		if (k > 1)
			v |= (uint32_t)s[i + 1] << 8;
		if (k > 2)
			v |= s[i + 2];
		q[0] = alphabet[v >> 18];
		q[1] = alphabet[v >> 12 & 63];
		q[2] = k > 1 ? alphabet[v >> 6 & 63] : '=';
		q[3] = k > 2 ? alphabet[v & 63] : '=';
		buf_add(out, q, 4);
	}
	if (out->p == NULL)
		buf_add(out, "", 0);
}

static void
gzb64_body(const void *json, size_t n, struct buf *out)
{
	struct buf	 gz = { 0 };

	gzip_py(json, n, &gz);
	b64(gz.p, gz.len, out);
	buf_free(&gz);
}

/* Decodes text fed chunk bytes at a time; the first error, or 0. */
static int
decode(const void *text, size_t n, size_t chunk, uint64_t cap, struct buf *out)
{
	struct gzb64_dec	*d;
	const char		*p = text;
	size_t			 off, k;
	int			 r = 0;

	assert_non_null(d = gzb64_dec_new(cap, buf_sink, out));
	for (off = 0; off < n && r == 0; off += k) {
		k = n - off < chunk ? n - off : chunk;
		r = gzb64_dec_feed(d, p + off, k);
	}
	if (r == 0)
		r = gzb64_dec_finish(d);
	else
		assert_int_equal(gzb64_dec_finish(d), r);	/* sticky */
	assert_true(gzb64_dec_total_out(d) < cap);
	gzb64_dec_free(d);
	return r;
}

/* Decodes with every chunk size from 1 to n; each must give want. */
static void
decode_all_chunkings(const void *text, size_t n, int want, const void *expect, size_t elen)
{
	struct buf	 out = { 0 };
	size_t		 chunk;

	for (chunk = 1; chunk <= (n > 0 ? n : 1); chunk++) {
		assert_int_equal(decode(text, n, chunk, GZB64_MAX_INFLATED, &out), want);
		if (want == 0) {
			assert_int_equal(out.len, elen);
			if (elen > 0)
				assert_memory_equal(out.p, expect, elen);
		}
		buf_free(&out);
	}
}

/* ---- decoding ------------------------------------------------------------ */

/* Every length 0..80 covers every padding case; every chunking too. */
static void
test_roundtrip_every_chunking(void **state)
{
	char		 json[128];
	struct buf	 body = { 0 };
	size_t		 n, i;

	for (n = 0; n <= 80; n++) {
		for (i = 0; i < n; i++)
			json[i] = "{\"a\": [1, 2.5e3, \"x\\u00e9\"]}"[i % 27];
		gzb64_body(json, n, &body);
		decode_all_chunkings(body.p, body.len, 0, json, n);
		buf_free(&body);
	}
}

static void
test_whitespace(void **state)
{
	struct buf	 body = { 0 }, t = { 0 }, out = { 0 };
	const char	*json = "{\"deck_hash\": \"white-berlin\"}";
	size_t		 i;

	gzb64_body(json, strlen(json), &body);
	buf_add(&t, " \t\r\n\v\f", 6);
	buf_add(&t, body.p, body.len);
	buf_add(&t, "\r\n \t\v\f\n", 7);
	decode_all_chunkings(t.p, t.len, 0, json, strlen(json));
	buf_free(&t);

	/* Whitespace anywhere inside is refused, also between quads. */
	for (i = 1; i < body.len; i++) {
		buf_add(&t, body.p, i);
		buf_add(&t, i % 2 ? "\n" : " ", 1);
		buf_add(&t, body.p + i, body.len - i);
		assert_int_equal(decode(t.p, t.len, t.len, GZB64_MAX_INFLATED, &out), GZB64_EBASE64);
		buf_free(&out);
		buf_free(&t);
	}
	buf_free(&body);
}

static void
expect_text(const char *text, size_t n, int want)
{
	struct buf	 out = { 0 };
	size_t		 chunk;

	for (chunk = 1; chunk <= (n > 0 ? n : 1); chunk++) {
		assert_int_equal(decode(text, n, chunk, GZB64_MAX_INFLATED, &out), want);
		buf_free(&out);
	}
}

static void
test_bad_base64(void **state)
{
	static const char	*bad[] = {
		"A", "AB", "ABC", "ABCDA", "QQ\n", "QUE ",	/* missing padding */
		"QQ=", "QQ=A", "Q===", "====", "=", "==", "Q=Q=",
		"QQ==QQ==", "QUE=QQ==", "QQ== QQ==",	/* data after padding */
		"QR==", "QUF=",				/* non-zero unused bits */
		"QUJD-EFG", "QUJD_EFG", "QUJD*EFG", "QUJD.EFG", "QUJD\"EFG",
		"QU\xc3\xa9", "\xef\xbb\xbfQUJD",		/* non-ASCII, a BOM */
		"QUJD\x85", "\xa0QUJD",			/* Unicode spaces are not ASCII */
	};
	struct buf	 body = { 0 }, t = { 0 }, out = { 0 };
	const char	*json = "[\"note\"]";
	size_t		 i, j;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_text(bad[i], strlen(bad[i]), GZB64_EBASE64);
	expect_text("QU\0D", 4, GZB64_EBASE64);

	/* A bad byte at every place of a real body. */
	gzb64_body(json, strlen(json), &body);
	for (i = 0; i < body.len; i++) {
		for (j = 0; j < 4; j++) {
			buf_add(&t, body.p, body.len);
			t.p[i] = "-_*\x80"[j];
			assert_int_equal(decode(t.p, t.len, 3, GZB64_MAX_INFLATED, &out), GZB64_EBASE64);
			buf_free(&out);
			buf_free(&t);
		}
	}
	/* The padding dropped, doubled, or replaced by a space. */
	assert_int_equal(body.p[body.len - 1], '=');
	buf_add(&t, body.p, body.len - 1);
	assert_int_equal(decode(t.p, t.len, 1, GZB64_MAX_INFLATED, &out), GZB64_EBASE64);
	buf_free(&out);
	buf_add(&t, "\r\n", 2);
	assert_int_equal(decode(t.p, t.len, 1, GZB64_MAX_INFLATED, &out), GZB64_EBASE64);
	buf_free(&out);
	buf_free(&t);
	buf_add(&t, body.p, body.len);
	buf_add(&t, "=", 1);
	assert_int_equal(decode(t.p, t.len, 1, GZB64_MAX_INFLATED, &out), GZB64_EBASE64);
	buf_free(&out);
	buf_free(&t);
	buf_add(&t, body.p, body.len);
	t.p[body.len - 1] = ' ';
	assert_int_equal(decode(t.p, t.len, 1, GZB64_MAX_INFLATED, &out), GZB64_EBASE64);
	buf_free(&out);
	buf_free(&t);
	buf_free(&body);
}

static void
test_bad_gzip(void **state)
{
	const char	*json = "{\"deck_hash\": \"x\", \"review_history\": {}}";
	struct buf	 gz = { 0 }, t = { 0 }, raw = { 0 };
	unsigned char	 zbuf[256];
	uLongf		 zlen = sizeof(zbuf);
	size_t		 k;

	expect_text("", 0, GZB64_EGZIP);
	expect_text(" \n ", 3, GZB64_EGZIP);
	expect_text("aGVsbG8=", 8, GZB64_EGZIP);	/* "hello" */

	/* zlib framing is not gzip. */
	assert_int_equal(compress(zbuf, &zlen, (const Bytef *)json, strlen(json)), Z_OK);
	b64(zbuf, zlen, &t);
	expect_text((char *)t.p, t.len, GZB64_EGZIP);
	buf_free(&t);

	/* Cut short anywhere: header, blocks, trailer. */
	gzip_py(json, strlen(json), &gz);
	for (k = 1; k < gz.len; k++) {
		b64(gz.p, gz.len - k, &t);
		expect_text((char *)t.p, t.len, GZB64_EGZIP);
		buf_free(&t);
	}
	/* A wrong CRC, a wrong length. */
	gz.p[gz.len - 8] ^= 1;
	b64(gz.p, gz.len, &t);
	expect_text((char *)t.p, t.len, GZB64_EGZIP);
	buf_free(&t);
	gz.p[gz.len - 8] ^= 1;
	gz.p[gz.len - 1] ^= 1;
	b64(gz.p, gz.len, &t);
	expect_text((char *)t.p, t.len, GZB64_EGZIP);
	buf_free(&t);
	gz.p[gz.len - 1] ^= 1;

	/* Trailing bytes, a second member. */
	buf_add(&raw, gz.p, gz.len);
	buf_add(&raw, "x", 1);
	b64(raw.p, raw.len, &t);
	expect_text((char *)t.p, t.len, GZB64_ETRAILING);
	buf_free(&t);
	buf_free(&raw);
	buf_add(&raw, gz.p, gz.len);
	buf_add(&raw, gz.p, gz.len);
	b64(raw.p, raw.len, &t);
	expect_text((char *)t.p, t.len, GZB64_ETRAILING);
	buf_free(&t);
	buf_free(&raw);
	buf_add(&raw, gz.p, gz.len);
	buf_add(&raw, "\0\0\0", 3);
	b64(raw.p, raw.len, &t);
	expect_text((char *)t.p, t.len, GZB64_ETRAILING);
	/* The text after the member is still checked: bad base64 wins. */
	t.p[t.len - 1] = '!';
	expect_text((char *)t.p, t.len, GZB64_EBASE64);
	buf_free(&t);
	buf_free(&raw);
	buf_free(&gz);
}

/* The inflated size must be strictly below the cap. */
static void
test_cap_boundary(void **state)
{
	char		 data[1000];
	struct buf	 body = { 0 }, out = { 0 };

	memset(data, 'x', sizeof(data));
	gzb64_body(data, sizeof(data), &body);
	assert_int_equal(decode(body.p, body.len, 7, 1000, &out), GZB64_ETOOBIG);
	buf_free(&out);
	assert_int_equal(decode(body.p, body.len, 7, 1001, &out), 0);
	assert_int_equal(out.len, 1000);
	buf_free(&out);
	assert_int_equal(decode(body.p, body.len, body.len, 1, &out), GZB64_ETOOBIG);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	buf_free(&body);

	gzb64_body("", 0, &body);
	assert_int_equal(decode(body.p, body.len, 1, 1, &out), 0);
	assert_int_equal(out.len, 0);
	buf_free(&out);
	buf_free(&body);
}

/* 16 MiB of zeros in about 16 KiB, against a 1 MiB cap. */
static void
test_bomb_small_cap(void **state)
{
	size_t		 n = 16U << 20;
	char		*zeros;
	struct buf	 body = { 0 }, out = { 0 };

	assert_non_null(zeros = calloc(1, n));
	gzb64_body(zeros, n, &body);
	free(zeros);
	assert_true(body.len < 64 * 1024);
	assert_int_equal(decode(body.p, body.len, 4096, 1U << 20, &out), GZB64_ETOOBIG);
	assert_true(out.len < (1U << 20));
	assert_true(out.max_piece <= GZB64_CHUNK);
	buf_free(&out);
	buf_free(&body);
}

/*
 * A gzip member of nblocks MiB of zeros, made without holding them: after
 * a full flush deflate output is byte-aligned and needs no history, so one
 * flushed MiB can be repeated; the trailer is patched for the total.
 */
static void
zero_bomb(size_t nblocks, struct buf *gz)
{
	static unsigned char	 zeros[1U << 20];
	unsigned char		 tmp[1U << 16];
	struct buf		 blk = { 0 };
	z_stream		 zs;
	uLong			 crc, crc1;
	uint64_t		 total = (uint64_t)nblocks << 20;
	size_t			 i;
	int			 pass;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	for (pass = 0; pass < 2; pass++) {
		zs.next_in = zeros;
		zs.avail_in = sizeof(zeros);
		do {
			zs.next_out = tmp;
			zs.avail_out = sizeof(tmp);
			assert_int_equal(deflate(&zs, Z_FULL_FLUSH), Z_OK);
			buf_add(pass == 0 ? gz : &blk, tmp, sizeof(tmp) - zs.avail_out);
		} while (zs.avail_out == 0);
	}
	for (i = 1; i < nblocks; i++)
		buf_add(gz, blk.p, blk.len);
	zs.next_in = NULL;
	zs.avail_in = 0;
	zs.next_out = tmp;
	zs.avail_out = sizeof(tmp);
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	buf_add(gz, tmp, sizeof(tmp) - zs.avail_out);
	deflateEnd(&zs);
	buf_free(&blk);

	crc1 = crc32(0, zeros, sizeof(zeros));
	crc = crc1;
	for (i = 1; i < nblocks; i++)
		crc = crc32_combine(crc, crc1, sizeof(zeros));
	for (i = 0; i < 4; i++) {
		gz->p[gz->len - 8 + i] = (unsigned char)(crc >> (8 * i));
		gz->p[gz->len - 4 + i] = (unsigned char)(total >> (8 * i));
	}
}

struct count_sink {
	uint64_t	 bytes;
	size_t		 heap0, heap_max;
};

static int
count_sink(void *arg, const void *d, size_t n)
{
	struct count_sink	*c = arg;
	size_t			 h = mallinfo2().uordblks;

	c->bytes += n;
	if (h > c->heap_max)
		c->heap_max = h;
	return 0;
}

/* The real 250 MiB cap: ~300 MiB of zeros in ~300 KiB; must stop early. */
static void
test_bomb_real_cap(void **state)
{
	struct buf		 gz = { 0 }, text = { 0 }, out = { 0 };
	struct count_sink	 c = { 0 };
	struct gzb64_dec	*d;
	size_t			 off, k;
	int			 r = 0;

	/* The construction is sound: 3 MiB decode exactly. */
	zero_bomb(3, &gz);
	b64(gz.p, gz.len, &text);
	assert_int_equal(decode(text.p, text.len, 65536, GZB64_MAX_INFLATED, &out), 0);
	assert_int_equal(out.len, 3U << 20);
	buf_free(&out);
	buf_free(&text);
	buf_free(&gz);

	zero_bomb(300, &gz);
	b64(gz.p, gz.len, &text);
	assert_true(text.len < 1U << 20);
	c.heap0 = mallinfo2().uordblks;
	assert_non_null(d = gzb64_dec_new(GZB64_MAX_INFLATED, count_sink, &c));
	for (off = 0; off < text.len && r == 0; off += k) {
		k = text.len - off < 65536 ? text.len - off : 65536;
		r = gzb64_dec_feed(d, text.p + off, k);
	}
	assert_int_equal(r, GZB64_ETOOBIG);
	assert_true(off < text.len);		/* stopped before the end */
	assert_true(c.bytes < GZB64_MAX_INFLATED);
	assert_true(c.bytes >= GZB64_MAX_INFLATED - GZB64_CHUNK);
	assert_int_equal(gzb64_dec_total_out(d), c.bytes);
	/* Nothing grew with the output (0 where malloc is not glibc's). */
	if (c.heap0 != 0)
		assert_true(c.heap_max < c.heap0 + (256U << 10));
	assert_int_equal(gzb64_dec_finish(d), GZB64_ETOOBIG);
	gzb64_dec_free(d);
	buf_free(&text);
	buf_free(&gz);
}

static void
test_sink_stop_and_usage(void **state)
{
	char		 data[100000];
	struct buf	 body = { 0 }, out = { 0 };
	struct gzb64_dec *d;
	size_t		 i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7919 % 251);
	gzb64_body(data, sizeof(data), &body);
	out.stop_after = 2;
	assert_int_equal(decode(body.p, body.len, 100, GZB64_MAX_INFLATED, &out), GZB64_ESINK);
	assert_int_equal(out.pieces, 2);
	buf_free(&out);

	assert_non_null(d = gzb64_dec_new(GZB64_MAX_INFLATED, buf_sink, &out));
	assert_int_equal(gzb64_dec_feed(d, body.p, body.len), 0);
	assert_int_equal(gzb64_dec_finish(d), 0);
	assert_int_equal(gzb64_dec_finish(d), 0);
	assert_int_equal(gzb64_dec_total_in(d), body.len);
	assert_int_equal(gzb64_dec_feed(d, "QQ==", 4), GZB64_EUSAGE);
	gzb64_dec_free(d);
	assert_int_equal(out.len, sizeof(data));
	assert_memory_equal(out.p, data, sizeof(data));
	buf_free(&out);
	buf_free(&body);
}

/* ---- encoding ------------------------------------------------------------ */

/* Base64 text back to bytes, the test's own way; -1 if not canonical. */
static int
unb64(const unsigned char *t, size_t n, struct buf *out)
{
	unsigned char	 b[3];
	const char	*c;
	uint32_t	 v;
	size_t		 i, j, pad;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		v = 0;
		pad = 0;
		for (j = 0; j < 4; j++) {
			v <<= 6;
			if (t[i + j] == '=' && i + 4 == n && j >= 2) {
				pad++;
				continue;
			}
			if (pad > 0 || t[i + j] == '\0' ||
			    (c = strchr(alphabet, t[i + j])) == NULL)
				return -1;
			v |= (uint32_t)(c - alphabet);
		}
		b[0] = v >> 16;
		b[1] = v >> 8;
		b[2] = v;
		buf_add(out, b, 3 - pad);
	}
	return 0;
}

static void
gunzip(const unsigned char *in, size_t n, struct buf *out)
{
	z_stream	 zs;
	unsigned char	 tmp[16384];
	int		 r;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 31), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		r = inflate(&zs, Z_NO_FLUSH);
		assert_true(r == Z_OK || r == Z_STREAM_END);
		buf_add(out, tmp, sizeof(tmp) - zs.avail_out);
	} while (r != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);
	inflateEnd(&zs);
}

static void
encode(const void *in, size_t n, size_t chunk, struct buf *text)
{
	struct gzb64_enc	*e;
	const char		*p = in;
	size_t			 off, k;

	assert_non_null(e = gzb64_enc_new(GZB64_LEVEL, buf_sink, text));
	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		assert_int_equal(gzb64_enc_feed(e, p + off, k), 0);
	}
	assert_int_equal(gzb64_enc_finish(e), 0);
	assert_int_equal(gzb64_enc_finish(e), 0);
	assert_int_equal(gzb64_enc_total_out(e), text->len);
	assert_int_equal(gzb64_enc_feed(e, "x", 1), GZB64_EUSAGE);
	gzb64_enc_free(e);
	if (text->p == NULL)
		buf_add(text, "", 0);
}

/* What zlib alone makes at level 6 (mtime 0, OS unix): our output must match. */
static void
zlib_gzip6(const void *in, size_t n, struct buf *out)
{
	z_stream	 zs;
	unsigned char	 tmp[16384];
	int		 r;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)n;
	do {
		zs.next_out = tmp;
		zs.avail_out = sizeof(tmp);
		r = deflate(&zs, Z_FINISH);
		buf_add(out, tmp, sizeof(tmp) - zs.avail_out);
	} while (r == Z_OK);
	deflateEnd(&zs);
}

static void
check_encoding(const void *in, size_t n, size_t chunk)
{
	struct buf	 text = { 0 }, gz = { 0 }, back = { 0 }, ref = { 0 };

	encode(in, n, chunk, &text);
	assert_true(text.max_piece <= GZB64_CHUNK);
	assert_int_equal(text.len % 4, 0);
	assert_null(memchr(text.p, '\n', text.len));
	assert_int_equal(unb64(text.p, text.len, &gz), 0);
	assert_true(gz.len >= 18 && gz.p[0] == 0x1f && gz.p[1] == 0x8b && gz.p[2] == 8);
	gunzip(gz.p, gz.len, &back);
	assert_int_equal(back.len, n);
	if (n > 0)
		assert_memory_equal(back.p, in, n);
	buf_free(&back);

	/* The same bytes as plain zlib at level 6. */
	zlib_gzip6(in, n, &ref);
	assert_int_equal(ref.len, gz.len);
	assert_memory_equal(ref.p, gz.p, gz.len);
	buf_free(&ref);

	/* And our decoder takes it. */
	assert_int_equal(decode(text.p, text.len, 5000, GZB64_MAX_INFLATED, &back), 0);
	assert_int_equal(back.len, n);
	if (n > 0)
		assert_memory_equal(back.p, in, n);
	buf_free(&back);
	buf_free(&gz);
	buf_free(&text);
}

static void
test_encoder(void **state)
{
	static const size_t	 chunks[] = { 1, 7, 4096, SIZE_MAX };
	const size_t		 big = 1U << 20;
	unsigned char		*data;
	uint32_t		 x = 12345;
	size_t			 i, c, n;

	for (n = 0; n < 8; n++)
		check_encoding("[{\"a\":1}]", n, 1);
	assert_non_null(data = malloc(big));
	/* Compressible JSON-ish text, then noise that deflate cannot shrink. */
	for (i = 0; i < big / 2; i++)
		data[i] = "{\"guid\":\"Ab3$kL9:qz\",\"fields\":[\"<b>x</b>\"]},"[i % 44];
	for (; i < big; i++) {
		x = x * 1103515245 + 12345;
		data[i] = x >> 23;
	}
	for (c = 0; c < sizeof(chunks) / sizeof(chunks[0]); c++) {
		check_encoding(data, 3000, chunks[c]);
		if (chunks[c] > 1)
			check_encoding(data, big, chunks[c]);
	}
	free(data);
}

static void
test_encoder_sink_stop(void **state)
{
	struct gzb64_enc	*e;
	struct buf		 text = { 0 };
	unsigned char		 noise[200000];
	uint32_t		 x = 1;
	size_t			 i;

	for (i = 0; i < sizeof(noise); i++) {
		x = x * 1664525 + 1013904223;
		noise[i] = x >> 24;
	}
	text.stop_after = 1;
	assert_non_null(e = gzb64_enc_new(GZB64_LEVEL, buf_sink, &text));
	assert_int_equal(gzb64_enc_feed(e, noise, sizeof(noise)), GZB64_ESINK);
	assert_int_equal(gzb64_enc_finish(e), GZB64_ESINK);
	gzb64_enc_free(e);
	buf_free(&text);
	gzb64_enc_free(NULL);
	gzb64_dec_free(NULL);
}

static void
test_strerror(void **state)
{
	int	 e;

	for (e = GZB64_EUSAGE; e <= GZB64_OK; e++)
		assert_string_not_equal(gzb64_strerror(e), "unknown error");
	assert_string_equal(gzb64_strerror(42), "unknown error");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_chunking),
		cmocka_unit_test(test_whitespace),
		cmocka_unit_test(test_bad_base64),
		cmocka_unit_test(test_bad_gzip),
		cmocka_unit_test(test_cap_boundary),
		cmocka_unit_test(test_bomb_small_cap),
		cmocka_unit_test(test_bomb_real_cap),
		cmocka_unit_test(test_sink_stop_and_usage),
		cmocka_unit_test(test_encoder),
		cmocka_unit_test(test_encoder_sink_stop),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
