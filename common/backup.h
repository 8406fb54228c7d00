/*
 * backup.h — backups of a data dir, taken while the suite serves, and their
 * restore into a stopped one. ankicollabctl (backup, restore) and gcd (the
 * periodic [gcd] backup_dir job) both call this, and nothing else does it.
 *
 * A backup is a directory:
 *
 *	ankicollab.db		the database, copied by SQLite's online backup
 *				API from one read snapshot (rollback journal
 *				mode, so the file stands alone)
 *	media/xx/<md5>		every file media_files names in that snapshot,
 *				hard-linked from the data dir (or an earlier
 *				backup) when on the same filesystem, else copied
 *	secrets/NAME		the generated token secrets
 *	MANIFEST		written last, atomically: the list of files
 *				with their sizes and checksums
 *
 * A directory without a MANIFEST is an unfinished backup and is refused.
 */
#ifndef ANKICOLLAB_BACKUP_H
#define ANKICOLLAB_BACKUP_H

#include <stdint.h>
#include <stdio.h>

#include "common/config.h"

#define BACKUP_MANIFEST		"MANIFEST"
#define BACKUP_MAGIC		"ankicollab-lite-backup"
#define BACKUP_VERSION		1
#define BACKUP_LINE_MAX		512	/* longest manifest line */
#define BACKUP_NAME_MAX		64	/* a secret's file name */
#define BACKUP_STEP_PAGES	256	/* pages per sqlite3_backup_step */
#define BACKUP_PREFIX		"ankicollab-"	/* periodic backups' names */

struct backup_stats {
	uint64_t	db_bytes;
	uint64_t	media_files;	/* in the backup */
	uint64_t	media_bytes;
	uint64_t	linked;		/* hard links made */
	uint64_t	copied;		/* files copied */
	uint64_t	kept;		/* already there from an earlier run */
	uint64_t	dropped;	/* unreferenced rows whose file went meanwhile */
	int		schema;		/* the database's schema version */
};

/* One manifest line after the header. */
enum backup_kind { BACKUP_DB, BACKUP_SECRET, BACKUP_MEDIA };
struct backup_entry {
	enum backup_kind kind;
	char		 path[BACKUP_NAME_MAX + 16];	/* relative, checked */
	uint64_t	 size;
	char		 sum[65];	/* SHA-256 hex (db, secret); MD5 = the name (media) */
};

/*
 * Backs up the data dir of cfg into dir (created if need be). A backup
 * already in dir is brought up to date: its media files are kept. prev, if
 * not NULL, is an earlier complete backup to hard-link unchanged media from.
 * Returns 0, or -1 with the reason in err (dir then has no MANIFEST).
 */
int	backup_create(const struct config *cfg, const char *dir, const char *prev,
	    struct backup_stats *st, char *err, size_t errlen);

/*
 * Checks every file of the backup in dir against its MANIFEST (sizes,
 * SHA-256 of the database and secrets, MD5 of each media file). Returns 0,
 * or -1 with the first mismatch in err.
 */
int	backup_verify(const char *dir, struct backup_stats *st, char *err, size_t errlen);

/*
 * Verifies the backup in dir, then restores it into cfg's data dir, which
 * must not be in use (the caller checks that the suite is stopped). On a
 * refusal the data dir is untouched. Returns 0, or -1 with a reason.
 */
int	backup_restore(const struct config *cfg, const char *dir,
	    struct backup_stats *st, char *err, size_t errlen);

/*
 * The periodic job: a new backup_dir/ankicollab-YYYYmmddTHHMMSSZ, linked
 * against the newest earlier one, then the oldest removed beyond
 * backup_keep. Writes a one-line summary to out. Returns 0 or -1.
 */
int	backup_periodic(const struct config *cfg, char *out, size_t outlen);

/*
 * Seconds since the newest complete periodic backup in dir was taken (by
 * its name), or -1 if there is none: gcd schedules the next one from it, so
 * restarts do not put a backup off.
 */
int64_t	backup_newest_age(const char *dir);

/*
 * Reads a manifest: the header, then calls fn for each entry in order; the
 * last line must count them. Returns 0, or -1 with the reason in err (also
 * when fn returns -1, whose reason it wrote to err). Exposed for the fuzzer.
 */
int	backup_manifest_read(FILE *f, int *schema,
	    int (*fn)(const struct backup_entry *, void *, char *, size_t),
	    void *arg, char *err, size_t errlen);

#endif
