/*
 * migrate_to.c — ankicollabctl migrate to-postgres: our data dir into an
 * empty database with upstream's schema, and our media into upstream's
 * bucket layout, for an admin who moves to the upstream stack.
 *
 * Our side is read in one snapshot (a read transaction), so the suite may
 * keep serving meanwhile. The target is written in one transaction: the
 * schema is created where absent, every table must be empty, rows go in
 * with COPY (streamed through a fixed buffer) keeping our ids, sequences
 * are moved past them, and counts are compared before the COMMIT. So an
 * interrupted run leaves the target as it found it, and running again
 * starts over. Media go first, each renamed into place once its MD5 is
 * checked, and a file already there with the right bytes is kept.
 *
 * What upstream has no place for stays behind: our extra token pairs (it
 * keeps one per user: the one used last goes), our created_at of decks and
 * notetypes, media types and reference counts, and the transient upload
 * and bulk-operation tables.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/db.h"
#include "common/mediaclient.h"
#include "ctl/ctl.h"
#include "ctl/migrate.h"

#define SQL_MAX		8192
#define COPYBUF		65536

struct copyout {
	PGconn	*pg;
	size_t	 len;
	int	 err;
	char	 buf[COPYBUF];
};

static void
co_flush(struct copyout *co)
{
	if (co->len > 0 && !co->err &&
	    PQputCopyData(co->pg, co->buf, (int)co->len) != 1) {
		fprintf(stderr, "ankicollabctl: PostgreSQL: %s",
		    PQerrorMessage(co->pg));
		co->err = 1;
	}
	co->len = 0;
}

static void
co_put(struct copyout *co, const char *p, size_t n)
{
	size_t	k;

	while (n > 0) {
		if (co->len == sizeof(co->buf))
			co_flush(co);
		k = sizeof(co->buf) - co->len;
		if (k > n)
			k = n;
		memcpy(co->buf + co->len, p, k);
		co->len += k;
		p += k;
		n -= k;
	}
}

static void
co_str(struct copyout *co, const char *s)
{
	co_put(co, s, strlen(s));
}

/* COPY's text format: backslash, tab, newline and return escaped. */
static void
co_text(struct copyout *co, const unsigned char *s, size_t n)
{
	size_t	i, start = 0;
	char	esc[2] = { '\\', 0 };

	for (i = 0; i < n; i++) {
		switch (s[i]) {
		case '\\':
			esc[1] = '\\';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		default:
			continue;
		}
		co_put(co, (const char *)s + start, i - start);
		co_put(co, esc, 2);
		start = i + 1;
	}
	co_put(co, (const char *)s + start, n - start);
}

/* Our SELECT for one table, arrays already in PostgreSQL's literal form. */
static int
select_sql(const struct mig_table *t, char *buf, size_t len)
{
	const struct mig_col	*c;
	size_t			 i, n = mig_ncols(t);
	int			 rc = 0;

	buf[0] = '\0';
	rc |= mig_cat(buf, len, "SELECT ");
	for (i = 0; i < n; i++) {
		c = &t->cols[i];
		rc |= mig_cat(buf, len, "%s", i ? ", " : "");
		if (c->kind == MIG_INTARR)
			rc |= mig_cat(buf, len, "CASE WHEN \"%s\" IS NULL THEN NULL "
			    "ELSE '{' || coalesce((SELECT group_concat(value, ',') "
			    "FROM json_each(\"%s\")), '') || '}' END", c->ours,
			    c->ours);
		else if (c->kind == MIG_TEXTARR)
			rc |= mig_cat(buf, len, "CASE WHEN \"%s\" IS NULL THEN NULL "
			    "ELSE '{' || coalesce((SELECT group_concat('\"' || "
			    "replace(replace(value, '\\', '\\\\'), '\"', '\\\"') "
			    "|| '\"', ',') FROM json_each(\"%s\")), '') || '}' END",
			    c->ours, c->ours);
		else if (c->up_default != NULL)
			rc |= mig_cat(buf, len, "coalesce(\"%s\", %s)", c->ours,
			    c->up_default);
		else
			rc |= mig_cat(buf, len, "\"%s\"", c->ours);
	}
	rc |= mig_cat(buf, len, " FROM %s", t->ours);
	if (t->ours_where != NULL)
		rc |= mig_cat(buf, len, " WHERE %s", t->ours_where);
	if (t->key != NULL)
		rc |= mig_cat(buf, len, " ORDER BY \"%s\"", t->key);
	return rc;
}

static int
copy_sql(const struct mig_table *t, char *buf, size_t len)
{
	size_t	i, n = mig_ncols(t);
	int	rc = 0;

	buf[0] = '\0';
	rc |= mig_cat(buf, len, "COPY %s (", t->up);
	for (i = 0; i < n; i++)
		rc |= mig_cat(buf, len, "%s\"%s\"", i ? ", " : "",
		    t->cols[i].up != NULL ? t->cols[i].up : t->cols[i].ours);
	rc |= mig_cat(buf, len, ") FROM STDIN");
	return rc;
}

static void
put_value(struct copyout *co, sqlite3_stmt *st, int i, enum mig_kind kind)
{
	char		 num[64];
	const uint8_t	*b;
	int		 k, n;

	if (sqlite3_column_type(st, i) == SQLITE_NULL) {
		co_str(co, "\\N");
		return;
	}
	switch (kind) {
	case MIG_INT:
		snprintf(num, sizeof(num), "%lld", sqlite3_column_int64(st, i));
		co_str(co, num);
		break;
	case MIG_BOOL:
		co_str(co, sqlite3_column_int64(st, i) ? "t" : "f");
		break;
	case MIG_REAL:
		snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(st, i));
		co_str(co, num);
		break;
	case MIG_TIME:
		db_time_format_rfc3339(db_column_time(st, i), 6, num, sizeof(num));
		co_str(co, num);
		break;
	case MIG_BYTEA:
		b = sqlite3_column_blob(st, i);
		n = sqlite3_column_bytes(st, i);
		co_str(co, "\\\\x");
		for (k = 0; k < n; k++) {
			snprintf(num, sizeof(num), "%02x", b[k]);
			co_put(co, num, 2);
		}
		break;
	default:
		b = sqlite3_column_text(st, i);
		co_text(co, b, (size_t)sqlite3_column_bytes(st, i));
		break;
	}
}

/* COPYs one table; *rows gets how many went. 0, or -1 after saying why. */
static int
copy_table(PGconn *pg, struct db *db, const struct mig_table *t,
    struct copyout *co, int64_t *rows)
{
	char		 sel[SQL_MAX], cp[SQL_MAX];
	sqlite3_stmt	*st;
	PGresult	*res;
	size_t		 i, n = mig_ncols(t);
	int		 rc, ok;

	*rows = 0;
	if (select_sql(t, sel, sizeof(sel)) == -1 ||
	    copy_sql(t, cp, sizeof(cp)) == -1) {
		fprintf(stderr, "ankicollabctl: %s: SQL too long\n", t->ours);
		return -1;
	}
	if (sqlite3_prepare_v2(db_sqlite(db), sel, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", t->ours,
		    sqlite3_errmsg(db_sqlite(db)));
		return -1;
	}
	res = PQexec(pg, cp);
	ok = PQresultStatus(res) == PGRES_COPY_IN;
	if (!ok)
		fprintf(stderr, "ankicollabctl: PostgreSQL: %s",
		    PQerrorMessage(pg));
	PQclear(res);
	if (!ok) {
		sqlite3_finalize(st);
		return -1;
	}
	co->pg = pg;
	co->len = 0;
	co->err = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && !co->err) {
		for (i = 0; i < n; i++) {
			if (i > 0)
				co_put(co, "\t", 1);
			put_value(co, st, (int)i, t->cols[i].kind);
		}
		co_put(co, "\n", 1);
		(*rows)++;
	}
	if (rc != SQLITE_DONE && !co->err) {
		fprintf(stderr, "ankicollabctl: reading %s: %s\n", t->ours,
		    sqlite3_errmsg(db_sqlite(db)));
		co->err = 1;
	}
	sqlite3_finalize(st);
	co_flush(co);
	if (PQputCopyEnd(pg, co->err ? "ankicollabctl stopped" : NULL) != 1)
		co->err = 1;
	ok = 1;
	while ((res = PQgetResult(pg)) != NULL) {
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			if (!co->err)
				fprintf(stderr, "ankicollabctl: writing %s: %s",
				    t->up, PQresultErrorMessage(res));
			ok = 0;
		}
		PQclear(res);
	}
	return ok && !co->err ? 0 : -1;
}

/* Every table we may write, and upstream's own, must be empty. */
static int
target_empty(PGconn *pg)
{
	char	sql[256];
	int64_t	n;
	size_t	i;

	for (i = 0; i < mig_ntables + mig_nup_only; i++) {
		const char *up = i < mig_ntables ? mig_tables[i].up :
		    mig_up_only[i - mig_ntables];

		snprintf(sql, sizeof(sql),
		    "SELECT count(*) FROM (SELECT 1 FROM %s LIMIT 1) x", up);
		if (mig_pg_count(pg, sql, &n) == -1)
			return -1;
		if (n > 0) {
			fprintf(stderr, "ankicollabctl: the target database is "
			    "not empty (%s has rows); nothing was written\n", up);
			return -1;
		}
	}
	return 0;
}

/* Moves every serial and identity sequence past the ids just written. */
static const char setval_sql[] =
"DO $$ DECLARE r record; m bigint; BEGIN\n"
"  FOR r IN SELECT n.nspname, c.relname, a.attname,\n"
"      pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname) AS seq\n"
"    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid\n"
"    JOIN pg_namespace n ON n.oid = c.relnamespace\n"
"    WHERE n.nspname IN ('anki', 'public') AND c.relkind = 'r'\n"
"      AND a.attnum > 0 AND NOT a.attisdropped\n"
"  LOOP\n"
"    CONTINUE WHEN r.seq IS NULL;\n"
"    EXECUTE format('SELECT max(%I) FROM %I.%I', r.attname, r.nspname, r.relname) INTO m;\n"
"    IF m IS NOT NULL THEN PERFORM setval(r.seq, m); END IF;\n"
"  END LOOP;\n"
"END $$";

static int
verify_table(PGconn *pg, struct db *db, const struct mig_table *t,
    int64_t rows)
{
	char		 sql[SQL_MAX];
	sqlite3_stmt	*st;
	int64_t		 up, ours = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", t->up);
	if (mig_pg_count(pg, sql, &up) == -1)
		return -1;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s%s%s", t->ours,
	    t->ours_where ? " WHERE " : "", t->ours_where ? t->ours_where : "");
	if (sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		ours = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	printf("%-26s %9" PRId64 " here %9" PRId64 " upstream%s\n", t->ours,
	    ours, up, ours == up && rows == up ? "  ok" : "  MISMATCH");
	return ours == up && rows == up ? 0 : -1;
}

static int
copy_media(struct db *db, const struct ctl *ctl, const char *out)
{
	char	src[CONFIG_PATH_MAX + 8];

	snprintf(src, sizeof(src), "%s/media", ctl->cfg.data_dir);
	/* Temporary files beside the bucket's folders: the same file system. */
	return mig_media_copy_all(db, src, out, out, "not in data_dir/media");
}

int
mig_to_postgres(struct ctl *ctl, const char *url, const char *media)
{
	static struct copyout	 co;
	struct db		*db = NULL;
	PGconn			*pg = NULL;
	PGresult		*res;
	int64_t			 rows;
	size_t			 i;
	int			 rc = CTL_EXIT_FAIL, bad = 0;

	if (mkdir(media, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", media, strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if (ctl_db_open(ctl, 0, &db) != CTL_EXIT_OK)
		return CTL_EXIT_FAIL;
	if (db == NULL)
		return CTL_EXIT_FAIL;	/* said: no database yet */
	if ((pg = mig_pg_connect(url)) == NULL)
		goto out;
	/* One snapshot of ours for the media and every table. */
	if (db_begin_read(db) != DB_OK)
		goto out;
	if (ctl_db_run(db, "SELECT count(*) FROM pragma_foreign_key_check", 0, 0,
	    &rows) != DB_OK)
		goto out;
	if (rows > 0) {
		fprintf(stderr, "ankicollabctl: %" PRId64 " row(s) here refer to "
		    "rows that are not there (PRAGMA foreign_key_check); nothing "
		    "was written\n", rows);
		goto out;
	}
	if (copy_media(db, ctl, media) == -1)
		bad = 1;
	fflush(stdout);

	if (mig_pg_exec(pg, "BEGIN") == -1 ||
	    mig_pg_exec(pg, mig_upstream_schema) == -1 ||
	    target_empty(pg) == -1)
		goto out;
	/*
	 * Our rows already satisfy every foreign key (SQLite enforces them;
	 * checked above), and upstream's per-row checks lock each parent row
	 * once per child: most of the load time. A superuser may skip them;
	 * anyone else pays for them.
	 */
	res = PQexec(pg, "SAVEPOINT fk; SET LOCAL session_replication_role = replica");
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		printf("foreign keys: checked here, not row by row by PostgreSQL\n");
	PQclear(res);
	PQclear(PQexec(pg, PQtransactionStatus(pg) == PQTRANS_INERROR ?
	    "ROLLBACK TO SAVEPOINT fk" : "RELEASE SAVEPOINT fk"));
	for (i = 0; i < mig_ntables; i++) {
		if (copy_table(pg, db, &mig_tables[i], &co, &rows) == -1)
			goto out;
		if (verify_table(pg, db, &mig_tables[i], rows) == -1)
			bad = 1;
		fflush(stdout);
	}
	if (bad) {
		printf("nothing was written to the database: see above\n");
		goto out;
	}
	if (mig_pg_exec(pg, setval_sql) == -1 ||
	    mig_pg_exec(pg, "COMMIT") == -1)
		goto out;
	printf("migration complete: the database and %s hold everything\n",
	    media);
	rc = CTL_EXIT_OK;
out:
	fflush(stdout);
	if (pg != NULL) {
		if (rc != CTL_EXIT_OK)
			PQclear(PQexec(pg, "ROLLBACK"));
		PQfinish(pg);
	}
	db_rollback(db);
	db_close(db);
	return rc;
}
