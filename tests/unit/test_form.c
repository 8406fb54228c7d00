/*
 * test_form.c — form bodies and Cookie headers (common/form.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/form.h"

static int
field(const char *body, const char *name, char *out, size_t outsz)
{
	return form_field(body, strlen(body), name, out, outsz);
}

static int
cookie(const char *hdr, const char *name, char *out, size_t outsz)
{
	return form_cookie(hdr, strlen(hdr), name, out, outsz);
}

static void
test_field(void **state)
{
	char	v[32];

	(void)state;
	assert_int_equal(field("a=1&b=two&c=", "b", v, sizeof(v)), 3);
	assert_string_equal(v, "two");
	assert_int_equal(field("a=1&b=two&c=", "c", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(field("a=1&b=two&c", "c", v, sizeof(v)), 0);
	assert_int_equal(field("a=1&b=two", "d", v, sizeof(v)), FORM_ABSENT);
	assert_int_equal(field("", "a", v, sizeof(v)), FORM_ABSENT);
	/* The first of several, and names are decoded before comparing. */
	assert_int_equal(field("x=1&x=2", "x", v, sizeof(v)), 1);
	assert_string_equal(v, "1");
	assert_int_equal(field("%6eote=g%2Bu+id&&", "note", v, sizeof(v)), 6);
	assert_string_equal(v, "g+u id");
	/* '=' inside a value is data. */
	assert_int_equal(field("k=a=b", "k", v, sizeof(v)), 3);
	assert_string_equal(v, "a=b");
	assert_int_equal(field("k=%C3%A9", "k", v, sizeof(v)), 2);
	assert_string_equal(v, "\xc3\xa9");
}

static void
test_field_bad(void **state)
{
	char	v[8];

	(void)state;
	assert_int_equal(field("k=%4", "k", v, sizeof(v)), FORM_BAD);
	assert_string_equal(v, "");
	assert_int_equal(field("k=%zz", "k", v, sizeof(v)), FORM_BAD);
	assert_int_equal(field("k=a%00b", "k", v, sizeof(v)), FORM_BAD);
	/* Seven bytes fit in eight with the NUL; eight do not. */
	assert_int_equal(field("k=1234567", "k", v, sizeof(v)), 7);
	assert_int_equal(field("k=12345678", "k", v, sizeof(v)), FORM_BAD);
	assert_int_equal(field("k=1", "k", v, 0), FORM_BAD);
	/* A malformed name is skipped, not an error for the others. */
	assert_int_equal(field("%zz=1&k=2", "k", v, sizeof(v)), 1);
	assert_string_equal(v, "2");
	/* Only len bytes are read. */
	assert_int_equal(form_field("k=12&j=3", 4, "k", v, sizeof(v)), 2);
	assert_int_equal(form_field("k=12&j=3", 4, "j", v, sizeof(v)), FORM_ABSENT);
}

static void
test_cookie(void **state)
{
	char	v[16];

	(void)state;
	assert_int_equal(cookie("a=1; sid=abc; b=2", "sid", v, sizeof(v)), 3);
	assert_string_equal(v, "abc");
	assert_int_equal(cookie("sid=abc", "sid", v, sizeof(v)), 3);
	assert_int_equal(cookie("  sid = \"q\" ;x=1", "sid", v, sizeof(v)), 1);
	assert_string_equal(v, "q");
	assert_int_equal(cookie("xsid=1; sidx=2", "sid", v, sizeof(v)), FORM_ABSENT);
	assert_int_equal(cookie("sid", "sid", v, sizeof(v)), FORM_ABSENT);
	assert_int_equal(cookie("sid=", "sid", v, sizeof(v)), 0);
	assert_int_equal(cookie("", "sid", v, sizeof(v)), FORM_ABSENT);
	assert_int_equal(cookie("sid=a,b", "sid", v, sizeof(v)), FORM_BAD);
	assert_int_equal(cookie("sid=a\\b", "sid", v, sizeof(v)), FORM_BAD);
	assert_int_equal(cookie("sid=\xc3\xa9", "sid", v, sizeof(v)), FORM_BAD);
	assert_int_equal(cookie("sid=0123456789abcdef", "sid", v, sizeof(v)), FORM_BAD);
	assert_int_equal(cookie("sid=0123456789abcde", "sid", v, sizeof(v)), 15);
	assert_int_equal(cookie("a=1;sid=2", "sid", v, 0), FORM_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_field_bad),
		cmocka_unit_test(test_cookie),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
