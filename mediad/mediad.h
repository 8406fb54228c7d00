/*
 * mediad.h — the media daemon: its context and its route areas.
 */
#ifndef ANKICOLLAB_MEDIAD_H
#define ANKICOLLAB_MEDIAD_H

#include <time.h>

#include "common/daemon.h"

struct http_route;

struct mediad {
	struct daemon		 d;
	time_t			 started;
};

extern struct mediad	*mediad;

/* health.c */
extern const struct http_route	health_route;

#endif
