/*
 * crowdanki.h — the streaming reader of an uploaded CrowdAnki deck tree
 * (spec/api.md §3.1), shared by /createDeck and /submitCard.
 *
 * It checks the tree's shape as upstream's serde types do (each deck an
 * object with its members once and of their types, note_models optional
 * or null, unknown members ignored) and hands each deck, scalar, note and
 * note model to the caller's hooks as it comes; a note or model only once
 * it passed notetype_note_valid() or notetype_valid(). One note or model
 * is held at a time, never the tree. What is done with them is the
 * caller's: the hooks return 0, or -1 (having recorded why) to stop.
 */
#ifndef ANKICOLLAB_APID_CROWDANKI_H
#define ANKICOLLAB_APID_CROWDANKI_H

#include "common/jsonstream.h"

#define CROWDANKI_MAX_DEPTH	64		/* deck nesting */
#define CROWDANKI_JSON_DEPTH	(2 * CROWDANKI_MAX_DEPTH + 6)	/* decks, children, a req's ords */

/* Deck members; every one but note_models is required. */
#define CROWDANKI_CHILDREN	0x01
#define CROWDANKI_UUID		0x02
#define CROWDANKI_DESC		0x04
#define CROWDANKI_NAME		0x08
#define CROWDANKI_NOTES		0x10
#define CROWDANKI_MODELS	0x20
#define CROWDANKI_REQUIRED	0x1f

struct json_object;

/* A NULL scalar, note or model hook: those are skipped, unparsed but for syntax. */
struct crowdanki_hooks {
	/* A deck object begins at level (0: the root); crowdanki.depth is level + 1. */
	int	(*deck)(void *arg, int level);
	/* Its CROWDANKI_NAME, _DESC or _UUID: a string. */
	int	(*scalar)(void *arg, unsigned key, struct json_object *v);
	/* A notes[] or note_models[] item of the innermost deck. */
	int	(*note)(void *arg, struct json_object *note);
	int	(*model)(void *arg, struct json_object *model);
	/* The deck at level ends, all its required members met; may be NULL. */
	int	(*deck_end)(void *arg, int level);
	/* The tree is malformed: record it, return -1. */
	int	(*invalid)(void *arg);
};

struct crowdanki {
	const struct crowdanki_hooks	*hooks;
	void				*arg;
	int				 depth;		/* decks open */
	unsigned			 seen[CROWDANKI_MAX_DEPTH];	/* their members met */
};

/* A reader of one deck tree into ca's hooks; NULL if out of memory. */
struct jsonstream	*crowdanki_new(struct crowdanki *ca, const struct crowdanki_hooks *hooks,
			    void *arg);

#endif
