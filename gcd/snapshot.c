/*
 * snapshot.c — deck snapshots for the cache bootstrap (spec/api.md §10,
 * spec/client.md §2.2.1 (b)).
 *
 * A new subscriber's first /pullChanges of a big deck is the heaviest thing
 * apid does. Upstream points such a subscriber at a pre-built archive
 * instead; this job builds them, in the background, for every root deck
 * changed since its last snapshot, a few decks per run:
 *
 *	data_dir/cache/decks/<hash>/<version>.zip
 *		deck/deck.json.gz	gzip of [pull result], §3.2 shape
 *		media/<name>		every file the deck's notes reference
 *	data_dir/cache/decks/<hash>/manifest/<version>.json
 *		{"deck_data":{"path":"deck/deck.json.gz","compression":"gzip"},
 *		 "source_last_update":"…Z","media":{"path_prefix":"media/"},
 *		 "archive":{"s3_key":"decks/<hash>/<version>.zip"}}
 *
 * and a deck_cache row naming both, with the deck's last_update when it
 * was cut. apid answers a new subscription with a bootstrap entry only
 * while that row's source_last_update is the deck's current last_update;
 * mediad serves the two files under /v1/cache/object.
 *
 * The deck JSON is exactly what apid's /pullChanges sends (its code, not a
 * copy): gcd asks apid over loopback for the whole deck (timestamp 1970),
 * inflates the GZB64 answer as it comes (checking it is one whole gzip
 * member holding a non-empty array) and gzips it again into the ZIP. Both
 * the answer and the archive are streamed: memory is a few buffers and
 * zlib states whatever the deck's size. Media are copied a file at a time
 * (a gzipped one inflated on the way), their names read in pages.
 *
 * Files are written under a ".tmp" name and renamed when whole; the row
 * comes after the files, and old versions (and decks gone) are deleted
 * after the commit that dropped their rows. Anything a crash leaves in
 * cache/decks/ that no row names is removed by the next run.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <minizip/zip.h>
#include <zlib.h>

#include "common/daemon.h"
#include "common/db.h"
#include "common/gzb64.h"
#include "common/log.h"
#include "common/mediaclient.h"
#include "gcd/gcd.h"
#include "proto/msg.h"
#include "proto/proto.h"

#define SNAP_PER_RUN		8	/* decks built per run; the rest wait for the next */
#define SNAP_NAMES_PAGE		256	/* media names per query */
#define SNAP_BUF		65536
#define SNAP_FETCH_TIMEOUT_S	120	/* idle seconds */
#define SNAP_SINCE		"1970-01-01 00:00:00"	/* the whole deck */
#define SNAP_DECK_PATH		"deck/deck.json.gz"
#define SNAP_MEDIA_PREFIX	"media/"
#define SNAP_KEY_MAX		256

#define SNAP_WAITERS	8
/*
 * How long `gc run snapshots` waits for the build: under ankicollabctl's 10 s
 * (and the supervisor's 15 s); a longer build is answered "still building"
 * and ends in the log.
 */
#define SNAP_WAIT_MS	8000
#define SNAP_STACK	(512u << 10)

struct snap_job {
	struct gcd		*g;
	struct config		 cfg;
	struct db		*db;
	pthread_t		 th;
	int			 pipe[2];
	struct event		*ev;
	struct event		*wait_ev;	/* the waiters' patience */
	int			 rc;
	char			 line[256];
	struct {
		struct proto_peer	*peer;
		uint32_t		 id;
	}			 wait[SNAP_WAITERS];
	int			 nwait;
};

struct snap {
	struct snap_job	*j;
	int64_t		 deck;
	int64_t		 last_us;	/* decks.last_update when cut */
	char		 hash[128];
	char		 version[96];	/* 20260601T100000123456Z */
	char		 version_ts[DB_TIME_LEN];
	char		 dir[CONFIG_PATH_MAX + 160];	/* data_dir/cache/decks/<hash> */
	char		 zip_key[SNAP_KEY_MAX];
	char		 manifest_key[SNAP_KEY_MAX];
	zipFile		 zf;
	uint8_t		*buf;		/* SNAP_BUF: deflated bytes, media copies */
	uint8_t		*in;		/* SNAP_BUF: apid's answer as it comes */

	/* The deck member: apid's answer, inflated, checked and gzipped again. */
	struct gzb64_dec *dec;
	struct event_base *base;	/* the fetch's own loop */
	z_stream	 z;
	int		 z_ready;
	int		 http_status;
	int		 failed;
	char		 first[2];	/* the JSON's first bytes: "[{" */
	size_t		 nfirst;
	uint64_t	 json_bytes;
	int64_t		 media;		/* files put in the archive */
	int64_t		 missing;	/* referenced, not stored */
};

/* ---- the deck member ----------------------------------------------------- */

/* Deflates what is in s->z into the open ZIP member; flush as for deflate(). */
static int
snap_deflate(struct snap *s, int flush)
{
	size_t	have;
	int	rc;

	do {
		s->z.next_out = s->buf;
		s->z.avail_out = SNAP_BUF;
		if ((rc = deflate(&s->z, flush)) == Z_STREAM_ERROR)
			return -1;
		have = SNAP_BUF - s->z.avail_out;
		if (have > 0 && zipWriteInFileInZip(s->zf, s->buf, (unsigned)have) != ZIP_OK)
			return -1;
	} while (s->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

/* gzb64 sink: JSON text of the pull answer. */
static int
snap_json(void *arg, const void *data, size_t len)
{
	struct snap	*s = arg;
	const char	*p = data;

	while (s->nfirst < sizeof(s->first) && len > 0) {
		s->first[s->nfirst++] = *p++;
		len--;
		s->z.next_in = (Bytef *)(uintptr_t)&s->first[s->nfirst - 1];
		s->z.avail_in = 1;
		if (snap_deflate(s, Z_NO_FLUSH) == -1)
			return -1;
	}
	s->json_bytes += (uint64_t)(p - (const char *)data) + len;
	if (len == 0)
		return 0;
	s->z.next_in = (Bytef *)(uintptr_t)p;
	s->z.avail_in = (uInt)len;
	return snap_deflate(s, Z_NO_FLUSH);
}

/* libevent: more of apid's answer arrived. */
static void
snap_chunk(struct evhttp_request *req, void *arg)
{
	struct snap	*s = arg;
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	size_t		 n;

	if (s->http_status == 0)
		s->http_status = evhttp_request_get_response_code(req);
	while ((n = evbuffer_get_length(in)) > 0) {
		if (n > SNAP_BUF)
			n = SNAP_BUF;
		evbuffer_remove(in, s->in, n);
		if (s->failed || s->http_status != 200)
			continue;	/* drained and dropped */
		/* Not s->buf: the sink deflates into that while this is read. */
		if (gzb64_dec_feed(s->dec, s->in, n) != 0)
			s->failed = 1;
	}
}

static void
snap_done(struct evhttp_request *req, void *arg)
{
	struct snap	*s = arg;

	/* The connection would linger, kept alive: the loop must end here. */
	event_base_loopbreak(s->base);
	if (req == NULL || evhttp_request_get_response_code(req) == 0) {
		s->failed = 1;
		return;
	}
	snap_chunk(req, s);
}

/* "host:port" of apid's listener, as a loopback client reaches it. */
static int
snap_apid_addr(const struct config *cfg, char *host, size_t hostlen, int *port)
{
	const char	*l = cfg->daemon[DAEMON_APID].listen, *c = strrchr(l, ':');
	size_t		 n;

	if (c == NULL || (*port = atoi(c + 1)) <= 0 || *port > 65535)
		return -1;
	n = (size_t)(c - l);
	if (n >= 2 && l[0] == '[' && l[n - 1] == ']') {
		l++;
		n -= 2;
	}
	if (n == 0 || (n == 7 && strncmp(l, "0.0.0.0", 7) == 0))
		snprintf(host, hostlen, "127.0.0.1");
	else if (n == 2 && strncmp(l, "::", 2) == 0)
		snprintf(host, hostlen, "::1");
	else if (n < hostlen)
		snprintf(host, hostlen, "%.*s", (int)n, l);
	else
		return -1;
	return 0;
}

/*
 * The deck member: POST /pullChanges {hash: {timestamp: 1970}} to apid,
 * its answer streamed into the open member. 0, or -1 with why in err.
 */
static int
snap_fetch(struct snap *s, char *err, size_t errlen)
{
	struct event_base		*base = NULL;
	struct evhttp_connection	*conn = NULL;
	struct evhttp_request		*req;
	char				 host[256], body[256];
	int				 port, rc = -1, drc;

	if (snap_apid_addr(&s->j->cfg, host, sizeof(host), &port) == -1) {
		snprintf(err, errlen, "apid's listen address is not host:port");
		return -1;
	}
	memset(&s->z, 0, sizeof(s->z));
	if (deflateInit2(&s->z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	s->z_ready = 1;
	if ((s->dec = gzb64_dec_new(GZB64_MAX_INFLATED, snap_json, s)) == NULL ||
	    (s->base = base = event_base_new()) == NULL ||
	    (conn = evhttp_connection_base_new(base, NULL, host, (unsigned short)port)) == NULL ||
	    (req = evhttp_request_new(snap_done, s)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	evhttp_connection_set_timeout(conn, SNAP_FETCH_TIMEOUT_S);
	evhttp_connection_set_retries(conn, 0);
	evhttp_request_set_chunked_cb(req, snap_chunk);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host", host);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "application/json");
	evhttp_add_header(evhttp_request_get_output_headers(req), "User-Agent",
	    "ankicollab-gcd snapshots");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
	snprintf(body, sizeof(body), "{\"%s\":{\"timestamp\":\"" SNAP_SINCE "\"}}", s->hash);
	evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
	if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, "/pullChanges") == -1) {
		snprintf(err, errlen, "cannot ask apid");
		goto out;
	}
	event_base_dispatch(base);
	if (s->http_status != 200) {
		snprintf(err, errlen, s->http_status == 0 ? "apid did not answer" :
		    "apid answered %d", s->http_status);
		goto out;
	}
	drc = gzb64_dec_finish(s->dec);
	if (s->failed || (drc != GZB64_OK && drc != GZB64_ETRAILING)) {
		snprintf(err, errlen, "apid's answer was cut short or is not GZB64");
		goto out;
	}
	/* "[]": apid found nothing (deleted meanwhile): no snapshot of nothing. */
	if (s->nfirst < 2 || s->first[0] != '[' || s->first[1] != '{') {
		snprintf(err, errlen, "apid's answer holds no deck");
		goto out;
	}
	if (snap_deflate(s, Z_FINISH) == -1) {
		snprintf(err, errlen, "cannot write the archive");
		goto out;
	}
	rc = 0;
out:
	if (conn != NULL)
		evhttp_connection_free(conn);
	if (base != NULL)
		event_base_free(base);
	gzb64_dec_free(s->dec);
	s->dec = NULL;
	return rc;
}

/* ---- media --------------------------------------------------------------- */

/* Opens a stored file for reading its original bytes (gzipped or not), or NULL. */
static gzFile
snap_media_open(struct snap *s, const char *hex)
{
	char	path[CONFIG_PATH_MAX + 64];
	gzFile	gz;
	int	fd, i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/media/%.2s/%s%s", s->j->cfg.data_dir, hex, hex,
		    i == 0 ? "" : ".gz");
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) != -1)
			break;
	}
	if (fd == -1)
		return NULL;
	/* gzread passes a plain file through as it is; "T" is not asked for. */
	if ((gz = gzdopen(fd, "rb")) == NULL)
		close(fd);
	else
		gzbuffer(gz, SNAP_BUF / 2);
	return gz;
}

/* Images and audio are compressed already: stored. Text and raw bitmaps: deflated. */
static int
snap_deflated_type(const char *name)
{
	const char	*dot = strrchr(name, '.');

	return dot != NULL && (strcasecmp(dot, ".svg") == 0 || strcasecmp(dot, ".bmp") == 0 ||
	    strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0);
}

/* A name safe as a ZIP member below media/: §7.3 already, but never a path. */
static int
snap_name_ok(const char *name)
{
	return name[0] != '\0' && name[0] != '.' && strchr(name, '/') == NULL &&
	    strchr(name, '\\') == NULL && strstr(name, "..") == NULL && strlen(name) <= 255;
}

static int
snap_media_one(struct snap *s, const char *name, const char *hex)
{
	char		 member[300];
	zip_fileinfo	 zi;
	gzFile		 gz;
	int		 n, deflated, rc = 0;

	if (!snap_name_ok(name) || !media_hex_ok(hex, strlen(hex)))
		return 0;
	if ((gz = snap_media_open(s, hex)) == NULL) {
		s->missing++;
		return 0;
	}
	memset(&zi, 0, sizeof(zi));
	snprintf(member, sizeof(member), SNAP_MEDIA_PREFIX "%.255s", name);
	deflated = snap_deflated_type(name);
	/* Bit 11: the name is UTF-8 (Python's zipfile decodes it so). */
	if (zipOpenNewFileInZip4_64(s->zf, member, &zi, NULL, 0, NULL, 0, NULL,
	    deflated ? Z_DEFLATED : 0, deflated ? 6 : 0, 0, -MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY, NULL, 0, 0, 0x800, 1) != ZIP_OK) {
		gzclose_r(gz);
		return -1;
	}
	while ((n = gzread(gz, s->buf, SNAP_BUF)) > 0)
		if (zipWriteInFileInZip(s->zf, s->buf, (unsigned)n) != ZIP_OK) {
			rc = -1;
			break;
		}
	if (n < 0)
		rc = -1;
	gzclose_r(gz);
	if (zipCloseFileInZip(s->zf) != ZIP_OK)
		rc = -1;
	if (rc == 0)
		s->media++;
	return rc;
}

/*
 * Every name the deck's live notes (and the base notes they inherit from)
 * reference, with its file; a name referenced with several files once.
 * Read a page of names at a time, each page its own short read.
 */
static int
snap_media(struct snap *s)
{
	static const char sql[] =
	    "WITH RECURSIVE tree(id) AS ("
	    "  SELECT ?1 UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id),"
	    " owners(id) AS ("
	    "  SELECT n.id FROM notes n WHERE n.deck IN (SELECT id FROM tree) AND n.deleted = 0"
	    "  UNION SELECT i.base_note_id FROM note_inheritance i JOIN notes n"
	    "    ON n.id = i.subscriber_note_id"
	    "    WHERE n.deck IN (SELECT id FROM tree) AND n.deleted = 0)"
	    " SELECT r.file_name, min(m.hash) FROM media_references r"
	    " JOIN media_files m ON m.id = r.media_id"
	    " WHERE r.note_id IN (SELECT id FROM owners) AND r.file_name > ?2"
	    " GROUP BY r.file_name ORDER BY r.file_name LIMIT " DB_XSTR(SNAP_NAMES_PAGE);
	static char	 names[SNAP_NAMES_PAGE][256], hashes[SNAP_NAMES_PAGE][40];
	char		 last[256] = "";
	sqlite3_stmt	*st;
	size_t		 n, i;
	int		 rc;

	do {
		if (db_begin_read(s->j->db) != DB_OK)
			return -1;
		if ((st = db_stmt(s->j->db, sql)) == NULL) {
			db_rollback(s->j->db);
			return -1;
		}
		sqlite3_bind_int64(st, 1, s->deck);
		sqlite3_bind_text(st, 2, last, -1, SQLITE_TRANSIENT);
		n = 0;
		while ((rc = db_step(st)) == DB_ROW) {
			snprintf(names[n], sizeof(names[0]), "%s", sqlite3_column_text(st, 0));
			snprintf(hashes[n], sizeof(hashes[0]), "%s", sqlite3_column_text(st, 1));
			n++;
		}
		db_stmt_done(st);
		db_rollback(s->j->db);	/* ends the read */
		if (rc != DB_OK)
			return -1;
		for (i = 0; i < n; i++)
			if (snap_media_one(s, names[i], hashes[i]) == -1)
				return -1;
		if (n > 0)
			snprintf(last, sizeof(last), "%s", names[n - 1]);
	} while (n == SNAP_NAMES_PAGE);
	return 0;
}

/* ---- files and rows ------------------------------------------------------ */

static int
snap_mkdirs(struct snap *s)
{
	char	path[sizeof(s->dir) + 16];

	/* s->dir holds data_dir (CONFIG_PATH_MAX), "/cache/decks/" and a hash (< 120). */
	config_data_path(&s->j->cfg, "cache", path, sizeof(path));
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		return -1;
	strncat(path, "/decks", sizeof(path) - strlen(path) - 1);
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		return -1;
	snprintf(s->dir, sizeof(s->dir), "%.*s/%.120s", CONFIG_PATH_MAX + 16, path, s->hash);
	if (mkdir(s->dir, 0750) == -1 && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/manifest", s->dir);
	if (mkdir(path, 0750) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Writes the manifest to its final name (through a .tmp). 0 or -1. */
static int
snap_manifest(struct snap *s)
{
	char	path[sizeof(s->dir) + 128], tmp[sizeof(path) + 8], when[DB_TIME_LEN];
	FILE	*f;
	int	 ok;

	/* Whole seconds, "Z": the add-on parses it with fromisoformat and keeps seconds. */
	db_time_format_rfc3339(s->last_us - s->last_us % 1000000, 0, when, sizeof(when));
	if (strlen(when) > 6 && strcmp(when + strlen(when) - 6, "+00:00") == 0)
		strcpy(when + strlen(when) - 6, "Z");
	snprintf(path, sizeof(path), "%s/manifest/%s.json", s->dir, s->version);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "we")) == NULL)
		return -1;
	fprintf(f, "{\"deck_data\":{\"path\":\"" SNAP_DECK_PATH "\",\"compression\":\"gzip\"},"
	    "\"source_last_update\":\"%s\",\"media\":{\"path_prefix\":\"" SNAP_MEDIA_PREFIX
	    "\"},\"archive\":{\"s3_key\":\"%s\"}}\n", when, s->zip_key);
	ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (fclose(f) != 0 || !ok || rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* The deck_cache row of this snapshot, and the other rows of the deck gone. */
static int
snap_record(struct snap *s, int64_t archive_size)
{
	static const char ins[] =
	    "INSERT INTO deck_cache (deck_id, version_ts, manifest_key, archive_key,"
	    " archive_size, source_last_update, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	static const char del[] = "DELETE FROM deck_cache WHERE deck_id = ?1 AND id <> ?2";
	sqlite3_stmt	*st;
	int64_t		 id;
	int		 rc;

	if (db_begin(s->j->db) != DB_OK)
		return -1;
	if ((st = db_stmt(s->j->db, ins)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, s->deck);
	sqlite3_bind_text(st, 2, s->version_ts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->manifest_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, s->zip_key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, archive_size);
	db_bind_time(st, 6, s->last_us);
	db_bind_time(st, 7, db_now_us());
	rc = db_step(st);
	db_stmt_done(st);
	id = db_last_insert_id(s->j->db);
	if (rc != DB_OK || (st = db_stmt(s->j->db, del)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, s->deck);
	sqlite3_bind_int64(st, 2, id);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc != DB_OK)
		goto fail;
	return db_commit(s->j->db) == DB_OK ? 0 : -1;
fail:
	db_rollback(s->j->db);
	return -1;
}

/* One deck's snapshot: 0 built, -1 failed (logged; nothing of it is left). */
static int
snap_build(struct snap *s)
{
	char		 zpath[sizeof(s->dir) + 128], ztmp[sizeof(zpath) + 8];
	char		 err[128] = "cannot write the archive";
	zip_fileinfo	 zi;
	struct stat	 st;
	struct timespec	 ts;
	struct tm	 tm;
	int		 rc = -1;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(s->version, sizeof(s->version), "%04d%02d%02dT%02d%02d%02d%06dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(ts.tv_nsec / 1000) % 1000000);
	db_time_format_rfc3339((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, 6,
	    s->version_ts, sizeof(s->version_ts));
	snprintf(s->zip_key, sizeof(s->zip_key), "decks/%s/%s.zip", s->hash, s->version);
	snprintf(s->manifest_key, sizeof(s->manifest_key), "decks/%s/manifest/%s.json",
	    s->hash, s->version);
	if (snap_mkdirs(s) == -1) {
		snprintf(err, sizeof(err), "cache/decks/%.64s: %s", s->hash, strerror(errno));
		goto out;
	}
	snprintf(zpath, sizeof(zpath), "%s/%s.zip", s->dir, s->version);
	snprintf(ztmp, sizeof(ztmp), "%s.tmp", zpath);
	if ((s->zf = zipOpen64(ztmp, APPEND_STATUS_CREATE)) == NULL)
		goto out;
	memset(&zi, 0, sizeof(zi));
	/* Stored: the member is gzip already, which the add-on unpacks itself. */
	if (zipOpenNewFileInZip64(s->zf, SNAP_DECK_PATH, &zi, NULL, 0, NULL, 0, NULL, 0, 0,
	    1) != ZIP_OK)
		goto out;
	if (snap_fetch(s, err, sizeof(err)) == -1)
		goto out;
	snprintf(err, sizeof(err), "cannot write the archive");
	if (zipCloseFileInZip(s->zf) != ZIP_OK)
		goto out;
	if (snap_media(s) == -1) {
		snprintf(err, sizeof(err), "media: database or archive fault");
		goto out;
	}
	rc = zipClose(s->zf, NULL) == ZIP_OK ? 0 : -1;
	s->zf = NULL;
	if (rc == -1 || stat(ztmp, &st) == -1 || rename(ztmp, zpath) == -1 ||
	    snap_manifest(s) == -1) {
		rc = -1;
		goto out;
	}
	if (snap_record(s, (int64_t)st.st_size) == -1) {
		snprintf(err, sizeof(err), "cannot record it in the database");
		rc = -1;
		goto out;
	}
	log_info("gc snapshots: %s: %s, %llu bytes of deck JSON, %lld media files"
	    " (%lld not stored), %lld bytes", s->hash, s->zip_key,
	    (unsigned long long)s->json_bytes, (long long)s->media, (long long)s->missing,
	    (long long)st.st_size);
out:
	if (s->zf != NULL)
		zipClose(s->zf, NULL);
	s->zf = NULL;
	if (s->z_ready)
		deflateEnd(&s->z);
	s->z_ready = 0;
	if (rc == -1) {
		log_warnx("gc snapshots: %s: not built: %s", s->hash, err);
		unlink(ztmp);
		/* A manifest written before a failed record is swept by name below. */
	}
	return rc;
}

/* ---- old versions, decks gone, leftovers ---------------------------------- */

/* Is this key (relative to cache/) named by a deck_cache row? 1, 0, or -1. */
static int
snap_key_known(struct db *db, const char *key)
{
	static const char sql[] =
	    "SELECT 1 FROM deck_cache WHERE manifest_key = ?1 OR archive_key = ?1";
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_stmt(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = db_step(st);
	db_stmt_done(st);
	return rc == DB_ROW ? 1 : rc == DB_OK ? 0 : -1;
}

/* Removes the files of dir (key prefix pre) that no row names; counts them. */
static int
snap_sweep_dir(struct db *db, int dirfd, const char *pre, int64_t *removed)
{
	char		 key[SNAP_KEY_MAX + 64];
	struct dirent	*de;
	DIR		*d;
	int		 fd, k, left = 0;

	if ((fd = dup(dirfd)) == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || de->d_type == DT_DIR)
			continue;
		snprintf(key, sizeof(key), "%s/%s", pre, de->d_name);
		if ((k = snap_key_known(db, key)) == 1) {
			left++;
			continue;
		}
		if (k == 0 && unlinkat(dirfd, de->d_name, 0) == 0)
			(*removed)++;
		else
			left++;
	}
	closedir(d);
	return left;
}

static void
snap_sweep(struct snap_job *j, int64_t *removed)
{
	char		 path[CONFIG_PATH_MAX + 32], pre[SNAP_KEY_MAX + 16];
	struct dirent	*de;
	DIR		*top;
	int		 topfd, dfd, mfd, left;

	config_data_path(&j->cfg, "cache/decks", path, sizeof(path));
	if ((topfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return;
	if ((top = fdopendir(topfd)) == NULL) {
		close(topfd);
		return;
	}
	while ((de = readdir(top)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) > 120)
			continue;
		if ((dfd = openat(topfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1)
			continue;
		left = 0;
		if ((mfd = openat(dfd, "manifest", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
		    O_NOFOLLOW)) != -1) {
			snprintf(pre, sizeof(pre), "decks/%s/manifest", de->d_name);
			left += snap_sweep_dir(j->db, mfd, pre, removed);
			close(mfd);
			if (left == 0)
				unlinkat(dfd, "manifest", AT_REMOVEDIR);
		}
		snprintf(pre, sizeof(pre), "decks/%s", de->d_name);
		left += snap_sweep_dir(j->db, dfd, pre, removed);
		close(dfd);
		if (left == 0)	/* a deck gone: its folder goes too */
			unlinkat(topfd, de->d_name, AT_REMOVEDIR);
	}
	closedir(top);
}

/* ---- the job, in a thread of its own ------------------------------------- */

/*
 * A build takes as long as apid takes to send the deck, and gcd's loop must
 * keep answering the supervisor's heartbeats meanwhile: the build runs in a
 * thread, with its own database connection, its own event base for the
 * fetch and a copy of the config, and tells the loop through a pipe when it
 * is done. One build at a time; a `gc run snapshots` while one runs waits
 * for it.
 */
static void
snap_run(struct snap_job *j)
{
	/* Root decks whose latest snapshot (if any) predates their last change. */
	static const char sql[] =
	    "SELECT d.id, d.human_hash, d.last_update FROM decks d"
	    " WHERE d.parent IS NULL AND d.deleted_at IS NULL AND NOT EXISTS"
	    " (SELECT 1 FROM deck_cache c WHERE c.deck_id = d.id"
	    "  AND c.source_last_update >= d.last_update)"
	    " ORDER BY d.last_update LIMIT " DB_XSTR(SNAP_PER_RUN);
	static struct snap	 todo[SNAP_PER_RUN];
	char			 path[CONFIG_PATH_MAX + 32];
	sqlite3_stmt		*st;
	int64_t			 removed = 0;
	size_t			 n = 0, i;
	int			 built = 0, failed = 0, rc;
	uint8_t			*buf;

	j->rc = -1;
	config_data_path(&j->cfg, DB_FILE, path, sizeof(path));
	if ((j->db = db_open(path, 0)) == NULL) {
		snprintf(j->line, sizeof(j->line), "snapshots: cannot open the database");
		return;
	}
	if ((st = db_stmt(j->db, sql)) == NULL) {
		snprintf(j->line, sizeof(j->line), "snapshots: database fault");
		goto out;
	}
	while (n < SNAP_PER_RUN && (rc = db_step(st)) == DB_ROW) {
		memset(&todo[n], 0, sizeof(todo[n]));
		todo[n].deck = sqlite3_column_int64(st, 0);
		snprintf(todo[n].hash, sizeof(todo[n].hash), "%s", sqlite3_column_text(st, 1));
		todo[n].last_us = db_column_time(st, 2);
		/* A hash names files: only the shape /pullChanges accepts. */
		if (strspn(todo[n].hash, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") ==
		    strlen(todo[n].hash) && todo[n].hash[0] != '\0' &&
		    strlen(todo[n].hash) < 120)
			n++;
	}
	db_stmt_done(st);
	if ((buf = malloc(2 * SNAP_BUF)) == NULL) {
		snprintf(j->line, sizeof(j->line), "snapshots: out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		todo[i].j = j;
		todo[i].buf = buf;
		todo[i].in = buf + SNAP_BUF;
		if (snap_build(&todo[i]) == 0)
			built++;
		else
			failed++;
	}
	free(buf);
	/* After the commits: versions replaced, decks gone, leftovers of a crash. */
	snap_sweep(j, &removed);
	snprintf(j->line, sizeof(j->line), "snapshots: %d built, %d failed, %lld old files removed",
	    built, failed, (long long)removed);
	j->rc = failed > 0 ? -1 : 0;
out:
	db_close(j->db);
	j->db = NULL;
}

static void *
snap_thread(void *arg)
{
	struct snap_job	*j = arg;
	char		 c = 'x';

	snap_run(j);
	while (write(j->pipe[1], &c, 1) == -1 && errno == EINTR)
		;
	return NULL;
}

static void
snap_answer(struct snap_job *j, int i)
{
	uint8_t	buf[PROTO_RESULT_MAX];

	if (proto_send(j->wait[i].peer, PROTO_GC_RESULT, j->wait[i].id, -1, buf,
	    proto_result_enc(j->rc == -1 ? 1 : 0, j->line, buf)) == -1)
		log_warnx("cannot queue a gc result");
}

static void
snap_free(struct snap_job *j)
{
	if (j->ev != NULL)
		event_free(j->ev);
	if (j->wait_ev != NULL)
		event_free(j->wait_ev);
	close(j->pipe[0]);
	close(j->pipe[1]);
	free(j);
}

/* The waiters waited long enough: they are told, the build goes on. */
static void
snap_waited(evutil_socket_t fd, short ev, void *arg)
{
	struct snap_job	*j = arg;
	uint8_t		 buf[PROTO_RESULT_MAX];
	int		 i;

	for (i = 0; i < j->nwait; i++)
		if (proto_send(j->wait[i].peer, PROTO_GC_RESULT, j->wait[i].id, -1, buf,
		    proto_result_enc(0, "snapshots: still building; its result goes to the log",
		    buf)) == -1)
			log_warnx("cannot queue a gc result");
	j->nwait = 0;
}

/* The loop's side: the thread is done. */
static void
snap_done_ev(evutil_socket_t fd, short ev, void *arg)
{
	struct snap_job	*j = arg;
	int		 i;

	pthread_join(j->th, NULL);
	if (j->rc == -1)
		log_warnx("gc %s", j->line);
	else
		log_info("gc %s", j->line);
	for (i = 0; i < j->nwait; i++)
		snap_answer(j, i);
	j->g->snap = NULL;
	snap_free(j);
	malloc_trim(0);
}

int
gc_snapshots_start(struct gcd *g, struct proto_peer *peer, uint32_t id, char *out,
    size_t outlen)
{
	struct snap_job	*j = g->snap;
	pthread_attr_t	 attr;

	if (j == NULL) {
		if ((j = calloc(1, sizeof(*j))) == NULL)
			goto fail;
		j->g = g;
		j->cfg = g->d->cfg;
		if (pipe2(j->pipe, O_CLOEXEC) == -1) {
			free(j);
			goto fail;
		}
		/*
		 * A small stack: where memory_max is an RLIMIT_DATA, the default
		 * 8 MiB would count against it (nothing here is deep).
		 */
		if (pthread_attr_init(&attr) != 0) {
			snap_free(j);
			goto fail;
		}
		pthread_attr_setstacksize(&attr, SNAP_STACK);
		if ((j->ev = event_new(g->d->base, j->pipe[0], EV_READ, snap_done_ev, j)) == NULL ||
		    event_add(j->ev, NULL) == -1 ||
		    (errno = pthread_create(&j->th, &attr, snap_thread, j)) != 0) {
			pthread_attr_destroy(&attr);
			snap_free(j);
			goto fail;
		}
		pthread_attr_destroy(&attr);
		g->snap = j;
		snprintf(out, outlen, "snapshots: started");
	} else
		snprintf(out, outlen, "snapshots: running already");
	if (peer == NULL)
		return 0;
	if (j->nwait == SNAP_WAITERS) {
		snprintf(out, outlen, "snapshots: running already, too many waiting");
		return -1;
	}
	if (j->wait_ev == NULL &&
	    (j->wait_ev = evtimer_new(g->d->base, snap_waited, j)) == NULL) {
		snprintf(out, outlen, "snapshots: started; its result goes to the log");
		return 0;
	}
	if (j->nwait == 0) {
		struct timeval tv = { SNAP_WAIT_MS / 1000, (SNAP_WAIT_MS % 1000) * 1000 };

		evtimer_add(j->wait_ev, &tv);
	}
	j->wait[j->nwait].peer = peer;
	j->wait[j->nwait].id = id;
	j->nwait++;
	return 1;
fail:
	snprintf(out, outlen, "snapshots: cannot start a build: %s", strerror(errno));
	return -1;
}

void
gc_snapshots_stop(struct gcd *g)
{
	struct snap_job	*j = g->snap;

	if (j == NULL)
		return;
	pthread_join(j->th, NULL);
	g->snap = NULL;
	snap_free(j);
}
