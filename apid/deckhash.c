/*
 * deckhash.c — deck-hash generation and validation (spec/api.md §2.7, §4).
 */
#include <string.h>

#include <openssl/rand.h>

#include "apid/deckhash.h"
#include "common/hex.h"

/* spec/api.md Appendix A: index = XOR-folded byte. Copied exactly. */
static const char *const deckhash_words[256] = {
	/*   0 */
	"ack", "alabama", "alanine", "alaska", "alpha", "angel", "apart",
	"april", "arizona", "arkansas", "artist", "asparagus", "aspen",
	"august", "autumn", "avocado",
	/*  16 */
	"bacon", "bakerloo", "batman", "beer", "berlin", "beryllium",
	"black", "blossom", "blue", "bluebird", "bravo", "bulldog", "burger",
	"butter", "california", "carbon",
	/*  32 */
	"cardinal", "carolina", "carpet", "cat", "ceiling", "charlie",
	"chicken", "coffee", "cola", "cold", "colorado", "comet",
	"connecticut", "crazy", "cup", "dakota",
	/*  48 */
	"december", "delaware", "delta", "diet", "uwu", "double", "early",
	"earth", "east", "echo", "edward", "eight", "eighteen", "eleven",
	"emma", "enemy",
	/*  64 */
	"equal", "failed", "fanta", "fifteen", "fillet", "finch", "fish",
	"five", "fix", "floor", "florida", "football", "four", "fourteen",
	"foxtrot", "freddie",
	/*  80 */
	"friend", "fruit", "gee", "georgia", "glucose", "golf", "green",
	"grey", "hamper", "happy", "harry", "hawaii", "helium", "high",
	"hot", "hotel",
	/*  96 */
	"hydrogen", "idaho", "illinois", "india", "indigo", "ink", "iowa",
	"island", "item", "jersey", "jig", "johnny", "juliet", "july",
	"jupiter", "kansas",
	/* 112 */
	"kentucky", "kilo", "king", "kitten", "lactose", "lake", "lamp",
	"lemon", "leopard", "lima", "lion", "lithium", "london", "louisiana",
	"low", "magazine",
	/* 128 */
	"magnesium", "maine", "mango", "march", "mars", "maryland",
	"massachusetts", "may", "mexico", "michigan", "mike", "minnesota",
	"mirror", "mississippi", "missouri", "mobile",
	/* 144 */
	"mockingbird", "monkey", "montana", "moon", "mountain", "muppet",
	"music", "nebraska", "neptune", "network", "nevada", "nine",
	"nineteen", "nitrogen", "north", "november",
	/* 160 */
	"nuts", "october", "ohio", "oklahoma", "one", "orange", "oranges",
	"oregon", "oscar", "oven", "oxygen", "papa", "paris", "pasta",
	"pennsylvania", "pip",
	/* 176 */
	"pizza", "pluto", "potato", "princess", "purple", "quebec", "queen",
	"quiet", "red", "river", "robert", "robin", "romeo", "rugby", "sad",
	"salami",
	/* 192 */
	"saturn", "september", "seven", "seventeen", "shade", "sierra",
	"single", "sink", "six", "sixteen", "skylark", "snake", "social",
	"sodium", "solar", "south",
	/* 208 */
	"spaghetti", "speaker", "spring", "stairway", "steak", "stream",
	"summer", "sweet", "table", "tango", "ten", "tennessee", "tennis",
	"texas", "thirteen", "three",
	/* 224 */
	"timing", "triple", "twelve", "twenty", "two", "uncle", "undress",
	"uniform", "uranus", "utah", "vegan", "venus", "vermont", "victor",
	"video", "violet",
	/* 240 */
	"virginia", "washington", "west", "whiskey", "white", "william",
	"winner", "winter", "wisconsin", "wolfram", "wyoming", "xray",
	"yankee", "yellow", "zebra", "zulu",
};


const char *
deckhash_word(unsigned int idx)
{
	return idx < 256 ? deckhash_words[idx] : NULL;
}

int
deckhash_humanize(const uint8_t uuid[16], unsigned int words_out, char *buf,
    size_t bufsz)
{
	unsigned int	 seg, i, j;
	size_t		 len = 0, wl;
	uint8_t		 x;
	const char	*w;

	/* Upstream divides by words_out and chunks by the quotient. */
	if (words_out == 0 || words_out > 16 || bufsz == 0)
		return -1;
	seg = 16 / words_out;
	for (i = 0; i < 16; i += seg) {
		x = 0;
		for (j = i; j < i + seg && j < 16; j++)
			x ^= uuid[j];
		w = deckhash_words[x];
		wl = strlen(w);
		if (len + (i > 0) + wl >= bufsz)
			return -1;
		if (i > 0)
			buf[len++] = '-';
		memcpy(buf + len, w, wl);
		len += wl;
	}
	buf[len] = '\0';
	return (int)len;
}

int
deckhash_from_uuid(const uint8_t uuid[16], char *buf, size_t bufsz)
{
	return deckhash_humanize(uuid, DECKHASH_WORDS, buf, bufsz);
}


int
deckhash_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n = 0;
	int			 hi, lo, hyphens;

	if (len == 38 && p[0] == '{' && p[37] == '}') {
		p += 1;
		len = 36;
	} else if (len == 45 && memcmp(p, "urn:uuid:", 9) == 0) {
		p += 9;
		len = 36;
	}
	if (len == 32)
		hyphens = 0;
	else if (len == 36)
		hyphens = 1;
	else
		return -1;
	for (i = 0; i < len; i += 2) {
		/* Hyphens only and always at 8, 13, 18 and 23. */
		if (hyphens && (i == 8 || i == 13 || i == 18 || i == 23)) {
			if (p[i] != '-')
				return -1;
			i++;
		}
		hi = hex_digit(p[i]);
		lo = hex_digit(p[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[n++] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int
deckhash_uuid_random(uint8_t out[16])
{
	if (RAND_bytes(out, 16) != 1)
		return -1;
	out[6] = (out[6] & 0x0f) | 0x40;	/* version 4 */
	out[8] = (out[8] & 0x3f) | 0x80;	/* RFC 4122 variant */
	return 0;
}

void
deckhash_uuid_format(const uint8_t uuid[16], char out[DECKHASH_UUID_STRLEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i, n = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[n++] = '-';
		out[n++] = hex[uuid[i] >> 4];
		out[n++] = hex[uuid[i] & 0x0f];
	}
	out[n] = '\0';
}

bool
deckhash_valid(const char *s, size_t len)
{
	size_t	i, part = 0, parts = 1;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '-') {
			if (part == 0)
				return false;
			parts++;
			part = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			part++;
		else
			return false;
	}
	if (part == 0)
		return false;
	return parts == 3 || parts == 5 || parts == 6;
}
