/*
 * fuzz_crowdanki.c — the deck tree reader of /createDeck and /submitCard
 * (apid/crowdanki.c) on any bytes, with every hook and with only those of
 * /submitCard's first pass. Read whole and in pieces of the first byte's
 * size, a tree gets the same hook calls and the same verdict; a tree taken
 * has closed every deck, and a refused one was refused once.
 *
 * The fuzz build links only common/ and proto/: the apid files are included.
 */
#define clean	nt_clean
#include "apid/notetypes.c"
#undef clean
#include "apid/sanitize.c"
#include "apid/crowdanki.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct run {
	struct crowdanki	ca;
	uint64_t		hash;
	int			decks, open, invalid;
};

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static void
mix(struct run *r, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 i;

	for (i = 0; i < len; i++)
		r->hash = (r->hash ^ p[i]) * 0x100000001b3ULL;
}

static int
on_deck(void *arg, int level)
{
	struct run	*r = arg;

	fuzz_check(level >= 0 && level < CROWDANKI_MAX_DEPTH && r->ca.depth == level + 1);
	r->decks++;
	r->open++;
	mix(r, "D", 1);
	mix(r, &level, sizeof(level));
	return 0;
}

static int
on_scalar(void *arg, unsigned key, struct json_object *v)
{
	struct run	*r = arg;

	fuzz_check((key == CROWDANKI_NAME || key == CROWDANKI_DESC || key == CROWDANKI_UUID) &&
	    json_object_is_type(v, json_type_string));
	mix(r, &key, sizeof(key));
	mix(r, json_object_get_string(v), (size_t)json_object_get_string_len(v));
	return 0;
}

static int
on_json(void *arg, struct json_object *v)
{
	struct run	*r = arg;
	const char	*s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

	fuzz_check(r->ca.depth > 0 && json_object_is_type(v, json_type_object));
	mix(r, s, strlen(s));
	return 0;
}

static int
on_end(void *arg, int level)
{
	struct run	*r = arg;

	fuzz_check(r->ca.depth == level + 1 && r->open > 0);
	r->open--;
	mix(r, "E", 1);
	return 0;
}

static int
on_invalid(void *arg)
{
	struct run	*r = arg;

	r->invalid++;
	return -1;
}

static const struct crowdanki_hooks all = {
	on_deck, on_scalar, on_json, on_json, on_end, on_invalid
};
static const struct crowdanki_hooks pass1 = {
	on_deck, on_scalar, NULL, on_json, NULL, on_invalid
};

/* 0 taken, -1 refused. */
static int
read_tree(struct run *r, const struct crowdanki_hooks *h, const uint8_t *data, size_t size,
    size_t step)
{
	struct jsonstream	*js;
	size_t			 off, n;
	int			 rc = 0;

	memset(r, 0, sizeof(*r));
	if ((js = crowdanki_new(&r->ca, h, r)) == NULL)
		return -2;
	for (off = 0; rc == 0 && off < size; off += n) {
		n = size - off < step ? size - off : step;
		rc = jsonstream_feed(js, data + off, n);
	}
	if (rc == 0)
		rc = jsonstream_finish(js);
	jsonstream_free(js);
	if (rc == 0)
		fuzz_check(r->invalid == 0 && r->ca.depth == 0 && r->decks >= 1 &&
		    (h->deck_end == NULL || r->open == 0));
	else
		fuzz_check(r->invalid <= 1);
	return rc == 0 ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run	whole, pieces;
	size_t		step;
	int		a, b, h;

	if (size == 0)
		return 0;
	step = data[0] % 64 + 1;
	for (h = 0; h < 2; h++) {
		a = read_tree(&whole, h ? &pass1 : &all, data + 1, size - 1, size);
		b = read_tree(&pieces, h ? &pass1 : &all, data + 1, size - 1, step);
		if (a == -2 || b == -2)
			return 0;
		fuzz_check(a == b && whole.hash == pieces.hash && whole.decks == pieces.decks);
	}
	return 0;
}
