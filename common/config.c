/*
 * config.c — defaults, INI file, environment overrides; secrets on first run.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "common/config.h"
#include "common/hex.h"

enum key_type { K_STR, K_SIZE, K_UINT, K_MS, K_BOOL };

struct key {
	const char	*section;	/* "" for the top of the file */
	const char	*name;
	enum key_type	 type;
	size_t		 off;
	size_t		 size;		/* K_STR: capacity of the field */
	const char	*def;
	const char	*env;		/* upstream variable name, or NULL */
};

#define F(field)	offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define D(id, field)	F(daemon[id].field)

static const struct key keys[] = {
	{ "", "data_dir",		K_STR,	F(data_dir),		"./var", NULL },
	{ "", "runtime_dir",		K_STR,	F(runtime_dir),		"", NULL },
	{ "", "verbose",		K_BOOL,	F(verbose),		"no", NULL },
	{ "", "client_ip_header",	K_STR,	F(client_ip_header),	"", NULL },
	{ "", "website_base_url",	K_STR,	F(website_base_url),	"http://127.0.0.1:5555/ui", "WEBSITE_BASE_URL" },

	{ "supervisor", "heartbeat_interval", K_MS, F(heartbeat_interval_ms), "2s", NULL },
	{ "supervisor", "heartbeat_timeout", K_MS, F(heartbeat_timeout_ms), "20s", NULL },
	{ "supervisor", "start_timeout", K_MS,	F(start_timeout_ms),	"15s", NULL },
	{ "supervisor", "stop_timeout",	K_MS,	F(stop_timeout_ms),	"5s", NULL },
	{ "supervisor", "backoff_min",	K_MS,	F(backoff_min_ms),	"100ms", NULL },
	{ "supervisor", "backoff_max",	K_MS,	F(backoff_max_ms),	"30s", NULL },
	{ "supervisor", "healthy_after", K_MS,	F(healthy_after_ms),	"60s", NULL },
	{ "supervisor", "crash_window",	K_MS,	F(crash_window_ms),	"60s", NULL },
	{ "supervisor", "crash_limit",	K_UINT,	F(crash_limit),		"5", NULL },

	{ "apid", "listen",		K_STR,	D(DAEMON_APID, listen),	"127.0.0.1:5555", NULL },
	{ "apid", "memory_max",		K_SIZE,	D(DAEMON_APID, memory_max), "64M", NULL },
	{ "apid", "memory_high",	K_SIZE,	D(DAEMON_APID, memory_high), "0", NULL },
	{ "apid", "exec",		K_STR,	D(DAEMON_APID, exec),	"", NULL },
	{ "apid", "standard_rate_per_minute", K_UINT, F(standard_rate_per_minute), "600", "STANDARD_API_RATE_LIMIT_PER_MINUTE" },
	{ "apid", "strict_rate_per_minute", K_UINT, F(strict_rate_per_minute), "60", "STRICT_API_RATE_LIMIT_PER_MINUTE" },
	{ "apid", "media_rate_per_minute", K_UINT, F(media_rate_per_minute), "600", "MEDIA_API_RATE_LIMIT_PER_MINUTE" },
	{ "apid", "max_storage",	K_SIZE,	F(max_storage_bytes),	"500G", "MAX_STORAGE_BYTES" },
	{ "apid", "user_storage",	K_SIZE,	F(user_storage_bytes),	"10000M", NULL },
	{ "apid", "uploads_per_day",	K_UINT,	F(uploads_per_day),	"100000", NULL },
	{ "apid", "downloads_per_day",	K_UINT,	F(downloads_per_day),	"100000", NULL },

	{ "mediad", "listen",		K_STR,	D(DAEMON_MEDIAD, listen), "127.0.0.1:5556", NULL },
	{ "mediad", "memory_max",	K_SIZE,	D(DAEMON_MEDIAD, memory_max), "32M", NULL },
	{ "mediad", "memory_high",	K_SIZE,	D(DAEMON_MEDIAD, memory_high), "0", NULL },
	{ "mediad", "exec",		K_STR,	D(DAEMON_MEDIAD, exec),	"", NULL },
	{ "mediad", "public_url",	K_STR,	F(public_url),		"http://127.0.0.1:5556", "MEDIA_BASE_URL" },
	{ "mediad", "media_token_secret", K_STR, F(media_token_secret), "", "MEDIA_TOKEN_SECRET" },
	{ "mediad", "cache_token_secret", K_STR, F(cache_token_secret), "", "CACHE_TOKEN_SECRET" },
	{ "mediad", "upload_token_ttl",	K_UINT,	F(upload_token_ttl_s),	"900", "MEDIA_UPLOAD_TOKEN_TTL_SECS" },
	{ "mediad", "download_token_ttl", K_UINT, F(download_token_ttl_s), "900", "MEDIA_DOWNLOAD_TOKEN_TTL_SECS" },

	{ "gcd", "memory_max",		K_SIZE,	D(DAEMON_GCD, memory_max), "16M", NULL },
	{ "gcd", "memory_high",		K_SIZE,	D(DAEMON_GCD, memory_high), "0", NULL },
	{ "gcd", "exec",		K_STR,	D(DAEMON_GCD, exec),	"", NULL },
	{ "gcd", "orphan_grace",	K_MS,	F(gc_orphan_grace_ms),	"24h", NULL },
	{ "gcd", "media_interval",	K_MS,	F(gc_media_interval_ms), "4h", NULL },
	{ "gcd", "tokens_interval",	K_MS,	F(gc_tokens_interval_ms), "1h", NULL },
	{ "gcd", "batches_interval",	K_MS,	F(gc_batches_interval_ms), "5m", NULL },
	{ "gcd", "notetypes_interval",	K_MS,	F(gc_notetypes_interval_ms), "24h", NULL },
	{ "gcd", "wal_interval",	K_MS,	F(gc_wal_interval_ms),	"1h", NULL },
	{ "gcd", "strays_interval",	K_MS,	F(gc_strays_interval_ms), "24h", NULL },
	{ "gcd", "snapshots_interval",	K_MS,	F(gc_snapshots_interval_ms), "10m", NULL },
	{ "gcd", "stats_interval",	K_MS,	F(gc_stats_interval_ms), "24h", NULL },
	{ "gcd", "backup_dir",		K_STR,	F(backup_dir),		"", NULL },
	{ "gcd", "backup_interval",	K_MS,	F(backup_interval_ms),	"24h", NULL },
	{ "gcd", "backup_keep",		K_UINT,	F(backup_keep),		"7", NULL },
};

static const char *const daemon_names[DAEMON_COUNT] = { "apid", "mediad", "gcd" };

const char *
daemon_name(enum daemon_id id)
{
	return (unsigned)id < DAEMON_COUNT ? daemon_names[id] : NULL;
}

enum daemon_id
daemon_by_name(const char *name)
{
	int i;

	for (i = 0; i < DAEMON_COUNT; i++)
		if (strcmp(name, daemon_names[i]) == 0)
			return (enum daemon_id)i;
	return DAEMON_COUNT;
}

/* Splits a number from its unit suffix; the number must be plain decimal. */
static int
parse_number(const char *s, uint64_t *num, const char **unit)
{
	char			*end;
	unsigned long long	 v;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	*num = v;
	*unit = end;
	return 0;
}

static int
scale(uint64_t v, uint64_t mul, uint64_t *out)
{
	if (mul != 0 && v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int
config_parse_size(const char *s, uint64_t *out)
{
	const char	*u;
	uint64_t	 v, mul;

	if (parse_number(s, &v, &u) == -1)
		return -1;
	if (*u == '\0')
		mul = 1;
	else if (strcasecmp(u, "K") == 0 || strcasecmp(u, "KB") == 0 || strcasecmp(u, "KiB") == 0)
		mul = 1024;
	else if (strcasecmp(u, "M") == 0 || strcasecmp(u, "MB") == 0 || strcasecmp(u, "MiB") == 0)
		mul = 1024 * 1024;
	else if (strcasecmp(u, "G") == 0 || strcasecmp(u, "GB") == 0 || strcasecmp(u, "GiB") == 0)
		mul = 1024ULL * 1024 * 1024;
	else
		return -1;
	return scale(v, mul, out);
}

int
config_parse_duration_ms(const char *s, uint64_t *out)
{
	const char	*u;
	uint64_t	 v, mul;

	if (parse_number(s, &v, &u) == -1)
		return -1;
	if (*u == '\0' || strcmp(u, "s") == 0)
		mul = 1000;
	else if (strcmp(u, "ms") == 0)
		mul = 1;
	else if (strcmp(u, "m") == 0 || strcmp(u, "min") == 0)
		mul = 60 * 1000;
	else if (strcmp(u, "h") == 0)
		mul = 3600 * 1000;
	else
		return -1;
	return scale(v, mul, out);
}

/* Stores one value; returns NULL or a reason. */
static const char *
set_value(struct config *cfg, const struct key *k, const char *val)
{
	char		*p = (char *)cfg + k->off;
	uint64_t	 v;
	const char	*u;

	switch (k->type) {
	case K_STR:
		if (strlen(val) >= k->size)
			return "value too long";
		strcpy(p, val);
		return NULL;
	case K_SIZE:
		if (config_parse_size(val, &v) == -1)
			return "expected a size such as 512K, 64M or 2G";
		memcpy(p, &v, sizeof(v));
		return NULL;
	case K_UINT:
		if (parse_number(val, &v, &u) == -1 || *u != '\0')
			return "expected a whole number";
		memcpy(p, &v, sizeof(v));
		return NULL;
	case K_MS:
		if (config_parse_duration_ms(val, &v) == -1)
			return "expected a duration such as 250ms, 5s, 2m or 1h";
		memcpy(p, &v, sizeof(v));
		return NULL;
	case K_BOOL:
		if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0 ||
		    strcmp(val, "on") == 0)
			*(int *)(void *)p = 1;
		else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 ||
		    strcmp(val, "0") == 0 || strcmp(val, "off") == 0)
			*(int *)(void *)p = 0;
		else
			return "expected yes or no";
		return NULL;
	}
	return "internal: unknown key type";
}

static const struct key *
find_key(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

static int
known_section(const char *section)
{
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].section, section) == 0)
			return 1;
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One line of the file; returns NULL or the reason it is wrong. */
static const char *
parse_line(struct config *cfg, char *line, char *section, size_t seclen)
{
	const struct key	*k;
	char			*eq, *name, *val, *end;
	size_t			 n;

	line = trim(line);
	if (*line == '\0' || *line == '#' || *line == ';')
		return NULL;
	if (*line == '[') {
		end = strchr(line, ']');
		if (end == NULL || trim(end + 1)[0] != '\0')
			return "expected [section]";
		*end = '\0';
		name = trim(line + 1);
		if (!known_section(name) || *name == '\0')
			return "unknown section";
		n = strlen(name);
		if (n >= seclen)
			return "unknown section";
		memcpy(section, name, n + 1);
		return NULL;
	}
	if ((eq = strchr(line, '=')) == NULL)
		return "expected key = value";
	*eq = '\0';
	name = trim(line);
	val = trim(eq + 1);
	/* Allow "value" in quotes, for values with leading or trailing blanks. */
	n = strlen(val);
	if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
		val[n - 1] = '\0';
		val++;
	}
	if ((k = find_key(section, name)) == NULL)
		return "unknown key";
	return set_value(cfg, k, val);
}

/* True when fgets cut a line: no newline, the buffer full, more to come. */
static int
line_cut(const char *line, size_t size, FILE *fp)
{
	int c;

	if (strchr(line, '\n') != NULL || strlen(line) < size - 1)
		return 0;
	if ((c = getc(fp)) == EOF)
		return 0;
	ungetc(c, fp);
	return 1;
}

static int
load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	FILE		*fp;
	char		 line[4096], section[32] = "", *text;
	const char	*why;
	unsigned	 lineno = 0;

	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		lineno++;
		if (line_cut(line, sizeof(line), fp)) {
			snprintf(err, errlen, "%s:%u: line too long", path, lineno);
			fclose(fp);
			return -1;
		}
		/* Editors on other systems may start the file with a BOM. */
		text = line;
		if (lineno == 1 && strncmp(text, "\xef\xbb\xbf", 3) == 0)
			text += 3;
		if ((why = parse_line(cfg, text, section, sizeof(section))) != NULL) {
			snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
			fclose(fp);
			return -1;
		}
	}
	fclose(fp);
	return 0;
}

/* Values that parse but cannot work together. */
static int
config_check(const struct config *cfg, const char *path, char *err, size_t errlen)
{
	const char *where = path ? path : "defaults";

	if (cfg->crash_limit < 1 || cfg->crash_limit > CONFIG_CRASH_LIMIT_MAX)
		snprintf(err, errlen, "%s: crash_limit must be 1 to %d", where,
		    CONFIG_CRASH_LIMIT_MAX);
	else if (cfg->heartbeat_interval_ms == 0 ||
	    cfg->heartbeat_timeout_ms <= cfg->heartbeat_interval_ms)
		snprintf(err, errlen, "%s: heartbeat_timeout must be longer than "
		    "heartbeat_interval, which must not be 0", where);
	else if (cfg->backoff_min_ms == 0 || cfg->backoff_max_ms < cfg->backoff_min_ms)
		snprintf(err, errlen, "%s: backoff_min must be above 0 and at most backoff_max",
		    where);
	else if (cfg->daemon[DAEMON_APID].listen[0] == '\0' ||
	    cfg->daemon[DAEMON_MEDIAD].listen[0] == '\0')
		snprintf(err, errlen, "%s: apid and mediad need a listen address", where);
	else
		return 0;
	return -1;
}

int
config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	const char	*why, *v;
	size_t		 i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((why = set_value(cfg, &keys[i], keys[i].def)) != NULL) {
			snprintf(err, errlen, "default of %s: %s", keys[i].name, why);
			return -1;
		}
	if (path != NULL && *path != '\0') {
		if (strlen(path) >= sizeof(cfg->path)) {
			snprintf(err, errlen, "%s: path too long", path);
			return -1;
		}
		strcpy(cfg->path, path);
		if (load_file(cfg, path, err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (keys[i].env == NULL || (v = getenv(keys[i].env)) == NULL)
			continue;
		if ((why = set_value(cfg, &keys[i], v)) != NULL) {
			snprintf(err, errlen, "environment %s: %s", keys[i].env, why);
			return -1;
		}
	}
	if (cfg->data_dir[0] == '\0') {
		snprintf(err, errlen, "%s: data_dir must not be empty", path ? path : "defaults");
		return -1;
	}
	for (i = 0; i < DAEMON_COUNT; i++) {
		struct daemon_conf *d = &cfg->daemon[i];

		if (d->memory_high == 0 || d->memory_high > d->memory_max)
			d->memory_high = d->memory_max / 8 * 7;
	}
	return config_check(cfg, path, err, errlen);
}

void
config_runtime_path(const struct config *cfg, const char *name, char *out, size_t outlen)
{
	if (cfg->runtime_dir[0] != '\0')
		snprintf(out, outlen, "%s/%s", cfg->runtime_dir, name);
	else
		snprintf(out, outlen, "%s/run/%s", cfg->data_dir, name);
}

void
config_data_path(const struct config *cfg, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", cfg->data_dir, name);
}

int
config_secret(const struct config *cfg, const char *name, char *buf, size_t buflen,
    char *err, size_t errlen)
{
	char		 dir[CONFIG_PATH_MAX + 16], path[CONFIG_PATH_MAX + 64];
	unsigned char	 raw[32];
	ssize_t		 n;
	int		 fd;

	snprintf(dir, sizeof(dir), "%s/secrets", cfg->data_dir);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, buf, buflen - 1);
		close(fd);
		if (n < 32) {
			snprintf(err, errlen, "%s: shorter than 32 bytes", path);
			return -1;
		}
		buf[n] = '\0';
		buf[strcspn(buf, "\r\n")] = '\0';
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((mkdir(cfg->data_dir, 0750) == -1 && errno != EEXIST) ||
	    (mkdir(dir, 0700) == -1 && errno != EEXIST)) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (RAND_bytes(raw, sizeof(raw)) != 1 || buflen < 2 * sizeof(raw) + 1) {
		snprintf(err, errlen, "cannot generate a secret");
		return -1;
	}
	hex_encode(raw, sizeof(raw), buf);
	/* O_EXCL: if another process won the race, read its secret instead. */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) == -1) {
		if (errno == EEXIST)
			return config_secret(cfg, name, buf, buflen, err, errlen);
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	n = write(fd, buf, strlen(buf));
	if (n != (ssize_t)strlen(buf) || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		unlink(path);
		return -1;
	}
	close(fd);
	return 0;
}

int
config_ensure_secrets(struct config *cfg, char *err, size_t errlen)
{
	if (cfg->media_token_secret[0] == '\0' &&
	    config_secret(cfg, "media_token_secret", cfg->media_token_secret,
	    sizeof(cfg->media_token_secret), err, errlen) == -1)
		return -1;
	if (cfg->cache_token_secret[0] == '\0')
		strcpy(cfg->cache_token_secret, cfg->media_token_secret);
	return 0;
}
