/*
 * apid.h — the plugin HTTP API daemon: its context and its route areas.
 */
#ifndef ANKICOLLAB_APID_H
#define ANKICOLLAB_APID_H

#include <time.h>

#include "common/daemon.h"

struct http_request;

struct apid {
	struct daemon		 d;
	time_t			 started;
};

extern struct apid	*apid;

/* health.c */
void	health_get(struct http_request *req);

#endif
