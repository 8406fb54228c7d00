/*
 * review.c — ankicollabctl's review commands, on apid/review.h:
 *
 *	review list DECK_HASH [--json]
 *	review show COMMIT [--json]
 *	review approve COMMIT [--note GUID]
 *	review deny COMMIT [--note GUID] [--reason TEXT]
 *
 * The administrator decides for any deck (as the local admin, no user);
 * the commit's author gets the same notification a maintainer's decision
 * sends. Like the account commands, these work on the database directly,
 * whether the suite runs or not.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "apid/review.h"
#include "common/db.h"
#include "ctl/ctl.h"

/* §3.4 */
static const char *const rationales[] = {
	"None", "Deck Creation", "Updated content", "New content", "Content error",
	"Spelling/Grammar", "New card", "Updated Tags", "New Tags", "Bulk Suggestion", "Other",
	"Note Removal", "Changed Deck", "Forwarded from subscriber deck",
};

static const char *
rationale_name(int r)
{
	if (r < 0 || (size_t)r >= sizeof(rationales) / sizeof(rationales[0]))
		return "?";
	return rationales[r];
}

static void
print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static struct json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/* A review_* status as an exit status, saying why on failure. */
static int
status_exit(int status, const char *err)
{
	if (status == REVIEW_OK)
		return CTL_EXIT_OK;
	fprintf(stderr, "ankicollabctl: %s\n", err[0] != '\0' ? err : review_status_str(status));
	return CTL_EXIT_FAIL;
}

static int
commit_arg(const char *s, int64_t *id)
{
	char	*end;

	errno = 0;
	*id = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || *id <= 0) {
		fprintf(stderr, "ankicollabctl: '%s' is not a commit number\n", s);
		return CTL_EXIT_USAGE;
	}
	return CTL_EXIT_OK;
}

static void
common_json(struct json_object *o, const struct review_commit *c)
{
	char	t[DB_TIME_LEN];

	db_time_format(c->time_us, t, sizeof(t));
	json_object_object_add(o, "commit_id", json_object_new_int64(c->commit_id));
	json_object_object_add(o, "deck", json_object_new_string(c->deck_path));
	json_object_object_add(o, "author", json_object_new_string(c->author));
	json_object_object_add(o, "rationale", json_object_new_int(c->rationale));
	json_object_object_add(o, "text", json_object_new_string(c->text));
	json_object_object_add(o, "time", json_object_new_string(t));
}

static int
review_list_cmd(const struct ctl *ctl, const char *hash)
{
	struct review_commit	*l = NULL;
	struct json_object	*arr, *o, *g;
	struct db		*db;
	char			 err[256] = "", t[DB_TIME_LEN];
	size_t			 n = 0, more = 0, i, j;
	int			 rc;

	if ((rc = ctl_db_open(ctl, 0, &db)) != CTL_EXIT_OK)
		return rc;
	if (db == NULL) {
		fprintf(stderr, "ankicollabctl: no deck with hash '%s'\n", hash);
		return CTL_EXIT_FAIL;
	}
	rc = review_list(db, hash, &l, &n, &more, err, sizeof(err));
	db_close(db);
	if (rc != REVIEW_OK)
		return status_exit(rc, err);
	if (ctl->json) {
		arr = json_object_new_array();
		for (i = 0; i < n; i++) {
			o = json_object_new_object();
			common_json(o, &l[i]);
			g = json_object_new_array();
			for (j = 0; j < l[i].nguids; j++)
				json_object_array_add(g, json_object_new_string(l[i].guids[j]));
			json_object_object_add(o, "guids", g);
			json_object_object_add(o, "more_guids",
			    json_object_new_int64((int64_t)l[i].more_guids));
			json_object_array_add(arr, o);
		}
		print_json(arr);
		json_object_put(arr);
	} else {
		if (n == 0)
			printf("no open commits\n");
		for (i = 0; i < n; i++) {
			db_time_format(l[i].time_us, t, sizeof(t));
			printf("%lld  %s  %s  %s  [%s]  %zu note%s\n", (long long)l[i].commit_id, t,
			    l[i].author[0] != '\0' ? l[i].author : "(anonymous)", l[i].deck_path,
			    rationale_name(l[i].rationale), l[i].nguids + l[i].more_guids,
			    l[i].nguids + l[i].more_guids == 1 ? "" : "s");
			if (l[i].text[0] != '\0')
				printf("    %s\n", l[i].text);
		}
		if (more > 0)
			printf("(%zu more not shown)\n", more);
	}
	review_list_free(l, n);
	return CTL_EXIT_OK;
}

/* Prints text under a marker, one line at a time ("- " old, "+ " new). */
static void
print_side(const char *mark, const char *text)
{
	const char	*p = text, *nl;

	do {
		nl = strchr(p, '\n');
		printf("      %s%.*s\n", mark, nl ? (int)(nl - p) : (int)strlen(p), p);
		p = nl ? nl + 1 : NULL;
	} while (p != NULL);
}

static void
show_text(const struct review_diff *d)
{
	const struct review_note	*rn;
	const struct review_field	*f;
	char				 t[DB_TIME_LEN];
	size_t				 i, j;

	db_time_format(d->commit.time_us, t, sizeof(t));
	printf("commit %lld on %s by %s at %s: %s\n", (long long)d->commit.commit_id,
	    d->commit.deck_path, d->commit.author[0] ? d->commit.author : "(anonymous)", t,
	    rationale_name(d->commit.rationale));
	if (d->commit.text[0] != '\0')
		printf("  %s\n", d->commit.text);
	if (d->nnotes == 0)
		printf("nothing pending\n");
	for (i = 0; i < d->nnotes; i++) {
		rn = &d->notes[i];
		printf("\nnote %s%s\n", rn->guid, rn->is_new ? " (new)" : "");
		if (rn->delete_req)
			printf("  delete this note\n");
		if (rn->move_from != NULL)
			printf("  move from %s to %s\n", rn->move_from, rn->move_to);
		for (j = 0; j < rn->nfields; j++) {
			f = &rn->fields[j];
			printf("  field %d%s%s%s\n", f->position, f->name ? " (" : "",
			    f->name ? f->name : "", f->name ? ")" : "");
			if (f->current != NULL)
				print_side("- ", f->current);
			if (f->suggested[0] != '\0')
				print_side("+ ", f->suggested);
			else
				printf("      (removed)\n");
		}
		for (j = 0; j < rn->ntags; j++)
			printf("  tag %c %s\n", rn->tags[j].add ? '+' : '-', rn->tags[j].content);
	}
	if (d->more_notes > 0)
		printf("\n(%zu more notes not shown)\n", d->more_notes);
}

static void
show_json(const struct review_diff *d)
{
	const struct review_note	*rn;
	struct json_object		*root, *notes, *o, *fields, *tags, *f;
	size_t				 i, j;

	root = json_object_new_object();
	common_json(root, &d->commit);
	notes = json_object_new_array();
	for (i = 0; i < d->nnotes; i++) {
		rn = &d->notes[i];
		o = json_object_new_object();
		json_object_object_add(o, "guid", json_object_new_string(rn->guid));
		json_object_object_add(o, "note_id", json_object_new_int64(rn->note_id));
		json_object_object_add(o, "new", json_object_new_boolean(rn->is_new));
		json_object_object_add(o, "delete", json_object_new_boolean(rn->delete_req));
		json_object_object_add(o, "move_from", str_or_null(rn->move_from));
		json_object_object_add(o, "move_to", str_or_null(rn->move_to));
		fields = json_object_new_array();
		for (j = 0; j < rn->nfields; j++) {
			f = json_object_new_object();
			json_object_object_add(f, "position",
			    json_object_new_int(rn->fields[j].position));
			json_object_object_add(f, "name", str_or_null(rn->fields[j].name));
			json_object_object_add(f, "current", str_or_null(rn->fields[j].current));
			json_object_object_add(f, "suggested",
			    json_object_new_string(rn->fields[j].suggested));
			json_object_array_add(fields, f);
		}
		json_object_object_add(o, "fields", fields);
		tags = json_object_new_array();
		for (j = 0; j < rn->ntags; j++) {
			f = json_object_new_object();
			json_object_object_add(f, "content",
			    json_object_new_string(rn->tags[j].content));
			json_object_object_add(f, "action",
			    json_object_new_string(rn->tags[j].add ? "add" : "remove"));
			json_object_array_add(tags, f);
		}
		json_object_object_add(o, "tags", tags);
		json_object_array_add(notes, o);
	}
	json_object_object_add(root, "notes", notes);
	json_object_object_add(root, "more_notes", json_object_new_int64((int64_t)d->more_notes));
	print_json(root);
	json_object_put(root);
}

static int
review_show_cmd(const struct ctl *ctl, const char *arg)
{
	struct review_diff	 d;
	struct db		*db;
	char			 err[256] = "";
	int64_t			 commit;
	int			 rc;

	if ((rc = commit_arg(arg, &commit)) != CTL_EXIT_OK ||
	    (rc = ctl_db_open(ctl, 0, &db)) != CTL_EXIT_OK)
		return rc;
	if (db == NULL) {
		fprintf(stderr, "ankicollabctl: no commit %lld\n", (long long)commit);
		return CTL_EXIT_FAIL;
	}
	rc = review_diff(db, commit, &d, err, sizeof(err));
	db_close(db);
	if (rc == REVIEW_OK) {
		if (ctl->json)
			show_json(&d);
		else
			show_text(&d);
	}
	review_diff_free(&d);
	return status_exit(rc, err);
}

static int
review_decide_cmd(const struct ctl *ctl, int approve, int argc, char **argv)
{
	struct review_actor	 admin = { 0, 1 };
	const char		*guid = NULL, *reason = NULL;
	struct db		*db;
	char			 err[256] = "";
	int64_t			 commit;
	int			 i, rc;

	for (i = 3; i < argc; i++) {
		if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
			guid = argv[++i];
		else if (!approve && strcmp(argv[i], "--reason") == 0 && i + 1 < argc)
			reason = argv[++i];
		else {
			fprintf(stderr, "ankicollabctl: unexpected '%s'\n", argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if ((rc = commit_arg(argv[2], &commit)) != CTL_EXIT_OK ||
	    (rc = ctl_db_open(ctl, 1, &db)) != CTL_EXIT_OK)
		return rc;
	rc = approve ? review_approve(db, &admin, commit, guid, err, sizeof(err)) :
	    review_deny(db, &admin, commit, guid, reason, err, sizeof(err));
	db_close(db);
	if (rc == REVIEW_OK)
		printf("commit %lld: %s\n", (long long)commit, err);
	return status_exit(rc, err);
}

int
ctl_review(struct ctl *ctl, int argc, char **argv)
{
	if (strcmp(argv[0], "review") != 0)
		return -1;
	if (argc == 3 && strcmp(argv[1], "list") == 0)
		return review_list_cmd(ctl, argv[2]);
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return review_show_cmd(ctl, argv[2]);
	if (argc >= 3 && strcmp(argv[1], "approve") == 0)
		return review_decide_cmd(ctl, 1, argc, argv);
	if (argc >= 3 && strcmp(argv[1], "deny") == 0)
		return review_decide_cmd(ctl, 0, argc, argv);
	fprintf(stderr, "usage: ankicollabctl review list DECK_HASH [--json] |"
	    " show COMMIT [--json] | approve COMMIT [--note GUID] |"
	    " deny COMMIT [--note GUID] [--reason TEXT]\n");
	return CTL_EXIT_USAGE;
}
