/*
 * form.c — form bodies and Cookie headers, read in place.
 */
#include <string.h>

#include "common/form.h"
#include "common/hex.h"

/* Percent-decodes in[0..len) into out; a length, or FORM_BAD. */
static int
form_decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t	i, n = 0;
	int	hi, lo;
	char	c;

	if (outsz == 0)
		return FORM_BAD;
	for (i = 0; i < len; i++) {
		c = in[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (len - i < 3 || (hi = hex_digit((unsigned char)in[i + 1])) < 0 ||
			    (lo = hex_digit((unsigned char)in[i + 2])) < 0)
				goto bad;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		/* Values become C strings: a NUL would cut them silently. */
		if (c == '\0' || n + 1 >= outsz)
			goto bad;
		out[n++] = c;
	}
	out[n] = '\0';
	return (int)n;
bad:
	out[0] = '\0';
	return FORM_BAD;
}

int
form_field(const char *in, size_t len, const char *name, char *out, size_t outsz)
{
	char	key[FORM_NAME_MAX + 1];
	size_t	i = 0, end, eq, nlen = strlen(name);
	int	klen;

	if (outsz > 0)
		out[0] = '\0';
	while (i < len) {
		end = i;
		while (end < len && in[end] != '&')
			end++;
		eq = i;
		while (eq < end && in[eq] != '=')
			eq++;
		klen = form_decode(in + i, eq - i, key, sizeof(key));
		if (klen >= 0 && (size_t)klen == nlen && memcmp(key, name, nlen) == 0) {
			if (eq == end) {
				if (outsz == 0)
					return FORM_BAD;
				out[0] = '\0';
				return 0;
			}
			return form_decode(in + eq + 1, end - eq - 1, out, outsz);
		}
		i = end + 1;
	}
	return FORM_ABSENT;
}

/* RFC 6265 cookie-octet. */
static int
cookie_octet(unsigned char c)
{
	return c >= 0x21 && c <= 0x7e && c != '"' && c != ',' && c != ';' && c != '\\';
}

int
form_cookie(const char *hdr, size_t len, const char *name, char *out, size_t outsz)
{
	size_t	i = 0, end, eq, vs, ve, k, nlen = strlen(name);

	if (outsz > 0)
		out[0] = '\0';
	while (i < len) {
		while (i < len && (hdr[i] == ' ' || hdr[i] == '\t'))
			i++;
		end = i;
		while (end < len && hdr[end] != ';')
			end++;
		eq = i;
		while (eq < end && hdr[eq] != '=')
			eq++;
		/* The name, without blanks before '='. */
		k = eq;
		while (k > i && (hdr[k - 1] == ' ' || hdr[k - 1] == '\t'))
			k--;
		if (eq < end && k - i == nlen && memcmp(hdr + i, name, nlen) == 0) {
			vs = eq + 1;
			ve = end;
			while (vs < ve && (hdr[vs] == ' ' || hdr[vs] == '\t'))
				vs++;
			while (ve > vs && (hdr[ve - 1] == ' ' || hdr[ve - 1] == '\t'))
				ve--;
			/* A quoted value: DQUOTE *cookie-octet DQUOTE. */
			if (ve > vs + 1 && hdr[vs] == '"' && hdr[ve - 1] == '"') {
				vs++;
				ve--;
			}
			if (ve - vs + 1 > outsz)
				return FORM_BAD;
			for (k = vs; k < ve; k++)
				if (!cookie_octet((unsigned char)hdr[k]))
					return FORM_BAD;
			memcpy(out, hdr + vs, ve - vs);
			out[ve - vs] = '\0';
			return (int)(ve - vs);
		}
		i = end + 1;
	}
	return FORM_ABSENT;
}
