/*
 * cache.c — GET /v1/cache/object?token= (spec/api.md §6.31, §10): the deck
 * cache archives, read from data_dir/cache/<s3_key>.
 *
 * The key comes from a signed token, but a token may be minted by another
 * program (the website) and keys name files: only a fixed shape is served,
 * "seg/seg/…" of [A-Za-z0-9._-] without empty, "." or ".." segments or a
 * leading dot, opened one directory at a time without following symlinks.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common/http.h"
#include "common/log.h"
#include "mediad/mediad.h"

#define CACHE_KEY_SEGMENTS	8
#define CACHE_SEGMENT_MAX	128

static int
key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

static int
cache_key_ok(const char *key)
{
	const char	*p = key;
	size_t		 seg, nseg = 0;

	for (;;) {
		if (*p == '.' || ++nseg > CACHE_KEY_SEGMENTS)
			return 0;	/* ".", "..", hidden files */
		for (seg = 0; key_char_ok(*p); p++)
			seg++;
		if (seg == 0 || seg > CACHE_SEGMENT_MAX)
			return 0;
		if (*p == '\0')
			return 1;
		if (*p++ != '/')
			return 0;
	}
}

/* Opens a key under cache/, one segment at a time, never through a symlink. */
static int
cache_open(const char *key)
{
	char		 seg[CACHE_SEGMENT_MAX + 1];
	struct stat	 st;
	size_t		 n;
	int		 dirfd = mediad->store.cache_fd, fd;

	for (;;) {
		n = strcspn(key, "/");
		memcpy(seg, key, n);
		seg[n] = '\0';
		if (key[n] == '\0')
			break;
		fd = openat(dirfd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dirfd != mediad->store.cache_fd)
			close(dirfd);
		if (fd == -1)
			return -1;
		dirfd = fd;
		key += n + 1;
	}
	fd = openat(dirfd, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd != mediad->store.cache_fd)
		close(dirfd);
	if (fd != -1 && (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))) {
		close(fd);
		errno = ENOENT;
		return -1;
	}
	return fd;
}

static const char *
cache_type(const struct mediatoken_claims *c)
{
	static const struct {
		const char	*suffix;
		const char	*type;
	} by_suffix[] = {
		{ ".json", "application/json" }, { ".zip", "application/zip" },
		{ ".gz", "application/gzip" },
	};
	const char	*p;
	size_t		 i, n = strlen(c->s3_key), k;

	if (c->has_content_type && c->content_type[0] != '\0') {
		for (p = c->content_type; *p > 0x1f && *p < 0x7f; p++)
			;
		if (*p == '\0')
			return c->content_type;
	}
	for (i = 0; i < sizeof(by_suffix) / sizeof(by_suffix[0]); i++) {
		k = strlen(by_suffix[i].suffix);
		if (n >= k && strcmp(c->s3_key + n - k, by_suffix[i].suffix) == 0)
			return by_suffix[i].type;
	}
	return "application/octet-stream";
}

static void
cache_get(struct http_request *req)
{
	struct mediatoken_claims	 c;
	uint8_t				 mac[MEDIATOKEN_MAC_LEN];
	char				 tok[MEDIATOKEN_MAX + 1];
	int				 fd;

	if (serve_query_token(req, tok, sizeof(tok)) == -1 ||
	    serve_verify(req, tok, MEDIATOKEN_CACHE, &c, mac) == -1)
		return;
	serve_cors(req);
	if (guard_use(&mediad->cache_guard, mac, c.exp, CACHE_OBJECT_USES, time(NULL)) == -1) {
		http_respond_text(req, 401, "Unauthorized");
		return;
	}
	if (!cache_key_ok(c.s3_key)) {
		log_notice("cache: refused key shape: %.64s", c.s3_key);
		http_respond_text(req, 404, "Not found");
		return;
	}
	if ((fd = cache_open(c.s3_key)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			http_respond_text(req, 404, "Not found");
		else {
			log_warn("cache/%s", c.s3_key);
			http_respond_text(req, 500, "Internal error");
		}
		return;
	}
	http_add_header(req, "Cache-Control", "public, max-age=3600");
	serve_file(req, fd, cache_type(&c), NULL);
}

const struct http_route cache_route = {
	.path = "/v1/cache/object",
	.methods = HTTP_GET,
	.on_request = cache_get,
};
