/*
 * mediaclient.c — request, wait for the matching reply, over mediad.sock.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hex.h"
#include "common/mediaclient.h"

/* ---- MD5 names ---------------------------------------------------------- */

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;	/* uppercase too: §7.2 rejects it everywhere */
}

int
media_hex_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len != MEDIA_MD5_HEX_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (hexval(s[i]) == -1)
			return 0;
	return 1;
}

int
media_hex_to_md5(const char *hex, uint8_t md5[16])
{
	size_t	 i;

	if (!media_hex_ok(hex, strnlen(hex, MEDIA_MD5_HEX_LEN + 1)))
		return -1;
	for (i = 0; i < 16; i++)
		md5[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
	return 0;
}

void
media_md5_to_hex(const uint8_t md5[16], char out[MEDIA_MD5_HEX_LEN + 1])
{
	hex_encode(md5, 16, out);
}

/* ---- the connection ---------------------------------------------------------- */

void
mediaclient_init(struct mediaclient *mc, const struct config *cfg, int timeout_ms)
{
	mc->fd = -1;
	mc->timeout_ms = timeout_ms;
	mc->next_id = 1;
	config_runtime_path(cfg, "mediad.sock", mc->path, sizeof(mc->path));
	proto_reader_init(&mc->r);
}

void
mediaclient_close(struct mediaclient *mc)
{
	if (mc->fd != -1)
		close(mc->fd);
	mc->fd = -1;
	proto_reader_clear(&mc->r);
}

/*
 * A blocking connect() to a listener whose backlog is full waits for ever:
 * try non-blocking ones until the timeout instead.
 */
static int
mediaclient_connect(struct mediaclient *mc)
{
	struct sockaddr_un	 sun;
	int64_t			 deadline = (int64_t)mono_ms() + mc->timeout_ms;
	int			 fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(mc->path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, mc->path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno != EAGAIN || (int64_t)mono_ms() >= deadline) {
			saved = errno == EAGAIN ? ETIMEDOUT : errno;
			close(fd);
			errno = saved;
			return -1;
		}
		poll(NULL, 0, 10);
	}
	/* Requests are a few KiB on a socket buffer of hundreds: writes do not block. */
	if (fcntl(fd, F_SETFL, 0) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	mc->fd = fd;
	proto_reader_init(&mc->r);
	return 0;
}

/* One request, its reply (of type want) in *reply. 0, or -1 with errno; closes on failure. */
static int
mediaclient_call(struct mediaclient *mc, uint16_t type, const void *data, size_t len,
    uint16_t want, struct proto_msg *reply)
{
	uint32_t	 id;
	int		 rv, saved;

	if (mc->fd == -1 && mediaclient_connect(mc) == -1)
		return -1;
	id = mc->next_id++;
	if (proto_write_msg(mc->fd, type, id, -1, data, len) == -1)
		goto fail;
	if ((rv = proto_read_msg(mc->fd, &mc->r, reply, mc->timeout_ms)) != 1) {
		if (rv == 0)
			errno = ECONNRESET;
		goto fail;
	}
	if (reply->hdr.type != want || reply->hdr.id != id) {
		errno = EBADMSG;
		goto fail;
	}
	return 0;
fail:
	saved = errno;
	mediaclient_close(mc);
	errno = saved;
	return -1;
}

/* Up to PROTO_MEDIA_BATCH hashes as raw digests. */
static int
pack_hashes(const char *const *hashes, size_t n, uint8_t *out)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (media_hex_to_md5(hashes[i], out + i * PROTO_MD5_LEN) == -1) {
			errno = EINVAL;
			return -1;
		}
	return 0;
}

int
mediaclient_stat(struct mediaclient *mc, const char *const *hashes, size_t n,
    struct mediaclient_stat *out)
{
	uint8_t			 req[PROTO_MEDIA_HASHES_MAX];
	struct proto_media_stat	 st[PROTO_MEDIA_BATCH];
	struct proto_msg	 reply;
	size_t			 off, k, got, i;

	for (off = 0; off < n; off += k) {
		k = n - off < PROTO_MEDIA_BATCH ? n - off : PROTO_MEDIA_BATCH;
		if (pack_hashes(hashes + off, k, req) == -1 ||
		    mediaclient_call(mc, PROTO_MEDIA_STAT, req, k * PROTO_MD5_LEN,
		    PROTO_MEDIA_STAT_REPLY, &reply) == -1)
			return -1;
		if (proto_media_stat_dec(&reply, st, &got) == -1 || got != k) {
			mediaclient_close(mc);
			errno = EBADMSG;
			return -1;
		}
		for (i = 0; i < k; i++) {
			if (memcmp(st[i].md5, req + i * PROTO_MD5_LEN, PROTO_MD5_LEN) != 0) {
				mediaclient_close(mc);
				errno = EBADMSG;
				return -1;
			}
			out[off + i].present = (st[i].flags & PROTO_MEDIA_PRESENT) != 0;
			out[off + i].error = (st[i].flags & PROTO_MEDIA_ERROR) != 0;
			out[off + i].size = st[i].size;
		}
	}
	return 0;
}

/* MEDIA_DELETE, or with cutoff >= 0 MEDIA_DELETE_OLD; out sums the replies. */
static int
delete_files(struct mediaclient *mc, const char *const *hashes, size_t n, int64_t cutoff,
    struct proto_media_deleted *out)
{
	uint8_t				 md5[PROTO_MEDIA_BATCH][PROTO_MD5_LEN];
	uint8_t				 req[PROTO_MD5_LEN + PROTO_MEDIA_HASHES_MAX];
	struct proto_media_deleted	 d;
	struct proto_msg		 reply;
	size_t				 off, k, len;

	memset(out, 0, sizeof(*out));
	for (off = 0; off < n; off += k) {
		k = n - off < PROTO_MEDIA_BATCH ? n - off : PROTO_MEDIA_BATCH;
		if (pack_hashes(hashes + off, k, &md5[0][0]) == -1)
			return -1;
		if (cutoff >= 0)
			len = proto_media_delete_old_enc(cutoff,
			    (const uint8_t (*)[PROTO_MD5_LEN])md5, k, req);
		else
			len = proto_md5s_enc((const uint8_t (*)[PROTO_MD5_LEN])md5, k, req);
		if (mediaclient_call(mc, cutoff >= 0 ? PROTO_MEDIA_DELETE_OLD :
		    PROTO_MEDIA_DELETE, req, len, PROTO_MEDIA_DELETE_REPLY, &reply) == -1)
			return -1;
		if (proto_media_deleted_dec(&reply, &d) == -1) {
			mediaclient_close(mc);
			errno = EBADMSG;
			return -1;
		}
		out->deleted += d.deleted;
		out->failed += d.failed;
		out->bytes += d.bytes;
	}
	return 0;
}

int
mediaclient_delete(struct mediaclient *mc, const char *const *hashes, size_t n,
    struct proto_media_deleted *out)
{
	return delete_files(mc, hashes, n, -1, out);
}

int
mediaclient_delete_old(struct mediaclient *mc, const char *const *hashes, size_t n,
    int64_t cutoff, struct proto_media_deleted *out)
{
	if (cutoff < 0) {
		errno = EINVAL;
		return -1;
	}
	return delete_files(mc, hashes, n, cutoff, out);
}

int
mediaclient_usage(struct mediaclient *mc, struct proto_media_usage *out)
{
	struct proto_msg	 reply;

	if (mediaclient_call(mc, PROTO_MEDIA_USAGE, NULL, 0, PROTO_MEDIA_USAGE_REPLY,
	    &reply) == -1)
		return -1;
	if (proto_media_usage_dec(&reply, out) == -1) {
		mediaclient_close(mc);
		errno = EBADMSG;
		return -1;
	}
	return 0;
}

int
media_file_name_ok(const char *name, int *gz)
{
	size_t	len = strlen(name), n = len;

	if (n == MEDIA_MD5_HEX_LEN + 3 && strcmp(name + MEDIA_MD5_HEX_LEN, ".gz") == 0)
		n = MEDIA_MD5_HEX_LEN;
	if (gz != NULL)
		*gz = n != len;
	return n == MEDIA_MD5_HEX_LEN && media_hex_ok(name, n);
}
