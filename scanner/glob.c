/*
 * glob.c: anchored globs over raw path bytes (see glob_match() in config.h).
 *
 *   *      any run of bytes except '/', possibly empty
 *   ?      one byte except '/' (a byte, not a UTF-8 character)
 *   [...]  one byte in the class: [abc], ranges [a-z] (by byte value, so
 *          [z-a] is empty), [!...] or [^...] negates, a ']' right after the
 *          '[' (or '[!') is literal, \c is c. A class never matches '/';
 *          a '[' with no closing ']' in the same component, or with a '/'
 *          inside, is a literal '['.
 *   \c     the byte c literally ('\/' is a '/'); a lone trailing '\' is
 *          itself.
 *   **     only as a whole component:
 *            "/a/ ** /b" (no spaces) matches /a/b, /a/x/b, /a/x/y/b;
 *            "/a/ **" at the end matches everything strictly below /a
 *            (/a/x, /a/x/y), but not /a itself: write a second filter or
 *            rule for the directory when it should count too;
 *            "** /b" at the start of a pattern (unanchored, not allowed in
 *            a config) matches /b at any depth.
 *          Anywhere else ("/a**", "/x**y") it is the same as '*'.
 *
 * Matching is iterative with at most two backtrack points: the last '*'
 * (it can never reach past a '/', so it dies once the pattern matches one)
 * and the last '**' component. Keeping only the latest '**' is enough:
 * what lies between two '**' is a fixed number of components, and matching
 * it at the earliest place leaves the most for the later '**'. The cost is
 * O(path x pattern) at worst, never exponential: "/ ** / ** / ** /a"
 * (without the spaces) against a path of ten thousand components is one
 * pass over it.
 */
#include <string.h>

#include "scanner/config.h"

#define NONE ((size_t)-1)

/*
 * Match the class at pat[*pp] == '[' against byte c. Returns 1 (and moves
 * *pp past the ']') when c is in it, 0 when not, -1 when this is no class
 * and the '[' is an ordinary byte.
 */
static int class_match(const unsigned char *pat, size_t plen, size_t *pp,
		       unsigned char c)
{
	size_t p = *pp + 1, first;
	int neg = 0, hit = 0;

	if (p < plen && (pat[p] == '!' || pat[p] == '^')) {
		neg = 1;
		p++;
	}
	first = p;
	for (;;) {
		unsigned char lo, hi;

		if (p >= plen || pat[p] == '/')
			return -1;
		if (pat[p] == ']' && p > first)
			break;
		lo = pat[p++];
		if (lo == '\\') {
			if (p >= plen)
				return -1;
			lo = pat[p++];
		}
		hi = lo;
		if (p + 1 < plen && pat[p] == '-' && pat[p + 1] != ']') {
			p++;
			hi = pat[p++];
			if (hi == '\\') {
				if (p >= plen)
					return -1;
				hi = pat[p++];
			}
		}
		if (lo == '/' || hi == '/')
			return -1;
		if (lo <= c && c <= hi)
			hit = 1;
	}
	if (c == '/' || hit == neg)
		return 0;
	*pp = p + 1;
	return 1;
}

/* Is pat[p] the start of a "**" that is a whole component? */
static int is_dstar(const unsigned char *pat, size_t plen, size_t p)
{
	if (p + 1 >= plen || pat[p] != '*' || pat[p + 1] != '*')
		return 0;
	if (p > 0 && pat[p - 1] != '/')
		return 0;
	return p + 2 == plen || pat[p + 2] == '/';
}

int glob_match(const char *pattern, size_t plen, const char *string,
	       size_t slen)
{
	const unsigned char *pat = (const unsigned char *)pattern;
	const unsigned char *s = (const unsigned char *)string;
	size_t p = 0, i = 0;
	size_t star_p = NONE, star_i = 0;     /* last '*': resume points */
	size_t dstar_p = NONE, dstar_i = 0;   /* last '**' component */

	for (;;) {
		if (p < plen) {
			unsigned char c = pat[p];

			if (c == '*' && is_dstar(pat, plen, p)) {
				if (p + 2 == plen) {
					/* trailing "**": one byte or more */
					if (i < slen)
						return 1;
					goto mismatch;
				}
				/* "** /" (no space): i is at a component start */
				p += 3;
				dstar_p = p;
				dstar_i = i;
				star_p = NONE;
				continue;
			}
			if (c == '*') {
				while (p < plen && pat[p] == '*')
					p++;
				star_p = p;
				star_i = i;
				continue;
			}
			if (i < slen) {
				if (c == '?') {
					if (s[i] == '/')
						goto mismatch;
					p++;
					i++;
					continue;
				}
				if (c == '[') {
					size_t q = p;
					int r;

					r = class_match(pat, plen, &q, s[i]);

					if (r == 1) {
						p = q;
						i++;
						continue;
					}
					if (r == 0)
						goto mismatch;
					/* not a class: a literal '[' */
				}
				if (c == '\\' && p + 1 < plen)
					c = pat[++p];
				if (c == s[i]) {
					p++;
					i++;
					if (c == '/')
						star_p = NONE;
					continue;
				}
			}
		} else if (i == slen) {
			return 1;
		}
mismatch:
		if (star_p != NONE && star_i < slen && s[star_i] != '/') {
			p = star_p;
			i = ++star_i;
			continue;
		}
		if (dstar_p != NONE) {
			const unsigned char *slash;

			slash = memchr(s + dstar_i, '/', slen - dstar_i);
			if (!slash)
				return 0;
			dstar_i = (size_t)(slash - s) + 1;
			p = dstar_p;
			i = dstar_i;
			star_p = NONE;
			continue;
		}
		return 0;
	}
}
