/*
 * serve.c — what /v1/media and /v1/cache share: the "?token=" query with
 * upstream's exact rejections, token checks, CORS, and answering with a
 * file by sendfile, whole or a byte range.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include "common/hex.h"
#include "common/http.h"
#include "common/log.h"
#include "mediad/mediad.h"

#define QUERY_ERR_PREFIX	"Failed to deserialize query string: "
#define QUERY_KEY_SHOWN		64	/* bytes of an unknown key quoted back */

/* ---- the query string ------------------------------------------------------- */


/*
 * application/x-www-form-urlencoded decoding, as serde_urlencoded does it:
 * '+' is a space, "%XY" a byte, a '%' without two hex digits stays as is.
 * Returns the decoded length; bytes beyond outlen - 1 are counted, not kept.
 */
static size_t
form_decode(const char *in, size_t len, char *out, size_t outlen)
{
	size_t	 i, n = 0;
	int	 c, hi, lo;

	for (i = 0; i < len; i++, n++) {
		c = (unsigned char)in[i];
		if (c == '+')
			c = ' ';
		else if (c == '%' && i + 2 < len &&
		    (hi = hex_digit((unsigned char)in[i + 1])) != -1 &&
		    (lo = hex_digit((unsigned char)in[i + 2])) != -1) {
			c = hi << 4 | lo;
			i += 2;
		}
		if (n + 1 < outlen)
			out[n] = (char)c;
	}
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

static void
query_fail(struct http_request *req, const char *what, const char *key)
{
	char	 body[sizeof(QUERY_ERR_PREFIX) + QUERY_KEY_SHOWN + 64];

	if (key != NULL)
		snprintf(body, sizeof(body), "%sunknown field `%s`, expected `token`",
		    QUERY_ERR_PREFIX, key);
	else
		snprintf(body, sizeof(body), "%s%s", QUERY_ERR_PREFIX, what);
	serve_cors(req);
	http_respond_text(req, 400, body);
}

int
serve_query_token(struct http_request *req, char *tok, size_t toklen)
{
	const char	*q = http_req_query(req), *amp, *eq;
	char		 key[QUERY_KEY_SHOWN + 1];
	size_t		 plen, n, klen;
	int		 seen = 0;

	tok[0] = '\0';
	for (; *q != '\0'; q = *amp != '\0' ? amp + 1 : amp) {
		amp = q + strcspn(q, "&");
		if ((plen = (size_t)(amp - q)) == 0)
			continue;	/* "a&&b" */
		eq = memchr(q, '=', plen);
		klen = form_decode(q, eq != NULL ? (size_t)(eq - q) : plen, key, sizeof(key));
		if (klen != 5 || strcmp(key, "token") != 0) {
			query_fail(req, NULL, key);
			return -1;
		}
		if (seen++) {
			query_fail(req, "duplicate field `token`", NULL);
			return -1;
		}
		if (eq == NULL)
			continue;	/* "token": an empty value */
		n = form_decode(eq + 1, (size_t)(amp - eq - 1), tok, toklen);
		/* Too long, or a NUL inside ("%00"): not a token, and fails as one. */
		if (n >= toklen || strlen(tok) != n)
			tok[0] = '\0';
	}
	if (!seen) {
		query_fail(req, "missing field `token`", NULL);
		return -1;
	}
	return 0;
}

/* ---- tokens ------------------------------------------------------------------- */

int
serve_verify(struct http_request *req, const char *tok, enum mediatoken_kind want,
    struct mediatoken_claims *c, uint8_t mac[MEDIATOKEN_MAC_LEN])
{
	const struct config	*cfg = &mediad->d.cfg;
	const char		*secret;
	enum mediatoken_err	 err;

	secret = want == MEDIATOKEN_CACHE ? cfg->cache_token_secret : cfg->media_token_secret;
	if (strlen(secret) < MEDIATOKEN_SECRET_MIN) {
		log_warnx("token secret shorter than %d bytes: refusing tokens",
		    MEDIATOKEN_SECRET_MIN);
		err = MEDIATOKEN_EMAC;
	} else
		err = mediatoken_verify(tok, strlen(tok), secret, strlen(secret), want,
		    time(NULL), c, mac);
	if (err == MEDIATOKEN_OK)
		return 0;
	log_debug("%s %s: token %s", http_req_method_name(req), http_req_path(req),
	    mediatoken_strerror(err));
	serve_cors(req);
	http_respond_text(req, 401, "Unauthorized");
	return -1;
}

void
serve_cors(struct http_request *req)
{
	http_add_header(req, "Access-Control-Allow-Origin", "*");
	/* The routes are copied into main's table: compare by path. */
	if (strcmp(http_req_route(req)->path, media_route.path) == 0) {
		http_add_header(req, "Access-Control-Allow-Methods", "GET, PUT, OPTIONS");
		http_add_header(req, "Access-Control-Allow-Headers", "Content-Type, Authorization");
	}
}

/* ---- files ---------------------------------------------------------------------- */

/* A decimal offset; -1 if none or too big. Moves *p past it. */
static int64_t
range_num(const char **p)
{
	int64_t	 v = 0;

	if (!isdigit((unsigned char)**p))
		return -1;
	for (; isdigit((unsigned char)**p); (*p)++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

enum { RANGE_NONE, RANGE_OK, RANGE_UNSATISFIABLE };

static int
blank(const char *p)
{
	return p[strspn(p, " \t")] == '\0';
}

/*
 * One "bytes=a-b", "bytes=a-" or "bytes=-n" range (RFC 7233). Anything else,
 * several ranges included, is ignored and the whole file is sent, as the
 * RFC allows.
 */
static int
range_parse(const char *h, int64_t size, int64_t *first, int64_t *last)
{
	const char	*p = h;
	int64_t		 a, b;

	if (strncasecmp(p, "bytes", 5) != 0)
		return RANGE_NONE;
	for (p += 5; *p == ' ' || *p == '\t'; p++)
		;
	if (*p++ != '=')
		return RANGE_NONE;
	for (; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '-') {
		p++;
		if ((b = range_num(&p)) == -1)
			return RANGE_NONE;
		a = b >= size ? 0 : size - b;
		b = size - 1;
		if (!blank(p))
			return RANGE_NONE;
		if (size == 0 || a > b)
			return RANGE_UNSATISFIABLE;	/* "-0" or an empty file */
	} else {
		if ((a = range_num(&p)) == -1 || *p++ != '-')
			return RANGE_NONE;
		b = INT64_MAX;	/* "a-": to the end */
		if (isdigit((unsigned char)*p) && ((b = range_num(&p)) == -1 || b < a))
			return RANGE_NONE;
		if (!blank(p))
			return RANGE_NONE;
		if (a >= size)
			return RANGE_UNSATISFIABLE;
		if (b >= size)
			b = size - 1;
	}
	*first = a;
	*last = b;
	return RANGE_OK;
}

/* If-None-Match: a list of entity tags, or "*". */
static int
etag_matches(const char *inm, const char *etag)
{
	const char	*p;
	size_t		 n = strlen(etag);

	if (strchr(inm, '*') != NULL && inm[strspn(inm, " \t*")] == '\0')
		return 1;
	for (p = inm; (p = strstr(p, etag)) != NULL; p += n)
		if ((p == inm || strchr(" \t,/", p[-1]) != NULL) &&
		    strchr(" \t,", p[n]) != NULL)
			return 1;
	return 0;
}

/*
 * A gzipped file answered as its original bytes: inflated a piece at a time
 * as the client drains what was sent, so a slow client costs one buffer,
 * not the file (about 80 KiB with zlib's state and window, and at most
 * GZ_LOW + GZ_PIECE queued). A range skips by inflating up to its start.
 */
#define GZ_PIECE	16384
#define GZ_LOW		(32u << 10)
#define GZ_INBUF	8192	/* zlib's read buffer (its output one is twice that) */

struct gz_out {
	gzFile		 gz;
	uint64_t	 skip;		/* bytes before the range */
	uint64_t	 left;		/* bytes of the range still to send */
	uint8_t		 buf[GZ_PIECE];
};

static void
gz_out_free(struct gz_out *g)
{
	if (g->gz != NULL)
		gzclose_r(g->gz);
	free(g);
}

static void
gz_out_fail(struct http_request *req, struct gz_out *g, const char *why)
{
	log_warnx("%s: %s", http_req_path(req), why);
	http_set_drain_cb(req, NULL, 0);
	http_req_set_data(req, NULL);
	gz_out_free(g);
	/* The head is out: only a short body can tell the client. */
	http_respond_end(req);
}

static void
gz_out_more(struct http_request *req)
{
	struct gz_out	*g = http_req_data(req);
	int		 n;
	size_t		 want;

	if (g == NULL)
		return;
	while (g->skip > 0) {
		want = g->skip < GZ_PIECE ? (size_t)g->skip : GZ_PIECE;
		if ((n = gzread(g->gz, g->buf, (unsigned)want)) <= 0) {
			gz_out_fail(req, g, "inflate: the stored file ends early");
			return;
		}
		g->skip -= (uint64_t)n;
	}
	while (g->left > 0 && http_output_pending(req) <= GZ_LOW) {
		want = g->left < GZ_PIECE ? (size_t)g->left : GZ_PIECE;
		if ((n = gzread(g->gz, g->buf, (unsigned)want)) <= 0) {
			gz_out_fail(req, g, "inflate: the stored file ends early");
			return;
		}
		http_respond_chunk(req, g->buf, (size_t)n);
		g->left -= (uint64_t)n;
	}
	if (g->left > 0)
		return;		/* the drain callback calls again */
	http_set_drain_cb(req, NULL, 0);
	http_req_set_data(req, NULL);
	gz_out_free(g);
	http_respond_end(req);
}

/* Frees a stream the client left before it ended. */
void
serve_free(struct http_request *req)
{
	struct gz_out	*g = http_req_data(req);

	if (g != NULL)
		gz_out_free(g);
	http_req_set_data(req, NULL);
}

static void
serve_gz(struct http_request *req, int fd, int status, const char *ctype, uint64_t first,
    uint64_t len)
{
	struct gz_out	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL || (g->gz = gzdopen(fd, "rb")) == NULL) {
		free(g);
		close(fd);
		http_respond_text(req, 500, "Failed to retrieve file");
		return;
	}
	gzbuffer(g->gz, GZ_INBUF);
	g->skip = first;
	g->left = len;
	if (http_respond_start_length(req, status, ctype, (int64_t)len) == -1) {
		gz_out_free(g);
		return;
	}
	if (http_req_method(req) == HTTP_HEAD || len == 0) {
		gz_out_free(g);
		http_respond_end(req);
		return;
	}
	http_req_set_data(req, g);
	http_set_drain_cb(req, gz_out_more, GZ_LOW);
}

void
serve_file(struct http_request *req, int fd, const char *ctype, const char *etag)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1) {
		close(fd);
		http_respond_text(req, 500, "Failed to retrieve file");
		return;
	}
	serve_stored(req, fd, 0, (uint64_t)st.st_size, ctype, etag);
}

void
serve_stored(struct http_request *req, int fd, int gz, uint64_t size, const char *ctype,
    const char *etag)
{
	const char	*range, *ifr, *inm;
	int64_t		 first = 0, last = -1;
	char		 cr[96];
	int		 r = RANGE_NONE;

	http_add_header(req, "Accept-Ranges", "bytes");
	if (etag != NULL)
		http_add_header(req, "ETag", etag);
	if (etag != NULL && (inm = http_req_header(req, "If-None-Match")) != NULL &&
	    etag_matches(inm, etag)) {
		close(fd);
		http_respond(req, 304, NULL, NULL, 0);
		return;
	}
	/* A range of another version than ours makes no sense: send it whole. */
	ifr = http_req_header(req, "If-Range");
	if ((range = http_req_header(req, "Range")) != NULL &&
	    (ifr == NULL || (etag != NULL && strcmp(ifr, etag) == 0)))
		r = range_parse(range, (int64_t)size, &first, &last);
	if (r == RANGE_UNSATISFIABLE) {
		close(fd);
		snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
		http_add_header(req, "Content-Range", cr);
		http_respond_text(req, 416, "Range Not Satisfiable");
		return;
	}
	if (r == RANGE_OK) {
		snprintf(cr, sizeof(cr), "bytes %lld-%lld/%llu", (long long)first,
		    (long long)last, (unsigned long long)size);
		http_add_header(req, "Content-Range", cr);
		if (gz)
			serve_gz(req, fd, 206, ctype, (uint64_t)first,
			    (uint64_t)(last - first + 1));
		else
			http_respond_file(req, 206, ctype, fd, (off_t)first,
			    (off_t)(last - first + 1));
		return;
	}
	if (gz)
		serve_gz(req, fd, 200, ctype, 0, size);
	else
		http_respond_file(req, 200, ctype, fd, 0, (off_t)size);
}

/* ---- names ------------------------------------------------------------------------ */

const char *
serve_mime(const char *filename)
{
	static const struct {
		const char	*ext;
		const char	*mime;
	} types[] = {
		{ "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" }, { "png", "image/png" },
		{ "gif", "image/gif" }, { "webp", "image/webp" }, { "svg", "image/svg+xml" },
		{ "bmp", "image/bmp" }, { "tif", "image/tiff" }, { "tiff", "image/tiff" },
		{ "mp3", "audio/mpeg" }, { "ogg", "audio/ogg" }, { "oga", "audio/ogg" },
	};
	const char	*dot;
	size_t		 i;

	if (filename == NULL || (dot = strrchr(filename, '.')) == NULL)
		return "application/octet-stream";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].mime;
	return "application/octet-stream";
}
