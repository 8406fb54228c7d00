/*
 * migrate_copy.c — one row of PostgreSQL's COPY text format, split and
 * unescaped in place: what from-postgres reads (COPY ... TO STDOUT is
 * about twice as cheap for the server as a SELECT streamed row by row).
 *
 * Columns are separated by tabs; "\N" alone is NULL; a backslash escapes
 * b f n r t v, up to three octal digits, x and up to two hex digits, or
 * any other byte, which stands for itself. The row may end in its newline.
 */
#include <stddef.h>
#include <string.h>

#include "common/hex.h"
#include "ctl/migrate.h"

static int
octal(unsigned char c)
{
	return c >= '0' && c <= '7' ? c - '0' : -1;
}

int
mig_copy_row(char *row, size_t len, char **val, size_t *vlen, size_t n)
{
	size_t		 i = 0, r = 0, w, start, k;
	unsigned char	 c;
	int		 d, v;

	if (len > 0 && row[len - 1] == '\n')
		len--;
	for (;;) {
		if (i == n)
			return -1;		/* more columns than asked for */
		start = w = r;
		if (r + 2 <= len && row[r] == '\\' && row[r + 1] == 'N' &&
		    (r + 2 == len || row[r + 2] == '\t')) {
			val[i] = NULL;
			vlen[i] = 0;
			r += 2;
		} else {
			while (r < len && row[r] != '\t') {
				/* A run without escapes moves as one block. */
				for (k = r; k < len && row[k] != '\t' &&
				    row[k] != '\\'; k++)
					;
				if (w != r)
					memmove(row + w, row + r, k - r);
				w += k - r;
				r = k;
				if (r == len || row[r] == '\t')
					break;
				/* An escape: the backslash, then what it means. */
				if (++r == len)
					return -1;
				c = (unsigned char)row[r++];
				switch (c) {
				case 'b': c = '\b'; break;
				case 'f': c = '\f'; break;
				case 'n': c = '\n'; break;
				case 'r': c = '\r'; break;
				case 't': c = '\t'; break;
				case 'v': c = '\v'; break;
				case 'x':
					for (v = 0, k = 0; k < 2 && r < len &&
					    (d = hex_digit((unsigned char)row[r])) >= 0;
					    k++, r++)
						v = v * 16 + d;
					if (k > 0)
						c = (unsigned char)v;
					break;
				default:
					if ((d = octal(c)) < 0)
						break;
					for (v = d, k = 1; k < 3 && r < len &&
					    (d = octal((unsigned char)row[r])) >= 0;
					    k++, r++)
						v = v * 8 + d;
					c = (unsigned char)v;
					break;
				}
				row[w++] = (char)c;
			}
			val[i] = row + start;
			vlen[i] = w - start;
		}
		i++;
		if (r == len) {
			if (val[i - 1] != NULL)
				row[w] = '\0';
			break;
		}
		/* row[r] is the tab; w <= r, so this ends the value. */
		if (val[i - 1] != NULL)
			row[w] = '\0';
		r++;
	}
	return i == n ? 0 : -1;
}
