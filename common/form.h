/*
 * form.h — the two small formats a browser sends: form bodies
 * (application/x-www-form-urlencoded, also query strings) and the Cookie
 * header.
 *
 * Both are read in place, without allocating: a caller asks for one field
 * by name and gets its decoded value in a buffer of its own, so a hostile
 * body costs nothing beyond its (route-bounded) bytes.
 */
#ifndef ANKICOLLAB_FORM_H
#define ANKICOLLAB_FORM_H

#include <stddef.h>

#define FORM_NAME_MAX	64	/* longer field or cookie names never match */

/* Return values besides a length. */
#define FORM_ABSENT	(-1)	/* no such field or cookie */
#define FORM_BAD	(-2)	/* malformed, holds a NUL, or longer than outsz - 1 */

/*
 * The first field called name in in[0..len): '+' is a space and %XY a
 * byte; names are decoded the same way before comparing. Writes the
 * NUL-terminated value to out and returns its length, or FORM_ABSENT or
 * FORM_BAD (then out is "").
 */
int	form_field(const char *in, size_t len, const char *name, char *out, size_t outsz);

/*
 * The first cookie called name in a Cookie header value (RFC 6265 §4.2:
 * "a=b; c=d"; a value may be in double quotes, which are dropped). Values
 * are not decoded; one holding a byte outside cookie-octet is FORM_BAD.
 */
int	form_cookie(const char *hdr, size_t len, const char *name, char *out, size_t outsz);

#endif
