/*
 * svg.c — the SVG sanitizer and route 27, POST /media/sanitize/svg
 * (spec/api.md §6.27).
 *
 * An SVG is parsed by libxml2 into a tree and a new document is written from
 * that tree, so nothing reaches the output that was not looked at:
 *
 *  - parsing: UTF-8 only, no NUL, at most SVG_MAX_INPUT bytes; no network
 *    (XML_PARSE_NONET), no entity substitution (XML_PARSE_NOENT is not
 *    set), and any DOCTYPE or entity declaration stops the parser from its
 *    SAX callback, so a "billion laughs" never expands; must be well formed;
 *  - limits: SVG_MAX_DEPTH element nesting, SVG_MAX_NODES nodes — beyond
 *    them the file is refused, not truncated;
 *  - the root must be <svg> in the SVG namespace (or in none); elements in
 *    other namespaces (XHTML, Inkscape, RDF ...) are dropped whole;
 *  - elements (svg_elems): structure (svg g defs symbol use title desc a),
 *    shapes (path rect circle ellipse line polyline polygon), text (text
 *    tspan textPath), paint servers and masks (linearGradient
 *    radialGradient stop pattern clipPath mask marker), image (raster
 *    data: URIs only), style (checked, below) and the filter primitives.
 *    Everything else goes with its content: script, foreignObject, iframe,
 *    every animation element (animate set animateMotion animateTransform
 *    discard: animations can rewrite href into javascript:), switch,
 *    metadata, unknown names; comments and processing instructions too;
 *  - attributes (svg_attrs): geometry, presentation, gradient, text and
 *    filter attributes, plus id class style lang xml:space xml:lang. No
 *    on*, no xmlns:* other than the two written on the root;
 *  - href and xlink:href: only "#id" (a reference inside the file); on
 *    <image> also data:image/{png,jpeg,gif,webp};base64. Anything else
 *    (http:, javascript:, other.svg#x) removes the attribute;
 *  - every other value, style attributes and <style> text: url() only as
 *    url(#id); no @import, expression(, javascript:, behavior,
 *    -moz-binding, image-set(, image(, backslash escapes or '<'. A bad
 *    attribute is dropped; a bad <style> element is dropped whole;
 *  - text is kept only inside text-bearing elements (text, tspan,
 *    textPath, a, title, desc, style).
 *
 * Output: an XML declaration, then the root with xmlns and xmlns:xlink,
 * every value double-quoted and escaped.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "apid/svg.h"

#define SVG_NS		"http://www.w3.org/2000/svg"
#define XLINK_NS	"http://www.w3.org/1999/xlink"
#define XML_NS		"http://www.w3.org/XML/1998/namespace"

#define E_TEXT		0x01	/* keeps its text children */
#define E_IMAGE		0x02	/* href may be a raster data: URI */
#define E_STYLE		0x04	/* its text is a style sheet */

struct svg_elem {
	const char	*name;
	int		 flags;
};

static const struct svg_elem svg_elems[] = {
	{ "svg", 0 }, { "g", 0 }, { "defs", 0 }, { "symbol", 0 },
	{ "use", 0 }, { "title", E_TEXT }, { "desc", E_TEXT },
	{ "a", E_TEXT }, { "path", 0 }, { "rect", 0 }, { "circle", 0 },
	{ "ellipse", 0 }, { "line", 0 }, { "polyline", 0 },
	{ "polygon", 0 }, { "text", E_TEXT }, { "tspan", E_TEXT },
	{ "textPath", E_TEXT }, { "linearGradient", 0 },
	{ "radialGradient", 0 }, { "stop", 0 }, { "pattern", 0 },
	{ "clipPath", 0 }, { "mask", 0 }, { "marker", 0 },
	{ "image", E_IMAGE }, { "style", E_TEXT | E_STYLE },
	{ "filter", 0 }, { "feBlend", 0 }, { "feColorMatrix", 0 },
	{ "feComponentTransfer", 0 }, { "feComposite", 0 },
	{ "feConvolveMatrix", 0 }, { "feDiffuseLighting", 0 },
	{ "feDisplacementMap", 0 }, { "feDistantLight", 0 },
	{ "feDropShadow", 0 }, { "feFlood", 0 }, { "feFuncA", 0 },
	{ "feFuncB", 0 }, { "feFuncG", 0 }, { "feFuncR", 0 },
	{ "feGaussianBlur", 0 }, { "feImage", 0 }, { "feMerge", 0 },
	{ "feMergeNode", 0 }, { "feMorphology", 0 }, { "feOffset", 0 },
	{ "fePointLight", 0 }, { "feSpecularLighting", 0 },
	{ "feSpotLight", 0 }, { "feTile", 0 }, { "feTurbulence", 0 },
};

/* Attributes without a namespace; href is handled apart. */
static const char *const svg_attrs[] = {
	/* core */
	"id", "class", "style", "lang", "version", "type", "media",
	/* geometry */
	"x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "rx", "ry",
	"fx", "fy", "fr", "width", "height", "d", "points", "pathLength",
	"viewBox", "preserveAspectRatio", "transform",
	/* paint servers, clips, masks, markers */
	"gradientUnits", "gradientTransform", "spreadMethod", "offset",
	"stop-color", "stop-opacity", "patternUnits", "patternContentUnits",
	"patternTransform", "clipPathUnits", "maskUnits", "maskContentUnits",
	"markerUnits", "markerWidth", "markerHeight", "refX", "refY",
	"orient",
	/* presentation */
	"fill", "fill-opacity", "fill-rule", "stroke", "stroke-width",
	"stroke-linecap", "stroke-linejoin", "stroke-miterlimit",
	"stroke-dasharray", "stroke-dashoffset", "stroke-opacity",
	"opacity", "color", "display", "visibility", "clip-path",
	"clip-rule", "mask", "filter", "marker-start", "marker-mid",
	"marker-end", "font-family", "font-size", "font-style",
	"font-weight", "font-variant", "font-stretch", "text-anchor",
	"dominant-baseline", "alignment-baseline", "baseline-shift",
	"letter-spacing", "word-spacing", "text-decoration", "writing-mode",
	"direction", "unicode-bidi", "overflow", "shape-rendering",
	"text-rendering", "image-rendering", "color-interpolation",
	"color-interpolation-filters", "flood-color", "flood-opacity",
	"lighting-color", "paint-order", "vector-effect",
	/* text */
	"dx", "dy", "rotate", "textLength", "lengthAdjust", "startOffset",
	"method", "spacing", "side",
	/* filters */
	"filterUnits", "primitiveUnits", "result", "in", "in2",
	"stdDeviation", "mode", "operator", "k1", "k2", "k3", "k4",
	"values", "tableValues", "slope", "intercept", "amplitude",
	"exponent", "radius", "scale", "xChannelSelector",
	"yChannelSelector", "baseFrequency", "numOctaves", "seed",
	"stitchTiles", "order", "kernelMatrix", "divisor", "bias",
	"targetX", "targetY", "edgeMode", "kernelUnitLength",
	"preserveAlpha", "surfaceScale", "diffuseConstant",
	"specularConstant", "specularExponent", "azimuth", "elevation", "z",
	"pointsAtX", "pointsAtY", "pointsAtZ", "limitingConeAngle",
};

/* Substrings that make any value or style sheet unsafe, lowercased. */
static const char *const css_bad[] = {
	"@import", "expression", "javascript:", "vbscript:", "behavior",
	"-moz-binding", "image-set(", "image(", "\\", "<",
};

struct svg_out {
	char		*d;
	size_t		 len, cap;
	int		 oom;
	size_t		 nodes;
	const char	*why;		/* set on refusal */
};

/* ---- output ------------------------------------------------------------------ */

static void
out_put(struct svg_out *o, const char *s, size_t n)
{
	char	*p;
	size_t	 cap;

	if (o->oom)
		return;
	if (o->len + n + 1 > o->cap) {
		cap = o->cap ? o->cap : 1024;
		while (cap < o->len + n + 1)
			cap *= 2;
		if ((p = realloc(o->d, cap)) == NULL) {
			o->oom = 1;
			return;
		}
		o->d = p;
		o->cap = cap;
	}
	memcpy(o->d + o->len, s, n);
	o->len += n;
	o->d[o->len] = '\0';
}

static void
out_str(struct svg_out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

/* Escapes for text (attr 0) or a double-quoted value (attr 1). */
static void
out_esc(struct svg_out *o, const char *s, int attr)
{
	const char	*rep;
	size_t		 run = 0;

	for (; s[run] != '\0'; ) {
		switch (s[run]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '\r': rep = "&#13;"; break;
		case '"': rep = attr ? "&quot;" : NULL; break;
		case '\t': rep = attr ? "&#9;" : NULL; break;
		case '\n': rep = attr ? "&#10;" : NULL; break;
		default: rep = NULL; break;
		}
		if (rep == NULL) {
			run++;
			continue;
		}
		out_put(o, s, run);
		out_str(o, rep);
		s += run + 1;
		run = 0;
	}
	out_put(o, s, run);
}

/* ---- checks ------------------------------------------------------------------ */

static int
id_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':' ||
	    (c & 0x80);
}

/* "#id": a reference to something in this very file. */
static int
local_ref(const char *s)
{
	if (*s++ != '#' || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!id_char((unsigned char)*s))
			return 0;
	return 1;
}

/* A raster image inlined as base64: cannot carry script or fetch anything. */
static int
raster_data_uri(const char *s)
{
	static const char *const pfx[] = { "data:image/png;base64,",
	    "data:image/jpeg;base64,", "data:image/gif;base64,",
	    "data:image/webp;base64," };
	size_t	i, n;

	for (i = 0; i < sizeof(pfx) / sizeof(pfx[0]); i++) {
		n = strlen(pfx[i]);
		if (strncasecmp(s, pfx[i], n) == 0)
			break;
	}
	if (i == sizeof(pfx) / sizeof(pfx[0]))
		return 0;
	for (s += n; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && strchr("+/= \t\r\n", *s) ==
		    NULL)
			return 0;
	return 1;
}

/* After "url(": only url(#id), url('#id') or url("#id"). */
static int
url_local(const char *s)
{
	char	q = 0;

	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	if (*s == '\'' || *s == '"')
		q = *s++;
	if (*s++ != '#' || !id_char((unsigned char)*s))
		return 0;
	while (id_char((unsigned char)*s))
		s++;
	if (q != 0 && *s++ != q)
		return 0;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	return *s == ')';
}

/* A value, style attribute or style sheet that loads or runs nothing. */
static int
css_ok(const char *s)
{
	char	*low, *p;
	size_t	 i, n = strlen(s);
	int	 ok = 1;

	if ((low = malloc(n + 1)) == NULL)
		return 0;
	for (i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	for (i = 0; ok && i < sizeof(css_bad) / sizeof(css_bad[0]); i++)
		if (strstr(low, css_bad[i]) != NULL)
			ok = 0;
	for (p = low; ok && (p = strstr(p, "url(")) != NULL; p += 4)
		ok = url_local(p + 4);
	free(low);
	return ok;
}

static const struct svg_elem *
elem_find(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(svg_elems) / sizeof(svg_elems[0]); i++)
		if (strcmp(svg_elems[i].name, name) == 0)
			return &svg_elems[i];
	return NULL;
}

static int
attr_known(const char *name)
{
	size_t	i;

	for (i = 0; i < sizeof(svg_attrs) / sizeof(svg_attrs[0]); i++)
		if (strcmp(svg_attrs[i], name) == 0)
			return 1;
	return 0;
}

/* The element's own name if it is an SVG one, else NULL. */
static const struct svg_elem *
elem_of(const xmlNode *n)
{
	if (n->ns != NULL && strcmp((const char *)n->ns->href, SVG_NS) != 0)
		return NULL;
	return elem_find((const char *)n->name);
}

/*
 * The name to write for an attribute that is kept, or NULL: href may be
 * plain or xlink:, xml:space and xml:lang keep their prefix.
 */
static const char *
attr_name(const xmlAttr *a, int *is_href)
{
	const char	*name = (const char *)a->name;
	const char	*ns = a->ns ? (const char *)a->ns->href : NULL;

	*is_href = strcmp(name, "href") == 0;
	if (ns == NULL)
		return *is_href || attr_known(name) ? name : NULL;
	if (strcmp(ns, XLINK_NS) == 0 && *is_href)
		return "xlink:href";
	if (strcmp(ns, XML_NS) == 0 && (strcmp(name, "space") == 0 ||
	    strcmp(name, "lang") == 0))
		return strcmp(name, "space") == 0 ? "xml:space" : "xml:lang";
	return NULL;
}

/* ---- the walk ---------------------------------------------------------------- */

static int
count(struct svg_out *o)
{
	if (++o->nodes > SVG_MAX_NODES) {
		o->why = "too many nodes";
		return -1;
	}
	return 0;
}

static int
write_attrs(struct svg_out *o, const xmlNode *n, const struct svg_elem *e)
{
	const xmlAttr	*a;
	const char	*name;
	xmlChar		*v;
	int		 href, ok;

	for (a = n->properties; a != NULL; a = a->next) {
		if (count(o) == -1)
			return -1;
		if ((name = attr_name(a, &href)) == NULL)
			continue;
		if ((v = xmlNodeListGetString(n->doc, a->children, 1)) == NULL)
			v = xmlStrdup((const xmlChar *)"");
		if (v == NULL) {
			o->oom = 1;
			return -1;
		}
		if (href)
			ok = local_ref((char *)v) || ((e->flags & E_IMAGE) &&
			    raster_data_uri((char *)v));
		else
			ok = css_ok((char *)v);
		if (ok) {
			out_str(o, " ");
			out_str(o, name);
			out_str(o, "=\"");
			out_esc(o, (char *)v, 1);
			out_str(o, "\"");
		}
		xmlFree(v);
	}
	return 0;
}

/*
 * A <style> element is kept only if the text that is written of it (its
 * own text children, joined: markup inside is dropped) passes.
 */
static int
style_ok(const xmlNode *n)
{
	const xmlNode	*c;
	xmlChar		*t = NULL;
	int		 ok;

	for (c = n->children; c != NULL; c = c->next)
		if ((c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) && c->content != NULL &&
		    (t = xmlStrcat(t, c->content)) == NULL)
			return 0;
	if (t == NULL)
		return 1;
	ok = css_ok((char *)t);
	xmlFree(t);
	return ok;
}

static int	write_elem(struct svg_out *, const xmlNode *, int);

static int
write_children(struct svg_out *o, const xmlNode *n, const struct svg_elem *e,
    int depth)
{
	const xmlNode	*c;

	for (c = n->children; c != NULL; c = c->next) {
		if (count(o) == -1)
			return -1;
		if (c->type == XML_ELEMENT_NODE) {
			/* A style sheet is its text; no markup inside it. */
			if (e->flags & E_STYLE)
				continue;
			if (write_elem(o, c, depth + 1) == -1)
				return -1;
		} else if ((c->type == XML_TEXT_NODE ||
		    c->type == XML_CDATA_SECTION_NODE) && (e->flags & E_TEXT) &&
		    c->content != NULL)
			out_esc(o, (const char *)c->content, 0);
	}
	return 0;
}

static int
write_elem(struct svg_out *o, const xmlNode *n, int depth)
{
	const struct svg_elem	*e;
	size_t			 mark;

	if (depth > SVG_MAX_DEPTH) {
		o->why = "elements nested too deeply";
		return -1;
	}
	if ((e = elem_of(n)) == NULL)
		return 0;
	if ((e->flags & E_STYLE) && !style_ok(n))
		return 0;
	out_str(o, "<");
	out_str(o, e->name);
	if (depth == 0)
		out_str(o, " xmlns=\"" SVG_NS "\" xmlns:xlink=\"" XLINK_NS "\"");
	if (write_attrs(o, n, e) == -1)
		return -1;
	out_str(o, ">");
	mark = o->len;
	if (write_children(o, n, e, depth) == -1)
		return -1;
	/* Nothing kept inside: <x/>, so that the output is a fixed point. */
	if (!o->oom && o->len == mark) {
		o->d[--o->len] = '\0';
		out_str(o, "/>");
		return o->oom ? -1 : 0;
	}
	out_str(o, "</");
	out_str(o, e->name);
	out_str(o, ">");
	return o->oom ? -1 : 0;
}

/* ---- parsing ----------------------------------------------------------------- */

/* SAX hooks: a DTD or entity declaration ends the parse before it expands. */
static void
sax_no_dtd(void *ctx, const xmlChar *name, const xmlChar *ext,
    const xmlChar *sys)
{
	xmlParserCtxtPtr c = ctx;

	*(int *)c->_private = 1;
	xmlStopParser(c);
}

static void
sax_no_entity(void *ctx, const xmlChar *name, int type, const xmlChar *pub,
    const xmlChar *sys, xmlChar *content)
{
	xmlParserCtxtPtr c = ctx;

	*(int *)c->_private = 1;
	xmlStopParser(c);
}

static xmlDocPtr
svg_parse(const char *in, size_t len, const char **why)
{
	xmlParserCtxtPtr ctxt;
	xmlDocPtr	 doc;
	int		 dtd = 0, wf;

	if ((ctxt = xmlNewParserCtxt()) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	ctxt->_private = &dtd;
	ctxt->sax->internalSubset = sax_no_dtd;
	ctxt->sax->externalSubset = sax_no_dtd;
	ctxt->sax->entityDecl = sax_no_entity;
	doc = xmlCtxtReadMemory(ctxt, in, (int)len, NULL, "UTF-8",
	    XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_NOERROR |
	    XML_PARSE_NOWARNING);
	wf = ctxt->wellFormed;
	xmlFreeParserCtxt(ctxt);
	if (dtd || (doc != NULL && (doc->intSubset != NULL ||
	    doc->extSubset != NULL))) {
		*why = "DTD and entity declarations are not allowed";
		xmlFreeDoc(doc);
		return NULL;
	}
	if (doc == NULL || !wf) {
		*why = "not well-formed XML";
		xmlFreeDoc(doc);
		return NULL;
	}
	return doc;
}

int
svg_sanitize(const char *in, size_t len, char **out, size_t *outlen,
    const char **why)
{
	struct svg_out	 o = { 0 };
	xmlDocPtr	 doc;
	xmlNodePtr	 root;
	int		 rc = -1;

	*out = NULL;
	*outlen = 0;
	if (len > SVG_MAX_INPUT) {
		*why = "file too large";
		return -1;
	}
	if (memchr(in, '\0', len) != NULL) {
		*why = "NUL byte in input";
		return -1;
	}
	if ((doc = svg_parse(in, len, why)) == NULL)
		return -1;
	root = xmlDocGetRootElement(doc);
	if (root == NULL || strcmp((const char *)root->name, "svg") != 0 ||
	    elem_of(root) == NULL) {
		*why = "root element is not <svg>";
		goto done;
	}
	out_str(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	if (write_elem(&o, root, 0) == -1 || o.oom) {
		*why = o.oom ? "out of memory" : o.why;
		goto done;
	}
	*out = o.d;
	*outlen = o.len;
	o.d = NULL;
	rc = 0;
done:
	free(o.d);
	xmlFreeDoc(doc);
	return rc;
}

/* ---- route 27 ---------------------------------------------------------------- */

/* The fuzz build has no route layer. */
#ifndef SVG_NO_ROUTE

#include <openssl/evp.h>

#include "apid/apid.h"
#include "apid/call.h"
#include "common/hex.h"
#include "common/http.h"
#include "common/log.h"

#define SVG_MAX_FILES	250
#define SVG_MAX_BATCH	1048576

/* One entry's member as a string, or NULL after answering 422. */
static const char *
entry_string(struct apid_call *call, json_object *f, size_t i, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(f, key, &v) || v == NULL) {
		call_bad_shape(call, "svg_files[%zu]: missing field `%s`", i, key);
		return NULL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		call_bad_shape(call, "svg_files[%zu].%s: invalid type: expected a string",
		    i, key);
		return NULL;
	}
	return json_object_get_string(v);
}

/* The svg_files array once every entry has the right shape, or NULL after 422. */
static json_object *
svg_files_arg(struct apid_call *call)
{
	json_object	*arr, *f;
	size_t		 i, n;

	if (!json_object_is_type(call->json, json_type_object)) {
		call_bad_shape(call, "invalid type: expected a map");
		return NULL;
	}
	if (!json_object_object_get_ex(call->json, "svg_files", &arr) || arr == NULL) {
		call_bad_shape(call, "missing field `svg_files`");
		return NULL;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		call_bad_shape(call, "svg_files: invalid type: expected a sequence");
		return NULL;
	}
	n = json_object_array_length(arr);
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(f, json_type_object)) {
			call_bad_shape(call, "svg_files[%zu]: invalid type: expected a map", i);
			return NULL;
		}
		if (entry_string(call, f, i, "filename") == NULL ||
		    entry_string(call, f, i, "content") == NULL)
			return NULL;
	}
	return arr;
}

static int
md5_hex(const char *s, size_t len, char hex[33])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;

	if (!EVP_Digest(s, len, md, &mdlen, EVP_md5(), NULL) || mdlen != 16)
		return -1;
	hex_encode(md, 16, hex);
	return 0;
}

/* One sanitized entry, or NULL: empty content, refused, or out of memory. */
static json_object *
sanitize_entry(json_object *f, size_t i)
{
	json_object	*v, *o;
	const char	*name, *content, *why;
	char		*clean, hex[33];
	size_t		 len, clen;

	json_object_object_get_ex(f, "filename", &v);
	name = json_object_get_string(v);
	json_object_object_get_ex(f, "content", &v);
	content = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (len == 0)
		return NULL;
	if (svg_sanitize(content, len, &clean, &clen, &why) == -1) {
		/* Not the file name: it is the client's text, newlines and all. */
		log_info("svg_files[%zu] refused: %s", i, why);
		return NULL;
	}
	o = NULL;
	if (md5_hex(clean, clen, hex) == 0 && (o = json_object_new_object()) != NULL) {
		json_object_object_add(o, "filename", json_object_new_string(name));
		json_object_object_add(o, "content",
		    json_object_new_string_len(clean, (int)clen));
		json_object_object_add(o, "hash", json_object_new_string(hex));
	}
	free(clean);
	return o;
}

static void
sanitize_svg(struct apid_call *call)
{
	json_object	*arr, *f, *v, *list, *res, *o;
	size_t		 i, n, total = 0;

	if ((arr = svg_files_arg(call)) == NULL)
		return;
	n = json_object_array_length(arr);
	if (n == 0) {
		call_text(call, 400, "No SVG files provided");
		return;
	}
	if (n > SVG_MAX_FILES) {
		call_text(call, 400, "Too many files in single request");
		return;
	}
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(arr, i);
		json_object_object_get_ex(f, "content", &v);
		total += (size_t)json_object_get_string_len(v);
	}
	if (total > SVG_MAX_BATCH) {
		call_text(call, 400, "Total batch size too large");
		return;
	}
	if ((list = json_object_new_array()) == NULL ||
	    (res = json_object_new_object()) == NULL) {
		json_object_put(list);
		call_internal(call);
		return;
	}
	for (i = 0; i < n; i++)
		if ((o = sanitize_entry(json_object_array_get_idx(arr, i), i)) != NULL)
			json_object_array_add(list, o);
	json_object_object_add(res, "sanitized_files", list);
	call_json(call, 200, res);
}

static const struct apid_route r_svg = { AUTH_REQ, BODY_JSON, sanitize_svg, NULL, NULL };

static const struct http_route routes[] = {
	APID_ROUTE("/media/sanitize/svg", HTTP_POST, BODY_LIMIT_JSON, &r_svg),
};

const struct apid_area svg_area = { routes, sizeof(routes) / sizeof(routes[0]) };

#endif /* SVG_NO_ROUTE */
