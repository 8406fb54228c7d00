/*
 * users.c — ankicollabctl's account commands, and the database and listing
 * helpers that decks.c shares:
 *
 *	user add NAME --password-stdin
 *	user passwd NAME --password-stdin
 *	user del NAME [--with-decks]
 *	user list [--json]
 *
 * Deleting is a soft delete (DESIGN.md: deleting a user never deletes
 * approved content in other people's decks). The row stays, so commits,
 * fields and tags the user contributed anywhere keep their author and their
 * content, and the name stays taken; the password is disabled (''), every
 * auth token revoked, and the user's maintainer entries, subscriber counts
 * and review stats removed. A user who still owns root decks is refused
 * unless --with-decks deletes those decks (with their subdecks, notes and
 * the suggestions made to them) in the same transaction; that is refused
 * in turn while notes in other people's decks inherit from them.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/db.h"
#include "apid/password.h"
#include "ctl/ctl.h"

#define NAME_RULE	"1 to 254 letters, digits, '_', '-', '.' or '@'"

/* ---- helpers shared with decks.c ----------------------------------------- */

int
ctl_db_open(const struct ctl *ctl, int write, struct db **dbp)
{
	char	path[CONFIG_PATH_MAX + sizeof(DB_FILE) + 1];

	*dbp = NULL;
	config_data_path(&ctl->cfg, DB_FILE, path, sizeof(path));
	if (!write && access(path, F_OK) == -1 && errno == ENOENT) {
		fprintf(stderr, "ankicollabctl: no database at %s yet\n", path);
		return CTL_EXIT_OK;
	}
	/* Before the suite's first start there may be no data_dir yet. */
	if (write && mkdir(ctl->cfg.data_dir, 0750) == -1 && errno != EEXIST) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", ctl->cfg.data_dir,
		    strerror(errno));
		return CTL_EXIT_FAIL;
	}
	if ((*dbp = db_open(path, write ? 0 : DB_READONLY)) == NULL) {
		fprintf(stderr, "ankicollabctl: cannot open the database %s\n",
		    path);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

int
ctl_db_error(int rc)
{
	if (rc == DB_BUSY)
		fprintf(stderr, "ankicollabctl: the database stayed locked for "
		    "%d s; nothing was changed, try again\n",
		    DB_BUSY_TIMEOUT_MS / 1000);
	else
		fprintf(stderr, "ankicollabctl: database error; nothing was "
		    "changed\n");
	return CTL_EXIT_FAIL;
}

int
ctl_db_run(struct db *db, const char *sql, int64_t a, int64_t b, int64_t *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, a);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, b);
	rc = db_step(st);
	if (rc == DB_ROW) {
		if (out != NULL)
			*out = sqlite3_column_int64(st, 0);
		rc = DB_OK;
	} else if (rc == DB_OK && out != NULL)
		*out = db_changes(db);
	db_stmt_done(st);
	return rc;
}

/* 1 and *u filled if found, 0 if not, or a DB_* error. */
static int
user_find(struct db *db, const char *name, struct ctl_user *u)
{
	static const char sql[] =
	    "SELECT id, username, deleted_at IS NOT NULL FROM users "
	    "WHERE username = ?1";
	sqlite3_stmt	*st;
	char		 key[PASSWORD_USERNAME_MAX + 1];
	int		 rc;

	/* Too long to be anyone's name, or no database yet: nobody. */
	if (db == NULL ||
	    password_username_login(name, strlen(name), key, sizeof(key)) == -1)
		return 0;
	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW) {
		u->id = sqlite3_column_int64(st, 0);
		snprintf(u->name, sizeof(u->name), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		u->deleted = sqlite3_column_int(st, 2);
		rc = 1;
	}
	db_stmt_done(st);
	return rc;
}

int
ctl_user_get(struct db *db, const char *name, int live, struct ctl_user *u)
{
	int	rc;

	if ((rc = user_find(db, name, u)) < 0)
		return ctl_db_error(rc);
	if (rc == 0) {
		fprintf(stderr, "ankicollabctl: no user named '%s'\n", name);
		return CTL_EXIT_FAIL;
	}
	if (live && u->deleted) {
		fprintf(stderr, "ankicollabctl: user %s is deleted\n", u->name);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
}

/* A cell's text: booleans as yes/no, null as "-". */
static const char *
cell(struct json_object *row, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(row, key, &v) || v == NULL)
		return "-";
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v) ? "yes" : "no";
	return json_object_get_string(v);
}

/* The heading (row NULL) or a row, padded to the column widths. */
static void
print_line(struct json_object *row, const struct ctl_column *cols,
    size_t ncols, const int *width)
{
	const char	*s;
	size_t		 i;

	for (i = 0; i < ncols; i++) {
		s = row != NULL ? cell(row, cols[i].key) : cols[i].header;
		if (cols[i].type == CTL_INT)
			printf("%*s", width[i], s);
		else if (i + 1 < ncols)
			printf("%-*s", width[i], s);
		else
			fputs(s, stdout);	/* no trailing blanks */
		fputs(i + 1 < ncols ? "  " : "\n", stdout);
	}
}

static void
print_table(struct json_object *rows, const struct ctl_column *cols,
    size_t ncols)
{
	int	width[CTL_COLUMNS_MAX];
	size_t	i, r, len, n = json_object_array_length(rows);

	for (i = 0; i < ncols; i++) {
		width[i] = (int)strlen(cols[i].header);
		for (r = 0; r < n; r++) {
			len = strlen(cell(json_object_array_get_idx(rows, r),
			    cols[i].key));
			if (len > (size_t)width[i])
				width[i] = (int)len;
		}
	}
	print_line(NULL, cols, ncols, width);
	for (r = 0; r < n; r++)
		print_line(json_object_array_get_idx(rows, r), cols, ncols, width);
}

static struct json_object *
column_value(sqlite3_stmt *st, int i, enum ctl_type type)
{
	char	t[DB_TIME_LEN];

	switch (type) {
	case CTL_INT:
		return json_object_new_int64(sqlite3_column_int64(st, i));
	case CTL_TIME:
		db_time_format(db_column_time(st, i), t, sizeof(t));
		return json_object_new_string(t);
	case CTL_BOOL:
		return json_object_new_boolean(sqlite3_column_int(st, i));
	default:
		if (sqlite3_column_type(st, i) == SQLITE_NULL)
			return NULL;
		return json_object_new_string((const char *)
		    sqlite3_column_text(st, i));
	}
}

int
ctl_list(const struct ctl *ctl, struct db *db, const char *sql, int64_t arg,
    const char *what, const struct ctl_column *cols, size_t ncols)
{
	struct json_object	*root, *rows, *o;
	sqlite3_stmt		*st;
	size_t			 i;
	int			 rc = DB_OK;

	if (ncols > CTL_COLUMNS_MAX)
		ncols = CTL_COLUMNS_MAX;
	root = json_object_new_object();
	rows = json_object_new_array();
	json_object_object_add(root, what, rows);
	if (db != NULL && (st = db_stmt(db, sql)) == NULL)
		rc = DB_ERR;
	else if (db != NULL) {
		if (arg >= 0)
			sqlite3_bind_int64(st, 1, arg);
		while ((rc = db_step(st)) == DB_ROW) {
			o = json_object_new_object();
			for (i = 0; i < ncols; i++)
				json_object_object_add(o, cols[i].key,
				    column_value(st, (int)i, cols[i].type));
			json_object_array_add(rows, o);
		}
		db_stmt_done(st);
	}
	if (rc != DB_OK)
		rc = ctl_db_error(rc);
	else if (ctl->json)
		printf("%s\n", json_object_to_json_string_ext(root,
		    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		print_table(rows, cols, ncols);
	json_object_put(root);
	return rc;
}

/* ---- the commands -------------------------------------------------------- */

static const char *
plural(int64_t n)
{
	return n == 1 ? "" : "s";
}

/*
 * Reads the password, the first line of standard input without its
 * newline, and hashes it; the clear text is wiped straight after.
 */
static int
read_password_hash(char *phc, size_t len)
{
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;
	int	 rc = CTL_EXIT_FAIL;

	n = getline(&line, &cap, stdin);
	if (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (n <= 0)
		fprintf(stderr, "ankicollabctl: empty password refused (the "
		    "first line of standard input is the password)\n");
	else if (password_hash(line, (size_t)n, phc, len) == -1)
		fprintf(stderr, "ankicollabctl: cannot hash the password\n");
	else
		rc = CTL_EXIT_OK;
	if (line != NULL) {
		explicit_bzero(line, cap);
		free(line);
	}
	return rc;
}

static int
user_insert(struct db *db, const char *name, const char *phc, int64_t *id)
{
	static const char sql[] =
	    "INSERT INTO users (username, password) VALUES (?1, ?2)";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, phc, -1, SQLITE_STATIC);
	rc = db_step(st);
	db_stmt_done(st);
	*id = db_last_insert_id(db);
	return rc;
}

static int
user_add(struct ctl *ctl, const char *arg, int flag)
{
	struct ctl_user	 u;
	struct db	*db;
	char		 name[PASSWORD_USERNAME_MAX + 1], phc[PASSWORD_PHC_MAX];
	int		 rc;

	if (password_username_normalize(arg, strlen(arg), name,
	    sizeof(name)) == -1) {
		fprintf(stderr, "ankicollabctl: invalid user name '%s': use "
		    NAME_RULE "\n", arg);
		return CTL_EXIT_FAIL;
	}
	/* Hashed before the write lock is taken: it takes a while. */
	if ((rc = read_password_hash(phc, sizeof(phc))) != CTL_EXIT_OK ||
	    (rc = ctl_db_open(ctl, 1, &db)) != CTL_EXIT_OK)
		return rc;
	if ((rc = db_begin(db)) != DB_OK || (rc = user_find(db, name, &u)) < 0)
		goto fail;
	if (rc == 1 && u.deleted) {
		fprintf(stderr, "ankicollabctl: the name %s belongs to a deleted "
		    "user and stays taken\n", name);
		db_close(db);
		return CTL_EXIT_FAIL;
	}
	if (rc == 1 || (rc = user_insert(db, name, phc, &u.id)) == DB_CONSTRAINT) {
		fprintf(stderr, "ankicollabctl: user %s already exists\n", name);
		db_close(db);
		return CTL_EXIT_FAIL;
	}
	if (rc != DB_OK || (rc = db_commit(db)) != DB_OK)
		goto fail;
	printf("user %s added (id %lld)\n", name, (long long)u.id);
	db_close(db);
	return CTL_EXIT_OK;
fail:
	db_close(db);
	return ctl_db_error(rc);
}

static int
user_passwd(struct ctl *ctl, const char *arg, int flag)
{
	static const char sql_pw[] =
	    "UPDATE users SET password = ?2 WHERE id = ?1";
	static const char sql_tokens[] =
	    "DELETE FROM auth_tokens WHERE user_id = ?1";
	struct ctl_user	 u;
	struct db	*db;
	sqlite3_stmt	*st;
	char		 phc[PASSWORD_PHC_MAX];
	int64_t		 revoked = 0;
	int		 rc;

	if ((rc = ctl_db_open(ctl, 1, &db)) != CTL_EXIT_OK)
		return rc;
	/* Looked up first, so that a typo costs no typing of a password. */
	if ((rc = ctl_user_get(db, arg, 1, &u)) != CTL_EXIT_OK ||
	    (rc = read_password_hash(phc, sizeof(phc))) != CTL_EXIT_OK) {
		db_close(db);
		return rc;
	}
	if ((rc = db_begin(db)) != DB_OK)
		goto fail;
	if ((st = db_stmt(db, sql_pw)) == NULL) {
		rc = DB_ERR;
		goto fail;
	}
	sqlite3_bind_int64(st, 1, u.id);
	sqlite3_bind_text(st, 2, phc, -1, SQLITE_STATIC);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc != DB_OK ||
	    (rc = ctl_db_run(db, sql_tokens, u.id, 0, &revoked)) != DB_OK ||
	    (rc = db_commit(db)) != DB_OK)
		goto fail;
	printf("password of user %s changed; %lld auth token%s revoked "
	    "(logged out everywhere)\n", u.name, (long long)revoked,
	    plural(revoked));
	db_close(db);
	return CTL_EXIT_OK;
fail:
	db_close(db);
	return ctl_db_error(rc);
}

/*
 * Deletes the user's root decks (subdecks, notes and everything else in
 * them go by cascade), unless a note elsewhere inherits from one of them:
 * its inherited fields would vanish from another owner's deck.
 */
static int
delete_own_decks(struct db *db, const struct ctl_user *u, int64_t *deleted)
{
	static const char sql_inherit[] =
	    "WITH RECURSIVE tree(id) AS ("
	    "  SELECT id FROM decks WHERE owner = ?1 AND parent IS NULL"
	    "  UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"
	    "SELECT count(*) FROM note_inheritance i"
	    "  JOIN notes b ON b.id = i.base_note_id"
	    "  JOIN notes s ON s.id = i.subscriber_note_id"
	    "  WHERE b.deck IN tree AND s.deck NOT IN tree";
	static const char sql_delete[] =
	    "DELETE FROM decks WHERE owner = ?1 AND parent IS NULL";
	int64_t	n = 0;
	int	rc;

	if ((rc = ctl_db_run(db, sql_inherit, u->id, 0, &n)) != DB_OK)
		return ctl_db_error(rc);
	if (n > 0) {
		fprintf(stderr, "ankicollabctl: %s's decks are the base of "
		    "%lld note%s in other users' decks; nothing was deleted\n",
		    u->name, (long long)n, plural(n));
		return CTL_EXIT_FAIL;
	}
	if ((rc = ctl_db_run(db, sql_delete, u->id, 0, deleted)) != DB_OK)
		return ctl_db_error(rc);
	return CTL_EXIT_OK;
}

/* Removes what is keyed by the user's hash rather than the id. */
static int
delete_by_user_hash(struct db *db, const struct ctl_user *u)
{
	static const char *const sqls[] = {
		"DELETE FROM subscriptions WHERE user_hash = ?1",
		"DELETE FROM note_stats WHERE user_hash = ?1",
	};
	char		 hash[PASSWORD_USER_HASH_LEN + 1];
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc = DB_OK;

	if (password_user_hash(u->name, strlen(u->name), hash) == -1)
		return DB_ERR;
	for (i = 0; i < sizeof(sqls) / sizeof(sqls[0]) && rc == DB_OK; i++) {
		if ((st = db_stmt(db, sqls[i])) == NULL)
			return DB_ERR;
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		rc = db_step(st);
		db_stmt_done(st);
	}
	return rc;
}

static int
user_del(struct ctl *ctl, const char *arg, int with_decks)
{
	static const char sql_owned[] =
	    "SELECT count(*) FROM decks WHERE owner = ?1 AND parent IS NULL";
	static const char sql_disable[] =
	    "UPDATE users SET password = '', deleted_at = unixepoch() "
	    "WHERE id = ?1";
	static const char sql_tokens[] =
	    "DELETE FROM auth_tokens WHERE user_id = ?1";
	static const char sql_maint[] =
	    "DELETE FROM maintainers WHERE user_id = ?1";
	struct ctl_user	 u;
	struct db	*db;
	int64_t		 owned = 0, revoked = 0;
	int		 rc;

	if ((rc = ctl_db_open(ctl, 1, &db)) != CTL_EXIT_OK)
		return rc;
	if ((rc = db_begin(db)) != DB_OK) {
		db_close(db);
		return ctl_db_error(rc);
	}
	if ((rc = ctl_user_get(db, arg, 1, &u)) != CTL_EXIT_OK)
		goto out;
	if ((rc = ctl_db_run(db, sql_owned, u.id, 0, &owned)) != DB_OK) {
		rc = ctl_db_error(rc);
		goto out;
	}
	if (owned > 0 && !with_decks) {
		fprintf(stderr, "ankicollabctl: user %s still owns %lld deck%s; "
		    "pass --with-decks to delete them and their notes too\n",
		    u.name, (long long)owned, plural(owned));
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	if (owned > 0 && (rc = delete_own_decks(db, &u, &owned)) != CTL_EXIT_OK)
		goto out;
	if ((rc = ctl_db_run(db, sql_disable, u.id, 0, NULL)) != DB_OK ||
	    (rc = ctl_db_run(db, sql_tokens, u.id, 0, &revoked)) != DB_OK ||
	    (rc = ctl_db_run(db, sql_maint, u.id, 0, NULL)) != DB_OK ||
	    (rc = delete_by_user_hash(db, &u)) != DB_OK ||
	    (rc = db_commit(db)) != DB_OK) {
		rc = ctl_db_error(rc);
		goto out;
	}
	if (owned > 0)
		printf("user %s deleted with %lld deck%s; %lld auth token%s "
		    "revoked\n", u.name, (long long)owned, plural(owned),
		    (long long)revoked, plural(revoked));
	else
		printf("user %s deleted; %lld auth token%s revoked\n", u.name,
		    (long long)revoked, plural(revoked));
out:
	db_close(db);
	return rc;
}

static int
user_list(struct ctl *ctl, const char *arg, int flag)
{
	static const char sql[] =
	    "SELECT u.id, u.username, u.created_at,"
	    "  (SELECT count(*) FROM decks d"
	    "    WHERE d.owner = u.id AND d.parent IS NULL),"
	    "  u.deleted_at IS NOT NULL "
	    "FROM users u ORDER BY u.id";
	static const struct ctl_column cols[] = {
		{ "id",		"ID",			CTL_INT },
		{ "name",	"NAME",			CTL_TEXT },
		{ "created",	"CREATED (UTC)",	CTL_TIME },
		{ "decks",	"DECKS",		CTL_INT },
		{ "deleted",	"DELETED",		CTL_BOOL },
	};
	struct db	*db;
	int		 rc;

	if ((rc = ctl_db_open(ctl, 0, &db)) != CTL_EXIT_OK)
		return rc;
	rc = ctl_list(ctl, db, sql, -1, "users", cols,
	    sizeof(cols) / sizeof(cols[0]));
	db_close(db);
	return rc;
}

static void
user_usage(void)
{
	fprintf(stderr,
	    "usage: ankicollabctl user add NAME --password-stdin\n"
	    "       ankicollabctl user passwd NAME --password-stdin\n"
	    "       ankicollabctl user del NAME [--with-decks]\n"
	    "       ankicollabctl user list [--json]\n");
}

int
ctl_users(struct ctl *ctl, int argc, char **argv)
{
	static const struct {
		const char	*name;
		const char	*flag;		/* the one option it takes */
		int		 flag_needed;
		int		 takes_name;
		int		(*run)(struct ctl *, const char *, int);
	} cmds[] = {
		{ "add",	"--password-stdin",	1, 1, user_add },
		{ "passwd",	"--password-stdin",	1, 1, user_passwd },
		{ "del",	"--with-decks",		0, 1, user_del },
		{ "list",	NULL,			0, 0, user_list },
	};
	const char	*name = NULL;
	size_t		 i;
	int		 a, flagged = 0;

	if (strcmp(argv[0], "user") != 0)
		return -1;
	for (i = 0; argc > 1 && i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			break;
	if (argc < 2 || i == sizeof(cmds) / sizeof(cmds[0])) {
		user_usage();
		return CTL_EXIT_USAGE;
	}
	for (a = 2; a < argc; a++) {
		if (cmds[i].flag != NULL && strcmp(argv[a], cmds[i].flag) == 0)
			flagged = 1;
		else if (cmds[i].takes_name && name == NULL)
			name = argv[a];
		else {
			user_usage();
			return CTL_EXIT_USAGE;
		}
	}
	if ((cmds[i].takes_name && name == NULL) ||
	    (cmds[i].flag_needed && !flagged)) {
		user_usage();
		return CTL_EXIT_USAGE;
	}
	return cmds[i].run(ctl, name, flagged);
}
