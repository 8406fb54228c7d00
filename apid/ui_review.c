/*
 * ui_review.c — the review pages of the web interface: my decks, a deck's
 * open commits and maintainers, a commit's field-level diff with approve
 * and deny buttons for the whole commit and for each note.
 *
 * The review logic is review.c's (shared with ankicollabctl); these pages
 * only ask it and render. Field contents are shown as their sanitized HTML
 * (sanitize.c), HTML-escaped: a reviewer reads the markup, nothing runs.
 * Every POST answers with a redirect (303) to the page to show next.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "apid/apid.h"
#include "apid/decks.h"
#include "apid/password.h"
#include "apid/review.h"
#include "apid/sanitize.h"
#include "apid/ui.h"
#include "common/db.h"
#include "common/form.h"
#include "common/http.h"
#include "common/log.h"

#define UI_HASH_MAX	128	/* longer deck hashes are not ours */
#define UI_DECKS_MAX	500	/* decks listed on the home page */
#define UI_MAINT_MAX	200	/* maintainers listed for a deck */
#define UI_DIFF_NOTES	200	/* notes shown on a commit's page: a phone's worth */

static const char *const rationales[] = {
	"None", "Deck creation", "Updated content", "New content", "Content error",
	"Spelling/grammar", "New card", "Updated tags", "New tags", "Bulk suggestion",
	"Other", "Note removal", "Changed deck", "Forwarded from subscriber deck",
};

static const char *
rationale_text(int r)
{
	if (r < 0 || (size_t)r >= sizeof(rationales) / sizeof(rationales[0]))
		return "Other";
	return rationales[r];
}

static struct evbuffer *
page(struct ui_req *ur, const char *title)
{
	struct evbuffer *b;

	if ((b = evbuffer_new()) == NULL) {
		http_respond_text(ur->req, 503, "Out of memory");
		return NULL;
	}
	ui_page_begin(b, title, &ur->sess);
	return b;
}

static void
time_text(struct evbuffer *b, int64_t us)
{
	char t[DB_TIME_LEN];

	if (db_time_format(us, t, sizeof(t)) > 0)
		evbuffer_add_printf(b, "%s UTC", t);
}

/* A URL path segment we made: only [A-Za-z0-9._-], so it needs no escaping. */
static int
segment_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > UI_HASH_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

/* "<seg>" or "<seg>/<action>" from a route's tail; action "" if none. */
static int
split_tail(const char *tail, char *seg, size_t segsz, const char **action)
{
	size_t n = strcspn(tail, "/");

	if (n >= segsz || !segment_ok(tail, n))
		return -1;
	memcpy(seg, tail, n);
	seg[n] = '\0';
	*action = tail[n] == '/' ? tail + n + 1 : "";
	return 0;
}

/* ---- my decks ---------------------------------------------------------------- */

static void
home_get(struct ui_req *ur)
{
	static const char sql[] =
	    "SELECT d.human_hash, d.full_path, d.owner = ?1 FROM decks d"
	    " WHERE d.deleted_at IS NULL AND ((d.owner = ?1 AND d.parent IS NULL)"
	    "   OR d.id IN (SELECT deck FROM maintainers WHERE user_id = ?1))"
	    " ORDER BY d.full_path, d.id LIMIT " DB_XSTR(UI_DECKS_MAX);
	struct evbuffer	*b;
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if ((b = page(ur, "My decks")) == NULL)
		return;
	evbuffer_add_printf(b, "<h1>Decks I own or maintain</h1>");
	if ((st = db_stmt(apid->db, sql)) == NULL) {
		evbuffer_free(b);
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	sqlite3_bind_int64(st, 1, ur->sess.user);
	while ((rc = db_step(st)) == DB_ROW) {
		if (n++ == 0)
			evbuffer_add_printf(b, "<table><tr><th>Deck</th><th>Role</th></tr>");
		evbuffer_add_printf(b, "<tr><td><a href=\"/ui/deck/");
		ui_esc(b, (const char *)sqlite3_column_text(st, 0));
		evbuffer_add_printf(b, "\">");
		ui_esc(b, (const char *)sqlite3_column_text(st, 1));
		evbuffer_add_printf(b, "</a></td><td>%s</td></tr>",
		    sqlite3_column_int(st, 2) ? "owner" : "maintainer");
	}
	db_stmt_done(st);
	if (n > 0)
		evbuffer_add_printf(b, "</table>");
	else
		evbuffer_add_printf(b, "<p>You neither own nor maintain a deck yet. Publish one "
		    "from the Anki add-on, or ask an owner to add you as a maintainer.</p>");
	if (rc < 0)
		evbuffer_add_printf(b, "<p class=err>The list may be incomplete.</p>");
	ui_page_end(b);
	ui_respond(ur->req, 200, b, NULL);
}

/* ---- one deck ------------------------------------------------------------------ */

/* The deck of that hash: id, full path and whether user owns it. 0: none, -1: fault. */
static int64_t
deck_get(const char *hash, int64_t user, char *path, size_t pathsz, int *owner)
{
	static const char sql[] =
	    "SELECT id, full_path, owner = ?2 FROM decks WHERE human_hash = ?1"
	    " AND deleted_at IS NULL";
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, user);
	if ((rc = db_step(st)) == DB_ROW) {
		id = sqlite3_column_int64(st, 0);
		snprintf(path, pathsz, "%s", (const char *)sqlite3_column_text(st, 1));
		*owner = sqlite3_column_int(st, 2);
	}
	db_stmt_done(st);
	return rc < 0 ? -1 : id;
}

static void
commits_table(struct evbuffer *b, const struct review_commit *c, size_t n, size_t more)
{
	size_t i;

	if (n == 0) {
		evbuffer_add_printf(b, "<p>No open suggestions.</p>");
		return;
	}
	evbuffer_add_printf(b, "<table><tr><th>Commit</th><th>From</th><th>Why</th>"
	    "<th>Notes</th></tr>");
	for (i = 0; i < n; i++) {
		evbuffer_add_printf(b, "<tr><td><a href=\"/ui/commit/%lld\">#%lld</a><br>"
		    "<span class=mut>", (long long)c[i].commit_id, (long long)c[i].commit_id);
		time_text(b, c[i].time_us);
		evbuffer_add_printf(b, "</span></td><td>");
		ui_esc(b, c[i].author[0] != '\0' ? c[i].author : "(anonymous)");
		evbuffer_add_printf(b, "<br><span class=mut>");
		ui_esc(b, c[i].deck_path);
		evbuffer_add_printf(b, "</span></td><td>%s<br><span class=mut>",
		    rationale_text(c[i].rationale));
		ui_esc(b, c[i].text);
		evbuffer_add_printf(b, "</span></td><td>%zu note%s</td></tr>",
		    c[i].nguids + c[i].more_guids, c[i].nguids + c[i].more_guids == 1 ? "" : "s");
	}
	evbuffer_add_printf(b, "</table>");
	if (more > 0)
		evbuffer_add_printf(b, "<p class=mut>And %zu more; review these first.</p>", more);
}

static void
maintainers_section(struct evbuffer *b, struct ui_req *ur, const char *hash, int64_t deck,
    int owner)
{
	static const char sql[] =
	    "SELECT u.username FROM maintainers m JOIN users u ON u.id = m.user_id"
	    " WHERE m.deck = ?1 AND u.deleted_at IS NULL ORDER BY u.username"
	    " LIMIT " DB_XSTR(UI_MAINT_MAX);
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	evbuffer_add_printf(b, "<h2>Maintainers</h2>");
	if ((st = db_stmt(apid->db, sql)) == NULL) {
		evbuffer_add_printf(b, "<p class=err>Cannot list them now.</p>");
		return;
	}
	sqlite3_bind_int64(st, 1, deck);
	while ((rc = db_step(st)) == DB_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);

		if (n++ == 0)
			evbuffer_add_printf(b, "<table>");
		evbuffer_add_printf(b, "<tr><td>");
		ui_esc(b, name);
		evbuffer_add_printf(b, "</td><td>");
		if (owner) {
			evbuffer_add_printf(b, "<form class=inl method=post "
			    "action=\"/ui/deck/%s/maintainers\">", hash);
			ui_csrf_input(b, &ur->sess);
			evbuffer_add_printf(b, "<input type=hidden name=action value=remove>"
			    "<input type=hidden name=username value=\"");
			ui_esc(b, name);
			evbuffer_add_printf(b, "\"><button class=no>Remove</button></form>");
		}
		evbuffer_add_printf(b, "</td></tr>");
	}
	db_stmt_done(st);
	if (n > 0)
		evbuffer_add_printf(b, "</table>");
	else if (rc == DB_OK)
		evbuffer_add_printf(b, "<p class=mut>None.</p>");
	if (rc < 0)
		evbuffer_add_printf(b, "<p class=err>The list may be incomplete.</p>");
	if (!owner)
		return;
	evbuffer_add_printf(b, "<form method=post action=\"/ui/deck/%s/maintainers\">", hash);
	ui_csrf_input(b, &ur->sess);
	evbuffer_add_printf(b, "<input type=hidden name=action value=add>"
	    "<label for=m>Add a maintainer (user name)</label>"
	    "<input type=text id=m name=username autocapitalize=none required>"
	    "<p><button class=ok>Add</button></p></form>");
}

/* The deck of a tail's hash, checked: its id, or 0 after answering. */
static int64_t
deck_checked(struct ui_req *ur, const char *hash, char *path, size_t pathsz, int *owner)
{
	int64_t deck = deck_get(hash, ur->sess.user, path, pathsz, owner);

	if (deck < 0) {
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return 0;
	}
	if (deck == 0) {
		ui_error(ur->req, 404, &ur->sess, "There is no such deck.");
		return 0;
	}
	if (!decks_owner_or_maintainer(ur->sess.user, hash)) {
		ui_error(ur->req, 403, &ur->sess,
		    "You neither own nor maintain this deck.");
		return 0;
	}
	return deck;
}

static void
deck_get_page(struct ui_req *ur)
{
	struct review_commit	*list = NULL;
	struct evbuffer		*b;
	const char		*action;
	char			 hash[UI_HASH_MAX + 1], path[1024], err[256];
	size_t			 n = 0, more = 0;
	int64_t			 deck;
	int			 owner = 0, rc;

	if (split_tail(http_req_path_tail(ur->req), hash, sizeof(hash), &action) == -1 ||
	    action[0] != '\0') {
		ui_error(ur->req, 404, &ur->sess, "There is no such page.");
		return;
	}
	if ((deck = deck_checked(ur, hash, path, sizeof(path), &owner)) == 0)
		return;
	rc = review_list(apid->db, hash, &list, &n, &more, err, sizeof(err));
	if (rc != REVIEW_OK) {
		review_list_free(list, n);
		ui_error(ur->req, rc == REVIEW_NOT_FOUND ? 404 : 503, &ur->sess, err);
		return;
	}
	if ((b = page(ur, path)) == NULL) {
		review_list_free(list, n);
		return;
	}
	evbuffer_add_printf(b, "<h1>");
	ui_esc(b, path);
	evbuffer_add_printf(b, "</h1><p class=mut>%s · ", owner ? "You own this deck" :
	    "You maintain this deck");
	ui_esc(b, hash);
	evbuffer_add_printf(b, "</p><h2>Open suggestions</h2>");
	commits_table(b, list, n, more);
	review_list_free(list, n);
	maintainers_section(b, ur, hash, deck, owner);
	ui_page_end(b);
	ui_respond(ur->req, 200, b, NULL);
}

static void
maintainers_post(struct ui_req *ur, const char *hash)
{
	static const char sql_user[] =
	    "SELECT id FROM users WHERE username = ?1 AND deleted_at IS NULL";
	static const char sql_add[] =
	    "INSERT INTO maintainers (deck, user_id) VALUES (?1, ?2)"
	    " ON CONFLICT (deck, user_id) DO NOTHING";
	static const char sql_del[] = "DELETE FROM maintainers WHERE deck = ?1 AND user_id = ?2";
	char		 action[16], user[PASSWORD_USERNAME_MAX + 1], name[PASSWORD_USERNAME_MAX + 1];
	char		 path[1024], back[UI_HASH_MAX + 16];
	sqlite3_stmt	*st;
	int64_t		 deck, who = 0;
	int		 owner = 0, add, ulen, rc;

	if ((deck = deck_checked(ur, hash, path, sizeof(path), &owner)) == 0)
		return;
	if (!owner) {
		ui_error(ur->req, 403, &ur->sess, "Only the deck's owner may change its "
		    "maintainers.");
		return;
	}
	form_field(ur->body, ur->len, "action", action, sizeof(action));
	if (strcmp(action, "add") != 0 && strcmp(action, "remove") != 0) {
		ui_error(ur->req, 400, &ur->sess, "Say whether to add or to remove.");
		return;
	}
	add = action[0] == 'a';
	ulen = form_field(ur->body, ur->len, "username", user, sizeof(user));
	if (ulen <= 0 || password_username_normalize(user, (size_t)ulen, name,
	    sizeof(name)) == -1) {
		ui_error(ur->req, 400, &ur->sess, "That is not a user name.");
		return;
	}
	if ((st = db_stmt(apid->db, sql_user)) == NULL) {
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW)
		who = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (rc < 0) {
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	if (who == 0) {
		ui_error(ur->req, 400, &ur->sess, "There is no user of that name.");
		return;
	}
	if (add && who == ur->sess.user) {
		ui_error(ur->req, 400, &ur->sess, "You own this deck already.");
		return;
	}
	if ((st = db_stmt(apid->db, add ? sql_add : sql_del)) == NULL) {
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	sqlite3_bind_int64(st, 1, deck);
	sqlite3_bind_int64(st, 2, who);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc != DB_OK) {
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	log_info("ui: user %lld %s maintainer %lld of deck %lld", (long long)ur->sess.user,
	    add ? "added" : "removed", (long long)who, (long long)deck);
	snprintf(back, sizeof(back), "/ui/deck/%s", hash);
	ui_redirect(ur->req, back);
}

static void
deck_post(struct ui_req *ur)
{
	const char	*action;
	char		 hash[UI_HASH_MAX + 1];

	if (split_tail(http_req_path_tail(ur->req), hash, sizeof(hash), &action) == -1 ||
	    strcmp(action, "maintainers") != 0) {
		ui_error(ur->req, 404, &ur->sess, "There is no such page.");
		return;
	}
	maintainers_post(ur, hash);
}

/* ---- one commit ------------------------------------------------------------------ */

/* A field's content as the sanitized markup, escaped. */
static void
field_text(struct evbuffer *b, const char *cls, const char *content)
{
	struct sanitize_buf	clean = { 0 };

	evbuffer_add_printf(b, "<div class=\"diff %s\">", cls);
	if (content == NULL)
		evbuffer_add_printf(b, "<span class=mut>(none)</span>");
	else if (content[0] == '\0')
		evbuffer_add_printf(b, "<span class=mut>(empty)</span>");
	else if (sanitize_html(content, strlen(content), &clean) == -1)
		evbuffer_add_printf(b, "<span class=mut>(cannot be shown safely)</span>");
	else
		ui_escn(b, clean.data != NULL ? clean.data : "", clean.len);
	sanitize_buf_free(&clean);
	evbuffer_add_printf(b, "</div>");
}

/* Approve and deny forms for the commit, or for one note of it (guid). */
static void
decide_forms(struct evbuffer *b, struct ui_req *ur, int64_t commit, const char *guid)
{
	static const char *const verbs[] = { "approve", "deny" };
	size_t i;

	for (i = 0; i < 2; i++) {
		evbuffer_add_printf(b, "<form class=inl method=post "
		    "action=\"/ui/commit/%lld/%s\">", (long long)commit, verbs[i]);
		ui_csrf_input(b, &ur->sess);
		if (guid != NULL) {
			evbuffer_add_printf(b, "<input type=hidden name=note value=\"");
			ui_esc(b, guid);
			evbuffer_add_printf(b, "\">");
		} else if (i == 1)
			evbuffer_add_printf(b, "<input type=text name=reason maxlength=%d "
			    "placeholder=\"Reason for denying (optional)\" "
			    "aria-label=\"Reason for denying\"> ", REVIEW_REASON_MAX);
		evbuffer_add_printf(b, "<button class=%s name=do value=%s>%s%s</button> ",
		    i == 0 ? "ok" : "no", verbs[i], i == 0 ? "Approve" : "Deny",
		    guid != NULL ? " note" : " all");
		evbuffer_add_printf(b, "</form>");
	}
}

static void
note_card(struct evbuffer *b, struct ui_req *ur, int64_t commit, const struct review_note *n)
{
	size_t i;

	evbuffer_add_printf(b, "<div class=card><p><b>Note</b> <code>");
	ui_esc(b, n->guid);
	evbuffer_add_printf(b, "</code>%s%s</p>", n->is_new ? " · new note" : "",
	    n->delete_req ? " · <b>asks to delete this note</b>" : "");
	if (n->move_from != NULL) {
		evbuffer_add_printf(b, "<p>Move from ");
		ui_esc(b, n->move_from);
		evbuffer_add_printf(b, " to ");
		ui_esc(b, n->move_to);
		evbuffer_add_printf(b, "</p>");
	}
	for (i = 0; i < n->nfields; i++) {
		const struct review_field *f = &n->fields[i];

		evbuffer_add_printf(b, "<div><b>");
		if (f->name != NULL)
			ui_esc(b, f->name);
		else
			evbuffer_add_printf(b, "Field %d", f->position + 1);
		evbuffer_add_printf(b, "</b>");
		if (!n->is_new)
			field_text(b, "old", f->current);
		field_text(b, "new", f->suggested);
		evbuffer_add_printf(b, "</div>");
	}
	if (n->ntags > 0) {
		evbuffer_add_printf(b, "<p><b>Tags</b> ");
		for (i = 0; i < n->ntags; i++) {
			evbuffer_add_printf(b, "<span class=\"diff %s\">%s",
			    n->tags[i].add ? "new" : "old", n->tags[i].add ? "+" : "−");
			ui_esc(b, n->tags[i].content);
			evbuffer_add_printf(b, "</span> ");
		}
		evbuffer_add_printf(b, "</p>");
	}
	decide_forms(b, ur, commit, n->guid);
	evbuffer_add_printf(b, "</div>");
}

/* The commit id of a tail, checked for the user: > 0, or 0 after answering. */
static int64_t
commit_checked(struct ui_req *ur, const char **action)
{
	struct review_actor	 who = { ur->sess.user, 0 };
	char			 seg[24], err[256], *end;
	long long		 id;

	if (split_tail(http_req_path_tail(ur->req), seg, sizeof(seg), action) == -1 ||
	    (id = strtoll(seg, &end, 10)) <= 0 || *end != '\0' || seg[0] == '0') {
		ui_error(ur->req, 404, &ur->sess, "There is no such commit.");
		return 0;
	}
	switch (review_may(apid->db, &who, id, err, sizeof(err))) {
	case REVIEW_OK:
		return id;
	case REVIEW_FORBIDDEN:
		ui_error(ur->req, 403, &ur->sess,
		    "You neither own nor maintain the deck of this commit.");
		return 0;
	case REVIEW_NOT_FOUND:
		ui_error(ur->req, 404, &ur->sess, "There is no such commit.");
		return 0;
	default:
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return 0;
	}
}

/* The hash of a deck by id, for links back; "" if gone. */
static void
deck_hash_of(int64_t deck, char *out, size_t outsz)
{
	static const char sql[] = "SELECT human_hash FROM decks WHERE id = ?1";
	sqlite3_stmt *st;

	out[0] = '\0';
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return;
	sqlite3_bind_int64(st, 1, deck);
	if (db_step(st) == DB_ROW)
		snprintf(out, outsz, "%s", (const char *)sqlite3_column_text(st, 0));
	db_stmt_done(st);
}

static void
commit_get(struct ui_req *ur)
{
	struct review_diff	 d;
	struct evbuffer		*b;
	const char		*action;
	char			 err[256], title[64], hash[UI_HASH_MAX + 1];
	int64_t			 id;
	size_t			 i;
	int			 rc;

	if ((id = commit_checked(ur, &action)) == 0)
		return;
	if (action[0] != '\0') {
		ui_error(ur->req, 404, &ur->sess, "There is no such page.");
		return;
	}
	memset(&d, 0, sizeof(d));
	if ((rc = review_diff(apid->db, id, &d, err, sizeof(err))) != REVIEW_OK) {
		review_diff_free(&d);
		ui_error(ur->req, rc == REVIEW_NOT_FOUND ? 404 : 503, &ur->sess, err);
		return;
	}
	snprintf(title, sizeof(title), "Commit #%lld", (long long)id);
	if ((b = page(ur, title)) == NULL) {
		review_diff_free(&d);
		return;
	}
	deck_hash_of(d.commit.deck, hash, sizeof(hash));
	evbuffer_add_printf(b, "<h1>%s</h1><p>", title);
	ui_esc(b, d.commit.author != NULL && d.commit.author[0] != '\0' ? d.commit.author :
	    "(anonymous)");
	evbuffer_add_printf(b, " · %s · ", rationale_text(d.commit.rationale));
	time_text(b, d.commit.time_us);
	evbuffer_add_printf(b, "<br>Deck: ");
	if (hash[0] != '\0' && segment_ok(hash, strlen(hash)))
		evbuffer_add_printf(b, "<a href=\"/ui/deck/%s\">", hash);
	ui_esc(b, d.commit.deck_path != NULL ? d.commit.deck_path : "");
	evbuffer_add_printf(b, "%s</p>", hash[0] != '\0' ? "</a>" : "");
	if (d.commit.text != NULL && d.commit.text[0] != '\0') {
		evbuffer_add_printf(b, "<div class=card>");
		ui_esc(b, d.commit.text);
		evbuffer_add_printf(b, "</div>");
	}
	if (d.nnotes == 0)
		evbuffer_add_printf(b, "<p>Nothing is left to review in this commit.</p>");
	else {
		evbuffer_add_printf(b, "<p>");
		decide_forms(b, ur, id, NULL);
		evbuffer_add_printf(b, "</p>");
	}
	for (i = 0; i < d.nnotes && i < UI_DIFF_NOTES; i++)
		note_card(b, ur, id, &d.notes[i]);
	if (d.nnotes - i + d.more_notes > 0)
		evbuffer_add_printf(b, "<p class=mut>And %zu more notes, not shown; "
		    "\"Approve all\" and \"Deny all\" include them.</p>",
		    d.nnotes - i + d.more_notes);
	review_diff_free(&d);
	ui_page_end(b);
	ui_respond(ur->req, 200, b, NULL);
}

static void
commit_post(struct ui_req *ur)
{
	struct review_actor	 who = { ur->sess.user, 0 };
	const char		*action;
	char			 guid[256], reason[REVIEW_REASON_MAX + 1], err[256], back[64];
	int64_t			 id;
	int			 approve, n, rc;

	if ((id = commit_checked(ur, &action)) == 0)
		return;
	if (strcmp(action, "approve") != 0 && strcmp(action, "deny") != 0) {
		ui_error(ur->req, 404, &ur->sess, "There is no such page.");
		return;
	}
	approve = action[0] == 'a';
	n = form_field(ur->body, ur->len, "note", guid, sizeof(guid));
	if (n == FORM_BAD || n == 0) {
		ui_error(ur->req, 400, &ur->sess, "That is not a note of this commit.");
		return;
	}
	if (form_field(ur->body, ur->len, "reason", reason, sizeof(reason)) < 0)
		reason[0] = '\0';
	if (approve)
		rc = review_approve(apid->db, &who, id, n > 0 ? guid : NULL, err, sizeof(err));
	else
		rc = review_deny(apid->db, &who, id, n > 0 ? guid : NULL,
		    reason[0] != '\0' ? reason : NULL, err, sizeof(err));
	switch (rc) {
	case REVIEW_OK:
		break;
	case REVIEW_FORBIDDEN:
		ui_error(ur->req, 403, &ur->sess, err);
		return;
	case REVIEW_NOT_FOUND:
		ui_error(ur->req, 404, &ur->sess, err);
		return;
	case REVIEW_NOTHING:
	case REVIEW_INVALID:
		ui_error(ur->req, 409, &ur->sess, err);
		return;
	default:
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	log_info("ui: user %lld %s commit %lld%s%s", (long long)ur->sess.user,
	    approve ? "approved" : "denied", (long long)id, n > 0 ? " note " : "",
	    n > 0 ? guid : "");
	snprintf(back, sizeof(back), "/ui/commit/%lld", (long long)id);
	ui_redirect(ur->req, back);
}

static const struct ui_route r_home = { 1, home_get, NULL };
static const struct ui_route r_deck = { 1, deck_get_page, deck_post };
static const struct ui_route r_commit = { 1, commit_get, commit_post };

static const struct http_route routes[] = {
	UI_ROUTE("/ui/", HTTP_GET, &r_home),
	UI_ROUTE("/ui/deck/*", HTTP_GET | HTTP_POST, &r_deck),
	UI_ROUTE("/ui/commit/*", HTTP_GET | HTTP_POST, &r_commit),
};

const struct apid_area ui_review_area = { routes, sizeof(routes) / sizeof(routes[0]) };
