/*
 * config.c: fimscan.conf(5), the parser, and the questions the scanner and
 * the differ ask of it (is this path excluded, which attributes count).
 *
 * The complete format (man/fimscan.conf.5 is written from this comment).
 * A C comment cannot hold a slash followed by a star, so a pattern such
 * as "/var/cache/ *" is written here with a space that is not part of it.
 *
 * LINES
 *   The text is read line by line; LF ends a line, and space, tab, CR, VT
 *   and FF are white space. Blank lines are ignored. A '#' that starts a
 *   word (at the start of a line, or after white space, outside quotes)
 *   starts a comment running to the end of the line; a '#' inside a word
 *   (/srv/a#b) or inside quotes is literal. There are no continuation
 *   lines. Keywords, setting names and values are case-sensitive.
 *
 * WORDS
 *   A value, path or pattern is one word, either
 *     unquoted: the bytes up to the next white space, taken as they are (a
 *       backslash is an ordinary byte, so the glob escape in /srv/a\*b
 *       reaches the glob unchanged); it may not contain '"';
 *     quoted: "..." with the escapes \\ \" \n \t and \xNN (exactly two hex
 *       digits), so any byte but NUL can be written; any other backslash
 *       sequence is an error, and the closing quote must be followed by
 *       white space, a comment or the end of the line.
 *   Quoting is undone first; a pattern's glob syntax applies to the result
 *   ("\\*" in quotes is the glob \* and matches a literal '*').
 *
 * STATEMENTS, one per line
 *   KEY = VALUE...          a setting (spaces around '=' optional); a later
 *                           line setting the same key replaces the value
 *   root PATH               a tree to monitor
 *   exclude PATTERN         leave matching paths out of the scan
 *   include PATTERN         bring matching paths back
 *   group NAME = TERM...    name a set of attributes
 *   rule PATTERN GROUP      matching paths count only GROUP's attributes
 *
 * SETTINGS
 *   store = PATH            the database, absolute (default: see fimscan(1))
 *   hashes = NAME...        content hashes, separated by commas and/or
 *                           white space, at least one, none twice: md5 sha1
 *                           sha224 sha256 sha384 sha512 sha512-256
 *                           sha3-256 sha3-384 sha3-512 blake2s256
 *                           blake2b512 (default sha256)
 *   threads = N             hashing threads, 0..256; 0 = one per CPU
 *                           (default 0)
 *   rehash = all|changed    "changed" trusts the stored hash of a file whose
 *                           dev, inode, size, mtime, ctime, mode and nlink
 *                           are unchanged (default all)
 *   one-filesystem = yes|no do not cross mount points (default yes)
 *   busy-timeout = MS       wait for another fimscan's write lock, in
 *                           milliseconds, 0..3600000 (default 5000)
 *   retries = N             reads of a file that changes while it is being
 *                           hashed before it is recorded "unstable", 1..100
 *                           (default 3)
 *   debounce = MS           watch: a changed path is scanned once it has
 *                           been quiet this long (at most 4x this after
 *                           its first change), 0..60000 (default 300)
 *   rescan-interval = DUR   watch: full rescan period: digits with s, m, h
 *                           or d (none: seconds), at most 366d, 0 = never
 *                           (default 4h)
 *   watch-backend = inotify|fanotify
 *                           watch's default backend (default inotify)
 *   watch-ship = yes|no     watch delivers the outbox to elasticsearch
 *                           as it fills (default yes)
 *   elasticsearch = URL     queue an ECS event per change, for `ship`
 *   kibana = URL            where es-setup imports the dashboard
 *   namespace = NS          data stream namespace: [a-z0-9_]{1,100}
 *                           (default "default")
 *   outbox-max = N          events waiting, 1..1000000000; the oldest go
 *                           beyond (default 1000000)
 *   es-api-key-file, es-credentials-file, es-ca-file = PATH   absolute
 *   es-pinned-key = sha256//BASE64... or an absolute PATH
 *   es-insecure-http = yes|no   http:// to loopback only (default no)
 *   es-connect-timeout, es-read-timeout = MS    1..3600000
 *   es-request-timeout, ship-timeout = MS       1..86400000
 *   es-backoff, es-backoff-max = MS             1..3600000
 *   es-batch = N            documents per _bulk request, 1..100000
 *                           (0 = the sink's defaults, report/es.c)
 *
 * ROOTS
 *   PATH must be absolute. It is cleaned up lexically only: repeated '/'
 *   and "." components are dropped, ".." removes the component before it,
 *   a trailing '/' goes; symlinks are not resolved (roots given on the
 *   command line are, in their parent directories). A root listed twice is
 *   kept once. The roots are the default PATHs of baseline and scan.
 *
 * PATTERNS (exclude, include, rule)
 *   Anchored globs over the full path's bytes; they must start with '/'.
 *     *      any bytes except '/'          ?      one byte except '/'
 *     [a-z]  a byte class, [!..] or [^..] negates, ']' first is literal
 *     \c     the byte c
 *     **     as a whole component: zero or more components, so /a/ ** /b
 *            (written without the spaces) matches /a/b and /a/x/y/b;
 *            /a/ ** at the end matches everything strictly below /a, not
 *            /a itself; elsewhere ** is the same as *
 *   A pattern is tidied like a root: "//" becomes "/", "\/" is "/", a
 *   trailing '/' is dropped. Errors: not starting with '/', a '.' or '..'
 *   component, a '/' inside [...], an unterminated '[', a trailing lone
 *   backslash.
 *
 * EXCLUDE AND INCLUDE
 *   Every path is tried against all exclude and include lines in order;
 *   the last one that matches decides, and a path none matches is
 *   included. An excluded directory is not descended into, so an include
 *   brings back only paths whose parent directories are not excluded:
 *       exclude /var/cache/ *
 *       include /var/cache/debconf
 *   works, while "exclude /var/cache" followed by the same include does
 *   not.
 *
 * GROUPS AND RULES
 *   Attributes: type mode uid gid size mtime ctime inode nlink target
 *   xattrs flags dev rdev hash state. The name of a configured hash
 *   algorithm (sha256, ...) is a synonym for hash (and "-sha256" removes
 *   every hash). A group's TERMs are attribute names and group names, each
 *   optionally prefixed with '+' (add, the default) or '-' (remove),
 *   evaluated left to right starting from the empty set:
 *       group mylog = all -size -mtime -ctime -hash
 *   Built-in groups, defined before the file is read:
 *       all       every attribute
 *       perms     type mode uid gid xattrs flags state
 *       log       all -size -mtime -ctime -hash -state: a growing log file
 *                 only alarms on type, ownership, permission, inode, link,
 *                 device, xattr and flag changes
 *       presence  type: only additions, removals and type changes
 *   A group NAME is letters, digits, '_', '-' and '.', and may not be an
 *   attribute or hash name. Redefining a built-in group is an error; a
 *   group the file defined itself may be defined again, which affects the
 *   lines after it (a group or rule takes the attributes its group has at
 *   that line).
 *   For each path the last rule whose PATTERN matches decides which
 *   differences count; a path no rule matches uses "all". Additions and
 *   removals are always reported.
 *
 * ERRORS AND WARNINGS
 *   Every error is reported as "FILE:LINE: message" and the file is read
 *   to the end so all of them are seen; then the command fails with exit
 *   status 17. Unknown keywords, groups, attributes and hashes come with a
 *   suggestion when one is close. `fimscan check-config` also warns, when
 *   the file has no errors, about:
 *     an exclude that can match inside a root and whose first wildcard
 *       is in a component of the root itself or above it (/ * /cache
 *       with root /etc), or that also has a "**" and whose first
 *       wildcard is at most one level below the root (/ ** / *.log or
 *       /etc/ ** / *.bak with root /etc): an intruder can hide files
 *       there by naming them to match;
 *     a root that is itself excluded;
 *     an exclude, include or rule that cannot match anything under the
 *       roots;
 *     an include whose parent directory is excluded (it has no effect);
 *     a root inside another root, or listed twice;
 *     hashes that are only md5 and/or sha1;
 *     a config file writable by group or others.
 *
 * The config text is stored with each snapshot, and a diff applies the
 * groups and rules of the text stored with the newer snapshot.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/base.h"
#include "scanner/config.h"
#include "store/store.h"

#define NONE ((size_t)-1)
#define MAX_CONFIG_SIZE (16u << 20)   /* larger is not a config file */

/* ---- attributes and built-in groups --------------------------------- */

static const struct {
	const char *name;
	uint32_t bit;
} attrs[] = {
	{ "type", ATTR_TYPE }, { "mode", ATTR_MODE }, { "uid", ATTR_UID },
	{ "gid", ATTR_GID }, { "size", ATTR_SIZE }, { "mtime", ATTR_MTIME },
	{ "ctime", ATTR_CTIME }, { "inode", ATTR_INODE },
	{ "nlink", ATTR_NLINK }, { "target", ATTR_TARGET },
	{ "xattrs", ATTR_XATTRS }, { "flags", ATTR_FLAGS }, { "dev", ATTR_DEV },
	{ "rdev", ATTR_RDEV }, { "hash", ATTR_HASH }, { "state", ATTR_STATE },
	{ "growing", ATTR_GROWING },
};

uint32_t attr_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++)
		if (!strcmp(attrs[i].name, name))
			return attrs[i].bit;
	return 0;
}

/* NULL unless `bit` is exactly one known attribute. */
const char *attr_name(uint32_t bit)
{
	for (size_t i = 0; i < ARRAY_SIZE(attrs); i++)
		if (attrs[i].bit == bit)
			return attrs[i].name;
	return NULL;
}

static const struct {
	const char *name;
	uint32_t attrs;
} builtin_groups[] = {
	{ "all", ATTR_ALL },
	{ "perms", ATTR_TYPE | ATTR_MODE | ATTR_UID | ATTR_GID | ATTR_XATTRS |
		   ATTR_FLAGS | ATTR_STATE },
	/* a log being appended to is often "unstable" while hashed: no state */
	{ "log", ATTR_ALL & ~(ATTR_SIZE | ATTR_MTIME | ATTR_CTIME | ATTR_HASH |
			      ATTR_STATE) },
	{ "presence", ATTR_TYPE },
	/* everything, but a proven append is growth, not a change */
	{ "append", ATTR_ALL | ATTR_GROWING },
};
#define NBUILTIN ARRAY_SIZE(builtin_groups)

static const char *const directives[] = {
	"root", "exclude", "include", "rule", "group",
};
static const char *const settings[] = {
	"store", "hashes", "threads", "rehash", "one-filesystem",
	"busy-timeout", "retries", "content-max-file", "content-max-total",
	"elasticsearch", "kibana", "namespace", "outbox-max",
	"es-api-key-file", "es-credentials-file", "es-ca-file",
	"es-pinned-key", "es-insecure-http", "es-connect-timeout",
	"es-read-timeout", "es-request-timeout", "es-batch", "es-backoff",
	"es-backoff-max", "ship-timeout", "debounce", "rescan-interval",
	"watch-backend", "watch-ship",
};

/* ---- init and release ----------------------------------------------- */

void config_init(struct fim_config *c)
{
	memset(c, 0, sizeof(*c));
	c->text = xstrdup("");
	c->hash_ids[0] = HASH_SHA256;
	c->nhashes = 1;
	c->threads = 0;
	c->rehash = REHASH_ALL;
	c->one_filesystem = 1;
	c->busy_ms = 5000;
	c->content_max_file = 1 << 20;
	c->content_max_total = 256ll << 20;
	c->outbox_max = 1000000;
	c->retries = 3;
	c->debounce_ms = 300;
	c->rescan_interval_s = 4 * 3600;
	c->watch_backend = WATCH_BACKEND_INOTIFY;
	c->watch_ship = 1;
	c->groups = xcalloc(NBUILTIN, sizeof(*c->groups));
	for (size_t i = 0; i < NBUILTIN; i++) {
		c->groups[i].name = xstrdup(builtin_groups[i].name);
		c->groups[i].attrs = builtin_groups[i].attrs;
	}
	c->ngroups = NBUILTIN;
	c->default_group = 0;
}

void config_release(struct fim_config *c)
{
	free(c->path);
	free(c->text);
	free(c->store);
	free(c->es_url);
	free(c->kibana_url);
	free(c->es_namespace);
	free(c->es_api_key_file);
	free(c->es_credentials_file);
	free(c->es_ca_file);
	free(c->es_pinned_key);
	for (size_t i = 0; i < c->nroots; i++)
		free(c->roots[i]);
	free(c->roots);
	free(c->rootlens);
	for (size_t i = 0; i < c->nfilters; i++)
		free(c->filters[i].glob.pat);
	free(c->filters);
	for (size_t i = 0; i < c->ngroups; i++)
		free(c->groups[i].name);
	free(c->groups);
	for (size_t i = 0; i < c->nrules; i++)
		free(c->rules[i].glob.pat);
	free(c->rules);
	memset(c, 0, sizeof(*c));
}

/* The arrays in fim_config carry no capacity; configs are small. */
#define APPEND(p, n) \
	((p) = xrealloc((p), ((n) + 1) * sizeof(*(p))), &(p)[(n)++])

/* ---- the parser state and its messages ------------------------------- */

struct parser {
	struct fim_config *c;
	struct strbuf label;        /* escaped file name for messages */
	int line;
	int errors;
	int warn;
	struct strbuf *tok;         /* words of the current line */
	int *quoted;
	size_t ntok, atok;
	struct strbuf ring[8];      /* escaped words, several per message */
	unsigned ringi;
	struct { int line; int id; } *hashrefs;   /* checked at the end */
	size_t nhashrefs;
	int *rootlines;             /* line of each root of this text */
	size_t roots0, filters0, rules0;   /* first ones from this text */
	int hashes_line;
};

/* The word escaped for a message ('\n' in a name must not split it). */
static const char *q(struct parser *ps, const char *s, size_t len)
{
	struct strbuf *sb = &ps->ring[ps->ringi++ % ARRAY_SIZE(ps->ring)];

	strbuf_reset(sb);
	strbuf_add_escaped(sb, s, len);
	return sb->buf;
}

static const char *qs(struct parser *ps, const char *s)
{
	return q(ps, s, strlen(s));
}

static const char *qt(struct parser *ps, const struct strbuf *t)
{
	return q(ps, t->buf, t->len);
}

__attribute__((format(printf, 2, 3)))
static void perr(struct parser *ps, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	error("%s:%d: %s", ps->label.buf, ps->line, sb.buf);
	strbuf_release(&sb);
	ps->errors++;
}

__attribute__((format(printf, 3, 4)))
static void pwarn(struct parser *ps, int line, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	if (line > 0)
		warning("%s:%d: %s", ps->label.buf, line, sb.buf);
	else
		warning("%s: %s", ps->label.buf, sb.buf);
	strbuf_release(&sb);
}

/* ---- "did you mean" --------------------------------------------------- */

/* Edit distance counting a swap of neighbours as one edit (OSA). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t d[3][33], *prev2 = d[0], *prev = d[1], *cur = d[2];

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t *t;

		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = prev[j - 1] + cost;

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
		t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

struct suggest {
	const char *word;
	const char *best;
	size_t dist;
};

static void suggest_init(struct suggest *sg, const char *word)
{
	sg->word = word;
	sg->best = NULL;
	sg->dist = 3;   /* suggest at distance 2 or less */
}

static void suggest_try(struct suggest *sg, const char *cand)
{
	size_t d = edit_distance(sg->word, cand);

	if (d && d < sg->dist) {
		sg->dist = d;
		sg->best = cand;
	}
}

/* " (did you mean 'x'?)" or "". */
static const char *suggestion(struct parser *ps, const struct suggest *sg)
{
	struct strbuf *sb = &ps->ring[ps->ringi++ % ARRAY_SIZE(ps->ring)];

	strbuf_reset(sb);
	if (sg->best) {
		strbuf_addstr(sb, " (did you mean '");
		strbuf_add_escaped(sb, sg->best, strlen(sg->best));
		strbuf_addstr(sb, "'?)");
	}
	return sb->buf;
}

/* ---- words ------------------------------------------------------------ */

static int is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static int is_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static struct strbuf *new_token(struct parser *ps, int quoted)
{
	if (ps->ntok == ps->atok) {
		size_t old = ps->atok;

		ALLOC_GROW(ps->tok, ps->ntok + 1, ps->atok);
		ps->quoted = xrealloc(ps->quoted, ps->atok * sizeof(int));
		for (size_t i = old; i < ps->atok; i++)
			strbuf_init(&ps->tok[i], 0);
	}
	strbuf_reset(&ps->tok[ps->ntok]);
	ps->quoted[ps->ntok] = quoted;
	return &ps->tok[ps->ntok++];
}

static const char *word_end(const char *s, const char *end)
{
	while (s < end && !is_space(*s))
		s++;
	return s;
}

/* Split [s, end) into words; 0, or -1 after reporting the error. */
static int tokenize(struct parser *ps, const char *s, const char *end)
{
	ps->ntok = 0;
	for (;;) {
		struct strbuf *t;
		const char *start;

		while (s < end && is_space(*s))
			s++;
		if (s == end || *s == '#')
			return 0;
		start = s;
		if (*s != '"') {
			s = word_end(s, end);
			if (memchr(start, '"', s - start)) {
				perr(ps, "unexpected '\"' inside '%s' (quote the whole word)",
				     q(ps, start, s - start));
				return -1;
			}
			strbuf_add(new_token(ps, 0), start, s - start);
			continue;
		}
		t = new_token(ps, 1);
		s++;
		for (;;) {
			int c, hi, lo;

			if (s == end) {
				perr(ps, "unterminated quote");
				return -1;
			}
			c = (unsigned char)*s++;
			if (c == '"')
				break;
			if (c != '\\') {
				strbuf_addch(t, c);
				continue;
			}
			if (s == end) {
				perr(ps, "unterminated quote");
				return -1;
			}
			c = (unsigned char)*s++;
			switch (c) {
			case '\\':
			case '"':
				strbuf_addch(t, c);
				break;
			case 'n':
				strbuf_addch(t, '\n');
				break;
			case 't':
				strbuf_addch(t, '\t');
				break;
			case 'x':
				if (end - s < 2 || (hi = hex_value(s[0])) < 0 ||
				    (lo = hex_value(s[1])) < 0) {
					perr(ps, "invalid escape '\\x%s' in quotes (\\xNN takes two hex digits)",
					     q(ps, s, end - s < 2 ?
					       (size_t)(end - s) : 2));
					return -1;
				}
				if (!hi && !lo) {
					perr(ps, "a NUL byte (\\x00) cannot be part of a path");
					return -1;
				}
				strbuf_addch(t, hi << 4 | lo);
				s += 2;
				break;
			default:
				perr(ps, "invalid escape '\\%s' in quotes (known: \\\\ \\\" \\n \\t \\xNN)",
				     q(ps, s - 1, 1));
				return -1;
			}
		}
		if (s < end && !is_space(*s)) {
			perr(ps, "unexpected '%s' after closing quote",
			     q(ps, s, word_end(s, end) - s));
			return -1;
		}
	}
}

/* Exactly `want` words after `what`, or an error naming `need`. */
static int want_args(struct parser *ps, const char *what, size_t want,
		     const char *need)
{
	if (ps->ntok && !ps->quoted[0] && ps->tok[0].buf[0] == '=') {
		perr(ps, "'%s' is a directive, not a setting: write '%s %s' without '='",
		     what, what, need);
		return -1;
	}
	if (ps->ntok < want) {
		perr(ps, "%s needs %s", what, need);
		return -1;
	}
	if (ps->ntok > want) {
		perr(ps, "too many arguments for '%s': '%s' (quote a word that contains spaces)",
		     what, qt(ps, &ps->tok[want]));
		return -1;
	}
	return 0;
}

/* ---- paths and patterns ----------------------------------------------- */

/* Lexically clean an absolute path: no "//", ".", "..", trailing '/'. */
static void lexical_clean(struct strbuf *out, const char *p, size_t len)
{
	size_t i = 0;

	strbuf_reset(out);
	while (i < len) {
		size_t start, n;

		while (i < len && p[i] == '/')
			i++;
		start = i;
		while (i < len && p[i] != '/')
			i++;
		n = i - start;
		if (!n || (n == 1 && p[start] == '.'))
			continue;
		if (n == 2 && p[start] == '.' && p[start + 1] == '.') {
			char *slash = memrchr(out->buf, '/', out->len);

			strbuf_setlen(out, slash ?
				      (size_t)(slash - out->buf) : 0);
			continue;
		}
		strbuf_addch(out, '/');
		strbuf_add(out, p + start, n);
	}
	if (!out->len)
		strbuf_addch(out, '/');
}

/*
 * Check a pattern of `what` and tidy it into `out` ("//" -> "/", "\/" ->
 * "/", no trailing '/'); after this every '/' byte in it separates
 * components. 0, or -1 after reporting.
 */
static int check_pattern(struct parser *ps, const char *what,
			 const struct strbuf *in, struct strbuf *out)
{
	const char *p = in->buf;
	size_t len = in->len, i = 0;
	int sep = 0;   /* the last byte out is a separator */

	strbuf_reset(out);
	if (!len || p[0] != '/') {
		perr(ps, "%s pattern must be absolute (start with '/'): '%s'",
		     what, qt(ps, in));
		return -1;
	}
	while (i < len) {
		char c = p[i];

		if (c == '\\') {
			if (i + 1 == len) {
				perr(ps, "%s pattern ends with a lone backslash: '%s'",
				     what, qt(ps, in));
				return -1;
			}
			if (p[i + 1] != '/') {
				strbuf_add(out, p + i, 2);
				sep = 0;
				i += 2;
				continue;
			}
			i++;
			c = '/';
		}
		if (c == '/') {
			if (!sep)
				strbuf_addch(out, '/');
			sep = 1;
			i++;
			continue;
		}
		sep = 0;
		if (c == '[') {
			size_t j = i + 1;

			if (j < len && (p[j] == '!' || p[j] == '^'))
				j++;
			if (j < len && p[j] == ']')
				j++;
			while (j < len && p[j] != ']') {
				if (p[j] == '\\' && j + 1 < len)
					j++;
				if (p[j] == '/') {
					perr(ps, "'/' cannot be inside [...] in %s pattern '%s'",
					     what, qt(ps, in));
					return -1;
				}
				j++;
			}
			if (j >= len) {
				perr(ps, "unterminated '[' in %s pattern '%s'",
				     what, qt(ps, in));
				return -1;
			}
			strbuf_add(out, p + i, j + 1 - i);
			i = j + 1;
			continue;
		}
		strbuf_addch(out, c);
		i++;
	}
	if (out->len > 1 && sep)
		strbuf_setlen(out, out->len - 1);
	for (i = 0; i < out->len;) {
		size_t start = ++i, n;

		while (i < out->len && out->buf[i] != '/')
			i++;
		n = i - start;
		if ((n == 1 && out->buf[start] == '.') ||
		    (n == 2 && !memcmp(out->buf + start, "..", 2))) {
			perr(ps, "%s pattern must not contain '.' or '..' components: '%s'",
			     what, qt(ps, in));
			return -1;
		}
	}
	return 0;
}

static void glob_init(struct fim_glob *g, const struct strbuf *pat, int line)
{
	size_t n = 0;

	g->pat = xmemdup(pat->buf, pat->len);
	g->len = pat->len;
	/* a backslash ends it too: pat[0..prefix_len) are literal bytes */
	while (n < pat->len && !strchr("*?[\\", pat->buf[n]))
		n++;
	g->prefix_len = n;
	g->line = line;
}

static int glob_hit(const struct fim_glob *g, const char *path, size_t len)
{
	if (len < g->prefix_len || memcmp(path, g->pat, g->prefix_len))
		return 0;
	return glob_match(g->pat, g->len, path, len);
}

/* ---- settings ----------------------------------------------------------- */

static int one_value(struct parser *ps, const char *key)
{
	if (!ps->ntok) {
		perr(ps, "missing value for '%s'", key);
		return -1;
	}
	if (ps->ntok > 1) {
		perr(ps, "too many values for '%s' (quote a value that contains spaces)",
		     key);
		return -1;
	}
	return 0;
}

/* A decimal number in [min, max], digits only. */
static int number(const struct strbuf *t, long min, long max, int *out)
{
	long v = 0;

	if (!t->len || t->len > 10)
		return -1;
	for (size_t i = 0; i < t->len; i++) {
		if (t->buf[i] < '0' || t->buf[i] > '9')
			return -1;
		v = v * 10 + (t->buf[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

static void set_hashes(struct parser *ps)
{
	struct fim_config *c = ps->c;
	int ids[ARRAY_SIZE(c->hash_ids)];
	size_t n = 0;
	int bad = 0;

	for (size_t i = 0; i < ps->ntok; i++) {
		char *save = NULL, *name;

		/* the word is ours: cut it at the commas in place */
		for (name = strtok_r(ps->tok[i].buf, ",", &save); name;
		     name = strtok_r(NULL, ",", &save)) {
			const struct fim_hash_algo *a = hash_algo_by_name(name);
			size_t k;

			if (!a) {
				struct suggest sg;

				suggest_init(&sg, name);
				for (int id = 1; id < HASH_MAX_ID; id++) {
					const struct fim_hash_algo *h;

					h = hash_algo_by_id(id);
					if (h)
						suggest_try(&sg, h->name);
				}
				perr(ps, "unknown hash algorithm '%s'%s",
				     qs(ps, name), suggestion(ps, &sg));
				bad = 1;
				continue;
			}
			for (k = 0; k < n && ids[k] != a->id; k++)
				;
			if (k < n) {
				perr(ps, "hash algorithm '%s' listed twice", a->name);
				bad = 1;
				continue;
			}
			if (n == FIM_HASH_MAX) {
				perr(ps, "at most %d hash algorithms per "
				     "config ('%s' is one too many)",
				     FIM_HASH_MAX, a->name);
				bad = 1;
				continue;
			}
			ids[n++] = a->id;
		}
	}
	if (bad)
		return;
	if (!n) {
		perr(ps, "hashes needs at least one algorithm, e.g. 'hashes = sha256'");
		return;
	}
	memcpy(c->hash_ids, ids, n * sizeof(ids[0]));
	c->nhashes = n;
	ps->hashes_line = ps->line;
}

/* A byte size: digits with an optional K, M or G (powers of 1024). */
static int size_value(const struct strbuf *t, int64_t *out)
{
	char *end;
	long long v;
	int shift = 0;

	errno = 0;
	v = strtoll(t->buf, &end, 10);
	if (end == t->buf || errno || v < 0)
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end || v > (INT64_MAX >> shift))
		return -1;
	*out = (int64_t)v << shift;
	return 0;
}

/*
 * A duration in seconds: digits with an optional unit s, m, h or d (no
 * unit: seconds), at most 366 days.
 */
static int duration_value(const struct strbuf *t, int64_t *out)
{
	int64_t v = 0, unit = 1;
	size_t i = 0;

	for (; i < t->len && t->buf[i] >= '0' && t->buf[i] <= '9'; i++) {
		v = v * 10 + (t->buf[i] - '0');
		if (v > 366 * 86400)
			return -1;
	}
	if (!i)
		return -1;
	if (i + 1 == t->len) {
		switch (t->buf[i]) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		default: return -1;
		}
	} else if (i != t->len) {
		return -1;
	}
	if (v * unit > 366 * 86400)
		return -1;
	*out = v * unit;
	return 0;
}

/* A yes|no setting. */
static void set_yes_no(struct parser *ps, const char *key,
		       const struct strbuf *v, int *dst)
{
	if (!strcmp(v->buf, "yes"))
		*dst = 1;
	else if (!strcmp(v->buf, "no"))
		*dst = 0;
	else
		perr(ps, "%s must be 'yes' or 'no', not '%s'", key, qt(ps, v));
}

/* A string setting, replacing an earlier value. */
static void set_string(char **dst, const struct strbuf *v)
{
	free(*dst);
	*dst = xstrdup(v->buf);
}

/* The Elasticsearch settings (report/es.h, fimscan.conf(5)). */
static void es_setting(struct parser *ps, const char *key,
		       const struct strbuf *v)
{
	static const struct {
		const char *key;
		size_t off;
		int min, max;
	} ms[] = {
		{ "es-connect-timeout", offsetof(struct fim_config,
						 es_connect_ms), 1, 3600000 },
		{ "es-read-timeout", offsetof(struct fim_config, es_read_ms),
		  1, 3600000 },
		{ "es-request-timeout", offsetof(struct fim_config,
						 es_request_ms), 1, 86400000 },
		{ "es-backoff", offsetof(struct fim_config, es_backoff_ms),
		  1, 3600000 },
		{ "es-backoff-max", offsetof(struct fim_config,
					     es_backoff_max_ms), 1, 3600000 },
		{ "ship-timeout", offsetof(struct fim_config, ship_timeout_ms),
		  1, 86400000 },
		{ "es-batch", offsetof(struct fim_config, es_batch), 1, 100000 },
		{ "outbox-max", offsetof(struct fim_config, outbox_max),
		  1, 1000000000 },
	};
	struct fim_config *c = ps->c;
	size_t n = v->len;

	for (size_t i = 0; i < ARRAY_SIZE(ms); i++) {
		if (strcmp(key, ms[i].key))
			continue;
		if (number(v, ms[i].min, ms[i].max,
			   (int *)((char *)c + ms[i].off)))
			perr(ps, "%s must be %d..%d%s, not '%s'", key,
			     ms[i].min, ms[i].max,
			     strstr(key, "time") || strstr(key, "backoff")
			     ? " (milliseconds)" : "", qt(ps, v));
		return;
	}
	if (!strcmp(key, "elasticsearch") || !strcmp(key, "kibana")) {
		if (strncmp(v->buf, "https://", 8) &&
		    strncmp(v->buf, "http://", 7)) {
			perr(ps, "%s must be a URL such as https://host:%s, not "
			     "'%s'", key, key[0] == 'e' ? "9200" : "5601",
			     qt(ps, v));
			return;
		}
		set_string(key[0] == 'e' ? &c->es_url : &c->kibana_url, v);
	} else if (!strcmp(key, "namespace")) {
		/* As Elasticsearch wants the part of a data stream name. */
		if (!n || n > 100 || strspn(v->buf, "abcdefghijklmnopqrstuvwxyz"
					    "0123456789_") != n)
			perr(ps, "namespace must be 1 to 100 lowercase letters, "
			     "digits and '_', not '%s'", qt(ps, v));
		else
			set_string(&c->es_namespace, v);
	} else if (!strcmp(key, "es-insecure-http")) {
		set_yes_no(ps, key, v, &c->es_insecure_http);
	} else if (!strcmp(key, "es-pinned-key") &&
		   !strncmp(v->buf, "sha256//", 8)) {
		set_string(&c->es_pinned_key, v);
	} else if (v->buf[0] != '/') {
		perr(ps, "%s must be an absolute path%s: '%s'", key,
		     strcmp(key, "es-pinned-key") ? "" : " or sha256//BASE64",
		     qt(ps, v));
	} else if (!strcmp(key, "es-pinned-key")) {
		set_string(&c->es_pinned_key, v);
	} else if (!strcmp(key, "es-api-key-file")) {
		set_string(&c->es_api_key_file, v);
	} else if (!strcmp(key, "es-credentials-file")) {
		set_string(&c->es_credentials_file, v);
	} else if (!strcmp(key, "es-ca-file")) {
		set_string(&c->es_ca_file, v);
	}
}

static void do_setting(struct parser *ps, const char *key, const char *s,
		       const char *end)
{
	struct fim_config *c = ps->c;
	const struct strbuf *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(settings); i++)
		if (!strcmp(key, settings[i]))
			break;
	if (i == ARRAY_SIZE(settings)) {
		struct suggest sg;

		suggest_init(&sg, key);
		for (i = 0; i < ARRAY_SIZE(settings); i++)
			suggest_try(&sg, settings[i]);
		perr(ps, "unknown setting '%s'%s", qs(ps, key),
		     suggestion(ps, &sg));
		return;
	}
	if (tokenize(ps, s, end))
		return;
	if (!strcmp(key, "hashes")) {
		if (!ps->ntok)
			perr(ps, "missing value for 'hashes'");
		else
			set_hashes(ps);
		return;
	}
	if (one_value(ps, key))
		return;
	v = &ps->tok[0];
	if (!strcmp(key, "store")) {
		if (v->buf[0] != '/') {
			perr(ps, "store must be an absolute path: '%s'", qt(ps, v));
			return;
		}
		free(c->store);
		c->store = xstrdup(v->buf);
	} else if (!strcmp(key, "threads")) {
		if (number(v, 0, 256, &c->threads))
			perr(ps, "threads must be 0..256 (0: one per CPU), not '%s'",
			     qt(ps, v));
	} else if (!strcmp(key, "rehash")) {
		if (!strcmp(v->buf, "all"))
			c->rehash = REHASH_ALL;
		else if (!strcmp(v->buf, "changed"))
			c->rehash = REHASH_CHANGED;
		else
			perr(ps, "rehash must be 'all' or 'changed', not '%s'",
			     qt(ps, v));
	} else if (!strcmp(key, "one-filesystem")) {
		set_yes_no(ps, key, v, &c->one_filesystem);
	} else if (!strcmp(key, "busy-timeout")) {
		if (number(v, 0, 3600000, &c->busy_ms))
			perr(ps, "busy-timeout must be 0..3600000 (milliseconds), not '%s'",
			     qt(ps, v));
	} else if (!strcmp(key, "retries")) {
		if (number(v, 1, 100, &c->retries))
			perr(ps, "retries must be 1..100, not '%s'", qt(ps, v));
	} else if (!strcmp(key, "debounce")) {
		if (number(v, 0, 60000, &c->debounce_ms))
			perr(ps, "debounce must be 0..60000 (milliseconds), "
			     "not '%s'", qt(ps, v));
	} else if (!strcmp(key, "rescan-interval")) {
		if (duration_value(v, &c->rescan_interval_s))
			perr(ps, "rescan-interval must be a duration such as "
			     "30m, 4h or 1d (0: never), not '%s'", qt(ps, v));
	} else if (!strcmp(key, "watch-backend")) {
		if (!strcmp(v->buf, "inotify"))
			c->watch_backend = WATCH_BACKEND_INOTIFY;
		else if (!strcmp(v->buf, "fanotify"))
			c->watch_backend = WATCH_BACKEND_FANOTIFY;
		else
			perr(ps, "watch-backend must be 'inotify' or "
			     "'fanotify', not '%s'", qt(ps, v));
	} else if (!strcmp(key, "watch-ship")) {
		set_yes_no(ps, key, v, &c->watch_ship);
	} else if (!strcmp(key, "content-max-file") ||
		   !strcmp(key, "content-max-total")) {
		int64_t *dst = key[12] == 'f' ? &c->content_max_file
					      : &c->content_max_total;
		if (size_value(v, dst))
			perr(ps, "%s must be a size such as 512K, 4M or 1G "
			     "(0: no limit), not '%s'", key, qt(ps, v));
	} else {
		es_setting(ps, key, v);
	}
}

/* ---- directives --------------------------------------------------------- */

static void do_root(struct parser *ps)
{
	struct fim_config *c = ps->c;
	struct strbuf clean = STRBUF_INIT;
	const struct strbuf *t;

	if (want_args(ps, "root", 1, "a path"))
		return;
	t = &ps->tok[0];
	if (t->buf[0] != '/') {
		perr(ps, "root must be an absolute path: '%s'", qt(ps, t));
		return;
	}
	lexical_clean(&clean, t->buf, t->len);
	for (size_t i = 0; i < c->nroots; i++) {
		if (c->rootlens[i] == clean.len &&
		    !memcmp(c->roots[i], clean.buf, clean.len)) {
			if (ps->warn)
				pwarn(ps, ps->line, "root %s listed twice",
				      qt(ps, &clean));
			strbuf_release(&clean);
			return;
		}
	}
	c->roots = xrealloc(c->roots, (c->nroots + 1) * sizeof(*c->roots));
	c->rootlens = xrealloc(c->rootlens,
			       (c->nroots + 1) * sizeof(*c->rootlens));
	c->rootlens[c->nroots] = clean.len;
	c->roots[c->nroots++] = strbuf_detach(&clean, NULL);
	ps->rootlines = xrealloc(ps->rootlines,
				 (c->nroots - ps->roots0) * sizeof(int));
	ps->rootlines[c->nroots - ps->roots0 - 1] = ps->line;
}

static void do_filter(struct parser *ps, int kind)
{
	const char *what = kind == RULE_EXCLUDE ? "exclude" : "include";
	struct strbuf pat = STRBUF_INIT;
	struct fim_filter *f;

	if (!want_args(ps, what, 1, "a pattern") &&
	    !check_pattern(ps, what, &ps->tok[0], &pat)) {
		f = APPEND(ps->c->filters, ps->c->nfilters);
		f->kind = kind;
		glob_init(&f->glob, &pat, ps->line);
	}
	strbuf_release(&pat);
}

/* Latest definition of a group, NONE if there is none. */
static size_t find_group(const struct fim_config *c, const char *name)
{
	for (size_t i = c->ngroups; i-- > 0;)
		if (!strcmp(c->groups[i].name, name))
			return i;
	return NONE;
}

static void suggest_groups(struct suggest *sg, const struct fim_config *c)
{
	for (size_t i = 0; i < c->ngroups; i++)
		suggest_try(sg, c->groups[i].name);
}

static void do_rule(struct parser *ps)
{
	struct fim_config *c = ps->c;
	struct strbuf pat = STRBUF_INIT;
	struct fim_rule *r;
	int content = 0;
	size_t g;

	if (ps->ntok == 3) {
		/* the optional flag: content retention for these paths */
		if (!strcmp(ps->tok[2].buf, "content"))
			content = CONTENT_KEEP;
		else if (!strcmp(ps->tok[2].buf, "no-content"))
			content = CONTENT_NEVER;
		else {
			perr(ps, "unknown rule flag '%s': use content or "
			     "no-content", qt(ps, &ps->tok[2]));
			goto out;
		}
		ps->ntok = 2;
	}
	if (want_args(ps, "rule", 2, "a pattern and a group: 'rule PATTERN GROUP [content|no-content]'") ||
	    check_pattern(ps, "rule", &ps->tok[0], &pat))
		goto out;
	g = find_group(c, ps->tok[1].buf);
	if (g == NONE) {
		struct suggest sg;

		suggest_init(&sg, ps->tok[1].buf);
		suggest_groups(&sg, c);
		perr(ps, "unknown group '%s'%s", qt(ps, &ps->tok[1]),
		     suggestion(ps, &sg));
		goto out;
	}
	r = APPEND(c->rules, c->nrules);
	glob_init(&r->glob, &pat, ps->line);
	r->group = g;
	r->content = content;
out:
	strbuf_release(&pat);
}

/* The ATTR_* bits of one group term (without its sign), or -1. */
static long group_term(struct parser *ps, const char *name)
{
	const struct fim_hash_algo *a;
	uint32_t bit = attr_by_name(name);
	size_t g;

	if (bit)
		return bit;
	a = hash_algo_by_name(name);
	if (a) {
		/* "configured" is checked once the whole text is read */
		ps->hashrefs = xrealloc(ps->hashrefs, (ps->nhashrefs + 1) *
					sizeof(*ps->hashrefs));
		ps->hashrefs[ps->nhashrefs].line = ps->line;
		ps->hashrefs[ps->nhashrefs++].id = a->id;
		return ATTR_HASH;
	}
	g = find_group(ps->c, name);
	if (g != NONE)
		return ps->c->groups[g].attrs;
	return -1;
}

static void do_group(struct parser *ps, const char *s, const char *end)
{
	struct fim_config *c = ps->c;
	const char *name, *w;
	struct fim_group *g;
	char *gname = NULL;
	uint32_t set = 0;
	int bad = 0;

	while (s < end && is_space(*s))
		s++;
	name = s;
	while (s < end && is_ident(*s))
		s++;
	if (s == name && (s == end || *s == '#' || *s == '=')) {
		perr(ps, "group needs a name: 'group NAME = ATTRIBUTES'");
		return;
	}
	if (s == name || (s < end && !is_space(*s) && *s != '=')) {
		for (w = name; w < end && !is_space(*w) && *w != '='; w++)
			;
		perr(ps, "invalid group name '%s' (use letters, digits, '_', '-' and '.')",
		     q(ps, name, w - name));
		return;
	}
	gname = xmemdup(name, s - name);
	while (s < end && is_space(*s))
		s++;
	if (s == end || *s != '=') {
		perr(ps, "missing '=' after 'group %s'", gname);
		goto out;
	}
	for (size_t i = 0; i < NBUILTIN; i++) {
		if (!strcmp(gname, builtin_groups[i].name)) {
			perr(ps, "cannot redefine built-in group '%s'", gname);
			goto out;
		}
	}
	if (attr_by_name(gname) || hash_algo_by_name(gname)) {
		perr(ps, "group name '%s' is already an attribute name", gname);
		goto out;
	}
	if (tokenize(ps, s + 1, end))
		goto out;
	if (!ps->ntok) {
		perr(ps, "group '%s' needs attributes, e.g. 'group %s = perms -xattrs'",
		     gname, gname);
		goto out;
	}
	for (size_t i = 0; i < ps->ntok; i++) {
		const char *term = ps->tok[i].buf;
		int minus = 0;
		long bits;

		if (*term == '+' || *term == '-')
			minus = *term++ == '-';
		if (!*term) {
			perr(ps, "'%s' needs an attribute or group name after it",
			     qt(ps, &ps->tok[i]));
			bad = 1;
			continue;
		}
		bits = group_term(ps, term);
		if (bits < 0) {
			struct suggest sg;

			suggest_init(&sg, term);
			for (size_t k = 0; k < ARRAY_SIZE(attrs); k++)
				suggest_try(&sg, attrs[k].name);
			suggest_groups(&sg, c);
			perr(ps, "unknown attribute or group '%s'%s", qs(ps, term),
			     suggestion(ps, &sg));
			bad = 1;
			continue;
		}
		if (minus)
			set &= ~(uint32_t)bits;
		else
			set |= (uint32_t)bits;
	}
	if (bad)
		goto out;
	g = APPEND(c->groups, c->ngroups);
	g->name = gname;
	g->attrs = set;
	gname = NULL;
out:
	free(gname);
}

static void parse_line(struct parser *ps, const char *s, const char *end)
{
	const char *kw, *w;
	char *key;
	size_t i;

	while (s < end && is_space(*s))
		s++;
	if (s == end || *s == '#')
		return;
	kw = s;
	while (s < end && is_ident(*s))
		s++;
	if (s == kw || (s < end && !is_space(*s) && *s != '=')) {
		for (w = kw; w < end && !is_space(*w) && *w != '='; w++)
			;
		perr(ps, "expected 'key = value' or a directive (root, exclude, include, rule, group), not '%s'",
		     q(ps, kw, w - kw));
		return;
	}
	key = xmemdup(kw, s - kw);
	for (i = 0; i < ARRAY_SIZE(directives); i++)
		if (!strcmp(key, directives[i]))
			break;
	if (!strcmp(key, "group")) {
		do_group(ps, s, end);
	} else if (i < ARRAY_SIZE(directives)) {
		if (!tokenize(ps, s, end)) {
			if (!strcmp(key, "root"))
				do_root(ps);
			else if (!strcmp(key, "rule"))
				do_rule(ps);
			else
				do_filter(ps, !strcmp(key, "exclude") ?
					  RULE_EXCLUDE : RULE_INCLUDE);
		}
	} else {
		while (s < end && is_space(*s))
			s++;
		if (s < end && *s == '=') {
			do_setting(ps, key, s + 1, end);
		} else {
			struct suggest sg;

			for (i = 0; i < ARRAY_SIZE(settings); i++)
				if (!strcmp(key, settings[i]))
					break;
			if (i < ARRAY_SIZE(settings)) {
				perr(ps, "missing '=' after '%s'", key);
			} else {
				suggest_init(&sg, key);
				for (i = 0; i < ARRAY_SIZE(directives); i++)
					suggest_try(&sg, directives[i]);
				for (i = 0; i < ARRAY_SIZE(settings); i++)
					suggest_try(&sg, settings[i]);
				perr(ps, "unknown directive '%s'%s", key,
				     suggestion(ps, &sg));
			}
		}
	}
	free(key);
}

/* ---- check-config warnings --------------------------------------------- */

struct comp {
	size_t off, len;
};

/* Components of a path or tidied pattern ("/" has none); caller frees. */
static size_t split(const char *p, size_t len, struct comp **out)
{
	size_t n = 0, i = 1;

	*out = NULL;
	while (i <= len && len > 1) {
		size_t start = i;

		while (i < len && p[i] != '/')
			i++;
		*out = xrealloc(*out, (n + 1) * sizeof(**out));
		(*out)[n].off = start;
		(*out)[n++].len = i - start;
		i++;
	}
	return n;
}

static size_t ncomps(const char *p, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; len > 1 && i < len; i++)
		n += p[i] == '/';
	return n;
}

static int has_wildcard(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '*' || p[i] == '?' || p[i] == '[')
			return 1;
	}
	return 0;
}

static int is_dstar(const char *p, const struct comp *c)
{
	return c->len == 2 && p[c->off] == '*' && p[c->off + 1] == '*';
}

/*
 * Where can pattern g match relative to root r? Bit 1: r itself, bit 2:
 * something strictly below r. A "**" met before r's last component is
 * taken to reach anywhere (an over-estimate, which errs toward warning).
 */
enum { REACH_AT = 1, REACH_BELOW = 2 };
static int reach(const struct fim_glob *g, const struct comp *pc, size_t np,
		 const char *r, size_t rlen)
{
	struct comp *rc;
	size_t nr = split(r, rlen, &rc), i;
	int res = 0;

	for (i = 0; i < nr; i++) {
		if (i == np)
			goto out;
		if (is_dstar(g->pat, &pc[i])) {
			res = REACH_AT | REACH_BELOW;
			goto out;
		}
		if (!glob_match(g->pat + pc[i].off, pc[i].len, r + rc[i].off,
				rc[i].len))
			goto out;
	}
	res = i == np ? REACH_AT : REACH_BELOW;
out:
	free(rc);
	return res;
}

static size_t deciding_filter(const struct fim_config *c, const char *path,
			      size_t len)
{
	for (size_t i = c->nfilters; i-- > 0;)
		if (glob_hit(&c->filters[i].glob, path, len))
			return i;
	return NONE;
}

static int root_line(const struct parser *ps, size_t i)
{
	return i >= ps->roots0 ? ps->rootlines[i - ps->roots0] : 0;
}

static void warn_exclude(struct parser *ps, const struct fim_glob *g,
			 const struct comp *pc, size_t np)
{
	const struct fim_config *c = ps->c;
	size_t w, dstar = 0;

	for (w = 0; w < np && !has_wildcard(g->pat + pc[w].off, pc[w].len); w++)
		;
	for (size_t i = w; i < np; i++)
		dstar |= is_dstar(g->pat, &pc[i]);
	if (w == np)
		return;
	for (size_t i = 0; i < c->nroots; i++) {
		const char *r = c->roots[i];
		size_t k = ncomps(r, c->rootlens[i]);
		struct strbuf fix = STRBUF_INIT;

		if (!(reach(g, pc, np, r, c->rootlens[i]) & REACH_BELOW))
			continue;
		if (dstar && w <= k) {
			if (k)
				strbuf_add(&fix, r, c->rootlens[i]);
			strbuf_addstr(&fix, "/DIR/");
			strbuf_add(&fix, g->pat + pc[w].off,
				   g->len - pc[w].off);
			pwarn(ps, g->line, "exclude '%s' matches files anywhere under root %s: an intruder can hide there by naming a file to match; anchor it below the directory you mean, e.g. %s",
			      q(ps, g->pat, g->len), q(ps, r, c->rootlens[i]),
			      qt(ps, &fix));
		} else if (w < k) {
			pwarn(ps, g->line, "exclude '%s' matches inside root %s through a wildcard above it: an intruder can hide there by naming a file to match; spell out the directories you mean",
			      q(ps, g->pat, g->len), q(ps, r, c->rootlens[i]));
		}
		strbuf_release(&fix);
	}
}

/* An include below an excluded directory is never reached by the walk. */
static void warn_include(struct parser *ps, const struct fim_glob *g,
			 const struct comp *pc, size_t np)
{
	const struct fim_config *c = ps->c;
	struct strbuf dir = STRBUF_INIT;

	for (size_t j = 0; j + 1 < np; j++) {
		const char *p = g->pat + pc[j].off;
		int in_root = !c->nroots;
		size_t f;

		if (has_wildcard(p, pc[j].len))
			break;
		strbuf_addch(&dir, '/');
		for (size_t k = 0; k < pc[j].len; k++) {
			if (p[k] == '\\' && k + 1 < pc[j].len)
				k++;
			strbuf_addch(&dir, p[k]);
		}
		for (size_t i = 0; i < c->nroots; i++)
			in_root |= path_is_under(dir.buf, dir.len, c->roots[i],
						 c->rootlens[i]);
		f = deciding_filter(c, dir.buf, dir.len);
		if (in_root && f != NONE &&
		    c->filters[f].kind == RULE_EXCLUDE) {
			pwarn(ps, g->line, "include '%s' has no effect: %s is excluded by line %d and not descended into",
			      q(ps, g->pat, g->len), qt(ps, &dir),
			      c->filters[f].glob.line);
			break;
		}
	}
	strbuf_release(&dir);
}

static void warn_unreachable(struct parser *ps, const char *what,
			     const struct fim_glob *g, const struct comp *pc,
			     size_t np)
{
	const struct fim_config *c = ps->c;

	for (size_t i = 0; i < c->nroots; i++)
		if (reach(g, pc, np, c->roots[i], c->rootlens[i]))
			return;
	pwarn(ps, g->line, "%s '%s' cannot match anything under the roots: it has no effect",
	      what, q(ps, g->pat, g->len));
}

/*
 * A root inside another is redundant unless it is a mount point the walk
 * would stop at (one-filesystem): then listing it is how to include it.
 */
static int same_fs(const char *inner, const char *outer, int one_fs)
{
	struct stat a, b;

	if (!one_fs || lstat(inner, &a) || lstat(outer, &b))
		return 1;
	return a.st_dev == b.st_dev;
}

static void check_config(struct parser *ps)
{
	const struct fim_config *c = ps->c;
	int weak = 1;

	for (size_t i = ps->roots0; i < c->nroots; i++) {
		size_t f;

		for (size_t j = 0; j < c->nroots; j++)
			if (j != i &&
			    path_is_under(c->roots[i], c->rootlens[i],
					  c->roots[j], c->rootlens[j]) &&
			    same_fs(c->roots[i], c->roots[j],
				    c->one_filesystem))
				pwarn(ps, root_line(ps, i), "root %s is inside root %s: redundant",
				      q(ps, c->roots[i], c->rootlens[i]),
				      q(ps, c->roots[j], c->rootlens[j]));
		f = deciding_filter(c, c->roots[i], c->rootlens[i]);
		if (f != NONE && c->filters[f].kind == RULE_EXCLUDE)
			pwarn(ps, root_line(ps, i), "root %s is itself excluded by line %d: nothing under it will be recorded",
			      q(ps, c->roots[i], c->rootlens[i]),
			      c->filters[f].glob.line);
	}
	for (size_t i = ps->filters0; i < c->nfilters; i++) {
		const struct fim_filter *f = &c->filters[i];
		struct comp *pc;
		size_t np = split(f->glob.pat, f->glob.len, &pc);

		if (c->nroots)
			warn_unreachable(ps, f->kind == RULE_EXCLUDE ?
					 "exclude" : "include", &f->glob, pc, np);
		if (f->kind == RULE_EXCLUDE)
			warn_exclude(ps, &f->glob, pc, np);
		else
			warn_include(ps, &f->glob, pc, np);
		free(pc);
	}
	for (size_t i = ps->rules0; c->nroots && i < c->nrules; i++) {
		const struct fim_glob *g = &c->rules[i].glob;
		struct comp *pc;
		size_t np = split(g->pat, g->len, &pc);

		warn_unreachable(ps, "rule", g, pc, np);
		free(pc);
	}
	for (size_t i = 0; i < c->nhashes; i++)
		if (c->hash_ids[i] != HASH_MD5 && c->hash_ids[i] != HASH_SHA1)
			weak = 0;
	if (weak && ps->hashes_line)
		pwarn(ps, ps->hashes_line, "md5 and sha1 are not collision-resistant: an intruder can make a file with the same hash; add sha256");
}

/* ---- parse and load ----------------------------------------------------- */

int config_parse(struct fim_config *c, const char *path, const char *text,
		 int warn)
{
	struct parser ps;
	const char *s = text;

	memset(&ps, 0, sizeof(ps));
	ps.c = c;
	ps.warn = warn;
	strbuf_init(&ps.label, 0);
	if (path)
		strbuf_add_escaped(&ps.label, path, strlen(path));
	else
		strbuf_addstr(&ps.label, "(built-in)");
	for (size_t i = 0; i < ARRAY_SIZE(ps.ring); i++)
		strbuf_init(&ps.ring[i], 0);
	ps.roots0 = c->nroots;
	ps.filters0 = c->nfilters;
	ps.rules0 = c->nrules;

	while (*s) {
		const char *eol = strchrnul(s, '\n');

		ps.line++;
		parse_line(&ps, s, eol);
		s = *eol ? eol + 1 : eol;
	}
	for (size_t i = 0; i < ps.nhashrefs; i++) {
		char *have;
		size_t k;

		for (k = 0; k < c->nhashes; k++)
			if (c->hash_ids[k] == ps.hashrefs[i].id)
				break;
		if (k < c->nhashes)
			continue;
		have = config_hashes_str(c);
		ps.line = ps.hashrefs[i].line;
		perr(&ps, "hash algorithm '%s' is not configured (hashes = %s)",
		     hash_algo_by_id(ps.hashrefs[i].id)->name, have);
		free(have);
	}
	if (warn && !ps.errors)
		check_config(&ps);

	/* keep the whole text: a diff elsewhere must apply the same rules */
	if (*c->text && *text) {
		struct strbuf all = STRBUF_INIT;

		strbuf_addstr(&all, c->text);
		if (all.buf[all.len - 1] != '\n')
			strbuf_addch(&all, '\n');
		strbuf_addstr(&all, text);
		free(c->text);
		c->text = strbuf_detach(&all, NULL);
	} else if (*text) {
		free(c->text);
		c->text = xstrdup(text);
	}
	if (path) {
		free(c->path);
		c->path = xstrdup(path);
	}

	strbuf_release(&ps.label);
	for (size_t i = 0; i < ARRAY_SIZE(ps.ring); i++)
		strbuf_release(&ps.ring[i]);
	for (size_t i = 0; i < ps.atok; i++)
		strbuf_release(&ps.tok[i]);
	free(ps.tok);
	free(ps.quoted);
	free(ps.hashrefs);
	free(ps.rootlines);
	return ps.errors ? EXIT_CONFIG : 0;
}

int config_load(struct fim_config *c, const char *path, int warn)
{
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	int fd, ret = EXIT_CONFIG;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		error("cannot read %s: %s", escaped(path, strlen(path)),
		      strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t n;

		strbuf_grow(&sb, 8192);
		n = read(fd, sb.buf + sb.len, sb.alloc - sb.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			error("cannot read %s: %s", escaped(path, strlen(path)),
			      strerror(errno));
			goto out;
		}
		if (!n)
			break;
		strbuf_setlen(&sb, sb.len + n);
		if (sb.len > MAX_CONFIG_SIZE) {
			error("%s: too large for a config file (over %u MiB)",
			      escaped(path, strlen(path)),
			      MAX_CONFIG_SIZE >> 20);
			goto out;
		}
	}
	if (memchr(sb.buf, '\0', sb.len)) {
		error("%s: contains a NUL byte: not a config file",
		      escaped(path, strlen(path)));
		goto out;
	}
	if (warn && (st.st_mode & (S_IWGRP | S_IWOTH)))
		warning("%s: writable by group or others (mode %04o): whoever can edit it can exclude files from the scan",
			escaped(path, strlen(path)),
			(unsigned)(st.st_mode & 07777));
	ret = config_parse(c, path, sb.buf, warn);
out:
	if (fd >= 0)
		close(fd);
	strbuf_release(&sb);
	return ret;
}

/* ---- questions ---------------------------------------------------------- */

int config_excluded(const struct fim_config *c, const char *path, size_t len)
{
	size_t f = deciding_filter(c, path, len);

	return f != NONE && c->filters[f].kind == RULE_EXCLUDE;
}

uint32_t config_attrs_for(const struct fim_config *c, const char *path,
			  size_t len)
{
	for (size_t i = c->nrules; i-- > 0;)
		if (glob_hit(&c->rules[i].glob, path, len))
			return c->groups[c->rules[i].group].attrs;
	return c->groups[c->default_group].attrs;
}

/*
 * Never kept, whatever the rules say: a copy of these in the store would
 * hand them to whoever reads the store (or Elasticsearch).
 */
static const char *const secrets[] = {
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-",
	"/etc/security/opasswd", "/etc/ssh/ssh_host_*_key",
	"/etc/ssl/private/**", "/etc/krb5.keytab", "/**/*.keytab",
	"/**/*.key", "/**/*.pem", "/**/*.p12", "/**/*.pfx", "/**/*.jks",
	"/**/id_rsa", "/**/id_dsa", "/**/id_ecdsa", "/**/id_ed25519",
	"/**/id_ecdsa_sk", "/**/id_ed25519_sk", "/**/.ssh/id_*",
	"/**/.gnupg/**", "/**/.pgpass", "/**/.netrc", "/**/.git-credentials",
	"/**/.aws/credentials", "/**/.docker/config.json",
	"/etc/NetworkManager/system-connections/**",
	"/etc/wpa_supplicant/*.conf", "/etc/ppp/*-secrets",
	"/etc/sudoers.d/**", "/var/lib/sss/**",
};

int config_is_secret(const char *path, size_t len)
{
	for (size_t i = 0; i < ARRAY_SIZE(secrets); i++)
		if (glob_match(secrets[i], strlen(secrets[i]), path, len))
			return 1;
	return 0;
}

int config_content_for(const struct fim_config *c, const char *path,
		       size_t len)
{
	if (config_is_secret(path, len))
		return CONTENT_NEVER;
	for (size_t i = c->nrules; i-- > 0;)
		if (glob_hit(&c->rules[i].glob, path, len))
			return c->rules[i].content;
	return 0;
}

char *config_hashes_str(const struct fim_config *c)
{
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < c->nhashes; i++) {
		const struct fim_hash_algo *a = hash_algo_by_id(c->hash_ids[i]);

		if (i)
			strbuf_addch(&sb, ',');
		strbuf_addstr(&sb, a ? a->name : "unknown");
	}
	return strbuf_detach(&sb, NULL);
}

/* ---- command-line roots ------------------------------------------------- */

char *config_normalize_root(const char *arg, size_t *len)
{
	struct strbuf abs = STRBUF_INIT, clean = STRBUF_INIT;
	char *parent = NULL, *real = NULL, *slash;
	char *res = NULL;

	if (!*arg) {
		error("cannot resolve '': empty path");
		return NULL;
	}
	if (arg[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		if (!cwd) {
			error("cannot resolve %s: %s", escaped(arg, strlen(arg)),
			      strerror(errno));
			goto out;
		}
		strbuf_addstr(&abs, cwd);
		strbuf_addch(&abs, '/');
		free(cwd);
	}
	strbuf_addstr(&abs, arg);
	lexical_clean(&clean, abs.buf, abs.len);
	if (clean.len == 1) {
		res = strbuf_detach(&clean, len);
		goto out;
	}
	/* symlinks in the parents are resolved, the last component is not */
	slash = memrchr(clean.buf, '/', clean.len);
	parent = slash == clean.buf ? xstrdup("/") :
		 xmemdup(clean.buf, slash - clean.buf);
	real = realpath(parent, NULL);
	if (!real) {
		error("cannot resolve %s: %s", escaped(arg, strlen(arg)),
		      strerror(errno));
		goto out;
	}
	strbuf_reset(&abs);
	strbuf_addstr(&abs, real);
	if (strcmp(real, "/"))
		strbuf_addch(&abs, '/');
	strbuf_addstr(&abs, slash + 1);
	res = strbuf_detach(&abs, len);
out:
	free(parent);
	free(real);
	strbuf_release(&abs);
	strbuf_release(&clean);
	return res;
}
