/*
 * ui.c — the web interface's frame: layout and CSS, session cookie, CSRF
 * tokens, the request plumbing of every /ui/ route, and logging in and out.
 * The pages themselves are in ui_review.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "apid/password.h"
#include "apid/token.h"
#include "apid/ratelimit.h"
#include "apid/ui.h"
#include "common/config.h"
#include "common/db.h"
#include "common/form.h"
#include "common/hex.h"
#include "common/http.h"
#include "common/log.h"

#define UI_COOKIE	"acl_session"	/* the session's access token */
#define UI_LOGIN_COOKIE	"acl_login"	/* a nonce binding the login form's token */
#define UI_NONCE_LEN	32

static const char ui_css[] =
    ":root{color-scheme:light dark;--fg:#1d1d1f;--bg:#fff;--mut:#666;--line:#ddd;"
    "--acc:#1d4ed8;--del:#fde2e2;--add:#dcfce7}"
    "@media(prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#16181c;--mut:#9aa;"
    "--line:#333;--acc:#7aa7ff;--del:#4c1d1d;--add:#14361f}}"
    "*{box-sizing:border-box}"
    "body{margin:0;font:16px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg)}"
    "header{display:flex;flex-wrap:wrap;gap:.5em;align-items:center;"
    "justify-content:space-between;padding:.6em 1em;border-bottom:1px solid var(--line)}"
    "header a{color:inherit;text-decoration:none;font-weight:600}"
    "main{max-width:60em;margin:0 auto;padding:1em}"
    "h1{font-size:1.4em;margin:.2em 0 .6em;word-break:break-word}h2{font-size:1.15em}"
    "a{color:var(--acc)}"
    "table{width:100%;border-collapse:collapse}"
    "td,th{padding:.4em;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}"
    ".mut{color:var(--mut);font-size:.9em}"
    "button,input{font:inherit;padding:.45em .8em;border-radius:6px;"
    "border:1px solid var(--line);background:var(--bg);color:var(--fg)}"
    "button{cursor:pointer;margin:.15em 0}"
    ".ok{background:#15803d;color:#fff;border-color:#15803d}"
    ".no{background:#b91c1c;color:#fff;border-color:#b91c1c}"
    "form.inl{display:inline}"
    ".diff{font-family:ui-monospace,monospace;font-size:.9em;white-space:pre-wrap;"
    "word-break:break-word;padding:.3em .5em;border-radius:4px;margin:.2em 0}"
    ".old{background:var(--del)}.new{background:var(--add)}"
    ".card{border:1px solid var(--line);border-radius:8px;padding:.8em;margin:.8em 0;"
    "overflow-wrap:anywhere}.card>p:first-child{margin-top:0}"
    ".err{border-left:4px solid #b91c1c;padding:.5em 1em}"
    ".login{max-width:22em}label{display:block;margin:.6em 0 .2em}"
    "input[type=text],input[type=password]{width:100%}"
    "@media(max-width:600px){th{display:none}td{display:block;border:0;padding:.2em 0}"
    "tr{display:block;border-bottom:1px solid var(--line);padding:.4em 0}}";

/* No script, no outside asset, no framing, forms only to ourselves. */
static const char ui_csp[] =
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/* ---- layout ------------------------------------------------------------------- */

void
ui_escn(struct evbuffer *b, const char *s, size_t len)
{
	size_t	i, run = 0;
	const char *rep;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		evbuffer_add(b, s + run, i - run);
		evbuffer_add(b, rep, strlen(rep));
		run = i + 1;
	}
	evbuffer_add(b, s + run, len - run);
}

void
ui_esc(struct evbuffer *b, const char *s)
{
	if (s != NULL)
		ui_escn(b, s, strlen(s));
}

void
ui_csrf_input(struct evbuffer *b, const struct ui_session *sess)
{
	evbuffer_add_printf(b, "<input type=hidden name=csrf value=\"%s\">", sess->csrf);
}

void
ui_page_begin(struct evbuffer *b, const char *title, const struct ui_session *sess)
{
	evbuffer_add_printf(b, "<!doctype html><html lang=en><head><meta charset=utf-8>"
	    "<meta name=viewport content=\"width=device-width,initial-scale=1\">"
	    "<title>");
	ui_esc(b, title);
	evbuffer_add_printf(b, " · AnkiCollab</title><style>%s</style></head><body>"
	    "<header><a href=\"/ui/\">AnkiCollab review</a>", ui_css);
	if (sess != NULL && sess->user > 0) {
		evbuffer_add_printf(b, "<span><span class=mut>");
		ui_esc(b, sess->name);
		evbuffer_add_printf(b, "</span> <form class=inl method=post action=\"/ui/logout\">");
		ui_csrf_input(b, sess);
		evbuffer_add_printf(b, "<button>Log out</button></form></span>");
	}
	evbuffer_add_printf(b, "</header><main>");
}

void
ui_page_end(struct evbuffer *b)
{
	evbuffer_add_printf(b, "</main></body></html>\n");
}

static void
ui_headers(struct http_request *req, const char *csp)
{
	http_add_header(req, "Content-Security-Policy", csp != NULL ? csp : ui_csp);
	http_add_header(req, "X-Content-Type-Options", "nosniff");
	http_add_header(req, "X-Frame-Options", "DENY");
	http_add_header(req, "Referrer-Policy", "same-origin");
	http_add_header(req, "Cache-Control", "no-store");
}

void
ui_respond(struct http_request *req, int status, struct evbuffer *b, const char *csp)
{
	size_t		 len = evbuffer_get_length(b);
	unsigned char	*p = evbuffer_pullup(b, -1);

	ui_headers(req, csp);
	/*
	 * Sent as a stream, which the HTTP layer does not gzip: a page holds
	 * the CSRF token beside text that others wrote (BREACH).
	 */
	if (p == NULL && len > 0)
		http_respond_text(req, 503, "Out of memory");
	else if (http_respond_start(req, status, "text/html; charset=utf-8") == 0) {
		if (len > 0)
			http_respond_chunk(req, p, len);
		http_respond_end(req);
	}
	evbuffer_free(b);
}

void
ui_redirect(struct http_request *req, const char *location)
{
	ui_headers(req, NULL);
	http_add_header(req, "Location", location);
	http_respond(req, 303, NULL, NULL, 0);
}

void
ui_error(struct http_request *req, int status, const struct ui_session *sess, const char *msg)
{
	struct evbuffer	*b;
	char		 title[64];

	if ((b = evbuffer_new()) == NULL) {
		http_respond_text(req, 503, "Out of memory");
		return;
	}
	snprintf(title, sizeof(title), "%d %s", status, http_status_text(status));
	ui_page_begin(b, title, sess);
	evbuffer_add_printf(b, "<h1>");
	ui_esc(b, title);
	evbuffer_add_printf(b, "</h1><p class=err>");
	ui_esc(b, msg);
	evbuffer_add_printf(b, "</p><p><a href=\"/ui/\">Back to your decks</a></p>");
	ui_page_end(b);
	ui_respond(req, status, b, NULL);
}

/* ---- CSRF tokens ------------------------------------------------------------------ */

/* hex HMAC-SHA256(secret, purpose NUL value): a form's token. Returns 0 or -1. */
static int
ui_mac(const char *purpose, const char *value, char out[UI_CSRF_LEN + 1])
{
	static char	 secret[CONFIG_STR_MAX];
	char		 err[CONFIG_PATH_MAX + 64], msg[TOKEN_MAX_LEN + 32];
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 n;

	if (secret[0] == '\0' && config_secret(&apid->d.cfg, "ui_csrf_secret", secret,
	    sizeof(secret), err, sizeof(err)) == -1) {
		log_warnx("ui: %s", err);
		secret[0] = '\0';
		return -1;
	}
	n = snprintf(msg, sizeof(msg), "%s%c%s", purpose, '\0', value);
	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)msg, (size_t)n,
	    md, &mdlen) == NULL || mdlen * 2 != UI_CSRF_LEN)
		return -1;
	hex_encode(md, mdlen, out);
	return 0;
}

/* Whether the form body's csrf field is want, compared in constant time. */
static int
ui_csrf_ok(const struct ui_req *ur, const char *want)
{
	char got[UI_CSRF_LEN + 2];

	if (ur->body == NULL || want[0] == '\0' ||
	    form_field(ur->body, ur->len, "csrf", got, sizeof(got)) != UI_CSRF_LEN)
		return 0;
	return CRYPTO_memcmp(got, want, UI_CSRF_LEN) == 0;
}

/* ---- sessions ----------------------------------------------------------------------- */

int
ui_session(struct http_request *req, struct ui_session *sess)
{
	static const char sql[] = "SELECT username FROM users WHERE id = ?1";
	const char	*hdr = http_req_header(req, "Cookie");
	sqlite3_stmt	*st;
	int64_t		 user;
	int		 n, rc;

	memset(sess, 0, sizeof(*sess));
	if (hdr == NULL || (n = form_cookie(hdr, strlen(hdr), UI_COOKIE, sess->token,
	    sizeof(sess->token))) != TOKEN_ACCESS_LEN)
		return 0;
	if ((user = call_token_user(sess->token, (size_t)n)) <= 0)
		return user < 0 ? -1 : 0;
	if ((st = db_stmt(apid->db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, user);
	if ((rc = db_step(st)) == DB_ROW)
		snprintf(sess->name, sizeof(sess->name), "%s",
		    (const char *)sqlite3_column_text(st, 0));
	db_stmt_done(st);
	if (rc != DB_ROW)
		return rc < 0 ? -1 : 0;
	if (ui_mac("csrf", sess->token, sess->csrf) == -1)
		return -1;
	sess->user = user;
	return 1;
}

/*
 * "; Secure" when the request reached a trusting proxy over https: only
 * then is X-Forwarded-Proto the admin's word, not the client's.
 */
static const char *
ui_secure(struct http_request *req)
{
	const char *proto = http_req_header(req, "X-Forwarded-Proto");

	if (apid->d.cfg.client_ip_header[0] == '\0' || proto == NULL)
		return "";
	return strcasecmp(proto, "https") == 0 ? "; Secure" : "";
}

static void
ui_set_cookie(struct http_request *req, const char *name, const char *value, int maxage)
{
	char	buf[256], age[32] = "";

	if (maxage >= 0)
		snprintf(age, sizeof(age), "; Max-Age=%d", maxage);
	snprintf(buf, sizeof(buf), "%s=%s; Path=/ui; HttpOnly; SameSite=Strict%s%s",
	    name, value, age, ui_secure(req));
	http_add_header(req, "Set-Cookie", buf);
}

/* ---- request plumbing --------------------------------------------------------------- */

void
ui_on_request(struct http_request *req)
{
	struct ui_req *ur;

	/* Only the login form is limited (strict class); pages are free. */
	if (http_req_method(req) == HTTP_POST && ratelimit_check(req, db_now_us()) == -1)
		return;
	if ((ur = calloc(1, sizeof(*ur))) == NULL) {
		http_respond_text(req, 503, "Out of memory");
		return;
	}
	ur->req = req;
	http_req_set_data(req, ur);
}

int
ui_on_body(struct http_request *req, const void *data, size_t len)
{
	struct ui_req	*ur = http_req_data(req);
	char		*p;

	if (ur == NULL)
		return -1;
	/* The layer has refused bodies over UI_BODY_MAX, chunked ones included. */
	if (ur->len + len > UI_BODY_MAX ||
	    (p = realloc(ur->body, ur->len + len + 1)) == NULL) {
		http_respond_text(req, 413, "Payload Too Large");
		return -1;
	}
	memcpy(p + ur->len, data, len);
	ur->body = p;
	ur->len += len;
	p[ur->len] = '\0';
	return 0;
}

void
ui_on_complete(struct http_request *req)
{
	struct ui_req		*ur = http_req_data(req);
	const struct ui_route	*r = http_req_route(req)->arg;
	int			 post = http_req_method(req) == HTTP_POST;
	int			 rc;

	if (ur == NULL)
		return;
	if (r->session) {
		if ((rc = ui_session(req, &ur->sess)) == -1) {
			ui_error(req, 503, NULL, "The database is busy; try again.");
			return;
		}
		if (rc == 0) {
			ui_redirect(req, "/ui/login");
			return;
		}
		if (post && !ui_csrf_ok(ur, ur->sess.csrf)) {
			ui_error(req, 400, &ur->sess,
			    "The form's security token is missing or wrong. Reload the page "
			    "and try again.");
			return;
		}
	}
	if (post)
		r->post(ur);
	else
		r->get(ur);
}

void
ui_on_free(struct http_request *req)
{
	struct ui_req *ur = http_req_data(req);

	if (ur == NULL)
		return;
	free(ur->body);
	free(ur);
}

/* ---- logging in and out ------------------------------------------------------------- */

static void
ui_login_page(struct http_request *req, int status, const char *msg, const char *user)
{
	struct evbuffer	*b;
	char		 nonce[UI_NONCE_LEN + 1], csrf[UI_CSRF_LEN + 1];

	if (token_generate(nonce, UI_NONCE_LEN) == -1 || ui_mac("login", nonce, csrf) == -1 ||
	    (b = evbuffer_new()) == NULL) {
		ui_error(req, 503, NULL, "Cannot make a login form now; try again.");
		return;
	}
	ui_set_cookie(req, UI_LOGIN_COOKIE, nonce, -1);
	ui_page_begin(b, "Log in", NULL);
	evbuffer_add_printf(b, "<div class=login><h1>Log in</h1>");
	if (msg != NULL) {
		evbuffer_add_printf(b, "<p class=err>");
		ui_esc(b, msg);
		evbuffer_add_printf(b, "</p>");
	}
	evbuffer_add_printf(b, "<form method=post action=\"/ui/login\">"
	    "<input type=hidden name=csrf value=\"%s\">"
	    "<label for=u>User name</label>"
	    "<input type=text id=u name=username autocomplete=username autocapitalize=none "
	    "required value=\"", csrf);
	ui_esc(b, user);
	evbuffer_add_printf(b, "\"><label for=p>Password</label>"
	    "<input type=password id=p name=password autocomplete=current-password required>"
	    "<p><button class=ok>Log in</button></p></form>"
	    "<p class=mut>The same account as in the Anki add-on.</p></div>");
	ui_page_end(b);
	ui_respond(req, status, b, NULL);
}

static void
ui_login_get(struct ui_req *ur)
{
	struct ui_session sess;

	if (ui_session(ur->req, &sess) == 1) {
		ui_redirect(ur->req, "/ui/");
		return;
	}
	ui_login_page(ur->req, 200, NULL, "");
}

static void
ui_login_post(struct ui_req *ur)
{
	char			 nonce[UI_NONCE_LEN + 1], want[UI_CSRF_LEN + 1];
	char			 user[PASSWORD_USERNAME_MAX + 1], name[PASSWORD_USERNAME_MAX + 1];
	char			 pass[1024], phc[512], refresh[TOKEN_REFRESH_LEN + 1];
	char			 access[TOKEN_ACCESS_LEN + 1];
	const char		*hdr = http_req_header(ur->req, "Cookie"), *detail = NULL;
	enum password_result	 pr = PASSWORD_MISMATCH;
	int64_t			 id, expires;
	int			 ulen, plen;

	/* Login CSRF: the form's token is bound to a nonce cookie it came with. */
	if (hdr == NULL || form_cookie(hdr, strlen(hdr), UI_LOGIN_COOKIE, nonce,
	    sizeof(nonce)) != UI_NONCE_LEN || ui_mac("login", nonce, want) == -1 ||
	    !ui_csrf_ok(ur, want)) {
		ui_error(ur->req, 400, NULL, "The login form's security token is missing or "
		    "wrong. Open the login page again.");
		return;
	}
	ulen = form_field(ur->body, ur->len, "username", user, sizeof(user));
	plen = form_field(ur->body, ur->len, "password", pass, sizeof(pass));
	if (ulen <= 0 || plen < 0) {
		ui_login_page(ur->req, 400, "Enter a user name and a password.", "");
		return;
	}
	if (password_username_login(user, (size_t)ulen, name, sizeof(name)) == -1 ||
	    (id = accounts_find(name, phc, sizeof(phc))) == 0 ||
	    (id > 0 && (pr = password_verify(phc, pass, (size_t)plen, &detail)) != PASSWORD_OK)) {
		if (pr == PASSWORD_BADHASH)
			log_warnx("ui: login of user %lld: %s", (long long)id,
			    detail ? detail : "bad hash");
		explicit_bzero(pass, sizeof(pass));
		ui_login_page(ur->req, 401, "Wrong user name or password.", user);
		return;
	}
	explicit_bzero(pass, sizeof(pass));
	if (id < 0 || db_begin(apid->db) != DB_OK ||
	    accounts_issue_pair(id, access, refresh, &expires) == -1 ||
	    db_commit(apid->db) != DB_OK) {
		db_rollback(apid->db);
		ui_error(ur->req, 503, NULL, "The database is busy; try again.");
		return;
	}
	log_info("ui: login of user %lld from %s", (long long)id, http_req_peer(ur->req));
	ui_set_cookie(ur->req, UI_LOGIN_COOKIE, "", 0);
	ui_set_cookie(ur->req, UI_COOKIE, access, -1);
	ui_redirect(ur->req, "/ui/");
}

static void
ui_logout_post(struct ui_req *ur)
{
	if (accounts_revoke(ur->sess.token, strlen(ur->sess.token)) == -1) {
		ui_error(ur->req, 503, &ur->sess, "The database is busy; try again.");
		return;
	}
	ui_set_cookie(ur->req, UI_COOKIE, "", 0);
	ui_redirect(ur->req, "/ui/login");
}

static void
ui_root_get(struct ui_req *ur)
{
	ui_redirect(ur->req, "/ui/");
}

static const struct ui_route r_root = { 0, ui_root_get, NULL };
static const struct ui_route r_login = { 0, ui_login_get, ui_login_post };
static const struct ui_route r_logout = { 1, NULL, ui_logout_post };

static const struct http_route routes[] = {
	UI_ROUTE("/ui", HTTP_GET, &r_root),
	UI_ROUTE("/ui/login", HTTP_GET | HTTP_POST, &r_login),
	UI_ROUTE("/ui/logout", HTTP_POST, &r_logout),
};

const struct apid_area ui_area = { routes, sizeof(routes) / sizeof(routes[0]) };
