/*
 * links.c — inheritance links: /CreateDeckLink and /CreateNewNoteLink
 * (spec/api.md §6.9, §6.10; spec/schema.md §5.1).
 *
 * A subscriber deck follows a base deck (deck_subscriptions, with a field
 * policy per notetype), then single notes follow base notes with the same
 * GUID (note_inheritance); /pullChanges merges from these tables.
 *
 * Upstream answers every refusal here with 401, which logs the add-on out
 * (spec/client.md §0.1). DESIGN.md keeps 401 for token faults: not being
 * owner or maintainer is 403 "Forbidden" (the add-on's "Forbidden" branch),
 * an unknown deck 404, a request the data does not allow 422 (as /submitCard
 * refusals are), a server fault 500. The texts are upstream's.
 */
#include <sys/types.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/decks.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"

#define LINK_CHUNK	1000	/* GUIDs paired per query (§6.10) */

static const char no_subscription[] =
    "No subscription found between the specified decks. Please create a deck subscription first.";
static const char no_policy[] =
    "Please check the notetypes on the Website and ensure they have the correct subscription"
    " fields set.";

/*
 * Runs sql binding a to ?1 and, if it has one, b to ?2: its first column
 * of the first row, 0 without a row, or -1 on a DB fault.
 */
static int64_t
query_int(const char *sql, int64_t a, int64_t b)
{
	sqlite3_stmt	*st;
	int64_t		 v = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) > 1)
		sqlite3_bind_int64(st, 2, b);
	if ((rc = db_step(st)) == DB_ROW)
		v = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc < 0 ? -1 : v;
}

/* 1 if sub already follows base, 0 if not, -1. */
static int
link_exists(int64_t sub, int64_t base)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM deck_subscriptions"
	    " WHERE subscriber_deck_id = ?1 AND base_deck_id = ?2)";

	return (int)query_int(sql, sub, base);
}

/*
 * Both decks' ids (-1 after a DB fault): NULL, or the first hash that
 * names no deck.
 */
static const char *
find_decks(const char *sub_hash, const char *base_hash, int64_t *sub, int64_t *base)
{
	if ((*sub = decks_find(sub_hash)) == 0)
		return sub_hash;
	if (*sub > 0 && (*base = decks_find(base_hash)) == 0)
		return base_hash;
	return NULL;
}

/* ---- /CreateDeckLink ---------------------------------------------------------------- */

/* 1 if base follows sub, directly or through decks it follows: a new link would loop. */
static int
link_circular(int64_t sub, int64_t base)
{
	static const char sql[] =
	    "WITH RECURSIVE chain(deck) AS ("
	    "  SELECT base_deck_id FROM deck_subscriptions WHERE subscriber_deck_id = ?1"
	    "  UNION SELECT ds.base_deck_id FROM deck_subscriptions ds"
	    "    JOIN chain ON ds.subscriber_deck_id = chain.deck)"
	    " SELECT EXISTS (SELECT 1 FROM chain WHERE deck = ?2)";

	return (int)query_int(sql, base, sub);
}

/*
 * The link and a field policy for every notetype the subscriber's live
 * notes use: NULL (all fields) without protected fields, else the sorted
 * unprotected positions. Notetypes without fields get none, as upstream.
 */
static int
link_create(int64_t sub, int64_t base)
{
	static const char sql_link[] =
	    "INSERT INTO deck_subscriptions (subscriber_deck_id, base_deck_id) VALUES (?1, ?2)"
	    " ON CONFLICT (subscriber_deck_id, base_deck_id) DO NOTHING";
	static const char sql_policy[] =
	    "WITH RECURSIVE tree(id) AS ("
	    "  SELECT ?1 UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"
	    " INSERT OR IGNORE INTO subscription_field_policy"
	    "  (subscriber_deck_id, base_deck_id, notetype_id, subscribed_fields)"
	    " SELECT ?1, ?2, f.notetype,"
	    "  CASE WHEN max(f.protected) = 0 THEN NULL ELSE"
	    "   (SELECT json_group_array(position) FROM (SELECT DISTINCT position"
	    "     FROM notetype_field WHERE notetype = f.notetype AND protected = 0"
	    "     ORDER BY position)) END"
	    " FROM notetype_field f"
	    " WHERE f.notetype IN (SELECT n.notetype FROM notes n"
	    "   WHERE n.deck IN (SELECT id FROM tree) AND n.deleted = 0)"
	    " GROUP BY f.notetype";

	if (db_begin(apid->db) != DB_OK)
		return -1;
	if (query_int(sql_link, sub, base) == -1 || query_int(sql_policy, sub, base) == -1 ||
	    db_commit(apid->db) != DB_OK) {
		db_rollback(apid->db);
		return -1;
	}
	return 0;
}

static void
create_deck_link(struct apid_call *call)
{
	const char	*sub_hash, *base_hash, *unknown;
	char		 text[512];
	int64_t		 sub, base = 0;
	int		 rc = -1;

	if ((sub_hash = call_json_string(call, "subscriber_deck_hash")) == NULL ||
	    (base_hash = call_json_string(call, "base_deck_hash")) == NULL ||
	    !decks_hash_arg(call, sub_hash) || !decks_hash_arg(call, base_hash))
		return;
	if (!decks_owner_or_maintainer(call->user_id, sub_hash)) {
		call_text(call, 403, "Forbidden");
		return;
	}
	if (strcmp(sub_hash, base_hash) == 0) {
		call_text(call, 422, "Cannot subscribe a deck to itself. This feature is still in"
		    " development. Please don't use it without instructions.");
		return;
	}
	if ((unknown = find_decks(sub_hash, base_hash, &sub, &base)) != NULL) {
		snprintf(text, sizeof(text), "%s deck '%s' not found",
		    unknown == sub_hash ? "Subscriber" : "Base", unknown);
		call_text(call, 404, text);
		return;
	}
	if (sub > 0 && base > 0 && (rc = link_exists(sub, base)) == 0 &&
	    (rc = link_circular(sub, base)) == 1) {
		call_text(call, 422, "Circular subscription detected: the base deck (or one of its"
		    " subscribed decks) already subscribes to the subscriber deck. This would"
		    " create a circular dependency.");
		return;
	}
	/* An existing link is success without a second look at its policies. */
	if (sub < 0 || base < 0 || rc == -1 || (rc == 0 && link_create(sub, base) == -1)) {
		call_internal(call);
		return;
	}
	log_info("deck link: %lld follows %lld (user %lld)", (long long)sub, (long long)base,
	    (long long)call->user_id);
	call_text(call, 200, "Success");
}

/* ---- /CreateNewNoteLink ------------------------------------------------------------- */

struct notelink {
	struct apid_call *call;
	int64_t		 sub_deck, base_deck, now;
	json_object	*guids;		/* the request's array */
	json_object	*skipped;	/* the answer's */
	int64_t		 linked;
	int64_t		*decks;		/* decks of linked notes, to bump with their ancestors */
	size_t		 ndecks, decks_cap;
};

/* A GUID the subscriber deck has and the base deck may have (0: none). */
struct notepair {
	int64_t	sub, base;
	size_t	idx;		/* in the request's array */
};

enum { LINK_SKIPPED, LINK_LINKED, LINK_FAULT = -1 };

/* The note_guids member: an array of strings, or NULL after answering 422. */
static json_object *
note_guids_arg(struct apid_call *call)
{
	json_object	*arr, *v;
	size_t		 i, n;

	if (!json_object_object_get_ex(call->json, "note_guids", &arr) || arr == NULL) {
		call_bad_shape(call, "missing field `note_guids`");
		return NULL;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		call_bad_shape(call, "note_guids: invalid type: expected a sequence");
		return NULL;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string)) {
			call_bad_shape(call, "note_guids[%zu]: invalid type: expected a string", i);
			return NULL;
		}
	}
	return arr;
}

/* guids[from, to) as an array of its own, for json_each(); NULL when out of memory. */
static json_object *
guids_slice(json_object *guids, size_t from, size_t to)
{
	json_object *slice;

	if ((slice = json_object_new_array_ext((int)(to - from))) == NULL)
		return NULL;
	for (; from < to; from++)
		json_object_array_add(slice, json_object_get(json_object_array_get_idx(guids, from)));
	return slice;
}

/*
 * Upstream's precondition: every GUID names a reviewed, live note of the
 * subscriber's subtree. A GUID listed twice makes the counts differ too.
 */
static int64_t
notes_uploaded(int64_t sub_deck, const char *guids)
{
	static const char sql[] =
	    "WITH RECURSIVE tree(id) AS ("
	    "  SELECT ?1 UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"
	    " SELECT count(*) FROM notes n"
	    " WHERE n.guid IN (SELECT value FROM json_each(?2)) AND n.reviewed = 1"
	    "   AND n.deleted = 0 AND n.deck IN (SELECT id FROM tree)";
	sqlite3_stmt	*st;
	int64_t		 count = -1;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sub_deck);
	sqlite3_bind_text(st, 2, guids, -1, SQLITE_STATIC);
	if (db_step(st) == DB_ROW)
		count = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return count;
}

/*
 * Each distinct GUID of a chunk, in request order, with the subscriber's
 * and the base's reviewed live note of it (the oldest, if several).
 * Returns how many pairs, or -1.
 */
static ssize_t
chunk_pairs(struct notelink *nl, size_t from, const char *chunk, struct notepair *pairs)
{
	static const char sql[] =
	    "WITH RECURSIVE"
	    " st(id) AS (SELECT ?1 UNION SELECT d.id FROM decks d JOIN st ON d.parent = st.id),"
	    " bt(id) AS (SELECT ?2 UNION SELECT d.id FROM decks d JOIN bt ON d.parent = bt.id),"
	    " g(guid, k) AS (SELECT value, min(key) FROM json_each(?3) GROUP BY value)"
	    " SELECT g.k,"
	    "  (SELECT min(n.id) FROM notes n WHERE n.guid = g.guid AND n.reviewed = 1"
	    "    AND n.deleted = 0 AND n.deck IN (SELECT id FROM st)),"
	    "  (SELECT min(n.id) FROM notes n WHERE n.guid = g.guid AND n.reviewed = 1"
	    "    AND n.deleted = 0 AND n.deck IN (SELECT id FROM bt))"
	    " FROM g ORDER BY g.k";
	sqlite3_stmt	*st;
	ssize_t		 n = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, nl->sub_deck);
	sqlite3_bind_int64(st, 2, nl->base_deck);
	sqlite3_bind_text(st, 3, chunk, -1, SQLITE_STATIC);
	while (n < LINK_CHUNK && (rc = db_step(st)) == DB_ROW) {
		pairs[n].idx = from + (size_t)sqlite3_column_int64(st, 0);
		pairs[n].sub = sqlite3_column_int64(st, 1);
		pairs[n].base = sqlite3_column_int64(st, 2);
		n++;
	}
	db_stmt_done(st);
	return rc < 0 ? -1 : n;
}

static void
skip(struct notelink *nl, const struct notepair *p)
{
	json_object_array_add(nl->skipped, json_object_get(json_object_array_get_idx(nl->guids,
	    p->idx)));
}

/* 1 if the subscriber note's notetype has a field policy for this link, 0, -1. */
static int
has_policy(struct notelink *nl, int64_t sub_note)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM notes n JOIN subscription_field_policy p"
	    "  ON p.notetype_id = n.notetype"
	    " WHERE n.id = ?1 AND p.subscriber_deck_id = ?2 AND p.base_deck_id = ?3)";
	sqlite3_stmt	*st;
	int		 yes = -1;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sub_note);
	sqlite3_bind_int64(st, 2, nl->sub_deck);
	sqlite3_bind_int64(st, 3, nl->base_deck);
	if (db_step(st) == DB_ROW)
		yes = sqlite3_column_int(st, 0);
	db_stmt_done(st);
	return yes;
}

/* 1 if both notes' notetypes have the same field names in the same order. */
static int
same_fields(int64_t sub, int64_t base)
{
	static const char sql[] =
	    "SELECT (SELECT json_group_array(name) FROM (SELECT f.name FROM notetype_field f"
	    "   JOIN notes n ON f.notetype = n.notetype WHERE n.id = ?1 ORDER BY f.position))"
	    "  = (SELECT json_group_array(name) FROM (SELECT f.name FROM notetype_field f"
	    "   JOIN notes n ON f.notetype = n.notetype WHERE n.id = ?2 ORDER BY f.position))"
	    " AND EXISTS (SELECT 1 FROM notetype_field f JOIN notes n ON f.notetype = n.notetype"
	    "   WHERE n.id = ?1)";

	return (int)query_int(sql, sub, base);
}

/*
 * §6.1: a linked note now pulls differently; its deck and the ancestors
 * are bumped once, at the end (decks_touch).
 */
static int
bump_note(struct notelink *nl, int64_t note)
{
	static const char sql[] = "UPDATE notes SET last_update = ?2 WHERE id = ?1 RETURNING deck";
	sqlite3_stmt	*st;
	int64_t		 deck = -1, *p;
	size_t		 i, cap;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, note);
	db_bind_time(st, 2, nl->now);
	if (db_step(st) == DB_ROW)
		deck = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (deck < 0)
		return -1;
	for (i = 0; i < nl->ndecks; i++)
		if (nl->decks[i] == deck)
			return 0;
	if (nl->ndecks == nl->decks_cap) {
		cap = nl->decks_cap ? nl->decks_cap * 2 : 16;
		if ((p = reallocarray(nl->decks, cap, sizeof(*p))) == NULL)
			return -1;
		nl->decks = p;
		nl->decks_cap = cap;
	}
	nl->decks[nl->ndecks++] = deck;
	return 0;
}

/*
 * The link itself; an existing link of the subscriber note stays as it is.
 * Then what the note now inherits (by its link as it stands) goes locally:
 * reviewed tags the base has, and field rows of inherited positions (all
 * but one row when it inherits everything; never position 0).
 */
static int
link_note(struct notelink *nl, int64_t sub, int64_t base)
{
	static const char sql_link[] =
	    "INSERT INTO note_inheritance (subscriber_note_id, base_note_id, subscribed_fields,"
	    "  removed_base_tags)"
	    " SELECT ?1, ?2, p.subscribed_fields, '[]' FROM notes n"
	    "  JOIN subscription_field_policy p ON p.notetype_id = n.notetype"
	    " WHERE n.id = ?1 AND p.subscriber_deck_id = ?3 AND p.base_deck_id = ?4"
	    " ON CONFLICT (subscriber_note_id) DO NOTHING";
	static const char sql_tags[] =
	    "DELETE FROM tags WHERE note = ?1 AND reviewed = 1 AND action = 1 AND content IN ("
	    "  SELECT t.content FROM note_inheritance i JOIN tags t ON t.note = i.base_note_id"
	    "  WHERE i.subscriber_note_id = ?1 AND t.reviewed = 1 AND t.action = 1)";
	static const char sql_all[] =
	    "DELETE FROM fields WHERE note = ?1"
	    " AND EXISTS (SELECT 1 FROM note_inheritance WHERE subscriber_note_id = ?1"
	    "   AND subscribed_fields IS NULL)"
	    " AND id <> (SELECT id FROM fields WHERE note = ?1"
	    "   ORDER BY position = 0 DESC, content <> '' DESC, position, id LIMIT 1)";
	static const char sql_some[] =
	    "DELETE FROM fields WHERE note = ?1 AND position <> 0 AND position IN ("
	    "  SELECT j.value FROM note_inheritance i, json_each(i.subscribed_fields) j"
	    "  WHERE i.subscriber_note_id = ?1)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql_link)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, sub);
	sqlite3_bind_int64(st, 2, base);
	sqlite3_bind_int64(st, 3, nl->sub_deck);
	sqlite3_bind_int64(st, 4, nl->base_deck);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc != DB_OK || query_int(sql_tags, sub, 0) == -1 ||
	    query_int(sql_all, sub, 0) == -1 || query_int(sql_some, sub, 0) == -1)
		return -1;
	return bump_note(nl, sub);
}

/* One pair: LINK_LINKED, LINK_SKIPPED (incompatible, or a loop), or LINK_FAULT. */
static int
link_pair(struct notelink *nl, const struct notepair *p)
{
	static const char sql_loop[] =
	    "SELECT EXISTS (SELECT 1 FROM note_inheritance"
	    " WHERE subscriber_note_id = ?1 AND base_note_id = ?2)";
	int	rc;

	if (p->sub == 0 || p->base == 0 || p->sub == p->base)
		return LINK_SKIPPED;
	if ((rc = same_fields(p->sub, p->base)) != 1)
		return rc == 0 ? LINK_SKIPPED : LINK_FAULT;
	if ((rc = (int)query_int(sql_loop, p->base, p->sub)) != 0)
		return rc == 1 ? LINK_SKIPPED : LINK_FAULT;
	return link_note(nl, p->sub, p->base) == 0 ? LINK_LINKED : LINK_FAULT;
}

/*
 * guids[from, to). Returns 0, or -1 after answering. GUIDs without a
 * compatible base note are reported as skipped; upstream forgets those
 * whose chunk has other matches.
 */
static int
link_chunk(struct notelink *nl, size_t from, size_t to, struct notepair *pairs)
{
	json_object	*chunk;
	ssize_t		 n, i, nbase = 0;
	int		 rc;

	if ((chunk = guids_slice(nl->guids, from, to)) == NULL) {
		call_internal(nl->call);
		return -1;
	}
	n = chunk_pairs(nl, from, json_object_to_json_string_ext(chunk, JSON_C_TO_STRING_PLAIN),
	    pairs);
	json_object_put(chunk);
	for (i = 0; i < n; i++)
		nbase += pairs[i].base != 0;
	/* A chunk without any base note needs no policies (upstream's order). */
	for (i = 0; nbase > 0 && i < n; i++) {
		if (pairs[i].sub != 0 && (rc = has_policy(nl, pairs[i].sub)) != 1) {
			if (rc == 0)
				call_text(nl->call, 422, no_policy);
			else
				call_internal(nl->call);
			return -1;
		}
	}
	for (i = 0; i < n; i++) {
		if ((rc = link_pair(nl, &pairs[i])) == LINK_FAULT)
			break;
		if (rc == LINK_LINKED)
			nl->linked++;
		else
			skip(nl, &pairs[i]);
	}
	if (n < 0 || i < n) {
		call_internal(nl->call);
		return -1;
	}
	return 0;
}

/* All chunks and the deck bumps, in one transaction: a refusal changes nothing. */
static int
link_notes(struct notelink *nl)
{
	struct notepair	*pairs;
	size_t		 from, to, n = json_object_array_length(nl->guids), i;
	int		 rc = 0;

	if ((pairs = calloc(LINK_CHUNK, sizeof(*pairs))) == NULL || db_begin(apid->db) != DB_OK) {
		free(pairs);
		call_internal(nl->call);
		return -1;
	}
	for (from = 0; rc == 0 && from < n; from = to) {
		to = n - from > LINK_CHUNK ? from + LINK_CHUNK : n;
		rc = link_chunk(nl, from, to, pairs);
	}
	for (i = 0; rc == 0 && i < nl->ndecks; i++)
		rc = decks_touch(nl->decks[i], nl->now);
	free(pairs);
	if (rc == 0 && db_commit(apid->db) == DB_OK)
		return 0;
	db_rollback(apid->db);
	call_internal(nl->call);	/* no-op if a chunk answered */
	return -1;
}

/* §6.10's checks after the deck lookups: 0, or -1 after answering. */
static int
note_link_ready(struct notelink *nl)
{
	int64_t	uploaded = -1;
	int	rc;

	if ((rc = link_exists(nl->sub_deck, nl->base_deck)) == 0) {
		call_text(nl->call, 422, no_subscription);
		return -1;
	}
	if (rc == 1)
		uploaded = notes_uploaded(nl->sub_deck,
		    json_object_to_json_string_ext(nl->guids, JSON_C_TO_STRING_PLAIN));
	if (uploaded < 0) {
		call_internal(nl->call);
		return -1;
	}
	/* Upstream refuses an empty list with the same text. */
	if (uploaded == 0 || (size_t)uploaded != json_object_array_length(nl->guids)) {
		call_text(nl->call, 422, "Please upload the notes before linking them.");
		return -1;
	}
	return 0;
}

/* Checks in upstream's order, then the links: {"linked":N,"skipped":[...]}. */
static void
create_new_note_link(struct apid_call *call)
{
	struct notelink	 nl = { .call = call, .now = db_now_us() };
	const char	*sub_hash, *base_hash, *unknown;
	char		 text[512];
	json_object	*answer;

	if ((sub_hash = call_json_string(call, "subscriber_deck_hash")) == NULL ||
	    (base_hash = call_json_string(call, "base_deck_hash")) == NULL ||
	    (nl.guids = note_guids_arg(call)) == NULL ||
	    !decks_hash_arg(call, sub_hash) || !decks_hash_arg(call, base_hash))
		return;
	if (!decks_owner_or_maintainer(call->user_id, sub_hash)) {
		call_text(call, 403, "Forbidden");
		return;
	}
	if ((unknown = find_decks(sub_hash, base_hash, &nl.sub_deck, &nl.base_deck)) != NULL) {
		snprintf(text, sizeof(text), "Deck hash %s not found", unknown);
		call_text(call, 404, text);
		return;
	}
	if (nl.sub_deck < 0 || nl.base_deck < 0) {
		call_internal(call);
		return;
	}
	if (note_link_ready(&nl) == -1)
		return;
	if ((nl.skipped = json_object_new_array()) == NULL) {
		call_internal(call);
		return;
	}
	if (link_notes(&nl) == 0 && (answer = json_object_new_object()) != NULL) {
		json_object_object_add(answer, "linked", json_object_new_int64(nl.linked));
		json_object_object_add(answer, "skipped", json_object_get(nl.skipped));
		call_text(call, 200, json_object_to_json_string_ext(answer,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(answer);
	}
	call_internal(call);	/* out of memory; a no-op once answered */
	json_object_put(nl.skipped);
	free(nl.decks);
}

static const struct apid_route r_deck_link = { AUTH_REQ, BODY_JSON, create_deck_link,
					       NULL, NULL };
static const struct apid_route r_note_link = { AUTH_REQ, BODY_JSON, create_new_note_link,
					       NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/CreateDeckLink", HTTP_POST, BODY_LIMIT_JSON, &r_deck_link),
	APID_ROUTE("/CreateNewNoteLink", HTTP_POST, BODY_LIMIT_JSON, &r_note_link),
};

const struct apid_area links_area = { routes, sizeof(routes) / sizeof(routes[0]) };
