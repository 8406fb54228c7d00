/*
 * jsonstream.h — a streaming JSON reader: one value at a time into json-c.
 *
 * GZB64 bodies inflate to up to 250 MiB of JSON, and json-c builds a whole
 * tree, so the tree of a deck never exists here. A jsonstream is fed the
 * document in pieces of any size, checks its syntax as strictly as upstream's
 * serde_json (RFC 8259, UTF-8 everywhere, no lone surrogates), and asks the
 * caller, at the start of every value it reports, what to do with it:
 *
 *   JSONSTREAM_SKIP     check it, report nothing inside it;
 *   JSONSTREAM_ENTER    (object or array) report each member or element
 *                       through on_begin, and the end through on_end;
 *   JSONSTREAM_CAPTURE  build the whole value with json-c and pass it to
 *                       on_value (at most max_capture bytes of its text);
 *   JSONSTREAM_STREAM   (string) pass its unescaped content to on_string in
 *                       pieces, then call on_end. This is how the deck string
 *                       inside /createDeck and /submitCard bodies reaches a
 *                       second jsonstream without ever being held whole.
 *
 * Where a value is: its path, the containers around it, outermost first.
 * In every callback jsonstream_depth() is how many there are (0 for the
 * document itself); for each level, jsonstream_key() is the member name
 * there (NULL in an array) and jsonstream_index() the element or member
 * number. Negative levels count from the innermost (-1). jsonstream_match()
 * tests the path against a pattern: steps separated by '/', each an exact
 * key, "#" (any array element), "*" (any one step) or "**" (any number of
 * steps); "" is the document itself. Callbacks come in document order and
 * only inside ENTERed containers, so a pattern never sees skipped parts.
 *
 * Strictness and choices: whitespace is SP HT LF CR; numbers follow the JSON
 * grammar (no leading zeros, no "+", no bare "."); a lone UTF-16 surrogate in
 * a \u escape is an error (as in serde_json), never U+FFFD; \u0000 is allowed
 * and streamed as a 0 byte; anything after the top-level value but
 * whitespace is an error. Nesting deeper than max_depth is an error, never
 * recursion: the reader keeps an explicit stack. Errors are sticky.
 *
 * Example — the deck tree of spec/api.md §3.1, one note at a time (the
 * patterns are written "**" "/..." only because a star then a slash would
 * end this comment):
 *
 *	static int
 *	deck_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
 *	{
 *		if (jsonstream_match(js, "") ||
 *		    jsonstream_match(js, "**" "/children/#")) {	(a deck)
 *			if (t != JSONSTREAM_OBJECT)
 *				return JSONSTREAM_STOP;
 *			deck_push(arg);
 *			return JSONSTREAM_ENTER;
 *		}
 *		if (jsonstream_match(js, "**" "/children") ||
 *		    jsonstream_match(js, "**" "/notes") ||
 *		    jsonstream_match(js, "**" "/note_models"))
 *			return JSONSTREAM_ENTER;	(null is skipped)
 *		if (jsonstream_match(js, "**" "/notes/#") ||
 *		    jsonstream_match(js, "**" "/note_models/#") ||
 *		    jsonstream_match(js, "**" "/name") || ...)
 *			return JSONSTREAM_CAPTURE;
 *		return JSONSTREAM_SKIP;		(keys the server ignores)
 *	}
 *
 * on_value then gets each note as a json_object (jsonstream_key(js, -2,
 * NULL) is "notes", its deck the one pushed last) and each scalar ("name"
 * is jsonstream_key(js, -1, NULL)); on_end with a deck's path pops it.
 * Only then are all of a deck's scalars known: CrowdAnki sorts keys, so
 * "children" comes before "name", and the root's "note_models" after every
 * subdeck's notes. tests/unit/test_jsonstream.c walks decks this way.
 *
 * /createDeck and /submitCard carry the deck as a JSON string: the outer
 * reader's on_begin returns STREAM for "deck" (when t is a string),
 * on_string feeds a second reader that walks the deck, on_end finishes it.
 * Upstream parses the whole outer document before the deck, so a broken
 * outer body ("Invalid data") outranks a broken deck: on_string should
 * keep the inner reader's error and return 0, and the route decide once
 * the outer one finished. A gzb64 decoder feeds the outer reader through
 * jsonstream_sink().
 */
#ifndef ANKICOLLAB_JSONSTREAM_H
#define ANKICOLLAB_JSONSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct json_object;
struct jsonstream;

enum jsonstream_type {
	JSONSTREAM_OBJECT = 1,
	JSONSTREAM_ARRAY,
	JSONSTREAM_STRING,
	JSONSTREAM_NUMBER,
	JSONSTREAM_TRUE,
	JSONSTREAM_FALSE,
	JSONSTREAM_NULL
};

/* What on_begin returns. STREAM on a non-string, ENTER on a scalar: SKIP. */
enum jsonstream_action {
	JSONSTREAM_STOP = -1,		/* abort: JSONSTREAM_ECALLBACK */
	JSONSTREAM_SKIP = 0,
	JSONSTREAM_ENTER,
	JSONSTREAM_CAPTURE,
	JSONSTREAM_STREAM
};

enum jsonstream_err {
	JSONSTREAM_OK = 0,
	JSONSTREAM_ESYNTAX = -1,	/* not JSON; jsonstream_errmsg() says why */
	JSONSTREAM_EUTF8 = -2,		/* invalid UTF-8 in a string */
	JSONSTREAM_EDEPTH = -3,		/* nested deeper than max_depth */
	JSONSTREAM_ELIMIT = -4,		/* captured value over max_capture, key over max_key */
	JSONSTREAM_ETRUNCATED = -5,	/* finished inside the document (or before it) */
	JSONSTREAM_ECALLBACK = -6,	/* a callback returned non-zero */
	JSONSTREAM_ENOMEM = -7,		/* also: json-c refused a captured value */
	JSONSTREAM_EUSAGE = -8		/* fed after finish */
};

/*
 * All optional. Each returns 0 to go on or non-zero to stop (on_begin: an
 * action). The callbacks must not feed or free the jsonstream calling them.
 */
struct jsonstream_cb {
	/* A value starts; its path is current. NULL: SKIP everything. */
	int	(*on_begin)(void *arg, struct jsonstream *js, enum jsonstream_type type);
	/*
	 * A CAPTURE ended. obj is NULL for JSON null; it is released after the
	 * call: json_object_get() it to keep it.
	 */
	int	(*on_value)(void *arg, struct jsonstream *js, struct json_object *obj);
	/* Unescaped bytes of a STREAM string, len > 0, in pieces of any size. */
	int	(*on_string)(void *arg, struct jsonstream *js, const char *data, size_t len);
	/* An ENTERed container or a STREAM string ended. */
	int	(*on_end)(void *arg, struct jsonstream *js, enum jsonstream_type type);
};

struct jsonstream_conf {
	int	max_depth;	/* containers open at once; default 64 (serde_json: 128) */
	size_t	max_capture;	/* text bytes of one CAPTUREd value; default 4 MiB, at most 1 GiB */
	size_t	max_key;	/* bytes of a member name in an ENTERed object; default 4 KiB */
};

/* conf may be NULL for the defaults, cb NULL for a syntax check only. */
struct jsonstream	*jsonstream_new(const struct jsonstream_conf *conf,
			    const struct jsonstream_cb *cb, void *arg);
/* 0, or a jsonstream_err. */
int			 jsonstream_feed(struct jsonstream *js, const void *data, size_t len);
/* End of input: 0 if it held exactly one complete JSON value. */
int			 jsonstream_finish(struct jsonstream *js);
void			 jsonstream_free(struct jsonstream *js);
/* A gzb64_sink: arg is the jsonstream; non-zero on error. */
int			 jsonstream_sink(void *arg, const void *data, size_t len);

int			 jsonstream_error(const struct jsonstream *js);
/* What went wrong, e.g. "bad escape in string"; "" without error. */
const char		*jsonstream_errmsg(const struct jsonstream *js);
/* Bytes consumed; at an error, where it was found (or the piece's start). */
uint64_t		 jsonstream_offset(const struct jsonstream *js);

/* ---- the path, from callbacks ------------------------------------------- */

int			 jsonstream_depth(const struct jsonstream *js);
/* JSONSTREAM_OBJECT or _ARRAY for 0 <= level < depth (or -depth <= level < 0), else 0. */
enum jsonstream_type	 jsonstream_container(const struct jsonstream *js, int level);
/*
 * NUL-terminated (it may hold a 0 byte: see lenp); NULL in an array. Valid
 * until the callback returns.
 */
const char		*jsonstream_key(const struct jsonstream *js, int level, size_t *lenp);
/* Whether the key at level is exactly name. */
int			 jsonstream_key_is(const struct jsonstream *js, int level, const char *name);
size_t			 jsonstream_index(const struct jsonstream *js, int level);
int			 jsonstream_match(const struct jsonstream *js, const char *pattern);

#endif
