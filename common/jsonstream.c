/*
 * jsonstream.c — a byte-driven JSON state machine with an explicit stack.
 *
 * Every byte goes through the tokenizer, whatever the caller chose, so the
 * whole document is checked. A CAPTUREd value is also handed, slice by slice
 * as the input comes, to a json-c tokener, so its text is never copied here.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/hex.h"
#include "common/jsonstream.h"

#define DEF_DEPTH	64
#define DEF_CAPTURE	(4U << 20)
#define DEF_KEY		4096
#define MAX_CAPTURE	(1U << 30)	/* json-c takes an int length */
#define TOK_KEEP	(64U << 10)	/* a tokener that parsed more is renewed */
#define STREAM_BUF	4096

/* What the next byte may be. */
enum js_state {
	S_VALUE,		/* a value */
	S_VALUE_OR_CLOSE,	/* after '[': a value or ']' */
	S_KEY_OR_CLOSE,		/* after '{': a key or '}' */
	S_KEY,			/* after ',' in an object */
	S_COLON,
	S_AFTER,		/* after a member or element: ',' or the closer */
	S_STRING,
	S_NUMBER,
	S_LITERAL,
	S_DONE			/* the document is complete: whitespace only */
};

/* Where a string's unescaped bytes go. */
enum str_out {
	OUT_NONE,
	OUT_KEY,		/* the innermost frame's key */
	OUT_STREAM		/* sbuf, then on_string */
};

enum esc_state {
	ESC_NONE,
	ESC_BSLASH,		/* after '\' */
	ESC_HEX,		/* inside \uXXXX */
	ESC_LOW_BSLASH,		/* a high surrogate wants "\u" + low half */
	ESC_LOW_U
};

/* Number grammar states; the *_OK ones may end the number. */
enum num_state {
	N_MINUS,
	N_ZERO_OK,
	N_INT_OK,
	N_DOT,
	N_FRAC_OK,
	N_E,
	N_ESIGN,
	N_EXP_OK
};

/* ENTER/SKIP/... plus the one we use inside skipped or captured values. */
#define ACT_QUIET	(-2)

struct js_frame {
	unsigned char	 type;		/* JSONSTREAM_OBJECT or _ARRAY */
	unsigned char	 entered;	/* members reported, keys kept */
	size_t		 index;
	size_t		 koff;		/* key in js->keys */
	size_t		 klen;
};

struct jsonstream {
	const struct jsonstream_cb *cb;
	void		*arg;
	struct jsonstream_conf conf;

	int		 err;
	const char	*errmsg;
	uint64_t	 offset;	/* of the start of the current piece */
	int		 finished;
	const unsigned char *piece;	/* the piece being fed */

	enum js_state	 state;
	int		 depth;
	struct js_frame	*frames;
	int		 quiet_from;	/* depth of the SKIP/CAPTURE value we are in, or -1 */

	/* The scalar being read. */
	enum jsonstream_type scalar;
	int		 scalar_act;
	int		 in_key;	/* the string is a member name */
	enum str_out	 out;
	enum esc_state	 esc;
	int		 hexn;
	uint32_t	 hex;
	uint32_t	 hi;		/* pending high surrogate */
	int		 u8need;	/* UTF-8 continuation bytes still due */
	unsigned char	 u8lo, u8hi;	/* the range of the next one */
	enum num_state	 num;
	const char	*lit;
	size_t		 litpos;

	char		*keys;		/* keys of the open frames, NUL-separated */
	size_t		 keycap;

	char		 sbuf[STREAM_BUF];
	size_t		 slen;

	struct json_tokener *tok;
	int		 capturing;
	const unsigned char *cap_from;	/* capture start in the current piece */
	uint64_t	 cap_stop;	/* offset the captured value must end before */
	size_t		 cap_bytes;
	int		 cap_done;	/* json-c returned the value */
	struct json_object *cap_obj;
};

/* ---- errors --------------------------------------------------------------- */

static void	stream_flush(struct jsonstream *);

static void
js_fail_at(struct jsonstream *js, const unsigned char *p, int err, const char *msg)
{
	if (js->err != 0)
		return;
	/*
	 * Streamed text before the error is the consumer's first, so that the
	 * first error in document order wins however the input was cut.
	 */
	if (js->state == S_STRING && js->out == OUT_STREAM && js->slen > 0) {
		stream_flush(js);
		if (js->err != 0)
			return;
	}
	js->err = err;
	js->errmsg = msg;
	if (p != NULL && js->piece != NULL)
		js->offset += (uint64_t)(p - js->piece);
	js->piece = NULL;	/* offset now final */
}

static void
js_fail(struct jsonstream *js, int err, const char *msg)
{
	js_fail_at(js, NULL, err, msg);
}

/* ---- capture into json-c --------------------------------------------------- */

static void
cap_slice(struct jsonstream *js, const unsigned char *from, const unsigned char *to)
{
	struct json_object	*o;
	enum json_tokener_error	 e;
	size_t			 n = (size_t)(to - from);

	if (n == 0 || js->err != 0)
		return;
	js->cap_bytes += n;
	o = json_tokener_parse_ex(js->tok, (const char *)from, (int)n);
	e = json_tokener_get_error(js->tok);
	if (e == json_tokener_continue)
		return;
	if (e != json_tokener_success || js->cap_done) {
		json_object_put(o);
		js_fail(js, JSONSTREAM_ENOMEM, "json-c refused a value");
		return;
	}
	js->cap_done = 1;
	js->cap_obj = o;
}

static void
cap_begin(struct jsonstream *js, const unsigned char *p)
{
	if (js->tok == NULL &&
	    (js->tok = json_tokener_new_ex(js->conf.max_depth + 1)) == NULL) {
		js_fail(js, JSONSTREAM_ENOMEM, "out of memory");
		return;
	}
	json_tokener_reset(js->tok);
	js->capturing = 1;
	js->cap_from = p;
	js->cap_stop = js->offset + (uint64_t)(p - js->piece) + js->conf.max_capture;
	js->cap_bytes = 0;
	js->cap_done = 0;
	js->cap_obj = NULL;
}

/* The captured value ends before end (NULL: at the end of the last piece). */
static void
cap_end(struct jsonstream *js, const unsigned char *end)
{
	static const unsigned char space = ' ';
	struct json_object	*o;
	int			 r = 0;

	if (end != NULL)
		cap_slice(js, js->cap_from, end);
	/* A number or literal ends only at the byte after it. */
	if (js->err == 0 && !js->cap_done)
		cap_slice(js, &space, &space + 1);
	js->capturing = 0;
	o = js->cap_obj;
	js->cap_obj = NULL;
	if (js->err == 0 && !js->cap_done)
		js_fail_at(js, end, JSONSTREAM_ENOMEM, "json-c refused a value");
	if (js->err == 0 && js->cb->on_value != NULL)
		r = js->cb->on_value(js->arg, js, o);
	json_object_put(o);
	/* Do not keep a big value's string buffer in the tokener. */
	if (js->cap_bytes > TOK_KEEP) {
		json_tokener_free(js->tok);
		js->tok = NULL;
	}
	if (r != 0)
		js_fail_at(js, end, JSONSTREAM_ECALLBACK, "callback stopped the parse");
}

/* ---- string output --------------------------------------------------------- */

static void
stream_flush(struct jsonstream *js)
{
	size_t	 n = js->slen;

	js->slen = 0;
	if (n > 0 && js->err == 0 && js->cb->on_string != NULL &&
	    js->cb->on_string(js->arg, js, js->sbuf, n) != 0)
		js_fail(js, JSONSTREAM_ECALLBACK, "callback stopped the parse");
}

static int
keys_reserve(struct jsonstream *js, size_t need)
{
	size_t	 cap;
	char	*k;

	if (need <= js->keycap)
		return 0;
	for (cap = js->keycap; cap < need; cap *= 2)
		;
	if ((k = realloc(js->keys, cap)) == NULL) {
		js_fail(js, JSONSTREAM_ENOMEM, "out of memory");
		return -1;
	}
	js->keys = k;
	js->keycap = cap;
	return 0;
}

static void
key_put(struct jsonstream *js, const unsigned char *s, size_t n)
{
	struct js_frame	*f = &js->frames[js->depth - 1];

	if (f->klen + n > js->conf.max_key) {
		js_fail(js, JSONSTREAM_ELIMIT, "member name too long");
		return;
	}
	if (keys_reserve(js, f->koff + f->klen + n + 1) != 0)
		return;
	memcpy(js->keys + f->koff + f->klen, s, n);
	f->klen += n;
	js->keys[f->koff + f->klen] = '\0';
}

static void
str_put(struct jsonstream *js, const unsigned char *s, size_t n)
{
	size_t	 m;

	switch (js->out) {
	case OUT_NONE:
		break;
	case OUT_KEY:
		key_put(js, s, n);
		break;
	case OUT_STREAM:
		while (n > 0 && js->err == 0) {
			if (js->slen == sizeof(js->sbuf))
				stream_flush(js);
			m = sizeof(js->sbuf) - js->slen;
			if (m > n)
				m = n;
			memcpy(js->sbuf + js->slen, s, m);
			js->slen += m;
			s += m;
			n -= m;
		}
		break;
	}
}

static void
str_put_cp(struct jsonstream *js, uint32_t cp)
{
	unsigned char	 b[4];
	size_t		 n;

	if (cp < 0x80) {
		b[0] = cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = 0xc0 | cp >> 6;
		b[1] = 0x80 | (cp & 0x3f);
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = 0xe0 | cp >> 12;
		b[1] = 0x80 | (cp >> 6 & 0x3f);
		b[2] = 0x80 | (cp & 0x3f);
		n = 3;
	} else {
		b[0] = 0xf0 | cp >> 18;
		b[1] = 0x80 | (cp >> 12 & 0x3f);
		b[2] = 0x80 | (cp >> 6 & 0x3f);
		b[3] = 0x80 | (cp & 0x3f);
		n = 4;
	}
	str_put(js, b, n);
}

/* ---- values ---------------------------------------------------------------- */

/* A value has ended at the current depth; end points just past it. */
static void
value_end(struct jsonstream *js, const unsigned char *end, enum jsonstream_type type,
    int entered)
{
	int	 r = 0;

	if (js->capturing && js->quiet_from == js->depth)
		cap_end(js, end);
	else if (entered) {
		if (type == JSONSTREAM_STRING)
			stream_flush(js);
		if (js->err == 0 && js->cb->on_end != NULL)
			r = js->cb->on_end(js->arg, js, type);
		if (r != 0)
			js_fail_at(js, end, JSONSTREAM_ECALLBACK, "callback stopped the parse");
	}
	if (js->quiet_from == js->depth)
		js->quiet_from = -1;
	js->state = js->depth == 0 ? S_DONE : S_AFTER;
}

static void
scalar_end(struct jsonstream *js, const unsigned char *end)
{
	value_end(js, end, js->scalar, js->scalar == JSONSTREAM_STRING &&
	    js->scalar_act == JSONSTREAM_STREAM);
}

/* Asks the caller about a value starting at p, unless we are in a quiet one. */
static int
value_action(struct jsonstream *js, const unsigned char *p, enum jsonstream_type type)
{
	int	 act = JSONSTREAM_SKIP;

	if (js->quiet_from >= 0)
		return ACT_QUIET;
	if (js->cb->on_begin != NULL)
		act = js->cb->on_begin(js->arg, js, type);
	if (act < JSONSTREAM_SKIP || act > JSONSTREAM_STREAM) {
		js_fail_at(js, p, JSONSTREAM_ECALLBACK, "callback stopped the parse");
		return ACT_QUIET;
	}
	if (act == JSONSTREAM_STREAM && type != JSONSTREAM_STRING)
		act = JSONSTREAM_SKIP;
	if (act == JSONSTREAM_ENTER && type != JSONSTREAM_OBJECT && type != JSONSTREAM_ARRAY)
		act = JSONSTREAM_SKIP;
	if (act == JSONSTREAM_SKIP || act == JSONSTREAM_CAPTURE)
		js->quiet_from = js->depth;
	if (act == JSONSTREAM_CAPTURE)
		cap_begin(js, p);
	return act;
}

static void
push(struct jsonstream *js, const unsigned char *p, enum jsonstream_type type, int entered)
{
	struct js_frame	*f, *up;

	if (js->depth >= js->conf.max_depth) {
		js_fail_at(js, p, JSONSTREAM_EDEPTH, "nesting too deep");
		return;
	}
	f = &js->frames[js->depth];
	f->type = type;
	f->entered = entered;
	f->index = 0;
	f->klen = 0;
	f->koff = 0;
	if (js->depth > 0) {
		up = f - 1;
		f->koff = up->entered ? up->koff + up->klen + 1 : up->koff;
	}
	js->depth++;
	js->state = type == JSONSTREAM_OBJECT ? S_KEY_OR_CLOSE : S_VALUE_OR_CLOSE;
}

static void
pop(struct jsonstream *js, const unsigned char *p)
{
	struct js_frame	*f = &js->frames[--js->depth];

	value_end(js, p + 1, f->type, f->entered);
}

static void
string_begin(struct jsonstream *js, enum str_out out)
{
	js->state = S_STRING;
	js->out = out;
	js->esc = ESC_NONE;
	js->hi = 0;
	js->u8need = 0;
}

static void
value_begin(struct jsonstream *js, const unsigned char *p)
{
	enum jsonstream_type	 type;
	int			 act;

	switch (*p) {
	case '{':
		type = JSONSTREAM_OBJECT;
		break;
	case '[':
		type = JSONSTREAM_ARRAY;
		break;
	case '"':
		type = JSONSTREAM_STRING;
		break;
	case 't':
		type = JSONSTREAM_TRUE;
		break;
	case 'f':
		type = JSONSTREAM_FALSE;
		break;
	case 'n':
		type = JSONSTREAM_NULL;
		break;
	default:
		if (*p != '-' && (*p < '0' || *p > '9')) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "expected a value");
			return;
		}
		type = JSONSTREAM_NUMBER;
		break;
	}
	act = value_action(js, p, type);
	if (js->err != 0)
		return;
	js->scalar = type;
	js->scalar_act = act;
	switch (type) {
	case JSONSTREAM_OBJECT:
	case JSONSTREAM_ARRAY:
		push(js, p, type, act == JSONSTREAM_ENTER);
		break;
	case JSONSTREAM_STRING:
		js->in_key = 0;
		string_begin(js, act == JSONSTREAM_STREAM ? OUT_STREAM : OUT_NONE);
		break;
	case JSONSTREAM_NUMBER:
		js->state = S_NUMBER;
		js->num = *p == '-' ? N_MINUS : *p == '0' ? N_ZERO_OK : N_INT_OK;
		break;
	default:
		js->state = S_LITERAL;
		js->lit = type == JSONSTREAM_TRUE ? "true" :
		    type == JSONSTREAM_FALSE ? "false" : "null";
		js->litpos = 1;
		break;
	}
}

static void
key_begin(struct jsonstream *js)
{
	struct js_frame	*f = &js->frames[js->depth - 1];

	f->klen = 0;
	if (f->entered) {
		if (keys_reserve(js, f->koff + 1) != 0)
			return;
		js->keys[f->koff] = '\0';
	}
	js->in_key = 1;
	string_begin(js, f->entered ? OUT_KEY : OUT_NONE);
}

/* ---- scanners: each takes bytes from p and returns where it stopped -------- */

static int
is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static const unsigned char *
scan_structure(struct jsonstream *js, const unsigned char *p, const unsigned char *end)
{
	struct js_frame	*f;

	while (p < end && is_ws(*p))
		p++;
	if (p == end)
		return p;
	f = js->depth > 0 ? &js->frames[js->depth - 1] : NULL;
	switch (js->state) {
	case S_VALUE_OR_CLOSE:
		if (*p == ']') {
			pop(js, p);
			return p + 1;
		}
		/* FALLTHROUGH */
	case S_VALUE:
		value_begin(js, p);
		return p + 1;
	case S_KEY_OR_CLOSE:
		if (*p == '}') {
			pop(js, p);
			return p + 1;
		}
		/* FALLTHROUGH */
	case S_KEY:
		if (*p != '"') {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "expected a member name");
			return p;
		}
		key_begin(js);
		return p + 1;
	case S_COLON:
		if (*p != ':') {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "expected ':'");
			return p;
		}
		js->state = S_VALUE;
		return p + 1;
	case S_AFTER:
		if (*p == ',') {
			f->index++;
			js->state = f->type == JSONSTREAM_OBJECT ? S_KEY : S_VALUE;
			return p + 1;
		}
		if ((*p == '}' && f->type == JSONSTREAM_OBJECT) ||
		    (*p == ']' && f->type == JSONSTREAM_ARRAY)) {
			pop(js, p);
			return p + 1;
		}
		js_fail_at(js, p, JSONSTREAM_ESYNTAX, "expected ',' or the end of the container");
		return p;
	case S_DONE:
		js_fail_at(js, p, JSONSTREAM_ESYNTAX, "trailing characters after the document");
		return p;
	default:
		break;
	}
	js_fail_at(js, p, JSONSTREAM_ESYNTAX, "internal state error");
	return p;
}


/* A complete \uXXXX: a code point, or one half of a surrogate pair. */
static void
esc_codepoint(struct jsonstream *js, const unsigned char *p, uint32_t u)
{
	if (js->hi != 0) {
		if (u < 0xdc00 || u > 0xdfff) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "lone surrogate in \\u escape");
			return;
		}
		u = 0x10000 + ((js->hi - 0xd800) << 10) + (u - 0xdc00);
		js->hi = 0;
	} else if (u >= 0xd800 && u <= 0xdbff) {
		js->hi = u;
		js->esc = ESC_LOW_BSLASH;
		return;
	} else if (u >= 0xdc00 && u <= 0xdfff) {
		js_fail_at(js, p, JSONSTREAM_ESYNTAX, "lone surrogate in \\u escape");
		return;
	}
	js->esc = ESC_NONE;
	str_put_cp(js, u);
}

static void
esc_byte(struct jsonstream *js, const unsigned char *p)
{
	static const char	 from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char		*s;
	int			 v;

	switch (js->esc) {
	case ESC_BSLASH:
		if (*p == 'u') {
			js->esc = ESC_HEX;
			js->hexn = 0;
			js->hex = 0;
			return;
		}
		if ((s = memchr(from, *p, sizeof(from) - 1)) == NULL) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "bad escape in string");
			return;
		}
		js->esc = ESC_NONE;
		str_put(js, (const unsigned char *)&to[s - from], 1);
		return;
	case ESC_HEX:
		if ((v = hex_digit(*p)) < 0) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "bad \\u escape");
			return;
		}
		js->hex = js->hex << 4 | (uint32_t)v;
		if (++js->hexn == 4)
			esc_codepoint(js, p, js->hex);
		return;
	case ESC_LOW_BSLASH:
	case ESC_LOW_U:
		if (*p != (js->esc == ESC_LOW_BSLASH ? '\\' : 'u')) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "lone surrogate in \\u escape");
			return;
		}
		if (js->esc == ESC_LOW_BSLASH)
			js->esc = ESC_LOW_U;
		else {
			js->esc = ESC_HEX;
			js->hexn = 0;
			js->hex = 0;
		}
		return;
	case ESC_NONE:
		break;
	}
}

/* The first byte of a multi-byte UTF-8 sequence (RFC 3629, no surrogates). */
static void
utf8_lead(struct jsonstream *js, const unsigned char *p)
{
	unsigned char	 c = *p;

	js->u8lo = 0x80;
	js->u8hi = 0xbf;
	if (c >= 0xc2 && c <= 0xdf)
		js->u8need = 1;
	else if (c >= 0xe0 && c <= 0xef) {
		js->u8need = 2;
		if (c == 0xe0)
			js->u8lo = 0xa0;
		else if (c == 0xed)
			js->u8hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		js->u8need = 3;
		if (c == 0xf0)
			js->u8lo = 0x90;
		else if (c == 0xf4)
			js->u8hi = 0x8f;
	} else
		js_fail_at(js, p, JSONSTREAM_EUTF8, "invalid UTF-8 in string");
}

static int
is_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

static const unsigned char *
scan_string(struct jsonstream *js, const unsigned char *p, const unsigned char *end)
{
	const unsigned char	*q;

	while (p < end && js->err == 0) {
		if (js->esc != ESC_NONE) {
			esc_byte(js, p);
			p++;
			continue;
		}
		if (js->u8need > 0) {
			if (*p < js->u8lo || *p > js->u8hi) {
				js_fail_at(js, p, JSONSTREAM_EUTF8, "invalid UTF-8 in string");
				return p;
			}
			js->u8lo = 0x80;
			js->u8hi = 0xbf;
			js->u8need--;
			str_put(js, p, 1);
			p++;
			continue;
		}
		for (q = p; q < end && is_plain(*q); q++)
			;
		if (q > p) {
			str_put(js, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (*p == '"') {
			if (js->in_key)
				js->state = S_COLON;
			else
				scalar_end(js, p + 1);
			return p + 1;
		}
		if (*p == '\\')
			js->esc = ESC_BSLASH;
		else if (*p < 0x20) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "control character in string");
			return p;
		} else {
			utf8_lead(js, p);
			if (js->err != 0)
				return p;
			str_put(js, p, 1);
		}
		p++;
	}
	return p;
}

static const unsigned char *
scan_number(struct jsonstream *js, const unsigned char *p, const unsigned char *end)
{
	int	 digit;

	for (; p < end; p++) {
		digit = *p >= '0' && *p <= '9';
		switch (js->num) {
		case N_MINUS:
			if (!digit)
				goto bad;
			js->num = *p == '0' ? N_ZERO_OK : N_INT_OK;
			continue;
		case N_ZERO_OK:
		case N_INT_OK:
			if (digit && js->num == N_INT_OK)
				continue;
			if (digit)
				goto bad;	/* a leading zero */
			if (*p == '.')
				js->num = N_DOT;
			else if (*p == 'e' || *p == 'E')
				js->num = N_E;
			else
				break;
			continue;
		case N_DOT:
			if (!digit)
				goto bad;
			js->num = N_FRAC_OK;
			continue;
		case N_FRAC_OK:
			if (digit)
				continue;
			if (*p != 'e' && *p != 'E')
				break;
			js->num = N_E;
			continue;
		case N_E:
			if (*p == '+' || *p == '-') {
				js->num = N_ESIGN;
				continue;
			}
			/* FALLTHROUGH */
		case N_ESIGN:
			if (!digit)
				goto bad;
			js->num = N_EXP_OK;
			continue;
		case N_EXP_OK:
			if (digit)
				continue;
			break;
		}
		/* The byte after the number: it belongs to what follows. */
		scalar_end(js, p);
		return p;
	}
	return p;
bad:
	js_fail_at(js, p, JSONSTREAM_ESYNTAX, "bad number");
	return p;
}

static int
number_complete(const struct jsonstream *js)
{
	return js->num == N_ZERO_OK || js->num == N_INT_OK || js->num == N_FRAC_OK ||
	    js->num == N_EXP_OK;
}

static const unsigned char *
scan_literal(struct jsonstream *js, const unsigned char *p, const unsigned char *end)
{
	for (; p < end; p++) {
		if (*p != (unsigned char)js->lit[js->litpos]) {
			js_fail_at(js, p, JSONSTREAM_ESYNTAX, "bad literal");
			return p;
		}
		if (js->lit[++js->litpos] == '\0') {
			scalar_end(js, p + 1);
			return p + 1;
		}
	}
	return p;
}

/* ---- the interface ----------------------------------------------------------- */

struct jsonstream *
jsonstream_new(const struct jsonstream_conf *conf, const struct jsonstream_cb *cb, void *arg)
{
	static const struct jsonstream_cb	 nocb;
	struct jsonstream			*js;

	if ((js = calloc(1, sizeof(*js))) == NULL)
		return NULL;
	if (conf != NULL)
		js->conf = *conf;
	if (js->conf.max_depth <= 0)
		js->conf.max_depth = DEF_DEPTH;
	if (js->conf.max_capture == 0)
		js->conf.max_capture = DEF_CAPTURE;
	if (js->conf.max_capture > MAX_CAPTURE)
		js->conf.max_capture = MAX_CAPTURE;
	if (js->conf.max_key == 0)
		js->conf.max_key = DEF_KEY;
	js->cb = cb != NULL ? cb : &nocb;
	js->arg = arg;
	js->state = S_VALUE;
	js->quiet_from = -1;
	js->keycap = 256;
	js->frames = calloc((size_t)js->conf.max_depth, sizeof(*js->frames));
	js->keys = malloc(js->keycap);
	if (js->frames == NULL || js->keys == NULL) {
		jsonstream_free(js);
		return NULL;
	}
	return js;
}

void
jsonstream_free(struct jsonstream *js)
{
	if (js == NULL)
		return;
	if (js->tok != NULL)
		json_tokener_free(js->tok);
	json_object_put(js->cap_obj);
	free(js->frames);
	free(js->keys);
	free(js);
}

int
jsonstream_feed(struct jsonstream *js, const void *data, size_t len)
{
	const unsigned char	*p = data, *end = p + len, *stop;
	uint64_t		 pos;

	if (js->err != 0)
		return js->err;
	if (js->finished) {
		js_fail(js, JSONSTREAM_EUSAGE, "fed after finish");
		return js->err;
	}
	js->piece = p;
	if (js->capturing)
		js->cap_from = p;
	while (p < end && js->err == 0) {
		/* A captured value may not reach cap_stop: scan no further. */
		stop = end;
		if (js->capturing) {
			pos = js->offset + (uint64_t)(p - js->piece);
			if (pos >= js->cap_stop) {
				js_fail_at(js, p, JSONSTREAM_ELIMIT, "value too large to capture");
				break;
			}
			if (js->cap_stop - pos < (uint64_t)(end - p))
				stop = p + (js->cap_stop - pos);
		}
		switch (js->state) {
		case S_STRING:
			p = scan_string(js, p, stop);
			break;
		case S_NUMBER:
			p = scan_number(js, p, stop);
			break;
		case S_LITERAL:
			p = scan_literal(js, p, stop);
			break;
		default:
			p = scan_structure(js, p, stop);
			break;
		}
	}
	/* What is open at the end of the piece goes on now, not with the next. */
	if (js->capturing)
		cap_slice(js, js->cap_from, end);
	if (js->state == S_STRING && js->out == OUT_STREAM)
		stream_flush(js);
	if (js->err != 0)
		return js->err;
	js->offset += len;
	js->piece = NULL;
	return 0;
}

int
jsonstream_finish(struct jsonstream *js)
{
	if (js->err != 0)
		return js->err;
	if (js->finished)
		return 0;
	js->finished = 1;
	if (js->state == S_NUMBER && number_complete(js))
		scalar_end(js, NULL);
	if (js->err == 0 && js->state != S_DONE)
		js_fail(js, JSONSTREAM_ETRUNCATED, "unexpected end of input");
	return js->err;
}

int
jsonstream_sink(void *arg, const void *data, size_t len)
{
	return jsonstream_feed(arg, data, len) != 0;
}

int
jsonstream_error(const struct jsonstream *js)
{
	return js->err;
}

const char *
jsonstream_errmsg(const struct jsonstream *js)
{
	return js->errmsg != NULL ? js->errmsg : "";
}

uint64_t
jsonstream_offset(const struct jsonstream *js)
{
	return js->offset;
}

/* ---- the path ------------------------------------------------------------------ */

static const struct js_frame *
frame_at(const struct jsonstream *js, int level)
{
	if (level < 0)
		level += js->depth;
	if (level < 0 || level >= js->depth)
		return NULL;
	return &js->frames[level];
}

int
jsonstream_depth(const struct jsonstream *js)
{
	return js->depth;
}

enum jsonstream_type
jsonstream_container(const struct jsonstream *js, int level)
{
	const struct js_frame	*f = frame_at(js, level);

	return f != NULL ? f->type : 0;
}

const char *
jsonstream_key(const struct jsonstream *js, int level, size_t *lenp)
{
	const struct js_frame	*f = frame_at(js, level);

	if (lenp != NULL)
		*lenp = 0;
	if (f == NULL || f->type != JSONSTREAM_OBJECT || !f->entered)
		return NULL;
	if (lenp != NULL)
		*lenp = f->klen;
	return js->keys + f->koff;
}

int
jsonstream_key_is(const struct jsonstream *js, int level, const char *name)
{
	size_t		 len;
	const char	*k = jsonstream_key(js, level, &len);

	return k != NULL && len == strlen(name) && memcmp(k, name, len) == 0;
}

size_t
jsonstream_index(const struct jsonstream *js, int level)
{
	const struct js_frame	*f = frame_at(js, level);

	return f != NULL ? f->index : 0;
}

/* Does the path from level on match pat? "**" tries every split. */
static int
match_from(const struct jsonstream *js, int level, const char *pat)
{
	const struct js_frame	*f;
	const char		*next;
	size_t			 n;
	int			 l;

	if (*pat == '\0')
		return level == js->depth;
	n = strcspn(pat, "/");
	next = pat[n] == '/' ? pat + n + 1 : pat + n;
	if (n == 2 && pat[0] == '*' && pat[1] == '*') {
		for (l = level; l <= js->depth; l++)
			if (match_from(js, l, next))
				return 1;
		return 0;
	}
	if (level == js->depth)
		return 0;
	f = &js->frames[level];
	if (n == 1 && pat[0] == '*')
		;
	else if (n == 1 && pat[0] == '#') {
		if (f->type != JSONSTREAM_ARRAY)
			return 0;
	} else if (f->type != JSONSTREAM_OBJECT || !f->entered || f->klen != n ||
	    memcmp(js->keys + f->koff, pat, n) != 0)
		return 0;
	return match_from(js, level + 1, next);
}

int
jsonstream_match(const struct jsonstream *js, const char *pattern)
{
	return match_from(js, 0, pattern);
}
