/*
 * json.c: the JSON helpers every JSON-producing sink shares: strings (any
 * bytes in, valid JSON out), paths (lossy string plus exact base64),
 * base64 and RFC 3339 times.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "report/report.h"

/*
 * Length of the well-formed UTF-8 sequence at p (at most n bytes), or 0
 * when the byte at p does not start one. Rejects overlong forms,
 * surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated
 * sequences (the Unicode "well-formed byte sequences" table).
 */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;        /* continuation byte or overlong C0/C1 */
	if (c < 0xe0) {
		len = 2;
	} else if (c < 0xf0) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;       /* overlong */
		else if (c == 0xed)
			hi = 0x9f;       /* surrogates */
	} else if (c < 0xf5) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;       /* overlong */
		else if (c == 0xf4)
			hi = 0x8f;       /* above U+10FFFF */
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

void json_add_string(struct strbuf *sb, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i = 0;

	strbuf_grow(sb, len + 2);
	strbuf_addch(sb, '"');
	while (i < len) {
		unsigned char c = p[i];
		size_t n;

		switch (c) {
		case '"': strbuf_addstr(sb, "\\\""); i++; continue;
		case '\\': strbuf_addstr(sb, "\\\\"); i++; continue;
		case '\n': strbuf_addstr(sb, "\\n"); i++; continue;
		case '\t': strbuf_addstr(sb, "\\t"); i++; continue;
		case '\r': strbuf_addstr(sb, "\\r"); i++; continue;
		case '\b': strbuf_addstr(sb, "\\b"); i++; continue;
		case '\f': strbuf_addstr(sb, "\\f"); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7f) {
			strbuf_addf(sb, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_len(p + i, len - i);
		if (!n) {
			strbuf_addstr(sb, "\\ufffd");
			i++;
			continue;
		}
		/*
		 * Valid JSON, but escaped all the same: C1 controls, the
		 * JavaScript line terminators U+2028/9 and the bidi
		 * overrides U+202A..E, U+2066..9 (the set strbuf_add_escaped
		 * hides from terminals), so that a JSON report shown raw
		 * cannot reorder or forge what the reader sees.
		 */
		if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
			strbuf_addf(sb, "\\u%04x", p[i + 1]);
		} else if (n == 3 && c == 0xe2 &&
			   ((p[i + 1] == 0x80 && p[i + 2] >= 0xa8 &&
			     p[i + 2] <= 0xae) ||
			    (p[i + 1] == 0x81 && p[i + 2] >= 0xa6 &&
			     p[i + 2] <= 0xa9))) {
			strbuf_addf(sb, "\\u%04x", 0x2000 |
				    (p[i + 1] - 0x80) << 6 | (p[i + 2] - 0x80));
		} else {
			strbuf_add(sb, p + i, n);
		}
		i += n;
	}
	strbuf_addch(sb, '"');
}

void json_add_path(struct strbuf *sb, const char *key, const void *data,
		   size_t len)
{
	json_add_string(sb, key, strlen(key));
	strbuf_addch(sb, ':');
	json_add_string(sb, data, len);
	strbuf_addch(sb, ',');
	strbuf_addch(sb, '"');
	/* Keys are ours (ASCII); the value is quoted by hand. */
	strbuf_addstr(sb, key);
	strbuf_addstr(sb, "_base64\":\"");
	base64_add(sb, data, len);
	strbuf_addch(sb, '"');
}

void base64_add(struct strbuf *sb, const void *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789+/";
	const unsigned char *p = data;
	char q[4];
	size_t i;

	strbuf_grow(sb, (len + 2) / 3 * 4);
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 |
			     p[i + 2];
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = tab[v & 63];
		strbuf_add(sb, q, 4);
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = q[3] = '=';
		strbuf_add(sb, q, 4);
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		q[0] = tab[v >> 18];
		q[1] = tab[(v >> 12) & 63];
		q[2] = tab[(v >> 6) & 63];
		q[3] = '=';
		strbuf_add(sb, q, 4);
	}
}

void json_add_key(struct strbuf *sb, const char *key)
{
	json_add_string(sb, key, strlen(key));
	strbuf_addch(sb, ':');
}

void json_add_cstr(struct strbuf *sb, const char *s)
{
	if (s)
		json_add_string(sb, s, strlen(s));
	else
		strbuf_addstr(sb, "null");
}

void json_add_time(struct strbuf *sb, int64_t ns)
{
	strbuf_addch(sb, '"');
	time_add_rfc3339(sb, ns);
	strbuf_addch(sb, '"');
}
