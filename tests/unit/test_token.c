/*
 * test_token.c — tokens, Authorization parsing and the rate-limit key
 * (spec/api.md §2.8, §2.10).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "apid/token.h"

static const char alnum[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static void
test_generate(void **state)
{
	char	a[TOKEN_REFRESH_LEN + 1], b[TOKEN_REFRESH_LEN + 1];
	size_t	i;

	(void)state;
	memset(a, '!', sizeof(a));
	assert_int_equal(token_generate(a, TOKEN_ACCESS_LEN), 0);
	assert_int_equal(strlen(a), TOKEN_ACCESS_LEN);
	assert_int_equal(strspn(a, alnum), TOKEN_ACCESS_LEN);

	assert_int_equal(token_generate(a, TOKEN_REFRESH_LEN), 0);
	assert_int_equal(token_generate(b, TOKEN_REFRESH_LEN), 0);
	assert_int_equal(strlen(a), TOKEN_REFRESH_LEN);
	assert_int_equal(strspn(a, alnum), TOKEN_REFRESH_LEN);
	assert_string_not_equal(a, b);

	assert_int_equal(token_generate(a, 0), 0);
	assert_string_equal(a, "");
	for (i = 1; i < 10; i++) {
		assert_int_equal(token_generate(a, i), 0);
		assert_int_equal(strlen(a), i);
	}
}

/*
 * With "byte % 62" the first 8 characters would come 5/4 as often as the
 * rest; rejection sampling keeps them all within noise of each other.
 */
static void
test_generate_uniform(void **state)
{
	enum { N = 62 * 4000 };
	char		*buf;
	unsigned long	 count[256] = { 0 }, lo = N, hi = 0, head = 0, tail = 0;
	size_t		 i;

	(void)state;
	buf = malloc(N + 1);
	assert_non_null(buf);
	assert_int_equal(token_generate(buf, N), 0);
	for (i = 0; i < N; i++)
		count[(unsigned char)buf[i]]++;
	for (i = 0; i < 62; i++) {
		unsigned long c = count[(unsigned char)alnum[i]];

		lo = c < lo ? c : lo;
		hi = c > hi ? c : hi;
		if (i < 8)
			head += c;
		else
			tail += c;
	}
	/* Expected 4000 each, standard deviation about 63. */
	assert_true(lo > 3600 && hi < 4400);
	/* Per-character means: biased, head would be ~25% above tail. */
	assert_true(head * 54 < tail * 8 * 105 / 100);
	free(buf);
}

static void
test_hash(void **state)
{
	static const unsigned char abc[TOKEN_HASH_LEN] = {
		0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
		0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
		0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
		0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad
	};
	unsigned char	md[TOKEN_HASH_LEN];

	(void)state;
	assert_int_equal(token_hash("abc", 3, md), 0);
	assert_memory_equal(md, abc, TOKEN_HASH_LEN);
}

static enum token_auth
parse(const char *v, const char **tok, size_t *toklen)
{
	return token_parse_authorization(v, v != NULL ? strlen(v) : 0, tok,
	    toklen);
}

static void
test_parse(void **state)
{
	static const char *const missing[] = {
		"", "Bearer", "bearer abc", "BEARER abc", "Bearer\tabc",
		"Basic YWxhZGRpbjpvcGVuc2VzYW1l", " Bearer abc", "Bearerabc",
		"Bearer ab\xc3\xa9", "Bearer \001abc", "Bearer abc\x7f",
		"Bearer abc\r", "Bearer abc\n",
	};
	const char	*tok;
	size_t		 toklen, i;
	char		 big[8 + TOKEN_MAX_LEN + 2];

	(void)state;
	assert_int_equal(parse("Bearer abc", &tok, &toklen), TOKEN_AUTH_OK);
	assert_int_equal(toklen, 3);
	assert_memory_equal(tok, "abc", 3);

	/* Verbatim: no trimming, spaces and tabs are part of the token. */
	assert_int_equal(parse("Bearer  abc ", &tok, &toklen), TOKEN_AUTH_OK);
	assert_int_equal(toklen, 5);
	assert_memory_equal(tok, " abc ", 5);
	assert_int_equal(parse("Bearer a\tb", &tok, &toklen), TOKEN_AUTH_OK);
	assert_int_equal(toklen, 3);

	assert_int_equal(parse(NULL, &tok, &toklen), TOKEN_AUTH_MISSING);
	for (i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		assert_int_equal(parse(missing[i], &tok, &toklen),
		    TOKEN_AUTH_MISSING);

	assert_int_equal(parse("Bearer ", &tok, &toklen), TOKEN_AUTH_MALFORMED);

	/* 1024 bytes is the longest token; longer is malformed. */
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'x', TOKEN_MAX_LEN + 1);
	assert_int_equal(token_parse_authorization(big, 7 + TOKEN_MAX_LEN,
	    &tok, &toklen), TOKEN_AUTH_OK);
	assert_int_equal(toklen, TOKEN_MAX_LEN);
	assert_int_equal(token_parse_authorization(big, 8 + TOKEN_MAX_LEN,
	    &tok, &toklen), TOKEN_AUTH_MALFORMED);
	/* Non-ASCII wins over length: the header is not even read. */
	big[8 + TOKEN_MAX_LEN] = '\x80';
	assert_int_equal(token_parse_authorization(big, 9 + TOKEN_MAX_LEN,
	    &tok, &toklen), TOKEN_AUTH_MISSING);

	/* Length-bounded, so a NUL is a control byte like any other. */
	assert_int_equal(token_parse_authorization("Bearer a\0b", 10, &tok,
	    &toklen), TOKEN_AUTH_MISSING);
	assert_int_equal(token_parse_authorization("Bearer a\0b", 8, &tok,
	    &toklen), TOKEN_AUTH_OK);
}

static void
test_texts(void **state)
{
	(void)state;
	assert_null(token_auth_text(TOKEN_AUTH_OK));
	assert_string_equal(token_auth_text(TOKEN_AUTH_MISSING),
	    "Missing or invalid Authorization header");
	assert_string_equal(token_auth_text(TOKEN_AUTH_MALFORMED),
	    "Malformed token");
	assert_string_equal(token_auth_text(TOKEN_AUTH_INVALID),
	    "Invalid or expired token");
	assert_string_equal(token_auth_text(TOKEN_AUTH_NO_USER),
	    "Invalid token");
}

static void
test_ratelimit_key(void **state)
{
	/* SHA-256("abc") */
	static const char uabc[] = "u:ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad";
	char	key[TOKEN_RATEKEY_MAX], big[3000];

	(void)state;
	assert_int_equal(token_ratelimit_key("Bearer abc", 10, "10.0.0.1",
	    key, sizeof(key)), 66);
	assert_string_equal(key, uabc);
	/* Trimmed before hashing, unlike authentication. */
	assert_int_equal(token_ratelimit_key("Bearer  \tabc \t", 14, "10.0.0.1",
	    key, sizeof(key)), 66);
	assert_string_equal(key, uabc);

	/* Blank, absent, not Bearer, not ASCII: the address. */
	assert_int_equal(token_ratelimit_key("Bearer  \t ", 10, "10.0.0.1",
	    key, sizeof(key)), 11);
	assert_string_equal(key, "ip:10.0.0.1");
	assert_int_equal(token_ratelimit_key(NULL, 0, "2001:db8::1", key,
	    sizeof(key)), 14);
	assert_string_equal(key, "ip:2001:db8::1");
	assert_int_equal(token_ratelimit_key("bearer abc", 10, "::1", key,
	    sizeof(key)), 6);
	assert_string_equal(key, "ip:::1");
	assert_int_equal(token_ratelimit_key("Bearer \xc3\xa9", 9, "::1", key,
	    sizeof(key)), 6);
	assert_string_equal(key, "ip:::1");

	/* Any length of token keys by user. */
	memcpy(big, "Bearer ", 7);
	memset(big + 7, 'z', sizeof(big) - 7);
	assert_int_equal(token_ratelimit_key(big, sizeof(big), "::1", key,
	    sizeof(key)), 66);
	assert_true(strncmp(key, "u:", 2) == 0);

	/* Too small an output. */
	assert_int_equal(token_ratelimit_key("Bearer abc", 10, "::1", key, 66),
	    -1);
	assert_int_equal(token_ratelimit_key("Bearer abc", 10, "::1", key, 67),
	    66);
	assert_int_equal(token_ratelimit_key(NULL, 0, "::1", key, 6), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_generate_uniform),
		cmocka_unit_test(test_hash),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_texts),
		cmocka_unit_test(test_ratelimit_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
