/*
 * base.h: the small runtime every fimscan module uses.
 *
 *   - exit statuses (the contract of fimscan(1), EXIT STATUS)
 *   - error reporting: error()/warning() print once, to stderr, with the
 *     program name; library code returns codes and never exits
 *   - allocation that cannot return NULL (xmalloc and friends abort with a
 *     message on ENOMEM: there is nothing sensible a scanner can do then)
 *   - strbuf: a growable byte buffer, always NUL-terminated, that may hold
 *     NUL bytes; the way fimscan carries file names (which are bytes)
 */
#ifndef FIMSCAN_BASE_H
#define FIMSCAN_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Exit statuses. 0..15 is a bitmask of findings, 16 and up are failures
 * where nothing of the command's result should be trusted. Keep in sync with
 * man/fimscan.1, EXIT STATUS.
 */
enum {
	EXIT_ADDED = 1,          /* entries were added */
	EXIT_REMOVED = 2,        /* entries were removed */
	EXIT_CHANGED = 4,        /* entries changed (including moved) */
	EXIT_WARNINGS = 8,       /* some entries could not be read completely */
	EXIT_USAGE = 16,         /* bad command line */
	EXIT_CONFIG = 17,        /* bad configuration file */
	EXIT_STORE = 18,         /* store cannot be opened or is unusable */
	EXIT_BUSY = 19,          /* another fimscan is writing the store */
	EXIT_NOSNAP = 20,        /* snapshot reference does not resolve */
	EXIT_OUTPUT = 21,        /* writing the report failed */
	EXIT_FULL = 22,          /* disk full under the store */
	EXIT_INTERRUPTED = 23,   /* SIGINT/SIGTERM: nothing was committed */
	EXIT_INTERNAL = 24,      /* internal error (out of memory, bug) */
	EXIT_REMOTE = 25         /* Elasticsearch/Kibana unreachable or refused */
};

/* Name used as the prefix of messages ("fimscan"). */
extern const char *prog_name;

/*
 * Verbosity: 0 = -q (errors only), 1 = default (errors and warnings),
 * 2 = -v (also informational notes).
 */
extern int verbosity;

/*
 * Nonzero: messages start with their syslog priority in the form
 * journald reads from a service's stderr ("<3>" errors, "<4>" warnings,
 * "<6>" notes; sd-daemon(3)). `watch` sets it when stderr is the journal
 * (JOURNAL_STREAM).
 */
extern int msg_journal;

/* Print "fimscan: error: MSG\n" to stderr; returns -1 for `return error()`. */
int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "fimscan: warning: MSG\n" unless -q; returns -1. */
int warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "fimscan: MSG\n" only with -v. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "fimscan: MSG\n" unless -q: a daemon's news (ready, recovered). */
void inform(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For fatal internal errors (allocation failure, broken invariant). */
_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);  /* result has an extra NUL byte */

/* Grow an array `p` of `alloc` elements so that it holds at least `nr`. */
#define ALLOC_GROW(p, nr, alloc)                                              \
	do {                                                                  \
		if ((nr) > (alloc)) {                                         \
			(alloc) = (alloc) < 16 ? 16 : (alloc) * 2;            \
			if ((alloc) < (nr))                                   \
				(alloc) = (nr);                               \
			(p) = xrealloc((p), (alloc) * sizeof(*(p)));          \
		}                                                             \
	} while (0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/*
 * strbuf: `buf` always points to valid, NUL-terminated memory (an empty
 * static string before the first growth), `len` bytes of content that may
 * include NULs. STRBUF_INIT or strbuf_init() before use; strbuf_release()
 * frees; strbuf_detach() hands the buffer to the caller (free() it).
 */
struct strbuf {
	size_t alloc;
	size_t len;
	char *buf;
};
extern char strbuf_slopbuf[];
#define STRBUF_INIT { 0, 0, strbuf_slopbuf }

void strbuf_init(struct strbuf *sb, size_t hint);
void strbuf_release(struct strbuf *sb);
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_setlen(struct strbuf *sb, size_t len);
#define strbuf_reset(sb) strbuf_setlen((sb), 0)
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/*
 * Append `len` bytes for a terminal or a text report: valid UTF-8 passes
 * through; control bytes (< 0x20, 0x7f), C1 controls, invalid UTF-8 and
 * the backslash itself become \xNN (backslash: \\), so no name can forge a
 * line or send a terminal escape, and the escaping is reversible.
 */
void strbuf_add_escaped(struct strbuf *sb, const void *data, size_t len);
/* The same into a per-thread static buffer: for messages only. */
const char *escaped(const void *data, size_t len);

/*
 * Path helpers on raw byte strings. Entries are identified by (dir, name):
 * the directory's full path and the entry's name. The root "/" itself is
 * the entry ("", "/"). path_join() builds the full path into `out`
 * (replacing its content).
 */
void path_join(struct strbuf *out, const char *dir, size_t dirlen,
	       const char *name, size_t namelen);
/* Split a full path into its directory and name (inverse of path_join). */
void path_split(const char *path, size_t len, size_t *dirlen,
		const char **name, size_t *namelen);
/*
 * Is `path` equal to `root` or below it? Both are full, normalized paths
 * (no trailing slash except "/").
 */
int path_is_under(const char *path, size_t len, const char *root,
		  size_t rootlen);

/* The value of a hexadecimal digit, or -1. */
int hex_value(int c);

/* Current time as nanoseconds since the epoch. */
int64_t now_ns(void);
/* CLOCK_MONOTONIC in nanoseconds: for deadlines and waits. */
int64_t mono_ns(void);
/* RFC 3339 UTC with nanoseconds: 2026-11-21T20:01:02.123456789Z */
void time_add_rfc3339(struct strbuf *sb, int64_t ns);
/* Number of online CPUs, at least 1. */
int ncpus(void);

#endif
