/*
 * test_crowdanki.c — the deck tree reader shared by /createDeck and
 * /submitCard: the hooks it calls, in order, for a tree as CrowdAnki writes
 * it (keys sorted: "children" before "name", the root's note_models last),
 * fed whole and a byte at a time; the trees it refuses; and the members it
 * skips when a hook is NULL.
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

#include "apid/crowdanki.h"

#define NOTE(guid)							\
	"{\"__type__\": \"Note\", \"data\": \"\", \"fields\": [\"f\", \"b\"],"	\
	" \"flags\": 0, \"guid\": \"" guid "\", \"id\": 1,"			\
	" \"note_model_uuid\": \"m1\", \"tags\": [\"t\"]}"
#define MODEL								\
	"{\"crowdanki_uuid\": \"m1\", \"css\": \"\", \"flds\": [{\"description\": \"\","	\
	" \"font\": \"Arial\", \"name\": \"Front\", \"ord\": 0, \"rtl\": false,"	\
	" \"size\": 20, \"sticky\": false}], \"latexPost\": \"\", \"latexPre\": \"\","	\
	" \"latexsvg\": false, \"name\": \"Basic\", \"req\": [[0, \"any\", [0]]],"	\
	" \"sortf\": 0, \"tmpls\": [{\"afmt\": \"\", \"bafmt\": \"\", \"bfont\": \"\","	\
	" \"bqfmt\": \"\", \"bsize\": 0, \"name\": \"Card 1\", \"ord\": 0,"	\
	" \"qfmt\": \"{{Front}}\"}], \"type\": 0}"
#define DECK(name, children, notes, rest)				\
	"{\"children\": [" children "], \"crowdanki_uuid\": \"u-" name "\","	\
	" \"desc\": \"d\", \"dyn\": 0, \"name\": \"" name "\", \"notes\": [" notes "]"	\
	rest "}"

/* What the hooks saw, as text. */
struct seen {
	struct crowdanki	 ca;
	char			 log[4096];
	int			 invalid;
};

static void
say(struct seen *s, const char *fmt, ...)
{
	size_t	len = strlen(s->log);
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(s->log + len, sizeof(s->log) - len, fmt, ap);
	va_end(ap);
}

static int
on_deck(void *arg, int level)
{
	struct seen	*s = arg;

	assert_int_equal(s->ca.depth, level + 1);
	say(s, "D%d ", level);
	return 0;
}

static int
on_scalar(void *arg, unsigned key, struct json_object *v)
{
	say(arg, "%c=%s ", key == CROWDANKI_NAME ? 'n' : key == CROWDANKI_DESC ? 'd' : 'u',
	    json_object_get_string(v));
	return 0;
}

static int
on_note(void *arg, struct json_object *note)
{
	say(arg, "N%s ", json_object_get_string(json_object_object_get(note, "guid")));
	return 0;
}

static int
on_model(void *arg, struct json_object *model)
{
	say(arg, "M ");
	return 0;
}

static int
on_end(void *arg, int level)
{
	say(arg, "E%d ", level);
	return 0;
}

static int
on_invalid(void *arg)
{
	struct seen	*s = arg;

	s->invalid++;
	return -1;
}

static const struct crowdanki_hooks all = {
	on_deck, on_scalar, on_note, on_model, on_end, on_invalid
};
static const struct crowdanki_hooks some = {
	on_deck, NULL, NULL, on_model, NULL, on_invalid
};

/* 0 if the reader took the text, -1 if not; step > 0 feeds it in pieces. */
static int
read_tree(struct seen *s, const struct crowdanki_hooks *h, const char *text, size_t step)
{
	struct jsonstream	*js;
	size_t			 len = strlen(text), off, n;
	int			 rc = 0;

	memset(s, 0, sizeof(*s));
	assert_non_null(js = crowdanki_new(&s->ca, h, s));
	for (off = 0; rc == 0 && off < len; off += n) {
		n = step == 0 || len - off < step ? len - off : step;
		rc = jsonstream_feed(js, text + off, n);
	}
	if (rc == 0)
		rc = jsonstream_finish(js);
	jsonstream_free(js);
	return rc == 0 ? 0 : -1;
}

static const char tree[] =
    DECK("Root", DECK("Sub", "", NOTE("g2"), ""), NOTE("g1"),
    ", \"note_models\": [" MODEL "]");

static void
test_tree(void **state)
{
	static const char expect[] =
	    "D0 D1 u=u-Sub d=d n=Sub Ng2 E1 u=u-Root d=d n=Root Ng1 M E0 ";
	struct seen	s;
	size_t		step;

	for (step = 0; step <= 7; step += 7) {
		assert_int_equal(read_tree(&s, &all, tree, step), 0);
		assert_string_equal(s.log, expect);
		assert_int_equal(s.ca.depth, 0);
		assert_int_equal(s.invalid, 0);
	}
	assert_int_equal(read_tree(&s, &all, tree, 1), 0);
	assert_string_equal(s.log, expect);
}

/* NULL hooks: scalars and notes are passed over, not even checked. */
static void
test_skip(void **state)
{
	struct seen	s;

	assert_int_equal(read_tree(&s, &some, tree, 0), 0);
	assert_string_equal(s.log, "D0 D1 M ");
	assert_int_equal(read_tree(&s, &some, DECK("R", "", "{\"guid\": 5}", ""), 0), 0);
	assert_int_equal(read_tree(&s, &all, DECK("R", "", "{\"guid\": 5}", ""), 0), -1);
	assert_int_equal(s.invalid, 1);
}

static void
test_invalid(void **state)
{
	static const char *const bad[] = {
		"[]",
		"\"deck\"",
		"{\"children\": [], \"crowdanki_uuid\": \"u\", \"desc\": \"\", \"notes\": []}",
		DECK("R", "", "", ", \"name\": \"again\""),
		DECK("R", "", "", ", \"note_models\": {}"),
		DECK("R", "7", "", ""),
		DECK("R", "", "[]", ""),
		DECK("R", "", "", ", \"note_models\": [{\"crowdanki_uuid\": \"m\"}]"),
		"{\"children\": {}, \"crowdanki_uuid\": \"u\", \"desc\": \"\", \"name\": \"R\","
		" \"notes\": []}",
		"{\"children\": [], \"crowdanki_uuid\": 1, \"desc\": \"\", \"name\": \"R\","
		" \"notes\": []}",
	};
	struct seen	s;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(read_tree(&s, &all, bad[i], 0), -1);
		if (s.invalid != 1)
			fail_msg("tree %zu: invalid %d", i, s.invalid);
	}
	/* note_models may be null or absent; unknown members are ignored. */
	assert_int_equal(read_tree(&s, &all, DECK("R", "", "", ", \"note_models\": null"), 0), 0);
	assert_int_equal(read_tree(&s, &all, DECK("R", "", "", ", \"x\": {\"y\": [1]}"), 0), 0);
}

/* CROWDANKI_MAX_DEPTH decks deep is read; one more is not. */
static void
test_depth(void **state)
{
	static const char open[] = "{\"crowdanki_uuid\": \"u\", \"desc\": \"\", \"name\": \"n\","
	    " \"notes\": [], \"children\": [";
	static const char close[] = "]}";
	struct seen	 s;
	char		*text;
	size_t		 i, n, len;

	for (n = CROWDANKI_MAX_DEPTH; n <= CROWDANKI_MAX_DEPTH + 1; n++) {
		len = n * (sizeof(open) + sizeof(close));
		assert_non_null(text = calloc(1, len + 1));
		for (i = 0; i < n; i++)
			strcat(text, open);
		for (i = 0; i < n; i++)
			strcat(text, close);
		assert_int_equal(read_tree(&s, &some, text, 0),
		    n == CROWDANKI_MAX_DEPTH ? 0 : -1);
		assert_int_equal(s.invalid, n == CROWDANKI_MAX_DEPTH ? 0 : 1);
		free(text);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tree),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_depth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
