/*
 * call.c — apid's extractors: bearer token, client address, body.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/ratelimit.h"
#include "apid/shed.h"
#include "apid/token.h"
#include "common/db.h"
#include "common/gzb64.h"
#include "common/http.h"
#include "common/log.h"

#define JSON_MAX_DEPTH	64

/* ---- answers ------------------------------------------------------------------ */

void
call_reply(struct apid_call *call, int status, const char *ctype, const void *body, size_t len)
{
	if (call->answered)
		return;
	call->answered = 1;
	http_respond(call->req, status, ctype, body, len);
}

void
call_text(struct apid_call *call, int status, const char *text)
{
	call_reply(call, status, "text/plain; charset=utf-8", text, strlen(text));
}

void
call_json(struct apid_call *call, int status, json_object *obj)
{
	size_t		 len;
	const char	*s = json_object_to_json_string_length(obj,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	call_reply(call, status, "application/json", s, len);
	json_object_put(obj);
}

void
call_bad_shape(struct apid_call *call, const char *fmt, ...)
{
	char	text[512];
	int	n;
	va_list	ap;

	n = snprintf(text, sizeof(text),
	    "Failed to deserialize the JSON body into the target type: ");
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	call_text(call, 422, text);
}

void
call_internal(struct apid_call *call)
{
	call_text(call, 500, "Internal Error");
}

const char *
call_json_string(struct apid_call *call, const char *key)
{
	json_object *v;

	if (!json_object_is_type(call->json, json_type_object)) {
		call_bad_shape(call, "invalid type: expected a map");
		return NULL;
	}
	if (!json_object_object_get_ex(call->json, key, &v) || v == NULL) {
		call_bad_shape(call, "missing field `%s`", key);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		call_bad_shape(call, "%s: invalid type: expected a string", key);
		return NULL;
	}
	return json_object_get_string(v);
}

/* ---- extractors ------------------------------------------------------------------ */

int64_t
call_token_user(const char *tok, size_t len)
{
	static const char sql[] =
	    "UPDATE auth_tokens SET last_used_at = ?2"
	    " WHERE token_hash = ?1 AND expires_at > ?2"
	    "   AND user_id IN (SELECT id FROM users WHERE deleted_at IS NULL)"
	    " RETURNING user_id";
	unsigned char	 hash[TOKEN_HASH_LEN];
	sqlite3_stmt	*st;
	int64_t		 user = 0;
	int		 rc;

	if (token_hash(tok, len, hash) == -1 || (st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	db_bind_time(st, 2, db_now_us());
	if ((rc = db_step(st)) == DB_ROW)
		user = sqlite3_column_int64(st, 0);
	db_stmt_done(st);
	return rc < 0 ? -1 : user;
}

/* Returns 0, or -1 after answering 401 (AUTH_REQ only). */
static int
call_auth(struct apid_call *call)
{
	const char	*value = http_req_header(call->req, "Authorization"), *tok;
	size_t		 toklen;
	enum token_auth	 why;
	int64_t		 user;

	if (call->route->auth == AUTH_NONE)
		return 0;
	why = token_parse_authorization(value, value ? strlen(value) : 0, &tok, &toklen);
	if (why == TOKEN_AUTH_OK) {
		user = call_token_user(tok, toklen);
		if (user > 0)
			call->user_id = user;
		why = TOKEN_AUTH_INVALID;
	}
	if (call->user_id > 0 || call->route->auth == AUTH_OPT)
		return 0;
	call_text(call, 401, token_auth_text(why));
	return -1;
}

/* DESIGN.md: the TCP peer, or a header an admin says a proxy sets. */
static void
call_client_ip(struct apid_call *call)
{
	const char	*ip = NULL, *hdr = apid->d.cfg.client_ip_header;
	size_t		 n;

	if (hdr[0] != '\0' && http_req_header_count(call->req, hdr) == 1)
		ip = http_req_header(call->req, hdr);
	if (ip == NULL)
		ip = http_req_peer(call->req);
	n = strcspn(ip, ", ");
	if (n >= sizeof(call->client_ip))
		n = sizeof(call->client_ip) - 1;
	memcpy(call->client_ip, ip, n);
	call->client_ip[n] = '\0';
}

/* §2.3: application/json, with parameters, or any application/...+json. */
static int
call_is_json(const char *ctype)
{
	size_t n;

	if (ctype == NULL)
		return 0;
	n = strcspn(ctype, "; \t");
	if (n == 16 && strncasecmp(ctype, "application/json", 16) == 0)
		return 1;
	return n > 17 && strncasecmp(ctype, "application/", 12) == 0 &&
	    strncasecmp(ctype + n - 5, "+json", 5) == 0;
}

static int
call_gz_sink(void *arg, const void *data, size_t len)
{
	struct apid_call *call = arg;

	return call->route->gz_data(call, data, len) == -1 ? -1 : 0;
}

/* ---- the http_route callbacks ------------------------------------------------------- */

void
call_on_request(struct http_request *req)
{
	const struct apid_route	*route = http_req_route(req)->arg;
	struct apid_call	*call;

	/* §2.1: the governor comes before every extractor. */
	if (ratelimit_check(req, db_now_us()) == -1)
		return;
	if ((call = calloc(1, sizeof(*call))) == NULL) {
		http_respond_text(req, 503, "Out of memory");
		return;
	}
	call->req = req;
	call->route = route;
	http_req_set_data(req, call);
	if (call_auth(call) == -1)
		return;
	if (shed_is_heavy(http_req_path(req)) && shed_admit(call) == -1)
		return;
	call_client_ip(call);
	switch (route->body) {
	case BODY_JSON:
		if (!call_is_json(http_req_header(req, "Content-Type"))) {
			call_text(call, 415,
			    "Expected request with `Content-Type: application/json`");
			return;
		}
		call->tok = json_tokener_new_ex(JSON_MAX_DEPTH);
		if (call->tok == NULL) {
			call_internal(call);
			return;
		}
		json_tokener_set_flags(call->tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		break;
	case BODY_GZB64:
		if ((call->gz = gzb64_dec_new(GZB64_MAX_INFLATED, call_gz_sink, call)) == NULL)
			call_internal(call);
		break;
	default:
		break;
	}
}

static int
all_blank(const char *p, size_t len)
{
	while (len > 0 && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++, len--;
	return len == 0;
}

static void
call_bad_json(struct apid_call *call, const char *why)
{
	char text[300];

	snprintf(text, sizeof(text), "Failed to parse the request body as JSON: %s", why);
	call_text(call, 400, text);
}

/* Feeds json-c; the tree is the only copy of the body kept. */
static int
call_json_feed(struct apid_call *call, const char *data, size_t len)
{
	enum json_tokener_error	 err;
	int			 used;

	if (call->json != NULL) {
		if (all_blank(data, len))
			return 0;
		call_bad_json(call, "trailing characters");
		return -1;
	}
	call->json = json_tokener_parse_ex(call->tok, data, (int)len);
	err = json_tokener_get_error(call->tok);
	if (call->json == NULL && err == json_tokener_success) {
		/* The body is a JSON null: well-formed, but every route wants a map. */
		call_bad_shape(call, "invalid type: null, expected a map");
		return -1;
	}
	if (call->json == NULL && err != json_tokener_continue) {
		call_bad_json(call, json_tokener_error_desc(err));
		return -1;
	}
	used = json_tokener_get_parse_end(call->tok);
	if (call->json != NULL && !all_blank(data + used, len - (size_t)used)) {
		call_bad_json(call, "trailing characters");
		return -1;
	}
	return 0;
}

int
call_on_body(struct http_request *req, const void *data, size_t len)
{
	struct apid_call	*call = http_req_data(req);
	int			 rc;

	if (call == NULL || call->answered)
		return -1;
	switch (call->route->body) {
	case BODY_JSON:
		/* json-c takes an int length: feed large pieces in parts. */
		while (len > 0) {
			size_t n = len > (1u << 20) ? (1u << 20) : len;

			if (call_json_feed(call, data, n) == -1)
				return -1;
			data = (const char *)data + n;
			len -= n;
		}
		return 0;
	case BODY_GZB64:
		if ((rc = gzb64_dec_feed(call->gz, data, len)) != GZB64_OK) {
			log_debug("%s: %s", http_req_path(req), gzb64_strerror(rc));
			call_text(call, 400, "Invalid data");
			return -1;
		}
		return 0;
	default:
		return 0;
	}
}

void
call_on_complete(struct http_request *req)
{
	struct apid_call	*call = http_req_data(req);
	int			 rc;

	if (call == NULL || call->answered)
		return;
	if (call->route->body == BODY_JSON && call->json == NULL) {
		/* A number at the very end needs a delimiter to be complete. */
		if (call_json_feed(call, " ", 1) == -1)
			return;
		if (call->json == NULL) {
			call_bad_json(call, "EOF while parsing a value");
			return;
		}
	}
	if (call->route->body == BODY_GZB64 && (rc = gzb64_dec_finish(call->gz)) != GZB64_OK) {
		log_debug("%s: %s", http_req_path(req), gzb64_strerror(rc));
		call_text(call, 400, "Invalid data");
		return;
	}
	call->route->handler(call);
}

void
call_on_free(struct http_request *req)
{
	struct apid_call *call = http_req_data(req);

	if (call == NULL)
		return;
	shed_release(call);
	if (call->route->cleanup != NULL)
		call->route->cleanup(call);
	if (call->json != NULL)
		json_object_put(call->json);
	if (call->tok != NULL)
		json_tokener_free(call->tok);
	if (call->gz != NULL)
		gzb64_dec_free(call->gz);
	free(call);
}
