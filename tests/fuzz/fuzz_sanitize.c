/*
 * fuzz_sanitize.c — libFuzzer target for sanitize_html().
 *
 * The fuzz build links only common/ and proto/, so the sanitizer is
 * included whole; that also lends its allow-list to the checks. Whatever
 * it writes is parsed again with gumbo, as a browser would, and every
 * element, attribute and comment of that tree must be one the sanitizer
 * itself would keep: otherwise the output re-parses into something else
 * (mutation XSS). A breach aborts, which libFuzzer reports.
 */
#include "apid/sanitize.c"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static int
fuzz_utf8_ok(const unsigned char *s, size_t n)
{
	size_t		i = 0, k, more;
	uint32_t	cp;

	while (i < n) {
		if (s[i] == 0)
			return 0;
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			more = 1, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			more = 2, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			more = 3, cp = s[i] & 0x07;
		else
			return 0;
		if (i + more >= n)
			return 0;
		for (k = 1; k <= more; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((more == 2 && (cp < 0x800 || (cp >= 0xd800 &&
		    cp <= 0xdfff))) || (more == 3 && (cp < 0x10000 ||
		    cp > 0x10ffff)))
			return 0;
		i += more + 1;
	}
	return 1;
}

static void
fuzz_attrs(const struct sanitize_tag *t, const GumboElement *e)
{
	const GumboAttribute	*at;
	unsigned int		 i;

	for (i = 0; i < e->attributes.length; i++) {
		at = e->attributes.data[i];
		fuzz_check(at->attr_namespace == GUMBO_ATTR_NAMESPACE_NONE);
		if (strcmp(t->name, "a") == 0 && strcmp(at->name, "rel") == 0) {
			fuzz_check(strcmp(at->value, "noopener noreferrer") ==
			    0);
			continue;
		}
		fuzz_check(sanitize_attr_allowed(t, at->name));
		if (strcmp(at->name, "href") == 0 ||
		    strcmp(at->name, "src") == 0)
			fuzz_check(sanitize_url_ok(at->value));
		if (strcmp(t->name, "iframe") == 0 &&
		    strcmp(at->name, "src") == 0)
			fuzz_check(sanitize_youtube(at->value));
		if (strcmp(at->name, "onclick") == 0)
			fuzz_check(sanitize_onclick_ok(at->value));
		if (strcmp(at->name, "ondblclick") == 0)
			fuzz_check(sanitize_ct_click(at->value));
		if (strcmp(at->name, "style") == 0)
			fuzz_check(at->value[0] != '\0');
	}
}

/* Zeroed, as the sanitizer's own arena hands memory to gumbo. */
static void *
fuzz_zalloc(void *arg, size_t n)
{
	(void)arg;
	return calloc(1, n);
}

static void
fuzz_zfree(void *arg, void *p)
{
	(void)arg;
	free(p);
}

/* Walks the re-parsed output: everything in it must be kept as it is. */
static void
fuzz_reparse(const char *html, size_t len)
{
	GumboOptions		 opt = kGumboDefaultOptions;
	GumboOutput		*g;
	const GumboNode		**stack, *n, *parent;
	const struct sanitize_tag *t;
	const char		*name;
	char			 namebuf[NAME_MAX_LEN];
	size_t			 sp = 0, cap = 256;
	unsigned int		 i;
	int			 pns;

	opt.allocator = fuzz_zalloc;
	opt.deallocator = fuzz_zfree;
	opt.fragment_context = GUMBO_TAG_DIV;
	g = gumbo_parse_with_options(&opt, html, len);
	stack = malloc(cap * sizeof(*stack));
	fuzz_check(stack != NULL);
	stack[sp++] = g->root;
	while (sp > 0) {
		n = stack[--sp];
		if (n->type == GUMBO_NODE_COMMENT)
			fuzz_check(sanitize_accent_comment(n->v.text.text));
		if (n->type != GUMBO_NODE_ELEMENT &&
		    n->type != GUMBO_NODE_TEMPLATE)
			continue;
		if (n != g->root) {
			parent = n->parent;
			pns = parent == g->root ? GUMBO_NAMESPACE_HTML :
			    (int)parent->v.element.tag_namespace;
			name = sanitize_elem_name(&n->v.element, namebuf);
			fuzz_check(sanitize_decide(name,
			    n->v.element.tag_namespace, pns, &t) == V_KEEP);
			fuzz_attrs(t, &n->v.element);
			if (t->flags & T_EMPTY)
				fuzz_check(n->v.element.children.length == 0);
		}
		for (i = 0; i < n->v.element.children.length; i++) {
			if (sp == cap) {
				cap *= 2;
				stack = realloc(stack, cap * sizeof(*stack));
				fuzz_check(stack != NULL);
			}
			stack[sp++] = n->v.element.children.data[i];
		}
	}
	free(stack);
	gumbo_destroy_output(&opt, g);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sanitize_buf	 b = { 0 };
	const char		*in = (const char *)data;

	/* Something to append to: failures must leave it alone. */
	fuzz_check(sanitize_html("x", 1, &b) == 0 && b.len == 1);
	if (sanitize_html(in, size, &b) != 0) {
		fuzz_check(errno == EFBIG || errno == ENOMEM ||
		    errno == ETIMEDOUT);
		fuzz_check(b.len == 1 && strcmp(b.data, "x") == 0);
		sanitize_buf_free(&b);
		return 0;
	}
	fuzz_check(b.data[b.len] == '\0');
	if (sanitize_blank(in, size))
		fuzz_check(b.len == 1);
	else if (!sanitize_is_html(in, size))
		fuzz_check(b.len == 1 + size &&
		    memcmp(b.data + 1, in, size) == 0);
	else {
		fuzz_check(fuzz_utf8_ok((unsigned char *)b.data + 1,
		    b.len - 1));
		fuzz_reparse(b.data + 1, b.len - 1);
	}
	sanitize_buf_free(&b);
	return 0;
}
