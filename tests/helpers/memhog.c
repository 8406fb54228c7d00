/*
 * memhog — a stand-in daemon for the memory-limit tests: run in a daemon's
 * slot through the `exec` key, it touches one more MiB every 10 ms until
 * something stops it. It ignores its arguments and the control socket.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
main(void)
{
	for (;;) {
		char *p = malloc(1 << 20);

		if (p != NULL)
			memset(p, 0xa5, 1 << 20);
		usleep(10000);
	}
}
