/*
 * store.c — the media folder: data_dir/media/<md5[0:2]>/<md5>, written
 * under data_dir/spool/ and renamed into place once whole and synced, so
 * media/ only ever holds complete, verified files. Whatever a crash leaves
 * in spool/ is deleted at the next start.
 *
 * A compressible file (SVG and other text) is kept gzipped as
 * media/xx/<md5>.gz when that saves enough; whoever reads it gets the
 * original bytes back (serve.c inflates, gcd's snapshots too), and its
 * MD5 is the original's. A stat reports the original length (gzip's ISIZE:
 * media are at most 10 MiB, so it is exact); usage counts disk bytes.
 *
 * All paths are relative to directory fds opened once at start.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <zlib.h>

#include "common/log.h"
#include "common/mediaclient.h"
#include "mediad/mediad.h"

void
store_relpath(const char *hex, char *out)
{
	snprintf(out, MEDIA_MD5_HEX_LEN + 4, "%.2s/%.32s", hex, hex);
}

static void
store_relpath_gz(const char *hex, char *out)
{
	snprintf(out, STORE_REL_MAX, "%.2s/%.32s.gz", hex, hex);
}

/* The length a gzip file inflates to (its ISIZE trailer), or -1. */
static int64_t
gz_isize(int fd, off_t disk)
{
	uint8_t	b[4];

	if (disk < 18 || pread(fd, b, 4, disk - 4) != 4)
		return -1;
	return (int64_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	    (uint32_t)b[3] << 24);
}

int
store_find(struct store *s, const char *hex, char *rel, struct stat *st)
{
	store_relpath(hex, rel);
	if (fstatat(s->media_fd, rel, st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISREG(st->st_mode) ? 1 : 0;
	if (errno != ENOENT && errno != ENOTDIR)
		return -1;
	store_relpath_gz(hex, rel);
	if (fstatat(s->media_fd, rel, st, AT_SYMLINK_NOFOLLOW) == 0)
		return S_ISREG(st->st_mode) ? 2 : 0;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
}

int
store_open(struct store *s, const char *hex, int *gz, uint64_t *size)
{
	char		 rel[STORE_REL_MAX];
	struct stat	 st;
	int64_t		 n;
	int		 fd, rv;

	if ((rv = store_find(s, hex, rel, &st)) <= 0) {
		if (rv == 0)
			errno = ENOENT;
		return -1;
	}
	if ((fd = openat(s->media_fd, rel, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	*gz = rv == 2;
	*size = (uint64_t)st.st_size;
	if (*gz) {
		if ((n = gz_isize(fd, st.st_size)) < 0) {
			errno = EIO;
			goto fail;
		}
		*size = (uint64_t)n;
	}
	return fd;
fail:
	rv = errno;
	close(fd);
	errno = rv;
	return -1;
}

static int
open_dir(const struct config *cfg, const char *name)
{
	char	 path[CONFIG_PATH_MAX + 16];
	int	 fd;

	config_data_path(cfg, name, path, sizeof(path));
	if (mkdir(cfg->data_dir, 0750) == -1 && errno != EEXIST)
		fatal("%s", cfg->data_dir);
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		fatal("%s", path);
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		fatal("%s", path);
	return fd;
}

/* A partial upload of a previous life: nothing refers to it. */
static void
store_clean_spool(struct store *s)
{
	struct dirent	*de;
	DIR		*dir;
	int		 fd, n = 0;

	if ((fd = dup(s->spool_fd)) == -1 || (dir = fdopendir(fd)) == NULL)
		fatal("spool");
	while ((de = readdir(dir)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(s->spool_fd, de->d_name, 0) == -1)
			log_warn("spool/%s", de->d_name);
		else
			n++;
	}
	closedir(dir);
	if (n > 0)
		log_notice("removed %d unfinished upload(s) from spool/", n);
}

/* Adds up media/xx/<md5>[.gz]: one stat per file, once, at start. */
static void
store_count(struct store *s)
{
	struct dirent	*de, *fe;
	struct stat	 st;
	DIR		*top, *sub;
	int		 fd, subfd;

	s->bytes = s->files = 0;
	if ((fd = dup(s->media_fd)) == -1 || (top = fdopendir(fd)) == NULL)
		fatal("media");
	while ((de = readdir(top)) != NULL) {
		if (strlen(de->d_name) != 2 || strspn(de->d_name, "0123456789abcdef") != 2)
			continue;
		if ((subfd = openat(s->media_fd, de->d_name,
		    O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) == -1)
			continue;
		if ((sub = fdopendir(subfd)) == NULL) {
			close(subfd);
			continue;
		}
		while ((fe = readdir(sub)) != NULL) {
			if (!media_file_name_ok(fe->d_name, NULL) ||
			    strncmp(fe->d_name, de->d_name, 2) != 0 ||
			    fstatat(subfd, fe->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
			    !S_ISREG(st.st_mode))
				continue;
			s->bytes += (uint64_t)st.st_size;
			s->files++;
		}
		closedir(sub);
	}
	closedir(top);
}

void
store_init(struct store *s, const struct config *cfg)
{
	s->media_fd = open_dir(cfg, "media");
	s->spool_fd = open_dir(cfg, "spool");
	s->cache_fd = open_dir(cfg, "cache");
	store_clean_spool(s);
	store_count(s);
	log_info("media: %llu files, %llu bytes",
	    (unsigned long long)s->files, (unsigned long long)s->bytes);
}

int
store_spool_open(struct store *s, char *name)
{
	uint8_t	 rnd[16];
	int	 fd, tries;

	for (tries = 0; tries < 4; tries++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
		media_md5_to_hex(rnd, name);
		memcpy(name + MEDIA_MD5_HEX_LEN, ".tmp", 5);
		fd = openat(s->spool_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
		if (fd != -1 || errno != EEXIST)
			return fd;
	}
	return -1;
}

void
store_spool_discard(struct store *s, char *name)
{
	if (name[0] != '\0' && unlinkat(s->spool_fd, name, 0) == -1 && errno != ENOENT)
		log_warn("spool/%s", name);
	name[0] = '\0';
}

static int
sync_dir(int dirfd, const char *name)
{
	int	 fd, rv;

	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rv = fsync(fd);
	close(fd);
	return rv;
}

int
store_commit(struct store *s, int fd, const char *name, const char *hex, int gz, int *added)
{
	char		 rel[STORE_REL_MAX], sub[3];
	struct stat	 st;
	int		 made = 0, rv;

	*added = 0;
	memcpy(sub, hex, 2);
	sub[2] = '\0';
	/*
	 * Stored already (a retry, or a race with another upload): same bytes.
	 * Its time is renewed: a sweep that found it unknown a moment ago
	 * must not take it now that someone is about to confirm it.
	 */
	if ((rv = store_find(s, hex, rel, &st)) == -1)
		return -1;
	if (rv > 0) {
		if (utimensat(s->media_fd, rel, NULL, AT_SYMLINK_NOFOLLOW) == -1)
			log_warn("media/%s: touch", rel);
		return unlinkat(s->spool_fd, name, 0);
	}
	if (gz)
		store_relpath_gz(hex, rel);
	else
		store_relpath(hex, rel);
	if (fstat(fd, &st) == -1 || fsync(fd) == -1)
		return -1;
	if (mkdirat(s->media_fd, sub, 0750) == 0)
		made = 1;
	else if (errno != EEXIST)
		return -1;
	if (renameat(s->spool_fd, name, s->media_fd, rel) == -1)
		return -1;
	/* The rename must survive a crash, and a new xx/ with it. */
	if (sync_dir(s->media_fd, sub) == -1 || (made && fsync(s->media_fd) == -1))
		log_warn("media/%s: fsync", sub);
	/* The bytes are on disk: they need not stay in the page cache. */
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	s->bytes += (uint64_t)st.st_size;
	s->files++;
	*added = 1;
	return 0;
}

int
store_stat(struct store *s, const uint8_t md5[16], uint64_t *size)
{
	char	 hex[MEDIA_MD5_HEX_LEN + 1];
	int	 fd, gz;

	media_md5_to_hex(md5, hex);
	*size = 0;
	if ((fd = store_open(s, hex, &gz, size)) == -1)
		return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? 0 : -1;
	close(fd);
	return 1;
}

int
store_delete(struct store *s, const uint8_t md5[16], int64_t cutoff, uint64_t *size)
{
	char		 hex[MEDIA_MD5_HEX_LEN + 1], rel[STORE_REL_MAX];
	struct stat	 st;
	int		 rv;

	media_md5_to_hex(md5, hex);
	*size = 0;
	if ((rv = store_find(s, hex, rel, &st)) != 1 && rv != 2)
		return rv;
	if (cutoff >= 0 && (int64_t)st.st_mtime >= cutoff)
		return 2;
	if (unlinkat(s->media_fd, rel, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	*size = (uint64_t)st.st_size;
	s->bytes -= *size < s->bytes ? *size : s->bytes;
	if (s->files > 0)
		s->files--;
	return 1;
}

/*
 * Level 1: this runs in mediad's loop, and on a Pi a 10 MiB SVG at level 6
 * would hold every other client for a second; text still shrinks to a
 * fraction.
 */
#define GZIP_BUF	32768
#define GZIP_LEVEL	1

int
store_gzip(struct store *s, const char *name, uint64_t len, char *gzname)
{
	z_stream	 z;
	uint8_t		*in = NULL, *out = NULL;
	uint64_t	 done = 0;
	ssize_t		 n;
	size_t		 have;
	int		 fd, gfd, flush, zrc = Z_OK, ok = 0;

	if (len < 512 || (fd = openat(s->spool_fd, name, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((gfd = store_spool_open(s, gzname)) == -1) {
		close(fd);
		return -1;
	}
	memset(&z, 0, sizeof(z));
	if ((in = malloc(GZIP_BUF)) == NULL || (out = malloc(GZIP_BUF)) == NULL ||
	    deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		goto done;
	do {
		if ((n = pread(fd, in, GZIP_BUF, (off_t)done)) < 0)
			goto end;
		done += (uint64_t)n;
		flush = n == 0 || done >= len ? Z_FINISH : Z_NO_FLUSH;
		z.next_in = in;
		z.avail_in = (uInt)n;
		do {
			z.next_out = out;
			z.avail_out = GZIP_BUF;
			if ((zrc = deflate(&z, flush)) == Z_STREAM_ERROR)
				goto end;
			have = GZIP_BUF - z.avail_out;
			if (have > 0 && write(gfd, out, have) != (ssize_t)have)
				goto end;
			/* Not worth it: a tenth must be saved. */
			if (z.total_out > len - len / 10)
				goto end;
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	ok = zrc == Z_STREAM_END && done == len;
end:
	deflateEnd(&z);
done:
	free(in);
	free(out);
	close(fd);
	if (ok)
		return gfd;
	close(gfd);
	store_spool_discard(s, gzname);
	return -1;
}
