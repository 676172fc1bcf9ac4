/*
 * report.h: renderers. Names are raw bytes until they reach a sink, and
 * each sink escapes them exactly once:
 *   text  control bytes and invalid UTF-8 as \xNN (strbuf_add_escaped)
 *   json  \u escapes for controls, U+FFFD for invalid UTF-8 plus the exact
 *         bytes in "*_base64"
 * Output goes through stdio; callers check report_finish() so that a full
 * disk under a redirected report is an error (EXIT_OUTPUT), not a silently
 * truncated file.
 */
#ifndef FIMSCAN_REPORT_H
#define FIMSCAN_REPORT_H

#include <stdio.h>

#include "differ/differ.h"
#include "store/store.h"

enum report_format { FMT_TEXT = 0, FMT_JSON = 1, FMT_ECS = 2, FMT_HTML = 3 };
/* "text" / "json" / "ecs" / "html" -> FMT_*, -1 if unknown. */
int report_format_by_name(const char *name);

struct report_opts {
	int format;        /* enum report_format */
	int color;         /* ANSI colour (text, only when out is a tty) */
	FILE *out;
	struct store *st;  /* user/group names; may be NULL */
	int verbose;       /* text: also list unchanged counts, details */
	int content;       /* --content: show the new bytes of ranges */
	uint64_t max_bytes;  /* text: content shown per file, 0 = none */
	const char *ecs_ns;  /* ecs: data stream namespace (NULL: "default") */
	const char *title;   /* html: page title (NULL: host and snapshots) */
};

/* The comparison of two states (scan, diff). */
int report_diff(const struct diff_result *r, const struct report_opts *o);

/* `log`: snapshots and accepts. Called once per row, then finished. */
struct report_log;
struct report_log *report_log_begin(const struct report_opts *o);
void report_log_snapshot(struct report_log *l, const struct snapshot_info *s);
void report_log_accept(struct report_log *l, const struct accept_info *a);
int report_log_end(struct report_log *l);

/* `show`: the versions of one path. */
struct report_show;
struct report_show *report_show_begin(const struct report_opts *o,
				      const char *path, size_t len);
void report_show_version(struct report_show *s, const struct fim_entry *e);
/*
 * The same, then how the bytes changed from the previous version
 * (`show --versions`): `it` as diff_bytes() left it, shown as in a diff
 * (JSON "bytes" and "ranges"; state "none" with no range when the
 * content is the same); NULL when there is nothing to say.
 */
void report_show_version_bytes(struct report_show *s,
			       const struct fim_entry *e,
			       const struct diff_item *it);
int report_show_end(struct report_show *s);

/*
 * Flush and check `out` (EXIT_OUTPUT with a message naming the error, e.g.
 * "no space left on device", or 0).
 */
int report_finish(FILE *out);

/*
 * ECS (Elastic Common Schema 9.4) documents, one per change, shaped like
 * Auditbeat's file_integrity events, fimscan's own fields under
 * "fimscan.". `ns` is the data stream namespace ("default").
 * report_ecs_item() appends one document (no newline) to `sb`;
 * report_ecs_id() appends its deterministic _id (the same change always
 * gets the same id, on any machine and after any restart: shipping is
 * exactly-once through create + 409). FMT_ECS in report_diff() prints the
 * documents as NDJSON; FMT_HTML renders one self-contained HTML file.
 */
struct ecs_ctx {
	const char *ns;             /* data stream namespace */
	const char *host_name;
	const char *host_id;        /* /etc/machine-id, may be NULL */
	const char *os_type;        /* host.os.*: "linux"; each may be NULL */
	const char *os_name, *os_version, *os_family, *os_platform;
	const char *os_kernel;      /* uname -r */
};
void ecs_ctx_init(struct ecs_ctx *c, const char *ns);  /* host from the OS */
void report_ecs_item(struct strbuf *sb, const struct diff_result *r,
		     const struct diff_item *it, const struct ecs_ctx *c,
		     const struct report_opts *o);
void report_ecs_id(struct strbuf *sb, const struct diff_result *r,
		   const struct diff_item *it, const struct ecs_ctx *c);

/* JSON helpers, shared by every JSON-producing sink. */
void json_add_string(struct strbuf *sb, const void *data, size_t len);
void json_add_path(struct strbuf *sb, const char *key, const void *data,
		   size_t len);   /* "key": "...", "key_base64": "..." */
void base64_add(struct strbuf *sb, const void *data, size_t len);
void json_add_key(struct strbuf *sb, const char *key);      /* "key": */
void json_add_cstr(struct strbuf *sb, const char *s);       /* or null */
void json_add_time(struct strbuf *sb, int64_t ns);          /* "RFC 3339" */

#endif
