/*
 * suggest.c — POST /submitCard and /requestRemoval (routes 3 and 12,
 * spec/api.md §6.3, §6.12): suggestions, and the direct application of an
 * owner's or maintainer's force_overwrite.
 *
 * The body is streamed as /createDeck's is (call.c undoes base64 and gzip,
 * common/jsonstream reads it, apid/crowdanki.c the deck tree), but the
 * outer keys come in the add-on's order, "deck" before "rationale",
 * "commit_text" and "force_overwrite", and CrowdAnki puts a deck's "name"
 * after its "children" and the root's "note_models" after every note of the
 * subdecks. So the deck string is spooled to an unlinked file in data_dir
 * as it arrives and read twice once the body is in: the first pass checks
 * its syntax and the decks' shape and keeps each deck's name, description
 * and uuid and the note models; the second places each deck and checks and
 * stores each note. Memory stays at a note and a window, whatever the size
 * of the submission. Each window is one turn of the event loop (and in pass
 * 2 one transaction), so that a 30,000-note bulk suggestion does not stop
 * other requests for seconds. The commit gets its deck, which puts it in
 * the review list, only at the end; a failure on the way deletes what the
 * earlier windows wrote.
 *
 * A suggestion becomes unreviewed rows under one commit (§6.3.3, new notes
 * as notes.reviewed = 0). A force_overwrite that is honoured is the same
 * suggestion approved at once by its author (review_apply), so that the
 * approval and the direct path write the reviewed state, the history and
 * the last_update bumps the same way.
 *
 * Choices: a failure leaves nothing (upstream keeps what it wrote before
 * the error, and the orphan commit), except in-place edits of another
 * commit's pending new note (§6.3.3), which have no earlier state to go
 * back to.
 * DESIGN.md's "no 5xx for a client's mistake": an unknown deck is 404,
 * a path that names nothing and a notetype mismatch are 422 (upstream:
 * 500), with upstream's texts, which the add-on matches ("Notetype Error: ").
 * Not done: forwarding suggestions on inheriting notes to their base note
 * (§6.3.3 "Linked subscriber notes"); they are suggested on the note itself.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/crowdanki.h"
#include "apid/deckhash.h"
#include "apid/decks.h"
#include "apid/notetypes.h"
#include "apid/review.h"
#include "apid/sanitize.h"
#include "common/db.h"
#include "common/http.h"
#include "common/jsonstream.h"
#include "common/log.h"

#define SUG_WINDOW		(64u << 10)	/* bytes of deck JSON read at a time */
#define SUG_MAX_DECKS		4096		/* decks in one submission */
#define SUG_MAX_NOTETYPES	1024
#define SUG_MAX_TAGS		1024		/* tags of one note */
#define SUG_SCALAR_MAX		(1u << 20)	/* an outer string (commit_text) */

#define MSG_BAD_DATA	"Invalid data"
#define MSG_BAD_HASH	"Invalid deck hash format"
#define MSG_BAD_DECK	"Invalid deck data"
#define MSG_NO_COMMIT	"Internal Error occurred. Damn!"
#define MSG_DECK_NAME	"Invalid Deck Name"
#define MSG_NOT_FOUND	"Deck not found. If this is a new subdeck, try to suggest the entire" \
			" deck tree from the sideview."
#define MSG_INTERNAL	"Internal Error"

/* Outer members. */
#define O_REMOTE	0x01
#define O_PATH		0x02
#define O_NEWNAME	0x04
#define O_DECK		0x08
#define O_RATIONALE	0x10
#define O_TEXT		0x20
#define O_FORCE		0x40
#define O_ALL		0x7f

/*
 * Where a submission is. Each stage is one or more steps, one per turn of
 * the event loop: pass 1 and pass 2 a window of the spool each (pass 2 in
 * a transaction of its own), so that other requests are served between.
 */
enum stage {
	ST_PASS1,	/* the deck's syntax and shape, its names and models */
	ST_SETUP,	/* the commit, the root, the path, the notetype gate */
	ST_PASS2,	/* decks placed, notes stored */
	ST_FINAL,	/* commits.deck; a force_overwrite is applied */
	ST_UNDO,	/* a failure after rows were committed: they go */
	ST_DONE
};

/* A deck of the submission, in document (pre-)order. */
struct sdeck {
	char	*name, *desc, *uuid;	/* as sent */
	int	 parent;		/* index, -1 for the top */
	int64_t	 id;			/* its server deck (pass 2) */
	char	*path;			/* its full_path (pass 2) */
	int	 created;		/* by this request: undone if it fails */
};

/* A note model of the submission: its uuid and the server's notetype. */
struct smodel {
	char			*uuid;
	struct json_object	*model;
	int64_t			 id;
	int64_t			*prot;		/* per position: protected (pass 2) */
	size_t			 nfields;
	int			 shaped;
};

struct suggest {
	struct apid_call	*call;
	int64_t			 user;
	char			 ip[64];

	/* The outer object. */
	struct jsonstream	*outer;
	unsigned		 oseen;
	int			 outer_bad;
	char			*remote, *path, *newname, *text;
	int64_t			 rationale;
	int			 force;
	FILE			*spool;
	int			 spool_bad;

	/* The deck passes. */
	int			 pass;		/* 1 or 2 */
	struct sdeck		*decks;
	size_t			 ndecks;
	struct crowdanki	 ca;		/* the pass's reader state */
	int			 stack[CROWDANKI_MAX_DEPTH];
	struct smodel		*models;
	size_t			 nmodels;

	/* The first failure decides the answer. */
	int			 status;
	char			 msg[512];

	/* Steps between other requests. */
	enum stage		 stage;
	struct event		*ev;
	struct jsonstream	*inner;		/* the pass under way */
	char			*win;
	int			 written;	/* rows of this request are committed */
	int64_t			 target;	/* commits.deck, set at the end */
	int64_t			*created;	/* notes made */
	size_t			 ncreated, capcreated;
	int			 restrict_nt;
	char			*server_name;

	/* Pass 2. */
	int64_t			 commit, root, owner, now;
	int			 approved, restrict_subdecks;
	int64_t			*tree;		/* deck ids of the root's subtree, sorted */
	size_t			 ntree, treecap;
	struct sanitize_buf	 clean;
	size_t			 nnotes;
};

static int
fail(struct suggest *s, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records the first failure; returns -1 (JSONSTREAM_STOP) for callbacks. */
static int
fail(struct suggest *s, int status, const char *fmt, ...)
{
	va_list	ap;

	if (s->status == 0) {
		s->status = status;
		va_start(ap, fmt);
		vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
fault(struct suggest *s)
{
	return fail(s, 500, "%s", MSG_INTERNAL);
}

static void
bind_json(sqlite3_stmt *st, int idx, struct json_object *v)
{
	sqlite3_bind_text(st, idx, json_object_get_string(v), json_object_get_string_len(v),
	    SQLITE_STATIC);
}

/* Cleans (§3.6) into s->clean; -1 if the cleaner refused it (too big or slow). */
static int
clean(struct suggest *s, const char *text, size_t len)
{
	s->clean.len = 0;
	if (sanitize_html(text, len, &s->clean) == -1) {
		log_info("submitCard: a text of %zu bytes not cleaned: %s", len, strerror(errno));
		return fail(s, 400, "%s", MSG_BAD_DECK);
	}
	return 0;
}

static int
clean_json(struct suggest *s, struct json_object *v)
{
	return clean(s, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/*
 * §6.3 step 3: removes the first match of \s?\(AnkiCollab\)(_\d+)? in
 * place; returns the new length.
 */
static size_t
strip_suffix(char *t, size_t len)
{
	static const char	 mark[] = "(AnkiCollab)";
	char			*m, *start, *end, *lim = t + len;

	if ((m = memmem(t, len, mark, sizeof(mark) - 1)) == NULL)
		return len;
	start = m;
	end = m + sizeof(mark) - 1;
	if (start > t && isspace((unsigned char)start[-1]))
		start--;
	if (end + 1 < lim && end[0] == '_' && isdigit((unsigned char)end[1]))
		for (end++; end < lim && isdigit((unsigned char)*end); end++)
			;
	memmove(start, end, (size_t)(lim - end));
	len -= (size_t)(end - start);
	t[len] = '\0';
	return len;
}

/* ---- the outer object ------------------------------------------------------------------ */

static const struct {
	const char	*key;
	unsigned	 bit;
} outer_keys[] = {
	{ "remote_deck", O_REMOTE },
	{ "deck_path", O_PATH },
	{ "new_name", O_NEWNAME },
	{ "deck", O_DECK },
	{ "rationale", O_RATIONALE },
	{ "commit_text", O_TEXT },
	{ "force_overwrite", O_FORCE },
};

/* serde: each member once, of its type; unknown members ignored. */
static int
outer_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct suggest	*s = arg;
	unsigned	 bit = 0;
	size_t		 i;

	if (jsonstream_depth(js) == 0)
		return t == JSONSTREAM_OBJECT ? JSONSTREAM_ENTER : JSONSTREAM_STOP;
	for (i = 0; i < sizeof(outer_keys) / sizeof(outer_keys[0]); i++)
		if (jsonstream_key_is(js, -1, outer_keys[i].key))
			bit = outer_keys[i].bit;
	if (bit == 0)
		return JSONSTREAM_SKIP;
	if (s->oseen & bit)
		return JSONSTREAM_STOP;
	s->oseen |= bit;
	switch (bit) {
	case O_DECK:
		return t == JSONSTREAM_STRING ? JSONSTREAM_STREAM : JSONSTREAM_STOP;
	case O_RATIONALE:
		return t == JSONSTREAM_NUMBER ? JSONSTREAM_CAPTURE : JSONSTREAM_STOP;
	case O_FORCE:
		return t == JSONSTREAM_TRUE || t == JSONSTREAM_FALSE ?
		    JSONSTREAM_CAPTURE : JSONSTREAM_STOP;
	default:
		return t == JSONSTREAM_STRING ? JSONSTREAM_CAPTURE : JSONSTREAM_STOP;
	}
}

static int
outer_value(void *arg, struct jsonstream *js, struct json_object *v)
{
	struct suggest	*s = arg;
	char		**dst = NULL;
	int64_t		 r;

	if (jsonstream_key_is(js, -1, "rationale")) {
		/* serde i32: an integer in range. */
		errno = 0;
		r = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || errno != 0 ||
		    r < INT32_MIN || r > INT32_MAX)
			return -1;
		s->rationale = r;
		return 0;
	}
	if (jsonstream_key_is(js, -1, "force_overwrite")) {
		s->force = json_object_get_boolean(v);
		return 0;
	}
	if (jsonstream_key_is(js, -1, "remote_deck"))
		dst = &s->remote;
	else if (jsonstream_key_is(js, -1, "deck_path"))
		dst = &s->path;
	else if (jsonstream_key_is(js, -1, "new_name"))
		dst = &s->newname;
	else
		dst = &s->text;
	/* A NUL inside would cut the text short: refuse it. */
	if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)) != NULL)
		return -1;
	return (*dst = strdup(json_object_get_string(v))) == NULL ? -1 : 0;
}

static int
outer_string(void *arg, struct jsonstream *js, const char *data, size_t len)
{
	struct suggest	*s = arg;

	if (!s->spool_bad && fwrite(data, 1, len, s->spool) != len) {
		log_warn("submitCard: spool");
		s->spool_bad = 1;
	}
	return 0;
}

static const struct jsonstream_cb outer_cb = { outer_begin, outer_value, outer_string, NULL };

/* ---- the deck passes (crowdanki.c reads the tree) ---------------------------------------- */

static int	place_deck(struct suggest *, size_t);
static int	note_value(void *, struct json_object *);

/* Pass 1: a deck of the submission, kept in document order. */
static int
deck_keep(void *arg, int level)
{
	struct suggest	*s = arg;
	struct sdeck	*d;

	if (s->ndecks == SUG_MAX_DECKS)
		return fail(s, 400, "%s", MSG_BAD_DECK);
	d = &s->decks[s->ndecks];
	memset(d, 0, sizeof(*d));
	d->parent = level > 0 ? s->stack[level - 1] : -1;
	s->stack[level] = (int)s->ndecks++;
	return 0;
}

/* Pass 2: the same deck again, found or made on the server. */
static int
deck_place(void *arg, int level)
{
	struct suggest	*s = arg;
	size_t		 idx = s->ndecks++;

	s->stack[level] = (int)idx;
	return place_deck(s, idx);
}

/* Pass 1: a deck's name, desc or crowdanki_uuid. */
static int
deck_scalar(void *arg, unsigned key, struct json_object *v)
{
	struct suggest	*s = arg;
	struct sdeck	*d = &s->decks[s->stack[s->ca.depth - 1]];
	char		**t;

	if (key == CROWDANKI_NAME)
		t = &d->name;
	else if (key == CROWDANKI_DESC)
		t = &d->desc;
	else
		t = &d->uuid;
	if (memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v)) != NULL)
		return fail(s, 400, "%s", MSG_BAD_DECK);
	return (*t = strdup(json_object_get_string(v))) == NULL ? fault(s) : 0;
}

/* Pass 1: a note model, kept (the first of a uuid counts). */
static int
model_value(void *arg, struct json_object *model)
{
	struct suggest	*s = arg;
	struct smodel	*m;
	const char	*uuid;
	size_t		 i;

	uuid = json_object_get_string(member(model, "crowdanki_uuid"));
	for (i = 0; i < s->nmodels; i++)
		if (strcmp(s->models[i].uuid, uuid) == 0)
			return 0;
	if (s->nmodels == SUG_MAX_NOTETYPES)
		return fail(s, 400, "%s", MSG_BAD_DECK);
	if (s->models == NULL &&
	    (s->models = calloc(SUG_MAX_NOTETYPES, sizeof(*s->models))) == NULL)
		return fault(s);
	m = &s->models[s->nmodels];
	if ((m->uuid = strdup(uuid)) == NULL)
		return fault(s);
	m->model = json_object_get(model);
	s->nmodels++;
	return 0;
}

static int
deck_invalid(void *arg)
{
	return fail(arg, 400, "%s", MSG_BAD_DECK);
}

/*
 * Pass 1 only checks the syntax of notes, pass 2 their shape: a bad one
 * then fails the request, whose transaction takes back what came before.
 */
static const struct crowdanki_hooks pass1_hooks = {
	deck_keep, deck_scalar, NULL, model_value, NULL, deck_invalid
};
static const struct crowdanki_hooks pass2_hooks = {
	deck_place, NULL, note_value, NULL, NULL, deck_invalid
};

/* A pass over the spooled deck starts: a fresh reader at its start. 0 or -1. */
static int
pass_start(struct suggest *s, int pass)
{
	const struct crowdanki_hooks	*hooks = pass == 1 ? &pass1_hooks : &pass2_hooks;

	s->pass = pass;
	s->ndecks = 0;
	jsonstream_free(s->inner);
	if (fseek(s->spool, 0, SEEK_SET) == -1 ||
	    (s->win == NULL && (s->win = malloc(SUG_WINDOW)) == NULL) ||
	    (s->inner = crowdanki_new(&s->ca, hooks, s)) == NULL)
		return fault(s);
	return 0;
}

/*
 * The next window of the spool through the pass's reader: 1 while there
 * is more, 0 at the end (the deck complete), -1 with s->status set.
 */
static int
pass_window(struct suggest *s)
{
	size_t	n;
	int	rc;

	if ((n = fread(s->win, 1, SUG_WINDOW, s->spool)) > 0)
		rc = jsonstream_feed(s->inner, s->win, n);
	else if (ferror(s->spool))
		return fault(s);
	else
		rc = jsonstream_finish(s->inner);
	if (rc != 0 || s->status != 0) {
		log_debug("submitCard: deck pass %d: %s", s->pass, jsonstream_errmsg(s->inner));
		return fail(s, 400, "%s", MSG_BAD_DECK);
	}
	return n > 0 ? 1 : 0;
}

/* ---- placing decks (pass 2) --------------------------------------------------------------- */

static int
tree_has(const struct suggest *s, int64_t id)
{
	size_t	lo = 0, hi = s->ntree, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (s->tree[mid] == id)
			return 1;
		if (s->tree[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* New deck ids are larger than all before: appending keeps the order. */
static int
tree_add(struct suggest *s, int64_t id)
{
	int64_t	*p;

	if (s->ntree == s->treecap) {
		s->treecap = s->treecap ? s->treecap * 2 : 64;
		if ((p = reallocarray(s->tree, s->treecap, sizeof(*p))) == NULL)
			return -1;
		s->tree = p;
	}
	s->tree[s->ntree++] = id;
	return 0;
}

static int
tree_load(struct suggest *s)
{
	static const char sql[] =
	    "WITH RECURSIVE t(id) AS (SELECT ?1 UNION SELECT d.id FROM decks d"
	    " JOIN t ON d.parent = t.id) SELECT id FROM t ORDER BY id";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, s->root);
	while ((rc = db_step(st)) == DB_ROW)
		if (tree_add(s, sqlite3_column_int64(st, 0)) == -1) {
			rc = DB_ERR;
			break;
		}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : fault(s);
}

/* The deck of the subtree with that full_path: > 0, 0 if none, -1 fault. */
static int64_t
find_path(struct suggest *s, const char *path)
{
	static const char sql[] = "SELECT id FROM decks WHERE full_path = ?1 ORDER BY id";
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fault(s);
	db_bind_text(st, 1, path);
	while ((rc = db_step(st)) == DB_ROW)
		if (tree_has(s, sqlite3_column_int64(st, 0))) {
			id = sqlite3_column_int64(st, 0);
			break;
		}
	db_stmt_done(st);
	return rc < 0 ? fault(s) : id;
}

/*
 * commits.deck := deck if still NULL (§6.3 step 5), written at the end: a
 * commit without a deck is in no review list while it is being filled.
 */
static int
commit_deck(struct suggest *s, int64_t deck)
{
	if (s->target == 0)
		s->target = deck;
	return 0;
}

/* §6.3 step 8: a new subdeck under parent, named name (cleaned). */
static int
new_subdeck(struct suggest *s, struct sdeck *d, int64_t parent, const char *parent_path,
    const char *name)
{
	static const char sql[] =
	    "INSERT INTO decks (name, description, owner, last_update, parent, crowdanki_uuid,"
	    " human_hash, creator_ip, full_path) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	static const char sibling_sql[] =
	    "SELECT 1 FROM decks WHERE parent = ?1 AND owner = ?2 AND name = ?3";
	char		 hash[DECKHASH_BUFSZ], uuid[DECKHASH_UUID_STRLEN + 1], *desc, *path;
	uint8_t		 u[16];
	sqlite3_stmt	*st;
	int		 rc, try;

	if (s->restrict_subdecks)
		return fail(s, 422, "Subdecks are not allowed");
	if (name[0] == '\0')
		return fail(s, 422, "Deck name is empty. Please provide a valid name.");
	if (d->uuid == NULL || deckhash_uuid_parse(d->uuid, strlen(d->uuid), u) == -1)
		return fail(s, 422, "Deck %s has no valid crowdanki_uuid", name);
	if ((st = db_stmt(apid->db, sibling_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, parent);
	sqlite3_bind_int64(st, 2, s->owner);
	db_bind_text(st, 3, name);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc < 0)
		return fault(s);
	if (rc == DB_ROW)
		return fail(s, 422, "Deck %s already exists. Please submit suggestions instead.",
		    name);
	if (clean(s, d->desc != NULL ? d->desc : "", d->desc != NULL ? strlen(d->desc) : 0) == -1)
		return -1;
	if ((desc = strdup(s->clean.data != NULL ? s->clean.data : "")) == NULL ||
	    asprintf(&path, "%s::%s", parent_path, name) == -1) {
		free(desc);
		return fault(s);
	}
	deckhash_uuid_format(u, uuid);
	/* A taken hash: one retry on a fresh uuid (§4). */
	for (try = 0, rc = DB_CONSTRAINT; try < 2 && rc == DB_CONSTRAINT; try++) {
		if (try > 0 && deckhash_uuid_random(u) == -1)
			break;
		deckhash_from_uuid(u, hash, sizeof(hash));
		if ((st = db_stmt(apid->db, sql)) == NULL) {
			rc = DB_ERR;
			break;
		}
		db_bind_text(st, 1, name);
		db_bind_text(st, 2, desc);
		sqlite3_bind_int64(st, 3, s->owner);
		db_bind_time(st, 4, s->now);
		sqlite3_bind_int64(st, 5, parent);
		db_bind_text(st, 6, uuid);
		db_bind_text(st, 7, hash);
		db_bind_text(st, 8, s->ip);
		db_bind_text(st, 9, path);
		rc = db_run(st);
	}
	free(desc);
	if (rc != DB_OK) {
		free(path);
		return fault(s);
	}
	d->id = db_last_insert_id(apid->db);
	d->path = path;
	d->created = 1;
	log_info("submitCard: new subdeck %s (%s)", path, hash);
	if (tree_add(s, d->id) == -1)
		return fault(s);
	return commit_deck(s, d->id);
}

/* §6.3 steps 5, 7, 8: the server deck of submitted deck idx, found or made. */
static int
place_deck(struct suggest *s, size_t idx)
{
	struct sdeck	*d = &s->decks[idx], *p;
	char		*name = NULL, *path = NULL, *cut;
	int64_t		 id, parent;
	size_t		 len;
	int		 rc = -1;

	if (d->parent < 0) {
		/* The top: the normalised deck_path, its parent is the path before "::". */
		if ((path = strdup(s->path)) == NULL)
			return fault(s);
		if ((cut = strrchr(path, ':')) != NULL && cut > path + 1 && cut[-1] == ':') {
			if ((name = strdup(cut + 1)) == NULL)
				goto out;
			cut[-1] = '\0';
			parent = find_path(s, path);
			cut[-1] = ':';
		} else
			parent = 0;
	} else {
		p = &s->decks[d->parent];
		if (p->id == 0)
			return fail(s, 422, "%s", MSG_NOT_FOUND);
		len = strlen(d->name);
		if ((name = strdup(d->name)) == NULL)
			return fault(s);
		len = strip_suffix(name, len);
		if (clean(s, name, len) == -1)
			goto out;
		free(name);
		if ((name = strdup(s->clean.data != NULL ? s->clean.data : "")) == NULL ||
		    asprintf(&path, "%s::%s", p->path, name) == -1) {
			path = NULL;
			fault(s);
			goto out;
		}
		parent = p->id;
	}
	if ((id = find_path(s, path)) == -1)
		goto out;
	if (id > 0) {
		d->id = id;
		d->path = path;
		path = NULL;
		rc = commit_deck(s, id);
		goto out;
	}
	if (parent <= 0 || name == NULL) {
		if (parent == 0)
			fail(s, 422, "%s", MSG_NOT_FOUND);
		goto out;
	}
	if (d->parent < 0) {
		/* The parent's path is what precedes the last "::". */
		cut = path + strlen(path) - strlen(name) - 2;
		*cut = '\0';
		rc = new_subdeck(s, d, parent, path, name);
	} else
		rc = new_subdeck(s, d, parent, s->decks[d->parent].path, name);
out:
	free(name);
	free(path);
	return rc;
}

/* ---- notes (pass 2) ------------------------------------------------------------------------ */

/* The submission's model of a note: its server notetype, with the field shape loaded. */
static struct smodel *
note_model(struct suggest *s, struct json_object *uuid)
{
	static const char sql[] =
	    "SELECT position, protected FROM notetype_field WHERE notetype = ?1 ORDER BY position";
	struct smodel	*m = NULL;
	sqlite3_stmt	*st;
	int64_t		*p;
	size_t		 i, cap = 0;
	int64_t		 pos;
	int		 rc;

	for (i = 0; i < s->nmodels; i++)
		if (strcmp(s->models[i].uuid, json_object_get_string(uuid)) == 0) {
			m = &s->models[i];
			break;
		}
	if (m == NULL) {
		fail(s, 422, "Note type not found in cache: %.100s", json_object_get_string(uuid));
		return NULL;
	}
	if (m->shaped)
		return m;
	if ((st = db_stmt(apid->db, sql)) == NULL) {
		fault(s);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, m->id);
	/* prot[i]: 1 protected, 0 open, -1 no field at position i. */
	while ((rc = db_step(st)) == DB_ROW) {
		pos = sqlite3_column_int64(st, 0);
		if (pos < 0 || pos > 4096)
			continue;
		if ((size_t)pos >= cap) {
			cap = (size_t)pos + 16;
			if ((p = reallocarray(m->prot, cap, sizeof(*p))) == NULL) {
				rc = DB_ERR;
				break;
			}
			m->prot = p;
			for (i = m->nfields; i < cap; i++)
				m->prot[i] = -1;
		}
		m->prot[pos] = sqlite3_column_int(st, 1);
		if ((size_t)pos + 1 > m->nfields)
			m->nfields = (size_t)pos + 1;
	}
	db_stmt_done(st);
	if (rc != DB_OK) {
		fault(s);
		return NULL;
	}
	m->shaped = 1;
	return m;
}

/* Whether position i of the model takes content. */
static int
open_position(const struct smodel *m, size_t i)
{
	return i < m->nfields && m->prot[i] == 0;
}

struct existing {
	int64_t	id, deck;
	int	reviewed, deleted;
};

/* The first note with that guid in the tree: 1, 0 if none, -1 on a fault. */
static int
find_note(struct suggest *s, struct json_object *guid, struct existing *e)
{
	static const char sql[] =
	    "SELECT id, deck, reviewed, deleted FROM notes WHERE guid = ?1 ORDER BY id";
	sqlite3_stmt	*st;
	int		 rc, found = 0;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fault(s);
	bind_json(st, 1, guid);
	while ((rc = db_step(st)) == DB_ROW)
		if (tree_has(s, sqlite3_column_int64(st, 1))) {
			e->id = sqlite3_column_int64(st, 0);
			e->deck = sqlite3_column_int64(st, 1);
			e->reviewed = sqlite3_column_int(st, 2);
			e->deleted = sqlite3_column_int(st, 3);
			found = 1;
			break;
		}
	db_stmt_done(st);
	return rc < 0 ? fault(s) : found;
}

static const char field_ins_sql[] =
    "INSERT INTO fields (note, position, content, reviewed, creator_ip, commit_id)"
    " VALUES (?1, ?2, ?3, 0, ?4, ?5)";
static const char tag_ins_sql[] =
    "INSERT INTO tags (note, content, reviewed, creator_ip, action, commit_id)"
    " VALUES (?1, ?2, 0, ?3, ?4, ?5)";

/* An unreviewed field row with s->clean as its content. */
static int
field_row(struct suggest *s, int64_t note, size_t pos, int64_t commit)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(apid->db, field_ins_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, note);
	sqlite3_bind_int64(st, 2, (int64_t)pos);
	sqlite3_bind_text(st, 3, s->clean.data != NULL ? s->clean.data : "", (int)s->clean.len,
	    SQLITE_STATIC);
	db_bind_text(st, 4, s->ip);
	sqlite3_bind_int64(st, 5, commit);
	return db_run(st) == DB_OK ? 0 : fault(s);
}

static int
tag_row(struct suggest *s, int64_t note, const char *tag, int action, int64_t commit)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(apid->db, tag_ins_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, note);
	db_bind_text(st, 2, tag);
	db_bind_text(st, 3, s->ip);
	sqlite3_bind_int(st, 4, action);
	sqlite3_bind_int64(st, 5, commit);
	return db_run(st) == DB_OK ? 0 : fault(s);
}

/* A list of cleaned, §3.5-allowed, distinct tags. */
struct tagset {
	char	**v;
	size_t	  n;
};

static void
tagset_free(struct tagset *t)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		free(t->v[i]);
	free(t->v);
	memset(t, 0, sizeof(*t));
}

static int
tagset_has(const struct tagset *t, const char *tag)
{
	size_t	i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i], tag) == 0)
			return 1;
	return 0;
}

static int
tagset_add(struct tagset *t, const char *tag)
{
	char	**p;

	if (tagset_has(t, tag) || t->n == SUG_MAX_TAGS)
		return 0;
	if ((p = reallocarray(t->v, t->n + 1, sizeof(*p))) == NULL)
		return -1;
	t->v = p;
	if ((t->v[t->n] = strdup(tag)) == NULL)
		return -1;
	t->n++;
	return 0;
}

/* The submitted tags of a note, cleaned and filtered (§3.5). */
static int
submitted_tags(struct suggest *s, struct json_object *tags, struct tagset *out)
{
	size_t	i;
	int	ok;

	for (i = 0; i < json_object_array_length(tags); i++) {
		if (clean_json(s, json_object_array_get_idx(tags, i)) == -1)
			return -1;
		if (s->clean.len == 0 || memchr(s->clean.data, '\0', s->clean.len) != NULL)
			continue;
		if ((ok = review_tag_allowed(apid->db, s->root, s->clean.data, s->clean.len)) == -1)
			return fault(s);
		if (ok && tagset_add(out, s->clean.data) == -1)
			return fault(s);
	}
	return 0;
}

/* The tags of a note with that reviewed flag. */
static int
stored_tags(struct suggest *s, int64_t note, int reviewed, struct tagset *out)
{
	static const char sql[] =
	    "SELECT content FROM tags WHERE note = ?1 AND reviewed = ?2 ORDER BY id";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, note);
	sqlite3_bind_int(st, 2, reviewed);
	while ((rc = db_step(st)) == DB_ROW)
		if (tagset_add(out, (const char *)sqlite3_column_text(st, 0)) == -1) {
			rc = DB_ERR;
			break;
		}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : fault(s);
}

/* Remembers a note this request made, to delete it if the request fails. */
static int
created_add(struct suggest *s, int64_t id)
{
	int64_t	*p;

	if (s->ncreated == s->capcreated) {
		s->capcreated = s->capcreated ? s->capcreated * 2 : 64;
		if ((p = reallocarray(s->created, s->capcreated, sizeof(*p))) == NULL)
			return -1;
		s->created = p;
	}
	s->created[s->ncreated++] = id;
	return 0;
}

/* §6.3.1: a new note, unreviewed (review_apply approves it for a maintainer). */
static int
new_note(struct suggest *s, struct json_object *note, struct smodel *m, int64_t deck)
{
	static const char sql[] =
	    "INSERT INTO notes (guid, notetype, deck, last_update, reviewed, creator_ip, anki_id)"
	    " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)";
	static const char drop_sql[] = "DELETE FROM notes WHERE id = ?1";
	struct json_object	*fields = member(note, "fields");
	struct tagset		 tags = { 0 };
	sqlite3_stmt		*st;
	size_t			 i, n = json_object_array_length(fields), stored = 0;
	int64_t			 id;
	int			 rc;

	if (n == 0)
		return 0;
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fault(s);
	bind_json(st, 1, member(note, "guid"));
	sqlite3_bind_int64(st, 2, m->id);
	sqlite3_bind_int64(st, 3, deck);
	db_bind_time(st, 4, s->now);
	db_bind_text(st, 5, s->ip);
	sqlite3_bind_int64(st, 6, json_object_get_int64(member(note, "id")));
	if ((rc = db_run(st)) != DB_OK)
		return rc == DB_CONSTRAINT ? fail(s, 422, "Deck does not exist") : fault(s);
	id = db_last_insert_id(apid->db);
	if (created_add(s, id) == -1)
		return fault(s);
	for (i = 0; i < n && i < m->nfields; i++) {
		if (!open_position(m, i))
			continue;
		if (clean_json(s, json_object_array_get_idx(fields, i)) == -1)
			return -1;
		if (s->clean.len == 0)
			continue;
		if (field_row(s, id, i, s->commit) == -1)
			return -1;
		stored++;
	}
	if (stored == 0) {
		/* Nothing to suggest: the note goes again (§6.3.1). */
		if ((st = db_stmt(apid->db, drop_sql)) == NULL)
			return fault(s);
		sqlite3_bind_int64(st, 1, id);
		return db_run(st) == DB_OK ? 0 : fault(s);
	}
	rc = submitted_tags(s, member(note, "tags"), &tags);
	for (i = 0; rc == 0 && i < tags.n; i++)
		rc = tag_row(s, id, tags.v[i], 1, s->commit);
	tagset_free(&tags);
	s->nnotes++;
	return rc;
}

/* Whether every submitted field cleans to blank. -1 on a refusal. */
static int
all_blank(struct suggest *s, struct json_object *fields)
{
	size_t	i;

	for (i = 0; i < json_object_array_length(fields); i++) {
		if (clean_json(s, json_object_array_get_idx(fields, i)) == -1)
			return -1;
		if (s->clean.len > 0)
			return 0;
	}
	return 1;
}

/* Every field row of a note, reviewed or not, to compare submissions with. */
struct rows {
	int64_t	*pos;
	char	**content;
	size_t	 n;
};

static void
rows_free(struct rows *r)
{
	size_t	i;

	for (i = 0; i < r->n; i++)
		free(r->content[i]);
	free(r->pos);
	free(r->content);
	memset(r, 0, sizeof(*r));
}

static int
rows_load(struct suggest *s, int64_t note, struct rows *r)
{
	static const char sql[] = "SELECT position, content FROM fields WHERE note = ?1";
	sqlite3_stmt	*st;
	size_t		 cap = 0;
	void		*p;
	int		 rc;

	memset(r, 0, sizeof(*r));
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, note);
	while ((rc = db_step(st)) == DB_ROW) {
		if (r->n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = reallocarray(r->pos, cap, sizeof(*r->pos))) == NULL) {
				rc = DB_ERR;
				break;
			}
			r->pos = p;
			if ((p = reallocarray(r->content, cap, sizeof(*r->content))) == NULL) {
				rc = DB_ERR;
				break;
			}
			r->content = p;
		}
		r->pos[r->n] = sqlite3_column_int64(st, 0);
		if ((r->content[r->n] = strdup((const char *)sqlite3_column_text(st, 1))) == NULL) {
			rc = DB_ERR;
			break;
		}
		r->n++;
	}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : fault(s);
}

/* How many rows are at pos, and whether one holds exactly text (len bytes). */
static size_t
rows_at(const struct rows *r, int64_t pos, const char *text, size_t len, int *same)
{
	size_t	i, n = 0;

	*same = 0;
	for (i = 0; i < r->n; i++) {
		if (r->pos[i] != pos)
			continue;
		n++;
		if (strlen(r->content[i]) == len && memcmp(r->content[i], text, len) == 0)
			*same = 1;
	}
	return n;
}

/*
 * §6.3.3 reviewed note: a pending row per position whose cleaned content
 * differs from every row there. A field sent exactly as stored (what a
 * subscriber pulled) is unchanged without being cleaned again: a bulk
 * suggestion of a whole deck costs a lookup per note, not a cleaning per
 * field. *nonblank: some field is not blank.
 */
static int
suggest_fields(struct suggest *s, struct json_object *fields, struct smodel *m, int64_t note,
    int *nonblank)
{
	struct json_object	*f;
	struct rows		 r;
	size_t			 i, n = json_object_array_length(fields), nrows;
	int			 same, rc = 0;

	*nonblank = 0;
	if (rows_load(s, note, &r) == -1)
		return -1;
	for (i = 0; i < n && i < m->nfields && rc == 0; i++) {
		if (!open_position(m, i))
			continue;
		f = json_object_array_get_idx(fields, i);
		rows_at(&r, (int64_t)i, json_object_get_string(f),
		    (size_t)json_object_get_string_len(f), &same);
		if (same) {
			*nonblank |= json_object_get_string_len(f) > 0;
			continue;
		}
		if ((rc = clean_json(s, f)) == -1)
			break;
		*nonblank |= s->clean.len > 0;
		nrows = rows_at(&r, (int64_t)i, s->clean.data != NULL ? s->clean.data : "",
		    s->clean.len, &same);
		/* An empty value only asks to remove an existing field. */
		if (same || (s->clean.len == 0 && nrows == 0))
			continue;
		rc = field_row(s, note, i, s->commit);
	}
	rows_free(&r);
	return rc;
}

/* Tag additions and removals against the reviewed set, as pending rows. */
static int
suggest_tags(struct suggest *s, struct json_object *tags, int64_t note)
{
	static const char dup_sql[] =
	    "SELECT 1 FROM tags WHERE note = ?1 AND content = ?2 AND reviewed = 0"
	    " AND action = ?3 AND commit_id = ?4";
	struct tagset	 want = { 0 }, have = { 0 };
	sqlite3_stmt	*st;
	size_t		 i, k;
	int		 rc = 0, action, dup;

	if (submitted_tags(s, tags, &want) == -1 || stored_tags(s, note, 1, &have) == -1)
		rc = -1;
	for (k = 0; rc == 0 && k < 2; k++) {
		struct tagset *from = k == 0 ? &want : &have, *other = k == 0 ? &have : &want;

		action = k == 0;
		for (i = 0; rc == 0 && i < from->n; i++) {
			if (tagset_has(other, from->v[i]))
				continue;
			if ((st = db_stmt(apid->db, dup_sql)) == NULL) {
				rc = fault(s);
				break;
			}
			sqlite3_bind_int64(st, 1, note);
			db_bind_text(st, 2, from->v[i]);
			sqlite3_bind_int(st, 3, action);
			sqlite3_bind_int64(st, 4, s->commit);
			dup = db_step(st);
			db_stmt_done(st);
			if (dup < 0)
				rc = fault(s);
			else if (dup != DB_ROW)
				rc = tag_row(s, note, from->v[i], action, s->commit);
		}
	}
	tagset_free(&want);
	tagset_free(&have);
	return rc;
}

/* §6.3.3: a pending new note is edited in place, under its own commit. */
static int
edit_pending(struct suggest *s, struct json_object *note, struct smodel *m, int64_t id)
{
	static const char fcommit_sql[] =
	    "SELECT coalesce(min(commit_id), ?2) FROM fields WHERE note = ?1 AND reviewed = 0";
	static const char tcommit_sql[] =
	    "SELECT coalesce(min(commit_id), ?2) FROM tags WHERE note = ?1 AND reviewed = 0";
	static const char row_sql[] =
	    "SELECT id FROM fields WHERE note = ?1 AND position = ?2 AND reviewed = 0"
	    " ORDER BY id LIMIT 1";
	static const char del_sql[] = "DELETE FROM fields WHERE id = ?1";
	static const char upd_sql[] = "UPDATE fields SET content = ?2 WHERE id = ?1";
	static const char tdel_sql[] = "DELETE FROM tags WHERE note = ?1 AND reviewed = 0";
	struct json_object	*fields = member(note, "fields");
	struct tagset		 tags = { 0 };
	sqlite3_stmt		*st;
	size_t			 i, n = json_object_array_length(fields);
	int64_t			 fcommit = s->commit, tcommit = s->commit, row;
	int			 rc;

	if ((st = db_stmt(apid->db, fcommit_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, s->commit);
	if (db_step(st) == DB_ROW)
		fcommit = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	for (i = 0; i < n && i < m->nfields; i++) {
		if (!open_position(m, i))
			continue;
		if (clean_json(s, json_object_array_get_idx(fields, i)) == -1)
			return -1;
		if ((st = db_stmt(apid->db, row_sql)) == NULL)
			return fault(s);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, (int64_t)i);
		row = 0;
		if ((rc = db_step(st)) == DB_ROW)
			row = sqlite3_column_int64(st, 0);
		db_stmt_done(st);
		if (rc < 0)
			return fault(s);
		if (row == 0 && s->clean.len == 0)
			continue;
		if (row == 0) {
			if (field_row(s, id, i, fcommit) == -1)
				return -1;
			continue;
		}
		if ((st = db_stmt(apid->db, s->clean.len == 0 ? del_sql : upd_sql)) == NULL)
			return fault(s);
		sqlite3_bind_int64(st, 1, row);
		if (s->clean.len > 0)
			sqlite3_bind_text(st, 2, s->clean.data, (int)s->clean.len, SQLITE_STATIC);
		if (db_run(st) != DB_OK)
			return fault(s);
	}
	if ((st = db_stmt(apid->db, tcommit_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, s->commit);
	if (db_step(st) == DB_ROW)
		tcommit = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if ((st = db_stmt(apid->db, tdel_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, id);
	if (db_run(st) != DB_OK)
		return fault(s);
	rc = submitted_tags(s, member(note, "tags"), &tags);
	for (i = 0; rc == 0 && i < tags.n; i++)
		rc = tag_row(s, id, tags.v[i], 1, tcommit);
	tagset_free(&tags);
	return rc;
}

/* A note that lives in another deck of the tree: moved, or a move suggested. */
static int
note_move(struct suggest *s, const struct existing *e, int64_t deck)
{
	static const char move_sql[] = "UPDATE notes SET deck = ?2 WHERE id = ?1";
	static const char sug_sql[] =
	    "INSERT INTO note_move_suggestions (original_deck, target_deck, note, creator_ip,"
	    " commit_id) SELECT ?1, ?2, ?3, ?4, ?5 WHERE NOT EXISTS (SELECT 1 FROM"
	    " note_move_suggestions WHERE note = ?3 AND target_deck = ?2 AND commit_id = ?5)";
	sqlite3_stmt	*st;
	int		 rc;

	if (e->deck == deck)
		return 0;
	if (!e->reviewed) {
		if ((st = db_stmt(apid->db, move_sql)) == NULL)
			return fault(s);
		sqlite3_bind_int64(st, 1, e->id);
		sqlite3_bind_int64(st, 2, deck);
		if ((rc = db_run(st)) == DB_CONSTRAINT)
			return fail(s, 422, "Deck already has a note with that guid");
		return rc == DB_OK ? 0 : fault(s);
	}
	if ((st = db_stmt(apid->db, sug_sql)) == NULL)
		return fault(s);
	sqlite3_bind_int64(st, 1, e->deck);
	sqlite3_bind_int64(st, 2, deck);
	sqlite3_bind_int64(st, 3, e->id);
	db_bind_text(st, 4, s->ip);
	sqlite3_bind_int64(st, 5, s->commit);
	return db_run(st) == DB_OK ? 0 : fault(s);
}

/* A notes[] item of the deck at the top of the stack (§6.3 step 9). */
static int
note_value(void *arg, struct json_object *note)
{
	struct suggest		*s = arg;
	struct sdeck		*d = &s->decks[s->stack[s->ca.depth - 1]];
	struct json_object	*fields = member(note, "fields");
	struct smodel		*m;
	struct existing		 e;
	int			 rc, blank, nonblank;

	if ((m = note_model(s, member(note, "note_model_uuid"))) == NULL)
		return -1;
	if ((rc = find_note(s, member(note, "guid"), &e)) == -1)
		return -1;
	if (rc == 0)
		return new_note(s, note, m, d->id);
	if (e.deleted)
		return 0;
	if (json_object_array_length(fields) == 0)
		return fail(s, 422, "At least one field is required");
	/*
	 * Rows written before an empty payload is refused go with the
	 * request's rollback, so the check may come after them.
	 */
	nonblank = 0;
	if (e.reviewed && suggest_fields(s, fields, m, e.id, &nonblank) == -1)
		return -1;
	if (!nonblank) {
		if ((blank = all_blank(s, fields)) == -1)
			return -1;
		if (blank)
			return fail(s, 422, "%s", s->approved ?
			    "All fields are empty; refusing to overwrite and wipe the note" :
			    "All fields are empty; refusing to apply an empty update");
	}
	s->nnotes++;
	if (!e.reviewed)
		return edit_pending(s, note, m, e.id) == -1 ? -1 : note_move(s, &e, d->id);
	if (suggest_tags(s, member(note, "tags"), e.id) == -1)
		return -1;
	return note_move(s, &e, d->id);
}

/* ---- the request ---------------------------------------------------------------------------- */

/* The commit of §6.3 step 1. */
static int
commit_row(struct suggest *s, int64_t rationale, const char *text, int64_t deck)
{
	static const char sql[] =
	    "INSERT INTO commits (rationale, ip, timestamp, deck, info, user_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt	*st;

	if (clean(s, text, strlen(text)) == -1)
		return -1;
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, rationale);
	db_bind_text(st, 2, s->ip);
	db_bind_time(st, 3, s->now);
	if (deck > 0)
		sqlite3_bind_int64(st, 4, deck);
	sqlite3_bind_text(st, 5, s->clean.data != NULL ? s->clean.data : "", (int)s->clean.len,
	    SQLITE_STATIC);
	if (s->user > 0)
		sqlite3_bind_int64(st, 6, s->user);
	if (db_run(st) != DB_OK)
		return -1;
	s->commit = db_last_insert_id(apid->db);
	return 0;
}

/* The root deck of the request: id, name, owner, restrictions. 1, 0 unknown, -1. */
static int
root_get(struct suggest *s, const char *hash, char **name, int *restrict_nt)
{
	static const char sql[] =
	    "SELECT id, name, owner, restrict_notetypes, restrict_subdecks FROM decks"
	    " WHERE human_hash = ?1";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	db_bind_text(st, 1, hash);
	if ((rc = db_step(st)) == DB_ROW) {
		s->root = sqlite3_column_int64(st, 0);
		*name = strdup((const char *)sqlite3_column_text(st, 1));
		s->owner = sqlite3_column_int64(st, 2);
		*restrict_nt = sqlite3_column_int(st, 3);
		s->restrict_subdecks = sqlite3_column_int(st, 4);
	}
	db_stmt_done(st);
	if (rc == DB_ROW && *name == NULL)
		return -1;
	return rc < 0 ? -1 : rc == DB_ROW;
}

/* §6.3 step 3: deck_path without the suffix, new_name replaced by the server's name. */
static int
normalise_path(struct suggest *s, const char *server_name)
{
	size_t	 len = strip_suffix(s->path, strlen(s->path)), nlen = strlen(s->newname);
	char	*at, *p;

	if (len == 0)
		return fail(s, 422, "%s", MSG_DECK_NAME);
	if (nlen == 0 || (at = strstr(s->path, s->newname)) == NULL)
		return 0;
	if (asprintf(&p, "%.*s%s%s", (int)(at - s->path), s->path, server_name, at + nlen) == -1)
		return fault(s);
	free(s->path);
	s->path = p;
	return 0;
}

/* §6.3 step 4: every model of the tree is the owner's (or becomes it). */
static int
notetype_gate(struct suggest *s, int restrict_nt)
{
	struct smodel	*m;
	size_t		 i;
	int		 rc, inserted;

	for (i = 0; i < s->nmodels; i++) {
		m = &s->models[i];
		if (restrict_nt) {
			rc = notetype_match(apid->db, s->owner, m->model, &m->id);
			if (rc == NOTETYPE_NONE)
				return fail(s, 422, "Notetype Error: %.100s", m->uuid);
		} else
			rc = notetype_resolve(apid->db, s->owner, m->model, &m->id, &inserted);
		if (rc == NOTETYPE_EINPUT)
			return fail(s, 400, "%s", MSG_BAD_DECK);
		if (rc != NOTETYPE_OK)
			return fail(s, 500, "Notetype Error: database error");
	}
	return 0;
}

/* ST_SETUP: the commit (without its deck yet), the root, the path, the gate. */
static int
stage_setup(struct suggest *s)
{
	int	rc;

	if (db_begin(apid->db) != DB_OK)
		return fault(s);
	s->now = db_now_us();
	if (commit_row(s, s->rationale, s->text, 0) == -1) {
		fail(s, 500, "%s", MSG_NO_COMMIT);
		goto fail;
	}
	s->approved = s->force && decks_owner_or_maintainer(s->user, s->remote);
	if ((rc = root_get(s, s->remote, &s->server_name, &s->restrict_nt)) != 1) {
		if (rc == 0)
			fail(s, 404, "%s", MSG_DECK_NAME);
		else
			fault(s);
		goto fail;
	}
	if (normalise_path(s, s->server_name) == -1 || notetype_gate(s, s->restrict_nt) == -1 ||
	    tree_load(s) == -1)
		goto fail;
	if (db_commit(apid->db) != DB_OK)
		return fault(s);
	s->written = 1;
	return pass_start(s, 2);
fail:
	db_rollback(apid->db);
	return -1;
}

/* ST_PASS2: a window in its own transaction; 1 more, 0 done, -1 failed. */
static int
stage_pass2(struct suggest *s)
{
	int	rc;

	if (db_begin(apid->db) != DB_OK)
		return fault(s);
	if ((rc = pass_window(s)) == -1) {
		db_rollback(apid->db);
		return -1;
	}
	if (db_commit(apid->db) != DB_OK)
		return fault(s);
	return rc;
}

/* ST_FINAL: the commit joins its deck's review list, or is applied at once. */
static int
stage_final(struct suggest *s)
{
	static const char sql[] = "UPDATE commits SET deck = ?2 WHERE commit_id = ?1";
	sqlite3_stmt	*st;
	char		 err[256];
	int		 rc;

	if (db_begin(apid->db) != DB_OK)
		return fault(s);
	if (s->target != 0) {
		if ((st = db_stmt(apid->db, sql)) == NULL) {
			fault(s);
			goto fail;
		}
		sqlite3_bind_int64(st, 1, s->commit);
		sqlite3_bind_int64(st, 2, s->target);
		if (db_run(st) != DB_OK) {
			fault(s);
			goto fail;
		}
	}
	if (s->approved && s->target != 0) {
		rc = review_apply(apid->db, s->user, s->commit, err, sizeof(err));
		if (rc == REVIEW_INVALID) {
			fail(s, 422, "%s", err);
			goto fail;
		}
		if (rc != REVIEW_OK && rc != REVIEW_NOTHING) {
			fault(s);
			goto fail;
		}
	}
	if (db_commit(apid->db) != DB_OK)
		return fault(s);
	log_info("submitCard: commit %lld on %s: %zu notes%s", (long long)s->commit, s->remote,
	    s->nnotes, s->approved ? ", applied" : "");
	return 0;
fail:
	db_rollback(apid->db);
	return -1;
}

/*
 * ST_UNDO: what the committed windows wrote goes: the notes and subdecks
 * made, the pending rows and requests of the commit, the commit. (A
 * pending new note of another commit edited in place stays edited.)
 */
static int
stage_undo(struct suggest *s)
{
	static const char note_sql[] = "DELETE FROM notes WHERE id = ?1 AND reviewed = 0";
	static const char deck_sql[] = "DELETE FROM decks WHERE id = ?1";
	static const char *const sql[] = {
		"DELETE FROM fields WHERE commit_id = ?1 AND reviewed = 0",
		"DELETE FROM tags WHERE commit_id = ?1 AND reviewed = 0",
		"DELETE FROM commits WHERE commit_id = ?1",
	};
	sqlite3_stmt	*st;
	size_t		 i;

	if (db_begin(apid->db) != DB_OK)
		return -1;
	for (i = 0; i < s->ncreated; i++) {
		if ((st = db_stmt(apid->db, note_sql)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, s->created[i]);
		if (db_run(st) != DB_OK)
			goto fail;
	}
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = db_stmt(apid->db, sql[i])) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, s->commit);
		if (db_run(st) != DB_OK)
			goto fail;
	}
	/* Subdecks last made first: children before their parents. */
	for (i = SUG_MAX_DECKS; i-- > 0;) {
		if (!s->decks[i].created)
			continue;
		if ((st = db_stmt(apid->db, deck_sql)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, s->decks[i].id);
		if (db_run(st) != DB_OK)
			goto fail;
	}
	if (db_commit(apid->db) == DB_OK)
		return 0;
fail:
	db_rollback(apid->db);
	log_warnx("submitCard: the rows of failed commit %lld stay", (long long)s->commit);
	return -1;
}

static void	suggest_destroy(struct suggest *);
static void	step_schedule(struct suggest *);

static void
suggest_answer(struct suggest *s)
{
	if (s->call == NULL)
		return;
	if (s->status == 0)
		call_text(s->call, 200, "Success");
	else {
		if (s->status >= 500)
			log_warnx("submitCard: %d %s", s->status, s->msg);
		call_text(s->call, s->status, s->msg);
	}
}

/* One step; the next stage when it ends. Returns 1 to be called again. */
static int
step_once(struct suggest *s)
{
	int	rc;

	/* Nobody waits for the answer: stop, and take back what was written. */
	if (s->call == NULL && s->stage < ST_UNDO)
		fail(s, 500, "%s", "the request went away");
	switch (s->stage) {
	case ST_PASS1:
		rc = s->status != 0 ? -1 : pass_window(s);
		if (rc == 1)
			return 1;
		s->stage = rc == 0 ? ST_SETUP : ST_DONE;
		break;
	case ST_SETUP:
		if (s->status == 0 && stage_setup(s) == 0)
			s->stage = ST_PASS2;
		else
			s->stage = s->written ? ST_UNDO : ST_DONE;
		break;
	case ST_PASS2:
		rc = s->status != 0 ? -1 : stage_pass2(s);
		if (rc == 1)
			return 1;
		s->stage = rc == 0 ? ST_FINAL : ST_UNDO;
		break;
	case ST_FINAL:
		s->stage = s->status == 0 && stage_final(s) == 0 ? ST_DONE : ST_UNDO;
		break;
	case ST_UNDO:
		stage_undo(s);
		s->stage = ST_DONE;
		break;
	case ST_DONE:
		break;
	}
	if (s->stage == ST_DONE) {
		suggest_answer(s);
		return 0;
	}
	return 1;
}

static void
step_run(evutil_socket_t fd, short what, void *arg)
{
	struct suggest	*s = arg;

	if (step_once(s))
		step_schedule(s);
	else if (s->call == NULL)
		suggest_destroy(s);
}

/* Arms the next step for the next loop turn; without a timer, runs them all now. */
static void
step_schedule(struct suggest *s)
{
	static const struct timeval soon = { 0, 0 };

	if (s->ev == NULL)
		s->ev = evtimer_new(apid->d.base, step_run, s);
	if (s->ev != NULL && evtimer_add(s->ev, &soon) == 0)
		return;
	log_warnx("submitCard: no timer event; finishing at once");
	while (step_once(s))
		;
}

static struct suggest *
suggest_new(struct apid_call *call)
{
	struct jsonstream_conf	 conf = { .max_depth = 8, .max_capture = SUG_SCALAR_MAX };
	struct suggest		*s;
	char			 dir[CONFIG_PATH_MAX], path[CONFIG_PATH_MAX + 32];
	int			 fd;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	call->state = s;
	s->call = call;
	s->user = call->user_id;
	snprintf(s->ip, sizeof(s->ip), "%s", call->client_ip);
	/* On the data disk, not /tmp (a tmpfs would hold the deck in memory). */
	config_data_path(&apid->d.cfg, "", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/.submit-XXXXXX", dir);
	if ((fd = mkstemp(path)) == -1) {
		log_warn("submitCard: %s", path);
		return NULL;
	}
	unlink(path);
	if ((s->spool = fdopen(fd, "w+")) == NULL) {
		close(fd);
		return NULL;
	}
	if ((s->outer = jsonstream_new(&conf, &outer_cb, s)) == NULL ||
	    (s->decks = calloc(SUG_MAX_DECKS, sizeof(*s->decks))) == NULL)
		return NULL;
	return s;
}

static void
suggest_destroy(struct suggest *s)
{
	size_t	i;

	if (s->ev != NULL)
		event_free(s->ev);
	if (s->spool != NULL)
		fclose(s->spool);
	jsonstream_free(s->outer);
	jsonstream_free(s->inner);
	for (i = 0; s->decks != NULL && i < SUG_MAX_DECKS; i++) {
		free(s->decks[i].name);
		free(s->decks[i].desc);
		free(s->decks[i].uuid);
		free(s->decks[i].path);
	}
	free(s->decks);
	for (i = 0; i < s->nmodels; i++) {
		free(s->models[i].uuid);
		free(s->models[i].prot);
		json_object_put(s->models[i].model);
	}
	free(s->models);
	free(s->tree);
	free(s->created);
	free(s->win);
	free(s->server_name);
	free(s->remote);
	free(s->path);
	free(s->newname);
	free(s->text);
	sanitize_buf_free(&s->clean);
	free(s);
}

/* The request is gone, answered or not; steps under way finish without it. */
static void
suggest_free(struct apid_call *call)
{
	struct suggest	*s = call->state;

	if (s == NULL)
		return;
	call->state = NULL;
	s->call = NULL;
	if (s->ev == NULL || !evtimer_pending(s->ev, NULL))
		suggest_destroy(s);	/* else step_run() does, at the end */
}

static int
submit_data(struct apid_call *call, const void *data, size_t len)
{
	struct suggest	*s = call->state;

	if (s == NULL && (s = suggest_new(call)) == NULL) {
		call_text(call, 503, "Server busy, please retry");
		return -1;
	}
	if (s->outer_bad)
		return -1;
	if (jsonstream_feed(s->outer, data, len) != 0) {
		log_debug("submitCard: outer JSON: %s", jsonstream_errmsg(s->outer));
		s->outer_bad = 1;
		return -1;	/* call.c answers 400 "Invalid data" */
	}
	return 0;
}

static void
submit_card(struct apid_call *call)
{
	struct suggest	*s = call->state;

	if (s == NULL && (s = suggest_new(call)) == NULL) {
		call_text(call, 503, "Server busy, please retry");
		return;
	}
	if (s->outer_bad || jsonstream_finish(s->outer) != 0 || s->oseen != O_ALL) {
		call_text(call, 400, MSG_BAD_DATA);
		return;
	}
	if (!decks_hash_arg(call, s->remote))
		return;
	if (s->spool_bad || fflush(s->spool) != 0) {
		call_text(call, 503, "Server busy, please retry");
		return;
	}
	s->stage = ST_PASS1;
	if (pass_start(s, 1) == -1) {
		suggest_answer(s);
		return;
	}
	step_schedule(s);
}

/* ---- /requestRemoval (§6.12) ------------------------------------------------------------------ */

static void
request_removal(struct apid_call *call)
{
	static const char note_sql[] =
	    "SELECT id, deck FROM notes WHERE guid = ?1 ORDER BY id";
	static const char ins_sql[] =
	    "INSERT OR IGNORE INTO card_deletion_suggestions (note, creator_ip, commit_id)"
	    " VALUES (?1, ?2, ?3)";
	static const char fail_text[] = "Could not create removal request.";
	struct suggest		 s;
	struct json_object	*guids, *force, *g;
	const char		*hash, *text;
	sqlite3_stmt		*st;
	size_t			 i, n, asked = 0;
	int64_t			 note;
	int			 rc;

	memset(&s, 0, sizeof(s));
	if ((hash = call_json_string(call, "remote_deck")) == NULL)
		return;
	if (!json_object_object_get_ex(call->json, "note_guids", &guids) ||
	    !json_object_is_type(guids, json_type_array)) {
		call_bad_shape(call, "note_guids: invalid type: expected a sequence");
		return;
	}
	for (i = 0; i < json_object_array_length(guids); i++)
		if (!json_object_is_type(json_object_array_get_idx(guids, i), json_type_string)) {
			call_bad_shape(call, "note_guids: invalid type: expected a string");
			return;
		}
	if ((text = call_json_string(call, "commit_text")) == NULL)
		return;
	if (!json_object_object_get_ex(call->json, "force_overwrite", &force) ||
	    !json_object_is_type(force, json_type_boolean)) {
		call_bad_shape(call, "force_overwrite: invalid type: expected a boolean");
		return;
	}
	if (!decks_hash_arg(call, hash))
		return;
	if ((n = json_object_array_length(guids)) == 0) {
		call_text(call, 400, "No notes provided");
		return;
	}
	s.user = call->user_id;
	snprintf(s.ip, sizeof(s.ip), "%s", call->client_ip);
	s.now = db_now_us();
	if ((s.root = decks_find(hash)) < 0 || db_begin(apid->db) != DB_OK) {
		call_text(call, 500, fail_text);
		return;
	}
	if (s.root == 0) {
		db_rollback(apid->db);
		call_text(call, 404, fail_text);
		return;
	}
	/* force_overwrite: no effect for anyone (§6.12); deletions go through review. */
	if (commit_row(&s, 11, text, s.root) == -1 || tree_load(&s) == -1)
		goto fault;
	for (i = 0; i < n; i++) {
		g = json_object_array_get_idx(guids, i);
		if ((st = db_stmt(apid->db, note_sql)) == NULL)
			goto fault;
		bind_json(st, 1, g);
		note = 0;
		while ((rc = db_step(st)) == DB_ROW)
			if (tree_has(&s, sqlite3_column_int64(st, 1))) {
				note = sqlite3_column_int64(st, 0);
				break;
			}
		db_stmt_done(st);
		if (rc < 0)
			goto fault;
		if (note == 0)
			continue;	/* unknown guids are ignored */
		if ((st = db_stmt(apid->db, ins_sql)) == NULL)
			goto fault;
		sqlite3_bind_int64(st, 1, note);
		db_bind_text(st, 2, s.ip);
		sqlite3_bind_int64(st, 3, s.commit);
		if (db_run(st) != DB_OK)
			goto fault;
		asked += db_changes(apid->db) > 0;
	}
	if (db_commit(apid->db) != DB_OK)
		goto fault;
	log_info("requestRemoval: commit %lld on %s: %zu notes", (long long)s.commit, hash, asked);
	free(s.tree);
	sanitize_buf_free(&s.clean);
	call_text(call, 200, "Success");
	return;
fault:
	db_rollback(apid->db);
	free(s.tree);
	sanitize_buf_free(&s.clean);
	call_text(call, s.status == 400 ? 400 : 500, fail_text);
}

static const struct apid_route r_submit = {
	AUTH_OPT, BODY_GZB64, submit_card, submit_data, suggest_free
};
static const struct apid_route r_removal = { AUTH_OPT, BODY_JSON, request_removal, NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/submitCard", HTTP_POST, BODY_LIMIT_DECK, &r_submit),
	APID_ROUTE("/requestRemoval", HTTP_POST, BODY_LIMIT_JSON, &r_removal),
};

const struct apid_area suggest_area = { routes, sizeof(routes) / sizeof(routes[0]) };
