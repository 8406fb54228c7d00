/*
 * media.c — the add-on's media routes: /media/check/bulk, /media/confirm/bulk,
 * /media/manifest and /media/missing/{deck_hash} (spec/api.md §6.24–§6.26,
 * §6.28, §7). /media/sanitize/svg lives in svg.c.
 *
 * The bytes never pass through apid: it mints tokens for mediad's
 * /v1/media/{hash} and asks mediad (MEDIA_STAT, MEDIA_USAGE) what is
 * stored. DESIGN.md: while mediad is away these routes answer 503 with
 * Retry-After, and nothing else in apid cares.
 *
 * Choices: confirmation runs synchronously, before the answer (it is only
 * a MEDIA_STAT and one transaction here); mediad has already checked the
 * bytes against the hash and type when it stored them, so confirmation
 * checks presence and the announced size (±1 %) only. §9's quotas: the
 * global storage cap (max_storage_bytes, against mediad's usage) here, the
 * per-user, per-address and monthly ones in quota.c.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/deckhash.h"
#include "apid/decks.h"
#include "apid/quota.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"
#include "common/mediaclient.h"
#include "common/mediatoken.h"

#define MEDIA_CHECK_MAX		100		/* files per /media/check/bulk */
#define MEDIA_MANIFEST_MAX	500		/* names per /media/manifest */
#define MEDIA_FILE_MAX		10485760	/* bytes (§7.3) */
#define MEDIA_MANIFEST_TTL_US	(15 * 60 * INT64_C(1000000))
#define MEDIA_BULK_OP_TTL_S	3600		/* §7.6 */
#define MEDIA_RETRY_AFTER	"5"
#define MEDIA_TIMEOUT_MS	1000		/* apid's loop waits for mediad */

static struct mediaclient	mc;
static int			mc_ready;

static struct mediaclient *
media_client(void)
{
	if (!mc_ready) {
		mediaclient_init(&mc, &apid->d.cfg, MEDIA_TIMEOUT_MS);
		mc_ready = 1;
	}
	return &mc;
}

/* mediad did not answer: tell the add-on to come back, touch nothing. */
static void
media_away(struct apid_call *call)
{
	http_add_header(call->req, "Retry-After", MEDIA_RETRY_AFTER);
	call_text(call, 503, "Media storage temporarily unavailable");
}

/* ---- §7.3 names and types ------------------------------------------------------ */

static const struct {
	const char	*ext;
	const char	*mime;
} media_types[] = {
	{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "png", "image/png" },
	{ "gif", "image/gif" }, { "webp", "image/webp" }, { "svg", "image/svg+xml" },
	{ "bmp", "image/bmp" }, { "tif", "image/tiff" }, { "tiff", "image/tiff" },
	{ "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" },
};

/* The MIME type of an accepted extension, or NULL. */
static const char *
media_mime(const char *name)
{
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	if (dot == NULL || dot == name)
		return NULL;
	for (i = 0; i < sizeof(media_types) / sizeof(media_types[0]); i++)
		if (strcasecmp(dot + 1, media_types[i].ext) == 0)
			return media_types[i].mime;
	return NULL;
}

/*
 * One UTF-8 character at s: its code point and length, or 0 on a broken
 * sequence. Strings from json-c are valid UTF-8 already; this only walks.
 */
static size_t
utf8_next(const unsigned char *s, uint32_t *cp)
{
	size_t	n, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, *cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, *cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, *cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return n;
}

/*
 * Unicode alphanumeric, approximately: ASCII letters and digits, and any
 * code point beyond Latin-1's controls and punctuation. Letters of other
 * scripts are what real decks use; the rare non-ASCII symbol let through
 * is harmless (the name is only ever a map key, never a path).
 */
static int
media_alnum(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= '0' && cp <= '9') || ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
	return cp >= 0xc0 && cp != 0xd7 && cp != 0xf7;
}

/* §7.3: 1 if a file name is acceptable, else 0. */
static int
media_name_ok(const char *name)
{
	const unsigned char	*s = (const unsigned char *)name;
	size_t			 len = strlen(name), n;
	uint32_t		 cp;
	int			 alnum = 0, first = 1;

	if (len < 4 || len > 255 || strstr(name, "..") != NULL ||
	    name[len - 1] == '.' || name[len - 1] == ' ' || media_mime(name) == NULL)
		return 0;
	for (; *s != '\0'; s += n, first = 0) {
		if ((n = utf8_next(s, &cp)) == 0)
			return 0;
		if (media_alnum(cp))
			alnum = 1;
		else if (first && cp != '_')
			return 0;
		else if (cp == 0 || strchr(".-_ ()+,%&", (int)cp) == NULL)
			return 0;
	}
	return alnum;
}

static int
media_hash_ok(const char *hash)
{
	return strlen(hash) == MEDIA_MD5_HEX_LEN && media_hex_ok(hash, MEDIA_MD5_HEX_LEN);
}

/* ---- §7.4 references in field HTML ------------------------------------------------ */

typedef void	(*media_ref_fn)(void *arg, const char *name, size_t len);

static int
media_remote(const char *s, size_t len)
{
	return (len >= 7 && strncasecmp(s, "http://", 7) == 0) ||
	    (len >= 8 && strncasecmp(s, "https://", 8) == 0) ||
	    (len >= 5 && strncasecmp(s, "data:", 5) == 0);
}

/* [sound:NAME], the shortest match. */
static void
refs_sound(const char *html, media_ref_fn fn, void *arg)
{
	const char	*p = html, *end;

	while ((p = strstr(p, "[sound:")) != NULL) {
		p += 7;
		if ((end = strchr(p, ']')) == NULL)
			return;
		if (end > p)
			fn(arg, p, (size_t)(end - p));
		p = end + 1;
	}
}

/* Quoted src="…" / xlink:href="…" attributes, any case, any element. */
static void
refs_attrs(const char *html, media_ref_fn fn, void *arg)
{
	static const char *const attrs[] = { "src", "xlink:href" };
	const char	*p, *v, *end;
	size_t		 i, alen;

	for (p = html; *p != '\0'; p++) {
		for (i = 0; i < 2; i++) {
			alen = strlen(attrs[i]);
			if (strncasecmp(p, attrs[i], alen) != 0)
				continue;
			/* A whole attribute name, not the tail of data-src. */
			if (p > html && (p[-1] == '-' || p[-1] == ':' || p[-1] == '_' ||
			    ((p[-1] | 0x20) >= 'a' && (p[-1] | 0x20) <= 'z')))
				continue;
			v = p + alen;
			while (*v == ' ' || *v == '\t' || *v == '\n')
				v++;
			if (*v++ != '=')
				continue;
			while (*v == ' ' || *v == '\t' || *v == '\n')
				v++;
			if ((*v != '"' && *v != '\'') || (end = strchr(v + 1, *v)) == NULL)
				continue;
			v++;
			if (end > v && !media_remote(v, (size_t)(end - v)))
				fn(arg, v, (size_t)(end - v));
		}
	}
}

/* CSS url(NAME), url("NAME"), url('NAME'). */
static void
refs_css(const char *html, media_ref_fn fn, void *arg)
{
	const char	*p = html, *end;
	char		 q;

	while ((p = strstr(p, "url(")) != NULL) {
		p += 4;
		q = (*p == '"' || *p == '\'') ? *p++ : ')';
		if ((end = strchr(p, q)) == NULL)
			return;
		if (end > p && !media_remote(p, (size_t)(end - p)))
			fn(arg, p, (size_t)(end - p));
		p = end;
	}
}

/* latex-image-<word chars>.png */
static void
refs_latex(const char *html, media_ref_fn fn, void *arg)
{
	const char	*p = html, *w;

	while ((p = strstr(p, "latex-image-")) != NULL) {
		for (w = p + 12; *w == '_' || (*w >= '0' && *w <= '9') ||
		    ((*w | 0x20) >= 'a' && (*w | 0x20) <= 'z'); w++)
			;
		if (w > p + 12 && strncmp(w, ".png", 4) == 0)
			fn(arg, p, (size_t)(w + 4 - p));
		p = w;
	}
}

/* Every name html references (§7.4), raw, possibly more than once. */
static void
media_refs(const char *html, media_ref_fn fn, void *arg)
{
	refs_sound(html, fn, arg);
	refs_attrs(html, fn, arg);
	refs_css(html, fn, arg);
	refs_latex(html, fn, arg);
}

/* ---- shared SQL --------------------------------------------------------------------- */

/* Live notes of a deck subtree; ?1 is the deck id. */
#define TREE_CTE							\
	"WITH RECURSIVE tree(id) AS ("					\
	"  SELECT ?1 UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"

static int
run_stmt(sqlite3_stmt *st)
{
	int rc = db_step(st);

	db_stmt_done(st);
	return rc;
}

struct ref_match {
	const char	*name;
	int		 found;
};

static void
ref_match_fn(void *arg, const char *name, size_t len)
{
	struct ref_match *m = arg;

	if (strlen(m->name) == len && memcmp(m->name, name, len) == 0)
		m->found = 1;
}

/* Does html reference name (§7.4)? */
static int
refs_name(const char *html, const char *name)
{
	struct ref_match	m = { name, 0 };

	media_refs(html, ref_match_fn, &m);
	return m.found;
}

/*
 * The note that owns note's reference to name: its base note when a field
 * it inherits (§6.10: all, or the subscribed positions) references the
 * name, else the note itself. -1 on a DB fault.
 */
static int64_t
media_owner(int64_t note, const char *name)
{
	static const char sql[] =
	    "SELECT i.base_note_id, f.content FROM note_inheritance i"
	    " JOIN fields f ON f.note = i.base_note_id AND f.reviewed = 1"
	    " WHERE i.subscriber_note_id = ?1 AND instr(f.content, ?2) > 0"
	    " AND (i.subscribed_fields IS NULL OR f.position IN"
	    "      (SELECT value FROM json_each(i.subscribed_fields)))";
	sqlite3_stmt	*st;
	int64_t		 owner = note;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, note);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	while ((rc = db_step(st)) == DB_ROW)
		if (refs_name((const char *)sqlite3_column_text(st, 1), name)) {
			owner = sqlite3_column_int64(st, 0);
			break;
		}
	db_stmt_done(st);
	return rc < 0 ? -1 : owner;
}

/* ---- /media/check/bulk ------------------------------------------------------------------ */

struct check_file {
	json_object	*obj;
	const char	*hash, *name, *guid;
	int64_t		 size;
	int64_t		 note;		/* 0: unresolved, -1: placeholder (§7.6) */
	int64_t		 media;		/* media_files.id, 0 if not stored */
	int		 valid;
};

struct check {
	struct apid_call	*call;
	const char		*deck_hash;
	const char		*op;		/* bulk_operation_id, NULL if none */
	int64_t			 deck;
	struct check_file	 f[MEDIA_CHECK_MAX];
	size_t			 n;
	char			 batch[DECKHASH_UUID_STRLEN + 1];
	int			 batch_stored;
};

/* A string member of o, or NULL. */
static const char *
member_string(json_object *o, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Reads one files[] entry; 0, or -1 after answering 422. */
static int
check_read_file(struct check *c, size_t i, json_object *o)
{
	struct check_file	*f = &c->f[i];
	json_object		*v;

	f->obj = o;
	if (!json_object_is_type(o, json_type_object) ||
	    (f->hash = member_string(o, "hash")) == NULL ||
	    (f->name = member_string(o, "filename")) == NULL ||
	    (f->guid = member_string(o, "note_guid")) == NULL ||
	    !json_object_object_get_ex(o, "file_size", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		call_bad_shape(c->call,
		    "files[%zu]: expected hash, filename, note_guid and file_size", i);
		return -1;
	}
	f->size = json_object_get_int64(v);
	f->valid = media_name_ok(f->name) && media_hash_ok(f->hash);
	return 0;
}

/* Reads the body; 0, or -1 after answering. */
static int
check_read(struct check *c)
{
	json_object	*files, *v;
	size_t		 i;

	if ((c->deck_hash = call_json_string(c->call, "deck_hash")) == NULL)
		return -1;
	if (!json_object_object_get_ex(c->call->json, "files", &files) ||
	    !json_object_is_type(files, json_type_array)) {
		call_bad_shape(c->call, "missing field `files`");
		return -1;
	}
	if (json_object_object_get_ex(c->call->json, "bulk_operation_id", &v) &&
	    json_object_is_type(v, json_type_string) && *json_object_get_string(v) != '\0')
		c->op = json_object_get_string(v);
	if ((c->n = json_object_array_length(files)) == 0) {
		call_text(c->call, 400, "No files provided");
		return -1;
	}
	if (c->n > MEDIA_CHECK_MAX) {
		call_text(c->call, 400, "Too many files in single request");
		return -1;
	}
	for (i = 0; i < c->n; i++)
		if (check_read_file(c, i, json_object_array_get_idx(files, i)) == -1)
			return -1;
	return 0;
}

/*
 * §6.24 step 2: the live note of that GUID in the subtree; else -1 if a
 * live bulk operation of this deck still awaits it; else 0.
 */
static int
check_resolve(struct check *c, struct check_file *f)
{
	static const char note_sql[] = TREE_CTE
	    " SELECT n.id FROM notes n WHERE n.guid = ?2 AND n.deleted = 0"
	    " AND n.deck IN (SELECT id FROM tree) ORDER BY n.id LIMIT 1";
	static const char op_sql[] =
	    "SELECT 1 FROM bulk_operations o JOIN bulk_operation_guids g ON g.op_id = o.id"
	    " WHERE o.id = ?1 AND g.guid = ?2 AND o.created_at > ?3";
	sqlite3_stmt	*st;
	int		 rc;

	f->note = 0;
	if (c->deck > 0) {
		if ((st = db_stmt(apid->db, note_sql)) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, c->deck);
		sqlite3_bind_text(st, 2, f->guid, -1, SQLITE_STATIC);
		if ((rc = db_step(st)) == DB_ROW)
			f->note = sqlite3_column_int64(st, 0);
		db_stmt_done(st);
		if (rc < 0)
			return -1;
	}
	if (f->note > 0 && (f->note = media_owner(f->note, f->name)) == -1)
		return -1;
	if (f->note != 0 || c->op == NULL)
		return 0;
	if ((st = db_stmt(apid->db, op_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, c->op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->guid, -1, SQLITE_STATIC);
	db_bind_time(st, 3, db_now_us() - MEDIA_BULK_OP_TTL_S * INT64_C(1000000));
	if ((rc = db_step(st)) == DB_ROW)
		f->note = -1;
	db_stmt_done(st);
	return rc < 0 ? -1 : 0;
}

/* §6.24 steps 3–4: is the file stored, and if so reference it at once. */
static int
check_existing(struct check_file *f)
{
	static const char find_sql[] = "SELECT id FROM media_files WHERE hash = ?1";
	static const char ref_sql[] =
	    "INSERT INTO media_references (media_id, note_id, file_name) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (media_id, note_id) DO NOTHING";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, find_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, f->hash, -1, SQLITE_STATIC);
	f->media = 0;
	if ((rc = db_step(st)) == DB_ROW)
		f->media = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	if (rc < 0)
		return -1;
	if (f->media == 0 || f->note <= 0)
		return 0;
	if ((st = db_stmt(apid->db, ref_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, f->media);
	sqlite3_bind_int64(st, 2, f->note);
	sqlite3_bind_text(st, 3, f->name, -1, SQLITE_STATIC);
	return run_stmt(st) == DB_OK ? 0 : -1;
}

/*
 * §6.24 step 5, §9: the global storage cap (would the new bytes pass
 * max_storage_bytes?), then the user's, the address's and the month's
 * quotas for the files not stored yet. 1 allowed, 0 denied, -1 fault.
 */
static int
check_quota(struct check *c, uint64_t stored)
{
	uint64_t	add = 0, files = 0;
	size_t		 i, k;

	for (i = 0; i < c->n; i++) {
		if (!c->f[i].valid || c->f[i].media != 0)
			continue;
		for (k = 0; k < i; k++)	/* distinct hashes: one file stored per hash */
			if (c->f[k].valid && c->f[k].media == 0 &&
			    strcmp(c->f[k].hash, c->f[i].hash) == 0)
				break;
		if (k < i)
			continue;
		files++;
		if (c->f[i].size > 0)
			add += (uint64_t)c->f[i].size;
	}
	if (stored + add > apid->d.cfg.max_storage_bytes)
		return 0;
	return quota_upload_allowed(c->call->user_id, c->call->client_ip, files, add);
}

/* The batch row, the first time a file of it is missing. */
static int
check_batch_file(struct check *c, struct check_file *f)
{
	static const char batch_sql[] =
	    "INSERT INTO media_upload_batches"
	    " (id, user_id, deck_hash, bulk_operation_id, created_at)"
	    " VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char file_sql[] =
	    "INSERT OR IGNORE INTO media_upload_batch_files"
	    " (batch_id, hash, filename, note_id, file_size) VALUES (?1, ?2, ?3, ?4, ?5)";
	static const char log_sql[] =
	    "INSERT INTO media_operations_log (operation_type, user_id, ip_address, timestamp,"
	    " file_hash, file_name, file_size) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt	*st;

	if (!c->batch_stored) {
		if ((st = db_stmt(apid->db, batch_sql)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, c->batch, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, c->call->user_id);
		sqlite3_bind_text(st, 3, c->deck_hash, -1, SQLITE_STATIC);
		if (c->op != NULL)
			sqlite3_bind_text(st, 4, c->op, -1, SQLITE_STATIC);
		db_bind_time(st, 5, db_now_us());
		if (run_stmt(st) != DB_OK)
			return -1;
		c->batch_stored = 1;
	}
	if ((st = db_stmt(apid->db, file_sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, c->batch, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, f->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, f->note);
	sqlite3_bind_int64(st, 5, f->size);
	if (run_stmt(st) != DB_OK || (st = db_stmt(apid->db, log_sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, c->call->user_id);
	sqlite3_bind_text(st, 2, c->call->client_ip, -1, SQLITE_STATIC);
	db_bind_time(st, 3, db_now_us());
	sqlite3_bind_text(st, 4, f->hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, f->size);
	return run_stmt(st) == DB_OK ? 0 : -1;
}

/* "<public_url>/v1/media/<hash>?token=<tok>" as a new JSON string, or NULL. */
static json_object *
media_url(const struct mediatoken_claims *cl)
{
	const char	*base = apid->d.cfg.public_url;
	const char	*secret = apid->d.cfg.media_token_secret;
	char		 tok[MEDIATOKEN_MAX + 1];
	char		*url;
	size_t		 n = strlen(base);
	json_object	*s;

	if (mediatoken_mint(cl, secret, strlen(secret), tok, sizeof(tok)) == -1)
		return NULL;
	while (n > 0 && base[n - 1] == '/')
		n--;	/* a configured trailing '/' would double the separator */
	if (asprintf(&url, "%.*s/v1/media/%s?token=%s", (int)n, base, cl->hash, tok) == -1)
		return NULL;
	s = json_object_new_string(url);
	free(url);
	return s;
}

/* An upload URL for a missing file, or NULL. */
static json_object *
check_upload_url(struct check *c, struct check_file *f)
{
	struct mediatoken_claims	cl;

	mediatoken_claims_init(&cl, MEDIATOKEN_UPLOAD);
	if (strlen(c->deck_hash) >= sizeof(cl.deck_hash) || strlen(f->name) >= sizeof(cl.filename))
		return NULL;
	strcpy(cl.hash, f->hash);
	strcpy(cl.filename, f->name);
	strcpy(cl.deck_hash, c->deck_hash);
	strcpy(cl.batch_id, c->batch);
	cl.has_batch_id = 1;
	cl.user_id = (int32_t)c->call->user_id;
	cl.note_id = f->note;
	cl.file_size = f->size;
	cl.exp = (int64_t)time(NULL) + (int64_t)apid->d.cfg.upload_token_ttl_s;
	return media_url(&cl);
}

/* §6.24 step 6 for a valid file not stored yet: 1 missing, 0 failed, -1 fault. */
static int
check_missing(struct check *c, struct check_file *f, json_object *missing, const char **err)
{
	json_object	*o, *url;

	if (f->note == 0 || f->size <= 0 || f->size > MEDIA_FILE_MAX || media_mime(f->name) == NULL)
		return 0;
	if (check_batch_file(c, f) == -1) {
		*err = "Error storing upload metadata";
		return -1;
	}
	if ((url = check_upload_url(c, f)) == NULL) {
		*err = "Error generating upload link";
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "hash", json_object_new_string(f->hash));
	json_object_object_add(o, "note_id", json_object_new_int64(f->note));
	json_object_object_add(o, "filename", json_object_new_string(f->name));
	json_object_object_add(o, "file_size", json_object_new_int64(f->size));
	json_object_object_add(o, "upload_url", url);
	json_object_array_add(missing, o);
	return 1;
}

/* Steps 6–7: the answer's arrays; NULL with *err set after a fault. */
static json_object *
check_answer(struct check *c, const char **err)
{
	json_object	*ans, *existing, *missing, *failed, *o;
	struct check_file *f;
	size_t		 i;
	int		 r;

	ans = json_object_new_object();
	existing = json_object_new_array();
	missing = json_object_new_array();
	failed = json_object_new_array();
	json_object_object_add(ans, "existing_files", existing);
	json_object_object_add(ans, "missing_files", missing);
	json_object_object_add(ans, "failed_files", failed);
	for (i = 0; i < c->n; i++) {
		f = &c->f[i];
		if (f->valid && f->media > 0) {
			o = json_object_new_object();
			json_object_object_add(o, "hash", json_object_new_string(f->hash));
			json_object_object_add(o, "media_id", json_object_new_int64(f->media));
			json_object_array_add(existing, o);
			continue;
		}
		r = f->valid ? check_missing(c, f, missing, err) : 0;
		if (r == -1) {
			json_object_put(ans);
			return NULL;
		}
		if (r == 0)
			json_object_array_add(failed, json_object_get(f->obj));
	}
	json_object_object_add(ans, "batch_id", c->batch_stored ?
	    json_object_new_string(c->batch) : NULL);
	return ans;
}

static void
media_check(struct apid_call *call)
{
	struct check			*c;
	struct proto_media_usage	 usage;
	json_object			*ans = NULL;
	const char			*err = "Error processing request";
	uint8_t				 uuid[16];
	size_t				 i;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		call_text(call, 503, "Out of memory");
		return;
	}
	c->call = call;
	if (check_read(c) == -1)
		goto done;
	if (mediaclient_usage(media_client(), &usage) == -1) {
		media_away(call);
		goto done;
	}
	if (deckhash_uuid_random(uuid) == -1) {
		call_text(call, 500, "Internal error");
		goto done;
	}
	deckhash_uuid_format(uuid, c->batch);
	if ((c->deck = decks_find(c->deck_hash)) < 0 || db_begin(apid->db) != DB_OK) {
		call_text(call, 500, "Internal error");
		goto done;
	}
	for (i = 0; i < c->n; i++) {
		if (!c->f[i].valid)
			continue;
		if (check_resolve(c, &c->f[i]) == -1 || check_existing(&c->f[i]) == -1)
			goto fail;
	}
	switch (check_quota(c, usage.bytes)) {
	case 0:
		db_rollback(apid->db);
		call_text(call, 429, "You reached the upload limit. Please try again tomorrow.");
		goto done;
	case -1:
		goto fail;
	default:
		break;
	}
	if ((ans = check_answer(c, &err)) == NULL)
		goto fail;
	if (db_commit(apid->db) != DB_OK) {
		json_object_put(ans);
		call_text(call, 500, "Database commit failed");
		goto done;
	}
	call_json(call, 200, ans);
	goto done;
fail:
	db_rollback(apid->db);
	call_text(call, 500, err);
done:
	free(c);
}

/* ---- /media/confirm/bulk ------------------------------------------------------------- */

struct confirm_file {
	char	 hash[MEDIA_MD5_HEX_LEN + 1];
	char	*name;
	int64_t	 note;
	int64_t	 size;
};

struct confirm {
	struct apid_call	*call;
	json_object		*confirmed;
	const char		*batch;
	char			*op;		/* the batch's bulk operation, if live */
	char			*op_deck;	/* and its deck_hash */
	struct confirm_file	*f;
	size_t			 n;
};

static int
confirm_listed(json_object *confirmed, const char *hash)
{
	size_t	i, n = json_object_array_length(confirmed);

	for (i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(confirmed, i)),
		    hash) == 0)
			return 1;
	return 0;
}

/* §7.5 step 4: the batch's files the client says it uploaded. 0 or -1. */
static int
confirm_load(struct confirm *c)
{
	static const char sql[] =
	    "SELECT f.hash, f.filename, f.note_id, f.file_size, o.deck_hash, o.id"
	    " FROM media_upload_batch_files f JOIN media_upload_batches b ON b.id = f.batch_id"
	    " LEFT JOIN bulk_operations o ON o.id = b.bulk_operation_id"
	    " WHERE f.batch_id = ?1";
	struct confirm_file	*f, *nf;
	sqlite3_stmt		*st;
	const char		*hash, *name, *deck;
	int			 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, c->batch, -1, SQLITE_STATIC);
	while ((rc = db_step(st)) == DB_ROW) {
		hash = (const char *)sqlite3_column_text(st, 0);
		name = (const char *)sqlite3_column_text(st, 1);
		deck = (const char *)sqlite3_column_text(st, 4);
		if (deck != NULL && c->op_deck == NULL && ((c->op_deck = strdup(deck)) == NULL ||
		    (c->op = strdup((const char *)sqlite3_column_text(st, 5))) == NULL))
			break;
		if (!media_hash_ok(hash) || !media_name_ok(name) ||
		    !confirm_listed(c->confirmed, hash))
			continue;
		if ((nf = reallocarray(c->f, c->n + 1, sizeof(*nf))) == NULL)
			break;
		c->f = nf;
		f = &c->f[c->n];
		if ((f->name = strdup(name)) == NULL)
			break;
		strcpy(f->hash, hash);
		f->note = sqlite3_column_int64(st, 2);
		f->size = sqlite3_column_int64(st, 3);
		c->n++;
	}
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

/* §7.5 step 5, as far as mediad tells: stored, and about the announced size. */
static int
confirm_stored(const struct mediaclient_stat *s, int64_t announced)
{
	uint64_t	a = (uint64_t)announced;

	return s->present && !s->error && s->size > 0 && s->size <= MEDIA_FILE_MAX &&
	    s->size * 100 >= a * 99 && s->size * 100 <= a * 101;
}

/* get-or-insert media_files: its id, or -1. */
static int64_t
confirm_media_row(struct confirm *c, struct confirm_file *f, uint64_t size)
{
	static const char sql[] =
	    "INSERT INTO media_files (hash, file_size, mime, uploaded_by) VALUES (?1, ?2, ?3, ?4)"
	    " ON CONFLICT (hash) DO UPDATE SET hash = excluded.hash RETURNING id";
	sqlite3_stmt	*st;
	int64_t		 id = -1;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, f->hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)size);
	sqlite3_bind_text(st, 3, media_mime(f->name), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, c->call->user_id);
	if (db_step(st) == DB_ROW)
		id = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return id;
}

/* A reference from a live note; DB_OK also when the note is gone (nothing to do). */
static int
confirm_ref(int64_t media, int64_t note, const char *name)
{
	static const char sql[] =
	    "INSERT INTO media_references (media_id, note_id, file_name)"
	    " SELECT ?1, id, ?3 FROM notes WHERE id = ?2 AND deleted = 0"
	    " ON CONFLICT (media_id, note_id) DO NOTHING";
	sqlite3_stmt	*st;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, media);
	sqlite3_bind_int64(st, 2, note);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	return run_stmt(st);
}

/*
 * A placeholder file (note -1, §7.6): every live note of the operation
 * (its deck tree, its GUIDs) whose reviewed fields reference the name gets
 * a reference from its owner. The notes are collected before anything is
 * written; none, and the file is failed (no media_files row either).
 */
static int
confirm_placeholder(struct confirm *c, struct confirm_file *f, uint64_t size)
{
	static const char sql[] = TREE_CTE
	    " SELECT fl.note, fl.content FROM fields fl JOIN notes n ON n.id = fl.note"
	    " WHERE n.deck IN (SELECT id FROM tree) AND n.deleted = 0 AND fl.reviewed = 1"
	    " AND n.guid IN (SELECT guid FROM bulk_operation_guids WHERE op_id = ?3)"
	    " AND instr(fl.content, ?2) > 0";
	sqlite3_stmt	*st;
	int64_t		*notes = NULL, *nn, deck, media;
	size_t		 n = 0, i;
	int		 rc;

	if (c->op_deck == NULL || (deck = decks_find(c->op_deck)) <= 0)
		return DB_OK;
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, deck);
	sqlite3_bind_text(st, 2, f->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->op, -1, SQLITE_STATIC);
	while ((rc = db_step(st)) == DB_ROW) {
		if (!refs_name((const char *)sqlite3_column_text(st, 1), f->name))
			continue;
		if ((nn = reallocarray(notes, n + 1, sizeof(*nn))) == NULL) {
			rc = DB_ERR;
			break;
		}
		notes = nn;
		notes[n++] = sqlite3_column_int64(st, 0);
	}
	db_stmt_done(st);
	if (rc == DB_OK && n == 0)
		log_info("media confirm: no notes reference %s", f->name);
	if (rc == DB_OK && n > 0 && (media = confirm_media_row(c, f, size)) < 0)
		rc = DB_ERR;
	for (i = 0; rc == DB_OK && i < n; i++) {
		if ((notes[i] = media_owner(notes[i], f->name)) < 0)
			rc = DB_ERR;
		else
			rc = confirm_ref(media, notes[i], f->name);
	}
	free(notes);
	return rc;
}

/* §7.5 step 6: one transaction, the batch gone at its end. */
static int
confirm_store(struct confirm *c, const struct mediaclient_stat *st)
{
	static const char del_sql[] = "DELETE FROM media_upload_batches WHERE id = ?1";
	sqlite3_stmt	*s;
	int64_t		 media;
	uint64_t	 files = 0, bytes = 0;
	size_t		 i;
	int		 rc = DB_OK;

	if (db_begin(apid->db) != DB_OK)
		return -1;
	for (i = 0; rc == DB_OK && i < c->n; i++) {
		if (!confirm_stored(&st[i], c->f[i].size))
			continue;
		files++;
		bytes += st[i].size;
		if (c->f[i].note <= 0)
			rc = confirm_placeholder(c, &c->f[i], st[i].size);
		else if ((media = confirm_media_row(c, &c->f[i], st[i].size)) < 0)
			rc = DB_ERR;
		else
			rc = confirm_ref(media, c->f[i].note, c->f[i].name);
	}
	/* §9: the uploads count now that they are recorded (see quota.h). */
	if (rc == DB_OK && quota_uploaded(c->call->user_id, c->call->client_ip, files,
	    bytes) == -1)
		rc = DB_ERR;
	if (rc == DB_OK && (s = db_stmt(apid->db, del_sql)) != NULL) {
		sqlite3_bind_text(s, 1, c->batch, -1, SQLITE_STATIC);
		rc = run_stmt(s);
	}
	if (rc != DB_OK) {
		db_rollback(apid->db);
		return -1;
	}
	return db_commit(apid->db) == DB_OK ? 0 : -1;
}

static void
confirm_free(struct confirm *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		free(c->f[i].name);
	free(c->f);
	free(c->op_deck);
	free(c->op);
}

/*
 * Idempotent: the add-on resends, and a second confirmation of a batch
 * finds it gone. Per-file outcomes are not reported (§6.25), so faults
 * are logged; only an absent mediad is told, so the add-on retries later.
 */
static void
media_confirm(struct apid_call *call)
{
	static const char ok[] = "Thanks for sharing!";
	struct confirm		 c = { .call = call };
	struct mediaclient_stat	*st = NULL;
	const char		**hashes = NULL;
	size_t			 i, n;

	if ((c.batch = call_json_string(call, "batch_id")) == NULL)
		return;
	if (!json_object_object_get_ex(call->json, "confirmed_files", &c.confirmed) ||
	    !json_object_is_type(c.confirmed, json_type_array)) {
		call_bad_shape(call, "missing field `confirmed_files`");
		return;
	}
	n = json_object_array_length(c.confirmed);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(c.confirmed, i),
		    json_type_string)) {
			call_bad_shape(call, "confirmed_files[%zu]: expected a string", i);
			return;
		}
	if (n == 0 || confirm_load(&c) == -1 || c.n == 0)
		goto answer;
	if ((st = calloc(c.n, sizeof(*st))) == NULL ||
	    (hashes = calloc(c.n, sizeof(*hashes))) == NULL)
		goto answer;
	for (i = 0; i < c.n; i++)
		hashes[i] = c.f[i].hash;
	if (mediaclient_stat(media_client(), hashes, c.n, st) == -1) {
		media_away(call);
		goto done;
	}
	if (confirm_store(&c, st) == -1)
		log_warnx("media confirm: batch %s not stored", c.batch);
answer:
	call_text(call, 200, ok);
done:
	free(hashes);
	free(st);
	confirm_free(&c);
}

/* ---- /media/manifest ------------------------------------------------------------------ */

/* Returns the names as one JSON array text for json_each, or NULL after answering. */
static const char *
manifest_names(struct apid_call *call)
{
	json_object	*names, *v;
	size_t		 i, n;

	if (!json_object_object_get_ex(call->json, "filenames", &names) ||
	    !json_object_is_type(names, json_type_array)) {
		call_bad_shape(call, "missing field `filenames`");
		return NULL;
	}
	n = json_object_array_length(names);
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(names, i);
		if (!json_object_is_type(v, json_type_string)) {
			call_bad_shape(call, "filenames[%zu]: expected a string", i);
			return NULL;
		}
	}
	if (n == 0) {
		call_text(call, 400, "No filenames provided");
		return NULL;
	}
	if (n > MEDIA_MANIFEST_MAX) {
		call_text(call, 429, "Too many files requested.");
		return NULL;
	}
	return json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN);
}

/* One files[] entry; 0, or -1 if the token could not be made. */
static int
manifest_entry(struct apid_call *call, const char *deck_hash, const char *hash,
    const char *name, json_object *files)
{
	struct mediatoken_claims	 cl;
	json_object			*o, *url;

	mediatoken_claims_init(&cl, MEDIATOKEN_DOWNLOAD);
	if (strlen(hash) >= sizeof(cl.hash) || strlen(deck_hash) >= sizeof(cl.deck_hash) ||
	    strlen(name) >= sizeof(cl.filename))
		return -1;
	strcpy(cl.hash, hash);
	strcpy(cl.deck_hash, deck_hash);
	strcpy(cl.filename, name);
	cl.has_filename = 1;
	cl.user_id = (int32_t)call->user_id;
	cl.exp = (int64_t)time(NULL) + (int64_t)apid->d.cfg.download_token_ttl_s;
	if ((url = media_url(&cl)) == NULL)
		return -1;
	o = json_object_new_object();
	json_object_object_add(o, "filename", json_object_new_string(name));
	json_object_object_add(o, "download_url", url);
	json_object_array_add(files, o);
	return 0;
}

static void
media_manifest(struct apid_call *call)
{
	/* Notes of the subtree, and the base notes they inherit from. */
	static const char sql[] = TREE_CTE ","
	    " owners(id) AS ("
	    "  SELECT n.id FROM notes n WHERE n.deck IN (SELECT id FROM tree) AND n.deleted = 0"
	    "  UNION SELECT i.base_note_id FROM note_inheritance i JOIN notes n"
	    "    ON n.id = i.subscriber_note_id"
	    "    WHERE n.deck IN (SELECT id FROM tree) AND n.deleted = 0)"
	    " SELECT DISTINCT m.hash, r.file_name FROM media_references r"
	    " JOIN media_files m ON m.id = r.media_id"
	    " WHERE r.file_name IN (SELECT value FROM json_each(?2))"
	    " AND r.note_id IN (SELECT id FROM owners)";
	struct proto_media_usage	 usage;
	char				 exp[DB_TIME_LEN];
	const char			*deck_hash, *names;
	json_object			*ans, *files, *names_arr;
	sqlite3_stmt			*st;
	int64_t				 deck;
	int				 rc = DB_OK, allowed;

	if ((deck_hash = call_json_string(call, "deck_hash")) == NULL ||
	    (names = manifest_names(call)) == NULL)
		return;
	json_object_object_get_ex(call->json, "filenames", &names_arr);
	if (mediaclient_usage(media_client(), &usage) == -1) {
		media_away(call);
		return;
	}
	if ((deck = decks_find(deck_hash)) < 0 ||
	    (allowed = quota_download_allowed(call->user_id, call->client_ip,
	    json_object_array_length(names_arr))) == -1) {
		call_text(call, 500, "Internal error");
		return;
	}
	if (!allowed) {
		call_text(call, 429, "Download limit exceeded. Please try again tomorrow.");
		return;
	}
	files = json_object_new_array();
	if (deck > 0 && (st = db_stmt(apid->db, sql)) == NULL)
		rc = DB_ERR;
	else if (deck > 0) {
		sqlite3_bind_int64(st, 1, deck);
		sqlite3_bind_text(st, 2, names, -1, SQLITE_STATIC);
		while ((rc = db_step(st)) == DB_ROW)
			if (manifest_entry(call, deck_hash,
			    (const char *)sqlite3_column_text(st, 0),
			    (const char *)sqlite3_column_text(st, 1), files) == -1)
				break;
		db_stmt_done(st);
		if (rc == DB_ROW) {
			json_object_put(files);
			call_text(call, 500, "Error generating download link");
			return;
		}
	}
	if (rc != DB_OK) {
		json_object_put(files);
		call_text(call, 500, "Internal error");
		return;
	}
	if (quota_downloaded(call->user_id, call->client_ip,
	    json_object_array_length(files)) == -1)
		log_warnx("media manifest: downloads of user %lld not counted",
		    (long long)call->user_id);
	db_time_format_rfc3339(db_now_us() + MEDIA_MANIFEST_TTL_US, 9, exp, sizeof(exp));
	ans = json_object_new_object();
	json_object_object_add(ans, "file_count",
	    json_object_new_int64((int64_t)json_object_array_length(files)));
	json_object_object_add(ans, "files", files);
	json_object_object_add(ans, "expires_at", json_object_new_string(exp));
	call_json(call, 200, ans);
}

/* ---- /media/missing/{deck_hash} ------------------------------------------------------- */

struct missing {
	int64_t		 owner;
	json_object	*names;		/* a set: name → null */
	int		 fault;
};

/* A name some field references: keep it unless the owner note has it stored. */
static void
missing_ref(void *arg, const char *name, size_t len)
{
	static const char sql[] =
	    "SELECT 1 FROM media_references WHERE note_id = ?1 AND file_name = ?2";
	struct missing	*m = arg;
	sqlite3_stmt	*st;
	char		*s;
	int		 rc;

	if ((s = strndup(name, len)) == NULL || (st = db_stmt(apid->db, sql)) == NULL) {
		free(s);
		m->fault = 1;
		return;
	}
	sqlite3_bind_int64(st, 1, m->owner);
	sqlite3_bind_text(st, 2, s, -1, SQLITE_STATIC);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc == DB_OK)
		json_object_object_add(m->names, s, NULL);
	else if (rc < 0)
		m->fault = 1;
	free(s);
}

static void
media_missing(struct apid_call *call)
{
	/*
	 * Reviewed fields of the subtree's live notes, each with the note that
	 * owns its references: the note itself, or for an inherited field the
	 * base note (§6.28).
	 */
	static const char sql[] = TREE_CTE ","
	    " live(id) AS (SELECT id FROM notes"
	    "  WHERE deck IN (SELECT id FROM tree) AND deleted = 0)"
	    " SELECT f.note, f.content FROM fields f WHERE f.reviewed = 1"
	    "  AND f.note IN (SELECT id FROM live)"
	    " UNION ALL SELECT i.base_note_id, f.content FROM note_inheritance i"
	    "  JOIN fields f ON f.note = i.base_note_id AND f.reviewed = 1"
	    "  WHERE i.subscriber_note_id IN (SELECT id FROM live)"
	    "  AND (i.subscribed_fields IS NULL OR f.position IN"
	    "       (SELECT value FROM json_each(i.subscribed_fields)))";
	struct proto_media_usage	 usage;
	struct missing			 m = { 0 };
	const char			*hash = http_req_path_tail(call->req);
	json_object			*arr;
	sqlite3_stmt			*st;
	int64_t				 deck;
	int				 rc;

	if (*hash == '\0' || strchr(hash, '/') != NULL) {
		call_reply(call, 404, NULL, "", 0);
		return;
	}
	if (!deckhash_valid(hash, strlen(hash))) {
		call_text(call, 400, "Invalid deck hash format");
		return;
	}
	if (mediaclient_usage(media_client(), &usage) == -1) {
		media_away(call);
		return;
	}
	if ((deck = decks_find(hash)) <= 0 || (st = db_stmt(apid->db, sql)) == NULL) {
		call_text(call, 200, "[]");	/* §6.28: query errors are an empty list */
		return;
	}
	m.names = json_object_new_object();
	sqlite3_bind_int64(st, 1, deck);
	while ((rc = db_step(st)) == DB_ROW && !m.fault) {
		m.owner = sqlite3_column_int64(st, 0);
		media_refs((const char *)sqlite3_column_text(st, 1), missing_ref, &m);
	}
	db_stmt_done(st);
	arr = json_object_new_array();
	if (rc == DB_OK && !m.fault) {
		json_object_object_foreach(m.names, k, v) {
			(void)v;
			json_object_array_add(arr, json_object_new_string(k));
		}
	}
	json_object_put(m.names);
	call_text(call, 200, json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN));
	json_object_put(arr);
}

static const struct apid_route r_check = { AUTH_REQ, BODY_JSON, media_check, NULL, NULL };
static const struct apid_route r_confirm = { AUTH_REQ, BODY_JSON, media_confirm, NULL, NULL };
static const struct apid_route r_manifest = { AUTH_REQ, BODY_JSON, media_manifest, NULL, NULL };
static const struct apid_route r_missing = { AUTH_REQ, BODY_NONE, media_missing, NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/media/check/bulk", HTTP_POST, BODY_LIMIT_JSON, &r_check),
	APID_ROUTE("/media/confirm/bulk", HTTP_POST, BODY_LIMIT_JSON, &r_confirm),
	APID_ROUTE("/media/manifest", HTTP_POST, BODY_LIMIT_JSON, &r_manifest),
	APID_ROUTE("/media/missing/*", HTTP_GET, 0, &r_missing),
};

const struct apid_area media_area = { routes, sizeof(routes) / sizeof(routes[0]) };
