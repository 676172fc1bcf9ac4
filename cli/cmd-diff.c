/*
 * cmd-diff.c: `diff`: compare two stored states.
 */
#include <string.h>

#include "cli/cmd.h"
#include "differ/differ.h"

static int diff_opt(int opt, const char *arg, void *data)
{
	return opt == 'f' ? cmd_format(arg, data) : EXIT_USAGE;
}

static const struct option diff_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

static int cmd_diff_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	const char *ra = "baseline", *rb = "latest";
	struct store_ref a, b;
	struct path_list paths = { 0 };
	struct diff_result dr;
	struct report_opts ro;
	int fmt = FMT_TEXT, first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_diff_entry, argc, argv, "f:", diff_longopts,
			     diff_opt, &fmt, &first, &nops, &dd)))
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
		cmd_report_opts(ctx, fmt, &ro);
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
	.usage = "fimscan diff [--format text|json] [a [b]] [-- path ...]",
	.summary = "compare two stored snapshots",
	.options =
		"  --format text|json  report format (default text)\n"
		"  a, b                snapshot ids, baseline, latest or previous\n"
		"                      (default: baseline latest)\n"
		"  -- path ...         only entries at or below these paths\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_diff_exec,
};
