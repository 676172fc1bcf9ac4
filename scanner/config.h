/*
 * config.h: fimscan.conf(5): settings, roots, include/exclude globs, and
 * the attribute groups that decide which differences count for which
 * paths. The grammar and semantics are documented in man/fimscan.conf.5;
 * keep both in step.
 *
 * The scanner uses the roots and the include/exclude patterns; the differ
 * uses the groups and rules of the config text stored with the newer
 * snapshot (so a diff reads the same on any machine).
 */
#ifndef FIMSCAN_CONFIG_H
#define FIMSCAN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Attributes a group can select, one bit each. ATTR_HASH stands for every
 * configured hash algorithm (sha256, ...).
 */
enum {
	ATTR_TYPE = 1u << 0,
	ATTR_MODE = 1u << 1,
	ATTR_UID = 1u << 2,
	ATTR_GID = 1u << 3,
	ATTR_SIZE = 1u << 4,
	ATTR_MTIME = 1u << 5,
	ATTR_CTIME = 1u << 6,
	ATTR_INODE = 1u << 7,
	ATTR_NLINK = 1u << 8,
	ATTR_TARGET = 1u << 9,
	ATTR_XATTRS = 1u << 10,
	ATTR_FLAGS = 1u << 11,
	ATTR_DEV = 1u << 12,
	ATTR_RDEV = 1u << 13,
	ATTR_HASH = 1u << 14,
	ATTR_STATE = 1u << 15,
	ATTR_ALL = (1u << 16) - 1
};

/* Attribute name <-> bit ("sha256" etc. are hash names, not here). */
uint32_t attr_by_name(const char *name);     /* 0 if unknown */
const char *attr_name(uint32_t bit);

/* A compiled glob: see glob_match(). */
struct fim_glob {
	char *pat;          /* the pattern as written, NUL-terminated */
	size_t len;
	size_t prefix_len;  /* length of the literal part before any wildcard */
	int line;           /* config line, for messages */
};

/*
 * Match a full path (raw bytes) against an anchored glob:
 *   *      any bytes except '/'
 *   ?      one byte except '/'
 *   [...]  a byte class ([a-z], [!x] or [^x] negates)
 *   **     as a whole component ("/a/ ** /b" written without spaces)
 *          matches zero or more components; "/a/ **" everything below /a
 *   \c     the byte c literally
 * Returns 1 on match.
 */
int glob_match(const char *pat, size_t patlen, const char *path,
	       size_t pathlen);

enum { RULE_EXCLUDE = 1, RULE_INCLUDE = 2 };
struct fim_filter {
	int kind;              /* RULE_EXCLUDE / RULE_INCLUDE */
	struct fim_glob glob;
};

struct fim_group {
	char *name;
	uint32_t attrs;        /* ATTR_* bits */
};

struct fim_rule {
	struct fim_glob glob;
	size_t group;          /* index into config.groups */
};

enum { REHASH_ALL = 0, REHASH_CHANGED = 1 };

struct fim_config {
	char *path;            /* file it came from, NULL for built-in */
	char *text;            /* the whole text (stored with snapshots) */
	char *store;           /* "store" setting or NULL */
	char **roots; size_t *rootlens; size_t nroots;
	struct fim_filter *filters; size_t nfilters;
	struct fim_group *groups; size_t ngroups;  /* built-ins first */
	struct fim_rule *rules; size_t nrules;
	int hash_ids[16]; size_t nhashes;          /* enum fim_hash_id */
	int threads;           /* 0 = number of CPUs */
	int rehash;            /* REHASH_* */
	int one_filesystem;    /* 1 = do not cross mount points */
	int busy_ms;           /* wait for the store lock */
	int retries;           /* attempts for a file that changes while read */
	size_t default_group;  /* group for paths no rule names ("all") */
};

/*
 * Built-in defaults (no file): sha256, threads 0, rehash all, one
 * filesystem, groups all/perms/log/presence, no roots.
 */
void config_init(struct fim_config *c);
void config_release(struct fim_config *c);

/*
 * Parse `text` (from `path`, for messages; may be NULL) on top of the
 * defaults in `c`. Errors are printed as "PATH:LINE: MESSAGE" and counted;
 * returns 0 or EXIT_CONFIG. With `warn` set, also prints warnings (check-
 * config): unanchored excludes inside roots, rules that can never match.
 */
int config_parse(struct fim_config *c, const char *path, const char *text,
		 int warn);
/* Read and parse a file; EXIT_CONFIG if unreadable or invalid. */
int config_load(struct fim_config *c, const char *path, int warn);

/*
 * Is the path excluded? Filters are tried in order and the last one that
 * matches decides; no match means included. An excluded directory is not
 * descended into.
 */
int config_excluded(const struct fim_config *c, const char *path,
		    size_t len);

/* ATTR_* bits that count for `path` (last matching rule wins). */
uint32_t config_attrs_for(const struct fim_config *c, const char *path,
			  size_t len);

/* "sha256,sha512" for the configured hashes (caller frees). */
char *config_hashes_str(const struct fim_config *c);

/*
 * Normalize a root given by the user: make it absolute (relative to the
 * current directory), resolve symlinks in its parent directories but not
 * in its last component, drop "." and ".." and duplicate slashes.
 * Returns a malloc'd string or NULL (after error()) when the parent does
 * not exist.
 */
char *config_normalize_root(const char *arg, size_t *len);

#endif
