/*
 * hex.h — the value of one hexadecimal digit, for the parsers that meet them
 * (\u escapes, UUIDs, %XY in query strings).
 */
#ifndef ANKICOLLAB_HEX_H
#define ANKICOLLAB_HEX_H

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

#endif
