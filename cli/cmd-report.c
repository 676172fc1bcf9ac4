/*
 * cmd-report.c: `report`: render a stored comparison as text, JSON, ECS
 * NDJSON or one HTML file, to stdout or atomically to a file.
 *
 * Unlike `diff`, `report` exits 0 whatever the comparison found: it makes
 * a document, it is not the check a cron job acts on (that is `scan` or
 * `diff`, whose exit status is the finding bitmask).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "differ/differ.h"

/* Elasticsearch's rule for the namespace part of a data stream name. */
#define NAMESPACE_MAX 100

struct report_args {
	int fmt;
	const char *out;          /* -o FILE, or NULL for stdout */
	const char *ns;           /* --namespace */
	const char *title;        /* --title */
};

/*
 * Lowercase letters, digits and '_', at most 100 bytes: '-' separates the
 * parts of a data stream name, and Elasticsearch refuses uppercase and
 * the punctuation of its index name rules.
 */
static int namespace_ok(const char *ns)
{
	size_t n = strlen(ns);

	if (!n || n > NAMESPACE_MAX)
		return 0;
	return strspn(ns, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static int report_opt(int opt, const char *arg, void *data)
{
	struct report_args *a = data;

	switch (opt) {
	case 'f':
		if ((a->fmt = report_format_by_name(arg)) < 0) {
			error("unknown format '%s': use text, json, ecs or html",
			      escaped(arg, strlen(arg)));
			return EXIT_USAGE;
		}
		return 0;
	case 'o':
		if (!*arg) {
			error("-o needs a file name");
			return EXIT_USAGE;
		}
		a->out = arg;
		return 0;
	case 'n':
		if (!namespace_ok(arg)) {
			error("invalid namespace '%s': use 1 to 100 lowercase "
			      "letters, digits and '_'",
			      escaped(arg, strlen(arg)));
			return EXIT_USAGE;
		}
		a->ns = arg;
		return 0;
	case 't':
		a->title = arg;
		return 0;
	default:
		return EXIT_USAGE;
	}
}

static const struct option report_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "title", required_argument, NULL, 't' },
	{ "output", required_argument, NULL, 'o' },
	{ NULL, 0, NULL, 0 }
};

/*
 * Writing to a file: a temporary file beside it, renamed over it only once
 * everything is written and on disk, so a reader (a web server, a
 * shipper) sees the old file or the new one, never a part; on failure the
 * temporary file is removed and the old file stays.
 */
struct atomic_out {
	char *path;               /* the file asked for */
	char *tmp;                /* the temporary file beside it */
	FILE *f;
};

static int atomic_open(struct atomic_out *ao, const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	struct strbuf sb = STRBUF_INIT;
	struct stat st;
	int fd;

	memset(ao, 0, sizeof(*ao));
	/* dir/.name.XXXXXX: same directory, so rename() is atomic. */
	strbuf_add(&sb, path, dirlen);
	strbuf_addch(&sb, '.');
	strbuf_addstr(&sb, path + dirlen);
	strbuf_addstr(&sb, ".XXXXXX");
	ao->tmp = strbuf_detach(&sb, NULL);
	if ((fd = mkostemp(ao->tmp, O_CLOEXEC)) < 0) {
		error("cannot write %s: %s", escaped(path, strlen(path)),
		      strerror(errno));
		free(ao->tmp);
		ao->tmp = NULL;
		return EXIT_OUTPUT;
	}
	/* A new file is 0600 (reports name files and carry their hashes,
	 * as the store does); a file replaced keeps its permissions. */
	if (!stat(path, &st) && S_ISREG(st.st_mode))
		(void)fchmod(fd, st.st_mode & 07777);
	if (!(ao->f = fdopen(fd, "w"))) {
		error("cannot write %s: %s", escaped(path, strlen(path)),
		      strerror(errno));
		close(fd);
		unlink(ao->tmp);
		free(ao->tmp);
		ao->tmp = NULL;
		return EXIT_OUTPUT;
	}
	ao->path = xstrdup(path);
	return 0;
}

static void atomic_release(struct atomic_out *ao)
{
	free(ao->path);
	free(ao->tmp);
	memset(ao, 0, sizeof(*ao));
}

/* Drop the temporary file (after a failed render). */
static void atomic_abort(struct atomic_out *ao)
{
	if (ao->f)
		fclose(ao->f);
	ao->f = NULL;
	if (ao->tmp)
		unlink(ao->tmp);
	atomic_release(ao);
}

static int atomic_commit(struct atomic_out *ao)
{
	const char *p = ao->path;
	int ret = 0, fd;

	if (fflush(ao->f) || ferror(ao->f) || fsync(fileno(ao->f))) {
		error("cannot write %s: %s", escaped(p, strlen(p)),
		      strerror(errno ? errno : EIO));
		ret = EXIT_OUTPUT;
	}
	if (fclose(ao->f) && !ret) {
		error("cannot write %s: %s", escaped(p, strlen(p)),
		      strerror(errno));
		ret = EXIT_OUTPUT;
	}
	ao->f = NULL;
	if (!ret && rename(ao->tmp, p)) {
		error("cannot rename %s to %s: %s",
		      escaped(ao->tmp, strlen(ao->tmp)), escaped(p, strlen(p)),
		      strerror(errno));
		ret = EXIT_OUTPUT;
	}
	if (ret) {
		unlink(ao->tmp);
		atomic_release(ao);
		return ret;
	}
	/* Make the rename itself durable. The file is complete either way,
	 * so a directory that cannot be synced is only a warning. */
	{
		const char *slash = strrchr(p, '/');
		char *dir = slash ? xmemdup(p, slash == p ? 1 : (size_t)(slash - p))
				  : xstrdup(".");

		fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || (fsync(fd) && errno != EINVAL))
			warning("cannot sync directory %s: %s",
				escaped(dir, strlen(dir)), strerror(errno));
		if (fd >= 0)
			close(fd);
		free(dir);
	}
	atomic_release(ao);
	return 0;
}

static int cmd_report_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *ra = "baseline", *rb = "latest";
	struct report_args args = { .fmt = FMT_TEXT };
	struct atomic_out ao = { 0 };
	struct store_ref a, b;
	struct diff_result dr;
	struct report_opts ro;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_report_entry, argc, argv, "f:o:",
			     report_longopts, report_opt, &args, &first,
			     &nops, &dd)))
		return ret;
	if (nops > 2 || dd < argc) {
		const char *extra = nops > 2 ? argv[first + 2] : argv[dd];

		error("too many arguments: '%s'",
		      escaped(extra, strlen(extra)));
		return cmd_usage(&cmd_report_entry, 0);
	}
	if (nops > 0)
		ra = argv[first];
	if (nops > 1)
		rb = argv[first + 1];
	if ((ret = store_resolve(ctx->st, ra, &a)) ||
	    (ret = store_resolve(ctx->st, rb, &b)))
		return ret;
	if ((ret = diff_run(ctx->st, &a, &b, NULL, NULL, 0, &dr)))
		return ret;
	/* The fleet view shows the changed byte ranges the store can tell;
	 * text and JSON read as `fimscan diff` without --bytes. */
	if ((args.fmt == FMT_ECS || args.fmt == FMT_HTML) &&
	    (ret = diff_bytes(ctx->st, &dr, DIFF_BYTES)))
		goto out;
	cmd_report_opts(ctx, args.fmt, &ro);
	ro.ecs_ns = args.ns;
	ro.title = args.title;
	if (args.out) {
		if ((ret = atomic_open(&ao, args.out)))
			goto out;
		ro.out = ao.f;
		ro.color = 0;
	}
	ret = report_diff(&dr, &ro);
	if (args.out) {
		if (ret)
			atomic_abort(&ao);
		else
			ret = atomic_commit(&ao);
	}
out:
	diff_result_release(&dr);
	return ret;
}

const struct cmd_entry cmd_report_entry = {
	.name = "report",
	.usage = "fimscan report [--format text|json|ecs|html] "
		 "[--namespace ns] [--title text] [-o file] [a [b]]",
	.summary = "render a stored comparison as text, JSON, ECS or HTML",
	.options =
		"  --format text|json|ecs|html\n"
		"                      text and json as for diff; ecs: one ECS\n"
		"                      document per change (NDJSON); html: one\n"
		"                      self-contained page (default text)\n"
		"  --namespace ns      ecs: the data stream namespace\n"
		"                      (default: default)\n"
		"  --title text        html: the page title\n"
		"  -o file, --output file\n"
		"                      write to file atomically (default stdout)\n"
		"  a, b                snapshot ids, baseline, latest or previous\n"
		"                      (default: baseline latest)\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_report_exec,
};
