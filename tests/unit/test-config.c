/* test-config.c: the fimscan.conf parser, filters, groups, rules, roots. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/base.h"
#include "scanner/config.h"
#include "store/store.h"
#include "test.h"

/* ---- helpers ---------------------------------------------------------- */

static int saved_stderr = -1;

/* Send fd 2 to ./stderr.txt until capture_end(). */
static void capture_start(void)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(2);
	fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (saved_stderr < 0 || fd < 0 || dup2(fd, 2) < 0)
		abort();
	close(fd);
}

/* Restore fd 2 and return what was written to it (caller frees). */
static char *capture_end(void)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[4096];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fd = open("stderr.txt", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		abort();
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		strbuf_add(&sb, buf, n);
	close(fd);
	return strbuf_detach(&sb, NULL);
}

/* Parse `text` as "t.conf"; *err gets stderr (caller frees). */
static int parse(struct fim_config *c, const char *text, int warn, char **err)
{
	int ret;

	capture_start();
	ret = config_parse(c, "t.conf", text, warn);
	*err = capture_end();
	return ret;
}

#define assert_contains(hay, needle)                                          \
	do { const char *h_ = (hay), *n_ = (needle);                          \
	     if (!h_ || !strstr(h_, n_))                                      \
		test_fail(__FILE__, __LINE__, "expected \"%s\" in:\n%s", n_, \
			  h_ ? h_ : "(null)");                                \
	} while (0)
#define assert_lacks(hay, needle)                                             \
	do { const char *h_ = (hay), *n_ = (needle);                          \
	     if (!h_ || strstr(h_, n_))                                       \
		test_fail(__FILE__, __LINE__, "unexpected \"%s\" in:\n%s", n_, \
			  h_ ? h_ : "(null)");                                \
	} while (0)

/* Parse `text`, expect EXIT_CONFIG and `msg` in the messages. */
static void expect_error(const char *text, const char *msg, int line)
{
	struct fim_config c;
	char *err, want[512];
	int ret;

	config_init(&c);
	ret = parse(&c, text, 0, &err);
	if (ret != EXIT_CONFIG)
		test_fail(__FILE__, line, "no error for \"%s\"", text);
	if (!strstr(err, msg))
		test_fail(__FILE__, line, "expected \"%s\" for \"%s\", got:\n%s",
			  msg, text, err);
	snprintf(want, sizeof(want), "fimscan: error: t.conf:");
	if (strncmp(err, want, strlen(want)))
		test_fail(__FILE__, line, "not \"PATH:LINE: \" style:\n%s", err);
	free(err);
	config_release(&c);
}
#define assert_error(text, msg) expect_error(text, msg, __LINE__)

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static int excluded(const struct fim_config *c, const char *path)
{
	return config_excluded(c, path, strlen(path));
}

static uint32_t attrs_for(const struct fim_config *c, const char *path)
{
	return config_attrs_for(c, path, strlen(path));
}

/* realpath of the test's directory, for expected roots */
static char *here(const char *rest)
{
	char *cwd = realpath(".", NULL), *out;

	out = malloc(strlen(cwd) + strlen(rest) + 2);
	sprintf(out, "%s%s%s", cwd, *rest ? "/" : "", rest);
	free(cwd);
	return out;
}

/* ---- defaults and settings -------------------------------------------- */

DEFINE_TEST(test_config_defaults)
{
	struct fim_config c;
	char *h;

	config_init(&c);
	assert_str(c.text, "");
	assert_true(c.path == NULL && c.store == NULL);
	assert_int(c.nhashes, 1);
	assert_int(c.hash_ids[0], HASH_SHA256);
	assert_int(c.threads, 0);
	assert_int(c.rehash, REHASH_ALL);
	assert_int(c.one_filesystem, 1);
	assert_int(c.busy_ms, 5000);
	assert_int(c.retries, 3);
	assert_int(c.nroots, 0);
	assert_int(c.ngroups, 5);       /* all perms log presence append */
	assert_str(c.groups[c.default_group].name, "all");
	assert_int(c.content_max_file, 1 << 20);
	assert_int(c.content_max_total, 256ll << 20);
	assert_int(c.watch_ship, 1);
	h = config_hashes_str(&c);
	assert_str(h, "sha256");
	free(h);
	config_release(&c);
}

DEFINE_TEST(test_config_empty_text_is_valid)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "", 1, &err), 0);
	assert_str(err, "");
	assert_str(c.text, "");
	free(err);
	assert_int(parse(&c, "\n  \n\t# only a comment\n", 1, &err), 0);
	assert_str(err, "");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_settings)
{
	struct fim_config c;
	char *err, *h;
	const char *text =
		"store = /var/lib/fimscan/x.db\n"
		"hashes = sha256, sha512 blake2b512,sha3-256\n"
		"threads=8\n"
		"rehash =changed\n"
		"one-filesystem= no\n"
		"busy-timeout = 250\n"
		"retries = 7\n"
		"watch-ship = no\n"
		"es-insecure-http = yes\n";

	config_init(&c);
	assert_int(parse(&c, text, 0, &err), 0);
	assert_str(err, "");
	assert_str(c.store, "/var/lib/fimscan/x.db");
	assert_int(c.nhashes, 4);
	h = config_hashes_str(&c);
	assert_str(h, "sha256,sha512,blake2b512,sha3-256");
	assert_int(c.threads, 8);
	assert_int(c.rehash, REHASH_CHANGED);
	assert_int(c.one_filesystem, 0);
	assert_int(c.busy_ms, 250);
	assert_int(c.retries, 7);
	assert_int(c.watch_ship, 0);
	assert_int(c.es_insecure_http, 1);
	/* the text is kept byte for byte */
	assert_str(c.text, text);
	free(h);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_later_setting_replaces)
{
	struct fim_config c;
	char *err, *h;

	config_init(&c);
	assert_int(parse(&c, "hashes = sha512\nthreads = 2\n"
			 "hashes = md5 sha1\nthreads = 0\n", 0, &err), 0);
	h = config_hashes_str(&c);
	assert_str(h, "md5,sha1");
	assert_int(c.threads, 0);
	free(h);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_comments_and_hash_signs)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"# full line\n"
		"   # indented\n"
		"threads = 3 # trailing comment\n"
		"exclude /srv/a#b\n"
		"exclude \"/srv/c #d\"   # and a comment\n"
		"root /etc#x\n", 0, &err), 0);
	assert_str(err, "");
	assert_int(c.threads, 3);
	assert_int(c.nfilters, 2);
	assert_str(c.filters[0].glob.pat, "/srv/a#b");
	assert_str(c.filters[1].glob.pat, "/srv/c #d");
	assert_str(c.roots[0], "/etc#x");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_crlf_lines)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "threads = 4\r\nroot /etc\r\n", 0, &err), 0);
	assert_int(c.threads, 4);
	assert_str(c.roots[0], "/etc");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_parse_twice_appends_text)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "root /etc", 0, &err), 0);
	free(err);
	assert_int(parse(&c, "root /usr\n", 0, &err), 0);
	assert_str(c.text, "root /etc\nroot /usr\n");
	assert_int(c.nroots, 2);
	free(err);
	config_release(&c);
}

/* ---- quoting ---------------------------------------------------------- */

DEFINE_TEST(test_config_quoting_hex_bytes)
{
	struct fim_config c;
	char *err;
	/* after unquoting: / s r v / FF 01 ' ' a " b \ c LF TAB */
	static const char want[] = "/srv/\xff\x01 a\"b\\c\n\t";

	config_init(&c);
	assert_int(parse(&c, "exclude \"/srv/\\xff\\x01 a\\\"b\\\\c\\n\\t\"\n"
			 "root \"/srv/\\xC3\\xA9t\\xe9\"\n", 0, &err), 0);
	assert_str(err, "");
	assert_int(c.nfilters, 1);
	assert_mem(c.filters[0].glob.pat, c.filters[0].glob.len, want,
		   sizeof(want) - 1);
	/* the backslash left after unquoting is a glob escape for 'c' */
	assert_int(excluded(&c, "/srv/\xff\x01 a\"bc\n\t"), 1);
	assert_int(excluded(&c, "/srv/\xff\x01 a\"b\\c\n\t"), 0);
	/* raw bytes, valid UTF-8 or not, reach the root as they are */
	assert_mem(c.roots[0], c.rootlens[0], "/srv/\xc3\xa9t\xe9", 9);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_quoted_glob_escape)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "exclude \"/a b/\\\\*\"\nexclude /x\\?\n", 0,
			 &err), 0);
	assert_int(excluded(&c, "/a b/*"), 1);
	assert_int(excluded(&c, "/a b/c"), 0);
	assert_int(excluded(&c, "/x?"), 1);
	assert_int(excluded(&c, "/xy"), 0);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_quote_errors)
{
	assert_error("exclude \"/tmp/x\n", "t.conf:1: unterminated quote");
	assert_error("\n\nroot \"/a\\", "t.conf:3: unterminated quote");
	assert_error("exclude \"/a\\q\"", "invalid escape '\\q' in quotes");
	assert_error("exclude \"/a\\xg1\"", "invalid escape '\\xg1' in quotes");
	assert_error("exclude \"/a\\x00\"", "NUL byte");
	assert_error("exclude \"/a\"b", "unexpected 'b' after closing quote");
	assert_error("exclude /a\"b\"", "unexpected '\"' inside '/a\"b\"'");
}

/* ---- errors ----------------------------------------------------------- */

DEFINE_TEST(test_config_error_unknown_setting_suggests)
{
	assert_error("threads = 1\n\nhashs = sha256\n",
		     "t.conf:3: unknown setting 'hashs' (did you mean 'hashes'?)");
	assert_error("color = yes", "unknown setting 'color'");
	assert_error("one-filesytem = no",
		     "(did you mean 'one-filesystem'?)");
}

DEFINE_TEST(test_config_error_unknown_directive_suggests)
{
	assert_error("exlude /tmp", "t.conf:1: unknown directive 'exlude' (did you mean 'exclude'?)");
	assert_error("Root /etc", "(did you mean 'root'?)");
	assert_error("threads 4", "missing '=' after 'threads'");
	assert_error("/etc", "expected 'key = value' or a directive");
	assert_error("root = /etc", "'root' is a directive, not a setting");
}

DEFINE_TEST(test_config_error_unknown_hash)
{
	assert_error("# x\nhashes = sha265",
		     "t.conf:2: unknown hash algorithm 'sha265' (did you mean 'sha256'?)");
	assert_error("hashes = sha256 sha256", "hash algorithm 'sha256' listed twice");
	assert_error("hashes = ,", "hashes needs at least one algorithm");
	assert_error("hashes =", "missing value for 'hashes'");
}

DEFINE_TEST(test_config_error_relative_exclude)
{
	assert_error("exclude tmp/*",
		     "t.conf:1: exclude pattern must be absolute (start with '/'): 'tmp/*'");
	assert_error("include x", "include pattern must be absolute (start with '/'): 'x'");
	assert_error("rule *.log log", "rule pattern must be absolute (start with '/'): '*.log'");
}

DEFINE_TEST(test_config_error_pattern_syntax)
{
	assert_error("exclude /a[bc", "unterminated '[' in exclude pattern '/a[bc'");
	assert_error("exclude /a[b/c]", "'/' cannot be inside [...]");
	assert_error("exclude /a\\", "exclude pattern ends with a lone backslash");
	assert_error("exclude /etc/../tmp", "must not contain '.' or '..' components");
	assert_error("rule /etc/./x all", "must not contain '.' or '..' components");
	assert_error("exclude", "exclude needs a pattern");
	assert_error("exclude /a /b", "too many arguments for 'exclude': '/b'");
}

DEFINE_TEST(test_config_error_unknown_group)
{
	assert_error("root /var\nrule /var/log/** lgo",
		     "t.conf:2: unknown group 'lgo' (did you mean 'log'?)");
	assert_error("rule /var/log/**", "rule needs a pattern and a group");
	assert_error("group a = lgo", "unknown attribute or group 'lgo' (did you mean 'log'?)");
	assert_error("group a = all -szie", "unknown attribute or group 'szie' (did you mean 'size'?)");
}

DEFINE_TEST(test_config_error_value_ranges)
{
	assert_error("threads = 257", "t.conf:1: threads must be 0..256");
	assert_error("threads = -1", "threads must be 0..256");
	assert_error("threads = 4x", "threads must be 0..256");
	assert_error("threads = 99999999999", "threads must be 0..256");
	assert_error("threads = 1 2", "too many values for 'threads'");
	assert_error("threads =", "missing value for 'threads'");
	assert_error("rehash = some", "rehash must be 'all' or 'changed'");
	assert_error("one-filesystem = true", "one-filesystem must be 'yes' or 'no'");
	assert_error("watch-ship = off", "watch-ship must be 'yes' or 'no', not 'off'");
	assert_error("es-insecure-http = 1", "es-insecure-http must be 'yes' or 'no'");
	assert_error("busy-timeout = 3600001", "busy-timeout must be 0..3600000");
	assert_error("retries = 0", "retries must be 1..100");
	assert_error("retries = 101", "retries must be 1..100");
	assert_error("store = fimscan.db", "store must be an absolute path: 'fimscan.db'");
	assert_error("root etc", "root must be an absolute path: 'etc'");
	assert_error("root", "root needs a path");
}

DEFINE_TEST(test_config_error_groups)
{
	assert_error("group log = all", "cannot redefine built-in group 'log'");
	assert_error("group all = type", "cannot redefine built-in group 'all'");
	assert_error("group mode = type", "group name 'mode' is already an attribute name");
	assert_error("group sha512 = type", "group name 'sha512' is already an attribute name");
	assert_error("group a/b = type", "invalid group name 'a/b'");
	assert_error("group = type", "group needs a name");
	assert_error("group a type", "missing '=' after 'group a'");
	assert_error("group a =", "group 'a' needs attributes");
	assert_error("group a = all -", "'-' needs an attribute or group name");
	assert_error("# one\ngroup a = all -sha512",
		     "t.conf:2: hash algorithm 'sha512' is not configured (hashes = sha256)");
}

DEFINE_TEST(test_config_all_errors_reported)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"threads = 999\n"
		"root /etc\n"
		"exclude tmp\n"
		"hashs = sha256\n"
		"rule /etc/** nosuch\n"
		"retries = 1\n", 0, &err), EXIT_CONFIG);
	assert_contains(err, "t.conf:1: threads must be 0..256");
	assert_contains(err, "t.conf:3: exclude pattern must be absolute");
	assert_contains(err, "t.conf:4: unknown setting 'hashs'");
	assert_contains(err, "t.conf:5: unknown group 'nosuch'");
	assert_int(count(err, "error:"), 4);
	/* the lines without errors were applied all the same */
	assert_int(c.retries, 1);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_error_without_path_is_builtin)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	capture_start();
	assert_int(config_parse(&c, NULL, "\nthreads = x", 0), EXIT_CONFIG);
	err = capture_end();
	assert_contains(err, "fimscan: error: (built-in):2: threads must be 0..256");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_error_words_are_escaped)
{
	/* a name with a newline and an escape cannot forge a second line */
	assert_error("exclude \"x\\n\\x1b[2Jfimscan: ok\"",
		     "'x\\x0a\\x1b[2Jfimscan: ok'");
}

/* ---- filters ---------------------------------------------------------- */

DEFINE_TEST(test_config_no_filters_includes_everything)
{
	struct fim_config c;

	config_init(&c);
	assert_int(excluded(&c, "/"), 0);
	assert_int(excluded(&c, "/etc/passwd"), 0);
	config_release(&c);
}

DEFINE_TEST(test_config_filters_last_match_wins)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"exclude /var/log/*\n"
		"include /var/log/keep*\n"
		"exclude /var/log/keep.old\n", 0, &err), 0);
	assert_int(excluded(&c, "/var/log/syslog"), 1);
	assert_int(excluded(&c, "/var/log/keep"), 0);
	assert_int(excluded(&c, "/var/log/keep.new"), 0);
	assert_int(excluded(&c, "/var/log/keep.old"), 1);
	assert_int(excluded(&c, "/var/log"), 0);
	assert_int(excluded(&c, "/var/lib/x"), 0);
	free(err);
	config_release(&c);

	/* the same lines in another order decide otherwise */
	config_init(&c);
	assert_int(parse(&c,
		"exclude /var/log/keep.old\n"
		"include /var/log/keep*\n"
		"exclude /var/log/*\n", 0, &err), 0);
	assert_int(excluded(&c, "/var/log/keep.new"), 1);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_include_reincludes)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"exclude /srv/cache/**\n"
		"include /srv/cache/keep\n"
		"include /srv/cache/keep/**\n", 0, &err), 0);
	assert_int(excluded(&c, "/srv/cache"), 0);
	assert_int(excluded(&c, "/srv/cache/tmp"), 1);
	assert_int(excluded(&c, "/srv/cache/tmp/x"), 1);
	assert_int(excluded(&c, "/srv/cache/keep"), 0);
	assert_int(excluded(&c, "/srv/cache/keep/a/b"), 0);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_pattern_tidy)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"exclude /var//cache/\n"
		"exclude /a\\/b\n"
		"exclude /\n"
		"exclude /opt/x\\*y*\n", 0, &err), 0);
	assert_str(c.filters[0].glob.pat, "/var/cache");
	assert_int(c.filters[0].glob.len, 10);
	assert_str(c.filters[1].glob.pat, "/a/b");
	assert_str(c.filters[2].glob.pat, "/");
	/* the literal prefix stops at the first wildcard or escape */
	assert_int(c.filters[0].glob.prefix_len, 10);
	assert_int(c.filters[3].glob.prefix_len, 6);
	assert_int(c.filters[3].glob.line, 4);
	assert_int(excluded(&c, "/var/cache"), 1);
	assert_int(excluded(&c, "/opt/x*yz"), 1);
	assert_int(excluded(&c, "/opt/xayz"), 0);
	free(err);
	config_release(&c);
}

/* ---- groups and rules ------------------------------------------------- */

DEFINE_TEST(test_config_attr_names)
{
	assert_int(attr_by_name("type"), ATTR_TYPE);
	assert_int(attr_by_name("hash"), ATTR_HASH);
	assert_int(attr_by_name("state"), ATTR_STATE);
	assert_int(attr_by_name("sha256"), 0);
	assert_int(attr_by_name("all"), 0);
	for (uint32_t bit = 1; bit & ATTR_ALL; bit <<= 1)
		assert_int(attr_by_name(attr_name(bit)), bit);
	assert_true(attr_name(ATTR_MODE | ATTR_UID) == NULL);
}

DEFINE_TEST(test_config_builtin_groups)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"rule /p perms\nrule /l log\nrule /s presence\nrule /a all\n",
		0, &err), 0);
	assert_int(attrs_for(&c, "/a"), ATTR_ALL);
	assert_int(attrs_for(&c, "/p"), ATTR_TYPE | ATTR_MODE | ATTR_UID |
		   ATTR_GID | ATTR_XATTRS | ATTR_FLAGS | ATTR_STATE);
	assert_int(attrs_for(&c, "/l"), ATTR_ALL & ~(ATTR_SIZE | ATTR_MTIME |
		   ATTR_CTIME | ATTR_HASH | ATTR_STATE));
	assert_int(attrs_for(&c, "/s"), ATTR_TYPE);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_group_plus_minus)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"group mylog = all -size -mtime -ctime -hash\n"
		"group own = uid gid\n"
		"group mix = perms -mode +size +own -gid\n"
		"group re = -size +size -size\n"
		"rule /a mylog\nrule /b own\nrule /c mix\nrule /d re\n",
		0, &err), 0);
	assert_str(err, "");
	assert_int(attrs_for(&c, "/a"), ATTR_ALL & ~(ATTR_SIZE | ATTR_MTIME |
		   ATTR_CTIME | ATTR_HASH));
	assert_int(attrs_for(&c, "/b"), ATTR_UID | ATTR_GID);
	assert_int(attrs_for(&c, "/c"), ATTR_TYPE | ATTR_UID | ATTR_XATTRS |
		   ATTR_FLAGS | ATTR_STATE | ATTR_SIZE);
	assert_int(attrs_for(&c, "/d"), 0);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_group_hash_names)
{
	struct fim_config c;
	char *err;

	/* a configured hash name stands for "hash"; hashes may come later */
	config_init(&c);
	assert_int(parse(&c,
		"group content = type +sha512\n"
		"group nocontent = all -sha256\n"
		"rule /x content\nrule /y nocontent\n"
		"hashes = sha256 sha512\n", 0, &err), 0);
	assert_str(err, "");
	assert_int(attrs_for(&c, "/x"), ATTR_TYPE | ATTR_HASH);
	assert_int(attrs_for(&c, "/y"), ATTR_ALL & ~ATTR_HASH);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_group_redefined_affects_later_lines)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"group g = size\n"
		"rule /x g\n"
		"group g = mode\n"
		"rule /y g\n", 0, &err), 0);
	assert_int(attrs_for(&c, "/x"), ATTR_SIZE);
	assert_int(attrs_for(&c, "/y"), ATTR_MODE);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_rules_last_match_wins)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"rule /etc/** perms\n"
		"rule /etc/log/** log\n"
		"rule /etc/log/keep all\n", 0, &err), 0);
	assert_int(attrs_for(&c, "/etc/passwd"), c.groups[1].attrs);
	assert_int(attrs_for(&c, "/etc/log/x"), c.groups[2].attrs);
	assert_int(attrs_for(&c, "/etc/log/keep"), ATTR_ALL);
	/* no rule: the default group, all */
	assert_int(attrs_for(&c, "/usr/bin/ls"), ATTR_ALL);
	assert_int(attrs_for(&c, "/etc"), ATTR_ALL);
	free(err);
	config_release(&c);
}

/* ---- roots ------------------------------------------------------------ */

DEFINE_TEST(test_config_roots_lexical_only)
{
	struct fim_config c;
	char *err, *link;

	/* a config root is not resolved: the link stays a link */
	if (mkdir("real", 0755) || symlink("real", "link"))
		test_fail(__FILE__, __LINE__, "setup: %s", strerror(errno));
	link = here("link/./sub/");
	config_init(&c);
	{
		char text[PATH_MAX + 64];

		snprintf(text, sizeof(text),
			 "root /etc//ssh/./../x/\nroot /\nroot /..\nroot %s\n",
			 link);
		assert_int(parse(&c, text, 0, &err), 0);
	}
	assert_int(c.nroots, 3);
	assert_str(c.roots[0], "/etc/x");
	assert_int(c.rootlens[0], 6);
	assert_str(c.roots[1], "/");
	free(link);
	link = here("link/sub");
	assert_str(c.roots[2], link);
	free(link);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_normalize_root_symlinked_parent)
{
	char *got, *want;
	size_t len = 0;

	if (mkdir("real", 0755) || symlink("real", "link"))
		test_fail(__FILE__, __LINE__, "setup: %s", strerror(errno));
	/* symlinks in the parents are resolved */
	got = config_normalize_root("link/x", &len);
	want = here("real/x");
	assert_str(got, want);
	assert_int(len, strlen(want));
	free(got);
	free(want);
	/* the last component is not */
	got = config_normalize_root("link", &len);
	want = here("link");
	assert_str(got, want);
	free(got);
	free(want);
}

DEFINE_TEST(test_config_normalize_root_dotdot_and_slashes)
{
	char *got, *want;
	size_t len;

	if (mkdir("a", 0755) || mkdir("a/b", 0755))
		test_fail(__FILE__, __LINE__, "setup: %s", strerror(errno));
	got = config_normalize_root("a/b/../c/", &len);
	want = here("a/c");
	assert_str(got, want);
	free(got);
	free(want);
	got = config_normalize_root("./a//b/.", &len);
	want = here("a/b");
	assert_str(got, want);
	free(got);
	free(want);
	got = config_normalize_root(".", &len);
	want = here("");
	assert_str(got, want);
	free(got);
	free(want);
	got = config_normalize_root("/", &len);
	assert_str(got, "/");
	assert_int(len, 1);
	free(got);
	got = config_normalize_root("///..//", &len);
	assert_str(got, "/");
	free(got);
	got = config_normalize_root("/tmp/", &len);
	want = realpath("/tmp", NULL);
	assert_str(got, want);
	free(got);
	free(want);
}

DEFINE_TEST(test_config_normalize_root_missing_parent)
{
	char *got, *err;
	size_t len;

	capture_start();
	got = config_normalize_root("nope/x", &len);
	err = capture_end();
	assert_true(got == NULL);
	assert_contains(err, "fimscan: error: cannot resolve nope/x: No such file or directory");
	free(err);
	/* a missing last component is fine: the scanner reports it */
	got = config_normalize_root("missing", &len);
	assert_true(got != NULL);
	free(got);
}

/* ---- check-config warnings ------------------------------------------- */

DEFINE_TEST(test_config_warn_unanchored_exclude)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "root /etc\nexclude /**/*.log\n", 1, &err), 0);
	assert_contains(err, "fimscan: warning: t.conf:2: exclude '/**/*.log' matches files anywhere under root /etc: an intruder can hide there by naming a file to match; anchor it below the directory you mean, e.g. /etc/DIR/**/*.log");
	free(err);
	config_release(&c);

	/* only check-config warns */
	config_init(&c);
	assert_int(parse(&c, "root /etc\nexclude /**/*.log\n", 0, &err), 0);
	assert_str(err, "");
	free(err);
	config_release(&c);

	/* "**" right below the root reaches everywhere too */
	config_init(&c);
	assert_int(parse(&c, "root /etc\nexclude /etc/**/*.bak\n", 1, &err), 0);
	assert_contains(err, "t.conf:2: exclude '/etc/**/*.bak' matches files anywhere under root /etc");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_warn_wildcard_above_root)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "root /etc\nexclude /*/cache\nexclude /v*/x\n",
			 1, &err), 0);
	assert_contains(err, "t.conf:2: exclude '/*/cache' matches inside root /etc through a wildcard above it");
	/* "v*" cannot be "etc": harmless for /etc, and useless */
	assert_lacks(err, "'/v*/x' matches inside");
	assert_contains(err, "t.conf:3: exclude '/v*/x' cannot match anything under the roots");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_no_warning_for_anchored_excludes)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"root /\nroot /srv\n"
		"exclude /var/log/**\n"
		"exclude /etc/*.bak\n"
		"exclude /srv/www/cache/*\n"
		"rule /var/log/** log\n", 1, &err), 0);
	assert_lacks(err, "exclude");
	assert_lacks(err, "rule");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_warn_unreachable_patterns)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"root /etc\nroot /usr\n"
		"exclude /tmp/*\n"
		"include /var/x\n"
		"rule /home/** log\n"
		"exclude /etc/x\n"
		"rule /usr/** perms\n", 1, &err), 0);
	assert_contains(err, "t.conf:3: exclude '/tmp/*' cannot match anything under the roots: it has no effect");
	assert_contains(err, "t.conf:4: include '/var/x' cannot match anything");
	assert_contains(err, "t.conf:5: rule '/home/**' cannot match anything");
	assert_lacks(err, "'/etc/x'");
	assert_lacks(err, "'/usr/**'");
	free(err);
	config_release(&c);

	/* without roots there is nothing to check against */
	config_init(&c);
	assert_int(parse(&c, "exclude /tmp/*\n", 1, &err), 0);
	assert_str(err, "");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_warn_roots)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"root /etc\n"
		"root /etc/ssh\n"
		"root /etc/\n"
		"root /var/log/nginx\n"
		"exclude /var/log/**\n", 1, &err), 0);
	assert_contains(err, "t.conf:3: root /etc listed twice");
	assert_contains(err, "t.conf:2: root /etc/ssh is inside root /etc: redundant");
	assert_contains(err, "t.conf:4: root /var/log/nginx is itself excluded by line 5");
	assert_int(c.nroots, 3);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_warn_include_under_excluded_dir)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c,
		"root /var\n"
		"exclude /var/log/**\n"
		"include /var/log/app/important\n"
		"exclude /var/cache/*\n"
		"include /var/cache/keep\n", 1, &err), 0);
	assert_contains(err, "t.conf:3: include '/var/log/app/important' has no effect: /var/log/app is excluded by line 2");
	assert_lacks(err, "/var/cache/keep");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_warn_weak_hashes)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	assert_int(parse(&c, "hashes = md5\n", 1, &err), 0);
	assert_contains(err, "t.conf:1: md5 and sha1 are not collision-resistant");
	free(err);
	config_release(&c);
	config_init(&c);
	assert_int(parse(&c, "hashes = md5 sha256\n", 1, &err), 0);
	assert_str(err, "");
	free(err);
	config_release(&c);
}

/* ---- config_load ------------------------------------------------------ */

DEFINE_TEST(test_config_load_file)
{
	struct fim_config c;
	const char *text = "root /etc\nthreads = nine\n";
	char *err;

	test_write_file("f.conf", text, strlen(text));
	chmod("f.conf", 0600);
	config_init(&c);
	capture_start();
	assert_int(config_load(&c, "f.conf", 1), EXIT_CONFIG);
	err = capture_end();
	assert_contains(err, "fimscan: error: f.conf:2: threads must be 0..256");
	assert_lacks(err, "warning");
	assert_str(c.path, "f.conf");
	assert_str(c.text, text);
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_load_unreadable_or_binary)
{
	struct fim_config c;
	char *err;

	config_init(&c);
	capture_start();
	assert_int(config_load(&c, "absent.conf", 0), EXIT_CONFIG);
	err = capture_end();
	assert_contains(err, "cannot read absent.conf: No such file or directory");
	free(err);

	test_write_file("bin.conf", "root /etc\0\1\2", 12);
	capture_start();
	assert_int(config_load(&c, "bin.conf", 0), EXIT_CONFIG);
	err = capture_end();
	assert_contains(err, "bin.conf: contains a NUL byte");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_load_warns_writable_file)
{
	struct fim_config c;
	char *err;

	test_write_file("w.conf", "threads = 1\n", 12);
	chmod("w.conf", 0666);
	config_init(&c);
	capture_start();
	assert_int(config_load(&c, "w.conf", 1), 0);
	err = capture_end();
	assert_contains(err, "warning: w.conf: writable by group or others (mode 0666)");
	free(err);
	config_release(&c);
}

DEFINE_TEST(test_config_content_rules)
{
	struct fim_config c;

	config_init(&c);
	assert_int(config_parse(&c, "t.conf",
				"content-max-file = 2M\n"
				"content-max-total = 0\n"
				"rule /etc/** all content\n"
				"rule /etc/private/** all no-content\n"
				"rule /var/log/app.log append\n", 0), 0);
	assert_int(c.content_max_file, 2 << 20);
	assert_int(c.content_max_total, 0);
	assert_int(config_content_for(&c, "/etc/hosts", 10), CONTENT_KEEP);
	assert_int(config_content_for(&c, "/etc/private/x", 14), CONTENT_NEVER);
	assert_int(config_content_for(&c, "/usr/bin/ls", 11), 0);
	/* secrets: no rule can keep them */
	assert_int(config_content_for(&c, "/etc/shadow", 11), CONTENT_NEVER);
	assert_int(config_content_for(&c, "/etc/ssh/ssh_host_ed25519_key", 29),
		   CONTENT_NEVER);
	assert_int(config_content_for(&c, "/etc/ssl/x.pem", 14), CONTENT_NEVER);
	assert_true(config_attrs_for(&c, "/var/log/app.log", 16) & ATTR_GROWING);
	assert_true(!(config_attrs_for(&c, "/etc/hosts", 10) & ATTR_GROWING));
	config_release(&c);
}

DEFINE_TEST(test_config_content_errors)
{
	struct fim_config c;

	config_init(&c);
	assert_int(config_parse(&c, "t.conf", "rule /x all keep\n", 0),
		   EXIT_CONFIG);
	config_release(&c);
	config_init(&c);
	assert_int(config_parse(&c, "t.conf", "content-max-file = 12Q\n", 0),
		   EXIT_CONFIG);
	config_release(&c);
	config_init(&c);
	assert_int(config_parse(&c, "t.conf",
				"hashes = sha256 sha512 sha1 md5 sha384\n", 0),
		   EXIT_CONFIG);
	config_release(&c);
}
