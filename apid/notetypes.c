/*
 * notetypes.c — shapes of uploaded notetypes and notes, and the owner's copy
 * of a notetype (spec/api.md §3.1, §6.3 "notetype matching").
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apid/notetypes.h"
#include "apid/sanitize.h"
#include "common/db.h"
#include "common/log.h"

/* ---- shapes --------------------------------------------------------------- */

enum vkind { V_STR, V_BOOL, V_I32, V_I64, V_OPT_I32, V_OPT_I64, V_ARRAY };

struct vkey {
	const char	*key;
	enum vkind	 kind;
};

static const struct vkey model_keys[] = {
	{ "crowdanki_uuid", V_STR }, { "css", V_STR }, { "flds", V_ARRAY },
	{ "latexPost", V_STR }, { "latexPre", V_STR }, { "latexsvg", V_BOOL },
	{ "name", V_STR }, { "originalStockKind", V_OPT_I32 }, { "req", V_ARRAY },
	{ "sortf", V_I32 }, { "tmpls", V_ARRAY }, { "type", V_I32 },
};

static const struct vkey field_keys[] = {
	{ "description", V_STR }, { "font", V_STR }, { "id", V_OPT_I64 },
	{ "name", V_STR }, { "ord", V_I32 }, { "rtl", V_BOOL }, { "size", V_I32 },
	{ "sticky", V_BOOL }, { "tag", V_OPT_I32 },
};

static const struct vkey template_keys[] = {
	{ "afmt", V_STR }, { "bafmt", V_STR }, { "bfont", V_STR }, { "bqfmt", V_STR },
	{ "bsize", V_I32 }, { "id", V_OPT_I64 }, { "name", V_STR }, { "ord", V_I32 },
	{ "qfmt", V_STR },
};

static const struct vkey note_keys[] = {
	{ "id", V_I64 }, { "guid", V_STR }, { "note_model_uuid", V_STR },
	{ "fields", V_ARRAY }, { "tags", V_ARRAY },
};

#define NKEYS(a)	(sizeof(a) / sizeof((a)[0]))

/* Whether v is a JSON integer in [min, max] (serde refuses 1.0 for an int). */
static int
int_in(struct json_object *v, int64_t min, int64_t max)
{
	int64_t	i;

	if (!json_object_is_type(v, json_type_int))
		return 0;
	i = json_object_get_int64(v);
	/* json-c keeps integers above INT64_MAX as uint64 and clamps them here. */
	if (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return 0;
	return i >= min && i <= max;
}

static int
value_ok(struct json_object *v, enum vkind kind)
{
	switch (kind) {
	case V_STR:
		return json_object_is_type(v, json_type_string);
	case V_BOOL:
		return json_object_is_type(v, json_type_boolean);
	case V_OPT_I32:
		if (v == NULL)
			return 1;
		/* FALLTHROUGH */
	case V_I32:
		return int_in(v, INT32_MIN, INT32_MAX);
	case V_OPT_I64:
		if (v == NULL)
			return 1;
		/* FALLTHROUGH */
	case V_I64:
		return int_in(v, INT64_MIN, INT64_MAX);
	case V_ARRAY:
		return json_object_is_type(v, json_type_array);
	}
	return 0;
}

/* An object with every key of the table, each of its kind. */
static int
object_ok(struct json_object *o, const struct vkey *keys, size_t n)
{
	struct json_object	*v;
	size_t			 i;

	if (!json_object_is_type(o, json_type_object))
		return 0;
	for (i = 0; i < n; i++) {
		/* An optional key may be absent; a required one may not be null. */
		if (!json_object_object_get_ex(o, keys[i].key, &v) &&
		    keys[i].kind != V_OPT_I32 && keys[i].kind != V_OPT_I64)
			return 0;
		if (!value_ok(v, keys[i].kind))
			return 0;
	}
	return 1;
}

/* Every element of the array member key is an object with those keys. */
static int
objects_ok(struct json_object *o, const char *key, const struct vkey *keys, size_t n)
{
	struct json_object	*a = member(o, key);
	size_t			 i;

	for (i = 0; i < json_object_array_length(a); i++)
		if (!object_ok(json_object_array_get_idx(a, i), keys, n))
			return 0;
	return 1;
}

/* Every element of the array member key is a string. */
static int
strings_ok(struct json_object *o, const char *key)
{
	struct json_object	*a = member(o, key);
	size_t			 i;

	for (i = 0; i < json_object_array_length(a); i++)
		if (!json_object_is_type(json_object_array_get_idx(a, i), json_type_string))
			return 0;
	return 1;
}

/*
 * One card requirement in the stored objects form, from Anki's positional
 * [ord, kind, [field ords]] or from that form itself; NULL if neither.
 */
static struct json_object *
req_entry(struct json_object *e)
{
	struct json_object	*ord, *kind, *fords, *out, *ords;
	size_t			 i, n;

	if (json_object_is_type(e, json_type_array)) {
		if (json_object_array_length(e) != 3)
			return NULL;
		ord = json_object_array_get_idx(e, 0);
		kind = json_object_array_get_idx(e, 1);
		fords = json_object_array_get_idx(e, 2);
	} else if (json_object_is_type(e, json_type_object)) {
		ord = member(e, "card_ord");
		kind = member(e, "kind");
		fords = member(e, "field_ords");
	} else
		return NULL;
	if (!int_in(ord, INT32_MIN, INT32_MAX) || !json_object_is_type(kind, json_type_string) ||
	    !json_object_is_type(fords, json_type_array))
		return NULL;
	n = json_object_array_length(fords);
	for (i = 0; i < n; i++)
		if (!int_in(json_object_array_get_idx(fords, i), INT32_MIN, INT32_MAX))
			return NULL;
	if ((out = json_object_new_object()) == NULL || (ords = json_object_new_array()) == NULL) {
		json_object_put(out);
		return NULL;
	}
	json_object_object_add(out, "card_ord", json_object_new_int64(json_object_get_int64(ord)));
	json_object_object_add(out, "kind", json_object_new_string_len(
	    json_object_get_string(kind), json_object_get_string_len(kind)));
	for (i = 0; i < n; i++)
		json_object_array_add(ords, json_object_new_int64(
		    json_object_get_int64(json_object_array_get_idx(fords, i))));
	json_object_object_add(out, "field_ords", ords);
	return out;
}

/* The model's req as stored: compact JSON, objects form. NULL if malformed. */
static char *
req_text(struct json_object *model)
{
	struct json_object	*req = member(model, "req"), *out, *e;
	char			*text = NULL;
	size_t			 i;

	if ((out = json_object_new_array()) == NULL)
		return NULL;
	for (i = 0; i < json_object_array_length(req); i++) {
		if ((e = req_entry(json_object_array_get_idx(req, i))) == NULL)
			goto done;
		json_object_array_add(out, e);
	}
	text = strdup(json_object_to_json_string_ext(out,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
done:
	json_object_put(out);
	return text;
}

int
notetype_valid(struct json_object *model)
{
	char	*req;

	if (!object_ok(model, model_keys, NKEYS(model_keys)) ||
	    !objects_ok(model, "flds", field_keys, NKEYS(field_keys)) ||
	    !objects_ok(model, "tmpls", template_keys, NKEYS(template_keys)) ||
	    (req = req_text(model)) == NULL)
		return 0;
	free(req);
	return 1;
}

int
notetype_note_valid(struct json_object *note)
{
	return object_ok(note, note_keys, NKEYS(note_keys)) && strings_ok(note, "fields") &&
	    strings_ok(note, "tags");
}

/* ---- texts --------------------------------------------------------------------- */

static int64_t
opt_int(struct json_object *o, const char *key)
{
	return json_object_get_int64(member(o, key));	/* 0 for NULL */
}

/* The cleaned member key (a string) in buf->data. NOTETYPE_OK or _EINPUT. */
static int
clean(struct json_object *o, const char *key, struct sanitize_buf *buf)
{
	struct json_object *v = member(o, key);

	buf->len = 0;
	if (sanitize_html(json_object_get_string(v), (size_t)json_object_get_string_len(v),
	    buf) == -1) {
		log_debug("notetype: %s not cleaned: %s", key, strerror(errno));
		return NOTETYPE_EINPUT;
	}
	return NOTETYPE_OK;
}

/* Whether column col equals len bytes at s. */
static int
col_is(sqlite3_stmt *st, int col, const char *s, size_t len)
{
	const void *c = sqlite3_column_blob(st, col);

	return (size_t)sqlite3_column_bytes(st, col) == len && (len == 0 || memcmp(c, s, len) == 0);
}

/* Whether column col equals the string member key of o. */
static int
col_is_member(sqlite3_stmt *st, int col, struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return col_is(st, col, json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

static int
bind_member(sqlite3_stmt *st, int idx, struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return sqlite3_bind_text(st, idx, json_object_get_string(v),
	    json_object_get_string_len(v), SQLITE_STATIC);
}

/* Binds the cleaned member key; the statement keeps its own copy. */
static int
bind_clean(sqlite3_stmt *st, int idx, struct json_object *o, const char *key,
    struct sanitize_buf *buf)
{
	if (clean(o, key, buf) != NOTETYPE_OK)
		return NOTETYPE_EINPUT;
	sqlite3_bind_text(st, idx, buf->data, (int)buf->len, SQLITE_TRANSIENT);
	return NOTETYPE_OK;
}

/* ---- matching -------------------------------------------------------------------- */

static int
by_guid(struct db *db, int64_t owner, struct json_object *model, int64_t *id)
{
	static const char sql[] = "SELECT id FROM notetype WHERE guid = ?1 AND owner = ?2";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return NOTETYPE_EDB;
	bind_member(st, 1, model, "crowdanki_uuid");
	sqlite3_bind_int64(st, 2, owner);
	if ((rc = db_step(st)) == DB_ROW)
		*id = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc == DB_ROW ? NOTETYPE_OK : rc == DB_OK ? NOTETYPE_NONE : NOTETYPE_EDB;
}

/* Field i matches by equal non-zero Anki id, else by equal (cleaned) name. */
static int
fields_match(struct db *db, int64_t nt, struct json_object *flds, struct sanitize_buf *buf)
{
	static const char sql[] =
	    "SELECT anki_id, name FROM notetype_field WHERE notetype = ?1 ORDER BY position";
	struct json_object	*f;
	sqlite3_stmt		*st;
	size_t			 i = 0, n = json_object_array_length(flds);
	int			 rc = DB_OK, res = NOTETYPE_OK;

	if ((st = db_stmt(db, sql)) == NULL)
		return NOTETYPE_EDB;
	sqlite3_bind_int64(st, 1, nt);
	while (res == NOTETYPE_OK && (rc = db_step(st)) == DB_ROW) {
		if (i == n) {
			res = NOTETYPE_NONE;
			break;
		}
		f = json_object_array_get_idx(flds, i++);
		if (opt_int(f, "id") != 0 && opt_int(f, "id") == sqlite3_column_int64(st, 0))
			continue;
		if ((res = clean(f, "name", buf)) == NOTETYPE_OK &&
		    !col_is(st, 1, buf->data, buf->len))
			res = NOTETYPE_NONE;
	}
	db_stmt_done(st);
	if (res == NOTETYPE_OK && rc < 0)
		return NOTETYPE_EDB;
	return res == NOTETYPE_OK && i != n ? NOTETYPE_NONE : res;
}

/*
 * Template i matches by equal non-zero Anki id, else by equal texts (for
 * "projektanki" notetypes, whose add-on rewrites the texts: by equal name).
 */
static int
templates_match(struct db *db, int64_t nt, struct json_object *tmpls, int by_name,
    struct sanitize_buf *buf)
{
	static const char sql[] =
	    "SELECT anki_id, qfmt, afmt, bqfmt, bafmt, name FROM notetype_template"
	    " WHERE notetype = ?1 ORDER BY position";
	struct json_object	*t;
	sqlite3_stmt		*st;
	size_t			 i = 0, n = json_object_array_length(tmpls);
	int			 rc = DB_OK, res = NOTETYPE_OK;

	if ((st = db_stmt(db, sql)) == NULL)
		return NOTETYPE_EDB;
	sqlite3_bind_int64(st, 1, nt);
	while (res == NOTETYPE_OK && (rc = db_step(st)) == DB_ROW) {
		if (i == n) {
			res = NOTETYPE_NONE;
			break;
		}
		t = json_object_array_get_idx(tmpls, i++);
		if (opt_int(t, "id") != 0 && opt_int(t, "id") == sqlite3_column_int64(st, 0))
			continue;
		if (by_name) {
			if ((res = clean(t, "name", buf)) == NOTETYPE_OK &&
			    !col_is(st, 5, buf->data, buf->len))
				res = NOTETYPE_NONE;
		} else if (!col_is_member(st, 1, t, "qfmt") || !col_is_member(st, 2, t, "afmt") ||
		    !col_is_member(st, 3, t, "bqfmt") || !col_is_member(st, 4, t, "bafmt"))
			res = NOTETYPE_NONE;
	}
	db_stmt_done(st);
	if (res == NOTETYPE_OK && rc < 0)
		return NOTETYPE_EDB;
	return res == NOTETYPE_OK && i != n ? NOTETYPE_NONE : res;
}

/* Ids of the owner's notetypes of the model's type and req, lowest first. */
static int
candidates(struct db *db, int64_t owner, struct json_object *model, const char *req,
    int64_t **ids, size_t *n)
{
	static const char sql[] =
	    "SELECT id FROM notetype WHERE owner = ?1 AND type = ?2 AND req IS ?3 ORDER BY id";
	sqlite3_stmt	*st;

	*ids = NULL;
	*n = 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return NOTETYPE_EDB;
	sqlite3_bind_int64(st, 1, owner);
	sqlite3_bind_int64(st, 2, opt_int(model, "type"));
	sqlite3_bind_text(st, 3, req, -1, SQLITE_STATIC);
	return db_ids(st, ids, n) == DB_OK ? NOTETYPE_OK : NOTETYPE_EDB;
}

/* Whether notetype nt equals the model in substance (rule 2). */
static int
same_notetype(struct db *db, int64_t nt, struct json_object *model, struct sanitize_buf *buf)
{
	static const char sql[] =
	    "SELECT original_stock_kind, name FROM notetype WHERE id = ?1";
	struct json_object	*osk = member(model, "originalStockKind");
	sqlite3_stmt		*st;
	int			 rc, res = NOTETYPE_NONE, by_name = 0;

	if ((st = db_stmt(db, sql)) == NULL)
		return NOTETYPE_EDB;
	sqlite3_bind_int64(st, 1, nt);
	if ((rc = db_step(st)) == DB_ROW) {
		/* The stored kind is always set; a model may have none. */
		if (osk == NULL || json_object_get_int64(osk) == sqlite3_column_int64(st, 0))
			res = NOTETYPE_OK;
		by_name = strcasestr((const char *)sqlite3_column_text(st, 1), "projektanki") != NULL ||
		    strcasestr(json_object_get_string(member(model, "name")), "projektanki") != NULL;
	}
	db_stmt_done(st);
	if (rc < 0)
		return NOTETYPE_EDB;
	if (res == NOTETYPE_OK)
		res = fields_match(db, nt, member(model, "flds"), buf);
	if (res == NOTETYPE_OK)
		res = templates_match(db, nt, member(model, "tmpls"), by_name, buf);
	return res;
}

static int
by_substance(struct db *db, int64_t owner, struct json_object *model, const char *req,
    int64_t *id, struct sanitize_buf *buf)
{
	int64_t	*ids;
	size_t	 i, n;
	int	 rc;

	if ((rc = candidates(db, owner, model, req, &ids, &n)) != NOTETYPE_OK)
		return rc;
	for (i = 0, rc = NOTETYPE_NONE; i < n && rc == NOTETYPE_NONE; i++)
		if ((rc = same_notetype(db, ids[i], model, buf)) == NOTETYPE_OK)
			*id = ids[i];
	free(ids);
	return rc;
}

static int
match(struct db *db, int64_t owner, struct json_object *model, const char *req,
    int64_t *id, struct sanitize_buf *buf)
{
	int	rc;

	if ((rc = by_guid(db, owner, model, id)) != NOTETYPE_NONE)
		return rc;
	return by_substance(db, owner, model, req, id, buf);
}

int
notetype_match(struct db *db, int64_t owner, struct json_object *model, int64_t *id)
{
	struct sanitize_buf	 buf = { 0 };
	char			*req;
	int			 rc;

	if ((req = req_text(model)) == NULL)
		return NOTETYPE_EDB;	/* a valid model: out of memory */
	rc = match(db, owner, model, req, id, &buf);
	sanitize_buf_free(&buf);
	free(req);
	return rc;
}

/* ---- inserting ---------------------------------------------------------------------- */

static int
step_done(sqlite3_stmt *st)
{
	int	rc = db_step(st);

	db_stmt_done(st);
	return rc == DB_OK ? NOTETYPE_OK : NOTETYPE_EDB;
}

static int
insert_fields(struct db *db, int64_t nt, struct json_object *flds, struct sanitize_buf *buf)
{
	static const char sql[] =
	    "INSERT INTO notetype_field (notetype, description, font, name, ord, rtl, size,"
	    " sticky, position, protected, anki_id, tag)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11)";
	struct json_object	*f;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 rc = NOTETYPE_OK;

	for (i = 0; i < json_object_array_length(flds) && rc == NOTETYPE_OK; i++) {
		f = json_object_array_get_idx(flds, i);
		if ((st = db_stmt(db, sql)) == NULL)
			return NOTETYPE_EDB;
		sqlite3_bind_int64(st, 1, nt);
		bind_member(st, 3, f, "font");
		sqlite3_bind_int64(st, 5, opt_int(f, "ord"));
		sqlite3_bind_int(st, 6, json_object_get_boolean(member(f, "rtl")));
		sqlite3_bind_int64(st, 7, opt_int(f, "size"));
		sqlite3_bind_int(st, 8, json_object_get_boolean(member(f, "sticky")));
		sqlite3_bind_int64(st, 9, (int64_t)i);
		sqlite3_bind_int64(st, 10, opt_int(f, "id"));
		sqlite3_bind_int64(st, 11, opt_int(f, "tag"));
		if ((rc = bind_clean(st, 2, f, "description", buf)) == NOTETYPE_OK &&
		    (rc = bind_clean(st, 4, f, "name", buf)) == NOTETYPE_OK)
			rc = step_done(st);
		else
			db_stmt_done(st);
	}
	return rc;
}

static int
insert_templates(struct db *db, int64_t nt, struct json_object *tmpls, struct sanitize_buf *buf)
{
	static const char sql[] =
	    "INSERT INTO notetype_template (notetype, qfmt, afmt, bqfmt, bafmt, bfont, bsize,"
	    " name, position, anki_id, ord) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	struct json_object	*t;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 rc = NOTETYPE_OK;

	for (i = 0; i < json_object_array_length(tmpls) && rc == NOTETYPE_OK; i++) {
		t = json_object_array_get_idx(tmpls, i);
		if ((st = db_stmt(db, sql)) == NULL)
			return NOTETYPE_EDB;
		sqlite3_bind_int64(st, 1, nt);
		bind_member(st, 2, t, "qfmt");
		bind_member(st, 3, t, "afmt");
		bind_member(st, 4, t, "bqfmt");
		bind_member(st, 5, t, "bafmt");
		bind_member(st, 6, t, "bfont");
		sqlite3_bind_int64(st, 7, opt_int(t, "bsize"));
		sqlite3_bind_int64(st, 9, (int64_t)i);
		sqlite3_bind_int64(st, 10, opt_int(t, "id"));
		sqlite3_bind_int64(st, 11, opt_int(t, "ord"));
		if ((rc = bind_clean(st, 8, t, "name", buf)) == NOTETYPE_OK)
			rc = step_done(st);
		else
			db_stmt_done(st);
	}
	return rc;
}

static int
insert_model(struct db *db, int64_t owner, struct json_object *model, const char *req,
    int64_t *id, struct sanitize_buf *buf)
{
	static const char sql[] =
	    "INSERT INTO notetype (guid, owner, css, latex_post, latex_pre, latex_svg, name,"
	    " type, original_stock_kind, sortf, req)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return NOTETYPE_EDB;
	bind_member(st, 1, model, "crowdanki_uuid");
	sqlite3_bind_int64(st, 2, owner);
	bind_member(st, 3, model, "css");
	bind_member(st, 4, model, "latexPost");
	bind_member(st, 5, model, "latexPre");
	sqlite3_bind_int(st, 6, json_object_get_boolean(member(model, "latexsvg")));
	sqlite3_bind_int64(st, 8, opt_int(model, "type"));
	sqlite3_bind_int64(st, 9, opt_int(model, "originalStockKind"));
	sqlite3_bind_int64(st, 10, opt_int(model, "sortf"));
	sqlite3_bind_text(st, 11, req, -1, SQLITE_STATIC);
	if ((rc = bind_clean(st, 7, model, "name", buf)) != NOTETYPE_OK) {
		db_stmt_done(st);
		return rc;
	}
	if ((rc = step_done(st)) != NOTETYPE_OK)
		return rc;
	*id = db_last_insert_id(db);
	if ((rc = insert_fields(db, *id, member(model, "flds"), buf)) != NOTETYPE_OK)
		return rc;
	return insert_templates(db, *id, member(model, "tmpls"), buf);
}

int
notetype_resolve(struct db *db, int64_t owner, struct json_object *model, int64_t *id,
    int *inserted)
{
	struct sanitize_buf	 buf = { 0 };
	char			*req;
	int			 rc;

	*inserted = 0;
	if ((req = req_text(model)) == NULL)
		return NOTETYPE_EDB;
	if ((rc = match(db, owner, model, req, id, &buf)) == NOTETYPE_NONE &&
	    (rc = insert_model(db, owner, model, req, id, &buf)) == NOTETYPE_OK)
		*inserted = 1;
	sanitize_buf_free(&buf);
	free(req);
	return rc;
}
