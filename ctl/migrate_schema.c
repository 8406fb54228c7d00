/*
 * migrate_schema.c — upstream AnkiCollab's PostgreSQL schema, and how each
 * of its tables and columns maps onto ours (common/db_schema.c).
 *
 * The DDL is written from spec/schema.md §1 (upstream ships a pg_dump of
 * PostgreSQL 18; this runs on 15 too). It is the one copy: to-postgres
 * runs it on the target, and "ankicollabctl migrate upstream-schema"
 * prints it for tests and admins. Everything is IF NOT EXISTS (or OR
 * REPLACE), so a database already made by upstream's own dump is left as
 * it is.
 */
#include <stddef.h>

#include "ctl/migrate.h"

const char mig_upstream_schema[] =
"CREATE SCHEMA IF NOT EXISTS anki;\n"
"\n"
"CREATE TABLE IF NOT EXISTS public.users (\n"
"  id          serial PRIMARY KEY,\n"
"  username    varchar(254) NOT NULL CONSTRAINT users_email_key UNIQUE,\n"
"  password    varchar(255) NOT NULL,\n"
"  is_admin    boolean DEFAULT false,\n"
"  signup_ip   inet NOT NULL,\n"
"  created_at  timestamp DEFAULT now(),\n"
"  deleted_at  timestamptz\n"
");\n"
"CREATE INDEX IF NOT EXISTS users_deleted_at_idx ON public.users (deleted_at)\n"
"  WHERE deleted_at IS NOT NULL;\n"
"CREATE OR REPLACE FUNCTION anki.normalize_username() RETURNS trigger\n"
"  LANGUAGE plpgsql AS $$\n"
"BEGIN\n"
"  NEW.username := trim(lower(NEW.username));\n"
"  RETURN NEW;\n"
"END $$;\n"
"CREATE OR REPLACE TRIGGER normalize_username_trigger\n"
"  BEFORE INSERT OR UPDATE ON public.users\n"
"  FOR EACH ROW EXECUTE FUNCTION anki.normalize_username();\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.auth_tokens (\n"
"  id                 integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"  user_id            integer NOT NULL REFERENCES public.users(id) ON DELETE CASCADE,\n"
"  token_hash         bytea NOT NULL,\n"
"  refresh_token_hash bytea,\n"
"  expires_at         timestamptz NOT NULL,\n"
"  refresh_expires_at timestamptz,\n"
"  created_at         timestamptz DEFAULT now(),\n"
"  last_used_at       timestamptz DEFAULT now()\n"
");\n"
"CREATE UNIQUE INDEX IF NOT EXISTS auth_tokens_user_id_key ON anki.auth_tokens (user_id);\n"
"CREATE INDEX IF NOT EXISTS auth_tokens_token_hash_idx ON anki.auth_tokens (token_hash);\n"
"CREATE INDEX IF NOT EXISTS auth_tokens_refresh_idx ON anki.auth_tokens (refresh_token_hash);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.login_logs (\n"
"  id          bigserial PRIMARY KEY,\n"
"  user_id     integer REFERENCES public.users(id) ON DELETE CASCADE,\n"
"  occurred_at timestamptz DEFAULT now(),\n"
"  ip_address  inet\n"
");\n"
"CREATE INDEX IF NOT EXISTS login_logs_user_idx ON anki.login_logs (user_id, occurred_at DESC);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.user_quotas (\n"
"  user_id        integer PRIMARY KEY REFERENCES public.users(id) ON DELETE CASCADE,\n"
"  storage_used   bigint DEFAULT 0,\n"
"  upload_count   integer DEFAULT 0,\n"
"  download_count integer DEFAULT 0,\n"
"  last_reset     timestamptz DEFAULT now()\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.decks (\n"
"  id                     bigserial CONSTRAINT idx_16391_primary PRIMARY KEY,\n"
"  name                   text,\n"
"  description            text,\n"
"  owner                  integer REFERENCES public.users(id) ON DELETE CASCADE,\n"
"  last_update            timestamptz,\n"
"  parent                 bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  crowdanki_uuid         text,\n"
"  human_hash             varchar(255) CONSTRAINT hash_unique UNIQUE,\n"
"  creator_ip             varchar(255),\n"
"  full_path              text,\n"
"  private                boolean DEFAULT true,\n"
"  stats_enabled          boolean DEFAULT false,\n"
"  retention              real,\n"
"  notes_with_stats_count integer DEFAULT 0,\n"
"  restrict_notetypes     boolean DEFAULT true,\n"
"  restrict_subdecks      boolean DEFAULT false,\n"
"  deleted_at             timestamptz,\n"
"  UNIQUE (owner, parent, name)\n"
");\n"
"CREATE INDEX IF NOT EXISTS decks_owner_idx ON anki.decks (owner);\n"
"CREATE INDEX IF NOT EXISTS decks_last_update_idx ON anki.decks (last_update);\n"
"CREATE INDEX IF NOT EXISTS decks_parent_idx ON anki.decks (parent);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.notetype (\n"
"  id                  bigserial PRIMARY KEY,\n"
"  guid                text NOT NULL,\n"
"  css                 text,\n"
"  latex_post          text,\n"
"  latex_pre           text,\n"
"  latex_svg           boolean,\n"
"  name                text,\n"
"  type                integer DEFAULT 0,\n"
"  owner               integer REFERENCES public.users(id) ON DELETE CASCADE,\n"
"  original_stock_kind integer NOT NULL DEFAULT 0,\n"
"  sortf               integer DEFAULT 0,\n"
"  req                 text,\n"
"  UNIQUE (guid, owner)\n"
");\n"
"CREATE INDEX IF NOT EXISTS notetype_owner_idx ON anki.notetype (owner);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.notetype_field (\n"
"  id          bigserial PRIMARY KEY,\n"
"  notetype    bigint REFERENCES anki.notetype(id) ON DELETE CASCADE,\n"
"  description text,\n"
"  font        text,\n"
"  name        text,\n"
"  ord         integer,\n"
"  rtl         boolean,\n"
"  size        integer,\n"
"  sticky      boolean,\n"
"  position    oid NOT NULL,\n"
"  protected   boolean DEFAULT false,\n"
"  anki_id     bigint DEFAULT 0,\n"
"  tag         integer DEFAULT 0\n"
");\n"
"CREATE INDEX IF NOT EXISTS notetype_field_notetype_idx ON anki.notetype_field (notetype);\n"
"CREATE INDEX IF NOT EXISTS notetype_field_protected_idx\n"
"  ON anki.notetype_field (notetype, protected);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.notetype_template (\n"
"  id       bigserial PRIMARY KEY,\n"
"  notetype bigint REFERENCES anki.notetype(id) ON DELETE CASCADE,\n"
"  qfmt     text,\n"
"  afmt     text,\n"
"  bqfmt    text,\n"
"  bafmt    text,\n"
"  bfont    text,\n"
"  bsize    integer,\n"
"  name     text,\n"
"  position oid NOT NULL,\n"
"  anki_id  bigint DEFAULT 0,\n"
"  ord      integer DEFAULT 0\n"
");\n"
"CREATE INDEX IF NOT EXISTS notetype_template_notetype_idx\n"
"  ON anki.notetype_template (notetype);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.notes (\n"
"  id          bigserial PRIMARY KEY,\n"
"  guid        varchar(255) NOT NULL,\n"
"  notetype    bigint NOT NULL REFERENCES anki.notetype(id) ON DELETE CASCADE,\n"
"  deck        bigint NOT NULL REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  last_update timestamptz,\n"
"  reviewed    boolean NOT NULL DEFAULT false,\n"
"  creator_ip  varchar(255),\n"
"  deleted     boolean DEFAULT false,\n"
"  anki_id     bigint DEFAULT 0,\n"
"  version     bigint NOT NULL DEFAULT 0,\n"
"  UNIQUE (deck, guid)\n"
");\n"
"CREATE INDEX IF NOT EXISTS notes_guid_idx ON anki.notes (guid);\n"
"CREATE INDEX IF NOT EXISTS notes_deck_notetype_idx ON anki.notes (deck, notetype);\n"
"CREATE INDEX IF NOT EXISTS notes_live_idx ON anki.notes (deck, id)\n"
"  WHERE reviewed AND NOT deleted;\n"
"CREATE INDEX IF NOT EXISTS notes_live_update_idx ON anki.notes (deck, last_update)\n"
"  WHERE reviewed AND NOT deleted;\n"
"CREATE INDEX IF NOT EXISTS notes_undeleted_idx ON anki.notes (deck) WHERE NOT deleted;\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.commits (\n"
"  commit_id serial PRIMARY KEY,\n"
"  rationale integer,\n"
"  ip        varchar(255),\n"
"  timestamp timestamptz,\n"
"  deck      bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  info      varchar(255) DEFAULT '',\n"
"  user_id   integer REFERENCES public.users(id) ON DELETE CASCADE\n"
");\n"
"CREATE INDEX IF NOT EXISTS commits_deck_idx ON anki.commits (deck) WHERE deck IS NOT NULL;\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.fields (\n"
"  id         bigserial PRIMARY KEY,\n"
"  note       bigint NOT NULL REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  position   oid NOT NULL,\n"
"  content    text,\n"
"  reviewed   boolean NOT NULL DEFAULT false,\n"
"  creator_ip varchar(255),\n"
"  \"commit\"   integer REFERENCES anki.commits(commit_id) ON DELETE CASCADE\n"
");\n"
"CREATE INDEX IF NOT EXISTS fields_note_idx ON anki.fields (note);\n"
"CREATE INDEX IF NOT EXISTS fields_commit_idx ON anki.fields (\"commit\");\n"
"CREATE UNIQUE INDEX IF NOT EXISTS fields_note_position_reviewed\n"
"  ON anki.fields (note, position) WHERE reviewed = true;\n"
"CREATE INDEX IF NOT EXISTS fields_commit_note_pending\n"
"  ON anki.fields (\"commit\", note) WHERE reviewed = false;\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.tags (\n"
"  id         bigserial PRIMARY KEY,\n"
"  note       bigint REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  content    text,\n"
"  reviewed   boolean NOT NULL DEFAULT false,\n"
"  creator_ip varchar(255),\n"
"  action     boolean DEFAULT true,\n"
"  \"commit\"   integer REFERENCES anki.commits(commit_id) ON DELETE CASCADE\n"
");\n"
"CREATE INDEX IF NOT EXISTS tags_note_idx ON anki.tags (note, reviewed, content);\n"
"CREATE INDEX IF NOT EXISTS tags_commit_note_pending ON anki.tags (\"commit\", note)\n"
"  WHERE NOT reviewed;\n"
"CREATE INDEX IF NOT EXISTS tags_commit_idx ON anki.tags (\"commit\");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.card_deletion_suggestions (\n"
"  id         serial PRIMARY KEY,\n"
"  note       bigint UNIQUE REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  creator_ip varchar(255) NOT NULL,\n"
"  \"commit\"   integer REFERENCES anki.commits(commit_id) ON DELETE CASCADE\n"
");\n"
"CREATE INDEX IF NOT EXISTS cds_commit_idx ON anki.card_deletion_suggestions (\"commit\");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.note_move_suggestions (\n"
"  id            serial PRIMARY KEY,\n"
"  original_deck bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  target_deck   bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  note          bigint REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  creator_ip    varchar(255) NOT NULL,\n"
"  \"commit\"      integer REFERENCES anki.commits(commit_id) ON DELETE CASCADE\n"
");\n"
"CREATE INDEX IF NOT EXISTS nms_commit_idx ON anki.note_move_suggestions (\"commit\");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.maintainers (\n"
"  id      serial PRIMARY KEY,\n"
"  deck    bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  user_id integer REFERENCES public.users(id) ON DELETE CASCADE\n"
");\n"
"CREATE INDEX IF NOT EXISTS maintainers_user_idx ON anki.maintainers (user_id);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.optional_tags (\n"
"  id        serial PRIMARY KEY,\n"
"  deck      bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  tag_group varchar(255)\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.changelogs (\n"
"  id        bigserial PRIMARY KEY,\n"
"  deck      bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  message   text,\n"
"  timestamp timestamptz\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.note_events (\n"
"  id            bigserial PRIMARY KEY,\n"
"  note_id       bigint NOT NULL REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  version       bigint NOT NULL,\n"
"  event_type    text NOT NULL,\n"
"  actor_user_id integer REFERENCES public.users(id) ON DELETE SET NULL,\n"
"  commit_id     integer REFERENCES anki.commits(commit_id) ON DELETE CASCADE,\n"
"  approved      boolean,\n"
"  old_value     jsonb,\n"
"  new_value     jsonb,\n"
"  created_at    timestamptz DEFAULT now(),\n"
"  UNIQUE (note_id, version)\n"
");\n"
"CREATE INDEX IF NOT EXISTS note_events_version_idx ON anki.note_events (note_id, version DESC);\n"
"CREATE INDEX IF NOT EXISTS note_events_created_idx\n"
"  ON anki.note_events (note_id, created_at DESC);\n"
"CREATE INDEX IF NOT EXISTS note_events_commit_idx ON anki.note_events (commit_id);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.notifications (\n"
"  id         serial PRIMARY KEY,\n"
"  user_id    integer REFERENCES public.users(id) ON DELETE CASCADE,\n"
"  commit_id  integer REFERENCES anki.commits(commit_id) ON DELETE CASCADE,\n"
"  deck_id    bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  status     varchar(32) CHECK (status IN ('approved', 'denied')),\n"
"  reason     text,\n"
"  is_read    boolean DEFAULT false,\n"
"  created_at timestamptz DEFAULT now()\n"
");\n"
"CREATE INDEX IF NOT EXISTS notifications_commit_idx ON anki.notifications (commit_id, user_id);\n"
"CREATE INDEX IF NOT EXISTS notifications_user_idx\n"
"  ON anki.notifications (user_id, is_read, created_at DESC);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.subscriptions (\n"
"  id        serial PRIMARY KEY,\n"
"  user_hash varchar(255) NOT NULL,\n"
"  deck_id   bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  UNIQUE (user_hash, deck_id)\n"
");\n"
"CREATE INDEX IF NOT EXISTS subscriptions_deck_idx ON anki.subscriptions (deck_id);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.deck_subscriptions (\n"
"  subscription_id    bigserial PRIMARY KEY,\n"
"  subscriber_deck_id bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  base_deck_id       bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  created_at         timestamptz DEFAULT now(),\n"
"  UNIQUE (subscriber_deck_id, base_deck_id)\n"
");\n"
"CREATE INDEX IF NOT EXISTS deck_subscriptions_base_idx ON anki.deck_subscriptions (base_deck_id);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.subscription_field_policy (\n"
"  subscriber_deck_id bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  base_deck_id       bigint REFERENCES anki.decks(id) ON DELETE CASCADE,\n"
"  notetype_id        bigint REFERENCES anki.notetype(id) ON DELETE CASCADE,\n"
"  subscribed_fields  integer[],\n"
"  PRIMARY KEY (subscriber_deck_id, base_deck_id, notetype_id)\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.note_inheritance (\n"
"  inheritance_id     bigserial PRIMARY KEY,\n"
"  subscriber_note_id bigint UNIQUE REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  base_note_id       bigint REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  subscribed_fields  integer[],\n"
"  removed_base_tags  text[] DEFAULT '{}',\n"
"  created_at         timestamptz DEFAULT now()\n"
");\n"
"CREATE INDEX IF NOT EXISTS note_inheritance_base_idx ON anki.note_inheritance (base_note_id);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.note_stats (\n"
"  id        serial PRIMARY KEY,\n"
"  note_id   bigint REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  user_hash varchar(64),\n"
"  retention integer,\n"
"  lapses    integer,\n"
"  reps      integer,\n"
"  UNIQUE (user_hash, note_id)\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.calculated_stats (\n"
"  note_id     bigint PRIMARY KEY REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  sample_size integer,\n"
"  retention   real,\n"
"  lapses      real,\n"
"  reps        real\n"
");\n"
"CREATE INDEX IF NOT EXISTS calculated_stats_idx ON anki.calculated_stats (retention, lapses DESC);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.media_files (\n"
"  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"  hash       varchar(64) NOT NULL UNIQUE,\n"
"  file_size  bigint DEFAULT 0,\n"
"  created_at timestamptz DEFAULT now()\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.media_references (\n"
"  id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"  media_id  bigint REFERENCES anki.media_files(id) ON DELETE CASCADE,\n"
"  note_id   bigint REFERENCES anki.notes(id) ON DELETE CASCADE,\n"
"  file_name varchar(255) NOT NULL,\n"
"  UNIQUE (media_id, note_id)\n"
");\n"
"CREATE INDEX IF NOT EXISTS media_references_note_idx ON anki.media_references (note_id)\n"
"  INCLUDE (media_id, file_name);\n"
"CREATE INDEX IF NOT EXISTS media_references_name_idx ON anki.media_references (file_name);\n"
"CREATE INDEX IF NOT EXISTS media_references_media_idx ON anki.media_references (media_id);\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.media_bulk_uploads (\n"
"  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),\n"
"  metadata   jsonb NOT NULL,\n"
"  created_at timestamptz DEFAULT now()\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.media_operations_log (\n"
"  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
"  operation_type integer,\n"
"  user_id        integer REFERENCES public.users(id) ON DELETE SET NULL,\n"
"  ip_address     varchar(45),\n"
"  timestamp      timestamptz DEFAULT now(),\n"
"  file_hash      varchar(64),\n"
"  file_name      varchar(255),\n"
"  file_size      bigint\n"
");\n"
"\n"
"CREATE TABLE IF NOT EXISTS anki.media (\n"
"  id       bigserial PRIMARY KEY,\n"
"  filename text,\n"
"  deck     bigint REFERENCES anki.decks(id) ON DELETE CASCADE\n"
");\n"
"\n"
/* The website's listing; upstream's backend refreshes it at start. */
"CREATE MATERIALIZED VIEW IF NOT EXISTS anki.deck_stats AS\n"
"  WITH RECURSIVE tree AS (\n"
"    SELECT id AS root, id FROM anki.decks WHERE parent IS NULL\n"
"    UNION ALL\n"
"    SELECT t.root, d.id FROM anki.decks d JOIN tree t ON d.parent = t.id)\n"
"  SELECT d.id, d.name, d.description, d.human_hash, d.owner, d.last_update,\n"
"    d.private, d.stats_enabled,\n"
"    CASE WHEN c.n = 0 THEN '0' WHEN c.n < 100 THEN '<100'\n"
"      WHEN c.n < 1000 THEN '<1k' ELSE (c.n / 1000) || 'k' END AS note_count\n"
"  FROM anki.decks d,\n"
"    LATERAL (SELECT count(*) AS n FROM anki.notes n JOIN tree t ON n.deck = t.id\n"
"      WHERE t.root = d.id AND NOT n.deleted) c\n"
"  WHERE d.parent IS NULL AND d.deleted_at IS NULL\n"
"  WITH NO DATA;\n"
"\n"
/* What the website's /DeleteDeck calls: a deck and its subtree. */
"CREATE OR REPLACE FUNCTION anki.delete_deck(deck_hash text) RETURNS void\n"
"  LANGUAGE sql AS $$\n"
"  WITH RECURSIVE tree AS (\n"
"    SELECT id FROM anki.decks WHERE human_hash = deck_hash\n"
"    UNION ALL\n"
"    SELECT d.id FROM anki.decks d JOIN tree t ON d.parent = t.id)\n"
"  DELETE FROM anki.decks WHERE id IN (SELECT id FROM tree);\n"
"$$;\n";

/*
 * In the order rows go in: a table after those it references, and
 * media_files before media_references (whose triggers count references).
 */
const struct mig_table mig_tables[] = {
	{ "users", "public.users", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "username", NULL, MIG_TEXT, NULL, NULL },
		{ "password", NULL, MIG_TEXT, NULL, NULL },
		{ "is_admin", NULL, MIG_BOOL, "0", NULL },
		/* upstream: inet NOT NULL; ours may be unknown */
		{ "signup_ip", NULL, MIG_TEXT, NULL, "'0.0.0.0'" },
		{ "created_at", NULL, MIG_TIME, "0", NULL },
		{ "deleted_at", NULL, MIG_TIME, NULL, NULL } } },
	/* upstream keeps one pair per user: the one used last goes back */
	{ "auth_tokens", "anki.auth_tokens", "id", NULL,
	  "id = (SELECT b.id FROM auth_tokens b WHERE b.user_id = auth_tokens.user_id "
	  "ORDER BY b.last_used_at DESC, b.id DESC LIMIT 1)", {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "user_id", NULL, MIG_INT, NULL, NULL },
		{ "token_hash", NULL, MIG_BYTEA, NULL, NULL },
		{ "refresh_token_hash", NULL, MIG_BYTEA, NULL, NULL },
		{ "expires_at", NULL, MIG_TIME, NULL, NULL },
		{ "refresh_expires_at", NULL, MIG_TIME, NULL, NULL },
		{ "created_at", NULL, MIG_TIME, "0", NULL },
		{ "last_used_at", NULL, MIG_TIME, "0", NULL } } },
	{ "user_quotas", "anki.user_quotas", "user_id", NULL, NULL, {
		{ "user_id", NULL, MIG_INT, NULL, NULL },
		{ "storage_used", NULL, MIG_INT, "0", NULL },
		{ "upload_count", NULL, MIG_INT, "0", NULL },
		{ "download_count", NULL, MIG_INT, "0", NULL },
		{ "last_reset", NULL, MIG_TIME, "0", NULL } } },
	{ "decks", "anki.decks", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "name", NULL, MIG_TEXT, "''", NULL },
		{ "description", NULL, MIG_TEXT, "''", NULL },
		{ "owner", NULL, MIG_INT, NULL, NULL },
		{ "last_update", NULL, MIG_TIME, "0", NULL },
		{ "parent", NULL, MIG_INT, NULL, NULL },
		{ "crowdanki_uuid", NULL, MIG_TEXT, NULL, NULL },
		{ "human_hash", NULL, MIG_TEXT, NULL, NULL },
		{ "creator_ip", NULL, MIG_TEXT, NULL, NULL },
		{ "full_path", NULL, MIG_TEXT, "coalesce(name, '')", NULL },
		{ "private", NULL, MIG_BOOL, "1", NULL },
		{ "stats_enabled", NULL, MIG_BOOL, "0", NULL },
		{ "retention", NULL, MIG_REAL, NULL, NULL },
		{ "notes_with_stats_count", NULL, MIG_INT, "0", NULL },
		{ "restrict_notetypes", NULL, MIG_BOOL, "1", NULL },
		{ "restrict_subdecks", NULL, MIG_BOOL, "0", NULL },
		{ "deleted_at", NULL, MIG_TIME, NULL, NULL } } },
	{ "notetype", "anki.notetype", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "guid", NULL, MIG_TEXT, NULL, NULL },
		{ "css", NULL, MIG_TEXT, "''", NULL },
		{ "latex_post", NULL, MIG_TEXT, "''", NULL },
		{ "latex_pre", NULL, MIG_TEXT, "''", NULL },
		{ "latex_svg", NULL, MIG_BOOL, "0", NULL },
		{ "name", NULL, MIG_TEXT, "''", NULL },
		{ "type", NULL, MIG_INT, "0", NULL },
		{ "owner", NULL, MIG_INT, NULL, NULL },
		{ "original_stock_kind", NULL, MIG_INT, NULL, NULL },
		{ "sortf", NULL, MIG_INT, "0", NULL },
		{ "req", NULL, MIG_TEXT, NULL, NULL } } },
	{ "notetype_field", "anki.notetype_field", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "notetype", NULL, MIG_INT, NULL, NULL },
		{ "description", NULL, MIG_TEXT, "''", NULL },
		{ "font", NULL, MIG_TEXT, "''", NULL },
		{ "name", NULL, MIG_TEXT, "''", NULL },
		{ "ord", NULL, MIG_INT, NULL, NULL },
		{ "rtl", NULL, MIG_BOOL, "0", NULL },
		{ "size", NULL, MIG_INT, "0", NULL },
		{ "sticky", NULL, MIG_BOOL, "0", NULL },
		{ "position", NULL, MIG_INT, NULL, NULL },
		{ "protected", NULL, MIG_BOOL, "0", NULL },
		{ "anki_id", NULL, MIG_INT, "0", NULL },
		{ "tag", NULL, MIG_INT, "0", NULL } } },
	{ "notetype_template", "anki.notetype_template", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "notetype", NULL, MIG_INT, NULL, NULL },
		{ "qfmt", NULL, MIG_TEXT, "''", NULL },
		{ "afmt", NULL, MIG_TEXT, "''", NULL },
		{ "bqfmt", NULL, MIG_TEXT, "''", NULL },
		{ "bafmt", NULL, MIG_TEXT, "''", NULL },
		{ "bfont", NULL, MIG_TEXT, "''", NULL },
		{ "bsize", NULL, MIG_INT, "0", NULL },
		{ "name", NULL, MIG_TEXT, "''", NULL },
		{ "position", NULL, MIG_INT, NULL, NULL },
		{ "anki_id", NULL, MIG_INT, "0", NULL },
		{ "ord", NULL, MIG_INT, "0", NULL } } },
	{ "notes", "anki.notes", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "guid", NULL, MIG_TEXT, NULL, NULL },
		{ "notetype", NULL, MIG_INT, NULL, NULL },
		{ "deck", NULL, MIG_INT, NULL, NULL },
		{ "last_update", NULL, MIG_TIME, "0", NULL },
		{ "reviewed", NULL, MIG_BOOL, NULL, NULL },
		{ "creator_ip", NULL, MIG_TEXT, NULL, NULL },
		{ "deleted", NULL, MIG_BOOL, "0", NULL },
		{ "anki_id", NULL, MIG_INT, "0", NULL },
		{ "version", NULL, MIG_INT, NULL, NULL } } },
	{ "commits", "anki.commits", "commit_id", NULL, NULL, {
		{ "commit_id", NULL, MIG_INT, NULL, NULL },
		{ "rationale", NULL, MIG_INT, "0", NULL },
		{ "ip", NULL, MIG_TEXT, NULL, NULL },
		{ "timestamp", NULL, MIG_TIME, "0", NULL },
		{ "deck", NULL, MIG_INT, NULL, NULL },
		{ "info", NULL, MIG_TEXT, "''", NULL },
		{ "user_id", NULL, MIG_INT, NULL, NULL } } },
	{ "fields", "anki.fields", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "note", NULL, MIG_INT, NULL, NULL },
		{ "position", NULL, MIG_INT, NULL, NULL },
		{ "content", NULL, MIG_TEXT, "''", NULL },
		{ "reviewed", NULL, MIG_BOOL, NULL, NULL },
		{ "creator_ip", NULL, MIG_TEXT, NULL, NULL },
		{ "commit_id", "commit", MIG_INT, NULL, NULL } } },
	{ "tags", "anki.tags", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "note", NULL, MIG_INT, NULL, NULL },
		{ "content", NULL, MIG_TEXT, "''", NULL },
		{ "reviewed", NULL, MIG_BOOL, NULL, NULL },
		{ "creator_ip", NULL, MIG_TEXT, NULL, NULL },
		{ "action", NULL, MIG_BOOL, "1", NULL },
		{ "commit_id", "commit", MIG_INT, NULL, NULL } } },
	{ "card_deletion_suggestions", "anki.card_deletion_suggestions", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "note", NULL, MIG_INT, NULL, NULL },
		{ "creator_ip", NULL, MIG_TEXT, NULL, NULL },
		{ "commit_id", "commit", MIG_INT, NULL, NULL } } },
	{ "note_move_suggestions", "anki.note_move_suggestions", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "original_deck", NULL, MIG_INT, NULL, NULL },
		{ "target_deck", NULL, MIG_INT, NULL, NULL },
		{ "note", NULL, MIG_INT, NULL, NULL },
		{ "creator_ip", NULL, MIG_TEXT, NULL, NULL },
		{ "commit_id", "commit", MIG_INT, NULL, NULL } } },
	{ "maintainers", "anki.maintainers", "id", "deck, user_id", NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "deck", NULL, MIG_INT, NULL, NULL },
		{ "user_id", NULL, MIG_INT, NULL, NULL } } },
	{ "optional_tags", "anki.optional_tags", "id", "deck, tag_group", NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "deck", NULL, MIG_INT, NULL, NULL },
		{ "tag_group", NULL, MIG_TEXT, NULL, NULL } } },
	{ "changelogs", "anki.changelogs", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "deck", NULL, MIG_INT, NULL, NULL },
		{ "message", NULL, MIG_TEXT, "''", NULL },
		{ "timestamp", NULL, MIG_TIME, "0", NULL } } },
	{ "subscriptions", "anki.subscriptions", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "user_hash", NULL, MIG_TEXT, NULL, NULL },
		{ "deck_id", NULL, MIG_INT, NULL, NULL } } },
	{ "note_events", "anki.note_events", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "note_id", NULL, MIG_INT, NULL, NULL },
		{ "version", NULL, MIG_INT, NULL, NULL },
		{ "event_type", NULL, MIG_TEXT, NULL, NULL },
		{ "actor_user_id", NULL, MIG_INT, NULL, NULL },
		{ "commit_id", NULL, MIG_INT, NULL, NULL },
		{ "approved", NULL, MIG_BOOL, NULL, NULL },
		{ "old_value", NULL, MIG_JSON, NULL, NULL },
		{ "new_value", NULL, MIG_JSON, NULL, NULL },
		{ "created_at", NULL, MIG_TIME, "0", NULL } } },
	{ "notifications", "anki.notifications", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "user_id", NULL, MIG_INT, NULL, NULL },
		{ "commit_id", NULL, MIG_INT, NULL, NULL },
		{ "deck_id", NULL, MIG_INT, NULL, NULL },
		{ "status", NULL, MIG_TEXT, NULL, NULL },
		{ "reason", NULL, MIG_TEXT, NULL, NULL },
		{ "is_read", NULL, MIG_BOOL, "0", NULL },
		{ "created_at", NULL, MIG_TIME, "0", NULL } } },
	{ "deck_subscriptions", "anki.deck_subscriptions", "subscription_id", NULL, NULL, {
		{ "subscription_id", NULL, MIG_INT, NULL, NULL },
		{ "subscriber_deck_id", NULL, MIG_INT, NULL, NULL },
		{ "base_deck_id", NULL, MIG_INT, NULL, NULL },
		{ "created_at", NULL, MIG_TIME, "0", NULL } } },
	{ "subscription_field_policy", "anki.subscription_field_policy", NULL,
	  "subscriber_deck_id, base_deck_id, notetype_id", NULL, {
		{ "subscriber_deck_id", NULL, MIG_INT, NULL, NULL },
		{ "base_deck_id", NULL, MIG_INT, NULL, NULL },
		{ "notetype_id", NULL, MIG_INT, NULL, NULL },
		{ "subscribed_fields", NULL, MIG_INTARR, NULL, NULL } } },
	{ "note_inheritance", "anki.note_inheritance", "inheritance_id", NULL, NULL, {
		{ "inheritance_id", NULL, MIG_INT, NULL, NULL },
		{ "subscriber_note_id", NULL, MIG_INT, NULL, NULL },
		{ "base_note_id", NULL, MIG_INT, NULL, NULL },
		{ "subscribed_fields", NULL, MIG_INTARR, NULL, NULL },
		{ "removed_base_tags", NULL, MIG_TEXTARR, "'[]'", NULL },
		{ "created_at", NULL, MIG_TIME, "0", NULL } } },
	{ "note_stats", "anki.note_stats", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "note_id", NULL, MIG_INT, NULL, NULL },
		{ "user_hash", NULL, MIG_TEXT, NULL, NULL },
		{ "retention", NULL, MIG_INT, "0", NULL },
		{ "lapses", NULL, MIG_INT, "0", NULL },
		{ "reps", NULL, MIG_INT, "0", NULL } } },
	{ "calculated_stats", "anki.calculated_stats", "note_id", NULL, NULL, {
		{ "note_id", NULL, MIG_INT, NULL, NULL },
		{ "sample_size", NULL, MIG_INT, "0", NULL },
		{ "retention", NULL, MIG_REAL, NULL, NULL },
		{ "lapses", NULL, MIG_REAL, NULL, NULL },
		{ "reps", NULL, MIG_REAL, NULL, NULL } } },
	{ "media_files", "anki.media_files", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "hash", NULL, MIG_TEXT, NULL, NULL },
		{ "file_size", NULL, MIG_INT, "0", NULL },
		{ "created_at", NULL, MIG_TIME, "0", NULL } } },
	{ "media_references", "anki.media_references", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "media_id", NULL, MIG_INT, NULL, NULL },
		{ "note_id", NULL, MIG_INT, NULL, NULL },
		{ "file_name", NULL, MIG_TEXT, NULL, NULL } } },
	{ "media_operations_log", "anki.media_operations_log", "id", NULL, NULL, {
		{ "id", NULL, MIG_INT, NULL, NULL },
		{ "operation_type", NULL, MIG_INT, NULL, NULL },
		{ "user_id", NULL, MIG_INT, NULL, NULL },
		{ "ip_address", NULL, MIG_TEXT, "''", NULL },
		{ "timestamp", NULL, MIG_TIME, "0", NULL },
		{ "file_hash", NULL, MIG_TEXT, NULL, NULL },
		{ "file_name", NULL, MIG_TEXT, NULL, NULL },
		{ "file_size", NULL, MIG_INT, NULL, NULL } } },
};

const size_t mig_ntables = sizeof(mig_tables) / sizeof(mig_tables[0]);

/*
 * Website-only or unused upstream: login logs, upload batches that were
 * never confirmed (they expire within a day anyway), the legacy media
 * table. from-postgres reports their rows as not carried over.
 */
const char *const mig_up_only[] = {
	"anki.login_logs", "anki.media_bulk_uploads", "anki.media",
};

const size_t mig_nup_only = sizeof(mig_up_only) / sizeof(mig_up_only[0]);

size_t
mig_ncols(const struct mig_table *t)
{
	size_t	n;

	for (n = 0; n < MIG_COLS_MAX && t->cols[n].ours != NULL; n++)
		;
	return n;
}
