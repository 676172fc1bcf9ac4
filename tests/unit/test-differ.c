/* test-differ.c: comparisons of stored states, moves, rules, accept. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "differ/differ.h"
#include "scanner/config.h"
#include "test.h"

struct tree {
	struct store *st;
	const char *config;
};

static struct fim_entry *mk(const char *name, uint32_t mode, uint64_t ino,
			    unsigned char content)
{
	struct fim_entry *e = xmalloc(sizeof(*e));

	fim_entry_init(e);
	strbuf_addstr(&e->name, name);
	e->mode = mode;
	e->ino = ino;
	e->dev = 7;
	e->nlink = 1;
	e->size = content;
	if ((mode & S_IFMT) == S_IFREG) {
		e->hashes[0] = HASH_SHA256;
		e->hashes[1] = 32;
		memset(e->hashes + 2, content, 32);
		e->hashes_len = 34;
	}
	return e;
}

/*
 * A snapshot of root /r from a tiny spec: "name:type:ino:content" entries
 * for /r (type f or d), plus "d/name:..." for /r/d.
 */
static int64_t snap(struct tree *t, int kind, const char *spec)
{
	const char *root = "/r";
	size_t rootlen = 2;
	struct snapshot_start ss = {
		.kind = kind, .roots = &root, .rootlens = &rootlen,
		.nroots = 1, .config = t->config, .hashes = "sha256",
		.busy_ms = 100,
	};
	struct fim_entry *top[16], *sub[16], *r = mk("r", S_IFDIR | 0755, 1, 0);
	size_t ntop = 0, nsub = 0;
	struct store_range rr = { .dir = "/", .dirlen = 1,
				  .flags = STORE_RANGE_EXACT };
	struct store_range rt = { .dir = "/r", .dirlen = 2 };
	struct store_range rd = { .dir = "/r/d", .dirlen = 4 };
	char *copy = xstrdup(spec), *save = NULL;
	int64_t id;
	int has_d = 0;

	assert_int(store_begin_snapshot(t->st, &ss, &id), 0);
	for (char *tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char name[64], type;
		unsigned ino, content;
		int sub_entry = !strncmp(tok, "d/", 2);
		if (sscanf(tok + (sub_entry ? 2 : 0), "%63[^:]:%c:%u:%u", name,
			   &type, &ino, &content) != 4)
			abort();
		struct fim_entry *e = mk(name, type == 'd' ? S_IFDIR | 0755 :
					 S_IFREG | 0644, ino, content);
		if (sub_entry)
			sub[nsub++] = e;
		else
			top[ntop++] = e;
		has_d |= !sub_entry && !strcmp(name, "d");
	}
	assert_int(store_merge(t->st, &rr, &r, 1), 0);
	assert_int(store_merge(t->st, &rt, top, ntop), 0);
	if (has_d)
		assert_int(store_merge(t->st, &rd, sub, nsub), 0);
	assert_int(store_commit_snapshot(t->st, NULL), 0);
	for (size_t i = 0; i < ntop; i++)
		fim_entry_release(top[i]), free(top[i]);
	for (size_t i = 0; i < nsub; i++)
		fim_entry_release(sub[i]), free(sub[i]);
	fim_entry_release(r);
	free(r);
	free(copy);
	return id;
}

static struct diff_item *find(struct diff_result *r, const char *path)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->items[i]->path.buf, path))
			return r->items[i];
	return NULL;
}

static void run_diff(struct tree *t, int64_t a, int64_t b,
		     struct diff_result *out)
{
	struct store_ref ra = { a, 0 }, rb = { b, 0 };
	assert_int(diff_run(t->st, &ra, &rb, NULL, NULL, 0, out), 0);
}

DEFINE_TEST(test_differ_added_removed_changed)
{
	struct tree t = { .config = "" };
	struct diff_result r;
	struct diff_item *it;
	int64_t a, b;

	assert_int(store_open(&t.st, "s.db", STORE_WRITE), 0);
	a = snap(&t, SNAP_BASELINE, "keep:f:10:1 mod:f:11:2 gone:f:12:3");
	b = snap(&t, SNAP_SCAN, "keep:f:10:1 mod:f:11:9 new:f:13:4");
	run_diff(&t, a, b, &r);
	assert_int(r.added, 1);
	assert_int(r.removed, 1);
	assert_int(r.changed, 1);
	assert_int(diff_exit_bits(&r), 7);
	assert_true((it = find(&r, "/r/mod")) != NULL);
	assert_int(it->kind, DIFF_CHANGED);
	assert_true(it->attrs & ATTR_HASH);
	assert_true(it->attrs & ATTR_SIZE);
	assert_int(it->hash_ids, 1u << HASH_SHA256);
	assert_true(find(&r, "/r/keep") == NULL);
	/* Sorted by path. */
	for (size_t i = 1; i < r.n; i++)
		assert_true(strcmp(r.items[i - 1]->path.buf,
				   r.items[i]->path.buf) < 0);
	diff_result_release(&r);
	/* The reverse comparison swaps added and removed. */
	run_diff(&t, b, a, &r);
	assert_true((it = find(&r, "/r/gone")) && it->kind == DIFF_ADDED);
	assert_true((it = find(&r, "/r/new")) && it->kind == DIFF_REMOVED);
	diff_result_release(&r);
	store_close(t.st);
}

DEFINE_TEST(test_differ_move_is_one_change)
{
	struct tree t = { .config = "" };
	struct diff_result r;
	struct diff_item *it;
	int64_t a, b;

	assert_int(store_open(&t.st, "s.db", STORE_WRITE), 0);
	a = snap(&t, SNAP_BASELINE, "old:f:20:5 other:f:21:6");
	/* Same inode and content under a new name; same inode but new
	 * content is not a move. */
	b = snap(&t, SNAP_SCAN, "new:f:20:5 other2:f:21:7");
	run_diff(&t, a, b, &r);
	assert_true((it = find(&r, "/r/new")) != NULL);
	assert_int(it->kind, DIFF_CHANGED);
	assert_str(it->moved_from.buf, "/r/old");
	assert_int(r.moved, 1);
	assert_true(find(&r, "/r/old") == NULL);
	assert_true((it = find(&r, "/r/other2")) && it->kind == DIFF_ADDED);
	assert_true((it = find(&r, "/r/other")) && it->kind == DIFF_REMOVED);
	assert_int(diff_exit_bits(&r), 7);
	diff_result_release(&r);
	store_close(t.st);
}

DEFINE_TEST(test_differ_new_directory_contents)
{
	struct tree t = { .config = "" };
	struct diff_result r;
	int64_t a, b, c;

	assert_int(store_open(&t.st, "s.db", STORE_WRITE), 0);
	a = snap(&t, SNAP_BASELINE, "f:f:30:1");
	/* d is new; its contents were born in a directory row created by
	 * this snapshot, so the change log does not name them. */
	b = snap(&t, SNAP_SCAN, "f:f:30:1 d:d:31:0 d/x:f:32:2 d/y:f:33:3");
	c = snap(&t, SNAP_SCAN, "f:f:30:1 d:d:31:0 d/x:f:32:2 d/y:f:33:3");
	run_diff(&t, a, b, &r);
	assert_int(r.added, 3);
	assert_true(find(&r, "/r/d/x") && find(&r, "/r/d/y"));
	diff_result_release(&r);
	run_diff(&t, a, c, &r);
	assert_int(r.added, 3);
	diff_result_release(&r);
	run_diff(&t, b, c, &r);
	assert_int(r.n, 0);
	diff_result_release(&r);
	/* Removing the directory removes its contents. */
	c = snap(&t, SNAP_SCAN, "f:f:30:1");
	run_diff(&t, b, c, &r);
	assert_int(r.removed, 3);
	diff_result_release(&r);
	store_close(t.st);
}

DEFINE_TEST(test_differ_rules_of_newer_config)
{
	struct tree t;
	struct diff_result r;
	int64_t a, b;

	t.config = "rule /r/log* log\n";
	assert_int(store_open(&t.st, "s.db", STORE_WRITE), 0);
	a = snap(&t, SNAP_BASELINE, "log1:f:40:1 bin:f:41:1");
	b = snap(&t, SNAP_SCAN, "log1:f:40:2 bin:f:41:2");
	run_diff(&t, a, b, &r);
	/* The log group ignores size and content growth. */
	assert_true(find(&r, "/r/log1") == NULL);
	assert_true(find(&r, "/r/bin") != NULL);
	diff_result_release(&r);
	store_close(t.st);
}

DEFINE_TEST(test_differ_scope_and_paths)
{
	struct tree t = { .config = "" };
	struct diff_result r;
	struct store_ref ra, rb;
	const char *p = "/r/d";
	size_t plen = 4;
	int64_t a, b;

	assert_int(store_open(&t.st, "s.db", STORE_WRITE), 0);
	a = snap(&t, SNAP_BASELINE, "f:f:50:1 d:d:51:0 d/x:f:52:1");
	b = snap(&t, SNAP_SCAN, "f:f:50:2 d:d:51:0 d/x:f:52:2");
	ra.snap = a, ra.overlay = 0;
	rb.snap = b, rb.overlay = 0;
	assert_int(diff_run(t.st, &ra, &rb, &p, &plen, 1, &r), 0);
	assert_int(r.n, 1);
	assert_str(r.items[0]->path.buf, "/r/d/x");
	diff_result_release(&r);
	store_close(t.st);
}

DEFINE_TEST(test_differ_accept_overrides)
{
	struct tree t = { .config = "" };
	struct diff_result r;
	struct store_ref base, latest;
	struct store_accept_item item = { "/r", 2, "a", 1 };
	int64_t id;

	assert_int(store_open(&t.st, "s.db", STORE_WRITE), 0);
	snap(&t, SNAP_BASELINE, "a:f:60:1 b:f:61:1");
	snap(&t, SNAP_SCAN, "a:f:60:2 b:f:61:2");
	assert_int(store_resolve(t.st, "baseline", &base), 0);
	assert_int(store_resolve(t.st, "latest", &latest), 0);
	assert_int(store_accept(t.st, &latest, &item, 1, "/r/a", 100, &id), 0);
	assert_int(diff_run(t.st, &base, &latest, NULL, NULL, 0, &r), 0);
	assert_int(r.n, 1);
	assert_str(r.items[0]->path.buf, "/r/b");
	diff_result_release(&r);
	/* A later scan still compares /r/a with the accepted version. */
	snap(&t, SNAP_SCAN, "a:f:60:2 b:f:61:2");
	assert_int(store_resolve(t.st, "latest", &latest), 0);
	assert_int(diff_run(t.st, &base, &latest, NULL, NULL, 0, &r), 0);
	assert_int(r.n, 1);
	diff_result_release(&r);
	/* Accept everything: the baseline moves, no differences remain. */
	assert_int(store_accept(t.st, &latest, NULL, 0, "", 100, &id), 0);
	assert_int(store_resolve(t.st, "baseline", &base), 0);
	assert_int(base.snap, latest.snap);
	assert_int(diff_run(t.st, &base, &latest, NULL, NULL, 0, &r), 0);
	assert_int(r.n, 0);
	diff_result_release(&r);
	store_close(t.st);
}
