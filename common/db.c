/*
 * db.c — SQLite connections: pragmas, migrations, a statement cache,
 * transactions, and the time formats of the wire protocol.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <sqlite3.h>

#include "common/db.h"
#include "common/log.h"

#define DB_STMT_BUCKETS	64		/* a few hundred statements at most */
#define DB_SQL_SHOWN	120		/* SQL text quoted in log lines */

struct db_cached {
	const char		*sql;		/* the key: its address */
	sqlite3_stmt		*st;
	struct db_cached	*next;
};

struct db {
	sqlite3			*h;
	int			 flags;
	int			 ready;		/* configured and migrated */
	int			 nstmt;
	struct db_cached	*bucket[DB_STMT_BUCKETS];
	char			 path[];	/* for log lines */
};

static atomic_int	db_nopen;

static const char	sql_begin[] = "BEGIN IMMEDIATE";
static const char	sql_begin_read[] = "BEGIN DEFERRED";
static const char	sql_commit[] = "COMMIT";
static const char	sql_rollback[] = "ROLLBACK";

/* ---- errors ---------------------------------------------------------------- */

/* Maps an sqlite3 result to a DB_* code, logging what went wrong. */
static int
db_fail(sqlite3 *h, int rc, const char *what)
{
	const char	*msg = h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warnx("db: busy: %s: %.*s", msg, DB_SQL_SHOWN, what);
		return DB_BUSY;
	case SQLITE_CONSTRAINT:
		log_debug("db: constraint: %s: %.*s", msg, DB_SQL_SHOWN, what);
		return DB_CONSTRAINT;
	default:
		log_warnx("db: %s (%d): %.*s", msg, rc, DB_SQL_SHOWN, what);
		return DB_ERR;
	}
}

/* ---- opening ------------------------------------------------------------- */

/* Runs one pragma (or any statement) and reads its first column as int. */
static int
db_pragma_int(struct db *db, const char *sql, int64_t *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if (out != NULL)
		*out = 0;
	rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db->h, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && out != NULL)
		*out = sqlite3_column_int64(st, 0);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		rc = db_fail(db->h, rc, sql);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return DB_OK;
}

/* Like db_pragma_int for a text answer (journal_mode). */
static int
db_pragma_text(struct db *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt	*st;
	int		 rc;

	out[0] = '\0';
	rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db->h, rc, sql);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);

		if (s != NULL)
			snprintf(out, len, "%s", (const char *)s);
	} else if (rc != SQLITE_DONE) {
		rc = db_fail(db->h, rc, sql);
		sqlite3_finalize(st);
		return rc;
	}
	sqlite3_finalize(st);
	return DB_OK;
}

/*
 * DESIGN.md's pragmas. temp_store=FILE: sorts and temporary b-trees of big
 * queries spill to a temp file once past the page cache instead of growing
 * the heap. journal_size_limit keeps a WAL inflated by one big createDeck
 * from staying on disk.
 */
static int
db_configure(struct db *db)
{
	static const char *const pragmas[] = {
		"PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = ON",
		"PRAGMA cache_size = -" DB_XSTR(DB_CACHE_KIB),
		"PRAGMA temp_store = FILE",
		"PRAGMA journal_size_limit = " DB_XSTR(DB_JOURNAL_LIMIT),
		"PRAGMA analysis_limit = 400",
	};
	size_t	i;
	int	rc;

	sqlite3_extended_result_codes(db->h, 1);
	sqlite3_busy_timeout(db->h, DB_BUSY_TIMEOUT_MS);
	/* No writable_schema tricks; "x" is an identifier, never a string. */
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
	sqlite3_db_config(db->h, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);

	if (!(db->flags & DB_READONLY)) {
		char	mode[16];
		int	waited;

		/*
		 * Switching a new file to WAL takes a lock the busy handler does
		 * not wait for; two daemons opening it at once would see "locked".
		 */
		for (waited = 0; (rc = db_pragma_text(db, "PRAGMA journal_mode = WAL",
		    mode, sizeof(mode))) == DB_BUSY && waited < DB_BUSY_TIMEOUT_MS;
		    waited += 20)
			usleep(20 * 1000);
		if (rc != DB_OK)
			return rc;
		if (strcmp(mode, "wal") != 0) {
			log_warnx("db: %s: cannot use WAL (journal_mode is %s)",
			    db->path, mode);
			return DB_ERR;
		}
	}
	for (i = 0; i < sizeof(pragmas) / sizeof(pragmas[0]); i++)
		if ((rc = db_pragma_int(db, pragmas[i], NULL)) != DB_OK)
			return rc;
	return DB_OK;
}

/* Applies migration n (1-based) unless another process already has. */
static int
db_migrate_one(struct db *db, int n)
{
	int64_t	 v;
	char	 set[48];
	int	 rc;

	if ((rc = db_begin(db)) != DB_OK)
		return rc;
	if ((rc = db_pragma_int(db, "PRAGMA user_version", &v)) != DB_OK)
		goto fail;
	if (v >= n) {
		db_rollback(db);
		return DB_OK;
	}
	rc = sqlite3_exec(db->h, db_migrations[n - 1], NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s: migration %d failed: %s", db->path, n,
		    sqlite3_errmsg(db->h));
		rc = DB_ERR;
		goto fail;
	}
	snprintf(set, sizeof(set), "PRAGMA user_version = %d", n);
	if ((rc = db_pragma_int(db, set, NULL)) != DB_OK)
		goto fail;
	if ((rc = db_commit(db)) != DB_OK)
		return rc;
	log_info("db: %s: schema migrated to version %d", db->path, n);
	return DB_OK;
fail:
	db_rollback(db);
	return rc;
}

/* Checks that the file is ours and not from the future, then migrates. */
static int
db_migrate(struct db *db)
{
	int64_t	 version, appid, objects;
	int	 n, rc;

	if ((rc = db_pragma_int(db, "PRAGMA user_version", &version)) != DB_OK ||
	    (rc = db_pragma_int(db, "PRAGMA application_id", &appid)) != DB_OK ||
	    (rc = db_pragma_int(db, "SELECT count(*) FROM sqlite_schema",
	    &objects)) != DB_OK)
		return rc;
	if (appid != 0 && appid != DB_APPLICATION_ID) {
		log_warnx("db: %s: not an ankicollab database (application_id %lld)",
		    db->path, (long long)appid);
		return DB_ERR;
	}
	if (version == 0 && objects != 0) {
		log_warnx("db: %s: not an ankicollab database (has tables but no "
		    "schema version)", db->path);
		return DB_ERR;
	}
	if (version < 0 || version > db_migrations_count) {
		log_warnx("db: %s: schema version %lld is newer than this build "
		    "knows (%d); refusing to open it: run a newer ankicollab or "
		    "restore a backup", db->path, (long long)version,
		    db_migrations_count);
		return DB_ERR;
	}
	if (version == db_migrations_count)
		return DB_OK;
	if (db->flags & DB_READONLY) {
		log_warnx("db: %s: schema version %lld needs migrating to %d; "
		    "open it read-write first", db->path, (long long)version,
		    db_migrations_count);
		return DB_ERR;
	}
	for (n = (int)version + 1; n <= db_migrations_count; n++)
		if ((rc = db_migrate_one(db, n)) != DB_OK)
			return rc;
	return DB_OK;
}

struct db *
db_open(const char *path, int flags)
{
	struct db	*db;
	size_t		 plen = strlen(path);
	int		 oflags, rc;

	if (atomic_fetch_add(&db_nopen, 1) >= DB_MAX_CONNECTIONS) {
		atomic_fetch_sub(&db_nopen, 1);
		log_warnx("db: %s: already %d connections in this process",
		    path, DB_MAX_CONNECTIONS);
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db) + plen + 1)) == NULL) {
		atomic_fetch_sub(&db_nopen, 1);
		log_warn("db: %s", path);
		return NULL;
	}
	memcpy(db->path, path, plen + 1);
	db->flags = flags;

	oflags = (flags & DB_READONLY) ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &db->h, oflags | SQLITE_OPEN_EXRESCODE, NULL);
	if (rc != SQLITE_OK) {
		log_warnx("db: %s: cannot open: %s", path, db->h != NULL ?
		    sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
		sqlite3_close(db->h);
		db->h = NULL;
		goto fail;
	}
	if (db_configure(db) != DB_OK || db_migrate(db) != DB_OK)
		goto fail;
	db->ready = 1;
	return db;
fail:
	db_close(db);
	return NULL;
}

static void
db_stmt_free_all(struct db *db)
{
	struct db_cached	*c, *next;
	int			 i;

	for (i = 0; i < DB_STMT_BUCKETS; i++) {
		for (c = db->bucket[i]; c != NULL; c = next) {
			next = c->next;
			sqlite3_finalize(c->st);
			free(c);
		}
		db->bucket[i] = NULL;
	}
	db->nstmt = 0;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->h != NULL)
		db_rollback(db);
	db_stmt_free_all(db);
	if (db->h != NULL) {
		/*
		 * Recommended before closing a connection that wrote; never on
		 * a file db_open refused (it may write sqlite_stat1).
		 */
		if (db->ready && !(db->flags & DB_READONLY))
			sqlite3_exec(db->h, "PRAGMA optimize", NULL, NULL, NULL);
		if (sqlite3_close(db->h) != SQLITE_OK)
			log_warnx("db: %s: close: %s (a statement outside the "
			    "cache was not finalized)", db->path,
			    sqlite3_errmsg(db->h));
	}
	free(db);
	atomic_fetch_sub(&db_nopen, 1);
}

sqlite3 *
db_sqlite(struct db *db)
{
	return db->h;
}

int
db_schema_version(void)
{
	return db_migrations_count;
}

int
db_open_count(void)
{
	return atomic_load(&db_nopen);
}

/* ---- statements ---------------------------------------------------------- */

static unsigned int
db_stmt_hash(const char *sql)
{
	uint64_t	x = (uint64_t)(uintptr_t)sql;

	x *= 0x9e3779b97f4a7c15ULL;
	return (unsigned int)(x >> 58) % DB_STMT_BUCKETS;
}

/* Prepares sql for keeping; refuses a text that holds more than one statement. */
static sqlite3_stmt *
db_stmt_prepare(struct db *db, const char *sql)
{
	sqlite3_stmt	*st = NULL;
	const char	*tail = NULL;
	int		 rc;

	rc = sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &st, &tail);
	if (rc != SQLITE_OK) {
		db_fail(db->h, rc, sql);
		return NULL;
	}
	if (st == NULL) {
		log_warnx("db: empty statement: %.*s", DB_SQL_SHOWN, sql);
		return NULL;
	}
	while (tail != NULL && (*tail == ' ' || *tail == '\t' || *tail == '\r' ||
	    *tail == '\n' || *tail == ';'))
		tail++;
	if (tail != NULL && *tail != '\0') {
		log_warnx("db: more than one statement: %.*s", DB_SQL_SHOWN, sql);
		sqlite3_finalize(st);
		return NULL;
	}
	return st;
}

sqlite3_stmt *
db_stmt(struct db *db, const char *sql)
{
	struct db_cached	*c;
	unsigned int		 b = db_stmt_hash(sql);

	for (c = db->bucket[b]; c != NULL; c = c->next) {
		if (c->sql != sql)
			continue;
		if (sqlite3_stmt_busy(c->st)) {
			log_warnx("db: statement still in use (missing "
			    "db_stmt_done?): %.*s", DB_SQL_SHOWN, sql);
			return NULL;
		}
		sqlite3_reset(c->st);
		sqlite3_clear_bindings(c->st);
		return c->st;
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		log_warn("db: statement cache");
		return NULL;
	}
	if ((c->st = db_stmt_prepare(db, sql)) == NULL) {
		free(c);
		return NULL;
	}
	c->sql = sql;
	c->next = db->bucket[b];
	db->bucket[b] = c;
	db->nstmt++;
	return c->st;
}

void
db_stmt_done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
db_step(sqlite3_stmt *st)
{
	int	rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return DB_ROW;
	if (rc == SQLITE_DONE)
		return DB_OK;
	return db_fail(sqlite3_db_handle(st), rc, sqlite3_sql(st));
}

/* For statements without rows (or whose rows do not matter). */
int
db_run(sqlite3_stmt *st)
{
	int	rc = db_step(st);

	db_stmt_done(st);
	return rc == DB_ROW ? DB_OK : rc;
}

int
db_ids(sqlite3_stmt *st, int64_t **ids, size_t *n)
{
	int64_t	*p;
	size_t	 cap = *n;
	int	 rc;

	while ((rc = db_step(st)) == DB_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			if ((p = reallocarray(*ids, cap, sizeof(*p))) == NULL) {
				rc = DB_ERR;
				break;
			}
			*ids = p;
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_stmt_done(st);
	return rc;
}

/* The text must outlive the statement's use (SQLITE_STATIC). */
int
db_bind_text(sqlite3_stmt *st, int idx, const char *s)
{
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

int
db_stmt_count(struct db *db)
{
	return db->nstmt;
}

int
db_exec(struct db *db, const char *sql)
{
	int	rc;

	rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db->h, rc, sql);
	return DB_OK;
}

/* ---- transactions -------------------------------------------------------- */

/* Runs one of the fixed transaction statements through the cache. */
static int
db_tx_stmt(struct db *db, const char *sql)
{
	sqlite3_stmt	*st;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	return db_run(st);
}

static int
db_tx_begin(struct db *db, const char *sql)
{
	if (!sqlite3_get_autocommit(db->h)) {
		log_warnx("db: %s: transaction already open", db->path);
		return DB_ERR;
	}
	return db_tx_stmt(db, sql);
}

int
db_begin(struct db *db)
{
	return db_tx_begin(db, sql_begin);
}

int
db_begin_read(struct db *db)
{
	return db_tx_begin(db, sql_begin_read);
}

int
db_commit(struct db *db)
{
	int	rc;

	if (sqlite3_get_autocommit(db->h)) {
		log_warnx("db: %s: commit without a transaction", db->path);
		return DB_ERR;
	}
	if ((rc = db_tx_stmt(db, sql_commit)) != DB_OK)
		db_rollback(db);
	return rc;
}

void
db_rollback(struct db *db)
{
	/* An error may already have rolled it back. */
	if (!sqlite3_get_autocommit(db->h))
		(void)db_tx_stmt(db, sql_rollback);
}

int
db_in_transaction(struct db *db)
{
	return !sqlite3_get_autocommit(db->h);
}

int64_t
db_last_insert_id(struct db *db)
{
	return sqlite3_last_insert_rowid(db->h);
}

int64_t
db_changes(struct db *db)
{
	return sqlite3_changes64(db->h);
}

/* ---- maintenance --------------------------------------------------------- */

/* Logs every row of a check pragma; returns how many rows were bad. */
static int
db_check_rows(struct db *db, const char *sql, int ok_is_ok, int *err)
{
	sqlite3_stmt	*st;
	int		 rc, bad = 0;

	*err = DB_OK;
	rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		*err = db_fail(db->h, rc, sql);
		return 0;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0), *row;

		if (ok_is_ok && s != NULL && strcmp((const char *)s, "ok") == 0)
			continue;
		row = ok_is_ok ? NULL : sqlite3_column_text(st, 1);
		if (bad++ < 10)
			log_warnx("db: %s: %s: %s%s%s", db->path, sql,
			    s != NULL ? (const char *)s : "?",
			    ok_is_ok ? "" : " row ",
			    row != NULL ? (const char *)row : "");
	}
	if (rc != SQLITE_DONE)
		*err = db_fail(db->h, rc, sql);
	sqlite3_finalize(st);
	return bad;
}

int
db_integrity_check(struct db *db)
{
	int	bad, err;

	bad = db_check_rows(db, "PRAGMA integrity_check", 1, &err);
	if (err != DB_OK)
		return err;
	bad += db_check_rows(db, "PRAGMA foreign_key_check", 0, &err);
	if (err != DB_OK)
		return err;
	return bad == 0 ? DB_OK : DB_ERR;
}

int
db_checkpoint(struct db *db)
{
	int	rc;

	rc = sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	if (rc != SQLITE_OK)
		return db_fail(db->h, rc, "wal_checkpoint(TRUNCATE)");
	return DB_OK;
}

int
db_optimize(struct db *db)
{
	return db_exec(db, "PRAGMA optimize");
}

/* ---- time ---------------------------------------------------------------- */

#define US_PER_S	1000000LL
#define S_PER_DAY	86400LL

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12). */
static int64_t
db_days_from_civil(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse: date of a day number. */
static void
db_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t	era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int
db_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
db_mdays(int64_t y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	return m == 2 && db_leap(y) ? 29 : days[m - 1];
}

/* Splits µs into a UTC struct tm (the fraction in *frac_us). */
static void
db_time_split(int64_t us, struct tm *tm, int *frac_us)
{
	int64_t	s, days, rem, y;
	int	m, d;

	s = us / US_PER_S;
	if (us % US_PER_S < 0)
		s--;
	*frac_us = (int)(us - s * US_PER_S);
	days = s / S_PER_DAY;
	rem = s % S_PER_DAY;
	if (rem < 0) {
		rem += S_PER_DAY;
		days--;
	}
	db_civil_from_days(days, &y, &m, &d);
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = (int)(y - 1900);
	tm->tm_mon = m - 1;
	tm->tm_mday = d;
	tm->tm_hour = (int)(rem / 3600);
	tm->tm_min = (int)(rem / 60 % 60);
	tm->tm_sec = (int)(rem % 60);
	tm->tm_wday = (int)(((days % 7) + 11) % 7);	/* 1970-01-01 was a Thursday */
	tm->tm_yday = (int)(days - db_days_from_civil(y, 1, 1));
}

int64_t
db_now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * US_PER_S + ts.tv_nsec / 1000;
}

int
db_bind_time(sqlite3_stmt *st, int idx, int64_t us)
{
	/*
	 * us is exact as a double below 2^53 and the division rounds
	 * correctly, so the stored seconds keep every µs below 2^33 s.
	 */
	return sqlite3_bind_double(st, idx, (double)us / (double)US_PER_S);
}

int64_t
db_column_time(sqlite3_stmt *st, int col)
{
	double	d, s, f;

	switch (sqlite3_column_type(st, col)) {
	case SQLITE_NULL:
		return 0;
	case SQLITE_INTEGER:
		return sqlite3_column_int64(st, col) * US_PER_S;
	default:
		/*
		 * Whole seconds and fraction apart: d - s is exact, so the
		 * only error left is d's own, under half a µs below 2^33 s.
		 */
		d = sqlite3_column_double(st, col);
		if (!(d > -9e12 && d < 9e12))		/* NaN, or past 285000 AD */
			return d < 0 ? INT64_MIN : d > 0 ? INT64_MAX : 0;
		s = (double)(int64_t)d;
		if (s > d)
			s -= 1.0;
		f = (d - s) * (double)US_PER_S;
		return (int64_t)s * US_PER_S + (int64_t)(f + 0.5);
	}
}

/* Reads exactly n digits. */
static int
db_digits(const char **sp, int n, int *out)
{
	const char	*s = *sp;
	int		 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*sp = s + n;
	*out = v;
	return 0;
}

/* "Z", "+HH:MM", "+HHMM" or "+HH" (sign either way) → seconds east of UTC. */
static int
db_parse_offset(const char **sp, int64_t *off)
{
	const char	*s = *sp;
	int		 sign, hh, mm = 0;

	*off = 0;
	if (*s == 'Z' || *s == 'z') {
		*sp = s + 1;
		return 0;
	}
	if (*s != '+' && *s != '-')
		return 0;
	sign = *s++ == '-' ? -1 : 1;
	if (db_digits(&s, 2, &hh) == -1 || hh > 23)
		return -1;
	if (*s == ':')
		s++;
	if (*s >= '0' && *s <= '9' && (db_digits(&s, 2, &mm) == -1 || mm > 59))
		return -1;
	*off = sign * (hh * 3600 + mm * 60);
	*sp = s;
	return 0;
}

int
db_time_parse(const char *s, int64_t *us)
{
	int	y, mo, d, h = 0, mi = 0, sec = 0, frac = 0, scale = 100000;
	int64_t	off = 0, days;

	if (s == NULL || db_digits(&s, 4, &y) == -1 || *s++ != '-' ||
	    db_digits(&s, 2, &mo) == -1 || *s++ != '-' ||
	    db_digits(&s, 2, &d) == -1)
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > db_mdays(y, mo))
		return -1;
	if (*s == ' ' || *s == 'T' || *s == 't') {
		s++;
		if (db_digits(&s, 2, &h) == -1 || *s++ != ':' ||
		    db_digits(&s, 2, &mi) == -1 || *s++ != ':' ||
		    db_digits(&s, 2, &sec) == -1)
			return -1;
		/* 60: a leap second rolls into the next minute, as PostgreSQL does. */
		if (h > 23 || mi > 59 || sec > 60)
			return -1;
		if (*s == '.') {
			if (*++s < '0' || *s > '9')
				return -1;
			for (; *s >= '0' && *s <= '9'; s++, scale /= 10)
				frac += (*s - '0') * scale;	/* past µs: dropped */
		}
		if (db_parse_offset(&s, &off) == -1)
			return -1;
	}
	if (*s != '\0')
		return -1;
	days = db_days_from_civil(y, mo, d);
	*us = ((days * S_PER_DAY + h * 3600 + mi * 60 + sec) - off) * US_PER_S + frac;
	return 0;
}

/* snprintf's answer as this file's: length, or -1 when it did not fit. */
static int
db_fit(int n, size_t len)
{
	return n < 0 || (size_t)n >= len ? -1 : n;
}

int
db_time_format(int64_t us, char *buf, size_t len)
{
	struct tm	tm;
	int		frac;

	db_time_split(us, &tm, &frac);
	return db_fit(snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec), len);
}

int
db_time_format_epoch(int64_t us, char *buf, size_t len)
{
	char	tmp[64];
	double	x = (double)us / (double)US_PER_S;
	int	prec, n = -1;

	/* Fewest fractional digits that read back as the same double. */
	for (prec = 0; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*f", prec, x);
		if (n > 0 && (size_t)n < sizeof(tmp) && strtod(tmp, NULL) == x)
			break;
	}
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return db_fit(snprintf(buf, len, "%s", tmp), len);
}

int
db_time_format_rfc3339(int64_t us, int frac_digits, char *buf, size_t len)
{
	struct tm	tm;
	char		frac[16] = "";
	int		f;

	db_time_split(us, &tm, &f);
	switch (frac_digits) {
	case 0:
		break;
	case 3:
		snprintf(frac, sizeof(frac), ".%03d", f / 1000);
		break;
	case 6:
		snprintf(frac, sizeof(frac), ".%06d", f);
		break;
	case 9:
		snprintf(frac, sizeof(frac), ".%06d000", f);
		break;
	default:
		return -1;
	}
	return db_fit(snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s+00:00",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, frac), len);
}

int
db_time_strftime(int64_t us, const char *fmt, char *buf, size_t len)
{
	struct tm	tm;
	size_t		n;
	int		frac;

	if (len == 0)
		return -1;
	db_time_split(us, &tm, &frac);
	buf[0] = '\0';
	/* The callers' formats are checked through db.h's format attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	n = strftime(buf, len, fmt, &tm);
#pragma GCC diagnostic pop
	if (n == 0 && fmt[0] != '\0')
		return -1;
	return (int)n;
}
