/*
 * fuzz_mediatoken.c — libFuzzer target for the §8 token verifier.
 *
 * The first byte picks the kind wanted and a mode: either the rest is a
 * token as a client would present it (the MAC check stands in front of
 * everything), or the rest is a payload that the harness signs first, so
 * that the JSON and claim checks behind the MAC get fuzzed too. Whatever
 * verifies must obey its kind's rules and survive minting again; whatever
 * B64URL decodes must encode back to the same text.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/mediatoken.h"

#define SECRET		"0123456789abcdef0123456789abcdef"
#define SECRETLEN	(sizeof(SECRET) - 1)
#define NOW		1750000000

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Not assert(): it must hold in every build. */
static void
fuzz_check(int ok)
{
	if (!ok)
		abort();
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* The promises of a verified token. */
static void
fuzz_claims(const struct mediatoken_claims *c, enum mediatoken_kind want)
{
	struct mediatoken_claims	 again;
	char				 tok[MEDIATOKEN_MAX + 1];
	int				 n;

	fuzz_check(c->kind == want && c->exp >= NOW);
	fuzz_check(terminated(c->deck_hash, sizeof(c->deck_hash)));
	fuzz_check(terminated(c->hash, sizeof(c->hash)));
	fuzz_check(terminated(c->filename, sizeof(c->filename)));
	fuzz_check(terminated(c->batch_id, sizeof(c->batch_id)));
	fuzz_check(terminated(c->s3_key, sizeof(c->s3_key)));
	fuzz_check(terminated(c->content_type, sizeof(c->content_type)));
	if (want == MEDIATOKEN_UPLOAD)
		fuzz_check(c->has_filename);
	/* Minted again, it verifies to the same claims (if it fits a token). */
	n = mediatoken_mint(c, SECRET, SECRETLEN, tok, sizeof(tok));
	if (n == -1)
		return;
	fuzz_check(mediatoken_verify(tok, (size_t)n, SECRET, SECRETLEN, want, NOW, &again,
	    NULL) == MEDIATOKEN_OK);
	fuzz_check(memcmp(c, &again, sizeof(again)) == 0);
}

static void
fuzz_b64(const char *s, size_t len)
{
	static uint8_t	 raw[MEDIATOKEN_MAX];
	static char	 back[MEDIATOKEN_MAX * 2];
	int		 n;

	if (len > MEDIATOKEN_MAX)
		return;
	if ((n = mediatoken_b64url_dec(s, len, raw, sizeof(raw))) == -1)
		return;
	fuzz_check(mediatoken_b64url_enc(raw, (size_t)n, back) == len);
	fuzz_check(memcmp(back, s, len) == 0);
}

/* B64URL(payload) "." B64URL(HMAC), as an honest minter would. */
static size_t
sign(const uint8_t *payload, size_t len, char *out)
{
	uint8_t		 mac[32];
	unsigned int	 maclen = 0;
	size_t		 n;

	fuzz_check(HMAC(EVP_sha256(), SECRET, (int)SECRETLEN, payload, len, mac,
	    &maclen) != NULL);
	n = mediatoken_b64url_enc(payload, len, out);
	out[n++] = '.';
	return n + mediatoken_b64url_enc(mac, sizeof(mac), out + n);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mediatoken_claims	 c;
	static char			 tok[MEDIATOKEN_MAX * 2];
	enum mediatoken_kind		 want;
	enum mediatoken_err		 err;
	uint8_t				 mac[MEDIATOKEN_MAC_LEN];
	const char			*t;
	size_t				 tlen;

	if (size < 1)
		return 0;
	want = (enum mediatoken_kind)((data[0] & 0x7f) % 3 + 1);
	data++;
	size--;
	if (data[-1] & 0x80) {
		if (size > MEDIATOKEN_MAX)
			return 0;
		tlen = sign(data, size, tok);
		t = tok;
	} else {
		t = (const char *)data;
		tlen = size;
		fuzz_b64(t, tlen);
	}
	err = mediatoken_verify(t, tlen, SECRET, SECRETLEN, want, NOW, &c, mac);
	fuzz_check(mediatoken_strerror(err) != NULL);
	if (err == MEDIATOKEN_OK)
		fuzz_claims(&c, want);
	else
		fuzz_check(err != MEDIATOKEN_EMAC || !(data[-1] & 0x80) || tlen > MEDIATOKEN_MAX);
	return 0;
}
