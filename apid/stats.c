/*
 * stats.c — /UploadDeckStats (spec/api.md §6.11, spec/schema.md §5.6): one
 * user's review figures per note GUID, upserted into note_stats.
 *
 * The body inflates to up to 250 MiB of JSON, so it is never held: a
 * jsonstream walks it as it arrives and every finished entry goes into a
 * batch that is written in one short transaction once STATS_BATCH entries
 * are in. Upstream answers before doing the work; here the work is done as
 * the body arrives, and the answer follows. As upstream, decks.stats_enabled
 * is not checked, an unknown deck stores nothing, and write failures are
 * only logged (the add-on ignores the answer). A body that turns out
 * malformed after some batches were written still answers 400: its earlier
 * entries were well-formed figures and stay.
 *
 * The add-on sends deck_hash before review_history. Entries that come
 * first are held (a bounded number) until the deck is known; beyond that
 * they are dropped.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/deckhash.h"
#include "apid/decks.h"
#include "common/db.h"
#include "common/http.h"
#include "common/jsonstream.h"
#include "common/log.h"

#define STATS_BATCH		512		/* entries per write transaction */
#define STATS_HOLD		8192		/* entries held before deck_hash, */
#define STATS_HOLD_BYTES	(1u << 20)	/* and their GUID bytes */
#define STATS_MAX_CAPTURE	4096		/* deck_hash and the three numbers */

/* One GUID's figures. */
struct entry {
	char	*guid;
	size_t	 len;
	int32_t	 v[3];		/* in the order of stat_keys */
};

static const char *const stat_keys[3] = { "retention", "lapses", "reps" };

enum target { T_PENDING, T_WRITE, T_DISCARD };

struct upload {
	struct jsonstream *js;
	int64_t		 user;
	int		 have_hash, have_history;
	int		 hash_valid;		/* §2.7 */
	int		 user_ok;
	enum target	 target;
	char		 user_hash[PASSWORD_USER_HASH_LEN + 1];
	int64_t		*tree;			/* the deck's subtree, sorted */
	size_t		 ntree;
	struct entry	*batch;
	size_t		 n, cap, held_bytes;
	struct entry	 cur;			/* the entry being read */
	unsigned	 seen;			/* bits of stat_keys in cur */
	uint64_t	 stored, dropped;
};

/* ---- writing ---------------------------------------------------------------------- */

static int
id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The ids of deck and its descendants, sorted, for note lookups by GUID. */
static int
load_tree(struct upload *u, int64_t deck)
{
	static const char sql[] =
	    "WITH RECURSIVE tree(id) AS ("
	    "  SELECT ?1 UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"
	    " SELECT id FROM tree ORDER BY id";
	sqlite3_stmt	*st;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, deck);
	return db_ids(st, &u->tree, &u->ntree) == DB_OK ? 0 : -1;
}

/* Upserts one entry for every live note of that GUID in the subtree. */
static int
write_entry(struct upload *u, const struct entry *s)
{
	static const char sql_notes[] = "SELECT id, deck FROM notes WHERE guid = ?1 AND deleted = 0";
	static const char sql_upsert[] =
	    "INSERT INTO note_stats (note_id, user_hash, retention, lapses, reps)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_hash, note_id) DO UPDATE SET"
	    " retention = excluded.retention, lapses = excluded.lapses, reps = excluded.reps";
	sqlite3_stmt	*q, *w;
	int64_t		 deck;
	int		 rc, wrc = DB_OK, i;

	if ((q = db_stmt(apid->db, sql_notes)) == NULL)
		return -1;
	sqlite3_bind_text(q, 1, s->guid, (int)s->len, SQLITE_STATIC);
	while (wrc == DB_OK && (rc = db_step(q)) == DB_ROW) {
		deck = sqlite3_column_int64(q, 1);
		if (bsearch(&deck, u->tree, u->ntree, sizeof(*u->tree), id_cmp) == NULL)
			continue;
		if ((w = db_stmt(apid->db, sql_upsert)) == NULL) {
			wrc = DB_ERR;
			break;
		}
		sqlite3_bind_int64(w, 1, sqlite3_column_int64(q, 0));
		sqlite3_bind_text(w, 2, u->user_hash, -1, SQLITE_STATIC);
		for (i = 0; i < 3; i++)
			sqlite3_bind_int(w, 3 + i, s->v[i]);
		if ((wrc = db_step(w)) == DB_OK)
			u->stored++;
		db_stmt_done(w);
	}
	db_stmt_done(q);
	return rc < 0 || wrc != DB_OK ? -1 : 0;
}

static void
batch_clear(struct upload *u)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		free(u->batch[i].guid);
	u->n = 0;
	u->held_bytes = 0;
}

/* entries [from, to) in one transaction: 0, or -1 after a logged fault. */
static int
write_slice(struct upload *u, size_t from, size_t to)
{
	if (db_begin(apid->db) != DB_OK)
		return -1;
	for (; from < to; from++)
		if (write_entry(u, &u->batch[from]) == -1)
			break;
	if (from == to && db_commit(apid->db) == DB_OK)
		return 0;
	db_rollback(apid->db);
	return -1;
}

/*
 * Writes the held entries, STATS_BATCH per transaction so that other
 * writers wait little; a failed slice is lost (logged), as upstream's.
 */
static void
batch_flush(struct upload *u)
{
	size_t	i, to;

	for (i = 0; u->target == T_WRITE && i < u->n; i = to) {
		to = u->n - i > STATS_BATCH ? i + STATS_BATCH : u->n;
		if (write_slice(u, i, to) == -1) {
			log_warnx("stats: %zu entries lost to a database fault", to - i);
			u->dropped += to - i;
		}
	}
	if (u->target == T_DISCARD)
		u->dropped += u->n;
	batch_clear(u);
}

/* A finished entry; takes cur's GUID. */
static int
batch_add(struct upload *u)
{
	struct entry	*p;
	size_t		 cap;

	if (u->target == T_DISCARD ||
	    (u->target == T_PENDING && (u->n == STATS_HOLD ||
	    u->held_bytes + u->cur.len > STATS_HOLD_BYTES))) {
		free(u->cur.guid);
		u->dropped++;
		return 0;
	}
	if (u->n == u->cap) {
		cap = u->cap ? u->cap * 2 : 64;
		if ((p = reallocarray(u->batch, cap, sizeof(*p))) == NULL) {
			free(u->cur.guid);
			return -1;
		}
		u->batch = p;
		u->cap = cap;
	}
	u->batch[u->n++] = u->cur;
	u->held_bytes += u->cur.len;
	if (u->target == T_WRITE && u->n >= STATS_BATCH)
		batch_flush(u);
	return 0;
}

/*
 * deck_hash is in: where entries go. A bad hash or an unknown deck stores
 * nothing; the caller's user hash is needed either way (its 500 is
 * answered once the whole body has been checked).
 */
static void
deck_known(struct upload *u, const char *hash, size_t len)
{
	int64_t	deck;

	u->target = T_DISCARD;
	u->hash_valid = strlen(hash) == len && deckhash_valid(hash, len);
	if (u->hash_valid && decks_user_hash(u->user, u->user_hash) == 0) {
		u->user_ok = 1;
		if ((deck = decks_find(hash)) > 0 && load_tree(u, deck) == 0)
			u->target = T_WRITE;
		else if (deck != 0)
			log_warnx("stats: deck lookup failed; the upload is dropped");
	}
	batch_flush(u);
}

/* ---- reading ------------------------------------------------------------------------ */

/* Which of stat_keys key is, or -1. */
static int
stat_index(const char *key)
{
	int i;

	for (i = 0; i < 3; i++)
		if (strcmp(key, stat_keys[i]) == 0)
			return i;
	return -1;
}

/*
 * What upstream's serde types accept: an object with a string deck_hash
 * and review_history {deck name: {GUID: {retention, lapses, reps}}}, the
 * three int32, other keys ignored. Anything else stops the walk (400).
 */
static int
on_begin(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct upload	*u = arg;
	size_t		 len;
	const char	*key;

	if (jsonstream_depth(js) == 0)
		return t == JSONSTREAM_OBJECT ? JSONSTREAM_ENTER : JSONSTREAM_STOP;
	/* serde refuses a repeated field. */
	if (jsonstream_match(js, "deck_hash")) {
		if (t != JSONSTREAM_STRING || u->have_hash)
			return JSONSTREAM_STOP;
		u->have_hash = 1;
		return JSONSTREAM_CAPTURE;
	}
	if (jsonstream_match(js, "review_history")) {
		if (t != JSONSTREAM_OBJECT || u->have_history)
			return JSONSTREAM_STOP;
		u->have_history = 1;
		return JSONSTREAM_ENTER;
	}
	if (jsonstream_match(js, "review_history/*"))
		return t == JSONSTREAM_OBJECT ? JSONSTREAM_ENTER : JSONSTREAM_STOP;
	if (jsonstream_match(js, "review_history/*/*")) {
		if (t != JSONSTREAM_OBJECT)
			return JSONSTREAM_STOP;
		key = jsonstream_key(js, -1, &len);
		if ((u->cur.guid = malloc(len + 1)) == NULL)
			return JSONSTREAM_STOP;
		memcpy(u->cur.guid, key, len + 1);
		u->cur.len = len;
		u->seen = 0;
		return JSONSTREAM_ENTER;
	}
	/* Depth 4 is inside an entry: the only objects entered that deep. */
	if (jsonstream_depth(js) == 4 && stat_index(jsonstream_key(js, -1, NULL)) >= 0)
		return t == JSONSTREAM_NUMBER ? JSONSTREAM_CAPTURE : JSONSTREAM_STOP;
	return JSONSTREAM_SKIP;
}

static int
on_value(void *arg, struct jsonstream *js, struct json_object *obj)
{
	struct upload	*u = arg;
	int64_t		 v;
	int		 i;

	if (jsonstream_depth(js) == 1) {
		deck_known(u, json_object_get_string(obj),
		    (size_t)json_object_get_string_len(obj));
		return 0;
	}
	/* An int32, as serde reads it: no fraction, no exponent, in range, once. */
	i = stat_index(jsonstream_key(js, -1, NULL));
	if (i < 0 || (u->seen & (1u << i)) || !json_object_is_type(obj, json_type_int))
		return -1;
	v = json_object_get_int64(obj);
	if (v < INT32_MIN || v > INT32_MAX)
		return -1;
	u->cur.v[i] = (int32_t)v;
	u->seen |= 1u << i;
	return 0;
}

static int
on_end(void *arg, struct jsonstream *js, enum jsonstream_type t)
{
	struct upload	*u = arg;
	int		 rc = -1;

	if (jsonstream_depth(js) != 3)
		return 0;
	if (u->seen == 7)	/* else a figure is missing */
		rc = batch_add(u);
	else
		free(u->cur.guid);
	u->cur.guid = NULL;
	return rc;
}

static const struct jsonstream_cb upload_cb = { on_begin, on_value, NULL, on_end };

static int
stats_data(struct apid_call *call, const void *data, size_t len)
{
	static const struct jsonstream_conf conf = { .max_capture = STATS_MAX_CAPTURE };
	struct upload *u = call->state;

	if (u == NULL) {
		if ((u = calloc(1, sizeof(*u))) == NULL)
			return -1;
		call->state = u;
		u->user = call->user_id;
		if ((u->js = jsonstream_new(&conf, &upload_cb, u)) == NULL)
			return -1;
	}
	return jsonstream_feed(u->js, data, len) == JSONSTREAM_OK ? 0 : -1;
}

/* The whole body is in and was valid GZB64: answer in upstream's order. */
static void
upload_deck_stats(struct apid_call *call)
{
	struct upload *u = call->state;

	if (u == NULL || jsonstream_finish(u->js) != JSONSTREAM_OK || !u->have_hash ||
	    !u->have_history) {
		call_text(call, 400, "Invalid data");
		return;
	}
	if (!u->hash_valid) {
		call_text(call, 400, "Invalid deck hash format");
		return;
	}
	if (!u->user_ok) {
		call_text(call, 500, "Could not resolve user");
		return;
	}
	batch_flush(u);
	log_info("stats: user %lld: %llu rows stored, %llu entries not", (long long)u->user,
	    (unsigned long long)u->stored, (unsigned long long)u->dropped);
	call_text(call, 200, "Thanks for sharing!");
}

static void
stats_cleanup(struct apid_call *call)
{
	struct upload *u = call->state;

	if (u == NULL)
		return;
	batch_clear(u);
	free(u->batch);
	free(u->cur.guid);
	free(u->tree);
	jsonstream_free(u->js);
	free(u);
	call->state = NULL;
}

static const struct apid_route r_stats = { AUTH_REQ, BODY_GZB64, upload_deck_stats, stats_data,
					   stats_cleanup };

static const struct http_route routes[] = {
	APID_ROUTE("/UploadDeckStats", HTTP_POST, BODY_LIMIT_DEFAULT, &r_stats),
};

const struct apid_area stats_area = { routes, sizeof(routes) / sizeof(routes[0]) };
