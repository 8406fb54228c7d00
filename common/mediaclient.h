/*
 * mediaclient.h — a blocking client of mediad's service (mediad.sock), for
 * apid and gcd: which media files are stored and how big (MEDIA_STAT),
 * delete files (MEDIA_DELETE), how much is stored (MEDIA_USAGE).
 *
 * Each call waits at most timeout_ms for each reply. The connection is made
 * on first use and kept; after any failure it is closed, and the next call
 * connects again, so a restarted mediad is found without help. A caller in
 * an event loop should keep timeouts short (mediad answers from memory and
 * stat(), typically well under a millisecond per batch).
 *
 *	static struct mediaclient mc;
 *
 *	mediaclient_init(&mc, &cfg, 2000);
 *	if (mediaclient_stat(&mc, hashes, n, st) == -1)
 *		→ mediad away (errno ENOENT, ECONNREFUSED, ETIMEDOUT, …): 503
 *	...
 *	mediaclient_close(&mc);
 */
#ifndef ANKICOLLAB_MEDIACLIENT_H
#define ANKICOLLAB_MEDIACLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "proto/msg.h"
#include "proto/proto.h"

#define MEDIA_MD5_HEX_LEN	32

struct mediaclient {
	int			fd;		/* -1: not connected */
	int			timeout_ms;
	uint32_t		next_id;
	char			path[CONFIG_PATH_MAX + 16];
	struct proto_reader	r;
};

/* What MEDIA_STAT says of one file. */
struct mediaclient_stat {
	int		present;	/* 1: stored */
	int		error;		/* 1: mediad could not look (treat as unknown) */
	uint64_t	size;		/* bytes, when present */
};

/* No connection yet: the first call makes it. */
void	mediaclient_init(struct mediaclient *mc, const struct config *cfg, int timeout_ms);
void	mediaclient_close(struct mediaclient *mc);

/*
 * hashes: n lowercase hex MD5s (any n; sent PROTO_MEDIA_BATCH at a time).
 * out[i] answers hashes[i]. 0, or -1 with errno (EINVAL for a bad hash).
 */
int	mediaclient_stat(struct mediaclient *mc, const char *const *hashes, size_t n,
	    struct mediaclient_stat *out);
/* Deletes those files; out sums the replies. 0, or -1 with errno. */
int	mediaclient_delete(struct mediaclient *mc, const char *const *hashes, size_t n,
	    struct proto_media_deleted *out);
/*
 * The same, but mediad keeps a file written (or uploaded again) at or after
 * cutoff (unix seconds): for sweeps that chose the files from an older look.
 */
int	mediaclient_delete_old(struct mediaclient *mc, const char *const *hashes, size_t n,
	    int64_t cutoff, struct proto_media_deleted *out);
int	mediaclient_usage(struct mediaclient *mc, struct proto_media_usage *out);

/* MD5 names, shared with mediad: 32 lowercase hex digits ↔ 16 bytes. */
int	media_hex_ok(const char *s, size_t len);
int	media_hex_to_md5(const char *hex, uint8_t md5[16]);	/* 0 or -1 */
void	media_md5_to_hex(const uint8_t md5[16], char out[MEDIA_MD5_HEX_LEN + 1]);
/* A stored file's name in media/xx/: "<md5>" or "<md5>.gz" (gzipped; *gz says which). */
int	media_file_name_ok(const char *name, int *gz);

#endif
