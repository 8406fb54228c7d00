/*
 * password.h — Argon2 password hashes and user names (spec/api.md §2.8, §5).
 *
 * Hashes are PHC strings ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash").
 * New ones use the parameters of upstream's website (RustCrypto defaults);
 * verification takes every parameter from the stored string, so older
 * argon2i/argon2d and version 16 strings verify too. Stored strings are
 * trusted: their memory cost is allocated as written.
 *
 * User names are stored trimmed and lower-cased. Names created here are
 * 1..PASSWORD_USERNAME_MAX bytes of ASCII letters, digits, '_', '-', '.'
 * and '@' (DESIGN.md). 254 is upstream's column width (varchar(254), an
 * e-mail address at most), so imported accounts fit; the website itself
 * allowed at most 30.
 */
#ifndef ANKICOLLAB_PASSWORD_H
#define ANKICOLLAB_PASSWORD_H

#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_T_COST		2
#define PASSWORD_M_COST		19456	/* KiB */
#define PASSWORD_PARALLELISM	1
#define PASSWORD_SALT_LEN	16
#define PASSWORD_HASH_LEN	32
#define PASSWORD_PHC_MAX	128	/* buffer for a new PHC string */

#define PASSWORD_USERNAME_MAX	254
#define PASSWORD_USER_HASH_LEN	64	/* hex characters, without the NUL */

enum password_result {
	PASSWORD_OK,		/* the password matches */
	PASSWORD_MISMATCH,	/* well-formed hash, wrong password */
	PASSWORD_BADHASH,	/* the stored string is not a usable Argon2 hash */
	PASSWORD_ERROR		/* out of memory */
};

/*
 * Hashes pw with a fresh random salt into a NUL-terminated PHC string.
 * Returns 0, or -1 if out is too small or hashing fails.
 */
int	password_hash(const char *pw, size_t pwlen, char *out, size_t outsz);

/*
 * Checks pw against the PHC string phc. With PASSWORD_BADHASH, *detail (if
 * detail is not NULL) says why, for "Password verification error: <detail>".
 * libargon2 compares the tags in constant time.
 */
enum password_result	password_verify(const char *phc, const char *pw,
			    size_t pwlen, const char **detail);

/*
 * The stored form of a new user name: ASCII whitespace trimmed, ASCII
 * lower-cased, then checked with password_username_valid(). Returns the
 * length written (NUL-terminated), or -1 if the name is invalid or does not
 * fit outsz.
 */
int	password_username_normalize(const char *in, size_t inlen, char *out,
	    size_t outsz);

/* Whether name is a stored-form user name: see the top of this file. */
bool	password_username_valid(const char *name, size_t len);

/*
 * The key /login looks a name up by: lower-cased but not trimmed (§5).
 * Upstream lower-cases Unicode; stored names here are ASCII, so ASCII
 * lower-casing finds the same rows. Returns the length, or -1 if it does
 * not fit outsz.
 */
int	password_username_login(const char *in, size_t inlen, char *out,
	    size_t outsz);

/* user_hash = lower-case hex SHA-256 of the stored user name, NUL-terminated. */
int	password_user_hash(const char *name, size_t len,
	    char out[PASSWORD_USER_HASH_LEN + 1]);

#endif
