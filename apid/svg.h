/*
 * svg.h — the SVG sanitizer behind POST /media/sanitize/svg (spec/api.md
 * §6.27, spec/client.md §7.5).
 *
 * Upstream returns SVGs unchanged; here each one is parsed as XML (libxml2,
 * no network, no DTD, no entities) and written back out with only an
 * allow-list of SVG elements and attributes (see svg.c). An SVG that cannot
 * be parsed safely is refused and left out of the answer, which the add-on
 * takes as "not sanitized, do not upload".
 */
#ifndef ANKICOLLAB_SVG_H
#define ANKICOLLAB_SVG_H

#include <stddef.h>

#define SVG_MAX_INPUT	(1UL << 20)	/* §6.27's whole-batch cap */
#define SVG_MAX_DEPTH	64		/* element nesting */
#define SVG_MAX_NODES	50000		/* elements, attributes and texts */

/*
 * Cleans in[0..len). Returns 0 with *out a NUL-terminated standalone SVG
 * document (malloc'd, *outlen bytes), or -1 with *why a static reason
 * ("DTD and entity declarations are not allowed", ...) and *out NULL.
 */
int	svg_sanitize(const char *in, size_t len, char **out, size_t *outlen,
	    const char **why);

#endif
