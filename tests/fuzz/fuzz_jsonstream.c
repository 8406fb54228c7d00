/*
 * fuzz_jsonstream.c — the streaming JSON reader on any bytes.
 *
 * The first byte picks a policy and limits; the rest is the document. It
 * is read once whole and once in random pieces: the error, its offset (for
 * errors found at a byte) and a hash of every event must agree. Strings may
 * be streamed, unescaped, into a second jsonstream (the /createDeck shape).
 * A value the reader accepted and json-c refused is a finding too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/jsonstream.h"

enum policy {
	P_ENTER,	/* enter containers, capture scalars, stream strings */
	P_CAPTURE,	/* capture members of the root */
	P_DECK,		/* the deck walk of spec/api.md §3.1 */
	P_NESTED	/* stream every string into an inner reader */
};

struct run {
	enum policy		 policy;
	uint64_t		 hash;
	struct jsonstream	*inner;
	int			 inner_runs;
};

static void
mix(struct run *r, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 i;

	for (i = 0; i < len; i++)
		r->hash = (r->hash ^ p[i]) * 0x100000001b3ULL;
}

static void
mix_path(struct run *r, struct jsonstream *js, int what)
{
	size_t	 n, idx;
	int	 i;
	const char *k;

	mix(r, &what, sizeof(what));
	for (i = 0; i < jsonstream_depth(js); i++) {
		if ((k = jsonstream_key(js, i, &n)) != NULL)
			mix(r, k, n + 1);
		idx = jsonstream_index(js, i);
		mix(r, &idx, sizeof(idx));
	}
}

static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* Inner documents: enter and capture everything, as P_ENTER does. */
static int
inner_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	mix_path(arg, js, 'b' + t);
	return t == JSONSTREAM_OBJECT || t == JSONSTREAM_ARRAY ? JSONSTREAM_ENTER :
	    t == JSONSTREAM_STRING ? JSONSTREAM_STREAM : JSONSTREAM_CAPTURE;
}

static int
on_value(void *arg, struct jsonstream *js, struct json_object *o)
{
	const char	*s;

	mix_path(arg, js, 'v');
	s = o == NULL ? "null" : json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	mix(arg, s, strlen(s));
	return 0;
}

static int
inner_string(void *arg, struct jsonstream *js, const char *d, size_t n)
{
	mix(arg, d, n);
	return 0;
}

static int
on_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	mix_path(arg, js, 'e' + t);
	return 0;
}

static const struct jsonstream_cb inner_cb = { inner_begin, on_value, inner_string, on_end };

static int
outer_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct run	*r = arg;
	int		 container = t == JSONSTREAM_OBJECT || t == JSONSTREAM_ARRAY;

	mix_path(r, js, 'B' + t);
	switch (r->policy) {
	case P_ENTER:
		return inner_begin(r, js, t);
	case P_CAPTURE:
		return jsonstream_depth(js) == 0 ? JSONSTREAM_ENTER : JSONSTREAM_CAPTURE;
	case P_DECK:
		if (jsonstream_match(js, "") || jsonstream_match(js, "**/children/#"))
			return t == JSONSTREAM_OBJECT ? JSONSTREAM_ENTER : JSONSTREAM_STOP;
		if (jsonstream_match(js, "**/children") || jsonstream_match(js, "**/notes") ||
		    jsonstream_match(js, "**/note_models"))
			return JSONSTREAM_ENTER;
		if (jsonstream_match(js, "**/notes/#") || jsonstream_match(js, "**/name"))
			return JSONSTREAM_CAPTURE;
		return JSONSTREAM_SKIP;
	case P_NESTED:
		if (t == JSONSTREAM_STRING && r->inner == NULL) {
			r->inner = jsonstream_new(NULL, &inner_cb, r);
			if (r->inner == NULL)
				abort();
			return JSONSTREAM_STREAM;
		}
		return container ? JSONSTREAM_ENTER : JSONSTREAM_CAPTURE;
	}
	return JSONSTREAM_SKIP;
}

static int
outer_string(void *arg, struct jsonstream *js, const char *d, size_t n)
{
	struct run	*r = arg;

	if (r->inner == NULL) {
		mix(r, d, n);
		return 0;
	}
	/* Like apid: keep reading the outer one when the inner one fails. */
	jsonstream_feed(r->inner, d, n);
	return 0;
}

static void
inner_done(struct run *r, int finish)
{
	int	 e;

	if (r->inner == NULL)
		return;
	e = finish ? jsonstream_finish(r->inner) : jsonstream_error(r->inner);
	if (e == JSONSTREAM_ENOMEM)
		abort();
	mix(r, &e, sizeof(e));
	jsonstream_free(r->inner);
	r->inner = NULL;
	r->inner_runs++;
}

static int
outer_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct run	*r = arg;

	if (t == JSONSTREAM_STRING && r->inner != NULL)
		inner_done(r, 1);
	return on_end(r, js, t);
}

static const struct jsonstream_cb outer_cb = { outer_begin, on_value, outer_string, outer_end };

static int
run(const uint8_t *doc, size_t size, const struct jsonstream_conf *conf, enum policy policy,
    uint32_t seed, struct run *r, uint64_t *offp)
{
	struct jsonstream	*js;
	size_t			 off, k;
	int			 e = 0;

	memset(r, 0, sizeof(*r));
	r->policy = policy;
	if ((js = jsonstream_new(conf, &outer_cb, r)) == NULL)
		abort();
	for (off = 0; off < size && e == 0; off += k) {
		k = seed == 0 ? size : 1 + rnd(&seed) % 61;
		if (k > size - off)
			k = size - off;
		e = jsonstream_feed(js, doc + off, k);
	}
	if (e == 0)
		e = jsonstream_finish(js);
	inner_done(r, 0);
	*offp = jsonstream_offset(js);
	jsonstream_free(js);
	return e;
}

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonstream_conf	 conf = { 0 };
	struct run		 whole, part;
	uint64_t		 off0, off;
	uint32_t		 seed = 2166136261U;
	size_t			 i;
	int			 e;

	if (size < 1)
		return 0;
	if (data[0] & 4) {
		conf.max_depth = 1 + (data[0] >> 3 & 7);
		conf.max_capture = 1 + (data[0] >> 6) * 7;
		conf.max_key = 1 + (data[0] >> 6);
	}
	for (i = 0; i < size && i < 32; i++)
		seed = (seed ^ data[i]) * 16777619U;
	seed |= 1;

	e = run(data + 1, size - 1, &conf, data[0] & 3, 0, &whole, &off0);
	if (e == JSONSTREAM_ENOMEM)
		abort();	/* json-c refused a value we found valid */
	if (run(data + 1, size - 1, &conf, data[0] & 3, seed, &part, &off) != e ||
	    part.hash != whole.hash || part.inner_runs != whole.inner_runs)
		abort();
	if ((e == JSONSTREAM_ESYNTAX || e == JSONSTREAM_EUTF8 || e == JSONSTREAM_EDEPTH) &&
	    off != off0)
		abort();
	return 0;
}
