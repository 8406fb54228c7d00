/*
 * test_migrate_copy.c — rows of PostgreSQL's COPY text format as
 * ankicollabctl migrate from-postgres reads them (ctl/migrate_copy.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ctl/migrate.h"

/* Splits a copy of text (the parser writes into its row). */
static int
split(const char *text, char *buf, size_t buflen, char **val, size_t *vlen,
    size_t n)
{
	size_t	len = strlen(text);

	assert_true(len < buflen);
	memcpy(buf, text, len + 1);
	return mig_copy_row(buf, len, val, vlen, n);
}

static void
test_columns_and_nulls(void **state)
{
	char	 buf[256], *val[4];
	size_t	 vlen[4];

	(void)state;
	assert_int_equal(split("12\t\\N\tabc\t\n", buf, sizeof(buf), val, vlen, 4), 0);
	assert_string_equal(val[0], "12");
	assert_null(val[1]);
	assert_string_equal(val[2], "abc");
	assert_int_equal(vlen[2], 3);
	assert_string_equal(val[3], "");		/* empty is not NULL */
	assert_int_equal(vlen[3], 0);
	/* Without its newline, and NULL last. */
	assert_int_equal(split("1\t\\N", buf, sizeof(buf), val, vlen, 2), 0);
	assert_string_equal(val[0], "1");
	assert_null(val[1]);
	/* "\N" only means NULL alone: here it is a backslash-escaped N. */
	assert_int_equal(split("\\Nx", buf, sizeof(buf), val, vlen, 1), 0);
	assert_string_equal(val[0], "Nx");
}

static void
test_escapes(void **state)
{
	char	 buf[256], *val[2];
	size_t	 vlen[2];

	(void)state;
	assert_int_equal(split("a\\tb\\nc\\\\d\\re\tx\\101\\x41\\x4g\\q\\0z\n",
	    buf, sizeof(buf), val, vlen, 2), 0);
	assert_string_equal(val[0], "a\tb\nc\\d\re");
	assert_int_equal(vlen[1], 8);
	assert_memory_equal(val[1], "xAA\x04gq\0z", 8);
	assert_int_equal(split("\\b\\f\\v\\x", buf, sizeof(buf), val, vlen, 1), 0);
	assert_string_equal(val[0], "\b\f\vx");
}

static void
test_refusals(void **state)
{
	char	 buf[256], *val[3];
	size_t	 vlen[3];

	(void)state;
	/* Too few or too many columns, a lone backslash at the end. */
	assert_int_equal(split("1\t2", buf, sizeof(buf), val, vlen, 3), -1);
	assert_int_equal(split("1\t2\t3\t4", buf, sizeof(buf), val, vlen, 3), -1);
	assert_int_equal(split("1\t2\\", buf, sizeof(buf), val, vlen, 2), -1);
	assert_int_equal(split("", buf, sizeof(buf), val, vlen, 1), 0);
	assert_string_equal(val[0], "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_columns_and_nulls),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
