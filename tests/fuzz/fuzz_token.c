/*
 * fuzz_token.c — libFuzzer target for the Authorization parser and the
 * rate-limit key (spec/api.md §2.8, §2.10).
 *
 * The fuzz build links only common/ and proto/, so token.c is included
 * whole. Each verdict is checked against the rule it stands for.
 */
#include "apid/token.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static int
fuzz_visible(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    (unsigned char)s[i] > 0x7e)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*v = (const char *)data, *tok = NULL;
	size_t		 toklen = 0, i;
	enum token_auth	 a;
	char		 key[TOKEN_RATEKEY_MAX];
	int		 n, bearer;

	bearer = fuzz_visible(v, size) && size >= 7 &&
	    memcmp(v, "Bearer ", 7) == 0;
	a = token_parse_authorization(v, size, &tok, &toklen);
	fuzz_check(token_auth_text(a) != NULL || a == TOKEN_AUTH_OK);
	if (!bearer)
		fuzz_check(a == TOKEN_AUTH_MISSING);
	else if (size == 7 || size - 7 > TOKEN_MAX_LEN)
		fuzz_check(a == TOKEN_AUTH_MALFORMED);
	else {
		fuzz_check(a == TOKEN_AUTH_OK);
		fuzz_check(tok == v + 7 && toklen == size - 7);
	}

	n = token_ratelimit_key(v, size, "192.0.2.1", key, sizeof(key));
	fuzz_check(n > 0 && (size_t)n == strlen(key));
	if (n == 66) {
		fuzz_check(bearer && strncmp(key, "u:", 2) == 0);
		for (i = 2; i < 66; i++)
			fuzz_check((key[i] >= '0' && key[i] <= '9') ||
			    (key[i] >= 'a' && key[i] <= 'f'));
	} else {
		fuzz_check(strcmp(key, "ip:192.0.2.1") == 0);
		/* Only a blank token falls back to the address. */
		for (i = 7; bearer && i < size; i++)
			fuzz_check(v[i] == ' ' || v[i] == '\t');
	}
	return 0;
}
