/*
 * cmd.h: the command table. Each command is a descriptor (tmux style);
 * main() parses the global options, finds the command (an unambiguous
 * prefix is fine), loads the config and opens the store as the flags say,
 * and returns the command's value as the exit status.
 *
 * The usage strings are the SYNOPSIS lines of fimscan(1); the CLI test
 * t0450-usage-vs-man.sh checks that they agree.
 */
#ifndef FIMSCAN_CMD_H
#define FIMSCAN_CMD_H

#include "scanner/config.h"
#include "store/store.h"
#include "report/report.h"

#include <getopt.h>

#define USAGE_MAIN "fimscan [-qv] [-c config] [--db path] command [arg ...]"

struct cmd_ctx {
	const char *db_path;       /* resolved store path */
	struct fim_config cfg;     /* defaults + the config file, if any */
	struct store *st;          /* opened as the command's flags say */
	int tty_out;               /* stdout is a terminal */
	int tty_err;               /* stderr is a terminal */
};

enum {
	CMD_STORE_READ = 1 << 0,   /* open the store read-only (must exist) */
	CMD_STORE_WRITE = 1 << 1,  /* open it for writing (create if missing) */
};

struct cmd_entry {
	const char *name;
	const char *usage;         /* without the "usage: " prefix */
	const char *summary;       /* one line for `fimscan help` */
	const char *options;       /* option lines for -h (may be NULL) */
	int flags;
	int (*exec)(int argc, char **argv, struct cmd_ctx *ctx);
};

extern const struct cmd_entry cmd_baseline_entry, cmd_scan_entry,
	cmd_diff_entry, cmd_log_entry, cmd_show_entry, cmd_accept_entry,
	cmd_check_config_entry;
extern const struct cmd_entry cmd_report_entry;
extern const struct cmd_entry cmd_ship_entry, cmd_es_setup_entry;
extern const struct cmd_entry cmd_prune_entry;
extern const struct cmd_entry cmd_watch_entry, cmd_events_entry;

/*
 * Print "usage: USAGE" and the option lines to `to` (stdout for -h,
 * stderr for mistakes); returns EXIT_USAGE for `return usage(...)`.
 */
int cmd_usage(const struct cmd_entry *e, int to_stdout);

/*
 * A list of normalized full paths (raw bytes, NUL-terminated), as the
 * store and scanner take them.
 */
struct path_list {
	char **v;
	size_t *len;
	size_t n, alloc;
};
void path_list_add(struct path_list *l, char *path, size_t len); /* owns */
void path_list_release(struct path_list *l);

/*
 * Parse the command's options with getopt_long (permuting, so options may
 * follow operands), never looking past "--". `optstring`/`longopts` as for
 * getopt_long; `fn` handles each option and returns 0 or EXIT_USAGE.
 * Sets *nops to the number of operands before "--" (moved to the front of
 * argv + 1) and *dashdash to the index just past "--" (argc if none).
 */
int cmd_parse(const struct cmd_entry *e, int argc, char **argv,
	      const char *optstring, const struct option *longopts,
	      int (*fn)(int opt, const char *arg, void *data), void *data,
	      int *first, int *nops, int *dashdash);

/*
 * The roots to scan: the operands (resolved with config_normalize_root),
 * or the config's roots when there are none. Nested roots are dropped.
 * EXIT_USAGE when there are none at all or one cannot be resolved.
 */
int cmd_roots(struct cmd_ctx *ctx, char **ops, int nops,
	      struct path_list *out);

/*
 * A path naming stored entries (diff, show, accept): made absolute and
 * cleaned lexically (no symlink resolution: the entry may be gone).
 */
void cmd_path_arg(const char *arg, struct path_list *out);

/* --format text|json; EXIT_USAGE with a message if neither. */
int cmd_format(const char *arg, int *fmt);

/* Report options for stdout: colour only on a terminal without NO_COLOR. */
void cmd_report_opts(struct cmd_ctx *ctx, int fmt, struct report_opts *o);

/*
 * events.c: when the config names an Elasticsearch URL, baseline and scan
 * queue each snapshot's changes in the outbox from inside the snapshot's
 * transaction (scan_options.before_commit = events_before_commit,
 * hook_data = the events_hook). events_hook_init() returns 1 when
 * shipping is configured, 0 when not.
 */
struct events_hook {
	const char *ns;            /* data stream namespace */
	int64_t max;               /* outbox-max */
	struct ecs_ctx ecs;
	int64_t queued, dropped;   /* by this run */
};
int events_hook_init(struct events_hook *h, const struct fim_config *cfg);
int events_before_commit(struct store *st, int64_t snap, void *data);
/*
 * Queue a coverage-gap event (event.action "coverage_gap"): changes that
 * were not or will not be seen or shipped. The outbox's own overflow
 * uses it (reason "outbox_overflow"); `watch`, through
 * events_record_gap(), for each coverage gap it records (its kernel
 * queue overflowed, a subtree without watches, a root gone). Inside a
 * transaction or on its own; it does not bound the outbox.
 */
struct events_gap {
	int64_t snap;              /* 0: none */
	const char *reason;        /* "outbox_overflow", or as watch
				    * records gaps: "overflow", "lost",
				    * "unwatched" */
	const char *message;       /* a sentence for people */
	const char *path;          /* raw bytes, NULL: all the roots */
	size_t pathlen;
	int64_t since_ns;          /* when it began (event.start), 0: now */
	int64_t events;            /* events lost, -1: unknown */
	int64_t first_seq, last_seq;   /* outbox overflow: what went */
};
int events_queue_gap(struct events_hook *h, struct store *st,
		     const struct events_gap *g);
/*
 * `watch`'s coverage gaps: queue the gap's document, then keep the
 * outbox within outbox-max (dropping the oldest, counted, with an
 * "outbox_overflow" gap document in their place), in the caller's
 * transaction: the gap's own, so its event, its document and what the
 * bound drops commit together. 0 or EXIT_*.
 */
int events_record_gap(struct events_hook *h, struct store *st,
		      const struct events_gap *g);

/*
 * cmd-ship.c: the connection settings for Elasticsearch (or Kibana at
 * `url`) from the config, with --es-url / --api-key-file taking
 * precedence when given (NULL: the config's).
 */
struct es_options;
void cmd_es_options(struct cmd_ctx *ctx, const char *url,
		    const char *key_file, struct es_options *eo);
/* All of `ship`'s settings from the config alone (the watch daemon). */
struct es_ship_options;
void cmd_ship_options(struct cmd_ctx *ctx, struct es_options *eo,
		      struct es_ship_options *so);

#endif
