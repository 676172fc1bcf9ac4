/*
 * test-scan.c: the scan pipeline against the real store: what is recorded
 * for each kind of entry, hashes, ranges and chunks, deep paths, faults,
 * races (through the test hook), rehash = changed, interruption.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "scanner/scan-private.h"
#include "scanner/chunk.h"
#include "scanner/scanner.h"
#include "test.h"

/* One store, one config, one root ("t" in the test directory). */
struct ctx {
	struct fim_config cfg;
	struct store *st, *rd;
	char *roots[4];
	size_t lens[4];
	size_t nroots;
	struct scan_result res;
};

static void ctx_init(struct ctx *t)
{
	memset(t, 0, sizeof(*t));
	config_init(&t->cfg);
	t->cfg.threads = 2;
	t->cfg.busy_ms = 100;
	assert_int(store_open(&t->st, "s.db", STORE_WRITE), 0);
	assert_int(store_open(&t->rd, "s.db", STORE_READ), 0);
	t->roots[0] = config_normalize_root("t", &t->lens[0]);
	assert_true(t->roots[0] != NULL);
	t->nroots = 1;
}

static void ctx_release(struct ctx *t)
{
	for (size_t i = 0; i < t->nroots; i++)
		free(t->roots[i]);
	store_close(t->rd);
	store_close(t->st);
	config_release(&t->cfg);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	assert_true(d != NULL);
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

/* Scan the roots; whatever happens, no fd stays open. */
static int scan(struct ctx *t, int kind)
{
	struct scan_options so = {
		.cfg = &t->cfg, .roots = (const char *const *)t->roots,
		.rootlens = t->lens, .nroots = t->nroots, .kind = kind,
	};
	int before = count_fds(), ret;

	ret = scan_run(t->st, t->rd, &so, &t->res);
	assert_int(count_fds(), before);
	return ret;
}

/* The version of "t/REL" ("" for t itself) in snapshot `snap`. */
static int lookup_in(struct ctx *t, int64_t snap, const char *rel,
		     struct fim_entry *e)
{
	struct strbuf full = STRBUF_INIT;
	struct store_ref ref = { snap, 0 };
	size_t dirlen, namelen;
	const char *name;
	int ret;

	strbuf_add(&full, t->roots[0], t->lens[0]);
	if (*rel) {
		strbuf_addch(&full, '/');
		strbuf_addstr(&full, rel);
	}
	path_split(full.buf, full.len, &dirlen, &name, &namelen);
	ret = store_version_at(t->st, &ref, full.buf, dirlen, name, namelen, e);
	strbuf_release(&full);
	return ret;
}

static int lookup(struct ctx *t, const char *rel, struct fim_entry *e)
{
	return lookup_in(t, t->res.snap, rel, e);
}

static int exists(struct ctx *t, int64_t snap, const char *rel)
{
	struct fim_entry e;
	int ret;

	fim_entry_init(&e);
	ret = lookup_in(t, snap, rel, &e);
	fim_entry_release(&e);
	return ret;
}

/* SHA-256 of a file as `openssl dgst` computes it, in hex. */
static void openssl_sha256(const char *path, char out[65])
{
	char cmd[512];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -r '%s'", path);
	p = popen(cmd, "r");
	out[0] = '\0';
	if (!p || fscanf(p, "%64s", out) != 1)
		out[0] = '\0';
	if (p)
		pclose(p);
}

static void hex(const unsigned char *d, unsigned len, char *out)
{
	for (unsigned i = 0; i < len; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	out[2 * len] = '\0';
}

static void assert_sha256_of(const struct fim_entry *e, const char *path)
{
	char want[65], got[65] = "";
	unsigned len = 0;
	const unsigned char *d = fim_entry_hash(e, HASH_SHA256, &len);

	openssl_sha256(path, want);
	if (d && len == 32)
		hex(d, len, got);
	assert_str(got, want);
}

static void set_fault(const char *spec)
{
	if (spec)
		setenv("FIMSCAN_FAULT", spec, 1);
	else
		unsetenv("FIMSCAN_FAULT");
	assert_int(plat_init(), 0);
}

static void snap_info(struct ctx *t, struct snapshot_info *si)
{
	assert_int(store_snapshot_get(t->st, t->res.snap, si), 0);
}

static void make_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_true(fd >= 0);
	assert_int(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
}

DEFINE_TEST(test_scan_kinds)
{
	struct ctx t;
	struct fim_entry e;
	char big[300000];

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/d", 0700), 0);
	test_write_file("t/small", "hello\n", 6);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 1000);
	test_write_file("t/d/big", big, sizeof(big));
	test_write_file("t/empty", "", 0);
	assert_int(symlink("/etc/shadow", "t/link"), 0);
	assert_int(mkfifo("t/fifo", 0600), 0);
	make_socket("t/sock");

	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_true(t.res.snap > 0);
	/* t, d, big, small, empty, link, fifo, sock */
	assert_int(t.res.entries, 8);
	assert_int(t.res.files_hashed, 3);
	assert_int(t.res.bytes_hashed, 6 + sizeof(big));
	assert_int(t.res.warnings, 0);

	fim_entry_init(&e);
	assert_int(lookup(&t, "", &e), 1);
	assert_int(fim_type_of(e.mode), FT_DIR);
	assert_int(lookup(&t, "small", &e), 1);
	assert_int(fim_type_of(e.mode), FT_FILE);
	assert_int(e.size, 6);
	assert_int(e.state, FS_OK);
	assert_sha256_of(&e, "t/small");
	assert_int(lookup(&t, "empty", &e), 1);
	assert_sha256_of(&e, "t/empty");
	assert_int(lookup(&t, "d/big", &e), 1);
	assert_sha256_of(&e, "t/d/big");
	assert_int(lookup(&t, "d", &e), 1);
	assert_int(e.mode & 07777, 0700);
	assert_int(lookup(&t, "link", &e), 1);
	assert_int(fim_type_of(e.mode), FT_SYMLINK);
	assert_mem(e.target.buf, e.target.len, "/etc/shadow", 11);
	assert_int(e.hashes_len, 0);
	assert_int(lookup(&t, "fifo", &e), 1);
	assert_int(fim_type_of(e.mode), FT_FIFO);
	assert_int(e.hashes_len, 0);
	assert_int(lookup(&t, "sock", &e), 1);
	assert_int(fim_type_of(e.mode), FT_SOCK);
	fim_entry_release(&e);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_hash_algorithms)
{
	struct ctx t;
	struct fim_entry e;
	unsigned len = 0;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/f", "abc", 3);
	ctx_init(&t);
	t.cfg.hash_ids[0] = HASH_SHA512;
	t.cfg.hash_ids[1] = HASH_SHA256;
	t.cfg.hash_ids[2] = HASH_BLAKE2B512;
	t.cfg.nhashes = 3;
	assert_int(scan(&t, SNAP_BASELINE), 0);
	fim_entry_init(&e);
	assert_int(lookup(&t, "f", &e), 1);
	/* packed in configured order */
	assert_int(e.hashes_len, 3 * 2 + 64 + 32 + 64);
	assert_int(e.hashes[0], HASH_SHA512);
	assert_int(e.hashes[66], HASH_SHA256);
	assert_true(fim_entry_hash(&e, HASH_BLAKE2B512, &len) != NULL);
	assert_int(len, 64);
	assert_sha256_of(&e, "t/f");
	fim_entry_release(&e);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_rescan_unchanged)
{
	struct ctx t;
	struct snapshot_info si;
	int64_t first;

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/sub", 0755), 0);
	test_write_file("t/a", "1", 1);
	test_write_file("t/sub/b", "2", 1);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	first = t.res.snap;
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_true(t.res.snap > first);
	assert_int(t.res.entries, 4);
	snap_info(&t, &si);
	assert_int(si.added, 0);
	assert_int(si.removed, 0);
	assert_int(si.changed, 0);
	snapshot_info_release(&si);

	/* a removal and an addition are seen */
	assert_int(unlink("t/sub/b"), 0);
	test_write_file("t/c", "3", 1);
	assert_int(scan(&t, SNAP_SCAN), 0);
	snap_info(&t, &si);
	assert_int(si.added, 1);
	assert_int(si.removed, 1);
	snapshot_info_release(&si);
	assert_int(exists(&t, t.res.snap, "sub/b"), 0);
	assert_int(exists(&t, first, "sub/b"), 1);
	assert_int(exists(&t, t.res.snap, "c"), 1);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_hostile_names)
{
	static const char *const names[] = {
		"new\nline", "\033[2Jclear", "%n%s%x", "bad\xff\xfeutf8",
		"back\\slash",
	};
	char longname[256];
	struct ctx t;
	struct fim_entry e;
	struct strbuf p = STRBUF_INIT;

	assert_int(mkdir("t", 0755), 0);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		strbuf_reset(&p);
		strbuf_addf(&p, "t/%s", names[i]);
		test_write_file(p.buf, names[i], strlen(names[i]));
	}
	memset(longname, 'n', 255);
	longname[255] = '\0';
	strbuf_reset(&p);
	strbuf_addf(&p, "t/%s", longname);
	test_write_file(p.buf, "x", 1);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.entries, ARRAY_SIZE(names) + 2);
	fim_entry_init(&e);
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		assert_int(lookup(&t, names[i], &e), 1);
		assert_int(e.size, strlen(names[i]));
	}
	assert_int(lookup(&t, longname, &e), 1);
	fim_entry_release(&e);
	strbuf_release(&p);
	ctx_release(&t);
}

/* Make a chain of directories below t, relative, deeper than PATH_MAX. */
static size_t make_deep(int levels, size_t namelen, const char *leaf)
{
	char name[256];
	int fd = open("t", O_RDONLY | O_DIRECTORY), nfd;
	size_t total = 0;

	assert_true(fd >= 0);
	for (int i = 0; i < levels; i++) {
		memset(name, 'a' + i % 26, namelen);
		name[namelen] = '\0';
		assert_int(mkdirat(fd, name, 0755), 0);
		/* a file that sorts after the subdirectory: seen after
		 * popping back, when the fd may have to be re-opened */
		nfd = openat(fd, "zz", O_WRONLY | O_CREAT, 0644);
		assert_true(nfd >= 0);
		close(nfd);
		nfd = openat(fd, name, O_RDONLY | O_DIRECTORY);
		assert_true(nfd >= 0);
		close(fd);
		fd = nfd;
		total += namelen + 1;
	}
	nfd = openat(fd, leaf, O_WRONLY | O_CREAT, 0644);
	assert_true(nfd >= 0);
	assert_int(write(nfd, "deep", 4), 4);
	close(nfd);
	close(fd);
	return total;
}

static void deep_path(struct ctx *t, struct strbuf *dir, int levels,
		      size_t namelen)
{
	strbuf_reset(dir);
	strbuf_add(dir, t->roots[0], t->lens[0]);
	for (int i = 0; i < levels; i++) {
		strbuf_addch(dir, '/');
		for (size_t k = 0; k < namelen; k++)
			strbuf_addch(dir, (char)('a' + i % 26));
	}
}

DEFINE_TEST(test_scan_deep_path)
{
	struct ctx t;
	struct fim_entry e;
	struct strbuf dir = STRBUF_INIT;
	struct store_ref ref;
	size_t total;

	assert_int(mkdir("t", 0755), 0);
	total = make_deep(60, 100, "leaf");
	assert_true(total >= 6000);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.warnings, 0);
	/* t, 60 dirs, 60 zz, leaf */
	assert_int(t.res.entries, 1 + 60 + 60 + 1);
	deep_path(&t, &dir, 60, 100);
	assert_true(dir.len > 6000);
	ref.snap = t.res.snap;
	ref.overlay = 0;
	fim_entry_init(&e);
	assert_int(store_version_at(t.st, &ref, dir.buf, dir.len, "leaf", 4,
				    &e), 1);
	assert_int(e.size, 4);
	assert_int(e.state, FS_OK);
	assert_true(e.hashes_len == 34);
	fim_entry_release(&e);
	strbuf_release(&dir);
	ctx_release(&t);
}

/*
 * 200 levels with a file after each subdirectory: most frames lose their
 * fd on the way down (only 64, fewer under a low fd limit, stay open) and
 * are re-opened with ".." and checked on the way back up.
 */
DEFINE_TEST(test_scan_deep_tree_few_fds)
{
	struct ctx t;
	struct rlimit old, low;
	struct strbuf dir = STRBUF_INIT;
	struct store_ref ref;
	struct fim_entry e;

	assert_int(mkdir("t", 0755), 0);
	make_deep(200, 3, "leaf");
	ctx_init(&t);
	assert_int(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 40;
	assert_int(setrlimit(RLIMIT_NOFILE, &low), 0);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(setrlimit(RLIMIT_NOFILE, &old), 0);
	assert_int(t.res.warnings, 0);
	assert_int(t.res.entries, 1 + 200 + 200 + 1);
	/* the zz of every level is there, the deepest and the top one */
	ref.snap = t.res.snap;
	ref.overlay = 0;
	fim_entry_init(&e);
	deep_path(&t, &dir, 199, 3);
	assert_int(store_version_at(t.st, &ref, dir.buf, dir.len, "zz", 2, &e),
		   1);
	assert_int(exists(&t, t.res.snap, "zz"), 1);
	/* and a rescan of it sees no change */
	assert_int(scan(&t, SNAP_SCAN), 0);
	{
		struct snapshot_info si;
		snap_info(&t, &si);
		assert_int(si.added + si.removed + si.changed, 0);
		snapshot_info_release(&si);
	}
	fim_entry_release(&e);
	strbuf_release(&dir);
	ctx_release(&t);
}

static int enter_calls;

/*
 * At the 90th directory: move level 20 out from under level 19 (so ".."
 * leads elsewhere) and rename level 5 (so the way down by name is gone).
 */
static void mv_hook(const char *path, size_t len)
{
	struct strbuf cmd = STRBUF_INIT;

	(void)path;
	(void)len;
	if (++enter_calls != 90)
		return;
	strbuf_addstr(&cmd, "mv t");
	for (int i = 0; i < 20; i++)
		strbuf_addstr(&cmd, "/d");
	strbuf_addstr(&cmd, " t/m20 && mv t/d/d/d/d/d t/d/d/d/d/x");
	assert_int(system(cmd.buf), 0);
	strbuf_release(&cmd);
}

/*
 * Directories moved above the walker while it is deep inside: the frames
 * it closed can be neither re-opened with ".." nor found again by name:
 * one warning, and nothing that was not looked at is reported removed.
 */
DEFINE_TEST(test_scan_dir_moved)
{
	struct ctx t;
	struct strbuf p = STRBUF_INIT;
	struct strbuf dir = STRBUF_INIT;
	struct store_ref ref;
	struct fim_entry e;

	/* t/d/d/...: every level has d (deeper), e (empty), zz (a file) */
	strbuf_addstr(&p, "t");
	assert_int(mkdir("t", 0755), 0);
	for (int i = 0; i < 100; i++) {
		size_t len = p.len;

		strbuf_addstr(&p, "/e");
		assert_int(mkdir(p.buf, 0755), 0);
		strbuf_setlen(&p, len);
		strbuf_addstr(&p, "/zz");
		test_write_file(p.buf, "z", 1);
		strbuf_setlen(&p, len);
		strbuf_addstr(&p, "/d");
		assert_int(mkdir(p.buf, 0755), 0);
	}
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.warnings, 0);
	assert_int(t.res.entries, 1 + 300);

	enter_calls = 0;
	scan_test_enter_dir = mv_hook;
	assert_int(scan(&t, SNAP_SCAN), 0);
	scan_test_enter_dir = NULL;
	assert_int(t.res.warnings, 1);
	/* level 4 is still walked to its end */
	assert_int(exists(&t, t.res.snap, "d/d/d/d/e"), 1);
	assert_int(exists(&t, t.res.snap, "d/d/d/d/zz"), 1);
	/* what it could not go back to is kept as stored */
	deep_path(&t, &dir, 0, 0);
	ref.snap = t.res.snap;
	ref.overlay = 0;
	fim_entry_init(&e);
	strbuf_addstr(&dir, "/d/d/d/d/d/d/d/d/d/d");
	assert_int(store_version_at(t.st, &ref, dir.buf, dir.len, "e", 1, &e),
		   1);
	fim_entry_release(&e);
	strbuf_release(&dir);
	strbuf_release(&p);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_unreadable_file)
{
	struct ctx t;
	struct fim_entry e;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/a", "a", 1);
	test_write_file("t/b", "b", 1);
	ctx_init(&t);
	t.cfg.threads = 1;      /* files are opened in name order */
	set_fault("open:2:EACCES");
	assert_int(scan(&t, SNAP_BASELINE), 0);
	set_fault(NULL);
	assert_int(t.res.warnings, 1);
	fim_entry_init(&e);
	assert_int(lookup(&t, "a", &e), 1);
	assert_int(e.state, FS_OK);
	assert_int(lookup(&t, "b", &e), 1);
	assert_int(e.state, FS_UNREADABLE);
	assert_int(e.hashes_len, 0);
	assert_int(e.size, 1);
	fim_entry_release(&e);

	/* a read error is the same */
	set_fault("read:1:EIO");
	assert_int(scan(&t, SNAP_SCAN), 0);
	set_fault(NULL);
	assert_int(t.res.warnings, 1);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_vanished_file)
{
	struct ctx t;
	struct snapshot_info si;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/a", "a", 1);
	test_write_file("t/b", "b", 1);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(exists(&t, t.res.snap, "b"), 1);
	t.cfg.threads = 1;
	/* b is deleted between the listing and the open */
	set_fault("open:2:ENOENT");
	assert_int(scan(&t, SNAP_SCAN), 0);
	set_fault(NULL);
	/* a warning like any entry that could not be read (fimscan(1)) */
	assert_int(t.res.warnings, 1);
	assert_int(exists(&t, t.res.snap, "a"), 1);
	assert_int(exists(&t, t.res.snap, "b"), 0);
	snap_info(&t, &si);
	assert_int(si.removed, 1);
	snapshot_info_release(&si);
	ctx_release(&t);
}

static int hook_always;

static void grow_hook(int dirfd, const char *name, int attempt)
{
	int fd;

	if (strcmp(name, "grow") || (!hook_always && attempt > 1))
		return;
	fd = openat(dirfd, name, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int(write(fd, "more", 4), 4);
	close(fd);
}

DEFINE_TEST(test_scan_changed_while_read)
{
	struct ctx t;
	struct fim_entry e;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/grow", "start", 5);
	test_write_file("t/still", "still", 5);
	ctx_init(&t);
	scan_test_after_hash = grow_hook;

	/* grows during every read: unstable after the retries, no hash */
	hook_always = 1;
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.unstable, 1);
	assert_int(t.res.warnings, 1);
	fim_entry_init(&e);
	assert_int(lookup(&t, "grow", &e), 1);
	assert_int(e.state, FS_UNSTABLE);
	assert_int(e.hashes_len, 0);
	assert_int(e.size, 5 + 4 * t.cfg.retries);
	assert_int(lookup(&t, "still", &e), 1);
	assert_int(e.state, FS_OK);

	/* grows during the first read only: the retry gets a consistent
	 * hash, and stat data that matches it */
	hook_always = 0;
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.unstable, 0);
	assert_int(lookup(&t, "grow", &e), 1);
	assert_int(e.state, FS_OK);
	assert_int(e.size, 5 + 4 * t.cfg.retries + 4);
	assert_sha256_of(&e, "t/grow");
	scan_test_after_hash = NULL;
	fim_entry_release(&e);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_chunks)
{
	struct ctx t;
	struct snapshot_info si;
	char name[64];

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/big", 0755), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "t/big/f%04d", i);
		test_write_file(name, name, strlen(name));
		/* a subdirectory now and then: walked between chunks */
		if (i % 500 == 7) {
			snprintf(name, sizeof(name), "t/big/f%04dd", i);
			assert_int(mkdir(name, 0755), 0);
			strcat(name, "/x");
			test_write_file(name, "x", 1);
		}
	}
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.entries, 2 + 2000 + 4 * 2);
	assert_int(t.res.files_hashed, 2000 + 4);

	/* removals at chunk boundaries and inside, additions between */
	assert_int(unlink("t/big/f0000"), 0);
	assert_int(unlink("t/big/f0511"), 0);
	assert_int(unlink("t/big/f0512"), 0);
	assert_int(unlink("t/big/f1999"), 0);
	test_write_file("t/big/f0511a", "n", 1);
	test_write_file("t/big/zzz", "n", 1);
	test_write_file("t/big/A", "n", 1);
	assert_int(scan(&t, SNAP_SCAN), 0);
	snap_info(&t, &si);
	assert_int(si.removed, 4);
	assert_int(si.added, 3);
	assert_int(si.changed, 1);     /* t/big's mtime */
	snapshot_info_release(&si);
	assert_int(exists(&t, t.res.snap, "big/f0510"), 1);
	assert_int(exists(&t, t.res.snap, "big/f0511"), 0);
	assert_int(exists(&t, t.res.snap, "big/f0511a"), 1);
	assert_int(exists(&t, t.res.snap, "big/f1507d/x"), 1);
	ctx_release(&t);
}

/*
 * A name that cannot be stat'ed must not be reported removed, while a
 * name that is gone next to it must be.
 */
DEFINE_TEST(test_scan_lstat_error_keeps_entry)
{
	struct ctx t;
	struct snapshot_info si;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/a", "a", 1);
	test_write_file("t/ab", "ab", 2);
	test_write_file("t/b", "b", 1);
	test_write_file("t/c", "c", 1);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(unlink("t/ab"), 0);
	/* lstat calls: 1 = t, 2 = a, 3 = b, 4 = c */
	set_fault("lstat:3:EIO");
	assert_int(scan(&t, SNAP_SCAN), 0);
	set_fault(NULL);
	assert_int(t.res.warnings, 1);
	assert_int(exists(&t, t.res.snap, "a"), 1);
	assert_int(exists(&t, t.res.snap, "ab"), 0);
	assert_int(exists(&t, t.res.snap, "b"), 1);
	assert_int(exists(&t, t.res.snap, "c"), 1);
	snap_info(&t, &si);
	assert_int(si.removed, 1);
	snapshot_info_release(&si);

	/* the same for the first and the last name of a directory */
	set_fault("lstat:2:EIO,lstat:4:EIO");
	assert_int(scan(&t, SNAP_SCAN), 0);
	set_fault(NULL);
	assert_int(t.res.warnings, 2);
	assert_int(exists(&t, t.res.snap, "a"), 1);
	assert_int(exists(&t, t.res.snap, "c"), 1);
	snap_info(&t, &si);
	assert_int(si.removed, 0);
	snapshot_info_release(&si);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_unreadable_dir)
{
	struct ctx t;
	struct fim_entry e;

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/d", 0755), 0);
	test_write_file("t/d/inside", "x", 1);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	/* opendir calls: 1 = the root's parent, 2 = t (attributes),
	 * 3 = t (walk), 4 = d (attributes) */
	set_fault("opendir:4:EACCES");
	assert_int(scan(&t, SNAP_SCAN), 0);
	set_fault(NULL);
	assert_int(t.res.warnings, 1);
	fim_entry_init(&e);
	assert_int(lookup(&t, "d", &e), 1);
	assert_int(e.state, FS_UNREADABLE);
	fim_entry_release(&e);
	/* what is stored below it is kept: we could not look */
	assert_int(exists(&t, t.res.snap, "d/inside"), 1);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_root_missing)
{
	struct ctx t;
	int64_t first;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/a", "a", 1);
	assert_int(mkdir("sibling", 0755), 0);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	first = t.res.snap;
	assert_int(system("rm -rf t"), 0);
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.warnings, 1);
	assert_int(t.res.entries, 0);
	assert_int(exists(&t, first, "a"), 1);
	assert_int(exists(&t, t.res.snap, ""), 0);
	assert_int(exists(&t, t.res.snap, "a"), 0);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_root_is_file)
{
	struct ctx t;
	struct fim_entry e;

	test_write_file("t", "just a file", 11);
	test_write_file("t2", "a sibling", 9);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.entries, 1);
	fim_entry_init(&e);
	assert_int(lookup(&t, "", &e), 1);
	assert_sha256_of(&e, "t");
	fim_entry_release(&e);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_excludes_and_store)
{
	struct ctx t;
	static const char conf[] =
		"exclude /**/cache\n"
		"exclude /**/*.tmp\n"
		"include /**/keep.tmp\n";

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/cache", 0755), 0);
	test_write_file("t/cache/x", "x", 1);
	test_write_file("t/a.tmp", "x", 1);
	test_write_file("t/keep.tmp", "x", 1);
	test_write_file("t/real", "x", 1);
	memset(&t, 0, sizeof(t));
	config_init(&t.cfg);
	assert_int(config_parse(&t.cfg, NULL, conf, 0), 0);
	t.cfg.threads = 2;
	/* the store inside the scanned tree is not scanned */
	assert_int(store_open(&t.st, "t/s.db", STORE_WRITE), 0);
	t.roots[0] = config_normalize_root("t", &t.lens[0]);
	t.nroots = 1;
	assert_int(scan(&t, SNAP_BASELINE), 0);
	/* t, keep.tmp, real */
	assert_int(t.res.entries, 3);
	assert_int(exists(&t, t.res.snap, "keep.tmp"), 1);
	assert_int(exists(&t, t.res.snap, "cache"), 0);
	assert_int(exists(&t, t.res.snap, "cache/x"), 0);
	assert_int(exists(&t, t.res.snap, "a.tmp"), 0);
	assert_int(exists(&t, t.res.snap, "s.db"), 0);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_nested_roots)
{
	struct ctx t;

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/in", 0755), 0);
	test_write_file("t/in/f", "x", 1);
	assert_int(mkdir("u", 0755), 0);
	test_write_file("u/g", "x", 1);
	ctx_init(&t);
	t.roots[1] = config_normalize_root("t/in", &t.lens[1]);
	t.roots[2] = config_normalize_root("u", &t.lens[2]);
	t.roots[3] = config_normalize_root("t", &t.lens[3]);
	t.nroots = 4;
	assert_int(scan(&t, SNAP_BASELINE), 0);
	/* t, in, f, u, g: each once */
	assert_int(t.res.entries, 5);
	assert_int(t.res.files_hashed, 2);
	ctx_release(&t);
}

/*
 * A mount point inside a root is recorded but not entered; listed as a
 * root of its own it is walked, and its entry is merged once, by its own
 * root (a second merge of the same entry in one snapshot would make a
 * version flip every scan). Needs a private mount namespace: runs in a
 * child, skipped where that is not allowed.
 */
static void mount_case(void)
{
	struct ctx t;
	struct snapshot_info si;

	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.entries, 3);   /* t, a, mnt */
	assert_int(exists(&t, t.res.snap, "mnt/inner"), 0);

	t.roots[1] = config_normalize_root("t/mnt", &t.lens[1]);
	t.nroots = 2;
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.entries, 4);   /* t, a, mnt, inner */
	assert_int(exists(&t, t.res.snap, "mnt/inner"), 1);
	assert_int(scan(&t, SNAP_SCAN), 0);
	snap_info(&t, &si);
	assert_int(si.added + si.removed + si.changed, 0);
	snapshot_info_release(&si);

	/* crossing mount points: the inner root is covered by the outer */
	t.cfg.one_filesystem = 0;
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.entries, 4);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_mount_point_root)
{
	pid_t pid;
	int status = -1;

	assert_int(mkdir("t", 0755), 0);
	assert_int(mkdir("t/mnt", 0755), 0);
	test_write_file("t/a", "a", 1);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("none", "t/mnt", "tmpfs", 0, "size=1m")) {
			fprintf(stderr, "skipping: no private mount namespace "
				"here (%s)\n", strerror(errno));
			_exit(0);
		}
		test_write_file("t/mnt/inner", "i", 1);
		test_failures = 0;
		mount_case();
		_exit(test_failures ? 1 : 0);
	}
	assert_int(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int(WEXITSTATUS(status), 0);
}

/* scan_hash_fd stops reading a file that grew past the size it was given */
DEFINE_TEST(test_scan_hash_fd)
{
	static char buf[1 << 20];
	struct fim_config cfg;
	struct scan_hasher *h;
	struct fim_entry e;
	uint64_t n = 0;
	int fd;

	memset(buf, 'q', sizeof(buf));
	test_write_file("f", buf, sizeof(buf));
	config_init(&cfg);
	h = scan_hasher_new(&cfg, &chunk_params_default);
	assert_true(h != NULL);
	fim_entry_init(&e);
	fd = open("f", O_RDONLY);
	e.size = sizeof(buf);
	assert_int(scan_hash_fd(h, fd, &e, &n), 0);
	assert_int(n, sizeof(buf));
	assert_sha256_of(&e, "f");
	assert_int(lseek(fd, 0, SEEK_SET), 0);
	/* a file bigger than its fstat said: read no further than the
	 * size (the fstat after hashing is what catches the growth) */
	e.size = 10;
	assert_int(scan_hash_fd(h, fd, &e, &n), 0);
	assert_int(n, 10);
	close(fd);
	fim_entry_release(&e);
	scan_hasher_free(h);
	config_release(&cfg);
}

static unsigned char *random_bytes(size_t len, uint64_t seed)
{
	unsigned char *b = xmalloc(len ? len : 1);

	for (size_t i = 0; i < len; i++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (unsigned char)(seed >> 56);
	}
	return b;
}

/*
 * The chunk list of the read pass is chunk_buffer()'s over the same bytes,
 * except that a file no longer than the minimum chunk gets none (the
 * store keeps no list for a single chunk) unless its content is kept.
 */
DEFINE_TEST(test_scan_hash_fd_chunks)
{
	const struct chunk_params *p = &chunk_params_default;
	const size_t sizes[] = { 0, 1, p->min - 1, p->min, p->min + 1,
				 3 * (size_t)p->max + 5 };
	unsigned char *buf = random_bytes(sizes[ARRAY_SIZE(sizes) - 1], 7);
	struct fim_config cfg;
	struct scan_hasher *h;

	config_init(&cfg);
	h = scan_hasher_new(&cfg, p);
	assert_true(h != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (int keep = 0; keep < 2; keep++) {
			struct strbuf want = STRBUF_INIT;
			struct fim_entry e;
			uint64_t n = 0;
			int fd;

			test_write_file("f", buf, sizes[i]);
			fim_entry_init(&e);
			e.size = sizes[i];
			e.keep = keep;
			assert_true((fd = open("f", O_RDONLY)) >= 0);
			assert_int(scan_hash_fd(h, fd, &e, &n), 0);
			close(fd);
			assert_int(n, sizes[i]);
			if (keep || sizes[i] > p->min)
				chunk_buffer(p, buf, sizes[i], &want);
			assert_int(e.chunks.len, want.len);
			assert_true(!memcmp(e.chunks.buf, want.buf, want.len));
			assert_int(e.data.len, keep ? sizes[i] : 0);
			strbuf_release(&want);
			fim_entry_release(&e);
		}
	}
	free(buf);
	scan_hasher_free(h);
	config_release(&cfg);
}

/*
 * A file that shrinks between its fstat and its hashing: the pass comes
 * short, says how many bytes it hashed (the caller retries on a count
 * that differs from the size) and its digests are those of what is left.
 * Cut to nothing, inside the first read and inside later ones.
 */
DEFINE_TEST(test_scan_hash_fd_shrinks)
{
	const size_t mib = 1024 * 1024, size = 5 * mib;
	const size_t cuts[] = { 0, 5, mib + 5, 2 * mib + 10, 4 * mib + 4096 };
	unsigned char *d = random_bytes(size, 9);
	struct scan_hasher *h;
	struct fim_config cfg;

	config_init(&cfg);
	h = scan_hasher_new(&cfg, &chunk_params_default);
	assert_true(h != NULL);
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		struct fim_entry e;
		uint64_t n = 7;
		int fd;

		test_write_file("f", d, size);
		assert_true((fd = open("f", O_RDONLY)) >= 0);
		/* the size fstat gave, then the file shrinks */
		assert_int(truncate("f", (off_t)cuts[i]), 0);
		fim_entry_init(&e);
		e.size = size;
		assert_int(scan_hash_fd(h, fd, &e, &n), 0);
		close(fd);
		assert_int(n, cuts[i]);
		assert_sha256_of(&e, "f");
		fim_entry_release(&e);
	}
	free(d);
	scan_hasher_free(h);
	config_release(&cfg);
}

DEFINE_TEST(test_scan_rehash_changed)
{
	struct ctx t;
	struct fim_entry e;
	struct stat before, after;
	struct timespec times[2];
	char name[32];

	assert_int(mkdir("t", 0755), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "t/f%02d", i);
		test_write_file(name, "same", 4);
	}
	test_write_file("t/victim", "good", 4);
	ctx_init(&t);
	t.cfg.rehash = REHASH_CHANGED;
	scan_racy_ns = 0;       /* the tree was made a moment ago */
	assert_int(scan(&t, SNAP_BASELINE), 0);
	assert_int(t.res.files_hashed, 21);
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.files_hashed, 0);

	/* change the content, restore mtime: only ctime moves */
	assert_int(stat("t/victim", &before), 0);
	test_write_file("t/victim", "evil", 4);
	times[0] = before.st_atim;
	times[1] = before.st_mtim;
	do {
		assert_int(utimensat(AT_FDCWD, "t/victim", times, 0), 0);
		assert_int(stat("t/victim", &after), 0);
	} while (after.st_ctim.tv_sec == before.st_ctim.tv_sec &&
		 after.st_ctim.tv_nsec == before.st_ctim.tv_nsec);
	assert_int(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.files_hashed, 1);
	fim_entry_init(&e);
	assert_int(lookup(&t, "victim", &e), 1);
	assert_sha256_of(&e, "t/victim");
	assert_int(lookup(&t, "f07", &e), 1);
	assert_sha256_of(&e, "t/f07");

	/* the default re-hashes everything */
	t.cfg.rehash = REHASH_ALL;
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.files_hashed, 21);

	/* a stored hash taken just after the file changed is not trusted */
	scan_racy_ns = 3600 * 1000000000LL;
	t.cfg.rehash = REHASH_CHANGED;
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.files_hashed, 21);
	scan_racy_ns = 2000000000;
	fim_entry_release(&e);
	ctx_release(&t);
}

static void stop_hook(int dirfd, const char *name, int attempt)
{
	(void)dirfd;
	(void)name;
	(void)attempt;
	scan_request_stop();
}

DEFINE_TEST(test_scan_interrupted)
{
	struct ctx t;
	struct snapshot_info si;
	int64_t first;

	assert_int(mkdir("t", 0755), 0);
	test_write_file("t/a", "a", 1);
	ctx_init(&t);
	assert_int(scan(&t, SNAP_BASELINE), 0);
	first = t.res.snap;
	test_write_file("t/b", "b", 1);
	scan_test_after_hash = stop_hook;
	assert_int(scan(&t, SNAP_SCAN), EXIT_INTERRUPTED);
	scan_test_after_hash = NULL;
	scan_test_reset_stop();
	assert_int(t.res.snap, 0);
	/* nothing of it was committed */
	assert_int(store_snapshot_get(t.st, first + 1, &si) != 0, 1);
	assert_int(scan(&t, SNAP_SCAN), 0);
	assert_int(t.res.snap, first + 1);
	assert_int(exists(&t, t.res.snap, "b"), 1);
	ctx_release(&t);
}

DEFINE_TEST(test_scan_busy)
{
	struct ctx t, other;
	struct snapshot_start ss = {
		.kind = SNAP_SCAN, .config = "", .hashes = "sha256",
		.busy_ms = 10,
	};
	int64_t id;

	assert_int(mkdir("t", 0755), 0);
	ctx_init(&t);
	assert_int(store_open(&other.st, "s.db", STORE_WRITE), 0);
	ss.roots = (const char *const *)t.roots;
	ss.rootlens = t.lens;
	ss.nroots = 1;
	assert_int(store_begin_snapshot(other.st, &ss, &id), 0);
	assert_int(scan(&t, SNAP_SCAN), EXIT_BUSY);
	store_abort_snapshot(other.st);
	store_close(other.st);
	assert_int(scan(&t, SNAP_SCAN), 0);
	ctx_release(&t);
}
