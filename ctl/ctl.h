/*
 * ctl.h — ankicollabctl: the admin's command line.
 *
 * Commands that concern running processes talk to the supervisor over its
 * control socket (supervise.c); the others (users.c, decks.c) open the
 * same database apid uses, and work whether the suite runs or not.
 */
#ifndef ANKICOLLAB_CTL_H
#define ANKICOLLAB_CTL_H

#include <stddef.h>
#include <stdint.h>

#include "apid/password.h"
#include "common/config.h"

/* Exit statuses, as s6 uses them. */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAIL		1	/* the request was refused or failed */
#define CTL_EXIT_USAGE		100
#define CTL_EXIT_UNREACHABLE	111	/* no supervisor answers */

/* apid's database, in data_dir. */

struct ctl {
	struct config	cfg;
	int		json;		/* --json */
};

struct db;

/*
 * Each command family takes argv[0] as the command and returns an exit
 * status, or -1 when argv[0] is not one of its commands.
 */
int	ctl_supervise(struct ctl *ctl, int argc, char **argv);	/* supervise.c */
int	ctl_users(struct ctl *ctl, int argc, char **argv);	/* users.c: user */
int	ctl_decks(struct ctl *ctl, int argc, char **argv);	/* decks.c: deck, maintainer */
int	ctl_review(struct ctl *ctl, int argc, char **argv);	/* review.c: review */
int	ctl_migrate(struct ctl *ctl, int argc, char **argv);	/* migrate.c: migrate */
int	ctl_backup(struct ctl *ctl, int argc, char **argv);	/* backup.c: backup, restore */

/*
 * Connects to the supervisor's control socket (its path goes to path): a
 * blocking fd, or -1 with errno when nothing answers. (supervise.c)
 */
int	ctl_connect(const struct ctl *ctl, char *path, size_t pathlen);

/* ---- shared by users.c and decks.c (defined in users.c) ------------------ */

/*
 * Opens the database: read-write (creating data_dir and the file if need
 * be) when write is set, else read-only. A read-only open of a database
 * that does not exist yet succeeds with *dbp NULL: there is nothing to
 * list. Returns CTL_EXIT_OK, or a failing status after saying why.
 */
int	ctl_db_open(const struct ctl *ctl, int write, struct db **dbp);

/* Reports a DB_* error (db.c has logged the detail): CTL_EXIT_FAIL. */
int	ctl_db_error(int rc);

/*
 * Runs sql with ?1 = a and, if it has a ?2, ?2 = b. *out (may be NULL)
 * gets the first column of the first row, or for a statement without rows
 * the number of rows it changed. Returns DB_OK or a DB_* error.
 */
int	ctl_db_run(struct db *db, const char *sql, int64_t a, int64_t b,
	    int64_t *out);

struct ctl_user {
	int64_t	id;
	char	name[PASSWORD_USERNAME_MAX + 1];	/* as stored */
	int	deleted;
};

/*
 * Finds a user by name the way /login does (lower-cased). Says why not and
 * returns CTL_EXIT_FAIL if there is none, or if live is set and the
 * account is deleted. db may be NULL (no database yet).
 */
int	ctl_user_get(struct db *db, const char *name, int live,
	    struct ctl_user *u);

/* A listing's column: its key in JSON, its heading, how to read it. */
enum ctl_type {
	CTL_TEXT,
	CTL_INT,	/* right-aligned in tables */
	CTL_TIME,	/* "YYYY-MM-DD HH:MM:SS" UTC */
	CTL_BOOL	/* yes/no in tables */
};
struct ctl_column {
	const char	*key;
	const char	*header;
	enum ctl_type	 type;
};
#define CTL_COLUMNS_MAX	8

/*
 * Prints the rows of sql, whose columns are cols in order (?1 is arg, or
 * NULL if arg < 0): {"<what>": [{key: value, ...}]} with --json, else a
 * table under a heading. db may be NULL (no database yet): no rows.
 * Returns an exit status.
 */
int	ctl_list(const struct ctl *ctl, struct db *db, const char *sql,
	    int64_t arg, const char *what, const struct ctl_column *cols,
	    size_t ncols);

#endif
