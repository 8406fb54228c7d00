/*
 * token.h — Bearer tokens (spec/api.md §2.8) and the rate-limit key (§2.10).
 *
 * Tokens are random strings over [A-Za-z0-9]; the database keeps only the
 * raw 32-byte SHA-256 of a token's bytes.
 */
#ifndef ANKICOLLAB_TOKEN_H
#define ANKICOLLAB_TOKEN_H

#include <stddef.h>

#define TOKEN_ACCESS_LEN	48
#define TOKEN_REFRESH_LEN	64
#define TOKEN_MAX_LEN		1024	/* longer presented tokens are malformed */
#define TOKEN_HASH_LEN		32
#define TOKEN_RATEKEY_MAX	80	/* "u:" + 64 hex, or "ip:" + address, + NUL */

/* Why a request is or is not authenticated; each failure has its 401 text. */
enum token_auth {
	TOKEN_AUTH_OK,
	TOKEN_AUTH_MISSING,	/* no header, not visible ASCII, no "Bearer " */
	TOKEN_AUTH_MALFORMED,	/* empty, or longer than TOKEN_MAX_LEN */
	TOKEN_AUTH_INVALID,	/* unknown or expired (the caller's DB lookup) */
	TOKEN_AUTH_NO_USER	/* the token resolved to user id 0 */
};

/*
 * Fills out with len random characters of [A-Za-z0-9] and a NUL (out has
 * len + 1 bytes), from RAND_bytes without modulo bias. Returns 0, or -1 if
 * the generator fails.
 */
int	token_generate(char *out, size_t len);

/* The stored form: SHA-256 of the token's bytes. Returns 0 or -1. */
int	token_hash(const char *tok, size_t len, unsigned char out[TOKEN_HASH_LEN]);

/*
 * Parses an Authorization field value (value NULL: no such header; with
 * several, pass the first). Every byte must be visible ASCII or a tab, the
 * value must start with "Bearer " exactly, and the rest, taken verbatim, is
 * the token. On TOKEN_AUTH_OK *tok and *toklen point into value.
 */
enum token_auth	token_parse_authorization(const char *value, size_t len,
		    const char **tok, size_t *toklen);

/* The exact 401 body for a failure; NULL for TOKEN_AUTH_OK. */
const char	*token_auth_text(enum token_auth);

/*
 * The rate-limit key of a request: "u:" + hex SHA-256 of the trimmed token
 * when the Authorization value is "Bearer " and a non-blank token (valid or
 * not, any length), else "ip:" + addr. Returns the length written
 * (NUL-terminated), or -1 if it does not fit outsz.
 */
int	token_ratelimit_key(const char *authz, size_t authzlen,
	    const char *addr, char *out, size_t outsz);

#endif
