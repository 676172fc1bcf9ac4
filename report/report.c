/*
 * report.c: the renderers' front door and the JSON renderers.
 *
 *   - helpers shared with text.c (declared below, since the module has no
 *     private header): buffered output, attribute lists, names, xattrs
 *   - report_diff, report_log_*, report_show_*: dispatch on the format
 *   - the JSON renderers for diff, log and show
 *   - report_finish
 *
 * Output is built in a strbuf and written to the stream every
 * REPORT_FLUSH bytes, so a report of a million changes does not sit in
 * memory; a failed write stops the rendering early and report_finish()
 * says why.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform/platform.h"
#include "report/report.h"
#include "scanner/config.h"

#include "report/report-private.h"

/* errno of the last failed write, for report_finish's message. */
static int write_errno;
/* The stream whose failure report_finish() has already reported. */
static FILE *reported;

/* A renderer starts on `out`: a healthy stream has no failure on record
 * (a new FILE may reuse the address of a failed, closed one). */
static void report_start(FILE *out)
{
	if (out == reported && !ferror(out))
		reported = NULL;
}

/* Write sb to out if it holds at least `min` bytes, then empty it. */
void report_flush(struct strbuf *sb, FILE *out, size_t min)
{
	if (!sb->len || sb->len < min)
		return;
	if (!ferror(out) && fwrite(sb->buf, 1, sb->len, out) != sb->len)
		write_errno = errno;
	strbuf_reset(sb);
}

/* Stands in for the side an item lacks (old of an addition, ...). */
static const struct fim_entry no_entry = {
	.name = STRBUF_INIT, .target = STRBUF_INIT, .xattrs = STRBUF_INIT,
};

const struct fim_entry *report_old(const struct diff_item *it)
{
	return it->old ? it->old : &no_entry;
}

const struct fim_entry *report_new(const struct diff_item *it)
{
	return it->new ? it->new : &no_entry;
}

/* Fixed report order of the non-hash attributes. */
static const uint32_t attr_order[] = {
	ATTR_TYPE, ATTR_MODE, ATTR_UID, ATTR_GID, ATTR_SIZE, ATTR_MTIME,
	ATTR_CTIME, ATTR_INODE, ATTR_NLINK, ATTR_DEV, ATTR_RDEV, ATTR_TARGET,
	ATTR_XATTRS, ATTR_FLAGS, ATTR_STATE,
};

/*
 * Hash algorithms whose digests differ between old and new: the differ's
 * hash_ids, or, should it have left them out, the algorithms both sides
 * have with different digests (failing that, every algorithm either side
 * has, so that a counted hash change is never reported without a name).
 */
static uint32_t item_hash_ids(const struct diff_item *it)
{
	uint32_t ids = it->hash_ids, any = 0;

	if (ids)
		return ids;
	for (int id = 1; id < HASH_MAX_ID; id++) {
		unsigned la = 0, lb = 0;
		const unsigned char *a = fim_entry_hash(report_old(it), id, &la);
		const unsigned char *b = fim_entry_hash(report_new(it), id, &lb);

		if (a && b && (la != lb || memcmp(a, b, la)))
			ids |= 1u << id;
		if (a || b)
			any |= 1u << id;
	}
	return ids ? ids : any;
}

/*
 * The attributes to list for a changed item, in report order: bits[i] is
 * the ATTR_* bit, ids[i] the hash id when bits[i] is ATTR_HASH. Hashes are
 * listed only when ATTR_HASH counts for the item.
 */
size_t report_item_attrs(const struct diff_item *it, uint32_t *bits,
			 int *ids)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(attr_order); i++) {
		if (it->attrs & attr_order[i]) {
			bits[n] = attr_order[i];
			ids[n++] = 0;
		}
	}
	if (it->attrs & ATTR_HASH) {
		uint32_t h = item_hash_ids(it);
		for (int id = 1; id < HASH_MAX_ID && id < 32; id++) {
			if ((h & (1u << id)) && hash_algo_by_id(id)) {
				bits[n] = ATTR_HASH;
				ids[n++] = id;
			}
		}
	}
	return n;
}

const char *report_attr_label(uint32_t bit, int id)
{
	static const struct { uint32_t bit; const char *name; } fallback[] = {
		{ ATTR_TYPE, "type" }, { ATTR_MODE, "mode" },
		{ ATTR_UID, "uid" }, { ATTR_GID, "gid" },
		{ ATTR_SIZE, "size" }, { ATTR_MTIME, "mtime" },
		{ ATTR_CTIME, "ctime" }, { ATTR_INODE, "inode" },
		{ ATTR_NLINK, "nlink" }, { ATTR_DEV, "dev" },
		{ ATTR_RDEV, "rdev" }, { ATTR_TARGET, "target" },
		{ ATTR_XATTRS, "xattrs" }, { ATTR_FLAGS, "flags" },
		{ ATTR_STATE, "state" },
	};
	const char *name;

	if (bit == ATTR_HASH) {
		const struct fim_hash_algo *h = hash_algo_by_id(id);
		return h ? h->name : "hash";
	}
	name = attr_name(bit);
	if (name)
		return name;
	for (size_t i = 0; i < ARRAY_SIZE(fallback); i++)
		if (fallback[i].bit == bit)
			return fallback[i].name;
	return "unknown";
}

/* Names as the scans recorded them, else as this host knows them. */
const char *report_user_name(const struct report_opts *o, uint32_t uid)
{
	return o->st ? store_user_name(o->st, uid) : plat_user_name(uid);
}

const char *report_group_name(const struct report_opts *o, uint32_t gid)
{
	return o->st ? store_group_name(o->st, gid) : plat_group_name(gid);
}

static int get_u32le(const struct strbuf *x, size_t pos, size_t *v)
{
	const unsigned char *p = (const unsigned char *)x->buf + pos;

	if (pos > x->len || x->len - pos < 4)
		return -1;
	*v = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 |
	     (size_t)p[3] << 24;
	return 0;
}

/*
 * Iterate over packed xattrs (plat_xattrs() format). Returns 1 with the
 * next pair, 0 at the end or on a malformed record.
 */
int report_xattr_next(const struct strbuf *x, size_t *pos, const char **name,
		      size_t *namelen, const char **val, size_t *vallen)
{
	size_t p = *pos, nl, vl;

	if (get_u32le(x, p, &nl) || x->len - (p + 4) < nl)
		return 0;
	*name = x->buf + p + 4;
	*namelen = nl;
	p += 4 + nl;
	if (get_u32le(x, p, &vl) || x->len - (p + 4) < vl)
		return 0;
	*val = x->buf + p + 4;
	*vallen = vl;
	*pos = p + 4 + vl;
	return 1;
}

const char *report_state_name(int state)
{
	switch (state) {
	case FS_OK: return "ok";
	case FS_UNSTABLE: return "unstable";
	case FS_UNREADABLE: return "unreadable";
	default: return "unknown";
	}
}

/* ---- JSON values ------------------------------------------------------ */

static void add_hex(struct strbuf *sb, const unsigned char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	strbuf_grow(sb, 2 * len);
	for (size_t i = 0; i < len; i++) {
		strbuf_addch(sb, hex[p[i] >> 4]);
		strbuf_addch(sb, hex[p[i] & 15]);
	}
}

static void json_hash(struct strbuf *sb, const struct fim_entry *e, int id)
{
	unsigned len = 0;
	const unsigned char *d = fim_entry_hash(e, id, &len);

	if (!d) {
		strbuf_addstr(sb, "null");
		return;
	}
	strbuf_addch(sb, '"');
	add_hex(sb, d, len);
	strbuf_addch(sb, '"');
}

static void json_xattrs(struct strbuf *sb, const struct strbuf *x)
{
	const char *name, *val;
	size_t pos = 0, nl, vl;
	int first = 1;

	strbuf_addch(sb, '{');
	while (report_xattr_next(x, &pos, &name, &nl, &val, &vl)) {
		if (!first)
			strbuf_addch(sb, ',');
		first = 0;
		json_add_string(sb, name, nl);
		strbuf_addstr(sb, ":\"");
		base64_add(sb, val, vl);
		strbuf_addch(sb, '"');
	}
	strbuf_addch(sb, '}');
}

static void json_flags(struct strbuf *sb, const struct fim_entry *e)
{
	struct strbuf tmp = STRBUF_INIT;

	if (!e->has_iflags) {
		strbuf_addstr(sb, "null");
		return;
	}
	plat_inode_flags_str(e->iflags, &tmp);
	json_add_string(sb, tmp.buf, tmp.len);
	strbuf_release(&tmp);
}

static const char *type_name(const struct fim_entry *e)
{
	return fim_type_name(fim_type_of(e->mode));
}

uint64_t report_attr_u64(const struct fim_entry *e, uint32_t bit)
{
	switch (bit) {
	case ATTR_SIZE: return e->size;
	case ATTR_INODE: return e->ino;
	case ATTR_NLINK: return e->nlink;
	case ATTR_DEV: return e->dev;
	case ATTR_RDEV: return e->rdev;
	default: return 0;
	}
}

/* The value of one attribute of one entry (not target: see below). */
static void json_value(struct strbuf *sb, const struct fim_entry *e,
		       uint32_t bit, int id)
{
	switch (bit) {
	case ATTR_TYPE: json_add_cstr(sb, type_name(e)); break;
	case ATTR_MODE: strbuf_addf(sb, "\"%04o\"", e->mode & 07777); break;
	case ATTR_UID: strbuf_addf(sb, "%u", e->uid); break;
	case ATTR_GID: strbuf_addf(sb, "%u", e->gid); break;
	case ATTR_SIZE: case ATTR_INODE: case ATTR_NLINK: case ATTR_DEV:
	case ATTR_RDEV:
		strbuf_addf(sb, "%llu",
			    (unsigned long long)report_attr_u64(e, bit));
		break;
	case ATTR_MTIME: json_add_time(sb, e->mtime_ns); break;
	case ATTR_CTIME: json_add_time(sb, e->ctime_ns); break;
	case ATTR_TARGET: json_add_string(sb, e->target.buf, e->target.len);
		break;
	case ATTR_XATTRS: json_xattrs(sb, &e->xattrs); break;
	case ATTR_FLAGS: json_flags(sb, e); break;
	case ATTR_STATE: json_add_cstr(sb, report_state_name(e->state)); break;
	case ATTR_HASH: json_hash(sb, e, id); break;
	default: strbuf_addstr(sb, "null"); break;
	}
}

/* "name": {"old": ..., "new": ...} for one changed attribute. */
static void json_detail(struct strbuf *sb, const struct report_opts *o,
			const struct diff_item *it, uint32_t bit, int id)
{
	const struct fim_entry *a = report_old(it), *b = report_new(it);
	const char *on = NULL, *nn = NULL;

	json_add_key(sb, report_attr_label(bit, id));
	strbuf_addch(sb, '{');
	if (bit == ATTR_TARGET) {
		json_add_path(sb, "old", a->target.buf, a->target.len);
		strbuf_addch(sb, ',');
		json_add_path(sb, "new", b->target.buf, b->target.len);
		strbuf_addch(sb, '}');
		return;
	}
	strbuf_addstr(sb, "\"old\":");
	json_value(sb, a, bit, id);
	strbuf_addstr(sb, ",\"new\":");
	json_value(sb, b, bit, id);
	/* plat_*_name's buffer is reused by the next call: emit at once. */
	if (bit == ATTR_UID) {
		if ((on = report_user_name(o, a->uid))) {
			strbuf_addstr(sb, ",\"old_name\":");
			json_add_cstr(sb, on);
		}
		if ((nn = report_user_name(o, b->uid))) {
			strbuf_addstr(sb, ",\"new_name\":");
			json_add_cstr(sb, nn);
		}
	} else if (bit == ATTR_GID) {
		if ((on = report_group_name(o, a->gid))) {
			strbuf_addstr(sb, ",\"old_name\":");
			json_add_cstr(sb, on);
		}
		if ((nn = report_group_name(o, b->gid))) {
			strbuf_addstr(sb, ",\"new_name\":");
			json_add_cstr(sb, nn);
		}
	}
	strbuf_addch(sb, '}');
}

/* ---- JSON diff ---------------------------------------------------------- */

void report_json_snapshot(struct strbuf *sb, const char *key,
			  const struct snapshot_info *s, int entries)
{
	json_add_key(sb, key);
	strbuf_addf(sb, "{\"id\":%lld,\"kind\":", (long long)s->id);
	json_add_cstr(sb, snap_kind_name(s->kind));
	strbuf_addstr(sb, ",\"time\":");
	json_add_time(sb, s->finished_ns);
	if (entries)
		strbuf_addf(sb, ",\"entries\":%lld", (long long)s->entries);
	strbuf_addstr(sb, ",\"roots\":[");
	for (size_t i = 0; i < s->nroots; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_add_string(sb, s->roots[i], s->rootlens[i]);
	}
	strbuf_addstr(sb, "]}");
}

/* Added and removed: the entry in brief, for triage. */
static void json_brief_item(struct strbuf *sb, const struct diff_item *it,
			    const struct fim_entry *e)
{
	strbuf_addch(sb, '{');
	json_add_path(sb, "path", it->path.buf, it->path.len);
	strbuf_addstr(sb, ",\"type\":");
	json_add_cstr(sb, type_name(e));
	strbuf_addf(sb, ",\"size\":%llu", (unsigned long long)e->size);
	if (fim_entry_hash(e, HASH_SHA256, NULL)) {
		strbuf_addstr(sb, ",\"sha256\":");
		json_hash(sb, e, HASH_SHA256);
	}
	strbuf_addch(sb, '}');
}

static void json_changed_item(struct strbuf *sb, const struct report_opts *o,
			      const struct diff_item *it)
{
	uint32_t bits[REPORT_MAX_ATTRS];
	int ids[REPORT_MAX_ATTRS];
	size_t n = report_item_attrs(it, bits, ids);

	strbuf_addch(sb, '{');
	json_add_path(sb, "path", it->path.buf, it->path.len);
	strbuf_addstr(sb, ",\"type\":");
	json_add_cstr(sb, type_name(report_new(it)));
	if (it->moved_from.len) {
		strbuf_addch(sb, ',');
		json_add_path(sb, "moved_from", it->moved_from.buf,
			      it->moved_from.len);
	}
	strbuf_addstr(sb, ",\"attrs\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_add_cstr(sb, report_attr_label(bits[i], ids[i]));
	}
	strbuf_addstr(sb, "],\"details\":{");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_detail(sb, o, it, bits[i], ids[i]);
	}
	strbuf_addch(sb, '}');
	if (it->appended)
		strbuf_addstr(sb, ",\"appended\":true");
	report_json_bytes(sb, o, it);
	strbuf_addch(sb, '}');
}

static int json_diff(const struct diff_result *r, const struct report_opts *o)
{
	static const struct { int kind; const char *name; } sections[] = {
		{ DIFF_ADDED, "added" },
		{ DIFF_REMOVED, "removed" },
		{ DIFF_CHANGED, "changed" },
	};
	struct strbuf sb = STRBUF_INIT;

	strbuf_addstr(&sb, "{\"fimscan\":1,\n");
	report_json_snapshot(&sb, "a", &r->a, 0);
	strbuf_addstr(&sb, ",\n");
	report_json_snapshot(&sb, "b", &r->b, 0);
	strbuf_addf(&sb, ",\n\"summary\":{\"added\":%zu,\"removed\":%zu,"
		    "\"changed\":%zu,\"moved\":%zu,\"warnings\":%lld}",
		    r->added, r->removed, r->changed, r->moved,
		    (long long)r->b.warnings);
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		int first = 1;

		strbuf_addf(&sb, ",\n\"%s\":[", sections[s].name);
		for (size_t i = 0; i < r->n && !ferror(o->out); i++) {
			const struct diff_item *it = r->items[i];

			if (it->kind != sections[s].kind)
				continue;
			strbuf_addstr(&sb, first ? "\n" : ",\n");
			first = 0;
			if (it->kind == DIFF_ADDED)
				json_brief_item(&sb, it, report_new(it));
			else if (it->kind == DIFF_REMOVED)
				json_brief_item(&sb, it, report_old(it));
			else
				json_changed_item(&sb, o, it);
			report_flush(&sb, o->out, REPORT_FLUSH);
		}
		strbuf_addch(&sb, ']');
	}
	strbuf_addstr(&sb, "}\n");
	report_flush(&sb, o->out, 0);
	strbuf_release(&sb);
	return report_finish(o->out);
}

int report_format_by_name(const char *name)
{
	if (!name)
		return -1;
	if (!strcmp(name, "text"))
		return FMT_TEXT;
	if (!strcmp(name, "json"))
		return FMT_JSON;
	if (!strcmp(name, "ecs"))
		return FMT_ECS;
	if (!strcmp(name, "html"))
		return FMT_HTML;
	return -1;
}

int report_diff(const struct diff_result *r, const struct report_opts *o)
{
	report_start(o->out);
	if (o->format == FMT_JSON)
		return json_diff(r, o);
	if (o->format == FMT_ECS)
		return report_ecs_diff(r, o);
	if (o->format == FMT_HTML)
		return report_html_diff(r, o);
	return report_text_diff(r, o);
}

/* ---- log ---------------------------------------------------------------- */

struct report_log {
	struct report_opts o;
	struct strbuf sb;          /* pending output */
	struct strbuf accepts;     /* JSON: the "accepts" array, kept apart */
	size_t nsnap, naccept;
};

struct report_log *report_log_begin(const struct report_opts *o)
{
	struct report_log *l = xcalloc(1, sizeof(*l));

	report_start(o->out);
	l->o = *o;
	strbuf_init(&l->sb, 0);
	strbuf_init(&l->accepts, 0);
	if (o->format == FMT_JSON)
		strbuf_addstr(&l->sb, "{\"snapshots\":[");
	return l;
}

static void json_log_snapshot(struct strbuf *sb, const struct snapshot_info *s)
{
	strbuf_addf(sb, "{\"id\":%lld,\"kind\":", (long long)s->id);
	json_add_cstr(sb, snap_kind_name(s->kind));
	strbuf_addf(sb, ",\"baseline\":%s,\"started\":",
		    s->is_baseline ? "true" : "false");
	json_add_time(sb, s->started_ns);
	strbuf_addstr(sb, ",\"finished\":");
	json_add_time(sb, s->finished_ns);
	strbuf_addstr(sb, ",\"roots\":[");
	for (size_t i = 0; i < s->nroots; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_add_string(sb, s->roots[i], s->rootlens[i]);
	}
	strbuf_addf(sb, "],\"entries\":%lld,\"added\":%lld,\"removed\":%lld,"
		    "\"changed\":%lld,\"warnings\":%lld,\"unstable\":%lld,"
		    "\"bytes_hashed\":%lld,\"host\":",
		    (long long)s->entries, (long long)s->added,
		    (long long)s->removed, (long long)s->changed,
		    (long long)s->warnings, (long long)s->unstable,
		    (long long)s->bytes_hashed);
	json_add_cstr(sb, s->host);
	strbuf_addstr(sb, ",\"user\":");
	json_add_cstr(sb, s->user);
	strbuf_addch(sb, '}');
}

void report_log_snapshot(struct report_log *l, const struct snapshot_info *s)
{
	if (l->o.format == FMT_JSON) {
		strbuf_addstr(&l->sb, l->nsnap ? ",\n" : "\n");
		json_log_snapshot(&l->sb, s);
	} else {
		report_text_log_snapshot(&l->sb, s);
	}
	l->nsnap++;
	report_flush(&l->sb, l->o.out, REPORT_FLUSH);
}

void report_log_accept(struct report_log *l, const struct accept_info *a)
{
	if (l->o.format == FMT_JSON) {
		struct strbuf *sb = &l->accepts;

		strbuf_addstr(sb, l->naccept ? ",\n" : "\n");
		strbuf_addf(sb, "{\"id\":%lld,\"time\":", (long long)a->id);
		json_add_time(sb, a->time_ns);
		strbuf_addstr(sb, ",\"user\":");
		json_add_cstr(sb, a->user);
		strbuf_addf(sb, ",\"to\":%lld,\"baseline_before\":%lld,"
			    "\"count\":%lld,\"paths\":",
			    (long long)a->to_snap, (long long)a->baseline_before,
			    (long long)a->count);
		json_add_cstr(sb, a->paths ? a->paths : "");
		strbuf_addch(sb, '}');
	} else {
		report_text_log_accept(&l->sb, a);
		report_flush(&l->sb, l->o.out, REPORT_FLUSH);
	}
	l->naccept++;
}

int report_log_end(struct report_log *l)
{
	int ret;

	if (l->o.format == FMT_JSON) {
		strbuf_addstr(&l->sb, "],\n\"accepts\":[");
		report_flush(&l->sb, l->o.out, 0);
		report_flush(&l->accepts, l->o.out, 0);
		strbuf_addstr(&l->sb, "]}\n");
	}
	report_flush(&l->sb, l->o.out, 0);
	ret = report_finish(l->o.out);
	strbuf_release(&l->sb);
	strbuf_release(&l->accepts);
	free(l);
	return ret;
}

/* ---- show --------------------------------------------------------------- */

struct report_show {
	struct report_opts o;
	struct strbuf sb;
	size_t n;                  /* versions so far */
};

struct report_show *report_show_begin(const struct report_opts *o,
				      const char *path, size_t len)
{
	struct report_show *s = xcalloc(1, sizeof(*s));

	report_start(o->out);
	s->o = *o;
	strbuf_init(&s->sb, 0);
	if (o->format == FMT_JSON) {
		strbuf_addch(&s->sb, '{');
		json_add_path(&s->sb, "path", path, len);
		strbuf_addstr(&s->sb, ",\"versions\":[");
	} else {
		report_text_show_begin(&s->sb, path, len);
	}
	return s;
}

static void json_show_version(struct strbuf *sb, const struct report_opts *o,
			      const struct fim_entry *e,
			      const struct diff_item *it)
{
	enum fim_type t = fim_type_of(e->mode);
	const char *name;

	strbuf_addf(sb, "{\"born\":%lld,\"died\":", (long long)e->born);
	if (e->died)
		strbuf_addf(sb, "%lld", (long long)e->died);
	else
		strbuf_addstr(sb, "null");
	strbuf_addstr(sb, ",\"type\":");
	json_add_cstr(sb, fim_type_name(t));
	strbuf_addf(sb, ",\"size\":%llu,\"mode\":\"%04o\",\"uid\":%u",
		    (unsigned long long)e->size, e->mode & 07777, e->uid);
	if ((name = report_user_name(o, e->uid))) {
		strbuf_addstr(sb, ",\"user\":");
		json_add_cstr(sb, name);
	}
	strbuf_addf(sb, ",\"gid\":%u", e->gid);
	if ((name = report_group_name(o, e->gid))) {
		strbuf_addstr(sb, ",\"group\":");
		json_add_cstr(sb, name);
	}
	strbuf_addstr(sb, ",\"mtime\":");
	json_add_time(sb, e->mtime_ns);
	strbuf_addstr(sb, ",\"ctime\":");
	json_add_time(sb, e->ctime_ns);
	strbuf_addf(sb, ",\"inode\":%llu,\"dev\":%llu,\"nlink\":%llu",
		    (unsigned long long)e->ino, (unsigned long long)e->dev,
		    (unsigned long long)e->nlink);
	if (t == FT_CHR || t == FT_BLK)
		strbuf_addf(sb, ",\"rdev\":%llu", (unsigned long long)e->rdev);
	for (int id = 1; id < HASH_MAX_ID; id++) {
		const struct fim_hash_algo *h = hash_algo_by_id(id);

		if (!h || !fim_entry_hash(e, id, NULL))
			continue;
		strbuf_addch(sb, ',');
		json_add_key(sb, h->name);
		json_hash(sb, e, id);
	}
	if (t == FT_SYMLINK) {
		strbuf_addch(sb, ',');
		json_add_path(sb, "target", e->target.buf, e->target.len);
	}
	strbuf_addstr(sb, ",\"state\":");
	json_add_cstr(sb, report_state_name(e->state));
	if (e->has_iflags) {
		strbuf_addstr(sb, ",\"flags\":");
		json_flags(sb, e);
	}
	strbuf_addstr(sb, ",\"xattrs\":");
	json_xattrs(sb, &e->xattrs);
	if (it)
		report_json_bytes(sb, o, it);
	strbuf_addch(sb, '}');
}

void report_show_version_bytes(struct report_show *s,
			       const struct fim_entry *e,
			       const struct diff_item *it)
{
	if (s->o.format == FMT_JSON) {
		strbuf_addstr(&s->sb, s->n ? ",\n" : "\n");
		json_show_version(&s->sb, &s->o, e, it);
	} else {
		report_text_show_version(&s->sb, &s->o, e);
		if (it && it->bytes_state != BYTES_NONE)
			report_text_bytes(&s->sb, &s->o, it);
	}
	s->n++;
	report_flush(&s->sb, s->o.out, REPORT_FLUSH);
}

void report_show_version(struct report_show *s, const struct fim_entry *e)
{
	report_show_version_bytes(s, e, NULL);
}

int report_show_end(struct report_show *s)
{
	int ret;

	if (s->o.format == FMT_JSON)
		strbuf_addstr(&s->sb, "]}\n");
	report_flush(&s->sb, s->o.out, 0);
	ret = report_finish(s->o.out);
	strbuf_release(&s->sb);
	free(s);
	return ret;
}

/* ---- finish ------------------------------------------------------------- */

/*
 * The renderers call this themselves and callers may call it again (e.g.
 * for stdout at exit): a failed stream is reported once, and keeps
 * returning EXIT_OUTPUT.
 */
int report_finish(FILE *out)
{
	int e;

	errno = 0;
	if (fflush(out) == 0 && !ferror(out))
		return 0;
	e = errno ? errno : write_errno ? write_errno : EIO;
	if (out != reported) {
		error("cannot write report: %s", strerror(e));
		reported = out;
	}
	return EXIT_OUTPUT;
}
