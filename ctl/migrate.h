/*
 * migrate.h — ankicollabctl migrate: moving data between an upstream
 * AnkiCollab install (PostgreSQL and an S3 bucket's key layout) and ours.
 *
 *	migrate_schema.c	upstream's DDL and the map of tables and columns
 *	migrate.c		the command, the media copy, shared libpq helpers
 *	migrate_copy.c		a row of COPY's text format
 *	migrate_from.c		from-postgres: upstream -> a new data dir
 *	migrate_to.c		to-postgres: our data dir -> an empty upstream DB
 */
#ifndef ANKICOLLAB_MIGRATE_H
#define ANKICOLLAB_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct ctl;
struct db;

/* How a column's value crosses between PostgreSQL and SQLite. */
enum mig_kind {
	MIG_INT,	/* integer, serial, oid */
	MIG_REAL,	/* real, double precision */
	MIG_TIME,	/* timestamptz/timestamp <-> REAL epoch seconds, µs kept */
	MIG_TEXT,	/* text, varchar, inet */
	MIG_BOOL,	/* bool <-> INTEGER 0/1 */
	MIG_BYTEA,	/* bytea <-> BLOB */
	MIG_JSON,	/* jsonb <-> JSON TEXT */
	MIG_INTARR,	/* int[] <-> JSON array TEXT (NULL stays NULL) */
	MIG_TEXTARR	/* text[] <-> JSON array TEXT */
};

struct mig_col {
	const char	*ours;		/* our column */
	const char	*up;		/* upstream's column (NULL: the same) */
	enum mig_kind	 kind;
	/*
	 * Where our column is NOT NULL and upstream's is not: the SQL value
	 * taken for upstream's NULL (in PostgreSQL's dialect). Where
	 * upstream's is NOT NULL and ours is not, up_default is the value
	 * sent back for our NULL (in SQLite's dialect).
	 */
	const char	*our_default;
	const char	*up_default;
};

#define MIG_COLS_MAX	18

struct mig_table {
	const char	*ours;
	const char	*up;		/* schema-qualified */
	/*
	 * The integer key rows are copied in order of, so an interrupted
	 * run resumes after the last committed one; NULL: the table goes in
	 * one transaction (small, no single key).
	 */
	const char	*key;
	/*
	 * Columns upstream leaves unconstrained that are UNIQUE here: rows
	 * repeating them are dropped (and counted) instead of failing.
	 */
	const char	*unique;
	/* Which of our rows go back (upstream keeps fewer), or NULL. */
	const char	*ours_where;
	struct mig_col	 cols[MIG_COLS_MAX];
};

extern const struct mig_table	mig_tables[];
extern const size_t		mig_ntables;
/* Upstream tables nothing of ours maps to (website-only or unused). */
extern const char *const	mig_up_only[];
extern const size_t		mig_nup_only;
/* CREATE ... IF NOT EXISTS for all of upstream's schema (spec/schema.md §1). */
extern const char		mig_upstream_schema[];

size_t	mig_ncols(const struct mig_table *t);

/* Appends to a bounded SQL buffer; -1 once it would not fit. */
int	mig_cat(char *buf, size_t len, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* ---- migrate_copy.c ---------------------------------------------------- */

/*
 * Splits one COPY text row (len bytes, its newline optional; row[len]
 * must be writable) into exactly n columns, unescaping each in place and
 * ending it with a NUL: val[i] points into row, or is NULL for SQL NULL.
 * Returns 0, or -1 for a row that does not have n columns or ends in a
 * lone backslash.
 */
int	mig_copy_row(char *row, size_t len, char **val, size_t *vlen, size_t n);

/* ---- migrate.c ---------------------------------------------------------- */

/* Connects, with libpq's notices kept quiet; NULL after saying why. */
PGconn	*mig_pg_connect(const char *url);
/* Runs sql (no rows wanted); 0, or -1 after saying why. */
int	 mig_pg_exec(PGconn *pg, const char *sql);
/* The first column of the first row as an integer; -1 after saying why. */
int	 mig_pg_count(PGconn *pg, const char *sql, int64_t *out);

enum mig_media_result {
	MIG_MEDIA_COPIED,
	MIG_MEDIA_PRESENT,	/* already there with the right MD5 */
	MIG_MEDIA_MISSING,	/* no source file */
	MIG_MEDIA_BAD,		/* the source's bytes are not its MD5 */
	MIG_MEDIA_ERROR		/* cannot read or write; said why */
};

/*
 * Copies src_root/<hh>/<hash> to dst_root/<hh>/<hash> through tmp (a
 * path on dst_root's file system), checking the MD5 on the way and
 * fsyncing before the rename. A destination already holding the right
 * bytes is left alone. *size gets the file's length.
 */
enum mig_media_result mig_media_copy(const char *src_root, const char *dst_root,
	    const char *tmp, const char *hash, int64_t *size);

/*
 * Copies every file media_files names from src_root to dst_root with
 * mig_media_copy (temporary files in tmp_dir), then prints the media lines
 * of the report; a file not found is reported as src_name says. 0 when
 * every file is there with its MD5, else -1.
 */
int	mig_media_copy_all(struct db *db, const char *src_root, const char *dst_root,
	    const char *tmp_dir, const char *src_name);

int	mig_from_postgres(struct ctl *ctl, const char *url, const char *media,
	    int64_t batch);
int	mig_to_postgres(struct ctl *ctl, const char *url, const char *media);

#endif
