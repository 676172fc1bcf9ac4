/*
 * test-report.c: the renderers. JSON output is checked by python3's json
 * module (the strictest parser at hand); text output byte by byte for
 * anything a hostile name could smuggle onto a terminal.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "platform/base.h"
#include "report/report.h"
#include "scanner/config.h"
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

/* Run a python3 script on `file`; returns its exit status (0: all good). */
static int py(const char *script, const char *file)
{
	char cmd[256];
	int rc;

	test_write_file("check.py", script, strlen(script));
	snprintf(cmd, sizeof(cmd), "python3 check.py '%s'", file);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	size_t n;

	if (!f) {
		test_fail(__FILE__, __LINE__, "cannot open %s", path);
		abort();
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		strbuf_add(&sb, buf, n);
	fclose(f);
	return strbuf_detach(&sb, len);
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
	/* as the differ does: only the sides that exist */
	if (kind != DIFF_ADDED) {
		it->old = xmalloc(sizeof(*it->old));
		fim_entry_init(it->old);
	}
	if (kind != DIFF_REMOVED) {
		it->new = xmalloc(sizeof(*it->new));
		fim_entry_init(it->new);
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

/*
 * A diff with one of everything: an added file, a removed symlink, a file
 * whose mode, owner, size, mtime, xattrs, flags and sha256 changed, a
 * symlink whose target changed, and a move.
 */
static void build_diff(struct diff_result *r)
{
	struct diff_item *it;

	memset(r, 0, sizeof(*r));
	set_snap(&r->a, 1, SNAP_BASELINE, T_A, "/etc");
	set_snap(&r->b, 3, SNAP_SCAN, T_B, "/etc");
	r->b.warnings = 2;

	it = new_item(r, DIFF_ADDED, "/etc/added", 10);
	it->new->mode = S_IFREG | 0644;
	it->new->size = 42;
	set_hash(it->new, HASH_SHA256, 0xab);

	it = new_item(r, DIFF_CHANGED, "/etc/changed", 12);
	it->old->mode = S_IFREG | 0644;
	it->new->mode = S_IFREG | 04755;
	it->old->uid = 0;
	it->new->uid = 4242424;
	it->old->size = 1;
	it->new->size = 2;
	it->old->mtime_ns = T_A + 123456789;
	it->new->mtime_ns = T_B;
	it->old->has_iflags = 1;
	it->new->has_iflags = 1;
	it->old->iflags = 0;
	it->new->iflags = 0x10;             /* FS_IMMUTABLE_FL */
	add_xattr(&it->new->xattrs, "user.note", "hi\n\0", 4);
	add_xattr(&it->old->xattrs, "user.note", "hi", 2);
	set_hash(it->old, HASH_SHA256, 0x01);
	set_hash(it->new, HASH_SHA256, 0x02);
	it->attrs = ATTR_MODE | ATTR_UID | ATTR_SIZE | ATTR_MTIME |
		    ATTR_XATTRS | ATTR_FLAGS | ATTR_HASH;
	it->hash_ids = 1u << HASH_SHA256;

	it = new_item(r, DIFF_CHANGED, "/etc/link", 9);
	it->old->mode = it->new->mode = S_IFLNK | 0777;
	strbuf_addstr(&it->old->target, "old\xff");
	strbuf_addstr(&it->new->target, "new");
	it->attrs = ATTR_TARGET;

	it = new_item(r, DIFF_CHANGED, "/etc/moved-to", 13);
	strbuf_addstr(&it->moved_from, "/etc/moved-from");
	it->old->mode = it->new->mode = S_IFREG | 0600;
	it->old->ctime_ns = -1;
	it->new->ctime_ns = T_B;
	it->attrs = ATTR_CTIME;
	r->moved++;

	it = new_item(r, DIFF_REMOVED, "/etc/removed", 12);
	it->old->mode = S_IFLNK | 0777;
	strbuf_addstr(&it->old->target, "x");
	it->old->size = 1;
}

static void render(const struct diff_result *r, int format, int color,
		   const char *path, int expect)
{
	struct report_opts o = { 0 };

	o.format = format;
	o.color = color;
	o.out = fopen(path, "w");
	assert_true(o.out != NULL);
	assert_int(report_diff(r, &o), expect);
	assert_int(fclose(o.out), 0);
}

/* ---- json_add_string / json_add_path / base64 ----------------------------- */

static void check_string(const char *in, size_t len, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	json_add_string(&sb, in, len);
	assert_str(sb.buf, want);
	strbuf_release(&sb);
}

DEFINE_TEST(test_json_string_escapes)
{
	check_string("plain", 5, "\"plain\"");
	check_string("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_string("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"");
	check_string("\x1b[31m\x01\x7f", 7, "\"\\u001b[31m\\u0001\\u007f\"");
	check_string("a\0b", 3, "\"a\\u0000b\"");
	check_string("%n%s", 4, "\"%n%s\"");
	check_string("/", 1, "\"/\"");
	/* valid UTF-8 passes: 2, 3 and 4 byte forms */
	check_string("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9,
		     "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
	/* invalid: one U+FFFD per byte */
	check_string("\xff", 1, "\"\\ufffd\"");
	check_string("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");           /* overlong */
	check_string("\xe0\x80\xaf", 3, "\"\\ufffd\\ufffd\\ufffd\"");
	check_string("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	check_string("\xf4\x90\x80\x80", 4,
		     "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");            /* > U+10FFFF */
	check_string("a\xe2\x82", 3, "\"a\\ufffd\\ufffd\"");       /* truncated */
	check_string("\xe2\x82z", 3, "\"\\ufffd\\ufffdz\"");
	check_string("\x80", 1, "\"\\ufffd\"");
	/* valid but escaped: C1, line separators, bidi overrides */
	check_string("\xc2\x9b", 2, "\"\\u009b\"");
	check_string("\xe2\x80\xa8\xe2\x80\xae\xe2\x81\xa6", 9,
		     "\"\\u2028\\u202e\\u2066\"");
	check_string("\xc2\xa0", 2, "\"\xc2\xa0\"");
}

DEFINE_TEST(test_base64)
{
	static const char *const in[] = { "", "f", "fo", "foo", "foob",
					  "fooba", "foobar" };
	static const char *const out[] = { "", "Zg==", "Zm8=", "Zm9v",
					   "Zm9vYg==", "Zm9vYmE=",
					   "Zm9vYmFy" };
	struct strbuf sb = STRBUF_INIT;

	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		strbuf_reset(&sb);
		base64_add(&sb, in[i], strlen(in[i]));
		assert_str(sb.buf, out[i]);
	}
	strbuf_reset(&sb);
	base64_add(&sb, "\xff\xfe\x00", 3);
	assert_str(sb.buf, "//4A");
	strbuf_reset(&sb);
	json_add_path(&sb, "path", "a\xff", 2);
	assert_str(sb.buf, "\"path\":\"a\\ufffd\",\"path_base64\":\"Yf8=\"");
	strbuf_reset(&sb);
	json_add_path(&sb, "target", "", 0);
	assert_str(sb.buf, "\"target\":\"\",\"target_base64\":\"\"");
	strbuf_release(&sb);
}

/*
 * Hostile names through json_add_path: the document must parse and each
 * base64 must decode to the exact bytes (given to python as hex).
 */
DEFINE_TEST(test_json_hostile_names)
{
	static const char script[] =
		"import json, sys, base64\n"
		"doc = json.load(open(sys.argv[1], encoding='utf-8'))\n"
		"for e in doc:\n"
		"    assert isinstance(e['p'], str)\n"
		"    assert base64.b64decode(e['p_base64'], validate=True) == "
		"bytes.fromhex(e['hex']), e\n"
		"assert len(doc) == int(open('count').read())\n";
	static const char hex[] = "0123456789abcdef";
	struct { const char *s; size_t len; } names[] = {
		{ "new\nline", 8 },
		{ "esc\x1b[31mred\x1b[0m", 16 },
		{ "quote\"q", 7 },
		{ "back\\slash", 10 },
		{ "%n%n%s", 6 },
		{ "bad\xff", 4 },
		{ "over\xc0\xaf", 6 },
		{ "trunc\xe2\x82", 7 },
		{ "nul\0byte", 8 },
		{ "del\x7f", 4 },
		{ "sur\xed\xbf\xbf", 6 },
		{ "big\xf5\x80\x80\x80", 7 },
		{ "bidi\xe2\x80\xae", 7 },
		{ "", 0 },
	};
	char big[255];
	struct strbuf sb = STRBUF_INIT;
	char count[16];
	FILE *f;

	/* a 255-byte name of every non-NUL byte value, '/' excluded */
	for (size_t i = 0, c = 1; i < sizeof(big); i++, c++) {
		if (c == '/')
			c++;
		big[i] = (char)c;
	}
	strbuf_addch(&sb, '[');
	for (size_t i = 0; i <= ARRAY_SIZE(names); i++) {
		const char *s = i < ARRAY_SIZE(names) ? names[i].s : big;
		size_t len = i < ARRAY_SIZE(names) ? names[i].len : sizeof(big);

		if (i)
			strbuf_addch(&sb, ',');
		strbuf_addch(&sb, '{');
		json_add_path(&sb, "p", s, len);
		strbuf_addstr(&sb, ",\"hex\":\"");
		for (size_t j = 0; j < len; j++) {
			strbuf_addch(&sb, hex[(unsigned char)s[j] >> 4]);
			strbuf_addch(&sb, hex[(unsigned char)s[j] & 15]);
		}
		strbuf_addstr(&sb, "\"}");
	}
	strbuf_addstr(&sb, "]\n");
	/* no raw control byte anywhere in the JSON text */
	for (size_t i = 0; i + 1 < sb.len; i++)
		assert_true((unsigned char)sb.buf[i] >= 0x20 &&
			    sb.buf[i] != 0x7f);
	f = fopen("names.json", "w");
	assert_true(f != NULL);
	fwrite(sb.buf, 1, sb.len, f);
	assert_int(fclose(f), 0);
	snprintf(count, sizeof(count), "%zu", ARRAY_SIZE(names) + 1);
	test_write_file("count", count, strlen(count));
	assert_int(py(script, "names.json"), 0);
	strbuf_release(&sb);
}

/* ---- time ------------------------------------------------------------------ */

static void check_time(int64_t ns, const char *want)
{
	struct strbuf sb = STRBUF_INIT;

	time_add_rfc3339(&sb, ns);
	assert_str(sb.buf, want);
	strbuf_release(&sb);
}

DEFINE_TEST(test_time_rfc3339)
{
	struct strbuf sb = STRBUF_INIT;
	unsigned seed = 12345;

	check_time(0, "1970-01-01T00:00:00.000000000Z");
	check_time(1500000000, "1970-01-01T00:00:01.500000000Z");
	check_time(-1, "1969-12-31T23:59:59.999999999Z");
	check_time(-1500000000, "1969-12-31T23:59:58.500000000Z");
	check_time(-86400000000000LL, "1969-12-31T00:00:00.000000000Z");
	check_time(-2208988800000000000LL, "1900-01-01T00:00:00.000000000Z");
	check_time(T_A + 123456789, "2026-11-21T20:01:02.123456789Z");
	check_time(T_B, "2026-11-21T21:00:00.000000000Z");
	check_time(1835438400000000000LL, "2028-02-29T12:00:00.000000000Z");
	check_time(INT64_MAX, "2262-04-11T23:47:16.854775807Z");
	check_time(INT64_MIN, "1677-09-21T00:12:43.145224192Z");

	/* against the C library, over the whole int64 nanosecond range */
	for (int i = 0; i < 20000; i++) {
		int64_t sec, ns;
		time_t t;
		struct tm tm;
		char want[64];

		seed = seed * 1103515245u + 12345u;
		sec = (int64_t)((seed >> 1) % 18000000000u) - 9000000000LL;
		ns = sec * 1000000000 + (int64_t)(seed % 1000000000u);
		sec = ns / 1000000000 - (ns % 1000000000 < 0);
		t = (time_t)sec;
		gmtime_r(&t, &tm);
		snprintf(want, sizeof(want),
			 "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec,
			 (long long)(ns - sec * 1000000000));
		strbuf_reset(&sb);
		time_add_rfc3339(&sb, ns);
		if (strcmp(sb.buf, want)) {
			assert_str(sb.buf, want);
			break;
		}
	}
	strbuf_release(&sb);
}

DEFINE_TEST(test_format_by_name)
{
	assert_int(report_format_by_name("text"), FMT_TEXT);
	assert_int(report_format_by_name("json"), FMT_JSON);
	assert_int(report_format_by_name("JSON"), -1);
	assert_int(report_format_by_name("ecs"), FMT_ECS);
	assert_int(report_format_by_name("html"), FMT_HTML);
	assert_int(report_format_by_name("xml"), -1);
	assert_int(report_format_by_name(""), -1);
	assert_int(report_format_by_name(NULL), -1);
}

/* ---- diff ------------------------------------------------------------------- */

DEFINE_TEST(test_diff_json)
{
	static const char script[] =
		"import json, sys, base64\n"
		"raw = open(sys.argv[1], 'rb').read()\n"
		"assert raw.endswith(b'}\\n') and not raw.endswith(b'\\n\\n')\n"
		"d = json.loads(raw)\n"
		"assert d['fimscan'] == 1\n"
		"assert d['a'] == {'id': 1, 'kind': 'baseline',\n"
		"    'time': '2026-11-21T20:01:02.000000000Z', 'roots': ['/etc']}, d['a']\n"
		"assert d['b']['id'] == 3 and d['b']['kind'] == 'scan'\n"
		"assert d['b']['time'] == '2026-11-21T21:00:00.000000000Z'\n"
		"assert d['summary'] == {'added': 1, 'removed': 1, 'changed': 3,\n"
		"    'moved': 1, 'warnings': 2}, d['summary']\n"
		"assert list(d) == ['fimscan', 'a', 'b', 'summary', 'added',\n"
		"    'removed', 'changed']\n"
		"a, = d['added']\n"
		"assert a == {'path': '/etc/added', 'path_base64': "
		"base64.b64encode(b'/etc/added').decode(),\n"
		"    'type': 'file', 'size': 42, 'sha256': 'ab' * 32}, a\n"
		"r, = d['removed']\n"
		"assert r['path'] == '/etc/removed' and r['type'] == 'symlink'\n"
		"assert 'sha256' not in r and 'attrs' not in r\n"
		"c, l, m = d['changed']\n"
		"assert c['path'] == '/etc/changed' and c['type'] == 'file'\n"
		"assert 'moved_from' not in c\n"
		"assert c['attrs'] == ['mode', 'uid', 'size', 'mtime', 'xattrs',\n"
		"    'flags', 'sha256'], c['attrs']\n"
		"x = c['details']\n"
		"assert list(x) == c['attrs']\n"
		"assert x['mode'] == {'old': '0644', 'new': '4755'}\n"
		"assert x['uid']['old'] == 0 and x['uid']['new'] == 4242424\n"
		"assert x['uid']['old_name'] == 'root' and 'new_name' not in x['uid']\n"
		"assert x['size'] == {'old': 1, 'new': 2}\n"
		"assert x['mtime'] == {'old': '2026-11-21T20:01:02.123456789Z',\n"
		"    'new': '2026-11-21T21:00:00.000000000Z'}\n"
		"assert x['xattrs']['old'] == {'user.note': base64.b64encode(b'hi').decode()}\n"
		"assert base64.b64decode(x['xattrs']['new']['user.note']) == b'hi\\n\\0'\n"
		"assert x['flags']['old'] == '' and 'immutable' in x['flags']['new']\n"
		"assert x['sha256'] == {'old': '01' * 32, 'new': '02' * 32}\n"
		"assert l['attrs'] == ['target'] and l['type'] == 'symlink'\n"
		"t = l['details']['target']\n"
		"assert t['old'] == 'old\\ufffd' and t['new'] == 'new'\n"
		"assert base64.b64decode(t['old_base64']) == b'old\\xff'\n"
		"assert base64.b64decode(t['new_base64']) == b'new'\n"
		"assert m['path'] == '/etc/moved-to'\n"
		"assert m['moved_from'] == '/etc/moved-from'\n"
		"assert base64.b64decode(m['moved_from_base64']) == b'/etc/moved-from'\n"
		"assert m['attrs'] == ['ctime']\n"
		"assert m['details']['ctime']['old'] == '1969-12-31T23:59:59.999999999Z'\n";
	struct diff_result r;

	build_diff(&r);
	render(&r, FMT_JSON, 0, "diff.json", 0);
	assert_int(py(script, "diff.json"), 0);
	diff_result_release(&r);
}

DEFINE_TEST(test_diff_json_empty)
{
	static const char script[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"assert d['added'] == [] and d['removed'] == [] and d['changed'] == []\n"
		"assert d['summary']['added'] == 0\n";
	struct diff_result r;

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/");
	render(&r, FMT_JSON, 0, "empty.json", 0);
	assert_int(py(script, "empty.json"), 0);
	diff_result_release(&r);
}

/* Many long, hostile names: the output is flushed in pieces and still parses. */
DEFINE_TEST(test_diff_json_large)
{
	static const char script[] =
		"import json, sys, base64\n"
		"d = json.load(open(sys.argv[1]))\n"
		"assert len(d['added']) == 3000, len(d['added'])\n"
		"for i, e in enumerate(d['added']):\n"
		"    p = base64.b64decode(e['path_base64'])\n"
		"    assert p.startswith(b'/big/%05d\\n\\xff' % i), p[:20]\n"
		"    assert len(p) == 300\n";
	struct diff_result r;
	char name[300];

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/big");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/big");
	for (int i = 0; i < 3000; i++) {
		struct diff_item *it;

		memset(name, '"', sizeof(name));
		snprintf(name, sizeof(name), "/big/%05d\n\xff", i);
		name[12] = '\\';
		it = new_item(&r, DIFF_ADDED, name, sizeof(name));
		it->new->mode = S_IFREG | 0644;
		set_hash(it->new, HASH_SHA256, (unsigned char)i);
	}
	render(&r, FMT_JSON, 0, "large.json", 0);
	assert_int(py(script, "large.json"), 0);
	diff_result_release(&r);
}

DEFINE_TEST(test_diff_text)
{
	struct diff_result r;
	size_t len;
	char *out;

	build_diff(&r);
	render(&r, FMT_TEXT, 0, "diff.txt", 0);
	out = read_all("diff.txt", &len);
	assert_true(strstr(out, "fimscan: comparing 1 (baseline, "
			   "2026-11-21 20:01:02 UTC) with 3 (scan, "
			   "2026-11-21 21:00:00 UTC)\n") == out);
	assert_true(strstr(out, "\nsummary: 1 added, 1 removed, 3 changed "
			   "(1 moved), 2 warnings\n") != NULL);
	assert_true(strstr(out, "\nadded   file    /etc/added\n") != NULL);
	assert_true(strstr(out, "\nremoved symlink /etc/removed\n") != NULL);
	assert_true(strstr(out, "\nmoved   file    /etc/moved-to "
			   "(from /etc/moved-from)\n") != NULL);
	assert_true(strstr(out, "\nchanged file    /etc/changed\n"
			   "    mode    0644 -> 4755\n"
			   "    uid     0 (root) -> 4242424\n"
			   "    size    1 -> 2\n"
			   "    mtime   2026-11-21 20:01:02.123456789 UTC -> "
			   "2026-11-21 21:00:00.000000000 UTC\n") != NULL);
	assert_true(strstr(out, "    target  old\\xff -> new\n") != NULL);
	assert_true(strstr(out, "    sha256  0101010101") != NULL);
	assert_true(strstr(out, "    ctime   1969-12-31 23:59:59.999999999 UTC"
			   " -> 2026-11-21 21:00:00.000000000 UTC\n") != NULL);
	free(out);
	diff_result_release(&r);

	memset(&r, 0, sizeof(r));
	set_snap(&r.a, 1, SNAP_BASELINE, T_A, "/");
	set_snap(&r.b, 2, SNAP_SCAN, T_B, "/");
	render(&r, FMT_TEXT, 0, "none.txt", 0);
	out = read_all("none.txt", &len);
	assert_true(strstr(out, "\nsummary: no differences\n") != NULL);
	free(out);
	diff_result_release(&r);
}

/*
 * Names with a newline and a terminal escape: the text report must show
 * them escaped, with no raw control byte; with colour on, the only ESC
 * bytes are our SGR codes at the start of item lines.
 */
DEFINE_TEST(test_diff_text_hostile)
{
	static const char evil[] = "/etc/a\nb\x1b[31mc\x9b\xe2\x80\xae";
	struct diff_result r;
	struct diff_item *it;
	size_t len, lines;
	char *out;

	build_diff(&r);
	it = new_item(&r, DIFF_ADDED, evil, sizeof(evil) - 1);
	it->new->mode = S_IFREG | 0644;
	it = new_item(&r, DIFF_CHANGED, evil, sizeof(evil) - 1);
	strbuf_addstr(&it->moved_from, "/etc/\x1b]0;title\x07");
	it->old->mode = it->new->mode = S_IFLNK | 0777;
	strbuf_addstr(&it->old->target, "\r\x1b[2K");
	strbuf_addstr(&it->new->target, "ok");
	add_xattr(&it->new->xattrs, "user.\x1b", "\x1b[1m\n", 5);
	it->attrs = ATTR_TARGET | ATTR_XATTRS;

	for (int color = 0; color <= 1; color++) {
		render(&r, FMT_TEXT, color, "evil.txt", 0);
		out = read_all("evil.txt", &len);
		lines = 0;
		for (size_t i = 0; i < len; i++) {
			unsigned char c = (unsigned char)out[i];

			if (c == '\n') {
				lines++;
				continue;
			}
			if (c == 0x1b && color) {
				/* "\033[3Nm" at a line start, "\033[m" after the word */
				int ok = (i + 5 <= len && (i == 0 || out[i - 1] == '\n') &&
					  !memcmp(out + i + 1, "[3", 2) && out[i + 4] == 'm') ||
					 (i + 3 <= len && !memcmp(out + i + 1, "[m", 2));
				assert_true(ok);
				continue;
			}
			assert_true(c >= 0x20 && c != 0x7f);
		}
		/* header + summary + 7 item lines + 7 + 1 + 1 + 2 detail lines */
		assert_int(lines, 2 + 7 + 7 + 1 + 1 + 2);
		assert_true(strstr(out, "/etc/a\\x0ab\\x1b[31mc\\x9b"
				   "\\xe2\\x80\\xae") != NULL);
		assert_true(strstr(out, "(from /etc/\\x1b]0;title\\x07)") != NULL);
		assert_true(strstr(out, "\\x0d\\x1b[2K -> ok") != NULL);
		if (color)
			assert_true(strstr(out, "\033[32madded\033[m   file") != NULL);
		else
			assert_true(memchr(out, 0x1b, len) == NULL);
		free(out);
	}
	diff_result_release(&r);
}

/* ---- log and show ------------------------------------------------------------ */

static void fill_log(const struct report_opts *o)
{
	struct report_log *l = report_log_begin(o);
	struct snapshot_info s;
	struct accept_info a;

	set_snap(&s, 1, SNAP_BASELINE, T_A, "/etc\nx");
	s.entries = 1234;
	s.host = "host\x1b";
	s.user = NULL;
	report_log_snapshot(l, &s);
	free(s.roots[0]);
	free(s.roots);
	free(s.rootlens);
	set_snap(&s, 2, SNAP_SCAN, T_B, "/etc");
	s.is_baseline = 1;
	s.added = 1;
	s.changed = 2;
	s.warnings = 3;
	s.host = "h";
	s.user = "root";
	report_log_snapshot(l, &s);
	free(s.roots[0]);
	free(s.roots);
	free(s.rootlens);
	memset(&a, 0, sizeof(a));
	a.id = 1;
	a.time_ns = T_B;
	a.user = "root";
	a.to_snap = 2;
	a.baseline_before = 1;
	a.count = 2;
	a.paths = "/etc/a /etc/b";
	report_log_accept(l, &a);
	a.id = 2;
	a.paths = "";
	a.count = 100;
	report_log_accept(l, &a);
	assert_int(report_log_end(l), 0);
}

DEFINE_TEST(test_log)
{
	static const char script[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"s1, s2 = d['snapshots']\n"
		"assert s1['id'] == 1 and s1['kind'] == 'baseline'\n"
		"assert s1['baseline'] is False and s2['baseline'] is True\n"
		"assert s1['roots'] == ['/etc\\nx'] and s1['entries'] == 1234\n"
		"assert s1['started'] == '2026-11-21T20:01:00.500000000Z'\n"
		"assert s1['host'] == 'host\\x1b' and s1['user'] is None\n"
		"assert s2['warnings'] == 3 and s2['changed'] == 2\n"
		"for k in ('id', 'kind', 'baseline', 'started', 'finished', 'roots',\n"
		"          'entries', 'added', 'removed', 'changed', 'warnings',\n"
		"          'unstable', 'bytes_hashed', 'host', 'user'):\n"
		"    assert k in s2, k\n"
		"a1, a2 = d['accepts']\n"
		"assert a1 == {'id': 1, 'time': '2026-11-21T21:00:00.000000000Z',\n"
		"    'user': 'root', 'to': 2, 'baseline_before': 1, 'count': 2,\n"
		"    'paths': '/etc/a /etc/b'}, a1\n"
		"assert a2['paths'] == ''\n";
	struct report_opts o = { 0 };
	size_t len;
	char *out;

	o.format = FMT_JSON;
	o.out = fopen("log.json", "w");
	fill_log(&o);
	assert_int(fclose(o.out), 0);
	assert_int(py(script, "log.json"), 0);

	o.format = FMT_TEXT;
	o.out = fopen("log.txt", "w");
	fill_log(&o);
	assert_int(fclose(o.out), 0);
	out = read_all("log.txt", &len);
	assert_true(strstr(out, "     1  baseline  2026-11-21 20:01:00 UTC  "
			   "1.50s         1234 entries  +0 -0 ~0") == out);
	assert_true(strstr(out, "/etc\\x0ax\n") != NULL);
	assert_true(strstr(out, "\n     2* scan") != NULL);
	assert_true(strstr(out, "  3 warnings  /etc\n") != NULL);
	assert_true(strstr(out, "\naccept 1  2026-11-21 21:00:00 UTC  root  "
			   "into baseline (from snapshot 2, 2 entries: "
			   "/etc/a /etc/b)\n") != NULL);
	assert_true(strstr(out, "(from snapshot 2, 100 entries: all)\n") != NULL);
	free(out);
}

static void fill_show(const struct report_opts *o)
{
	static const char path[] = "/etc/\xff\n";
	struct report_show *s = report_show_begin(o, path, sizeof(path) - 1);
	struct fim_entry e;

	fim_entry_init(&e);
	e.mode = S_IFREG | 0644;
	e.size = 10;
	e.nlink = 1;
	e.ino = 77;
	e.born = 1;
	e.died = 3;
	e.mtime_ns = T_A;
	set_hash(&e, HASH_SHA256, 0xcd);
	set_hash(&e, HASH_SHA512, 0xef);
	add_xattr(&e.xattrs, "user.x", "v", 1);
	report_show_version(s, &e);
	fim_entry_release(&e);
	e.mode = S_IFLNK | 0777;
	e.born = 3;
	strbuf_addstr(&e.target, "../t\x1b");
	e.state = FS_UNREADABLE;
	e.has_iflags = 1;
	e.iflags = 0x20;              /* FS_APPEND_FL */
	report_show_version(s, &e);
	fim_entry_release(&e);
	assert_int(report_show_end(s), 0);
}

DEFINE_TEST(test_show)
{
	static const char script[] =
		"import json, sys, base64\n"
		"d = json.load(open(sys.argv[1]))\n"
		"assert base64.b64decode(d['path_base64']) == b'/etc/\\xff\\n'\n"
		"v1, v2 = d['versions']\n"
		"assert v1['born'] == 1 and v1['died'] == 3 and v2['died'] is None\n"
		"assert v1['type'] == 'file' and v1['mode'] == '0644'\n"
		"assert v1['size'] == 10 and v1['inode'] == 77 and v1['nlink'] == 1\n"
		"assert v1['sha256'] == 'cd' * 32 and v1['sha512'] == 'ef' * 64\n"
		"assert v1['mtime'] == '2026-11-21T20:01:02.000000000Z'\n"
		"assert v1['xattrs'] == {'user.x': 'dg=='} and v1['state'] == 'ok'\n"
		"assert 'target' not in v1 and 'flags' not in v1\n"
		"assert v2['type'] == 'symlink' and v2['target'] == '../t\\x1b'\n"
		"assert base64.b64decode(v2['target_base64']) == b'../t\\x1b'\n"
		"assert v2['state'] == 'unreadable' and 'append' in v2['flags']\n"
		"for k in ('uid', 'gid', 'ctime', 'dev'):\n"
		"    assert k in v2, k\n";
	struct report_opts o = { 0 };
	size_t len;
	char *out;

	o.format = FMT_JSON;
	o.out = fopen("show.json", "w");
	fill_show(&o);
	assert_int(fclose(o.out), 0);
	assert_int(py(script, "show.json"), 0);

	o.format = FMT_TEXT;
	o.out = fopen("show.txt", "w");
	fill_show(&o);
	assert_int(fclose(o.out), 0);
	out = read_all("show.txt", &len);
	assert_true(strstr(out, "/etc/\\xff\\x0a\n  snapshots 1..3\n"
			   "    type        file\n    size        10\n"
			   "    mode        0644\n    uid         0 (root)\n") == out);
	assert_true(strstr(out, "    sha256      cdcdcd") != NULL);
	assert_true(strstr(out, "    sha512      efefef") != NULL);
	assert_true(strstr(out, "    xattrs      user.x\n") != NULL);
	assert_true(strstr(out, "\n  snapshots 3..\n") != NULL);
	assert_true(strstr(out, "    target      ../t\\x1b\n") != NULL);
	assert_true(strstr(out, "    state       unreadable\n") != NULL);
	assert_true(strstr(out, "    flags       append") != NULL);
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)out[i] >= 0x20 || out[i] == '\n');
	free(out);
}

/* ---- finish ------------------------------------------------------------------- */

DEFINE_TEST(test_finish_dev_full)
{
	struct diff_result r;
	struct report_opts o = { 0 };
	FILE *f = fopen("/dev/full", "w");
	FILE *ok = fopen("ok.txt", "w");

	assert_true(f != NULL && ok != NULL);
	fputs("report\n", ok);
	assert_int(report_finish(ok), 0);
	assert_int(fclose(ok), 0);

	fputs("report\n", f);
	assert_int(report_finish(f), EXIT_OUTPUT);
	/* asked again (e.g. at exit): still a failure */
	assert_int(report_finish(f), EXIT_OUTPUT);
	fclose(f);

	/* the renderers report it too, for both formats */
	build_diff(&r);
	for (int fmt = FMT_TEXT; fmt <= FMT_JSON; fmt++) {
		o.format = fmt;
		o.out = fopen("/dev/full", "w");
		assert_true(o.out != NULL);
		assert_int(report_diff(&r, &o), EXIT_OUTPUT);
		fclose(o.out);
	}
	o.format = FMT_JSON;
	o.out = fopen("/dev/full", "w");
	assert_int(report_log_end(report_log_begin(&o)), EXIT_OUTPUT);
	fclose(o.out);
	diff_result_release(&r);
}
