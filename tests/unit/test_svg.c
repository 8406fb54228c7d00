/*
 * test_svg.c — the SVG sanitizer of POST /media/sanitize/svg (apid/svg.c).
 *
 * Ordinary drawings come out with their shapes, gradients, internal
 * references and text; hostile ones come out without the hostile part or
 * are refused with a reason. Every output is also checked by svg_safe()
 * (no script, handler, external reference, DTD) and must be a fixed point:
 * sanitizing it again gives the same bytes.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "apid/svg.h"

/* svg.o carries route 27, whose call layer wants the daemon's context. */
struct apid;
struct apid	*apid;

#define HEAD	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define ROOT	"<svg xmlns=\"http://www.w3.org/2000/svg\" " \
		"xmlns:xlink=\"http://www.w3.org/1999/xlink\""
#define IN_ROOT	"<svg xmlns=\"http://www.w3.org/2000/svg\" " \
		"xmlns:xlink=\"http://www.w3.org/1999/xlink\">"

/* Nothing in s may run or load anything. */
static void
svg_safe(const char *s)
{
	static const char *const bad[] = { "<script", "foreignobject",
	    "javascript", "<!doctype", "<!entity", "@import", "<animate",
	    "<set", "<iframe", "url(http", "href=\"http", "href=\"//",
	    "<?xml-stylesheet", "<!--", "expression(" };
	char	*low, *p;
	size_t	 i, n = strlen(s);

	low = malloc(n + 1);
	assert_non_null(low);
	for (i = 0; i <= n; i++)
		low[i] = (char)tolower((unsigned char)s[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (strstr(low, bad[i]) != NULL)
			fail_msg("unsafe output (%s): %s", bad[i], s);
	/* Handlers: an attribute name starting "on". */
	for (p = low; (p = strstr(p, " on")) != NULL; p++) {
		p += 3;
		while (*p >= 'a' && *p <= 'z')
			p++;
		if (*p == '=')
			fail_msg("event handler in output: %s", s);
	}
	free(low);
}

/* Sanitizes in; returns the output (caller frees) after the common checks. */
static char *
clean(const char *in)
{
	char		*out, *again;
	size_t		 len, len2;
	const char	*why = NULL;

	if (svg_sanitize(in, strlen(in), &out, &len, &why) != 0)
		fail_msg("refused (%s): %s", why, in);
	assert_int_equal(strlen(out), len);
	svg_safe(out);
	assert_int_equal(svg_sanitize(out, len, &again, &len2, &why), 0);
	assert_string_equal(again, out);
	free(again);
	return out;
}

static void
expect(const char *in, const char *want)
{
	char	*out = clean(in);

	assert_string_equal(out, want);
	free(out);
}

static void
refused(const char *in, size_t len, const char *reason)
{
	char		*out = (char *)1;
	size_t		 olen = 1;
	const char	*why = NULL;

	assert_int_equal(svg_sanitize(in, len, &out, &olen, &why), -1);
	assert_null(out);
	assert_int_equal(olen, 0);
	assert_non_null(why);
	assert_string_equal(why, reason);
}

/* ---- ordinary drawings -------------------------------------------------------- */

static void
test_plain(void **state)
{
	/* The add-on's own example (spec/client.md §7.5). */
	expect("<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"10\" "
	    "height=\"10\"/></svg>",
	    HEAD ROOT "><rect width=\"10\" height=\"10\"/></svg>");
	/* No namespace at all is taken as SVG. */
	expect("<svg viewBox=\"0 0 1 1\"><path d=\"M0 0L1 1\"/></svg>",
	    HEAD ROOT " viewBox=\"0 0 1 1\"><path d=\"M0 0L1 1\"/></svg>");
}

static void
test_gradient_refs(void **state)
{
	expect(IN_ROOT "<defs><linearGradient id=\"g\" x1=\"0\" x2=\"1\">"
	    "<stop offset=\"0\" stop-color=\"#f00\"/></linearGradient>"
	    "<path id=\"p\" d=\"M0 0h5\"/></defs>"
	    "<rect fill=\"url(#g)\" style=\"fill: url( '#g' ); stroke:red\" "
	    "width=\"4\" height=\"4\"/>"
	    "<use xlink:href=\"#p\"/><use href=\"#p\" x=\"2\"/></svg>",
	    HEAD ROOT "><defs><linearGradient id=\"g\" x1=\"0\" x2=\"1\">"
	    "<stop offset=\"0\" stop-color=\"#f00\"/></linearGradient>"
	    "<path id=\"p\" d=\"M0 0h5\"/></defs>"
	    "<rect fill=\"url(#g)\" style=\"fill: url( '#g' ); stroke:red\" "
	    "width=\"4\" height=\"4\"/>"
	    "<use xlink:href=\"#p\"/><use href=\"#p\" x=\"2\"/></svg>");
}

static void
test_text(void **state)
{
	expect(IN_ROOT "<title>A &amp; B</title>\n  <text x=\"1\" y=\"2\" "
	    "font-size=\"3\">x &lt; y<tspan dy=\"1\">&#233;</tspan></text>"
	    "<text><![CDATA[a<b]]></text></svg>",
	    HEAD ROOT "><title>A &amp; B</title><text x=\"1\" y=\"2\" "
	    "font-size=\"3\">x &lt; y<tspan dy=\"1\">\xc3\xa9</tspan></text>"
	    "<text>a&lt;b</text></svg>");
}

static void
test_inkscape(void **state)
{
	/* Editor metadata in other namespaces goes; the drawing stays. */
	expect("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
	    "<!-- Created with Inkscape -->\n"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "xmlns:inkscape=\"http://www.inkscape.org/namespaces/inkscape\" "
	    "xmlns:sodipodi=\"http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd\" "
	    "width=\"210mm\" inkscape:version=\"1.2\">"
	    "<sodipodi:namedview id=\"nv\"/>"
	    "<metadata><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/></metadata>"
	    "<g inkscape:label=\"Layer 1\" transform=\"translate(1,2)\">"
	    "<circle cx=\"1\" cy=\"1\" r=\"1\" xml:space=\"preserve\"/></g></svg>",
	    HEAD ROOT " width=\"210mm\"><g transform=\"translate(1,2)\">"
	    "<circle cx=\"1\" cy=\"1\" r=\"1\" xml:space=\"preserve\"/></g></svg>");
}

static void
test_style_kept(void **state)
{
	expect(IN_ROOT "<style>.a { fill: url(#g) } .b{stroke:blue}</style>"
	    "<rect class=\"a\"/></svg>",
	    HEAD ROOT "><style>.a { fill: url(#g) } .b{stroke:blue}</style>"
	    "<rect class=\"a\"/></svg>");
	/* Markup inside a style sheet is dropped, its text is checked. */
	expect(IN_ROOT "<style>.a{}<g><rect/></g>.b{}</style></svg>",
	    HEAD ROOT "><style>.a{}.b{}</style></svg>");
	expect(IN_ROOT "<style>@<g>x</g>import 'x';</style></svg>",
	    HEAD ROOT "/>");
}

static void
test_raster_image(void **state)
{
	expect(IN_ROOT "<image width=\"1\" href=\"data:image/png;base64,iVBORw0KGgo=\"/>"
	    "<image xlink:href=\"data:image/svg+xml;base64,PHN2Zz4=\"/>"
	    "<image href=\"http://evil.example/x.png\"/></svg>",
	    HEAD ROOT "><image width=\"1\" href=\"data:image/png;base64,iVBORw0KGgo=\"/>"
	    "<image/><image/></svg>");
}

/* ---- hostile drawings -------------------------------------------------------- */

static void
test_script(void **state)
{
	expect(IN_ROOT "<script>alert(1)</script><g><script "
	    "xlink:href=\"http://x/a.js\"/><rect/></g></svg>",
	    HEAD ROOT "><g><rect/></g></svg>");
	expect("<svg xmlns=\"http://www.w3.org/2000/svg\"><svg:script "
	    "xmlns:svg=\"http://www.w3.org/2000/svg\">alert(1)</svg:script></svg>",
	    HEAD ROOT "/>");
}

static void
test_handlers(void **state)
{
	expect("<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\">"
	    "<rect onclick=\"x()\" ONMOUSEOVER=\"y()\" width=\"1\"/></svg>",
	    HEAD ROOT "><rect width=\"1\"/></svg>");
}

static void
test_hrefs(void **state)
{
	expect(IN_ROOT "<a href=\"javascript:alert(1)\"><text>t</text></a>"
	    "<a xlink:href=\" JaVaScRiPt:alert(1)\">u</a>"
	    "<a href=\"#top\">v</a>"
	    "<use xlink:href=\"other.svg#x\"/>"
	    "<use href=\"http://evil.example/s.svg#x\"/>"
	    "<use href=\"#x onload\"/>"
	    "<feImage href=\"https://x/y\"/>"
	    "<textPath href=\"#p\">w</textPath></svg>",
	    HEAD ROOT "><a><text>t</text></a><a>u</a><a href=\"#top\">v</a>"
	    "<use/><use/><use/><feImage/><textPath href=\"#p\">w</textPath></svg>");
	/* xlink: bound to another namespace is not xlink. */
	expect("<svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "xmlns:xlink=\"urn:evil\"><use xlink:href=\"#a\"/></svg>",
	    HEAD ROOT "><use/></svg>");
}

static void
test_foreign_object(void **state)
{
	expect(IN_ROOT "<foreignObject width=\"9\"><body "
	    "xmlns=\"http://www.w3.org/1999/xhtml\"><iframe src=\"x\"/>"
	    "<img src=\"x\" onerror=\"alert(1)\"/></body></foreignObject>"
	    "<html:script xmlns:html=\"http://www.w3.org/1999/xhtml\">a()"
	    "</html:script><rect/></svg>",
	    HEAD ROOT "><rect/></svg>");
}

static void
test_animation(void **state)
{
	expect(IN_ROOT "<a><animate attributeName=\"href\" "
	    "values=\"javascript:alert(1)\"/><set attributeName=\"xlink:href\" "
	    "to=\"javascript:alert(1)\"/><animateTransform "
	    "attributeName=\"transform\"/><text>x</text></a></svg>",
	    HEAD ROOT "><a><text>x</text></a></svg>");
}

static void
test_css(void **state)
{
	expect(IN_ROOT "<rect style=\"fill:url(http://evil/x)\" "
	    "fill=\"url('https://evil/y#z')\" stroke=\"url(#ok)\"/>"
	    "<rect style=\"background:image-set('http://e/x' 1x)\"/>"
	    "<rect style=\"behavior:url(#a);x:expression(alert(1))\"/>"
	    "<rect style=\"fill:u\\72l(http://e)\"/>"
	    "<rect mask=\"url(#m) url(//evil/x)\"/>"
	    "<rect filter=\"url(#f\"/></svg>",
	    HEAD ROOT "><rect stroke=\"url(#ok)\"/><rect/><rect/><rect/>"
	    "<rect/><rect/></svg>");
	expect(IN_ROOT "<style>@import url(#a);</style>"
	    "<style>@IMPORT 'http://evil/x.css';</style>"
	    "<style><![CDATA[.a{fill:url(http://evil/)}]]></style>"
	    "<style>.a{width:expression(alert(1))}</style>"
	    "<style>@font-face{src:url(https://evil/f.woff)}</style>"
	    "<rect/></svg>",
	    HEAD ROOT "><rect/></svg>");
}

static void
test_dtd_entities(void **state)
{
	const char *lol =
	    "<?xml version=\"1.0\"?><!DOCTYPE svg [<!ENTITY a \"aaaaaaaaaa\">"
	    "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
	    "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">"
	    "<!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">"
	    "<!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">]>"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&e;</text></svg>";
	const char *xxe =
	    "<!DOCTYPE svg [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&x;</text></svg>";
	const char *ext =
	    "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
	    "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">"
	    "<svg xmlns=\"http://www.w3.org/2000/svg\"/>";
	const char *undeclared =
	    "<svg xmlns=\"http://www.w3.org/2000/svg\"><text>&x;</text></svg>";

	refused(lol, strlen(lol), "DTD and entity declarations are not allowed");
	refused(xxe, strlen(xxe), "DTD and entity declarations are not allowed");
	refused(ext, strlen(ext), "DTD and entity declarations are not allowed");
	refused(undeclared, strlen(undeclared), "not well-formed XML");
}

static void
test_malformed(void **state)
{
	refused("", 0, "not well-formed XML");
	refused("<svg>", 5, "not well-formed XML");
	refused("not xml", 7, "not well-formed XML");
	refused("<svg>\xff</svg>", 12, "not well-formed XML");
	refused("<svg>\0</svg>", 12, "NUL byte in input");
	refused("<html><script>x</script></html>", 31, "root element is not <svg>");
	refused("<x:svg xmlns:x=\"urn:other\"/>", 28, "root element is not <svg>");
	refused("<?xml-stylesheet href=\"http://e/x.css\"?><foreignObject/>",
	    56, "root element is not <svg>");
	/* A stylesheet PI before a good root is simply not written. */
	expect("<?xml-stylesheet type=\"text/css\" href=\"http://e/x.css\"?>"
	    "<svg/>", HEAD ROOT "/>");
}

static void
test_limits(void **state)
{
	char	*big, *p;
	size_t	 i, n;
	int	 depth;

	/* Deep nesting: within the limit it stays, beyond it is refused. */
	for (depth = SVG_MAX_DEPTH; depth <= SVG_MAX_DEPTH + 1; depth++) {
		big = malloc((size_t)depth * 8 + 64);
		assert_non_null(big);
		p = big + sprintf(big, "<svg>");
		for (i = 0; i < (size_t)depth; i++)
			p += sprintf(p, "<g>");
		for (i = 0; i < (size_t)depth; i++)
			p += sprintf(p, "</g>");
		sprintf(p, "</svg>");
		if (depth == SVG_MAX_DEPTH)
			free(clean(big));
		else
			refused(big, strlen(big), "elements nested too deeply");
		free(big);
	}
	/* Far deeper than libxml2's own limit. */
	n = 100000;
	big = malloc(n * 7 + 16);
	assert_non_null(big);
	p = big + sprintf(big, "<svg>");
	for (i = 0; i < n; i++)
		p += sprintf(p, "<g>");
	refused(big, strlen(big), "not well-formed XML");
	free(big);

	/* Too many nodes. */
	n = SVG_MAX_NODES + 10;
	big = malloc(n * 4 + 16);
	assert_non_null(big);
	p = big + sprintf(big, "<svg>");
	for (i = 0; i < n; i++)
		p += sprintf(p, "<g/>");
	sprintf(p, "</svg>");
	refused(big, strlen(big), "too many nodes");
	free(big);

	/* Over the size cap. */
	n = SVG_MAX_INPUT + 1;
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "<svg>", 5);
	memcpy(big + n - 6, "</svg>", 6);
	refused(big, n, "file too large");
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_gradient_refs),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_inkscape),
		cmocka_unit_test(test_style_kept),
		cmocka_unit_test(test_raster_image),
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_handlers),
		cmocka_unit_test(test_hrefs),
		cmocka_unit_test(test_foreign_object),
		cmocka_unit_test(test_animation),
		cmocka_unit_test(test_css),
		cmocka_unit_test(test_dtd_entities),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
