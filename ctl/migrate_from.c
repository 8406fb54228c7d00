/*
 * migrate_from.c — ankicollabctl migrate from-postgres: an upstream
 * AnkiCollab database and bucket into a new data dir.
 *
 * The source is only read: one READ ONLY, REPEATABLE READ transaction, so
 * every table and every count comes from the same snapshot. Rows stream
 * through COPY ... TO STDOUT, one at a time, and go into SQLite in
 * transactions of --batch rows with upstream's ids kept. server_state
 * says how far each table got ("migrate.<table>": a row count while it is
 * partial, 'done' once whole, committed with the rows), so a run that is
 * interrupted (killed, power lost, the source gone) is simply run again:
 * finished tables are kept, a partial one is emptied and copied again, so
 * nothing is doubled. (Resuming inside a table would need its rows in key
 * order, which doubles the source's work: see select_sql.) Foreign keys are
 * checked once at the end rather than row by row, so the order rows come
 * in does not matter (a subdeck whose id is lower than its parent's).
 *
 * Media files go last, each through data_dir/spool/ and renamed into
 * data_dir/media/<hh>/<md5> once its MD5 is checked; a file already there
 * with the right bytes is kept.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/hex.h"
#include "common/mediaclient.h"
#include "ctl/ctl.h"
#include "ctl/migrate.h"

#define SQL_MAX		4096
#define BYTEA_MAX	256	/* token hashes: 32 bytes */

static const char state_get_sql[] =
    "SELECT value FROM server_state WHERE key = ?1";
static const char state_set_sql[] =
    "INSERT INTO server_state (key, value, updated_at) VALUES (?1, ?2, unixepoch()) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
    "updated_at = excluded.updated_at";

/*
 * A progress value: 1 and *n (an integer) while a table is under way, 2
 * (and text) when it is done, 0 for none.
 */
static int
state_get(struct db *db, const char *key, int64_t *n, char *text,
    size_t textlen)
{
	sqlite3_stmt	*st;
	int		 rc, found = 0;

	if ((st = db_stmt(db, state_get_sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW) {
		if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
			*n = sqlite3_column_int64(st, 0);
			found = 1;
		} else {
			if (text != NULL)
				snprintf(text, textlen, "%s",
				    (const char *)sqlite3_column_text(st, 0));
			found = 2;
		}
		rc = DB_OK;
	}
	db_stmt_done(st);
	return rc < 0 ? rc : found;
}

static int
state_set(struct db *db, const char *key, const char *text, int64_t value)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, state_set_sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (text != NULL)
		sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 2, value);
	rc = db_step(st);
	db_stmt_done(st);
	return rc;
}

/* The COPY of one upstream table, in the order of our columns. */
static int
select_sql(const struct mig_table *t, char *buf, size_t len)
{
	const struct mig_col	*c;
	size_t			 i, n = mig_ncols(t);
	const char		*up;
	char			 expr[256];
	int			 rc = 0;

	buf[0] = '\0';
	rc |= mig_cat(buf, len, "COPY (SELECT ");
	for (i = 0; i < n; i++) {
		c = &t->cols[i];
		up = c->up != NULL ? c->up : c->ours;
		switch (c->kind) {
		case MIG_TIME:
			snprintf(expr, sizeof(expr), "extract(epoch from \"%s\")", up);
			break;
		case MIG_BOOL:
			snprintf(expr, sizeof(expr), "\"%s\"::int", up);
			break;
		case MIG_BYTEA:
			snprintf(expr, sizeof(expr), "encode(\"%s\", 'hex')", up);
			break;
		case MIG_INTARR:
		case MIG_TEXTARR:
			snprintf(expr, sizeof(expr), "array_to_json(\"%s\")::text", up);
			break;
		case MIG_JSON:
			snprintf(expr, sizeof(expr), "\"%s\"::text", up);
			break;
		default:
			snprintf(expr, sizeof(expr), "\"%s\"", up);
			break;
		}
		if (c->our_default != NULL)
			rc |= mig_cat(buf, len, "%scoalesce(%s, %s)", i ? ", " : "",
			    expr, c->our_default);
		else
			rc |= mig_cat(buf, len, "%s%s", i ? ", " : "", expr);
	}
	/* In the heap's order: an ORDER BY would double the server's work. */
	rc |= mig_cat(buf, len, " FROM %s) TO STDOUT", t->up);
	return rc;
}

static int
insert_sql(const struct mig_table *t, char *buf, size_t len)
{
	size_t	i, n = mig_ncols(t);
	int	rc = 0;

	buf[0] = '\0';
	rc |= mig_cat(buf, len, "INSERT %sINTO %s (", t->unique ? "OR IGNORE " : "",
	    t->ours);
	for (i = 0; i < n; i++)
		rc |= mig_cat(buf, len, "%s\"%s\"", i ? ", " : "", t->cols[i].ours);
	rc |= mig_cat(buf, len, ") VALUES (");
	for (i = 0; i < n; i++)
		rc |= mig_cat(buf, len, "%s?%zu", i ? ", " : "", i + 1);
	rc |= mig_cat(buf, len, ")");
	return rc;
}

/* Binds one value (NUL-terminated, or NULL); -1 for one that cannot be. */
static int
bind_value(sqlite3_stmt *st, int idx, const struct mig_col *c, const char *v,
    size_t len)
{
	uint8_t		 blob[BYTEA_MAX];
	size_t		 k;
	int		 hi, lo;

	if (v == NULL)
		return sqlite3_bind_null(st, idx);
	switch (c->kind) {
	case MIG_INT:
	case MIG_BOOL:
		return sqlite3_bind_int64(st, idx, strtoll(v, NULL, 10));
	case MIG_REAL:
	case MIG_TIME:
		return sqlite3_bind_double(st, idx, strtod(v, NULL));
	case MIG_BYTEA:
		if (len % 2 != 0 || len / 2 > BYTEA_MAX)
			return -1;
		for (k = 0; k < len / 2; k++) {
			if ((hi = hex_digit((unsigned char)v[2 * k])) < 0 ||
			    (lo = hex_digit((unsigned char)v[2 * k + 1])) < 0)
				return -1;
			blob[k] = (uint8_t)(hi << 4 | lo);
		}
		return sqlite3_bind_blob(st, idx, blob, (int)(len / 2),
		    SQLITE_TRANSIENT);
	default:
		if (len > INT32_MAX)
			return -1;
		return sqlite3_bind_text(st, idx, v, (int)len, SQLITE_STATIC);
	}
}

/* Stops a COPY under way and reads what is left of it. */
static void
copy_abort(PGconn *pg)
{
	PGcancel	*cancel;
	PGresult	*res;
	char		 err[256], *buf;

	if ((cancel = PQgetCancel(pg)) != NULL) {
		(void)PQcancel(cancel, err, sizeof(err));
		PQfreeCancel(cancel);
	}
	while (PQgetCopyData(pg, &buf, 0) > 0)
		PQfreemem(buf);
	while ((res = PQgetResult(pg)) != NULL)
		PQclear(res);
}

/* Streams one table in; 0, or -1 after saying why. */
static int
copy_table(PGconn *pg, struct db *db, const struct mig_table *t,
    int64_t batch, int64_t *rows)
{
	char		 sel[SQL_MAX], sel2[128], ins[SQL_MAX], key[96], *row;
	char		*val[MIG_COLS_MAX];
	size_t		 vlen[MIG_COLS_MAX], i, ncols = mig_ncols(t);
	sqlite3_stmt	*st = NULL;
	PGresult	*res;
	int64_t		 partial = 0, n = 0;
	int		 len, state, failed = 0;

	*rows = 0;
	snprintf(key, sizeof(key), "migrate.%s", t->ours);
	if ((state = state_get(db, key, &partial, NULL, 0)) < 0)
		return -1;
	if (state == 2)
		return 0;		/* done by an earlier run */
	if (select_sql(t, sel, sizeof(sel)) == -1 ||
	    insert_sql(t, ins, sizeof(ins)) == -1) {
		fprintf(stderr, "ankicollabctl: %s: SQL too long\n", t->ours);
		return -1;
	}
	if (state == 1) {
		/* An interrupted run committed part of it: start it over. */
		snprintf(sel2, sizeof(sel2), "DELETE FROM %s", t->ours);
		if (db_begin(db) != DB_OK || db_exec(db, sel2) != DB_OK ||
		    db_commit(db) != DB_OK) {
			db_rollback(db);
			return -1;
		}
		printf("%-26s %9" PRId64 " row(s) of an interrupted run "
		    "removed, copying it again\n", t->ours, partial);
		fflush(stdout);
	}
	if (sqlite3_prepare_v2(db_sqlite(db), ins, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", t->ours,
		    sqlite3_errmsg(db_sqlite(db)));
		return -1;
	}
	res = PQexec(pg, sel);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		fprintf(stderr, "ankicollabctl: reading %s: %s", t->up,
		    PQerrorMessage(pg));
		PQclear(res);
		sqlite3_finalize(st);
		return -1;
	}
	PQclear(res);
	if (db_begin(db) != DB_OK)
		failed = 1;

	/* One row per call, in a buffer of its own: memory stays one row. */
	while (!failed && (len = PQgetCopyData(pg, &row, 0)) > 0) {
		if (mig_copy_row(row, (size_t)len, val, vlen, ncols) == -1) {
			fprintf(stderr, "ankicollabctl: reading %s: a row that "
			    "does not parse\n", t->up);
			failed = 1;
		}
		for (i = 0; !failed && i < ncols; i++)
			if (bind_value(st, (int)i + 1, &t->cols[i], val[i],
			    vlen[i]) != SQLITE_OK) {
				fprintf(stderr, "ankicollabctl: %s: column %s of "
				    "row %s cannot be stored here\n", t->up,
				    t->cols[i].ours, val[0] ? val[0] : "NULL");
				failed = 1;
			}
		if (!failed && sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "ankicollabctl: %s row %s: %s\n", t->up,
			    val[0] ? val[0] : "NULL",
			    sqlite3_errmsg(db_sqlite(db)));
			failed = 1;
		}
		if (!failed)
			n++;
		PQfreemem(row);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		/* Each batch commits with the mark that the table is partial. */
		if (!failed && n % batch == 0 &&
		    (state_set(db, key, NULL, n) != DB_OK ||
		    db_commit(db) != DB_OK || db_begin(db) != DB_OK))
			failed = 1;
	}
	if (failed)
		copy_abort(pg);
	else {
		if (len == -2) {
			fprintf(stderr, "ankicollabctl: reading %s: %s", t->up,
			    PQerrorMessage(pg));
			failed = 1;
		}
		while ((res = PQgetResult(pg)) != NULL) {
			if (!failed && PQresultStatus(res) != PGRES_COMMAND_OK) {
				fprintf(stderr, "ankicollabctl: reading %s: %s",
				    t->up, PQresultErrorMessage(res));
				failed = 1;
			}
			PQclear(res);
		}
	}
	sqlite3_finalize(st);
	if (!failed && state_set(db, key, "done", 0) == DB_OK &&
	    db_commit(db) == DB_OK) {
		*rows = n;
		return 0;
	}
	db_rollback(db);
	return -1;
}

static int
our_count(struct db *db, const char *table, int64_t *out)
{
	char		 sql[256];
	sqlite3_stmt	*st;
	int		 rc;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* Is the table there at all (older upstream versions lack some)? */
static int
pg_has_table(PGconn *pg, const char *name)
{
	const char	*param[1] = { name };
	PGresult	*res;
	int		 has;

	res = PQexecParams(pg, "SELECT to_regclass($1) IS NOT NULL", 1, NULL,
	    param, NULL, NULL, 0);
	has = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
	    strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return has;
}

/* Counts of one table on both sides; 0 if they agree. */
static int
verify_table(PGconn *pg, struct db *db, const struct mig_table *t,
    int64_t copied)
{
	char	sql[SQL_MAX];
	int64_t	up, expect, ours;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t->up);
	if (mig_pg_count(pg, sql, &up) == -1)
		return -1;
	expect = up;
	if (t->unique != NULL) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM "
		    "(SELECT DISTINCT %s FROM %s) d", t->unique, t->up);
		if (mig_pg_count(pg, sql, &expect) == -1)
			return -1;
	}
	if (our_count(db, t->ours, &ours) == -1)
		return -1;
	printf("%-26s %9" PRId64 " upstream %9" PRId64 " here (%" PRId64
	    " copied now)%s", t->ours, up, ours, copied,
	    ours == expect ? "  ok" : "  MISMATCH");
	if (expect != up)
		printf(", %" PRId64 " duplicate(s) dropped", up - expect);
	printf("\n");
	fflush(stdout);
	return ours == expect ? 0 : -1;
}

/* Who the source is, to refuse resuming a different one's migration. */
static void
source_id(PGconn *pg, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%s/%s", PQhost(pg) ? PQhost(pg) : "",
	    PQport(pg) ? PQport(pg) : "", PQdb(pg) ? PQdb(pg) : "");
}

static int
prepare_target(PGconn *pg, struct db *db)
{
	char	src[512], prev[512];
	int64_t	dummy, n;
	int	state;

	source_id(pg, src, sizeof(src));
	if ((state = state_get(db, "migrate.source", &dummy, prev,
	    sizeof(prev))) < 0)
		return -1;
	if (state == 2) {
		if (strcmp(prev, src) != 0) {
			fprintf(stderr, "ankicollabctl: this data dir holds a "
			    "migration from %s, not %s; use a new data dir\n",
			    prev, src);
			return -1;
		}
		if (state_get(db, "migrate.finished", &dummy, NULL, 0) == 1)
			printf("checking the migration from %s again\n", src);
		else
			printf("resuming the migration from %s\n", src);
		return 0;
	}
	if (ctl_db_run(db, "SELECT (SELECT count(*) FROM users) + "
	    "(SELECT count(*) FROM decks) + ?1", 0, 0, &n) != DB_OK)
		return -1;
	if (n > 0) {
		fprintf(stderr, "ankicollabctl: the data dir already holds "
		    "users or decks; migrate into a new data dir\n");
		return -1;
	}
	if (state_set(db, "migrate.source", src, 0) != DB_OK)
		return -1;
	printf("migrating from %s\n", src);
	return 0;
}

static int
make_dir(const char *root, const char *name, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/%s", root, name) >= len)
		return -1;
	if (mkdir(out, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", out, strerror(errno));
		return -1;
	}
	return 0;
}

static int
copy_media(struct db *db, const char *data_dir, const char *src)
{
	char	media[CONFIG_PATH_MAX + 8], spool[CONFIG_PATH_MAX + 8];

	if (make_dir(data_dir, "media", media, sizeof(media)) == -1 ||
	    make_dir(data_dir, "spool", spool, sizeof(spool)) == -1)
		return -1;
	return mig_media_copy_all(db, src, media, spool, "not in the media folder");
}

int
mig_from_postgres(struct ctl *ctl, const char *url, const char *media,
    int64_t batch)
{
	struct stat	 sb;
	struct db	*db = NULL;
	PGconn		*pg;
	const struct mig_table *t;
	int64_t		 rows, n;
	size_t		 i;
	int		 rc = CTL_EXIT_FAIL, bad = 0;

	if (stat(media, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "ankicollabctl: %s: not a media folder\n", media);
		return CTL_EXIT_FAIL;
	}
	if ((pg = mig_pg_connect(url)) == NULL)
		return CTL_EXIT_FAIL;
	/* One snapshot for every table and count; never a write. */
	if (mig_pg_exec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") == -1)
		goto out;
	for (i = 0; i < mig_ntables; i++) {
		t = &mig_tables[i];
		if (!pg_has_table(pg, t->up) && (strcmp(t->ours, "users") == 0 ||
		    strcmp(t->ours, "decks") == 0 || strcmp(t->ours, "notes") == 0)) {
			fprintf(stderr, "ankicollabctl: no table %s: not an "
			    "AnkiCollab database\n", t->up);
			goto out;
		}
	}
	if (ctl_db_open(ctl, 1, &db) != CTL_EXIT_OK)
		goto out;
	if (prepare_target(pg, db) == -1)
		goto out;
	/* Checked once at the end (foreign_key_check) instead. */
	if (db_exec(db, "PRAGMA foreign_keys = OFF") != DB_OK)
		goto out;

	for (i = 0; i < mig_ntables; i++) {
		t = &mig_tables[i];
		if (!pg_has_table(pg, t->up)) {
			printf("%-26s absent upstream, nothing to copy\n", t->ours);
			continue;
		}
		if (copy_table(pg, db, t, batch, &rows) == -1) {
			fprintf(stderr, "ankicollabctl: stopped in %s; what was "
			    "copied is kept, run the same command again to go "
			    "on\n", t->ours);
			goto out;
		}
		if (verify_table(pg, db, t, rows) != 0)
			bad = 1;
	}
	for (i = 0; i < mig_nup_only; i++) {
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", mig_up_only[i]);
		if (pg_has_table(pg, mig_up_only[i]) &&
		    mig_pg_count(pg, sql, &n) == 0 && n > 0)
			printf("%-26s %9" PRId64 " upstream, not carried over\n",
			    mig_up_only[i], n);
	}
	if (ctl_db_run(db, "SELECT count(*) + ?1 FROM pragma_foreign_key_check",
	    0, 0, &n) != DB_OK)
		goto out;
	if (n > 0) {
		printf("foreign keys: %" PRId64 " row(s) refer to rows that are "
		    "not there\n", n);
		bad = 1;
	} else
		printf("foreign keys: ok\n");
	fflush(stdout);
	if (db_exec(db, "PRAGMA foreign_keys = ON") != DB_OK)
		goto out;

	if (copy_media(db, ctl->cfg.data_dir, media) == -1)
		bad = 1;
	if (bad) {
		printf("migration finished WITH PROBLEMS (above); the data dir "
		    "%s is not ready\n", ctl->cfg.data_dir);
		goto out;
	}
	if (state_set(db, "migrate.finished", NULL, (int64_t)time(NULL)) != DB_OK)
		goto out;
	printf("migration complete: %s is ready\n", ctl->cfg.data_dir);
	rc = CTL_EXIT_OK;
out:
	fflush(stdout);
	if (db != NULL)
		db_close(db);
	PQfinish(pg);
	return rc;
}
