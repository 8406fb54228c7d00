/*
 * mediad.h — the media daemon: its context and its areas.
 *
 *	main.c		start-up: storage, routes, the proto service, the loop
 *	store.c		data_dir/media, spool and cache: paths, commit, usage
 *	sniff.c		is this upload image or audio? (magic bytes)
 *	guard.c		replay guards: bounded token → uses maps (§8.4)
 *	serve.c		what the routes share: ?token=, CORS, files with Range
 *	media.c		GET/HEAD/PUT/OPTIONS /v1/media/{md5}
 *	cache.c		GET/HEAD /v1/cache/object
 *	service.c	MEDIA_STAT/DELETE/USAGE over runtime_dir/mediad.sock
 *	health.c	GET /health
 */
#ifndef ANKICOLLAB_MEDIAD_H
#define ANKICOLLAB_MEDIAD_H

#include <sys/types.h>
#include <sys/stat.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/daemon.h"
#include "common/mediaclient.h"
#include "common/mediatoken.h"

struct http_request;
struct http_route;

#define MEDIA_FILE_MAX		10485760	/* bytes, §7.3 */
#define MEDIA_DOWNLOAD_USES	3		/* §8.4 */
#define MEDIA_UPLOAD_USES	6
#define CACHE_OBJECT_USES	3
/*
 * Load shedding: past this many uploads at once, or past memory_high, a PUT
 * with a valid token gets 503 with Retry-After (the add-on retries it).
 */
#define MEDIA_PUTS_MAX		64
#define MEDIA_RETRY_AFTER	"5"

/* ---- guard.c ----------------------------------------------------------------- */

#define GUARD_KEY_LEN	12	/* leading bytes of a token's MAC */

struct guard_entry {
	uint8_t		key[GUARD_KEY_LEN];
	uint32_t	uses;		/* 0: a free slot */
	int64_t		exp;
};

/*
 * An open-addressing table of at most max entries, grown on demand. Full,
 * it drops expired entries, then the one closest to expiry (see guard.c).
 */
struct guard {
	struct guard_entry	*slot;
	size_t			 nslots;	/* a power of two, or 0 */
	size_t			 count;
	size_t			 max;
	int64_t			 min_exp;	/* no entry expires before this */
	time_t			 purged;	/* last purge, to do it once a second */
	uint64_t		 evicted;	/* live entries dropped at the cap */
	time_t			 warned;	/* last log line about it */
};

void		guard_init(struct guard *g, size_t max);
/* Uses recorded for the token (0 if unknown). */
uint32_t	guard_uses(struct guard *g, const uint8_t *mac, time_t now);
/* Counts one more use, unless max were made: then -1. */
int		guard_use(struct guard *g, const uint8_t *mac, int64_t exp, uint32_t max,
		    time_t now);

/* ---- store.c ----------------------------------------------------------------- */

struct store {
	int		media_fd;	/* data_dir/media */
	int		spool_fd;	/* data_dir/spool */
	int		cache_fd;	/* data_dir/cache */
	uint64_t	bytes;		/* stored under media/ */
	uint64_t	files;
};

/* Opens (making them) the three directories, empties spool/, counts media/. */
void	store_init(struct store *s, const struct config *cfg);
/* "ab/ab…" for a lowercase hex hash; out has MEDIA_MD5_HEX_LEN + 4 bytes. */
void	store_relpath(const char *hex, char *out);
/* A new spool file: its fd, and its name in name (SPOOL_NAME_LEN + 1). -1 on error. */
#define SPOOL_NAME_LEN	36	/* 32 hex digits + ".tmp" */
int	store_spool_open(struct store *s, char *name);
void	store_spool_discard(struct store *s, char *name);
/*
 * fsyncs the spool file and renames it into media/ under hex (hex.gz when
 * gz: the spool file holds the gzipped bytes), syncing the directories.
 * *added is 1 if the file is new, 0 if it was stored already (the spool
 * file is then dropped and the stored one's time renewed). 0, or -1 with errno.
 */
#define STORE_REL_MAX	(MEDIA_MD5_HEX_LEN + 8)	/* "ab/<md5>.gz" */
int	store_commit(struct store *s, int fd, const char *name, const char *hex, int gz,
	    int *added);
/* Where hex is: 1 plain, 2 gzipped (rel names it), 0 absent, -1 error. */
int	store_find(struct store *s, const char *hex, char *rel, struct stat *st);
/* Opens hex: an fd, *gz, and the original length in *size; -1 (ENOENT: absent). */
int	store_open(struct store *s, const char *hex, int *gz, uint64_t *size);
/* Looks a stored file up: 1 with its (original) size, 0 if absent, -1 on error. */
int	store_stat(struct store *s, const uint8_t md5[16], uint64_t *size);
/*
 * Removes a stored file: 1 with its size on disk, 0 if absent, -1 on error;
 * 2 (kept) when cutoff >= 0 and the file was written at or after it.
 */
int	store_delete(struct store *s, const uint8_t md5[16], int64_t cutoff, uint64_t *size);
/*
 * Gzips the spool file name (len bytes) into a new spool file when that
 * saves at least a tenth: its fd, its name in gzname. -1 when not worth it
 * or on error (the original stays).
 */
int	store_gzip(struct store *s, const char *name, uint64_t len, char *gzname);

/* ---- sniff.c ----------------------------------------------------------------- */

#define SNIFF_HEAD	8192	/* bytes of a file's start that decide */

/* NULL if head is recognisable media (§7.5), else why not, for a 400. */
const char	*sniff_media(const uint8_t *head, size_t len);
/* 1 if media with this head compress well (SVG and other text, BMP, TIFF). */
int		 sniff_compressible(const uint8_t *head, size_t len);

/* ---- serve.c ----------------------------------------------------------------- */

/*
 * The query of a /v1 route, which takes "token" and nothing else. 0 with the
 * decoded token in tok (empty if longer than MEDIATOKEN_MAX); otherwise -1
 * after answering 400 "Failed to deserialize query string: …".
 */
int	serve_query_token(struct http_request *req, char *tok, size_t toklen);
/*
 * Verifies a token from serve_query_token with the right secret. 0, or -1
 * after answering 401 "Unauthorized" (and logging why at debug level).
 */
int	serve_verify(struct http_request *req, const char *tok, enum mediatoken_kind want,
	    struct mediatoken_claims *c, uint8_t mac[MEDIATOKEN_MAC_LEN]);
/* §6.29's CORS headers. */
void	serve_cors(struct http_request *req);
/*
 * Answers GET/HEAD with the file open on fd (taken): Range (206/416),
 * If-None-Match against etag (NULL: none), Content-Type ctype.
 */
void	serve_file(struct http_request *req, int fd, const char *ctype, const char *etag);
/*
 * The same for a stored media file of size original bytes; gz: the file is
 * gzipped and is inflated as it is sent. The route's on_free must call
 * serve_free (the stream lives in the request's data).
 */
void	serve_stored(struct http_request *req, int fd, int gz, uint64_t size,
	    const char *ctype, const char *etag);
void	serve_free(struct http_request *req);
/* The MIME type of a file name by its extension (§7.3). */
const char	*serve_mime(const char *filename);

/* ---- the daemon -------------------------------------------------------------- */

struct mediad {
	struct daemon		 d;
	time_t			 started;
	struct store		 store;
	struct guard		 media_guard;	/* upload and download tokens */
	struct guard		 cache_guard;
	/* Counters since start, for MEDIA_USAGE. */
	uint64_t		 uploads;
	uint64_t		 upload_bytes;
	uint64_t		 downloads;
	uint64_t		 rejected;
	unsigned		 puts;		/* uploads being received now */
	uint64_t		 shed;		/* PUTs refused with 503 */
};

extern struct mediad	*mediad;

extern const struct http_route	health_route;	/* health.c */
extern const struct http_route	media_route;	/* media.c */
extern const struct http_route	cache_route;	/* cache.c */

/* service.c: listens on runtime_dir/mediad.sock. Exits on failure. */
void	service_init(struct mediad *m);

#endif
