/*
 * store.c — the media folder: data_dir/media/<md5[0:2]>/<md5>, written
 * under data_dir/spool/ and renamed into place once whole and synced, so
 * media/ only ever holds complete, verified files. Whatever a crash leaves
 * in spool/ is deleted at the next start.
 *
 * All paths are relative to directory fds opened once at start.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/log.h"
#include "common/mediaclient.h"
#include "mediad/mediad.h"

void
store_relpath(const char *hex, char *out)
{
	snprintf(out, MEDIA_MD5_HEX_LEN + 4, "%.2s/%.32s", hex, hex);
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

/* Adds up media/xx/<md5>: one stat per file, once, at start. */
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
			if (!media_hex_ok(fe->d_name, strlen(fe->d_name)) ||
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
store_commit(struct store *s, int fd, const char *name, const char *hex, off_t size,
    int *added)
{
	char		 rel[MEDIA_MD5_HEX_LEN + 4], sub[3];
	struct stat	 st;
	int		 made = 0;

	*added = 0;
	memcpy(sub, hex, 2);
	sub[2] = '\0';
	store_relpath(hex, rel);
	/* Stored already (a retry, or a race with another upload): same bytes. */
	if (fstatat(s->media_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return unlinkat(s->spool_fd, name, 0);
	if (fsync(fd) == -1)
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
	s->bytes += (uint64_t)size;
	s->files++;
	*added = 1;
	return 0;
}

int
store_stat(struct store *s, const uint8_t md5[16], uint64_t *size)
{
	char		 hex[MEDIA_MD5_HEX_LEN + 1], rel[MEDIA_MD5_HEX_LEN + 4];
	struct stat	 st;

	media_md5_to_hex(md5, hex);
	store_relpath(hex, rel);
	*size = 0;
	if (fstatat(s->media_fd, rel, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	if (!S_ISREG(st.st_mode))
		return 0;
	*size = (uint64_t)st.st_size;
	return 1;
}

int
store_delete(struct store *s, const uint8_t md5[16], uint64_t *size)
{
	char	 hex[MEDIA_MD5_HEX_LEN + 1], rel[MEDIA_MD5_HEX_LEN + 4];
	int	 rv;

	if ((rv = store_stat(s, md5, size)) != 1)
		return rv;
	media_md5_to_hex(md5, hex);
	store_relpath(hex, rel);
	if (unlinkat(s->media_fd, rel, 0) == -1)
		return errno == ENOENT ? 0 : -1;
	s->bytes -= *size < s->bytes ? *size : s->bytes;
	if (s->files > 0)
		s->files--;
	return 1;
}
