/*
 * ctl.h — ankicollabctl: the admin's command line.
 *
 * Commands that concern running processes talk to the supervisor over its
 * control socket (supervise.c); later ones (users, decks, review) open the
 * same database apid uses.
 */
#ifndef ANKICOLLAB_CTL_H
#define ANKICOLLAB_CTL_H

#include "common/config.h"

/* Exit statuses, as s6 uses them. */
#define CTL_EXIT_OK		0
#define CTL_EXIT_FAIL		1	/* the request was refused or failed */
#define CTL_EXIT_USAGE		100
#define CTL_EXIT_UNREACHABLE	111	/* no supervisor answers */

struct ctl {
	struct config	cfg;
	int		json;		/* --json */
};

/* supervise.c: status, start, stop, restart, reload. argv[0] is the command. */
int	ctl_supervise(struct ctl *ctl, int argc, char **argv);

#endif
