/*
 * db.h — the SQLite layer shared by apid, gcd and ankicollabctl.
 *
 * One struct db is one connection with DESIGN.md's pragmas, the schema
 * migrated to the newest version, and a cache of prepared statements. A
 * connection belongs to one thread at a time; a process opens at most
 * DB_MAX_CONNECTIONS of them.
 *
 * Error convention: functions return DB_OK (0), DB_ROW (db_step only), or a
 * negative DB_* code after logging one line through common/log.h. A
 * constraint failure (DB_CONSTRAINT) is often an expected answer (a taken
 * username) and is logged at debug level only. DB_BUSY means the lock was
 * not had within the busy timeout: answer 503, do not retry in a loop.
 *
 * Statements are keyed by the address of their SQL text, so keep the text
 * in a static array or a string literal:
 *
 *	static const char sql[] = "SELECT id FROM decks WHERE human_hash = ?1";
 *	sqlite3_stmt *st;
 *
 *	if ((st = db_stmt(db, sql)) == NULL)
 *		return DB_ERR;
 *	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
 *	while ((rc = db_step(st)) == DB_ROW)
 *		...;
 *	db_stmt_done(st);
 *
 * Always db_stmt_done() a statement before the next db_stmt() of the same
 * text, and before leaving the function: an unfinished SELECT keeps a read
 * snapshot open, which stops WAL checkpoints. Finish iterating before using
 * the same SQL again (no nesting; db_stmt() refuses a statement in use).
 *
 * Times: the DB holds REAL UTC epoch seconds with µs in the fraction (see
 * db_schema.c); C code holds int64 microseconds since the epoch.
 */
#ifndef ANKICOLLAB_DB_H
#define ANKICOLLAB_DB_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#define DB_STR(x)		#x
#define DB_XSTR(x)		DB_STR(x)

#define DB_FILE			"ankicollab.db"	/* in data_dir */
#define DB_APPLICATION_ID	0x416b436c	/* "AkCl" in PRAGMA application_id */
#define DB_MAX_CONNECTIONS	3		/* per process (DESIGN.md) */
#define DB_BUSY_TIMEOUT_MS	5000
#define DB_CACHE_KIB		2000		/* page cache per connection */
#define DB_JOURNAL_LIMIT	8388608		/* bytes of WAL kept after a checkpoint */
#define DB_TOKENS_PER_USER	10		/* the auth_tokens_cap trigger's LIMIT */

/* What the add-on sends for a never-pulled subscription (§6.1, §10). */
#define DB_MAGIC_TIMESTAMP	"2022-12-31 23:59:59"

/* Return codes. */
#define DB_OK			0
#define DB_ROW			1	/* db_step: a row is ready */
#define DB_ERR			(-1)
#define DB_BUSY			(-2)
#define DB_CONSTRAINT		(-3)

/* db_open flags. */
#define DB_READONLY		0x01

struct db;

/* db_schema.c: migration i + 1 is db_migrations[i]. */
extern const char *const	db_migrations[];
extern const int		db_migrations_count;

/*
 * Opens (creating if needed, unless DB_READONLY) and migrates. NULL after a
 * logged reason: cannot open, too many connections, not our file, a schema
 * newer than this build, or (read-only) one that needs migrating.
 */
struct db	*db_open(const char *path, int flags);
void		 db_close(struct db *db);
sqlite3		*db_sqlite(struct db *db);	/* for what this file does not wrap */
int		 db_schema_version(void);	/* the newest version this build knows */
int		 db_open_count(void);		/* connections open in this process */

/* Statement cache. */
sqlite3_stmt	*db_stmt(struct db *db, const char *sql);	/* reset, unbound; NULL if failed */
void		 db_stmt_done(sqlite3_stmt *st);		/* reset and unbind; NULL ok */
int		 db_step(sqlite3_stmt *st);		/* DB_ROW, DB_OK when done, or < 0 */
int		 db_run(sqlite3_stmt *st);		/* steps once, then done: DB_OK or < 0 */
/*
 * Steps a bound statement to its end, appending each row's first column to
 * *ids (grown with realloc; *n counts them), then done: DB_OK or < 0. On
 * failure *ids keeps what was read, for the caller to free.
 */
int		 db_ids(sqlite3_stmt *st, int64_t **ids, size_t *n);
int		 db_bind_text(sqlite3_stmt *st, int idx, const char *s); /* SQLITE_STATIC */
int		 db_stmt_count(struct db *db);		/* statements cached */
int		 db_exec(struct db *db, const char *sql);	/* uncached, no rows, may hold several */

/*
 * Transactions. Writers use db_begin (BEGIN IMMEDIATE: the write lock is
 * taken up front, so a WAL snapshot never has to be upgraded and fail);
 * db_begin_read gives several SELECTs one snapshot. Refused while one is
 * open. After db_commit, whatever it returned, no transaction is open.
 * db_rollback is a no-op outside a transaction.
 */
int		 db_begin(struct db *db);
int		 db_begin_read(struct db *db);
int		 db_commit(struct db *db);
void		 db_rollback(struct db *db);
int		 db_in_transaction(struct db *db);

int64_t		 db_last_insert_id(struct db *db);
int64_t		 db_changes(struct db *db);

/* Maintenance (gcd, ankicollabctl). */
int		 db_integrity_check(struct db *db);	/* integrity + foreign keys */
int		 db_checkpoint(struct db *db);		/* wal_checkpoint(TRUNCATE) */
int		 db_optimize(struct db *db);		/* PRAGMA optimize */

/* ---- time ---------------------------------------------------------------- */

#define DB_TIME_LEN		48	/* fits every format below */

int64_t		 db_now_us(void);				/* CLOCK_REALTIME */
int		 db_bind_time(sqlite3_stmt *st, int idx, int64_t us);	/* sqlite3 rc */
int64_t		 db_column_time(sqlite3_stmt *st, int col);	/* µs; 0 for NULL */

/*
 * Parses a client timestamp as UTC: "YYYY-MM-DD HH:MM:SS" (what the add-on
 * sends), also with "T", a fraction (kept to µs), "Z" or a "±HH:MM" offset
 * (RFC 3339, which the add-on may echo after a cache bootstrap), or a bare
 * "YYYY-MM-DD" (midnight). Returns 0, or -1 for anything else.
 */
int		 db_time_parse(const char *s, int64_t *us);

/*
 * Formatters: each writes a NUL-terminated string and returns its length,
 * or -1 if len is too small.
 *   db_time_format:	"2025-06-09 18:22:05" (fraction dropped)
 *   db_time_format_epoch: §6.7 "1718031234.567891", "1718031234": the
 *	shortest decimal that reads back as the same double, no exponent,
 *	no ".0"
 *   db_time_format_rfc3339: "2025-06-10T14:03:11+00:00", with frac_digits
 *	(0, 3, 6 or 9) fractional digits: "...T14:18:03.123456000+00:00"
 *   db_time_strftime: strftime(3) of the UTC time, e.g. "%m/%d/%Y %H:%M"
 *	for changelog headers
 */
int		 db_time_format(int64_t us, char *buf, size_t len);
int		 db_time_format_epoch(int64_t us, char *buf, size_t len);
int		 db_time_format_rfc3339(int64_t us, int frac_digits, char *buf, size_t len);
int		 db_time_strftime(int64_t us, const char *fmt, char *buf, size_t len)
		    __attribute__((format(strftime, 2, 0)));

#endif
