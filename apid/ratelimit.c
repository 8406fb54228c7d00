/*
 * ratelimit.c — token buckets in a fixed table, keyed by class and client.
 */
#include <stdio.h>
#include <string.h>

#include "apid/apid.h"
#include "apid/ratelimit.h"
#include "apid/token.h"
#include "common/http.h"

#define PROBE	16		/* slots looked at per key */

struct bucket {
	uint64_t	key;		/* 0: free */
	double		tokens;
	int64_t		last_us;	/* when tokens was right */
};

static struct bucket	table[RATELIMIT_SLOTS];

static const char *const strict_paths[] = {
	"/login", "/refreshToken", "/removeToken", "/CheckUserToken", "/GetUserHashFromToken",
};

enum rate_class
ratelimit_class(const char *path)
{
	size_t i;

	/* The web login guesses passwords as well as /login does. */
	if (strcmp(path, "/ui/login") == 0)
		return RATE_STRICT;
	if (strcmp(path, "/health") == 0 || strcmp(path, "/metrics") == 0 ||
	    strncmp(path, "/ui/", 4) == 0 || strcmp(path, "/ui") == 0)
		return RATE_NONE;
	for (i = 0; i < sizeof(strict_paths) / sizeof(strict_paths[0]); i++)
		if (strcmp(path, strict_paths[i]) == 0)
			return RATE_STRICT;
	if (strncmp(path, "/media/", 7) == 0)
		return RATE_MEDIA;
	return RATE_STANDARD;
}

static uint64_t
class_limit(enum rate_class class)
{
	const struct config *cfg = &apid->d.cfg;

	switch (class) {
	case RATE_STANDARD:
		return cfg->standard_rate_per_minute;
	case RATE_STRICT:
		return cfg->strict_rate_per_minute;
	case RATE_MEDIA:
		return cfg->media_rate_per_minute;
	default:
		return 0;
	}
}

/* FNV-1a over the class and the client key; never 0 (the free mark). */
static uint64_t
bucket_key(enum rate_class class, const char *client)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)class;

	for (; *client != '\0'; client++)
		h = (h ^ (unsigned char)*client) * 1099511628211ULL;
	return h ? h : 1;
}

/* The client's bucket, made full if new; the stalest in the window goes. */
static struct bucket *
bucket_find(uint64_t key, double burst, int64_t now)
{
	struct bucket	*b, *stalest = NULL;
	size_t		 i, at = key % RATELIMIT_SLOTS;

	for (i = 0; i < PROBE; i++) {
		b = &table[(at + i) % RATELIMIT_SLOTS];
		if (b->key == key)
			return b;
		if (b->key == 0 || stalest == NULL || b->last_us < stalest->last_us)
			stalest = b;
		if (b->key == 0)
			break;
	}
	stalest->key = key;
	stalest->tokens = burst;
	stalest->last_us = now;
	return stalest;
}

static void
add_number_header(struct http_request *req, const char *name, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	http_add_header(req, name, buf);
}

int
ratelimit_check(struct http_request *req, int64_t now)
{
	enum rate_class	 class = ratelimit_class(http_req_path(req));
	uint64_t	 limit = class_limit(class);
	const char	*authz = http_req_header(req, "Authorization");
	char		 client[TOKEN_RATEKEY_MAX], body[64];
	double		 rate, wait;
	struct bucket	*b;
	long long	 after;
	int		 n;

	if (class == RATE_NONE || limit == 0)
		return 0;
	token_ratelimit_key(authz, authz ? strlen(authz) : 0, http_req_peer(req), client,
	    sizeof(client));
	b = bucket_find(bucket_key(class, client), (double)limit, now);
	rate = (double)limit / 60e6;		/* tokens per µs */
	b->tokens += (double)(now - b->last_us) * rate;
	if (b->tokens > (double)limit)
		b->tokens = (double)limit;
	b->last_us = now;
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		add_number_header(req, "x-ratelimit-limit", (long long)limit);
		add_number_header(req, "x-ratelimit-remaining", (long long)b->tokens);
		return 0;
	}
	wait = (1.0 - b->tokens) / rate / 1e6;
	after = (long long)wait + ((double)(long long)wait < wait ? 1 : 0);
	add_number_header(req, "x-ratelimit-after", after);
	add_number_header(req, "retry-after", after);
	add_number_header(req, "x-ratelimit-limit", (long long)limit);
	http_add_header(req, "x-ratelimit-remaining", "0");
	n = snprintf(body, sizeof(body), "Too Many Requests! Wait for %llds", after);
	http_respond(req, 429, NULL, body, (size_t)n);
	return -1;
}
