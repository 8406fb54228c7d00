/*
 * gcd.h — the periodic jobs of spec/schema.md §2, run by ankicollab-gcd.
 *
 * Each job runs once at start, then on its own [gcd] interval, and at once
 * on `ankicollabctl gc run [JOB]` (PROTO_GC_RUN from the supervisor). A job
 * deletes GC_BATCH rows per write transaction and commits between batches,
 * so apid never waits on gcd for longer than one small batch.
 */
#ifndef ANKICOLLAB_GCD_H
#define ANKICOLLAB_GCD_H

#include <stddef.h>
#include <stdint.h>

#include "common/mediaclient.h"

struct daemon;
struct db;
struct event;
struct proto_peer;
struct snap_job;

#define GC_BATCH		500	/* rows per write transaction */
#define GC_MEDIAD_TIMEOUT_MS	2000
#define GC_JOB_NAMES	"tokens, batches, notetypes, media, strays, stats, snapshots, wal"

enum gc_job {
	GC_TOKENS,	/* auth tokens whose access and refresh expiry passed */
	GC_BATCHES,	/* stale upload batches (1 day), bulk operations (1 h) */
	GC_NOTETYPES,	/* notetypes no note uses, past the grace period */
	GC_MEDIA,	/* unreferenced media past the grace period: rows, then files */
	GC_STRAYS,	/* files in media/ the database does not know, past the grace */
	GC_STATS,	/* calculated_stats and the decks' figures from note_stats */
	GC_SNAPSHOTS,	/* deck snapshots (§10) of decks changed since their last one */
	GC_WAL,		/* WAL checkpoint and PRAGMA optimize */
	GC_NJOBS
};

struct gcd {
	struct daemon		*d;
	struct db		*db;
	struct mediaclient	 mc;
	struct event		*timer[GC_NJOBS];
	int64_t			 removed;	/* by the job running now, for GC_REPORT */
	struct snap_job		*snap;		/* a snapshot build running, or NULL */
};

/* Opens the DB, runs every job once and arms the timers. 0 or -1. */
int		 gcd_start(struct gcd *g, struct daemon *d);
/* The intervals may have changed: re-arm every timer. */
void		 gcd_rearm(struct gcd *g);
void		 gcd_stop(struct gcd *g);

/* backup.c: periodic backups into [gcd] backup_dir, when set. */
int		 gcd_backup_start(struct gcd *g);
void		 gcd_backup_rearm(struct gcd *g);
void		 gcd_backup_stop(struct gcd *g);

/* GC_NJOBS for an unknown name; "" is not a job (it means all of them). */
enum gc_job	 gc_job_by_name(const char *name);
const char	*gc_job_name(enum gc_job job);
/*
 * Runs one job, or every one for GC_NJOBS, now. Writes a one-line summary
 * ("tokens: 2 removed; …") to out. Returns 0, or -1 if a job failed.
 */
int		 gc_run(struct gcd *g, enum gc_job job, char *out, size_t outlen);

/*
 * snapshot.c: builds the snapshots of decks changed since their last one,
 * in a thread (a build waits on apid; the loop must go on). Starts one
 * unless one runs, and says so in out. With a peer, GC_RESULT (same id)
 * goes to it when the build ends, and 1 is returned; else 0, or -1.
 */
int		 gc_snapshots_start(struct gcd *g, struct proto_peer *peer, uint32_t id,
		    char *out, size_t outlen);
/* Waits for a running build to end. */
void		 gc_snapshots_stop(struct gcd *g);

#endif
