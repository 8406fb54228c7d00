/*
 * accounts.c — logging in and out: /login, /refreshToken, /removeToken,
 * /CheckUserToken, /GetUserHashFromToken (spec/api.md §2.8, §6.19–6.23).
 *
 * Accounts are made by admins (ankicollabctl user add). A user may hold
 * several token pairs, one per device (DESIGN.md); logging out ends only
 * the device's own pair.
 */
#include <stdio.h>
#include <string.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/password.h"
#include "apid/token.h"
#include "common/db.h"
#include "common/http.h"
#include "common/log.h"

#define ACCESS_TTL_US	(30LL * 86400 * 1000000)
#define REFRESH_TTL_US	(90LL * 86400 * 1000000)

int
accounts_issue_pair(int64_t user, char *access, char *refresh, int64_t *expires_us)
{
	static const char sql[] =
	    "INSERT INTO auth_tokens (user_id, token_hash, refresh_token_hash, expires_at,"
	    " refresh_expires_at, created_at, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)";
	unsigned char	 ha[TOKEN_HASH_LEN], hr[TOKEN_HASH_LEN];
	int64_t		 now = db_now_us();
	sqlite3_stmt	*st;
	int		 rc;

	if (token_generate(access, TOKEN_ACCESS_LEN) == -1 ||
	    token_generate(refresh, TOKEN_REFRESH_LEN) == -1 ||
	    token_hash(access, TOKEN_ACCESS_LEN, ha) == -1 ||
	    token_hash(refresh, TOKEN_REFRESH_LEN, hr) == -1 ||
	    (st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	sqlite3_bind_blob(st, 2, ha, sizeof(ha), SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, hr, sizeof(hr), SQLITE_STATIC);
	db_bind_time(st, 4, now + ACCESS_TTL_US);
	db_bind_time(st, 5, now + REFRESH_TTL_US);
	db_bind_time(st, 6, now);
	rc = db_step(st);
	db_stmt_done(st);
	if (rc != DB_OK)
		return -1;
	*expires_us = now + ACCESS_TTL_US;
	return 0;
}

/* A fresh pair for user; the answer body of /login and /refreshToken. */
static int
accounts_issue(int64_t user, char *body, size_t bodylen)
{
	char	access[TOKEN_ACCESS_LEN + 1], refresh[TOKEN_REFRESH_LEN + 1];
	int64_t	expires;

	if (accounts_issue_pair(user, access, refresh, &expires) == -1)
		return -1;
	snprintf(body, bodylen,
	    "{\"token\":\"%s\",\"refresh_token\":\"%s\",\"expires_at\":%lld,\"user_id\":%lld}",
	    access, refresh, (long long)(expires / 1000000), (long long)user);
	return 0;
}

int64_t
accounts_find(const char *name, char *phc, size_t phclen)
{
	static const char sql[] =
	    "SELECT id, password FROM users WHERE username = ?1 AND deleted_at IS NULL";
	sqlite3_stmt	*st;
	int64_t		 id = 0;
	int		 rc;

	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = db_step(st)) == DB_ROW) {
		id = sqlite3_column_int64(st, 0);
		snprintf(phc, phclen, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	db_stmt_done(st);
	return rc < 0 ? -1 : id;
}

static void
login(struct apid_call *call)
{
	const char		*user, *pass, *detail = "";
	char			 name[PASSWORD_USERNAME_MAX + 1], phc[512], body[256], text[300];
	int64_t			 id;
	enum password_result	 pr;

	if ((user = call_json_string(call, "username")) == NULL ||
	    (pass = call_json_string(call, "password")) == NULL)
		return;
	if (password_username_login(user, strlen(user), name, sizeof(name)) == -1 ||
	    (id = accounts_find(name, phc, sizeof(phc))) == 0) {
		call_text(call, 401, "Invalid username or password");
		return;
	}
	if (id < 0) {
		call_text(call, 401, "Internal Error");
		return;
	}
	pr = password_verify(phc, pass, strlen(pass), &detail);
	if (pr == PASSWORD_MISMATCH) {
		call_text(call, 401, "Invalid username or password");
		return;
	}
	if (pr != PASSWORD_OK) {
		snprintf(text, sizeof(text), "Password verification error: %s", detail);
		call_text(call, 401, text);
		return;
	}
	if (db_begin(apid->db) != DB_OK || accounts_issue(id, body, sizeof(body)) == -1 ||
	    db_commit(apid->db) != DB_OK) {
		db_rollback(apid->db);
		call_text(call, 401, "Error generating tokens: database error");
		return;
	}
	log_info("login: user %lld from %s", (long long)id, call->client_ip);
	call_text(call, 200, body);
}

/* Rotation: the presented refresh token dies with its pair. */
static void
refresh_token(struct apid_call *call)
{
	static const char sql[] =
	    "DELETE FROM auth_tokens WHERE refresh_token_hash = ?1 AND refresh_expires_at > ?2"
	    "   AND user_id IN (SELECT id FROM users WHERE deleted_at IS NULL)"
	    " RETURNING user_id";
	const char	*tok;
	unsigned char	 hash[TOKEN_HASH_LEN];
	char		 body[256];
	sqlite3_stmt	*st;
	int64_t		 user = 0;

	if ((tok = call_json_string(call, "refresh_token")) == NULL)
		return;
	if (token_hash(tok, strlen(tok), hash) == -1 || db_begin(apid->db) != DB_OK) {
		call_text(call, 401, "Error");
		return;
	}
	if ((st = db_stmt(apid->db, sql)) != NULL) {
		sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
		db_bind_time(st, 2, db_now_us());
		if (db_step(st) == DB_ROW)
			user = sqlite3_column_int64(st, 0);
		db_stmt_done(st);
	}
	if (user <= 0 || accounts_issue(user, body, sizeof(body)) == -1 ||
	    db_commit(apid->db) != DB_OK) {
		db_rollback(apid->db);
		call_text(call, 401, "Error");
		return;
	}
	call_text(call, 200, body);
}

int
accounts_revoke(const char *tok, size_t len)
{
	static const char sql[] = "DELETE FROM auth_tokens WHERE token_hash = ?1";
	unsigned char	 hash[TOKEN_HASH_LEN];
	sqlite3_stmt	*st;
	int		 rc = DB_ERR;

	if (len == 0 || len > TOKEN_MAX_LEN)
		return 0;
	if (token_hash(tok, len, hash) == 0 && (st = db_stmt(apid->db, sql)) != NULL) {
		sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
		rc = db_step(st);
		db_stmt_done(st);
	}
	if (rc != DB_OK)
		return -1;
	return db_changes(apid->db) > 0;
}

void
accounts_logout(struct apid_call *call, const char *tok, size_t len)
{
	switch (accounts_revoke(tok, len)) {
	case -1:
		call_text(call, 404, "Token not found");
		break;
	case 0:
		call_text(call, 200, "Token not found");
		break;
	default:
		call_text(call, 200, "Token successfully removed");
		break;
	}
}

static void
remove_token(struct apid_call *call)
{
	const char	*value = http_req_header(call->req, "Authorization"), *tok = "";
	size_t		 toklen = 0;

	/* call.c has already accepted this header. */
	token_parse_authorization(value, strlen(value), &tok, &toklen);
	accounts_logout(call, tok, toklen);
}

static void
check_user_token(struct apid_call *call)
{
	call_text(call, 200, call->user_id > 0 ? "true" : "false");
}

static void
user_hash_from_token(struct apid_call *call)
{
	static const char sql[] = "SELECT username FROM users WHERE id = ?1";
	char		 hex[PASSWORD_USER_HASH_LEN + 1], body[PASSWORD_USER_HASH_LEN + 3];
	const char	*name;
	sqlite3_stmt	*st;
	int		 ok = 0;

	if ((st = db_stmt(apid->db, sql)) != NULL) {
		sqlite3_bind_int64(st, 1, call->user_id);
		if (db_step(st) == DB_ROW) {
			name = (const char *)sqlite3_column_text(st, 0);
			ok = password_user_hash(name, strlen(name), hex) == 0;
		}
		db_stmt_done(st);
	}
	if (!ok) {
		call_text(call, 500, "Could not resolve user");
		return;
	}
	snprintf(body, sizeof(body), "\"%s\"", hex);
	call_text(call, 200, body);
}

static const struct apid_route r_login = { AUTH_NONE, BODY_JSON, login, NULL, NULL };
static const struct apid_route r_refresh = { AUTH_NONE, BODY_JSON, refresh_token, NULL, NULL };
static const struct apid_route r_remove = { AUTH_REQ, BODY_TEXT, remove_token, NULL, NULL };
static const struct apid_route r_check = { AUTH_OPT, BODY_TEXT, check_user_token, NULL, NULL };
static const struct apid_route r_hash = { AUTH_REQ, BODY_TEXT, user_hash_from_token, NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/login", HTTP_POST, BODY_LIMIT_JSON, &r_login),
	APID_ROUTE("/refreshToken", HTTP_POST, BODY_LIMIT_JSON, &r_refresh),
	APID_ROUTE("/removeToken", HTTP_POST, BODY_LIMIT_JSON, &r_remove),
	APID_ROUTE("/CheckUserToken", HTTP_POST, BODY_LIMIT_JSON, &r_check),
	APID_ROUTE("/GetUserHashFromToken", HTTP_POST, BODY_LIMIT_JSON, &r_hash),
};

const struct apid_area accounts_area = { routes, sizeof(routes) / sizeof(routes[0]) };
