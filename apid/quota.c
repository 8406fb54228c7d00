/*
 * quota.c — §9's per-user, per-address and monthly media quotas (quota.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apid/apid.h"
#include "apid/quota.h"
#include "common/db.h"
#include "common/log.h"

#define QUOTA_MONTHLY_OPS	100000000ULL	/* §9: checks per calendar month */
#define QUOTA_ADDRS		1024		/* addresses counted per day */

/* A day's counts of one address. */
struct quota_addr {
	char		ip[64];
	int64_t		day;		/* days since the epoch; 0: a free slot */
	uint64_t	uploads;
	uint64_t	downloads;
};

static struct quota_addr	addrs[QUOTA_ADDRS];
static int64_t			ops_month = -1;
static uint64_t			ops;

static int64_t
today(void)
{
	return (int64_t)time(NULL) / 86400;
}

/*
 * The slot of ip for today; made when create (§9: checks make them, counts
 * only add to existing ones). Full of today's addresses, the one with the
 * fewest counts is reused: the table stays bounded, and an address flooding
 * it from many others can only forget the least active.
 */
static struct quota_addr *
quota_addr(const char *ip, int create)
{
	struct quota_addr	*a, *free_slot = NULL, *least = NULL;
	int64_t			 day = today();
	size_t			 i;

	for (i = 0; i < QUOTA_ADDRS; i++) {
		a = &addrs[i];
		if (a->day == day && strcmp(a->ip, ip) == 0)
			return a;
		if (a->day != day) {
			if (free_slot == NULL)
				free_slot = a;
		} else if (least == NULL || a->uploads + a->downloads < least->uploads +
		    least->downloads)
			least = a;
	}
	if (!create)
		return NULL;
	if ((a = free_slot) == NULL)
		a = least;
	memset(a, 0, sizeof(*a));
	snprintf(a->ip, sizeof(a->ip), "%s", ip);
	a->day = day;
	return a;
}

/* §9: every check counts against the month's operations, allowed or not. */
static int
quota_op(void)
{
	time_t		now = time(NULL);
	struct tm	tm;
	int64_t		month;

	gmtime_r(&now, &tm);
	month = (int64_t)tm.tm_year * 12 + tm.tm_mon;
	if (month != ops_month) {
		ops_month = month;
		ops = 0;
	}
	return ++ops <= QUOTA_MONTHLY_OPS;
}

/* A user's row as of today (day counts reset lazily): 1, 0 without a row, -1. */
static int
quota_user(int64_t user, uint64_t *storage, uint64_t *uploads, uint64_t *downloads)
{
	static const char sql[] =
	    "SELECT storage_used,"
	    " CASE WHEN date(last_reset, 'unixepoch') < date('now') THEN 0 ELSE upload_count END,"
	    " CASE WHEN date(last_reset, 'unixepoch') < date('now') THEN 0 ELSE download_count END"
	    " FROM user_quotas WHERE user_id = ?1";
	sqlite3_stmt	*st;
	int		 rc;

	*storage = *uploads = *downloads = 0;
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	if ((rc = db_step(st)) == DB_ROW) {
		*storage = (uint64_t)sqlite3_column_int64(st, 0);
		*uploads = (uint64_t)sqlite3_column_int64(st, 1);
		*downloads = (uint64_t)sqlite3_column_int64(st, 2);
	}
	db_stmt_done(st);
	return rc == DB_ROW ? 1 : rc == DB_OK ? 0 : -1;
}

int
quota_upload_allowed(int64_t user, const char *ip, uint64_t files, uint64_t bytes)
{
	const struct config	*cfg = &apid->d.cfg;
	struct quota_addr	*a;
	uint64_t		 storage, up, down;

	if (!quota_op())
		return 0;
	if (quota_user(user, &storage, &up, &down) == -1)
		return -1;
	a = quota_addr(ip, 1);
	if (storage + bytes > cfg->user_storage_bytes || up + files >= cfg->uploads_per_day ||
	    a->uploads + files >= cfg->uploads_per_day) {
		log_info("quota: upload of %llu files, %llu bytes refused to user %lld at %s "
		    "(stored %llu, today %llu by the user, %llu by the address)",
		    (unsigned long long)files, (unsigned long long)bytes, (long long)user, ip,
		    (unsigned long long)storage, (unsigned long long)up,
		    (unsigned long long)a->uploads);
		return 0;
	}
	return 1;
}

int
quota_download_allowed(int64_t user, const char *ip, uint64_t files)
{
	const struct config	*cfg = &apid->d.cfg;
	struct quota_addr	*a;
	uint64_t		 storage, up, down;

	if (!quota_op())
		return 0;
	if (quota_user(user, &storage, &up, &down) == -1)
		return -1;
	a = quota_addr(ip, 1);
	if (down + files >= cfg->downloads_per_day || a->downloads + files >= cfg->downloads_per_day) {
		log_info("quota: %llu downloads refused to user %lld at %s (today %llu by the "
		    "user, %llu by the address)", (unsigned long long)files, (long long)user, ip,
		    (unsigned long long)down, (unsigned long long)a->downloads);
		return 0;
	}
	return 1;
}

/* Adds to a user's row, resetting the day counts on a new day. */
static int
quota_add(int64_t user, uint64_t bytes, uint64_t uploads, uint64_t downloads)
{
	static const char sql[] =
	    "INSERT INTO user_quotas (user_id, storage_used, upload_count, download_count,"
	    " last_reset) VALUES (?1, ?2, ?3, ?4, unixepoch())"
	    " ON CONFLICT (user_id) DO UPDATE SET"
	    "  storage_used = storage_used + excluded.storage_used,"
	    "  upload_count = excluded.upload_count + CASE WHEN"
	    "   date(last_reset, 'unixepoch') < date('now') THEN 0 ELSE upload_count END,"
	    "  download_count = excluded.download_count + CASE WHEN"
	    "   date(last_reset, 'unixepoch') < date('now') THEN 0 ELSE download_count END,"
	    "  last_reset = CASE WHEN date(last_reset, 'unixepoch') < date('now')"
	    "   THEN unixepoch() ELSE last_reset END";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_int64(st, 2, (int64_t)bytes);
	sqlite3_bind_int64(st, 3, (int64_t)uploads);
	sqlite3_bind_int64(st, 4, (int64_t)downloads);
	rc = db_step(st);
	db_stmt_done(st);
	return rc == DB_OK ? 0 : -1;
}

int
quota_uploaded(int64_t user, const char *ip, uint64_t files, uint64_t bytes)
{
	struct quota_addr	*a;

	if (files == 0)
		return 0;
	if ((a = quota_addr(ip, 0)) != NULL)
		a->uploads += files;
	return quota_add(user, bytes, files, 0);
}

int
quota_downloaded(int64_t user, const char *ip, uint64_t files)
{
	struct quota_addr	*a;

	if (files == 0)
		return 0;
	if ((a = quota_addr(ip, 0)) != NULL)
		a->downloads += files;
	return quota_add(user, 0, 0, files);
}
