/*
 * ratelimit.h — requests per minute per user (or address) per route class.
 *
 * The upstream variables keep their names, but mean what they say here
 * (DESIGN.md): STANDARD_API_RATE_LIMIT_PER_MINUTE = N lets a client make a
 * burst of N requests, refilled evenly over the minute (a token bucket);
 * 0 switches a class off. Classes are spec/api.md §2.10's: strict for the
 * account routes, media for the /media/ routes, standard for the rest of the add-on's
 * routes; /health, /metrics and the web UI are never limited, except the web
 * login, which is strict like /login.
 *
 * Buckets live in a fixed table (RATELIMIT_SLOTS), so a flood of addresses
 * costs no memory: when a probe window is full the stalest bucket goes,
 * which at worst forgives a client that had been quiet longest.
 */
#ifndef ANKICOLLAB_APID_RATELIMIT_H
#define ANKICOLLAB_APID_RATELIMIT_H

#include <stdint.h>

struct http_request;

enum rate_class { RATE_NONE, RATE_STANDARD, RATE_STRICT, RATE_MEDIA, RATE_CLASSES };

#define RATELIMIT_SLOTS	4096

/* The class of a path. */
enum rate_class	ratelimit_class(const char *path);

/*
 * Takes one request's token. Returns 0 when allowed (and adds the
 * x-ratelimit headers), or answers 429 itself and returns -1.
 */
int		ratelimit_check(struct http_request *req, int64_t now_us);

#endif
