/*
 * guard.c — replay guards (spec/api.md §8.4): how often each token was used.
 *
 * Upstream keeps a map token string → (exp, uses) without bound. Here the
 * key is the first GUARD_KEY_LEN bytes of the token's MAC, which names the
 * token string as well (a token decodes canonically) in 24 bytes per entry,
 * and the table holds at most `max` entries: the supervisor kills mediad at
 * memory_max, so nothing a client can make grow may grow without bound.
 *
 * At the cap, expired entries go first; if every entry is live, the one
 * closest to expiry is dropped (counted in `evicted`, logged). That token
 * can then be used up to its maximum again in the little time it has left:
 * the guard degrades for the oldest tokens rather than refusing new ones.
 * Reaching it takes more live tokens than the cap within one token TTL, and
 * only apid (or the website) can mint them.
 *
 * Linear probing; deletion shifts later entries back, so there are no
 * tombstones and a lookup stops at the first free slot.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "mediad/mediad.h"

#define GUARD_MIN_SLOTS	256

void
guard_init(struct guard *g, size_t max)
{
	memset(g, 0, sizeof(*g));
	g->max = max;
	g->min_exp = INT64_MAX;
}

/* MAC bytes are uniformly random: any of them is a good hash. */
static size_t
guard_home(const struct guard *g, const uint8_t *key)
{
	uint64_t	 h;

	memcpy(&h, key, sizeof(h));
	return (size_t)h & (g->nslots - 1);
}

/* The slot holding key, or the free slot where it would go. */
static size_t
guard_find(const struct guard *g, const uint8_t *key)
{
	size_t	 i = guard_home(g, key);

	while (g->slot[i].uses != 0 && memcmp(g->slot[i].key, key, GUARD_KEY_LEN) != 0)
		i = (i + 1) & (g->nslots - 1);
	return i;
}

/* Empties slot i, moving back later entries of its probe run. */
static void
guard_delete(struct guard *g, size_t i)
{
	size_t	 j = i, k, mask = g->nslots - 1;

	for (;;) {
		j = (j + 1) & mask;
		if (g->slot[j].uses == 0)
			break;
		k = guard_home(g, g->slot[j].key);
		/* Entry j may fill the hole unless its home lies cyclically in (i, j]. */
		if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
			g->slot[i] = g->slot[j];
			i = j;
		}
	}
	g->slot[i].uses = 0;
	g->count--;
}

/*
 * Drops entries with exp < now. A deletion only pulls entries from later in
 * the run into the slot just looked at, so looking at it again is enough.
 */
static void
guard_purge(struct guard *g, time_t now)
{
	size_t	 i;
	int64_t	 min = INT64_MAX;

	g->purged = now;
	if (g->count == 0 || g->min_exp >= (int64_t)now)
		return;
	for (i = 0; i < g->nslots; i++) {
		while (g->slot[i].uses != 0 && g->slot[i].exp < (int64_t)now)
			guard_delete(g, i);
		if (g->slot[i].uses != 0 && g->slot[i].exp < min)
			min = g->slot[i].exp;
	}
	g->min_exp = min;
}

/* Every entry is live: drop the one that expires first. */
static void
guard_evict(struct guard *g, time_t now)
{
	size_t	 i, victim = 0;
	int64_t	 min = INT64_MAX;

	for (i = 0; i < g->nslots; i++)
		if (g->slot[i].uses != 0 && g->slot[i].exp <= min) {
			min = g->slot[i].exp;
			victim = i;
		}
	guard_delete(g, victim);
	g->evicted++;
	/* Once a minute at most: a full guard stays full for a while. */
	if (now - g->warned >= 60) {
		g->warned = now;
		log_warnx("replay guard full (%zu tokens): forgetting those closest to expiry "
		    "(%llu so far)", g->max, (unsigned long long)g->evicted);
	}
}

/* Doubles the table (or makes the first). -1 if out of memory. */
static int
guard_grow(struct guard *g)
{
	struct guard_entry	*old = g->slot, *nslot;
	size_t			 oldn = g->nslots, n, i, j;

	n = oldn == 0 ? GUARD_MIN_SLOTS : oldn * 2;
	if ((nslot = calloc(n, sizeof(*nslot))) == NULL)
		return -1;
	g->slot = nslot;
	g->nslots = n;
	for (i = 0; i < oldn; i++) {
		if (old[i].uses == 0)
			continue;
		j = guard_find(g, old[i].key);
		g->slot[j] = old[i];
	}
	free(old);
	return 0;
}

uint32_t
guard_uses(struct guard *g, const uint8_t *mac, time_t now)
{
	size_t	 i;

	if (g->count == 0)
		return 0;
	if (now != g->purged)
		guard_purge(g, now);
	i = guard_find(g, mac);
	return g->slot[i].uses;
}

/* Makes room for one more entry. -1 if out of memory. */
static int
guard_room(struct guard *g, time_t now)
{
	if (g->count >= g->max)
		guard_purge(g, now);
	if (g->count >= g->max)
		guard_evict(g, now);
	/* Keep the load at or under one half. */
	if ((g->count + 1) * 2 > g->nslots)
		return guard_grow(g);
	return 0;
}

int
guard_use(struct guard *g, const uint8_t *mac, int64_t exp, uint32_t max, time_t now)
{
	size_t	 i;

	if (now != g->purged)
		guard_purge(g, now);
	if (g->nslots > 0) {
		i = guard_find(g, mac);
		if (g->slot[i].uses != 0) {
			if (g->slot[i].uses >= max)
				return -1;
			g->slot[i].uses++;
			return 0;
		}
	}
	if (guard_room(g, now) == -1) {
		/* Without memory the guard cannot count: refuse rather than allow. */
		log_warnx("replay guard: out of memory");
		return -1;
	}
	i = guard_find(g, mac);
	memcpy(g->slot[i].key, mac, GUARD_KEY_LEN);
	g->slot[i].uses = 1;
	g->slot[i].exp = exp;
	g->count++;
	if (exp < g->min_exp)
		g->min_exp = exp;
	return 0;
}
