/*
 * test_deckhash.c — deck hashes (spec/api.md §2.7, §4, Appendix A).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "apid/deckhash.h"

/* spec/api.md §4 */
static const uint8_t test_uuid[16] = {
	0xbc, 0x0f, 0x47, 0xf9, 0x3d, 0xd0, 0x46, 0x57,
	0x8d, 0x7e, 0xee, 0x64, 0x59, 0x99, 0xb9, 0x5e
};

static void
test_spec_vectors(void **state)
{
	static const struct {
		unsigned int	 words;
		const char	*hash;
	} v[] = {
		{ 1, "pip" },
		{ 2, "washington-hot" },
		{ 4, "august-yankee-lima-coffee" },
		{ 5, "white-berlin-nineteen-white-lima-hot" },
		{ 8, "princess-sad-victor-bakerloo-whiskey-mike-saturn-uniform" },
	};
	char	buf[DECKHASH_BUFSZ];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(deckhash_humanize(test_uuid, v[i].words, buf,
		    sizeof(buf)), (int)strlen(v[i].hash));
		assert_string_equal(buf, v[i].hash);
	}
	/* A new deck's hash: words_out 5, six words. */
	assert_int_equal(deckhash_from_uuid(test_uuid, buf, sizeof(buf)), 36);
	assert_string_equal(buf, "white-berlin-nineteen-white-lima-hot");
	assert_true(deckhash_valid(buf, strlen(buf)));
}

/* Other chunkings, worked out independently (Python) from Appendix A. */
static void
test_other_chunkings(void **state)
{
	char	buf[DECKHASH_BUFSZ];

	(void)state;
	assert_true(deckhash_humanize(test_uuid, 3, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "december-delta-whiskey-hot");
	assert_true(deckhash_humanize(test_uuid, 7, buf, sizeof(buf)) > 0);
	assert_string_equal(buf,
	    "princess-sad-victor-bakerloo-whiskey-mike-saturn-uniform");
	assert_true(deckhash_humanize(test_uuid, 16, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "romeo-avocado-five-wolfram-eleven-spaghetti-"
	    "fish-grey-mississippi-low-video-indigo-happy-network-river-hot");
}

static void
test_humanize_bounds(void **state)
{
	uint8_t	ff[16];
	char	buf[DECKHASH_BUFSZ];

	(void)state;
	assert_int_equal(deckhash_humanize(test_uuid, 0, buf, sizeof(buf)), -1);
	assert_int_equal(deckhash_humanize(test_uuid, 17, buf, sizeof(buf)),
	    -1);
	/* "pip" needs 4 bytes with its NUL. */
	assert_int_equal(deckhash_humanize(test_uuid, 1, buf, 3), -1);
	assert_int_equal(deckhash_humanize(test_uuid, 1, buf, 4), 3);
	assert_int_equal(deckhash_humanize(test_uuid, 1, buf, 0), -1);

	/* The longest possible hash still fits DECKHASH_BUFSZ. */
	memset(ff, 134, sizeof(ff));	/* massachusetts, the longest word */
	assert_string_equal(deckhash_word(134), "massachusetts");
	assert_true(deckhash_humanize(ff, 16, buf, sizeof(buf)) > 0);
	assert_int_equal(strlen(buf), 16 * 13 + 15);
}

static void
test_wordlist(void **state)
{
	EVP_MD_CTX	*ctx;
	unsigned char	 md[32];
	char		 hex[65];
	unsigned int	 i, j, mdlen;
	const char	*w;

	(void)state;
	assert_string_equal(deckhash_word(0), "ack");
	assert_string_equal(deckhash_word(52), "uwu");
	assert_string_equal(deckhash_word(165), "orange");
	assert_string_equal(deckhash_word(166), "oranges");
	assert_string_equal(deckhash_word(255), "zulu");
	assert_null(deckhash_word(256));

	/* SHA-256 of the 256 words of Appendix A joined by '\n'. */
	ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	for (i = 0; i < 256; i++) {
		w = deckhash_word(i);
		for (j = 0; w[j] != '\0'; j++)
			assert_true(w[j] >= 'a' && w[j] <= 'z');
		for (j = 0; j < i; j++)
			assert_string_not_equal(w, deckhash_word(j));
		if (i > 0)
			EVP_DigestUpdate(ctx, "\n", 1);
		EVP_DigestUpdate(ctx, w, strlen(w));
	}
	assert_int_equal(EVP_DigestFinal_ex(ctx, md, &mdlen), 1);
	EVP_MD_CTX_free(ctx);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(hex,
	    "fa211ce953dbee9a6dcf7d9e3725c928cbd95f04817a017e000ef23d92e5cfb1");
}

static void
test_uuid_parse(void **state)
{
	static const char *good[] = {
		"bc0f47f93dd046578d7eee645999b95e",
		"BC0F47F93DD046578D7EEE645999B95E",
		"bc0f47f9-3dd0-4657-8d7e-ee645999b95e",
		"BC0f47f9-3dd0-4657-8D7E-ee645999b95e",
		"{bc0f47f9-3dd0-4657-8d7e-ee645999b95e}",
		"urn:uuid:bc0f47f9-3dd0-4657-8d7e-ee645999b95e",
	};
	static const char *bad[] = {
		"",
		"bc0f47f93dd046578d7eee645999b95",
		"bc0f47f93dd046578d7eee645999b95e0",
		"bc0f47f93dd046578d7eee645999b95g",
		"bc0f47f9-3dd04657-8d7e-ee645999b95e-",
		"bc0f47f93-dd0-4657-8d7e-ee645999b95e",
		"bc0f47f9-3dd0-4657-8d7e_ee645999b95e",
		"{bc0f47f93dd046578d7eee645999b95e}",
		"(bc0f47f9-3dd0-4657-8d7e-ee645999b95e)",
		"URN:UUID:bc0f47f9-3dd0-4657-8d7e-ee645999b95e",
		"urn:uuid:bc0f47f93dd046578d7eee645999b95e",
		" bc0f47f9-3dd0-4657-8d7e-ee645999b95e",
		"bc0f47f9-3dd0-4657-8d7e-ee645999b95 ",
		"+c0f47f9-3dd0-4657-8d7e-ee645999b95e",
	};
	uint8_t	u[16];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(u, 0, sizeof(u));
		assert_int_equal(deckhash_uuid_parse(good[i], strlen(good[i]),
		    u), 0);
		assert_memory_equal(u, test_uuid, 16);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(deckhash_uuid_parse(bad[i], strlen(bad[i]), u),
		    -1);
}

static void
test_uuid_random_and_format(void **state)
{
	uint8_t	u[16], back[16], prev[16];
	char	s[DECKHASH_UUID_STRLEN + 1];
	int	i;

	(void)state;
	deckhash_uuid_format(test_uuid, s);
	assert_string_equal(s, "bc0f47f9-3dd0-4657-8d7e-ee645999b95e");

	memset(prev, 0, sizeof(prev));
	for (i = 0; i < 100; i++) {
		assert_int_equal(deckhash_uuid_random(u), 0);
		assert_int_equal(u[6] >> 4, 4);
		assert_int_equal(u[8] >> 6, 2);
		assert_memory_not_equal(u, prev, 16);
		deckhash_uuid_format(u, s);
		assert_int_equal(strlen(s), DECKHASH_UUID_STRLEN);
		assert_int_equal(deckhash_uuid_parse(s, strlen(s), back), 0);
		assert_memory_equal(u, back, 16);
		memcpy(prev, u, 16);
	}
}

static void
test_valid(void **state)
{
	static const char *good[] = {
		"white-berlin-nineteen-white-lima-hot",
		"a-b-c",
		"a-b-c-d-e",
		"White-BERLIN-nineteen-white-lima-hot",
		"x-y-z-w-v-u",
	};
	static const char *bad[] = {
		"",
		"-",
		"pip",
		"washington-hot",
		"august-yankee-lima-coffee",
		"a-b-c-d-e-f-g",
		"princess-sad-victor-bakerloo-whiskey-mike-saturn-uniform",
		"-a-b-c",
		"a-b-c-",
		"a--b-c",
		"a-b-c-d-",
		"a-b-c1",
		"a-b-c_d",
		"a-b-c d",
		"a-b-c\n",
		"a-b-\xc3\xa4",
		"a-b-c.",
		"a-b-c/../../etc",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(deckhash_valid(good[i], strlen(good[i])));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(deckhash_valid(bad[i], strlen(bad[i])));
	/* Length-bounded: an embedded NUL is just a bad character. */
	assert_false(deckhash_valid("a-b-c\0d", 7));
	assert_true(deckhash_valid("a-b-c\0d", 5));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_vectors),
		cmocka_unit_test(test_other_chunkings),
		cmocka_unit_test(test_humanize_bounds),
		cmocka_unit_test(test_wordlist),
		cmocka_unit_test(test_uuid_parse),
		cmocka_unit_test(test_uuid_random_and_format),
		cmocka_unit_test(test_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
