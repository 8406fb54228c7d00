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
#define GCD_BACKUP_FIRST_MS	1000		/* overdue: soon after start */

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
backup_arm(uint64_t ms)
{
	struct timeval	tv;

	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	event_del(backup_timer);
	event_add(backup_timer, &tv);
}

/* One per second at most: the backups' names are stamped to the second. */
static uint64_t
backup_interval_ms(const struct gcd *g)
{
	return g->d->cfg.backup_interval_ms < 1000 ? 1000 : g->d->cfg.backup_interval_ms;
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
	backup_arm(backup_interval_ms(g));
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

/*
 * The next backup is due an interval after the newest one in backup_dir,
 * not after this start: a gcd restarted daily would otherwise never take one.
 */
void
gcd_backup_rearm(struct gcd *g)
{
	uint64_t	ms = backup_interval_ms(g);
	int64_t		age;

	if (backup_timer == NULL)
		return;
	event_del(backup_timer);
	if (g->d->cfg.backup_dir[0] == '\0')
		return;
	age = backup_newest_age(g->d->cfg.backup_dir);
	if (age < 0 || (uint64_t)age * 1000 >= ms)
		ms = GCD_BACKUP_FIRST_MS;
	else
		ms -= (uint64_t)age * 1000;
	backup_arm(ms);
}

int
gcd_backup_start(struct gcd *g)
{
	if ((backup_timer = event_new(g->d->base, -1, 0, backup_fired, g)) == NULL)
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
