/*
 * pull.c — downloading decks: /pullChanges, /CheckDeckAlive,
 * /GetDeckTimestamp, /GetProtectedFields (spec/api.md §6.1, §6.4, §6.7,
 * §6.17).
 *
 * A fresh subscriber's /pullChanges of a 30,000-note deck is tens of MB of
 * JSON; apid must stay under 32 MB. So the answer is never built: it is
 * written as the rows are read, through gzip and base64 (common/gzb64.h),
 * into a chunked response, a bounded piece per turn of the event loop:
 *
 *  - a turn ("step") writes at most PULL_STEP_JSON bytes of JSON, and none
 *    while more than PULL_HIGH bytes wait to be sent; the drain callback
 *    (at PULL_LOW) starts the next step, so a slow client costs at most
 *    about PULL_HIGH plus one note, and a fast one cannot starve others;
 *  - the place in the answer is a cursor, not an open statement: the key,
 *    a stack of deck levels being written (depth first, children by id)
 *    and the last note id written at each level. Each step re-seeks with
 *    "id > last" on notes_sync(deck, id, last_update).
 *
 * Reading: each step is one short read transaction, ended before the step
 * returns, so no snapshot is ever held while we wait for the client. A long
 * download then never pins the WAL (checkpoints go on) and never sees
 * another handler's transaction half done, at the price of not being one
 * snapshot: a note changed during the download may come in its old or new
 * version. The add-on has the same window anyway (it stores "now" as its
 * next timestamp after installing), as upstream's per-query snapshots do.
 * Reads go through a read-only connection of their own (see pull_db), so
 * that a writer holding apid's connection in a transaction across turns
 * (a /createDeck inserting batch by batch) is neither seen nor disturbed.
 *
 * A deck whose lookup fails before any of it was written is absent, as
 * upstream's; a failure half-way through a deck (a DB fault) ends the body
 * without its gzip trailer, which the add-on reports as a network error and
 * retries later with the same timestamp, rather than installing half a deck.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/deckhash.h"
#include "apid/shed.h"
#include "common/db.h"
#include "common/gzb64.h"
#include "common/http.h"
#include "common/log.h"
#include "common/mediatoken.h"

#define PULL_MAX_KEYS	50		/* §6.1: more is 400 */
#define PULL_HIGH	(256u << 10)	/* unsent bytes that pause writing */
#define PULL_LOW	(64u << 10)	/* ... and that resume it */
#define PULL_STEP_JSON	(256u << 10)	/* JSON written per turn of the loop */
#define PULL_FLUSH	(16u << 10)	/* JSON gathered before gzip takes it */
#define PULL_BATCH	64		/* notes per statement run */
#define PULL_DEL_BATCH	512		/* deleted GUIDs per statement run */
#define PULL_MAX_DEPTH	64		/* deck levels; deeper ones are left out */
#define PULL_CACHE_TTL_S	900	/* DECK_CACHE_PRESIGNED_TTL_SECS */

static const char text_plain[] = "text/plain; charset=utf-8";

/* ---- JSON text ------------------------------------------------------------------ */

/* A growing buffer; after a failed allocation it only remembers that. */
struct jbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;
};

static void
jb_add(struct jbuf *b, const void *s, size_t n)
{
	if (b->oom || n == 0)
		return;
	if (b->cap - b->len < n) {
		size_t	 cap;
		char	*np;

		for (cap = b->cap ? b->cap : 4096; cap - b->len < n; cap *= 2)
			if (cap > SIZE_MAX / 4) {
				b->oom = 1;
				return;
			}
		if ((np = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void
jb_lit(struct jbuf *b, const char *s)
{
	jb_add(b, s, strlen(s));
}

static void
jb_int(struct jbuf *b, int64_t v)
{
	char	num[24];
	int	n = snprintf(num, sizeof(num), "%lld", (long long)v);

	jb_add(b, num, (size_t)n);
}

/* Elements from..to-1 of an array, each "". */
static void
jb_empty_strings(struct jbuf *b, int64_t from, int64_t to)
{
	for (; from < to; from++)
		jb_lit(b, from > 0 ? ",\"\"" : "\"\"");
}

static void
jb_free(struct jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), or 0. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		need, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		need = 1;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		need = 2;
		if (s[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (s[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		need = 3;
		if (s[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return 0;
	if (n <= need || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i <= need; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return need + 1;
}

/*
 * The inside of a JSON string. Stored text is normally valid UTF-8 (every
 * writer parsed it from JSON), but a bad byte must not make the add-on's
 * json.loads fail on a whole answer: it becomes U+FFFD.
 */
static void
jb_escape(struct jbuf *b, const char *str, size_t n)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*s = (const unsigned char *)str;
	size_t			 i = 0, run = 0, l;
	char			 esc[8];

	while (i < n) {
		if (s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\') {
			i++;
			continue;
		}
		if (s[i] >= 0x80 && (l = utf8_seq(s + i, n - i)) > 0) {
			i += l;
			continue;
		}
		jb_add(b, s + run, i - run);
		switch (s[i]) {
		case '"':
			jb_lit(b, "\\\"");
			break;
		case '\\':
			jb_lit(b, "\\\\");
			break;
		case '\n':
			jb_lit(b, "\\n");
			break;
		case '\r':
			jb_lit(b, "\\r");
			break;
		case '\t':
			jb_lit(b, "\\t");
			break;
		default:
			if (s[i] < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[s[i] >> 4];
				esc[5] = hex[s[i] & 0xf];
				jb_add(b, esc, 6);
			} else
				jb_lit(b, "\\ufffd");
			break;
		}
		run = ++i;
	}
	jb_add(b, s + run, i - run);
}

static void
jb_str(struct jbuf *b, const char *s, size_t n)
{
	jb_add(b, "\"", 1);
	jb_escape(b, s, n);
	jb_add(b, "\"", 1);
}

/* A text column as a JSON string; NULL as "". */
static void
jb_col(struct jbuf *b, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	jb_str(b, s != NULL ? s : "", s != NULL ? (size_t)sqlite3_column_bytes(st, col) : 0);
}

/* A column that SQLite built as JSON text (json_object and friends). */
static void
jb_col_json(struct jbuf *b, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	if (s == NULL)
		jb_lit(b, "null");
	else
		jb_add(b, s, (size_t)sqlite3_column_bytes(st, col));
}

static int
jb_sink(void *arg, const void *data, size_t len)
{
	struct jbuf *b = arg;

	jb_add(b, data, len);
	return b->oom ? -1 : 0;
}

/* ---- small sets of ids ------------------------------------------------------------ */

/* Notetypes of one deck level: a handful, so a plain array. */
struct idset {
	int64_t	*v;
	size_t	 n;
	size_t	 cap;
};

static int
idset_has(const struct idset *s, int64_t id)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		if (s->v[i] == id)
			return 1;
	return 0;
}

/* Returns 0, or -1 out of memory. */
static int
idset_add(struct idset *s, int64_t id)
{
	if (idset_has(s, id))
		return 0;
	if (s->n == s->cap) {
		size_t	 cap = s->cap ? s->cap * 2 : 8;
		int64_t	*nv;

		if ((nv = reallocarray(s->v, cap, sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = id;
	return 0;
}

static void
idset_free(struct idset *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* ---- reading ---------------------------------------------------------------------- */

/*
 * The connection pulls read through: a read-only one of our own, opened at
 * first use (one of DB_MAX_CONNECTIONS), or apid's if that fails.
 */
static struct db *
pull_db(void)
{
	static struct db	*rdb;
	static int		 tried;

	if (rdb == NULL && !tried) {
		char	path[CONFIG_PATH_MAX + 32];

		tried = 1;
		config_data_path(&apid->d.cfg, DB_FILE, path, sizeof(path));
		if ((rdb = db_open(path, DB_READONLY)) == NULL)
			log_warnx("pull: no connection of its own, reading through apid's");
	}
	return rdb != NULL ? rdb : apid->db;
}

/* The subtree of a deck hash (cycle-proof: UNION). */
#define SQL_SUBTREE							\
	"WITH RECURSIVE sub(id) AS ("					\
	"  SELECT id FROM decks WHERE human_hash = ?1"			\
	"  UNION SELECT d.id FROM decks d JOIN sub ON d.parent = sub.id) "

/*
 * §3.3: notetypes used by any note of the subtree that have protected
 * fields, as a JSON array. Returns 0, or -1 after a DB fault.
 */
static int
protected_fields(struct db *db, const char *hash, struct jbuf *b)
{
	static const char sql[] = SQL_SUBTREE
	    "SELECT json_object('id', nt.id, 'fields', json(("
	    "    SELECT json_group_array(json_object('id', f.id, 'name', f.name,"
	    "      'protected', json('true')))"
	    "    FROM (SELECT id, name FROM notetype_field"
	    "          WHERE notetype = nt.id AND protected = 1 ORDER BY position) f)),"
	    "  'name', nt.name)"
	    " FROM notetype nt"
	    " WHERE nt.id IN (SELECT notetype FROM notetype_field WHERE protected = 1)"
	    "   AND EXISTS (SELECT 1 FROM notes n WHERE n.notetype = nt.id AND n.deck IN sub)"
	    " ORDER BY nt.id";
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	jb_add(b, "[", 1);
	while ((rc = db_step(st)) == DB_ROW) {
		if (n++ > 0)
			jb_add(b, ",", 1);
		jb_col_json(b, st, 0);
	}
	jb_add(b, "]", 1);
	db_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/* ---- /pullChanges ------------------------------------------------------------------- */

struct pull_key {
	const char	*hash;		/* in call->json, which outlives us */
	const char	*timestamp;
	int		 valid;		/* §2.7 */
};

/* One deck level being written. */
struct pull_frame {
	int64_t		 deck;
	int64_t		 owner;
	int64_t		 last_note;	/* notes.id written (or skipped) so far */
	int64_t		 last_child;	/* decks.id of the last child opened */
	int		 in_children;	/* notes and note_models are out */
	int		 nnotes;
	int		 nchildren;
	struct idset	 models;	/* notetype ids of the notes written */
};

enum pull_phase {
	PH_KEY,		/* look the next key up, write its head and root deck */
	PH_TREE,	/* the deck tree, depth first */
	PH_DELETED,	/* deleted_notes of the subtree, deck by deck */
	PH_END		/* every key done */
};

struct pull {
	struct apid_call	*call;
	struct db		*db;
	struct pull_key		 keys[PULL_MAX_KEYS];
	size_t			 nkeys;
	size_t			 ikey;
	enum pull_phase		 phase;
	int			 ndecks;	/* pull results written */

	/* The key being written. */
	const char		*hash;
	int64_t			 since;		/* T, µs */
	struct pull_frame	*stack;
	size_t			 depth;
	size_t			 maxdepth;
	int64_t			*subtree;	/* PH_DELETED: every deck below the key */
	size_t			 nsub;
	size_t			 isub;
	int64_t			 last_deleted;
	int			 ndeleted;

	/* The answer. */
	struct gzb64_enc	*enc;		/* once a deck is found */
	struct jbuf		 out;		/* JSON not yet given to enc */
	uint64_t		 flushed;	/* JSON given to enc */
	uint64_t		 step_start;
};

static uint64_t
pull_written(const struct pull *p)
{
	return p->flushed + p->out.len;
}

/* Whether this turn of the loop has done its share. */
static int
pull_yield(const struct pull *p)
{
	return pull_written(p) - p->step_start >= PULL_STEP_JSON ||
	    (p->enc != NULL && http_output_pending(p->call->req) >= PULL_HIGH);
}

static int
pull_sink(void *arg, const void *data, size_t len)
{
	struct pull *p = arg;

	return http_respond_chunk(p->call->req, data, len) == -1 ? -1 : 0;
}

/* Hands the gathered JSON to gzip once there is at least min of it. */
static int
pull_flush(struct pull *p, size_t min)
{
	if (p->out.oom)
		return -1;
	if (p->enc == NULL || p->out.len == 0 || p->out.len < min)
		return 0;
	if (gzb64_enc_feed(p->enc, p->out.p, p->out.len) != GZB64_OK)
		return -1;
	p->flushed += p->out.len;
	p->out.len = 0;
	return 0;
}

/* The status line goes out with the first deck found. */
static int
pull_start_answer(struct pull *p)
{
	if (p->enc != NULL)
		return 0;
	if ((p->enc = gzb64_enc_new(GZB64_LEVEL, pull_sink, p)) == NULL)
		return -1;
	if (http_respond_start(p->call->req, 200, text_plain) == -1) {
		gzb64_enc_free(p->enc);
		p->enc = NULL;
		return -1;
	}
	return 0;
}

/*
 * Pushes a deck level and writes its opening, from a row of
 * id, owner, crowdanki_uuid, name, description. Returns 0 or -1.
 */
static int
pull_open_deck(struct pull *p, sqlite3_stmt *st)
{
	struct pull_frame	*f;

	if (p->depth == p->maxdepth) {
		size_t			 cap = p->maxdepth ? p->maxdepth * 2 : 8;
		struct pull_frame	*ns;

		if ((ns = reallocarray(p->stack, cap, sizeof(*ns))) == NULL)
			return -1;
		p->stack = ns;
		p->maxdepth = cap;
	}
	f = &p->stack[p->depth++];
	memset(f, 0, sizeof(*f));
	f->deck = sqlite3_column_int64(st, 0);
	f->owner = sqlite3_column_int64(st, 1);
	jb_lit(&p->out, "{\"crowdanki_uuid\":");
	jb_col(&p->out, st, 2);
	jb_lit(&p->out, ",\"name\":");
	jb_col(&p->out, st, 3);
	jb_lit(&p->out, ",\"desc\":");
	jb_col(&p->out, st, 4);
	jb_lit(&p->out, ",\"notes\":[");
	return 0;
}

static void
pull_pop(struct pull *p)
{
	idset_free(&p->stack[--p->depth].models);
}

/* The rest of the key's state goes; the answer stays. */
static void
pull_reset_key(struct pull *p)
{
	while (p->depth > 0)
		pull_pop(p);
	free(p->subtree);
	p->subtree = NULL;
	p->nsub = p->isub = 0;
}

/* §6.1 step 6: newest first, each under its own header, as one JSON string. */
static int
pull_changelog(struct pull *p, int64_t root)
{
	static const char sql[] =
	    "SELECT timestamp, message FROM changelogs WHERE deck = ?1 AND timestamp > ?2"
	    " ORDER BY timestamp DESC, id DESC";
	sqlite3_stmt	*st;
	char		 when[DB_TIME_LEN], head[DB_TIME_LEN + 32];
	int		 rc;

	if ((st = db_stmt(p->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, root);
	db_bind_time(st, 2, p->since);
	jb_add(&p->out, "\"", 1);
	while ((rc = db_step(st)) == DB_ROW) {
		int	n;

		if (db_time_strftime(db_column_time(st, 0), "%m/%d/%Y %H:%M", when,
		    sizeof(when)) == -1)
			when[0] = '\0';
		n = snprintf(head, sizeof(head), "--- Changes from %s: ---\n", when);
		jb_escape(&p->out, head, (size_t)n);
		jb_escape(&p->out, (const char *)sqlite3_column_text(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1));
		jb_lit(&p->out, "\\n\\n");
	}
	jb_add(&p->out, "\"", 1);
	db_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/* §6.1 step 5: every optional tag group of the key's own deck. */
static int
pull_optional_tags(struct pull *p, int64_t root)
{
	static const char sql[] =
	    "SELECT json_group_array(tag_group)"
	    " FROM (SELECT tag_group FROM optional_tags WHERE deck = ?1 ORDER BY id)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(p->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, root);
	if ((rc = db_step(st)) == DB_ROW)
		jb_col_json(&p->out, st, 0);
	db_stmt_done(st);
	return rc == DB_ROW ? 0 : -1;
}

/*
 * Everything of a pull result but its note lists, up to the opening of the
 * root deck: written in one go, so that a fault leaves the deck absent.
 */
static int
pull_head(struct pull *p, sqlite3_stmt *root)
{
	jb_lit(&p->out, p->ndecks > 0 ? "," : "[");
	jb_lit(&p->out, "{\"deck_hash\":");
	jb_str(&p->out, p->hash, strlen(p->hash));
	jb_lit(&p->out, ",\"stats_enabled\":");
	jb_lit(&p->out, sqlite3_column_int(root, 5) ? "true" : "false");
	jb_lit(&p->out, ",\"optional_tags\":");
	if (pull_optional_tags(p, sqlite3_column_int64(root, 0)) == -1)
		return -1;
	jb_lit(&p->out, ",\"changelog\":");
	if (pull_changelog(p, sqlite3_column_int64(root, 0)) == -1)
		return -1;
	jb_lit(&p->out, ",\"protected_fields\":");
	if (protected_fields(p->db, p->hash, &p->out) == -1)
		return -1;
	jb_lit(&p->out, ",\"deck\":");
	return pull_open_deck(p, root);
}

/* "<public_url>/v1/cache/object?token=<tok>" for a key of data_dir/cache, into b. */
static int
pull_cache_url(struct jbuf *b, const char *hash, const char *key, const char *ctype)
{
	const struct config		*cfg = &apid->d.cfg;
	struct mediatoken_claims	 cl;
	char				 tok[MEDIATOKEN_MAX + 1], url[CONFIG_STR_MAX + 64];
	size_t				 n = strlen(cfg->public_url);

	mediatoken_claims_init(&cl, MEDIATOKEN_CACHE);
	if (strlen(hash) >= sizeof(cl.deck_hash) || strlen(key) >= sizeof(cl.s3_key))
		return -1;
	strcpy(cl.deck_hash, hash);
	strcpy(cl.s3_key, key);
	strcpy(cl.content_type, ctype);
	cl.has_content_type = 1;
	cl.exp = (int64_t)time(NULL) + PULL_CACHE_TTL_S;
	if (mediatoken_mint(&cl, cfg->cache_token_secret, strlen(cfg->cache_token_secret),
	    tok, sizeof(tok)) == -1)
		return -1;
	/* §10 does not trim MEDIA_BASE_URL; a doubled '/' would not be served, so we do. */
	while (n > 0 && cfg->public_url[n - 1] == '/')
		n--;
	snprintf(url, sizeof(url), "%.*s/v1/cache/object?token=", (int)n, cfg->public_url);
	jb_str(b, url, strlen(url));
	b->len--;	/* the token goes inside the string: reopen it */
	jb_add(b, tok, strlen(tok));
	jb_add(b, "\"", 1);
	return 0;
}

/*
 * §10: the cache-bootstrap entry for a new subscription, when gcd's latest
 * snapshot of the deck was cut at its current last_update. 1 written, 0 no
 * current snapshot (or it cannot be pointed at: a live pull then), -1 fault.
 */
static int
pull_bootstrap(struct pull *p, const char *hash)
{
	static const char sql[] =
	    "SELECT c.version_ts, c.manifest_key, c.archive_key FROM deck_cache c"
	    " JOIN decks d ON d.id = c.deck_id WHERE d.human_hash = ?1"
	    " AND c.source_last_update >= d.last_update AND c.archive_key IS NOT NULL"
	    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1";
	sqlite3_stmt	*st;
	size_t		 mark;
	int		 rc, ok;

	if ((st = db_stmt(p->db, sql)) == NULL)
		return 0;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) != DB_ROW) {
		db_stmt_done(st);
		return 0;
	}
	if (pull_start_answer(p) == -1) {
		db_stmt_done(st);
		return -1;
	}
	mark = p->out.len;
	jb_lit(&p->out, p->ndecks > 0 ? "," : "[");
	jb_lit(&p->out, "{\"deck_hash\":");
	jb_str(&p->out, hash, strlen(hash));
	jb_lit(&p->out, ",\"mode\":\"cache-bootstrap\",\"manifest\":{\"manifest_presigned_url\":");
	ok = pull_cache_url(&p->out, hash, (const char *)sqlite3_column_text(st, 1),
	    "application/json") == 0;
	jb_lit(&p->out, ",\"archive_presigned_url\":");
	ok = ok && pull_cache_url(&p->out, hash, (const char *)sqlite3_column_text(st, 2),
	    "application/zip") == 0;
	jb_lit(&p->out, ",\"manifest_last_modified\":");
	jb_col(&p->out, st, 0);
	jb_lit(&p->out, "}}");
	db_stmt_done(st);
	if (!ok || p->out.oom) {
		log_warnx("pull: %s: no cache-bootstrap entry, a live pull instead", hash);
		p->out.len = mark;
		p->out.oom = 0;
		return 0;
	}
	p->ndecks++;
	return 1;
}

/*
 * §6.1 step 2.1: the next key's root, if it changed since its timestamp.
 * Unknown, unchanged, malformed and failing keys are simply absent.
 */
static int
pull_key(struct pull *p)
{
	static const char sql[] =
	    "SELECT id, owner, crowdanki_uuid, name, description, stats_enabled"
	    " FROM decks WHERE human_hash = ?1 AND last_update > ?2";
	struct pull_key	*k;
	sqlite3_stmt	*st;

	if (p->ikey == p->nkeys) {
		p->phase = PH_END;
		return 0;
	}
	k = &p->keys[p->ikey++];
	if (!k->valid)
		return 0;
	/* §6.1 step 1: a new subscription gets the deck's snapshot if it is current. */
	if (strcmp(k->timestamp, DB_MAGIC_TIMESTAMP) == 0) {
		switch (pull_bootstrap(p, k->hash)) {
		case -1:
			return -1;
		case 1:
			return 0;
		default:
			break;	/* none current: a live pull from that time */
		}
	}
	if (db_time_parse(k->timestamp, &p->since) == -1)
		return 0;
	p->hash = k->hash;
	if ((st = db_stmt(p->db, sql)) == NULL)
		return 0;
	sqlite3_bind_text(st, 1, p->hash, -1, SQLITE_STATIC);
	db_bind_time(st, 2, p->since);
	if (db_step(st) == DB_ROW) {
		size_t	mark = p->out.len;

		if (pull_start_answer(p) == -1) {
			db_stmt_done(st);
			return -1;
		}
		if (pull_head(p, st) == 0)
			p->phase = PH_TREE;
		else {
			log_warnx("pull: %s: left out after a fault", p->hash);
			p->out.len = mark;
			pull_reset_key(p);
		}
	}
	db_stmt_done(st);
	return 0;
}

/*
 * §6.1 step 3, fields: an array as long as the notetype's field list, each
 * the live non-empty content at that position, or, for positions the note
 * inherits, the base note's content. Returns how many are non-empty, or -1.
 */
static int
pull_fields(struct pull *p, sqlite3_stmt *note)
{
	static const char sql_own[] =
	    "SELECT position, content FROM fields"
	    " WHERE note = ?1 AND reviewed = 1 AND content <> ''"
	    "   AND position >= 0 AND position < ?2 ORDER BY position";
	/* ?3 base note, ?4 its subscribed positions (NULL: all of them). */
	static const char sql_merged[] =
	    "SELECT position, content FROM fields"
	    " WHERE note = ?1 AND reviewed = 1 AND content <> ''"
	    "   AND position >= 0 AND position < ?2"
	    "   AND ?4 IS NOT NULL AND position NOT IN (SELECT value FROM json_each(?4))"
	    " UNION ALL "
	    "SELECT position, content FROM fields"
	    " WHERE note = ?3 AND reviewed = 1 AND position >= 0 AND position < ?2"
	    "   AND (?4 IS NULL OR position IN (SELECT value FROM json_each(?4)))"
	    " ORDER BY 1";
	int		 inherits = sqlite3_column_type(note, 6) != SQLITE_NULL;
	int64_t		 len = sqlite3_column_int64(note, 4), i = 0;
	sqlite3_stmt	*st;
	int		 rc, full = 0;

	if ((st = db_stmt(p->db, inherits ? sql_merged : sql_own)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sqlite3_column_int64(note, 0));
	sqlite3_bind_int64(st, 2, len);
	if (inherits) {
		sqlite3_bind_int64(st, 3, sqlite3_column_int64(note, 6));
		sqlite3_bind_value(st, 4, sqlite3_column_value(note, 7));
	}
	jb_add(&p->out, "[", 1);
	while ((rc = db_step(st)) == DB_ROW) {
		int64_t	pos = sqlite3_column_int64(st, 0);

		if (pos < i)
			continue;
		jb_empty_strings(&p->out, i, pos);
		if (pos > 0)
			jb_add(&p->out, ",", 1);
		jb_col(&p->out, st, 1);
		full += sqlite3_column_bytes(st, 1) > 0;
		i = pos + 1;
	}
	jb_empty_strings(&p->out, i, len);
	jb_add(&p->out, "]", 1);
	db_stmt_done(st);
	return rc < 0 ? -1 : full;
}

/* §6.1 step 3, tags: the live ones, and (base − removed) ∪ own when inheriting. */
static int
pull_tags(struct pull *p, sqlite3_stmt *note)
{
	static const char sql_own[] =
	    "SELECT content FROM tags WHERE note = ?1 AND reviewed = 1";
	static const char sql_merged[] =
	    "SELECT content FROM tags WHERE note = ?1 AND reviewed = 1"
	    " UNION "
	    "SELECT content FROM tags WHERE note = ?2 AND reviewed = 1"
	    "   AND content NOT IN (SELECT value FROM json_each(?3))";
	int		 inherits = sqlite3_column_type(note, 6) != SQLITE_NULL;
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if ((st = db_stmt(p->db, inherits ? sql_merged : sql_own)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sqlite3_column_int64(note, 0));
	if (inherits) {
		sqlite3_bind_int64(st, 2, sqlite3_column_int64(note, 6));
		sqlite3_bind_value(st, 3, sqlite3_column_value(note, 8));
	}
	jb_add(&p->out, "[", 1);
	while ((rc = db_step(st)) == DB_ROW) {
		if (n++ > 0)
			jb_add(&p->out, ",", 1);
		jb_col(&p->out, st, 0);
	}
	jb_add(&p->out, "]", 1);
	db_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/*
 * One note of a batch row: id, anki_id, guid, notetype guid, field count,
 * notetype id, base note, subscribed fields, removed base tags, and whether
 * it has a live non-empty field of its own. Skipped notes leave no trace.
 */
static int
pull_note(struct pull *p, struct pull_frame *f, sqlite3_stmt *note)
{
	size_t	mark = p->out.len;
	int	full;

	if (!sqlite3_column_int(note, 9))
		return 0;
	jb_lit(&p->out, f->nnotes > 0 ? ",{\"id\":" : "{\"id\":");
	jb_int(&p->out, sqlite3_column_int64(note, 1));
	jb_lit(&p->out, ",\"guid\":");
	jb_col(&p->out, note, 2);
	jb_lit(&p->out, ",\"note_model_uuid\":");
	jb_col(&p->out, note, 3);
	jb_lit(&p->out, ",\"fields\":");
	if ((full = pull_fields(p, note)) <= 0) {
		p->out.len = mark;
		return full;
	}
	jb_lit(&p->out, ",\"tags\":");
	if (pull_tags(p, note) == -1)
		return -1;
	jb_add(&p->out, "}", 1);
	f->nnotes++;
	return idset_add(&f->models, sqlite3_column_int64(note, 5));
}

/*
 * The next batch of a level's notes, by id. Returns 1 when the level may
 * have more, 0 when its notes are all out, -1 on a fault.
 */
static int
pull_notes(struct pull *p, struct pull_frame *f)
{
	static const char sql[] =
	    "SELECT n.id, n.anki_id, n.guid, nt.guid,"
	    "  (SELECT count(*) FROM notetype_field WHERE notetype = n.notetype),"
	    "  n.notetype, ni.base_note_id, ni.subscribed_fields,"
	    "  coalesce(ni.removed_base_tags, '[]'),"
	    "  EXISTS (SELECT 1 FROM fields"
	    "          WHERE note = n.id AND reviewed = 1 AND content <> '')"
	    " FROM notes n INDEXED BY notes_sync"
	    " JOIN notetype nt ON nt.id = n.notetype"
	    " LEFT JOIN note_inheritance ni ON ni.subscriber_note_id = n.id"
	    " WHERE n.deck = ?1 AND n.id > ?2 AND n.last_update > ?3"
	    "   AND n.reviewed = 1 AND n.deleted = 0"
	    " ORDER BY n.id LIMIT " DB_XSTR(PULL_BATCH);
	sqlite3_stmt	*st;
	int		 rc, n = 0, more = 0;

	if ((st = db_stmt(p->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, f->deck);
	sqlite3_bind_int64(st, 2, f->last_note);
	db_bind_time(st, 3, p->since);
	while ((rc = db_step(st)) == DB_ROW) {
		n++;
		f->last_note = sqlite3_column_int64(st, 0);
		if (pull_note(p, f, st) == -1 || pull_flush(p, PULL_FLUSH) == -1) {
			rc = DB_ERR;
			break;
		}
		if (pull_yield(p)) {
			more = 1;
			break;
		}
	}
	db_stmt_done(st);
	if (rc < 0)
		return -1;
	return more || n == PULL_BATCH;
}

/*
 * §6.1 step 4: a level's notetypes, looked up by the guids its notes use;
 * the deck owner's copy of a guid if there is one, else every copy.
 */
static int
pull_models(struct pull *p, struct pull_frame *f)
{
	static const char sql[] =
	    "SELECT nt.id, json_object("
	    "  'crowdanki_uuid', nt.guid, 'css', nt.css,"
	    "  'flds', json((SELECT json_group_array(json_object("
	    "      'description', description, 'font', font, 'id', anki_id, 'name', name,"
	    "      'ord', coalesce(ord, position),"
	    "      'rtl', json(CASE WHEN rtl THEN 'true' ELSE 'false' END), 'size', size,"
	    "      'sticky', json(CASE WHEN sticky THEN 'true' ELSE 'false' END), 'tag', tag))"
	    "    FROM (SELECT * FROM notetype_field WHERE notetype = nt.id ORDER BY position))),"
	    "  'latexPost', nt.latex_post, 'latexPre', nt.latex_pre,"
	    "  'latexsvg', json(CASE WHEN nt.latex_svg THEN 'true' ELSE 'false' END),"
	    "  'name', nt.name, 'originalStockKind', nt.original_stock_kind,"
	    /* Objects, whichever form a writer stored (§3.1). */
	    "  'req', json((SELECT json_group_array(CASE json_type(r.value)"
	    "      WHEN 'array' THEN json_object('card_ord', json_extract(r.value, '$[0]'),"
	    "        'kind', json_extract(r.value, '$[1]'),"
	    "        'field_ords', json(coalesce(json_extract(r.value, '$[2]'), '[]')))"
	    "      ELSE json(r.value) END)"
	    "    FROM json_each(coalesce(nt.req, '[]')) r)),"
	    "  'sortf', nt.sortf,"
	    "  'tmpls', json((SELECT json_group_array(json_object("
	    "      'afmt', afmt, 'bafmt', bafmt, 'bfont', bfont, 'bqfmt', bqfmt, 'bsize', bsize,"
	    "      'id', anki_id, 'name', name, 'ord', ord, 'qfmt', qfmt))"
	    "    FROM (SELECT * FROM notetype_template WHERE notetype = nt.id"
	    "          ORDER BY position))),"
	    "  'type', nt.type)"
	    " FROM notetype nt"
	    " WHERE nt.guid = (SELECT guid FROM notetype WHERE id = ?1)"
	    "   AND (nt.owner = ?2 OR NOT EXISTS"
	    "        (SELECT 1 FROM notetype o WHERE o.guid = nt.guid AND o.owner = ?2))"
	    " ORDER BY nt.id";
	struct idset	 done = { NULL, 0, 0 };
	size_t		 i;
	int		 rc = DB_OK;

	for (i = 0; i < f->models.n && rc >= 0; i++) {
		sqlite3_stmt *st;

		if ((st = db_stmt(p->db, sql)) == NULL) {
			rc = DB_ERR;
			break;
		}
		sqlite3_bind_int64(st, 1, f->models.v[i]);
		sqlite3_bind_int64(st, 2, f->owner);
		while ((rc = db_step(st)) == DB_ROW) {
			if (idset_has(&done, sqlite3_column_int64(st, 0)))
				continue;
			if (done.n > 0)
				jb_add(&p->out, ",", 1);
			jb_col_json(&p->out, st, 1);
			if (idset_add(&done, sqlite3_column_int64(st, 0)) == -1) {
				rc = DB_ERR;
				break;
			}
		}
		db_stmt_done(st);
	}
	idset_free(&done);
	return rc < 0 ? -1 : 0;
}

/* Every deck id of the key's subtree, for deleted_notes. */
static int
pull_load_subtree(struct pull *p)
{
	static const char sql[] = SQL_SUBTREE "SELECT id FROM sub";
	sqlite3_stmt	*st;

	if ((st = db_stmt(p->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, p->hash, -1, SQLITE_STATIC);
	return db_ids(st, &p->subtree, &p->nsub) < 0 ? -1 : 0;
}

/* One step down the tree: a batch of notes, a child, or the end of a level. */
static int
pull_tree(struct pull *p)
{
	static const char sql_child[] =
	    "SELECT id, owner, crowdanki_uuid, name, description FROM decks"
	    " WHERE parent = ?1 AND id > ?2 AND last_update > ?3 ORDER BY id LIMIT 1";
	struct pull_frame	*f = &p->stack[p->depth - 1];
	sqlite3_stmt		*st;
	int			 rc;

	if (!f->in_children) {
		if ((rc = pull_notes(p, f)) != 0)
			return rc < 0 ? -1 : 0;
		jb_lit(&p->out, "],\"note_models\":[");
		if (pull_models(p, f) == -1)
			return -1;
		jb_lit(&p->out, "],\"children\":[");
		f->in_children = 1;
		return 0;
	}
	if ((st = db_stmt(p->db, sql_child)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, f->deck);
	sqlite3_bind_int64(st, 2, f->last_child);
	db_bind_time(st, 3, p->since);
	rc = db_step(st);
	if (rc == DB_ROW && p->depth < PULL_MAX_DEPTH) {
		f->last_child = sqlite3_column_int64(st, 0);
		if (f->nchildren++ > 0)
			jb_add(&p->out, ",", 1);
		rc = pull_open_deck(p, st);
	} else if (rc >= 0) {
		jb_lit(&p->out, "]}");
		pull_pop(p);
		rc = 0;
		if (p->depth == 0) {
			jb_lit(&p->out, ",\"deleted_notes\":[");
			p->phase = PH_DELETED;
			p->ndeleted = 0;
			p->last_deleted = 0;
			rc = pull_load_subtree(p);
		}
	}
	db_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/* §6.1 step 5: GUIDs of notes deleted since T anywhere below the key. */
static int
pull_deleted(struct pull *p)
{
	static const char sql[] =
	    "SELECT id, guid FROM notes"
	    " WHERE deck = ?1 AND deleted = 1 AND last_update > ?2 AND id > ?3"
	    " ORDER BY id LIMIT " DB_XSTR(PULL_DEL_BATCH);
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if (p->isub == p->nsub) {
		jb_lit(&p->out, "]}");
		p->ndecks++;
		pull_reset_key(p);
		p->phase = PH_KEY;
		return 0;
	}
	if ((st = db_stmt(p->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, p->subtree[p->isub]);
	db_bind_time(st, 2, p->since);
	sqlite3_bind_int64(st, 3, p->last_deleted);
	while ((rc = db_step(st)) == DB_ROW) {
		n++;
		p->last_deleted = sqlite3_column_int64(st, 0);
		if (p->ndeleted++ > 0)
			jb_add(&p->out, ",", 1);
		jb_col(&p->out, st, 1);
	}
	db_stmt_done(st);
	if (n < PULL_DEL_BATCH) {
		p->isub++;
		p->last_deleted = 0;
	}
	return rc < 0 ? -1 : 0;
}

static int
pull_advance(struct pull *p)
{
	switch (p->phase) {
	case PH_KEY:
		return pull_key(p);
	case PH_TREE:
		return pull_tree(p);
	case PH_DELETED:
		return pull_deleted(p);
	default:
		return 0;
	}
}

/* base64(gzip("[]")), the answer when nothing changed: made once. */
static const struct jbuf *
pull_empty_answer(void)
{
	static struct jbuf	 empty;
	struct gzb64_enc	*e;

	if (empty.len == 0 && (e = gzb64_enc_new(GZB64_LEVEL, jb_sink, &empty)) != NULL) {
		if (gzb64_enc_feed(e, "[]", 2) != GZB64_OK || gzb64_enc_finish(e) != GZB64_OK ||
		    empty.oom)
			jb_free(&empty);
		gzb64_enc_free(e);
	}
	return &empty;
}

static void pull_drain(struct http_request *);

/* The answer is complete, or cannot be. */
static void
pull_end(struct pull *p, int ok)
{
	http_set_drain_cb(p->call->req, NULL, 0);
	if (p->enc == NULL) {
		const struct jbuf *empty = pull_empty_answer();

		if (ok && empty->len > 0)
			call_reply(p->call, 200, text_plain, empty->p, empty->len);
		else
			call_internal(p->call);
		return;
	}
	if (ok) {
		jb_lit(&p->out, p->ndecks > 0 ? "]" : "[]");
		ok = pull_flush(p, 0) == 0 && gzb64_enc_finish(p->enc) == GZB64_OK;
	}
	if (!ok)
		log_warnx("pull: answer to %s cut short", p->call->client_ip);
	/* Cut short, the body lacks gzip's trailer: the add-on sees an error. */
	http_respond_end(p->call->req);
}

/* One turn's share of the answer, in one short read transaction. */
static void
pull_run(struct pull *p)
{
	int	tx, rc = 0;

	p->step_start = pull_written(p);
	tx = !db_in_transaction(p->db) && db_begin_read(p->db) == DB_OK;
	while (rc == 0 && p->phase != PH_END && !pull_yield(p))
		if ((rc = pull_advance(p)) == 0)
			rc = pull_flush(p, PULL_FLUSH);
	if (tx)
		db_commit(p->db);
	if (rc == 0 && p->phase != PH_END)
		rc = pull_flush(p, 0);
	if (rc != 0 || p->out.oom)
		pull_end(p, 0);
	else if (p->phase == PH_END)
		pull_end(p, 1);
	else	/* Called at once if the output has already drained. */
		http_set_drain_cb(p->call->req, pull_drain, PULL_LOW);
}

static void
pull_drain(struct http_request *req)
{
	struct apid_call *call = http_req_data(req);

	pull_run(call->state);
}

static void
pull_cleanup(struct apid_call *call)
{
	struct pull *p = call->state;

	if (p == NULL)
		return;
	pull_reset_key(p);
	free(p->stack);
	gzb64_enc_free(p->enc);
	jb_free(&p->out);
	free(p);
	call->state = NULL;
}

/*
 * §6.1 validation, in upstream's order: the body's shape (422), then the
 * number of keys, then a lone malformed key.
 */
static int
pull_parse(struct apid_call *call, struct pull *p)
{
	json_object	*ts;

	if (!json_object_is_type(call->json, json_type_object)) {
		call_bad_shape(call, "invalid type: expected a map");
		return -1;
	}
	json_object_object_foreach(call->json, key, val) {
		if (!json_object_is_type(val, json_type_object)) {
			call_bad_shape(call, "%s: invalid type: expected struct PullChangesReq", key);
			return -1;
		}
		if (!json_object_object_get_ex(val, "timestamp", &ts) || ts == NULL) {
			call_bad_shape(call, "%s: missing field `timestamp`", key);
			return -1;
		}
		if (!json_object_is_type(ts, json_type_string)) {
			call_bad_shape(call, "%s.timestamp: invalid type: expected a string", key);
			return -1;
		}
		if (p->nkeys < PULL_MAX_KEYS) {
			p->keys[p->nkeys].hash = key;
			p->keys[p->nkeys].timestamp = json_object_get_string(ts);
			p->keys[p->nkeys].valid = deckhash_valid(key, strlen(key));
		}
		p->nkeys++;
	}
	if (p->nkeys > PULL_MAX_KEYS) {
		call_text(call, 400, "Too many deck entries");
		return -1;
	}
	if (p->nkeys == 1 && !p->keys[0].valid) {
		call_text(call, 400, "Invalid deck key");
		return -1;
	}
	return 0;
}

/*
 * A fresh subscription (the magic timestamp, or anything older) gets the
 * whole deck: heavy work for shed.c.
 */
static int
pull_is_full(const struct pull *p)
{
	int64_t	magic, t;
	size_t	i;

	if (db_time_parse(DB_MAGIC_TIMESTAMP, &magic) == -1)
		return 0;
	for (i = 0; i < p->nkeys && i < PULL_MAX_KEYS; i++)
		if (p->keys[i].valid && db_time_parse(p->keys[i].timestamp, &t) == 0 &&
		    t <= magic)
			return 1;
	return 0;
}

static void
pull_changes(struct apid_call *call)
{
	struct pull	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		call_internal(call);
		return;
	}
	call->state = p;
	p->call = call;
	if (pull_parse(call, p) == -1)
		return;
	if (pull_is_full(p) && shed_admit_now(call) == -1)
		return;
	p->db = pull_db();
	p->phase = PH_KEY;
	pull_run(p);
}

/* ---- /CheckDeckAlive --------------------------------------------------------------- */

/* 1 if a deck has that hash, 0 if none, -1 on a fault. */
static int
deck_exists(struct db *db, const char *hash)
{
	static const char sql[] = "SELECT 1 FROM decks WHERE human_hash = ?1";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	rc = db_step(st);
	db_stmt_done(st);
	return rc < 0 ? -1 : rc == DB_ROW;
}

/* The body's deck_hashes, or NULL after answering (422, then 400). */
static json_object *
alive_request(struct apid_call *call)
{
	json_object	*list;
	size_t		 i, n;

	if (!json_object_is_type(call->json, json_type_object)) {
		call_bad_shape(call, "invalid type: expected a map");
		return NULL;
	}
	if (!json_object_object_get_ex(call->json, "deck_hashes", &list) || list == NULL) {
		call_bad_shape(call, "missing field `deck_hashes`");
		return NULL;
	}
	if (!json_object_is_type(list, json_type_array)) {
		call_bad_shape(call, "deck_hashes: invalid type: expected a sequence");
		return NULL;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(list, i), json_type_string)) {
			call_bad_shape(call, "deck_hashes[%zu]: invalid type: expected a string", i);
			return NULL;
		}
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(list, i);

		if (!deckhash_valid(json_object_get_string(v),
		    (size_t)json_object_get_string_len(v))) {
			call_text(call, 400, "Invalid deck hash format");
			return NULL;
		}
	}
	return list;
}

/* §6.4: the hashes (in order, repeats kept) that name no deck. */
static void
check_deck_alive(struct apid_call *call)
{
	json_object	*list;
	struct jbuf	 out = { NULL, 0, 0, 0 };
	size_t		 i, n;
	int		 rc = 1, missing = 0;

	if ((list = alive_request(call)) == NULL)
		return;
	n = json_object_array_length(list);
	jb_add(&out, "[", 1);
	for (i = 0; i < n && rc >= 0; i++) {
		const char *h = json_object_get_string(json_object_array_get_idx(list, i));

		if ((rc = deck_exists(pull_db(), h)) == 0) {
			if (missing++ > 0)
				jb_add(&out, ",", 1);
			jb_str(&out, h, strlen(h));
		}
	}
	jb_add(&out, "]", 1);
	if (rc < 0 || out.oom)
		call_text(call, 500, "Error");
	else
		call_reply(call, 200, text_plain, out.p, out.len);
	jb_free(&out);
}

/* ---- the GET routes ----------------------------------------------------------------- */

/*
 * The {deck_hash} of a path, or NULL after answering: 404 where upstream's
 * router would not match (an empty or multi-segment tail), 400 for §2.7.
 */
static const char *
path_deck_hash(struct apid_call *call)
{
	const char *h = http_req_path_tail(call->req);

	if (*h == '\0' || strchr(h, '/') != NULL) {
		call_reply(call, 404, NULL, "", 0);
		return NULL;
	}
	if (!deckhash_valid(h, strlen(h))) {
		call_text(call, 400, "Invalid deck hash format");
		return NULL;
	}
	return h;
}

/* §6.7: "0" for an unknown deck, "0.0" on a fault. */
static void
get_deck_timestamp(struct apid_call *call)
{
	static const char sql[] = "SELECT last_update FROM decks WHERE human_hash = ?1";
	const char	*h;
	char		 text[DB_TIME_LEN] = "0";
	sqlite3_stmt	*st;
	int		 rc = DB_ERR;

	if ((h = path_deck_hash(call)) == NULL)
		return;
	if ((st = db_stmt(pull_db(), sql)) != NULL) {
		sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
		if ((rc = db_step(st)) == DB_ROW &&
		    db_time_format_epoch(db_column_time(st, 0), text, sizeof(text)) == -1)
			rc = DB_ERR;
		db_stmt_done(st);
	}
	if (rc < 0)
		call_text(call, 500, "0.0");
	else
		call_text(call, 200, text);
}

/* §6.17: "[]" for an unknown deck and on a fault. */
static void
get_protected_fields(struct apid_call *call)
{
	struct jbuf	 out = { NULL, 0, 0, 0 };
	const char	*h;

	if ((h = path_deck_hash(call)) == NULL)
		return;
	if (protected_fields(pull_db(), h, &out) == -1 || out.oom)
		call_text(call, 200, "[]");
	else
		call_reply(call, 200, text_plain, out.p, out.len);
	jb_free(&out);
}

static const struct apid_route r_pull = {
	AUTH_NONE, BODY_JSON, pull_changes, NULL, pull_cleanup
};
static const struct apid_route r_alive = { AUTH_NONE, BODY_JSON, check_deck_alive, NULL, NULL };
static const struct apid_route r_ts = { AUTH_NONE, BODY_NONE, get_deck_timestamp, NULL, NULL };
static const struct apid_route r_pf = { AUTH_NONE, BODY_NONE, get_protected_fields, NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/pullChanges", HTTP_POST, BODY_LIMIT_JSON, &r_pull),
	APID_ROUTE("/CheckDeckAlive", HTTP_POST, BODY_LIMIT_JSON, &r_alive),
	APID_ROUTE("/GetDeckTimestamp/*", HTTP_GET, 0, &r_ts),
	APID_ROUTE("/GetProtectedFields/*", HTTP_GET, 0, &r_pf),
};

const struct apid_area pull_area = { routes, sizeof(routes) / sizeof(routes[0]) };
