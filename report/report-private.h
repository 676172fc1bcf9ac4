/*
 * report-private.h: what report.c (dispatch, JSON, shared helpers) and
 * text.c (text renderers) share. Not part of the report API.
 */
#ifndef FIMSCAN_REPORT_PRIVATE_H
#define FIMSCAN_REPORT_PRIVATE_H

#include "report/report.h"

#define REPORT_FLUSH 65536    /* write out the buffer past this size */
#define REPORT_MAX_ATTRS 32   /* 16 attributes + one per hash algorithm */

/* Defined in report.c. */
void report_flush(struct strbuf *sb, FILE *out, size_t min);
size_t report_item_attrs(const struct diff_item *it, uint32_t *bits,
			 int *ids);
const char *report_attr_label(uint32_t bit, int id);
const char *report_user_name(const struct report_opts *o, uint32_t uid);
const char *report_group_name(const struct report_opts *o, uint32_t gid);
int report_xattr_next(const struct strbuf *x, size_t *pos, const char **name,
		      size_t *namelen, const char **val, size_t *vallen);
const char *report_state_name(int state);
/* size, inode, nlink, dev or rdev of e (0 for any other bit). */
uint64_t report_attr_u64(const struct fim_entry *e, uint32_t bit);
/* {"id", "kind", "time"[, "entries"], "roots"} of a compared snapshot. */
void report_json_snapshot(struct strbuf *sb, const char *key,
			  const struct snapshot_info *s, int entries);
const struct fim_entry *report_old(const struct diff_item *it);
const struct fim_entry *report_new(const struct diff_item *it);

/* Defined in bytes.c: the --bytes part of a changed item. */
void report_json_bytes(struct strbuf *sb, const struct report_opts *o,
		       const struct diff_item *it);
void report_text_bytes(struct strbuf *sb, const struct report_opts *o,
		       const struct diff_item *it);

/* Defined in ecs.c: FMT_ECS, and the key of a hash algorithm in ECS
 * documents ("sha3_256"), *ecs set when file.hash.* has it. */
int report_ecs_diff(const struct diff_result *r, const struct report_opts *o);
const char *report_ecs_hash_key(int id, int *ecs);

/* Defined in html.c: FMT_HTML. */
int report_html_diff(const struct diff_result *r,
		     const struct report_opts *o);

/* Defined in text.c. */
int report_text_diff(const struct diff_result *r,
		     const struct report_opts *o);
void report_text_log_snapshot(struct strbuf *sb,
			      const struct snapshot_info *s);
void report_text_log_accept(struct strbuf *sb, const struct accept_info *a);
void report_text_show_begin(struct strbuf *sb, const char *path,
			    size_t len);
void report_text_show_version(struct strbuf *sb,
			      const struct report_opts *o,
			      const struct fim_entry *e);

#endif
