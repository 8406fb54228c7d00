/*
 * test_mediatoken.c — §8 signed tokens: the spec's test vectors bit for bit,
 * B64URL's strictness, and every reason a token is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/mediatoken.h"

#define SECRET		"0123456789abcdef0123456789abcdef"
#define SECRETLEN	(sizeof(SECRET) - 1)
#define DECK		"white-berlin-nineteen-white-lima-hot"
#define EXP		1750000000

static const char download_payload[] =
    "{\"version\":1,\"payload\":{\"kind\":\"download\",\"hash\":\"9e107d9d372bb6826bd81d3542a419d6\","
    "\"user_id\":42,\"deck_hash\":\"" DECK "\",\"filename\":\"heart.png\",\"exp\":1750000000}}";
static const char download_token[] =
    "eyJ2ZXJzaW9uIjoxLCJwYXlsb2FkIjp7ImtpbmQiOiJkb3dubG9hZCIsImhhc2giOiI5ZTEwN2Q5ZDM3MmJiNjgyNmJkODFk"
    "MzU0MmE0MTlkNiIsInVzZXJfaWQiOjQyLCJkZWNrX2hhc2giOiJ3aGl0ZS1iZXJsaW4tbmluZXRlZW4td2hpdGUtbGltYS1o"
    "b3QiLCJmaWxlbmFtZSI6ImhlYXJ0LnBuZyIsImV4cCI6MTc1MDAwMDAwMH19.p_v3U5O5VoJr_ylHzY7RxsB7DZRBMJhJkK_lC-FwzfI";

static const char upload_payload[] =
    "{\"version\":1,\"payload\":{\"kind\":\"upload\",\"hash\":\"e4d909c290d0fb1ca068ffaddf22cbd0\","
    "\"user_id\":42,\"note_id\":9912345,\"filename\":\"murmur.mp3\",\"file_size\":812004,"
    "\"deck_hash\":\"" DECK "\",\"batch_id\":\"c5b1a3a0-0d55-4c2f-9f0e-2b8c5f3f8f4e\","
    "\"exp\":1750000000}}";
static const char upload_sig[] = "02Dg62JkDChJCtOTuDT-sGrwubORvtxjdi7XcudIwYA";

static const char cache_payload[] =
    "{\"version\":1,\"claims\":{\"deck_hash\":\"" DECK "\",\"s3_key\":\"decks/" DECK
    "/manifest/20250610T000000Z.json\",\"content_type\":\"application/json\",\"exp\":1750000000}}";
static const char cache_sig[] = "21okV2Dz5KOoZ5_-9WTaZQl3F3BO9_U13i9Y4xLc-f0";

/* Signs any bytes at all, for payloads the minting code would never write. */
static void
sign_raw(const char *payload, size_t len, char *out)
{
	uint8_t		 mac[32];
	unsigned int	 maclen = 0;
	size_t		 n;

	assert_non_null(HMAC(EVP_sha256(), SECRET, (int)SECRETLEN, (const uint8_t *)payload,
	    len, mac, &maclen));
	n = mediatoken_b64url_enc((const uint8_t *)payload, len, out);
	out[n++] = '.';
	mediatoken_b64url_enc(mac, sizeof(mac), out + n);
}

static enum mediatoken_err
verify(const char *tok, enum mediatoken_kind want, time_t now, struct mediatoken_claims *c)
{
	return mediatoken_verify(tok, strlen(tok), SECRET, SECRETLEN, want, now, c, NULL);
}

static enum mediatoken_err
verify_raw(const char *payload, enum mediatoken_kind want)
{
	struct mediatoken_claims	 c;
	char				 tok[MEDIATOKEN_MAX * 2];

	sign_raw(payload, strlen(payload), tok);
	return verify(tok, want, EXP - 10, &c);
}

static void
fill_download(struct mediatoken_claims *c)
{
	mediatoken_claims_init(c, MEDIATOKEN_DOWNLOAD);
	strcpy(c->hash, "9e107d9d372bb6826bd81d3542a419d6");
	c->user_id = 42;
	strcpy(c->deck_hash, DECK);
	strcpy(c->filename, "heart.png");
	c->has_filename = 1;
	c->exp = EXP;
}

static void
fill_upload(struct mediatoken_claims *c)
{
	mediatoken_claims_init(c, MEDIATOKEN_UPLOAD);
	strcpy(c->hash, "e4d909c290d0fb1ca068ffaddf22cbd0");
	c->user_id = 42;
	c->note_id = 9912345;
	strcpy(c->filename, "murmur.mp3");
	c->file_size = 812004;
	strcpy(c->deck_hash, DECK);
	strcpy(c->batch_id, "c5b1a3a0-0d55-4c2f-9f0e-2b8c5f3f8f4e");
	c->has_batch_id = 1;
	c->exp = EXP;
}

static void
fill_cache(struct mediatoken_claims *c)
{
	mediatoken_claims_init(c, MEDIATOKEN_CACHE);
	strcpy(c->deck_hash, DECK);
	strcpy(c->s3_key, "decks/" DECK "/manifest/20250610T000000Z.json");
	strcpy(c->content_type, "application/json");
	c->has_content_type = 1;
	c->exp = EXP;
}

/* The signature part of a minted token. */
static const char *
sig_of(const char *tok)
{
	const char	*dot = strchr(tok, '.');

	assert_non_null(dot);
	return dot + 1;
}

/* ---- the §8 vectors ------------------------------------------------------- */

static void
test_vector_download(void **state)
{
	struct mediatoken_claims	 c, got;
	char				 payload[1024], tok[MEDIATOKEN_MAX + 1];
	uint8_t				 mac[MEDIATOKEN_MAC_LEN];
	int				 n;

	(void)state;
	fill_download(&c);
	n = mediatoken_payload(&c, payload, sizeof(payload));
	assert_int_equal(n, strlen(download_payload));
	assert_string_equal(payload, download_payload);
	n = mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok));
	assert_int_equal(n, strlen(download_token));
	assert_string_equal(tok, download_token);

	/* Valid up to and including exp. */
	assert_int_equal(mediatoken_verify(download_token, strlen(download_token), SECRET,
	    SECRETLEN, MEDIATOKEN_DOWNLOAD, EXP, &got, mac), MEDIATOKEN_OK);
	assert_int_equal(got.kind, MEDIATOKEN_DOWNLOAD);
	assert_string_equal(got.hash, "9e107d9d372bb6826bd81d3542a419d6");
	assert_int_equal(got.user_id, 42);
	assert_string_equal(got.deck_hash, DECK);
	assert_int_equal(got.has_filename, 1);
	assert_string_equal(got.filename, "heart.png");
	assert_int_equal(got.exp, EXP);
	assert_int_equal(mediatoken_b64url_dec(sig_of(download_token), 43, (uint8_t[32]){ 0 },
	    32), 32);
	assert_int_equal(verify(download_token, MEDIATOKEN_DOWNLOAD, EXP + 1, &got),
	    MEDIATOKEN_EEXPIRED);
	/* A download token is no upload token, nor a cache token. */
	assert_int_equal(verify(download_token, MEDIATOKEN_UPLOAD, EXP, &got), MEDIATOKEN_EKIND);
	assert_int_equal(verify(download_token, MEDIATOKEN_CACHE, EXP, &got), MEDIATOKEN_EJSON);
}

static void
test_vector_upload(void **state)
{
	struct mediatoken_claims	 c, got;
	char				 payload[1024], tok[MEDIATOKEN_MAX + 1];

	(void)state;
	fill_upload(&c);
	assert_int_equal(mediatoken_payload(&c, payload, sizeof(payload)),
	    strlen(upload_payload));
	assert_string_equal(payload, upload_payload);
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_string_equal(sig_of(tok), upload_sig);

	assert_int_equal(verify(tok, MEDIATOKEN_UPLOAD, EXP - 1, &got), MEDIATOKEN_OK);
	assert_string_equal(got.hash, c.hash);
	assert_int_equal(got.note_id, 9912345);
	assert_string_equal(got.filename, "murmur.mp3");
	assert_int_equal(got.file_size, 812004);
	assert_int_equal(got.has_batch_id, 1);
	assert_string_equal(got.batch_id, c.batch_id);
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP - 1, &got), MEDIATOKEN_EKIND);

	/* batch_id null, note_id -1. */
	c.has_batch_id = 0;
	c.note_id = -1;
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_int_equal(verify(tok, MEDIATOKEN_UPLOAD, EXP - 1, &got), MEDIATOKEN_OK);
	assert_int_equal(got.has_batch_id, 0);
	assert_int_equal(got.note_id, -1);
	mediatoken_payload(&c, payload, sizeof(payload));
	assert_non_null(strstr(payload, "\"batch_id\":null,\"exp\""));
}

static void
test_vector_cache(void **state)
{
	struct mediatoken_claims	 c, got;
	char				 payload[1024], tok[MEDIATOKEN_MAX + 1];

	(void)state;
	fill_cache(&c);
	assert_int_equal(mediatoken_payload(&c, payload, sizeof(payload)),
	    strlen(cache_payload));
	assert_string_equal(payload, cache_payload);
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_string_equal(sig_of(tok), cache_sig);
	assert_int_equal(verify(tok, MEDIATOKEN_CACHE, EXP, &got), MEDIATOKEN_OK);
	assert_string_equal(got.s3_key, c.s3_key);
	assert_int_equal(got.has_content_type, 1);
	assert_string_equal(got.content_type, "application/json");
	assert_int_equal(verify(tok, MEDIATOKEN_CACHE, EXP + 1, &got), MEDIATOKEN_EEXPIRED);
	/* No "payload" envelope: no media token. */
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &got), MEDIATOKEN_EJSON);

	c.has_content_type = 0;
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_int_equal(verify(tok, MEDIATOKEN_CACHE, EXP, &got), MEDIATOKEN_OK);
	assert_int_equal(got.has_content_type, 0);
}

/* ---- B64URL ------------------------------------------------------------------ */

static void
test_b64url(void **state)
{
	static const struct {
		const char	*raw, *enc;
	} v[] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
		{ "\xfb\xff\xbf", "-_-_" },
	};
	uint8_t	 out[16];
	char	 enc[32];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(mediatoken_b64url_enc((const uint8_t *)v[i].raw,
		    strlen(v[i].raw), enc), strlen(v[i].enc));
		assert_string_equal(enc, v[i].enc);
		assert_int_equal(mediatoken_b64url_dec(v[i].enc, strlen(v[i].enc), out,
		    sizeof(out)), strlen(v[i].raw));
		assert_memory_equal(out, v[i].raw, strlen(v[i].raw));
	}
	/* Padding, the standard alphabet, a lone character, unused bits set. */
	assert_int_equal(mediatoken_b64url_dec("Zg==", 4, out, sizeof(out)), -1);
	assert_int_equal(mediatoken_b64url_dec("Zm8=", 4, out, sizeof(out)), -1);
	assert_int_equal(mediatoken_b64url_dec("+/+/", 4, out, sizeof(out)), -1);
	assert_int_equal(mediatoken_b64url_dec("Zm9vY", 5, out, sizeof(out)), -1);
	assert_int_equal(mediatoken_b64url_dec("Zh", 2, out, sizeof(out)), -1);
	assert_int_equal(mediatoken_b64url_dec("Zm9", 3, out, sizeof(out)), -1);
	assert_int_equal(mediatoken_b64url_dec("Zm 9v", 5, out, sizeof(out)), -1);
	/* Output bound. */
	assert_int_equal(mediatoken_b64url_dec("Zm9vYmFy", 8, out, 5), -1);
	assert_int_equal(mediatoken_b64url_dec("Zm9vYmFy", 8, out, 6), 6);
}

/* ---- refusals ------------------------------------------------------------------ */

static void
test_tampered(void **state)
{
	struct mediatoken_claims	 c;
	char				 tok[sizeof(download_token) + 8];
	size_t				 i, len = strlen(download_token);

	(void)state;
	/* Any single changed character is refused (never accepted as valid). */
	for (i = 0; i < len; i++) {
		strcpy(tok, download_token);
		tok[i] = tok[i] == 'A' ? 'B' : 'A';
		assert_int_not_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_OK);
	}
	/* A wrong secret. */
	assert_int_equal(mediatoken_verify(download_token, len, "x" SECRET, SECRETLEN + 1,
	    MEDIATOKEN_DOWNLOAD, EXP, &c, NULL), MEDIATOKEN_EMAC);
	/* Shape: no dot, two dots, empty parts, padding, cut short, a suffix. */
	assert_int_equal(verify("abc", MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_EFORMAT);
	assert_int_equal(verify("", MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_EFORMAT);
	assert_int_equal(verify(".", MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_EFORMAT);
	snprintf(tok, sizeof(tok), "%s.", download_token);
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_EFORMAT);
	snprintf(tok, sizeof(tok), "%s=", download_token);
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_EFORMAT);
	assert_int_equal(mediatoken_verify(download_token, len - 1, SECRET, SECRETLEN,
	    MEDIATOKEN_DOWNLOAD, EXP, &c, NULL), MEDIATOKEN_EFORMAT);
	strcpy(tok, download_token);
	tok[strchr(tok, '.') - tok] = '\0';
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &c), MEDIATOKEN_EFORMAT);
	assert_int_equal(verify(strchr(download_token, '.'), MEDIATOKEN_DOWNLOAD, EXP, &c),
	    MEDIATOKEN_EFORMAT);
}

static void
test_claims_shape(void **state)
{
	(void)state;
	/* Unknown keys are ignored, anywhere. */
	assert_int_equal(verify_raw("{\"x\":[1,{}],\"version\":1,\"payload\":{\"kind\":"
	    "\"download\",\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"filename\":null,"
	    "\"exp\":1750000000,\"zzz\":\"?\"}}", MEDIATOKEN_DOWNLOAD), MEDIATOKEN_OK);
	/* A download token's filename may be absent. */
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_OK);
	/* But an upload's may not, nor be null. */
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"upload\","
	    "\"hash\":\"h\",\"user_id\":1,\"note_id\":1,\"filename\":null,\"file_size\":3,"
	    "\"deck_hash\":\"d\",\"batch_id\":null,\"exp\":1750000000}}", MEDIATOKEN_UPLOAD),
	    MEDIATOKEN_EJSON);
	/* Version. */
	assert_int_equal(verify_raw("{\"version\":2,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EVERSION);
	assert_int_equal(verify_raw("{\"version\":\"1\",\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EVERSION);
	/* Types: a float, a string, an int32 overflow, an unknown kind, no exp. */
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1.0,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":\"1\",\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":2147483648,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"Download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\"}}", MEDIATOKEN_DOWNLOAD),
	    MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":99999999999999999999}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	/* Not JSON, trailing bytes, a NUL inside a string, an array. */
	assert_int_equal(verify_raw("hello", MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}}x",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\\u0000x\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}}",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	assert_int_equal(verify_raw("[1]", MEDIATOKEN_DOWNLOAD), MEDIATOKEN_EJSON);
	/* Trailing whitespace is fine, as serde_json allows it. */
	assert_int_equal(verify_raw("{\"version\":1,\"payload\":{\"kind\":\"download\","
	    "\"hash\":\"h\",\"user_id\":1,\"deck_hash\":\"d\",\"exp\":1750000000}} \n",
	    MEDIATOKEN_DOWNLOAD), MEDIATOKEN_OK);
}

/* Strings with every escape survive minting and verifying unchanged. */
static void
test_escapes(void **state)
{
	struct mediatoken_claims	 c, got;
	char				 payload[2048], tok[MEDIATOKEN_MAX + 1];

	(void)state;
	fill_download(&c);
	strcpy(c.filename, "a\"b\\c/d\x01\x1f\b\f\n\r\t\x7f \xc3\xa9\xe2\x9c\x93.png");
	assert_true(mediatoken_payload(&c, payload, sizeof(payload)) > 0);
	assert_non_null(strstr(payload, "\"filename\":\"a\\\"b\\\\c/d\\u0001\\u001f\\b\\f\\n\\r\\t\x7f "
	    "\xc3\xa9\xe2\x9c\x93.png\""));
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &got), MEDIATOKEN_OK);
	assert_string_equal(got.filename, c.filename);
	/* A null filename. */
	c.has_filename = 0;
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_int_equal(verify(tok, MEDIATOKEN_DOWNLOAD, EXP, &got), MEDIATOKEN_OK);
	assert_int_equal(got.has_filename, 0);
}

/* Bounds: the output buffer, the longest strings, a claim too long for its field. */
static void
test_bounds(void **state)
{
	struct mediatoken_claims	 c, got;
	char				 tok[MEDIATOKEN_MAX + 1], small[64], payload[2048];
	char				*big;
	int				 n;

	(void)state;
	fill_cache(&c);
	assert_int_equal(mediatoken_mint(&c, SECRET, SECRETLEN, small, sizeof(small)), -1);
	n = mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok));
	assert_true(n > 0);
	assert_int_equal(mediatoken_mint(&c, SECRET, SECRETLEN, tok, (size_t)n), -1);
	assert_int_equal(mediatoken_mint(&c, SECRET, SECRETLEN, tok, (size_t)n + 1), n);
	assert_int_equal(mediatoken_payload(&c, payload, 10), -1);

	memset(c.s3_key, 'k', sizeof(c.s3_key) - 1);
	c.s3_key[sizeof(c.s3_key) - 1] = '\0';
	assert_true(mediatoken_mint(&c, SECRET, SECRETLEN, tok, sizeof(tok)) > 0);
	assert_int_equal(verify(tok, MEDIATOKEN_CACHE, EXP, &got), MEDIATOKEN_OK);
	assert_string_equal(got.s3_key, c.s3_key);

	/* One byte more than the field holds: signed, but refused. */
	big = malloc(MEDIATOKEN_KEY_MAX + 200);
	assert_non_null(big);
	n = snprintf(big, MEDIATOKEN_KEY_MAX + 200, "{\"version\":1,\"claims\":{\"deck_hash\":"
	    "\"d\",\"s3_key\":\"%0*d\",\"content_type\":null,\"exp\":1750000000}}",
	    MEDIATOKEN_KEY_MAX, 0);
	assert_int_equal(verify_raw(big, MEDIATOKEN_CACHE), MEDIATOKEN_EJSON);
	free(big);

	/* Longer than MEDIATOKEN_MAX: refused before any decoding. */
	big = malloc(MEDIATOKEN_MAX + 2);
	assert_non_null(big);
	memset(big, 'A', MEDIATOKEN_MAX + 1);
	big[MEDIATOKEN_MAX - 44] = '.';
	big[MEDIATOKEN_MAX + 1] = '\0';
	assert_int_equal(verify(big, MEDIATOKEN_CACHE, EXP, &got), MEDIATOKEN_EFORMAT);
	free(big);
	assert_string_equal(mediatoken_strerror(MEDIATOKEN_EEXPIRED), "expired");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vector_download),
		cmocka_unit_test(test_vector_upload),
		cmocka_unit_test(test_vector_cache),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_claims_shape),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
