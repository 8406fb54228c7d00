/*
 * test_db.c — the SQLite layer: schema creation and migration guards,
 * pragmas, foreign-key actions and triggers, the statement cache,
 * transactions, and the wire formats of timestamps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/db.h"
#include "common/log.h"

static char	dir[64];
static char	path[128];

/* ---- fixtures and helpers ------------------------------------------------ */

static int
setup(void **state)
{
	strcpy(dir, "/tmp/test_db.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ankicollab.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char	p[160];
	size_t	i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	assert_int_equal(db_open_count(), 0);
	return 0;
}

/* The first column of the first row of sql, as an integer. */
static int64_t
q_int(struct db *db, const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void
q_text(struct db *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt	*st;

	assert_int_equal(sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* Writes to the file behind the layer's back, as another program would. */
static void
raw_exec(const char *sql)
{
	sqlite3	*h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
}

/* The same as q_int, on a connection of its own. */
static int64_t
raw_int(const char *sql)
{
	sqlite3		*h;
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	return v;
}

static void
x(struct db *db, const char *sql)
{
	assert_int_equal(db_exec(db, sql), DB_OK);
}

/* ---- schema and migrations ----------------------------------------------- */

static void
test_fresh_file(void **state)
{
	static const char *const tables[] = {
		"users", "auth_tokens", "user_quotas", "decks", "notetype",
		"notetype_field", "notetype_template", "notes", "commits",
		"fields", "tags", "card_deletion_suggestions",
		"note_move_suggestions", "maintainers", "optional_tags",
		"changelogs", "subscriptions", "note_events", "notifications",
		"deck_subscriptions", "subscription_field_policy",
		"note_inheritance", "note_stats", "calculated_stats",
		"media_files", "media_references", "media_upload_batches",
		"media_upload_batch_files", "bulk_operations",
		"bulk_operation_guids", "media_operations_log", "deck_cache",
		"server_state",
	};
	struct db	*db;
	char		 sql[160];
	size_t		 i;

	assert_int_equal(db_schema_version(), db_migrations_count);
	assert_true(db_schema_version() >= 1);
	db = db_open(path, 0);
	assert_non_null(db);
	assert_int_equal(db_open_count(), 1);
	assert_int_equal(q_int(db, "PRAGMA user_version"), db_schema_version());
	assert_int_equal(q_int(db, "PRAGMA application_id"), DB_APPLICATION_ID);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_schema "
		    "WHERE type = 'table' AND name = '%s'", tables[i]);
		assert_int_equal(q_int(db, sql), 1);
	}
	/* Every table is STRICT. */
	assert_int_equal(q_int(db, "SELECT count(*) FROM pragma_table_list "
	    "WHERE schema = 'main' AND name NOT LIKE 'sqlite_%' AND strict = 0"), 0);
	assert_int_equal(db_integrity_check(db), DB_OK);
	db_close(db);
	assert_int_equal(db_open_count(), 0);
}

static void
test_reopen_is_noop(void **state)
{
	struct db	*db;
	int64_t		 objects, id;
	char		 sig[64], sig2[64];

	db = db_open(path, 0);
	assert_non_null(db);
	x(db, "INSERT INTO users(username, password) VALUES ('alice', 'x')");
	id = db_last_insert_id(db);
	objects = q_int(db, "SELECT count(*) FROM sqlite_schema");
	q_text(db, "SELECT group_concat(name) FROM sqlite_schema", sig, sizeof(sig));
	db_close(db);

	db = db_open(path, 0);
	assert_non_null(db);
	assert_int_equal(q_int(db, "PRAGMA user_version"), db_schema_version());
	assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_schema"), objects);
	q_text(db, "SELECT group_concat(name) FROM sqlite_schema", sig2, sizeof(sig2));
	assert_string_equal(sig, sig2);
	assert_int_equal(q_int(db, "SELECT id FROM users WHERE username = 'alice'"), id);
	db_close(db);

	/* Read-only opens of a current file work, and cannot write. */
	db = db_open(path, DB_READONLY);
	assert_non_null(db);
	assert_int_equal(q_int(db, "SELECT count(*) FROM users"), 1);
	assert_int_equal(db_exec(db, "DELETE FROM users"), DB_ERR);
	db_close(db);
}

static void
test_future_refused(void **state)
{
	struct db	*db;
	char		 sql[64];

	db = db_open(path, 0);
	assert_non_null(db);
	db_close(db);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    db_schema_version() + 1);
	raw_exec(sql);
	assert_null(db_open(path, 0));
	assert_null(db_open(path, DB_READONLY));
	assert_int_equal(db_open_count(), 0);
	/* Left exactly as it was. */
	assert_int_equal(raw_int("PRAGMA user_version"), db_schema_version() + 1);
	assert_int_equal(raw_int("SELECT count(*) FROM sqlite_schema "
	    "WHERE name = 'sqlite_stat1'"), 0);
}

static void
test_foreign_file_refused(void **state)
{
	/* Someone else's SQLite file: tables, no version. */
	raw_exec("CREATE TABLE t(a)");
	assert_null(db_open(path, 0));
	/* Another application's id. */
	raw_exec("DROP TABLE t; PRAGMA application_id = 42");
	assert_null(db_open(path, 0));
	assert_int_equal(db_open_count(), 0);
}

static void
test_readonly_needs_migrated(void **state)
{
	/* Missing file: read-only does not create it. */
	assert_null(db_open(path, DB_READONLY));
	assert_int_equal(access(path, F_OK), -1);
	/* An empty file at version 0 needs migrating first. */
	raw_exec("PRAGMA user_version = 0");
	assert_null(db_open(path, DB_READONLY));
}

static void
test_pragmas(void **state)
{
	struct db	*db;
	char		 mode[16];

	db = db_open(path, 0);
	assert_non_null(db);
	q_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(q_int(db, "PRAGMA synchronous"), 1);	/* NORMAL */
	assert_int_equal(q_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(q_int(db, "PRAGMA busy_timeout"), DB_BUSY_TIMEOUT_MS);
	assert_int_equal(q_int(db, "PRAGMA cache_size"), -DB_CACHE_KIB);
	assert_int_equal(q_int(db, "PRAGMA temp_store"), 1);	/* FILE */
	assert_int_equal(q_int(db, "PRAGMA journal_size_limit"), DB_JOURNAL_LIMIT);
	db_close(db);

	/* The same on a read-only connection (WAL persists in the file). */
	db = db_open(path, DB_READONLY);
	assert_non_null(db);
	q_text(db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(q_int(db, "PRAGMA foreign_keys"), 1);
	assert_int_equal(q_int(db, "PRAGMA busy_timeout"), DB_BUSY_TIMEOUT_MS);
	db_close(db);
}

static void
test_connection_limit(void **state)
{
	struct db	*db[DB_MAX_CONNECTIONS];
	int		 i;

	for (i = 0; i < DB_MAX_CONNECTIONS; i++) {
		db[i] = db_open(path, 0);
		assert_non_null(db[i]);
	}
	assert_null(db_open(path, 0));
	assert_int_equal(db_open_count(), DB_MAX_CONNECTIONS);
	db_close(db[0]);
	db[0] = db_open(path, DB_READONLY);
	assert_non_null(db[0]);
	for (i = 0; i < DB_MAX_CONNECTIONS; i++)
		db_close(db[i]);
}

/* ---- foreign keys and triggers ------------------------------------------- */

/*
 * alice owns root deck 1 with child 2; bob suggested content. Notetype 1,
 * note 1 in deck 2 with a reviewed field from bob's commit 1, a tag, a media
 * reference; note 2 in deck 1.
 */
static struct db *
populate(void)
{
	struct db	*db;
	char		 sql[512];
	int64_t		 now = db_now_us();

	db = db_open(path, 0);
	assert_non_null(db);
	x(db, "INSERT INTO users(id, username, password) VALUES "
	    "(1, 'alice', '$argon2id$x'), (2, 'bob', '$argon2id$y')");
	snprintf(sql, sizeof(sql),
	    "INSERT INTO decks(id, name, owner, last_update, parent, human_hash, full_path) VALUES "
	    "(1, 'Root', 1, %.6f, NULL, 'alpha-bravo-charlie', 'Root'),"
	    "(2, 'Child', 1, %.6f, 1, 'delta-echo-foxtrot', 'Root::Child')",
	    now / 1e6, now / 1e6);
	x(db, sql);
	x(db, "INSERT INTO notetype(id, guid, owner, name) VALUES (1, 'nt-uuid', 1, 'Basic')");
	x(db, "INSERT INTO notetype_field(notetype, name, position, protected) VALUES "
	    "(1, 'Front', 0, 0), (1, 'Back', 1, 1)");
	x(db, "INSERT INTO notetype_template(notetype, name, position) VALUES (1, 'Card 1', 0)");
	x(db, "INSERT INTO notes(id, guid, notetype, deck, last_update, reviewed) VALUES "
	    "(1, 'g1', 1, 2, 1.5, 1), (2, 'g2', 1, 1, 1.5, 1)");
	x(db, "INSERT INTO commits(commit_id, rationale, deck, user_id) VALUES (1, 2, 2, 2)");
	x(db, "INSERT INTO fields(note, position, content, reviewed, commit_id) VALUES "
	    "(1, 0, 'front <img src=\"a.png\">', 1, 1), (1, 1, 'pending', 0, 1),"
	    "(2, 0, 'other', 1, 1)");
	x(db, "INSERT INTO tags(note, content, reviewed, commit_id) VALUES (1, 'cardio', 1, 1)");
	x(db, "INSERT INTO media_files(id, hash, file_size) VALUES "
	    "(1, '9e107d9d372bb6826bd81d3542a419d6', 43)");
	x(db, "INSERT INTO media_references(media_id, note_id, file_name) VALUES (1, 1, 'a.png')");
	x(db, "INSERT INTO notifications(user_id, commit_id, deck_id, status) VALUES (2, 1, 2, 'approved')");
	x(db, "INSERT INTO note_events(note_id, version, event_type, commit_id, new_value) "
	    "VALUES (1, 1, 'note_created', 1, '{\"reviewed\":true}')");
	return db;
}

static void
test_cascade_deck(void **state)
{
	struct db	*db = populate();

	assert_int_equal(q_int(db, "SELECT refcount FROM media_files"), 1);
	assert_int_equal(q_int(db, "SELECT orphaned_at IS NULL FROM media_files"), 1);
	/* Deleting the child deck takes its notes and everything hanging off them. */
	x(db, "DELETE FROM decks WHERE id = 2");
	assert_int_equal(q_int(db, "SELECT count(*) FROM notes"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM fields"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM tags"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM note_events"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM notifications"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM media_references"), 0);
	/* The commit went with its deck; the other deck's approved field stays. */
	assert_int_equal(q_int(db, "SELECT count(*) FROM commits"), 0);
	assert_int_equal(q_int(db, "SELECT commit_id IS NULL FROM fields WHERE note = 2"), 1);
	/* The file is an orphan now, stamped for gcd's grace period. */
	assert_int_equal(q_int(db, "SELECT refcount FROM media_files"), 0);
	assert_int_equal(q_int(db, "SELECT orphaned_at > 0 FROM media_files"), 1);
	/* A root takes its whole subtree. */
	x(db, "DELETE FROM decks WHERE id = 1");
	assert_int_equal(q_int(db, "SELECT count(*) FROM decks"), 0);
	assert_int_equal(q_int(db, "SELECT count(*) FROM notes"), 0);
	assert_int_equal(db_integrity_check(db), DB_OK);
	db_close(db);
}

static void
test_cascade_user(void **state)
{
	struct db	*db = populate();

	/* Deleting a contributor keeps his approved content and commits. */
	x(db, "DELETE FROM users WHERE id = 2");
	assert_int_equal(q_int(db, "SELECT count(*) FROM fields"), 3);
	assert_int_equal(q_int(db, "SELECT user_id IS NULL FROM commits"), 1);
	assert_int_equal(q_int(db, "SELECT count(*) FROM notifications"), 0);
	/* A deck owner cannot be deleted from under the deck. */
	assert_int_equal(db_exec(db, "DELETE FROM users WHERE id = 1"), DB_CONSTRAINT);
	/* Nor can a notetype that notes use. */
	assert_int_equal(db_exec(db, "DELETE FROM notetype WHERE id = 1"), DB_CONSTRAINT);
	/* Deleting a note releases its media. */
	x(db, "DELETE FROM notes WHERE id = 1");
	assert_int_equal(q_int(db, "SELECT refcount FROM media_files"), 0);
	assert_int_equal(db_integrity_check(db), DB_OK);
	db_close(db);
}

static void
test_constraints(void **state)
{
	struct db	*db = populate();

	/* Usernames are stored normalised. */
	assert_int_equal(db_exec(db, "INSERT INTO users(username, password) "
	    "VALUES ('Carol', 'x')"), DB_CONSTRAINT);
	/* One live value per field position, any number of pending ones. */
	assert_int_equal(db_exec(db, "INSERT INTO fields(note, position, content, "
	    "reviewed) VALUES (1, 0, 'dup', 1)"), DB_CONSTRAINT);
	x(db, "INSERT INTO fields(note, position, content, reviewed) VALUES (1, 1, 'p2', 0)");
	/* The overwrite upsert targets the partial index. */
	x(db, "INSERT INTO fields(note, position, content, reviewed) VALUES (1, 0, 'new', 1) "
	    "ON CONFLICT(note, position) WHERE reviewed = 1 DO UPDATE SET content = excluded.content");
	assert_int_equal(q_int(db, "SELECT count(*) FROM fields WHERE note = 1 AND "
	    "position = 0 AND content = 'new'"), 1);
	/* Root deck names are unique per owner. */
	assert_int_equal(db_exec(db, "INSERT INTO decks(name, owner, last_update, "
	    "human_hash, full_path) VALUES ('Root', 1, 0, 'x-y-z', 'Root')"), DB_CONSTRAINT);
	/* Media hashes are 32 lowercase hex. */
	assert_int_equal(db_exec(db, "INSERT INTO media_files(hash) VALUES "
	    "('9E107D9D372BB6826BD81D3542A419D6')"), DB_CONSTRAINT);
	/* Token hashes are 32-byte blobs; STRICT refuses text. */
	assert_int_equal(db_exec(db, "INSERT INTO auth_tokens(user_id, token_hash, "
	    "expires_at) VALUES (1, zeroblob(31), 0)"), DB_CONSTRAINT);
	assert_int_equal(db_exec(db, "INSERT INTO auth_tokens(user_id, token_hash, "
	    "expires_at) VALUES (1, 'abcdefghabcdefghabcdefghabcdefgh', 0)"), DB_CONSTRAINT);
	/* Inheritance arrays: NULL or a JSON array. */
	assert_int_equal(db_exec(db, "INSERT INTO note_inheritance(subscriber_note_id, "
	    "base_note_id, subscribed_fields) VALUES (1, 2, 'null')"), DB_CONSTRAINT);
	x(db, "INSERT INTO note_inheritance(subscriber_note_id, base_note_id, "
	    "subscribed_fields) VALUES (1, 2, '[0,2]')");
	db_close(db);
}

static void
test_token_cap(void **state)
{
	struct db	*db = populate();
	static const char sql[] = "INSERT INTO auth_tokens(user_id, token_hash, "
	    "refresh_token_hash, expires_at, refresh_expires_at, last_used_at) "
	    "VALUES (1, randomblob(32), randomblob(32), ?1, ?1, ?2)";
	int		 i;

	for (i = 0; i < DB_TOKENS_PER_USER + 3; i++) {
		sqlite3_stmt *st = db_stmt(db, sql);

		assert_non_null(st);
		db_bind_time(st, 1, db_now_us() + 30LL * 86400 * 1000000);
		sqlite3_bind_int(st, 2, i);
		assert_int_equal(db_step(st), DB_OK);
		db_stmt_done(st);
	}
	x(db, "INSERT INTO auth_tokens(user_id, token_hash, expires_at) "
	    "VALUES (2, randomblob(32), 0)");
	assert_int_equal(q_int(db, "SELECT count(*) FROM auth_tokens WHERE user_id = 1"),
	    DB_TOKENS_PER_USER);
	/* The least recently used went. */
	assert_int_equal(q_int(db, "SELECT min(last_used_at) FROM auth_tokens "
	    "WHERE user_id = 1"), 3);
	assert_int_equal(q_int(db, "SELECT count(*) FROM auth_tokens WHERE user_id = 2"), 1);
	db_close(db);
}

static void
test_integrity_finds_dangling(void **state)
{
	struct db	*db = populate();

	assert_int_equal(db_integrity_check(db), DB_OK);
	db_close(db);
	/* A writer without foreign_keys = ON leaves a dangling reference. */
	raw_exec("INSERT INTO maintainers(deck, user_id) VALUES (99, 1)");
	db = db_open(path, 0);
	assert_non_null(db);
	assert_int_equal(db_integrity_check(db), DB_ERR);
	db_close(db);
}

/* ---- statements and transactions ----------------------------------------- */

static void
test_stmt_cache(void **state)
{
	static const char sql[] = "SELECT id FROM users WHERE username = ?1";
	static const char sql2[] = "SELECT id FROM users WHERE username = ?1";
	struct db	*db = populate();
	sqlite3_stmt	*a, *b, *c;
	int		 n;

	n = db_stmt_count(db);
	a = db_stmt(db, sql);
	assert_non_null(a);
	sqlite3_bind_text(a, 1, "bob", -1, SQLITE_STATIC);
	assert_int_equal(db_step(a), DB_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 2);
	/* In use: a nested fetch is refused rather than clobbering it. */
	assert_null(db_stmt(db, sql));
	db_stmt_done(a);

	b = db_stmt(db, sql);
	assert_ptr_equal(a, b);
	assert_int_equal(db_stmt_count(db), n + 1);
	/* Bindings were cleared: NULL matches nothing. */
	assert_int_equal(db_step(b), DB_OK);
	db_stmt_done(b);

	/* Same text at another address: its own entry. */
	c = db_stmt(db, sql2);
	assert_non_null(c);
	assert_ptr_not_equal(c, a);
	db_stmt_done(c);
	assert_int_equal(db_stmt_count(db), n + 2);

	/* Errors come back as codes. */
	assert_null(db_stmt(db, "SELECT nope FROM nowhere"));
	assert_null(db_stmt(db, "SELECT 1; SELECT 2"));
	db_stmt_done(NULL);
	db_close(db);
}

static void
test_transactions(void **state)
{
	struct db	*a, *b;

	a = populate();
	b = db_open(path, 0);
	assert_non_null(b);

	assert_int_equal(db_begin(a), DB_OK);
	assert_true(db_in_transaction(a));
	assert_int_equal(db_begin(a), DB_ERR);		/* no nesting */
	x(a, "INSERT INTO users(username, password) VALUES ('carol', 'x')");
	assert_int_equal(db_changes(a), 1);
	/* The other writer waits, then gets DB_BUSY (short timeout here). */
	sqlite3_busy_timeout(db_sqlite(b), 50);
	assert_int_equal(db_begin(b), DB_BUSY);
	assert_false(db_in_transaction(b));
	/* Readers still see the last commit. */
	assert_int_equal(q_int(b, "SELECT count(*) FROM users"), 2);
	db_rollback(a);
	assert_false(db_in_transaction(a));
	assert_int_equal(q_int(a, "SELECT count(*) FROM users"), 2);

	assert_int_equal(db_begin(a), DB_OK);
	x(a, "INSERT INTO users(username, password) VALUES ('carol', 'x')");
	assert_int_equal(db_commit(a), DB_OK);
	assert_int_equal(q_int(b, "SELECT count(*) FROM users"), 3);

	/* A failed commit (deferred FK violation) leaves no transaction open. */
	assert_int_equal(db_begin(a), DB_OK);
	x(a, "PRAGMA defer_foreign_keys = ON");
	x(a, "INSERT INTO maintainers(deck, user_id) VALUES (1, 99)");
	assert_int_equal(db_commit(a), DB_CONSTRAINT);
	assert_false(db_in_transaction(a));
	assert_int_equal(q_int(a, "SELECT count(*) FROM maintainers"), 0);

	assert_int_equal(db_commit(a), DB_ERR);		/* nothing to commit */
	db_rollback(a);					/* harmless */
	assert_int_equal(db_begin_read(b), DB_OK);
	assert_int_equal(q_int(b, "SELECT count(*) FROM users"), 3);
	assert_int_equal(db_commit(b), DB_OK);

	assert_int_equal(db_checkpoint(a), DB_OK);
	assert_int_equal(db_optimize(a), DB_OK);
	assert_int_equal(db_integrity_check(a), DB_OK);
	db_close(b);
	db_close(a);
}

/* ---- time ---------------------------------------------------------------- */

static int64_t
parse(const char *s)
{
	int64_t	us = -42;

	assert_int_equal(db_time_parse(s, &us), 0);
	return us;
}

static void
test_time_parse(void **state)
{
	static const char *const bad[] = {
		"", "2025-06-09 18:22", "2025-06-09 18:22:05 ", "2025-6-9 18:22:05",
		"2025-13-01 00:00:00", "2023-02-29 00:00:00", "2025-06-31 00:00:00",
		"2025-06-09 24:00:00", "2025-06-09 18:60:00", "2025-06-09 18:22:61",
		"2025-06-09 18:22:05.", "2025-06-09 18:22:05+2", "1718031234.567891",
		"1718031234", "0000-01-01 00:00:00", "2025-06-09X18:22:05",
		"2025-06-09 18:22:05Zjunk", "abcd-ef-gh ij:kl:mn",
	};
	int64_t	us;
	size_t	i;

	/* The magic timestamp and the add-on's format, read as UTC. */
	assert_int_equal(parse(DB_MAGIC_TIMESTAMP), 1672531199LL * 1000000);
	assert_int_equal(parse("2022-12-31 23:59:59"), 1672531199LL * 1000000);
	assert_int_equal(parse("2025-06-09 18:22:05"), 1749493325LL * 1000000);
	assert_int_equal(parse("1970-01-01 00:00:00"), 0);
	assert_int_equal(parse("2024-02-29 00:00:00"), 1709164800LL * 1000000);
	/* RFC 3339, as a cache bootstrap's source_last_update comes back. */
	assert_int_equal(parse("2026-06-01T10:00:00Z"), 1780308000LL * 1000000);
	assert_int_equal(parse("2026-06-01T12:30:00+02:30"), 1780308000LL * 1000000);
	assert_int_equal(parse("2026-06-01T05:00:00-0500"), 1780308000LL * 1000000);
	assert_int_equal(parse("2026-06-01 10:00:00+00"), 1780308000LL * 1000000);
	/* Fractions: kept to µs, the rest dropped. */
	assert_int_equal(parse("2024-06-10 14:53:54.567891"), 1718031234567891LL);
	assert_int_equal(parse("2024-06-10T14:53:54.5Z"), 1718031234500000LL);
	assert_int_equal(parse("2025-06-10T14:18:03.123456789+00:00"),
	    1749565083123456LL);
	/* A bare date is midnight; a leap second rolls over. */
	assert_int_equal(parse("2022-12-31"), 1672444800LL * 1000000);
	assert_int_equal(parse("2016-12-31 23:59:60"), 1483228800LL * 1000000);
	assert_int_equal(parse("1969-12-31 23:59:59"), -1000000);

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		us = -42;
		if (db_time_parse(bad[i], &us) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(us, -42);
	}
	assert_int_equal(db_time_parse(NULL, &us), -1);
}

static void
test_time_format(void **state)
{
	char	buf[DB_TIME_LEN];

	/* §6.7 examples. */
	assert_int_equal(db_time_format_epoch(1718031234567891LL, buf, sizeof(buf)), 17);
	assert_string_equal(buf, "1718031234.567891");
	db_time_format_epoch(1718031234000000LL, buf, sizeof(buf));
	assert_string_equal(buf, "1718031234");
	db_time_format_epoch(1718031234500000LL, buf, sizeof(buf));
	assert_string_equal(buf, "1718031234.5");
	db_time_format_epoch(1718031234000001LL, buf, sizeof(buf));
	assert_string_equal(buf, "1718031234.000001");
	db_time_format_epoch(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
	assert_int_equal(db_time_format_epoch(1718031234567891LL, buf, 10), -1);

	/* The add-on's pull format. */
	assert_int_equal(db_time_format(1672531199LL * 1000000, buf, sizeof(buf)), 19);
	assert_string_equal(buf, DB_MAGIC_TIMESTAMP);
	db_time_format(1718031234999999LL, buf, sizeof(buf));
	assert_string_equal(buf, "2024-06-10 14:53:54");
	db_time_format(-1, buf, sizeof(buf));
	assert_string_equal(buf, "1969-12-31 23:59:59");
	assert_int_equal(db_time_format(0, buf, 19), -1);

	/* RFC 3339 for notifications and manifests. */
	db_time_format_rfc3339(1749564191LL * 1000000 + 123456, 0, buf, sizeof(buf));
	assert_string_equal(buf, "2025-06-10T14:03:11+00:00");
	db_time_format_rfc3339(1749565083123456LL, 9, buf, sizeof(buf));
	assert_string_equal(buf, "2025-06-10T14:18:03.123456000+00:00");
	db_time_format_rfc3339(1749565083123456LL, 3, buf, sizeof(buf));
	assert_string_equal(buf, "2025-06-10T14:18:03.123+00:00");
	db_time_format_rfc3339(1749565083123456LL, 6, buf, sizeof(buf));
	assert_string_equal(buf, "2025-06-10T14:18:03.123456+00:00");
	assert_int_equal(db_time_format_rfc3339(0, 2, buf, sizeof(buf)), -1);

	/* Changelog headers: "--- Changes from MM/DD/YYYY HH:MM: ---". */
	assert_int_equal(db_time_strftime(1749564191LL * 1000000, "%m/%d/%Y %H:%M",
	    buf, sizeof(buf)), 16);
	assert_string_equal(buf, "06/10/2025 14:03");
	db_time_strftime(1749564191LL * 1000000, "%a %j", buf, sizeof(buf));
	assert_string_equal(buf, "Tue 161");
	assert_int_equal(db_time_strftime(0, "%Y-%m-%d", buf, 4), -1);
}

static void
test_time_round_trip(void **state)
{
	static const char sql_put[] = "INSERT INTO server_state(key, value, updated_at) "
	    "VALUES (?1, ?2, ?2)";
	static const char sql_get[] = "SELECT value, typeof(value) FROM server_state WHERE key = ?1";
	/* 0, around the epoch, and the last µs kept exactly (2^33 s, 2242). */
	static const int64_t edge[] = { 0, 1, -1, 999999, 1000001,
	    (1LL << 33) * 1000000 - 1, (1LL << 33) * 1000000 - 999999,
	    1672531199999999LL, 1718031234567891LL };
	struct db	*db;
	sqlite3_stmt	*st;
	char		 buf[DB_TIME_LEN], key[32];
	int64_t		 us, back, now;
	unsigned int	 seed = 12345;
	int		 i;

	/* Text: every whole second formats and parses back. */
	for (i = 0; i < 2000; i++) {
		us = ((int64_t)rand_r(&seed) * 4093 % 8000000000LL) * 1000000;
		assert_true(db_time_format(us, buf, sizeof(buf)) > 0);
		assert_int_equal(parse(buf), us);
		assert_true(db_time_format_rfc3339(us + i, 6, buf, sizeof(buf)) > 0);
		assert_int_equal(parse(buf), us + i);
	}

	/* Through the DB as REAL seconds: exact to the microsecond. */
	db = db_open(path, 0);
	assert_non_null(db);
	now = db_now_us();
	assert_true(now > 1700000000LL * 1000000);
	assert_int_equal(db_begin(db), DB_OK);
	for (i = 0; i < 500 + (int)(sizeof(edge) / sizeof(edge[0])); i++) {
		if (i >= 500)
			us = edge[i - 500];
		else if (i == 0)
			us = now;
		else
			us = now + ((int64_t)rand_r(&seed) * 7919 % 100000000000000LL) -
			    50000000000000LL;
		snprintf(key, sizeof(key), "t%d", i);
		st = db_stmt(db, sql_put);
		assert_non_null(st);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		db_bind_time(st, 2, us);
		assert_int_equal(db_step(st), DB_OK);
		db_stmt_done(st);

		st = db_stmt(db, sql_get);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		assert_int_equal(db_step(st), DB_ROW);
		assert_string_equal((const char *)sqlite3_column_text(st, 1), "real");
		back = db_column_time(st, 0);
		db_stmt_done(st);
		if (back != us)
			fail_msg("%lld read back as %lld", (long long)us, (long long)back);

		/* The §6.7 text reads back as the same instant. */
		db_time_format_epoch(us, buf, sizeof(buf));
		assert_true(strtod(buf, NULL) == (double)us / 1e6);
	}
	assert_int_equal(db_commit(db), DB_OK);
	/* Whole-second values written by SQL defaults read as µs too. */
	assert_int_equal(q_int(db, "SELECT typeof(updated_at) = 'real' FROM server_state "
	    "WHERE key = 't0'"), 1);
	x(db, "INSERT INTO server_state(key, value) VALUES ('d', 1)");
	st = db_stmt(db, "SELECT updated_at FROM server_state WHERE key = 'd'");
	assert_int_equal(db_step(st), DB_ROW);
	back = db_column_time(st, 0);
	db_stmt_done(st);
	assert_int_equal(back % 1000000, 0);
	assert_true(back >= now - 2000000 && back <= db_now_us() + 1000000);
	/* Strict > against a parsed whole-second client time sees sub-second changes. */
	assert_int_equal(q_int(db, "SELECT 1672531199.000001 > unixepoch('2022-12-31 23:59:59')"), 1);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_is_noop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_future_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_file_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_needs_migrated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pragmas, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_deck, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cascade_user, setup, teardown),
		cmocka_unit_test_setup_teardown(test_constraints, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integrity_finds_dangling, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stmt_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup, teardown),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test_setup_teardown(test_time_round_trip, setup, teardown),
	};

	log_init("test_db", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
