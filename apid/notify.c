/*
 * notify.c — what happened to a user's suggestions: /GetNotifications,
 * /GetNotificationsHistory, /MarkNotificationsRead, /GetCommitSnapshot
 * (routes 13–16, spec/api.md §6.13–§6.16).
 *
 * The rows are written by review.c when a commit is approved or denied;
 * here they are only read and marked. Times are formatted as
 * "YYYY-MM-DDTHH:MM:SS+00:00" (the DB session zone is UTC).
 *
 * Choices: a commit snapshot's diff_html is a word-level diff of the two
 * sides' text (markup dropped, the text escaped), wrapped in <del> and
 * <ins>: nothing of a field's HTML reaches the add-on's webview through it.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"

#define NOTIFY_UNREAD_MAX	500
#define NOTIFY_MARK_MAX		1000
#define NOTIFY_DIFF_MAX		(256u << 10)	/* bytes of one side of a diff */

#define UNNAMED		"[Unnamed Deck]"

/* The last "::" component of a full path, trimmed, or UNNAMED. */
static struct json_object *
deck_name(const char *path)
{
	const char	*s, *p, *e;

	if (path == NULL)
		return json_object_new_string(UNNAMED);
	for (s = path; (p = strstr(s, "::")) != NULL; s = p + 2)
		;
	while (isspace((unsigned char)*s))
		s++;
	for (e = s + strlen(s); e > s && isspace((unsigned char)e[-1]); e--)
		;
	if (e == s)
		return json_object_new_string(UNNAMED);
	return json_object_new_string_len(s, (int)(e - s));
}

static struct json_object *
time_json(int64_t us)
{
	char	buf[DB_TIME_LEN];

	if (db_time_format_rfc3339(us, 0, buf, sizeof(buf)) == -1)
		return json_object_new_string("");
	return json_object_new_string(buf);
}

static struct json_object *
text_or_null(sqlite3_stmt *st, int col)
{
	const unsigned char	*s = sqlite3_column_text(st, col);

	return s == NULL ? NULL : json_object_new_string((const char *)s);
}

static void
error_json(struct apid_call *call, int status, const char *msg)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	call_json(call, status, o);
}

/* The columns of ITEM_COLS as a NotificationItem. */
#define ITEM_COLS	"n.id, n.commit_id, n.deck_id, d.full_path, n.status, n.reason," \
			" n.created_at, n.is_read"

static struct json_object *
item(sqlite3_stmt *st)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_int64(sqlite3_column_int64(st, 0)));
	json_object_object_add(o, "commit_id", json_object_new_int64(sqlite3_column_int64(st, 1)));
	json_object_object_add(o, "deck_id", json_object_new_int64(sqlite3_column_int64(st, 2)));
	json_object_object_add(o, "deck_name",
	    deck_name((const char *)sqlite3_column_text(st, 3)));
	json_object_object_add(o, "status", text_or_null(st, 4));
	json_object_object_add(o, "reason", text_or_null(st, 5));
	json_object_object_add(o, "created_at", time_json(db_column_time(st, 6)));
	json_object_object_add(o, "is_read", json_object_new_boolean(sqlite3_column_int(st, 7)));
	return o;
}

/* ---- /GetNotifications ------------------------------------------------------------ */

static void
get_notifications(struct apid_call *call)
{
	static const char sql[] =
	    "SELECT * FROM (SELECT " ITEM_COLS " FROM notifications n"
	    " LEFT JOIN decks d ON d.id = n.deck_id WHERE n.user_id = ?1 AND n.is_read = 0"
	    " ORDER BY n.created_at DESC, n.id DESC LIMIT " DB_XSTR(NOTIFY_UNREAD_MAX) ")"
	    " ORDER BY deck_id, created_at DESC, id DESC";
	struct json_object	*root, *groups, *group = NULL, *list = NULL, *it;
	sqlite3_stmt		*st;
	int64_t			 deck, last = -1, approved = 0, denied = 0;
	int			 rc, n = 0;

	if ((st = db_stmt(apid->db, sql)) == NULL) {
		error_json(call, 500, "Failed to fetch notifications");
		return;
	}
	root = json_object_new_object();
	groups = json_object_new_array();
	sqlite3_bind_int64(st, 1, call->user_id);
	while ((rc = db_step(st)) == DB_ROW) {
		deck = sqlite3_column_int64(st, 2);
		if (deck != last) {
			if (group != NULL) {
				json_object_object_add(group, "approved_count",
				    json_object_new_int64(approved));
				json_object_object_add(group, "denied_count",
				    json_object_new_int64(denied));
				json_object_object_add(group, "notifications", list);
			}
			group = json_object_new_object();
			json_object_object_add(group, "deck_id", json_object_new_int64(deck));
			json_object_object_add(group, "deck_name",
			    deck_name((const char *)sqlite3_column_text(st, 3)));
			json_object_array_add(groups, group);
			list = json_object_new_array();
			approved = denied = 0;
			last = deck;
		}
		it = item(st);
		if (strcmp((const char *)sqlite3_column_text(st, 4), "approved") == 0)
			approved++;
		else
			denied++;
		json_object_array_add(list, it);
		n++;
	}
	db_stmt_done(st);
	if (group != NULL) {
		json_object_object_add(group, "approved_count", json_object_new_int64(approved));
		json_object_object_add(group, "denied_count", json_object_new_int64(denied));
		json_object_object_add(group, "notifications", list);
	}
	if (rc != DB_OK) {
		json_object_put(root);
		json_object_put(groups);
		error_json(call, 500, "Failed to fetch notifications");
		return;
	}
	json_object_object_add(root, "unread_count", json_object_new_int(n));
	json_object_object_add(root, "groups", groups);
	call_json(call, 200, root);
}

/* ---- /GetNotificationsHistory --------------------------------------------------- */

/*
 * The integer value of key in a query string: 1 with *v, 0 if absent,
 * -1 if not an integer (serde's "invalid digit found in string").
 */
static int
query_int(const char *q, const char *key, int64_t *v)
{
	size_t		 klen = strlen(key), n;
	const char	*p, *amp;
	char		 buf[32], *end;
	int		 found = 0;

	for (p = q; *p != '\0'; p = *amp ? amp + 1 : amp) {
		if ((amp = strchr(p, '&')) == NULL)
			amp = p + strlen(p);
		if ((size_t)(amp - p) <= klen || strncmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		n = (size_t)(amp - p) - klen - 1;
		if (n == 0 || n >= sizeof(buf))
			return -1;
		memcpy(buf, p + klen + 1, n);
		buf[n] = '\0';
		errno = 0;
		*v = strtoll(buf, &end, 10);
		if (*end != '\0' || errno != 0 || !(isdigit((unsigned char)buf[0]) ||
		    (buf[0] == '-' && isdigit((unsigned char)buf[1]))))
			return -1;
		found = 1;	/* the last one counts */
	}
	return found;
}

static void
get_history(struct apid_call *call)
{
	static const char count_sql[] = "SELECT count(*) FROM notifications WHERE user_id = ?1";
	static const char sql[] =
	    "SELECT " ITEM_COLS " FROM notifications n LEFT JOIN decks d ON d.id = n.deck_id"
	    " WHERE n.user_id = ?1 ORDER BY n.created_at DESC, n.id DESC LIMIT ?2 OFFSET ?3";
	struct json_object	*root, *items;
	sqlite3_stmt		*st;
	const char		*q = http_req_query(call->req);
	int64_t			 offset = 0, limit = 50, total = 0;
	int			 rc;

	if (query_int(q, "offset", &offset) == -1 || query_int(q, "limit", &limit) == -1) {
		call_text(call, 400,
		    "Failed to deserialize query string: invalid digit found in string");
		return;
	}
	if (offset < 0)
		offset = 0;
	limit = limit < 1 ? 1 : limit > 200 ? 200 : limit;
	if (db_begin_read(apid->db) != DB_OK) {
		error_json(call, 500, "Failed to fetch notification history");
		return;
	}
	if ((st = db_stmt(apid->db, count_sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, call->user_id);
	if ((rc = db_step(st)) == DB_ROW)
		total = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (rc != DB_ROW || (st = db_stmt(apid->db, sql)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, call->user_id);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	items = json_object_new_array();
	while ((rc = db_step(st)) == DB_ROW)
		json_object_array_add(items, item(st));
	db_stmt_done(st);
	db_rollback(apid->db);
	if (rc != DB_OK) {
		json_object_put(items);
		error_json(call, 500, "Failed to fetch notification history");
		return;
	}
	root = json_object_new_object();
	json_object_object_add(root, "total", json_object_new_int64(total));
	json_object_object_add(root, "offset", json_object_new_int64(offset));
	json_object_object_add(root, "limit", json_object_new_int64(limit));
	json_object_object_add(root, "items", items);
	call_json(call, 200, root);
	return;
fail:
	db_rollback(apid->db);
	error_json(call, 500, "Failed to fetch notification history");
}

/* ---- /MarkNotificationsRead ------------------------------------------------------- */

static void
mark_read(struct apid_call *call)
{
	static const char sql[] =
	    "UPDATE notifications SET is_read = 1 WHERE user_id = ?1 AND is_read = 0 AND id IN"
	    " (SELECT value FROM json_each(?2))";
	struct json_object	*ids, *v, *o;
	sqlite3_stmt		*st;
	size_t			 i, n;
	int64_t			 id, updated = 0;
	int			 rc = DB_OK;

	if (!json_object_is_type(call->json, json_type_object)) {
		call_bad_shape(call, "invalid type: expected a map");
		return;
	}
	if (!json_object_object_get_ex(call->json, "ids", &ids) ||
	    !json_object_is_type(ids, json_type_array)) {
		call_bad_shape(call, "ids: invalid type: expected a sequence");
		return;
	}
	n = json_object_array_length(ids);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(ids, i);
		errno = 0;
		id = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || errno != 0 ||
		    id < INT32_MIN || id > INT32_MAX) {
			call_bad_shape(call, "ids[%zu]: invalid type: expected i32", i);
			return;
		}
	}
	if (n > NOTIFY_MARK_MAX) {
		o = json_object_new_object();
		json_object_object_add(o, "error", json_object_new_string("Too many IDs (max 1000)"));
		call_json(call, 400, o);
		return;
	}
	if (n > 0) {
		if ((st = db_stmt(apid->db, sql)) == NULL) {
			error_json(call, 500, "Failed to mark notifications");
			return;
		}
		sqlite3_bind_int64(st, 1, call->user_id);
		sqlite3_bind_text(st, 2, json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN),
		    -1, SQLITE_TRANSIENT);
		rc = db_step(st);
		db_stmt_done(st);
		updated = db_changes(apid->db);
	}
	if (rc != DB_OK) {
		error_json(call, 500, "Failed to mark notifications");
		return;
	}
	o = json_object_new_object();
	json_object_object_add(o, "updated", json_object_new_int64(updated));
	call_json(call, 200, o);
}

/* ---- /GetCommitSnapshot/{id} ------------------------------------------------------- */

/* The words of html's text (markup dropped, entities kept) as a JSON array. */
static void
text_of(const char *html, struct json_object **words)
{
	const char	*p = html, *w;
	char		*buf;
	size_t		 n = 0, cap = strlen(html) + 1;
	int		 in_tag = 0;

	*words = json_object_new_array();
	if ((buf = malloc(cap)) == NULL)
		return;
	/* Tags become spaces, so that words on both sides of a <br> stay apart. */
	for (; *p != '\0'; p++) {
		if (*p == '<')
			in_tag = 1;
		else if (*p == '>' && in_tag) {
			in_tag = 0;
			buf[n++] = ' ';
		} else if (!in_tag)
			buf[n++] = *p;
	}
	buf[n] = '\0';
	for (p = buf; *p != '\0';) {
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		for (w = p; *p != '\0' && !isspace((unsigned char)*p); p++)
			;
		json_object_array_add(*words, json_object_new_string_len(w, (int)(p - w)));
	}
	free(buf);
}

static void
put_escaped(struct printbuf *pb, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '<':
			printbuf_strappend(pb, "&lt;");
			break;
		case '>':
			printbuf_strappend(pb, "&gt;");
			break;
		case '&':
			printbuf_strappend(pb, "&amp;");
			break;
		case '"':
			printbuf_strappend(pb, "&quot;");
			break;
		default:
			printbuf_memappend(pb, s, 1);
		}
	}
}

static void
put_words(struct printbuf *pb, struct json_object *w, size_t from, size_t to, const char *tag)
{
	size_t	i;

	if (from >= to)
		return;
	if (tag != NULL)
		sprintbuf(pb, "<%s>", tag);
	for (i = from; i < to; i++) {
		if (i > from)
			printbuf_strappend(pb, " ");
		put_escaped(pb, json_object_get_string(json_object_array_get_idx(w, i)));
	}
	if (tag != NULL)
		sprintbuf(pb, "</%s>", tag);
	printbuf_strappend(pb, " ");
}

/* §6.16 diff_html: common words, then what went (<del>) and came (<ins>). */
static struct json_object *
diff_html(const char *old, const char *new)
{
	struct json_object	*a, *b, *out;
	struct printbuf		*pb;
	size_t			 na, nb, pre = 0, suf = 0;

	if ((old == NULL || *old == '\0') && (new == NULL || *new == '\0'))
		return NULL;
	if (strlen(old ? old : "") > NOTIFY_DIFF_MAX || strlen(new ? new : "") > NOTIFY_DIFF_MAX)
		return NULL;
	text_of(old ? old : "", &a);
	text_of(new ? new : "", &b);
	na = json_object_array_length(a);
	nb = json_object_array_length(b);
	while (pre < na && pre < nb && strcmp(json_object_get_string(json_object_array_get_idx(a,
	    pre)), json_object_get_string(json_object_array_get_idx(b, pre))) == 0)
		pre++;
	while (suf < na - pre && suf < nb - pre &&
	    strcmp(json_object_get_string(json_object_array_get_idx(a, na - 1 - suf)),
	    json_object_get_string(json_object_array_get_idx(b, nb - 1 - suf))) == 0)
		suf++;
	pb = printbuf_new();
	put_words(pb, a, 0, pre, NULL);
	put_words(pb, a, pre, na - suf, "del");
	put_words(pb, b, pre, nb - suf, "ins");
	put_words(pb, a, na - suf, na, NULL);
	if (pb->bpos > 0 && pb->buf[pb->bpos - 1] == ' ')
		pb->bpos--;
	out = json_object_new_string_len(pb->buf, pb->bpos);
	printbuf_free(pb);
	json_object_put(a);
	json_object_put(b);
	return out;
}

/* A member of a JSON text (an event value), or NULL. */
static struct json_object *
jget(struct json_object *o, const char *key)
{
	struct json_object	*v = NULL;

	if (o != NULL)
		json_object_object_get_ex(o, key, &v);
	return v;
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object	*v = jget(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* §6.16 summary of an event value; a new string or NULL. */
static struct json_object *
summary(const char *type, struct json_object *v, int new_side)
{
	const char	*c;
	char		 buf[512];

	if (v == NULL)
		return NULL;
	if (strcmp(type, "field_change_denied") == 0)
		c = jstr(v, new_side ? "denied_content" : "current_content");
	else if (strncmp(type, "field_", 6) == 0)
		c = jstr(v, "content") ? jstr(v, "content") : jstr(v, "value");
	else if (strcmp(type, "tag_added") == 0 || strcmp(type, "tag_removed") == 0) {
		snprintf(buf, sizeof(buf), "#%s", jstr(v, "content") ? jstr(v, "content") : "");
		return json_object_new_string(buf);
	} else if (strcmp(type, "note_moved") == 0) {
		c = jstr(v, new_side ? "to" : "from");
		return json_object_new_string(c && *c ? c : "deck updated");
	} else if (strcmp(type, "note_deleted") == 0)
		return json_object_new_string("note deleted");
	else if (strcmp(type, "commit_approved_effect") == 0)
		return json_object_new_string("commit approved");
	else if (strcmp(type, "commit_denied_effect") == 0)
		return json_object_new_string("commit denied");
	else if (strcmp(type, "suggestion_denied") == 0)
		return json_object_new_string("suggestion denied");
	else if (strcmp(type, "tag_change_denied") == 0) {
		c = jstr(v, "content");
		if (c == NULL || *c == '\0')
			return json_object_new_string("tag change denied");
		snprintf(buf, sizeof(buf), "Denied %s tag #%s",
		    jget(v, "action") == NULL || json_object_get_boolean(jget(v, "action")) ?
		    "adding" : "removing", c);
		return json_object_new_string(buf);
	} else
		return NULL;
	return c != NULL ? json_object_new_string(c) : NULL;
}

static const char *
jtext(struct json_object *s)
{
	return s != NULL ? json_object_get_string(s) : NULL;
}

/* Events of the commit, and the four summaries derived from them. */
static int
snapshot_events(int64_t commit, struct json_object *root)
{
	static const char sql[] =
	    "SELECT e.note_id, n.guid, e.version, e.event_type, e.created_at, e.old_value,"
	    " e.new_value, e.approved, n.notetype FROM note_events e"
	    " LEFT JOIN notes n ON n.id = e.note_id WHERE e.commit_id = ?1"
	    " ORDER BY e.note_id, e.version, e.id";
	static const char fname_sql[] =
	    "SELECT name FROM notetype_field WHERE notetype = ?1 AND position = ?2";
	struct json_object	*events, *fields, *tags, *deleted, *moves, *ev, *ov, *nv, *o;
	struct json_object	*ot, *nt, *pos;
	sqlite3_stmt		*st, *fs;
	const char		*type;
	int64_t			 note, last_deleted = -1;
	int			 rc;

	events = json_object_new_array();
	fields = json_object_new_array();
	tags = json_object_new_array();
	deleted = json_object_new_array();
	moves = json_object_new_array();
	json_object_object_add(root, "field_changes", fields);
	json_object_object_add(root, "tag_changes", tags);
	json_object_object_add(root, "deleted_note_ids", deleted);
	json_object_object_add(root, "move_changes", moves);
	json_object_object_add(root, "events", events);
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, commit);
	while ((rc = db_step(st)) == DB_ROW) {
		note = sqlite3_column_int64(st, 0);
		type = (const char *)sqlite3_column_text(st, 3);
		ov = sqlite3_column_text(st, 5) ?
		    json_tokener_parse((const char *)sqlite3_column_text(st, 5)) : NULL;
		nv = sqlite3_column_text(st, 6) ?
		    json_tokener_parse((const char *)sqlite3_column_text(st, 6)) : NULL;
		ot = summary(type, ov, 0);
		nt = summary(type, nv != NULL ? nv : (strstr(type, "_denied") ? ov : NULL), 1);
		ev = json_object_new_object();
		json_object_object_add(ev, "note_id", json_object_new_int64(note));
		json_object_object_add(ev, "note_guid", text_or_null(st, 1));
		json_object_object_add(ev, "version", json_object_new_int64(
		    sqlite3_column_int64(st, 2)));
		json_object_object_add(ev, "event_type", json_object_new_string(type));
		o = NULL;
		if (strstr(type, "field") != NULL) {
			pos = jget(nv, "position") ? jget(nv, "position") : jget(ov, "position");
			if (pos != NULL && (fs = db_stmt(apid->db, fname_sql)) != NULL) {
				sqlite3_bind_int64(fs, 1, sqlite3_column_int64(st, 8));
				sqlite3_bind_int64(fs, 2, json_object_get_int64(pos));
				if (db_step(fs) == DB_ROW)
					o = text_or_null(fs, 0);
				db_stmt_done(fs);
			}
		}
		json_object_object_add(ev, "field_name", o);
		json_object_object_add(ev, "created_at", time_json(db_column_time(st, 4)));
		json_object_object_add(ev, "old_text", json_object_get(ot));
		json_object_object_add(ev, "new_text", json_object_get(nt));
		json_object_object_add(ev, "diff_html", strcmp(type, "field_updated") == 0 ?
		    diff_html(jtext(ot), jtext(nt)) : NULL);
		json_object_array_add(events, ev);

		if (strncmp(type, "field_", 6) == 0) {
			pos = jget(nv, "position") ? jget(nv, "position") : jget(ov, "position");
			o = json_object_new_object();
			json_object_object_add(o, "note_id", json_object_new_int64(note));
			json_object_object_add(o, "position",
			    json_object_new_int(pos ? json_object_get_int(pos) : 0));
			json_object_object_add(o, "previous_content", json_object_get(ot));
			json_object_object_add(o, "suggested_content",
			    json_object_new_string(nt ? json_object_get_string(nt) : ""));
			json_object_object_add(o, "reviewed",
			    json_object_new_boolean(sqlite3_column_int(st, 7)));
			json_object_array_add(fields, o);
		} else if (strcmp(type, "tag_added") == 0 || strcmp(type, "tag_removed") == 0 ||
		    strcmp(type, "tag_change_denied") == 0) {
			o = json_object_new_object();
			json_object_object_add(o, "note_id", json_object_new_int64(note));
			json_object_object_add(o, "content", json_object_new_string(
			    jstr(nv, "content") ? jstr(nv, "content") :
			    jstr(ov, "content") ? jstr(ov, "content") : ""));
			json_object_object_add(o, "action", json_object_new_boolean(
			    strcmp(type, "tag_removed") == 0 ? 0 :
			    strcmp(type, "tag_change_denied") == 0 ?
			    (jget(nv, "action") ? json_object_get_boolean(jget(nv, "action")) :
			    jget(ov, "action") ? json_object_get_boolean(jget(ov, "action")) : 1) :
			    1));
			json_object_object_add(o, "reviewed",
			    json_object_new_boolean(sqlite3_column_int(st, 7)));
			json_object_array_add(tags, o);
		} else if (strcmp(type, "note_deleted") == 0 && note != last_deleted) {
			json_object_array_add(deleted, json_object_new_int64(note));
			last_deleted = note;
		} else if (strcmp(type, "note_moved") == 0) {
			o = json_object_new_object();
			json_object_object_add(o, "note_id", json_object_new_int64(note));
			json_object_object_add(o, "from_deck", json_object_get(ot));
			json_object_object_add(o, "to_deck", json_object_get(nt));
			json_object_array_add(moves, o);
		}
		json_object_put(ot);
		json_object_put(nt);
		json_object_put(ov);
		json_object_put(nv);
	}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

static void
get_snapshot(struct apid_call *call)
{
	static const char sql[] =
	    "SELECT c.commit_id, c.rationale, c.info, c.timestamp, d.full_path,"
	    " coalesce(u.username, 'Unknown'),"
	    " (SELECT status FROM notifications WHERE commit_id = c.commit_id AND user_id = ?2"
	    "  ORDER BY created_at DESC, id DESC LIMIT 1),"
	    " (SELECT reason FROM notifications WHERE commit_id = c.commit_id AND user_id = ?2"
	    "  ORDER BY created_at DESC, id DESC LIMIT 1)"
	    " FROM commits c JOIN decks d ON d.id = c.deck LEFT JOIN users u ON u.id = c.user_id"
	    " WHERE c.commit_id = ?1 AND EXISTS (SELECT 1 FROM notifications"
	    "  WHERE commit_id = c.commit_id AND user_id = ?2)";
	const char		*tail = http_req_path_tail(call->req);
	struct json_object	*root = NULL;
	sqlite3_stmt		*st;
	char			*end, msg[128];
	long long		 id;
	int			 rc;

	errno = 0;
	id = strtoll(tail, &end, 10);
	if (*tail == '\0' || *end != '\0' || errno != 0 || id < INT32_MIN || id > INT32_MAX ||
	    !(isdigit((unsigned char)*tail) || *tail == '-')) {
		snprintf(msg, sizeof(msg), "Invalid URL: Cannot parse `%.64s` to a `i32`", tail);
		call_text(call, 400, msg);
		return;
	}
	if (db_begin_read(apid->db) != DB_OK || (st = db_stmt(apid->db, sql)) == NULL) {
		db_rollback(apid->db);
		error_json(call, 500, "Failed to fetch commit snapshot");
		return;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, call->user_id);
	if ((rc = db_step(st)) == DB_ROW) {
		root = json_object_new_object();
		json_object_object_add(root, "commit_id",
		    json_object_new_int64(sqlite3_column_int64(st, 0)));
		json_object_object_add(root, "rationale",
		    json_object_new_int(sqlite3_column_int(st, 1)));
		json_object_object_add(root, "info", json_object_new_string(
		    sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : ""));
		json_object_object_add(root, "timestamp", time_json(db_column_time(st, 3)));
		json_object_object_add(root, "deck_name",
		    deck_name((const char *)sqlite3_column_text(st, 4)));
		json_object_object_add(root, "author", text_or_null(st, 5));
		json_object_object_add(root, "decision_status", text_or_null(st, 6));
		json_object_object_add(root, "decision_reason", text_or_null(st, 7));
	}
	db_stmt_done(st);
	if (rc == DB_ROW && snapshot_events(id, root) == -1)
		rc = DB_ERR;
	db_rollback(apid->db);
	if (rc < 0) {
		json_object_put(root);
		error_json(call, 500, "Failed to fetch commit snapshot");
	} else if (rc != DB_ROW)
		error_json(call, 404, "Commit not found");
	else
		call_json(call, 200, root);
}

static const struct apid_route r_unread = { AUTH_REQ, BODY_NONE, get_notifications, NULL, NULL };
static const struct apid_route r_history = { AUTH_REQ, BODY_NONE, get_history, NULL, NULL };
static const struct apid_route r_mark = { AUTH_REQ, BODY_JSON, mark_read, NULL, NULL };
static const struct apid_route r_snapshot = { AUTH_REQ, BODY_NONE, get_snapshot, NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/GetNotifications", HTTP_GET, 0, &r_unread),
	APID_ROUTE("/GetNotificationsHistory", HTTP_GET, 0, &r_history),
	APID_ROUTE("/MarkNotificationsRead", HTTP_POST, BODY_LIMIT_JSON, &r_mark),
	APID_ROUTE("/GetCommitSnapshot/*", HTTP_GET, 0, &r_snapshot),
};

const struct apid_area notify_area = { routes, sizeof(routes) / sizeof(routes[0]) };
