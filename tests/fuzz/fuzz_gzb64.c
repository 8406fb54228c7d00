/*
 * fuzz_gzb64.c — the GZB64 decoder on any text, and encode → decode.
 *
 * The input is decoded as text, and also base64-encoded first so that its
 * bytes reach the gzip parser. Checks beyond "no crash": decoding in random
 * pieces gives the error and the bytes of decoding in one piece; sink
 * pieces stay within GZB64_CHUNK and the output below the cap; encoding the
 * input in random pieces and decoding it gives the input back exactly.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/gzb64.h"

#define CAP	(1U << 20)	/* small, so that bombs cost little time */

struct out {
	uint64_t	 hash;
	uint64_t	 len;
	unsigned char	*keep;		/* all bytes, when cap > 0 */
	size_t		 cap;
};

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int
sink(void *arg, const void *data, size_t len)
{
	struct out		*o = arg;
	const unsigned char	*p = data;
	size_t			 i;

	if (len == 0 || len > GZB64_CHUNK)
		abort();
	for (i = 0; i < len; i++)
		o->hash = (o->hash ^ p[i]) * 0x100000001b3ULL;
	if (o->keep != NULL) {
		if (o->len + len > o->cap)
			abort();
		memcpy(o->keep + o->len, p, len);
	}
	o->len += len;
	return 0;
}

/* Pieces of random size (seeded), or one piece when seed is 0. */
static int
decode(const uint8_t *data, size_t size, uint32_t seed, uint64_t cap, struct out *o)
{
	struct gzb64_dec	*d;
	size_t			 off, k;
	int			 e = 0;

	if ((d = gzb64_dec_new(cap, sink, o)) == NULL)
		abort();
	for (off = 0; off < size && e == 0; off += k) {
		k = seed == 0 ? size : 1 + rnd(&seed) % 97;
		if (k > size - off)
			k = size - off;
		e = gzb64_dec_feed(d, data + off, k);
	}
	if (e == 0)
		e = gzb64_dec_finish(d);
	if (gzb64_dec_total_out(d) != o->len || o->len >= cap)
		abort();
	gzb64_dec_free(d);
	return e;
}

/* Decodes whole and in pieces: both must agree. */
static void
decode_both(const uint8_t *data, size_t size, uint32_t seed)
{
	struct out	 whole = { 0 }, part = { 0 };
	int		 e;

	e = decode(data, size, 0, CAP, &whole);
	if (decode(data, size, seed, CAP, &part) != e ||
	    part.len != whole.len || part.hash != whole.hash)
		abort();
}

/* Plain base64 of the input, made here rather than by the code under test. */
static char *
b64(const uint8_t *in, size_t n, size_t *lenp)
{
	static const char	 a[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char			*t, *q;
	uint32_t		 v;
	size_t			 i, k;

	if ((t = q = malloc((n + 2) / 3 * 4 + 1)) == NULL)
		abort();
	for (i = 0; i < n; i += 3) {
		k = n - i < 3 ? n - i : 3;
		v = (uint32_t)in[i] << 16 | (k > 1 ? in[i + 1] << 8 : 0) | (k > 2 ? in[i + 2] : 0);
		*q++ = a[v >> 18];
		*q++ = a[v >> 12 & 63];
		*q++ = k > 1 ? a[v >> 6 & 63] : '=';
		*q++ = k > 2 ? a[v & 63] : '=';
	}
	*lenp = (size_t)(q - t);
	return t;
}

static void
roundtrip(const uint8_t *data, size_t size, uint32_t seed)
{
	struct out		 text = { 0 }, back = { 0 };
	struct gzb64_enc	*e;
	size_t			 off, k;

	/* Base64 of gzip is at most about 4/3 of (size + 5 per 16 KiB + 18). */
	text.cap = (size + size / 1000 + 64) * 4 / 3 + 64;
	back.cap = size;
	if ((text.keep = malloc(text.cap)) == NULL || (back.keep = malloc(size + 1)) == NULL)
		abort();
	if ((e = gzb64_enc_new(GZB64_LEVEL, sink, &text)) == NULL)
		abort();
	for (off = 0; off < size; off += k) {
		k = 1 + rnd(&seed) % 211;
		if (k > size - off)
			k = size - off;
		if (gzb64_enc_feed(e, data + off, k) != 0)
			abort();
	}
	if (gzb64_enc_finish(e) != 0 || gzb64_enc_total_out(e) != text.len)
		abort();
	gzb64_enc_free(e);
	if (decode(text.keep, text.len, seed | 1, (uint64_t)size + 1, &back) != 0)
		abort();
	if (back.len != size || (size > 0 && memcmp(back.keep, data, size) != 0))
		abort();
	free(text.keep);
	free(back.keep);
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t	 seed = 2166136261U;
	size_t		 i, n;
	char		*text;

	for (i = 0; i < size && i < 16; i++)
		seed = (seed ^ data[i]) * 16777619U;
	seed |= 1;

	decode_both(data, size, seed);
	text = b64(data, size, &n);
	decode_both((const uint8_t *)text, n, seed);
	free(text);
	roundtrip(data, size, seed);
	return 0;
}
