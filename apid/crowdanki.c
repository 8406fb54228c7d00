/*
 * crowdanki.c — the deck tree of spec/api.md §3.1, read as a stream for
 * /createDeck (publish.c) and /submitCard (suggest.c). Only decks (objects)
 * and their three arrays are ENTERed; a deck's scalars and each note and
 * note model are CAPTUREd, one at a time.
 */
#include <stddef.h>
#include <string.h>

#include <json-c/json.h>

#include "apid/crowdanki.h"
#include "apid/notetypes.h"
#include "common/jsonstream.h"

static const struct {
	const char		*key;
	unsigned		 bit;
	enum jsonstream_type	 type;
	enum jsonstream_action	 action;
} deck_keys[] = {
	{ "children", CROWDANKI_CHILDREN, JSONSTREAM_ARRAY, JSONSTREAM_ENTER },
	{ "crowdanki_uuid", CROWDANKI_UUID, JSONSTREAM_STRING, JSONSTREAM_CAPTURE },
	{ "desc", CROWDANKI_DESC, JSONSTREAM_STRING, JSONSTREAM_CAPTURE },
	{ "name", CROWDANKI_NAME, JSONSTREAM_STRING, JSONSTREAM_CAPTURE },
	{ "notes", CROWDANKI_NOTES, JSONSTREAM_ARRAY, JSONSTREAM_ENTER },
	{ "note_models", CROWDANKI_MODELS, JSONSTREAM_ARRAY, JSONSTREAM_ENTER },
};

static int
deck_push(struct crowdanki *ca)
{
	if (ca->depth == CROWDANKI_MAX_DEPTH)
		return ca->hooks->invalid(ca->arg);
	ca->seen[ca->depth++] = 0;
	if (ca->hooks->deck(ca->arg, ca->depth - 1) == -1)
		return -1;
	return JSONSTREAM_ENTER;
}

/* A member of a deck object: what to do with it. */
static int
deck_member(struct crowdanki *ca, const struct jsonstream *js, enum jsonstream_type t)
{
	unsigned	*seen = &ca->seen[ca->depth - 1];
	size_t		 i;

	for (i = 0; i < sizeof(deck_keys) / sizeof(deck_keys[0]); i++) {
		if (!jsonstream_key_is(js, -1, deck_keys[i].key))
			continue;
		if (*seen & deck_keys[i].bit)
			return ca->hooks->invalid(ca->arg);	/* serde: duplicate field */
		*seen |= deck_keys[i].bit;
		if (t == deck_keys[i].type) {
			if (deck_keys[i].action == JSONSTREAM_CAPTURE && ca->hooks->scalar == NULL)
				return JSONSTREAM_SKIP;
			return deck_keys[i].action;
		}
		if (deck_keys[i].bit == CROWDANKI_MODELS && t == JSONSTREAM_NULL)
			return JSONSTREAM_SKIP;
		return ca->hooks->invalid(ca->arg);
	}
	return JSONSTREAM_SKIP;
}

static int
ca_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct crowdanki	*ca = arg;

	if (jsonstream_depth(js) == 0)
		return t == JSONSTREAM_OBJECT ? deck_push(ca) : ca->hooks->invalid(ca->arg);
	if (jsonstream_container(js, -1) == JSONSTREAM_OBJECT)
		return deck_member(ca, js, t);
	if (t != JSONSTREAM_OBJECT)
		return ca->hooks->invalid(ca->arg);
	if (jsonstream_key_is(js, -2, "children"))
		return deck_push(ca);
	if (jsonstream_key_is(js, -2, "notes") ? ca->hooks->note == NULL :
	    ca->hooks->model == NULL)
		return JSONSTREAM_SKIP;
	return JSONSTREAM_CAPTURE;
}

static int
ca_value(void *arg, struct jsonstream *js, struct json_object *v)
{
	struct crowdanki	*ca = arg;
	unsigned		 key = CROWDANKI_UUID;

	if (jsonstream_container(js, -1) == JSONSTREAM_OBJECT) {
		if (jsonstream_key_is(js, -1, "name"))
			key = CROWDANKI_NAME;
		else if (jsonstream_key_is(js, -1, "desc"))
			key = CROWDANKI_DESC;
		return ca->hooks->scalar(ca->arg, key, v);
	}
	if (jsonstream_key_is(js, -2, "notes"))
		return notetype_note_valid(v) ? ca->hooks->note(ca->arg, v) :
		    ca->hooks->invalid(ca->arg);
	return notetype_valid(v) ? ca->hooks->model(ca->arg, v) : ca->hooks->invalid(ca->arg);
}

/* A deck object ended (arrays end too: nothing to do). */
static int
ca_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct crowdanki	*ca = arg;

	if (t != JSONSTREAM_OBJECT)
		return 0;
	if ((ca->seen[ca->depth - 1] & CROWDANKI_REQUIRED) != CROWDANKI_REQUIRED)
		return ca->hooks->invalid(ca->arg);
	if (ca->hooks->deck_end != NULL && ca->hooks->deck_end(ca->arg, ca->depth - 1) == -1)
		return -1;
	ca->depth--;
	return 0;
}

static const struct jsonstream_cb ca_cb = { ca_begin, ca_value, NULL, ca_end };

struct jsonstream *
crowdanki_new(struct crowdanki *ca, const struct crowdanki_hooks *hooks, void *arg)
{
	struct jsonstream_conf	conf = { .max_depth = CROWDANKI_JSON_DEPTH };

	memset(ca, 0, sizeof(*ca));
	ca->hooks = hooks;
	ca->arg = arg;
	return jsonstream_new(&conf, &ca_cb, ca);
}
