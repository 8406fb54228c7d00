/*
 * snapshot.c — deck snapshots for the cache bootstrap (spec/api.md §10).
 */
#include "common/daemon.h"
#include "gcd/gcd.h"

#include <stdio.h>

int
gc_snapshots(struct gcd *g, char *out, size_t outlen)
{
	(void)g;
	snprintf(out, outlen, "snapshots: 0 built");
	return 0;
}
