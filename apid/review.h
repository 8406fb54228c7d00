/*
 * review.h — the review model (spec/schema.md §4.3 C–F): what is pending on
 * a deck, what a commit would change, who may decide, and the decision.
 *
 * A library on a struct db, with no HTTP and no apid globals, so that
 * ankicollabctl ("review list|show|approve|deny") and apid's /ui/ pages
 * share it. A commit is open while it has unreviewed fields or tags rows,
 * or card_deletion_suggestions or note_move_suggestions rows. Every
 * function runs on the caller's connection; review_approve() and
 * review_deny() open (and end) their own transaction, so the caller must
 * not hold one; the readers run in one read snapshot of their own when no
 * transaction is open.
 *
 * Errors: functions return a REVIEW_* status; with err (may be NULL) they
 * also write a one-line text for a person, e.g. "no commit 12".
 *
 * Bounds: a listing holds at most REVIEW_LIST_MAX commits and
 * REVIEW_GUIDS_MAX guids per commit, a diff at most REVIEW_DIFF_NOTES
 * notes; the rest is counted (more_*), not held.
 */
#ifndef ANKICOLLAB_APID_REVIEW_H
#define ANKICOLLAB_APID_REVIEW_H

#include <stddef.h>
#include <stdint.h>

struct db;

#define REVIEW_LIST_MAX		1000	/* open commits in one listing */
#define REVIEW_GUIDS_MAX	200	/* guids named per listed commit */
#define REVIEW_DIFF_NOTES	1000	/* notes in one diff */
#define REVIEW_REASON_MAX	2000	/* bytes of a denial's reason (§4.3 E) */

/* Statuses. */
enum review_status {
	REVIEW_OK = 0,
	REVIEW_NOT_FOUND,	/* no such deck, commit, or note in the commit */
	REVIEW_FORBIDDEN,	/* the reviewer owns or maintains none of its decks */
	REVIEW_NOTHING,		/* the commit (or that note of it) is not open */
	REVIEW_INVALID,		/* the change cannot be applied (see err) */
	REVIEW_FAULT		/* a logged database fault */
};

/* Who decides: a user, or the local administrator (ankicollabctl). */
struct review_actor {
	int64_t	user;		/* users.id; 0 for the administrator */
	int	admin;		/* may review every deck */
};

/* An open commit, as listed. */
struct review_commit {
	int64_t	  commit_id;
	int64_t	  deck;		/* commits.deck */
	char	 *deck_path;	/* its full_path */
	int64_t	  user_id;	/* 0: anonymous or deleted */
	char	 *author;	/* users.username, or "" */
	int	  rationale;	/* §3.4 */
	char	 *text;		/* commits.info (cleaned at submission) */
	int64_t	  time_us;	/* commits.timestamp */
	char	**guids;	/* notes it touches, in note id order */
	size_t	  nguids;
	size_t	  more_guids;	/* touched beyond REVIEW_GUIDS_MAX */
};

/*
 * The open commits of the deck with that hash and of its subdecks, oldest
 * first. *out (free with review_list_free) may be NULL when *n is 0.
 * REVIEW_OK, REVIEW_NOT_FOUND (no such deck) or REVIEW_FAULT.
 */
int	review_list(struct db *db, const char *deck_hash, struct review_commit **out,
	    size_t *n, size_t *more, char *err, size_t errlen);
void	review_list_free(struct review_commit *list, size_t n);

/* One field position of a note in a diff. */
struct review_field {
	int	 position;
	char	*name;		/* the notetype's field name, or NULL */
	char	*current;	/* the reviewed content, or NULL if none */
	char	*suggested;	/* "" means: remove the field */
};

/* One tag change. */
struct review_tag {
	char	*content;
	int	 add;		/* 1 add, 0 remove */
};

/* What a commit would change in one note. */
struct review_note {
	int64_t			 note_id;
	char			*guid;
	int			 is_new;	/* a suggested new note (notes.reviewed = 0) */
	int			 delete_req;	/* a deletion is asked */
	char			*move_from;	/* a move is asked: full paths, else NULL */
	char			*move_to;
	struct review_field	*fields;	/* by position */
	size_t			 nfields;
	struct review_tag	*tags;
	size_t			 ntags;
};

/* A commit's field-level diff. */
struct review_diff {
	struct review_commit	 commit;	/* guids left empty */
	struct review_note	*notes;		/* in note id order */
	size_t			 nnotes;
	size_t			 more_notes;	/* beyond REVIEW_DIFF_NOTES */
};

/*
 * The pending changes of a commit, note by note. REVIEW_OK (the commit may
 * be closed: no notes), REVIEW_NOT_FOUND or REVIEW_FAULT. Free the diff
 * with review_diff_free, whatever the status.
 */
int	review_diff(struct db *db, int64_t commit, struct review_diff *out, char *err,
	    size_t errlen);
void	review_diff_free(struct review_diff *d);

/*
 * Whether the actor may decide on the commit: the administrator always;
 * a user who owns or maintains the commit's deck or one of its ancestors
 * (spec/api.md §2.9). REVIEW_OK, REVIEW_FORBIDDEN, REVIEW_NOT_FOUND (no
 * such commit, or it has no deck) or REVIEW_FAULT.
 */
int	review_may(struct db *db, const struct review_actor *who, int64_t commit,
	    char *err, size_t errlen);

/*
 * Approves the commit's pending changes, or only those on the note with
 * guid (NULL: all), in one transaction (§4.3 D): tags, then fields (the
 * suggested row replaces the reviewed one at its position; "" removes it),
 * deletions, moves, new notes become reviewed; notes and their ancestor
 * decks get last_update = now, so that the next pull delivers them; each
 * change is logged in note_events; the author gets an "approved"
 * notification unless anonymous or the reviewer. REVIEW_OK,
 * REVIEW_NOT_FOUND, REVIEW_FORBIDDEN, REVIEW_NOTHING, REVIEW_INVALID (the
 * first field would become empty; nothing is changed) or REVIEW_FAULT.
 */
int	review_approve(struct db *db, const struct review_actor *who, int64_t commit,
	    const char *guid, char *err, size_t errlen);

/*
 * Denies them, in one transaction (§4.3 E): pending rows go, suggested new
 * notes are deleted, deletion and move requests go; the reviewed state and
 * every last_update stay. The author gets a "denied" notification with
 * reason (may be NULL; cleaned, cut to REVIEW_REASON_MAX bytes). Statuses
 * as review_approve, without REVIEW_INVALID.
 */
int	review_deny(struct db *db, const struct review_actor *who, int64_t commit,
	    const char *guid, const char *reason, char *err, size_t errlen);

/* ---- shared with /createDeck and /submitCard ------------------------------------ */

/*
 * The note_created event's snapshot of note n (an SQL expression) from the
 * rows as stored; the index on (note, position) gives fields in order.
 */
#define REVIEW_NOTE_SNAPSHOT(n)							\
	"json_object('fields', json((SELECT json_group_array(json_object("	\
	"'position', position, 'content', content)) FROM fields INDEXED BY fields_note" \
	" WHERE note = " n " AND reviewed = 1)), 'tags', json((SELECT"		\
	" json_group_array(content) FROM tags WHERE note = " n " AND reviewed = 1)),"	\
	" 'reviewed', json('true'))"

/*
 * §3.5: whether a cleaned tag may be stored in a note of the tree whose
 * root is root: 1 yes, 0 no (an AnkiCollab_Optional:: group not registered
 * for the root), -1 on a database fault.
 */
int	review_tag_allowed(struct db *db, int64_t root, const char *tag, size_t len);

/*
 * /submitCard's force_overwrite by an owner or maintainer: approves every
 * pending change of the commit (as review_approve, as actor, without the
 * permission check and the notification) inside the caller's transaction.
 * REVIEW_NOTHING when the submission changed nothing.
 */
int	review_apply(struct db *db, int64_t actor, int64_t commit, char *err, size_t errlen);

/* A status as a short word: "ok", "not found", "forbidden", ... */
const char	*review_status_str(int status);

#endif
