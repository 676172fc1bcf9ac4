/*
 * text.c: the text renderers (diff, log, show), for terminals and mail.
 *
 * Every name, path, target, user name or xattr that reaches the output
 * goes through strbuf_add_escaped() exactly once, so no file name can
 * forge a line or send a terminal escape; colour codes are ours alone and
 * wrap only the first word of a line. Times are shown in UTC so that a
 * report reads the same on every machine.
 */
#include <stdio.h>
#include <string.h>

#include "platform/platform.h"
#include "report/report.h"
#include "scanner/config.h"

#include "report/report-private.h"

#define SGR_RED "\033[31m"
#define SGR_GREEN "\033[32m"
#define SGR_YELLOW "\033[33m"
#define SGR_RESET "\033[m"

/* Longest xattr value shown in text (the JSON report has them all). */
#define XATTR_SHOW_MAX 64

/*
 * "2026-11-21 20:01:02.123456789 UTC", or without the fraction: the
 * RFC 3339 form with a space for the 'T' and " UTC" for the 'Z'.
 */
static void add_time(struct strbuf *sb, int64_t ns, int frac)
{
	size_t start = sb->len;
	char *t;

	time_add_rfc3339(sb, ns);
	t = sb->buf + start;
	t[10] = ' ';
	strbuf_setlen(sb, frac ? sb->len - 1 : start + 19);
	strbuf_addstr(sb, " UTC");
}

static void add_hex(struct strbuf *sb, const unsigned char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	strbuf_grow(sb, 2 * len);
	for (size_t i = 0; i < len; i++) {
		strbuf_addch(sb, hex[p[i] >> 4]);
		strbuf_addch(sb, hex[p[i] & 15]);
	}
}

static void add_escaped_str(struct strbuf *sb, const char *s)
{
	if (s)
		strbuf_add_escaped(sb, s, strlen(s));
	else
		strbuf_addch(sb, '-');
}

static void pad(struct strbuf *sb, size_t have, size_t width)
{
	while (have++ < width)
		strbuf_addch(sb, ' ');
}

/* "0 (root)" when the name is known, else "0". */
static void add_id(struct strbuf *sb, uint32_t id, const char *name)
{
	strbuf_addf(sb, "%u", id);
	if (name) {
		strbuf_addstr(sb, " (");
		strbuf_add_escaped(sb, name, strlen(name));
		strbuf_addch(sb, ')');
	}
}

static void add_xattrs(struct strbuf *sb, const struct strbuf *x, int values)
{
	const char *name, *val;
	size_t pos = 0, nl, vl;
	int n = 0;

	while (report_xattr_next(x, &pos, &name, &nl, &val, &vl)) {
		if (n++)
			strbuf_addstr(sb, ", ");
		strbuf_add_escaped(sb, name, nl);
		if (!values)
			continue;
		strbuf_addch(sb, '=');
		strbuf_add_escaped(sb, val,
				   vl > XATTR_SHOW_MAX ? XATTR_SHOW_MAX : vl);
		if (vl > XATTR_SHOW_MAX)
			strbuf_addstr(sb, "...");
	}
	if (!n)
		strbuf_addstr(sb, "(none)");
}

static void add_flags(struct strbuf *sb, const struct fim_entry *e)
{
	struct strbuf tmp = STRBUF_INIT;

	if (e->has_iflags)
		plat_inode_flags_str(e->iflags, &tmp);
	if (tmp.len)
		strbuf_add_escaped(sb, tmp.buf, tmp.len);
	else
		strbuf_addstr(sb, "(none)");
	strbuf_release(&tmp);
}

static void add_hash(struct strbuf *sb, const struct fim_entry *e, int id)
{
	unsigned len = 0;
	const unsigned char *d = fim_entry_hash(e, id, &len);

	if (d)
		add_hex(sb, d, len);
	else
		strbuf_addstr(sb, "(none)");
}

static const char *type_name(const struct fim_entry *e)
{
	return fim_type_name(fim_type_of(e->mode));
}

/* One attribute of one entry, for a "OLD -> NEW" line. */
static void add_value(struct strbuf *sb, const struct report_opts *o,
		      const struct fim_entry *e, uint32_t bit, int id)
{
	switch (bit) {
	case ATTR_TYPE: strbuf_addstr(sb, type_name(e)); break;
	case ATTR_MODE: strbuf_addf(sb, "%04o", e->mode & 07777); break;
	case ATTR_UID: add_id(sb, e->uid, report_user_name(o, e->uid)); break;
	case ATTR_GID:
		add_id(sb, e->gid, report_group_name(o, e->gid));
		break;
	case ATTR_SIZE: case ATTR_INODE: case ATTR_NLINK: case ATTR_DEV:
	case ATTR_RDEV:
		strbuf_addf(sb, "%llu",
			    (unsigned long long)report_attr_u64(e, bit));
		break;
	case ATTR_MTIME: add_time(sb, e->mtime_ns, 1); break;
	case ATTR_CTIME: add_time(sb, e->ctime_ns, 1); break;
	case ATTR_TARGET:
		if (e->target.len)
			strbuf_add_escaped(sb, e->target.buf, e->target.len);
		else
			strbuf_addstr(sb, "(none)");
		break;
	case ATTR_XATTRS: add_xattrs(sb, &e->xattrs, 1); break;
	case ATTR_FLAGS: add_flags(sb, e); break;
	case ATTR_STATE: strbuf_addstr(sb, report_state_name(e->state)); break;
	case ATTR_HASH: add_hash(sb, e, id); break;
	default: strbuf_addch(sb, '?'); break;
	}
}

/* ---- diff --------------------------------------------------------------- */

static void add_snap(struct strbuf *sb, const struct snapshot_info *s)
{
	const char *kind = snap_kind_name(s->kind);

	strbuf_addf(sb, "%lld (%s, ", (long long)s->id, kind ? kind : "?");
	add_time(sb, s->finished_ns, 0);
	strbuf_addch(sb, ')');
}

static void add_roots(struct strbuf *sb, const struct snapshot_info *s)
{
	for (size_t i = 0; i < s->nroots; i++) {
		if (i)
			strbuf_addstr(sb, ", ");
		strbuf_add_escaped(sb, s->roots[i], s->rootlens[i]);
	}
}

static const char *item_word(const struct diff_item *it, const char **color)
{
	switch (it->kind) {
	case DIFF_ADDED: *color = SGR_GREEN; return "added";
	case DIFF_REMOVED: *color = SGR_RED; return "removed";
	default:
		*color = SGR_YELLOW;
		return it->moved_from.len ? "moved" : "changed";
	}
}

static const struct fim_entry *item_entry(const struct diff_item *it)
{
	return it->kind == DIFF_REMOVED ? report_old(it) : report_new(it);
}

static int known_kind(const struct diff_item *it)
{
	return it->kind == DIFF_ADDED || it->kind == DIFF_REMOVED ||
	       it->kind == DIFF_CHANGED;
}

int report_text_diff(const struct diff_result *r, const struct report_opts *o)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t bits[REPORT_MAX_ATTRS];
	int ids[REPORT_MAX_ATTRS];
	size_t typew = 0, attrw = 0;

	strbuf_addstr(&sb, "fimscan: comparing ");
	add_snap(&sb, &r->a);
	strbuf_addstr(&sb, " with ");
	add_snap(&sb, &r->b);
	strbuf_addch(&sb, '\n');
	if (o->verbose) {
		strbuf_addf(&sb, "  %lld: %lld entries in ", (long long)r->a.id,
			    (long long)r->a.entries);
		add_roots(&sb, &r->a);
		strbuf_addf(&sb, "\n  %lld: %lld entries in ",
			    (long long)r->b.id, (long long)r->b.entries);
		add_roots(&sb, &r->b);
		strbuf_addch(&sb, '\n');
	}
	if (!r->added && !r->removed && !r->changed && !r->n)
		strbuf_addstr(&sb, "summary: no differences");
	else
		strbuf_addf(&sb, "summary: %zu added, %zu removed, %zu changed",
			    r->added, r->removed, r->changed);
	if (r->moved)
		strbuf_addf(&sb, " (%zu moved)", r->moved);
	if (r->b.warnings)
		strbuf_addf(&sb, ", %lld warning%s", (long long)r->b.warnings,
			    r->b.warnings == 1 ? "" : "s");
	strbuf_addch(&sb, '\n');

	/* Column widths over the whole report, so that everything aligns. */
	for (size_t i = 0; i < r->n; i++) {
		const struct diff_item *it = r->items[i];
		size_t w = strlen(type_name(item_entry(it)));

		if (!known_kind(it))
			continue;
		if (w > typew)
			typew = w;
		if (it->kind != DIFF_CHANGED)
			continue;
		for (size_t j = 0, n = report_item_attrs(it, bits, ids);
		     j < n; j++) {
			w = strlen(report_attr_label(bits[j], ids[j]));
			if (w > attrw)
				attrw = w;
		}
	}

	for (size_t i = 0; i < r->n && !ferror(o->out); i++) {
		const struct diff_item *it = r->items[i];
		const char *color, *word, *type;
		size_t n;

		if (!known_kind(it))
			continue;
		word = item_word(it, &color);
		type = type_name(item_entry(it));
		if (o->color)
			strbuf_addf(&sb, "%s%s%s", color, word, SGR_RESET);
		else
			strbuf_addstr(&sb, word);
		pad(&sb, strlen(word), 8);
		strbuf_addstr(&sb, type);
		pad(&sb, strlen(type), typew + 1);
		strbuf_add_escaped(&sb, it->path.buf, it->path.len);
		if (it->kind == DIFF_CHANGED && it->moved_from.len) {
			strbuf_addstr(&sb, " (from ");
			strbuf_add_escaped(&sb, it->moved_from.buf,
					   it->moved_from.len);
			strbuf_addch(&sb, ')');
		}
		strbuf_addch(&sb, '\n');
		if (it->kind != DIFF_CHANGED)
			goto next;
		n = report_item_attrs(it, bits, ids);
		for (size_t j = 0; j < n; j++) {
			const char *label = report_attr_label(bits[j], ids[j]);

			strbuf_addstr(&sb, "    ");
			strbuf_addstr(&sb, label);
			pad(&sb, strlen(label), attrw + 2);
			add_value(&sb, o, report_old(it), bits[j], ids[j]);
			strbuf_addstr(&sb, " -> ");
			add_value(&sb, o, report_new(it), bits[j], ids[j]);
			strbuf_addch(&sb, '\n');
		}
		report_text_bytes(&sb, o, it);
next:
		report_flush(&sb, o->out, REPORT_FLUSH);
	}
	report_flush(&sb, o->out, 0);
	strbuf_release(&sb);
	return report_finish(o->out);
}

/* ---- log ---------------------------------------------------------------- */

/* "0.25s", "12.5s", "3m07s", "2h05m"; "-" for an unknown duration. */
static void add_duration(struct strbuf *sb, int64_t started, int64_t finished)
{
	int64_t ms;

	if (!finished || finished < started) {
		strbuf_addch(sb, '-');
		return;
	}
	ms = (finished - started) / 1000000;
	if (ms < 10000)
		strbuf_addf(sb, "%lld.%02llds", (long long)(ms / 1000),
			    (long long)(ms % 1000 / 10));
	else if (ms < 60000)
		strbuf_addf(sb, "%lld.%llds", (long long)(ms / 1000),
			    (long long)(ms % 1000 / 100));
	else if (ms < 3600000)
		strbuf_addf(sb, "%lldm%02llds", (long long)(ms / 60000),
			    (long long)(ms / 1000 % 60));
	else
		strbuf_addf(sb, "%lldh%02lldm", (long long)(ms / 3600000),
			    (long long)(ms / 60000 % 60));
}

void report_text_log_snapshot(struct strbuf *sb, const struct snapshot_info *s)
{
	const char *kind = snap_kind_name(s->kind);
	size_t start;

	strbuf_addf(sb, "%6lld%c %-8s  ", (long long)s->id,
		    s->is_baseline ? '*' : ' ', kind ? kind : "?");
	add_time(sb, s->started_ns, 0);
	strbuf_addstr(sb, "  ");
	start = sb->len;
	add_duration(sb, s->started_ns, s->finished_ns);
	pad(sb, sb->len - start, 7);
	strbuf_addf(sb, "  %9lld entries  ", (long long)s->entries);
	start = sb->len;
	strbuf_addf(sb, "+%lld -%lld ~%lld", (long long)s->added,
		    (long long)s->removed, (long long)s->changed);
	pad(sb, sb->len - start, 20);
	if (s->warnings)
		strbuf_addf(sb, "  %lld warning%s", (long long)s->warnings,
			    s->warnings == 1 ? "" : "s");
	strbuf_addstr(sb, "  ");
	add_roots(sb, s);
	strbuf_addch(sb, '\n');
}

void report_text_log_accept(struct strbuf *sb, const struct accept_info *a)
{
	strbuf_addf(sb, "accept %lld  ", (long long)a->id);
	add_time(sb, a->time_ns, 0);
	strbuf_addstr(sb, "  ");
	add_escaped_str(sb, a->user);
	strbuf_addf(sb, "  into baseline (from snapshot %lld, %lld entr%s: ",
		    (long long)a->to_snap, (long long)a->count,
		    a->count == 1 ? "y" : "ies");
	if (a->paths && *a->paths)
		add_escaped_str(sb, a->paths);
	else
		strbuf_addstr(sb, "all");
	strbuf_addstr(sb, ")\n");
}

/* ---- show --------------------------------------------------------------- */

#define SHOW_LABEL 10   /* "blake2b512", "sha512-256" */

void report_text_show_begin(struct strbuf *sb, const char *path, size_t len)
{
	strbuf_add_escaped(sb, path, len);
	strbuf_addch(sb, '\n');
}

static void show_label(struct strbuf *sb, const char *label)
{
	strbuf_addstr(sb, "    ");
	strbuf_addstr(sb, label);
	pad(sb, strlen(label), SHOW_LABEL + 2);
}

void report_text_show_version(struct strbuf *sb, const struct report_opts *o,
			      const struct fim_entry *e)
{
	static const uint32_t always[] = {
		ATTR_TYPE, ATTR_SIZE, ATTR_MODE, ATTR_UID, ATTR_GID,
		ATTR_MTIME, ATTR_CTIME, ATTR_INODE, ATTR_NLINK,
	};
	enum fim_type t = fim_type_of(e->mode);

	strbuf_addf(sb, "  snapshots %lld..", (long long)e->born);
	if (e->died)
		strbuf_addf(sb, "%lld", (long long)e->died);
	strbuf_addch(sb, '\n');
	for (size_t i = 0; i < ARRAY_SIZE(always); i++) {
		show_label(sb, report_attr_label(always[i], 0));
		add_value(sb, o, e, always[i], 0);
		strbuf_addch(sb, '\n');
	}
	if (t == FT_CHR || t == FT_BLK) {
		show_label(sb, report_attr_label(ATTR_RDEV, 0));
		add_value(sb, o, e, ATTR_RDEV, 0);
		strbuf_addch(sb, '\n');
	}
	if (t == FT_SYMLINK) {
		show_label(sb, report_attr_label(ATTR_TARGET, 0));
		add_value(sb, o, e, ATTR_TARGET, 0);
		strbuf_addch(sb, '\n');
	}
	for (int id = 1; id < HASH_MAX_ID; id++) {
		if (!fim_entry_hash(e, id, NULL))
			continue;
		show_label(sb, report_attr_label(ATTR_HASH, id));
		add_hash(sb, e, id);
		strbuf_addch(sb, '\n');
	}
	if (e->state != FS_OK) {
		show_label(sb, report_attr_label(ATTR_STATE, 0));
		strbuf_addstr(sb, report_state_name(e->state));
		strbuf_addch(sb, '\n');
	}
	if (e->has_iflags) {
		struct strbuf tmp = STRBUF_INIT;

		plat_inode_flags_str(e->iflags, &tmp);
		if (tmp.len) {
			show_label(sb, report_attr_label(ATTR_FLAGS, 0));
			strbuf_add_escaped(sb, tmp.buf, tmp.len);
			strbuf_addch(sb, '\n');
		}
		strbuf_release(&tmp);
	}
	if (e->xattrs.len) {
		show_label(sb, report_attr_label(ATTR_XATTRS, 0));
		add_xattrs(sb, &e->xattrs, 0);
		strbuf_addch(sb, '\n');
	}
}
