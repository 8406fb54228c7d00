/*
 * backup.c — online backups of a data dir and their restore (backup.h).
 *
 * The database is copied with SQLite's backup API, BACKUP_STEP_PAGES at a
 * time, while the source connection holds one read transaction: in WAL mode
 * that blocks no writer (apid keeps publishing), and the copy cannot be
 * restarted by their commits, so it is one consistent snapshot. The media
 * are those the snapshot's media_files names: a file exists before its row
 * (mediad stores, then /media/confirm/bulk inserts) and its row goes before
 * the file (gcd), so every row of the snapshot has its file, except an
 * unreferenced one that gcd removed meanwhile; that row is dropped from the
 * copy. Files are immutable and named by their MD5, so a hard link is as
 * good as a copy, and one already in the backup needs nothing.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "common/backup.h"
#include "common/fdcopy.h"
#include "common/db.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/mediaclient.h"

#define BACKUP_BUSY_WAIT_MS	20
#define BACKUP_PERIODIC_MAX	1024	/* backups a backup_dir is scanned for */
#define BACKUP_STAMP_LEN	32
#define BACKUP_CACHE_KIB	512	/* the copy's page cache: gcd is small */

/* Formats a path; -1 with a reason when it does not fit. */
static int __attribute__((format(printf, 4, 5)))
pathf(char *out, char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	return 0;
}

static int __attribute__((format(printf, 3, 4)))
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* The digest (SHA-256 or MD5) of a file as hex, and its size. */
static int
hash_file(const char *path, const EVP_MD *md, char *hex, uint64_t *size,
    char *err, size_t errlen)
{
	unsigned char	 dig[EVP_MAX_MD_SIZE];
	unsigned	 dlen;
	int		 fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	if ((rc = fdcopy(fd, -1, md, dig, &dlen, size)) == -1)
		fail(err, errlen, "%s: %s", path, strerror(errno));
	else
		hex_encode(dig, dlen, hex);
	close(fd);
	return rc;
}

static int
fsync_path(const char *path, int flags)
{
	int fd, rc;

	if ((fd = open(path, flags | O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Copies src to a new file dst (which must not exist), synced. */
static int
copy_file(const char *src, const char *dst, mode_t mode, char *err, size_t errlen)
{
	uint64_t	size;
	int		in, out, rc = 0;

	if ((in = open(src, O_RDONLY | O_CLOEXEC)) == -1)
		return fail(err, errlen, "%s: %s", src, strerror(errno));
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)) == -1) {
		rc = fail(err, errlen, "%s: %s", dst, strerror(errno));
		close(in);
		return rc;
	}
	if (fdcopy(in, out, NULL, NULL, NULL, &size) == -1 || fsync(out) == -1)
		rc = fail(err, errlen, "copying %s to %s: %s", src, dst, strerror(errno));
	if (close(out) == -1 && rc == 0)
		rc = fail(err, errlen, "%s: %s", dst, strerror(errno));
	if (rc == -1)
		unlink(dst);
	close(in);
	return rc;
}

static int
mkdir_ok(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return fail(err, errlen, "%s: %s", path, strerror(errno));
	return 0;
}

/*
 * Puts an immutable file at dst: nothing if a file of its size is there
 * (and, if md5 is not NULL, of that MD5), else a hard link to alt (an
 * earlier copy, may be NULL) or to src, else a copy, through dst.tmp and a
 * rename. Returns 1, 0 if src does not exist, or -1.
 */
static int
place_file(const char *src, const char *dst, const char *alt, const char *md5,
    mode_t mode, struct backup_stats *st, char *err, size_t errlen)
{
	struct stat	 sb, db, ab;
	char		 tmp[PATH_MAX], sum[EVP_MAX_MD_SIZE * 2 + 1];
	uint64_t	 size;

	if (stat(src, &sb) == -1) {
		if (errno == ENOENT)
			return 0;
		return fail(err, errlen, "%s: %s", src, strerror(errno));
	}
	if (stat(dst, &db) == 0 && db.st_size == sb.st_size && (md5 == NULL ||
	    (hash_file(dst, EVP_md5(), sum, &size, err, errlen) == 0 &&
	    strcmp(sum, md5) == 0))) {
		st->kept++;
		return 1;
	}
	err[0] = '\0';
	if (pathf(tmp, err, errlen, "%s.tmp", dst) == -1)
		return -1;
	if (unlink(tmp) == -1 && errno != ENOENT)
		return fail(err, errlen, "%s: %s", tmp, strerror(errno));
	if ((alt != NULL && stat(alt, &ab) == 0 && ab.st_size == sb.st_size &&
	    link(alt, tmp) == 0) || link(src, tmp) == 0)
		st->linked++;
	else if (errno == EXDEV || errno == EPERM || errno == EMLINK ||
	    errno == ENOTSUP || errno == EOPNOTSUPP) {
		if (copy_file(src, tmp, mode, err, errlen) == -1)
			return -1;
		st->copied++;
	} else
		return fail(err, errlen, "%s: %s", tmp, strerror(errno));
	if (rename(tmp, dst) == -1) {
		unlink(tmp);
		return fail(err, errlen, "%s: %s", dst, strerror(errno));
	}
	return 1;
}

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* rm -rf, without following symlinks. */
static int
rm_tree(const char *path)
{
	return nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS) == -1 && errno != ENOENT ? -1 : 0;
}

/*
 * A backup inside the data dir dies with its disk and would be restored
 * onto itself: refused. dir must exist; data_dir need not.
 */
static int
outside_data_dir(const struct config *cfg, const char *dir, char *err, size_t errlen)
{
	char	rd[PATH_MAX], rdata[PATH_MAX];
	size_t	n;

	if (realpath(dir, rd) == NULL)
		return fail(err, errlen, "%s: %s", dir, strerror(errno));
	if (realpath(cfg->data_dir, rdata) == NULL)
		return 0;
	n = strlen(rdata);
	if (strncmp(rd, rdata, n) == 0 && (rd[n] == '\0' || rd[n] == '/' ||
	    strcmp(rdata, "/") == 0))
		return fail(err, errlen, "%s is inside data_dir (%s): keep backups "
		    "elsewhere, ideally on another disk", dir, rdata);
	return 0;
}

/* ---- the manifest ---------------------------------------------------------- */

static int
lowhex_ok(const char *s, size_t len, size_t want)
{
	size_t	i;

	if (len != want)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
secret_name_ok(const char *s, size_t len)
{
	size_t	i;

	if (len == 0 || len > BACKUP_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' ||
		    s[i] == '.'))
			return 0;
	return 1;
}

/* A decimal up to 2^53, nothing else. */
static int
parse_u64(const char *s, uint64_t *out)
{
	uint64_t	v = 0;

	if (*s == '\0' || strlen(s) > 16)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > (1ULL << 53))
		return -1;
	*out = v;
	return 0;
}

/* Splits line at single spaces into at most max words; the count or -1. */
static int
split(char *line, char **w, int max)
{
	int	n = 0;

	for (;;) {
		if (n == max || *line == '\0' || *line == ' ')
			return -1;
		w[n++] = line;
		if ((line = strchr(line, ' ')) == NULL)
			return n;
		*line++ = '\0';
	}
}

static int
parse_entry(char *line, struct backup_entry *e)
{
	char	*w[4];
	int	 n;
	size_t	 plen;

	if ((n = split(line, w, 4)) == -1)
		return -1;
	memset(e, 0, sizeof(*e));
	plen = strlen(w[1 < n ? 1 : 0]);
	if (n == 4 && strcmp(w[0], "db") == 0) {
		if (strcmp(w[1], DB_FILE) != 0)
			return -1;
		e->kind = BACKUP_DB;
	} else if (n == 4 && strcmp(w[0], "secret") == 0) {
		if (strncmp(w[1], "secrets/", 8) != 0 ||
		    !secret_name_ok(w[1] + 8, plen - 8))
			return -1;
		e->kind = BACKUP_SECRET;
	} else if (n == 3 && strcmp(w[0], "media") == 0) {
		if (plen != 3 + MEDIA_MD5_HEX_LEN || w[1][2] != '/' ||
		    strncmp(w[1], w[1] + 3, 2) != 0 ||
		    !lowhex_ok(w[1] + 3, MEDIA_MD5_HEX_LEN, MEDIA_MD5_HEX_LEN))
			return -1;
		e->kind = BACKUP_MEDIA;
		memcpy(e->sum, w[1] + 3, MEDIA_MD5_HEX_LEN + 1);
	} else
		return -1;
	if (parse_u64(w[2], &e->size) == -1)
		return -1;
	if (n == 4) {
		if (!lowhex_ok(w[3], strlen(w[3]), 64))
			return -1;
		memcpy(e->sum, w[3], 65);
	}
	memcpy(e->path, w[1], plen + 1);
	return 0;
}

/* One line without its newline; -1 if too long, unterminated or NUL-laden. */
static int
read_line(FILE *f, char *buf, size_t len)
{
	size_t	n;

	if (fgets(buf, (int)len, f) == NULL)
		return -1;
	n = strlen(buf);
	if (n == 0 || buf[n - 1] != '\n')
		return -1;
	buf[n - 1] = '\0';
	return 0;
}

int
backup_manifest_read(FILE *f, int *schema,
    int (*fn)(const struct backup_entry *, void *, char *, size_t),
    void *arg, char *err, size_t errlen)
{
	struct backup_entry	 e;
	char			 line[BACKUP_LINE_MAX], want[64];
	uint64_t		 v, count = 0;
	int			 ndb = 0, lineno = 1;

	snprintf(want, sizeof(want), "%s %d", BACKUP_MAGIC, BACKUP_VERSION);
	if (read_line(f, line, sizeof(line)) == -1 || strcmp(line, want) != 0)
		return fail(err, errlen, "not a backup manifest (the first line "
		    "is not \"%s\")", want);
	lineno++;
	if (read_line(f, line, sizeof(line)) == -1 || strncmp(line, "schema ", 7) != 0 ||
	    parse_u64(line + 7, &v) == -1 || v > INT_MAX)
		return fail(err, errlen, "manifest line 2: no schema version");
	*schema = (int)v;
	for (;;) {
		lineno++;
		if (read_line(f, line, sizeof(line)) == -1)
			return fail(err, errlen, "manifest line %d: cut short or "
			    "malformed (an unfinished backup?)", lineno);
		if (strncmp(line, "created ", 8) == 0)
			continue;
		if (strncmp(line, "end ", 4) == 0)
			break;
		if (parse_entry(line, &e) == -1)
			return fail(err, errlen, "manifest line %d: malformed", lineno);
		if (e.kind == BACKUP_DB)
			ndb++;
		count++;
		if (fn != NULL && fn(&e, arg, err, errlen) == -1)
			return -1;
	}
	if (parse_u64(line + 4, &v) == -1 || v != count)
		return fail(err, errlen, "manifest: lists %" PRIu64 " files but its "
		    "last line says otherwise", count);
	if (ndb != 1)
		return fail(err, errlen, "manifest: %d database entries", ndb);
	if (fgetc(f) != EOF)
		return fail(err, errlen, "manifest: text after its last line");
	return 0;
}

/* ---- taking a backup ------------------------------------------------------- */

struct backup_run {
	const struct config	*cfg;
	const char		*dir;
	const char		*prev;
	FILE			*mf;		/* MANIFEST.tmp */
	uint64_t		 entries;
	struct backup_stats	*st;
};

/*
 * Copies the database into dir/DB_FILE.tmp from one read snapshot and
 * leaves the copy open in *dst (rollback journal mode).
 */
static int
backup_db(struct backup_run *r, sqlite3 **dstp, const char *tmp, char *err, size_t errlen)
{
	sqlite3_backup	*b;
	struct db	*db;
	sqlite3		*dst = NULL;
	sqlite3_stmt	*st;
	char		 src[PATH_MAX];
	int		 rc;

	if (pathf(src, err, errlen, "%s/%s", r->cfg->data_dir, DB_FILE) == -1)
		return -1;
	if (access(src, F_OK) == -1)
		return fail(err, errlen, "%s: %s", src, strerror(errno));
	if ((db = db_open(src, DB_READONLY)) == NULL)
		return fail(err, errlen, "%s: cannot open the database (see the "
		    "log line above)", src);
	/* The snapshot starts at the first read and lasts until the commit. */
	if (db_begin_read(db) != DB_OK ||
	    (st = db_stmt(db, "SELECT count(*) FROM sqlite_schema")) == NULL) {
		db_close(db);
		return fail(err, errlen, "%s: cannot start a read transaction", src);
	}
	rc = db_step(st);
	db_stmt_done(st);
	if (rc != DB_ROW) {
		db_rollback(db);
		db_close(db);
		return fail(err, errlen, "%s: cannot read", src);
	}
	unlink(tmp);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK || sqlite3_exec(dst, "PRAGMA cache_size = -" DB_XSTR(BACKUP_CACHE_KIB),
	    NULL, NULL, NULL) != SQLITE_OK || (b = sqlite3_backup_init(dst, "main", db_sqlite(db), "main")) == NULL) {
		fail(err, errlen, "%s: %s", tmp, dst ? sqlite3_errmsg(dst) : "cannot open");
		goto fail;
	}
	while ((rc = sqlite3_backup_step(b, BACKUP_STEP_PAGES)) == SQLITE_OK ||
	    rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
		if (rc != SQLITE_OK)
			usleep(BACKUP_BUSY_WAIT_MS * 1000);
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		fail(err, errlen, "backup of %s: %s", src, sqlite3_errstr(rc));
		goto fail;
	}
	db_rollback(db);
	db_close(db);
	db = NULL;
	/* A copy that stands alone: no -wal beside it, wherever it goes. */
	if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(dst, "PRAGMA foreign_keys = ON", NULL, NULL, NULL) != SQLITE_OK) {
		fail(err, errlen, "%s: %s", tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	*dstp = dst;
	return 0;
fail:
	sqlite3_close(dst);
	unlink(tmp);
	if (db != NULL) {
		db_rollback(db);
		db_close(db);
	}
	return -1;
}

static int
manifest_entry(struct backup_run *r, const char *kind, const char *path,
    uint64_t size, const char *sum, char *err, size_t errlen)
{
	if (fprintf(r->mf, "%s %s %" PRIu64 "%s%s\n", kind, path, size,
	    sum ? " " : "", sum ? sum : "") < 0)
		return fail(err, errlen, "%s/%s.tmp: %s", r->dir, BACKUP_MANIFEST,
		    strerror(errno));
	r->entries++;
	return 0;
}

/* The files the copy's media_files names; rows whose file went are dropped. */
static int
backup_media(struct backup_run *r, sqlite3 *dst, char *err, size_t errlen)
{
	static const char sel[] = "SELECT hash, refcount FROM media_files ORDER BY hash";
	struct stat	 sb;
	sqlite3_stmt	*st = NULL, *gone = NULL;
	const char	*h;
	char		 src[PATH_MAX], to[PATH_MAX], alt[PATH_MAX], rel[8];
	int		 rc, placed;

	if (sqlite3_exec(dst, "CREATE TEMP TABLE gone (hash TEXT)", NULL, NULL, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(dst, sel, -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(dst, "INSERT INTO temp.gone VALUES (?1)", -1, &gone,
	    NULL) != SQLITE_OK) {
		fail(err, errlen, "backup copy: %s", sqlite3_errmsg(dst));
		goto fail;
	}
	if (pathf(src, err, errlen, "%s/media", r->dir) == -1 ||
	    mkdir_ok(src, 0750, err, errlen) == -1)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		h = (const char *)sqlite3_column_text(st, 0);
		if (h == NULL || !media_hex_ok(h, strlen(h)))
			continue;	/* the CHECK makes this impossible */
		snprintf(rel, sizeof(rel), "%.2s", h);
		if (pathf(src, err, errlen, "%s/media/%s/%s", r->cfg->data_dir, rel, h) == -1 ||
		    pathf(to, err, errlen, "%s/media/%s", r->dir, rel) == -1 ||
		    mkdir_ok(to, 0750, err, errlen) == -1 ||
		    pathf(to, err, errlen, "%s/media/%s/%s", r->dir, rel, h) == -1 ||
		    (r->prev != NULL && pathf(alt, err, errlen, "%s/media/%s/%s",
		    r->prev, rel, h) == -1))
			goto fail;
		placed = place_file(src, to, r->prev ? alt : NULL, NULL, 0640, r->st, err,
		    errlen);
		if (placed == -1)
			goto fail;
		if (placed == 0) {
			if (sqlite3_column_int64(st, 1) != 0) {
				fail(err, errlen, "media file %s is referenced but "
				    "missing from %s/media", h, r->cfg->data_dir);
				goto fail;
			}
			sqlite3_bind_text(gone, 1, h, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(gone) != SQLITE_DONE) {
				fail(err, errlen, "backup copy: %s", sqlite3_errmsg(dst));
				goto fail;
			}
			sqlite3_reset(gone);
			r->st->dropped++;
			continue;
		}
		if (stat(to, &sb) == -1) {
			fail(err, errlen, "%s: %s", to, strerror(errno));
			goto fail;
		}
		snprintf(alt, sizeof(alt), "%s/%s", rel, h);
		if (manifest_entry(r, "media", alt, (uint64_t)sb.st_size, NULL, err,
		    errlen) == -1)
			goto fail;
		r->st->media_files++;
		r->st->media_bytes += (uint64_t)sb.st_size;
	}
	if (rc != SQLITE_DONE) {
		fail(err, errlen, "backup copy: %s", sqlite3_errmsg(dst));
		goto fail;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(gone);
	if (r->st->dropped > 0 && sqlite3_exec(dst, "DELETE FROM media_files WHERE"
	    " hash IN (SELECT hash FROM temp.gone)", NULL, NULL, NULL) != SQLITE_OK)
		return fail(err, errlen, "backup copy: %s", sqlite3_errmsg(dst));
	return 0;
fail:
	sqlite3_finalize(st);
	sqlite3_finalize(gone);
	return -1;
}

/* data_dir/secrets/NAME: small, copied each time. */
static int
backup_secrets(struct backup_run *r, char *err, size_t errlen)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		 src[PATH_MAX], dst[PATH_MAX], rel[BACKUP_NAME_MAX + 16], sum[65];
	uint64_t	 size;
	int		 rc = 0;

	if (pathf(src, err, errlen, "%s/secrets", r->cfg->data_dir) == -1)
		return -1;
	if ((d = opendir(src)) == NULL)
		return errno == ENOENT ? 0 : fail(err, errlen, "%s: %s", src, strerror(errno));
	if (pathf(dst, err, errlen, "%s/secrets", r->dir) == -1 ||
	    mkdir_ok(dst, 0700, err, errlen) == -1) {
		closedir(d);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (!secret_name_ok(de->d_name, strlen(de->d_name)))
			continue;
		if (pathf(src, err, errlen, "%s/secrets/%s", r->cfg->data_dir,
		    de->d_name) == -1 || pathf(dst, err, errlen, "%s/secrets/%s",
		    r->dir, de->d_name) == -1) {
			rc = -1;
			break;
		}
		if (lstat(src, &sb) == -1 || !S_ISREG(sb.st_mode))
			continue;
		unlink(dst);
		snprintf(rel, sizeof(rel), "secrets/%.64s", de->d_name);	/* secret_name_ok */
		if (copy_file(src, dst, 0600, err, errlen) == -1 ||
		    hash_file(dst, EVP_sha256(), sum, &size, err, errlen) == -1 ||
		    manifest_entry(r, "secret", rel, size, sum, err, errlen) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

int
backup_create(const struct config *cfg, const char *dir, const char *prev,
    struct backup_stats *st, char *err, size_t errlen)
{
	struct backup_run	 r;
	sqlite3			*dst = NULL;
	sqlite3_stmt		*q;
	char			 tmp[PATH_MAX], path[PATH_MAX], mtmp[PATH_MAX];
	char			 mpath[PATH_MAX], sum[65], stamp[BACKUP_STAMP_LEN];
	time_t			 now = time(NULL);
	struct tm		 tm;
	uint64_t		 size;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.dir = dir;
	r.prev = prev;
	r.st = st;
	if (mkdir_ok(dir, 0750, err, errlen) == -1 ||
	    outside_data_dir(cfg, dir, err, errlen) == -1 ||
	    pathf(mpath, err, errlen, "%s/%s", dir, BACKUP_MANIFEST) == -1 ||
	    pathf(mtmp, err, errlen, "%s/%s.tmp", dir, BACKUP_MANIFEST) == -1 ||
	    pathf(tmp, err, errlen, "%s/%s.tmp", dir, DB_FILE) == -1 ||
	    pathf(path, err, errlen, "%s/%s", dir, DB_FILE) == -1)
		return -1;
	/* From here until the rename at the end, dir is an unfinished backup. */
	if (unlink(mpath) == -1 && errno != ENOENT)
		return fail(err, errlen, "%s: %s", mpath, strerror(errno));
	if (backup_db(&r, &dst, tmp, err, errlen) == -1)
		return -1;
	if ((r.mf = fopen(mtmp, "we")) == NULL) {
		fail(err, errlen, "%s: %s", mtmp, strerror(errno));
		goto fail;
	}
	if (sqlite3_prepare_v2(dst, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
	    sqlite3_step(q) == SQLITE_ROW)
		st->schema = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(r.mf, "%s %d\nschema %d\ncreated %s\n", BACKUP_MAGIC, BACKUP_VERSION,
	    st->schema, stamp);
	if (backup_media(&r, dst, err, errlen) == -1)
		goto fail;
	if (sqlite3_close(dst) != SQLITE_OK) {
		fail(err, errlen, "%s: cannot close", tmp);
		dst = NULL;
		goto fail;
	}
	dst = NULL;
	if (fsync_path(tmp, 0) == -1 || rename(tmp, path) == -1) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (backup_secrets(&r, err, errlen) == -1 ||
	    hash_file(path, EVP_sha256(), sum, &size, err, errlen) == -1 ||
	    manifest_entry(&r, "db", DB_FILE, size, sum, err, errlen) == -1)
		goto fail;
	st->db_bytes = size;
	if (fprintf(r.mf, "end %" PRIu64 "\n", r.entries) < 0 || fflush(r.mf) == EOF ||
	    fsync(fileno(r.mf)) == -1) {
		fail(err, errlen, "%s: %s", mtmp, strerror(errno));
		goto fail;
	}
	fclose(r.mf);
	r.mf = NULL;
	/* Everything it names is synced: the manifest makes the backup whole. */
	if (rename(mtmp, mpath) == -1 || fsync_path(dir, O_DIRECTORY) == -1) {
		fail(err, errlen, "%s: %s", mpath, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (r.mf != NULL)
		fclose(r.mf);
	unlink(mtmp);
	if (dst != NULL) {
		sqlite3_close(dst);
		unlink(tmp);
	}
	return -1;
}

/* ---- verifying and restoring ----------------------------------------------- */

struct restore_run {
	const struct config	*cfg;
	const char		*dir;
	struct backup_stats	*st;
};

static int
verify_entry(const struct backup_entry *e, void *arg, char *err, size_t errlen)
{
	struct restore_run	*r = arg;
	char			 path[PATH_MAX], sum[EVP_MAX_MD_SIZE * 2 + 1];
	uint64_t		 size;

	if (pathf(path, err, errlen, "%s/%s%s", r->dir,
	    e->kind == BACKUP_MEDIA ? "media/" : "", e->path) == -1)
		return -1;
	if (hash_file(path, e->kind == BACKUP_MEDIA ? EVP_md5() : EVP_sha256(),
	    sum, &size, err, errlen) == -1)
		return -1;
	if (size != e->size)
		return fail(err, errlen, "%s: %" PRIu64 " bytes, the manifest says "
		    "%" PRIu64, path, size, e->size);
	if (strcmp(sum, e->sum) != 0)
		return fail(err, errlen, "%s: checksum mismatch (%s, the manifest "
		    "says %s)", path, sum, e->sum);
	switch (e->kind) {
	case BACKUP_DB:
		r->st->db_bytes = size;
		break;
	case BACKUP_MEDIA:
		r->st->media_files++;
		r->st->media_bytes += size;
		break;
	default:
		break;
	}
	return 0;
}

static int
read_manifest(const char *dir, struct restore_run *r,
    int (*fn)(const struct backup_entry *, void *, char *, size_t),
    char *err, size_t errlen)
{
	char	 path[PATH_MAX];
	FILE	*f;
	int	 rc;

	if (pathf(path, err, errlen, "%s/%s", dir, BACKUP_MANIFEST) == -1)
		return -1;
	if ((f = fopen(path, "re")) == NULL)
		return fail(err, errlen, "%s: %s (not a complete backup)", path,
		    strerror(errno));
	rc = backup_manifest_read(f, &r->st->schema, fn, r, err, errlen);
	fclose(f);
	return rc;
}

int
backup_verify(const char *dir, struct backup_stats *st, char *err, size_t errlen)
{
	struct restore_run	r;

	memset(st, 0, sizeof(*st));
	err[0] = '\0';
	memset(&r, 0, sizeof(r));
	r.dir = dir;
	r.st = st;
	return read_manifest(dir, &r, verify_entry, err, errlen);
}

/* The database goes to DB_FILE.restore now, renamed into place at the end. */
static int
restore_entry(const struct backup_entry *e, void *arg, char *err, size_t errlen)
{
	struct restore_run	*r = arg;
	char			 src[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX];

	if (pathf(src, err, errlen, "%s/%s%s", r->dir,
	    e->kind == BACKUP_MEDIA ? "media/" : "", e->path) == -1)
		return -1;
	switch (e->kind) {
	case BACKUP_MEDIA:
		if (pathf(sub, err, errlen, "%s/media/%.2s", r->cfg->data_dir,
		    e->path) == -1 || mkdir_ok(sub, 0750, err, errlen) == -1 ||
		    pathf(dst, err, errlen, "%s/media/%s", r->cfg->data_dir, e->path) == -1)
			return -1;
		/* What is there may be what the restore is for: check it. */
		return place_file(src, dst, NULL, e->sum, 0640, r->st, err, errlen) == 1 ? 0 :
		    fail(err, errlen, "%s: vanished", src);
	case BACKUP_SECRET:
		if (pathf(dst, err, errlen, "%s/%s.restore", r->cfg->data_dir, e->path) == -1)
			return -1;
		unlink(dst);
		if (copy_file(src, dst, 0600, err, errlen) == -1)
			return -1;
		memcpy(sub, dst, strlen(dst) - strlen(".restore"));
		sub[strlen(dst) - strlen(".restore")] = '\0';
		if (rename(dst, sub) == -1)
			return fail(err, errlen, "%s: %s", sub, strerror(errno));
		return 0;
	default:
		if (pathf(dst, err, errlen, "%s/%s.restore", r->cfg->data_dir, DB_FILE) == -1)
			return -1;
		unlink(dst);
		return copy_file(src, dst, 0640, err, errlen);
	}
}

int
backup_restore(const struct config *cfg, const char *dir,
    struct backup_stats *st, char *err, size_t errlen)
{
	struct restore_run	r;
	const char		*const stale[] = { "-wal", "-shm", "-journal" };
	char			 path[PATH_MAX], tmp[PATH_MAX];
	size_t			 i;

	/* Refusals first: nothing in the data dir changes before this passes. */
	if (outside_data_dir(cfg, dir, err, errlen) == -1 ||
	    backup_verify(dir, st, err, errlen) == -1)
		return -1;
	if (st->schema > db_schema_version())
		return fail(err, errlen, "%s: schema version %d is newer than this "
		    "build knows (%d)", dir, st->schema, db_schema_version());
	memset(&r, 0, sizeof(r));
	r.cfg = cfg;
	r.dir = dir;
	r.st = st;
	st->linked = st->copied = st->kept = 0;
	if (mkdir_ok(cfg->data_dir, 0750, err, errlen) == -1 ||
	    pathf(path, err, errlen, "%s/media", cfg->data_dir) == -1 ||
	    mkdir_ok(path, 0750, err, errlen) == -1 ||
	    pathf(path, err, errlen, "%s/secrets", cfg->data_dir) == -1 ||
	    mkdir_ok(path, 0700, err, errlen) == -1)
		return -1;
	if (read_manifest(dir, &r, restore_entry, err, errlen) == -1)
		goto fail;
	/* A WAL left beside the old file would be replayed onto the new one. */
	for (i = 0; i < sizeof(stale) / sizeof(stale[0]); i++) {
		if (pathf(path, err, errlen, "%s/%s%s", cfg->data_dir, DB_FILE,
		    stale[i]) == -1)
			goto fail;
		if (unlink(path) == -1 && errno != ENOENT) {
			fail(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
	}
	if (pathf(path, err, errlen, "%s/%s", cfg->data_dir, DB_FILE) == -1 ||
	    pathf(tmp, err, errlen, "%s/%s.restore", cfg->data_dir, DB_FILE) == -1)
		goto fail;
	if (rename(tmp, path) == -1 || fsync_path(cfg->data_dir, O_DIRECTORY) == -1) {
		fail(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (pathf(tmp, err + strlen(err), 0, "%s/%s.restore", cfg->data_dir, DB_FILE) == 0)
		unlink(tmp);
	return -1;
}

/* ---- the periodic job ------------------------------------------------------ */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* Ours: BACKUP_PREFIX then a UTC stamp, digits, T and Z only. */
static int
periodic_name(const char *name, int *partial)
{
	size_t	plen = strlen(BACKUP_PREFIX), len = strlen(name), i;

	*partial = 0;
	if (strncmp(name, BACKUP_PREFIX, plen) != 0)
		return 0;
	if (len > plen + 8 && strcmp(name + len - 8, ".partial") == 0) {
		*partial = 1;
		len -= 8;
	}
	if (len - plen != 16)
		return 0;
	for (i = plen; i < len; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == 'T' || name[i] == 'Z'))
			return 0;
	return 1;
}

int64_t
backup_newest_age(const char *dir)
{
	struct dirent	*de;
	struct tm	 tm;
	struct stat	 sb;
	DIR		*d;
	char		 newest[BACKUP_STAMP_LEN] = "", path[PATH_MAX], err[64];
	const char	*end;
	int		 partial;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (periodic_name(de->d_name, &partial) && !partial &&
		    strcmp(de->d_name, newest) > 0 &&
		    pathf(path, err, sizeof(err), "%s/%s/%s", dir, de->d_name,
		    BACKUP_MANIFEST) == 0 && stat(path, &sb) == 0)
			snprintf(newest, sizeof(newest), "%.31s", de->d_name);
	closedir(d);
	memset(&tm, 0, sizeof(tm));
	if (newest[0] == '\0' || (end = strptime(newest + strlen(BACKUP_PREFIX),
	    "%Y%m%dT%H%M%SZ", &tm)) == NULL || *end != '\0')
		return -1;
	return (int64_t)time(NULL) - (int64_t)timegm(&tm);
}

int
backup_periodic(const struct config *cfg, char *out, size_t outlen)
{
	static char		 names[BACKUP_PERIODIC_MAX][BACKUP_STAMP_LEN];
	struct backup_stats	 st;
	struct dirent		*de;
	struct stat		 sb;
	struct tm		 tm;
	DIR			*d;
	char			 dir[PATH_MAX], prev[PATH_MAX], path[PATH_MAX];
	char			 err[512], stamp[BACKUP_STAMP_LEN];
	time_t			 now = time(NULL);
	size_t			 n = 0, i, removed = 0, keep;
	int			 partial, rc;

	err[0] = '\0';
	if (cfg->backup_dir[0] == '\0') {
		snprintf(out, outlen, "backup: off (no backup_dir)");
		return 0;
	}
	if (mkdir_ok(cfg->backup_dir, 0750, err, sizeof(err)) == -1 ||
	    (d = opendir(cfg->backup_dir)) == NULL) {
		snprintf(out, outlen, "backup: %s", err[0] ? err : strerror(errno));
		return -1;
	}
	/* Leftovers of an interrupted run go; the complete ones are listed. */
	while ((de = readdir(d)) != NULL) {
		if (!periodic_name(de->d_name, &partial))
			continue;
		if (partial) {
			if (pathf(path, err, sizeof(err), "%s/%s", cfg->backup_dir,
			    de->d_name) == 0 && rm_tree(path) == -1)
				log_warn("backup: %s", path);
			continue;
		}
		if (n < BACKUP_PERIODIC_MAX)
			snprintf(names[n++], BACKUP_STAMP_LEN, "%.31s", de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	prev[0] = '\0';
	for (i = n; i > 0; i--) {
		if (pathf(path, err, sizeof(err), "%s/%s/%s", cfg->backup_dir,
		    names[i - 1], BACKUP_MANIFEST) == 0 && stat(path, &sb) == 0) {
			snprintf(prev, sizeof(prev), "%s/%s", cfg->backup_dir, names[i - 1]);
			break;
		}
	}
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), BACKUP_PREFIX "%Y%m%dT%H%M%SZ", &tm);
	if (pathf(dir, err, sizeof(err), "%s/%s.partial", cfg->backup_dir, stamp) == -1 ||
	    pathf(path, err, sizeof(err), "%s/%s", cfg->backup_dir, stamp) == -1) {
		snprintf(out, outlen, "backup: %s", err);
		return -1;
	}
	if (strcmp(prev, path) == 0) {
		snprintf(out, outlen, "backup: %s already taken this second", path);
		return 0;
	}
	rc = backup_create(cfg, dir, prev[0] ? prev : NULL, &st, err, sizeof(err));
	if (rc == 0 && rename(dir, path) == -1) {
		rc = fail(err, sizeof(err), "%s: %s", path, strerror(errno));
	}
	if (rc == -1) {
		rm_tree(dir);
		snprintf(out, outlen, "backup: %s", err);
		return -1;
	}
	if (n < BACKUP_PERIODIC_MAX)
		snprintf(names[n++], BACKUP_STAMP_LEN, "%s", stamp);
	keep = cfg->backup_keep > 0 ? (size_t)cfg->backup_keep : 1;
	for (i = 0; i + keep < n; i++) {
		if (pathf(path, err, sizeof(err), "%s/%s", cfg->backup_dir, names[i]) == -1)
			continue;
		if (rm_tree(path) == -1)
			log_warn("backup: cannot remove %s", path);
		else
			removed++;
	}
	snprintf(out, outlen, "backup: %s/%s: %" PRIu64 " media files (%" PRIu64
	    " linked, %" PRIu64 " copied, %" PRIu64 " kept), %zu old backup(s) removed",
	    cfg->backup_dir, stamp, st.media_files, st.linked, st.copied, st.kept, removed);
	return 0;
}
