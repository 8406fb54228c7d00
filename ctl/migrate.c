/*
 * migrate.c — ankicollabctl migrate:
 *
 *	migrate from-postgres URL --media DIR [--data-dir DIR] [--batch N]
 *	migrate to-postgres URL --media DIR
 *	migrate upstream-schema
 *
 * URL is anything libpq takes (postgresql://user@host/db, or
 * "host=/run/postgresql dbname=anki"); DIR is laid out like upstream's S3
 * bucket, <md5[0:2]>/<md5>, which is also our data_dir/media. This file
 * holds the command line, the libpq helpers both directions share, and the
 * verified media copy.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <sqlite3.h>

#include "common/db.h"
#include "common/fdcopy.h"
#include "common/mediaclient.h"
#include "ctl/ctl.h"
#include "ctl/migrate.h"

#define MIG_BATCH_DEFAULT	5000	/* rows per SQLite transaction */

/* ---- libpq --------------------------------------------------------------- */

static void
quiet_notice(void *arg, const char *msg)
{
	/* "relation ... already exists, skipping" and the like. */
}

PGconn *
mig_pg_connect(const char *url)
{
	PGconn	*pg;

	pg = PQconnectdb(url);
	if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
		fprintf(stderr, "ankicollabctl: cannot connect to PostgreSQL: %s",
		    pg != NULL ? PQerrorMessage(pg) : "out of memory\n");
		PQfinish(pg);
		return NULL;
	}
	PQsetNoticeProcessor(pg, quiet_notice, NULL);
	/* Times cross as epoch seconds; names and text as UTF-8. */
	if (mig_pg_exec(pg, "SET client_encoding = 'UTF8'; SET TIME ZONE 'UTC'") == -1) {
		PQfinish(pg);
		return NULL;
	}
	return pg;
}

int
mig_pg_exec(PGconn *pg, const char *sql)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(pg, sql);
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	if (!ok)
		fprintf(stderr, "ankicollabctl: PostgreSQL: %s",
		    PQerrorMessage(pg));
	PQclear(res);
	return ok ? 0 : -1;
}

int
mig_pg_count(PGconn *pg, const char *sql, int64_t *out)
{
	PGresult	*res;
	int		 rc = -1;

	res = PQexec(pg, sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "ankicollabctl: PostgreSQL: %s",
		    PQerrorMessage(pg));
	else if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0))
		*out = 0, rc = 0;
	else {
		*out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		rc = 0;
	}
	PQclear(res);
	return rc;
}

int
mig_cat(char *buf, size_t len, const char *fmt, ...)
{
	va_list	ap;
	size_t	used = strlen(buf);
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= len - used ? -1 : 0;
}

/* ---- media --------------------------------------------------------------- */

/* MD5 of the rest of in, copied to out unless -1; 0, or -1 with errno. */
static int
md5_copy(int in, int out, uint8_t md5[16], int64_t *size)
{
	unsigned char	dig[EVP_MAX_MD_SIZE];
	uint64_t	n;

	if (fdcopy(in, out, EVP_md5(), dig, NULL, &n) == -1)
		return -1;
	memcpy(md5, dig, 16);
	*size = (int64_t)n;
	return 0;
}

static int
same_md5(const uint8_t md5[16], const char *hash)
{
	char	hex[MEDIA_MD5_HEX_LEN + 1];

	media_md5_to_hex(md5, hex);
	return strcmp(hex, hash) == 0;
}

enum mig_media_result
mig_media_copy(const char *src_root, const char *dst_root, const char *tmp,
    const char *hash, int64_t *size)
{
	char		 src[PATH_MAX], dst[PATH_MAX], sub[PATH_MAX];
	uint8_t		 md5[16];
	int		 sfd, dfd, ok;

	*size = 0;
	if (!media_hex_ok(hash, strlen(hash)))
		return MIG_MEDIA_BAD;
	if ((size_t)snprintf(src, sizeof(src), "%s/%.2s/%s", src_root, hash,
	    hash) >= sizeof(src) ||
	    (size_t)snprintf(sub, sizeof(sub), "%s/%.2s", dst_root, hash) >=
	    sizeof(sub) ||
	    (size_t)snprintf(dst, sizeof(dst), "%s/%s", sub, hash) >=
	    sizeof(dst)) {
		fprintf(stderr, "ankicollabctl: media path too long\n");
		return MIG_MEDIA_ERROR;
	}

	/* Already copied by an earlier, interrupted run? */
	if ((dfd = open(dst, O_RDONLY | O_CLOEXEC)) != -1) {
		ok = md5_copy(dfd, -1, md5, size) == 0 && same_md5(md5, hash);
		close(dfd);
		if (ok)
			return MIG_MEDIA_PRESENT;
	}

	if ((sfd = open(src, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return MIG_MEDIA_MISSING;
		fprintf(stderr, "ankicollabctl: %s: %s\n", src, strerror(errno));
		return MIG_MEDIA_ERROR;
	}
	if ((dfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0640)) == -1) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", tmp, strerror(errno));
		close(sfd);
		return MIG_MEDIA_ERROR;
	}
	ok = md5_copy(sfd, dfd, md5, size) == 0 && fsync(dfd) == 0;
	if (!ok)
		fprintf(stderr, "ankicollabctl: copying %s: %s\n", src,
		    strerror(errno));
	close(sfd);
	if (close(dfd) == -1)
		ok = 0;
	if (!ok) {
		unlink(tmp);
		return MIG_MEDIA_ERROR;
	}
	if (!same_md5(md5, hash)) {
		unlink(tmp);
		return MIG_MEDIA_BAD;
	}
	if ((mkdir(sub, 0750) == -1 && errno != EEXIST) ||
	    rename(tmp, dst) == -1) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", dst, strerror(errno));
		unlink(tmp);
		return MIG_MEDIA_ERROR;
	}
	/* The rename is durable once its directory is. */
	if ((dfd = open(sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	return MIG_MEDIA_COPIED;
}

struct mig_media_tally {
	int64_t	copied, present, missing, bad, errors, size_mismatch;
	int64_t	bytes;
};

static void
mig_media_count(struct mig_media_tally *t, enum mig_media_result r,
    int64_t size, int64_t expected_size)
{
	switch (r) {
	case MIG_MEDIA_COPIED:
		t->copied++;
		break;
	case MIG_MEDIA_PRESENT:
		t->present++;
		break;
	case MIG_MEDIA_MISSING:
		t->missing++;
		return;
	case MIG_MEDIA_BAD:
		t->bad++;
		return;
	case MIG_MEDIA_ERROR:
		t->errors++;
		return;
	}
	t->bytes += size;
	if (expected_size > 0 && size != expected_size)
		t->size_mismatch++;
}

static int
mig_media_report(const struct mig_media_tally *t)
{
	printf("media: %" PRId64 " copied, %" PRId64 " already there, "
	    "%" PRId64 " bytes, every one's MD5 checked\n",
	    t->copied, t->present, t->bytes);
	if (t->missing > 0)
		printf("media: MISSING %" PRId64 " file(s) listed in media_files\n",
		    t->missing);
	if (t->bad > 0)
		printf("media: BAD %" PRId64 " file(s) whose bytes are not their "
		    "MD5 (not copied)\n", t->bad);
	if (t->errors > 0)
		printf("media: %" PRId64 " file(s) could not be copied (see "
		    "above)\n", t->errors);
	if (t->size_mismatch > 0)
		printf("media: note: %" PRId64 " file(s) differ from the size "
		    "their row records\n", t->size_mismatch);
	return t->missing + t->bad + t->errors > 0 ? -1 : 0;
}

int
mig_media_copy_all(struct db *db, const char *src_root, const char *dst_root,
    const char *tmp_dir, const char *src_name)
{
	static const char sql[] =
	    "SELECT hash, file_size FROM media_files ORDER BY id";
	struct mig_media_tally	 tally;
	sqlite3_stmt		*st;
	char			 tmp[PATH_MAX];
	const char		*hash;
	int64_t			 size;
	enum mig_media_result	 r;
	int			 rc;

	memset(&tally, 0, sizeof(tally));
	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW) {
		hash = (const char *)sqlite3_column_text(st, 0);
		/* A dot name: never a media file, nor a bucket key. */
		snprintf(tmp, sizeof(tmp), "%s/.%s.part", tmp_dir, hash);
		r = mig_media_copy(src_root, dst_root, tmp, hash, &size);
		if (r == MIG_MEDIA_MISSING || r == MIG_MEDIA_BAD)
			fprintf(stderr, "ankicollabctl: media %s: %s\n", hash,
			    r == MIG_MEDIA_MISSING ? src_name :
			    "its bytes do not have that MD5");
		mig_media_count(&tally, r, size, sqlite3_column_int64(st, 1));
	}
	db_stmt_done(st);
	if (rc < 0)
		return -1;
	return mig_media_report(&tally);
}

/* ---- the command --------------------------------------------------------- */

static int
usage(void)
{
	fprintf(stderr,
	    "usage: ankicollabctl migrate from-postgres URL --media DIR "
	    "[--data-dir DIR] [--batch N]\n"
	    "       ankicollabctl migrate to-postgres URL --media DIR "
	    "[--data-dir DIR]\n"
	    "       ankicollabctl migrate upstream-schema\n");
	return CTL_EXIT_USAGE;
}

int
ctl_migrate(struct ctl *ctl, int argc, char **argv)
{
	const char	*media = NULL, *data_dir = NULL, *url = NULL;
	char		*end;
	long long	 batch = MIG_BATCH_DEFAULT;
	int		 i;

	if (strcmp(argv[0], "migrate") != 0)
		return -1;
	if (argc == 2 && strcmp(argv[1], "upstream-schema") == 0) {
		fputs(mig_upstream_schema, stdout);
		return CTL_EXIT_OK;
	}
	if (argc < 3)
		return usage();
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--media") == 0 && i + 1 < argc)
			media = argv[++i];
		else if (strcmp(argv[i], "--data-dir") == 0 && i + 1 < argc)
			data_dir = argv[++i];
		else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
			errno = 0;
			batch = strtoll(argv[++i], &end, 10);
			if (errno != 0 || *end != '\0' || batch < 1 ||
			    batch > 1000000)
				return usage();
		} else if (url == NULL && argv[i][0] != '-')
			url = argv[i];
		else
			return usage();
	}
	if (url == NULL || media == NULL)
		return usage();
	if (data_dir != NULL) {
		if (strlen(data_dir) >= sizeof(ctl->cfg.data_dir)) {
			fprintf(stderr, "ankicollabctl: --data-dir too long\n");
			return CTL_EXIT_USAGE;
		}
		snprintf(ctl->cfg.data_dir, sizeof(ctl->cfg.data_dir), "%s",
		    data_dir);
	}
	if (strcmp(argv[1], "from-postgres") == 0)
		return mig_from_postgres(ctl, url, media, batch);
	if (strcmp(argv[1], "to-postgres") == 0)
		return mig_to_postgres(ctl, url, media);
	return usage();
}
