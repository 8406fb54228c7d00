/*
 * clock.h — milli- and microseconds on the monotonic clock, for deadlines and timers
 * (never for timestamps a user sees: those are UTC, see common/db.h).
 */
#ifndef ANKICOLLAB_CLOCK_H
#define ANKICOLLAB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static inline uint64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

#endif
