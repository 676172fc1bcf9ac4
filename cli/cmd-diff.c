/*
 * cmd-diff.c: `diff`: compare two stored states.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "differ/differ.h"

struct diff_args {
	int format;
	int flags;             /* DIFF_BYTES, DIFF_CONTENT */
	uint64_t max_bytes;    /* text: bound on hexdump / line diff output */
};

static int diff_opt(int opt, const char *arg, void *data)
{
	struct diff_args *a = data;
	char *end;

	switch (opt) {
	case 'f':
		return cmd_format(arg, &a->format);
	case 'b':
		a->flags |= DIFF_BYTES;
		return 0;
	case 'c':
		a->flags |= DIFF_BYTES | DIFF_CONTENT;
		return 0;
	case 'm':
		errno = 0;
		a->max_bytes = strtoull(arg, &end, 10);
		if (*arg >= '0' && *arg <= '9' && !*end && !errno)
			return 0;
		error("--max-bytes wants a number of bytes, not '%s'",
		      escaped(arg, strlen(arg)));
		return EXIT_USAGE;
	}
	return EXIT_USAGE;
}

static const struct option diff_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "bytes", no_argument, NULL, 'b' },
	{ "content", no_argument, NULL, 'c' },
	{ "max-bytes", required_argument, NULL, 'm' },
	{ NULL, 0, NULL, 0 }
};

static int cmd_diff_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *ra = "baseline", *rb = "latest";
	struct store_ref a, b;
	struct path_list paths = { 0 };
	struct diff_result dr;
	struct report_opts ro;
	struct diff_args da = { .format = FMT_TEXT, .max_bytes = 4096 };
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_diff_entry, argc, argv, "f:", diff_longopts,
			     diff_opt, &da, &first, &nops, &dd)))
		return ret;
	if (nops > 2) {
		error("too many snapshots: '%s' (paths go after '--')",
		      escaped(argv[first + 2], strlen(argv[first + 2])));
		return cmd_usage(&cmd_diff_entry, 0);
	}
	if (nops > 0)
		ra = argv[first];
	if (nops > 1)
		rb = argv[first + 1];
	if ((ret = store_resolve(ctx->st, ra, &a)) ||
	    (ret = store_resolve(ctx->st, rb, &b)))
		return ret;
	for (int i = dd; i < argc; i++)
		cmd_path_arg(argv[i], &paths);
	ret = diff_run(ctx->st, &a, &b, (const char *const *)paths.v,
		       paths.len, paths.n, &dr);
	if (!ret) {
		cmd_report_opts(ctx, da.format, &ro);
		ro.content = !!(da.flags & DIFF_CONTENT);
		ro.max_bytes = da.max_bytes;
		if (da.flags)
			ret = diff_bytes(ctx->st, &dr, da.flags);
		if (!ret)
			ret = report_diff(&dr, &ro);
		if (!ret)
			ret = diff_exit_bits(&dr);
		diff_result_release(&dr);
	}
	path_list_release(&paths);
	return ret;
}

const struct cmd_entry cmd_diff_entry = {
	.name = "diff",
	.usage = "fimscan diff [--bytes] [--content] [--max-bytes n] "
		 "[--format text|json] [a [b]] [-- path ...]",
	.summary = "compare two stored snapshots",
	.options =
		"  --bytes             the changed byte ranges of modified files\n"
		"                      (exact where both versions' bytes were\n"
		"                      kept, else at chunk granularity)\n"
		"  --content           also the new bytes of each changed range\n"
		"                      (JSON new_data_base64; text: a hexdump,\n"
		"                      or a line diff for text files)\n"
		"  --max-bytes n       text output shows at most n bytes of\n"
		"                      content per file (default 4096)\n"
		"  --format text|json  report format (default text)\n"
		"  a, b                snapshot ids, baseline, latest or previous\n"
		"                      (default: baseline latest)\n"
		"  -- path ...         only entries at or below these paths\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_diff_exec,
};
