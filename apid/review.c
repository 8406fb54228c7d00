/*
 * review.c — the review model (review.h; spec/schema.md §4.3 C–F).
 *
 * Decisions are taken note by note inside one transaction: first the
 * pending tags of a note, then its fields, its deletion and move requests,
 * then a new note becomes reviewed. Every change is a note_events row (the
 * history /GetCommitSnapshot shows); each row takes the next notes.version.
 * The decks of approved notes are collected and bumped with their
 * ancestors once, at the end.
 *
 * Not done here (upstream's website does them): turning the subscribers of
 * a deleted base note into standalone notes, and the removed_base_tags
 * bookkeeping of inherited tags (§5.1); subscribers of an approved base note
 * are bumped, so that they pull the new content.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apid/review.h"
#include "apid/sanitize.h"
#include "common/db.h"
#include "common/log.h"

/* A commit's notes with pending rows (?1 = commit). */
#define PENDING_NOTES							\
	"SELECT note FROM fields WHERE commit_id = ?1 AND reviewed = 0"	\
	" UNION SELECT note FROM tags WHERE commit_id = ?1 AND reviewed = 0"	\
	" UNION SELECT note FROM card_deletion_suggestions WHERE commit_id = ?1"	\
	" UNION SELECT note FROM note_move_suggestions WHERE commit_id = ?1"

/* Whether commit c (an SQL expression) is open. */
#define IS_OPEN(c)							\
	"(EXISTS (SELECT 1 FROM fields WHERE commit_id = " c " AND reviewed = 0)"	\
	" OR EXISTS (SELECT 1 FROM tags WHERE commit_id = " c " AND reviewed = 0)"	\
	" OR EXISTS (SELECT 1 FROM card_deletion_suggestions WHERE commit_id = " c ")"	\
	" OR EXISTS (SELECT 1 FROM note_move_suggestions WHERE commit_id = " c "))"

static void
say(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int
fault(char *err, size_t errlen)
{
	say(err, errlen, "database error");
	return REVIEW_FAULT;
}

/* A malloc'd copy of a text column; NULL for SQL NULL (or no memory). */
static char *
col_dup(sqlite3_stmt *st, int col)
{
	const unsigned char	*s = sqlite3_column_text(st, col);

	return s == NULL ? NULL : strdup((const char *)s);
}

/* sql with ?1 = a, ?2 = b (when it has them); DB_OK or a DB_* error. */
static int
run2(struct db *db, const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	return db_run(st);
}

/* The first column of the first row as an integer: 1 with *out, 0 none, -1 fault. */
static int
query2(struct db *db, const char *sql, int64_t a, int64_t b, int64_t *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	if ((rc = db_step(st)) == DB_ROW && out != NULL)
		*out = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc < 0 ? -1 : rc == DB_ROW;
}

const char *
review_status_str(int status)
{
	switch (status) {
	case REVIEW_OK:
		return "ok";
	case REVIEW_NOT_FOUND:
		return "not found";
	case REVIEW_FORBIDDEN:
		return "forbidden";
	case REVIEW_NOTHING:
		return "nothing to do";
	case REVIEW_INVALID:
		return "invalid";
	default:
		return "fault";
	}
}

/* ---- reading ------------------------------------------------------------------------ */

/* A read snapshot unless the caller holds a transaction; 1 if one was opened. */
static int
read_begin(struct db *db)
{
	return !db_in_transaction(db) && db_begin_read(db) == DB_OK;
}

static void
commit_clear(struct review_commit *c)
{
	size_t	i;

	free(c->deck_path);
	free(c->author);
	free(c->text);
	for (i = 0; i < c->nguids; i++)
		free(c->guids[i]);
	free(c->guids);
	memset(c, 0, sizeof(*c));
}

/* The columns of COMMIT_COLS into c; -1 if out of memory. */
#define COMMIT_COLS							\
	"c.commit_id, coalesce(c.deck, 0), coalesce(d.full_path, ''),"	\
	" coalesce(c.user_id, 0), coalesce(u.username, ''), c.rationale, c.info, c.timestamp"
#define COMMIT_JOINS							\
	" FROM commits c LEFT JOIN decks d ON d.id = c.deck"		\
	" LEFT JOIN users u ON u.id = c.user_id"

static int
commit_read(sqlite3_stmt *st, struct review_commit *c)
{
	memset(c, 0, sizeof(*c));
	c->commit_id = sqlite3_column_int64(st, 0);
	c->deck = sqlite3_column_int64(st, 1);
	c->deck_path = col_dup(st, 2);
	c->user_id = sqlite3_column_int64(st, 3);
	c->author = col_dup(st, 4);
	c->rationale = sqlite3_column_int(st, 5);
	c->text = col_dup(st, 6);
	c->time_us = db_column_time(st, 7);
	if (c->deck_path == NULL || c->author == NULL || c->text == NULL) {
		commit_clear(c);
		return -1;
	}
	return 0;
}

/* The guids a commit touches, up to REVIEW_GUIDS_MAX. */
static int
commit_guids(struct db *db, struct review_commit *c)
{
	static const char sql[] =
	    "SELECT guid FROM notes WHERE id IN (" PENDING_NOTES ") ORDER BY id";
	sqlite3_stmt	*st;
	char		*g;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->commit_id);
	while ((rc = db_step(st)) == DB_ROW) {
		if (c->nguids == REVIEW_GUIDS_MAX) {
			c->more_guids++;
			continue;
		}
		if (c->guids == NULL &&
		    (c->guids = calloc(REVIEW_GUIDS_MAX, sizeof(*c->guids))) == NULL)
			break;
		if ((g = col_dup(st, 0)) == NULL)
			break;
		c->guids[c->nguids++] = g;
	}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

int
review_list(struct db *db, const char *deck_hash, struct review_commit **out, size_t *n,
    size_t *more, char *err, size_t errlen)
{
	static const char deck_sql[] = "SELECT id FROM decks WHERE human_hash = ?1";
	static const char sql[] =
	    "WITH RECURSIVE t(id) AS (SELECT ?1 UNION ALL"
	    " SELECT d.id FROM decks d JOIN t ON d.parent = t.id)"
	    " SELECT " COMMIT_COLS COMMIT_JOINS
	    " WHERE c.deck IN (SELECT id FROM t) AND " IS_OPEN("c.commit_id")
	    " ORDER BY c.timestamp, c.commit_id";
	struct review_commit	*list = NULL;
	sqlite3_stmt		*st;
	int64_t			 deck = 0;
	size_t			 i, cnt = 0, extra = 0;
	int			 rc, tx, status = REVIEW_OK;

	*out = NULL;
	*n = 0;
	if (more != NULL)
		*more = 0;
	tx = read_begin(db);
	if ((st = db_stmt(db, deck_sql)) == NULL) {
		status = fault(err, errlen);
		goto done;
	}
	sqlite3_bind_text(st, 1, deck_hash, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW)
		deck = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (rc < 0) {
		status = fault(err, errlen);
		goto done;
	}
	if (deck == 0) {
		say(err, errlen, "no deck with hash '%s'", deck_hash);
		status = REVIEW_NOT_FOUND;
		goto done;
	}
	if ((st = db_stmt(db, sql)) == NULL) {
		status = fault(err, errlen);
		goto done;
	}
	sqlite3_bind_int64(st, 1, deck);
	while ((rc = db_step(st)) == DB_ROW) {
		if (cnt == REVIEW_LIST_MAX) {
			extra++;
			continue;
		}
		if (list == NULL && (list = calloc(REVIEW_LIST_MAX, sizeof(*list))) == NULL)
			break;
		if (commit_read(st, &list[cnt]) == -1)
			break;
		cnt++;
	}
	db_stmt_done(st);
	if (rc != DB_OK) {
		status = fault(err, errlen);
		goto done;
	}
	for (i = 0; i < cnt; i++)
		if (commit_guids(db, &list[i]) == -1) {
			status = fault(err, errlen);
			goto done;
		}
done:
	if (tx)
		db_rollback(db);
	if (status != REVIEW_OK) {
		review_list_free(list, cnt);
		return status;
	}
	*out = list;
	*n = cnt;
	if (more != NULL)
		*more = extra;
	return REVIEW_OK;
}

void
review_list_free(struct review_commit *list, size_t n)
{
	size_t	i;

	if (list == NULL)
		return;
	for (i = 0; i < n; i++)
		commit_clear(&list[i]);
	free(list);
}

/* The commit's header row; REVIEW_OK, REVIEW_NOT_FOUND or REVIEW_FAULT. */
static int
commit_get(struct db *db, int64_t commit, struct review_commit *c, char *err, size_t errlen)
{
	static const char sql[] = "SELECT " COMMIT_COLS COMMIT_JOINS " WHERE c.commit_id = ?1";
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	memset(c, 0, sizeof(*c));
	if ((st = db_stmt(db, sql)) == NULL)
		return fault(err, errlen);
	sqlite3_bind_int64(st, 1, commit);
	if ((rc = db_step(st)) == DB_ROW)
		bad = commit_read(st, c) == -1;
	db_stmt_done(st);
	if (rc < 0 || bad)
		return fault(err, errlen);
	if (rc != DB_ROW) {
		say(err, errlen, "no commit %lld", (long long)commit);
		return REVIEW_NOT_FOUND;
	}
	return REVIEW_OK;
}

static int
note_fields(struct db *db, int64_t commit, struct review_note *rn)
{
	static const char sql[] =
	    "SELECT f.position, f.content,"
	    " (SELECT r.content FROM fields r WHERE r.note = f.note AND r.position = f.position"
	    "  AND r.reviewed = 1),"
	    " (SELECT nf.name FROM notetype_field nf WHERE nf.notetype = n.notetype"
	    "  AND nf.position = f.position)"
	    " FROM fields f JOIN notes n ON n.id = f.note"
	    " WHERE f.commit_id = ?1 AND f.note = ?2 AND f.reviewed = 0 ORDER BY f.position, f.id";
	struct review_field	*f;
	sqlite3_stmt		*st;
	size_t			 cap = 0;
	int			 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, commit);
	sqlite3_bind_int64(st, 2, rn->note_id);
	while ((rc = db_step(st)) == DB_ROW) {
		if (rn->nfields == cap) {
			cap = cap ? cap * 2 : 8;
			if ((f = reallocarray(rn->fields, cap, sizeof(*f))) == NULL)
				break;
			rn->fields = f;
		}
		f = &rn->fields[rn->nfields++];
		f->position = sqlite3_column_int(st, 0);
		f->suggested = col_dup(st, 1);
		f->current = col_dup(st, 2);
		f->name = col_dup(st, 3);
		if (f->suggested == NULL)
			break;
	}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

static int
note_tags(struct db *db, int64_t commit, struct review_note *rn)
{
	static const char sql[] =
	    "SELECT content, action FROM tags WHERE commit_id = ?1 AND note = ?2 AND reviewed = 0"
	    " ORDER BY id";
	struct review_tag	*t;
	sqlite3_stmt		*st;
	size_t			 cap = 0;
	int			 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, commit);
	sqlite3_bind_int64(st, 2, rn->note_id);
	while ((rc = db_step(st)) == DB_ROW) {
		if (rn->ntags == cap) {
			cap = cap ? cap * 2 : 8;
			if ((t = reallocarray(rn->tags, cap, sizeof(*t))) == NULL)
				break;
			rn->tags = t;
		}
		t = &rn->tags[rn->ntags++];
		t->add = sqlite3_column_int(st, 1);
		if ((t->content = col_dup(st, 0)) == NULL)
			break;
	}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

static int
note_requests(struct db *db, int64_t commit, struct review_note *rn)
{
	static const char del_sql[] =
	    "SELECT 1 FROM card_deletion_suggestions WHERE commit_id = ?1 AND note = ?2";
	static const char move_sql[] =
	    "SELECT o.full_path, t.full_path FROM note_move_suggestions m"
	    " JOIN decks o ON o.id = m.original_deck JOIN decks t ON t.id = m.target_deck"
	    " WHERE m.commit_id = ?1 AND m.note = ?2 ORDER BY m.id DESC LIMIT 1";
	sqlite3_stmt	*st;
	int		 rc;

	if ((rc = query2(db, del_sql, commit, rn->note_id, NULL)) == -1)
		return -1;
	rn->delete_req = rc;
	if ((st = db_stmt(db, move_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, commit);
	sqlite3_bind_int64(st, 2, rn->note_id);
	if ((rc = db_step(st)) == DB_ROW) {
		rn->move_from = col_dup(st, 0);
		rn->move_to = col_dup(st, 1);
	}
	db_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

int
review_diff(struct db *db, int64_t commit, struct review_diff *d, char *err, size_t errlen)
{
	static const char sql[] =
	    "SELECT id, guid, reviewed = 0 FROM notes WHERE id IN (" PENDING_NOTES ") ORDER BY id";
	struct review_note	*rn;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 rc, tx, status;

	memset(d, 0, sizeof(*d));
	tx = read_begin(db);
	if ((status = commit_get(db, commit, &d->commit, err, errlen)) != REVIEW_OK)
		goto done;
	status = REVIEW_FAULT;
	if ((st = db_stmt(db, sql)) == NULL)
		goto done;
	sqlite3_bind_int64(st, 1, commit);
	while ((rc = db_step(st)) == DB_ROW) {
		if (d->nnotes == REVIEW_DIFF_NOTES) {
			d->more_notes++;
			continue;
		}
		if (d->notes == NULL &&
		    (d->notes = calloc(REVIEW_DIFF_NOTES, sizeof(*d->notes))) == NULL)
			break;
		rn = &d->notes[d->nnotes++];
		rn->note_id = sqlite3_column_int64(st, 0);
		rn->is_new = sqlite3_column_int(st, 2);
		if ((rn->guid = col_dup(st, 1)) == NULL)
			break;
	}
	db_stmt_done(st);
	if (rc != DB_OK)
		goto done;
	for (i = 0; i < d->nnotes; i++) {
		rn = &d->notes[i];
		if (note_fields(db, commit, rn) == -1 || note_tags(db, commit, rn) == -1 ||
		    note_requests(db, commit, rn) == -1)
			goto done;
	}
	status = REVIEW_OK;
done:
	if (tx)
		db_rollback(db);
	if (status == REVIEW_FAULT)
		fault(err, errlen);
	return status;
}

void
review_diff_free(struct review_diff *d)
{
	struct review_note	*rn;
	size_t			 i, j;

	commit_clear(&d->commit);
	for (i = 0; i < d->nnotes; i++) {
		rn = &d->notes[i];
		free(rn->guid);
		free(rn->move_from);
		free(rn->move_to);
		for (j = 0; j < rn->nfields; j++) {
			free(rn->fields[j].name);
			free(rn->fields[j].current);
			free(rn->fields[j].suggested);
		}
		free(rn->fields);
		for (j = 0; j < rn->ntags; j++)
			free(rn->tags[j].content);
		free(rn->tags);
	}
	free(d->notes);
	memset(d, 0, sizeof(*d));
}

int
review_tag_allowed(struct db *db, int64_t root, const char *tag, size_t len)
{
	static const char sql[] =
	    "SELECT 1 FROM optional_tags WHERE deck = ?1 AND tag_group = ?2";
	static const char prefix[] = "AnkiCollab_Optional::";
	const size_t	 plen = sizeof(prefix) - 1;
	const char	*group = tag + plen, *end;
	sqlite3_stmt	*st;
	int		 rc;

	if (len < plen || memcmp(tag, prefix, plen) != 0)
		return 1;
	if ((end = memchr(group, ':', len - plen)) == NULL)
		end = tag + len;
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, root);
	sqlite3_bind_text(st, 2, group, (int)(end - group), SQLITE_STATIC);
	rc = db_step(st);
	db_stmt_done(st);
	return rc < 0 ? -1 : rc == DB_ROW;
}

/* ---- permission --------------------------------------------------------------------- */

int
review_may(struct db *db, const struct review_actor *who, int64_t commit, char *err,
    size_t errlen)
{
	static const char deck_sql[] = "SELECT deck FROM commits WHERE commit_id = ?1";
	/* UNION, not UNION ALL: a damaged parent loop still ends. */
	static const char sql[] =
	    "WITH RECURSIVE up(id) AS (SELECT ?1"
	    "  UNION SELECT d.parent FROM decks d JOIN up ON d.id = up.id"
	    "    WHERE d.parent IS NOT NULL)"
	    " SELECT EXISTS (SELECT 1 FROM decks d JOIN up ON d.id = up.id WHERE d.owner = ?2)"
	    "     OR EXISTS (SELECT 1 FROM maintainers m JOIN up ON m.deck = up.id"
	    "                WHERE m.user_id = ?2)";
	int64_t	deck = 0, yes = 0;
	int	rc;

	if ((rc = query2(db, deck_sql, commit, 0, &deck)) == -1)
		return fault(err, errlen);
	if (rc == 0 || deck == 0) {
		say(err, errlen, "no commit %lld", (long long)commit);
		return REVIEW_NOT_FOUND;
	}
	if (who->admin)
		return REVIEW_OK;
	if (who->user > 0 && query2(db, sql, deck, who->user, &yes) == -1)
		return fault(err, errlen);
	if (!yes) {
		say(err, errlen, "not an owner or maintainer of the deck of commit %lld",
		    (long long)commit);
		return REVIEW_FORBIDDEN;
	}
	return REVIEW_OK;
}

/* ---- deciding ----------------------------------------------------------------------- */

struct decide {
	struct db	*db;
	int64_t		 commit;
	int64_t		 actor;		/* users.id, 0: none */
	int64_t		 now;
	int64_t		*decks;		/* to bump with their ancestors */
	size_t		 ndecks, capdecks;
	char		*err;
	size_t		 errlen;
};

/* A {"position", "content"}-like JSON text from key/value pairs; NULL if no memory. */
static char *
jobj(const char *k1, const char *v1, const char *k2, int64_t v2, int with2)
{
	struct json_object	*o;
	char			*s;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	if (with2)
		json_object_object_add(o, k2, json_object_new_int64(v2));
	if (k1 != NULL)
		json_object_object_add(o, k1, json_object_new_string(v1 != NULL ? v1 : ""));
	s = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return s;
}

/* A note_events row at the note's next version. */
static int
event(struct decide *x, int64_t note, const char *type, int approved, const char *old_value,
    const char *new_value)
{
	static const char ver_sql[] =
	    "UPDATE notes SET version = version + 1 WHERE id = ?1 RETURNING version";
	static const char sql[] =
	    "INSERT INTO note_events (note_id, version, event_type, actor_user_id, commit_id,"
	    " approved, old_value, new_value, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	sqlite3_stmt	*st;
	int64_t		 version;

	if (query2(x->db, ver_sql, note, 0, &version) != 1 || (st = db_stmt(x->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, note);
	sqlite3_bind_int64(st, 2, version);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	if (x->actor > 0)
		sqlite3_bind_int64(st, 4, x->actor);
	sqlite3_bind_int64(st, 5, x->commit);
	sqlite3_bind_int(st, 6, approved);
	if (old_value != NULL)
		sqlite3_bind_text(st, 7, old_value, -1, SQLITE_STATIC);
	if (new_value != NULL)
		sqlite3_bind_text(st, 8, new_value, -1, SQLITE_STATIC);
	db_bind_time(st, 9, x->now);
	return db_run(st) == DB_OK ? 0 : -1;
}

/* An event whose values are {"position": pos, key: content}; content NULL: no value. */
static int
field_event(struct decide *x, int64_t note, const char *type, int approved, int pos,
    const char *okey, const char *old, const char *nkey, const char *new)
{
	char	*o = NULL, *n = NULL;
	int	 rc = -1;

	if (old != NULL && (o = jobj(okey, old, "position", pos, 1)) == NULL)
		goto out;
	if (new != NULL && (n = jobj(nkey, new, "position", pos, 1)) == NULL)
		goto out;
	rc = event(x, note, type, approved, o, n);
out:
	free(o);
	free(n);
	return rc;
}

static int
deck_add(struct decide *x, int64_t deck)
{
	int64_t	*p;
	size_t	 i;

	for (i = 0; i < x->ndecks; i++)
		if (x->decks[i] == deck)
			return 0;
	if (x->ndecks == x->capdecks) {
		x->capdecks = x->capdecks ? x->capdecks * 2 : 16;
		if ((p = reallocarray(x->decks, x->capdecks, sizeof(*p))) == NULL)
			return -1;
		x->decks = p;
	}
	x->decks[x->ndecks++] = deck;
	return 0;
}

/* A pending row of the note under the commit. */
struct prow {
	int64_t	 id;
	int	 position;	/* fields; tags: action */
	char	*content;
};

static void
prows_free(struct prow *r, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(r[i].content);
	free(r);
}

/* Reads the pending rows of sql (?1 commit, ?2 note) before changing them. */
static int
prows(struct decide *x, const char *sql, int64_t note, struct prow **out, size_t *n)
{
	struct prow	*r = NULL, *p;
	sqlite3_stmt	*st;
	size_t		 cnt = 0, cap = 0;
	int		 rc;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(x->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, x->commit);
	sqlite3_bind_int64(st, 2, note);
	while ((rc = db_step(st)) == DB_ROW) {
		if (cnt == cap) {
			cap = cap ? cap * 2 : 8;
			if ((p = reallocarray(r, cap, sizeof(*p))) == NULL) {
				rc = DB_ERR;
				break;
			}
			r = p;
		}
		r[cnt].id = sqlite3_column_int64(st, 0);
		r[cnt].position = sqlite3_column_int(st, 1);
		if ((r[cnt].content = col_dup(st, 2)) == NULL) {
			rc = DB_ERR;
			break;
		}
		cnt++;
	}
	db_stmt_done(st);
	if (rc != DB_OK) {
		prows_free(r, cnt);
		return -1;
	}
	*out = r;
	*n = cnt;
	return 0;
}

static const char pending_fields_sql[] =
    "SELECT id, position, content FROM fields WHERE commit_id = ?1 AND note = ?2"
    " AND reviewed = 0 ORDER BY id";
static const char pending_tags_sql[] =
    "SELECT id, action, content FROM tags WHERE commit_id = ?1 AND note = ?2"
    " AND reviewed = 0 ORDER BY id";

/* §4.3 D.1: tag additions become reviewed, removals delete the tag. */
static int
approve_tags(struct decide *x, int64_t note)
{
	static const char dup_sql[] =
	    "SELECT 1 FROM tags WHERE note = ?1 AND reviewed = 1 AND content = ?2";
	static const char set_sql[] = "UPDATE tags SET reviewed = 1 WHERE id = ?1";
	static const char del_sql[] = "DELETE FROM tags WHERE id = ?1";
	static const char rm_sql[] = "DELETE FROM tags WHERE note = ?1 AND content = ?2";
	struct prow	*r;
	sqlite3_stmt	*st;
	size_t		 i, n;
	char		*v;
	int		 rc = 0, dup;

	if (prows(x, pending_tags_sql, note, &r, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if ((st = db_stmt(x->db, r[i].position ? dup_sql : rm_sql)) == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, note);
		sqlite3_bind_text(st, 2, r[i].content, -1, SQLITE_STATIC);
		if (r[i].position) {
			dup = db_step(st);
			db_stmt_done(st);
			if (dup < 0 || run2(x->db, dup == DB_ROW ? del_sql : set_sql, r[i].id,
			    0) != DB_OK)
				rc = -1;
		} else if (db_run(st) != DB_OK)
			rc = -1;
		if (rc == 0) {
			v = jobj("content", r[i].content, NULL, 0, 0);
			rc = v == NULL ? -1 : event(x, note, r[i].position ? "tag_added" :
			    "tag_removed", 1, r[i].position ? NULL : v, r[i].position ? v : NULL);
			free(v);
		}
	}
	prows_free(r, n);
	return rc;
}

/* §4.3 D.2: each suggested field replaces the reviewed one at its position. */
static int
approve_fields(struct decide *x, int64_t note)
{
	static const char cur_sql[] =
	    "SELECT id, content FROM fields WHERE note = ?1 AND position = ?2 AND reviewed = 1";
	static const char del_sql[] = "DELETE FROM fields WHERE id = ?1";
	static const char set_sql[] = "UPDATE fields SET reviewed = 1 WHERE id = ?1";
	struct prow	*r;
	sqlite3_stmt	*st;
	size_t		 i, n;
	int64_t		 cur_id;
	char		*cur;
	int		 rc = 0, got;

	if (prows(x, pending_fields_sql, note, &r, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		cur = NULL;
		cur_id = 0;
		if ((st = db_stmt(x->db, cur_sql)) == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, note);
		sqlite3_bind_int64(st, 2, r[i].position);
		if ((got = db_step(st)) == DB_ROW) {
			cur_id = sqlite3_column_int64(st, 0);
			cur = col_dup(st, 1);
		}
		db_stmt_done(st);
		if (got < 0 || (got == DB_ROW && cur == NULL)) {
			rc = -1;
			break;
		}
		if (r[i].content[0] == '\0' && r[i].position == 0) {
			say(x->err, x->errlen, "the first field of a note may not become empty"
			    " (commit %lld)", (long long)x->commit);
			free(cur);
			rc = -2;
			break;
		}
		if ((cur_id != 0 && run2(x->db, del_sql, cur_id, 0) != DB_OK) ||
		    run2(x->db, r[i].content[0] == '\0' ? del_sql : set_sql, r[i].id, 0) != DB_OK)
			rc = -1;
		else if (r[i].content[0] == '\0')
			rc = cur == NULL ? 0 : field_event(x, note, "field_removed", 1,
			    r[i].position, "content", cur, NULL, NULL);
		else
			rc = field_event(x, note, cur == NULL ? "field_added" : "field_updated", 1,
			    r[i].position, "content", cur, "content", r[i].content);
		free(cur);
	}
	prows_free(r, n);
	return rc;
}

/* §4.3 D.3: the note is soft-deleted and whatever was pending on it goes. */
static int
approve_deletion(struct decide *x, int64_t note)
{
	static const char *const sql[] = {
		"UPDATE notes SET deleted = 1 WHERE id = ?1",
		"DELETE FROM fields WHERE note = ?1 AND reviewed = 0",
		"DELETE FROM tags WHERE note = ?1 AND reviewed = 0",
		"DELETE FROM card_deletion_suggestions WHERE note = ?1",
		"DELETE FROM note_move_suggestions WHERE note = ?1",
	};
	size_t	i;

	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++)
		if (run2(x->db, sql[i], note, 0) != DB_OK)
			return -1;
	return event(x, note, "note_deleted", 1, NULL, "{\"deleted\":true}");
}

/* §4.3 D.4: the note goes to the deck asked for. */
static int
approve_move(struct decide *x, int64_t note, int64_t from)
{
	static const char target_sql[] =
	    "SELECT target_deck FROM note_move_suggestions WHERE commit_id = ?1 AND note = ?2"
	    " ORDER BY id DESC LIMIT 1";
	static const char move_sql[] = "UPDATE notes SET deck = ?2 WHERE id = ?1";
	static const char del_sql[] =
	    "DELETE FROM note_move_suggestions WHERE commit_id = ?1 AND note = ?2";
	char	 o[32], n[32];
	int64_t	 to;
	int	 rc;

	if ((rc = query2(x->db, target_sql, x->commit, note, &to)) != 1)
		return rc;
	/* The target may already hold a note of that guid: a constraint, refused. */
	if ((rc = run2(x->db, move_sql, note, to)) == DB_CONSTRAINT) {
		say(x->err, x->errlen, "the target deck already has that note");
		return -2;
	}
	if (rc != DB_OK || run2(x->db, del_sql, x->commit, note) != DB_OK || deck_add(x, to) == -1)
		return -1;
	snprintf(o, sizeof(o), "{\"deck\":%lld}", (long long)from);
	snprintf(n, sizeof(n), "{\"deck\":%lld}", (long long)to);
	return event(x, note, "note_moved", 1, o, n);
}

/* §4.3 D.5: a suggested note becomes part of the deck. */
static int
approve_card(struct decide *x, int64_t note)
{
	static const char first_sql[] =
	    "SELECT 1 FROM fields WHERE note = ?1 AND position = 0 AND reviewed = 1"
	    " AND content <> ''";
	static const char set_sql[] = "UPDATE notes SET reviewed = 1 WHERE id = ?1";
	static const char snap_sql[] = "SELECT " REVIEW_NOTE_SNAPSHOT("?1");
	sqlite3_stmt	*st;
	char		*snap = NULL;
	int		 rc;

	if ((rc = query2(x->db, first_sql, note, 0, NULL)) != 1) {
		if (rc == 0)
			say(x->err, x->errlen, "a new note needs its first field");
		return rc == 0 ? -2 : -1;
	}
	if (run2(x->db, set_sql, note, 0) != DB_OK || (st = db_stmt(x->db, snap_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, note);
	if (db_step(st) == DB_ROW)
		snap = col_dup(st, 0);
	db_stmt_done(st);
	if (snap == NULL)
		return -1;
	rc = event(x, note, "note_created", 1, NULL, snap);
	free(snap);
	return rc;
}

/* §4.3 D.6: the note, its subscribers and their decks are pulled again. */
static int
bump_note(struct decide *x, int64_t note)
{
	static const char sql[] =
	    "UPDATE notes SET last_update = ?2 WHERE id = ?1 OR id IN (SELECT subscriber_note_id"
	    " FROM note_inheritance WHERE base_note_id = ?1) RETURNING deck";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(x->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, note);
	db_bind_time(st, 2, x->now);
	while ((rc = db_step(st)) == DB_ROW)
		if (deck_add(x, sqlite3_column_int64(st, 0)) == -1) {
			rc = DB_ERR;
			break;
		}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

static int
bump_decks(struct decide *x)
{
	static const char sql[] =
	    "WITH RECURSIVE up(id) AS (SELECT ?1"
	    "  UNION SELECT d.parent FROM decks d JOIN up ON d.id = up.id"
	    "    WHERE d.parent IS NOT NULL)"
	    " UPDATE decks SET last_update = ?2 WHERE id IN (SELECT id FROM up)";
	sqlite3_stmt	*st;
	size_t		 i;

	for (i = 0; i < x->ndecks; i++) {
		if ((st = db_stmt(x->db, sql)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, x->decks[i]);
		db_bind_time(st, 2, x->now);
		if (db_run(st) != DB_OK)
			return -1;
	}
	return 0;
}

static int
approve_note(struct decide *x, int64_t note)
{
	static const char note_sql[] = "SELECT reviewed, deck FROM notes WHERE id = ?1";
	static const char del_sql[] =
	    "SELECT 1 FROM card_deletion_suggestions WHERE commit_id = ?1 AND note = ?2";
	sqlite3_stmt	*st;
	int64_t		 deck = 0;
	int		 rc, reviewed = 1, deleting;

	if ((st = db_stmt(x->db, note_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, note);
	if ((rc = db_step(st)) == DB_ROW) {
		reviewed = sqlite3_column_int(st, 0);
		deck = sqlite3_column_int64(st, 1);
	}
	db_stmt_done(st);
	if (rc != DB_ROW)
		return -1;
	if ((deleting = query2(x->db, del_sql, x->commit, note, NULL)) == -1)
		return -1;
	if (deleting)
		rc = approve_deletion(x, note);
	else if ((rc = approve_tags(x, note)) == 0 && (rc = approve_fields(x, note)) == 0 &&
	    (rc = approve_move(x, note, deck)) == 0 && !reviewed)
		rc = approve_card(x, note);
	if (rc != 0)
		return rc;
	if (deck_add(x, deck) == -1 || bump_note(x, note) == -1)
		return -1;
	return event(x, note, "commit_approved_effect", 1, NULL, NULL);
}

/* §4.3 E: a new note goes; otherwise the pending rows go, logged. */
static int
deny_note(struct decide *x, int64_t note)
{
	static const char new_sql[] = "SELECT reviewed = 0 FROM notes WHERE id = ?1";
	static const char drop_sql[] = "DELETE FROM notes WHERE id = ?1";
	static const char cur_sql[] =
	    "SELECT content FROM fields WHERE note = ?1 AND position = ?2 AND reviewed = 1";
	static const char fdel_sql[] = "DELETE FROM fields WHERE id = ?1";
	static const char tdel_sql[] = "DELETE FROM tags WHERE id = ?1";
	static const char *const req_sql[] = {
		"DELETE FROM card_deletion_suggestions WHERE commit_id = ?1 AND note = ?2",
		"DELETE FROM note_move_suggestions WHERE commit_id = ?1 AND note = ?2",
	};
	struct json_object	*o;
	struct prow		*r;
	sqlite3_stmt		*st;
	size_t			 i, n;
	int64_t			 is_new = 0;
	char			*cur, *v;
	int			 rc = 0;

	if (query2(x->db, new_sql, note, 0, &is_new) != 1)
		return -1;
	if (is_new)
		return run2(x->db, drop_sql, note, 0) == DB_OK ? 0 : -1;

	if (prows(x, pending_fields_sql, note, &r, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		cur = NULL;
		if ((st = db_stmt(x->db, cur_sql)) == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_int64(st, 1, note);
		sqlite3_bind_int64(st, 2, r[i].position);
		if (db_step(st) == DB_ROW)
			cur = col_dup(st, 0);
		db_stmt_done(st);
		if (run2(x->db, fdel_sql, r[i].id, 0) != DB_OK)
			rc = -1;
		else
			rc = field_event(x, note, "field_change_denied", 0, r[i].position,
			    "current_content", cur != NULL ? cur : "", "denied_content",
			    r[i].content);
		free(cur);
	}
	prows_free(r, n);
	if (rc != 0 || prows(x, pending_tags_sql, note, &r, &n) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		if (run2(x->db, tdel_sql, r[i].id, 0) != DB_OK) {
			rc = -1;
			break;
		}
		if ((o = json_object_new_object()) == NULL) {
			rc = -1;
			break;
		}
		json_object_object_add(o, "content", json_object_new_string(r[i].content));
		json_object_object_add(o, "action", json_object_new_boolean(r[i].position));
		v = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
		rc = v == NULL ? -1 : event(x, note, "tag_change_denied", 0, v, NULL);
		free(v);
	}
	prows_free(r, n);
	if (rc != 0)
		return rc;
	for (i = 0; i < sizeof(req_sql) / sizeof(req_sql[0]); i++)
		if (run2(x->db, req_sql[i], x->commit, note) != DB_OK)
			return -1;
	return event(x, note, "commit_denied_effect", 0, NULL, NULL);
}

/* The note ids to decide on; REVIEW_* status. */
static int
decide_notes(struct decide *x, const char *guid, int64_t **out, size_t *n)
{
	static const char all_sql[] = "SELECT id FROM notes WHERE id IN (" PENDING_NOTES ")"
	    " ORDER BY id";
	static const char one_sql[] = "SELECT id FROM notes WHERE id IN (" PENDING_NOTES ")"
	    " AND guid = ?2 ORDER BY id";
	sqlite3_stmt	*st;

	*out = NULL;
	*n = 0;
	if ((st = db_stmt(x->db, guid != NULL ? one_sql : all_sql)) == NULL)
		return fault(x->err, x->errlen);
	sqlite3_bind_int64(st, 1, x->commit);
	if (guid != NULL)
		sqlite3_bind_text(st, 2, guid, -1, SQLITE_STATIC);
	if (db_ids(st, out, n) != DB_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
		return fault(x->err, x->errlen);
	}
	return REVIEW_OK;
}

/* §4.3 D.7, E: the author hears of it, unless anonymous or the reviewer. */
static int
notify(struct decide *x, const char *status, const char *reason)
{
	static const char sql[] =
	    "INSERT INTO notifications (user_id, commit_id, deck_id, status, reason, created_at)"
	    " SELECT user_id, commit_id, deck, ?2, ?3, ?4 FROM commits WHERE commit_id = ?1"
	    " AND user_id IS NOT NULL AND deck IS NOT NULL AND user_id IS NOT ?5";
	struct sanitize_buf	 buf = { 0 };
	sqlite3_stmt		*st;
	size_t			 len;
	int			 rc;

	if ((st = db_stmt(x->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, x->commit);
	sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
	if (reason != NULL && reason[0] != '\0') {
		len = strlen(reason);
		if (sanitize_html(reason, len, &buf) == -1) {
			db_stmt_done(st);
			say(x->err, x->errlen, "the reason could not be cleaned");
			return -2;
		}
		/* Cut at REVIEW_REASON_MAX, not inside a UTF-8 sequence. */
		len = buf.len;
		if (len > REVIEW_REASON_MAX) {
			len = REVIEW_REASON_MAX;
			while (len > 0 && ((unsigned char)buf.data[len] & 0xc0) == 0x80)
				len--;
		}
		if (len > 0)
			sqlite3_bind_text(st, 3, buf.data, (int)len, SQLITE_TRANSIENT);
	}
	db_bind_time(st, 4, x->now);
	if (x->actor > 0)
		sqlite3_bind_int64(st, 5, x->actor);
	rc = db_run(st);
	sanitize_buf_free(&buf);
	return rc == DB_OK ? 0 : -1;
}

/* The decision inside the caller's transaction; REVIEW_* status. */
static int
decide_run(struct decide *x, const char *guid, int approve, const char *reason,
    int with_notice, size_t *count)
{
	static const char open_sql[] = "SELECT " IS_OPEN("?1");
	int64_t		*ids = NULL, open = 0;
	size_t		 i, n = 0;
	int		 status, rc = 0;

	*count = 0;
	if ((status = decide_notes(x, guid, &ids, &n)) != REVIEW_OK)
		return status;
	if (n == 0) {
		if (query2(x->db, open_sql, x->commit, 0, &open) == -1)
			return fault(x->err, x->errlen);
		if (guid != NULL && open) {
			say(x->err, x->errlen, "commit %lld has nothing pending on note %s",
			    (long long)x->commit, guid);
			return REVIEW_NOT_FOUND;
		}
		say(x->err, x->errlen, "commit %lld has nothing pending", (long long)x->commit);
		return REVIEW_NOTHING;
	}
	for (i = 0; i < n && rc == 0; i++)
		rc = approve ? approve_note(x, ids[i]) : deny_note(x, ids[i]);
	free(ids);
	if (rc == 0 && approve)
		rc = bump_decks(x);
	if (rc == 0 && with_notice)
		rc = notify(x, approve ? "approved" : "denied", approve ? NULL : reason);
	if (rc != 0)
		return rc == -2 ? REVIEW_INVALID : fault(x->err, x->errlen);
	*count = n;
	return REVIEW_OK;
}

static void
decide_init(struct decide *x, struct db *db, int64_t commit, int64_t actor, char *err,
    size_t errlen)
{
	memset(x, 0, sizeof(*x));
	x->db = db;
	x->commit = commit;
	x->actor = actor;
	x->now = db_now_us();
	x->err = err;
	x->errlen = errlen;
}

static int
decide(struct db *db, const struct review_actor *who, int64_t commit, const char *guid,
    int approve, const char *reason, char *err, size_t errlen)
{
	struct decide	 x;
	size_t		 n = 0;
	int		 status;

	decide_init(&x, db, commit, who->user, err, errlen);
	if (db_begin(db) != DB_OK)
		return fault(err, errlen);
	if ((status = review_may(db, who, commit, err, errlen)) == REVIEW_OK)
		status = decide_run(&x, guid, approve, reason, 1, &n);
	free(x.decks);
	if (status != REVIEW_OK) {
		db_rollback(db);
		return status;
	}
	if (db_commit(db) != DB_OK)
		return fault(err, errlen);
	log_info("review: commit %lld%s%s %s by %s %lld (%zu notes)", (long long)commit,
	    guid != NULL ? " note " : "", guid != NULL ? guid : "",
	    approve ? "approved" : "denied", who->user == 0 ? "admin" : "user",
	    (long long)who->user, n);
	say(err, errlen, "%s %zu note%s", approve ? "approved" : "denied", n, n == 1 ? "" : "s");
	return REVIEW_OK;
}

int
review_apply(struct db *db, int64_t actor, int64_t commit, char *err, size_t errlen)
{
	struct decide	x;
	size_t		n;
	int		status;

	decide_init(&x, db, commit, actor, err, errlen);
	status = decide_run(&x, NULL, 1, NULL, 0, &n);
	free(x.decks);
	return status;
}

int
review_approve(struct db *db, const struct review_actor *who, int64_t commit, const char *guid,
    char *err, size_t errlen)
{
	return decide(db, who, commit, guid, 1, NULL, err, errlen);
}

int
review_deny(struct db *db, const struct review_actor *who, int64_t commit, const char *guid,
    const char *reason, char *err, size_t errlen)
{
	return decide(db, who, commit, guid, 0, reason, err, errlen);
}
