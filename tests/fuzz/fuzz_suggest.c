/*
 * fuzz_suggest.c — libFuzzer target for /submitCard's readers: the outer
 * object (decoded body bytes, in two pieces) and the first pass over the
 * spooled deck string, which checks its syntax and the decks' shape and
 * keeps each deck's name, description and uuid and the note models. Also the (AnkiCollab) suffix
 * removal of deck paths.
 *
 * The fuzz build links only common/ and proto/: suggest.c is included whole
 * with the apid files its first pass needs; what it would ask the database
 * or the HTTP layer for is stubbed (the second pass is not reached).
 */
#define clean	nt_clean
#include "apid/notetypes.c"
#undef clean
#include "apid/crowdanki.c"
#include "apid/deckhash.c"
#include "apid/sanitize.c"
#include "apid/suggest.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct apid	*apid;
static int	 spool_fd = -1;

int	 decks_owner_or_maintainer(int64_t user, const char *hash) { return 0; }
int64_t	 decks_find(const char *hash) { return 0; }
int	 decks_hash_arg(struct apid_call *call, const char *hash) { return 1; }
int	 review_tag_allowed(struct db *db, int64_t root, const char *tag, size_t len)
	    { return 1; }
int	 review_apply(struct db *db, int64_t actor, int64_t commit, char *err, size_t errlen)
	    { return REVIEW_OK; }
void	 call_text(struct apid_call *call, int status, const char *text) { }
void	 call_bad_shape(struct apid_call *call, const char *fmt, ...) { }
const char *call_json_string(struct apid_call *call, const char *key) { return NULL; }
void	 call_on_request(struct http_request *req) { }
int	 call_on_body(struct http_request *req, const void *data, size_t len) { return 0; }
void	 call_on_complete(struct http_request *req) { }
void	 call_on_free(struct http_request *req) { }

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonstream_conf	 conf = { .max_depth = 8, .max_capture = SUG_SCALAR_MAX };
	struct apid_call	 call;
	struct suggest		*s;
	size_t			 half = size / 2, i, len;
	char			*copy;
	int			 ok;

	/* The suffix removal never grows a text and keeps it terminated. */
	if ((copy = malloc(size + 1)) != NULL) {
		memcpy(copy, data, size);
		copy[size] = '\0';
		len = strip_suffix(copy, strnlen(copy, size));
		fuzz_check(len <= size && copy[len] == '\0');
		free(copy);
	}

	memset(&call, 0, sizeof(call));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return 0;
	call.state = s;
	/* One spool for all runs (suggest_free closes it: a duplicate each time). */
	if (spool_fd == -1 && (spool_fd = fileno(tmpfile())) == -1)
		abort();
	if (ftruncate(spool_fd, 0) == -1 || lseek(spool_fd, 0, SEEK_SET) == -1 ||
	    (s->spool = fdopen(dup(spool_fd), "w+")) == NULL ||
	    (s->outer = jsonstream_new(&conf, &outer_cb, s)) == NULL ||
	    (s->decks = calloc(SUG_MAX_DECKS, sizeof(*s->decks))) == NULL) {
		suggest_free(&call);
		return 0;
	}
	ok = jsonstream_feed(s->outer, data, half) == 0 &&
	    jsonstream_feed(s->outer, data + half, size - half) == 0 &&
	    jsonstream_finish(s->outer) == 0;
	if (ok && s->oseen == O_ALL) {
		fuzz_check(s->remote != NULL && s->path != NULL && s->newname != NULL &&
		    s->text != NULL);
		fflush(s->spool);
		ok = pass_start(s, 1) == 0;
		while (ok && (ok = pass_window(s)) == 1)
			;
		if (ok == 0) {
			/* A tree that passed has every deck's texts and a model per uuid. */
			fuzz_check(s->ndecks >= 1 && s->ndecks <= SUG_MAX_DECKS);
			for (i = 0; i < s->ndecks; i++)
				fuzz_check(s->decks[i].name != NULL && s->decks[i].desc != NULL &&
				    s->decks[i].uuid != NULL && s->decks[i].parent < (int)i);
			fuzz_check(s->nmodels <= SUG_MAX_NOTETYPES);
			fuzz_check(s->status == 0 && s->ca.depth == 0);
		} else
			fuzz_check(s->status != 0);
	}
	suggest_free(&call);
	return 0;
}
