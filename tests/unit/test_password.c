/*
 * test_password.c — Argon2 PHC hashes, user names and user hashes
 * (spec/api.md §2.8 "User hash", §5).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apid/password.h"

static enum password_result
verify(const char *phc, const char *pw)
{
	return password_verify(phc, pw, strlen(pw), NULL);
}

static void
test_hash_roundtrip(void **state)
{
	char	a[PASSWORD_PHC_MAX], b[PASSWORD_PHC_MAX];

	(void)state;
	assert_int_equal(password_hash("hunter2hunter2", 14, a, sizeof(a)), 0);
	/* Upstream's parameters: RustCrypto defaults. */
	assert_true(strncmp(a, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
	/* 16-byte salt, 32-byte tag, unpadded base64. */
	assert_int_equal(strlen(a), 31 + 22 + 1 + 43);
	assert_int_equal(verify(a, "hunter2hunter2"), PASSWORD_OK);
	assert_int_equal(verify(a, "hunter2hunter3"), PASSWORD_MISMATCH);
	assert_int_equal(verify(a, "hunter2hunter"), PASSWORD_MISMATCH);
	assert_int_equal(verify(a, ""), PASSWORD_MISMATCH);

	/* A fresh salt every time. */
	assert_int_equal(password_hash("hunter2hunter2", 14, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	assert_int_equal(verify(b, "hunter2hunter2"), PASSWORD_OK);

	/* Empty and binary passwords work too. */
	assert_int_equal(password_hash("", 0, a, sizeof(a)), 0);
	assert_int_equal(verify(a, ""), PASSWORD_OK);
	assert_int_equal(password_hash("a\0b", 3, a, sizeof(a)), 0);
	assert_int_equal(password_verify(a, "a\0b", 3, NULL), PASSWORD_OK);
	assert_int_equal(password_verify(a, "a\0c", 3, NULL),
	    PASSWORD_MISMATCH);
}

static void
test_hash_small_buffer(void **state)
{
	char	buf[PASSWORD_PHC_MAX];

	(void)state;
	assert_int_equal(password_hash("x", 1, buf, 97), -1);
	assert_int_equal(password_hash("x", 1, buf, 98), 0);
}

/*
 * Reference vectors of the Argon2 reference implementation
 * (P-H-C/phc-winner-argon2 src/test.c): "password", salt "somesalt".
 */
static void
test_reference_vectors(void **state)
{
	static const char *const ok[] = {
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ"
		    "$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc",
		"$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ"
		    "$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8",
		"$argon2i$v=19$m=256,t=2,p=2$c29tZXNhbHQ"
		    "$T/XOJ2mh1/TIpJHfCdQan76Q5esCFVoT5MAeIM1Oq2E",
		/* version 16: no "v=" field */
		"$argon2i$m=256,t=2,p=1$c29tZXNhbHQ"
		    "$/U3YPXYsSb3q9XxHvc0MLxur+GP960kN9j7emXX8zwY",
		"$argon2i$m=256,t=2,p=2$c29tZXNhbHQ"
		    "$tsEVYKap1h6scGt5ovl9aLRGOqOth+AMB+KwHpDFZPs",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(verify(ok[i], "password"), PASSWORD_OK);
		assert_int_equal(verify(ok[i], "Password"), PASSWORD_MISMATCH);
	}
}

/*
 * Upstream's parameters (argon2id, m=19456, t=2, p=1), made once with
 * libargon2 and the salt "ankicollab-lite!"; and an older argon2i one.
 */
static void
test_upstream_parameters(void **state)
{
	static const char id[] = "$argon2id$v=19$m=19456,t=2,p=1"
	    "$YW5raWNvbGxhYi1saXRlIQ"
	    "$ypdKy6af7+sURg8EFL+DrKYRZZPeLI3US4Zud2y+wXQ";
	static const char i3[] = "$argon2i$v=19$m=4096,t=3,p=1"
	    "$YW5raWNvbGxhYi1saXRlIQ"
	    "$7ko6AObUYOznm56vsDkcxQE7Uq79VuHqHeKl+qicQNc";

	(void)state;
	assert_int_equal(verify(id, "correct horse battery staple"),
	    PASSWORD_OK);
	assert_int_equal(verify(id, "correct horse battery stapler"),
	    PASSWORD_MISMATCH);
	assert_int_equal(verify(i3, "correct horse battery staple"),
	    PASSWORD_OK);
	assert_int_equal(verify(i3, "correct horse battery"),
	    PASSWORD_MISMATCH);
}

static void
test_bad_hashes(void **state)
{
	static const char *const bad[] = {
		"",
		"hunter2",
		"$2b$12$abcdefghijklmnopqrstuv",
		"$argon2x$v=19$m=256,t=2,p=1$c29tZXNhbHQ$aGFzaA",
		"$argon2id$",
		"$argon2id$v=19$m=256,t=2,p=1$",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$",
		"$argon2id$v=19$m=256,t=2,p=1c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4!",
		"$argon2id$v=19$m=256,t=2,p=1$c2!tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=1,t=2,p=1$c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2id$v=19$m=256,t=2,p=0$c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		/* salt too short (4 bytes) */
		"$argon2id$v=19$m=256,t=2,p=1$c2FsdA"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
		"$argon2d$v=19$m=256,t=2,p=1$c29tZXNhbHQ",
		"$ARGON2ID$v=19$m=256,t=2,p=1$c29tZXNhbHQ"
		    "$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4",
	};
	const char	*detail;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		detail = NULL;
		assert_int_equal(password_verify(bad[i], "password", 8,
		    &detail), PASSWORD_BADHASH);
		assert_non_null(detail);
		assert_true(strlen(detail) > 0);
	}
}

static void
test_username_normalize(void **state)
{
	static const struct {
		const char	*in;
		const char	*out;
	} ok[] = {
		{ "alice", "alice" },
		{ "  Alice.B@Example.com \t\n", "alice.b@example.com" },
		{ "ALICE_bob-2", "alice_bob-2" },
		{ "a", "a" },
		{ "@.-_", "@.-_" },
	};
	static const char *const bad[] = {
		"", "   ", "al ice", "alice+x", "al\303\244ce", "a/b", "a\\b",
		"a'b", "a\"b", "a;b", "\x01", "a\tb",
	};
	char	out[PASSWORD_USERNAME_MAX + 1], big[PASSWORD_USERNAME_MAX + 8];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(password_username_normalize(ok[i].in,
		    strlen(ok[i].in), out, sizeof(out)),
		    (int)strlen(ok[i].out));
		assert_string_equal(out, ok[i].out);
		assert_true(password_username_valid(out, strlen(out)));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(password_username_normalize(bad[i],
		    strlen(bad[i]), out, sizeof(out)), -1);

	/* PASSWORD_USERNAME_MAX bytes fit; one more does not. */
	memset(big, 'x', sizeof(big));
	assert_int_equal(password_username_normalize(big,
	    PASSWORD_USERNAME_MAX, out, sizeof(out)), PASSWORD_USERNAME_MAX);
	assert_int_equal(password_username_normalize(big,
	    PASSWORD_USERNAME_MAX + 1, out, sizeof(out)), -1);
	assert_int_equal(password_username_normalize(big,
	    PASSWORD_USERNAME_MAX + 1, big, sizeof(big)), -1);
	/* Too small an output buffer. */
	assert_int_equal(password_username_normalize("alice", 5, out, 5), -1);
	assert_int_equal(password_username_normalize("alice", 5, out, 6), 5);
}

static void
test_username_valid(void **state)
{
	(void)state;
	assert_true(password_username_valid("bob", 3));
	/* Stored names are lower-case and trimmed. */
	assert_false(password_username_valid("Bob", 3));
	assert_false(password_username_valid(" bob", 4));
	assert_false(password_username_valid("", 0));
	assert_false(password_username_valid("b\0b", 3));
}

static void
test_username_login(void **state)
{
	char	out[32];

	(void)state;
	/* Lower-cased, not trimmed: " Alice" never finds "alice". */
	assert_int_equal(password_username_login(" Alice", 6, out,
	    sizeof(out)), 6);
	assert_string_equal(out, " alice");
	assert_int_equal(password_username_login("B\xc3\x84", 3, out,
	    sizeof(out)), 3);
	assert_string_equal(out, "b\xc3\x84");
	assert_int_equal(password_username_login("abc", 3, out, 3), -1);
}

static void
test_user_hash(void **state)
{
	char	hex[PASSWORD_USER_HASH_LEN + 1];

	(void)state;
	assert_int_equal(password_user_hash("alice", 5, hex), 0);
	assert_string_equal(hex,
	    "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90");
	assert_int_equal(password_user_hash("", 0, hex), 0);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_roundtrip),
		cmocka_unit_test(test_hash_small_buffer),
		cmocka_unit_test(test_reference_vectors),
		cmocka_unit_test(test_upstream_parameters),
		cmocka_unit_test(test_bad_hashes),
		cmocka_unit_test(test_username_normalize),
		cmocka_unit_test(test_username_valid),
		cmocka_unit_test(test_username_login),
		cmocka_unit_test(test_user_hash),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
