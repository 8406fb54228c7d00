/*
 * media.c — /v1/media/{md5} (spec/api.md §6.29, §6.30).
 *
 * PUT streams the body into a spool file while hashing it, never holding
 * more of it than the HTTP layer's read buffer, and refuses it as soon as it
 * passes the token's file_size. At the end the bytes must be exactly
 * file_size long, hash to the URL's MD5 (and to Content-MD5 if sent) and
 * look like media; only then is the file synced and renamed into media/.
 * Upstream answers 500 when its storage refuses a body for its MD5 or
 * length; these are the client's mistakes, so 400 here (DESIGN.md).
 * Whatever fails, on_free removes the spool file: nothing is left behind.
 *
 * GET/HEAD answer the stored file by sendfile, with Range and ETag.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "common/http.h"
#include "common/log.h"
#include "mediad/mediad.h"

#define UPLOAD_SYNC_EVERY	(1 << 20)	/* start writeback after each MiB */
/*
 * The HTTP layer hands bodies over in pieces of about 4 KiB (libevent's
 * read size): gathering them into 64 KiB writes saves 15 of 16 write()
 * calls, for 64 KiB per upload in flight (2 MiB at 32).
 */
#define UPLOAD_WBUF		(64 * 1024)

#define TEXT_BAD_HASH		"Invalid media hash"
#define TEXT_BAD_SIZE		"Invalid file size"
#define TEXT_TOO_BIG		"File exceeds maximum size"
#define TEXT_EMPTY		"Empty upload body"
#define TEXT_STORE_FAILED	"Failed to store media file. Please try again."

struct upload {
	char		 hex[MEDIA_MD5_HEX_LEN + 1];
	uint8_t		 mac[MEDIATOKEN_MAC_LEN];
	int64_t		 exp;
	int64_t		 size;		/* the token's file_size */
	char		 batch_id[MEDIATOKEN_BATCH_MAX];
	int		 has_batch_id;
	int		 has_md5hdr;
	uint8_t		 md5hdr[16];	/* Content-MD5 */
	EVP_MD_CTX	*md5;
	int		 fd;
	char		 spool[SPOOL_NAME_LEN + 1];
	uint64_t	 got;		/* bytes received */
	uint64_t	 written;	/* bytes in the spool file */
	uint64_t	 synced;	/* bytes handed to writeback */
	size_t		 wlen;		/* bytes waiting in wbuf */
	uint8_t		*wbuf;		/* UPLOAD_WBUF bytes */
	size_t		 headlen;
	uint8_t		 head[SNIFF_HEAD];
	int		 counted;	/* in mediad->puts */
};

static void
media_fail(struct http_request *req, int status, const char *text)
{
	serve_cors(req);
	http_respond_text(req, status, text);
}

/* The path's MD5, or NULL after answering 400. */
static const char *
media_hash(struct http_request *req)
{
	const char	*hex = http_req_path_tail(req);

	if (media_hex_ok(hex, strlen(hex)))
		return hex;
	media_fail(req, 400, TEXT_BAD_HASH);
	return NULL;
}

/* ---- GET / HEAD -------------------------------------------------------------- */

static void
media_get(struct http_request *req)
{
	struct mediatoken_claims	 c;
	uint8_t				 mac[MEDIATOKEN_MAC_LEN];
	char				 tok[MEDIATOKEN_MAX + 1];
	char				 etag[MEDIA_MD5_HEX_LEN + 3];
	const char			*hex;
	uint64_t			 size;
	int				 fd, gz;

	if ((hex = media_hash(req)) == NULL ||
	    serve_query_token(req, tok, sizeof(tok)) == -1 ||
	    serve_verify(req, tok, MEDIATOKEN_DOWNLOAD, &c, mac) == -1)
		return;
	/* Counted before the file is looked at, as upstream does (§6.29). */
	if (strcmp(c.hash, hex) != 0 ||
	    guard_use(&mediad->media_guard, mac, c.exp, MEDIA_DOWNLOAD_USES, time(NULL)) == -1) {
		media_fail(req, 401, "Unauthorized");
		return;
	}
	if ((fd = store_open(&mediad->store, hex, &gz, &size)) == -1) {
		if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP)
			media_fail(req, 404, "File not found");
		else {
			log_warn("media/%s", hex);
			media_fail(req, 500, "Failed to retrieve file");
		}
		return;
	}
	mediad->downloads++;
	serve_cors(req);
	http_add_header(req, "Cache-Control", "public, max-age=31536000, immutable");
	/* The website shows media from this origin: no sniffing, no scripts. */
	http_add_header(req, "X-Content-Type-Options", "nosniff");
	http_add_header(req, "Content-Security-Policy", "default-src 'none'; "
	    "style-src 'unsafe-inline'; sandbox");
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	serve_stored(req, fd, gz, size, serve_mime(c.has_filename ? c.filename : NULL), etag);
}

/* ---- PUT --------------------------------------------------------------------- */

static struct upload *
upload_new(void)
{
	struct upload	*up;

	if ((up = calloc(1, sizeof(*up))) == NULL)
		return NULL;
	up->fd = -1;
	if ((up->md5 = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(up->md5, EVP_md5(), NULL) != 1) {
		EVP_MD_CTX_free(up->md5);
		free(up);
		return NULL;
	}
	return up;
}

static void
upload_free(struct upload *up)
{
	if (up->counted)
		mediad->puts--;
	if (up->fd != -1)
		close(up->fd);
	store_spool_discard(&mediad->store, up->spool);
	EVP_MD_CTX_free(up->md5);
	free(up->wbuf);
	free(up);
}

/* Content-MD5: standard base64 of the 16 digest bytes. -1 if malformed. */
static int
parse_content_md5(const char *v, uint8_t out[16])
{
	uint8_t		 buf[20];
	size_t		 len = strlen(v);

	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	if (len != 24 || strncmp(v + 22, "==", 2) != 0 ||
	    EVP_DecodeBlock(buf, (const unsigned char *)v, 24) != 18)
		return -1;
	memcpy(out, buf, 16);
	return 0;
}

/* The checks of §6.30 steps 1–5 that need no body. 0, or -1 after answering. */
static int
upload_admit(struct http_request *req, struct upload *up)
{
	struct mediatoken_claims	 c;
	char				 tok[MEDIATOKEN_MAX + 1];
	const char			*hex, *hdr;
	int64_t				 clen;

	if ((hex = media_hash(req)) == NULL ||
	    serve_query_token(req, tok, sizeof(tok)) == -1 ||
	    serve_verify(req, tok, MEDIATOKEN_UPLOAD, &c, up->mac) == -1)
		return -1;
	/* A token used up need not send its body to learn it. */
	if (strcmp(c.hash, hex) != 0 ||
	    guard_uses(&mediad->media_guard, up->mac, time(NULL)) >= MEDIA_UPLOAD_USES) {
		media_fail(req, 401, "Unauthorized");
		return -1;
	}
	if (c.file_size <= 0) {
		media_fail(req, 400, TEXT_BAD_SIZE);
		return -1;
	}
	clen = http_req_content_length(req);
	if (c.file_size > MEDIA_FILE_MAX || clen > c.file_size) {
		media_fail(req, 413, TEXT_TOO_BIG);
		return -1;
	}
	if (clen == 0) {
		media_fail(req, 400, TEXT_EMPTY);
		return -1;
	}
	if ((hdr = http_req_header(req, "Content-MD5")) != NULL) {
		if (parse_content_md5(hdr, up->md5hdr) == -1) {
			media_fail(req, 400, "Invalid Content-MD5 header");
			return -1;
		}
		up->has_md5hdr = 1;
	}
	memcpy(up->hex, hex, sizeof(up->hex));
	up->exp = c.exp;
	up->size = c.file_size;
	up->has_batch_id = c.has_batch_id;
	memcpy(up->batch_id, c.batch_id, sizeof(up->batch_id));
	return 0;
}

/* Why to refuse an upload now, or NULL. */
static const char *
upload_shed_reason(void)
{
	uint64_t high = mediad->d.cfg.daemon[DAEMON_MEDIAD].memory_high;

	if (mediad->puts >= MEDIA_PUTS_MAX)
		return "too many uploads at once";
	if (high != 0 && daemon_rss_kb() * 1024 > high)
		return "near the memory limit";
	return NULL;
}

static void
media_put(struct http_request *req)
{
	struct upload	*up;
	const char	*why;

	if ((up = upload_new()) == NULL) {
		media_fail(req, 500, TEXT_STORE_FAILED);
		return;
	}
	http_req_set_data(req, up);
	if (upload_admit(req, up) == -1)
		return;
	if ((why = upload_shed_reason()) != NULL) {
		mediad->shed++;
		log_info("shed: upload of %s refused: %s", up->hex, why);
		http_add_header(req, "Retry-After", MEDIA_RETRY_AFTER);
		media_fail(req, 503, "Server busy, please retry");
		return;
	}
	mediad->puts++;
	up->counted = 1;
	if ((up->wbuf = malloc(UPLOAD_WBUF)) == NULL ||
	    (up->fd = store_spool_open(&mediad->store, up->spool)) == -1) {
		up->spool[0] = '\0';
		log_warn("spool");
		media_fail(req, 500, TEXT_STORE_FAILED);
	}
}

/*
 * Writeback of what was written so far, without waiting for it: the final
 * fsync then has little left to do, and dirty pages (which memory.max
 * counts) stay few while 32 uploads stream in at once.
 */
static void
upload_writeback(struct upload *up)
{
	if (up->written - up->synced < UPLOAD_SYNC_EVERY)
		return;
	sync_file_range(up->fd, (off64_t)up->synced, (off64_t)(up->written - up->synced),
	    SYNC_FILE_RANGE_WRITE);
	up->synced = up->written;
}

static int
upload_write(struct upload *up, const uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(up->fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
		up->written += (uint64_t)n;
	}
	upload_writeback(up);
	return 0;
}

static int
upload_flush(struct upload *up)
{
	size_t	 n = up->wlen;

	up->wlen = 0;
	return upload_write(up, up->wbuf, n);
}

/* Gathers small pieces; a piece as big as the buffer goes straight through. */
static int
upload_buffer(struct upload *up, const uint8_t *p, size_t len)
{
	if (up->wlen + len > UPLOAD_WBUF && upload_flush(up) == -1)
		return -1;
	if (len >= UPLOAD_WBUF)
		return upload_write(up, p, len);
	memcpy(up->wbuf + up->wlen, p, len);
	up->wlen += len;
	return 0;
}

static int
media_body(struct http_request *req, const void *data, size_t len)
{
	struct upload	*up = http_req_data(req);
	size_t		 take;

	if (http_req_method(req) != HTTP_PUT)
		return 0;	/* a GET's body means nothing; its data is no upload */
	if (up == NULL || up->fd == -1)
		return -1;
	/* Refused the moment it passes what the token allows, before reading more. */
	if (up->got + len > (uint64_t)up->size) {
		mediad->rejected++;
		media_fail(req, 413, TEXT_TOO_BIG);
		return -1;
	}
	if (up->headlen < SNIFF_HEAD) {
		take = SNIFF_HEAD - up->headlen < len ? SNIFF_HEAD - up->headlen : len;
		memcpy(up->head + up->headlen, data, take);
		up->headlen += take;
	}
	if (EVP_DigestUpdate(up->md5, data, len) != 1 || upload_buffer(up, data, len) == -1) {
		log_warn("spool/%s", up->spool);
		media_fail(req, 500, TEXT_STORE_FAILED);
		return -1;
	}
	up->got += len;
	return 0;
}

/* The body's bytes (md5 their digest) against the token and headers: NULL, or why not. */
static const char *
upload_verdict(const struct upload *up, const uint8_t md5[16])
{
	char		 hex[MEDIA_MD5_HEX_LEN + 1];

	if (up->got == 0)
		return TEXT_EMPTY;
	if (up->got != (uint64_t)up->size)
		return "Upload length does not match the announced file size";
	media_md5_to_hex(md5, hex);
	if (strcmp(hex, up->hex) != 0)
		return "Upload does not match its MD5 hash";
	if (up->has_md5hdr && memcmp(md5, up->md5hdr, 16) != 0)
		return "Content-MD5 does not match the upload";
	return sniff_media(up->head, up->headlen);
}

static void
upload_answer(struct http_request *req, struct upload *up)
{
	json_object	*o = json_object_new_object();
	const char	*body;

	json_object_object_add(o, "status", json_object_new_string("stored"));
	json_object_object_add(o, "hash", json_object_new_string(up->hex));
	json_object_object_add(o, "media_id", json_object_new_int(0));
	json_object_object_add(o, "batch_id",
	    up->has_batch_id ? json_object_new_string(up->batch_id) : NULL);
	body = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	serve_cors(req);
	http_respond(req, 200, "application/json", body, strlen(body));
	json_object_put(o);
}

static void
media_complete(struct http_request *req)
{
	struct upload	*up = http_req_data(req);
	uint8_t		 md5[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	char		 gzname[SPOOL_NAME_LEN + 1];
	const char	*why;
	int		 added, gfd, rv;

	/* A GET's data is serve.c's inflating stream, not an upload. */
	if (http_req_method(req) != HTTP_PUT || up == NULL || up->fd == -1)
		return;
	if (EVP_DigestFinal_ex(up->md5, md5, &mdlen) != 1 || mdlen != 16 ||
	    upload_flush(up) == -1) {
		log_warn("spool/%s", up->spool);
		media_fail(req, 500, TEXT_STORE_FAILED);
		return;
	}
	if ((why = upload_verdict(up, md5)) != NULL) {
		mediad->rejected++;
		log_info("PUT %s from %s refused: %s", up->hex, http_req_peer(req), why);
		media_fail(req, 400, why);
		return;
	}
	/* Text (SVG) and uncompressed images are kept gzipped when it pays. */
	gfd = -1;
	if (sniff_compressible(up->head, up->headlen))
		gfd = store_gzip(&mediad->store, up->spool, up->got, gzname);
	rv = store_commit(&mediad->store, gfd != -1 ? gfd : up->fd,
	    gfd != -1 ? gzname : up->spool, up->hex, gfd != -1, &added);
	if (gfd != -1) {
		close(gfd);
		if (rv == -1)
			store_spool_discard(&mediad->store, gzname);
	}
	if (rv == -1) {
		log_warn("media/%s: store", up->hex);
		media_fail(req, 500, TEXT_STORE_FAILED);
		return;
	}
	if (gfd != -1)
		store_spool_discard(&mediad->store, up->spool);
	up->spool[0] = '\0';	/* renamed, or dropped as a duplicate */
	/* §6.30 step 7: counted after the store; the 7th use is refused. */
	if (guard_use(&mediad->media_guard, up->mac, up->exp, MEDIA_UPLOAD_USES,
	    time(NULL)) == -1) {
		media_fail(req, 401, "Unauthorized");
		return;
	}
	mediad->uploads++;
	mediad->upload_bytes += up->got;
	log_debug("PUT %s: %llu bytes%s", up->hex, (unsigned long long)up->got,
	    added ? "" : " (stored already)");
	upload_answer(req, up);
}

/* ---- the route --------------------------------------------------------------- */

static void
media_request(struct http_request *req)
{
	switch (http_req_method(req)) {
	case HTTP_PUT:
		media_put(req);
		break;
	case HTTP_OPTIONS:
		serve_cors(req);
		http_add_header(req, "Access-Control-Max-Age", "86400");
		http_respond(req, 204, NULL, NULL, 0);
		break;
	default:
		media_get(req);
		break;
	}
}

static void
media_free(struct http_request *req)
{
	struct upload	*up;

	/* A GET's data is serve.c's inflating stream, a PUT's the upload. */
	if (http_req_method(req) != HTTP_PUT) {
		serve_free(req);
		return;
	}
	if ((up = http_req_data(req)) != NULL)
		upload_free(up);
	http_req_set_data(req, NULL);
}

/*
 * The real limit of a PUT is its token's file_size, checked against
 * Content-Length before any body is read (media_put) and as bytes come
 * (media_body), after the path and token checks as in §6.30, and with its
 * 413 text. So the layer's own limit stays out of the way: nothing is read
 * of a body that no valid token admits.
 */
#define MEDIA_LAYER_MAX_BODY	((size_t)1 << 40)

const struct http_route media_route = {
	.path = "/v1/media/*",
	.methods = HTTP_GET | HTTP_PUT | HTTP_OPTIONS,
	.max_body = MEDIA_LAYER_MAX_BODY,
	.on_request = media_request,
	.on_body = media_body,
	.on_complete = media_complete,
	.on_free = media_free,
};
