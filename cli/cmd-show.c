/*
 * cmd-show.c: `show PATH`: every stored version of one path.
 */
#include <string.h>

#include "cli/cmd.h"

static int show_opt(int opt, const char *arg, void *data)
{
	return opt == 'f' ? cmd_format(arg, data) : EXIT_USAGE;
}

static const struct option show_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

static int one_version(const struct fim_entry *e, void *data)
{
	report_show_version(data, e);
	return 0;
}

static int cmd_show_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct path_list p = { 0 };
	struct report_show *rs;
	struct report_opts ro;
	const char *name;
	size_t dirlen, namelen;
	int fmt = FMT_TEXT, first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_show_entry, argc, argv, "f:", show_longopts,
			     show_opt, &fmt, &first, &nops, &dd)))
		return ret;
	if (nops + (argc - dd) != 1) {
		error("show wants exactly one path");
		return cmd_usage(&cmd_show_entry, 0);
	}
	cmd_path_arg(nops ? argv[first] : argv[dd], &p);
	path_split(p.v[0], p.len[0], &dirlen, &name, &namelen);
	cmd_report_opts(ctx, fmt, &ro);
	rs = report_show_begin(&ro, p.v[0], p.len[0]);
	ret = store_versions(ctx->st, p.v[0], dirlen, name, namelen,
			     one_version, rs);
	{
		int end = report_show_end(rs);
		if (!ret)
			ret = end;
	}
	path_list_release(&p);
	return ret;
}

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.usage = "fimscan show [--format text|json] path",
	.summary = "list the stored versions of one path",
	.options = "  --format text|json  output format (default text)\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_show_exec,
};
