/* test-store.c: the snapshot store: schema checks, merge, growth, locking. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"
#include "test.h"

static struct fim_entry *mk(const char *name, uint32_t mode, uint64_t size,
			    unsigned char fill)
{
	struct fim_entry *e = xmalloc(sizeof(*e));

	fim_entry_init(e);
	strbuf_addstr(&e->name, name);
	e->mode = mode;
	e->size = size;
	e->uid = 0;
	e->gid = 0;
	e->mtime_ns = 1700000000123456789ll;
	e->ctime_ns = 1700000000123456789ll;
	e->ino = 1000 + fill;
	e->dev = 2049;
	e->nlink = 1;
	if ((mode & S_IFMT) == S_IFREG) {
		e->hashes[0] = HASH_SHA256;
		e->hashes[1] = 32;
		memset(e->hashes + 2, fill, 32);
		e->hashes_len = 34;
	}
	return e;
}

static void free_all(struct fim_entry **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fim_entry_release(v[i]);
		free(v[i]);
	}
}

static int64_t begin(struct store *st, int kind, const char *root)
{
	size_t len = strlen(root);
	struct snapshot_start ss = {
		.kind = kind, .roots = &root, .rootlens = &len, .nroots = 1,
		.config = "", .hashes = "sha256", .busy_ms = 100,
	};
	int64_t id = 0;
	assert_int(store_begin_snapshot(st, &ss, &id), 0);
	return id;
}

static int merge_dir(struct store *st, const char *dir,
		     struct fim_entry **v, size_t n)
{
	struct store_range r = { .dir = dir, .dirlen = strlen(dir) };
	return store_merge(st, &r, v, n);
}

static int merge_root(struct store *st, struct fim_entry *root)
{
	struct store_range r = { .dir = "/", .dirlen = 1,
				 .flags = STORE_RANGE_EXACT };
	return store_merge(st, &r, &root, root ? 1 : 0);
}

static int count_rows(const char *db, const char *table)
{
	char cmd[512];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'SELECT count(*) FROM %s'",
		 db, table);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p)
		pclose(p);
	return n;
}

DEFINE_TEST(test_store_create_and_reopen)
{
	struct store *st;
	struct snapshot_info si;
	struct stat s;

	assert_int(store_open(&st, "sub/dir/s.db", STORE_WRITE), 0);
	store_close(st);
	assert_int(stat("sub/dir/s.db", &s), 0);
	assert_int(s.st_mode & 0777, 0600);
	assert_int(store_open(&st, "sub/dir/s.db", STORE_READ), 0);
	assert_int(store_snapshot_get(st, 1, &si), EXIT_NOSNAP);
	store_close(st);
}

DEFINE_TEST(test_store_missing_for_read)
{
	struct store *st;
	assert_int(store_open(&st, "nope.db", STORE_READ), EXIT_STORE);
	assert_true(access("nope.db", F_OK) != 0);
}

DEFINE_TEST(test_store_refuses_foreign)
{
	struct store *st;

	test_write_file("garbage.db", "this is not sqlite at all, not at all "
			"no no no no no no no no no no no no no no no no no no "
			"no no no no no no no no no no no no", 120);
	assert_int(store_open(&st, "garbage.db", STORE_WRITE), EXIT_STORE);
	assert_int(system("sqlite3 other.db 'CREATE TABLE t(x)'"), 0);
	assert_int(store_open(&st, "other.db", STORE_WRITE), EXIT_STORE);
	/* Nothing was added to the foreign database. */
	assert_int(count_rows("other.db", "sqlite_schema"), 1);
}

DEFINE_TEST(test_store_refuses_unknown_version)
{
	struct store *st;

	assert_int(store_open(&st, "s.db", STORE_WRITE), 0);
	store_close(st);
	assert_int(system("sqlite3 s.db 'PRAGMA user_version = 99'"), 0);
	assert_int(store_open(&st, "s.db", STORE_READ), EXIT_STORE);
	assert_int(store_open(&st, "s.db", STORE_WRITE), EXIT_STORE);
}

DEFINE_TEST(test_store_merge_add_change_remove)
{
	struct store *st;
	struct fim_entry *v[3], *root, got;
	struct store_ref ref;
	int64_t s1, s2;

	assert_int(store_open(&st, "s.db", STORE_WRITE), 0);
	s1 = begin(st, SNAP_BASELINE, "/t");
	root = mk("t", S_IFDIR | 0755, 0, 1);
	v[0] = mk("a", S_IFREG | 0644, 10, 2);
	v[1] = mk("b", S_IFREG | 0644, 20, 3);
	v[2] = mk("d", S_IFDIR | 0755, 0, 4);
	assert_int(merge_root(st, root), 0);
	assert_int(merge_dir(st, "/t", v, 3), 0);
	{
		struct fim_entry *sub = mk("x", S_IFREG | 0600, 5, 5);
		assert_int(merge_dir(st, "/t/d", &sub, 1), 0);
		free_all(&sub, 1);
	}
	assert_int(store_commit_snapshot(st, NULL), 0);

	/* Second scan: a changed, b gone, d replaced by a file. */
	s2 = begin(st, SNAP_SCAN, "/t");
	assert_int(merge_root(st, root), 0);
	v[0]->size = 11;
	free_all(&v[1], 2);
	v[1] = mk("d", S_IFREG | 0644, 1, 6);
	assert_int(merge_dir(st, "/t", v, 2), 0);
	assert_int(store_commit_snapshot(st, NULL), 0);

	fim_entry_init(&got);
	ref.overlay = 0;
	ref.snap = s1;
	assert_int(store_version_at(st, &ref, "/t", 2, "a", 1, &got), 1);
	assert_int(got.size, 10);
	assert_int(store_version_at(st, &ref, "/t/d", 4, "x", 1, &got), 1);
	ref.snap = s2;
	assert_int(store_version_at(st, &ref, "/t", 2, "a", 1, &got), 1);
	assert_int(got.size, 11);
	assert_int(store_version_at(st, &ref, "/t", 2, "b", 1, &got), 0);
	/* The directory's contents died with it. */
	assert_int(store_version_at(st, &ref, "/t/d", 4, "x", 1, &got), 0);
	assert_int(store_version_at(st, &ref, "/t", 2, "d", 1, &got), 1);
	assert_int(fim_type_of(got.mode), FT_FILE);
	fim_entry_release(&got);
	{
		struct snapshot_info si;
		assert_int(store_snapshot_get(st, s2, &si), 0);
		assert_int(si.changed, 2);      /* a, d */
		assert_int(si.removed, 2);      /* b, d/x */
		assert_int(si.nroots, 1);
		assert_str(si.roots[0], "/t");
		snapshot_info_release(&si);
	}
	free_all(v, 2);
	free_all(&root, 1);
	store_close(st);
}

/* Storage grows with changes, not with snapshots (the bound). */
DEFINE_TEST(test_store_unchanged_rescan_adds_little)
{
	enum { N = 100000, PER_DIR = 500 };
	struct fim_entry **v = xmalloc(PER_DIR * sizeof(*v));
	struct store *st;
	struct stat before, after;
	char dir[64], name[64];

	assert_int(store_open(&st, "s.db", STORE_WRITE), 0);
	for (int pass = 0; pass < 2; pass++) {
		begin(st, pass ? SNAP_SCAN : SNAP_BASELINE, "/big");
		for (int d = 0; d < N / PER_DIR; d++) {
			snprintf(dir, sizeof(dir), "/big/d%04d", d);
			for (int i = 0; i < PER_DIR; i++) {
				snprintf(name, sizeof(name), "file-%05d.so", i);
				v[i] = mk(name, S_IFREG | 0644, 4096 + i, i);
			}
			assert_int(merge_dir(st, dir, v, PER_DIR), 0);
			free_all(v, PER_DIR);
		}
		assert_int(store_commit_snapshot(st, NULL), 0);
		if (!pass)
			assert_int(stat("s.db", &before), 0);
	}
	store_close(st);
	assert_int(stat("s.db", &after), 0);
	printf("baseline %lld bytes (%.1f per entry), rescan added %lld\n",
	       (long long)before.st_size, (double)before.st_size / N,
	       (long long)(after.st_size - before.st_size));
	assert_true(after.st_size - before.st_size <= 16384);
	assert_true(before.st_size / N <= 160);
	assert_int(count_rows("s.db", "change"), 0);
	free(v);
}

DEFINE_TEST(test_store_second_writer_busy)
{
	struct store *a, *b;
	int64_t id;

	assert_int(store_open(&a, "s.db", STORE_WRITE), 0);
	assert_int(store_open(&b, "s.db", STORE_WRITE), 0);
	begin(a, SNAP_BASELINE, "/x");
	{
		const char *root = "/x";
		size_t len = 2;
		struct snapshot_start ss = {
			.kind = SNAP_SCAN, .roots = &root, .rootlens = &len,
			.nroots = 1, .config = "", .hashes = "sha256",
			.busy_ms = 50,
		};
		assert_int(store_begin_snapshot(b, &ss, &id), EXIT_BUSY);
	}
	/* A reader still works while the writer holds the lock. */
	{
		struct store *r;
		struct store_ref ref;
		assert_int(store_open(&r, "s.db", STORE_READ), 0);
		assert_int(store_resolve(r, "latest", &ref), EXIT_NOSNAP);
		store_close(r);
	}
	store_abort_snapshot(a);
	store_close(a);
	store_close(b);
}

DEFINE_TEST(test_store_resolve_refs)
{
	struct store *st;
	struct store_ref r;

	assert_int(store_open(&st, "s.db", STORE_WRITE), 0);
	assert_int(store_resolve(st, "baseline", &r), EXIT_NOSNAP);
	begin(st, SNAP_BASELINE, "/x");
	assert_int(store_commit_snapshot(st, NULL), 0);
	begin(st, SNAP_SCAN, "/x");
	assert_int(store_commit_snapshot(st, NULL), 0);
	begin(st, SNAP_SCAN, "/x");
	store_abort_snapshot(st);        /* leaves no trace */
	assert_int(store_resolve(st, "baseline", &r), 0);
	assert_int(r.snap, 1);
	assert_int(r.overlay, 1);
	assert_int(store_resolve(st, "latest", &r), 0);
	assert_int(r.snap, 2);
	assert_int(store_resolve(st, "previous", &r), 0);
	assert_int(r.snap, 1);
	assert_int(store_resolve(st, "2", &r), 0);
	assert_int(store_resolve(st, "3", &r), EXIT_NOSNAP);
	assert_int(store_resolve(st, "x1", &r), EXIT_USAGE);
	store_close(st);
}

/* ---- events with what goes with them, and waits that can stop ------ */

static const char gap_doc[] = "{\"event\":{\"action\":[\"coverage_gap\"]}}";

/* store_event_record's `with`: the event's document, then `*data`. */
static int queue_doc(struct store *st, const struct store_event *ev,
		     void *data)
{
	int ret = store_outbox_add(st, 0, "default", ev->action, gap_doc,
				   sizeof(gap_doc) - 1);

	return ret ? ret : *(int *)data;
}

static int64_t pending(struct store *st)
{
	struct outbox_status os;

	assert_int(store_outbox_status(st, &os), 0);
	return os.pending;
}

DEFINE_TEST(test_store_event_record_with)
{
	struct store *st;
	struct store_event ev = { .kind = EVENT_GAP, .action = "overflow",
				  .bytes_changed = -1, .uid = -1 };
	int ok = 0, fails = EXIT_FULL;

	assert_int(store_open(&st, "s.db", STORE_WRITE), 0);
	assert_int(store_event_record(st, &ev, 100, NULL, NULL), 0);
	assert_int(store_events_last_seq(st), 1);
	assert_int(store_event_record(st, &ev, 100, queue_doc, &ok), 0);
	assert_int(store_events_last_seq(st), 2);
	assert_int(pending(st), 1);
	/* a failure after both rows were written: neither stays */
	ev.action = "lost";
	assert_int(store_event_record(st, &ev, 100, queue_doc, &fails),
		   EXIT_FULL);
	assert_int(store_events_last_seq(st), 2);
	assert_int(pending(st), 1);
	assert_int(count_rows("s.db", "event"), 2);
	assert_int(count_rows("s.db", "outbox"), 1);
	/* and the connection writes on (the number was never given) */
	assert_int(store_event_record(st, &ev, 100, queue_doc, &ok), 0);
	assert_int(store_events_last_seq(st), 3);
	assert_int(pending(st), 2);
	store_close(st);
}

static int stop_calls, stop_after;

static int stop_counting(void)
{
	return ++stop_calls > stop_after;
}

/* store_event_record on b while a holds the write lock: its result, and
 * how long it waited in ms. */
static int record_busy(struct store *b, int busy_ms, int64_t *ms)
{
	struct store_event ev = { .kind = EVENT_GAP, .action = "lost",
				  .bytes_changed = -1, .uid = -1 };
	int64_t t = mono_ns();
	int ret = store_event_record(b, &ev, busy_ms, NULL, NULL);

	*ms = (mono_ns() - t) / 1000000;
	return ret;
}

DEFINE_TEST(test_store_busy_stop)
{
	struct store *a, *b;
	int64_t ms;

	assert_int(store_open(&a, "s.db", STORE_WRITE), 0);
	assert_int(store_open(&b, "s.db", STORE_READ), 0);
	begin(a, SNAP_BASELINE, "/x");
	/* without stop(): the plain wait, then "busy" */
	assert_int(record_busy(b, 200, &ms), EXIT_BUSY);
	assert_true(ms >= 150);
	/* stop() saying no: the same wait, in SQLite's steps */
	store_set_stop(b, stop_counting);
	stop_calls = 0;
	stop_after = 1 << 30;
	assert_int(record_busy(b, 300, &ms), EXIT_BUSY);
	assert_true(ms >= 250 && ms < 5000);
	assert_true(stop_calls >= 8);
	/* stop() saying yes after a few steps: a minute's wait ends at once,
	 * without a message or a row */
	stop_calls = 0;
	stop_after = 5;
	assert_int(record_busy(b, 60000, &ms), EXIT_INTERRUPTED);
	assert_true(ms < 1000);
	assert_true(stop_calls >= 6 && stop_calls <= 8);
	store_abort_snapshot(a);
	assert_int(store_events_last_seq(b), 0);
	/* once the lock is free, nothing to wait for */
	assert_int(record_busy(b, 60000, &ms), 0);
	store_set_stop(b, NULL);
	assert_int(record_busy(b, 100, &ms), 0);
	assert_int(store_events_last_seq(b), 2);
	store_close(a);
	store_close(b);
}

/*
 * What `watch` does with a gap (scanner/watch.c gaps_flush, cli/events.c
 * events_record_gap): its document, then the outbox held to a bound by
 * dropping the oldest, and a document saying so. The bound is `*data`;
 * the global below makes the call fail after all of that.
 */
static int bounded_fails;

static int queue_bounded(struct store *st, const struct store_event *ev,
			 void *data)
{
	int64_t max = *(int64_t *)data, n = 0, first, last;
	int ret = store_outbox_add(st, 0, "default", ev->action, gap_doc,
				   sizeof(gap_doc) - 1);

	if (!ret && pending(st) > max) {
		ret = store_outbox_trim(st, max - 1, &n, &first, &last);
		if (!ret && n)
			ret = store_outbox_add(st, 0, "default", "overflow",
					       gap_doc, sizeof(gap_doc) - 1);
	}
	return ret ? ret : bounded_fails;
}

static void outbox_is(struct store *st, int64_t pend, int64_t dropped,
		      int64_t enqueued)
{
	struct outbox_status os;

	assert_int(store_outbox_status(st, &os), 0);
	assert_int(os.pending, pend);
	assert_int(os.dropped, dropped);
	assert_int(os.enqueued, enqueued);
}

/*
 * A gap that cannot be recorded (another writer, the disk full after the
 * outbox was trimmed) leaves no event, no document and no drop: trying
 * it again later records it once, and the outbox keeps its bound.
 */
DEFINE_TEST(test_store_event_record_retry_bounded)
{
	struct store *a, *b;
	struct store_event ev = { .kind = EVENT_GAP, .action = "lost",
				  .bytes_changed = -1, .uid = -1,
				  .time_ns = 1700000000000000000ll };
	int64_t max = 3;

	assert_int(store_open(&a, "s.db", STORE_WRITE), 0);
	assert_int(store_open(&b, "s.db", STORE_READ), 0);
	for (int i = 0; i < 3; i++)
		assert_int(store_outbox_add(a, 0, "default", "old", gap_doc,
					    sizeof(gap_doc) - 1), 0);
	outbox_is(a, 3, 0, 3);
	/* another writer holds the lock: nothing is written */
	begin(a, SNAP_BASELINE, "/x");
	bounded_fails = 0;
	assert_int(store_event_record(b, &ev, 100, queue_bounded, &max),
		   EXIT_BUSY);
	store_abort_snapshot(a);
	assert_int(store_events_last_seq(b), 0);
	outbox_is(b, 3, 0, 3);
	/* failing after the trim: the dropped rows and counters are back */
	bounded_fails = EXIT_FULL;
	assert_int(store_event_record(b, &ev, 100, queue_bounded, &max),
		   EXIT_FULL);
	assert_int(store_events_last_seq(b), 0);
	outbox_is(b, 3, 0, 3);
	assert_int(count_rows("s.db", "outbox"), 3);
	/* the retry: one event, its document, two oldest dropped for it and
	 * the document saying so: the outbox at its bound again */
	bounded_fails = 0;
	assert_int(store_event_record(b, &ev, 100, queue_bounded, &max), 0);
	assert_int(store_events_last_seq(b), 1);
	outbox_is(b, 3, 2, 5);
	assert_int(count_rows("s.db", "outbox"), 3);
	assert_int(count_rows("s.db", "event"), 1);
	store_close(a);
	store_close(b);
}
