/*
 * fuzz_form.c — libFuzzer target for the form body and Cookie parsers
 * (common/form.c): whatever the bytes, an answer is a bounded C string of
 * the length returned, without NUL, and a cookie value only cookie-octets.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/form.h"

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
	static const char *const names[] = { "csrf", "note", "username", "sid", "" };
	const char	*in = (const char *)data;
	char		 out[64];
	size_t		 i, k;
	int		 n;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = form_field(in, size, names[i], out, sizeof(out));
		fuzz_check(n >= FORM_BAD && n < (int)sizeof(out));
		if (n >= 0)
			fuzz_check(strlen(out) == (size_t)n);
		else
			fuzz_check(out[0] == '\0');
		n = form_cookie(in, size, names[i], out, sizeof(out));
		fuzz_check(n >= FORM_BAD && n < (int)sizeof(out));
		if (n >= 0) {
			fuzz_check(strlen(out) == (size_t)n);
			for (k = 0; k < (size_t)n; k++)
				fuzz_check(out[k] > 0x20 && out[k] < 0x7f && out[k] != ';');
		}
	}
	/* A one-byte buffer holds only the empty value. */
	n = form_field(in, size, "a", out, 1);
	fuzz_check(n == 0 || n == FORM_ABSENT || n == FORM_BAD);
	return 0;
}
