/*
 * db_schema.c — the SQLite schema as a list of migrations.
 *
 * Migration N takes PRAGMA user_version from N-1 to N; db.c runs each one in
 * its own BEGIN IMMEDIATE transaction at open, so a half-applied migration
 * never survives a crash. Never edit a migration that has shipped: append a
 * new one. A migration that must rebuild a table (SQLite's 12-step ALTER)
 * cannot switch foreign_keys off inside the transaction; write it with
 * "PRAGMA defer_foreign_keys = ON" and check with foreign_key_check.
 *
 * Names follow upstream's PostgreSQL schema (spec/schema.md §1) so that a
 * later import maps table to table and column to column. Deviations are
 * marked "upstream:" in the comments. All tables are STRICT.
 *
 * Times: every time column is REAL UTC epoch seconds with the microseconds
 * as the fraction (1718031234.567891). That is DESIGN.md's "epoch seconds",
 * so unixepoch() and time(NULL) compare correctly against it, and it keeps
 * PostgreSQL's microsecond timestamps, which /pullChanges needs: the add-on
 * stores a whole-second "now" after a pull, and a change made later in that
 * same second must still compare strictly greater. A double keeps every µs
 * exactly up to 2^33 s (year 2242; db_column_time rounds back to µs). C code
 * passes int64 µs through db_bind_time()/db_column_time(). Columns the pull
 * compares (decks/notes.last_update, changelogs.timestamp) have no default:
 * the writer binds db_now_us(). Other defaults are whole-second unixepoch().
 *
 * Booleans are INTEGER 0/1. Ids are INTEGER PRIMARY KEY (rowid).
 *
 * Not carried over from upstream: the legacy "media" table; login_logs
 * (website only); the deck_stats materialized view (the website's listing);
 * the media and cache token replay counters of §8.4, which stay in mediad's
 * memory as upstream's do (mediad has no database; a restart forgets them);
 * the per-address quota counters of §9 (in memory upstream too).
 */
#include <stddef.h>

#include "common/db.h"

static const char db_migration_1[] =
/* ===== accounts ===== */

/* Accounts; username is stored lower-cased and trimmed (upstream: a trigger). */
"CREATE TABLE users ("
"  id          INTEGER PRIMARY KEY,"
"  username    TEXT    NOT NULL UNIQUE"
"              CHECK (length(username) BETWEEN 1 AND 254 AND username = lower(trim(username))),"
"  password    TEXT    NOT NULL,"		/* argon2 PHC string; '' = disabled */
"  is_admin    INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),"
"  signup_ip   TEXT,"
"  created_at  REAL    NOT NULL DEFAULT (unixepoch()),"
"  deleted_at  REAL"			/* soft delete; NULL = live */
") STRICT;"
/* Finds soft-deleted accounts for the purge job. */
"CREATE INDEX users_deleted ON users(deleted_at) WHERE deleted_at IS NOT NULL;"

/*
 * Bearer token pairs, one row per device (upstream: UNIQUE(user_id), one
 * pair per user). Hashes are raw SHA-256 digests of the token text.
 */
"CREATE TABLE auth_tokens ("
"  id                 INTEGER PRIMARY KEY,"
"  user_id            INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  token_hash         BLOB    NOT NULL UNIQUE CHECK (length(token_hash) = 32),"
"  refresh_token_hash BLOB    UNIQUE"
"                     CHECK (refresh_token_hash IS NULL OR length(refresh_token_hash) = 32),"
"  expires_at         REAL    NOT NULL,"
"  refresh_expires_at REAL,"
"  created_at         REAL    NOT NULL DEFAULT (unixepoch()),"
"  last_used_at       REAL    NOT NULL DEFAULT (unixepoch())"
") STRICT;"
/* Per-user listing, revocation and the device cap below. */
"CREATE INDEX auth_tokens_user ON auth_tokens(user_id, last_used_at);"
/* Lets the daily job find pairs whose both expiries have passed. */
"CREATE INDEX auth_tokens_expiry ON auth_tokens(refresh_expires_at);"
/*
 * The device cap: a user keeps at most DB_TOKENS_PER_USER pairs; a new
 * login evicts the least recently used. In the schema so that every writer
 * (apid, ankicollabctl) obeys it. The 10 is DB_TOKENS_PER_USER; changing it
 * takes a migration that recreates this trigger.
 */
"CREATE TRIGGER auth_tokens_cap AFTER INSERT ON auth_tokens BEGIN"
"  DELETE FROM auth_tokens WHERE user_id = NEW.user_id AND id NOT IN ("
"    SELECT id FROM auth_tokens WHERE user_id = NEW.user_id"
"    ORDER BY last_used_at DESC, id DESC LIMIT 10);"
"END;"

/*
 * Media quota counters, persisted every few minutes (§9). Day counters reset
 * lazily when last_reset is on an earlier UTC date.
 */
"CREATE TABLE user_quotas ("
"  user_id        INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
"  storage_used   INTEGER NOT NULL DEFAULT 0,"
"  upload_count   INTEGER NOT NULL DEFAULT 0,"
"  download_count INTEGER NOT NULL DEFAULT 0,"
"  last_reset     REAL    NOT NULL DEFAULT (unixepoch())"
") STRICT;"

/* ===== decks, notetypes, notes ===== */

/*
 * The deck tree; human_hash is the public id. last_update is bumped on the
 * deck and all its ancestors whenever reviewed content below changes.
 * upstream: owner ON DELETE CASCADE; here RESTRICT, because a deck others
 * subscribe to must not vanish as a side effect of deleting its owner:
 * delete or hand over the decks first (DESIGN: deleting a user never
 * deletes approved content).
 */
"CREATE TABLE decks ("
"  id                     INTEGER PRIMARY KEY,"
"  name                   TEXT    NOT NULL,"
"  description            TEXT    NOT NULL DEFAULT '',"
"  owner                  INTEGER NOT NULL REFERENCES users(id) ON DELETE RESTRICT,"
"  last_update            REAL    NOT NULL,"
"  parent                 INTEGER REFERENCES decks(id) ON DELETE CASCADE,"
"  crowdanki_uuid         TEXT,"
"  human_hash             TEXT    NOT NULL UNIQUE,"
"  creator_ip             TEXT,"
"  full_path              TEXT    NOT NULL,"
"  private                INTEGER NOT NULL DEFAULT 1 CHECK (private IN (0, 1)),"
"  stats_enabled          INTEGER NOT NULL DEFAULT 0 CHECK (stats_enabled IN (0, 1)),"
"  retention              REAL,"
"  notes_with_stats_count INTEGER NOT NULL DEFAULT 0,"
"  restrict_notetypes     INTEGER NOT NULL DEFAULT 1 CHECK (restrict_notetypes IN (0, 1)),"
"  restrict_subdecks      INTEGER NOT NULL DEFAULT 0 CHECK (restrict_subdecks IN (0, 1)),"
"  created_at             REAL    NOT NULL DEFAULT (unixepoch()),"	/* upstream: none */
"  deleted_at             REAL"
") STRICT;"
/* Sibling names are unique per owner (createDeck / new-subdeck clash check). */
"CREATE UNIQUE INDEX decks_owner_parent_name ON decks(owner, parent, name);"
/* A user's root deck names are unique too (NULL parents never clash above). */
"CREATE UNIQUE INDEX decks_owner_root_name ON decks(owner, name) WHERE parent IS NULL;"
/* Children of a deck: the subtree CTEs of pull, submitCard, media, delete. */
"CREATE INDEX decks_parent ON decks(parent);"

/*
 * Note types; each deck owner has a private copy per CrowdAnki uuid (guid).
 * created_at (upstream: none) gives the unused-notetype GC a grace period.
 */
"CREATE TABLE notetype ("
"  id                  INTEGER PRIMARY KEY,"
"  guid                TEXT    NOT NULL,"
"  owner               INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  css                 TEXT    NOT NULL DEFAULT '',"
"  latex_post          TEXT    NOT NULL DEFAULT '',"
"  latex_pre           TEXT    NOT NULL DEFAULT '',"
"  latex_svg           INTEGER NOT NULL DEFAULT 0,"
"  name                TEXT    NOT NULL DEFAULT '',"
"  type                INTEGER NOT NULL DEFAULT 0,"
"  original_stock_kind INTEGER NOT NULL DEFAULT 0,"
"  sortf               INTEGER NOT NULL DEFAULT 0,"
"  req                 TEXT    CHECK (req IS NULL OR json_valid(req)),"	/* JSON, objects form */
"  created_at          REAL    NOT NULL DEFAULT (unixepoch())"
") STRICT;"
/* Resolves a submitted notetype uuid for a deck owner. */
"CREATE UNIQUE INDEX notetype_guid_owner ON notetype(guid, owner);"
/* All notetypes of an owner (the notetype matching rule of §6.3). */
"CREATE INDEX notetype_owner ON notetype(owner);"

/* Fields of a note type; protected ones are never overwritten by clients. */
"CREATE TABLE notetype_field ("
"  id          INTEGER PRIMARY KEY,"
"  notetype    INTEGER NOT NULL REFERENCES notetype(id) ON DELETE CASCADE,"
"  description TEXT    NOT NULL DEFAULT '',"
"  font        TEXT    NOT NULL DEFAULT '',"
"  name        TEXT    NOT NULL DEFAULT '',"
"  ord         INTEGER,"
"  rtl         INTEGER NOT NULL DEFAULT 0,"
"  size        INTEGER NOT NULL DEFAULT 0,"
"  sticky      INTEGER NOT NULL DEFAULT 0,"
"  position    INTEGER NOT NULL,"
"  protected   INTEGER NOT NULL DEFAULT 0 CHECK (protected IN (0, 1)),"
"  anki_id     INTEGER NOT NULL DEFAULT 0,"
"  tag         INTEGER NOT NULL DEFAULT 0"
") STRICT;"
/* Fields of a notetype in order (upstream: plain index, no uniqueness). */
"CREATE UNIQUE INDEX notetype_field_pos ON notetype_field(notetype, position);"

/* Card templates of a note type. */
"CREATE TABLE notetype_template ("
"  id       INTEGER PRIMARY KEY,"
"  notetype INTEGER NOT NULL REFERENCES notetype(id) ON DELETE CASCADE,"
"  qfmt     TEXT    NOT NULL DEFAULT '',"
"  afmt     TEXT    NOT NULL DEFAULT '',"
"  bqfmt    TEXT    NOT NULL DEFAULT '',"
"  bafmt    TEXT    NOT NULL DEFAULT '',"
"  bfont    TEXT    NOT NULL DEFAULT '',"
"  bsize    INTEGER NOT NULL DEFAULT 0,"
"  name     TEXT    NOT NULL DEFAULT '',"
"  position INTEGER NOT NULL,"
"  anki_id  INTEGER NOT NULL DEFAULT 0,"
"  ord      INTEGER NOT NULL DEFAULT 0"
") STRICT;"
/* Templates of a notetype in order. */
"CREATE UNIQUE INDEX notetype_template_pos ON notetype_template(notetype, position);"

/*
 * Notes. reviewed = 0 is a pending new-note suggestion; deleted = 1 is a
 * soft delete that pulls report in deleted_notes. upstream: notetype ON
 * DELETE CASCADE; here RESTRICT, so that only an unused notetype can go.
 */
"CREATE TABLE notes ("
"  id          INTEGER PRIMARY KEY,"
"  guid        TEXT    NOT NULL,"
"  notetype    INTEGER NOT NULL REFERENCES notetype(id) ON DELETE RESTRICT,"
"  deck        INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  last_update REAL    NOT NULL,"
"  reviewed    INTEGER NOT NULL DEFAULT 0 CHECK (reviewed IN (0, 1)),"
"  creator_ip  TEXT,"
"  deleted     INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),"
"  anki_id     INTEGER NOT NULL DEFAULT 0,"
"  version     INTEGER NOT NULL DEFAULT 0,"
"  UNIQUE (deck, guid)"		/* also: a guid within a deck tree, per deck */
") STRICT;"
/*
 * Pull: live notes of a deck changed since T, in id order. The pull walks a
 * deck in batches (id > last), so id comes before last_update: each batch
 * is a seek, not a sort of every change since T.
 */
"CREATE INDEX notes_sync ON notes(deck, id, last_update) WHERE reviewed = 1 AND deleted = 0;"
/* Pull: deleted_notes of a subtree since T. */
"CREATE INDEX notes_deleted ON notes(deck, last_update) WHERE deleted = 1;"
/* Unused-notetype GC and the RESTRICT check above. */
"CREATE INDEX notes_notetype ON notes(notetype);"
/*
 * A GUID across decks: stats uploads, review links and note links look a
 * note up by GUID anywhere in a subtree, whose decks may be thousands.
 */
"CREATE INDEX notes_guid ON notes(guid);"

/* ===== suggestions and review ===== */

/*
 * One row per suggestion batch. upstream: user_id ON DELETE CASCADE, which
 * (through fields/tags.commit) wiped approved content; here SET NULL.
 */
"CREATE TABLE commits ("
"  commit_id INTEGER PRIMARY KEY,"
"  rationale INTEGER NOT NULL DEFAULT 0,"
"  ip        TEXT,"
"  timestamp REAL    NOT NULL DEFAULT (unixepoch()),"
"  deck      INTEGER REFERENCES decks(id) ON DELETE CASCADE,"
"  info      TEXT    NOT NULL DEFAULT '',"
"  user_id   INTEGER REFERENCES users(id) ON DELETE SET NULL"
") STRICT;"
/* Review queue per deck, and the cascade when a deck goes. */
"CREATE INDEX commits_deck ON commits(deck);"
/* A user's commits, and the SET NULL when the user goes. */
"CREATE INDEX commits_user ON commits(user_id);"

/*
 * Field contents: reviewed = 1 is live (one per note and position),
 * reviewed = 0 a pending suggestion. upstream: column "commit" (reserved in
 * SQLite) ON DELETE CASCADE; here commit_id ON DELETE SET NULL.
 */
"CREATE TABLE fields ("
"  id         INTEGER PRIMARY KEY,"
"  note       INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,"
"  position   INTEGER NOT NULL,"
"  content    TEXT    NOT NULL DEFAULT '',"
"  reviewed   INTEGER NOT NULL DEFAULT 0 CHECK (reviewed IN (0, 1)),"
"  creator_ip TEXT,"
"  commit_id  INTEGER REFERENCES commits(commit_id) ON DELETE SET NULL"
") STRICT;"
/* At most one live value per position; target of the overwrite upsert. */
"CREATE UNIQUE INDEX fields_one_reviewed ON fields(note, position) WHERE reviewed = 1;"
/* Every row of a note (pull, suggest, media scan, cascade). */
"CREATE INDEX fields_note ON fields(note, position);"
/* Pending rows of a commit; full (not partial) so SET NULL can use it. */
"CREATE INDEX fields_commit ON fields(commit_id, note);"

/* Tags; on unreviewed rows action 1 = add, 0 = remove. Same FKs as fields. */
"CREATE TABLE tags ("
"  id         INTEGER PRIMARY KEY,"
"  note       INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,"
"  content    TEXT    NOT NULL,"
"  reviewed   INTEGER NOT NULL DEFAULT 0 CHECK (reviewed IN (0, 1)),"
"  creator_ip TEXT,"
"  action     INTEGER NOT NULL DEFAULT 1 CHECK (action IN (0, 1)),"
"  commit_id  INTEGER REFERENCES commits(commit_id) ON DELETE SET NULL"
") STRICT;"
/* Tags of a note, reviewed or not, and "has this note tag X". */
"CREATE INDEX tags_note ON tags(note, reviewed, content);"
/* Pending rows of a commit, and the SET NULL. */
"CREATE INDEX tags_commit ON tags(commit_id, note);"

/* Requests to delete a note (/requestRemoval); one pending per note. */
"CREATE TABLE card_deletion_suggestions ("
"  id         INTEGER PRIMARY KEY,"
"  note       INTEGER NOT NULL UNIQUE REFERENCES notes(id) ON DELETE CASCADE,"
"  creator_ip TEXT    NOT NULL,"
"  commit_id  INTEGER REFERENCES commits(commit_id) ON DELETE CASCADE"
") STRICT;"
/* Requests of a commit. */
"CREATE INDEX cds_commit ON card_deletion_suggestions(commit_id);"

/* Requests to move a reviewed note to another deck of the tree. */
"CREATE TABLE note_move_suggestions ("
"  id            INTEGER PRIMARY KEY,"
"  original_deck INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  target_deck   INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  note          INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,"
"  creator_ip    TEXT    NOT NULL,"
"  commit_id     INTEGER REFERENCES commits(commit_id) ON DELETE CASCADE"
") STRICT;"
/* Requests of a commit. */
"CREATE INDEX nms_commit ON note_move_suggestions(commit_id);"
/* Requests for a note, and the cascade. */
"CREATE INDEX nms_note ON note_move_suggestions(note);"
/* The cascade when a target deck goes (original_deck: rare, small table). */
"CREATE INDEX nms_target ON note_move_suggestions(target_deck);"

/* Users who may act as the owner of a deck and its subtree (§2.9). */
"CREATE TABLE maintainers ("
"  id      INTEGER PRIMARY KEY,"
"  deck    INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  UNIQUE (deck, user_id)"	/* upstream: checked in the website only */
") STRICT;"
/* Decks a user maintains, and the cascade. */
"CREATE INDEX maintainers_user ON maintainers(user_id);"

/* Registered AnkiCollab_Optional::<group> tag groups of a root deck. */
"CREATE TABLE optional_tags ("
"  id        INTEGER PRIMARY KEY,"
"  deck      INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  tag_group TEXT    NOT NULL,"
"  UNIQUE (deck, tag_group)"	/* upstream: checked in the website only */
") STRICT;"

/* Release notes; pull sends those newer than the client's timestamp. */
"CREATE TABLE changelogs ("
"  id        INTEGER PRIMARY KEY,"
"  deck      INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  message   TEXT    NOT NULL,"
"  timestamp REAL    NOT NULL"
") STRICT;"
/* Pull: changelogs of a deck newer than T, newest first. */
"CREATE INDEX changelogs_deck ON changelogs(deck, timestamp);"

/* Subscriber counter: (hex sha256(username), deck). Nothing else uses it. */
"CREATE TABLE subscriptions ("
"  id        INTEGER PRIMARY KEY,"
"  user_hash TEXT    NOT NULL,"
"  deck_id   INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  UNIQUE (user_hash, deck_id)"
") STRICT;"
/* Count per deck, and the cascade. */
"CREATE INDEX subscriptions_deck ON subscriptions(deck_id);"

/* Note history; notes.version is the latest version written here. */
"CREATE TABLE note_events ("
"  id            INTEGER PRIMARY KEY,"
"  note_id       INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,"
"  version       INTEGER NOT NULL,"
"  event_type    TEXT    NOT NULL,"
"  actor_user_id INTEGER REFERENCES users(id) ON DELETE SET NULL,"
"  commit_id     INTEGER REFERENCES commits(commit_id) ON DELETE CASCADE,"
"  approved      INTEGER CHECK (approved IS NULL OR approved IN (0, 1)),"
"  old_value     TEXT    CHECK (old_value IS NULL OR json_valid(old_value)),"
"  new_value     TEXT    CHECK (new_value IS NULL OR json_valid(new_value)),"
"  created_at    REAL    NOT NULL DEFAULT (unixepoch()),"
"  UNIQUE (note_id, version)"	/* also the history of a note in order */
") STRICT;"
/* /GetCommitSnapshot: events of a commit. */
"CREATE INDEX note_events_commit ON note_events(commit_id, note_id, version);"

/* What happened to a user's suggestions (/GetNotifications). */
"CREATE TABLE notifications ("
"  id         INTEGER PRIMARY KEY,"
"  user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
"  commit_id  INTEGER NOT NULL REFERENCES commits(commit_id) ON DELETE CASCADE,"
"  deck_id    INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  status     TEXT    NOT NULL CHECK (status IN ('approved', 'denied')),"
"  reason     TEXT,"
"  is_read    INTEGER NOT NULL DEFAULT 0 CHECK (is_read IN (0, 1)),"
"  created_at REAL    NOT NULL DEFAULT (unixepoch())"
") STRICT;"
/* Unread first page and history pages of a user, newest first. */
"CREATE INDEX notifications_user ON notifications(user_id, is_read, created_at DESC);"
/* The snapshot permission check, and the commit cascade. */
"CREATE INDEX notifications_commit ON notifications(commit_id, user_id);"
/* The deck cascade. */
"CREATE INDEX notifications_deck ON notifications(deck_id);"

/* ===== inheritance (§5.1, /CreateDeckLink, /CreateNewNoteLink) ===== */

/* A subscriber deck inherits from a base deck. */
"CREATE TABLE deck_subscriptions ("
"  subscription_id    INTEGER PRIMARY KEY,"
"  subscriber_deck_id INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  base_deck_id       INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  created_at         REAL    NOT NULL DEFAULT (unixepoch()),"
"  UNIQUE (subscriber_deck_id, base_deck_id)"
") STRICT;"
/* Who subscribes to a base deck (circularity check, cascade). */
"CREATE INDEX deck_subs_base ON deck_subscriptions(base_deck_id);"

/*
 * Which field positions of a notetype a subscriber inherits. upstream:
 * int[]; here a JSON array: NULL = all fields, '[]' = none, never 'null'.
 */
"CREATE TABLE subscription_field_policy ("
"  subscriber_deck_id INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  base_deck_id       INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  notetype_id        INTEGER NOT NULL REFERENCES notetype(id) ON DELETE CASCADE,"
"  subscribed_fields  TEXT CHECK (subscribed_fields IS NULL OR"
"                     (json_valid(subscribed_fields) AND json_type(subscribed_fields) = 'array')),"
"  PRIMARY KEY (subscriber_deck_id, base_deck_id, notetype_id)"
") WITHOUT ROWID, STRICT;"
/* The cascades from base deck and notetype. */
"CREATE INDEX sfp_base ON subscription_field_policy(base_deck_id);"
"CREATE INDEX sfp_notetype ON subscription_field_policy(notetype_id);"

/* A subscriber note that takes (some) fields and tags from a base note. */
"CREATE TABLE note_inheritance ("
"  inheritance_id     INTEGER PRIMARY KEY,"
"  subscriber_note_id INTEGER NOT NULL UNIQUE REFERENCES notes(id) ON DELETE CASCADE,"
"  base_note_id       INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,"
"  subscribed_fields  TEXT CHECK (subscribed_fields IS NULL OR"
"                     (json_valid(subscribed_fields) AND json_type(subscribed_fields) = 'array')),"
"  removed_base_tags  TEXT NOT NULL DEFAULT '[]'"
"                     CHECK (json_valid(removed_base_tags) AND json_type(removed_base_tags) = 'array'),"
"  created_at         REAL NOT NULL DEFAULT (unixepoch())"
") STRICT;"
/* Subscribers of a base note (bump on approve, convert on delete). */
"CREATE INDEX note_inh_base ON note_inheritance(base_note_id);"

/* ===== stats (§5.6, /UploadDeckStats) ===== */

/* One user's review figures for one note. */
"CREATE TABLE note_stats ("
"  id        INTEGER PRIMARY KEY,"
"  note_id   INTEGER NOT NULL REFERENCES notes(id) ON DELETE CASCADE,"
"  user_hash TEXT    NOT NULL,"
"  retention INTEGER NOT NULL DEFAULT 0,"
"  lapses    INTEGER NOT NULL DEFAULT 0,"
"  reps      INTEGER NOT NULL DEFAULT 0,"
"  UNIQUE (user_hash, note_id)"		/* the upload's upsert target */
") STRICT;"
/* Aggregation per note, and the cascade. */
"CREATE INDEX note_stats_note ON note_stats(note_id);"

/* Per-note aggregate that gcd recomputes from note_stats. */
"CREATE TABLE calculated_stats ("
"  note_id     INTEGER PRIMARY KEY REFERENCES notes(id) ON DELETE CASCADE,"
"  sample_size INTEGER NOT NULL DEFAULT 0,"
"  retention   REAL,"
"  lapses      REAL,"
"  reps        REAL"
") STRICT;"

/* ===== media (§7) ===== */

/*
 * A stored file, one row per MD5, created only when /media/confirm/bulk has
 * verified the bytes (so there is no "confirmed" flag: unconfirmed uploads
 * live in media_upload_batch_files). refcount and orphaned_at (upstream:
 * neither) are kept by the triggers below; gcd deletes rows with
 * refcount = 0 whose orphaned_at is older than its grace period.
 */
"CREATE TABLE media_files ("
"  id          INTEGER PRIMARY KEY,"
"  hash        TEXT    NOT NULL UNIQUE"
"              CHECK (length(hash) = 32 AND hash NOT GLOB '*[^0-9a-f]*'),"
"  file_size   INTEGER NOT NULL DEFAULT 0 CHECK (file_size >= 0),"
"  mime        TEXT,"				/* as sniffed at confirmation */
"  uploaded_by INTEGER REFERENCES users(id) ON DELETE SET NULL,"
"  refcount    INTEGER NOT NULL DEFAULT 0 CHECK (refcount >= 0),"
"  orphaned_at REAL    DEFAULT (unixepoch()),"	/* NULL while refcount > 0 */
"  created_at  REAL    NOT NULL DEFAULT (unixepoch())"
") STRICT;"
/* The orphan GC: files without references, oldest first. */
"CREATE INDEX media_files_orphaned ON media_files(orphaned_at) WHERE refcount = 0;"

/* Which note uses which file under which name. */
"CREATE TABLE media_references ("
"  id        INTEGER PRIMARY KEY,"
"  media_id  INTEGER NOT NULL REFERENCES media_files(id) ON DELETE CASCADE,"
"  note_id   INTEGER REFERENCES notes(id) ON DELETE CASCADE,"
"  file_name TEXT    NOT NULL CHECK (length(CAST(file_name AS BLOB)) BETWEEN 1 AND 255),"
"  UNIQUE (media_id, note_id)"	/* also: references of a file */
") STRICT;"
/* References of a note (missing, reference cleanup, cascade). */
"CREATE INDEX media_refs_note ON media_references(note_id, file_name, media_id);"
/* /media/manifest looks names up. */
"CREATE INDEX media_refs_name ON media_references(file_name);"

/* Keep media_files.refcount and orphaned_at exact whoever writes references. */
"CREATE TRIGGER media_refs_ins AFTER INSERT ON media_references BEGIN"
"  UPDATE media_files SET refcount = refcount + 1, orphaned_at = NULL WHERE id = NEW.media_id;"
"END;"
"CREATE TRIGGER media_refs_del AFTER DELETE ON media_references BEGIN"
"  UPDATE media_files SET refcount = refcount - 1,"
"    orphaned_at = CASE WHEN refcount = 1 THEN unixepoch() ELSE orphaned_at END"
"    WHERE id = OLD.media_id;"
"END;"
"CREATE TRIGGER media_refs_upd AFTER UPDATE OF media_id ON media_references"
"  WHEN OLD.media_id IS NOT NEW.media_id BEGIN"
"  UPDATE media_files SET refcount = refcount - 1,"
"    orphaned_at = CASE WHEN refcount = 1 THEN unixepoch() ELSE orphaned_at END"
"    WHERE id = OLD.media_id;"
"  UPDATE media_files SET refcount = refcount + 1, orphaned_at = NULL WHERE id = NEW.media_id;"
"END;"

/*
 * Upload batches announced by /media/check/bulk and not yet confirmed.
 * upstream: media_bulk_uploads(id uuid, metadata jsonb); normalised here.
 */
"CREATE TABLE media_upload_batches ("
"  id                TEXT    PRIMARY KEY,"	/* lowercase UUIDv4 (batch_id) */
"  user_id           INTEGER REFERENCES users(id) ON DELETE SET NULL,"
"  deck_hash         TEXT    NOT NULL,"
"  bulk_operation_id TEXT,"
"  created_at        REAL    NOT NULL DEFAULT (unixepoch())"
") WITHOUT ROWID, STRICT;"
/* The stale-batch job (older than a day). */
"CREATE INDEX mub_created ON media_upload_batches(created_at);"

/* One announced file of a batch; note_id -1 = note still being inserted. */
"CREATE TABLE media_upload_batch_files ("
"  batch_id  TEXT    NOT NULL REFERENCES media_upload_batches(id) ON DELETE CASCADE,"
"  hash      TEXT    NOT NULL CHECK (length(hash) = 32),"
"  filename  TEXT    NOT NULL,"
"  note_id   INTEGER NOT NULL,"			/* not an FK: may be -1 */
"  file_size INTEGER NOT NULL,"
"  PRIMARY KEY (batch_id, hash, filename)"
") WITHOUT ROWID, STRICT;"
/* Is a stored file still awaited by some batch (stray sweep, GC). */
"CREATE INDEX mubf_hash ON media_upload_batch_files(hash);"

/*
 * A /createDeck whose notes are still being inserted (§7.6). upstream: an
 * in-memory map lost on restart; here it survives restarts and is visible
 * to every process. gcd drops rows older than an hour.
 */
"CREATE TABLE bulk_operations ("
"  id                  TEXT    PRIMARY KEY,"	/* lowercase UUIDv4 */
"  deck_hash           TEXT    NOT NULL,"
"  user_id             INTEGER REFERENCES users(id) ON DELETE CASCADE,"
"  note_insertion_done INTEGER NOT NULL DEFAULT 0 CHECK (note_insertion_done IN (0, 1)),"
"  created_at          REAL    NOT NULL DEFAULT (unixepoch())"
") WITHOUT ROWID, STRICT;"
/* The expiry sweep. */
"CREATE INDEX bulk_operations_created ON bulk_operations(created_at);"

/* Every note GUID of the submitted tree of a bulk operation. */
"CREATE TABLE bulk_operation_guids ("
"  op_id TEXT NOT NULL REFERENCES bulk_operations(id) ON DELETE CASCADE,"
"  guid  TEXT NOT NULL,"
"  PRIMARY KEY (op_id, guid)"
") WITHOUT ROWID, STRICT;"

/* Upload audit log (operation_type 1 = upload); gcd prunes by age. */
"CREATE TABLE media_operations_log ("
"  id             INTEGER PRIMARY KEY,"
"  operation_type INTEGER NOT NULL,"
"  user_id        INTEGER REFERENCES users(id) ON DELETE SET NULL,"
"  ip_address     TEXT    NOT NULL,"
"  timestamp      REAL    NOT NULL DEFAULT (unixepoch()),"
"  file_hash      TEXT,"
"  file_name      TEXT,"
"  file_size      INTEGER"
") STRICT;"
/* Pruning by age. */
"CREATE INDEX media_oplog_time ON media_operations_log(timestamp);"

/* ===== deck cache bootstrap (§10) ===== */

/*
 * Pre-built snapshots of a deck for first downloads (upstream: objects
 * under decks/<hash>/ in S3 with a manifest/latest.json pointer). The newest
 * row of a deck is "latest"; keys are paths relative to the cache folder.
 */
"CREATE TABLE deck_cache ("
"  id                 INTEGER PRIMARY KEY,"
"  deck_id            INTEGER NOT NULL REFERENCES decks(id) ON DELETE CASCADE,"
"  version_ts         TEXT    NOT NULL,"	/* RFC 3339: manifest_last_modified */
"  manifest_key       TEXT    NOT NULL,"
"  archive_key        TEXT,"
"  archive_size       INTEGER,"
"  source_last_update REAL    NOT NULL,"	/* decks.last_update when cut */
"  created_at         REAL    NOT NULL DEFAULT (unixepoch()),"
"  UNIQUE (deck_id, version_ts)"
") STRICT;"
/* The latest snapshot of a deck. */
"CREATE INDEX deck_cache_latest ON deck_cache(deck_id, created_at);"

/* ===== housekeeping ===== */

/* Small named values that must survive restarts (gc job last runs, ...). */
"CREATE TABLE server_state ("
"  key        TEXT PRIMARY KEY,"
"  value      ANY,"
"  updated_at REAL NOT NULL DEFAULT (unixepoch())"
") WITHOUT ROWID, STRICT;"

/* Marks the file as ours ("AkCl"); db_open refuses other applications' files. */
"PRAGMA application_id = " DB_XSTR(DB_APPLICATION_ID) ";"
;

/* Index i holds migration i + 1. Append only. */
const char *const db_migrations[] = {
	db_migration_1,
};

const int db_migrations_count = (int)(sizeof(db_migrations) / sizeof(db_migrations[0]));
