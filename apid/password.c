/*
 * password.c — Argon2 PHC hashes with libargon2, user names, user hashes.
 */
#include <limits.h>
#include <string.h>

#include <argon2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "apid/password.h"
#include "common/hex.h"

static bool	password_is_space(unsigned char);
static char	password_lower(char);

int
password_hash(const char *pw, size_t pwlen, char *out, size_t outsz)
{
	unsigned char	salt[PASSWORD_SALT_LEN];

	if (outsz < argon2_encodedlen(PASSWORD_T_COST, PASSWORD_M_COST,
	    PASSWORD_PARALLELISM, PASSWORD_SALT_LEN, PASSWORD_HASH_LEN,
	    Argon2_id))
		return -1;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return -1;
	if (argon2id_hash_encoded(PASSWORD_T_COST, PASSWORD_M_COST,
	    PASSWORD_PARALLELISM, pw, pwlen, salt, sizeof(salt),
	    PASSWORD_HASH_LEN, out, outsz) != ARGON2_OK)
		return -1;
	return 0;
}

enum password_result
password_verify(const char *phc, const char *pw, size_t pwlen,
    const char **detail)
{
	argon2_type	type;
	int		rc;

	/* argon2_verify() wants the variant; the prefix names it. */
	if (strncmp(phc, "$argon2id$", 10) == 0)
		type = Argon2_id;
	else if (strncmp(phc, "$argon2i$", 9) == 0)
		type = Argon2_i;
	else if (strncmp(phc, "$argon2d$", 9) == 0)
		type = Argon2_d;
	else {
		if (detail != NULL)
			*detail = "not an Argon2 PHC string";
		return PASSWORD_BADHASH;
	}
	rc = argon2_verify(phc, pw, pwlen, type);
	switch (rc) {
	case ARGON2_OK:
		return PASSWORD_OK;
	case ARGON2_VERIFY_MISMATCH:
		return PASSWORD_MISMATCH;
	case ARGON2_MEMORY_ALLOCATION_ERROR:
		return PASSWORD_ERROR;
	default:
		if (detail != NULL)
			*detail = argon2_error_message(rc);
		return PASSWORD_BADHASH;
	}
}

static bool
password_is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static char
password_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
password_username_valid(const char *name, size_t len)
{
	size_t	i;

	if (len == 0 || len > PASSWORD_USERNAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-' || c == '.' || c == '@'))
			return false;
	}
	return true;
}

int
password_username_normalize(const char *in, size_t inlen, char *out,
    size_t outsz)
{
	while (inlen > 0 && password_is_space((unsigned char)in[0])) {
		in++;
		inlen--;
	}
	while (inlen > 0 && password_is_space((unsigned char)in[inlen - 1]))
		inlen--;
	if (password_username_login(in, inlen, out, outsz) == -1)
		return -1;
	if (!password_username_valid(out, inlen)) {
		out[0] = '\0';
		return -1;
	}
	return (int)inlen;
}

int
password_username_login(const char *in, size_t inlen, char *out, size_t outsz)
{
	size_t	i;

	if (inlen >= outsz || inlen > INT_MAX)
		return -1;
	for (i = 0; i < inlen; i++)
		out[i] = password_lower(in[i]);
	out[inlen] = '\0';
	return (int)inlen;
}

int
password_user_hash(const char *name, size_t len,
    char out[PASSWORD_USER_HASH_LEN + 1])
{
	unsigned char		md[32];
	unsigned int		mdlen = 0;

	if (EVP_Digest(name, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md))
		return -1;
	hex_encode(md, sizeof(md), out);
	return 0;
}
