/*
 * test_jsonstream.c — the streaming JSON reader, alone and behind gzb64.
 *
 * Most checks run a document through every chunking from one byte up and
 * require the same events and the same error as when it is fed whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "common/gzb64.h"
#include "common/jsonstream.h"

struct buf {
	char	*p;
	size_t	 len, cap;
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
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- a recorder: every event as a line ------------------------------------ */

typedef int	(*decide_fn)(struct jsonstream *, enum jsonstream_type);

struct rec {
	decide_fn	 decide;
	struct buf	 log;
	struct buf	 str;		/* the STREAM string being collected */
	int		 fail_on;	/* 'B', 'V', 'S', 'E': that callback fails */
};

static const char *
type_name(enum jsonstream_type t)
{
	static const char *const names[] = {
		"?", "object", "array", "string", "number", "true", "false", "null"
	};

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void
log_path(struct buf *b, struct jsonstream *js)
{
	char	 n[32];
	int	 i;

	buf_str(b, "/");
	for (i = 0; i < jsonstream_depth(js); i++) {
		if (i > 0)
			buf_str(b, "/");
		if (jsonstream_container(js, i) == JSONSTREAM_OBJECT)
			buf_str(b, jsonstream_key(js, i, NULL));
		else {
			snprintf(n, sizeof(n), "%zu", jsonstream_index(js, i));
			buf_str(b, n);
		}
	}
}

static int
rec_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct rec	*r = arg;

	buf_str(&r->log, "B ");
	log_path(&r->log, js);
	buf_str(&r->log, " ");
	buf_str(&r->log, type_name(t));
	buf_str(&r->log, "\n");
	if (r->fail_on == 'B')
		return JSONSTREAM_STOP;
	return r->decide(js, t);
}

static int
rec_value(void *arg, struct jsonstream *js, struct json_object *o)
{
	struct rec	*r = arg;

	buf_str(&r->log, "V ");
	log_path(&r->log, js);
	buf_str(&r->log, " ");
	buf_str(&r->log, o == NULL ? "null" : json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	buf_str(&r->log, "\n");
	return r->fail_on == 'V';
}

static int
rec_string(void *arg, struct jsonstream *js, const char *d, size_t n)
{
	struct rec	*r = arg;

	assert_true(n > 0);
	buf_add(&r->str, d, n);
	return r->fail_on == 'S';
}

static int
rec_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct rec	*r = arg;

	buf_str(&r->log, "E ");
	log_path(&r->log, js);
	buf_str(&r->log, " ");
	buf_str(&r->log, type_name(t));
	if (t == JSONSTREAM_STRING) {
		buf_str(&r->log, " ");
		if (r->str.len > 0)
			buf_add(&r->log, r->str.p, r->str.len);
		r->str.len = 0;
	}
	buf_str(&r->log, "\n");
	return r->fail_on == 'E';
}

static const struct jsonstream_cb rec_cb = { rec_begin, rec_value, rec_string, rec_end };

/* Policies. */
static int
enter_all(struct jsonstream *js, enum jsonstream_type t)
{
	return t == JSONSTREAM_STRING ? JSONSTREAM_STREAM :
	    t == JSONSTREAM_OBJECT || t == JSONSTREAM_ARRAY ? JSONSTREAM_ENTER : JSONSTREAM_CAPTURE;
}

static int
capture_all(struct jsonstream *js, enum jsonstream_type t)
{
	return JSONSTREAM_CAPTURE;
}

static int
skip_all(struct jsonstream *js, enum jsonstream_type t)
{
	return JSONSTREAM_SKIP;
}

/* Enter the root, capture its members. */
static int
capture_members(struct jsonstream *js, enum jsonstream_type t)
{
	return jsonstream_depth(js) == 0 ? JSONSTREAM_ENTER : JSONSTREAM_CAPTURE;
}

/* Runs doc in pieces of chunk bytes; the log goes to r->log. */
static int
run(const char *doc, size_t n, size_t chunk, const struct jsonstream_conf *conf,
    decide_fn decide, struct rec *r, uint64_t *offp)
{
	struct jsonstream	*js;
	size_t			 off, k;
	int			 e = 0;

	r->decide = decide;
	assert_non_null(js = jsonstream_new(conf, decide != NULL ? &rec_cb : NULL, r));
	for (off = 0; off < n && e == 0; off += k) {
		k = n - off < chunk ? n - off : chunk;
		e = jsonstream_feed(js, doc + off, k);
	}
	if (e == 0)
		e = jsonstream_finish(js);
	assert_int_equal(jsonstream_error(js), e);
	assert_int_equal(jsonstream_finish(js), e);	/* sticky */
	if (e != 0)
		assert_true(jsonstream_errmsg(js)[0] != '\0');
	if (offp != NULL)
		*offp = jsonstream_offset(js);
	jsonstream_free(js);
	return e;
}

/*
 * Every chunking gives the error and events of the whole feed; that error
 * must be want, and the log (if expect is not NULL) expect. Long documents
 * are cut every way up to 600 bytes a piece, then in a sample of ways.
 */
static void
check_doc(const char *doc, size_t n, const struct jsonstream_conf *conf, decide_fn decide,
    int want, const char *expect)
{
	struct rec	 whole = { 0 }, part = { 0 };
	uint64_t	 off0, off;
	size_t		 chunk;
	int		 e;

	e = run(doc, n, n > 0 ? n : 1, conf, decide, &whole, &off0);
	if (e != want)
		fail_msg("%.*s: error %d at %llu, want %d", (int)(n < 80 ? n : 80), doc,
		    e, (unsigned long long)off0, want);
	if (expect != NULL)
		assert_string_equal(whole.log.p != NULL ? whole.log.p : "", expect);
	for (chunk = 1; chunk < n; chunk += chunk < 600 ? 1 : 997) {
		assert_int_equal(run(doc, n, chunk, conf, decide, &part, &off), e);
		/* Found where they are, whatever the cut (a long key: in its piece). */
		if (e == JSONSTREAM_ESYNTAX || e == JSONSTREAM_EUTF8 || e == JSONSTREAM_EDEPTH)
			assert_int_equal(off, off0);
		assert_int_equal(part.log.len, whole.log.len);
		if (part.log.len > 0)
			assert_memory_equal(part.log.p, whole.log.p, whole.log.len);
		buf_free(&part.log);
		buf_free(&part.str);
	}
	buf_free(&whole.log);
	buf_free(&whole.str);
}

static void
check_all_modes(const char *doc, size_t n, int want)
{
	check_doc(doc, n, NULL, NULL, want, NULL);
	check_doc(doc, n, NULL, enter_all, want, NULL);
	check_doc(doc, n, NULL, capture_all, want, NULL);
	check_doc(doc, n, NULL, skip_all, want, NULL);
	check_doc(doc, n, NULL, capture_members, want, NULL);
}

/* ---- syntax ---------------------------------------------------------------- */

static void
test_valid(void **state)
{
	static const char *const good[] = {
		"{}", "[]", "[[]]", "{\"a\":{}}", " \t\r\n{ }\n ", "[[], {}, [[{}]]]",
		"0", "-0", "7", "-12.5e+07", "1E5", "0.000", "1e-0", "123456789012345678901234567890",
		"true", "false", "null", "[true,false,null]", "\"\"", "\"x\"",
		"{\"\":\"\"}", "{\"a\":1,\"a\":2}", "[1,-1,0.5,1e3,-0e-0]",
		"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u00e9\\uD83D\\uDE00\\uffff\"",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xef\xbf\xbf \xf4\x8f\xbf\xbf\"",
		"{\"k\xc3\xa9y\":[\"v\", {\"n\": [1, [2, [3]]]}]}",
		"[\"\\u0041\\u00C9\\u20AC\\uD834\\uDD1E\"]",
	};
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		check_all_modes(good[i], strlen(good[i]), 0);
}

static void
test_invalid(void **state)
{
	static const struct {
		const char	*doc;
		int		 err;
	} bad[] = {
		{ "", JSONSTREAM_ETRUNCATED }, { " \n", JSONSTREAM_ETRUNCATED },
		{ "{", JSONSTREAM_ETRUNCATED }, { "[", JSONSTREAM_ETRUNCATED },
		{ "[1", JSONSTREAM_ETRUNCATED }, { "{\"a\"", JSONSTREAM_ETRUNCATED },
		{ "{\"a\":", JSONSTREAM_ETRUNCATED }, { "\"abc", JSONSTREAM_ETRUNCATED },
		{ "\"\\", JSONSTREAM_ETRUNCATED }, { "\"\\u12", JSONSTREAM_ETRUNCATED },
		{ "tru", JSONSTREAM_ETRUNCATED }, { "-", JSONSTREAM_ETRUNCATED },
		{ "1.", JSONSTREAM_ETRUNCATED }, { "1e", JSONSTREAM_ETRUNCATED },
		{ "1e+", JSONSTREAM_ETRUNCATED }, { "\"\xc3", JSONSTREAM_ETRUNCATED },
		{ "}", JSONSTREAM_ESYNTAX }, { "]", JSONSTREAM_ESYNTAX },
		{ "[1,]", JSONSTREAM_ESYNTAX }, { "[,1]", JSONSTREAM_ESYNTAX },
		{ "{\"a\"}", JSONSTREAM_ESYNTAX }, { "{\"a\":}", JSONSTREAM_ESYNTAX },
		{ "{\"a\" 1}", JSONSTREAM_ESYNTAX }, { "{a:1}", JSONSTREAM_ESYNTAX },
		{ "{'a':1}", JSONSTREAM_ESYNTAX }, { "[1 2]", JSONSTREAM_ESYNTAX },
		{ "truex", JSONSTREAM_ESYNTAX }, { "trUe", JSONSTREAM_ESYNTAX },
		{ "nul", JSONSTREAM_ETRUNCATED }, { "NaN", JSONSTREAM_ESYNTAX },
		{ "Infinity", JSONSTREAM_ESYNTAX }, { "-Infinity", JSONSTREAM_ESYNTAX },
		{ "[01]", JSONSTREAM_ESYNTAX }, { "-01", JSONSTREAM_ESYNTAX },
		{ "[.1]", JSONSTREAM_ESYNTAX }, { "[+1]", JSONSTREAM_ESYNTAX },
		{ "[--1]", JSONSTREAM_ESYNTAX }, { "[1.2.3]", JSONSTREAM_ESYNTAX },
		{ "[1e5e5]", JSONSTREAM_ESYNTAX }, { "[1.e5]", JSONSTREAM_ESYNTAX },
		{ "[0x10]", JSONSTREAM_ESYNTAX }, { "[1,,2]", JSONSTREAM_ESYNTAX },
		{ "{}{}", JSONSTREAM_ESYNTAX }, { "[]]", JSONSTREAM_ESYNTAX },
		{ "{\"a\":1}}", JSONSTREAM_ESYNTAX }, { "[1]x", JSONSTREAM_ESYNTAX },
		{ "{\"a\":1,}", JSONSTREAM_ESYNTAX }, { "{,}", JSONSTREAM_ESYNTAX },
		{ "{\"a\":1 \"b\":2}", JSONSTREAM_ESYNTAX }, { "[}", JSONSTREAM_ESYNTAX },
		{ "{]", JSONSTREAM_ESYNTAX }, { "{\"a\":[}", JSONSTREAM_ESYNTAX },
		{ "[\"a\"]]", JSONSTREAM_ESYNTAX }, { "/* */{}", JSONSTREAM_ESYNTAX },
		{ "{} // x", JSONSTREAM_ESYNTAX }, { "\f{}", JSONSTREAM_ESYNTAX },
		{ "{}\v", JSONSTREAM_ESYNTAX }, { "\xef\xbb\xbf{}", JSONSTREAM_ESYNTAX },
		{ "\"a\\x\"", JSONSTREAM_ESYNTAX }, { "\"\\u12G4\"", JSONSTREAM_ESYNTAX },
		{ "\"\\U0041\"", JSONSTREAM_ESYNTAX }, { "\"\\'\"", JSONSTREAM_ESYNTAX },
		{ "\"\x01\"", JSONSTREAM_ESYNTAX }, { "\"a\nb\"", JSONSTREAM_ESYNTAX },
		{ "\"\x1f\"", JSONSTREAM_ESYNTAX }, { "\"\t\"", JSONSTREAM_ESYNTAX },
		{ "{\"a\x01\":1}", JSONSTREAM_ESYNTAX },
		{ "\"\\ud800\"", JSONSTREAM_ESYNTAX }, { "\"\\ud800x\"", JSONSTREAM_ESYNTAX },
		{ "\"\\udc00\"", JSONSTREAM_ESYNTAX }, { "\"\\ud800\\u0041\"", JSONSTREAM_ESYNTAX },
		{ "\"\\ud800\\n\"", JSONSTREAM_ESYNTAX }, { "\"\\ud800\\ud800\"", JSONSTREAM_ESYNTAX },
		{ "\"\\udbff\\ue000\"", JSONSTREAM_ESYNTAX }, { "[\"\\u\"]", JSONSTREAM_ESYNTAX },
		{ "\"\xff\"", JSONSTREAM_EUTF8 }, { "\"\xc0\x80\"", JSONSTREAM_EUTF8 },
		{ "\"\xc1\xbf\"", JSONSTREAM_EUTF8 }, { "\"\xe0\x80\xaf\"", JSONSTREAM_EUTF8 },
		{ "\"\xed\xa0\x80\"", JSONSTREAM_EUTF8 }, { "\"\xf4\x90\x80\x80\"", JSONSTREAM_EUTF8 },
		{ "\"\xf5\x80\x80\x80\"", JSONSTREAM_EUTF8 }, { "\"\xe2\x82\"", JSONSTREAM_EUTF8 },
		{ "\"\x80\"", JSONSTREAM_EUTF8 }, { "\"\xc3\xa9\xa9\"", JSONSTREAM_EUTF8 },
		{ "{\"\xfe\":1}", JSONSTREAM_EUTF8 }, { "[\xc3\xa9]", JSONSTREAM_ESYNTAX },
	};
	size_t	 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_all_modes(bad[i].doc, strlen(bad[i].doc), bad[i].err);
	check_all_modes("[\"a\0\"]", 6, JSONSTREAM_ESYNTAX);
	check_all_modes("[1]\0", 4, JSONSTREAM_ESYNTAX);
}

static void
test_error_offset(void **state)
{
	struct rec	 r = { 0 };
	uint64_t	 off;

	assert_int_equal(run("[1,]", 4, 1, NULL, enter_all, &r, &off), JSONSTREAM_ESYNTAX);
	assert_int_equal(off, 3);
	buf_free(&r.log);
	assert_int_equal(run("{\"a\":\"\\q\"}", 10, 2, NULL, NULL, &r, &off), JSONSTREAM_ESYNTAX);
	assert_int_equal(off, 7);
	assert_int_equal(run("[\"\xff\"]", 4, 4, NULL, NULL, &r, &off), JSONSTREAM_EUTF8);
	assert_int_equal(off, 2);
	assert_int_equal(run("[1] ", 4, 1, NULL, NULL, &r, &off), 0);
	assert_int_equal(off, 4);
}

/* ---- events ---------------------------------------------------------------- */

static void
test_events(void **state)
{
	const char	*doc = "{\"a\": [1, \"x\\ty\", {}, []], \"b\": {\"c\": null}, \"\": true}";

	check_doc(doc, strlen(doc), NULL, enter_all, 0,
	    "B / object\n"
	    "B /a array\n"
	    "B /a/0 number\n"
	    "V /a/0 1\n"
	    "B /a/1 string\n"
	    "E /a/1 string x\ty\n"
	    "B /a/2 object\n"
	    "E /a/2 object\n"
	    "B /a/3 array\n"
	    "E /a/3 array\n"
	    "E /a array\n"
	    "B /b object\n"
	    "B /b/c null\n"
	    "V /b/c null\n"
	    "E /b object\n"
	    "B / true\n"
	    "V / true\n"
	    "E / object\n");
	check_doc(doc, strlen(doc), NULL, capture_members, 0,
	    "B / object\n"
	    "B /a array\n"
	    "V /a [1,\"x\\ty\",{},[]]\n"
	    "B /b object\n"
	    "V /b {\"c\":null}\n"
	    "B / true\n"
	    "V / true\n"
	    "E / object\n");
	check_doc(doc, strlen(doc), NULL, skip_all, 0, "B / object\n");
}

/* Numbers and literals captured whole, whatever the cut. */
static void
test_scalars(void **state)
{
	const char	*doc = "[12345678901, -0.5e-3, 0, true, false, null, \"\\u00e9\", 9223372036854775807]";

	check_doc(doc, strlen(doc), NULL, enter_all, 0,
	    "B / array\n"
	    "B /0 number\nV /0 12345678901\n"
	    "B /1 number\nV /1 -0.5e-3\n"
	    "B /2 number\nV /2 0\n"
	    "B /3 true\nV /3 true\n"
	    "B /4 false\nV /4 false\n"
	    "B /5 null\nV /5 null\n"
	    "B /6 string\nE /6 string \xc3\xa9\n"
	    "B /7 number\nV /7 9223372036854775807\n"
	    "E / array\n");
	check_doc("-12.5E+3", 8, NULL, capture_all, 0, "B / number\nV / -12.5E+3\n");
	check_doc("0", 1, NULL, capture_all, 0, "B / number\nV / 0\n");
	check_doc("null", 4, NULL, capture_all, 0, "B / null\nV / null\n");
	check_doc(" false ", 7, NULL, capture_all, 0, "B / false\nV / false\n");
}

/* Every escape unescaped, also when cut inside it. */
static void
test_stream_unescape(void **state)
{
	const char	*doc = "[\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\\u0000j\\u00e9\\u20ac"
			    "\\uD83D\\uDE00\\ud834\\udd1e\\uFFFF\xc3\xa9\xf0\x9f\x98\x80z\"]";
	const char	 want[] = "E /0 string a\"b\\c/d\be\ff\ng\rh\ti\0j\xc3\xa9\xe2\x82\xac"
			    "\xf0\x9f\x98\x80\xf0\x9d\x84\x9e\xef\xbf\xbf\xc3\xa9\xf0\x9f\x98\x80z\n";
	struct buf	 expect = { 0 };
	struct rec	 r = { 0 };

	buf_str(&expect, "B / array\nB /0 string\n");
	buf_add(&expect, want, sizeof(want) - 1);
	buf_str(&expect, "E / array\n");
	/* The log holds a 0 byte, so compare it here; check_doc cuts it every way. */
	assert_int_equal(run(doc, strlen(doc), 1, NULL, enter_all, &r, NULL), 0);
	assert_int_equal(r.log.len, expect.len);
	assert_memory_equal(r.log.p, expect.p, expect.len);
	check_doc(doc, strlen(doc), NULL, enter_all, 0, NULL);
	buf_free(&r.log);
	buf_free(&r.str);
	buf_free(&expect);
}

/* A long string passes through the stream buffer in several pieces. */
static void
test_stream_long(void **state)
{
	struct buf	 doc = { 0 }, expect = { 0 };
	size_t		 i;

	buf_str(&doc, "\"");
	buf_str(&expect, "B / string\nE / string ");
	for (i = 0; i < 20000; i++) {
		buf_str(&doc, i % 100 == 0 ? "\\n" : i % 7 == 0 ? "\\u00e9" : "x");
		buf_str(&expect, i % 100 == 0 ? "\n" : i % 7 == 0 ? "\xc3\xa9" : "x");
	}
	buf_str(&doc, "\"");
	buf_str(&expect, "\n");
	check_doc(doc.p, doc.len, NULL, enter_all, 0, expect.p);
	buf_free(&doc);
	buf_free(&expect);
}

/* ---- depth ----------------------------------------------------------------- */

static void
nest(struct buf *b, int n, const char *open, const char *mid, const char *close)
{
	int	 i;

	for (i = 0; i < n; i++)
		buf_str(b, open);
	buf_str(b, mid);
	for (i = 0; i < n; i++)
		buf_str(b, close);
}

static void
test_depth(void **state)
{
	struct jsonstream_conf	 conf = { .max_depth = 64 };
	struct buf		 b = { 0 };
	struct rec		 r = { 0 };
	uint64_t		 off;
	decide_fn		 modes[] = { NULL, enter_all, capture_all, skip_all, capture_members };
	size_t			 m;

	/* 10,000 deep, unclosed and closed: a clean error. */
	nest(&b, 10000, "[", "", "");
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		assert_int_equal(run(b.p, b.len, 1, NULL, modes[m], &r, &off), JSONSTREAM_EDEPTH);
		assert_int_equal(off, 64);
		buf_free(&r.log);
		assert_int_equal(run(b.p, b.len, b.len, NULL, modes[m], &r, &off), JSONSTREAM_EDEPTH);
		buf_free(&r.log);
	}
	buf_free(&b);
	nest(&b, 10000, "{\"a\":", "1", "}");
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++) {
		assert_int_equal(run(b.p, b.len, 4096, NULL, modes[m], &r, NULL), JSONSTREAM_EDEPTH);
		buf_free(&r.log);
	}
	buf_free(&b);

	/* The cap exactly: 64 containers are fine (json-c too), 65 are not. */
	nest(&b, 64, "[", "1", "]");
	check_doc(b.p, b.len, &conf, capture_all, 0, NULL);
	check_doc(b.p, b.len, &conf, enter_all, 0, NULL);
	buf_free(&b);
	nest(&b, 65, "[", "1", "]");
	check_doc(b.p, b.len, &conf, capture_all, JSONSTREAM_EDEPTH, NULL);
	check_doc(b.p, b.len, &conf, NULL, JSONSTREAM_EDEPTH, NULL);
	buf_free(&b);
	conf.max_depth = 3;
	check_doc("[[[]]]", 6, &conf, enter_all, 0, NULL);
	check_doc("[[[[]]]]", 8, &conf, enter_all, JSONSTREAM_EDEPTH, NULL);
	check_doc("{\"a\":{\"b\":[{}]}}", 16, &conf, capture_members, JSONSTREAM_EDEPTH, NULL);
}

/* ---- limits and callbacks ---------------------------------------------------- */

static void
test_limits(void **state)
{
	struct jsonstream_conf	 conf = { .max_capture = 10, .max_key = 3 };

	/* A captured value of max_capture bytes, and one more. */
	check_doc("[\"12345678\"]", 12, &conf, capture_members, 0, NULL);
	check_doc("[\"123456789\"]", 13, &conf, capture_members, JSONSTREAM_ELIMIT, NULL);
	check_doc("[[1,2,3,4,5]]", 13, &conf, capture_members, JSONSTREAM_ELIMIT, NULL);
	check_doc("[[1,2,3,4]]", 11, &conf, capture_members, 0, NULL);
	/* The limit is found where it is reached, before a later syntax error. */
	check_doc("[\"123456789\\q\"]", 15, &conf, capture_members, JSONSTREAM_ELIMIT, NULL);
	check_doc("[\"12\\q3456789\"]", 15, &conf, capture_members, JSONSTREAM_ESYNTAX, NULL);
	/* Skipped or streamed values have no limit. */
	check_doc("[\"123456789012345\"]", 19, &conf, skip_all, 0, NULL);
	check_doc("[\"123456789012345\"]", 19, &conf, enter_all, 0, NULL);

	/* Member names are kept (and limited) only in ENTERed objects. */
	check_doc("{\"abc\":1}", 9, &conf, enter_all, 0, NULL);
	check_doc("{\"abcd\":1}", 10, &conf, enter_all, JSONSTREAM_ELIMIT, NULL);
	check_doc("{\"ab\\u00e9\":1}", 14, &conf, enter_all, JSONSTREAM_ELIMIT, NULL);
	check_doc("{\"abcd\":1}", 10, &conf, skip_all, 0, NULL);
	check_doc("[{\"abcdefgh\":1}]", 16, &conf, capture_members, JSONSTREAM_ELIMIT, NULL);
	conf.max_capture = 0;
	check_doc("[{\"abcdefgh\":1}]", 16, &conf, capture_members, 0, NULL);
}

static void
test_callbacks(void **state)
{
	struct rec		 r = { 0 };
	struct jsonstream	*js;
	const char		*doc = "{\"a\":[1,\"s\"]}";
	int			 c;

	for (c = 0; c < 4; c++) {
		r.fail_on = "BVSE"[c];
		r.decide = enter_all;
		assert_non_null(js = jsonstream_new(NULL, &rec_cb, &r));
		assert_int_equal(jsonstream_feed(js, doc, strlen(doc)), JSONSTREAM_ECALLBACK);
		assert_int_equal(jsonstream_feed(js, "x", 1), JSONSTREAM_ECALLBACK);
		assert_int_equal(jsonstream_finish(js), JSONSTREAM_ECALLBACK);
		jsonstream_free(js);
		buf_free(&r.log);
		buf_free(&r.str);
	}
	r.fail_on = 0;
	assert_non_null(js = jsonstream_new(NULL, &rec_cb, &r));
	assert_int_equal(jsonstream_feed(js, doc, strlen(doc)), 0);
	assert_int_equal(jsonstream_finish(js), 0);
	assert_int_equal(jsonstream_finish(js), 0);
	assert_int_equal(jsonstream_feed(js, " ", 1), JSONSTREAM_EUSAGE);
	assert_int_equal(jsonstream_offset(js), strlen(doc));
	jsonstream_free(js);
	jsonstream_free(NULL);
	buf_free(&r.log);
	buf_free(&r.str);

	/* The sink form stops a gzb64 decoder. */
	assert_non_null(js = jsonstream_new(NULL, NULL, NULL));
	assert_int_equal(jsonstream_sink(js, "[1]", 3), 0);
	assert_int_equal(jsonstream_sink(js, "]", 1), 1);
	jsonstream_free(js);
}

/* ---- the path -------------------------------------------------------------- */

struct matchcase {
	const char	*pattern;
	const char	*hits;	/* "B" paths that match, ';'-separated */
};

struct matchrec {
	const struct matchcase	*mc;
	struct buf		 got;
};

static int
match_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct matchrec	*m = arg;

	if (jsonstream_match(js, m->mc->pattern)) {
		log_path(&m->got, js);
		buf_str(&m->got, ";");
	}
	return t == JSONSTREAM_OBJECT || t == JSONSTREAM_ARRAY ? JSONSTREAM_ENTER : JSONSTREAM_SKIP;
}

static void
test_match(void **state)
{
	static const struct jsonstream_cb cb = { match_begin, NULL, NULL, NULL };
	static const struct matchcase cases[] = {
		{ "", "/;" },
		{ "a", "/a;" },
		{ "*", "/a;/b;/c;" },
		{ "a/#", "/a/0;/a/1;" },
		{ "a/*", "/a/0;/a/1;" },
		{ "#", "" },
		{ "**", "/;/a;/a/0;/a/1;/a/1/a;/b;/b/a;/b/a/0;/b/a/0/a;/c;" },
		{ "**/a", "/a;/a/1/a;/b/a;/b/a/0/a;" },
		{ "**/a/#", "/a/0;/a/1;/b/a/0;" },
		{ "**/a/#/a", "/a/1/a;/b/a/0/a;" },
		{ "b/**/a", "/b/a;/b/a/0/a;" },
		{ "**/#/**", "/a/0;/a/1;/a/1/a;/b/a/0;/b/a/0/a;" },
		{ "a/1/a", "" },
		{ "c/", "/c;" },
		{ "x", "" },
	};
	const char	*doc = "{\"a\":[1,{\"a\":2}],\"b\":{\"a\":[{\"a\":3}]},\"c\":4}";
	struct matchrec	 m;
	struct jsonstream *js;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&m, 0, sizeof(m));
		m.mc = &cases[i];
		assert_non_null(js = jsonstream_new(NULL, &cb, &m));
		assert_int_equal(jsonstream_feed(js, doc, strlen(doc)), 0);
		assert_int_equal(jsonstream_finish(js), 0);
		jsonstream_free(js);
		assert_string_equal(m.got.p != NULL ? m.got.p : "", cases[i].hits);
		buf_free(&m.got);
	}
}

/* ---- the deck tree (spec/api.md §3.1) as apid would walk it ----------------- */

struct deckwalk {
	int		 stack[64];	/* deck numbers, root first */
	int		 top;
	int		 ndecks;
	int		 nnotes;
	struct buf	 log;
};

static int
is_deck(struct jsonstream *js)
{
	return jsonstream_match(js, "") || jsonstream_match(js, "**/children/#");
}

static int
deck_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct deckwalk	*w = arg;

	if (is_deck(js)) {
		if (t != JSONSTREAM_OBJECT || w->top == 64)
			return JSONSTREAM_STOP;
		w->stack[w->top++] = w->ndecks++;
		return JSONSTREAM_ENTER;
	}
	if (jsonstream_match(js, "**/children") || jsonstream_match(js, "**/notes") ||
	    jsonstream_match(js, "**/note_models"))
		return t == JSONSTREAM_ARRAY ? JSONSTREAM_ENTER : JSONSTREAM_SKIP;
	if (jsonstream_match(js, "**/notes/#") || jsonstream_match(js, "**/note_models/#") ||
	    jsonstream_match(js, "**/name") || jsonstream_match(js, "**/desc") ||
	    jsonstream_match(js, "**/crowdanki_uuid"))
		return JSONSTREAM_CAPTURE;
	return JSONSTREAM_SKIP;
}

static void
deck_log(struct deckwalk *w, const char *what, const char *text)
{
	char	 n[16];
	int	 i;

	buf_str(&w->log, what);
	buf_str(&w->log, " [");
	for (i = 0; i < w->top; i++) {
		snprintf(n, sizeof(n), i ? ",%d" : "%d", w->stack[i]);
		buf_str(&w->log, n);
	}
	buf_str(&w->log, "] ");
	buf_str(&w->log, text);
	buf_str(&w->log, "\n");
}

static int
deck_value(void *arg, struct jsonstream *js, struct json_object *o)
{
	struct deckwalk		*w = arg;
	struct json_object	*v;
	const char		*key = jsonstream_key(js, -1, NULL);

	if (key == NULL)
		key = jsonstream_key(js, -2, NULL);
	if (strcmp(key, "notes") == 0) {
		if (!json_object_object_get_ex(o, "guid", &v))
			return -1;
		w->nnotes++;
		deck_log(w, "note", json_object_get_string(v));
	} else if (strcmp(key, "note_models") == 0) {
		if (!json_object_object_get_ex(o, "crowdanki_uuid", &v))
			return -1;
		deck_log(w, "notetype", json_object_get_string(v));
	} else {
		if (!json_object_is_type(o, json_type_string))
			return -1;
		buf_str(&w->log, key);
		deck_log(w, "", json_object_get_string(o));
	}
	return 0;
}

static int
deck_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct deckwalk	*w = arg;

	if (t == JSONSTREAM_OBJECT && is_deck(js)) {
		deck_log(w, "end", "");
		w->top--;
	}
	return 0;
}

static const struct jsonstream_cb deck_cb = { deck_begin, deck_value, NULL, deck_end };

/* CrowdAnki's shape: sorted keys, so children come before a deck's name. */
static const char deck_doc[] =
	"{\"__type__\": \"Deck\",\n\t\"children\": [\r\n"
	"  {\"children\": [{\"children\": [], \"crowdanki_uuid\": \"u3\", \"desc\": \"\","
	"    \"name\": \"Deep\", \"notes\": [{\"guid\": \"g3\", \"fields\": [\"a\\u00e9\"]}]}],"
	"   \"crowdanki_uuid\": \"u2\", \"desc\": \"<b>x</b>\", \"name\": \"ECG\","
	"   \"notes\": [{\"guid\": \"g2\", \"fields\": [], \"tags\": [\"t\"]},"
	"               {\"guid\": \"g2b\", \"name\": \"not a deck\", \"children\": 5}]},"
	"  {\"children\": [], \"crowdanki_uuid\": \"u4\", \"desc\": \"\", \"name\": \"Empty\","
	"   \"notes\": [], \"note_models\": null}],"
	" \"crowdanki_uuid\": \"u1\", \"deck_configurations\": [{\"name\": \"Default\", \"notes\": [1]}],"
	" \"desc\": \"d\", \"media_files\": [\"a.png\"], \"name\": \"Root\","
	" \"note_models\": [{\"crowdanki_uuid\": \"nt1\", \"req\": [[0, \"any\", [0]]]}],"
	" \"notes\": [{\"guid\": \"g1\", \"fields\": [\"60\\u2013100\"]}]}";

static const char deck_expect[] =
	"crowdanki_uuid [0,1,2] u3\n"
	"desc [0,1,2] \n"
	"name [0,1,2] Deep\n"
	"note [0,1,2] g3\n"
	"end [0,1,2] \n"
	"crowdanki_uuid [0,1] u2\n"
	"desc [0,1] <b>x</b>\n"
	"name [0,1] ECG\n"
	"note [0,1] g2\n"
	"note [0,1] g2b\n"
	"end [0,1] \n"
	"crowdanki_uuid [0,3] u4\n"
	"desc [0,3] \n"
	"name [0,3] Empty\n"
	"end [0,3] \n"
	"crowdanki_uuid [0] u1\n"
	"desc [0] d\n"
	"name [0] Root\n"
	"notetype [0] nt1\n"
	"note [0] g1\n"
	"end [0] \n";

static void
walk_deck(const char *doc, size_t n, size_t chunk, struct deckwalk *w)
{
	struct jsonstream	*js;
	size_t			 off, k;

	memset(w, 0, sizeof(*w));
	assert_non_null(js = jsonstream_new(NULL, &deck_cb, w));
	for (off = 0; off < n; off += k) {
		k = n - off < chunk ? n - off : chunk;
		assert_int_equal(jsonstream_feed(js, doc + off, k), 0);
	}
	assert_int_equal(jsonstream_finish(js), 0);
	jsonstream_free(js);
}

static void
test_deck_walk(void **state)
{
	struct deckwalk	 w;
	size_t		 n = sizeof(deck_doc) - 1, chunk;

	for (chunk = 1; chunk <= n; chunk++) {
		walk_deck(deck_doc, n, chunk, &w);
		assert_string_equal(w.log.p, deck_expect);
		assert_int_equal(w.nnotes, 4);
		assert_int_equal(w.top, 0);
		buf_free(&w.log);
	}
}

/* ---- /createDeck: the deck as a string inside the outer object --------------- */

struct outer {
	struct jsonstream	*inner;
	int			 ndeck;
	int			 inner_err;	/* kept, not returned: outer errors rank first */
};

static int
outer_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct outer	*o = arg;

	if (jsonstream_depth(js) == 0)
		return t == JSONSTREAM_OBJECT ? JSONSTREAM_ENTER : JSONSTREAM_STOP;
	if (jsonstream_match(js, "deck")) {
		if (t != JSONSTREAM_STRING || o->ndeck++ > 0)
			return JSONSTREAM_STOP;
		return JSONSTREAM_STREAM;
	}
	return JSONSTREAM_SKIP;
}

static int
outer_string(void *arg, struct jsonstream *js, const char *d, size_t n)
{
	struct outer	*o = arg;

	if (o->inner_err == 0)
		o->inner_err = jsonstream_feed(o->inner, d, n);
	return 0;
}

static int
outer_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct outer	*o = arg;

	if (t == JSONSTREAM_STRING && o->inner_err == 0)
		o->inner_err = jsonstream_finish(o->inner);
	return 0;
}

static const struct jsonstream_cb outer_cb = { outer_begin, NULL, outer_string, outer_end };

/* Escapes like Python's json.dumps with ensure_ascii: \uXXXX for non-ASCII. */
static void
json_quote(const char *text, size_t n, struct buf *out)
{
	static const char	 special[] = "\"\\/\n\t\r\b\f", letter[] = "\"\\/ntrbf";
	const unsigned char	*p = (const unsigned char *)text, *end = p + n;
	const char		*s;
	uint32_t		 cp;
	char			 e[16];
	int			 k;

	buf_str(out, "\"");
	while (p < end) {
		if (*p < 0x80) {
			if ((s = memchr(special, *p, sizeof(special) - 1)) != NULL) {
				buf_str(out, "\\");
				buf_add(out, &letter[s - special], 1);
			} else if (*p < 0x20) {
				snprintf(e, sizeof(e), "\\u%04x", *p);
				buf_str(out, e);
			} else
				buf_add(out, p, 1);
			p++;
			continue;
		}
		k = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : 1;
		cp = *p++ & (0x3f >> k);
		while (k-- > 0)
			cp = cp << 6 | (*p++ & 0x3f);
		if (cp >= 0x10000)
			snprintf(e, sizeof(e), "\\u%04X\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
			    0xdc00 + ((cp - 0x10000) & 0x3ff));
		else
			snprintf(e, sizeof(e), "\\u%04x", cp);
		buf_str(out, e);
	}
	buf_str(out, "\"");
}

/* Outer document of body bytes through an outer and an inner jsonstream. */
static int
create_deck(const char *body, size_t n, size_t chunk, int gz, struct deckwalk *w,
    int *inner_errp)
{
	struct outer		 o = { 0 };
	struct jsonstream	*outer;
	struct gzb64_dec	*d = NULL;
	size_t			 off, k;
	int			 e = 0;

	memset(w, 0, sizeof(*w));
	assert_non_null(o.inner = jsonstream_new(NULL, &deck_cb, w));
	assert_non_null(outer = jsonstream_new(NULL, &outer_cb, &o));
	if (gz)
		assert_non_null(d = gzb64_dec_new(GZB64_MAX_INFLATED, jsonstream_sink, outer));
	for (off = 0; off < n && e == 0; off += k) {
		k = n - off < chunk ? n - off : chunk;
		e = gz ? gzb64_dec_feed(d, body + off, k) : jsonstream_feed(outer, body + off, k);
	}
	if (e == 0 && gz)
		e = gzb64_dec_finish(d);
	if (e == 0)
		e = jsonstream_finish(outer);
	if (e == 0 && o.ndeck != 1)
		e = -100;
	*inner_errp = o.inner_err;
	gzb64_dec_free(d);
	jsonstream_free(outer);
	jsonstream_free(o.inner);
	return e;
}

static void
test_create_deck_nested(void **state)
{
	static const char	 small[] =
	    "{\"name\": \"caf\xc3\xa9 \xf0\x9f\x98\x80\", \"children\": [], \"notes\": []}";
	struct buf		 body = { 0 };
	struct deckwalk		 w;
	size_t			 chunk;
	int			 ie;

	/* Every escape of the outer string cut at every place. */
	buf_str(&body, "{\"username\": \"x\", \"deck\": ");
	json_quote(deck_doc, sizeof(deck_doc) - 1, &body);
	buf_str(&body, ", \"extra\": [1, {\"deck\": 2}]}");
	for (chunk = 1; chunk <= body.len; chunk++) {
		assert_int_equal(create_deck(body.p, body.len, chunk, 0, &w, &ie), 0);
		assert_int_equal(ie, 0);
		assert_string_equal(w.log.p, deck_expect);
		buf_free(&w.log);
	}
	buf_free(&body);

	/* Non-ASCII and astral characters as Python's ensure_ascii writes them. */
	buf_str(&body, "{\"deck\": ");
	json_quote(small, sizeof(small) - 1, &body);
	buf_str(&body, "}");
	for (chunk = 1; chunk <= body.len; chunk++) {
		assert_int_equal(create_deck(body.p, body.len, chunk, 0, &w, &ie), 0);
		assert_int_equal(ie, 0);
		assert_string_equal(w.log.p, "name [0] caf\xc3\xa9 \xf0\x9f\x98\x80\nend [0] \n");
		buf_free(&w.log);
	}
	buf_free(&body);
}

/* The deck string is bad JSON, or the outer is: which one is reported. */
static void
test_create_deck_errors(void **state)
{
	static const struct {
		const char	*body;
		int		 outer, inner;
	} cases[] = {
		{ "{\"deck\": \"{\\\"name\\\": }\"}", 0, JSONSTREAM_ESYNTAX },
		{ "{\"deck\": \"{\\\"name\\\": \\\"\\n\\\"}\"}", 0, JSONSTREAM_ESYNTAX },
		{ "{\"deck\": \"{\\\"name\\\": \\\"\\\\ud800\\\"}\"}", 0, JSONSTREAM_ESYNTAX },
		{ "{\"deck\": \"{\\\"name\\\": 1}\"}", 0, JSONSTREAM_ECALLBACK },
		{ "{\"deck\": \"[]\"}", 0, JSONSTREAM_ECALLBACK },
		{ "{\"deck\": \"{}\" \"x\"}", JSONSTREAM_ESYNTAX, 0 },
		{ "{\"deck\": \"{\\\"name\\\": }\\q\"}", JSONSTREAM_ESYNTAX, JSONSTREAM_ESYNTAX },
		{ "{\"deck\": \"\\ud800\"}", JSONSTREAM_ESYNTAX, 0 },
		{ "{\"deck\": \"{}\"", JSONSTREAM_ETRUNCATED, 0 },
		{ "{\"deck\": \"{\"}", 0, JSONSTREAM_ETRUNCATED },
		{ "{\"deck\": 5}", JSONSTREAM_ECALLBACK, 0 },
		{ "{\"deck\": \"{}\", \"deck\": \"{}\"}", JSONSTREAM_ECALLBACK, 0 },
		{ "{}", -100, 0 },
		{ "[\"deck\"]", JSONSTREAM_ECALLBACK, 0 },
	};
	struct deckwalk	 w;
	size_t		 i, n, chunk;
	int		 ie;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = strlen(cases[i].body);
		for (chunk = 1; chunk <= n; chunk++) {
			assert_int_equal(create_deck(cases[i].body, n, chunk, 0, &w, &ie),
			    cases[i].outer);
			if (cases[i].outer != JSONSTREAM_ETRUNCATED)
				assert_int_equal(ie, cases[i].inner);
			buf_free(&w.log);
		}
	}
}

/*
 * Made by Python 3.11: base64.b64encode(gzip.compress(json.dumps({"deck":
 * json.dumps(deck, sort_keys=True, indent=4, ensure_ascii=False)}).encode())),
 * as the add-on does, for a two-level deck with an emoji, escapes and a tab.
 */
static const char python_body[] =
	"H4sIANN8DGsC/61VbW/TMBD+K1ZAfGqLnWzrWkYRdDBVYgjEBB9wFTmJk1p1nM5OKKXqf8dJ"
	"tqVr7GyVsJQ33/mce+65x1snouHSGQNniwXQAzu+n29W1PexnsXOpTZjp3dvDBeMR5KK0vir"
	"nizHtnl9Mkjj9CjYvG2W2ToiYsn8omBRHek0hPGpNzrrw2BI+wjFqD8ibtCH7olLQuRCCF3D"
	"ThFVYR3AYBQkpbXx4/TKZM9yqg4StiRuA+CLDtGK3DjHjPLItkXj9v0GUE5/k5xlAjABZrOe"
	"vvSN/Pj0zhq+XjsTMZUsk+B6dhHIyQVLE6Bk+BZj7NAwGaxpsCrfJxoiY5i59e+Th+rEk2/u"
	"+tWfF+hrR7K1MxqiIbwbrtW3hN5Ps4jyAw54FJGjONDEzEnyNNQhkRHLxmMNjRWQ9vTu8dSe"
	"x51l3jSShdwnMTp/VmK46lw/zETMkkJWpFDHt+W0Wm9gPScrVbWFgeLl3pxsumBEcADblgPM"
	"dh29eEljUvB8H/0WiE1b35AA43xBJe0BxYlagNcgIFp19Ki+ewAXENJRXj/0V3TuRfpOIdzD"
	"tNl/WjGAZ8lm3/zAxyOhLgXgulxnkkELFY7muA6lVL1+UBJY/1TtEGci78ckZXwzBkQywt9o"
	"y05fnXL4gSgWGjwkvbVU3kIGaG1GIjbWVu1oUPjsljyYap8yZZXKbGAHz0wnwDMKboCuU+mx"
	"83NBcsAU0EwGIpMp4UBSlTORgAUlMge6z6lZ6rFzBnHhQuQhCEGwShuKhyPvUMTaODQq/j7w"
	"Xi4/j8a3fw0JtNUbGQ/M/6PanWp9r9Kt3NqV1GR3dv8A07DkIewIAAA=";

static void
test_python_create_deck(void **state)
{
	static const char expect[] =
	    "crowdanki_uuid [0,1] 5c0f5396-0b7e-11f1-9a2b-0242ac120002\n"
	    "desc [0,1] \n"
	    "name [0,1] ECG\n"
	    "note [0,1] f>Q2w&x#1P\n"
	    "end [0,1] \n"
	    "crowdanki_uuid [0] 5c0f4f18-0b7e-11f1-9a2b-0242ac120002\n"
	    "desc [0] Tab\there, slash / back\\slash, \xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80\n"
	    "name [0] Cardiology\n"
	    "notetype [0] 5c0f3e1a-0b7e-11f1-9a2b-0242ac120002\n"
	    "note [0] Ab3$kL9:qz\n"
	    "end [0] \n";
	struct deckwalk	 w;
	size_t		 n = sizeof(python_body) - 1, chunk;
	int		 ie;

	for (chunk = 1; chunk <= n; chunk++) {
		assert_int_equal(create_deck(python_body, n, chunk, 1, &w, &ie), 0);
		assert_int_equal(ie, 0);
		assert_string_equal(w.log.p, expect);
		buf_free(&w.log);
	}
}

/* ---- /UploadDeckStats: GUIDs are member names ----------------------------- */

static int
stats_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	if (jsonstream_depth(js) == 0 || jsonstream_match(js, "review_history") ||
	    jsonstream_match(js, "review_history/*"))
		return JSONSTREAM_ENTER;
	if (jsonstream_match(js, "deck_hash") || jsonstream_match(js, "review_history/*/*"))
		return JSONSTREAM_CAPTURE;
	return JSONSTREAM_SKIP;
}

static int
stats_value(void *arg, struct jsonstream *js, struct json_object *o)
{
	struct buf	*b = arg;
	const char	*k;
	size_t		 n;

	if (jsonstream_depth(js) == 1) {
		buf_str(b, "hash ");
		buf_str(b, json_object_get_string(o));
	} else {
		k = jsonstream_key(js, 2, &n);
		buf_str(b, jsonstream_key(js, 1, NULL));
		buf_str(b, " | ");
		buf_add(b, k, n);
		buf_str(b, " ");
		buf_str(b, json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	}
	buf_str(b, "\n");
	return 0;
}

static void
test_upload_stats(void **state)
{
	static const struct jsonstream_cb cb = { stats_begin, stats_value, NULL, NULL };
	const char	*doc = "{\"deck_hash\": \"quebec-seven\", \"review_history\": {"
			    "\"Cardiology::ECG\": {\"f>Q2w&x#1P\": {\"retention\": 87, \"lapses\": 1, \"reps\": 12}},"
			    "\"Cardiology\": {\"Ab3$kL9:qz\": {\"retention\": 100, \"lapses\": 0, \"reps\": 5},"
			    " \"a\\u0000b\": {}}}}";
	static const char expect[] =
	    "hash quebec-seven\n"
	    "Cardiology::ECG | f>Q2w&x#1P {\"retention\":87,\"lapses\":1,\"reps\":12}\n"
	    "Cardiology | Ab3$kL9:qz {\"retention\":100,\"lapses\":0,\"reps\":5}\n"
	    "Cardiology | a\0b {}\n";
	struct jsonstream *js;
	struct buf	 got = { 0 };
	size_t		 n = strlen(doc), chunk, off, k;

	for (chunk = 1; chunk <= n; chunk++) {
		assert_non_null(js = jsonstream_new(NULL, &cb, &got));
		for (off = 0; off < n; off += k) {
			k = n - off < chunk ? n - off : chunk;
			assert_int_equal(jsonstream_feed(js, doc + off, k), 0);
		}
		assert_int_equal(jsonstream_finish(js), 0);
		jsonstream_free(js);
		assert_int_equal(got.len, sizeof(expect) - 1);
		assert_memory_equal(got.p, expect, sizeof(expect) - 1);
		buf_free(&got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_error_offset),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_stream_unescape),
		cmocka_unit_test(test_stream_long),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_callbacks),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_deck_walk),
		cmocka_unit_test(test_create_deck_nested),
		cmocka_unit_test(test_create_deck_errors),
		cmocka_unit_test(test_python_create_deck),
		cmocka_unit_test(test_upload_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
