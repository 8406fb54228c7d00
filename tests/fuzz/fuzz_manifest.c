/*
 * fuzz_manifest.c — the backup MANIFEST reader (common/backup.c) on any
 * bytes. Beyond "no crash": every entry it accepts names a path inside the
 * backup (no "..", no leading "/"), a media entry's checksum is its name,
 * and an accepted manifest has exactly one database entry.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/backup.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static int
entry(const struct backup_entry *e, void *arg, char *err, size_t errlen)
{
	int *ndb = arg;

	fuzz_check(e->path[0] != '/' && strstr(e->path, "..") == NULL);
	fuzz_check(strlen(e->path) < sizeof(e->path));
	if (e->kind == BACKUP_MEDIA)
		fuzz_check(strlen(e->sum) == 32 && strcmp(e->path + 3, e->sum) == 0);
	else
		fuzz_check(strlen(e->sum) == 64);
	if (e->kind == BACKUP_DB)
		(*ndb)++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 err[256];
	FILE	*f;
	int	 schema, ndb = 0;

	if (size == 0 || (f = fmemopen((void *)data, size, "r")) == NULL)
		return 0;
	if (backup_manifest_read(f, &schema, entry, &ndb, err, sizeof(err)) == 0)
		fuzz_check(ndb == 1 && schema >= 0);
	else
		fuzz_check(err[0] != '\0');
	fclose(f);
	return 0;
}
