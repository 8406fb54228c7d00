/*
 * token.c — token generation and hashing, Authorization parsing.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "apid/token.h"
#include "common/hex.h"

static const char token_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#define TOKEN_ALPHABET_LEN	62
/* Bytes at or above this would favour the first letters: 256 % 62 = 8. */
#define TOKEN_BYTE_LIMIT	(256 - 256 % TOKEN_ALPHABET_LEN)

static bool	token_bearer(const char *, size_t, const char **, size_t *);

int
token_generate(char *out, size_t len)
{
	unsigned char	rnd[64];
	size_t		n = 0, i;

	while (n < len) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return -1;
		for (i = 0; i < sizeof(rnd) && n < len; i++)
			if (rnd[i] < TOKEN_BYTE_LIMIT)
				out[n++] = token_alphabet[rnd[i] %
				    TOKEN_ALPHABET_LEN];
	}
	out[n] = '\0';
	return 0;
}

int
token_hash(const char *tok, size_t len, unsigned char out[TOKEN_HASH_LEN])
{
	unsigned int	mdlen = 0;

	if (EVP_Digest(tok, len, out, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != TOKEN_HASH_LEN)
		return -1;
	return 0;
}

/*
 * Upstream takes the header only if it is visible ASCII (tab allowed, as
 * the http crate's to_str() does) and strips the case-sensitive "Bearer ".
 */
static bool
token_bearer(const char *value, size_t len, const char **tok, size_t *toklen)
{
	size_t	i;

	if (value == NULL)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c < 0x20 && c != '\t') || c > 0x7e)
			return false;
	}
	if (len < 7 || memcmp(value, "Bearer ", 7) != 0)
		return false;
	*tok = value + 7;
	*toklen = len - 7;
	return true;
}

enum token_auth
token_parse_authorization(const char *value, size_t len, const char **tok,
    size_t *toklen)
{
	if (!token_bearer(value, len, tok, toklen))
		return TOKEN_AUTH_MISSING;
	if (*toklen == 0 || *toklen > TOKEN_MAX_LEN)
		return TOKEN_AUTH_MALFORMED;
	return TOKEN_AUTH_OK;
}

const char *
token_auth_text(enum token_auth a)
{
	switch (a) {
	case TOKEN_AUTH_OK:
		return NULL;
	case TOKEN_AUTH_MISSING:
		return "Missing or invalid Authorization header";
	case TOKEN_AUTH_MALFORMED:
		return "Malformed token";
	case TOKEN_AUTH_INVALID:
		return "Invalid or expired token";
	case TOKEN_AUTH_NO_USER:
		return "Invalid token";
	}
	return "Invalid token";
}

int
token_ratelimit_key(const char *authz, size_t authzlen, const char *addr,
    char *out, size_t outsz)
{
	unsigned char		 md[TOKEN_HASH_LEN];
	const char		*tok;
	size_t			 toklen;
	int			 n;

	if (token_bearer(authz, authzlen, &tok, &toklen)) {
		/* Only spaces and tabs can surround it: the rest is visible. */
		while (toklen > 0 && (tok[0] == ' ' || tok[0] == '\t')) {
			tok++;
			toklen--;
		}
		while (toklen > 0 && (tok[toklen - 1] == ' ' ||
		    tok[toklen - 1] == '\t'))
			toklen--;
		if (toklen > 0) {
			if (outsz < 3 + 2 * TOKEN_HASH_LEN ||
			    token_hash(tok, toklen, md) == -1)
				return -1;
			out[0] = 'u';
			out[1] = ':';
			hex_encode(md, TOKEN_HASH_LEN, out + 2);
			return 2 + 2 * TOKEN_HASH_LEN;
		}
	}
	n = snprintf(out, outsz, "ip:%s", addr != NULL ? addr : "");
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	return n;
}
