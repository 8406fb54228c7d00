/*
 * fuzz_svg.c — libFuzzer target for svg_sanitize().
 *
 * The fuzz build links only common/ and proto/, so the sanitizer is
 * included whole, without its route. Whatever it writes must parse again
 * as XML into a tree in which every element, attribute and value is one
 * the sanitizer itself keeps, and must be a fixed point: sanitizing it
 * again gives the same bytes. A breach aborts, which libFuzzer reports.
 */
#define SVG_NO_ROUTE
#include "apid/svg.c"

#include <stdint.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static void
fuzz_node(const xmlNode *n)
{
	const struct svg_elem	*e;
	const xmlAttr		*a;
	const xmlNode		*c;
	const char		*name;
	xmlChar			*v;
	int			 href;

	fuzz_check(n->ns != NULL && strcmp((const char *)n->ns->href,
	    SVG_NS) == 0);
	fuzz_check((e = elem_of(n)) != NULL);
	if (e->flags & E_STYLE)
		fuzz_check(style_ok(n));
	for (a = n->properties; a != NULL; a = a->next) {
		fuzz_check((name = attr_name(a, &href)) != NULL);
		v = xmlNodeListGetString(n->doc, a->children, 1);
		if (v == NULL)
			continue;
		if (href)
			fuzz_check(local_ref((char *)v) ||
			    ((e->flags & E_IMAGE) && raster_data_uri((char *)v)));
		else
			fuzz_check(css_ok((char *)v));
		xmlFree(v);
	}
	for (c = n->children; c != NULL; c = c->next) {
		fuzz_check(c->type == XML_ELEMENT_NODE ||
		    c->type == XML_TEXT_NODE);
		if (c->type == XML_TEXT_NODE)
			fuzz_check(e->flags & E_TEXT);
		else {
			fuzz_check(!(e->flags & E_STYLE));
			fuzz_node(c);
		}
	}
}

static void
fuzz_reparse(const char *s, size_t len)
{
	xmlDocPtr	 doc;
	xmlNodePtr	 root;

	doc = xmlReadMemory(s, (int)len, NULL, "UTF-8", XML_PARSE_NONET |
	    XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	fuzz_check(doc != NULL);
	fuzz_check(doc->intSubset == NULL && doc->extSubset == NULL);
	root = xmlDocGetRootElement(doc);
	fuzz_check(root != NULL && strcmp((const char *)root->name, "svg") == 0);
	fuzz_check(root->prev == NULL && root->next == NULL);
	fuzz_node(root);
	xmlFreeDoc(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*out, *again;
	size_t		 len, len2;
	const char	*why = NULL;

	if (svg_sanitize((const char *)data, size, &out, &len, &why) != 0) {
		fuzz_check(out == NULL && len == 0 && why != NULL);
		return 0;
	}
	fuzz_check(out != NULL && out[len] == '\0' && strlen(out) == len);
	fuzz_reparse(out, len);
	fuzz_check(svg_sanitize(out, len, &again, &len2, &why) == 0);
	fuzz_check(len2 == len && memcmp(again, out, len) == 0);
	free(again);
	free(out);
	return 0;
}
