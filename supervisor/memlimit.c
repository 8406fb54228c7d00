/*
 * memlimit.c — memory_max per daemon, enforced one of two ways.
 *
 * cgroup v2: where our own cgroup is delegated to us with the memory
 * controller (systemd's Delegate=yes), we move ourselves into a leaf
 * "supervisor" (a cgroup that hands controllers down may hold no process),
 * enable +memory for the children, and give each daemon its own cgroup with
 * memory.max, memory.high (reclaim pressure before the hard limit) and
 * memory.oom.group. The kernel kills; memory.events' oom_kill tells us so.
 *
 * Otherwise (cgroup v1, no delegation, a container): RLIMIT_DATA at twice
 * the limit stops a runaway allocation outright, and child_tick() polls
 * each daemon's RSS plus swap every second and kills it once it is over
 * memory_max.
 */
#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "supervisor/supervisor.h"

#define CGROUP_ROOT	"/sys/fs/cgroup"

static uint64_t	oom_kill_seen[DAEMON_COUNT];

static int
write_file(const char *path, const char *value)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		return -1;
	n = write(fd, value, strlen(value));
	close(fd);
	return n == (ssize_t)strlen(value) ? 0 : -1;
}

static int
read_file(const char *path, char *buf, size_t len)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* Our cgroup v2 directory, from the "0::" line of /proc/self/cgroup. */
static int
cgroup_self_dir(char *out, size_t len)
{
	char	 buf[4096], *line, *save = NULL;

	if (access(CGROUP_ROOT "/cgroup.controllers", R_OK) == -1 ||
	    read_file("/proc/self/cgroup", buf, sizeof(buf)) == -1)
		return -1;
	for (line = strtok_r(buf, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::", 3) == 0) {
			snprintf(out, len, "%s%s", CGROUP_ROOT,
			    strcmp(line + 3, "/") == 0 ? "" : line + 3);
			return 0;
		}
	return -1;
}

static void
cgroup_path(const char *leaf, const char *file, char *out, size_t len)
{
	snprintf(out, len, "%s/%s/%s", sv->cgroup_dir, leaf, file);
}

static uint64_t
cgroup_oom_kills(enum daemon_id id)
{
	char		 path[CONFIG_PATH_MAX + 64], buf[1024], *p;

	cgroup_path(daemon_name(id), "memory.events", path, sizeof(path));
	if (read_file(path, buf, sizeof(buf)) == -1 || (p = strstr(buf, "oom_kill ")) == NULL)
		return 0;
	return strtoull(p + 9, NULL, 10);
}

static void
cgroup_write_limits(enum daemon_id id)
{
	const struct daemon_conf	*dc = &sv->cfg.daemon[id];
	char				 path[CONFIG_PATH_MAX + 64], val[32];

	cgroup_path(daemon_name(id), "memory.max", path, sizeof(path));
	if (dc->memory_max == 0)
		snprintf(val, sizeof(val), "max");
	else
		snprintf(val, sizeof(val), "%llu", (unsigned long long)dc->memory_max);
	if (write_file(path, val) == -1)
		log_warn("%s", path);
	/* Swapped-out pages would escape memory.max: a leak must end in a kill. */
	cgroup_path(daemon_name(id), "memory.swap.max", path, sizeof(path));
	if (access(path, F_OK) == 0 && write_file(path, dc->memory_max == 0 ? "max" : "0") == -1)
		log_warn("%s", path);
	cgroup_path(daemon_name(id), "memory.high", path, sizeof(path));
	if (dc->memory_max == 0)
		snprintf(val, sizeof(val), "max");
	else
		snprintf(val, sizeof(val), "%llu", (unsigned long long)dc->memory_high);
	if (write_file(path, val) == -1)
		log_warn("%s", path);
}

/* Leaf for ourselves, +memory for the children, one cgroup per daemon. */
static int
cgroup_setup(void)
{
	char	path[CONFIG_PATH_MAX + 64], buf[512], pid[32];
	int	i;

	if (cgroup_self_dir(sv->cgroup_dir, sizeof(sv->cgroup_dir)) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", sv->cgroup_dir);
	if (read_file(path, buf, sizeof(buf)) == -1 || strstr(buf, "memory") == NULL ||
	    access(sv->cgroup_dir, W_OK) == -1)
		return -1;

	cgroup_path("supervisor", "", path, sizeof(path));
	if (mkdir(path, 0755) == -1 && errno != EEXIST)
		return -1;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	cgroup_path("supervisor", "cgroup.procs", path, sizeof(path));
	if (write_file(path, pid) == -1)
		return -1;
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", sv->cgroup_dir);
	if (write_file(path, "+memory") == -1) {
		/* Others share our cgroup (no delegation): step back out. */
		snprintf(path, sizeof(path), "%s/cgroup.procs", sv->cgroup_dir);
		write_file(path, pid);
		cgroup_path("supervisor", "", path, sizeof(path));
		rmdir(path);
		return -1;
	}
	for (i = 0; i < DAEMON_COUNT; i++) {
		cgroup_path(daemon_name(i), "", path, sizeof(path));
		if (mkdir(path, 0755) == -1 && errno != EEXIST)
			return -1;
		cgroup_path(daemon_name(i), "memory.oom.group", path, sizeof(path));
		write_file(path, "1");
		cgroup_write_limits(i);
		oom_kill_seen[i] = cgroup_oom_kills(i);
	}
	return 0;
}

void
memlimit_init(void)
{
	if (cgroup_setup() == 0) {
		sv->memory_mode = PROTO_MEMORY_CGROUP;
		log_info("memory limits: cgroup v2 under %s", sv->cgroup_dir);
		return;
	}
	sv->cgroup_dir[0] = '\0';
	sv->memory_mode = PROTO_MEMORY_RLIMIT;
	log_info("memory limits: RLIMIT_DATA and RSS polling (no delegated cgroup v2 "
	    "memory controller)");
}

void
memlimit_apply(void)
{
	int i;

	if (sv->memory_mode == PROTO_MEMORY_CGROUP)
		for (i = 0; i < DAEMON_COUNT; i++)
			cgroup_write_limits(i);
}

/* Runs in the forked child, before exec. */
void
memlimit_enter(const struct child *c)
{
	uint64_t	max = sv->cfg.daemon[c->id].memory_max;
	struct rlimit	rl;
	char		path[CONFIG_PATH_MAX + 64];

	if (sv->memory_mode == PROTO_MEMORY_CGROUP) {
		cgroup_path(c->name, "cgroup.procs", path, sizeof(path));
		if (write_file(path, "0") == -1)
			_exit(111);
		return;
	}
	if (max == 0)
		return;
	/* A backstop against a sudden huge allocation; polling does the rest. */
	rl.rlim_cur = rl.rlim_max = max * 2 > max + (64u << 20) ? max * 2 : max + (64u << 20);
	setrlimit(RLIMIT_DATA, &rl);
}

int
memlimit_oom_killed(struct child *c)
{
	uint64_t n;

	if (sv->memory_mode != PROTO_MEMORY_CGROUP)
		return 0;
	n = cgroup_oom_kills(c->id);
	if (n <= oom_kill_seen[c->id])
		return 0;
	oom_kill_seen[c->id] = n;
	return 1;
}

uint64_t
memlimit_swap_kb(pid_t pid)
{
	char	 path[64], buf[2048], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, buf, sizeof(buf)) == -1 || (p = strstr(buf, "\nVmSwap:")) == NULL)
		return 0;
	return strtoull(p + 8, NULL, 10);
}

uint64_t
memlimit_rss_kb(pid_t pid)
{
	char		path[64], buf[128];
	unsigned long	size, resident;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if (read_file(path, buf, sizeof(buf)) == -1 ||
	    sscanf(buf, "%lu %lu", &size, &resident) != 2)
		return 0;
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE) / 1024;
}
