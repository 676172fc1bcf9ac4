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
	ATTR_ALL = (1u << 16) - 1,
	/*
	 * Not an attribute: in a group it means "a proven append is not a
	 * change" (the old content is an exact prefix of the new, so size,
	 * times and hashes moving is just growth). Any rewrite of earlier
	 * bytes is still reported.
	 */
	ATTR_GROWING = 1u << 16
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
	int content;           /* CONTENT_KEEP, CONTENT_NEVER or 0 */
};

enum { CONTENT_NEVER = -1, CONTENT_KEEP = 1 };

enum { REHASH_ALL = 0, REHASH_CHANGED = 1 };

enum { WATCH_BACKEND_INOTIFY = 0, WATCH_BACKEND_FANOTIFY = 1 };

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
	int64_t content_max_file;   /* keep no file bigger than this */
	int64_t content_max_total;  /* bytes kept in the store, 0 = no limit */
	/* Elasticsearch shipping (report/es.h); NULL or 0: not set. */
	char *es_url;          /* "elasticsearch": queue events, ship there */
	char *kibana_url;      /* "kibana": es-setup imports the dashboard */
	char *es_namespace;    /* data stream namespace ("default") */
	char *es_api_key_file, *es_credentials_file, *es_ca_file;
	char *es_pinned_key;
	int es_insecure_http;  /* allow http:// to a loopback address */
	int outbox_max;        /* events waiting for Elasticsearch, at most */
	int es_connect_ms, es_read_ms, es_request_ms;
	int es_batch;          /* documents per _bulk request */
	int es_backoff_ms, es_backoff_max_ms;
	int ship_timeout_ms;   /* ship gives up after this long stuck */
	/* `watch` (scanner/watch.c) */
	int debounce_ms;       /* a path is scanned once quiet this long */
	int64_t rescan_interval_s;  /* full rescan period, 0 = never */
	int watch_backend;     /* WATCH_BACKEND_* */
	int watch_ship;        /* watch ships the outbox itself (default 1) */
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

/*
 * Keep the bytes of `path`? CONTENT_NEVER for secrets (a built-in list
 * that no rule can override: /etc/shadow, private keys, ...) and for
 * paths whose last matching rule says no-content; CONTENT_KEEP when it
 * says content; 0 otherwise (the command line decides).
 */
int config_content_for(const struct fim_config *c, const char *path,
		       size_t len);
/* Is `path` on the built-in list of secrets? */
int config_is_secret(const char *path, size_t len);

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
