/* test-platform.c: the syscall table, fault injection, xattrs, flags. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "platform/base.h"
#include "platform/platform.h"
#include "test.h"

static int set_fault(const char *v)
{
	int ret;

	setenv("FIMSCAN_FAULT", v, 1);
	ret = plat_init();
	unsetenv("FIMSCAN_FAULT");
	return ret;
}

static void no_faults(void)
{
	unsetenv("FIMSCAN_FAULT");
	assert_int(plat_init(), 0);
}

DEFINE_TEST(test_fault_read)
{
	char buf[4];
	int fd;

	test_write_file("f", "abcdefgh", 8);
	assert_int(set_fault("read:2:EIO"), 0);
	fd = plat_open_file(AT_FDCWD, "f");
	assert_true(fd >= 0);
	assert_int(plat_read(fd, buf, 4), 4);
	errno = 0;
	assert_int(plat_read(fd, buf, 4), -1);
	assert_int(errno, EIO);
	assert_int(plat_read(fd, buf, 4), 4);
	assert_mem(buf, 4, "efgh", 4);
	plat_close(fd);
	no_faults();
}

DEFINE_TEST(test_fault_open_plus)
{
	struct stat st;
	int fd;

	test_write_file("f", "x", 1);
	assert_int(mkdir("d", 0755), 0);
	assert_int(set_fault("lstat:3:5,open:1+:EACCES"), 0);
	for (int i = 0; i < 3; i++) {
		errno = 0;
		assert_int(plat_open_file(AT_FDCWD, "f"), -1);
		assert_int(errno, EACCES);
	}
	/* "opendir" is its own op */
	fd = plat_open_dir(AT_FDCWD, "d");
	assert_true(fd >= 0);
	plat_close(fd);
	assert_int(plat_lstat(AT_FDCWD, "f", &st), 0);
	assert_int(plat_lstat(AT_FDCWD, "f", &st), 0);
	assert_int(plat_lstat(AT_FDCWD, "f", &st), -1);
	assert_int(errno, EIO);
	assert_int(plat_lstat(AT_FDCWD, "f", &st), 0);

	/* plat_init() starts over */
	assert_int(set_fault("opendir:1:ENOMEM,fstat:1:ELOOP"), 0);
	fd = plat_open_file(AT_FDCWD, "f");
	assert_true(fd >= 0);
	assert_int(plat_fstat(fd, &st), -1);
	assert_int(errno, ELOOP);
	assert_int(plat_fstat(fd, &st), 0);
	plat_close(fd);
	assert_int(plat_open_dir(AT_FDCWD, "d"), -1);
	assert_int(errno, ENOMEM);
	no_faults();
	fd = plat_open_file(AT_FDCWD, "f");
	assert_true(fd >= 0);
	plat_close(fd);
}

static const char *bad_fault;
static int bad_ret;

static void init_bad(void)
{
	bad_ret = set_fault(bad_fault);
}

/* Run plat_init() on `v`, expect failure and a message naming `part`. */
static void check_malformed(const char *v, const char *part, int line)
{
	char buf[1024];
	int saved = dup(2);
	int fd = open("err.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	bad_fault = v;
	fflush(stderr);
	dup2(fd, 2);
	init_bad();
	dup2(saved, 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	if (bad_ret != -1)
		test_fail(__FILE__, line, "FIMSCAN_FAULT=\"%s\" accepted", v);
	if (strncmp(buf, "fimscan: error: ", 16) || !strstr(buf, part))
		test_fail(__FILE__, line, "message \"%s\" does not name \"%s\"",
			  buf, part);
}
#define MALFORMED(v, part) check_malformed(v, part, __LINE__)

DEFINE_TEST(test_fault_malformed)
{
	struct stat st;

	MALFORMED("read", "'read'");
	MALFORMED("read:1", "'read:1'");
	MALFORMED("write:1:EIO", "'write'");
	MALFORMED("read:0:EIO", "'0'");
	MALFORMED("read:x:EIO", "'x'");
	MALFORMED("read:-1:EIO", "'-1'");
	MALFORMED("read:1++:EIO", "'1++'");
	MALFORMED("read:+:EIO", "'+'");
	MALFORMED("read:99999999999999999999999:EIO", "'9999");
	MALFORMED("read:1:EWHAT", "'EWHAT'");
	MALFORMED("read:1:eio", "'eio'");
	MALFORMED("read:1:0", "'0'");
	MALFORMED("read:1:EIO:x", "'EIO:x'");
	MALFORMED("read:1:EIO,", "''");
	MALFORMED("read:1:EIO,,lstat:1:EIO", "''");
	MALFORMED("read\n:1:EIO", "'read\\x0a'");

	/* a rejected setting leaves no faults behind */
	MALFORMED("lstat:1+:EIO,bogus:1:EIO", "'bogus'");
	assert_int(plat_lstat(AT_FDCWD, ".", &st), 0);

	assert_int(set_fault("lstat:1:13"), 0);
	assert_int(plat_lstat(AT_FDCWD, ".", &st), -1);
	assert_int(errno, EACCES);
	assert_int(set_fault(""), 0);
	assert_int(plat_lstat(AT_FDCWD, ".", &st), 0);
	no_faults();
}

static void *lstat_many(void *arg)
{
	struct stat st;
	long failed = 0;

	(void)arg;
	for (int i = 0; i < 2000; i++)
		if (plat_lstat(AT_FDCWD, ".", &st))
			failed++;
	return (void *)failed;
}

DEFINE_TEST(test_fault_threads)
{
	pthread_t t[4];
	long failed = 0;

	/* counted across threads: exactly the calls after 5000 fail */
	assert_int(set_fault("lstat:5001+:ENOENT"), 0);
	for (int i = 0; i < 4; i++)
		assert_int(pthread_create(&t[i], NULL, lstat_many, NULL), 0);
	for (int i = 0; i < 4; i++) {
		void *res;

		assert_int(pthread_join(t[i], &res), 0);
		failed += (long)res;
	}
	assert_int(failed, 3000);
	no_faults();
}

static void alarm_fail(int sig)
{
	static const char msg[] = "plat_open_file blocked on a FIFO\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(2);
	_exit(1);
}

DEFINE_TEST(test_open_fifo)
{
	struct timespec a, b;
	int fd;

	assert_int(mkfifo("fifo", 0644), 0);
	signal(SIGALRM, alarm_fail);
	alarm(10);
	clock_gettime(CLOCK_MONOTONIC, &a);
	fd = plat_open_file(AT_FDCWD, "fifo");
	clock_gettime(CLOCK_MONOTONIC, &b);
	alarm(0);
	signal(SIGALRM, SIG_DFL);
	assert_true(fd >= 0);
	assert_true(b.tv_sec - a.tv_sec < 2);
	plat_close(fd);
}

DEFINE_TEST(test_open_nofollow)
{
	struct stat st;
	int fd, dfd;

	test_write_file("target", "x", 1);
	assert_int(mkdir("dir", 0755), 0);
	assert_int(symlink("target", "link"), 0);
	assert_int(symlink("dir", "dlink"), 0);
	errno = 0;
	assert_int(plat_open_file(AT_FDCWD, "link"), -1);
	assert_int(errno, ELOOP);
	errno = 0;
	assert_int(plat_open_dir(AT_FDCWD, "dlink"), -1);
	assert_true(errno == ELOOP || errno == ENOTDIR);
	errno = 0;
	assert_int(plat_open_dir(AT_FDCWD, "target"), -1);
	assert_int(errno, ENOTDIR);
	assert_int(plat_lstat(AT_FDCWD, "link", &st), 0);
	assert_true(S_ISLNK(st.st_mode));

	/* relative to a directory fd, and an absolute path with AT_FDCWD */
	test_write_file("dir/f", "abc", 3);
	dfd = plat_open_dir(AT_FDCWD, "dir");
	assert_true(dfd >= 0);
	fd = plat_open_file(dfd, "f");
	assert_true(fd >= 0);
	assert_int(plat_fstat(fd, &st), 0);
	assert_int(st.st_size, 3);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	plat_advise_sequential(fd);
	plat_close(fd);
	plat_close(dfd);
	fd = plat_open_dir(AT_FDCWD, "/");
	assert_true(fd >= 0);
	plat_close(fd);
	errno = ENOENT;
	plat_close(-1);
	assert_int(errno, ENOENT);
}

DEFINE_TEST(test_open_not_owner)
{
	pid_t pid;
	int status;

	/* O_NOATIME is EPERM on another user's file: the retry must open it */
	if (geteuid() != 0) {
		printf("note: %s: needs root, skipped\n", __func__);
		return;
	}
	test_write_file("f", "x", 1);
	assert_int(mkdir("d", 0755), 0);
	assert_int(chmod(".", 0755), 0);
	pid = fork();
	if (!pid) {
		int fd, dfd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = plat_open_file(AT_FDCWD, "f");
		dfd = plat_open_dir(AT_FDCWD, "d");
		_exit(fd >= 0 && dfd >= 0 ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int(WEXITSTATUS(status), 0);
}

DEFINE_TEST(test_readlink)
{
	struct strbuf sb = STRBUF_INIT, target = STRBUF_INIT;

	while (target.len < 3000)
		strbuf_addstr(&target, "component-of-a-long-target/");
	strbuf_setlen(&target, 3000);
	assert_int(symlink(target.buf, "long"), 0);
	assert_int(plat_readlink(AT_FDCWD, "long", &sb), 0);
	assert_mem(sb.buf, sb.len, target.buf, target.len);
	assert_true(sb.buf[sb.len] == '\0');

	/* exact bytes, and the buffer is replaced */
	assert_int(symlink("a\nb\xff", "odd"), 0);
	assert_int(plat_readlink(AT_FDCWD, "odd", &sb), 0);
	assert_mem(sb.buf, sb.len, "a\nb\xff", 4);

	/* targets around the first buffer size must not look truncated */
	for (size_t len = 250; len < 260; len++) {
		char name[16];

		strbuf_reset(&target);
		for (size_t i = 0; i < len; i++)
			strbuf_addch(&target, 'a' + i % 26);
		snprintf(name, sizeof(name), "l%zu", len);
		assert_int(symlink(target.buf, name), 0);
		assert_int(plat_readlink(AT_FDCWD, name, &sb), 0);
		assert_mem(sb.buf, sb.len, target.buf, target.len);
	}

	test_write_file("file", "", 0);
	assert_int(plat_readlink(AT_FDCWD, "file", &sb), -1);
	assert_int(errno, EINVAL);
	assert_int(plat_readlink(AT_FDCWD, "missing", &sb), -1);
	assert_int(errno, ENOENT);
	strbuf_release(&sb);
	strbuf_release(&target);
}

/* Packed plat_xattrs() entry for checking. */
static void pack(struct strbuf *sb, const char *name, const void *v, size_t len)
{
	size_t nl = strlen(name);
	unsigned char h[4];

	for (int i = 0; i < 4; i++)
		h[i] = nl >> 8 * i & 0xff;
	strbuf_add(sb, h, 4);
	strbuf_add(sb, name, nl);
	for (int i = 0; i < 4; i++)
		h[i] = len >> 8 * i & 0xff;
	strbuf_add(sb, h, 4);
	strbuf_add(sb, v, len);
}

/*
 * Set xattrs, one of `size` bytes, on dir/f and read them back through an
 * fd, a dirfd and a path. -1 with errno when the filesystem refuses.
 */
static int check_xattrs(const char *dir, size_t size)
{
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT, path = STRBUF_INIT;
	char *big = xmalloc(size);
	int fd = -1, dfd, ret = -1;

	for (size_t i = 0; i < size; i++)
		big[i] = (char)(i * 7 + (i >> 8));
	strbuf_addf(&path, "%s/f", dir);
	test_write_file(path.buf, "data", 4);
	fd = plat_open_file(AT_FDCWD, path.buf);
	assert_true(fd >= 0);
	assert_int(plat_xattrs(fd, AT_FDCWD, path.buf, &got), 0);
	assert_int(got.len, 0);
	if (setxattr(path.buf, "user.big", big, size, 0))
		goto out;
	assert_int(setxattr(path.buf, "user.b", "2", 1, 0), 0);
	assert_int(setxattr(path.buf, "user.a", "", 0, 0), 0);
	assert_int(setxattr(path.buf, "user.\xff", "\0\n", 2, 0), 0);
	pack(&want, "user.a", "", 0);
	pack(&want, "user.b", "2", 1);
	pack(&want, "user.big", big, size);
	pack(&want, "user.\xff", "\0\n", 2);

	strbuf_addstr(&got, "stale");
	assert_int(plat_xattrs(fd, AT_FDCWD, "ignored", &got), 0);
	assert_mem(got.buf, got.len, want.buf, want.len);
	assert_int(plat_xattrs(-1, AT_FDCWD, path.buf, &got), 0);
	assert_mem(got.buf, got.len, want.buf, want.len);
	dfd = plat_open_dir(AT_FDCWD, dir);
	assert_true(dfd >= 0);
	assert_int(plat_xattrs(-1, dfd, "f", &got), 0);
	assert_mem(got.buf, got.len, want.buf, want.len);
	plat_close(dfd);
	ret = 0;
out:
	plat_close(fd);
	unlink(path.buf);
	free(big);
	strbuf_release(&got);
	strbuf_release(&want);
	strbuf_release(&path);
	return ret;
}

DEFINE_TEST(test_xattrs)
{
	struct strbuf got = STRBUF_INIT;
	char shm[] = "/dev/shm/fimscan-test-XXXXXX";
	int fd;

	if (check_xattrs(".", 3000)) {
		assert_int(errno, ENOTSUP);
		printf("note: %s: no user xattrs on this filesystem, skipped\n",
		       __func__);
		return;
	}
	/* ext4 without ea_inode keeps all of an inode's xattrs in one block */
	if (check_xattrs(".", 60 * 1024)) {
		assert_true(errno == ENOSPC || errno == E2BIG);
		if (!mkdtemp(shm) || check_xattrs(shm, 60 * 1024))
			printf("note: %s: no filesystem here takes a 60 KiB "
			       "value, checked 3000 bytes\n", __func__);
		rmdir(shm);
	}

	test_write_file("f", "x", 1);
	fd = plat_open_file(AT_FDCWD, "f");
	assert_true(fd >= 0);
	assert_int(set_fault("xattr:1:EIO"), 0);
	strbuf_addstr(&got, "stale");
	assert_int(plat_xattrs(fd, AT_FDCWD, "f", &got), -1);
	assert_int(errno, EIO);
	assert_int(got.len, 0);
	no_faults();
	plat_close(fd);
	assert_int(plat_xattrs(-1, AT_FDCWD, "missing", &got), -1);
	assert_int(errno, ENOENT);
	strbuf_release(&got);
}

DEFINE_TEST(test_xattrs_symlink)
{
	struct strbuf got = STRBUF_INIT, want = STRBUF_INIT;
	int dfd = plat_open_dir(AT_FDCWD, ".");
	int own = 0;

	test_write_file("target", "x", 1);
	assert_int(symlink("target", "link"), 0);
	assert_true(dfd >= 0);
	if (setxattr("target", "user.t", "target", 6, 0))
		printf("note: %s: no user xattrs on this filesystem\n", __func__);
	/* trusted.* needs CAP_SYS_ADMIN and works on symlinks */
	if (!lsetxattr("link", "trusted.l", "link", 4, 0)) {
		own = 1;
		pack(&want, "trusted.l", "link", 4);
	}
	assert_int(plat_xattrs(-1, dfd, "link", &got), 0);
	assert_mem(got.buf, got.len, want.buf, want.len);
	assert_true(!memmem(got.buf, got.len, "user.t", 6));
	assert_int(plat_xattrs(-1, AT_FDCWD, "link", &got), 0);
	assert_mem(got.buf, got.len, want.buf, want.len);
	if (!own)
		printf("note: %s: cannot set trusted.* on a symlink, checked "
		       "only that the target's are not read\n", __func__);
	assert_int(plat_xattrs(-1, dfd, "target", &got), 0);
	assert_true(!memmem(got.buf, got.len, "trusted.l", 9));
	plat_close(dfd);
	strbuf_release(&got);
	strbuf_release(&want);
}

DEFINE_TEST(test_xattrs_deep)
{
	struct strbuf got = STRBUF_INIT;
	int dfd = plat_open_dir(AT_FDCWD, "."), depth = 0, fd;
	static const char name[] =
		"a-directory-name-of-some-length-to-get-past-path-max-quickly";

	/* a path longer than PATH_MAX is reachable only through dirfds */
	assert_true(dfd >= 0);
	while (depth++ * sizeof(name) < 5000) {
		assert_int(mkdirat(dfd, name, 0755), 0);
		fd = plat_open_dir(dfd, name);
		assert_true(fd >= 0);
		plat_close(dfd);
		dfd = fd;
	}
	fd = openat(dfd, "f", O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	if (fsetxattr(fd, "user.deep", "yes", 3, 0)) {
		printf("note: %s: no user xattrs on this filesystem\n", __func__);
	} else {
		assert_int(plat_xattrs(-1, dfd, "f", &got), 0);
		assert_true(memmem(got.buf, got.len, "user.deep", 9) != NULL);
		assert_true(got.len > 3 && !memcmp(got.buf + got.len - 3, "yes", 3));
	}
	close(fd);
	plat_close(dfd);
	strbuf_release(&got);
}

DEFINE_TEST(test_inode_flags)
{
	struct strbuf sb = STRBUF_INIT;
	uint32_t flags = 123;
	int fd;

	test_write_file("f", "x", 1);
	fd = plat_open_file(AT_FDCWD, "f");
	assert_true(fd >= 0);
	if (plat_inode_flags(fd, &flags)) {
		assert_int(flags, 0);
		printf("note: %s: no inode flags on this filesystem\n", __func__);
	} else {
		int f = (int)(flags | FS_NODUMP_FL);

		/* nodump needs no capability; chattr +d */
		if (!ioctl(fd, FS_IOC_SETFLAGS, &f)) {
			assert_int(plat_inode_flags(fd, &flags), 0);
			assert_true(flags & FS_NODUMP_FL);
			plat_inode_flags_str(flags, &sb);
			assert_true(strstr(sb.buf, "nodump") != NULL);
		}
	}
	plat_close(fd);
	assert_int(plat_inode_flags(-1, &flags), -1);
	assert_int(flags, 0);

	strbuf_addstr(&sb, "stale");
	plat_inode_flags_str(0, &sb);
	assert_str(sb.buf, "");
	plat_inode_flags_str(FS_APPEND_FL | FS_IMMUTABLE_FL, &sb);
	assert_str(sb.buf, "immutable,append");
	plat_inode_flags_str(FS_EXTENT_FL | FS_NOATIME_FL, &sb);
	assert_str(sb.buf, "noatime,extents");
	plat_inode_flags_str(FS_SECRM_FL | FS_UNRM_FL, &sb);
	assert_str(sb.buf, "0x3");
	plat_inode_flags_str(FS_SECRM_FL | FS_SYNC_FL, &sb);
	assert_str(sb.buf, "sync,0x1");
	strbuf_release(&sb);
}

DEFINE_TEST(test_id_names)
{
	const char *u = plat_user_name(0);

	assert_str(u, "root");
	assert_str(plat_group_name(0), "root");
	/* cached: the same answer again, and users and groups kept apart */
	assert_str(plat_user_name(0), "root");
	assert_true(plat_user_name(4000000001u) == NULL);
	assert_true(plat_group_name(4000000001u) == NULL);
	for (uint32_t id = 0; id < 40; id++)
		plat_user_name(id);
	assert_str(plat_user_name(0), "root");
}
