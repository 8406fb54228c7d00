/*
 * config.h — the one config reader, shared by every program.
 *
 * An INI-style file: "key = value" lines, "[section]" headers, "#" or ";"
 * comments. Every key has a default; the upstream AnkiCollab environment
 * variable names override the file. A bad line is reported as
 * "FILE:LINE: what is wrong".
 *
 * To add a key: a field here, a row in config.c's table. Nothing else.
 */
#ifndef ANKICOLLAB_CONFIG_H
#define ANKICOLLAB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX	512
#define CONFIG_STR_MAX	256
#define CONFIG_CRASH_LIMIT_MAX	16	/* deaths a supervisor remembers */

/* The daemons the supervisor runs, in start order. */
enum daemon_id {
	DAEMON_APID,
	DAEMON_MEDIAD,
	DAEMON_GCD,
	DAEMON_COUNT
};

/* What every supervised slot has. */
struct daemon_conf {
	char		listen[CONFIG_STR_MAX];	/* host:port; empty for gcd */
	uint64_t	memory_max;		/* bytes; 0 = no limit */
	uint64_t	memory_high;		/* bytes; 0 = 7/8 of memory_max */
	char		exec[CONFIG_PATH_MAX];	/* empty = the sibling binary */
};

struct config {
	char		path[CONFIG_PATH_MAX];	/* the file read; empty = defaults */

	char		data_dir[CONFIG_PATH_MAX];
	char		runtime_dir[CONFIG_PATH_MAX];	/* empty = data_dir/run */
	int		verbose;
	char		client_ip_header[CONFIG_STR_MAX];	/* trusted proxy header, or empty */
	char		website_base_url[CONFIG_STR_MAX];

	/* [supervisor] */
	uint64_t	heartbeat_interval_ms;
	uint64_t	heartbeat_timeout_ms;	/* no answer this long: killed */
	uint64_t	start_timeout_ms;	/* not ready this long: killed */
	uint64_t	stop_timeout_ms;
	uint64_t	backoff_min_ms;
	uint64_t	backoff_max_ms;
	uint64_t	healthy_after_ms;	/* running this long resets the backoff */
	uint64_t	crash_window_ms;	/* deaths counted within this window */
	uint64_t	crash_limit;		/* this many in the window: failed */

	struct daemon_conf daemon[DAEMON_COUNT];

	/* [apid] */
	uint64_t	standard_rate_per_minute;
	uint64_t	strict_rate_per_minute;
	uint64_t	media_rate_per_minute;
	uint64_t	max_storage_bytes;
	/* §9 per user (and per address for the day counts) */
	uint64_t	user_storage_bytes;	/* cumulative bytes a user may upload */
	uint64_t	uploads_per_day;
	uint64_t	downloads_per_day;

	/* [mediad] */
	char		public_url[CONFIG_STR_MAX];
	char		media_token_secret[CONFIG_STR_MAX];	/* empty = generated */
	char		cache_token_secret[CONFIG_STR_MAX];	/* empty = media secret */
	uint64_t	upload_token_ttl_s;
	uint64_t	download_token_ttl_s;

	/* [gcd]: how often each job runs, and how long an orphan is kept */
	uint64_t	gc_orphan_grace_ms;	/* unreferenced media and notetypes */
	uint64_t	gc_media_interval_ms;
	uint64_t	gc_tokens_interval_ms;
	uint64_t	gc_batches_interval_ms;	/* upload batches, bulk operations */
	uint64_t	gc_notetypes_interval_ms;
	uint64_t	gc_wal_interval_ms;	/* checkpoint, PRAGMA optimize */
	uint64_t	gc_strays_interval_ms;	/* media files the database does not know */
	uint64_t	gc_snapshots_interval_ms; /* deck snapshots out of date (§10) */
	uint64_t	gc_stats_interval_ms;	/* calculated_stats, decks' stats figures */
	char		backup_dir[CONFIG_PATH_MAX];	/* periodic backups; empty = off */
	uint64_t	backup_interval_ms;
	uint64_t	backup_keep;		/* backups kept, the oldest removed */
};

/* "apid", "mediad", "gcd"; NULL for an out-of-range id. */
const char	*daemon_name(enum daemon_id id);
/* DAEMON_COUNT when the name is not a daemon's. */
enum daemon_id	 daemon_by_name(const char *name);

/*
 * Defaults, then the file (path may be NULL: defaults only), then the
 * environment. Returns 0, or -1 with "FILE:LINE: reason" in err.
 */
int	config_load(struct config *cfg, const char *path, char *err, size_t errlen);

/* Absolute runtime paths derived from the config. */
void	config_runtime_path(const struct config *cfg, const char *name, char *out, size_t outlen);
void	config_data_path(const struct config *cfg, const char *name, char *out, size_t outlen);

/*
 * Fills empty secrets from data_dir/secrets/NAME, generating a random one
 * (mode 0600) the first time. Returns 0, or -1 with a reason in err.
 */
int	config_ensure_secrets(struct config *cfg, char *err, size_t errlen);

/*
 * data_dir/secrets/NAME into buf (at least 65 bytes), created with a fresh
 * random secret (mode 0600) if absent. Returns 0, or -1 with a reason in err.
 */
int	config_secret(const struct config *cfg, const char *name, char *buf, size_t buflen,
	    char *err, size_t errlen);

/* "64M" → 67108864. Returns 0 or -1. Exposed for tests. */
int	config_parse_size(const char *s, uint64_t *out);
/* "5s", "250ms", "2m", "1h", bare number = seconds → milliseconds. */
int	config_parse_duration_ms(const char *s, uint64_t *out);

#endif
