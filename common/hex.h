/*
 * hex.h — hexadecimal digits: their values, for the parsers that meet them
 * (\u escapes, UUIDs, %XY in query strings), and lower-case hex text of
 * digests, tokens and secrets.
 */
#ifndef ANKICOLLAB_HEX_H
#define ANKICOLLAB_HEX_H

#include <stddef.h>

/* 0–15, or -1 for anything but [0-9A-Fa-f]. */
static inline int
hex_digit(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* n bytes as 2n lower-case hex digits and a NUL, into out (2n + 1 bytes). */
static inline void
hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

#endif
