/*
 * publish.c — POST /createDeck (route 2, spec/api.md §6.2): publish a new deck.
 *
 * A deck may be 250 MiB of JSON and none of it is ever held whole. call.c
 * undoes base64 and gzip; the bytes collect in a window of PUB_WINDOW, and
 * each full window is parsed (the outer {"deck": "..."} object, the deck
 * string unescaped into a second reader, apid/crowdanki.c, one note or
 * notetype at a time into json-c) and written to the database in one short
 * transaction.
 * Between windows apid's one connection is free for other requests: a
 * transaction held across callbacks would take in their writes, and
 * db_begin() does not nest.
 *
 * Nothing is reachable before the end. Decks carry placeholder hashes
 * "~p-<process>-<op>[-n]" ('~' is in no deck hash). Notes whose notetype has
 * not come yet (CrowdAnki puts the root's note_models after all subdecks)
 * point at a stand-in notetype per uuid, and the root's name comes last too
 * (keys are sorted, "children" first). Once the body is in, the notes move
 * to their notetypes PUB_STEP_REPOINT at a time; then one transaction trims
 * fields their notetype does not have, names the root (or finds it exists),
 * gives every deck its hash and full path and marks the bulk operation
 * (§7.6) done. Then the answer.
 *
 * A deck that fails is answered at once, and its rows are deleted
 * PUB_STEP_UNDO notes at a time (the cascades make deleting slower than
 * inserting: seconds for 30,000 notes), whether the request is still there
 * or not. One cut short by a crash stays under its process's placeholder
 * until the next process's first publish deletes it.
 *
 * Choices: a text the cleaner refuses (over its memory or CPU budget) fails
 * the deck with 400 "Invalid data" rather than dropping content silently; a
 * note over 4 MiB of JSON, a note whose notetype is not in the tree, or a
 * guid twice in one deck is 400 "Invalid Deck. ..." (upstream fails those in
 * the background, after answering). A subdeck that cannot be created
 * (unparsable uuid, a sibling of the same name) is dropped as §4 says, with
 * the later siblings of a child of the root.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <json-c/json.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/crowdanki.h"
#include "apid/deckhash.h"
#include "apid/notetypes.h"
#include "apid/review.h"
#include "apid/sanitize.h"
#include "common/db.h"
#include "common/http.h"
#include "common/jsonstream.h"
#include "common/log.h"

#define PUB_WINDOW		(64u << 10)	/* JSON bytes per transaction */
#define PUB_MAX_NOTETYPES	1024		/* distinct notetype uuids in a tree */
#define PUB_STEP_REPOINT	2000		/* notes per step of the last stage */
#define PUB_STEP_UNDO		100		/* notes per step of undoing (cascades) */

#define PENDING			"~p-"		/* placeholder hashes, names of stand-ins */
#define PENDING_END		"~p."

#define MSG_EXISTS	"{ \"status\": 0, \"message\": " \
			"\"Deck already exists. Please submit suggestions instead.\" }"
#define MSG_ERROR	"{ \"status\": 0, \"message\": \"An error occurred processing your request\" }"
#define MSG_BAD_DATA	"Invalid data"
#define MSG_BAD_DECK	"Invalid Deck. Try again or contact support."

/* The first failure decides the answer. */
enum outcome {
	PUB_OK,
	PUB_BAD_DECK,
	PUB_BAD_DATA,
	PUB_EXISTS,
	PUB_FAULT
};

struct text {
	char	*s;
	size_t	 len;
};

/* A deck being read; deck[0] is the root. */
struct frame {
	int64_t		 id;		/* its decks row; 0 until one is needed */
	struct text	 name, desc, uuid;
	unsigned	 serial;	/* names its placeholder */
	int		 skip;		/* not created (§4: an earlier sibling failed) */
	int		 stop_children;	/* the root: create no more children */
};

/* A notetype uuid of the tree. */
struct ntref {
	char	*uuid;
	int64_t	 id;		/* the owner's notetype, once the model came */
	int64_t	 stand_in;	/* placeholder for notes that came before it */
	int	 inserted;	/* id is new: delete it if the deck fails */
	size_t	 maxfields;	/* the widest note using it */
};

/* Database work after the body, in bounded steps between other requests. */
enum step {
	STEP_NONE,
	STEP_REPOINT,	/* notes from stand-ins to their notetypes, then settle */
	STEP_UNDO	/* a failed publish's rows go */
};

struct publish {
	struct apid_call	*call;		/* NULL once the request is gone */
	int64_t			 user;
	char			 ip[sizeof(((struct apid_call *)0)->client_ip)];
	struct jsonstream	*outer, *inner;
	enum outcome		 outcome;
	int			 outer_bad;
	int			 ndeck;		/* "deck" members of the outer object */
	int			 settled;	/* the last step committed */
	int			 undone;	/* or its rows were deleted */
	enum step		 step;
	struct event		*ev;		/* runs the steps */
	size_t			 stepi;		/* STEP_REPOINT: the notetype at hand */
	char			 op[DECKHASH_UUID_STRLEN + 1];	/* bulk operation id */
	char			 tag[64], tag_end[72];	/* this publish's placeholders */
	char			 hash[DECKHASH_BUFSZ];	/* the root's, at the end */
	int64_t			 root, commit;
	struct crowdanki	 ca;		/* the inner reader's state */
	struct frame		 deck[CROWDANKI_MAX_DEPTH];
	unsigned		 ndecks;
	size_t			 nnotes;
	struct ntref		*nt;
	size_t			 nnt, ntcap, ntlast;
	struct sanitize_buf	 clean;
	char			*win;
	size_t			 winlen;
};

/* This process's placeholders; those of others are leftovers of a crash. */
static char	instance[16];
static int	swept;

/* Records the first failure; returns -1 (JSONSTREAM_STOP) for callbacks. */
static int
fail(struct publish *p, enum outcome why)
{
	if (p->outcome == PUB_OK)
		p->outcome = why;
	return -1;
}

/* A DB_* code: constraint failures are the input's, others the server's. */
static int
db_fail(struct publish *p, int rc, enum outcome constraint)
{
	return fail(p, rc == DB_CONSTRAINT ? constraint : PUB_FAULT);
}

/* Runs a one-id statement; DB_OK or a DB_* error. */
static int
run_id(const char *sql, int64_t id)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, id);
	return db_run(st);
}

/* Cleans (§3.6) len bytes at s into p->clean; -1 (Invalid data) if refused. */
static int
clean(struct publish *p, const char *s, size_t len)
{
	p->clean.len = 0;
	if (sanitize_html(s, len, &p->clean) == -1) {
		log_info("createDeck: a text of %zu bytes not cleaned: %s", len, strerror(errno));
		return fail(p, PUB_BAD_DATA);
	}
	return 0;
}

static int
clean_json(struct publish *p, struct json_object *v)
{
	return clean(p, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* A NUL-terminated copy of len bytes (which may hold a NUL). */
static int
text_dup(struct publish *p, struct text *t, const char *s, size_t len)
{
	if ((t->s = malloc(len + 1)) == NULL)
		return fail(p, PUB_FAULT);
	memcpy(t->s, s, len);
	t->s[len] = '\0';
	t->len = len;
	return 0;
}

/* ---- rows as the deck arrives ---------------------------------------------------- */

/*
 * Deletes the placeholders of earlier processes (a crash mid-publish), at
 * once: a rare event, and a process's first publish pays for it.
 */
static int
sweep(struct publish *p)
{
	static const char *const sql[] = {
		"DELETE FROM notes WHERE deck IN (SELECT id FROM decks WHERE human_hash >= '"
		PENDING "' AND human_hash < '" PENDING_END "' AND human_hash NOT BETWEEN ?1 AND ?2)",
		"DELETE FROM decks WHERE parent IS NULL AND human_hash >= '" PENDING "'"
		" AND human_hash < '" PENDING_END "' AND human_hash NOT BETWEEN ?1 AND ?2",
		"DELETE FROM notetype WHERE guid >= '" PENDING "' AND guid < '" PENDING_END "'"
		" AND guid NOT BETWEEN ?1 AND ?2",
		"DELETE FROM bulk_operations WHERE deck_hash >= '" PENDING "'"
		" AND deck_hash < '" PENDING_END "' AND deck_hash NOT BETWEEN ?1 AND ?2",
	};
	char		 lo[32], hi[32];
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc;

	snprintf(lo, sizeof(lo), "%s%s-", PENDING, instance);
	snprintf(hi, sizeof(hi), "%s%s-~", PENDING, instance);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		if ((st = db_stmt(apid->db, sql[i])) == NULL)
			return fail(p, PUB_FAULT);
		db_bind_text(st, 1, lo);
		db_bind_text(st, 2, hi);
		if ((rc = db_run(st)) != DB_OK)
			return db_fail(p, rc, PUB_FAULT);
		if (db_changes(apid->db) > 0)
			log_notice("createDeck: removed %lld rows of an unfinished publish",
			    (long long)db_changes(apid->db));
	}
	swept = 1;
	return 0;
}

/*
 * The root under its placeholder name and hash, its commit (§6.2 step 1)
 * and its bulk operation, all before the first note.
 */
static int
root_row(struct publish *p)
{
	static const char deck_sql[] =
	    "INSERT INTO decks (name, owner, last_update, human_hash, creator_ip, full_path)"
	    " VALUES (?1, ?2, ?3, ?1, ?4, ?1)";
	static const char commit_sql[] =
	    "INSERT INTO commits (rationale, info, ip, timestamp, deck, user_id)"
	    " VALUES (1, '', ?1, ?2, ?3, ?4)";
	static const char op_sql[] =
	    "INSERT INTO bulk_operations (id, deck_hash, user_id, note_insertion_done, created_at)"
	    " VALUES (?1, ?2, ?3, 0, ?4)";
	int64_t		 now = db_now_us();
	sqlite3_stmt	*st;
	int		 rc;

	if (!swept && sweep(p) == -1)
		return -1;
	if ((st = db_stmt(apid->db, deck_sql)) == NULL)
		return fail(p, PUB_FAULT);
	db_bind_text(st, 1, p->tag);
	sqlite3_bind_int64(st, 2, p->user);
	db_bind_time(st, 3, now);
	db_bind_text(st, 4, p->ip);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	p->root = p->deck[0].id = db_last_insert_id(apid->db);

	if ((st = db_stmt(apid->db, commit_sql)) == NULL)
		return fail(p, PUB_FAULT);
	db_bind_text(st, 1, p->ip);
	db_bind_time(st, 2, now);
	sqlite3_bind_int64(st, 3, p->root);
	sqlite3_bind_int64(st, 4, p->user);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	p->commit = db_last_insert_id(apid->db);

	if ((st = db_stmt(apid->db, op_sql)) == NULL)
		return fail(p, PUB_FAULT);
	db_bind_text(st, 1, p->op);
	db_bind_text(st, 2, p->tag);
	sqlite3_bind_int64(st, 3, p->user);
	db_bind_time(st, 4, now);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	return 0;
}

/* The row of deck[level] and of its ancestors, made on first need. */
static int
deck_row(struct publish *p, int level)
{
	static const char sql[] =
	    "INSERT INTO decks (name, owner, last_update, parent, human_hash, creator_ip, full_path)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, '')";
	struct frame	*f = &p->deck[level];
	char		 name[32], hash[96];
	sqlite3_stmt	*st;
	int		 rc;

	if (f->id != 0)
		return 0;
	if (level == 0)
		return root_row(p);
	if (deck_row(p, level - 1) == -1)
		return -1;
	/* Unique among siblings until the deck's end gives it its name. */
	snprintf(name, sizeof(name), "\001%u", f->serial);
	snprintf(hash, sizeof(hash), "%s-%u", p->tag, f->serial);
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fail(p, PUB_FAULT);
	db_bind_text(st, 1, name);
	sqlite3_bind_int64(st, 2, p->user);
	db_bind_time(st, 3, db_now_us());
	sqlite3_bind_int64(st, 4, p->deck[level - 1].id);
	db_bind_text(st, 5, hash);
	db_bind_text(st, 6, p->ip);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	f->id = db_last_insert_id(apid->db);
	return 0;
}

/* Deletes a deck and everything below it (notes first: cheaper cascades). */
static int
subtree_delete(struct publish *p, int64_t id)
{
	static const char notes_sql[] =
	    "WITH RECURSIVE t(id) AS (SELECT ?1 UNION ALL"
	    " SELECT d.id FROM decks d JOIN t ON d.parent = t.id)"
	    " DELETE FROM notes WHERE deck IN (SELECT id FROM t)";
	static const char deck_sql[] = "DELETE FROM decks WHERE id = ?1";

	if (run_id(notes_sql, id) != DB_OK || run_id(deck_sql, id) != DB_OK)
		return fail(p, PUB_FAULT);
	return 0;
}

/* The tree's entry for a notetype uuid, made on first sight. */
static struct ntref *
ntref_get(struct publish *p, struct json_object *uuid)
{
	const char	*s = json_object_get_string(uuid);
	size_t		 len = (size_t)json_object_get_string_len(uuid), i;
	struct ntref	*nt;

	if (p->ntlast < p->nnt && strcmp(p->nt[p->ntlast].uuid, s) == 0)
		return &p->nt[p->ntlast];
	for (i = 0; i < p->nnt; i++)
		if (strcmp(p->nt[i].uuid, s) == 0)
			return &p->nt[p->ntlast = i];
	if (p->nnt == PUB_MAX_NOTETYPES || memchr(s, '\0', len) != NULL) {
		fail(p, PUB_BAD_DECK);
		return NULL;
	}
	if (p->nnt == p->ntcap) {
		p->ntcap = p->ntcap ? p->ntcap * 2 : 8;
		if ((nt = reallocarray(p->nt, p->ntcap, sizeof(*nt))) == NULL) {
			fail(p, PUB_FAULT);
			return NULL;
		}
		p->nt = nt;
	}
	nt = &p->nt[p->nnt];
	memset(nt, 0, sizeof(*nt));
	if ((nt->uuid = strdup(s)) == NULL) {
		fail(p, PUB_FAULT);
		return NULL;
	}
	p->ntlast = p->nnt++;
	return nt;
}

/* The notetype a note of nt gets now: the real one, or its stand-in. */
static int64_t
ntref_target(struct publish *p, struct ntref *nt)
{
	static const char sql[] = "INSERT INTO notetype (guid, owner) VALUES (?1, ?2)";
	char		 guid[96];
	sqlite3_stmt	*st;
	int		 rc;

	if (nt->id != 0)
		return nt->id;
	if (nt->stand_in != 0)
		return nt->stand_in;
	snprintf(guid, sizeof(guid), "%s-nt%zu", p->tag, (size_t)(nt - p->nt));
	if ((st = db_stmt(apid->db, sql)) == NULL) {
		fail(p, PUB_FAULT);
		return 0;
	}
	db_bind_text(st, 1, guid);
	sqlite3_bind_int64(st, 2, p->user);
	if ((rc = db_run(st)) != DB_OK) {
		db_fail(p, rc, PUB_FAULT);
		return 0;
	}
	return nt->stand_in = db_last_insert_id(apid->db);
}

/* A note_models[] item: the owner's notetype for it, found or made now. */
static int
model_value(void *arg, struct json_object *model)
{
	struct publish	*p = arg;
	struct ntref	*nt;
	int		 rc;

	if (deck_row(p, 0) == -1 || (nt = ntref_get(p, member(model, "crowdanki_uuid"))) == NULL)
		return -1;
	if (nt->id != 0)
		return 0;	/* the same uuid again: the first one counts */
	rc = notetype_resolve(apid->db, p->user, model, &nt->id, &nt->inserted);
	if (rc == NOTETYPE_EINPUT)
		return fail(p, PUB_BAD_DATA);
	return rc == NOTETYPE_OK ? 0 : fail(p, PUB_FAULT);
}

/* §3.5: an optional tag only if its group is registered for the root. */
static int
tag_allowed(struct publish *p, const char *tag, size_t len, int *ok)
{
	if ((*ok = review_tag_allowed(apid->db, p->root, tag, len)) == -1)
		return fail(p, PUB_FAULT);
	return 0;
}

static int
note_guid(struct publish *p, struct json_object *guid)
{
	static const char sql[] =
	    "INSERT OR IGNORE INTO bulk_operation_guids (op_id, guid) VALUES (?1, ?2)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fail(p, PUB_FAULT);
	db_bind_text(st, 1, p->op);
	sqlite3_bind_text(st, 2, json_object_get_string(guid), json_object_get_string_len(guid),
	    SQLITE_STATIC);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	return 0;
}

/* The notes row, made before its first field; 0 after a failure. */
static int64_t
note_row(struct publish *p, struct json_object *note, int64_t notetype)
{
	static const char sql[] =
	    "INSERT INTO notes (guid, notetype, deck, last_update, reviewed, creator_ip,"
	    " anki_id, version) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, 1)";
	struct json_object	*guid = member(note, "guid");
	sqlite3_stmt		*st;
	int			 rc;

	if (deck_row(p, p->ca.depth - 1) == -1)
		return 0;
	if ((st = db_stmt(apid->db, sql)) == NULL) {
		fail(p, PUB_FAULT);
		return 0;
	}
	sqlite3_bind_text(st, 1, json_object_get_string(guid), json_object_get_string_len(guid),
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, notetype);
	sqlite3_bind_int64(st, 3, p->deck[p->ca.depth - 1].id);
	db_bind_time(st, 4, db_now_us());
	db_bind_text(st, 5, p->ip);
	sqlite3_bind_int64(st, 6, json_object_get_int64(member(note, "id")));
	/* A constraint here is a guid twice in one deck. */
	if ((rc = db_run(st)) != DB_OK) {
		db_fail(p, rc, PUB_BAD_DECK);
		return 0;
	}
	p->nnotes++;
	return db_last_insert_id(apid->db);
}

/* One cleaned field (p->clean) at pos, or tag (pos -1), of a new reviewed note. */
static int
content_row(struct publish *p, const char *sql, int64_t note, int64_t pos)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fail(p, PUB_FAULT);
	sqlite3_bind_int64(st, 1, note);
	sqlite3_bind_text(st, 2, p->clean.data, (int)p->clean.len, SQLITE_STATIC);
	db_bind_text(st, 3, p->ip);
	sqlite3_bind_int64(st, 4, p->commit);
	if (pos >= 0)
		sqlite3_bind_int64(st, 5, pos);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	return 0;
}

static const char field_sql[] =
    "INSERT INTO fields (note, content, creator_ip, commit_id, position, reviewed)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 1)";
static const char tag_sql[] =
    "INSERT INTO tags (note, content, creator_ip, commit_id, reviewed, action)"
    " VALUES (?1, ?2, ?3, ?4, 1, 1)";

static int
note_tags(struct publish *p, int64_t note, struct json_object *tags)
{
	size_t	i;
	int	ok;

	for (i = 0; i < json_object_array_length(tags); i++) {
		if (clean_json(p, json_object_array_get_idx(tags, i)) == -1 ||
		    tag_allowed(p, p->clean.data, p->clean.len, &ok) == -1)
			return -1;
		if (ok && p->clean.len > 0 && content_row(p, tag_sql, note, -1) == -1)
			return -1;
	}
	return 0;
}

static int
note_event(struct publish *p, int64_t note)
{
	static const char sql[] =
	    "INSERT INTO note_events (note_id, version, event_type, actor_user_id, commit_id,"
	    " approved, new_value) VALUES (?1, 1, 'note_created', ?2, ?3, 1, "
	    REVIEW_NOTE_SNAPSHOT("?1") ")";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return fail(p, PUB_FAULT);
	sqlite3_bind_int64(st, 1, note);
	sqlite3_bind_int64(st, 2, p->user);
	sqlite3_bind_int64(st, 3, p->commit);
	if ((rc = db_run(st)) != DB_OK)
		return db_fail(p, rc, PUB_FAULT);
	return 0;
}

/*
 * A notes[] item (§6.3.1): reviewed, with its non-empty cleaned fields and
 * tags and a note_created event. A note without any such field is not
 * stored; its guid still belongs to the bulk operation.
 */
static int
note_value(void *arg, struct json_object *note)
{
	struct publish		*p = arg;
	struct frame		*f = &p->deck[p->ca.depth - 1];
	struct json_object	*fields = member(note, "fields");
	struct ntref		*nt;
	int64_t			 id = 0, notetype;
	size_t			 i, n = json_object_array_length(fields);

	if (deck_row(p, 0) == -1 || note_guid(p, member(note, "guid")) == -1 ||
	    (nt = ntref_get(p, member(note, "note_model_uuid"))) == NULL)
		return -1;
	if (f->skip || n == 0)
		return 0;
	if (nt->maxfields < n)
		nt->maxfields = n;
	if ((notetype = ntref_target(p, nt)) == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (clean_json(p, json_object_array_get_idx(fields, i)) == -1)
			return -1;
		if (p->clean.len == 0)
			continue;
		if (id == 0 && (id = note_row(p, note, notetype)) == 0)
			return -1;
		/* note_row cleaned nothing: p->clean still holds field i. */
		if (content_row(p, field_sql, id, (int64_t)i) == -1)
			return -1;
	}
	if (id == 0)
		return 0;
	if (note_tags(p, id, member(note, "tags")) == -1)
		return -1;
	return note_event(p, id);
}

/* A subdeck's end: its name, description and uuid (§4), or it goes. */
static int
subdeck_close(struct publish *p, int level)
{
	static const char sql[] =
	    "UPDATE decks SET name = ?1, description = ?2, crowdanki_uuid = ?3 WHERE id = ?4";
	struct frame	*f = &p->deck[level];
	const char	*why = "its uuid does not parse";
	uint8_t		 u[16];
	sqlite3_stmt	*st;
	int		 rc;

	if (deckhash_uuid_parse(f->uuid.s, f->uuid.len, u) == 0) {
		if (deck_row(p, level) == -1 || (st = db_stmt(apid->db, sql)) == NULL)
			return fail(p, PUB_FAULT);
		/* Each bound as a copy: both are cleaned into p->clean. */
		if (clean(p, f->name.s, f->name.len) == 0)
			sqlite3_bind_text(st, 1, p->clean.data, (int)p->clean.len, SQLITE_TRANSIENT);
		if (p->outcome == PUB_OK && clean(p, f->desc.s, f->desc.len) == 0)
			sqlite3_bind_text(st, 2, p->clean.data, (int)p->clean.len, SQLITE_TRANSIENT);
		if (p->outcome != PUB_OK) {
			db_stmt_done(st);
			return -1;
		}
		sqlite3_bind_text(st, 3, f->uuid.s, (int)f->uuid.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, f->id);
		if ((rc = db_run(st)) == DB_OK)
			return 0;
		if (rc != DB_CONSTRAINT)
			return fail(p, PUB_FAULT);
		why = "a sibling has its name";
	}
	/* Not created: upstream logs it and goes on (§4). */
	log_info("createDeck: subdeck \"%.64s\" dropped: %s", f->name.s, why);
	if (level == 1)
		p->deck[0].stop_children = 1;
	return f->id != 0 ? subtree_delete(p, f->id) : 0;
}

static void
frame_clear(struct frame *f)
{
	free(f->name.s);
	free(f->desc.s);
	free(f->uuid.s);
	memset(f, 0, sizeof(*f));
}

/* ---- the inner reader's hooks: the deck tree of §3.1 (crowdanki.c) --------------- */

static int
deck_begin(void *arg, int level)
{
	struct publish	*p = arg;
	struct frame	*f = &p->deck[level];

	memset(f, 0, sizeof(*f));
	f->serial = p->ndecks++;
	if (level > 0)
		f->skip = f[-1].skip || f[-1].stop_children;
	return 0;
}

static int
deck_scalar(void *arg, unsigned key, struct json_object *v)
{
	struct publish	*p = arg;
	struct frame	*f = &p->deck[p->ca.depth - 1];
	struct text	*t;

	if (key == CROWDANKI_NAME)
		t = &f->name;
	else if (key == CROWDANKI_DESC)
		t = &f->desc;
	else
		t = &f->uuid;
	return text_dup(p, t, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* A deck object ended; the root's scalars wait for the last step. */
static int
deck_end(void *arg, int level)
{
	struct publish	*p = arg;
	struct frame	*f = &p->deck[level];

	if (level == 0)
		return deck_row(p, 0);
	if (!f->skip && subdeck_close(p, level) == -1)
		return -1;
	frame_clear(f);
	return 0;
}

static int
deck_invalid(void *arg)
{
	return fail(arg, PUB_BAD_DECK);
}

static const struct crowdanki_hooks deck_hooks = {
	deck_begin, deck_scalar, note_value, model_value, deck_end, deck_invalid
};

/* ---- the outer reader: {"deck": "<the tree as a string>"} ------------------------- */

static int
outer_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct publish	*p = arg;

	if (jsonstream_depth(js) == 0)
		return t == JSONSTREAM_OBJECT ? JSONSTREAM_ENTER : JSONSTREAM_STOP;
	if (!jsonstream_key_is(js, -1, "deck"))
		return JSONSTREAM_SKIP;
	/* serde: a string, and once. */
	if (t != JSONSTREAM_STRING || p->ndeck++ > 0)
		return JSONSTREAM_STOP;
	return JSONSTREAM_STREAM;
}

/* Feeds the deck; its faults wait: upstream parses the outer object first. */
static int
outer_string(void *arg, struct jsonstream *js, const char *data, size_t len)
{
	struct publish	*p = arg;

	if (p->outcome == PUB_OK && jsonstream_feed(p->inner, data, len) != 0) {
		log_debug("createDeck: deck JSON: %s", jsonstream_errmsg(p->inner));
		fail(p, PUB_BAD_DECK);
	}
	return 0;
}

static int
outer_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct publish	*p = arg;

	if (t == JSONSTREAM_STRING && p->outcome == PUB_OK && jsonstream_finish(p->inner) != 0)
		fail(p, PUB_BAD_DECK);
	return 0;
}

static const struct jsonstream_cb outer_cb = { outer_begin, NULL, outer_string, outer_end };

/* ---- the last step ---------------------------------------------------------------- */

/* Every note_model_uuid of the tree names one of its notetypes. */
static int
notetypes_complete(struct publish *p)
{
	size_t	i;

	for (i = 0; i < p->nnt; i++)
		if (p->nt[i].id == 0) {
			log_debug("createDeck: no notetype %.64s in the tree", p->nt[i].uuid);
			return fail(p, PUB_BAD_DECK);
		}
	return 0;
}

/*
 * One bounded step: up to PUB_STEP_REPOINT notes move from a stand-in to
 * their notetype. Returns 1 while there is more, 0 when done, -1 on a fault.
 */
static int
repoint_some(struct publish *p)
{
	static const char sql[] =
	    "UPDATE notes SET notetype = ?1 WHERE id IN"
	    " (SELECT id FROM notes WHERE notetype = ?2 LIMIT " DB_XSTR(PUB_STEP_REPOINT) ")";
	struct ntref	*nt;
	sqlite3_stmt	*st;
	int		 rc;

	for (; p->stepi < p->nnt; p->stepi++) {
		nt = &p->nt[p->stepi];
		if (nt->stand_in == 0)
			continue;
		if (db_begin(apid->db) != DB_OK)
			return fail(p, PUB_FAULT);
		if ((st = db_stmt(apid->db, sql)) == NULL) {
			db_rollback(apid->db);
			return fail(p, PUB_FAULT);
		}
		sqlite3_bind_int64(st, 1, nt->id);
		sqlite3_bind_int64(st, 2, nt->stand_in);
		if ((rc = db_run(st)) != DB_OK || db_changes(apid->db) < PUB_STEP_REPOINT)
			p->stepi++;	/* this stand-in is done (or failed) */
		if (rc != DB_OK) {
			db_rollback(apid->db);
			return fail(p, PUB_FAULT);
		}
		return db_commit(apid->db) == DB_OK ? 1 : fail(p, PUB_FAULT);
	}
	return 0;
}

/* Fields past the notetype's last or at a protected position go (§6.3.1). */
static int
settle_fields(struct publish *p, struct ntref *nt)
{
	static const char shape_sql[] =
	    "SELECT coalesce(max(position), -1), coalesce(max(protected), 0)"
	    " FROM notetype_field WHERE notetype = ?1";
#define NOTES_HERE	"SELECT n.id FROM notes n JOIN decks d ON d.id = n.deck"	\
			" WHERE n.notetype = ?1 AND d.human_hash BETWEEN ?2 AND ?3"
	static const char *const trim_sql[] = {
		"DELETE FROM fields WHERE note IN (" NOTES_HERE ") AND (position > ?4 OR"
		" position IN (SELECT position FROM notetype_field"
		" WHERE notetype = ?1 AND protected = 1))",
		"DELETE FROM notes WHERE id IN (" NOTES_HERE ")"
		" AND NOT EXISTS (SELECT 1 FROM fields WHERE note = notes.id)",
		"UPDATE note_events SET new_value = " REVIEW_NOTE_SNAPSHOT("note_events.note_id")
		" WHERE note_id IN (" NOTES_HERE ")",
	};
#undef NOTES_HERE
	sqlite3_stmt	*st;
	int64_t		 last = -1, prot = 0;
	size_t		 i;
	int		 rc;

	if ((st = db_stmt(apid->db, shape_sql)) == NULL)
		return fail(p, PUB_FAULT);
	sqlite3_bind_int64(st, 1, nt->id);
	if ((rc = db_step(st)) == DB_ROW) {
		last = sqlite3_column_int64(st, 0);
		prot = sqlite3_column_int64(st, 1);
	}
	db_stmt_done(st);
	if (rc != DB_ROW)
		return fail(p, PUB_FAULT);
	if ((int64_t)nt->maxfields - 1 <= last && !prot)
		return 0;	/* the common case: nothing to trim */
	for (i = 0; i < sizeof(trim_sql) / sizeof(trim_sql[0]); i++) {
		if ((st = db_stmt(apid->db, trim_sql[i])) == NULL)
			return fail(p, PUB_FAULT);
		sqlite3_bind_int64(st, 1, nt->id);
		db_bind_text(st, 2, p->tag);
		db_bind_text(st, 3, p->tag_end);
		if (i == 0)
			sqlite3_bind_int64(st, 4, last);
		if (db_run(st) != DB_OK)
			return fail(p, PUB_FAULT);
		if (i == 0 && db_changes(apid->db) == 0)
			break;	/* nothing trimmed: notes and events are right */
	}
	return 0;
}

/* The stand-ins, now unused, go; fields are trimmed to their notetypes. */
static int
settle_notetypes(struct publish *p)
{
	static const char sql[] = "DELETE FROM notetype WHERE id = ?1";
	size_t	i;

	for (i = 0; i < p->nnt; i++) {
		if (p->nt[i].stand_in != 0 && run_id(sql, p->nt[i].stand_in) != DB_OK)
			return fail(p, PUB_FAULT);
		if (p->nt[i].maxfields > 0 && settle_fields(p, &p->nt[i]) == -1)
			return -1;
	}
	return 0;
}

/* A deck's hash from its uuid (§4); a fresh v4 into uuid if it does not parse. */
static void
deck_hash(const char *text, size_t len, char uuid[DECKHASH_UUID_STRLEN + 1],
    char hash[DECKHASH_BUFSZ], int fresh)
{
	uint8_t	u[16];

	uuid[0] = '\0';
	if (fresh || deckhash_uuid_parse(text, len, u) == -1) {
		if (deckhash_uuid_random(u) == -1)
			memset(u, 0, sizeof(u));	/* then the insert collides */
		deckhash_uuid_format(u, uuid);
	}
	deckhash_from_uuid(u, hash, DECKHASH_BUFSZ);
}

/* Subdecks get their hashes; a second collision drops one (§4). */
static int
settle_subdecks(struct publish *p)
{
	static const char next_sql[] =
	    "SELECT id, crowdanki_uuid FROM decks WHERE human_hash > ?1 AND human_hash <= ?2"
	    " LIMIT 1";
	static const char hash_sql[] =
	    "UPDATE decks SET human_hash = ?1, crowdanki_uuid = coalesce(?2, crowdanki_uuid)"
	    " WHERE id = ?3";
	char		 uuid[DECKHASH_UUID_STRLEN + 1], hash[DECKHASH_BUFSZ], text[256];
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc, try;

	for (;;) {
		if ((st = db_stmt(apid->db, next_sql)) == NULL)
			return fail(p, PUB_FAULT);
		db_bind_text(st, 1, p->tag);
		db_bind_text(st, 2, p->tag_end);
		if ((rc = db_step(st)) == DB_ROW) {
			id = sqlite3_column_int64(st, 0);
			snprintf(text, sizeof(text), "%s",
			    (const char *)sqlite3_column_text(st, 1));
		}
		db_stmt_done(st);
		if (rc != DB_ROW)
			return rc == DB_OK ? 0 : fail(p, PUB_FAULT);
		for (try = 0, rc = DB_CONSTRAINT; try < 2 && rc == DB_CONSTRAINT; try++) {
			deck_hash(text, strlen(text), uuid, hash, try);
			if ((st = db_stmt(apid->db, hash_sql)) == NULL)
				return fail(p, PUB_FAULT);
			db_bind_text(st, 1, hash);
			if (uuid[0] != '\0')
				db_bind_text(st, 2, uuid);
			sqlite3_bind_int64(st, 3, id);
			rc = db_run(st);
		}
		if (rc == DB_CONSTRAINT) {
			log_warnx("createDeck: subdeck %lld dropped: its hash is taken", (long long)id);
			rc = subtree_delete(p, id) == -1 ? DB_ERR : DB_OK;
		}
		if (rc != DB_OK)
			return fail(p, PUB_FAULT);
	}
}

static int
root_name_taken(struct publish *p, const struct text *name)
{
	static const char sql[] =
	    "SELECT 1 FROM decks WHERE owner = ?1 AND parent IS NULL AND name = ?2 AND id <> ?3";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, p->user);
	sqlite3_bind_text(st, 2, name->s, (int)name->len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p->root);
	rc = db_step(st);
	db_stmt_done(st);
	return rc < 0 ? -1 : rc == DB_ROW;
}

/*
 * Names the root and gives it its hash, with one retry on a collision
 * (§4); "exists" if the owner has a root of that name.
 */
static int
root_rename(struct publish *p, const struct text *name, const struct text *desc)
{
	static const char sql[] =
	    "UPDATE decks SET name = ?1, full_path = ?1, description = ?2, human_hash = ?3,"
	    " crowdanki_uuid = ?4 WHERE id = ?5";
	struct frame	*f = &p->deck[0];
	char		 uuid[DECKHASH_UUID_STRLEN + 1];
	sqlite3_stmt	*st;
	int		 rc = DB_CONSTRAINT, try, taken = 0;

	for (try = 0; try < 2 && rc == DB_CONSTRAINT && !taken; try++) {
		deck_hash(f->uuid.s, f->uuid.len, uuid, p->hash, try);
		if ((st = db_stmt(apid->db, sql)) == NULL)
			return fail(p, PUB_FAULT);
		sqlite3_bind_text(st, 1, name->s, (int)name->len, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, desc->s, (int)desc->len, SQLITE_STATIC);
		db_bind_text(st, 3, p->hash);
		if (uuid[0] != '\0')
			db_bind_text(st, 4, uuid);
		else
			sqlite3_bind_text(st, 4, f->uuid.s, (int)f->uuid.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, p->root);
		if ((rc = db_run(st)) == DB_CONSTRAINT && (taken = root_name_taken(p, name)) == -1)
			rc = DB_ERR;
	}
	if (rc == DB_CONSTRAINT)
		return fail(p, PUB_EXISTS);
	return rc == DB_OK ? 0 : fail(p, PUB_FAULT);
}

/* The root's row as §6.2 step 2 has it; upstream says "exists" for any failure. */
static int
settle_root(struct publish *p)
{
	struct frame	*f = &p->deck[0];
	struct text	 name = { 0 }, desc = { 0 };
	int		 rc = -1;

	if (clean(p, f->name.s, f->name.len) == 0) {
		if (p->clean.len == 0)
			fail(p, PUB_EXISTS);
		else if (text_dup(p, &name, p->clean.data, p->clean.len) == 0 &&
		    clean(p, f->desc.s, f->desc.len) == 0 &&
		    text_dup(p, &desc, p->clean.data, p->clean.len) == 0)
			rc = root_rename(p, &name, &desc);
	}
	free(name.s);
	free(desc.s);
	return rc;
}

/* full_path = parent's + "::" + name, last_update = now; the bulk operation is done. */
static int
settle_tree(struct publish *p)
{
	static const char tree_sql[] =
	    "WITH RECURSIVE t(id, path) AS (SELECT id, name FROM decks WHERE id = ?1"
	    " UNION ALL SELECT d.id, t.path || '::' || d.name FROM decks d JOIN t ON d.parent = t.id)"
	    " UPDATE decks SET full_path = t.path, last_update = ?2 FROM t WHERE decks.id = t.id";
	static const char op_sql[] =
	    "UPDATE bulk_operations SET deck_hash = ?1, note_insertion_done = 1 WHERE id = ?2";
	sqlite3_stmt	*st;

	if ((st = db_stmt(apid->db, tree_sql)) == NULL)
		return fail(p, PUB_FAULT);
	sqlite3_bind_int64(st, 1, p->root);
	db_bind_time(st, 2, db_now_us());
	if (db_run(st) != DB_OK || (st = db_stmt(apid->db, op_sql)) == NULL)
		return fail(p, PUB_FAULT);
	db_bind_text(st, 1, p->hash);
	db_bind_text(st, 2, p->op);
	return db_run(st) == DB_OK ? 0 : fail(p, PUB_FAULT);
}

/* The last step: the deck becomes reachable, all at once. */
static void
publish_settle(struct publish *p)
{
	if (db_begin(apid->db) != DB_OK) {
		fail(p, PUB_FAULT);
		return;
	}
	if (settle_notetypes(p) == 0 && settle_subdecks(p) == 0 && settle_root(p) == 0 &&
	    settle_tree(p) == 0) {
		if (db_commit(apid->db) == DB_OK) {
			p->settled = 1;
			return;
		}
		fail(p, PUB_FAULT);
	}
	db_rollback(apid->db);
}

/* ---- undoing -------------------------------------------------------------------- */

/*
 * One bounded step of undoing: up to PUB_STEP_UNDO notes go, with their
 * fields, tags and events (the cascades take ~0.3 ms a note on a desktop).
 * Returns 1 while there is more, 0 when none is left, -1 on a fault.
 */
static int
undo_some(struct publish *p)
{
	static const char sql[] =
	    "DELETE FROM notes WHERE id IN (SELECT n.id FROM decks d JOIN notes n ON n.deck = d.id"
	    " WHERE d.human_hash BETWEEN ?1 AND ?2 LIMIT " DB_XSTR(PUB_STEP_UNDO) ")";
	sqlite3_stmt	*st;
	int		 more;

	if (db_begin(apid->db) != DB_OK)
		return -1;
	if ((st = db_stmt(apid->db, sql)) == NULL) {
		db_rollback(apid->db);
		return -1;
	}
	db_bind_text(st, 1, p->tag);
	db_bind_text(st, 2, p->tag_end);
	if (db_run(st) != DB_OK) {
		db_rollback(apid->db);
		return -1;
	}
	more = db_changes(apid->db) == PUB_STEP_UNDO;
	return db_commit(apid->db) == DB_OK ? more : -1;
}

/* The last of it: decks (cascading to the commit), notetypes, bulk operation. */
static int
undo_rest(struct publish *p)
{
	static const char deck_sql[] = "DELETE FROM decks WHERE id = ?1";
	/* Another publish of the owner may have matched a notetype made here. */
	static const char nt_sql[] =
	    "DELETE FROM notetype WHERE id = ?1 AND NOT EXISTS"
	    " (SELECT 1 FROM notes WHERE notetype = ?1)";
	static const char op_sql[] = "DELETE FROM bulk_operations WHERE id = ?1";
	struct ntref	*nt;
	sqlite3_stmt	*st;
	size_t		 i;

	if (db_begin(apid->db) != DB_OK)
		return -1;
	if (run_id(deck_sql, p->root) != DB_OK)
		goto fault;
	for (i = 0; i < p->nnt; i++) {
		nt = &p->nt[i];
		if ((nt->stand_in != 0 && run_id(nt_sql, nt->stand_in) != DB_OK) ||
		    (nt->inserted && run_id(nt_sql, nt->id) != DB_OK))
			goto fault;
	}
	if ((st = db_stmt(apid->db, op_sql)) == NULL)
		goto fault;
	db_bind_text(st, 1, p->op);
	if (db_run(st) == DB_OK && db_commit(apid->db) == DB_OK)
		return 0;
fault:
	db_rollback(apid->db);
	return -1;
}

/* ---- steps between other requests ----------------------------------------------- */

static void	publish_destroy(struct publish *);
static void	publish_answer(struct publish *);
static void	step_schedule(struct publish *, enum step);

static int
undo_needed(struct publish *p)
{
	return p->root != 0 && !p->settled && !p->undone;
}

/* A failed publish's rows go, in steps from the next loop turn on. */
static void
undo_start(struct publish *p)
{
	if (p->step == STEP_NONE && undo_needed(p))
		step_schedule(p, STEP_UNDO);
}

/* After a failure: the answer now if the request waits, the rows in steps. */
static void
publish_failed(struct publish *p)
{
	if (p->call != NULL)
		publish_answer(p);
	undo_start(p);
}

/* One step; returns 1 to be called again. */
static int
step_once(struct publish *p)
{
	int	rc;

	switch (p->step) {
	case STEP_REPOINT:
		if (p->call == NULL)
			fail(p, PUB_FAULT);	/* nobody to give the hash to */
		else if ((rc = repoint_some(p)) == 1)
			return 1;
		else if (rc == 0)
			publish_settle(p);
		p->step = STEP_NONE;
		if (p->call != NULL)
			publish_answer(p);
		if (!undo_needed(p))
			return 0;
		p->step = STEP_UNDO;
		return 1;
	case STEP_UNDO:
		if ((rc = undo_some(p)) == 1)
			return 1;
		if (rc == 0 && undo_rest(p) == 0)
			log_info("createDeck: user %lld: a failed publish undone (%u decks,"
			    " %zu notes)", (long long)p->user, p->ndecks, p->nnotes);
		else
			log_warnx("createDeck: the rows of a failed publish (%s) stay until"
			    " apid restarts", p->tag);
		p->undone = 1;
		p->step = STEP_NONE;
		return 0;
	case STEP_NONE:
		break;
	}
	return 0;
}

static void
step_run(evutil_socket_t fd, short what, void *arg)
{
	struct publish	*p = arg;

	if (step_once(p))
		step_schedule(p, p->step);
	if (p->step == STEP_NONE && p->call == NULL)
		publish_destroy(p);
}

/* Arms the step for the next loop turn; without a timer, runs all steps now. */
static void
step_schedule(struct publish *p, enum step step)
{
	static const struct timeval soon = { 0, 0 };

	p->step = step;
	if (p->ev == NULL)
		p->ev = evtimer_new(apid->d.base, step_run, p);
	if (p->ev != NULL && evtimer_add(p->ev, &soon) == 0)
		return;
	log_warnx("createDeck: no timer event; finishing at once");
	while (step_once(p))
		;
}

/* ---- the route ------------------------------------------------------------------- */

static struct publish *
publish_new(struct apid_call *call)
{
	struct publish		*p;
	uint8_t			 u[16];

	if (instance[0] == '\0') {
		if (deckhash_uuid_random(u) == -1)
			return NULL;
		snprintf(instance, sizeof(instance), "%02x%02x%02x%02x%02x%02x",
		    u[0], u[1], u[2], u[3], u[4], u[5]);
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->call = call;
	p->user = call->user_id;
	snprintf(p->ip, sizeof(p->ip), "%s", call->client_ip);
	call->state = p;
	if (deckhash_uuid_random(u) == -1 || (p->win = malloc(PUB_WINDOW)) == NULL ||
	    (p->outer = jsonstream_new(NULL, &outer_cb, p)) == NULL ||
	    (p->inner = crowdanki_new(&p->ca, &deck_hooks, p)) == NULL)
		return NULL;	/* publish_free() at cleanup */
	deckhash_uuid_format(u, p->op);
	snprintf(p->tag, sizeof(p->tag), "%s%s-%s", PENDING, instance, p->op);
	snprintf(p->tag_end, sizeof(p->tag_end), "%s~", p->tag);
	return p;
}

static void
publish_destroy(struct publish *p)
{
	size_t	i;

	if (p->ev != NULL)
		event_free(p->ev);
	for (i = 0; i < CROWDANKI_MAX_DEPTH; i++)
		frame_clear(&p->deck[i]);
	for (i = 0; i < p->nnt; i++)
		free(p->nt[i].uuid);
	free(p->nt);
	jsonstream_free(p->outer);
	jsonstream_free(p->inner);
	sanitize_buf_free(&p->clean);
	free(p->win);
	free(p);
}

/*
 * A window through the readers, its rows in one transaction. Returns -1
 * when the outer JSON is bad (400 "Invalid data"); a bad deck waits.
 */
static int
publish_window(struct publish *p)
{
	int	live = p->outcome == PUB_OK;

	if (live && db_begin(apid->db) != DB_OK)
		live = 0, fail(p, PUB_FAULT);
	if (jsonstream_feed(p->outer, p->win, p->winlen) != 0) {
		log_debug("createDeck: outer JSON: %s", jsonstream_errmsg(p->outer));
		p->outer_bad = 1;
	}
	p->winlen = 0;
	if (live && (p->outcome != PUB_OK || p->outer_bad))
		db_rollback(apid->db);
	else if (live && db_commit(apid->db) != DB_OK)
		fail(p, PUB_FAULT);
	/* The rows go now; the answer waits for the end of the body. */
	if (p->outcome != PUB_OK || p->outer_bad)
		undo_start(p);
	return p->outer_bad ? -1 : 0;
}

static int
publish_data(struct apid_call *call, const void *data, size_t len)
{
	struct publish	*p = call->state;
	size_t		 n;

	if (p == NULL && (p = publish_new(call)) == NULL) {
		call_text(call, 503, "Out of memory");
		return -1;
	}
	if (p->outer_bad)
		return -1;
	while (len > 0) {
		n = PUB_WINDOW - p->winlen < len ? PUB_WINDOW - p->winlen : len;
		memcpy(p->win + p->winlen, data, n);
		p->winlen += n;
		data = (const char *)data + n;
		len -= n;
		if (p->winlen == PUB_WINDOW && publish_window(p) == -1)
			return -1;	/* call.c answers; publish_free() undoes */
	}
	return 0;
}

static void
publish_answer(struct publish *p)
{
	char	body[DECKHASH_BUFSZ + 128];

	switch (p->outcome) {
	case PUB_OK:
		log_info("createDeck: user %lld published %s: %u decks, %zu notes",
		    (long long)p->user, p->hash, p->ndecks, p->nnotes);
		snprintf(body, sizeof(body),
		    "{ \"status\": 1, \"message\": \"%s\", \"bulk_operation_id\": \"%s\" }",
		    p->hash, p->op);
		call_text(p->call, 200, body);
		break;
	case PUB_BAD_DECK:
		call_text(p->call, 400, MSG_BAD_DECK);
		break;
	case PUB_BAD_DATA:
		call_text(p->call, 400, MSG_BAD_DATA);
		break;
	case PUB_EXISTS:
		call_text(p->call, 200, MSG_EXISTS);
		break;
	case PUB_FAULT:
		call_text(p->call, 200, MSG_ERROR);
		break;
	}
}

/* The whole body is in: check the tree's notetypes, then settle in steps. */
static void
publish_complete(struct apid_call *call)
{
	struct publish	*p = call->state;

	if (p == NULL && (p = publish_new(call)) == NULL) {
		call_text(call, 503, "Out of memory");
		return;
	}
	if ((p->winlen > 0 && publish_window(p) == -1) || jsonstream_finish(p->outer) != 0 ||
	    p->ndeck != 1) {
		call_text(call, 400, MSG_BAD_DATA);
		undo_start(p);
		return;
	}
	if (p->outcome == PUB_OK && notetypes_complete(p) == 0)
		step_schedule(p, STEP_REPOINT);
	else
		publish_failed(p);
}

/* The request is gone, answered or not; steps under way finish without it. */
static void
publish_free(struct apid_call *call)
{
	struct publish	*p = call->state;

	if (p == NULL)
		return;
	call->state = NULL;
	p->call = NULL;
	undo_start(p);
	if (p->step == STEP_NONE)
		publish_destroy(p);	/* else step_run() does, at the end */
}

static const struct apid_route r_create = {
	AUTH_REQ, BODY_GZB64, publish_complete, publish_data, publish_free
};

static const struct http_route routes[] = {
	APID_ROUTE("/createDeck", HTTP_POST, BODY_LIMIT_DECK, &r_create),
};

const struct apid_area publish_area = { routes, sizeof(routes) / sizeof(routes[0]) };
