/*
 * quota.h — §9's media quotas ("RateLimiter" business limits): what a user
 * and an address may upload and download, on top of the global storage cap
 * that /media/check/bulk checks against mediad's usage.
 *
 * Per user (user_quotas, so they survive restarts): storage uploaded in
 * all (never decreases, [apid] user_storage), files uploaded and
 * downloaded per UTC day (uploads_per_day, downloads_per_day). Per address
 * (in memory, as upstream's): the same day counts. And a global count of
 * checks per calendar month (100 000 000).
 *
 * Checks follow §9 to the letter (storage: used + new > cap; counts:
 * count + n >= limit). What is counted differs in when: upstream counts a
 * PUT or GET as mediad serves it; mediad keeps no database, so here an
 * upload counts when /media/confirm/bulk records it, and a download when
 * /media/manifest hands out its URL.
 */
#ifndef ANKICOLLAB_APID_QUOTA_H
#define ANKICOLLAB_APID_QUOTA_H

#include <stdint.h>

/* Inside the caller's transaction. 1 allowed, 0 denied (then 429), -1 DB fault. */
int	quota_upload_allowed(int64_t user, const char *ip, uint64_t files, uint64_t bytes);
int	quota_download_allowed(int64_t user, const char *ip, uint64_t files);

/* Counts what was done; inside the caller's transaction. 0 or -1. */
int	quota_uploaded(int64_t user, const char *ip, uint64_t files, uint64_t bytes);
int	quota_downloaded(int64_t user, const char *ip, uint64_t files);

#endif
