/* test-glob.c: glob_match(), the anchored globs of excludes and rules. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scanner/config.h"
#include "test.h"

static int m(const char *pat, const char *path)
{
	return glob_match(pat, strlen(pat), path, strlen(path));
}

#define assert_match(p, s) \
	do { if (!m(p, s)) test_fail(__FILE__, __LINE__, "'%s' should match '%s'", p, s); } while (0)
#define assert_nomatch(p, s) \
	do { if (m(p, s)) test_fail(__FILE__, __LINE__, "'%s' should not match '%s'", p, s); } while (0)

DEFINE_TEST(test_glob_literal)
{
	assert_match("/etc/passwd", "/etc/passwd");
	assert_nomatch("/etc/passwd", "/etc/passwd-");
	assert_nomatch("/etc/passwd", "/etc/passw");
	assert_nomatch("/etc/passwd", "/etc");
	assert_match("/", "/");
	assert_nomatch("/", "/etc");
	assert_match("", "");
	assert_nomatch("/etc", "");
}

DEFINE_TEST(test_glob_star_stays_in_component)
{
	assert_match("/etc/*.conf", "/etc/a.conf");
	assert_match("/etc/*.conf", "/etc/.conf");
	assert_match("/etc/*", "/etc/x");
	assert_nomatch("/etc/*.conf", "/etc/x/a.conf");
	assert_nomatch("/etc/*.conf", "/etc/a.confx");
	assert_nomatch("/etc/*", "/etc/x/y");
	assert_match("/*/*/c", "/a/b/c");
	assert_nomatch("/*/c", "/a/b/c");
	assert_match("/a*b*c", "/abxbc");
	assert_match("/a*/b", "/ab/b");
	assert_nomatch("/*a/b", "/xa/ya/b");
	/* several stars in a row are one star */
	assert_match("/x***y", "/xy");
	assert_nomatch("/x***y", "/x/y");
}

DEFINE_TEST(test_glob_question_mark)
{
	assert_match("/a?c", "/abc");
	assert_nomatch("/a?c", "/ac");
	assert_nomatch("/a?c", "/abbc");
	assert_nomatch("/a?c", "/a/c");
	assert_match("/???", "/abc");
}

DEFINE_TEST(test_glob_classes)
{
	assert_match("/f[abc]", "/fb");
	assert_nomatch("/f[abc]", "/fd");
	assert_match("/f[a-c]x", "/fbx");
	assert_nomatch("/f[a-c]x", "/fdx");
	assert_match("/f[0-9a-f]", "/f7");
	assert_match("/f[0-9a-f]", "/fe");
	assert_nomatch("/f[0-9a-f]", "/fg");
	/* ']' first is literal, '-' last is literal */
	assert_match("/f[]x]", "/f]");
	assert_match("/f[a-]", "/f-");
	/* escapes inside a class */
	assert_match("/f[\\]]", "/f]");
	assert_match("/f[\\-]", "/f-");
	assert_nomatch("/f[\\-]", "/fa");
	/* a reversed range is empty */
	assert_nomatch("/f[z-a]", "/fm");
}

DEFINE_TEST(test_glob_negated_classes)
{
	assert_match("/f[!a]", "/fb");
	assert_nomatch("/f[!a]", "/fa");
	assert_match("/f[^a-c]", "/fd");
	assert_nomatch("/f[^a-c]", "/fb");
	assert_match("/f[!]]", "/fx");
	assert_nomatch("/f[!]]", "/f]");
	/* a class, negated or not, never matches '/' */
	assert_nomatch("/a[!x]b", "/a/b");
	assert_nomatch("/a[!x]*", "/a/b");
}

DEFINE_TEST(test_glob_broken_class_is_literal)
{
	assert_match("/a[b", "/a[b");
	assert_nomatch("/a[b", "/ab");
	/* a '/' ends the would-be class: it is not one */
	assert_match("/a[/]", "/a[/]");
	assert_nomatch("/a[/]", "/a/");
}

DEFINE_TEST(test_glob_dstar_at_start)
{
	assert_match("/**/x", "/x");
	assert_match("/**/x", "/a/x");
	assert_match("/**/x", "/a/b/c/x");
	assert_nomatch("/**/x", "/ax");
	assert_nomatch("/**/x", "/a/xb");
	assert_nomatch("/**/x", "/a/x/b");
	assert_match("/**/*.log", "/var/log/syslog.log");
	assert_match("/**/*.log", "/a.log");
	assert_nomatch("/**/*.log", "/var/log/syslog");
	/* "**" then a path relative pattern: any depth, even the first */
	assert_match("**/b", "/a/b");
	assert_match("**/a/b", "/a/b");
}

DEFINE_TEST(test_glob_dstar_in_middle)
{
	assert_match("/a/**/b", "/a/b");
	assert_match("/a/**/b", "/a/x/b");
	assert_match("/a/**/b", "/a/x/y/b");
	assert_nomatch("/a/**/b", "/ab");
	assert_nomatch("/a/**/b", "/a/xb");
	assert_nomatch("/a/**/b", "/a/x/bc");
	assert_nomatch("/a/**/b", "/b");
	assert_nomatch("/a/**/b", "/x/a/b");
	assert_match("/a/**/b/**/c", "/a/b/c");
	assert_match("/a/**/b/**/c", "/a/x/b/y/z/c");
	assert_nomatch("/a/**/b/**/c", "/a/c/b");
	assert_match("/a/**/x*/c", "/a/p/q/xy/c");
	/* needs the second '**' to skip a 'b' the first could also take */
	assert_match("/**/b/c", "/b/x/b/c");
}

DEFINE_TEST(test_glob_dstar_at_end)
{
	assert_match("/a/**", "/a/x");
	assert_match("/a/**", "/a/x/y/z");
	/* "/a/ **" is strictly below /a */
	assert_nomatch("/a/**", "/a");
	assert_nomatch("/a/**", "/ab");
	assert_nomatch("/a/**", "/ab/c");
	assert_match("/**", "/etc");
	assert_nomatch("/**", "/");
	assert_match("/a/**/**", "/a/x");
}

DEFINE_TEST(test_glob_dstar_not_a_component_is_star)
{
	assert_match("/a**", "/abc");
	assert_nomatch("/a**", "/a/b");
	assert_match("/**x", "/abx");
	assert_nomatch("/**x", "/a/x");
	assert_match("/a/**x/b", "/a/yx/b");
	assert_nomatch("/a/**x/b", "/a/y/x/b");
}

DEFINE_TEST(test_glob_escapes)
{
	assert_match("/a\\*b", "/a*b");
	assert_nomatch("/a\\*b", "/axb");
	assert_match("/a\\?", "/a?");
	assert_nomatch("/a\\?", "/ab");
	assert_match("/\\[x]", "/[x]");
	assert_nomatch("/\\[x]", "/x");
	assert_match("/a\\\\b", "/a\\b");
	/* "\ **" is not a '**' component */
	assert_match("/a/\\**", "/a/*x");
	assert_nomatch("/a/\\**", "/a/x");
	/* a lone trailing backslash is itself */
	assert_match("/a\\", "/a\\");
}

DEFINE_TEST(test_glob_raw_bytes)
{
	/* invalid UTF-8, controls, newlines: bytes like any other */
	assert_match("/\xff*", "/\xff\xfe");
	assert_match("/a?b", "/a\x80" "b");
	assert_match("/x[\x80-\xff]", "/x\xc3");
	assert_nomatch("/x[\x80-\xff]", "/xa");
	assert_match("/*", "/line\nbreak");
	/* '?' is one byte, not one character */
	assert_nomatch("/?", "/\xc3\xa9");
	assert_match("/??", "/\xc3\xa9");
	/* lengths, not NULs, delimit both */
	assert_int(glob_match("/a*", 3, "/ab\0c", 5), 1);
	assert_int(glob_match("/a*c", 4, "/ab\0c", 5), 1);
	assert_int(glob_match("/abXX", 3, "/ab", 3), 1);
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

DEFINE_TEST(test_glob_pathological_is_fast)
{
	char *deep, *flat;
	size_t n = 20000;
	double t0 = seconds();

	/* /x/x/.../x/b, 20000 components, against /(** /)*8 a */
	deep = malloc(2 * n + 3);
	for (size_t i = 0; i < n; i++)
		memcpy(deep + 2 * i, "/x", 2);
	memcpy(deep + 2 * n, "/b", 3);
	assert_int(m("/**/**/**/**/**/**/**/**/a", deep), 0);
	assert_int(m("/**/**/**/**/**/**/**/**/b", deep), 1);
	assert_int(m("/**/x/**/x/**/x/**/x/**/c", deep), 0);
	/* one long component against many stars */
	flat = malloc(n + 2);
	flat[0] = '/';
	memset(flat + 1, 'a', n);
	flat[n + 1] = '\0';
	assert_int(m("/*a*a*a*a*a*a*a*a*a*a*b", flat), 0);
	assert_int(m("/**/*a*a*a*a*a*a*a*a*a*a*b", flat), 0);
	assert_int(m("/*a*a*a*a*a*a*a*a*a*a", flat), 1);
	if (seconds() - t0 > 2.0)
		test_fail(__FILE__, __LINE__, "pathological globs took %.2fs",
			  seconds() - t0);
	free(deep);
	free(flat);
}
