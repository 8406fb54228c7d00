/*
 * test_backup.c — the backup MANIFEST reader (common/backup.c): what it
 * accepts, and that it refuses cut, miscounted, or path-escaping manifests
 * with the line at fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/backup.h"

#define SHA_A	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define MD5_X	"0a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define HEAD	"ankicollab-lite-backup 1\nschema 3\ncreated 2026-11-29T22:00:00Z\n"

struct seen {
	struct backup_entry	e[8];
	int			n;
};

static int
collect(const struct backup_entry *e, void *arg, char *err, size_t errlen)
{
	struct seen *s = arg;

	if (s->n < 8)
		s->e[s->n] = *e;
	s->n++;
	return 0;
}

static int
parse(const char *text, struct seen *s, int *schema, char *err, size_t errlen)
{
	FILE	*f;
	int	 rc;

	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	assert_non_null(f = fmemopen((void *)text, strlen(text), "r"));
	rc = backup_manifest_read(f, schema, collect, s, err, errlen);
	fclose(f);
	return rc;
}

static void
test_good(void **state)
{
	static const char m[] = HEAD
	    "media 0a/" MD5_X " 1234\n"
	    "secret secrets/media_token_secret 64 " SHA_A "\n"
	    "db ankicollab.db 4096 " SHA_B "\n"
	    "end 3\n";
	struct seen	s;
	char		err[256];
	int		schema = -1;

	(void)state;
	assert_int_equal(parse(m, &s, &schema, err, sizeof(err)), 0);
	assert_int_equal(schema, 3);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.e[0].kind, BACKUP_MEDIA);
	assert_string_equal(s.e[0].path, "0a/" MD5_X);
	assert_string_equal(s.e[0].sum, MD5_X);
	assert_int_equal(s.e[0].size, 1234);
	assert_int_equal(s.e[1].kind, BACKUP_SECRET);
	assert_string_equal(s.e[1].path, "secrets/media_token_secret");
	assert_string_equal(s.e[1].sum, SHA_A);
	assert_int_equal(s.e[2].kind, BACKUP_DB);
	assert_int_equal(s.e[2].size, 4096);
}

static void
test_refused(void **state)
{
	static const struct {
		const char	*text;
		const char	*why;
	} bad[] = {
		{ "", "not a backup manifest" },
		{ "ankicollab-lite-backup 2\nschema 3\n", "not a backup manifest" },
		{ "ankicollab-lite-backup 1\nschema x\n", "no schema version" },
		{ HEAD "db ankicollab.db 4096 " SHA_B "\n", "line 5: cut short" },
		{ HEAD "db ankicollab.db 4096 " SHA_B "\nend 3\n", "lists 1 files" },
		{ HEAD "media 0a/" MD5_X " 1\nend 1\n", "0 database entries" },
		{ HEAD "db ankicollab.db 1 " SHA_B "\ndb ankicollab.db 1 " SHA_B "\nend 2\n",
		    "2 database entries" },
		{ HEAD "db ankicollab.db 4096 " SHA_B "\nend 1\nmore\n", "text after" },
		{ HEAD "db ankicollab.db 4096 " SHA_B "\nend 1", "line 5: cut short" },
		{ HEAD "db ../ankicollab.db 1 " SHA_B "\nend 1\n", "line 4: malformed" },
		{ HEAD "secret secrets/../../etc/passwd 1 " SHA_A "\n", "line 4: malformed" },
		{ HEAD "secret secrets/.hidden 1 " SHA_A "\n", "line 4: malformed" },
		{ HEAD "media 0b/" MD5_X " 1\n", "line 4: malformed" },
		{ HEAD "media 0a/" MD5_X "0 1\n", "line 4: malformed" },
		{ HEAD "media 0A/0A1B2C3D4E5F60718293A4B5C6D7E8F9 1\n", "line 4: malformed" },
		{ HEAD "media 0a/" MD5_X " 1 " SHA_A "\n", "line 4: malformed" },
		{ HEAD "db ankicollab.db -1 " SHA_B "\n", "line 4: malformed" },
		{ HEAD "db ankicollab.db 99999999999999999 " SHA_B "\n", "line 4: malformed" },
		{ HEAD "db ankicollab.db 1  " SHA_B "\n", "line 4: malformed" },
		{ HEAD "db ankicollab.db 1 " SHA_B "x\n", "line 4: malformed" },
	};
	struct seen	s;
	char		err[256];
	size_t		i;
	int		schema;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i].text, &s, &schema, err, sizeof(err)), -1);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err, bad[i].why);
	}
}

/* A line longer than BACKUP_LINE_MAX is refused, not split into two. */
static void
test_long_line(void **state)
{
	char		text[BACKUP_LINE_MAX * 2 + 200], err[256];
	struct seen	s;
	int		schema;

	(void)state;
	snprintf(text, sizeof(text), "%ssecret secrets/%0*d 1 %s\nend 1\n", HEAD,
	    BACKUP_LINE_MAX, 0, SHA_A);
	assert_int_equal(parse(text, &s, &schema, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 4"));
	assert_int_equal(s.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
