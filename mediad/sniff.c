/*
 * sniff.c — is an upload really media? (spec/api.md §7.5, checked at PUT)
 *
 * Upstream's confirmation job keeps a file only if its bytes are an image or
 * audio type known by magic numbers, RIFF, WebP, Ogg, MP3 (an ID3 tag, or an
 * MPEG audio frame header within the first 512 bytes), or else text or
 * unknown data whose first 8 KiB contain "<svg" (case-insensitively). We
 * check the same at upload time, so a bad file is refused with a 400 and
 * never stored, in this order:
 *
 *  1. a media signature at offset 0 → media;
 *  2. a known non-media signature (executables, archives, documents) →
 *     refused, even if "<svg" appears later on: a binary named .png is
 *     what this check is for;
 *  3. an MPEG audio frame within 512 bytes → media. It comes after 2
 *     because a frame header is only 4 plausible bytes, which an
 *     executable's header may hold by chance;
 *  4. "<svg" within the first 8 KiB → media (an SVG, XML or not);
 *  5. anything else → refused.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mediad/mediad.h"

#define SNIFF_MP3_SCAN	512

struct magic {
	size_t		 off;
	size_t		 len;
	const char	*bytes;
};

/* Images and audio: what upstream's type detection files as image or audio. */
static const struct magic media_magic[] = {
	{ 0, 3, "\xff\xd8\xff" },			/* JPEG */
	{ 0, 8, "\x89PNG\r\n\x1a\n" },			/* PNG */
	{ 0, 6, "GIF87a" }, { 0, 6, "GIF89a" },
	{ 0, 4, "RIFF" },				/* WebP, WAV, AVI's kin */
	{ 0, 2, "BM" },					/* BMP */
	{ 0, 4, "II*\0" }, { 0, 4, "MM\0*" },		/* TIFF (and raw camera kin) */
	{ 0, 4, "\0\0\1\0" },				/* ICO */
	{ 0, 4, "8BPS" },				/* PSD */
	{ 0, 2, "\xff\x0a" },				/* JPEG XL codestream */
	{ 0, 12, "\0\0\0\x0cJXL \r\n\x87\n" },		/* JPEG XL container */
	{ 0, 12, "\0\0\0\x0cjP  \r\n\x87\n" },		/* JPEG 2000 */
	{ 0, 3, "ID3" },				/* MP3 with an ID3v2 tag */
	{ 0, 4, "OggS" },
	{ 0, 4, "fLaC" },
	{ 0, 4, "MThd" },				/* MIDI */
	{ 0, 5, "#!AMR" },
	{ 0, 4, "DSD " },
	{ 0, 4, "MAC " },				/* Monkey's Audio */
	{ 0, 4, "FORM" },				/* AIFF */
};

/* ISO base media ("....ftyp" + brand) that are images or audio. */
static const char *const ftyp_media[] = {
	"heic", "heix", "hevc", "hevx", "mif1", "msf1", "avif", "avis", "M4A ", "M4B ",
	"M4P ", "F4A ", "F4B ",
};

/* Things that are surely not media. */
static const struct magic other_magic[] = {
	{ 0, 4, "\x7f" "ELF" },
	{ 0, 2, "MZ" },					/* DOS/Windows executables */
	{ 0, 4, "\xfe\xed\xfa\xce" }, { 0, 4, "\xfe\xed\xfa\xcf" },	/* Mach-O */
	{ 0, 4, "\xce\xfa\xed\xfe" }, { 0, 4, "\xcf\xfa\xed\xfe" },
	{ 0, 4, "\xca\xfe\xba\xbe" },			/* Mach-O fat, Java class */
	{ 0, 4, "\0asm" },				/* WebAssembly */
	{ 0, 4, "dex\n" },				/* Android */
	{ 0, 2, "#!" },					/* scripts */
	{ 0, 4, "PK\3\4" }, { 0, 4, "PK\5\6" }, { 0, 4, "PK\7\10" },	/* ZIP, JAR, APK, docx */
	{ 0, 4, "Rar!" },
	{ 0, 6, "7z\xbc\xaf\x27\x1c" },
	{ 0, 2, "\x1f\x8b" },				/* gzip */
	{ 0, 3, "BZh" },
	{ 0, 6, "\xfd" "7zXZ\0" },
	{ 0, 4, "\x28\xb5\x2f\xfd" },			/* zstd */
	{ 257, 5, "ustar" },				/* tar */
	{ 0, 5, "%PDF-" },
	{ 0, 8, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" },	/* MS Office, MSI */
	{ 0, 4, "\x53\x51\x4c\x69" },			/* SQLite */
};

static int
magic_in(const struct magic *m, size_t n, const uint8_t *head, size_t len)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (len >= m[i].off + m[i].len &&
		    memcmp(head + m[i].off, m[i].bytes, m[i].len) == 0)
			return 1;
	return 0;
}

static int
is_ftyp_media(const uint8_t *head, size_t len)
{
	size_t	 i;

	if (len < 12 || memcmp(head + 4, "ftyp", 4) != 0)
		return 0;
	for (i = 0; i < sizeof(ftyp_media) / sizeof(ftyp_media[0]); i++)
		if (memcmp(head + 8, ftyp_media[i], 4) == 0)
			return 1;
	return 0;
}

/*
 * An MPEG audio frame header: 11 sync bits, then a version, layer, bitrate
 * and sample rate that are not reserved or "bad".
 */
static int
is_mpeg_frame(const uint8_t *p)
{
	if (p[0] != 0xff || (p[1] & 0xe0) != 0xe0)
		return 0;
	return ((p[1] >> 3) & 3) != 1 && ((p[1] >> 1) & 3) != 0 &&
	    (p[2] >> 4) != 15 && ((p[2] >> 2) & 3) != 3;
}

static int
has_mpeg_frame(const uint8_t *head, size_t len)
{
	size_t	 i, end = len < SNIFF_MP3_SCAN ? len : SNIFF_MP3_SCAN;

	for (i = 0; i + 4 <= end; i++)
		if (is_mpeg_frame(head + i))
			return 1;
	return 0;
}

static int
has_svg_tag(const uint8_t *head, size_t len)
{
	size_t	 i;

	if (len > SNIFF_HEAD)
		len = SNIFF_HEAD;
	for (i = 0; i + 4 <= len; i++)
		if (head[i] == '<' && strncasecmp((const char *)head + i + 1, "svg", 3) == 0)
			return 1;
	return 0;
}

const char *
sniff_media(const uint8_t *head, size_t len)
{
	if (magic_in(media_magic, sizeof(media_magic) / sizeof(media_magic[0]), head, len) ||
	    is_ftyp_media(head, len))
		return NULL;
	if (magic_in(other_magic, sizeof(other_magic) / sizeof(other_magic[0]), head, len))
		return "File content is not an image or audio file";
	if (has_mpeg_frame(head, len) || has_svg_tag(head, len))
		return NULL;
	return "File content is not a recognised image or audio format";
}

int
sniff_compressible(const uint8_t *head, size_t len)
{
	size_t	i = 0;

	if ((len >= 2 && memcmp(head, "BM", 2) == 0) ||
	    (len >= 4 && (memcmp(head, "II*\0", 4) == 0 || memcmp(head, "MM\0*", 4) == 0)))
		return 1;
	/* Markup after an optional UTF-8 BOM and white space: SVG, XML. */
	if (len >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	while (i < len && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' ||
	    head[i] == '\n'))
		i++;
	return i < len && head[i] == '<';
}
