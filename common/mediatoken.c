/*
 * mediatoken.c — minting and verifying §8 tokens.
 *
 * The payload is written by hand rather than by json-c because its bytes
 * are signed and must match upstream's serde_json output exactly: key order,
 * no spaces, '/' and non-ASCII left alone. Parsing uses json-c, strictly,
 * but only after the MAC has vouched for the bytes.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/mediatoken.h"

#define MEDIATOKEN_PAYLOAD_MAX	(MEDIATOKEN_MAX / 4 * 3)
#define MEDIATOKEN_MAC_B64	43	/* 32 bytes without padding */

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* ---- B64URL ------------------------------------------------------------- */

size_t
mediatoken_b64url_enc(const uint8_t *in, size_t len, char *out)
{
	size_t		 i, n = 0;
	uint32_t	 v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[n++] = b64url_alphabet[v >> 18];
		out[n++] = b64url_alphabet[(v >> 12) & 63];
		out[n++] = b64url_alphabet[(v >> 6) & 63];
		out[n++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[n++] = b64url_alphabet[v >> 18];
		out[n++] = b64url_alphabet[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[n++] = b64url_alphabet[v >> 18];
		out[n++] = b64url_alphabet[(v >> 12) & 63];
		out[n++] = b64url_alphabet[(v >> 6) & 63];
	}
	out[n] = '\0';
	return n;
}

static int
b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Canonical only: a lone trailing character (len % 4 == 1) or unused bits
 * that are not zero are refused, as Rust's base64 engine refuses them. So
 * each byte string has exactly one accepted text.
 */
int
mediatoken_b64url_dec(const char *in, size_t len, uint8_t *out, size_t outlen)
{
	size_t		 i, n = 0, rest = len % 4;
	uint32_t	 acc = 0;
	int		 v, bits = 0;

	if (rest == 1 || len / 4 * 3 + (rest ? rest - 1 : 0) > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64url_value((unsigned char)in[i])) == -1)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;	/* non-zero unused bits */
	return (int)n;
}

/* ---- minting --------------------------------------------------------------- */

struct jbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 overflow;
};

static void
jb_add(struct jbuf *b, const char *s, size_t n)
{
	if (b->overflow || n >= b->cap - b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jb_printf(struct jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
jb_printf(struct jbuf *b, const char *fmt, ...)
{
	char	 tmp[64];
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		b->overflow = 1;
	else
		jb_add(b, tmp, (size_t)n);
}

/* serde_json's escapes: quote, backslash, and control characters only. */
static void
jb_str(struct jbuf *b, const char *s)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	char			 esc[7];

	jb_add(b, "\"", 1);
	for (; *p != '\0'; p++) {
		switch (*p) {
		case '"':	jb_add(b, "\\\"", 2); break;
		case '\\':	jb_add(b, "\\\\", 2); break;
		case '\b':	jb_add(b, "\\b", 2); break;
		case '\f':	jb_add(b, "\\f", 2); break;
		case '\n':	jb_add(b, "\\n", 2); break;
		case '\r':	jb_add(b, "\\r", 2); break;
		case '\t':	jb_add(b, "\\t", 2); break;
		default:
			if (*p < 0x20) {
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 15];
				jb_add(b, esc, 6);
			} else
				jb_add(b, (const char *)p, 1);
		}
	}
	jb_add(b, "\"", 1);
}

static void
jb_key_str(struct jbuf *b, const char *key, const char *val, int present)
{
	jb_printf(b, ",\"%s\":", key);
	if (present)
		jb_str(b, val);
	else
		jb_add(b, "null", 4);
}

void
mediatoken_claims_init(struct mediatoken_claims *c, enum mediatoken_kind kind)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (kind == MEDIATOKEN_UPLOAD)
		c->has_filename = 1;
}

int
mediatoken_payload(const struct mediatoken_claims *c, char *out, size_t outlen)
{
	struct jbuf	 b = { out, 0, outlen, outlen == 0 };

	if (outlen > 0)
		out[0] = '\0';
	switch (c->kind) {
	case MEDIATOKEN_UPLOAD:
		jb_printf(&b, "{\"version\":1,\"payload\":{\"kind\":\"upload\"");
		jb_key_str(&b, "hash", c->hash, 1);
		jb_printf(&b, ",\"user_id\":%d,\"note_id\":%lld", (int)c->user_id,
		    (long long)c->note_id);
		jb_key_str(&b, "filename", c->filename, 1);
		jb_printf(&b, ",\"file_size\":%lld", (long long)c->file_size);
		jb_key_str(&b, "deck_hash", c->deck_hash, 1);
		jb_key_str(&b, "batch_id", c->batch_id, c->has_batch_id);
		jb_printf(&b, ",\"exp\":%lld}}", (long long)c->exp);
		break;
	case MEDIATOKEN_DOWNLOAD:
		jb_printf(&b, "{\"version\":1,\"payload\":{\"kind\":\"download\"");
		jb_key_str(&b, "hash", c->hash, 1);
		jb_printf(&b, ",\"user_id\":%d", (int)c->user_id);
		jb_key_str(&b, "deck_hash", c->deck_hash, 1);
		jb_key_str(&b, "filename", c->filename, c->has_filename);
		jb_printf(&b, ",\"exp\":%lld}}", (long long)c->exp);
		break;
	case MEDIATOKEN_CACHE:
		/* The first key has no comma before it. */
		jb_printf(&b, "{\"version\":1,\"claims\":{\"deck_hash\":");
		jb_str(&b, c->deck_hash);
		jb_key_str(&b, "s3_key", c->s3_key, 1);
		jb_key_str(&b, "content_type", c->content_type, c->has_content_type);
		jb_printf(&b, ",\"exp\":%lld}}", (long long)c->exp);
		break;
	default:
		return -1;
	}
	return b.overflow ? -1 : (int)b.len;
}

static int
mediatoken_hmac(const void *secret, size_t secretlen, const uint8_t *data, size_t len,
    uint8_t mac[MEDIATOKEN_MAC_LEN])
{
	unsigned int	 maclen = 0;

	if (secretlen > INT32_MAX ||
	    HMAC(EVP_sha256(), secret, (int)secretlen, data, len, mac, &maclen) == NULL ||
	    maclen != MEDIATOKEN_MAC_LEN)
		return -1;
	return 0;
}

int
mediatoken_mint(const struct mediatoken_claims *c, const void *secret, size_t secretlen,
    char *out, size_t outlen)
{
	char		 payload[MEDIATOKEN_PAYLOAD_MAX + 1];
	uint8_t		 mac[MEDIATOKEN_MAC_LEN];
	size_t		 n;
	int		 plen;

	if ((plen = mediatoken_payload(c, payload, sizeof(payload))) == -1 ||
	    mediatoken_hmac(secret, secretlen, (const uint8_t *)payload, (size_t)plen,
	    mac) == -1)
		return -1;
	/* B64URL(payload) '.' B64URL(mac) */
	n = (size_t)plen / 3 * 4 + ((size_t)plen % 3 ? (size_t)plen % 3 + 1 : 0) + 1 +
	    MEDIATOKEN_MAC_B64;
	if (n > MEDIATOKEN_MAX || n >= outlen)
		return -1;
	n = mediatoken_b64url_enc((const uint8_t *)payload, (size_t)plen, out);
	out[n++] = '.';
	n += mediatoken_b64url_enc(mac, sizeof(mac), out + n);
	return (int)n;
}

/* ---- verifying ------------------------------------------------------------- */

/* A string member: must be a string without NUL that fits out. */
static int
get_str(json_object *o, const char *key, char *out, size_t outlen)
{
	json_object	*v;
	const char	*s;
	int		 n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return -1;
	s = json_object_get_string(v);
	n = json_object_get_string_len(v);
	if (n < 0 || (size_t)n >= outlen || strlen(s) != (size_t)n)
		return -1;
	memcpy(out, s, (size_t)n + 1);
	return 0;
}

/* A "string or null" member (absent counts as null, as serde's Option does). */
static int
get_opt_str(json_object *o, const char *key, char *out, size_t outlen, int *present)
{
	json_object	*v;

	*present = 0;
	out[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	*present = 1;
	return get_str(o, key, out, outlen);
}

/* An integer member within [min, max]; floats and strings are not integers. */
static int
get_int(json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	json_object	*v;
	int64_t		 n;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	n = json_object_get_int64(v);
	/* json-c clamps what does not fit an int64. */
	if (n == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)
		return -1;
	if (n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

static int
parse_media(json_object *p, struct mediatoken_claims *c)
{
	json_object	*kind;
	const char	*k;
	int64_t		 uid;

	if (!json_object_object_get_ex(p, "kind", &kind) ||
	    !json_object_is_type(kind, json_type_string))
		return -1;
	k = json_object_get_string(kind);
	if (strcmp(k, "upload") == 0)
		c->kind = MEDIATOKEN_UPLOAD;
	else if (strcmp(k, "download") == 0)
		c->kind = MEDIATOKEN_DOWNLOAD;
	else
		return -1;
	if (get_str(p, "hash", c->hash, sizeof(c->hash)) == -1 ||
	    get_int(p, "user_id", INT32_MIN, INT32_MAX, &uid) == -1 ||
	    get_str(p, "deck_hash", c->deck_hash, sizeof(c->deck_hash)) == -1 ||
	    get_int(p, "exp", INT64_MIN, INT64_MAX, &c->exp) == -1)
		return -1;
	c->user_id = (int32_t)uid;
	if (c->kind == MEDIATOKEN_DOWNLOAD)
		return get_opt_str(p, "filename", c->filename, sizeof(c->filename),
		    &c->has_filename);
	c->has_filename = 1;
	if (get_int(p, "note_id", INT64_MIN, INT64_MAX, &c->note_id) == -1 ||
	    get_str(p, "filename", c->filename, sizeof(c->filename)) == -1 ||
	    get_int(p, "file_size", INT64_MIN, INT64_MAX, &c->file_size) == -1)
		return -1;
	return get_opt_str(p, "batch_id", c->batch_id, sizeof(c->batch_id), &c->has_batch_id);
}

static int
parse_cache(json_object *p, struct mediatoken_claims *c)
{
	c->kind = MEDIATOKEN_CACHE;
	if (get_str(p, "deck_hash", c->deck_hash, sizeof(c->deck_hash)) == -1 ||
	    get_str(p, "s3_key", c->s3_key, sizeof(c->s3_key)) == -1 ||
	    get_int(p, "exp", INT64_MIN, INT64_MAX, &c->exp) == -1)
		return -1;
	return get_opt_str(p, "content_type", c->content_type, sizeof(c->content_type),
	    &c->has_content_type);
}

/* One JSON object filling the whole buffer, bar trailing whitespace. */
static json_object *
parse_json(const uint8_t *buf, size_t len)
{
	json_tokener	*tok;
	json_object	*o;
	size_t		 off;

	if ((tok = json_tokener_new_ex(8)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, (const char *)buf, (int)len);
	off = json_tokener_get_parse_end(tok);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	} else {
		for (; off < len; off++)
			if (strchr(" \t\r\n", buf[off]) == NULL)
				break;
		if (off != len || !json_object_is_type(o, json_type_object)) {
			json_object_put(o);
			o = NULL;
		}
	}
	json_tokener_free(tok);
	return o;
}

static enum mediatoken_err
parse_claims(const uint8_t *buf, size_t len, enum mediatoken_kind want,
    struct mediatoken_claims *c)
{
	json_object		*root, *ver, *body;
	enum mediatoken_err	 err = MEDIATOKEN_EJSON;
	const char		*envelope = want == MEDIATOKEN_CACHE ? "claims" : "payload";

	if ((root = parse_json(buf, len)) == NULL)
		return MEDIATOKEN_EJSON;
	if (!json_object_object_get_ex(root, "version", &ver) ||
	    !json_object_object_get_ex(root, envelope, &body) ||
	    !json_object_is_type(body, json_type_object))
		goto out;
	if (!json_object_is_type(ver, json_type_int) || json_object_get_int64(ver) != 1) {
		err = MEDIATOKEN_EVERSION;
		goto out;
	}
	if ((want == MEDIATOKEN_CACHE ? parse_cache(body, c) : parse_media(body, c)) == -1)
		goto out;
	err = c->kind == want ? MEDIATOKEN_OK : MEDIATOKEN_EKIND;
out:
	json_object_put(root);
	return err;
}

enum mediatoken_err
mediatoken_verify(const char *tok, size_t len, const void *secret, size_t secretlen,
    enum mediatoken_kind want, time_t now, struct mediatoken_claims *c,
    uint8_t mac_out[MEDIATOKEN_MAC_LEN])
{
	uint8_t			 payload[MEDIATOKEN_PAYLOAD_MAX];
	uint8_t			 mac[MEDIATOKEN_MAC_LEN], want_mac[MEDIATOKEN_MAC_LEN];
	const char		*dot;
	enum mediatoken_err	 err;
	size_t			 plen64;
	int			 plen;

	mediatoken_claims_init(c, want);
	if (len > MEDIATOKEN_MAX || (dot = memchr(tok, '.', len)) == NULL)
		return MEDIATOKEN_EFORMAT;
	plen64 = (size_t)(dot - tok);
	if (memchr(dot + 1, '.', len - plen64 - 1) != NULL ||
	    len - plen64 - 1 != MEDIATOKEN_MAC_B64 ||
	    mediatoken_b64url_dec(dot + 1, MEDIATOKEN_MAC_B64, mac, sizeof(mac)) !=
	    MEDIATOKEN_MAC_LEN ||
	    (plen = mediatoken_b64url_dec(tok, plen64, payload, sizeof(payload))) <= 0)
		return MEDIATOKEN_EFORMAT;
	if (mediatoken_hmac(secret, secretlen, payload, (size_t)plen, want_mac) == -1 ||
	    CRYPTO_memcmp(mac, want_mac, sizeof(mac)) != 0)
		return MEDIATOKEN_EMAC;
	if ((err = parse_claims(payload, (size_t)plen, want, c)) != MEDIATOKEN_OK)
		return err;
	if ((int64_t)now > c->exp)
		return MEDIATOKEN_EEXPIRED;
	if (mac_out != NULL)
		memcpy(mac_out, mac, MEDIATOKEN_MAC_LEN);
	return MEDIATOKEN_OK;
}

const char *
mediatoken_strerror(enum mediatoken_err err)
{
	switch (err) {
	case MEDIATOKEN_OK:		return "ok";
	case MEDIATOKEN_EFORMAT:	return "malformed";
	case MEDIATOKEN_EMAC:		return "bad signature";
	case MEDIATOKEN_EJSON:		return "bad claims";
	case MEDIATOKEN_EVERSION:	return "unknown version";
	case MEDIATOKEN_EKIND:		return "wrong kind";
	case MEDIATOKEN_EEXPIRED:	return "expired";
	}
	return "unknown";
}
