/*
 * jobs.c — gcd's periodic jobs (schema.md §2, api.md §7.7 and §11).
 *
 * Every delete goes GC_BATCH rows at a time, one short write transaction
 * per batch: SQLite has one writer, and apid must not wait behind a long
 * clean-up. Between batches the lock is free for whoever queues on it.
 * Media files are removed by mediad only, and only after the rows that named
 * them are committed away: a crash in between leaves a stray file (which
 * mediad's sweep finds), never a row without its file.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/daemon.h"
#include "common/db.h"
#include "common/log.h"
#include "gcd/gcd.h"
#include "proto/proto.h"

#define US_PER_MS		1000LL
#define GC_BATCH_MAX_AGE_US	(24LL * 3600 * 1000000)	/* §7.7: a day */
#define GC_BULK_OP_MAX_AGE_US	(3600LL * 1000000)	/* §7.6, §11: an hour */

static const char *const gc_names[GC_NJOBS] = {
	"tokens", "batches", "notetypes", "media", "strays", "stats", "snapshots", "wal"
};

enum gc_job
gc_job_by_name(const char *name)
{
	int i;

	for (i = 0; i < GC_NJOBS; i++)
		if (strcmp(name, gc_names[i]) == 0)
			return (enum gc_job)i;
	return GC_NJOBS;
}

const char *
gc_job_name(enum gc_job job)
{
	return job < GC_NJOBS ? gc_names[job] : "all";
}

static uint64_t
gc_interval_ms(const struct gcd *g, enum gc_job job)
{
	const struct config *cfg = &g->d->cfg;

	switch (job) {
	case GC_TOKENS:
		return cfg->gc_tokens_interval_ms;
	case GC_BATCHES:
		return cfg->gc_batches_interval_ms;
	case GC_NOTETYPES:
		return cfg->gc_notetypes_interval_ms;
	case GC_MEDIA:
		return cfg->gc_media_interval_ms;
	case GC_STRAYS:
		return cfg->gc_strays_interval_ms;
	case GC_STATS:
		return cfg->gc_stats_interval_ms;
	case GC_SNAPSHOTS:
		return cfg->gc_snapshots_interval_ms;
	default:
		return cfg->gc_wal_interval_ms;
	}
}

/*
 * Runs one "DELETE … WHERE id IN (SELECT … LIMIT GC_BATCH)" with ?1 bound
 * to cutoff_us, one transaction per batch, until a batch comes back short.
 * Adds the rows deleted to *n. DB_OK or a DB error.
 */
static int
gc_delete_batches(struct gcd *g, const char *sql, int64_t cutoff_us, int64_t *n)
{
	sqlite3_stmt	*st;
	int64_t		 changed;
	int		 rc;

	do {
		if ((rc = db_begin(g->db)) != DB_OK)
			return rc;
		if ((st = db_stmt(g->db, sql)) == NULL) {
			db_rollback(g->db);
			return DB_ERR;
		}
		db_bind_time(st, 1, cutoff_us);
		rc = db_step(st);
		db_stmt_done(st);
		if (rc != DB_OK) {
			db_rollback(g->db);
			return rc;
		}
		changed = db_changes(g->db);
		if ((rc = db_commit(g->db)) != DB_OK)
			return rc;
		*n += changed;
		g->removed += changed;
	} while (changed >= GC_BATCH);
	return DB_OK;
}

/* A NULL refresh expiry means no refresh token: only the access one counts. */
static int
gc_tokens(struct gcd *g, char *out, size_t outlen)
{
	static const char sql[] =
	    "DELETE FROM auth_tokens WHERE id IN (SELECT id FROM auth_tokens"
	    " WHERE expires_at < ?1 AND coalesce(refresh_expires_at, 0) < ?1"
	    " LIMIT " DB_XSTR(GC_BATCH) ")";
	int64_t	n = 0;
	int	rc;

	rc = gc_delete_batches(g, sql, db_now_us(), &n);
	snprintf(out, outlen, "tokens: %lld removed", (long long)n);
	return rc == DB_OK ? 0 : -1;
}

/* Unix seconds before which a file unknown to the database may go. */
static int64_t
gc_file_cutoff(const struct gcd *g)
{
	return (int64_t)time(NULL) - (int64_t)(g->d->cfg.gc_orphan_grace_ms / 1000);
}

/* Asks mediad to delete the files of hashes not written since cutoff; adds to *files. */
static int
gc_delete_old(struct gcd *g, const char *const *hashes, size_t n, int64_t cutoff,
    int64_t *files)
{
	struct proto_media_deleted	del;

	if (n == 0)
		return 0;
	if (mediaclient_delete_old(&g->mc, hashes, n, cutoff, &del) == -1) {
		log_warnx("gc: mediad: %s; %zu files left for the next sweep", strerror(errno), n);
		return -1;
	}
	*files += (int64_t)del.deleted;
	return 0;
}

/*
 * §7.7: abandoned batches go with their file lists (ON DELETE CASCADE),
 * GC_STALE_BATCHES per transaction. Files uploaded for them but never
 * confirmed (no media_files row, awaited by no younger batch) go after the
 * commit, through mediad, unless written within the grace period: those
 * are left to the strays sweep.
 */
#define GC_STALE_BATCHES	16	/* a batch announces at most 100 files */

static int
gc_stale_batches(struct gcd *g, int64_t cutoff_us, int64_t *nb, int64_t *files)
{
	static const char pick[] =
	    "SELECT id FROM media_upload_batches WHERE created_at < ?1 LIMIT "
	    DB_XSTR(GC_STALE_BATCHES);
	static const char unconfirmed[] =
	    "SELECT DISTINCT f.hash FROM media_upload_batch_files f WHERE f.batch_id = ?2"
	    " AND NOT EXISTS (SELECT 1 FROM media_files m WHERE m.hash = f.hash)"
	    " AND NOT EXISTS (SELECT 1 FROM media_upload_batch_files o"
	    "   JOIN media_upload_batches b ON b.id = o.batch_id"
	    "   WHERE o.hash = f.hash AND b.created_at >= ?1)";
	static const char del[] = "DELETE FROM media_upload_batches WHERE id = ?1";
	static char		 ids[GC_STALE_BATCHES][40];
	char			**hex = NULL, **nh;
	sqlite3_stmt		*st;
	const char		*h;
	size_t			 n, nhex = 0, i;
	int			 rc = DB_OK;

	do {
		if ((rc = db_begin(g->db)) != DB_OK)
			return rc;
		n = 0;
		if ((st = db_stmt(g->db, pick)) == NULL)
			goto fail;
		db_bind_time(st, 1, cutoff_us);
		while (n < GC_STALE_BATCHES && (rc = db_step(st)) == DB_ROW)
			snprintf(ids[n++], sizeof(ids[0]), "%s", sqlite3_column_text(st, 0));
		db_stmt_done(st);
		for (i = 0; i < n; i++) {
			if ((st = db_stmt(g->db, unconfirmed)) == NULL)
				goto fail;
			db_bind_time(st, 1, cutoff_us);
			sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
			while ((rc = db_step(st)) == DB_ROW) {
				h = (const char *)sqlite3_column_text(st, 0);
				if (h == NULL || !media_hex_ok(h, strlen(h)))
					continue;
				if ((nh = reallocarray(hex, nhex + 1, sizeof(*nh))) == NULL ||
				    (nh[nhex] = strdup(h)) == NULL) {
					if (nh != NULL)
						hex = nh;
					rc = DB_ERR;
					break;
				}
				hex = nh;
				nhex++;
			}
			db_stmt_done(st);
			if (rc != DB_OK)
				goto fail;
			if ((st = db_stmt(g->db, del)) == NULL)
				goto fail;
			sqlite3_bind_text(st, 1, ids[i], -1, SQLITE_STATIC);
			rc = db_step(st);
			db_stmt_done(st);
			if (rc != DB_OK)
				goto fail;
		}
		if ((rc = db_commit(g->db)) != DB_OK)
			goto out;
		*nb += (int64_t)n;
		/* The rows are gone for good: a failure here only leaves strays. */
		gc_delete_old(g, (const char *const *)hex, nhex, gc_file_cutoff(g), files);
		for (i = 0; i < nhex; i++)
			free(hex[i]);
		nhex = 0;
	} while (n == GC_STALE_BATCHES);
	goto out;
fail:
	db_rollback(g->db);
	if (rc == DB_OK || rc == DB_ROW)
		rc = DB_ERR;
out:
	for (i = 0; i < nhex; i++)
		free(hex[i]);
	free(hex);
	return rc;
}

static int
gc_batches(struct gcd *g, char *out, size_t outlen)
{
	static const char ops[] =
	    "DELETE FROM bulk_operations WHERE id IN (SELECT id FROM"
	    " bulk_operations WHERE created_at < ?1 LIMIT " DB_XSTR(GC_BATCH) ")";
	int64_t	now = db_now_us(), nb = 0, no = 0, files = 0;
	int	rc;

	rc = gc_stale_batches(g, now - GC_BATCH_MAX_AGE_US, &nb, &files);
	if (rc == DB_OK)
		rc = gc_delete_batches(g, ops, now - GC_BULK_OP_MAX_AGE_US, &no);
	snprintf(out, outlen, "batches: %lld upload batches, %lld bulk operations, "
	    "%lld unconfirmed files removed", (long long)nb, (long long)no, (long long)files);
	return rc == DB_OK ? 0 : -1;
}

/*
 * Upstream drops every notetype no note uses. A /createDeck inserts the
 * notetype before its notes, so a young one is spared for the grace period.
 * Its fields, templates and field policies go by cascade.
 */
static int
gc_notetypes(struct gcd *g, char *out, size_t outlen)
{
	static const char sql[] =
	    "DELETE FROM notetype WHERE id IN (SELECT id FROM notetype t"
	    " WHERE created_at < ?1 AND NOT EXISTS"
	    " (SELECT 1 FROM notes WHERE notes.notetype = t.id)"
	    " LIMIT " DB_XSTR(GC_BATCH) ")";
	int64_t	n = 0;
	int	rc;

	rc = gc_delete_batches(g, sql,
	    db_now_us() - (int64_t)g->d->cfg.gc_orphan_grace_ms * US_PER_MS, &n);
	snprintf(out, outlen, "notetypes: %lld removed", (long long)n);
	return rc == DB_OK ? 0 : -1;
}

/*
 * One batch of orphans: under the write lock, pick rows still unreferenced
 * and past the grace period, and not awaited by an upload batch (a client
 * is about to confirm that file again), delete them and commit. hashes gets
 * the deleted rows' names. Returns how many, or -1.
 */
static int
gc_media_batch(struct gcd *g, int64_t cutoff_us, char hashes[][MEDIA_MD5_HEX_LEN + 1])
{
	static const char pick[] =
	    "SELECT id, hash FROM media_files m WHERE refcount = 0"
	    " AND orphaned_at < ?1 AND NOT EXISTS"
	    " (SELECT 1 FROM media_upload_batch_files b WHERE b.hash = m.hash)"
	    " ORDER BY orphaned_at LIMIT " DB_XSTR(GC_BATCH);
	static const char del[] = "DELETE FROM media_files WHERE id = ?1";
	int64_t		 ids[GC_BATCH];
	sqlite3_stmt	*st;
	const char	*h;
	int		 n = 0, i, rc;

	if (db_begin(g->db) != DB_OK)
		return -1;
	if ((st = db_stmt(g->db, pick)) == NULL)
		goto fail;
	db_bind_time(st, 1, cutoff_us);
	while (n < GC_BATCH && (rc = db_step(st)) == DB_ROW) {
		h = (const char *)sqlite3_column_text(st, 1);
		if (h == NULL || !media_hex_ok(h, strlen(h)))
			continue;	/* the CHECK makes this impossible */
		ids[n] = sqlite3_column_int64(st, 0);
		snprintf(hashes[n], MEDIA_MD5_HEX_LEN + 1, "%s", h);
		n++;
	}
	db_stmt_done(st);
	for (i = 0; i < n; i++) {
		if ((st = db_stmt(g->db, del)) == NULL)
			goto fail;
		sqlite3_bind_int64(st, 1, ids[i]);
		rc = db_step(st);
		db_stmt_done(st);
		if (rc != DB_OK)
			goto fail;
	}
	if (db_commit(g->db) != DB_OK)
		return -1;
	return n;
fail:
	db_rollback(g->db);
	return -1;
}

static int
gc_media(struct gcd *g, char *out, size_t outlen)
{
	static char			 hex[GC_BATCH][MEDIA_MD5_HEX_LEN + 1];
	const char			*ptr[GC_BATCH];
	struct proto_media_deleted	 del;
	int64_t				 cutoff, rows = 0, files = 0, left = 0;
	int				 n, i, rc = 0;

	cutoff = db_now_us() - (int64_t)g->d->cfg.gc_orphan_grace_ms * US_PER_MS;
	do {
		if ((n = gc_media_batch(g, cutoff, hex)) <= 0) {
			rc = n;
			break;
		}
		rows += n;
		g->removed += n;
		for (i = 0; i < n; i++)
			ptr[i] = hex[i];
		/* The rows are gone for good: a failure here only leaves strays. */
		memset(&del, 0, sizeof(del));
		if (mediaclient_delete(&g->mc, ptr, (size_t)n, &del) == -1) {
			log_warnx("gc media: mediad: %s; %d files left for its sweep",
			    strerror(errno), n);
			left += n;
		} else
			files += (int64_t)del.deleted;
	} while (n == GC_BATCH);
	snprintf(out, outlen, "media: %lld rows, %lld files removed%s", (long long)rows,
	    (long long)files, left > 0 ? " (mediad away: files left for its sweep)" : "");
	return rc;
}

/*
 * Does the database know this file: a media_files row, or an upload batch
 * that awaits it? One batch of names, looked up outside any transaction.
 */
static int
gc_strays_flush(struct gcd *g, char hex[][MEDIA_MD5_HEX_LEN + 1], size_t n, int64_t cutoff,
    int64_t *seen, int64_t *files)
{
	static const char sql[] =
	    "SELECT EXISTS (SELECT 1 FROM media_files WHERE hash = ?1)"
	    " OR EXISTS (SELECT 1 FROM media_upload_batch_files WHERE hash = ?1)";
	const char	*unknown[PROTO_MEDIA_BATCH];
	sqlite3_stmt	*st;
	size_t		 i, k = 0;
	int		 rc;

	for (i = 0; i < n; i++) {
		if ((st = db_stmt(g->db, sql)) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, hex[i], MEDIA_MD5_HEX_LEN, SQLITE_STATIC);
		rc = db_step(st);
		if (rc == DB_ROW && sqlite3_column_int(st, 0) == 0)
			unknown[k++] = hex[i];
		db_stmt_done(st);
		if (rc != DB_ROW)
			return -1;
	}
	*seen += (int64_t)n;
	return gc_delete_old(g, unknown, k, cutoff, files);
}

/*
 * Files in media/ that no row names and no batch awaits: uploads never
 * confirmed whose batch is gone, files a crash left between a row's delete
 * and the file's, anything put there by hand. gcd only reads the folder;
 * mediad deletes, and keeps a file written since the cutoff (an upload of
 * the same bytes renews its time), so a file being confirmed right now is
 * never taken.
 */
static int
gc_strays(struct gcd *g, char *out, size_t outlen)
{
	static char	 hex[PROTO_MEDIA_BATCH][MEDIA_MD5_HEX_LEN + 1];
	char		 path[CONFIG_PATH_MAX + 16];
	struct dirent	*de, *fe;
	struct stat	 st;
	DIR		*top = NULL, *sub;
	int64_t		 cutoff = gc_file_cutoff(g), seen = 0, files = 0;
	size_t		 n = 0;
	int		 topfd, subfd, rc = 0;

	config_data_path(&g->d->cfg, "media", path, sizeof(path));
	if ((topfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (top = fdopendir(topfd)) == NULL) {
		if (topfd != -1)
			close(topfd);
		snprintf(out, outlen, "strays: 0 files removed%s",
		    errno == ENOENT ? "" : " (media folder unreadable)");
		return errno == ENOENT ? 0 : -1;
	}
	while (rc == 0 && (de = readdir(top)) != NULL) {
		if (strlen(de->d_name) != 2 || strspn(de->d_name, "0123456789abcdef") != 2)
			continue;
		if ((subfd = openat(topfd, de->d_name,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) == -1)
			continue;
		if ((sub = fdopendir(subfd)) == NULL) {
			close(subfd);
			continue;
		}
		while (rc == 0 && (fe = readdir(sub)) != NULL) {
			if (!media_file_name_ok(fe->d_name, NULL) ||
			    strncmp(fe->d_name, de->d_name, 2) != 0 ||
			    fstatat(subfd, fe->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
			    !S_ISREG(st.st_mode) || (int64_t)st.st_mtime >= cutoff)
				continue;
			memcpy(hex[n], fe->d_name, MEDIA_MD5_HEX_LEN);
			hex[n][MEDIA_MD5_HEX_LEN] = '\0';
			if (++n == PROTO_MEDIA_BATCH) {
				rc = gc_strays_flush(g, hex, n, cutoff, &seen, &files);
				n = 0;
			}
		}
		closedir(sub);
	}
	closedir(top);
	if (rc == 0 && n > 0)
		rc = gc_strays_flush(g, hex, n, cutoff, &seen, &files);
	g->removed += files;
	snprintf(out, outlen, "strays: %lld files removed%s", (long long)files,
	    rc == -1 ? " (stopped early: database or mediad away)" : "");
	return rc;
}

/*
 * Upstream's daily refresh of the figures the website shows: per note, the
 * average of its users' stats (calculated_stats); per root deck, how many
 * notes have stats and their mean retention. Notes go GC_BATCH at a time,
 * one short write transaction each; notes without stats lose their row.
 */
static int
gc_stats(struct gcd *g, char *out, size_t outlen)
{
	static const char notes[] =
	    "INSERT INTO calculated_stats (note_id, sample_size, retention, lapses, reps)"
	    " SELECT note_id, count(*), avg(retention), avg(lapses), avg(reps) FROM note_stats"
	    " WHERE note_id IN (SELECT DISTINCT note_id FROM note_stats WHERE note_id > ?1"
	    "  ORDER BY note_id LIMIT " DB_XSTR(GC_BATCH) ")"
	    " GROUP BY note_id ORDER BY note_id"
	    " ON CONFLICT (note_id) DO UPDATE SET sample_size = excluded.sample_size,"
	    "  retention = excluded.retention, lapses = excluded.lapses, reps = excluded.reps"
	    " RETURNING note_id";
	static const char stale[] =
	    "DELETE FROM calculated_stats WHERE note_id IN (SELECT note_id FROM calculated_stats c"
	    " WHERE NOT EXISTS (SELECT 1 FROM note_stats s WHERE s.note_id = c.note_id)"
	    " LIMIT " DB_XSTR(GC_BATCH) ")";
	static const char decks[] =
	    "WITH RECURSIVE tree(root, id) AS ("
	    "  SELECT id, id FROM decks WHERE parent IS NULL"
	    "  UNION ALL SELECT tree.root, d.id FROM decks d JOIN tree ON d.parent = tree.id),"
	    " fig(root, n, ret) AS (SELECT t.root, count(c.note_id), avg(c.retention) FROM tree t"
	    "  JOIN notes n ON n.deck = t.id AND n.deleted = 0"
	    "  JOIN calculated_stats c ON c.note_id = n.id GROUP BY t.root)"
	    " UPDATE decks SET notes_with_stats_count = coalesce(f.n, 0), retention = f.ret"
	    " FROM (SELECT d.id AS id, fig.n AS n, fig.ret AS ret FROM decks d"
	    "  LEFT JOIN fig ON fig.root = d.id WHERE d.parent IS NULL) f"
	    " WHERE decks.id = f.id AND (decks.notes_with_stats_count IS NOT coalesce(f.n, 0)"
	    "  OR decks.retention IS NOT f.ret)";
	sqlite3_stmt	*st;
	int64_t		 last = 0, n, total = 0, gone = 0, nd = 0;
	int		 rc;

	do {
		if ((rc = db_begin(g->db)) != DB_OK)
			goto out;
		if ((st = db_stmt(g->db, notes)) == NULL) {
			db_rollback(g->db);
			rc = DB_ERR;
			goto out;
		}
		sqlite3_bind_int64(st, 1, last);
		n = 0;
		while ((rc = db_step(st)) == DB_ROW) {
			last = sqlite3_column_int64(st, 0);
			n++;
		}
		db_stmt_done(st);
		if (rc != DB_OK) {
			db_rollback(g->db);
			goto out;
		}
		if ((rc = db_commit(g->db)) != DB_OK)
			goto out;
		total += n;
	} while (n == GC_BATCH);
	if ((rc = gc_delete_batches(g, stale, 0, &gone)) != DB_OK)
		goto out;
	/* One statement over the root decks: a few thousand rows at most. */
	if ((rc = db_begin(g->db)) != DB_OK)
		goto out;
	if ((st = db_stmt(g->db, decks)) == NULL)
		rc = DB_ERR;
	else {
		rc = db_step(st);
		db_stmt_done(st);
	}
	nd = rc == DB_OK ? db_changes(g->db) : 0;
	if (rc != DB_OK)
		db_rollback(g->db);
	else
		rc = db_commit(g->db);
out:
	snprintf(out, outlen, "stats: %lld notes, %lld decks refreshed, %lld rows removed",
	    (long long)total, (long long)nd, (long long)gone);
	return rc == DB_OK ? 0 : -1;
}

/* In the background: its result is logged when it ends (see snapshot.c). */
static int
gc_snapshots(struct gcd *g, char *out, size_t outlen)
{
	return gc_snapshots_start(g, NULL, 0, out, outlen);
}

static int
gc_wal(struct gcd *g, char *out, size_t outlen)
{
	int rc;

	rc = db_checkpoint(g->db);
	if (db_optimize(g->db) != DB_OK)
		rc = DB_ERR;
	snprintf(out, outlen, "wal: checkpoint and optimize %s", rc == DB_OK ? "done" : "failed");
	return rc == DB_OK ? 0 : -1;
}

/* The supervisor sums these per job for /metrics. */
static void
gc_report(struct gcd *g, enum gc_job job, int rc)
{
	struct proto_gc_count	 r;
	uint8_t			 buf[PROTO_GC_COUNT_LEN];

	if (g->d->control == NULL)
		return;
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "%s", gc_names[job]);
	r.runs = 1;
	r.failures = rc == -1;
	r.removed = g->removed > 0 ? (uint64_t)g->removed : 0;
	if (proto_send(g->d->control, PROTO_GC_REPORT, 0, -1, buf,
	    proto_gc_counts_enc(&r, 1, buf)) == -1)
		log_warnx("cannot queue a gc report");
}

static int
gc_run_one(struct gcd *g, enum gc_job job, char *out, size_t outlen)
{
	static int (*const fn[GC_NJOBS])(struct gcd *, char *, size_t) = {
		gc_tokens, gc_batches, gc_notetypes, gc_media, gc_strays, gc_stats, gc_snapshots,
		gc_wal
	};
	char	path[CONFIG_PATH_MAX + 32];
	int	rc;

	/*
	 * gcd idles between jobs: it holds the database only while one runs,
	 * then hands the connection's memory and the freed heap back.
	 */
	g->removed = 0;
	config_data_path(&g->d->cfg, DB_FILE, path, sizeof(path));
	if ((g->db = db_open(path, 0)) == NULL) {
		snprintf(out, outlen, "%s: cannot open the database", gc_names[job]);
		log_warnx("gc %s", out);
		gc_report(g, job, -1);
		return -1;
	}
	if ((rc = fn[job](g, out, outlen)) == -1)
		log_warnx("gc %s failed: %s", gc_names[job], out);
	else
		log_info("gc %s", out);
	db_close(g->db);
	g->db = NULL;
	malloc_trim(0);
	gc_report(g, job, rc);
	return rc;
}

int
gc_run(struct gcd *g, enum gc_job job, char *out, size_t outlen)
{
	char	line[256];
	size_t	len = 0;
	int	i, rc = 0;

	if (job < GC_NJOBS)
		return gc_run_one(g, job, out, outlen);
	out[0] = '\0';
	for (i = 0; i < GC_NJOBS; i++) {
		if (gc_run_one(g, (enum gc_job)i, line, sizeof(line)) == -1)
			rc = -1;
		if (len < outlen)
			len += (size_t)snprintf(out + len, outlen - len, "%s%s",
			    i > 0 ? "; " : "", line);
	}
	return rc;
}

/* ---- timers -------------------------------------------------------------- */

struct gc_timer_arg {
	struct gcd	*g;
	enum gc_job	 job;
};

static struct gc_timer_arg	gc_timer_args[GC_NJOBS];

static void
gc_timer_fired(evutil_socket_t fd, short ev, void *arg)
{
	struct gc_timer_arg	*a = arg;
	char			 line[256];

	gc_run_one(a->g, a->job, line, sizeof(line));
}

static void
gc_arm(struct gcd *g, enum gc_job job)
{
	struct timeval	tv;
	uint64_t	ms = gc_interval_ms(g, job);

	if (ms == 0)
		ms = 1000;	/* a zero interval would spin */
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_del(g->timer[job]);
	event_add(g->timer[job], &tv);
}

void
gcd_rearm(struct gcd *g)
{
	int i;

	for (i = 0; i < GC_NJOBS; i++)
		if (g->timer[i] != NULL)
			gc_arm(g, (enum gc_job)i);
	gcd_backup_rearm(g);
}

/* After READY, so mediad (started before us) has had its time to come up. */
static void
gc_first_run(evutil_socket_t fd, short ev, void *arg)
{
	char line[1024];

	gc_run(arg, GC_NJOBS, line, sizeof(line));
}

int
gcd_start(struct gcd *g, struct daemon *d)
{
	struct timeval	zero = { 0, 0 };
	int		i;

	g->d = d;
	mediaclient_init(&g->mc, &d->cfg, GC_MEDIAD_TIMEOUT_MS);
	for (i = 0; i < GC_NJOBS; i++) {
		gc_timer_args[i].g = g;
		gc_timer_args[i].job = (enum gc_job)i;
		g->timer[i] = event_new(d->base, -1, EV_PERSIST, gc_timer_fired,
		    &gc_timer_args[i]);
		if (g->timer[i] == NULL)
			return -1;
	}
	/* Like upstream's intervals, the first run is at start. */
	if (event_base_once(d->base, -1, EV_TIMEOUT, gc_first_run, g, &zero) == -1)
		return -1;
	gcd_rearm(g);
	return gcd_backup_start(g);
}

void
gcd_stop(struct gcd *g)
{
	int i;

	for (i = 0; i < GC_NJOBS; i++) {
		if (g->timer[i] != NULL)
			event_free(g->timer[i]);
		g->timer[i] = NULL;
	}
	gcd_backup_stop(g);
	gc_snapshots_stop(g);
	mediaclient_close(&g->mc);
	if (g->db != NULL)
		db_close(g->db);
	g->db = NULL;
}
