/*
 * base.c: messages, allocation, strbuf, escaping, path helpers.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "platform/base.h"

const char *prog_name = "fimscan";
int verbosity = 1;
int msg_journal;

/* ---- messages ---- */

/*
 * Format the whole line first and hand it to a single fprintf(), which
 * holds the stream lock: lines from worker threads never interleave.
 * No xmalloc() here, die() is how allocation failures are reported.
 */
__attribute__((format(printf, 2, 0)))
static void report(const char *prefix, const char *fmt, va_list ap)
{
	char small[1024], *msg = small, *big = NULL;
	int saved = errno, n;
	va_list cp;

	va_copy(cp, ap);
	n = vsnprintf(small, sizeof(small), fmt, cp);
	va_end(cp);
	if (n < 0)
		strcpy(small, "(unprintable message)");
	else if ((size_t)n >= sizeof(small) && (big = malloc((size_t)n + 1))) {
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		msg = big;
	}
	/* sd-daemon(3) priorities: "<3>" error, "<4>" warning, "<6>" info */
	fprintf(stderr, "%s%s: %s%s\n", !msg_journal ? "" :
		prefix[0] == 'e' ? "<3>" : prefix[0] == 'w' ? "<4>" :
		prefix[0] == 'f' ? "<2>" : "<6>", prog_name, prefix, msg);
	free(big);
	errno = saved;
}

int error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("error: ", fmt, ap);
	va_end(ap);
	return -1;
}

int warning(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 1)
		return -1;
	va_start(ap, fmt);
	report("warning: ", fmt, ap);
	va_end(ap);
	return -1;
}

void note(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 2)
		return;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

void inform(const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 1)
		return;
	va_start(ap, fmt);
	report("", fmt, ap);
	va_end(ap);
}

_Noreturn void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report("fatal: ", fmt, ap);
	va_end(ap);
	exit(EXIT_INTERNAL);
}

/* ---- allocation ---- */

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory allocating %zu bytes", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	/* realloc(p, 0) may free p and return NULL: never ask for 0 */
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die("out of memory allocating %zu bytes", n);
	return q;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s));
}

void *xmemdup(const void *p, size_t n)
{
	char *q;

	if (n == SIZE_MAX)
		die("out of memory allocating %zu bytes", n);
	q = xmalloc(n + 1);
	if (n)
		memcpy(q, p, n);
	q[n] = '\0';
	return q;
}

/* ---- strbuf ---- */

char strbuf_slopbuf[1];

void strbuf_init(struct strbuf *sb, size_t hint)
{
	sb->alloc = sb->len = 0;
	sb->buf = strbuf_slopbuf;
	if (hint)
		strbuf_grow(sb, hint);
}

void strbuf_release(struct strbuf *sb)
{
	if (sb->alloc)
		free(sb->buf);
	strbuf_init(sb, 0);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
	char *p;

	if (!sb->alloc)
		strbuf_grow(sb, 0);
	p = sb->buf;
	if (len)
		*len = sb->len;
	strbuf_init(sb, 0);
	return p;
}

void strbuf_grow(struct strbuf *sb, size_t extra)
{
	int fresh = !sb->alloc;
	size_t need;

	if (extra >= SIZE_MAX - sb->len)
		die("strbuf too large: %zu + %zu bytes", sb->len, extra);
	need = sb->len + extra + 1;
	if (need <= sb->alloc)
		return;
	sb->alloc = sb->alloc < SIZE_MAX / 3 ? (sb->alloc + 16) * 3 / 2 : need;
	if (sb->alloc < need)
		sb->alloc = need;
	sb->buf = xrealloc(fresh ? NULL : sb->buf, sb->alloc);
	if (fresh)
		sb->buf[0] = '\0';
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
	if (len > (sb->alloc ? sb->alloc - 1 : 0))
		die("strbuf_setlen beyond allocation: %zu", len);
	sb->len = len;
	if (sb->buf != strbuf_slopbuf)
		sb->buf[len] = '\0';
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
	if (!len)
		return;
	strbuf_grow(sb, len);
	memcpy(sb->buf + sb->len, data, len);
	strbuf_setlen(sb, sb->len + len);
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
	strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, int c)
{
	strbuf_grow(sb, 1);
	sb->buf[sb->len++] = (char)c;
	sb->buf[sb->len] = '\0';
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(sb, fmt, ap);
	va_end(ap);
}

void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (sb->alloc - sb->len < 64)
		strbuf_grow(sb, 64);
	va_copy(cp, ap);
	n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		die("vsnprintf failed on '%s'", fmt);
	if ((size_t)n >= sb->alloc - sb->len) {
		strbuf_grow(sb, (size_t)n);
		n = vsnprintf(sb->buf + sb->len, sb->alloc - sb->len, fmt, ap);
	}
	strbuf_setlen(sb, sb->len + (size_t)n);
}

/* ---- escaping ---- */

/*
 * Length of the valid UTF-8 sequence at s (1..4), 0 if invalid: overlong
 * forms, surrogates and code points above U+10FFFF are invalid (RFC 3629).
 */
static size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, *cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, *cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, *cp = c & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	/* the second byte carries the overlong/surrogate/range limits */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return len;
}

/*
 * Code points that must not reach a terminal or a report as themselves:
 * controls, and the separators and bidi overrides that can make one line
 * look like two or reorder what the reader sees (CVE-2021-42574).
 */
/*
 * Controls, line separators and every bidirectional formatting character
 * (embeddings, overrides, isolates and the implicit marks): each can make
 * a report line look like something it is not (CVE-2021-42574 class).
 */
static int must_escape(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x2028 && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

void strbuf_add_escaped(struct strbuf *sb, const void *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = data;
	size_t i = 0, n;
	uint32_t cp;

	strbuf_grow(sb, len);
	while (i < len) {
		if (s[i] == '\\') {
			strbuf_add(sb, "\\\\", 2);
			i++;
			continue;
		}
		n = utf8_seq(s + i, len - i, &cp);
		if (n && !must_escape(cp)) {
			strbuf_add(sb, s + i, n);
			i += n;
			continue;
		}
		/* each byte of the sequence (one for invalid input) */
		for (size_t end = i + (n ? n : 1); i < end; i++) {
			char e[4] = { '\\', 'x', hex[s[i] >> 4],
				      hex[s[i] & 15] };

			strbuf_add(sb, e, 4);
		}
	}
}

/* Per-thread buffers, freed when their thread exits. */
static pthread_key_t esc_key;
static pthread_once_t esc_once = PTHREAD_ONCE_INIT;

static void esc_free(void *p)
{
	strbuf_release(p);
	free(p);
}

static void esc_key_init(void)
{
	if (pthread_key_create(&esc_key, esc_free))
		die("cannot create a thread key");
}

const char *escaped(const void *data, size_t len)
{
	struct strbuf *sb;

	pthread_once(&esc_once, esc_key_init);
	sb = pthread_getspecific(esc_key);
	if (!sb) {
		sb = xmalloc(sizeof(*sb));
		strbuf_init(sb, 0);
		if (pthread_setspecific(esc_key, sb))
			die("cannot set a thread key");
	}
	strbuf_reset(sb);
	strbuf_add_escaped(sb, data, len);
	return sb->buf;
}

/* ---- paths ---- */

void path_join(struct strbuf *out, const char *dir, size_t dirlen,
	       const char *name, size_t namelen)
{
	strbuf_reset(out);
	strbuf_grow(out, dirlen + 1 + namelen);
	strbuf_add(out, dir, dirlen);
	/* "" + "/" is the root itself; "/" + "etc" needs no second slash */
	if (dirlen && dir[dirlen - 1] != '/')
		strbuf_addch(out, '/');
	strbuf_add(out, name, namelen);
}

void path_split(const char *path, size_t len, size_t *dirlen,
		const char **name, size_t *namelen)
{
	const char *slash = NULL;

	/* Scan by hand: gcc -O2 warns about memrchr on a maybe-NULL path. */
	for (size_t i = len > 1 ? len : 0; i > 0; i--)
		if (path[i - 1] == '/') {
			slash = path + i - 1;
			break;
		}

	if (!slash) {
		/* "/" (the root entry) or a bare name */
		*dirlen = 0;
		*name = path;
		*namelen = len;
		return;
	}
	*dirlen = slash == path ? 1 : (size_t)(slash - path);
	*name = slash + 1;
	*namelen = len - (size_t)(slash + 1 - path);
}

int path_is_under(const char *path, size_t len, const char *root,
		  size_t rootlen)
{
	if (!rootlen)
		return 1;
	if (len < rootlen || memcmp(path, root, rootlen))
		return 0;
	/* the root "/" ends in a slash; "/etcx" is not under "/etc" */
	return len == rootlen || root[rootlen - 1] == '/' ||
	       path[rootlen] == '/';
}

/* ---- time and CPUs ---- */

int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
 * civil_from_days): exact for every int64 nanosecond time, negative ones
 * included, and independent of TZ and of the C library's time_t range.
 */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;                               /* [0, 146096] */
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;                             /* [0, 11] */
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

void time_add_rfc3339(struct strbuf *sb, int64_t ns)
{
	int64_t sec = ns / 1000000000, frac = ns % 1000000000;
	int64_t days, sod, y;
	unsigned mo, d;

	if (frac < 0) {          /* floor, so -1 ns is 23:59:59.999999999 */
		frac += 1000000000;
		sec--;
	}
	days = sec / 86400;
	sod = sec % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &mo, &d);
	strbuf_addf(sb, "%04lld-%02u-%02uT%02d:%02d:%02d.%09lldZ",
		    (long long)y, mo, d, (int)(sod / 3600),
		    (int)(sod / 60 % 60), (int)(sod % 60), (long long)frac);
}

int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	/* a container or taskset may give us fewer than the machine has */
	if (!sched_getaffinity(0, sizeof(set), &set) && CPU_COUNT(&set) > 0 &&
	    CPU_COUNT(&set) < n)
		n = CPU_COUNT(&set);
	return n < 1 ? 1 : (int)n;
}

int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
