/*
 * sanitize.c — allow-list HTML cleaning on gumbo's HTML5 parser.
 *
 * gumbo allocates through an arena of ours. That gives three things: one
 * free() of a few chunks instead of gumbo_destroy_output(), which recurses
 * once per nesting level; a hard memory budget; and a CPU budget checked as
 * parsing goes on (gumbo allocates for every tag token). gumbo cannot be
 * told an allocation failed, so running over either budget longjmp()s out
 * of the parse: gumbo keeps no global state, and all it allocated is in
 * the arena, freed at once.
 *
 * The tree is written out with an explicit stack, never by recursion.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gumbo.h>

#include "apid/sanitize.h"

const struct sanitize_limits sanitize_default_limits = {
	SANITIZE_MAX_INPUT,
	SANITIZE_MAX_MEM,
	SANITIZE_CPU_BASE_MS,
	SANITIZE_CPU_NS_PER_BYTE
};

/* ---- the allow-list (ammonia's defaults plus upstream's additions) ---- */

#define NS_HTML		0x01	/* may be kept in the HTML namespace */
#define NS_SVG		0x02	/* may be kept inside <svg> */
#define T_VOID		0x01	/* no end tag, no content */
#define T_EMPTY		0x02	/* content never kept (iframe: raw text) */
#define T_PRE		0x04	/* a leading newline of its content is eaten */

struct sanitize_tag {
	const char		*name;
	unsigned char		 ns;
	unsigned char		 flags;
	const char *const	*attrs;	/* beyond the generic ones; NULL-ended */
};

static const char *const sanitize_generic[] = {
	"class", "data-sc-class", "data-sc-code", "data-sc-content",
	"data-sc-source", "data-src", "id", "lang", "onclick", "style",
	"title", NULL
};

static const char *const at_a[] = { "href", "hreflang", NULL };
static const char *const at_bdo[] = { "dir", NULL };
static const char *const at_cite[] = { "cite", NULL };
static const char *const at_circle[] = { "r", "cx", "cy", "style", NULL };
static const char *const at_col[] = { "align", "char", "charoff", "span",
	NULL };
static const char *const at_del[] = { "cite", "datetime", NULL };
static const char *const at_font[] = { "color", NULL };
static const char *const at_hr[] = { "align", "size", "width", NULL };
static const char *const at_iframe[] = { "width", "height", "src", "title",
	"frameborder", "allow", "referrerpolicy", "allowfullscreen", NULL };
static const char *const at_img[] = { "align", "alt", "height", "src",
	"width", NULL };
static const char *const at_kbd[] = { "onclick", "ondblclick", NULL };
static const char *const at_ol[] = { "start", NULL };
static const char *const at_path[] = { "d", "style", NULL };
static const char *const at_svg[] = { "width", "height", "viewBox", "class",
	NULL };
static const char *const at_table[] = { "align", "char", "charoff",
	"summary", NULL };
static const char *const at_tbody[] = { "align", "char", "charoff", NULL };
static const char *const at_td[] = { "align", "char", "charoff", "colspan",
	"headers", "rowspan", NULL };
static const char *const at_text[] = { "x", "y", "style", NULL };
static const char *const at_th[] = { "align", "char", "charoff", "colspan",
	"headers", "rowspan", "scope", NULL };

/* Sorted by name for bsearch(). */
static const struct sanitize_tag sanitize_tags[] = {
	{ "a",		NS_HTML | NS_SVG, 0,	at_a },
	{ "abbr",	NS_HTML, 0,		NULL },
	{ "acronym",	NS_HTML, 0,		NULL },
	{ "area",	NS_HTML, T_VOID,	NULL },
	{ "article",	NS_HTML, 0,		NULL },
	{ "aside",	NS_HTML, 0,		NULL },
	{ "b",		NS_HTML, 0,		NULL },
	{ "bdi",	NS_HTML, 0,		NULL },
	{ "bdo",	NS_HTML, 0,		at_bdo },
	{ "blockquote",	NS_HTML, 0,		at_cite },
	{ "br",		NS_HTML, T_VOID,	NULL },
	{ "button",	NS_HTML, 0,		NULL },
	{ "caption",	NS_HTML, 0,		NULL },
	{ "center",	NS_HTML, 0,		NULL },
	{ "circle",	NS_SVG, 0,		at_circle },
	{ "cite",	NS_HTML, 0,		NULL },
	{ "code",	NS_HTML, 0,		NULL },
	{ "col",	NS_HTML, T_VOID,	at_col },
	{ "colgroup",	NS_HTML, 0,		at_col },
	{ "data",	NS_HTML, 0,		NULL },
	{ "dd",		NS_HTML, 0,		NULL },
	{ "del",	NS_HTML, 0,		at_del },
	{ "details",	NS_HTML, 0,		NULL },
	{ "dfn",	NS_HTML, 0,		NULL },
	{ "div",	NS_HTML, 0,		NULL },
	{ "dl",		NS_HTML, 0,		NULL },
	{ "dt",		NS_HTML, 0,		NULL },
	{ "em",		NS_HTML, 0,		NULL },
	{ "figcaption",	NS_HTML, 0,		NULL },
	{ "figure",	NS_HTML, 0,		NULL },
	{ "font",	NS_HTML, 0,		at_font },
	{ "footer",	NS_HTML, 0,		NULL },
	{ "h1",		NS_HTML, 0,		NULL },
	{ "h2",		NS_HTML, 0,		NULL },
	{ "h3",		NS_HTML, 0,		NULL },
	{ "h4",		NS_HTML, 0,		NULL },
	{ "h5",		NS_HTML, 0,		NULL },
	{ "h6",		NS_HTML, 0,		NULL },
	{ "header",	NS_HTML, 0,		NULL },
	{ "hgroup",	NS_HTML, 0,		NULL },
	{ "hr",		NS_HTML, T_VOID,	at_hr },
	{ "i",		NS_HTML, 0,		NULL },
	{ "iframe",	NS_HTML, T_EMPTY,	at_iframe },
	{ "img",	NS_HTML, T_VOID,	at_img },
	{ "ins",	NS_HTML, 0,		at_del },
	{ "kbd",	NS_HTML, 0,		at_kbd },
	{ "li",		NS_HTML, 0,		NULL },
	{ "map",	NS_HTML, 0,		NULL },
	{ "mark",	NS_HTML, 0,		NULL },
	{ "nav",	NS_HTML, 0,		NULL },
	{ "ol",		NS_HTML, 0,		at_ol },
	{ "p",		NS_HTML, 0,		NULL },
	{ "path",	NS_SVG, 0,		at_path },
	{ "pre",	NS_HTML, T_PRE,		NULL },
	{ "q",		NS_HTML, 0,		at_cite },
	{ "rp",		NS_HTML, 0,		NULL },
	{ "rt",		NS_HTML, 0,		NULL },
	{ "rtc",	NS_HTML, 0,		NULL },
	{ "ruby",	NS_HTML, 0,		NULL },
	{ "s",		NS_HTML, 0,		NULL },
	{ "samp",	NS_HTML, 0,		NULL },
	{ "small",	NS_HTML, 0,		NULL },
	{ "span",	NS_HTML, 0,		NULL },
	{ "strike",	NS_HTML, 0,		NULL },
	{ "strong",	NS_HTML, 0,		NULL },
	{ "sub",	NS_HTML, 0,		NULL },
	{ "summary",	NS_HTML, 0,		NULL },
	{ "sup",	NS_HTML, 0,		NULL },
	{ "svg",	NS_SVG, 0,		at_svg },
	{ "table",	NS_HTML, 0,		at_table },
	{ "tbody",	NS_HTML, 0,		at_tbody },
	{ "td",		NS_HTML, 0,		at_td },
	{ "text",	NS_SVG, 0,		at_text },
	{ "th",		NS_HTML, 0,		at_th },
	{ "thead",	NS_HTML, 0,		at_tbody },
	{ "time",	NS_HTML, 0,		NULL },
	{ "tr",		NS_HTML, 0,		at_tbody },
	{ "tt",		NS_HTML, 0,		NULL },
	{ "u",		NS_HTML, 0,		NULL },
	{ "ul",		NS_HTML, 0,		NULL },
	{ "var",	NS_HTML, 0,		NULL },
	{ "wbr",	NS_HTML, T_VOID,	NULL },
};

#define NTAGS	(sizeof(sanitize_tags) / sizeof(sanitize_tags[0]))

/* ammonia's default url_schemes; relative URLs pass. */
static const char *const sanitize_schemes[] = {
	"bitcoin", "ftp", "ftps", "geo", "http", "https", "im", "irc", "ircs",
	"magnet", "mailto", "mms", "mx", "news", "nntp", "openpgp4fpr", "sip",
	"sms", "smsto", "ssh", "tel", "url", "webcal", "wtai", "xmpp", NULL
};

static const char *const sanitize_css_props[] = {
	"color", "background-color", "font-size", "font-family", "font-weight",
	"text-align", "text-decoration", "line-height", "margin", "padding",
	"border-width", "border-style", "border-color", "writing-mode", "fill",
	"stroke", "stroke-width", "opacity", "display", "list-style-type",
	"list-style", "vertical-align", NULL
};

static const char *const sanitize_css_colour_props[] = {
	"color", "background-color", "border-color", "fill", "stroke", NULL
};

static const char *const sanitize_css_colour_names[] = {
	"aqua", "black", "blue", "fuchsia", "gray", "green", "lime", "maroon",
	"navy", "olive", "purple", "red", "silver", "teal", "white", "yellow",
	"currentcolor", "transparent", "rebeccapurple", "none", NULL
};

static const char *const sanitize_css_colour_prefixes[] = {
	"#", "rgb(", "rgba(", "hsl(", "hsla(", NULL
};

static const char *const sanitize_writing_modes[] = {
	"horizontal-tb", "vertical-rl", "vertical-lr", "sideways-rl",
	"sideways-lr", "inherit", "initial", "unset", "revert", "revert-layer",
	NULL
};

/* ---- arena and budgets ---------------------------------------------- */

#define CHUNK_MIN	(16UL << 10)
#define CHUNK_MAX	(1UL << 20)
#define CPU_CHECK_EVERY	512	/* allocations between clock reads */

struct sanitize_chunk {
	struct sanitize_chunk	*next;
	size_t			 size;	/* bytes in data[] */
	size_t			 used;
	max_align_t		 data[];
};

struct sanitize_arena {
	struct sanitize_chunk	*chunks;	/* all of them, newest first */
	struct sanitize_chunk	*cur;		/* the one bumped from */
	size_t			 total;		/* bytes malloc'd */
	size_t			 max_mem;
	size_t			 next_size;
	unsigned int		 calls;
	int			 timed;
	uint64_t		 deadline_ns;	/* thread CPU time */
	int			 error;		/* errno for the longjmp */
	jmp_buf			 fail;
};

/* ---- output --------------------------------------------------------- */

struct sanitize_out {
	struct sanitize_buf	*buf;
	int			 err;		/* an allocation failed */
	int			 pre_start;	/* right after a <pre> start tag */
};

/* What becomes of an element. */
enum sanitize_verdict {
	V_DROP,		/* the element and everything in it */
	V_HOIST,	/* the element, keeping what is in it */
	V_KEEP
};

/* One element being walked; ns is that of the nearest kept element. */
struct sanitize_frame {
	const GumboNode			*node;
	const struct sanitize_tag	*close;	/* NULL: hoisted, no end tag */
	unsigned int			 next;	/* next child to visit */
	int				 ns;
};

#define NAME_MAX_LEN	32	/* longer element names are never allowed */

static void	*sanitize_alloc(void *, size_t);
static void	 sanitize_free(void *, void *);
static void	 sanitize_fail(struct sanitize_arena *, int);
static uint64_t	 sanitize_cpu_ns(void);
static void	 sanitize_arena_free(struct sanitize_arena *);
static int	 sanitize_guarded(struct sanitize_arena *, const char *, size_t,
		    struct sanitize_out *);
static void	 sanitize_run(struct sanitize_arena *, const char *, size_t,
		    struct sanitize_out *);
static void	 sanitize_walk(struct sanitize_arena *, const GumboNode *,
		    struct sanitize_out *);
static bool	 sanitize_blank(const char *, size_t);
static size_t	 sanitize_tag_end(const unsigned char *, size_t, size_t);
static int	 sanitize_tag_cmp(const void *, const void *);
static const struct sanitize_tag *sanitize_lookup(const char *);
static const char *sanitize_elem_name(const GumboElement *, char *);
static enum sanitize_verdict sanitize_decide(const char *, int, int,
		    const struct sanitize_tag **);
static bool	 sanitize_in_list(const char *const *, const char *);
static bool	 sanitize_in_list_nocase(const char *const *, const char *,
		    size_t);
static bool	 sanitize_attr_allowed(const struct sanitize_tag *,
		    const char *);
static bool	 sanitize_url_ok(const char *);
static bool	 sanitize_youtube(const char *);
static bool	 sanitize_onclick_ok(const char *);
static bool	 sanitize_ct_click(const char *);
static bool	 oc_lit(const char **, const char *);
static void	 oc_ws(const char **);
static bool	 oc_quoted(const char **);
static bool	 oc_call1(const char *, const char *);
static void	 css_trim(const char **, const char **);
static bool	 css_value_ok(const char *, size_t, const char *, size_t);
static bool	 sanitize_accent_comment(const char *);
static void	 sanitize_start_tag(struct sanitize_out *,
		    const struct sanitize_tag *, const GumboElement *);
static void	 sanitize_style(struct sanitize_out *, const char *);
static bool	 sanitize_space(char);
static bool	 sanitize_html_space(unsigned char);
static char	 sanitize_lower(char);
static void	 out_reserve(struct sanitize_out *, size_t);
static void	 out_put(struct sanitize_out *, const char *, size_t);
static void	 out_str(struct sanitize_out *, const char *);
static void	 out_escaped(struct sanitize_out *, const char *, size_t, int);
static void	 out_end_tag(struct sanitize_out *, const char *);

/* ---- public entry points -------------------------------------------- */

int
sanitize_html(const char *in, size_t len, struct sanitize_buf *out)
{
	return sanitize_html_limits(in, len, out, &sanitize_default_limits);
}

int
sanitize_html_limits(const char *in, size_t len, struct sanitize_buf *out,
    const struct sanitize_limits *lim)
{
	struct sanitize_arena	a;
	struct sanitize_out	o = { out, 0, 0 };
	size_t			start = out->len;
	uint64_t		budget;
	int			rc;

	if (len > lim->max_input) {
		errno = EFBIG;
		return -1;
	}
	out_reserve(&o, 1);
	if (o.err) {
		errno = ENOMEM;
		return -1;
	}
	out->data[out->len] = '\0';
	if (sanitize_blank(in, len))
		return 0;
	if (!sanitize_is_html(in, len)) {
		out_put(&o, in, len);
		if (o.err) {
			errno = ENOMEM;
			return -1;
		}
		return 0;
	}

	memset(&a, 0, sizeof(a));
	a.max_mem = lim->max_mem;
	a.next_size = CHUNK_MIN;
	if (lim->cpu_base_ms != 0 || lim->cpu_ns_per_byte != 0) {
		budget = (uint64_t)lim->cpu_base_ms * 1000000 +
		    (uint64_t)lim->cpu_ns_per_byte * len;
		a.timed = 1;
		a.deadline_ns = sanitize_cpu_ns() + budget;
	}
	rc = sanitize_guarded(&a, in, len, &o);
	sanitize_arena_free(&a);
	if (rc == 0 && o.err) {
		rc = -1;
		a.error = ENOMEM;
	}
	if (rc != 0) {
		out->len = start;
		out->data[start] = '\0';
		errno = a.error;
		return -1;
	}
	return 0;
}

void
sanitize_buf_free(struct sanitize_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/*
 * Mirrors the data state of an HTML tokenizer (which is all upstream's
 * is_html() runs): true at the first start or end tag that reaches its
 * '>', comment, bogus comment, doctype or NUL. A tag cut off by the end of
 * input is no token, and nothing after it can be one either.
 */
bool
sanitize_is_html(const char *in, size_t len)
{
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i;

	for (i = 0; i < len; i++) {
		if (p[i] == '\0')
			return true;
		if (p[i] != '<' || i + 1 == len)
			continue;
		if (p[i + 1] == '!' || p[i + 1] == '?')
			return true;
		if (p[i + 1] == '/') {
			if (i + 2 == len)
				return false;
			if (p[i + 2] == '>') {
				i += 2;		/* "</>" is dropped, no token */
				continue;
			}
			if (((p[i + 2] | 0x20) < 'a' || (p[i + 2] | 0x20) > 'z'))
				return true;	/* bogus comment */
			return sanitize_tag_end(p, len, i + 3) < len;
		}
		if ((p[i + 1] | 0x20) >= 'a' && (p[i + 1] | 0x20) <= 'z')
			return sanitize_tag_end(p, len, i + 2) < len;
	}
	return false;
}

/* ---- arena ---------------------------------------------------------- */

static void
sanitize_fail(struct sanitize_arena *a, int error)
{
	a->error = error;
	longjmp(a->fail, 1);
}

static uint64_t
sanitize_cpu_ns(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == -1)
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

static void *
sanitize_alloc(void *arg, size_t n)
{
	struct sanitize_arena	*a = arg;
	struct sanitize_chunk	*c;
	size_t			 size;
	void			*p;

	if (a->timed && ++a->calls % CPU_CHECK_EVERY == 0 &&
	    sanitize_cpu_ns() > a->deadline_ns)
		sanitize_fail(a, ETIMEDOUT);
	if (n > a->max_mem)
		sanitize_fail(a, ENOMEM);
	n = (n + alignof(max_align_t) - 1) & ~(alignof(max_align_t) - 1);
	if (n == 0)
		n = alignof(max_align_t);
	if (a->cur == NULL || a->cur->size - a->cur->used < n) {
		/* Big blocks get a chunk of their own; the current one stays. */
		size = n > a->next_size / 4 ? n : a->next_size;
		if (size + sizeof(*c) > a->max_mem - a->total)
			sanitize_fail(a, ENOMEM);
		if ((c = malloc(sizeof(*c) + size)) == NULL)
			sanitize_fail(a, ENOMEM);
		c->size = size;
		c->used = 0;
		c->next = a->chunks;
		a->chunks = c;
		a->total += sizeof(*c) + size;
		if (size == a->next_size) {
			a->cur = c;
			if (a->next_size < CHUNK_MAX)
				a->next_size *= 2;
		}
	} else
		c = a->cur;
	p = (char *)c->data + c->used;
	c->used += n;
	/*
	 * gumbo reads fields it never sets when parsing a fragment, the
	 * document's quirks mode among them: zero means no-quirks, as for a
	 * fragment of a standards-mode page, and the same tree every time.
	 */
	memset(p, 0, n);
	return p;
}

/* Blocks go back with the whole arena. */
static void
sanitize_free(void *arg, void *p)
{
	(void)arg;
	(void)p;
}

static void
sanitize_arena_free(struct sanitize_arena *a)
{
	struct sanitize_chunk	*c, *next;

	for (c = a->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	a->chunks = a->cur = NULL;
}

/* The only frame with a setjmp(): no locals live across the longjmp. */
static int
sanitize_guarded(struct sanitize_arena *a, const char *in, size_t len,
    struct sanitize_out *o)
{
	if (setjmp(a->fail) != 0)
		return -1;
	sanitize_run(a, in, len, o);
	return 0;
}

static void
sanitize_run(struct sanitize_arena *a, const char *in, size_t len,
    struct sanitize_out *o)
{
	GumboOptions	 opt = kGumboDefaultOptions;
	GumboOutput	*g;

	opt.allocator = sanitize_alloc;
	opt.deallocator = sanitize_free;
	opt.userdata = a;
	opt.max_errors = 0;	/* errors are not wanted, only the tree */
	opt.fragment_context = GUMBO_TAG_DIV;
	opt.fragment_namespace = GUMBO_NAMESPACE_HTML;
	g = gumbo_parse_with_options(&opt, in, len);
	sanitize_walk(a, g->root, o);
}

/* ---- the walk ------------------------------------------------------- */

static void
sanitize_walk(struct sanitize_arena *a, const GumboNode *root,
    struct sanitize_out *o)
{
	struct sanitize_frame		*stack, *f, *bigger;
	const struct sanitize_tag	*t;
	const GumboVector		*kids;
	const GumboNode			*n;
	const char			*name;
	char				 namebuf[NAME_MAX_LEN];
	size_t				 sp = 0, cap = 64;
	enum sanitize_verdict		 v;
	int				 ns;

	stack = sanitize_alloc(a, cap * sizeof(*stack));
	stack[sp++] = (struct sanitize_frame){ root, NULL, 0,
	    GUMBO_NAMESPACE_HTML };
	while (sp > 0) {
		f = &stack[sp - 1];
		kids = &f->node->v.element.children;
		if (f->next >= kids->length) {
			if (f->close != NULL)
				out_end_tag(o, f->close->name);
			sp--;
			continue;
		}
		n = kids->data[f->next++];
		switch (n->type) {
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_WHITESPACE:
		case GUMBO_NODE_CDATA:
			if (o->pre_start && n->v.text.text[0] == '\n')
				out_put(o, "\n", 1);
			out_escaped(o, n->v.text.text, strlen(n->v.text.text),
			    0);
			break;
		case GUMBO_NODE_COMMENT:
			if (sanitize_accent_comment(n->v.text.text)) {
				out_put(o, "<!--", 4);
				out_str(o, n->v.text.text);
				out_put(o, "-->", 3);
			}
			break;
		case GUMBO_NODE_ELEMENT:
		case GUMBO_NODE_TEMPLATE:
			ns = n->v.element.tag_namespace;
			name = sanitize_elem_name(&n->v.element, namebuf);
			v = sanitize_decide(name, ns, f->ns, &t);
			if (v == V_DROP)
				break;
			if (v == V_KEEP) {
				sanitize_start_tag(o, t, &n->v.element);
				if (t->flags & T_VOID)
					break;
				if (t->flags & T_EMPTY) {
					out_end_tag(o, t->name);
					break;
				}
			} else {
				t = NULL;
				ns = f->ns;
			}
			if (sp == cap) {
				bigger = sanitize_alloc(a,
				    2 * cap * sizeof(*stack));
				memcpy(bigger, stack, cap * sizeof(*stack));
				stack = bigger;
				cap *= 2;
			}
			stack[sp++] = (struct sanitize_frame){ n, t, 0, ns };
			break;
		default:
			break;
		}
	}
}

/*
 * Namespaces are checked against the nearest kept element, as ammonia
 * does, so that the output re-parses into the tree it was written from:
 * SVG only through <svg>, nothing of HTML or MathML inside SVG.
 */
static enum sanitize_verdict
sanitize_decide(const char *name, int ns, int parent_ns,
    const struct sanitize_tag **tp)
{
	const struct sanitize_tag	*t;

	*tp = NULL;
	if (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)
		return V_DROP;
	t = sanitize_lookup(name);
	switch (ns) {
	case GUMBO_NAMESPACE_HTML:
		if (parent_ns != GUMBO_NAMESPACE_HTML)
			return V_DROP;
		if (t == NULL || !(t->ns & NS_HTML))
			return V_HOIST;
		break;
	case GUMBO_NAMESPACE_SVG:
		if (parent_ns != GUMBO_NAMESPACE_SVG) {
			if (strcmp(name, "svg") != 0)
				return V_DROP;
		} else if (t == NULL || !(t->ns & NS_SVG))
			return V_HOIST;
		break;
	default:
		/* MathML: none of it is allowed; its text may stay. */
		return parent_ns == GUMBO_NAMESPACE_HTML ? V_HOIST : V_DROP;
	}
	*tp = t;
	return V_KEEP;
}

static int
sanitize_tag_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct sanitize_tag *)elem)->name);
}

static const struct sanitize_tag *
sanitize_lookup(const char *name)
{
	return bsearch(name, sanitize_tags, NTAGS, sizeof(sanitize_tags[0]),
	    sanitize_tag_cmp);
}

/* gumbo names the tags it knows; others only in the source text. */
static const char *
sanitize_elem_name(const GumboElement *e, char *buf)
{
	const char	*s = e->original_tag.data;
	size_t		 len = e->original_tag.length, i = 0, n = 0;

	if (e->tag != GUMBO_TAG_UNKNOWN)
		return gumbo_normalized_tagname(e->tag);
	if (s == NULL || len < 2 || s[0] != '<')
		return "";
	i = s[1] == '/' ? 2 : 1;
	for (; i < len && n < NAME_MAX_LEN - 1; i++) {
		if (s[i] == '>' || s[i] == '/' ||
		    sanitize_html_space((unsigned char)s[i]))
			break;
		if (s[i] == '\0')
			return "";	/* gumbo saw U+FFFD: no name of ours */
		buf[n++] = sanitize_lower(s[i]);
	}
	if (n == NAME_MAX_LEN - 1)
		return "";
	buf[n] = '\0';
	return buf;
}

/* ---- attributes ----------------------------------------------------- */

static bool
sanitize_in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return true;
	return false;
}

static bool
sanitize_in_list_nocase(const char *const *list, const char *s, size_t len)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == len && strncasecmp(*list, s, len) == 0)
			return true;
	return false;
}

static bool
sanitize_attr_allowed(const struct sanitize_tag *t, const char *name)
{
	return sanitize_in_list(sanitize_generic, name) ||
	    (t->attrs != NULL && sanitize_in_list(t->attrs, name));
}

static void
sanitize_start_tag(struct sanitize_out *o, const struct sanitize_tag *t,
    const GumboElement *e)
{
	const GumboAttribute	*at;
	const char		*name, *value;
	unsigned int		 i;

	out_put(o, "<", 1);
	out_str(o, t->name);
	for (i = 0; i < e->attributes.length; i++) {
		at = e->attributes.data[i];
		name = at->name;
		value = at->value;
		/* xlink:href, xml:lang and the like: none is allowed. */
		if (at->attr_namespace != GUMBO_ATTR_NAMESPACE_NONE ||
		    !sanitize_attr_allowed(t, name))
			continue;
		if ((strcmp(name, "href") == 0 || strcmp(name, "src") == 0) &&
		    !sanitize_url_ok(value))
			continue;
		if (strcmp(t->name, "iframe") == 0 &&
		    strcmp(name, "src") == 0 && !sanitize_youtube(value))
			continue;
		if (strcmp(name, "onclick") == 0) {
			if (!sanitize_onclick_ok(value))
				continue;
		} else if (strcmp(name, "ondblclick") == 0 &&
		    !sanitize_ct_click(value))
			continue;
		if (strcmp(name, "style") == 0) {
			sanitize_style(o, value);
			continue;
		}
		out_put(o, " ", 1);
		out_str(o, name);
		out_put(o, "=\"", 2);
		out_escaped(o, value, strlen(value), 1);
		out_put(o, "\"", 1);
	}
	if (strcmp(t->name, "a") == 0)
		out_str(o, " rel=\"noopener noreferrer\"");
	out_put(o, ">", 1);
	if (t->flags & T_PRE)
		o->pre_start = 1;
}

/*
 * The WHATWG URL parser's view of the scheme: leading C0 controls and
 * spaces skipped, tabs and newlines ignored. No scheme means relative,
 * which passes (Anki media are relative file names).
 */
static bool
sanitize_url_ok(const char *v)
{
	const unsigned char	*p = (const unsigned char *)v;
	char			 scheme[16];
	size_t			 n = 0;
	int			 toolong = 0;
	unsigned char		 c;

	while (*p != '\0' && *p <= 0x20)
		p++;
	if ((*p | 0x20) < 'a' || (*p | 0x20) > 'z')
		return true;
	for (; (c = *p) != '\0' && c != ':'; p++) {
		if (c == '\t' || c == '\n' || c == '\r')
			continue;
		if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z') &&
		    !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.')
			return true;
		if (n < sizeof(scheme) - 1)
			scheme[n++] = sanitize_lower((char)c);
		else
			toolong = 1;
	}
	if (c != ':')
		return true;
	scheme[n] = '\0';
	return !toolong && sanitize_in_list(sanitize_schemes, scheme);
}

/* ^https://(www\.)?youtube(-nocookie)?\.com/embed/ */
static bool
sanitize_youtube(const char *v)
{
	if (strncmp(v, "https://", 8) != 0)
		return false;
	v += 8;
	if (strncmp(v, "www.", 4) == 0)
		v += 4;
	if (strncmp(v, "youtube", 7) != 0)
		return false;
	v += 7;
	if (strncmp(v, "-nocookie", 9) == 0)
		v += 9;
	return strncmp(v, ".com/embed/", 11) == 0;
}

/* ---- onclick: the few call forms upstream lets through --------------- */

static bool
oc_lit(const char **p, const char *lit)
{
	size_t	n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

static void
oc_ws(const char **p)
{
	while (sanitize_space(**p))
		(*p)++;
}

/* ['"][^'"]+['"]: either quote at either end. */
static bool
oc_quoted(const char **p)
{
	const char	*s;

	if (**p != '\'' && **p != '"')
		return false;
	s = ++(*p);
	while (**p != '\0' && **p != '\'' && **p != '"')
		(*p)++;
	if (*p == s || **p == '\0')
		return false;
	(*p)++;
	return true;
}

/* NAME(\s*QUOTED\s*) */
static bool
oc_call1(const char *v, const char *fn)
{
	if (!oc_lit(&v, fn) || !oc_lit(&v, "("))
		return false;
	oc_ws(&v);
	if (!oc_quoted(&v))
		return false;
	oc_ws(&v);
	return oc_lit(&v, ")") && *v == '\0';
}

static bool
sanitize_onclick_ok(const char *v)
{
	const char	*p;

	if (oc_call1(v, "showKanjiPopup") || oc_call1(v, "toggleStory") ||
	    oc_call1(v, "toggleKanjiDetails") || sanitize_ct_click(v))
		return true;
	p = v;
	if (oc_lit(&p, "showLargePopup(")) {
		oc_ws(&p);
		if (!oc_lit(&p, "this"))
			return false;
		oc_ws(&p);
		if (!oc_lit(&p, ","))
			return false;
		oc_ws(&p);
		if (!oc_quoted(&p))
			return false;
		oc_ws(&p);
		return oc_lit(&p, ")") && *p == '\0';
	}
	p = v;
	if (oc_lit(&p, "hideKanjiPopup(")) {
		oc_ws(&p);
		return oc_lit(&p, ")") && *p == '\0';
	}
	p = v;
	if (oc_lit(&p, "this.style.display")) {
		oc_ws(&p);
		if (!oc_lit(&p, "="))
			return false;
		oc_ws(&p);
		return oc_quoted(&p) && *p == '\0';
	}
	return false;
}

/* cards_ct_click('<digits>'), also the only ondblclick kept (on kbd). */
static bool
sanitize_ct_click(const char *v)
{
	const char	*p = v;

	if (!oc_lit(&p, "cards_ct_click('") || *p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return oc_lit(&p, "')") && *p == '\0';
}

/* ---- style ---------------------------------------------------------- */

static void
css_trim(const char **s, const char **e)
{
	while (*s < *e && sanitize_space(**s))
		(*s)++;
	while (*e > *s && sanitize_space((*e)[-1]))
		(*e)--;
}

static bool
css_value_ok(const char *prop, size_t plen, const char *v, size_t vlen)
{
	const char *const	*pre;

	if (sanitize_in_list_nocase(sanitize_css_colour_props, prop, plen)) {
		for (pre = sanitize_css_colour_prefixes; *pre != NULL; pre++)
			if (vlen >= strlen(*pre) &&
			    strncasecmp(v, *pre, strlen(*pre)) == 0)
				return true;
		return sanitize_in_list_nocase(sanitize_css_colour_names, v,
		    vlen);
	}
	if (plen == 12 && strncasecmp(prop, "writing-mode", 12) == 0)
		return sanitize_in_list_nocase(sanitize_writing_modes, v, vlen);
	return true;
}

/*
 * Keeps the declarations upstream keeps, written "prop: value;". Upstream
 * turns double quotes in the value into single ones before splitting on
 * ';' (they would be &quot; there); the attribute is dropped if empty.
 */
static void
sanitize_style(struct sanitize_out *o, const char *v)
{
	const char	*d, *dend, *colon, *ps, *pe, *vs, *ve;
	size_t		 i;
	int		 open = 0;

	for (d = v; *d != '\0'; d = *dend != '\0' ? dend + 1 : dend) {
		dend = strchr(d, ';');
		if (dend == NULL)
			dend = d + strlen(d);
		colon = memchr(d, ':', (size_t)(dend - d));
		if (colon == NULL)
			continue;
		ps = d;
		pe = colon;
		css_trim(&ps, &pe);
		vs = colon + 1;
		ve = dend;
		css_trim(&vs, &ve);
		if (!sanitize_in_list_nocase(sanitize_css_props, ps,
		    (size_t)(pe - ps)) ||
		    !css_value_ok(ps, (size_t)(pe - ps), vs, (size_t)(ve - vs)))
			continue;
		if (!open) {
			out_put(o, " style=\"", 8);
			open = 1;
		}
		for (i = 0; i < (size_t)(pe - ps); i++) {
			char c = sanitize_lower(ps[i]);

			out_put(o, &c, 1);
		}
		out_put(o, ": ", 2);
		out_escaped(o, vs, (size_t)(ve - vs), 2);
		out_put(o, ";", 1);
	}
	if (open)
		out_put(o, "\"", 1);
}

/* ---- comments and blank input --------------------------------------- */

/* \s*(user_)?accent_(start|end)\s* — the pitch-accent add-on's markers. */
static bool
sanitize_accent_comment(const char *s)
{
	const char	*e = s + strlen(s);

	css_trim(&s, &e);
	if ((size_t)(e - s) > 5 && strncmp(s, "user_", 5) == 0)
		s += 5;
	if ((size_t)(e - s) < 7 || strncmp(s, "accent_", 7) != 0)
		return false;
	s += 7;
	return ((size_t)(e - s) == 5 && strncmp(s, "start", 5) == 0) ||
	    ((size_t)(e - s) == 3 && strncmp(s, "end", 3) == 0);
}

/* Rust's str::trim().is_empty(): Unicode White_Space only. */
static bool
sanitize_blank(const char *in, size_t len)
{
	static const uint32_t	 wide[] = { 0x85, 0xa0, 0x1680, 0x2028,
	    0x2029, 0x202f, 0x205f, 0x3000 };
	const unsigned char	*p = (const unsigned char *)in;
	size_t			 i = 0, k, n;
	uint32_t		 cp;

	while (i < len) {
		if (p[i] < 0x80) {
			if (!sanitize_space((char)p[i]))
				return false;
			i++;
			continue;
		}
		/* All of them take two or three bytes. */
		n = (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3 : 0;
		if (n == 0 || len - i < n)
			return false;
		cp = p[i] & (n == 2 ? 0x1f : 0x0f);
		for (k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		for (k = 0; k < sizeof(wide) / sizeof(wide[0]); k++)
			if (cp == wide[k])
				break;
		if (k == sizeof(wide) / sizeof(wide[0]) &&
		    (cp < 0x2000 || cp > 0x200a))
			return false;
		i += n;
	}
	return true;
}

/*
 * From just after "<x" (or "</x"): the index of the '>' that ends the tag,
 * following the tokenizer's tag and attribute states; len if input ends
 * first. Only quoted attribute values can hide a '>'.
 */
static size_t
sanitize_tag_end(const unsigned char *p, size_t len, size_t i)
{
	enum { NAME, BEFORE_ATTR, ATTR, AFTER_ATTR, BEFORE_VALUE, DQ, SQ,
	    UNQUOTED, AFTER_QUOTED, SELF_CLOSING } st = NAME;
	unsigned char	c;
	int		ws;

	for (; i < len; i++) {
		c = p[i];
		ws = sanitize_html_space(c);
		switch (st) {
		case NAME:
			if (ws)
				st = BEFORE_ATTR;
			else if (c == '/')
				st = SELF_CLOSING;
			else if (c == '>')
				return i;
			break;
		case BEFORE_ATTR:
			if (c == '/')
				st = SELF_CLOSING;
			else if (c == '>')
				return i;
			else if (!ws)
				st = ATTR;	/* '=' here starts a name */
			break;
		case ATTR:
			if (ws)
				st = AFTER_ATTR;
			else if (c == '/')
				st = SELF_CLOSING;
			else if (c == '>')
				return i;
			else if (c == '=')
				st = BEFORE_VALUE;
			break;
		case AFTER_ATTR:
			if (c == '/')
				st = SELF_CLOSING;
			else if (c == '=')
				st = BEFORE_VALUE;
			else if (c == '>')
				return i;
			else if (!ws)
				st = ATTR;
			break;
		case BEFORE_VALUE:
			if (c == '"')
				st = DQ;
			else if (c == '\'')
				st = SQ;
			else if (c == '>')
				return i;
			else if (!ws)
				st = UNQUOTED;
			break;
		case DQ:
			if (c == '"')
				st = AFTER_QUOTED;
			break;
		case SQ:
			if (c == '\'')
				st = AFTER_QUOTED;
			break;
		case UNQUOTED:
			if (ws)
				st = BEFORE_ATTR;
			else if (c == '>')
				return i;
			break;
		case AFTER_QUOTED:
			if (c == '/')
				st = SELF_CLOSING;
			else if (c == '>')
				return i;
			else
				st = BEFORE_ATTR;
			break;
		case SELF_CLOSING:
			if (c == '>')
				return i;
			st = BEFORE_ATTR;
			i--;	/* reconsume */
			break;
		}
	}
	return len;
}

/* ASCII \s of the regular expressions upstream uses. */
static bool
sanitize_space(char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

/* An HTML tokenizer's whitespace (no \v). */
static bool
sanitize_html_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

static char
sanitize_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ---- output buffer -------------------------------------------------- */

static void
out_reserve(struct sanitize_out *o, size_t n)
{
	struct sanitize_buf	*b = o->buf;
	size_t			 cap;
	char			*p;

	if (o->err)
		return;
	if (n < b->cap - b->len && b->data != NULL)
		return;
	if (n > SIZE_MAX / 2 - b->len) {
		o->err = 1;
		return;
	}
	cap = b->cap < 256 ? 256 : b->cap;
	while (cap - b->len <= n)
		cap *= 2;
	if ((p = realloc(b->data, cap)) == NULL) {
		o->err = 1;
		return;
	}
	b->data = p;
	b->cap = cap;
	b->data[b->len] = '\0';
}

static void
out_put(struct sanitize_out *o, const char *s, size_t n)
{
	struct sanitize_buf	*b = o->buf;

	o->pre_start = 0;
	out_reserve(o, n);
	if (o->err)
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void
out_str(struct sanitize_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void
out_end_tag(struct sanitize_out *o, const char *name)
{
	out_put(o, "</", 2);
	out_str(o, name);
	out_put(o, ">", 1);
}

/*
 * Escapes for text (attr 0), attribute values (1) or style values (2,
 * where '"' becomes '\'' as upstream does). '<' and '>' are escaped in
 * attributes too, as current HTML serializers do.
 */
static void
out_escaped(struct sanitize_out *o, const char *s, size_t n, int attr)
{
	size_t	i, run = 0;

	for (i = 0; i < n; i++) {
		const char	*rep;
		unsigned char	 c = (unsigned char)s[i];

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = attr == 1 ? "&quot;" : attr == 2 ? "'" : NULL;
			break;
		case 0xc2:
			rep = i + 1 < n && (unsigned char)s[i + 1] == 0xa0 ?
			    "&nbsp;" : NULL;
			break;
		default:
			rep = NULL;
			break;
		}
		if (rep == NULL)
			continue;
		out_put(o, s + run, i - run);
		out_str(o, rep);
		if (c == 0xc2)
			i++;
		run = i + 1;
	}
	out_put(o, s + run, n - run);
}
