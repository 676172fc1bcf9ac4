/*
 * test-ecs.c: ECS documents (report_ecs_item), their ids (report_ecs_id),
 * the NDJSON and HTML renderers. Documents are checked by python3's json
 * module; that every field exists in ECS 9.4 with the right type is
 * tests/cli/t0500-report-ecs.sh's job (it needs the npm package).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "platform/base.h"
#include "report/report.h"
#include "scanner/config.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

/*
 * Run a python3 check on `file`: `body` sees `raw`, its bytes, `docs`,
 * the JSON documents of an .ndjson file (one per line), and the helpers
 * below. Returns its exit status (0: all good).
 */
static int py(const char *body, const char *file)
{
	static const char prelude[] =
		"import base64, json, sys\n"
		"raw = open(sys.argv[1], 'rb').read()\n"
		"docs = [json.loads(l) for l in raw.decode('utf-8').split('\\n')\n"
		"        if l] if sys.argv[1].endswith('.ndjson') else []\n"
		"def get(d, path):\n"
		"    for k in path.split('.'):\n"
		"        if not isinstance(d, dict) or k not in d: return None\n"
		"        d = d[k]\n"
		"    return d\n"
		"def no_dotted_keys(d):\n"
		"    if isinstance(d, dict):\n"
		"        for k, v in d.items():\n"
		"            assert '.' not in k, k\n"
		"            no_dotted_keys(v)\n"
		"    elif isinstance(d, list):\n"
		"        for v in d: no_dotted_keys(v)\n"
		"def check(c, what):\n"
		"    if not c:\n"
		"        print('false:', what, file=sys.stderr)\n"
		"        print(json.dumps(docs, indent=1)[:6000], file=sys.stderr)\n"
		"        sys.exit(1)\n";
	struct strbuf sb = STRBUF_INIT;
	char cmd[256];
	int rc;

	strbuf_addstr(&sb, prelude);
	strbuf_addstr(&sb, body);
	test_write_file("check.py", sb.buf, sb.len);
	strbuf_release(&sb);
	snprintf(cmd, sizeof(cmd), "python3 check.py '%s'", file);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void set_hash(struct fim_entry *e, int id, unsigned char fill)
{
	const struct fim_hash_algo *h = hash_algo_by_id(id);

	e->hashes[e->hashes_len++] = (unsigned char)id;
	e->hashes[e->hashes_len++] = (unsigned char)h->len;
	memset(e->hashes + e->hashes_len, fill, h->len);
	e->hashes_len += h->len;
}

static void add_xattr(struct strbuf *x, const char *name, const void *val,
		      size_t vlen)
{
	uint32_t nl = (uint32_t)strlen(name), vl = (uint32_t)vlen;
	unsigned char b[4];

	b[0] = nl; b[1] = nl >> 8; b[2] = nl >> 16; b[3] = nl >> 24;
	strbuf_add(x, b, 4);
	strbuf_add(x, name, nl);
	b[0] = vl; b[1] = vl >> 8; b[2] = vl >> 16; b[3] = vl >> 24;
	strbuf_add(x, b, 4);
	strbuf_add(x, val, vlen);
}

static struct diff_item *new_item(struct diff_result *r, int kind,
				  const void *path, size_t len)
{
	struct diff_item *it = xcalloc(1, sizeof(*it));

	it->kind = kind;
	strbuf_init(&it->path, 0);
	strbuf_init(&it->moved_from, 0);
	strbuf_add(&it->path, path, len);
	if (kind != DIFF_ADDED) {
		it->old = xmalloc(sizeof(*it->old));
		fim_entry_init(it->old);
		it->old->born = 1;
	}
	if (kind != DIFF_REMOVED) {
		it->new = xmalloc(sizeof(*it->new));
		fim_entry_init(it->new);
		it->new->born = 3;
	}
	ALLOC_GROW(r->items, r->n + 1, r->alloc);
	r->items[r->n++] = it;
	if (kind == DIFF_ADDED)
		r->added++;
	else if (kind == DIFF_REMOVED)
		r->removed++;
	else
		r->changed++;
	return it;
}

static void set_snap(struct snapshot_info *s, int64_t id, int kind,
		     int64_t finished, const char *root)
{
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->kind = kind;
	s->started_ns = finished - 1500000000;
	s->finished_ns = finished;
	s->roots = xmalloc(sizeof(char *));
	s->rootlens = xmalloc(sizeof(size_t));
	s->roots[0] = xstrdup(root);
	s->rootlens[0] = strlen(root);
	s->nroots = 1;
}

#define T_A 1795291262000000000LL            /* 2026-11-21 20:01:02 UTC */
#define T_B (1795291262LL + 3538) * 1000000000LL   /* 21:00:00 */

/* A context that does not depend on the machine running the test. */
static void test_ctx(struct ecs_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->ns = "default";
	c->host_name = "web-1";
	c->host_id = "0123456789abcdef0123456789abcdef";
	c->os_type = "linux";
	c->os_family = "debian";
}

/*
 * One of each: an added file, a removed file, a content change with a
 * chmod, a move, a symlink retargeted, a chown, with sha256 everywhere.
 */
static void build_diff(struct diff_result *r)
{
	struct diff_item *it;

	memset(r, 0, sizeof(*r));
	set_snap(&r->a, 1, SNAP_BASELINE, T_A, "/etc");
	set_snap(&r->b, 3, SNAP_SCAN, T_B, "/etc");
	r->b.host = xstrdup("stored-host");
	r->ra.snap = 1;
	r->ra.overlay = 1;
	r->rb.snap = 3;

	it = new_item(r, DIFF_ADDED, "/etc/app/new.conf", 17);
	it->new->mode = S_IFREG | 0644;
	it->new->size = 42;
	it->new->ino = 1234;
	it->new->uid = 0;
	it->new->gid = 0;
	it->new->nlink = 1;
	it->new->mtime_ns = T_B - 5;
	it->new->ctime_ns = T_B - 4;
	set_hash(it->new, HASH_SHA256, 0xab);

	it = new_item(r, DIFF_CHANGED, "/etc/changed.tar.gz", 19);
	it->old->mode = S_IFREG | 0644;
	it->new->mode = S_IFREG | 04755;
	it->old->size = 1;
	it->new->size = 8192;
	it->old->ino = it->new->ino = 77;
	it->old->mtime_ns = T_A + 123456789;
	it->new->mtime_ns = T_B;
	set_hash(it->old, HASH_SHA256, 0x01);
	set_hash(it->new, HASH_SHA256, 0x02);
	it->attrs = ATTR_MODE | ATTR_SIZE | ATTR_MTIME | ATTR_HASH;
	it->hash_ids = 1u << HASH_SHA256;

	it = new_item(r, DIFF_CHANGED, "/etc/link", 9);
	it->old->mode = it->new->mode = S_IFLNK | 0777;
	strbuf_addstr(&it->old->target, "old\xff");
	strbuf_addstr(&it->new->target, "new");
	it->attrs = ATTR_TARGET;

	it = new_item(r, DIFF_CHANGED, "/etc/moved-to", 13);
	strbuf_addstr(&it->moved_from, "/etc/moved-from");
	it->old->mode = it->new->mode = S_IFREG | 0600;
	it->old->ctime_ns = T_A;
	it->new->ctime_ns = T_B;
	it->attrs = ATTR_CTIME;
	r->moved++;

	it = new_item(r, DIFF_CHANGED, "/etc/owned", 10);
	it->old->mode = it->new->mode = S_IFDIR | 0755;
	it->old->uid = 0;
	it->new->uid = 4242424;
	it->old->ctime_ns = T_A;
	it->new->ctime_ns = T_B;
	add_xattr(&it->new->xattrs, "user.note", "hi\n\0", 4);
	add_xattr(&it->old->xattrs, "user.note", "hi", 2);
	it->attrs = ATTR_UID | ATTR_CTIME | ATTR_XATTRS;

	it = new_item(r, DIFF_REMOVED, "/etc/removed", 12);
	it->old->mode = S_IFREG | 0640;
	it->old->size = 5;
	it->old->uid = 12;
	it->old->gid = 34;
	it->old->ino = 99;
	set_hash(it->old, HASH_SHA256, 0xcd);
}

/* Every document of r (known kinds) into `path`, one per line. */
static void write_docs(const struct diff_result *r, const struct ecs_ctx *c,
		       const char *path)
{
	struct strbuf sb = STRBUF_INIT;
	struct report_opts o = { 0 };

	for (size_t i = 0; i < r->n; i++) {
		report_ecs_item(&sb, r, r->items[i], c, &o);
		strbuf_addch(&sb, '\n');
	}
	test_write_file(path, sb.buf, sb.len);
	strbuf_release(&sb);
}

static char *id_of(const struct diff_result *r, const struct diff_item *it,
		   const struct ecs_ctx *c)
{
	struct strbuf sb = STRBUF_INIT;

	report_ecs_id(&sb, r, it, c);
	return strbuf_detach(&sb, NULL);
}

/* ---- documents ---------------------------------------------------------- */

/* What every document has, whatever its kind. */
DEFINE_TEST(test_ecs_common_fields)
{
	struct diff_result r;
	struct ecs_ctx c;

	build_diff(&r);
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"check(len(docs) == 6, 'one document per item')\n"
		"for d in docs:\n"
		"    no_dotted_keys(d)\n"
		"    check(d['@timestamp'] == '2026-11-21T21:00:00.000000000Z', 'timestamp')\n"
		"    check(d['ecs'] == {'version': '9.4.0'}, 'ecs.version')\n"
		"    e = d['event']\n"
		"    check(e['kind'] == 'event' and e['category'] == ['file'], 'kind')\n"
		"    check(e['module'] == 'fimscan' and e['dataset'] == 'fimscan.events', 'module')\n"
		"    check(len(e['id']) == 40, 'event.id')\n"
		"    check(d['data_stream'] == {'type': 'logs', 'dataset': 'fimscan.events',\n"
		"          'namespace': 'default'}, 'data_stream')\n"
		"    check(d['host']['name'] == 'web-1' and d['host']['hostname'] == 'web-1', 'host')\n"
		"    check(d['host']['id'] == '0123456789abcdef0123456789abcdef', 'host.id')\n"
		"    check(d['host']['os'] == {'type': 'linux', 'family': 'debian'}, 'host.os')\n"
		"    f = d['file']\n"
		"    for k in ('uid', 'gid', 'inode', 'mode'):\n"
		"        check(isinstance(f[k], str) and f[k].isdigit(), 'file.' + k)\n"
		"    check(isinstance(f['size'], int), 'file.size')\n"
		"    check(f['mtime'].endswith('Z') and f['ctime'].endswith('Z'), 'times')\n"
		"    check(base64.b64decode(d['fimscan']['path_base64']).decode() == f['path'], 'path_base64')\n"
		"    check(f['path'] == f['directory'] + '/' + f['name'], 'name/directory')\n"
		"    check(d['fimscan']['snapshot'] == {'id': 3, 'previous': 1}, 'snapshot')\n"
		"    check(sorted(set(e['type'])) == e['type'], 'event.type sorted set')\n"
		"check(len(set(d['event']['id'] for d in docs)) == 6, 'ids differ')\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

DEFINE_TEST(test_ecs_added_removed)
{
	struct diff_result r;
	struct ecs_ctx c;

	build_diff(&r);
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"a = docs[0]\n"
		"check(a['event']['action'] == ['created'], 'created')\n"
		"check(a['event']['type'] == ['creation'], 'creation')\n"
		"f = a['file']\n"
		"check(f['path'] == '/etc/app/new.conf' and f['name'] == 'new.conf', 'path')\n"
		"check(f['directory'] == '/etc/app' and f['extension'] == 'conf', 'ext')\n"
		"check(f['type'] == 'file' and f['size'] == 42 and f['inode'] == '1234', 'attrs')\n"
		"check(f['uid'] == '0' and f['gid'] == '0' and f['mode'] == '0644', 'ids')\n"
		"check(f['hash'] == {'sha256': 'ab' * 32}, 'hash')\n"
		"check('previous' not in a['fimscan'] and 'changed_attributes' not in a['fimscan'], 'no previous')\n"
		"check(a['fimscan']['nlink'] == 1 and a['fimscan']['state'] == 'ok', 'fimscan')\n"
		"d = docs[5]\n"
		"check(d['event']['action'] == ['deleted'], 'deleted')\n"
		"check(d['event']['type'] == ['deletion'], 'deletion')\n"
		"f = d['file']\n"
		"check(f['path'] == '/etc/removed' and 'extension' not in f, 'path')\n"
		"check(f['mode'] == '0640' and f['size'] == 5, 'old version')\n"
		"check(f['uid'] == '12' and f['gid'] == '34' and f['inode'] == '99', 'old ids')\n"
		"check(f['hash'] == {'sha256': 'cd' * 32}, 'old hash')\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

DEFINE_TEST(test_ecs_changed)
{
	struct diff_result r;
	struct ecs_ctx c;

	build_diff(&r);
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"d = docs[1]\n"
		"check(d['event']['action'] == ['attributes_modified', 'updated'], 'actions')\n"
		"check(d['event']['type'] == ['change'], 'type')\n"
		"f, x = d['file'], d['fimscan']\n"
		"check(f['extension'] == 'gz' and f['name'] == 'changed.tar.gz', 'ext')\n"
		"check(f['mode'] == '4755' and f['size'] == 8192, 'new values')\n"
		"check(f['hash']['sha256'] == '02' * 32, 'new hash')\n"
		"check(x['changed_attributes'] == ['mode', 'size', 'mtime', 'sha256'], x['changed_attributes'])\n"
		"p = x['previous']\n"
		"check(p == {'mode': '0644', 'size': 1, 'mtime': '2026-11-21T20:01:02.123456789Z',\n"
		"            'hash': {'sha256': '01' * 32}}, 'previous')\n"
		"check('diff' not in x, 'no ranges without diff_bytes')\n"
		"l = docs[2]\n"
		"check(l['event']['action'] == ['updated'], 'symlink retarget is a content change')\n"
		"check(l['file']['type'] == 'symlink' and l['file']['target_path'] == 'new', 'target')\n"
		"check(base64.b64decode(l['fimscan']['target_path_base64']) == b'new', 'target b64')\n"
		"check(l['fimscan']['previous']['target_path'] == 'old\\ufffd', 'old target')\n"
		"check(base64.b64decode(l['fimscan']['previous']['target_path_base64']) == b'old\\xff', 'old target b64')\n"
		"o = docs[4]\n"
		"check(o['event']['action'] == ['attributes_modified'], 'chown')\n"
		"check(o['file']['type'] == 'dir' and o['file']['uid'] == '4242424', 'dir uid')\n"
		"check(o['fimscan']['previous']['uid'] == '0', 'old uid')\n"
		"check(o['fimscan']['xattrs'] == [{'name': 'user.note',\n"
		"      'value_base64': base64.b64encode(b'hi\\n\\0').decode()}], 'xattrs')\n"
		"check(o['fimscan']['previous']['xattrs'][0]['value_base64'] == 'aGk=', 'old xattrs')\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

DEFINE_TEST(test_ecs_moved)
{
	struct diff_result r;
	struct ecs_ctx c;

	build_diff(&r);
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"m = docs[3]\n"
		"check(m['event']['action'] == ['moved'], 'a rename alone is a move')\n"
		"check(m['event']['type'] == ['change'], 'type')\n"
		"x = m['fimscan']\n"
		"check(m['file']['path'] == '/etc/moved-to', 'new path')\n"
		"check(x['moved_from'] == '/etc/moved-from', 'moved_from')\n"
		"check(base64.b64decode(x['moved_from_base64']) == b'/etc/moved-from', 'b64')\n"
		"check(x['changed_attributes'] == ['ctime'], 'attrs')\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

/* A move that was also edited and chmod'ed: three actions, one type. */
DEFINE_TEST(test_ecs_several_actions)
{
	struct diff_result r;
	struct diff_item *it;
	struct ecs_ctx c;

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 4, SNAP_SCAN, T_A, "/srv");
	set_snap(&r.b, 5, SNAP_SCAN, T_B, "/srv");
	it = new_item(&r, DIFF_CHANGED, "/srv/b", 6);
	strbuf_addstr(&it->moved_from, "/srv/a");
	it->old->mode = S_IFREG | 0644;
	it->new->mode = S_IFREG | 0600;
	set_hash(it->old, HASH_SHA256, 1);
	set_hash(it->new, HASH_SHA256, 2);
	it->attrs = ATTR_MODE | ATTR_HASH | ATTR_CTIME | ATTR_MTIME;
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"e = docs[0]['event']\n"
		"check(e['action'] == ['attributes_modified', 'moved', 'updated'], e['action'])\n"
		"check(e['type'] == ['change'], e['type'])\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

/* md5, sha1, sha256, sha384 and sha512 are ECS fields; the rest are ours. */
DEFINE_TEST(test_ecs_hash_fields)
{
	struct diff_result r;
	struct diff_item *it;
	struct ecs_ctx c;

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/");
	it = new_item(&r, DIFF_ADDED, "/f", 2);
	it->new->mode = S_IFREG | 0644;
	set_hash(it->new, HASH_MD5, 0x11);
	set_hash(it->new, HASH_SHA1, 0x22);
	set_hash(it->new, HASH_SHA3_256, 0x33);
	set_hash(it->new, HASH_BLAKE2B512, 0x44);
	it = new_item(&r, DIFF_CHANGED, "/g", 2);
	it->old->mode = it->new->mode = S_IFREG | 0644;
	set_hash(it->old, HASH_SHA512, 0x01);
	set_hash(it->old, HASH_SHA512_256, 0x02);
	set_hash(it->new, HASH_SHA512, 0x03);
	set_hash(it->new, HASH_SHA512_256, 0x04);
	it->attrs = ATTR_HASH;
	it->hash_ids = 1u << HASH_SHA512 | 1u << HASH_SHA512_256;
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"f = docs[0]\n"
		"check(f['file']['hash'] == {'md5': '11' * 16, 'sha1': '22' * 20}, f['file']['hash'])\n"
		"check(f['fimscan']['hash'] == {'sha3_256': '33' * 32, 'blake2b_512': '44' * 64}, 'ours')\n"
		"check(f['file']['path'] == '/f' and f['file']['directory'] == '' or\n"
		"      'directory' not in f['file'] or f['file']['directory'] == '/', 'root dir')\n"
		"g = docs[1]\n"
		"check(g['file']['hash'] == {'sha512': '03' * 64}, 'new sha512')\n"
		"check(g['fimscan']['hash'] == {'sha512_256': '04' * 32}, 'new sha512-256')\n"
		"check(g['fimscan']['changed_attributes'] == ['sha512', 'sha512-256'], 'labels')\n"
		"check(g['fimscan']['previous']['hash'] == {'sha512': '01' * 64,\n"
		"      'sha512_256': '02' * 32}, 'previous hashes')\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

/* Byte ranges from diff_bytes() appear under fimscan.diff. */
DEFINE_TEST(test_ecs_ranges)
{
	struct diff_result r;
	struct diff_item *it;
	struct ecs_ctx c;

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/");
	it = new_item(&r, DIFF_CHANGED, "/bin/x", 6);
	it->old->mode = it->new->mode = S_IFREG | 0755;
	it->old->size = 65536;
	it->new->size = 69632;
	set_hash(it->old, HASH_SHA256, 1);
	set_hash(it->new, HASH_SHA256, 2);
	it->attrs = ATTR_HASH | ATTR_SIZE;
	it->ranges = xcalloc(1, sizeof(*it->ranges));
	range_list_add(it->ranges, 0, 4096, 0, 4096, 0);
	range_list_add(it->ranges, 32768, 0, 32768, 4096, 0);
	it->ranges->v[1].op = RANGE_INSERT;
	it->ranges->v[0].op = RANGE_MODIFY;
	it->bytes_state = BYTES_CHUNKS;
	it = new_item(&r, DIFF_CHANGED, "/bin/y", 6);
	it->old->mode = it->new->mode = S_IFREG | 0755;
	set_hash(it->old, HASH_SHA256, 1);
	set_hash(it->new, HASH_SHA256, 2);
	it->attrs = ATTR_HASH;
	it->bytes_state = BYTES_UNKNOWN;
	it->bytes_why = "chunk parameters differ";
	test_ctx(&c);
	write_docs(&r, &c, "docs.ndjson");
	assert_int(py(
		"x = docs[0]['fimscan']['diff']\n"
		"check(x['exact'] is False, 'chunk granularity')\n"
		"check(x['bytes_changed'] == 8192, x)\n"
		"check([q['op'] for q in x['ranges']] == ['modify', 'insert'], x)\n"
		"check(x['ranges'][1] == {'op': 'insert', 'old_offset': 32768, 'old_length': 0,\n"
		"      'new_offset': 32768, 'new_length': 4096}, x)\n"
		"y = docs[1]['fimscan']['diff']\n"
		"check(y == {'location_unknown': True, 'reason': 'chunk parameters differ'}, y)\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

/* Names that are not text, or that are markup, still give valid JSON. */
DEFINE_TEST(test_ecs_hostile_names)
{
	static const struct { const char *s; size_t len; } names[] = {
		{ "/t/new\nline", 11 },
		{ "/t/esc\x1b[31mred", 13 },
		{ "/t/quote\"q\\b", 12 },
		{ "/t/bad\xff\xfe", 8 },
		{ "/t/nul\0byte", 11 },
		{ "/t/<img src=x onerror=alert(1)>", 31 },
		{ "/t/</script><script>alert(1)</script>", 37 },
		{ "/t/ls\xe2\x80\xa8ps\xe2\x80\xa9", 11 },
		{ "/t/bidi\xe2\x80\xaetxt.exe", 17 },
		{ "/t/%n%s", 7 },
	};
	struct diff_result r;
	struct ecs_ctx c;
	char hexes[4096] = "";
	FILE *f;

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/t");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/t");
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct diff_item *it = new_item(&r, DIFF_ADDED, names[i].s,
						names[i].len);
		it->new->mode = S_IFREG | 0644;
		for (size_t k = 0; k < names[i].len; k++)
			snprintf(hexes + strlen(hexes), 3, "%02x",
				 (unsigned char)names[i].s[k]);
		strcat(hexes, "\n");
	}
	/* a move from and to hostile names too */
	{
		struct diff_item *it = new_item(&r, DIFF_CHANGED,
						"/t/to\xc0", 6);
		strbuf_add(&it->moved_from, "/t/from\n\xff", 9);
		it->old->mode = it->new->mode = S_IFREG | 0644;
		it->attrs = ATTR_CTIME;
		strcat(hexes, "2f742f746fc0\n");
	}
	test_ctx(&c);
	c.host_name = "host\"<x>";
	write_docs(&r, &c, "docs.ndjson");
	f = fopen("hex", "w");
	assert_true(f != NULL);
	fputs(hexes, f);
	fclose(f);
	assert_int(py(
		"want = [bytes.fromhex(h) for h in open('hex').read().split()]\n"
		"check(len(docs) == len(want), 'count')\n"
		"check(raw.count(b'\\n') == len(docs), 'one line each')\n"
		"for d, w in zip(docs, want):\n"
		"    no_dotted_keys(d)\n"
		"    check(base64.b64decode(d['fimscan']['path_base64'], validate=True) == w, w)\n"
		"    check(d['file']['path'] == w.decode('utf-8', 'replace'), 'lossy path')\n"
		"check(base64.b64decode(docs[-1]['fimscan']['moved_from_base64']) == b'/t/from\\n\\xff', 'from')\n"
		"check(docs[0]['host']['name'] == 'host\"<x>', 'host')\n"
		"check(b'\\xe2\\x80\\xa8' not in raw and b'\\xe2\\x80\\xae' not in raw, 'separators escaped')\n",
		"docs.ndjson"), 0);
	diff_result_release(&r);
}

/* ---- ids ---------------------------------------------------------------- */

DEFINE_TEST(test_ecs_id_stable_and_unique)
{
	struct diff_result r, r2;
	struct ecs_ctx c, c2;
	char *ids[16];
	size_t n = 0;
	char *x;

	build_diff(&r);
	test_ctx(&c);
	for (size_t i = 0; i < r.n; i++) {
		ids[n] = id_of(&r, r.items[i], &c);
		assert_int(strlen(ids[n]), 40);
		assert_int(strspn(ids[n], "0123456789abcdef"), 40);
		n++;
	}
	/* The same change: the same id, from another rendering of it. */
	build_diff(&r2);
	for (size_t i = 0; i < r2.n; i++) {
		x = id_of(&r2, r2.items[i], &c);
		assert_str(x, ids[i]);
		free(x);
	}
	/* A known answer, so that the derivation never changes by accident
	 * (documents shipped before an upgrade keep their ids). */
	assert_str(ids[0], "e27dfc0923665b187de18ad3c64aea54c7228fd5");
	/* Anything else that identifies the change gives another id. */
	test_ctx(&c2);
	c2.host_id = "fedcba9876543210fedcba9876543210";
	ids[n++] = id_of(&r, r.items[0], &c2);
	test_ctx(&c2);
	c2.host_id = NULL;           /* falls back to the host name */
	ids[n++] = id_of(&r, r.items[0], &c2);
	r2.b.id = 4;
	ids[n++] = id_of(&r2, r2.items[0], &c);
	r2.b.id = 3;
	r2.b.finished_ns++;          /* a re-created store's snapshot 3 */
	ids[n++] = id_of(&r2, r2.items[0], &c);
	r2.b.finished_ns--;
	r2.items[1]->old->born = 2;  /* another old version of the path */
	ids[n++] = id_of(&r2, r2.items[1], &c);
	r2.items[1]->old->born = 1;
	r2.items[0]->kind = DIFF_REMOVED;
	ids[n++] = id_of(&r2, r2.items[0], &c);
	r2.items[0]->kind = DIFF_ADDED;
	/* "baseline" or its snapshot's id: the same change, the same id. */
	r2.ra.overlay = 0;
	x = id_of(&r2, r2.items[0], &c);
	assert_str(x, ids[0]);
	free(x);
	r2.ra.overlay = 1;
	/* The namespace and the rest of the context are not part of it. */
	c2 = c;
	c2.ns = "prod";
	c2.os_kernel = "6.1.0";
	x = id_of(&r, r.items[0], &c2);
	assert_str(x, ids[0]);
	free(x);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(ids[i], ids[j]))
				test_fail(__FILE__, __LINE__,
					  "ids %zu and %zu are equal: %s", i,
					  j, ids[i]);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	diff_result_release(&r);
	diff_result_release(&r2);
}

/* event.id is the _id, so that a document can be found by it. */
DEFINE_TEST(test_ecs_event_id_is_the_id)
{
	struct diff_result r;
	struct strbuf sb = STRBUF_INIT;
	struct report_opts o = { 0 };
	struct ecs_ctx c;
	char *id;

	build_diff(&r);
	test_ctx(&c);
	id = id_of(&r, r.items[2], &c);
	report_ecs_item(&sb, &r, r.items[2], &c, &o);
	assert_true(strstr(sb.buf, id) != NULL);
	free(id);
	strbuf_release(&sb);
	diff_result_release(&r);
}

/* ---- the context -------------------------------------------------------- */

DEFINE_TEST(test_ecs_ctx_init)
{
	struct ecs_ctx c, c2;

	ecs_ctx_init(&c, NULL);
	assert_str(c.ns, "default");
	assert_true(c.host_name != NULL && *c.host_name);
	assert_str(c.os_type, "linux");
	if (c.host_id)
		assert_int(strlen(c.host_id), 32);
	ecs_ctx_init(&c2, "prod");
	assert_str(c2.ns, "prod");
	/* the same strings every time: documents name the host alike */
	assert_true(c2.host_name == c.host_name);
}

/* ---- renderers ---------------------------------------------------------- */

static void render(const struct diff_result *r, int format, const char *ns,
		   const char *path)
{
	struct report_opts o = { 0 };

	o.format = format;
	o.ecs_ns = ns;
	o.out = fopen(path, "w");
	assert_true(o.out != NULL);
	assert_int(report_diff(r, &o), 0);
	assert_int(fclose(o.out), 0);
}

DEFINE_TEST(test_ecs_ndjson)
{
	struct diff_result r;

	build_diff(&r);
	assert_int(report_format_by_name("ecs"), FMT_ECS);
	assert_int(report_format_by_name("html"), FMT_HTML);
	render(&r, FMT_ECS, "prod_1", "out.ndjson");
	assert_int(py(
		"check(raw.endswith(b'\\n') and raw.count(b'\\n') == 6, 'six lines')\n"
		"for d in docs:\n"
		"    check(d['data_stream']['namespace'] == 'prod_1', 'namespace')\n"
		"    check(d['host']['name'], 'host from the OS')\n",
		"out.ndjson"), 0);
	diff_result_release(&r);
	/* no change: no line */
	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/");
	render(&r, FMT_ECS, NULL, "empty.ndjson");
	assert_int(py("check(raw == b'', 'empty')\n", "empty.ndjson"), 0);
	diff_result_release(&r);
}

/*
 * The HTML report embeds the documents as JSON that no name can break
 * out of: inside the data block there is no '<' at all, and the JSON
 * parses back to the exact names.
 */
DEFINE_TEST(test_html_data_escaped)
{
	static const char img[] = "/etc/<img src=x onerror=alert(1)>";
	static const char scr[] = "/etc/</script><b>&amp;\xe2\x80\xa8";
	struct diff_result r;
	struct diff_item *it;

	build_diff(&r);
	it = new_item(&r, DIFF_ADDED, img, strlen(img));
	it->new->mode = S_IFREG | 0644;
	it = new_item(&r, DIFF_ADDED, scr, strlen(scr));
	it->new->mode = S_IFREG | 0644;
	render(&r, FMT_HTML, NULL, "report.html");
	assert_int(py(
		"html = raw.decode('utf-8')\n"
		"start = html.index('<script type=\"application/json\" id=\"fimscan-data\">')\n"
		"start = html.index('>', start) + 1\n"
		"end = html.index('</script>', start)\n"
		"data = html[start:end]\n"
		"check('<' not in data and '>' not in data and '&' not in data, 'markup escaped')\n"
		"check('\\u2028' not in data, 'line separator escaped')\n"
		"d = json.loads(data)\n"
		"paths = [base64.b64decode(e['fimscan']['path_base64']) for e in d['events']]\n"
		"check(b'/etc/<img src=x onerror=alert(1)>' in paths, 'img name')\n"
		"check(b'/etc/</script><b>&amp;\\xe2\\x80\\xa8' in paths, 'script name')\n"
		"check(d['summary']['added'] == 3 and len(d['events']) == 8, 'counts')\n"
		"check(html.count('<script') == 2 and html.count('</script>') == 2, 'two scripts')\n"
		"check('<img' not in html, 'no img element')\n"
		"check('http:' not in html and 'https:' not in html, 'no URL')\n"
		"check('innerHTML' not in html and 'document.write' not in html, 'no markup sinks')\n"
		"check(\"script-src 'sha256-\" in html, 'CSP')\n"
		"check(d['hash_keys']['sha3-256'] == 'sha3_256', 'hash keys')\n",
		"report.html"), 0);
	diff_result_release(&r);
}

/* The CSP hashes are those of the blocks the page holds. */
DEFINE_TEST(test_html_csp_hashes)
{
	struct diff_result r;

	build_diff(&r);
	render(&r, FMT_HTML, NULL, "report.html");
	assert_int(py(
		"import hashlib, re\n"
		"html = raw.decode('utf-8')\n"
		"csp = re.search(r'Content-Security-Policy\" content=\"([^\"]*)\"', html).group(1)\n"
		"def h(s): return \"'sha256-\" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + \"'\"\n"
		"js = re.findall(r'<script>(.*?)</script>', html, re.S)\n"
		"css = re.findall(r'<style>(.*?)</style>', html, re.S)\n"
		"check(len(js) == 1 and len(css) == 1, 'one of each')\n"
		"check('script-src ' + h(js[0]) + ';' in csp, 'script hash')\n"
		"check('style-src ' + h(css[0]) + ';' in csp, 'style hash')\n"
		"check(\"default-src 'none'\" in csp, 'nothing else')\n",
		"report.html"), 0);
	diff_result_release(&r);
}
