/*
 * ankicollab-gcd — the periodic cleanup jobs (orphaned media, expired tokens,
 * WAL checkpoints, …). It has no HTTP port: the supervisor sees it alive
 * through the start-up exchange and its heartbeats.
 *
 * Reads top to bottom: config (daemon_init), jobs, the event loop.
 */
#include "common/daemon.h"

int
main(int argc, char *argv[])
{
	static struct daemon d;

	daemon_init(&d, DAEMON_GCD, argc, argv);
	daemon_ready(&d, NULL);
	return daemon_run(&d);
}
