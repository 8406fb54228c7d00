/*
 * sanitize.h — the HTML cleaning of stored text (spec/api.md §3.6).
 *
 * Follows upstream's "cleanser" (ammonia with an extended allow-list):
 *
 *  - blank input (Unicode White_Space only) gives "";
 *  - input without HTML syntax (no tag, comment, doctype or NUL, as an HTML
 *    tokenizer sees it) is returned unchanged, '&' and '<' included;
 *  - anything else is parsed by gumbo as a fragment inside a <div> and
 *    written back out: allowed elements with their allowed attributes,
 *    text of dropped elements kept, script and style dropped with their
 *    content, comments dropped except the four pitch-accent markers,
 *    href/src only with an allowed scheme or relative, iframe src only to
 *    YouTube embeds, onclick only in the few forms an add-on uses, style
 *    reduced to allowed properties, rel="noopener noreferrer" on links.
 *
 * Output escapes '&', '<', '>' and U+00A0 in text, and those and '"' in
 * attribute values, which are always double-quoted. Void elements have no
 * end tag. SVG content keeps only svg, text, path, circle and a; HTML
 * elements inside SVG (and MathML elements) are not kept, so the output
 * re-parses to the same namespaces.
 *
 * Each call is bounded: input size, parser memory and CPU time. gumbo
 * 0.10.1 takes time quadratic in nesting depth (40,000 nested <div>: 5 s),
 * so a CPU budget, not a depth estimate, is what bounds it.
 */
#ifndef ANKICOLLAB_SANITIZE_H
#define ANKICOLLAB_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* A growable output buffer; start it zeroed, release it with sanitize_buf_free. */
struct sanitize_buf {
	char	*data;	/* NUL-terminated after every successful call */
	size_t	 len;
	size_t	 cap;
};

struct sanitize_limits {
	size_t		max_input;	/* bytes of input */
	size_t		max_mem;	/* bytes the parser may allocate */
	unsigned long	cpu_base_ms;	/* CPU time: base + per input byte; */
	unsigned long	cpu_ns_per_byte;	/* both 0: no limit */
};

#define SANITIZE_MAX_INPUT	(4UL << 20)
#define SANITIZE_MAX_MEM	(16UL << 20)	/* dense markup needs ~60x its size */
#define SANITIZE_CPU_BASE_MS	20
#define SANITIZE_CPU_NS_PER_BYTE 2000	/* Anki fields take ~115 on x86 */

extern const struct sanitize_limits sanitize_default_limits;

/*
 * Appends the cleaned form of in[0..len) to out. Returns 0, or -1 with
 * errno EFBIG (input over max_input), ENOMEM (memory budget or allocation
 * failure) or ETIMEDOUT (CPU budget); then out is as it was. Callers treat
 * -1 as bad input. The HTML path always writes valid UTF-8.
 */
int	sanitize_html(const char *in, size_t len, struct sanitize_buf *out);
int	sanitize_html_limits(const char *in, size_t len,
	    struct sanitize_buf *out, const struct sanitize_limits *lim);

/* Whether in has HTML syntax (upstream's is_html()); if not, it is kept as is. */
bool	sanitize_is_html(const char *in, size_t len);

void	sanitize_buf_free(struct sanitize_buf *);

#endif
