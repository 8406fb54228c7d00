/*
 * call.h — how apid reads a request before a route's handler sees it.
 *
 * Upstream runs extractors in a fixed order and the first failure answers
 * (spec/api.md §2.1, §2.3): the bearer token, then the client address, then
 * the body. Every apid route is described by a struct apid_route (the
 * http_route's arg) and served by the shared callbacks here:
 *
 *   auth   AUTH_NONE, AUTH_OPT (a bad token means anonymous) or AUTH_REQ
 *          (401 with §2.8's exact texts; DESIGN.md: only for token faults);
 *   body   BODY_NONE; BODY_JSON (415 on another Content-Type, parsed as it
 *          arrives into one json-c tree, 400 on bad JSON); BODY_GZB64
 *          (base64 → gunzip with the 250 MiB cap, decoded bytes handed to
 *          the route's gz_data as they arrive, 400 "Invalid data" on any
 *          decoding fault); BODY_TEXT (ignored by the route, drained).
 *
 * Then handler(call) runs once, with the call's user, address and JSON.
 * It answers with one of the call_* replies below, now or later.
 */
#ifndef ANKICOLLAB_APID_CALL_H
#define ANKICOLLAB_APID_CALL_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

struct http_request;
struct gzb64_dec;
struct apid_call;

enum apid_auth { AUTH_NONE, AUTH_OPT, AUTH_REQ };
enum apid_body { BODY_NONE, BODY_JSON, BODY_GZB64, BODY_TEXT };

struct apid_route {
	enum apid_auth	 auth;
	enum apid_body	 body;
	/* Everything is in; answer the request. */
	void		(*handler)(struct apid_call *call);
	/* BODY_GZB64: decoded JSON bytes as they arrive; -1 stops (answer 400). */
	int		(*gz_data)(struct apid_call *call, const void *data, size_t len);
	/* The call is going away: free what the route hung on call->state. */
	void		(*cleanup)(struct apid_call *call);
};

struct apid_call {
	struct http_request	*req;
	const struct apid_route	*route;
	int64_t			 user_id;	/* 0: anonymous */
	char			 client_ip[64];
	json_object		*json;		/* BODY_JSON, once parsed */
	void			*state;		/* the route's */

	/* Private to call.c. */
	struct json_tokener	*tok;
	struct gzb64_dec	*gz;
	int			 answered;
	int			 admitted;	/* running as heavy work (shed.c) */
	int			 queued;	/* waiting for its turn (shed.c) */
	TAILQ_ENTRY(apid_call)	 shed_entry;
};

/* The http_route callbacks every apid route uses (with .arg = its apid_route). */
void	call_on_request(struct http_request *req);
int	call_on_body(struct http_request *req, const void *data, size_t len);
void	call_on_complete(struct http_request *req);
void	call_on_free(struct http_request *req);

/* An http_route for an apid route; max_body is the §2.6 limit in bytes. */
#define APID_ROUTE(p, m, max, r)						\
	{ .path = (p), .methods = (m), .max_body = (max),			\
	  .on_request = call_on_request, .on_body = call_on_body,		\
	  .on_complete = call_on_complete, .on_free = call_on_free,		\
	  .arg = (r) }

/* §2.6: GZB64 deck bodies, and everything else. */
#define BODY_LIMIT_DECK		262144000u
#define BODY_LIMIT_DEFAULT	52428800u
/* JSON bodies are parsed into a tree in memory: far below the wire limit. */
#define BODY_LIMIT_JSON		(4u << 20)

/*
 * The user behind an access token, touching last_used_at: 0 if unknown,
 * expired or the account deleted, -1 on a DB fault. (The web interface's
 * session cookie holds such a token too.)
 */
int64_t	call_token_user(const char *tok, size_t len);

/* ---- answers ---------------------------------------------------------------- */

/* text/plain; charset=utf-8 */
void	call_text(struct apid_call *call, int status, const char *text);
/* application/json, compact; takes the reference. */
void	call_json(struct apid_call *call, int status, json_object *obj);
/* Any content type, a whole body. */
void	call_reply(struct apid_call *call, int status, const char *ctype, const void *body,
	    size_t len);
/* 422 "Failed to deserialize the JSON body into the target type: <what>". */
void	call_bad_shape(struct apid_call *call, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* 500 "Internal Error" after a logged server fault (a DB error, say). */
void	call_internal(struct apid_call *call);

/* ---- reading the JSON body (422 on the wrong shape) -------------------------- */

/*
 * Member key of the body object as a string: returns it, or NULL after
 * answering 422 (missing, null, or not a string).
 */
const char	*call_json_string(struct apid_call *call, const char *key);

#endif
