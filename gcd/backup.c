/*
 * backup.c — gcd's periodic backups into [gcd] backup_dir (common/backup.c
 * does the work). A backup of a big data dir on an SD card takes longer
 * than a heartbeat timeout, so it runs in a thread of its own while the
 * event loop keeps answering the supervisor; one at a time.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

#include <event2/event.h>

#include "common/backup.h"
#include "common/daemon.h"
#include "common/log.h"
#include "gcd/gcd.h"

#define GCD_BACKUP_STACK	(256 * 1024)	/* counted against memory_max */

static struct event	*backup_timer;
static pthread_t	 backup_thread;
static int		 backup_started;	/* backup_thread is to be joined */
static atomic_int	 backup_busy;
static struct config	 backup_cfg;		/* the thread's copy */

static void *
backup_main(void *arg)
{
	char	line[512];

	if (backup_periodic(&backup_cfg, line, sizeof(line)) == -1)
		log_warnx("%s", line);
	else
		log_info("%s", line);
	atomic_store(&backup_busy, 0);
	return NULL;
}

static void
backup_fired(evutil_socket_t fd, short ev, void *arg)
{
	struct gcd	*g = arg;
	pthread_attr_t	 attr;
	sigset_t	 all, old;
	int		 rc;

	if (g->d->cfg.backup_dir[0] == '\0')
		return;
	if (atomic_load(&backup_busy)) {
		log_notice("backup: the previous one still runs; skipped");
		return;
	}
	if (backup_started)
		pthread_join(backup_thread, NULL);
	backup_started = 0;
	backup_cfg = g->d->cfg;
	atomic_store(&backup_busy, 1);
	/* Signals stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, GCD_BACKUP_STACK);
	rc = pthread_create(&backup_thread, &attr, backup_main, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		atomic_store(&backup_busy, 0);
		log_warnx("backup: cannot start a thread: %s", strerror(rc));
		return;
	}
	backup_started = 1;
}

void
gcd_backup_rearm(struct gcd *g)
{
	struct timeval	tv;
	uint64_t	ms = g->d->cfg.backup_interval_ms;

	if (backup_timer == NULL)
		return;
	event_del(backup_timer);
	if (g->d->cfg.backup_dir[0] == '\0')
		return;
	if (ms < 1000)
		ms = 1000;	/* one per second at most: the names are stamped so */
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_add(backup_timer, &tv);
}

int
gcd_backup_start(struct gcd *g)
{
	if ((backup_timer = event_new(g->d->base, -1, EV_PERSIST, backup_fired, g)) == NULL)
		return -1;
	gcd_backup_rearm(g);
	return 0;
}

/* A backup under way is finished: stopping mid-way would waste it. */
void
gcd_backup_stop(struct gcd *g)
{
	if (backup_timer != NULL)
		event_free(backup_timer);
	backup_timer = NULL;
	if (backup_started)
		pthread_join(backup_thread, NULL);
	backup_started = 0;
}
