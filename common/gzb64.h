/*
 * gzb64.h — streaming base64(gzip(...)) bodies, both ways (spec/api.md §2.5).
 *
 * The GZB64 routes take up to 250 MiB of text, so nothing here ever holds a
 * whole body: the decoder is fed the body in pieces of any size and passes
 * the inflated bytes on through a sink in pieces of at most GZB64_CHUNK; the
 * encoder is fed JSON text and passes base64 text on the same way. No I/O.
 *
 * Decoder rules, as upstream applies them:
 *  - leading and trailing ASCII whitespace (SP, HT, LF, VT, FF, CR) is
 *    ignored; whitespace between base64 characters is GZB64_EBASE64;
 *  - standard alphabet (+/), canonical '=' padding, zero unused bits; any
 *    other byte (so also any non-ASCII byte) is GZB64_EBASE64;
 *  - exactly one gzip member: a member that is corrupt or cut short is
 *    GZB64_EGZIP; bytes after it are dropped and finish reports
 *    GZB64_ETRAILING once the whole text was checked as base64. By then
 *    every inflated byte was passed on, so a caller may take it as success:
 *    upstream's decoder (flate2's GzDecoder, one member) likely ignores them;
 *  - the inflated size must stay strictly below max_out, else
 *    GZB64_ETOOBIG, reported as soon as it is reached (a bomb costs one
 *    output buffer, never its inflated size);
 *  - UTF-8 validity (§2.5 step 4) is left to the JSON reader (jsonstream),
 *    which rejects invalid UTF-8 anywhere in a document.
 * The first error is sticky: later calls return it again.
 *
 * Memory (measured): a decoder is about 90 KiB (zlib's 32 KiB window
 * included), an encoder about 330 KiB (zlib's deflate state at windowBits
 * 15, memLevel 8, is 270 KiB of it).
 *
 * Decoding a request body, e.g. in an http on_body handler:
 *
 *	d = gzb64_dec_new(GZB64_MAX_INFLATED, jsonstream_sink, js);
 *	... for each piece:  if (gzb64_dec_feed(d, buf, len) != 0) → 400
 *	... at the end:      if (gzb64_dec_finish(d) != 0) → 400
 *	gzb64_dec_free(d);
 * When the jsonstream fails, gzb64 reports GZB64_ESINK; the jsonstream
 * says why.
 *
 * Encoding a /pullChanges answer:
 *
 *	e = gzb64_enc_new(GZB64_LEVEL, to_chunk, req);
 *	gzb64_enc_feed(e, json, len); ...; gzb64_enc_finish(e);
 *	gzb64_enc_free(e);
 * where to_chunk() hands the text to http_respond_chunk().
 */
#ifndef ANKICOLLAB_GZB64_H
#define ANKICOLLAB_GZB64_H

#include <stddef.h>
#include <stdint.h>

#define GZB64_MAX_INFLATED	262144000ULL	/* 250 MiB: inflated size must be below */
#define GZB64_LEVEL		6		/* gzip level of /pullChanges answers */
#define GZB64_CHUNK		32768		/* largest piece a sink is given */

enum gzb64_err {
	GZB64_OK = 0,
	GZB64_EBASE64 = -1,	/* bad character, padding or embedded space */
	GZB64_EGZIP = -2,	/* not gzip, corrupt, or cut short */
	GZB64_ETOOBIG = -3,	/* inflated size reached max_out */
	GZB64_ETRAILING = -4,	/* data after the gzip member */
	GZB64_ESINK = -5,	/* the sink returned non-zero */
	GZB64_ENOMEM = -6,
	GZB64_EUSAGE = -7	/* fed after finish */
};

/* Takes len > 0 bytes; returns 0 to go on, non-zero to stop. */
typedef int	(*gzb64_sink)(void *arg, const void *data, size_t len);

struct gzb64_dec;
struct gzb64_enc;

/* max_out: the inflated size must stay below it (GZB64_MAX_INFLATED). */
struct gzb64_dec	*gzb64_dec_new(uint64_t max_out, gzb64_sink sink, void *arg);
/* 0, or a gzb64_err. */
int			 gzb64_dec_feed(struct gzb64_dec *d, const void *data, size_t len);
/* End of body: 0 when one whole gzip member came, else a gzb64_err. */
int			 gzb64_dec_finish(struct gzb64_dec *d);
uint64_t		 gzb64_dec_total_in(const struct gzb64_dec *d);	/* text bytes fed */
uint64_t		 gzb64_dec_total_out(const struct gzb64_dec *d);	/* bytes inflated */
void			 gzb64_dec_free(struct gzb64_dec *d);

/* level: zlib level 0-9 (GZB64_LEVEL). */
struct gzb64_enc	*gzb64_enc_new(int level, gzb64_sink sink, void *arg);
int			 gzb64_enc_feed(struct gzb64_enc *e, const void *data, size_t len);
/* Flushes the gzip trailer and the base64 padding. */
int			 gzb64_enc_finish(struct gzb64_enc *e);
uint64_t		 gzb64_enc_total_out(const struct gzb64_enc *e);	/* text bytes emitted */
void			 gzb64_enc_free(struct gzb64_enc *e);

const char		*gzb64_strerror(int err);

#endif
