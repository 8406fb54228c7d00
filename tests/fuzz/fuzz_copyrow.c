/*
 * fuzz_copyrow.c — libFuzzer target for the COPY text row parser that
 * ankicollabctl migrate from-postgres reads a database with.
 *
 * The fuzz build links only common/ and proto/, so migrate_copy.c is
 * included whole. Whatever the bytes, the parser stays inside the row, and
 * every value it returns is inside the row and NUL-terminated there.
 */
#include <stdlib.h>
#include <string.h>

#include "ctl/migrate_copy.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*row, *val[MIG_COLS_MAX];
	size_t	 vlen[MIG_COLS_MAX], n, i;

	if (size < 1)
		return 0;
	/* The first byte picks how many columns are asked for. */
	n = data[0] % MIG_COLS_MAX + 1;
	if ((row = malloc(size)) == NULL)
		return 0;
	memcpy(row, data + 1, size - 1);
	row[size - 1] = '\0';			/* as PQgetCopyData's buffer */
	if (mig_copy_row(row, size - 1, val, vlen, n) == 0) {
		for (i = 0; i < n; i++) {
			if (val[i] == NULL) {
				fuzz_check(vlen[i] == 0);
				continue;
			}
			fuzz_check(val[i] >= row && val[i] + vlen[i] <= row + size - 1);
			fuzz_check(val[i][vlen[i]] == '\0');
		}
	}
	free(row);
	return 0;
}
