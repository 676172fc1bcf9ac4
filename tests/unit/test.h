/*
 * test.h: a tiny unit-test harness in libarchive's style.
 *
 *   DEFINE_TEST(test_name) { ... assert_*(...); }
 *
 * Each test is registered by tests/CMakeLists.txt as its own CTest entry
 * (it greps for DEFINE_TEST at the start of a line) and runs in a fresh
 * empty temporary directory, which is the current directory during the
 * test and removed afterwards when the test passed.
 * `test-foo` with no argument runs every test in the file.
 */
#ifndef FIMSCAN_TEST_H
#define FIMSCAN_TEST_H

#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
	struct test_case *next;
};
void test_register(struct test_case *tc);
extern int test_failures;
/* Directory the test started in (source-independent scratch lives in cwd). */
extern const char *test_origin_dir;

#define DEFINE_TEST(n)                                                        \
	static void n(void);                                                  \
	static struct test_case n##_case = { #n, n, NULL };                   \
	__attribute__((constructor)) static void n##_register(void)           \
	{ test_register(&n##_case); }                                         \
	static void n(void)

void test_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define assert_true(c)                                                        \
	do { if (!(c)) test_fail(__FILE__, __LINE__, "assertion failed: %s", #c); } while (0)
#define assert_int(a, b)                                                      \
	do { long long a_ = (long long)(a), b_ = (long long)(b);              \
	     if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
				     #a, a_, #b, b_); } while (0)
#define assert_str(a, b)                                                      \
	do { const char *a_ = (a), *b_ = (b);                                 \
	     if (!a_ || !b_ || strcmp(a_, b_))                                \
		test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", \
			  #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define assert_mem(a, alen, b, blen)                                          \
	do { size_t al_ = (alen), bl_ = (blen);                               \
	     if (al_ != bl_ || memcmp((a), (b), al_))                         \
		test_fail(__FILE__, __LINE__, "%s (%zu bytes) differs from %s (%zu bytes)", \
			  #a, al_, #b, bl_); } while (0)

/* Write a file with the given content (creating it), abort the test on error. */
void test_write_file(const char *path, const void *data, size_t len);

#endif
