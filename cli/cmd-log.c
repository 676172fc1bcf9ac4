/*
 * cmd-log.c: `log`: the snapshots and accepts recorded in the store.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"

struct log_args {
	int format;
	long count;            /* newest N snapshots, 0 = all */
};

static int log_opt(int opt, const char *arg, void *data)
{
	struct log_args *a = data;
	char *end;

	if (opt == 'f')
		return cmd_format(arg, &a->format);
	if (opt == 'n') {
		errno = 0;
		a->count = strtol(arg, &end, 10);
		if (*arg && !*end && !errno && a->count > 0)
			return 0;
		error("-n wants a positive count, not '%s'",
		      escaped(arg, strlen(arg)));
	}
	return EXIT_USAGE;
}

static const struct option log_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

struct log_state {
	struct report_log *l;
	int64_t skip;          /* snapshots to skip (older than the newest N) */
	int64_t first_shown;   /* id of the oldest snapshot shown */
};

static int count_one(const struct snapshot_info *si, void *data)
{
	(void)si;
	(*(int64_t *)data)++;
	return 0;
}

static int show_snapshot(const struct snapshot_info *si, void *data)
{
	struct log_state *s = data;

	if (s->skip > 0) {
		s->skip--;
		return 0;
	}
	if (!s->first_shown)
		s->first_shown = si->id;
	report_log_snapshot(s->l, si);
	return 0;
}

static int show_accept(const struct accept_info *a, void *data)
{
	struct log_state *s = data;

	if (s->first_shown && a->to_snap >= s->first_shown)
		report_log_accept(s->l, a);
	return 0;
}

static int cmd_log_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct log_args a = { .format = FMT_TEXT };
	struct log_state s = { 0 };
	struct report_opts ro;
	int64_t total = 0;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_log_entry, argc, argv, "f:n:", log_longopts,
			     log_opt, &a, &first, &nops, &dd)))
		return ret;
	if (nops || dd < argc) {
		error("log takes no operands");
		return cmd_usage(&cmd_log_entry, 0);
	}
	if (a.count && (ret = store_snapshot_foreach(ctx->st, count_one,
						     &total)))
		return ret;
	s.skip = a.count && total > a.count ? total - a.count : 0;
	cmd_report_opts(ctx, a.format, &ro);
	s.l = report_log_begin(&ro);
	ret = store_snapshot_foreach(ctx->st, show_snapshot, &s);
	if (!ret)
		ret = store_accept_foreach(ctx->st, show_accept, &s);
	{
		int end = report_log_end(s.l);
		if (!ret)
			ret = end;
	}
	return ret;
}

const struct cmd_entry cmd_log_entry = {
	.name = "log",
	.usage = "fimscan log [--format text|json] [-n count]",
	.summary = "list the snapshots and accepts in the store",
	.options =
		"  --format text|json  output format (default text)\n"
		"  -n count            only the newest count snapshots\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_log_exec,
};
