/*
 * deckhash.h — deck hashes ("subscription keys"), spec/api.md §2.7 and §4.
 *
 * A new deck's hash is its CrowdAnki UUID folded into words: the 16 bytes
 * are cut into chunks of 16 / words_out bytes, each chunk is XORed down to
 * one byte and that byte picks a word from a fixed list of 256. Upstream
 * asks for 5 words and, because 16 / 5 leaves a 1-byte tail, gets 6.
 */
#ifndef ANKICOLLAB_DECKHASH_H
#define ANKICOLLAB_DECKHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DECKHASH_WORDS		5	/* what upstream passes; yields 6 words */
#define DECKHASH_BUFSZ		256	/* fits any words_out, with the NUL */
#define DECKHASH_UUID_STRLEN	36	/* hyphenated form, without the NUL */

/* Word idx (0..255) of the list in spec/api.md Appendix A. */
const char	*deckhash_word(unsigned int idx);

/*
 * Writes the words for uuid, joined by '-', NUL-terminated. words_out is
 * 1..16. Returns the length, or -1 if words_out is out of range or the
 * result does not fit bufsz.
 */
int	deckhash_humanize(const uint8_t uuid[16], unsigned int words_out,
	    char *buf, size_t bufsz);

/* The hash of a new deck: deckhash_humanize(uuid, DECKHASH_WORDS). */
int	deckhash_from_uuid(const uint8_t uuid[16], char *buf, size_t bufsz);

/*
 * Parses a UUID the way upstream's uuid crate does: 32 hex digits, the
 * hyphenated 8-4-4-4-12 form, that form in braces, or behind "urn:uuid:".
 * Hex digits of either case. Returns 0, or -1 if s is none of these.
 */
int	deckhash_uuid_parse(const char *s, size_t len, uint8_t out[16]);

/* A random version 4 UUID, for a root deck whose own UUID does not parse. */
int	deckhash_uuid_random(uint8_t out[16]);

/* Lower-case hyphenated form; out gets DECKHASH_UUID_STRLEN + 1 bytes. */
void	deckhash_uuid_format(const uint8_t uuid[16],
	    char out[DECKHASH_UUID_STRLEN + 1]);

/*
 * The check most endpoints make (§2.7): 3, 5 or 6 parts joined by '-',
 * each part one or more ASCII letters of any case.
 */
bool	deckhash_valid(const char *s, size_t len);

#endif
