/*
 * deckstream_peak.c — memory and speed of the /createDeck decode path.
 *
 * Makes a /createDeck body as the add-on would (30,000 notes of ~1.5 KB of
 * HTML in 20 subdecks; inner deck JSON stringified into {"deck": ...} with
 * Python's ensure_ascii escapes; gzip; base64) and decodes it at once, piece
 * by piece: gzb64 → outer jsonstream → the deck string, unescaped → inner
 * jsonstream → one json-c object per note. Neither side ever holds the
 * body. Prints the decode throughput and the process's peak RSS (VmHWM),
 * beside the peak RSS before decoding started as the reference.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/gzb64.h"
#include "common/jsonstream.h"

#define NDECKS		20
#define NOTES_PER_DECK	1500
#define ESC_BUF		65536

struct gen {
	struct gzb64_enc	*enc;
	char			 esc[ESC_BUF];
	size_t			 nesc;
	uint64_t		 inner_bytes;
	uint32_t		 rnd;
};

struct walk {
	struct jsonstream	*inner;
	int			 inner_err;
	int			 depth;		/* deck nesting now */
	long			 decks, notes, notetypes;
	uint64_t		 field_bytes;
};

struct dec {
	struct gzb64_dec	*dec;
	double			 secs;
	uint64_t		 text_bytes;
	int			 err;
};

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static long
vm_hwm_kb(void)
{
	char	 line[256];
	long	 kb = -1;
	FILE	*f;

	if ((f = fopen("/proc/self/status", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* ---- the decoding side: what apid will do ---------------------------------- */

static int
is_deck(struct jsonstream *js)
{
	return jsonstream_match(js, "") || jsonstream_match(js, "**/children/#");
}

static int
deck_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct walk	*w = arg;

	if (is_deck(js)) {
		w->depth++;
		w->decks++;
		return JSONSTREAM_ENTER;
	}
	if (jsonstream_match(js, "**/children") || jsonstream_match(js, "**/notes") ||
	    jsonstream_match(js, "**/note_models"))
		return JSONSTREAM_ENTER;
	if (jsonstream_match(js, "**/notes/#") || jsonstream_match(js, "**/note_models/#") ||
	    jsonstream_match(js, "**/name"))
		return JSONSTREAM_CAPTURE;
	return JSONSTREAM_SKIP;
}

static int
deck_value(void *arg, struct jsonstream *js, struct json_object *o)
{
	struct walk		*w = arg;
	struct json_object	*fields;
	size_t			 i;

	if (jsonstream_match(js, "**/note_models/#")) {
		w->notetypes++;
		return 0;
	}
	if (!jsonstream_match(js, "**/notes/#"))
		return 0;
	if (!json_object_object_get_ex(o, "fields", &fields))
		return -1;
	for (i = 0; i < json_object_array_length(fields); i++)
		w->field_bytes += json_object_get_string_len(json_object_array_get_idx(fields, i));
	w->notes++;
	return 0;
}

static int
deck_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct walk	*w = arg;

	if (t == JSONSTREAM_OBJECT && is_deck(js))
		w->depth--;
	return 0;
}

static int
outer_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	if (jsonstream_depth(js) == 0)
		return JSONSTREAM_ENTER;
	if (jsonstream_match(js, "deck") && t == JSONSTREAM_STRING)
		return JSONSTREAM_STREAM;
	return JSONSTREAM_SKIP;
}

static int
outer_string(void *arg, struct jsonstream *js, const char *d, size_t n)
{
	struct walk	*w = arg;

	if (w->inner_err == 0)
		w->inner_err = jsonstream_feed(w->inner, d, n);
	return 0;
}

static int
outer_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct walk	*w = arg;

	if (w->inner_err == 0)
		w->inner_err = jsonstream_finish(w->inner);
	return 0;
}

/* The encoder's text goes straight into the decoder, timed. */
static int
to_decoder(void *arg, const void *data, size_t len)
{
	struct dec	*d = arg;
	double		 t0 = now();

	d->err = gzb64_dec_feed(d->dec, data, len);
	d->secs += now() - t0;
	d->text_bytes += len;
	return d->err != 0;
}

/* ---- the encoding side: what the add-on sends ------------------------------ */

static void
esc_flush(struct gen *g)
{
	if (g->nesc > 0 && gzb64_enc_feed(g->enc, g->esc, g->nesc) != 0) {
		fprintf(stderr, "deckstream_peak: encoder or decoder failed\n");
		exit(1);
	}
	g->nesc = 0;
}

/* Outer JSON text, as is. */
static void
outer_put(struct gen *g, const char *s)
{
	size_t	 n = strlen(s);

	if (g->nesc + n > ESC_BUF)
		esc_flush(g);
	memcpy(g->esc + g->nesc, s, n);
	g->nesc += n;
}

/* Inner deck JSON, escaped into the outer string like json.dumps does. */
static void
inner_put(struct gen *g, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	int			 k;

	for (; *p != '\0'; p++) {
		g->inner_bytes++;
		if (g->nesc + 13 > ESC_BUF)	/* the longest escape, \uXXXX\uXXXX */
			esc_flush(g);
		if (*p == '"' || *p == '\\') {
			g->esc[g->nesc++] = '\\';
			g->esc[g->nesc++] = *p;
		} else if (*p == '\n') {
			g->esc[g->nesc++] = '\\';
			g->esc[g->nesc++] = 'n';
		} else if (*p < 0x80)
			g->esc[g->nesc++] = *p;
		else {
			k = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;
			cp = *p & (0x3f >> k);
			while (k-- > 0) {
				cp = cp << 6 | (*++p & 0x3f);
				g->inner_bytes++;
			}
			if (cp >= 0x10000)
				g->nesc += sprintf(g->esc + g->nesc, "\\u%04x\\u%04x",
				    0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff));
			else
				g->nesc += sprintf(g->esc + g->nesc, "\\u%04x", cp);
		}
	}
}

/* A string value of the inner JSON: its quotes escaped once here, then again. */
static void
inner_put_str(struct gen *g, const char *s)
{
	char	 tmp[2 * 1024 + 3];
	size_t	 n = 0;

	tmp[n++] = '"';
	for (; *s != '\0' && n < sizeof(tmp) - 3; s++) {
		if (*s == '"' || *s == '\\')
			tmp[n++] = '\\';
		tmp[n++] = *s;
	}
	tmp[n++] = '"';
	tmp[n] = '\0';
	inner_put(g, tmp);
}

static uint32_t
rnd(struct gen *g)
{
	g->rnd = g->rnd * 1103515245 + 12345;
	return g->rnd >> 8;
}

/* About 1.5 KB of card HTML in two fields, some of it not ASCII. */
static void
note_html(struct gen *g, char *out, size_t cap)
{
	static const char *const words[] = {
		"inhibition", "<b>COX-1</b>", "irreversible", "aspirin", "platelet",
		"thromboxane", "<i>A2</i>", "caf\xc3\xa9", "60\342\200\223100", "bpm",
		"<br>", "<img src=\"ecg_inferior.webp\">", "mechanism", "\xf0\x9f\x92\x93",
		"<span class=\"cloze\">", "</span>", "renal", "clearance", "dose", "&nbsp;",
	};
	size_t	 n = 0, w;

	while (n < cap - 40) {
		w = rnd(g) % (sizeof(words) / sizeof(words[0]));
		n += snprintf(out + n, cap - n, "%s %u ", words[w], rnd(g) % 1000);
	}
	out[n] = '\0';
}

static void
generate(struct gen *g)
{
	char	 buf[2048], front[600], back[1000];
	int	 d, i;

	outer_put(g, "{\"deck\": \"");
	inner_put(g, "{\n    \"__type__\": \"Deck\",\n    \"children\": [\n");
	for (d = 0; d < NDECKS; d++) {
		snprintf(buf, sizeof(buf), "        {\n            \"__type__\": \"Deck\",\n"
		    "            \"children\": [],\n            \"crowdanki_uuid\": "
		    "\"5c0f%04d-0b7e-11f1-9a2b-0242ac120002\",\n            \"desc\": \"\",\n"
		    "            \"name\": \"Chapter %d\",\n            \"notes\": [\n", d, d);
		inner_put(g, buf);
		for (i = 0; i < NOTES_PER_DECK; i++) {
			note_html(g, front, sizeof(front));
			note_html(g, back, sizeof(back));
			snprintf(buf, sizeof(buf), "                {\n"
			    "                    \"__type__\": \"Note\",\n"
			    "                    \"fields\": [\n");
			inner_put(g, buf);
			inner_put(g, "                        ");
			inner_put_str(g, front);
			inner_put(g, ",\n                        ");
			inner_put_str(g, back);
			snprintf(buf, sizeof(buf), "\n                    ],\n"
			    "                    \"guid\": \"g%d-%d\",\n"
			    "                    \"id\": %lld,\n"
			    "                    \"note_model_uuid\": \"5c0f3e1a-0b7e-11f1-9a2b-0242ac120002\",\n"
			    "                    \"tags\": [\"chapter%d\", \"AnkiCollab_Optional::Extra\"]\n"
			    "                }%s\n", d, i, 1717000000000LL + d * 100000 + i, d,
			    i + 1 < NOTES_PER_DECK ? "," : "");
			inner_put(g, buf);
		}
		inner_put(g, d + 1 < NDECKS ? "            ]\n        },\n" : "            ]\n        }\n");
	}
	inner_put(g, "    ],\n    \"crowdanki_uuid\": \"5c0f4f18-0b7e-11f1-9a2b-0242ac120002\",\n"
	    "    \"desc\": \"\",\n    \"name\": \"Pharmacology\",\n    \"note_models\": [\n"
	    "        {\"crowdanki_uuid\": \"5c0f3e1a-0b7e-11f1-9a2b-0242ac120002\", \"name\": \"Basic\","
	    " \"flds\": [{\"name\": \"Front\", \"ord\": 0}, {\"name\": \"Back\", \"ord\": 1}],"
	    " \"req\": [[0, \"any\", [0]]], \"type\": 0}\n    ],\n    \"notes\": []\n}");
	outer_put(g, "\"}");
	esc_flush(g);
}

int
main(void)
{
	static const struct jsonstream_cb deck_cb = { deck_begin, deck_value, NULL, deck_end };
	static const struct jsonstream_cb outer_cb = { outer_begin, NULL, outer_string, outer_end };
	struct gen		 g = { .rnd = 42 };
	struct walk		 w = { 0 };
	struct dec		 d = { 0 };
	struct jsonstream	*outer;
	long			 hwm0;
	double			 t0, total;
	int			 e;

	hwm0 = vm_hwm_kb();
	t0 = now();
	if ((w.inner = jsonstream_new(NULL, &deck_cb, &w)) == NULL ||
	    (outer = jsonstream_new(NULL, &outer_cb, &w)) == NULL ||
	    (d.dec = gzb64_dec_new(GZB64_MAX_INFLATED, jsonstream_sink, outer)) == NULL ||
	    (g.enc = gzb64_enc_new(GZB64_LEVEL, to_decoder, &d)) == NULL) {
		fprintf(stderr, "deckstream_peak: out of memory\n");
		return 1;
	}
	generate(&g);
	if (gzb64_enc_finish(g.enc) != 0 || (e = gzb64_dec_finish(d.dec)) != 0 ||
	    (e = jsonstream_finish(outer)) != 0 || w.inner_err != 0) {
		fprintf(stderr, "deckstream_peak: decode failed: %s / %s / inner: %s at %llu\n",
		    gzb64_strerror(d.err), jsonstream_errmsg(outer), jsonstream_errmsg(w.inner),
		    (unsigned long long)jsonstream_offset(w.inner));
		return 1;
	}
	total = now() - t0;

	printf("notes          %ld in %ld decks, %ld notetype (expected %d in %d)\n",
	    w.notes, w.decks, w.notetypes, NDECKS * NOTES_PER_DECK, NDECKS + 1);
	printf("inner JSON     %.1f MB, outer JSON %.1f MB, GZB64 body %.1f MB\n",
	    g.inner_bytes / 1e6, gzb64_dec_total_out(d.dec) / 1e6, d.text_bytes / 1e6);
	printf("decode         %.2f s: %.1f MB/s of body, %.1f MB/s of JSON, %.0f notes/s\n",
	    d.secs, d.text_bytes / 1e6 / d.secs, gzb64_dec_total_out(d.dec) / 1e6 / d.secs,
	    w.notes / d.secs);
	printf("whole run      %.2f s (generating and gzip-encoding included)\n", total);
	printf("peak RSS       %ld kB (reference: %ld kB before decoding; apid goal < 32768 kB)\n",
	    vm_hwm_kb(), hwm0);
	gzb64_enc_free(g.enc);
	gzb64_dec_free(d.dec);
	jsonstream_free(outer);
	jsonstream_free(w.inner);
	return w.notes == NDECKS * NOTES_PER_DECK ? 0 : 1;
}
