/*
 * ui.h — apid's small web interface under /ui/: the page layout, the
 * session cookie and the form token that every page shares.
 *
 * A session is an ordinary access-token pair (auth_tokens) made at login;
 * its access token is the HttpOnly, SameSite=Strict cookie. Every form
 * carries a CSRF token, an HMAC of the session token under a secret in
 * data_dir/secrets/ui_csrf_secret, checked on every POST before a handler
 * runs. Pages are HTML built in an evbuffer, answered whole, with a strict
 * Content-Security-Policy: no scripts, no outside assets, inline CSS only.
 *
 * A page of its own (ui_review.c, /ui/status) builds with:
 *
 *	b = evbuffer_new();
 *	ui_page_begin(b, "Title", sess);
 *	ui_esc(b, text);		any text from the database or the client
 *	ui_page_end(b);
 *	ui_respond(req, 200, b);	frees b
 */
#ifndef ANKICOLLAB_APID_UI_H
#define ANKICOLLAB_APID_UI_H

#include <stddef.h>
#include <stdint.h>

#include "apid/password.h"
#include "apid/token.h"

struct evbuffer;
struct http_request;

#define UI_CSRF_LEN	64	/* hex HMAC-SHA256 */
#define UI_BODY_MAX	16384	/* a form body: a few short fields */

/* The logged-in user of a request. */
struct ui_session {
	int64_t	user;
	char	name[PASSWORD_USERNAME_MAX + 1];
	char	token[TOKEN_ACCESS_LEN + 1];
	char	csrf[UI_CSRF_LEN + 1];
};

/* A request of a /ui/ route, with its form body (POST) and session. */
struct ui_req {
	struct http_request	*req;
	struct ui_session	 sess;
	char			*body;
	size_t			 len;
};

/*
 * What a ui route (its http_route's arg) runs once the body is in and, for
 * session routes, the session is known and a POST's CSRF token checked.
 */
struct ui_route {
	int	  session;	/* 1: logged-in users only (others go to the login) */
	void	(*get)(struct ui_req *);
	void	(*post)(struct ui_req *);
};

/* The http_route callbacks of every ui route (with .arg = its ui_route). */
void	ui_on_request(struct http_request *req);
int	ui_on_body(struct http_request *req, const void *data, size_t len);
void	ui_on_complete(struct http_request *req);
void	ui_on_free(struct http_request *req);

#define UI_ROUTE(p, m, r)							\
	{ .path = (p), .methods = (m), .max_body = UI_BODY_MAX,			\
	  .on_request = ui_on_request, .on_body = ui_on_body,			\
	  .on_complete = ui_on_complete, .on_free = ui_on_free, .arg = (r) }

/* ---- the layout -------------------------------------------------------------- */

/* <head> with the CSS, the top bar (user and logout form when sess is not NULL). */
void	ui_page_begin(struct evbuffer *b, const char *title, const struct ui_session *sess);
void	ui_page_end(struct evbuffer *b);
/* Text, HTML-escaped (& < > " '). */
void	ui_esc(struct evbuffer *b, const char *s);
void	ui_escn(struct evbuffer *b, const char *s, size_t len);
/* The hidden CSRF input of a form. */
void	ui_csrf_input(struct evbuffer *b, const struct ui_session *sess);

/*
 * Answers text/html with the security headers, freeing b. csp NULL: no
 * scripts at all; a page that needs its own script passes its own policy.
 */
void	ui_respond(struct http_request *req, int status, struct evbuffer *b, const char *csp);
/* 303 See Other to location (a path of ours). */
void	ui_redirect(struct http_request *req, const char *location);
/* A whole error page: the status, a sentence, a link home. sess may be NULL. */
void	ui_error(struct http_request *req, int status, const struct ui_session *sess,
	    const char *msg);

/*
 * For pages served outside UI_ROUTE (/ui/status): the session of a request
 * from its cookie. 1 logged in, 0 not, -1 on a DB fault.
 */
int	ui_session(struct http_request *req, struct ui_session *sess);

#endif
