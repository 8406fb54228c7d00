/*
 * peak_rss.c — runs a command and prints its peak RSS, for the benches.
 *
 *	peak_rss COMMAND [ARG...]
 *
 * Prints "peak_rss_kb N" on standard error once COMMAND exits, and exits
 * with its status. Linux carries a parent's high-water mark over fork and
 * exec into the child's ru_maxrss, so a child of a 60 MB Python reports at
 * least 60 MB; forked from this small program instead, the figure is the
 * command's own.
 */
#include <sys/resource.h>
#include <sys/wait.h>

#include <stdio.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct rusage	ru;
	pid_t		pid;
	int		status;

	if (argc < 2) {
		fprintf(stderr, "usage: peak_rss command [arg ...]\n");
		return 100;
	}
	if ((pid = fork()) == -1) {
		perror("fork");
		return 111;
	}
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		perror(argv[1]);
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) == -1) {
		perror("wait4");
		return 111;
	}
	fprintf(stderr, "peak_rss_kb %ld\n", ru.ru_maxrss);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
