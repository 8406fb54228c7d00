/*
 * gzb64.c — streaming base64 + gzip, with zlib doing the gzip part.
 */
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST	/* next_in is const: input is never written */
#include <zlib.h>

#include "common/gzb64.h"

#define B64_PAD		0x40	/* '=' in b64_value[] */
#define B64_SPACE	0x41	/* ASCII whitespace */
#define B64_BAD		0xff

#define DEC_BIN		16384	/* decoded base64 waiting for inflate */
#define ENC_ZOUT	(GZB64_CHUNK / 4 * 3)	/* deflate output; encodes to GZB64_CHUNK */
#define ZSLICE		(1U << 30)	/* largest avail_in handed to zlib at once */

/* Sextet values of the standard alphabet; ASCII only, other bytes are bad. */
static const unsigned char b64_value[128] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x41, 0x41, 0x41, 0x41, 0x41, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0x41, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3e, 0xff, 0xff, 0xff, 0x3f,
	0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0xff, 0xff, 0xff, 0x40, 0xff, 0xff,
	0xff, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,
	0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28,
	0x29, 0x2a, 0x2b, 0x2c, 0x2d, 0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0xff, 0xff, 0xff, 0xff, 0xff,
};

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Where the decoder is in the text. */
enum dec_phase {
	PH_LEAD,	/* leading whitespace */
	PH_DATA,	/* base64 characters */
	PH_PAD,		/* "xx=" seen, the second '=' must follow */
	PH_TRAIL	/* after the last quad: trailing whitespace only */
};

struct gzb64_dec {
	z_stream	 zs;
	gzb64_sink	 sink;
	void		*arg;
	uint64_t	 max_out;
	uint64_t	 total_in;
	uint64_t	 total_out;
	int		 err;
	int		 finished;
	int		 member_end;	/* inflate saw the end of the gzip member */
	int		 trailing;	/* and bytes after it */
	enum dec_phase	 phase;
	uint32_t	 quad;		/* sextets of the quad being read */
	int		 nq;		/* how many */
	size_t		 nbin;
	unsigned char	 bin[DEC_BIN];
	unsigned char	 out[GZB64_CHUNK];
};

struct gzb64_enc {
	z_stream	 zs;
	gzb64_sink	 sink;
	void		*arg;
	uint64_t	 total_out;
	int		 err;
	int		 finished;
	size_t		 ncarry;	/* deflate bytes not yet a whole triple */
	unsigned char	 carry[3];
	unsigned char	 zout[ENC_ZOUT];
	char		 text[GZB64_CHUNK];
};

static unsigned char
b64_class(unsigned char c)
{
	return c < 128 ? b64_value[c] : B64_BAD;
}

/* ---- decoder ------------------------------------------------------------- */

struct gzb64_dec *
gzb64_dec_new(uint64_t max_out, gzb64_sink sink, void *arg)
{
	struct gzb64_dec	*d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	/* 15 + 16: gzip framing only, so zlib or raw deflate is "invalid gzip". */
	if (inflateInit2(&d->zs, 15 + 16) != Z_OK) {
		free(d);
		return NULL;
	}
	d->max_out = max_out;
	d->sink = sink;
	d->arg = arg;
	d->phase = PH_LEAD;
	return d;
}

void
gzb64_dec_free(struct gzb64_dec *d)
{
	if (d == NULL)
		return;
	inflateEnd(&d->zs);
	free(d);
}

static int
dec_fail(struct gzb64_dec *d, int err)
{
	if (d->err == 0)
		d->err = err;
	return d->err;
}

/* Hands one output buffer on, after checking it against the cap. */
static int
dec_emit(struct gzb64_dec *d, size_t n)
{
	if (n == 0)
		return 0;
	if (d->total_out + n >= d->max_out)
		return dec_fail(d, GZB64_ETOOBIG);
	d->total_out += n;
	if (d->sink != NULL && d->sink(d->arg, d->out, n) != 0)
		return dec_fail(d, GZB64_ESINK);
	return 0;
}

/*
 * Inflates what base64 gave so far, one output buffer at a time. Bytes
 * after the member are dropped, so that the rest of the text is still
 * checked as base64 before finish reports them.
 */
static int
dec_inflate(struct gzb64_dec *d)
{
	int	 r;

	if (d->nbin > 0 && d->member_end)
		d->trailing = 1;
	if (d->nbin == 0 || d->member_end) {
		d->nbin = 0;
		return 0;
	}
	d->zs.next_in = d->bin;
	d->zs.avail_in = (uInt)d->nbin;
	d->nbin = 0;
	for (;;) {
		d->zs.next_out = d->out;
		d->zs.avail_out = sizeof(d->out);
		r = inflate(&d->zs, Z_NO_FLUSH);
		if (r == Z_MEM_ERROR)
			return dec_fail(d, GZB64_ENOMEM);
		if (r != Z_OK && r != Z_STREAM_END && r != Z_BUF_ERROR)
			return dec_fail(d, GZB64_EGZIP);
		if (dec_emit(d, sizeof(d->out) - d->zs.avail_out) != 0)
			return d->err;
		if (r == Z_STREAM_END) {
			d->member_end = 1;
			d->trailing = d->zs.avail_in > 0;
			return 0;
		}
		/* A full output buffer may hide more output; else zlib wants input. */
		if (d->zs.avail_out != 0 && d->zs.avail_in == 0)
			return 0;
		if (r == Z_BUF_ERROR)
			return dec_fail(d, GZB64_EGZIP);
	}
}

/* Appends the bytes of a complete quad; pad is how many '=' ended it. */
static int
dec_quad(struct gzb64_dec *d, int pad)
{
	uint32_t	 q = d->quad << 6 * pad;	/* each '=' as a zero sextet */
	int		 i;

	/* Canonical: the bits in the bytes that padding drops must be zero. */
	if ((q & ((1U << 8 * pad) - 1)) != 0)
		return dec_fail(d, GZB64_EBASE64);
	for (i = 0; i < 3 - pad; i++)
		d->bin[d->nbin++] = q >> (16 - 8 * i);
	d->quad = 0;
	d->nq = 0;
	if (d->nbin > sizeof(d->bin) - 3)
		return dec_inflate(d);
	return 0;
}

/* One character that is not a plain sextet, or any character outside PH_DATA. */
static int
dec_char(struct gzb64_dec *d, unsigned char v)
{
	switch (d->phase) {
	case PH_LEAD:
		if (v == B64_SPACE)
			return 0;
		d->phase = PH_DATA;
		/* FALLTHROUGH */
	case PH_DATA:
		if (v < 64) {
			d->quad = d->quad << 6 | v;
			if (++d->nq == 4)
				return dec_quad(d, 0);
			return 0;
		}
		if (v == B64_PAD && d->nq == 3) {
			d->phase = PH_TRAIL;
			return dec_quad(d, 1);
		}
		if (v == B64_PAD && d->nq == 2) {
			d->phase = PH_PAD;
			return 0;
		}
		if (v == B64_SPACE && d->nq == 0) {
			d->phase = PH_TRAIL;
			return 0;
		}
		return dec_fail(d, GZB64_EBASE64);
	case PH_PAD:
		if (v != B64_PAD)
			return dec_fail(d, GZB64_EBASE64);
		d->phase = PH_TRAIL;
		return dec_quad(d, 2);
	case PH_TRAIL:
		if (v == B64_SPACE)
			return 0;
		return dec_fail(d, GZB64_EBASE64);
	}
	return dec_fail(d, GZB64_EBASE64);
}

int
gzb64_dec_feed(struct gzb64_dec *d, const void *data, size_t len)
{
	const unsigned char	*p = data, *end = p + len;
	unsigned char		 a, b, c, e;

	if (d->err != 0)
		return d->err;
	if (d->finished)
		return dec_fail(d, GZB64_EUSAGE);
	d->total_in += len;
	while (p < end) {
		/* The bulk of a body: whole quads of plain sextets. */
		if (d->phase == PH_DATA && d->nq == 0) {
			while (end - p >= 4 &&
			    (a = b64_class(p[0])) < 64 && (b = b64_class(p[1])) < 64 &&
			    (c = b64_class(p[2])) < 64 && (e = b64_class(p[3])) < 64) {
				d->bin[d->nbin++] = a << 2 | b >> 4;
				d->bin[d->nbin++] = b << 4 | c >> 2;
				d->bin[d->nbin++] = c << 6 | e;
				p += 4;
				if (d->nbin > sizeof(d->bin) - 3 && dec_inflate(d) != 0)
					return d->err;
			}
			if (p == end)
				break;
		}
		if (dec_char(d, b64_class(*p++)) != 0)
			return d->err;
	}
	return 0;
}

int
gzb64_dec_finish(struct gzb64_dec *d)
{
	if (d->err != 0)
		return d->err;
	if (d->finished)
		return 0;
	d->finished = 1;
	if (d->phase == PH_PAD || (d->phase == PH_DATA && d->nq != 0))
		return dec_fail(d, GZB64_EBASE64);
	if (dec_inflate(d) != 0)
		return d->err;
	if (!d->member_end)
		return dec_fail(d, GZB64_EGZIP);
	if (d->trailing)
		return dec_fail(d, GZB64_ETRAILING);
	return 0;
}

uint64_t
gzb64_dec_total_in(const struct gzb64_dec *d)
{
	return d->total_in;
}

uint64_t
gzb64_dec_total_out(const struct gzb64_dec *d)
{
	return d->total_out;
}

/* ---- encoder ------------------------------------------------------------- */

struct gzb64_enc *
gzb64_enc_new(int level, gzb64_sink sink, void *arg)
{
	struct gzb64_enc	*e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	/* zlib's defaults (32 KiB window, memLevel 8): the ratio clients expect. */
	if (deflateInit2(&e->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		free(e);
		return NULL;
	}
	e->sink = sink;
	e->arg = arg;
	return e;
}

void
gzb64_enc_free(struct gzb64_enc *e)
{
	if (e == NULL)
		return;
	deflateEnd(&e->zs);
	free(e);
}

static int
enc_fail(struct gzb64_enc *e, int err)
{
	if (e->err == 0)
		e->err = err;
	return e->err;
}

static void
enc_triple(char *t, const unsigned char *s)
{
	t[0] = b64_alphabet[s[0] >> 2];
	t[1] = b64_alphabet[(s[0] & 0x3) << 4 | s[1] >> 4];
	t[2] = b64_alphabet[(s[1] & 0xf) << 2 | s[2] >> 6];
	t[3] = b64_alphabet[s[2] & 0x3f];
}

static int
enc_text(struct gzb64_enc *e, size_t n)
{
	if (n == 0)
		return 0;
	e->total_out += n;
	if (e->sink != NULL && e->sink(e->arg, e->text, n) != 0)
		return enc_fail(e, GZB64_ESINK);
	return 0;
}

/*
 * Base64 of the n deflate bytes in zout, after the carried ones. Whole
 * triples only; the rest is carried to the next call. At most
 * (2 + ENC_ZOUT) / 3 * 4 == GZB64_CHUNK characters.
 */
static int
enc_base64(struct gzb64_enc *e, size_t n)
{
	const unsigned char	*s = e->zout, *end = s + n;
	size_t			 t = 0;

	if (e->ncarry > 0) {
		while (e->ncarry < 3 && s < end)
			e->carry[e->ncarry++] = *s++;
		if (e->ncarry < 3)
			return 0;
		enc_triple(e->text, e->carry);
		t = 4;
		e->ncarry = 0;
	}
	for (; end - s >= 3; s += 3, t += 4)
		enc_triple(e->text + t, s);
	while (s < end)
		e->carry[e->ncarry++] = *s++;
	return enc_text(e, t);
}

/* Runs deflate until it has taken all input (or, finishing, has ended). */
static int
enc_deflate(struct gzb64_enc *e, int flush)
{
	int	 r;

	for (;;) {
		e->zs.next_out = e->zout;
		e->zs.avail_out = sizeof(e->zout);
		r = deflate(&e->zs, flush);
		if (r == Z_STREAM_ERROR)
			return enc_fail(e, GZB64_EUSAGE);
		if (enc_base64(e, sizeof(e->zout) - e->zs.avail_out) != 0)
			return e->err;
		if (r == Z_STREAM_END)
			return 0;
		if (e->zs.avail_out != 0 && e->zs.avail_in == 0 && flush != Z_FINISH)
			return 0;
	}
}

int
gzb64_enc_feed(struct gzb64_enc *e, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 n;

	if (e->err != 0)
		return e->err;
	if (e->finished)
		return enc_fail(e, GZB64_EUSAGE);
	while (len > 0) {
		n = len < ZSLICE ? len : ZSLICE;
		e->zs.next_in = p;
		e->zs.avail_in = (uInt)n;
		if (enc_deflate(e, Z_NO_FLUSH) != 0)
			return e->err;
		p += n;
		len -= n;
	}
	return 0;
}

int
gzb64_enc_finish(struct gzb64_enc *e)
{
	char	*t = e->text;

	if (e->err != 0)
		return e->err;
	if (e->finished)
		return 0;
	e->finished = 1;
	e->zs.next_in = NULL;
	e->zs.avail_in = 0;
	if (enc_deflate(e, Z_FINISH) != 0)
		return e->err;
	if (e->ncarry == 0)
		return 0;
	t[0] = b64_alphabet[e->carry[0] >> 2];
	if (e->ncarry == 1) {
		t[1] = b64_alphabet[(e->carry[0] & 0x3) << 4];
		t[2] = '=';
	} else {
		t[1] = b64_alphabet[(e->carry[0] & 0x3) << 4 | e->carry[1] >> 4];
		t[2] = b64_alphabet[(e->carry[1] & 0xf) << 2];
	}
	t[3] = '=';
	e->ncarry = 0;
	return enc_text(e, 4);
}

uint64_t
gzb64_enc_total_out(const struct gzb64_enc *e)
{
	return e->total_out;
}

const char *
gzb64_strerror(int err)
{
	switch (err) {
	case GZB64_OK:
		return "no error";
	case GZB64_EBASE64:
		return "invalid base64";
	case GZB64_EGZIP:
		return "invalid or truncated gzip";
	case GZB64_ETOOBIG:
		return "inflated data too large";
	case GZB64_ETRAILING:
		return "data after the gzip member";
	case GZB64_ESINK:
		return "consumer refused the data";
	case GZB64_ENOMEM:
		return "out of memory";
	case GZB64_EUSAGE:
		return "used after finish";
	}
	return "unknown error";
}
