/*
 * decks.c — ankicollabctl's deck commands:
 *
 *	deck list [--json]
 *	maintainer add|remove DECK_HASH USER
 *	maintainer list [DECK_HASH] [--json]
 *
 * A maintainer entry is per deck and covers its subdecks: a user may act
 * as owner of a deck when they own or maintain it or any ancestor
 * (spec/api.md §2.9). So an entry that an owner, or an entry on an
 * ancestor, already implies is refused as redundant.
 */
#include <stdio.h>
#include <string.h>

#include "common/db.h"
#include "ctl/ctl.h"

#define HASH_MAX	256	/* a human hash as printed in messages */

/* How a user relates to a deck, through the deck or its nearest ancestor. */
enum relation {
	REL_NONE,
	REL_OWNER,
	REL_MAINTAINER
};

struct deck {
	int64_t	id;
	char	hash[HASH_MAX];
};

static int
deck_get(struct db *db, const char *hash, struct deck *d)
{
	static const char sql[] = "SELECT id FROM decks WHERE human_hash = ?1";
	sqlite3_stmt	*st;
	int		 rc;

	if (db == NULL)
		rc = DB_OK;
	else if ((st = db_stmt(db, sql)) == NULL)
		rc = DB_ERR;
	else {
		sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
		if ((rc = db_step(st)) == DB_ROW)
			d->id = sqlite3_column_int64(st, 0);
		db_stmt_done(st);
	}
	if (rc < 0)
		return ctl_db_error(rc);
	if (rc != DB_ROW) {
		fprintf(stderr, "ankicollabctl: no deck with hash '%s'\n", hash);
		return CTL_EXIT_FAIL;
	}
	snprintf(d->hash, sizeof(d->hash), "%s", hash);
	return CTL_EXIT_OK;
}

/*
 * Walks from the deck up to its root and stops at the first deck the user
 * owns or maintains; *where gets that deck's hash (the deck itself when
 * *depth is 0). Returns a relation or a DB_* error.
 */
static int
deck_relation(struct db *db, const struct deck *d, const struct ctl_user *u,
    struct deck *where, int64_t *depth)
{
	static const char sql[] =
	    "WITH RECURSIVE up(id, depth) AS ("
	    "  SELECT ?1, 0"
	    "  UNION ALL SELECT d.parent, up.depth + 1 FROM decks d"
	    "    JOIN up ON d.id = up.id"
	    "    WHERE d.parent IS NOT NULL AND up.depth < 1000)"	/* stops a corrupt cycle */
	    "SELECT d.id, d.human_hash, up.depth, d.owner = ?2,"
	    "  EXISTS (SELECT 1 FROM maintainers m"
	    "    WHERE m.deck = d.id AND m.user_id = ?2)"
	    "FROM up JOIN decks d ON d.id = up.id ORDER BY up.depth";
	sqlite3_stmt	*st;
	int		 rc = DB_OK, rel = REL_NONE;

	if ((st = db_stmt(db, sql)) == NULL)
		return DB_ERR;
	sqlite3_bind_int64(st, 1, d->id);
	sqlite3_bind_int64(st, 2, u->id);
	while (rel == REL_NONE && (rc = db_step(st)) == DB_ROW) {
		if (sqlite3_column_int(st, 3))
			rel = REL_OWNER;
		else if (sqlite3_column_int(st, 4))
			rel = REL_MAINTAINER;
		else
			continue;
		where->id = sqlite3_column_int64(st, 0);
		snprintf(where->hash, sizeof(where->hash), "%s",
		    (const char *)sqlite3_column_text(st, 1));
		*depth = sqlite3_column_int64(st, 2);
	}
	db_stmt_done(st);
	return rel != REL_NONE ? rel : rc;
}

/* "deck X" or "deck Y, which contains X", for messages. */
static void
print_where(const struct deck *where, int64_t depth, const struct deck *d)
{
	if (depth == 0)
		fprintf(stderr, "deck %s", d->hash);
	else
		fprintf(stderr, "deck %s, which contains %s", where->hash, d->hash);
}

/* Resolves DECK_HASH and USER and opens the write transaction. */
static int
maintainer_begin(struct ctl *ctl, char **argv, struct db **db,
    struct deck *d, struct ctl_user *u, int live)
{
	int	rc;

	if ((rc = ctl_db_open(ctl, 1, db)) != CTL_EXIT_OK)
		return rc;
	if ((rc = db_begin(*db)) != DB_OK)
		rc = ctl_db_error(rc);
	else if ((rc = deck_get(*db, argv[0], d)) == CTL_EXIT_OK)
		rc = ctl_user_get(*db, argv[1], live, u);
	if (rc != CTL_EXIT_OK) {
		db_close(*db);
		*db = NULL;
	}
	return rc;
}

static int
maintainer_add(struct ctl *ctl, char **argv)
{
	static const char sql[] =
	    "INSERT INTO maintainers (deck, user_id) VALUES (?1, ?2)";
	struct ctl_user	 u;
	struct deck	 d, where;
	struct db	*db;
	int64_t		 depth = 0;
	int		 rc;

	if ((rc = maintainer_begin(ctl, argv, &db, &d, &u, 1)) != CTL_EXIT_OK)
		return rc;
	if ((rc = deck_relation(db, &d, &u, &where, &depth)) == REL_OWNER) {
		fprintf(stderr, "ankicollabctl: %s owns ", u.name);
		print_where(&where, depth, &d);
		fprintf(stderr, "; an owner needs no maintainer entry\n");
		rc = CTL_EXIT_FAIL;
	} else if (rc == REL_MAINTAINER) {
		fprintf(stderr, "ankicollabctl: %s already maintains ", u.name);
		print_where(&where, depth, &d);
		fputc('\n', stderr);
		rc = CTL_EXIT_FAIL;
	} else if (rc != DB_OK ||
	    (rc = ctl_db_run(db, sql, d.id, u.id, NULL)) != DB_OK ||
	    (rc = db_commit(db)) != DB_OK)
		rc = ctl_db_error(rc);
	else
		printf("%s now maintains deck %s and its subdecks\n", u.name,
		    d.hash);
	db_close(db);
	return rc;
}

static int
maintainer_remove(struct ctl *ctl, char **argv)
{
	static const char sql[] =
	    "DELETE FROM maintainers WHERE deck = ?1 AND user_id = ?2";
	struct ctl_user	 u;
	struct deck	 d, where;
	struct db	*db;
	int64_t		 n = 0, depth = 0;
	int		 rc;

	if ((rc = maintainer_begin(ctl, argv, &db, &d, &u, 0)) != CTL_EXIT_OK)
		return rc;
	if ((rc = ctl_db_run(db, sql, d.id, u.id, &n)) != DB_OK ||
	    (n == 0 && (rc = deck_relation(db, &d, &u, &where, &depth)) < 0)) {
		db_close(db);
		return ctl_db_error(rc);
	}
	if (n == 0 && rc == REL_MAINTAINER) {
		/* The entry that lets them act here is on an ancestor. */
		fprintf(stderr, "ankicollabctl: %s maintains ", u.name);
		print_where(&where, depth, &d);
		fprintf(stderr, "; remove them from %s instead\n", where.hash);
		rc = CTL_EXIT_FAIL;
	} else if (n == 0) {
		fprintf(stderr, "ankicollabctl: %s is not a maintainer of deck "
		    "%s\n", u.name, d.hash);
		rc = CTL_EXIT_FAIL;
	} else if ((rc = db_commit(db)) != DB_OK)
		rc = ctl_db_error(rc);
	else
		printf("%s no longer maintains deck %s\n", u.name, d.hash);
	db_close(db);
	return rc;
}

/*
 * Every maintainer entry, or with a deck those that let someone act on it:
 * the deck's own and its ancestors'.
 */
static int
maintainer_list(struct ctl *ctl, const char *hash)
{
	static const char sql[] =
	    "WITH RECURSIVE up(id, depth) AS ("
	    "  SELECT ?1, 0"
	    "  UNION ALL SELECT d.parent, up.depth + 1 FROM decks d"
	    "    JOIN up ON d.id = up.id"
	    "    WHERE d.parent IS NOT NULL AND up.depth < 1000)"
	    "SELECT d.human_hash, u.username, d.full_path FROM maintainers m"
	    "  JOIN decks d ON d.id = m.deck JOIN users u ON u.id = m.user_id"
	    "  WHERE ?1 IS NULL OR m.deck IN (SELECT id FROM up)"
	    "  ORDER BY d.full_path, d.id, u.username";
	static const struct ctl_column cols[] = {
		{ "deck",	"DECK",	CTL_TEXT },
		{ "user",	"USER",	CTL_TEXT },
		{ "deck_name",	"NAME",	CTL_TEXT },
	};
	struct deck	 d = { .id = -1 };
	struct db	*db;
	int		 rc;

	if ((rc = ctl_db_open(ctl, 0, &db)) != CTL_EXIT_OK)
		return rc;
	if (hash == NULL || (rc = deck_get(db, hash, &d)) == CTL_EXIT_OK)
		rc = ctl_list(ctl, db, sql, d.id, "maintainers", cols,
		    sizeof(cols) / sizeof(cols[0]));
	db_close(db);
	return rc;
}

/*
 * Root decks. Notes are the live (reviewed, not deleted) notes of the
 * whole tree; subscribers are the add-on's subscription counter.
 */
static int
deck_list(struct ctl *ctl)
{
	static const char sql[] =
	    "WITH RECURSIVE tree(root, id) AS ("
	    "  SELECT id, id FROM decks WHERE parent IS NULL"
	    "  UNION ALL SELECT tree.root, d.id FROM decks d"
	    "    JOIN tree ON d.parent = tree.id),"
	    " live(root, n) AS ("
	    "  SELECT tree.root, count(*) FROM tree JOIN notes n ON n.deck = tree.id"
	    "    WHERE n.reviewed = 1 AND n.deleted = 0 GROUP BY tree.root)"
	    "SELECT r.human_hash, u.username, coalesce(live.n, 0),"
	    "  (SELECT count(*) FROM subscriptions s WHERE s.deck_id = r.id),"
	    "  r.last_update, r.name "
	    "FROM decks r JOIN users u ON u.id = r.owner"
	    "  LEFT JOIN live ON live.root = r.id "
	    "WHERE r.parent IS NULL ORDER BY r.id";
	static const struct ctl_column cols[] = {
		{ "hash",		"HASH",			CTL_TEXT },
		{ "owner",		"OWNER",		CTL_TEXT },
		{ "notes",		"NOTES",		CTL_INT },
		{ "subscribers",	"SUBSCRIBERS",		CTL_INT },
		{ "last_update",	"LAST UPDATE (UTC)",	CTL_TIME },
		{ "name",		"NAME",			CTL_TEXT },
	};
	struct db	*db;
	int		 rc;

	if ((rc = ctl_db_open(ctl, 0, &db)) != CTL_EXIT_OK)
		return rc;
	rc = ctl_list(ctl, db, sql, -1, "decks", cols,
	    sizeof(cols) / sizeof(cols[0]));
	db_close(db);
	return rc;
}

int
ctl_decks(struct ctl *ctl, int argc, char **argv)
{
	if (strcmp(argv[0], "deck") == 0) {
		if (argc == 2 && strcmp(argv[1], "list") == 0)
			return deck_list(ctl);
		fprintf(stderr, "usage: ankicollabctl deck list [--json]\n");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(argv[0], "maintainer") != 0)
		return -1;
	if (argc == 4 && strcmp(argv[1], "add") == 0)
		return maintainer_add(ctl, argv + 2);
	if (argc == 4 && strcmp(argv[1], "remove") == 0)
		return maintainer_remove(ctl, argv + 2);
	if (argc <= 3 && argc >= 2 && strcmp(argv[1], "list") == 0)
		return maintainer_list(ctl, argc == 3 ? argv[2] : NULL);
	fprintf(stderr,
	    "usage: ankicollabctl maintainer add|remove DECK_HASH USER\n"
	    "       ankicollabctl maintainer list [DECK_HASH] [--json]\n");
	return CTL_EXIT_USAGE;
}
