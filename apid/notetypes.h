/*
 * notetypes.h — the notetypes and notes of an uploaded deck tree, shared by
 * /createDeck and /submitCard (spec/api.md §3.1, §6.3 "notetype matching").
 *
 * A deck upload names its notetypes by CrowdAnki uuid; the server keeps one
 * copy per owner. notetype_resolve() finds the owner's copy of a submitted
 * note model (same guid, else one equal in substance) or inserts it, with
 * its fields and templates at position = array index. Names and field
 * descriptions are stored cleaned (§3.6); templates, css and LaTeX verbatim;
 * req in the objects form, so that equal requirements are equal texts.
 *
 * The checks say whether a json-c value has the shape upstream's serde types
 * accept (required keys, types, int ranges; unknown keys ignored). Callers
 * check a model before resolving it.
 */
#ifndef ANKICOLLAB_APID_NOTETYPES_H
#define ANKICOLLAB_APID_NOTETYPES_H

#include <stdint.h>

#include <json-c/json.h>

struct db;
struct json_object;

/* Return codes. */
#define NOTETYPE_OK	0
#define NOTETYPE_NONE	1	/* notetype_match: the owner has no such notetype */
#define NOTETYPE_EINPUT	(-1)	/* a text the HTML cleaner refused (too big, too slow) */
#define NOTETYPE_EDB	(-2)	/* a logged database fault */

/* Whether model is a §3.1 Notetype (a note_models[] item). */
int	notetype_valid(struct json_object *model);

/* Whether note is a §3.1 Note (a notes[] item): id, guid, note_model_uuid, fields, tags. */
int	notetype_note_valid(struct json_object *note);

/*
 * The owner's notetype for a valid model, by §6.3's rule: the one with its
 * guid, else the first (lowest id) equal in type, req, originalStockKind,
 * fields and templates. NOTETYPE_OK with *id, or NOTETYPE_NONE.
 */
int	notetype_match(struct db *db, int64_t owner, struct json_object *model, int64_t *id);

/*
 * notetype_match, or else a new notetype owned by owner (*inserted = 1).
 * Runs inside the caller's transaction.
 */
int	notetype_resolve(struct db *db, int64_t owner, struct json_object *model,
	    int64_t *id, int *inserted);

/* A member's value; NULL if absent or JSON null. Shared with publish.c. */
static inline struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

#endif
