/*
 * ecs.c: ECS 9.4 documents, one per change, shaped like Auditbeat's
 * file_integrity events (the contract is ../shared/reference/elastic.md).
 *
 *   - host identity (ecs_ctx_init): hostname, /etc/machine-id, os-release
 *   - a small JSON writer for nested objects (documents never use dotted
 *     keys)
 *   - actions: which of created / deleted / updated / attributes_modified /
 *     moved an item is, and the ECS event.type each maps to
 *   - report_ecs_item: the document; report_ecs_id: its _id
 *   - report_ecs_diff: FMT_ECS, NDJSON
 *
 * A document, for a changed file (fields absent when unknown):
 *
 *   @timestamp           the newer snapshot's finish time
 *   ecs.version          "9.4.0"
 *   event.{id, kind: "event", category: ["file"], type: [...],
 *         action: [...], module: "fimscan", dataset: "fimscan.events"}
 *   data_stream.{type: "logs", dataset: "fimscan.events", namespace}
 *   host.{name, hostname, id, os.{type, name, version, family, platform,
 *         kernel}}
 *   file.{path, name, directory, extension, type, inode, uid, gid, mode,
 *         owner, group, size, mtime, ctime, target_path, hash.{md5, sha1,
 *         sha256, sha384, sha512}}: the new version; for a removal, the
 *         old one. inode, uid, gid and mode are strings (ecs@mappings would
 *         map numbers as long), the mode octal ("0644").
 *   fimscan.snapshot.{id, previous}        the newer and older snapshot ids
 *   fimscan.path_base64                    the exact bytes of file.path
 *   fimscan.moved_from, moved_from_base64  moves only
 *   fimscan.target_path_base64             symlinks
 *   fimscan.changed_attributes             ["mode", "sha256", ...] as in
 *                                          the JSON report's "attrs"
 *   fimscan.previous.*                     the old value of each changed
 *                                          attribute, named as in file.*
 *                                          and fimscan.* (hash.* for every
 *                                          algorithm)
 *   fimscan.{nlink, device, rdev}          numbers
 *   fimscan.xattrs                         [{name, value_base64}]
 *   fimscan.flags                          "immutable,append"
 *   fimscan.state                          "ok", "unstable", "unreadable"
 *   fimscan.hash.*                         digests ECS has no field for
 *                                          (sha224, sha512_256, sha3_256,
 *                                          sha3_384, sha3_512, blake2s_256,
 *                                          blake2b_512)
 *   fimscan.diff.{ranges: [{op, old_offset, old_length, new_offset,
 *         new_length}], bytes_changed, exact, appended}, or
 *         {location_unknown: true, reason}: modified regular files whose
 *         ranges were computed
 *
 * file.path and every other name are JSON strings with U+FFFD for bytes
 * that are not UTF-8 (json_add_string); *_base64 has the exact bytes.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "platform/platform.h"
#include "report/report.h"
#include "scanner/config.h"

#include "report/report-private.h"

#define ECS_VERSION "9.4.0"
#define ECS_DATASET "fimscan.events"
#define ECS_ID_HEX 40            /* 160 bits of SHA-256 */

/* ---- host identity ------------------------------------------------------ */

/*
 * Read once per process (pthread_once), so that every document of a run
 * names the host the same way and ecs_ctx_init() can hand out pointers
 * that never go stale.
 */
static struct {
	char hostname[256];
	char machine_id[64];
	char kernel[128];
	char os_name[128], os_version[64], os_family[128], os_platform[128];
} host;
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* KEY=value from os-release(5): value unquoted, shell escapes undone. */
static void os_release_value(const char *v, char *out, size_t size)
{
	size_t n = 0;
	char q = 0;

	if (*v == '"' || *v == '\'')
		q = *v++;
	for (; *v && *v != '\n' && n + 1 < size; v++) {
		if (q && *v == q)
			break;
		if (q == '"' && *v == '\\' && v[1] && strchr("\"\\$`", v[1]))
			v++;
		out[n++] = *v;
	}
	out[n] = '\0';
}

static void read_os_release(void)
{
	FILE *f = fopen("/etc/os-release", "r");
	char line[512], id[128] = "", like[128] = "";

	if (!f)
		f = fopen("/usr/lib/os-release", "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "NAME=", 5))
			os_release_value(line + 5, host.os_name,
					 sizeof(host.os_name));
		else if (!strncmp(line, "VERSION_ID=", 11))
			os_release_value(line + 11, host.os_version,
					 sizeof(host.os_version));
		else if (!strncmp(line, "ID=", 3))
			os_release_value(line + 3, id, sizeof(id));
		else if (!strncmp(line, "ID_LIKE=", 8))
			os_release_value(line + 8, like, sizeof(like));
	}
	fclose(f);
	snprintf(host.os_platform, sizeof(host.os_platform), "%s", id);
	/* The family is the first distribution it is like, else itself
	 * (Ubuntu: "debian"; Debian: "debian"). */
	like[strcspn(like, " ")] = '\0';
	snprintf(host.os_family, sizeof(host.os_family), "%s",
		 *like ? like : id);
}

static void read_host(void)
{
	struct utsname u;
	FILE *f;

	if (gethostname(host.hostname, sizeof(host.hostname) - 1))
		host.hostname[0] = '\0';
	if ((f = fopen("/etc/machine-id", "r"))) {
		char buf[64] = "";
		size_t n;

		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\r\n")] = '\0';
			n = strlen(buf);
			/* 32 lowercase hex digits; anything else is not one. */
			if (n == 32 && strspn(buf, "0123456789abcdef") == n)
				memcpy(host.machine_id, buf, n + 1);
		}
		fclose(f);
	}
	if (!uname(&u))
		snprintf(host.kernel, sizeof(host.kernel), "%s", u.release);
	read_os_release();
}

static const char *nonempty(const char *s)
{
	return s && *s ? s : NULL;
}

void ecs_ctx_init(struct ecs_ctx *c, const char *ns)
{
	pthread_once(&host_once, read_host);
	memset(c, 0, sizeof(*c));
	c->ns = nonempty(ns) ? ns : "default";
	c->host_name = nonempty(host.hostname);
	c->host_id = nonempty(host.machine_id);
	c->os_type = "linux";
	c->os_name = nonempty(host.os_name);
	c->os_version = nonempty(host.os_version);
	c->os_family = nonempty(host.os_family);
	c->os_platform = nonempty(host.os_platform);
	c->os_kernel = nonempty(host.kernel);
}

/* ---- a JSON writer for nested objects ----------------------------------- */

#define JW_DEPTH 8

struct jw {
	struct strbuf *sb;
	unsigned depth;
	unsigned char first[JW_DEPTH];   /* nothing written yet at depth */
};

static void jw_init(struct jw *w, struct strbuf *sb)
{
	w->sb = sb;
	w->depth = 0;
	w->first[0] = 1;
}

/* The separator, then "key": when `key` is given (keys are ours, ASCII). */
static void jw_key(struct jw *w, const char *key)
{
	if (!w->first[w->depth])
		strbuf_addch(w->sb, ',');
	w->first[w->depth] = 0;
	if (key) {
		strbuf_addch(w->sb, '"');
		strbuf_addstr(w->sb, key);
		strbuf_addstr(w->sb, "\":");
	}
}

static void jw_open(struct jw *w, const char *key, char bracket)
{
	jw_key(w, key);
	strbuf_addch(w->sb, bracket);
	if (w->depth + 1 >= JW_DEPTH)
		die("ecs: objects nested too deep");
	w->first[++w->depth] = 1;
}

static void jw_close(struct jw *w, char bracket)
{
	strbuf_addch(w->sb, bracket);
	w->depth--;
}

static void jw_str(struct jw *w, const char *key, const char *s)
{
	jw_key(w, key);
	json_add_string(w->sb, s, strlen(s));
}

/* A string when known; nothing at all when NULL. */
static void jw_opt_str(struct jw *w, const char *key, const char *s)
{
	if (s)
		jw_str(w, key, s);
}

static void jw_bytes(struct jw *w, const char *key, const void *p,
		     size_t len)
{
	jw_key(w, key);
	json_add_string(w->sb, p, len);
}

static void jw_base64(struct jw *w, const char *key, const void *p,
		      size_t len)
{
	jw_key(w, key);
	strbuf_addch(w->sb, '"');
	base64_add(w->sb, p, len);
	strbuf_addch(w->sb, '"');
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	strbuf_addf(w->sb, "%llu", (unsigned long long)v);
}

static void jw_i64(struct jw *w, const char *key, int64_t v)
{
	jw_key(w, key);
	strbuf_addf(w->sb, "%lld", (long long)v);
}

/* A number as a decimal string (uid, gid, inode: keyword in ECS). */
static void jw_u64_str(struct jw *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	strbuf_addf(w->sb, "\"%llu\"", (unsigned long long)v);
}

static void jw_bool(struct jw *w, const char *key, int v)
{
	jw_key(w, key);
	strbuf_addstr(w->sb, v ? "true" : "false");
}

static void jw_time(struct jw *w, const char *key, int64_t ns)
{
	jw_key(w, key);
	strbuf_addch(w->sb, '"');
	time_add_rfc3339(w->sb, ns);
	strbuf_addch(w->sb, '"');
}

static void jw_hex(struct jw *w, const char *key, const unsigned char *p,
		   size_t len)
{
	static const char hex[] = "0123456789abcdef";

	jw_key(w, key);
	strbuf_addch(w->sb, '"');
	for (size_t i = 0; i < len; i++) {
		strbuf_addch(w->sb, hex[p[i] >> 4]);
		strbuf_addch(w->sb, hex[p[i] & 15]);
	}
	strbuf_addch(w->sb, '"');
}

/* ---- values ------------------------------------------------------------- */

/* ECS file.type names (Auditbeat's). */
static const char *ecs_file_type(const struct fim_entry *e)
{
	switch (fim_type_of(e->mode)) {
	case FT_FILE: return "file";
	case FT_DIR: return "dir";
	case FT_SYMLINK: return "symlink";
	case FT_CHR: return "char_device";
	case FT_BLK: return "block_device";
	case FT_FIFO: return "fifo";
	case FT_SOCK: return "socket";
	default: return "unknown";
	}
}

/*
 * The key of each hash algorithm and whether ECS has a field for it
 * (file.hash.*); the others go under fimscan.hash.*. Keys have no '-' or
 * '.', which Elasticsearch would read as a path.
 */
static const struct { int id; const char *key; int ecs; } hash_keys[] = {
	{ HASH_MD5, "md5", 1 },
	{ HASH_SHA1, "sha1", 1 },
	{ HASH_SHA224, "sha224", 0 },
	{ HASH_SHA256, "sha256", 1 },
	{ HASH_SHA384, "sha384", 1 },
	{ HASH_SHA512, "sha512", 1 },
	{ HASH_SHA512_256, "sha512_256", 0 },
	{ HASH_SHA3_256, "sha3_256", 0 },
	{ HASH_SHA3_384, "sha3_384", 0 },
	{ HASH_SHA3_512, "sha3_512", 0 },
	{ HASH_BLAKE2S256, "blake2s_256", 0 },
	{ HASH_BLAKE2B512, "blake2b_512", 0 },
};

const char *report_ecs_hash_key(int id, int *ecs)
{
	for (size_t i = 0; i < ARRAY_SIZE(hash_keys); i++)
		if (hash_keys[i].id == id) {
			if (ecs)
				*ecs = hash_keys[i].ecs;
			return hash_keys[i].key;
		}
	return NULL;
}

/*
 * "hash": {...} with the digests of `e` that ECS has fields for (want 1)
 * or those it has not (want 0); every digest when want is -1. Nothing when
 * there is none.
 */
static void add_hashes(struct jw *w, const struct fim_entry *e, int want)
{
	int opened = 0;

	for (size_t i = 0; i < ARRAY_SIZE(hash_keys); i++) {
		unsigned len = 0;
		const unsigned char *d;

		if (want >= 0 && hash_keys[i].ecs != want)
			continue;
		if (!(d = fim_entry_hash(e, hash_keys[i].id, &len)))
			continue;
		if (!opened++)
			jw_open(w, "hash", '{');
		jw_hex(w, hash_keys[i].key, d, len);
	}
	if (opened)
		jw_close(w, '}');
}

static void add_xattrs(struct jw *w, const char *key,
		       const struct strbuf *x)
{
	const char *name, *val;
	size_t pos = 0, nl, vl;

	jw_open(w, key, '[');
	while (report_xattr_next(x, &pos, &name, &nl, &val, &vl)) {
		jw_open(w, NULL, '{');
		jw_bytes(w, "name", name, nl);
		jw_base64(w, "value_base64", val, vl);
		jw_close(w, '}');
	}
	jw_close(w, ']');
}

static void add_flags(struct jw *w, const char *key, const struct fim_entry *e)
{
	struct strbuf tmp = STRBUF_INIT;

	plat_inode_flags_str(e->iflags, &tmp);
	jw_bytes(w, key, tmp.buf, tmp.len);
	strbuf_release(&tmp);
}

static const char *user_name(const struct report_opts *o, uint32_t uid)
{
	return o ? report_user_name(o, uid) : plat_user_name(uid);
}

static const char *group_name(const struct report_opts *o, uint32_t gid)
{
	return o ? report_group_name(o, gid) : plat_group_name(gid);
}

static int has_rdev(const struct fim_entry *e)
{
	enum fim_type t = fim_type_of(e->mode);

	return t == FT_CHR || t == FT_BLK;
}

/* ---- actions ------------------------------------------------------------ */

enum {
	ACT_ATTRS = 1 << 0,     /* attributes_modified */
	ACT_CREATED = 1 << 1,
	ACT_DELETED = 1 << 2,
	ACT_MOVED = 1 << 3,
	ACT_UPDATED = 1 << 4,
};

/* In the order they are listed (alphabetical); the ECS event.type of
 * each is in add_event(). */
static const struct { int bit; const char *action; } actions[] = {
	{ ACT_ATTRS, "attributes_modified" },   /* change */
	{ ACT_CREATED, "created" },             /* creation */
	{ ACT_DELETED, "deleted" },             /* deletion */
	{ ACT_MOVED, "moved" },                 /* change */
	{ ACT_UPDATED, "updated" },             /* change */
};

/*
 * Auditbeat's actions for one item. "updated" is a content change: a
 * digest, the size of a regular file, a symlink's target, or the type
 * (the entry was replaced). "attributes_modified" is any other attribute
 * that counted, leaving out the times a content change or a rename moves
 * by itself (mtime and ctime with an update, ctime with a move), so a
 * plain edit is "updated" and an edit plus a chmod is both.
 */
static int item_actions(const struct diff_item *it)
{
	const struct fim_entry *e = report_new(it);
	uint32_t content = ATTR_HASH | ATTR_TARGET | ATTR_TYPE;
	uint32_t rest;
	int a = 0;

	if (it->kind == DIFF_ADDED)
		return ACT_CREATED;
	if (it->kind == DIFF_REMOVED)
		return ACT_DELETED;
	if (fim_type_of(e->mode) == FT_FILE)
		content |= ATTR_SIZE;
	if (it->moved_from.len)
		a |= ACT_MOVED;
	if (it->attrs & content)
		a |= ACT_UPDATED;
	rest = it->attrs & ~content;
	if (a & ACT_UPDATED)
		rest &= ~(uint32_t)(ATTR_MTIME | ATTR_CTIME);
	if (a & ACT_MOVED)
		rest &= ~(uint32_t)ATTR_CTIME;
	if (rest || !a)
		a |= ACT_ATTRS;
	return a;
}

static void add_event(struct jw *w, const struct diff_result *r,
		      const struct diff_item *it, const struct ecs_ctx *c)
{
	int a = item_actions(it);
	struct strbuf id = STRBUF_INIT;

	report_ecs_id(&id, r, it, c);
	jw_open(w, "event", '{');
	jw_str(w, "id", id.buf);
	jw_str(w, "kind", "event");
	jw_open(w, "category", '[');
	jw_str(w, NULL, "file");
	jw_close(w, ']');
	/* The sorted set of the actions' types. */
	jw_open(w, "type", '[');
	if (a & (ACT_ATTRS | ACT_MOVED | ACT_UPDATED))
		jw_str(w, NULL, "change");
	if (a & ACT_CREATED)
		jw_str(w, NULL, "creation");
	if (a & ACT_DELETED)
		jw_str(w, NULL, "deletion");
	jw_close(w, ']');
	jw_open(w, "action", '[');
	for (size_t i = 0; i < ARRAY_SIZE(actions); i++)
		if (a & actions[i].bit)
			jw_str(w, NULL, actions[i].action);
	jw_close(w, ']');
	jw_str(w, "module", "fimscan");
	jw_str(w, "dataset", ECS_DATASET);
	jw_close(w, '}');
	strbuf_release(&id);
}

/* ---- file.* ------------------------------------------------------------- */

static void add_file(struct jw *w, const struct diff_item *it,
		     const struct fim_entry *e, const struct report_opts *o)
{
	const char *name, *dot;
	size_t dirlen, namelen;
	const char *owner, *group;

	path_split(it->path.buf, it->path.len, &dirlen, &name, &namelen);
	jw_open(w, "file", '{');
	jw_bytes(w, "path", it->path.buf, it->path.len);
	jw_bytes(w, "name", name, namelen);
	if (dirlen)
		jw_bytes(w, "directory", it->path.buf, dirlen);
	/* "gz" of "a.tar.gz"; none for ".profile" or "name." */
	dot = namelen ? memrchr(name, '.', namelen) : NULL;
	if (fim_type_of(e->mode) == FT_FILE && dot && dot > name &&
	    dot < name + namelen - 1)
		jw_bytes(w, "extension", dot + 1, name + namelen - dot - 1);
	jw_str(w, "type", ecs_file_type(e));
	jw_u64_str(w, "inode", e->ino);
	jw_u64_str(w, "uid", e->uid);
	jw_u64_str(w, "gid", e->gid);
	jw_key(w, "mode");
	strbuf_addf(w->sb, "\"%04o\"", e->mode & 07777);
	/* plat_*_name's buffer is reused by the next call: emit at once. */
	if ((owner = user_name(o, e->uid)))
		jw_str(w, "owner", owner);
	if ((group = group_name(o, e->gid)))
		jw_str(w, "group", group);
	jw_u64(w, "size", e->size);
	jw_time(w, "mtime", e->mtime_ns);
	jw_time(w, "ctime", e->ctime_ns);
	if (fim_type_of(e->mode) == FT_SYMLINK)
		jw_bytes(w, "target_path", e->target.buf, e->target.len);
	add_hashes(w, e, 1);
	jw_close(w, '}');
}

/* ---- fimscan.* ---------------------------------------------------------- */

/* fimscan.previous.*: the old value of every changed attribute. */
static void add_previous(struct jw *w, const struct diff_item *it,
			 const struct report_opts *o)
{
	const struct fim_entry *e = report_old(it);
	uint32_t bits[REPORT_MAX_ATTRS];
	int ids[REPORT_MAX_ATTRS];
	size_t n = report_item_attrs(it, bits, ids);
	int hashes = 0;
	const char *name;

	jw_open(w, "previous", '{');
	for (size_t i = 0; i < n; i++) {
		switch (bits[i]) {
		case ATTR_TYPE: jw_str(w, "type", ecs_file_type(e)); break;
		case ATTR_MODE:
			jw_key(w, "mode");
			strbuf_addf(w->sb, "\"%04o\"", e->mode & 07777);
			break;
		case ATTR_UID:
			jw_u64_str(w, "uid", e->uid);
			if ((name = user_name(o, e->uid)))
				jw_str(w, "owner", name);
			break;
		case ATTR_GID:
			jw_u64_str(w, "gid", e->gid);
			if ((name = group_name(o, e->gid)))
				jw_str(w, "group", name);
			break;
		case ATTR_SIZE: jw_u64(w, "size", e->size); break;
		case ATTR_MTIME: jw_time(w, "mtime", e->mtime_ns); break;
		case ATTR_CTIME: jw_time(w, "ctime", e->ctime_ns); break;
		case ATTR_INODE: jw_u64_str(w, "inode", e->ino); break;
		case ATTR_NLINK: jw_u64(w, "nlink", e->nlink); break;
		case ATTR_DEV: jw_u64(w, "device", e->dev); break;
		case ATTR_RDEV: jw_u64(w, "rdev", e->rdev); break;
		case ATTR_TARGET:
			jw_bytes(w, "target_path", e->target.buf,
				 e->target.len);
			jw_base64(w, "target_path_base64", e->target.buf,
				  e->target.len);
			break;
		case ATTR_XATTRS: add_xattrs(w, "xattrs", &e->xattrs); break;
		case ATTR_FLAGS: add_flags(w, "flags", e); break;
		case ATTR_STATE:
			jw_str(w, "state", report_state_name(e->state));
			break;
		case ATTR_HASH: hashes = 1; break;
		default: break;
		}
	}
	/* Every old digest, so that any of them can be searched for. */
	if (hashes)
		add_hashes(w, e, -1);
	jw_close(w, '}');
}

/*
 * fimscan.diff: the changed byte ranges of a modified regular file, when
 * the differ worked them out (diff_bytes()); nothing otherwise.
 */
static void add_ranges(struct jw *w, const struct diff_item *it)
{
	static const char *const ops[] = {
		[RANGE_MODIFY] = "modify", [RANGE_INSERT] = "insert",
		[RANGE_DELETE] = "delete",
	};
	const struct range_list *l = it->ranges;

	switch (it->bytes_state) {
	case BYTES_CHUNKS:
	case BYTES_EXACT:
	case BYTES_APPENDED:
		break;
	case BYTES_UNKNOWN:
		jw_open(w, "diff", '{');
		jw_bool(w, "location_unknown", 1);
		if (it->bytes_why)
			jw_str(w, "reason", it->bytes_why);
		jw_close(w, '}');
		return;
	default:
		return;
	}
	jw_open(w, "diff", '{');
	jw_open(w, "ranges", '[');
	for (size_t i = 0; l && i < l->n; i++) {
		const struct byte_range *b = &l->v[i];

		jw_open(w, NULL, '{');
		jw_str(w, "op", b->op > 0 && (size_t)b->op < ARRAY_SIZE(ops) &&
		       ops[b->op] ? ops[b->op] : "modify");
		jw_u64(w, "old_offset", b->old_off);
		jw_u64(w, "old_length", b->old_len);
		jw_u64(w, "new_offset", b->new_off);
		jw_u64(w, "new_length", b->new_len);
		jw_close(w, '}');
	}
	jw_close(w, ']');
	jw_u64(w, "bytes_changed", l ? range_list_bytes(l) : 0);
	jw_bool(w, "exact", it->bytes_state == BYTES_EXACT);
	if (it->bytes_state == BYTES_APPENDED || it->appended)
		jw_bool(w, "appended", 1);
	jw_close(w, '}');
}

static void add_fimscan(struct jw *w, const struct diff_result *r,
			const struct diff_item *it, const struct fim_entry *e,
			const struct report_opts *o)
{
	uint32_t bits[REPORT_MAX_ATTRS];
	int ids[REPORT_MAX_ATTRS];

	jw_open(w, "fimscan", '{');
	jw_open(w, "snapshot", '{');
	jw_i64(w, "id", r->b.id);
	jw_i64(w, "previous", r->a.id);
	jw_close(w, '}');
	jw_base64(w, "path_base64", it->path.buf, it->path.len);
	if (it->kind == DIFF_CHANGED && it->moved_from.len) {
		jw_bytes(w, "moved_from", it->moved_from.buf,
			 it->moved_from.len);
		jw_base64(w, "moved_from_base64", it->moved_from.buf,
			  it->moved_from.len);
	}
	if (fim_type_of(e->mode) == FT_SYMLINK)
		jw_base64(w, "target_path_base64", e->target.buf,
			  e->target.len);
	if (it->kind == DIFF_CHANGED) {
		size_t n = report_item_attrs(it, bits, ids);

		jw_open(w, "changed_attributes", '[');
		for (size_t i = 0; i < n; i++)
			jw_str(w, NULL, report_attr_label(bits[i], ids[i]));
		jw_close(w, ']');
		add_previous(w, it, o);
	}
	jw_u64(w, "nlink", e->nlink);
	jw_u64(w, "device", e->dev);
	if (has_rdev(e))
		jw_u64(w, "rdev", e->rdev);
	if (e->xattrs.len)
		add_xattrs(w, "xattrs", &e->xattrs);
	if (e->has_iflags)
		add_flags(w, "flags", e);
	jw_str(w, "state", report_state_name(e->state));
	add_hashes(w, e, 0);
	if (it->kind == DIFF_CHANGED)
		add_ranges(w, it);
	jw_close(w, '}');
}

/* ---- the document ------------------------------------------------------- */

void report_ecs_item(struct strbuf *sb, const struct diff_result *r,
		     const struct diff_item *it, const struct ecs_ctx *c,
		     const struct report_opts *o)
{
	const struct fim_entry *e =
		it->kind == DIFF_REMOVED ? report_old(it) : report_new(it);
	const char *host_name = c->host_name ? c->host_name : r->b.host;
	struct jw w;

	jw_init(&w, sb);
	jw_open(&w, NULL, '{');
	jw_time(&w, "@timestamp", r->a.finished_ns > r->b.finished_ns ?
				  r->a.finished_ns : r->b.finished_ns);
	jw_open(&w, "ecs", '{');
	jw_str(&w, "version", ECS_VERSION);
	jw_close(&w, '}');
	add_event(&w, r, it, c);
	jw_open(&w, "data_stream", '{');
	jw_str(&w, "type", "logs");
	jw_str(&w, "dataset", ECS_DATASET);
	jw_str(&w, "namespace", c->ns ? c->ns : "default");
	jw_close(&w, '}');
	jw_open(&w, "host", '{');
	jw_str(&w, "name", host_name ? host_name : "unknown");
	jw_opt_str(&w, "hostname", host_name);
	jw_opt_str(&w, "id", c->host_id);
	if (c->os_type) {
		jw_open(&w, "os", '{');
		jw_str(&w, "type", c->os_type);
		jw_opt_str(&w, "name", c->os_name);
		jw_opt_str(&w, "version", c->os_version);
		jw_opt_str(&w, "family", c->os_family);
		jw_opt_str(&w, "platform", c->os_platform);
		jw_opt_str(&w, "kernel", c->os_kernel);
		jw_close(&w, '}');
	}
	jw_close(&w, '}');
	add_file(&w, it, e, o);
	add_fimscan(&w, r, it, e, o);
	jw_close(&w, '}');
}

/* ---- the _id ------------------------------------------------------------ */

static void id_field(struct strbuf *in, const void *p, size_t len)
{
	strbuf_addf(in, "%zu:", len);
	strbuf_add(in, p, len);
}

static void id_int(struct strbuf *in, int64_t v)
{
	strbuf_addf(in, "%lld;", (long long)v);
}

/*
 * The first 160 bits of SHA-256 over a versioned, length-prefixed
 * encoding of what identifies one change:
 *
 *   the host (its machine id, else its name), both snapshots (id and
 *   finish time), the kind, the path and moved_from bytes, and the
 *   snapshots the old and new versions were born in (born: the store's
 *   version identity).
 *
 * Stable: every input is stored data or the host's identity, none is the
 * time or place of rendering, so the same change gets the same id from
 * any run, on any machine given the same host identity, after any
 * restart; rendering a document again (even with a newer fimscan that
 * adds fields) keeps its id. Unique: a diff holds one item per path, the
 * two states and the host tell diffs apart, the finish times tell a
 * re-created store's snapshot 3 from the old one's, and the versions'
 * birth snapshots tell apart two different changes of one path between
 * the same two snapshots (the baseline's version of a path changes when
 * it is accepted; "baseline" and its snapshot id give one id for one
 * change, whichever way the diff was asked for). Length
 * prefixes keep fields from running into each other; 160 bits make an
 * accidental collision (2^-80 at 2^40 events) a non-event.
 */
void report_ecs_id(struct strbuf *sb, const struct diff_result *r,
		   const struct diff_item *it, const struct ecs_ctx *c)
{
	static const char hex[] = "0123456789abcdef";
	const char *h = c->host_id ? c->host_id :
			c->host_name ? c->host_name : r->b.host ? r->b.host : "";
	struct strbuf in = STRBUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	strbuf_addstr(&in, "fimscan-ecs-id-v1;");
	id_field(&in, h, strlen(h));
	id_int(&in, r->a.id);
	id_int(&in, r->a.finished_ns);
	id_int(&in, r->b.id);
	id_int(&in, r->b.finished_ns);
	id_int(&in, it->kind);
	id_field(&in, it->path.buf, it->path.len);
	id_field(&in, it->moved_from.buf, it->moved_from.len);
	id_int(&in, it->old ? it->old->born : -1);
	id_int(&in, it->new ? it->new->born : -1);
	if (!EVP_Digest(in.buf, in.len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen * 2 < ECS_ID_HEX)
		die("ecs: SHA-256 is not available");
	strbuf_grow(sb, ECS_ID_HEX);
	for (size_t i = 0; i < ECS_ID_HEX / 2; i++) {
		strbuf_addch(sb, hex[md[i] >> 4]);
		strbuf_addch(sb, hex[md[i] & 15]);
	}
	strbuf_release(&in);
}

/* ---- FMT_ECS ------------------------------------------------------------ */

int report_ecs_diff(const struct diff_result *r, const struct report_opts *o)
{
	struct strbuf sb = STRBUF_INIT;
	struct ecs_ctx c;

	ecs_ctx_init(&c, o->ecs_ns);
	for (size_t i = 0; i < r->n && !ferror(o->out); i++) {
		const struct diff_item *it = r->items[i];

		if (it->kind != DIFF_ADDED && it->kind != DIFF_REMOVED &&
		    it->kind != DIFF_CHANGED)
			continue;
		report_ecs_item(&sb, r, it, &c, o);
		strbuf_addch(&sb, '\n');
		report_flush(&sb, o->out, REPORT_FLUSH);
	}
	report_flush(&sb, o->out, 0);
	strbuf_release(&sb);
	return report_finish(o->out);
}
