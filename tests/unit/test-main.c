/* test-main.c: runs DEFINE_TEST cases, each in a fresh temporary directory. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static struct test_case *tests;
int test_failures;
const char *test_origin_dir;

void test_register(struct test_case *tc)
{
	struct test_case **p = &tests;
	while (*p)
		p = &(*p)->next;
	*p = tc;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	test_failures++;
}

void test_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd)) {
		test_fail(__FILE__, __LINE__, "cannot write %s: %s", path,
			  strerror(errno));
		abort();
	}
}

static int run(struct test_case *tc)
{
	char tmpl[] = "/tmp/fimscan-test-XXXXXX";
	char *dir = mkdtemp(tmpl);
	int before = test_failures;

	if (!dir || chdir(dir)) {
		perror("fimscan test: temporary directory");
		return 1;
	}
	tc->fn();
	if (chdir(test_origin_dir))
		perror("fimscan test: chdir back");
	if (test_failures == before) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' 2>/dev/null; rm -rf '%s'",
			 dir, dir);
		if (system(cmd))
			fprintf(stderr, "cannot remove %s\n", dir);
		printf("ok %s\n", tc->name);
		return 0;
	}
	printf("FAIL %s (left in %s)\n", tc->name, dir);
	return 1;
}

int main(int argc, char **argv)
{
	static char origin[4096];
	int failed = 0, ran = 0;

	if (!getcwd(origin, sizeof(origin)))
		return 2;
	test_origin_dir = origin;
	for (struct test_case *tc = tests; tc; tc = tc->next) {
		if (argc > 1) {
			int want = 0;
			for (int i = 1; i < argc; i++)
				want |= !strcmp(argv[i], tc->name);
			if (!want)
				continue;
		}
		ran++;
		failed += run(tc);
	}
	if (!ran) {
		fprintf(stderr, "no such test\n");
		return 2;
	}
	return failed ? 1 : 0;
}
