/*
 * decks.c — a deck's subscribers, changelogs and review links:
 * /AddSubscription, /RemoveSubscription, /submitChangelog,
 * /resolveNoteForReview (spec/api.md §6.5, §6.6, §6.8, §6.18), and the deck
 * questions other areas share (decks.h).
 *
 * DESIGN.md: a caller who may not touch a deck gets 403 where upstream
 * answers 401, because the add-on logs out on any 401.
 */
#include <stdio.h>
#include <string.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/deckhash.h"
#include "apid/decks.h"
#include "apid/sanitize.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"

/* ---- shared deck questions ------------------------------------------------------ */

int
decks_owner_or_maintainer(int64_t user, const char *hash)
{
	/* UNION, not UNION ALL: a damaged parent loop still ends. */
	static const char sql[] =
	    "WITH RECURSIVE up(id) AS ("
	    "  SELECT id FROM decks WHERE human_hash = ?1"
	    "  UNION SELECT d.parent FROM decks d JOIN up ON d.id = up.id"
	    "    WHERE d.parent IS NOT NULL)"
	    " SELECT EXISTS (SELECT 1 FROM decks d JOIN up ON d.id = up.id WHERE d.owner = ?2)"
	    "     OR EXISTS (SELECT 1 FROM maintainers m JOIN up ON m.deck = up.id"
	    "                WHERE m.user_id = ?2)";
	sqlite3_stmt	*st;
	int		 yes = 0;

	if (user <= 0 || (st = db_stmt(apid->db, sql)) == NULL)
		return 0;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, user);
	if (db_step(st) == DB_ROW)
		yes = sqlite3_column_int(st, 0);
	db_stmt_done(st);
	return yes;
}

int64_t
decks_find(const char *hash)
{
	static const char sql[] = "SELECT id FROM decks WHERE human_hash = ?1";
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW)
		id = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc < 0 ? -1 : id;
}

int
decks_touch(int64_t deck, int64_t now_us)
{
	static const char sql[] =
	    "WITH RECURSIVE up(id) AS ("
	    "  SELECT ?1"
	    "  UNION SELECT d.parent FROM decks d JOIN up ON d.id = up.id"
	    "    WHERE d.parent IS NOT NULL)"
	    " UPDATE decks SET last_update = ?2 WHERE id IN (SELECT id FROM up)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, deck);
	db_bind_time(st, 2, now_us);
	rc = db_step(st);
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

int
decks_user_hash(int64_t user, char out[PASSWORD_USER_HASH_LEN + 1])
{
	static const char sql[] = "SELECT username FROM users WHERE id = ?1";
	sqlite3_stmt	*st;
	const char	*name;
	int		 rc = -1;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	if (db_step(st) == DB_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		rc = password_user_hash(name, strlen(name), out);
	}
	db_stmt_done(st);
	return rc;
}

int
decks_hash_arg(struct apid_call *call, const char *hash)
{
	if (deckhash_valid(hash, strlen(hash)))
		return 1;
	call_text(call, 400, "Invalid deck hash format");
	return 0;
}

/* ---- /AddSubscription, /RemoveSubscription ------------------------------------------ */

/*
 * Both routes: run sql with the caller's user hash and the body's deck,
 * answering fail_status/fail_text when the deck is unknown or the DB fails.
 */
static void
subscription(struct apid_call *call, const char *sql, int fail_status, const char *fail_text)
{
	char		 uh[PASSWORD_USER_HASH_LEN + 1];
	const char	*hash;
	sqlite3_stmt	*st;
	int64_t		 deck;
	int		 rc = DB_ERR;

	if ((hash = call_json_string(call, "deck_hash")) == NULL || !decks_hash_arg(call, hash))
		return;
	if (decks_user_hash(call->user_id, uh) == -1) {
		call_text(call, 500, "Could not resolve user");
		return;
	}
	if ((deck = decks_find(hash)) > 0 && (st = db_stmt(apid->db, sql)) != NULL) {
		sqlite3_bind_text(st, 1, uh, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, deck);
		rc = db_step(st);
		db_stmt_done(st);
	}
	if (rc != DB_OK) {
		call_text(call, fail_status, fail_text);
		return;
	}
	call_text(call, 200, "()");
}

/* §5.2: only a subscriber counter; a repeat changes nothing. */
static void
add_subscription(struct apid_call *call)
{
	static const char sql[] =
	    "INSERT INTO subscriptions (user_hash, deck_id) VALUES (?1, ?2)"
	    " ON CONFLICT (user_hash, deck_id) DO NOTHING";

	subscription(call, sql, 422, "Could not add subscription");
}

/* "()" even when there was nothing to delete; only an unknown deck is 404. */
static void
remove_subscription(struct apid_call *call)
{
	static const char sql[] = "DELETE FROM subscriptions WHERE user_hash = ?1 AND deck_id = ?2";

	subscription(call, sql, 404, "Subscription not found");
}

/* ---- /submitChangelog ---------------------------------------------------------------- */

/* Returns DB_OK or a DB error. Not a content change: last_update stays (§6.1). */
static int
changelog_insert(const char *hash, const char *message)
{
	static const char sql[] =
	    "INSERT INTO changelogs (deck, message, timestamp)"
	    " SELECT id, ?2, ?3 FROM decks WHERE human_hash = ?1";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, message, -1, SQLITE_STATIC);
	db_bind_time(st, 3, db_now_us());
	rc = db_step(st);
	db_stmt_done(st);
	if (rc == DB_OK && db_changes(apid->db) != 1)
		rc = DB_ERR;	/* the deck went away since the permission check */
	return rc;
}

static void
submit_changelog(struct apid_call *call)
{
	static const char fail[] = "An error occurred while publishing the changelog.";
	struct sanitize_buf	 clean = { 0 };
	const char		*hash, *text;

	if ((hash = call_json_string(call, "deck_hash")) == NULL ||
	    (text = call_json_string(call, "changelog")) == NULL || !decks_hash_arg(call, hash))
		return;
	if (!decks_owner_or_maintainer(call->user_id, hash)) {
		call_text(call, 403, "You are not authorized to add a changelog message to this deck");
		return;
	}
	/* The cleaner refuses only input over its size or time budget: the client's fault. */
	if (sanitize_html(text, strlen(text), &clean) == -1)
		call_text(call, 400, fail);
	else if (changelog_insert(hash, clean.data) != DB_OK)
		call_text(call, 500, fail);
	else
		call_text(call, 200, "Changelog published successfully!");
	sanitize_buf_free(&clean);
}

/* ---- /resolveNoteForReview ------------------------------------------------------------ */

/* The first live note with that GUID in the deck's subtree: > 0, 0 if none, -1. */
static int64_t
review_note(int64_t deck, const char *guid)
{
	static const char sql[] =
	    "WITH RECURSIVE tree(id) AS ("
	    "  SELECT ?1 UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"
	    " SELECT n.id FROM notes n"
	    " WHERE n.guid = ?2 AND n.deleted = 0 AND n.deck IN (SELECT id FROM tree)"
	    " ORDER BY n.id LIMIT 1";
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, deck);
	sqlite3_bind_text(st, 2, guid, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW)
		id = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc < 0 ? -1 : id;
}

/* The website's review page of a note; no auth, the website decides who sees it. */
static void
resolve_note_for_review(struct apid_call *call)
{
	const char	*hash, *guid, *base = apid->d.cfg.website_base_url;
	char		 location[CONFIG_STR_MAX + 48];
	size_t		 n = strlen(base);
	int64_t		 deck, note = -1;

	if ((hash = call_json_string(call, "deck_hash")) == NULL ||
	    (guid = call_json_string(call, "guid")) == NULL || !decks_hash_arg(call, hash))
		return;
	if ((deck = decks_find(hash)) > 0)
		note = review_note(deck, guid);
	if (deck == 0 || note == 0) {
		call_text(call, 404, "Note not found in this deck");
		return;
	}
	if (deck < 0 || note < 0) {
		call_text(call, 500, "Internal server error");
		return;
	}
	/* A configured trailing '/' would double the separator. */
	while (n > 0 && base[n - 1] == '/')
		n--;
	snprintf(location, sizeof(location), "%.*s/review/%lld", (int)n, base, (long long)note);
	http_add_header(call->req, "Location", location);
	call_reply(call, 303, NULL, "", 0);
}

static const struct apid_route r_add = { AUTH_REQ, BODY_JSON, add_subscription, NULL, NULL };
static const struct apid_route r_remove = { AUTH_REQ, BODY_JSON, remove_subscription, NULL, NULL };
static const struct apid_route r_changelog = { AUTH_REQ, BODY_JSON, submit_changelog, NULL, NULL };
static const struct apid_route r_review = { AUTH_NONE, BODY_JSON, resolve_note_for_review,
					    NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/AddSubscription", HTTP_POST, BODY_LIMIT_JSON, &r_add),
	APID_ROUTE("/RemoveSubscription", HTTP_POST, BODY_LIMIT_JSON, &r_remove),
	APID_ROUTE("/submitChangelog", HTTP_POST, BODY_LIMIT_JSON, &r_changelog),
	APID_ROUTE("/resolveNoteForReview", HTTP_POST, BODY_LIMIT_JSON, &r_review),
};

const struct apid_area decks_area = { routes, sizeof(routes) / sizeof(routes[0]) };
