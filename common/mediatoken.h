/*
 * mediatoken.h — signed media and cache tokens (spec/api.md §8).
 *
 *	token = B64URL(payload JSON) "." B64URL(HMAC-SHA256(secret, payload JSON))
 *
 * B64URL is RFC 4648's URL-safe alphabet without padding. apid mints upload
 * and download tokens (and cache tokens for /pullChanges), mediad verifies
 * them; upstream's website mints download tokens with the same secret, so
 * the byte layout of the payload is an external contract:
 *
 *	{"version":1,"payload":{"kind":"upload","hash":…,"user_id":…,"note_id":…,
 *	 "filename":…,"file_size":…,"deck_hash":…,"batch_id":…|null,"exp":…}}
 *	{"version":1,"payload":{"kind":"download","hash":…,"user_id":…,
 *	 "deck_hash":…,"filename":…|null,"exp":…}}
 *	{"version":1,"claims":{"deck_hash":…,"s3_key":…,"content_type":…|null,"exp":…}}
 *
 * Minting writes compact JSON in exactly this key order, with strings
 * escaped as serde_json escapes them. Verifying decodes the first part,
 * checks the MAC over those bytes in constant time, then parses the JSON
 * (unknown keys ignored), checks version 1, the kind, the claim types and
 * expiry (valid while now <= exp).
 *
 * Minting an upload URL in apid:
 *
 *	struct mediatoken_claims c;
 *	char tok[MEDIATOKEN_MAX + 1];
 *
 *	mediatoken_claims_init(&c, MEDIATOKEN_UPLOAD);
 *	strlcpy-like copies into c.hash, c.filename, c.deck_hash, c.batch_id;
 *	c.user_id = …; c.note_id = …; c.file_size = …;
 *	c.has_batch_id = 1; c.exp = time(NULL) + cfg.upload_token_ttl_s;
 *	if (mediatoken_mint(&c, cfg.media_token_secret,
 *	    strlen(cfg.media_token_secret), tok, sizeof(tok)) == -1) → 500
 *	url = cfg.public_url + "/v1/media/" + c.hash + "?token=" + tok
 *
 * (a token needs no URL escaping: its alphabet is [A-Za-z0-9_.-]).
 */
#ifndef ANKICOLLAB_MEDIATOKEN_H
#define ANKICOLLAB_MEDIATOKEN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define MEDIATOKEN_MAX		4096	/* longest token minted or accepted, without NUL */
#define MEDIATOKEN_MAC_LEN	32
#define MEDIATOKEN_SECRET_MIN	32	/* shorter secrets are refused (§8.1) */

/* String claims longer than their field (NUL included) make a token invalid. */
#define MEDIATOKEN_HASH_MAX	64
#define MEDIATOKEN_NAME_MAX	512	/* filename */
#define MEDIATOKEN_DECK_MAX	256
#define MEDIATOKEN_BATCH_MAX	64
#define MEDIATOKEN_KEY_MAX	1024	/* s3_key */
#define MEDIATOKEN_CTYPE_MAX	128

enum mediatoken_kind {
	MEDIATOKEN_UPLOAD = 1,
	MEDIATOKEN_DOWNLOAD,
	MEDIATOKEN_CACHE,
};

/* Why a token did not verify; all of them are 401 "Unauthorized" on the wire. */
enum mediatoken_err {
	MEDIATOKEN_OK,
	MEDIATOKEN_EFORMAT,	/* not two B64URL parts, or too long */
	MEDIATOKEN_EMAC,	/* signature does not match */
	MEDIATOKEN_EJSON,	/* signed, but not the JSON shape of its kind */
	MEDIATOKEN_EVERSION,	/* version is not 1 */
	MEDIATOKEN_EKIND,	/* an upload token where a download one is wanted, … */
	MEDIATOKEN_EEXPIRED,
};

/*
 * The claims of any of the three kinds; each kind uses its own fields. The
 * has_* flags say whether a nullable claim is a string (1) or null (0).
 */
struct mediatoken_claims {
	enum mediatoken_kind	kind;
	int64_t			exp;			/* Unix seconds */
	char			deck_hash[MEDIATOKEN_DECK_MAX];
	/* upload and download */
	char			hash[MEDIATOKEN_HASH_MAX];
	int32_t			user_id;
	char			filename[MEDIATOKEN_NAME_MAX];
	int			has_filename;		/* download: may be null; upload: always 1 */
	/* upload */
	int64_t			note_id;		/* may be -1 */
	int64_t			file_size;
	char			batch_id[MEDIATOKEN_BATCH_MAX];
	int			has_batch_id;
	/* cache */
	char			s3_key[MEDIATOKEN_KEY_MAX];
	char			content_type[MEDIATOKEN_CTYPE_MAX];
	int			has_content_type;
};

/* Zeroes c and sets its kind (upload: has_filename = 1). */
void	mediatoken_claims_init(struct mediatoken_claims *c, enum mediatoken_kind kind);

/*
 * The exact payload JSON of c into out (NUL-terminated). Returns its length,
 * or -1 if it does not fit. Strings must be UTF-8; they are copied as is
 * but for serde_json's escapes.
 */
int	mediatoken_payload(const struct mediatoken_claims *c, char *out, size_t outlen);

/* The token for c. Returns its length, or -1 (does not fit, HMAC failed). */
int	mediatoken_mint(const struct mediatoken_claims *c, const void *secret,
	    size_t secretlen, char *out, size_t outlen);

/*
 * Verifies tok (len bytes, need not be NUL-terminated) as a token of kind
 * want, unexpired at now. On MEDIATOKEN_OK fills c, and mac (if not NULL)
 * with the signature: a fixed-size key that names the token string, since
 * both the payload and the signature decode canonically.
 */
enum mediatoken_err	mediatoken_verify(const char *tok, size_t len, const void *secret,
			    size_t secretlen, enum mediatoken_kind want, time_t now,
			    struct mediatoken_claims *c, uint8_t mac[MEDIATOKEN_MAC_LEN]);

/* A word for logs. */
const char	*mediatoken_strerror(enum mediatoken_err err);

/*
 * RFC 4648 §5 without padding. enc returns the text length (out needs
 * 4 * ceil(len / 3) + 1 bytes, NUL added). dec returns the byte count, or
 * -1 for a padded, non-canonical or foreign input, or one over outlen.
 */
size_t	mediatoken_b64url_enc(const uint8_t *in, size_t len, char *out);
int	mediatoken_b64url_dec(const char *in, size_t len, uint8_t *out, size_t outlen);

#endif
