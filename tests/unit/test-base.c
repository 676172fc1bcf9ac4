/* test-base.c: strbuf, escaping, paths, messages. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "platform/base.h"
#include "test.h"

/* Run fn with stderr going to a file; returns what it printed. */
static char *capture_stderr(void (*fn)(void))
{
	static char out[4096];
	int saved = dup(2);
	int fd = open("stderr.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	assert_true(saved >= 0 && fd >= 0);
	fflush(stderr);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	return out;
}

DEFINE_TEST(test_strbuf_init)
{
	struct strbuf sb = STRBUF_INIT;
	size_t len = 99;
	char *p;

	strbuf_init(&sb, 0);
	assert_true(sb.buf == strbuf_slopbuf);
	assert_int(sb.len, 0);
	assert_str(sb.buf, "");
	strbuf_reset(&sb);
	assert_true(sb.buf == strbuf_slopbuf);
	p = strbuf_detach(&sb, &len);
	assert_true(p != strbuf_slopbuf);
	assert_int(len, 0);
	assert_str(p, "");
	free(p);
	assert_true(sb.buf == strbuf_slopbuf);

	strbuf_init(&sb, 100);
	assert_true(sb.alloc > 100);
	assert_str(sb.buf, "");
	strbuf_release(&sb);
	assert_true(sb.buf == strbuf_slopbuf);
	strbuf_release(&sb);

	p = xmalloc(0);
	assert_true(p != NULL);
	free(p);
	p = xmemdup("ab\0c", 4);
	assert_mem(p, 5, "ab\0c", 5);
	free(p);
}

DEFINE_TEST(test_strbuf_nuls)
{
	struct strbuf sb = STRBUF_INIT;
	static const char chunk[] = { 'a', '\0', 'b', '\0', '\0' };

	for (int i = 0; i < 10000; i++) {
		strbuf_add(&sb, chunk, sizeof(chunk));
		assert_true(sb.buf[sb.len] == '\0');
		assert_true(sb.len < sb.alloc);
	}
	assert_int(sb.len, 50000);
	for (size_t i = 0; i < sb.len; i += sizeof(chunk))
		if (memcmp(sb.buf + i, chunk, sizeof(chunk)))
			test_fail(__FILE__, __LINE__, "content differs at %zu", i);
	strbuf_addch(&sb, 0);
	assert_int(sb.len, 50001);
	strbuf_setlen(&sb, 3);
	assert_mem(sb.buf, 4, "a\0b\0", 4);
	strbuf_add(&sb, NULL, 0);
	assert_int(sb.len, 3);
	strbuf_release(&sb);
}

DEFINE_TEST(test_strbuf_addf)
{
	struct strbuf sb = STRBUF_INIT;
	char *big = xmalloc(100001);

	memset(big, 'x', 100000);
	big[100000] = '\0';
	strbuf_addf(&sb, "%d-", 42);
	strbuf_addf(&sb, "<%s>", big);
	assert_int(sb.len, 3 + 100002);
	assert_true(!memcmp(sb.buf, "42-<xxx", 7));
	assert_true(sb.buf[sb.len - 1] == '>' && sb.buf[sb.len] == '\0');
	strbuf_reset(&sb);
	strbuf_addf(&sb, "%s", "");
	assert_int(sb.len, 0);
	strbuf_addf(&sb, "%s=%zu", "n", (size_t)7);
	assert_str(sb.buf, "n=7");
	strbuf_release(&sb);
	free(big);
}

static void check_escape(const char *in, size_t len, const char *want,
			 int line)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_add_escaped(&sb, in, len);
	if (strlen(sb.buf) != sb.len || strcmp(sb.buf, want))
		test_fail(__FILE__, line, "escaped \"%s\", expected \"%s\"",
			  sb.buf, want);
	if (strcmp(escaped(in, len), want))
		test_fail(__FILE__, line, "escaped() differs");
	strbuf_release(&sb);
}
#define ESC(in, want) check_escape(in, sizeof(in) - 1, want, __LINE__)

DEFINE_TEST(test_escape)
{
	ESC("plain name.txt", "plain name.txt");
	ESC("", "");
	ESC("a\nb", "a\\x0ab");
	ESC("\x1b[31mred", "\\x1b[31mred");
	ESC("tab\there\r\x7f", "tab\\x09here\\x0d\\x7f");
	ESC("nul\0x", "nul\\x00x");
	ESC("100%n%s", "100%n%s");
	ESC("back\\slash", "back\\\\slash");
	ESC("\xff", "\\xff");
	ESC("\xc3", "\\xc3");
	ESC("\xc3 x", "\\xc3 x");
	ESC("caf\xc3\xa9", "caf\xc3\xa9");
	ESC("\xc0\xaf", "\\xc0\\xaf");                /* overlong '/' */
	ESC("\xe0\x80\xaf", "\\xe0\\x80\\xaf");       /* overlong, 3 bytes */
	ESC("\xed\xa0\x80", "\\xed\\xa0\\x80");       /* surrogate */
	ESC("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	ESC("\xe2\x82", "\\xe2\\x82");                /* truncated */
	ESC("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"); /* emoji */
	ESC("\xef\xbf\xbd", "\xef\xbf\xbd");          /* U+FFFD is fine */
	ESC("\xc2\x85", "\\xc2\\x85");                /* NEL, a C1 control */
	ESC("\xc2\xa0", "\xc2\xa0");                  /* NBSP is printable */
	ESC("a\xe2\x80\xaexe.txt", "a\\xe2\\x80\\xaexe.txt"); /* U+202E */
	ESC("\xe2\x80\x8fx", "\\xe2\\x80\\x8fx");      /* U+200F RLM */
	ESC("\xd8\x9cx", "\\xd8\\x9cx");              /* U+061C ALM */
	ESC("\xe2\x80\xa8", "\\xe2\\x80\\xa8");       /* line separator */
	ESC("\xe2\x81\xa6", "\\xe2\\x81\\xa6");       /* U+2066 */
	ESC("\xe2\x80\x94", "\xe2\x80\x94");          /* em dash passes */
}

static void *escape_thread(void *arg)
{
	const char *s = escaped(arg, strlen(arg));

	return strcmp(s, "t\\x0a") ? NULL : arg;
}

DEFINE_TEST(test_escaped_threads)
{
	char in[] = "t\n";
	const char *mine = escaped("m\n", 2);
	pthread_t t;
	void *res = NULL;

	assert_int(pthread_create(&t, NULL, escape_thread, in), 0);
	assert_int(pthread_join(t, &res), 0);
	assert_true(res == in);
	assert_str(mine, "m\\x0a");
}

static void check_split(const char *path, const char *dir, const char *name,
			int line)
{
	struct strbuf sb = STRBUF_INIT;
	const char *n;
	size_t dl, nl;

	path_split(path, strlen(path), &dl, &n, &nl);
	if (dl != strlen(dir) || memcmp(path, dir, dl) || nl != strlen(name) ||
	    memcmp(n, name, nl))
		test_fail(__FILE__, line, "split \"%s\": \"%.*s\" \"%.*s\"",
			  path, (int)dl, path, (int)nl, n);
	path_join(&sb, path, dl, n, nl);
	if (strcmp(sb.buf, path))
		test_fail(__FILE__, line, "join gives \"%s\"", sb.buf);
	strbuf_release(&sb);
}

DEFINE_TEST(test_path_split_join)
{
	struct strbuf sb = STRBUF_INIT, deep = STRBUF_INIT;
	const char *n;
	size_t dl, nl;

	check_split("/", "", "/", __LINE__);
	check_split("/etc", "/", "etc", __LINE__);
	check_split("/a/b", "/a", "b", __LINE__);
	check_split("/etc/ssh/sshd_config", "/etc/ssh", "sshd_config", __LINE__);
	path_join(&sb, "", 0, "/", 1);
	assert_str(sb.buf, "/");
	path_join(&sb, "/", 1, "etc", 3);
	assert_str(sb.buf, "/etc");
	path_join(&sb, "/etc", 4, "passwd", 6);
	assert_str(sb.buf, "/etc/passwd");

	/* names are bytes: NUL-free but anything else, and paths > PATH_MAX */
	path_join(&sb, "/a\nb", 4, "\xff", 1);
	assert_mem(sb.buf, sb.len, "/a\nb/\xff", 6);
	strbuf_addstr(&deep, "/");
	while (deep.len < 10000)
		strbuf_addstr(&deep, "0123456789abcdef/");
	strbuf_addstr(&deep, "leaf");
	path_split(deep.buf, deep.len, &dl, &n, &nl);
	assert_int(dl, deep.len - 5);
	assert_mem(n, nl, "leaf", 4);
	path_join(&sb, deep.buf, dl, n, nl);
	assert_mem(sb.buf, sb.len, deep.buf, deep.len);
	assert_true(path_is_under(deep.buf, deep.len, deep.buf, dl));
	assert_true(path_is_under(deep.buf, deep.len, "/0123456789abcdef", 17));
	assert_true(!path_is_under(deep.buf, dl, deep.buf, deep.len));
	strbuf_release(&sb);
	strbuf_release(&deep);
}

#define UNDER(p, r) path_is_under(p, strlen(p), r, strlen(r))

DEFINE_TEST(test_path_is_under)
{
	assert_true(UNDER("/etc/x", "/etc"));
	assert_true(UNDER("/etc", "/etc"));
	assert_true(UNDER("/etc/a/b/c", "/etc/a"));
	assert_true(!UNDER("/etcx", "/etc"));
	assert_true(!UNDER("/et", "/etc"));
	assert_true(!UNDER("/usr/etc", "/etc"));
	assert_true(UNDER("/", "/"));
	assert_true(UNDER("/etc", "/"));
	assert_true(UNDER("/a/b", "/"));
	assert_true(!UNDER("/", "/etc"));
}

DEFINE_TEST(test_time_cpus)
{
	int64_t t = now_ns();

	assert_true(t > (int64_t)1600000000 * 1000000000);
	assert_true(now_ns() >= t);
	assert_true(ncpus() >= 1);
}

static void say_all(void)
{
	assert_int(error("bad %s", "thing"), -1);
	assert_int(warning("odd %d", 7), -1);
	note("fyi %s", "x");
}

static void say_long(void)
{
	char big[3000];

	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	error("long %s end", big);
}

DEFINE_TEST(test_messages)
{
	int v = verbosity;
	const char *s;

	assert_int(verbosity, 1);
	s = capture_stderr(say_all);
	assert_str(s, "fimscan: error: bad thing\nfimscan: warning: odd 7\n");
	verbosity = 0;
	s = capture_stderr(say_all);
	assert_str(s, "fimscan: error: bad thing\n");
	verbosity = 2;
	s = capture_stderr(say_all);
	assert_str(s, "fimscan: error: bad thing\nfimscan: warning: odd 7\n"
		      "fimscan: fyi x\n");
	s = capture_stderr(say_long);
	assert_int(strlen(s), strlen("fimscan: error: long  end\n") + 2999);
	assert_true(!strcmp(s + strlen(s) - 5, " end\n"));
	verbosity = v;
}
