/*
 * test_review.c — the review model on a real database: listing open
 * commits, the field-level diff, who may decide, approving and denying
 * whole commits and single notes, and the notifications they leave.
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

#include "apid/review.h"
#include "common/db.h"
#include "common/log.h"

static char	 dir[64];
static char	 path[128];
static struct db *db;

static void
exec(const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db_sqlite(db), sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

static int64_t
q_int(const char *sql)
{
	sqlite3_stmt	*st;
	int64_t		 v;

	assert_int_equal(sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *
q_text(const char *sql)
{
	static char	 buf[512];
	sqlite3_stmt	*st;
	const char	*s;

	assert_int_equal(sqlite3_prepare_v2(db_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	s = (const char *)sqlite3_column_text(st, 0);
	snprintf(buf, sizeof(buf), "%s", s ? s : "(null)");
	sqlite3_finalize(st);
	return buf;
}

/*
 * Owner 1 (alice) has root deck 1 "Root" with child 2 "Root::Sub"; bob (2)
 * suggested in commit 10: field 1 of note 100 and a tag, a new note 101;
 * commit 11: delete note 102. carol (3) is nobody. dave (4) maintains
 * the root.
 */
static int
setup(void **state)
{
	strcpy(dir, "/tmp/test_review.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ankicollab.db", dir);
	assert_non_null(db = db_open(path, 0));
	exec("INSERT INTO users (id, username, password) VALUES (1, 'alice', ''),"
	    " (2, 'bob', ''), (3, 'carol', ''), (4, 'dave', '');"
	    "INSERT INTO decks (id, name, owner, last_update, parent, human_hash, full_path)"
	    " VALUES (1, 'Root', 1, 100, NULL, 'aa-bb-cc', 'Root'),"
	    " (2, 'Sub', 1, 100, 1, 'dd-ee-ff', 'Root::Sub');"
	    "INSERT INTO maintainers (deck, user_id) VALUES (1, 4);"
	    "INSERT INTO notetype (id, guid, owner) VALUES (1, 'nt', 1);"
	    "INSERT INTO notetype_field (notetype, name, position) VALUES (1, 'Front', 0),"
	    " (1, 'Back', 1);"
	    "INSERT INTO commits (commit_id, rationale, timestamp, deck, info, user_id) VALUES"
	    " (1, 1, 50, 1, '', 1), (10, 2, 200, 2, 'typo', 2), (11, 11, 300, 1, 'dup', 2);"
	    "INSERT INTO notes (id, guid, notetype, deck, last_update, reviewed) VALUES"
	    " (100, 'g100', 1, 2, 100, 1), (101, 'g101', 1, 2, 200, 0),"
	    " (102, 'g102', 1, 1, 100, 1);"
	    "INSERT INTO fields (note, position, content, reviewed, commit_id) VALUES"
	    " (100, 0, 'front', 1, 1), (100, 1, 'back', 1, 1), (102, 0, 'x', 1, 1),"
	    " (100, 1, 'back fixed', 0, 10), (101, 0, 'new front', 0, 10),"
	    " (101, 1, 'new back', 0, 10);"
	    "INSERT INTO tags (note, content, reviewed, action, commit_id) VALUES"
	    " (100, 'old', 1, 1, 1), (100, 'new', 0, 1, 10), (100, 'old', 0, 0, 10);"
	    "INSERT INTO card_deletion_suggestions (note, creator_ip, commit_id) VALUES"
	    " (102, '::1', 11);");
	return 0;
}

static int
teardown(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char	p[160];
	size_t	i;

	db_close(db);
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

static void
test_list(void **state)
{
	struct review_commit	*l;
	size_t			 n, more;
	char			 err[128];

	assert_int_equal(review_list(db, "aa-bb-cc", &l, &n, &more, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].commit_id, 10);
	assert_string_equal(l[0].author, "bob");
	assert_string_equal(l[0].text, "typo");
	assert_int_equal(l[0].rationale, 2);
	assert_int_equal(l[0].nguids, 2);
	assert_string_equal(l[0].guids[0], "g100");
	assert_string_equal(l[0].guids[1], "g101");
	assert_int_equal(l[1].commit_id, 11);
	assert_string_equal(l[1].guids[0], "g102");
	review_list_free(l, n);

	/* A subdeck lists what lies in it. */
	assert_int_equal(review_list(db, "dd-ee-ff", &l, &n, &more, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(n, 1);
	review_list_free(l, n);
	assert_int_equal(review_list(db, "no-such-deck", &l, &n, &more, err, sizeof(err)),
	    REVIEW_NOT_FOUND);
}

static void
test_diff(void **state)
{
	struct review_diff	d;
	char			err[128];

	assert_int_equal(review_diff(db, 10, &d, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(d.nnotes, 2);
	assert_string_equal(d.notes[0].guid, "g100");
	assert_false(d.notes[0].is_new);
	assert_int_equal(d.notes[0].nfields, 1);
	assert_int_equal(d.notes[0].fields[0].position, 1);
	assert_string_equal(d.notes[0].fields[0].name, "Back");
	assert_string_equal(d.notes[0].fields[0].current, "back");
	assert_string_equal(d.notes[0].fields[0].suggested, "back fixed");
	assert_int_equal(d.notes[0].ntags, 2);
	assert_true(d.notes[1].is_new);
	assert_null(d.notes[1].fields[0].current);
	review_diff_free(&d);

	assert_int_equal(review_diff(db, 11, &d, err, sizeof(err)), REVIEW_OK);
	assert_true(d.notes[0].delete_req);
	review_diff_free(&d);
	assert_int_equal(review_diff(db, 99, &d, err, sizeof(err)), REVIEW_NOT_FOUND);
	review_diff_free(&d);
}

static void
test_may(void **state)
{
	struct review_actor	owner = { 1, 0 }, nobody = { 3, 0 }, maint = { 4, 0 };
	struct review_actor	admin = { 0, 1 };
	char			err[128];

	assert_int_equal(review_may(db, &owner, 10, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(review_may(db, &maint, 10, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(review_may(db, &admin, 10, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(review_may(db, &nobody, 10, err, sizeof(err)), REVIEW_FORBIDDEN);
	assert_int_equal(review_may(db, &owner, 99, err, sizeof(err)), REVIEW_NOT_FOUND);

	/* Forbidden changes nothing. */
	assert_int_equal(review_approve(db, &nobody, 10, NULL, err, sizeof(err)),
	    REVIEW_FORBIDDEN);
	assert_int_equal(q_int("SELECT count(*) FROM fields WHERE reviewed = 0"), 3);
	assert_int_equal(q_int("SELECT count(*) FROM notifications"), 0);
}

static void
test_approve_note(void **state)
{
	struct review_actor	owner = { 1, 0 };
	char			err[128];

	assert_int_equal(review_approve(db, &owner, 10, "g100", err, sizeof(err)), REVIEW_OK);
	assert_string_equal(q_text("SELECT content FROM fields WHERE note = 100 AND position = 1"
	    " AND reviewed = 1"), "back fixed");
	assert_int_equal(q_int("SELECT count(*) FROM fields WHERE note = 100"), 2);
	assert_int_equal(q_int("SELECT count(*) FROM tags WHERE note = 100"), 1);
	assert_string_equal(q_text("SELECT content FROM tags WHERE note = 100"), "new");
	assert_true(q_int("SELECT last_update > 1000 FROM notes WHERE id = 100"));
	assert_true(q_int("SELECT last_update > 1000 FROM decks WHERE id = 1"));
	assert_true(q_int("SELECT last_update > 1000 FROM decks WHERE id = 2"));
	/* The new note is untouched and still pending. */
	assert_int_equal(q_int("SELECT reviewed FROM notes WHERE id = 101"), 0);
	assert_string_equal(q_text("SELECT status || ':' || user_id || ':' || deck_id"
	    " FROM notifications"), "approved:2:2");
	assert_true(q_int("SELECT count(*) FROM note_events WHERE note_id = 100"
	    " AND event_type = 'field_updated' AND commit_id = 10") == 1);

	/* Again: that note has nothing pending, the commit still has. */
	assert_int_equal(review_approve(db, &owner, 10, "g100", err, sizeof(err)),
	    REVIEW_NOT_FOUND);
	/* Deny the rest: the new note goes; the deck is not bumped. */
	exec("UPDATE decks SET last_update = 100");
	assert_int_equal(review_deny(db, &owner, 10, NULL, "<b>no</b> thanks", err, sizeof(err)),
	    REVIEW_OK);
	assert_int_equal(q_int("SELECT count(*) FROM notes WHERE id = 101"), 0);
	assert_int_equal(q_int("SELECT max(last_update) FROM decks"), 100);
	assert_string_equal(q_text("SELECT reason FROM notifications WHERE status = 'denied'"),
	    "<b>no</b> thanks");
	assert_int_equal(review_deny(db, &owner, 10, NULL, NULL, err, sizeof(err)),
	    REVIEW_NOTHING);
}

static void
test_approve_all(void **state)
{
	struct review_actor	admin = { 0, 1 };
	char			err[128];

	assert_int_equal(review_approve(db, &admin, 10, NULL, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(q_int("SELECT reviewed FROM notes WHERE id = 101"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM fields WHERE reviewed = 0"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM note_events WHERE note_id = 101"
	    " AND event_type = 'note_created'"), 1);
	assert_int_equal(review_approve(db, &admin, 11, NULL, err, sizeof(err)), REVIEW_OK);
	assert_int_equal(q_int("SELECT deleted FROM notes WHERE id = 102"), 1);
	assert_int_equal(q_int("SELECT count(*) FROM card_deletion_suggestions"), 0);
	assert_int_equal(q_int("SELECT count(*) FROM notifications WHERE status = 'approved'"),
	    2);
}

static void
test_first_field(void **state)
{
	struct review_actor	owner = { 1, 0 };
	char			err[128];

	exec("INSERT INTO fields (note, position, content, reviewed, commit_id) VALUES"
	    " (102, 0, '', 0, 11)");
	assert_int_equal(review_approve(db, &owner, 11, NULL, err, sizeof(err)), REVIEW_OK);
	exec("INSERT INTO commits (commit_id, deck, user_id) VALUES (12, 1, 2);"
	    "INSERT INTO fields (note, position, content, reviewed, commit_id) VALUES"
	    " (100, 0, '', 0, 12)");
	assert_int_equal(review_approve(db, &owner, 12, NULL, err, sizeof(err)), REVIEW_INVALID);
	assert_string_equal(q_text("SELECT content FROM fields WHERE note = 100 AND position = 0"
	    " AND reviewed = 1"), "front");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_diff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_may, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_approve_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_first_field, setup, teardown),
	};

	log_init("test_review", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
