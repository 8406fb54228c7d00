/*
 * supervise.c — ankicollabctl's commands for the running suite:
 * status [--json], start|stop|restart NAME, reload, gc run [JOB].
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ctl/ctl.h"
#include "proto/msg.h"
#include "proto/proto.h"

#define CTL_TIMEOUT_MS	10000

int
ctl_connect(const struct ctl *ctl, char *path, size_t pathlen)
{
	struct sockaddr_un	sun;
	int			fd, waited;

	config_runtime_path(&ctl->cfg, "control.sock", path, pathlen);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return -1;
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	/*
	 * A wedged supervisor's full backlog makes a blocking connect wait for
	 * ever; retry a non-blocking one until the timeout instead.
	 */
	for (waited = 0; connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1;
	    waited += 50) {
		if (errno != EAGAIN || waited >= CTL_TIMEOUT_MS) {
			if (errno == EAGAIN)
				errno = ETIMEDOUT;
			close(fd);
			return -1;
		}
		usleep(50 * 1000);
	}
	fcntl(fd, F_SETFL, 0);
	return fd;
}

static void
print_status_text(const struct proto_daemon_status *st, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%s %s pid=%u rss_kb=%llu restarts=%u oom_kills=%u\n", st[i].name,
		    proto_state_name(st[i].state), st[i].pid,
		    (unsigned long long)st[i].rss_kb, st[i].restarts, st[i].oom_kills);
	if (n > 0)
		printf("supervisor running pid=%u memory_limits=%s\n", st[0].supervisor_pid,
		    proto_memory_mode_name(st[0].memory_mode));
}

static void
print_status_json(const struct proto_daemon_status *st, size_t n)
{
	json_object	*root = json_object_new_object(), *arr = json_object_new_array();
	json_object	*sup = json_object_new_object(), *d;
	size_t		 i;

	for (i = 0; i < n; i++) {
		d = json_object_new_object();
		json_object_object_add(d, "name", json_object_new_string(st[i].name));
		json_object_object_add(d, "state", json_object_new_string(proto_state_name(st[i].state)));
		json_object_object_add(d, "pid", json_object_new_int64(st[i].pid));
		json_object_object_add(d, "rss_kb", json_object_new_int64((int64_t)st[i].rss_kb));
		json_object_object_add(d, "restarts", json_object_new_int64(st[i].restarts));
		json_object_object_add(d, "oom_kills", json_object_new_int64(st[i].oom_kills));
		json_object_object_add(d, "memory_max", json_object_new_int64((int64_t)st[i].memory_max));
		json_object_object_add(d, "requests", json_object_new_int64((int64_t)st[i].requests));
		json_object_object_add(d, "uptime_ms", json_object_new_int64((int64_t)st[i].uptime_ms));
		json_object_object_add(d, "heartbeat_ok", json_object_new_boolean(st[i].heartbeat_ok != 0));
		json_object_object_add(d, "backoff_ms", json_object_new_int64((int64_t)st[i].backoff_ms));
		json_object_array_add(arr, d);
	}
	if (n > 0) {
		json_object_object_add(sup, "pid", json_object_new_int64(st[0].supervisor_pid));
		json_object_object_add(sup, "memory_limits",
		    json_object_new_string(proto_memory_mode_name(st[0].memory_mode)));
	}
	json_object_object_add(root, "supervisor", sup);
	json_object_object_add(root, "daemons", arr);
	printf("%s\n", json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN));
	json_object_put(root);
}

/* Sends one request and reads its answer up to CTL_RESULT. */
static int
ctl_request(const struct ctl *ctl, uint16_t type, const char *arg)
{
	struct proto_daemon_status	 st[DAEMON_COUNT];
	struct proto_reader		*r;
	struct proto_msg		 msg;
	char				 path[CONFIG_PATH_MAX], message[PROTO_RESULT_MAX];
	int32_t				 code;
	size_t				 n = 0;
	int				 fd, rc = CTL_EXIT_FAIL;

	if ((fd = ctl_connect(ctl, path, sizeof(path))) == -1) {
		fprintf(stderr, "ankicollabctl: the supervisor is not running "
		    "(nothing answers on %s: %s)\n", path, strerror(errno));
		return CTL_EXIT_UNREACHABLE;
	}
	if (proto_write_msg(fd, type, 1, -1, arg, arg ? strlen(arg) : 0) == -1) {
		fprintf(stderr, "ankicollabctl: %s: %s\n", path, strerror(errno));
		close(fd);
		return CTL_EXIT_UNREACHABLE;
	}
	if ((r = malloc(sizeof(*r))) == NULL) {
		close(fd);
		return CTL_EXIT_FAIL;
	}
	proto_reader_init(r);
	for (;;) {
		if (proto_read_msg(fd, r, &msg, CTL_TIMEOUT_MS) != 1) {
			fprintf(stderr, "ankicollabctl: no answer from the supervisor\n");
			rc = CTL_EXIT_UNREACHABLE;
			break;
		}
		if (msg.hdr.type == PROTO_CTL_DAEMON && n < DAEMON_COUNT &&
		    proto_daemon_status_dec(&msg, &st[n]) == 0) {
			n++;
			continue;
		}
		if (msg.hdr.type != PROTO_CTL_RESULT ||
		    proto_result_dec(&msg, &code, message, sizeof(message)) == -1) {
			fprintf(stderr, "ankicollabctl: unexpected answer from the supervisor\n");
			break;
		}
		if (code != 0) {
			fprintf(stderr, "ankicollabctl: %s\n", message);
			break;
		}
		rc = CTL_EXIT_OK;
		if (type == PROTO_CTL_STATUS) {
			if (ctl->json)
				print_status_json(st, n);
			else
				print_status_text(st, n);
		} else if (message[0] != '\0')
			printf("%s\n", message);
		break;
	}
	proto_reader_clear(r);
	free(r);
	close(fd);
	return rc;
}

/* gc run [JOB]: gcd runs it (all when none is named) and sends a summary. */
static int
ctl_gc(struct ctl *ctl, int argc, char **argv)
{
	if (argc < 2 || argc > 3 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: ankicollabctl gc run "
		    "[tokens|batches|notetypes|media|wal]\n");
		return CTL_EXIT_USAGE;
	}
	return ctl_request(ctl, PROTO_CTL_GC_RUN, argc == 3 ? argv[2] : NULL);
}

int
ctl_supervise(struct ctl *ctl, int argc, char **argv)
{
	static const struct {
		const char	*name;
		uint16_t	 type;
		int		 takes_name;
	} cmds[] = {
		{ "status",	PROTO_CTL_STATUS,	0 },
		{ "start",	PROTO_CTL_START,	1 },
		{ "stop",	PROTO_CTL_STOP,		1 },
		{ "restart",	PROTO_CTL_RESTART,	1 },
		{ "reload",	PROTO_CTL_RELOAD,	0 },
	};
	size_t i;

	if (strcmp(argv[0], "gc") == 0)
		return ctl_gc(ctl, argc, argv);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[0], cmds[i].name) != 0)
			continue;
		if (argc != 1 + cmds[i].takes_name) {
			fprintf(stderr, "usage: ankicollabctl %s%s\n", cmds[i].name,
			    cmds[i].takes_name ? " apid|mediad|gcd" : "");
			return CTL_EXIT_USAGE;
		}
		return ctl_request(ctl, cmds[i].type, cmds[i].takes_name ? argv[1] : NULL);
	}
	return -1;
}
