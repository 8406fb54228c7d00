/*
 * legacy.c — what add-ons older than the bearer-token protocol still call
 * (spec/api.md §15).
 *
 * Of §15's list only one is a route of its own that such an add-on reaches:
 * its logout, GET /removeToken/{token}. The rest are older body shapes on
 * today's paths (their extra keys are ignored; tokens count only in the
 * Authorization header, as upstream's) or GET /GetLargeDecks, a trigger for
 * upstream's daily maintenance that no add-on called (gcd has timers).
 */
#include <string.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "common/http.h"

/*
 * The old logout: the token in the path ends its own pair. Answers as
 * POST /removeToken does (§6.20), where the old fork said 500 "Error" for a
 * token it did not know: a client's mistake is no server fault.
 */
static void
remove_token_path(struct apid_call *call)
{
	const char *tok = http_req_path_tail(call->req);

	accounts_logout(call, tok, strlen(tok));
}

static const struct apid_route r_remove_token = { AUTH_NONE, BODY_NONE, remove_token_path,
						  NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/removeToken/*", HTTP_GET, 0, &r_remove_token),
};

const struct apid_area legacy_area = { routes, sizeof(routes) / sizeof(routes[0]) };
