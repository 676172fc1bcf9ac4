/*
 * cmd-scan.c: `baseline` and `scan`: take a snapshot; scan also reports it
 * against a reference state.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "differ/differ.h"
#include "scanner/scanner.h"

struct scan_args {
	int format;
	const char *against;
	int keep;              /* --keep-content */
	int bytes;             /* --bytes */
};

static int scan_opt(int opt, const char *arg, void *data)
{
	struct scan_args *a = data;

	switch (opt) {
	case 'f':
		return cmd_format(arg, &a->format);
	case 'a':
		a->against = arg;
		return 0;
	case 'k':
		a->keep = 1;
		return 0;
	case 'b':
		a->bytes = 1;
		return 0;
	}
	return EXIT_USAGE;
}

static const struct option scan_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "against", required_argument, NULL, 'a' },
	{ "keep-content", no_argument, NULL, 'k' },
	{ "bytes", no_argument, NULL, 'b' },
	{ NULL, 0, NULL, 0 }
};

static const struct option baseline_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "keep-content", no_argument, NULL, 'k' },
	{ NULL, 0, NULL, 0 }
};

static void print_summary(const struct scan_result *res, int kind, int fmt)
{
	if (fmt == FMT_JSON) {
		printf("{\"fimscan\": 1, \"snapshot\": %lld, \"kind\": \"%s\", "
		       "\"entries\": %lld, \"files_hashed\": %lld, "
		       "\"bytes_hashed\": %lld, \"warnings\": %lld, "
		       "\"unstable\": %lld, \"seconds\": %.3f}\n",
		       (long long)res->snap, snap_kind_name(kind),
		       (long long)res->entries, (long long)res->files_hashed,
		       (long long)res->bytes_hashed, (long long)res->warnings,
		       (long long)res->unstable, res->seconds);
		return;
	}
	if (!verbosity)
		return;
	printf("%s %lld: %lld entries, %lld files (%.1f MB) hashed in %.2f s",
	       snap_kind_name(kind), (long long)res->snap,
	       (long long)res->entries, (long long)res->files_hashed,
	       res->bytes_hashed / 1e6, res->seconds);
	if (res->warnings)
		printf(", %lld warnings", (long long)res->warnings);
	printf("\n");
}

/*
 * The reference is resolved before scanning, so that "latest" and
 * "previous" mean the snapshot before this one, and a missing baseline
 * fails before minutes of hashing.
 */
static int resolve_against(struct store *st, const char *against,
			   struct store_ref *ref)
{
	if (!strcmp(against, "latest") || !strcmp(against, "previous"))
		return store_resolve(st, "latest", ref);
	return store_resolve(st, against, ref);
}

static int run(int argc, char **argv, struct cmd_ctx *ctx, int kind)
{
	const struct cmd_entry *e = kind == SNAP_BASELINE ? &cmd_baseline_entry
							  : &cmd_scan_entry;
	struct scan_args a = { .format = FMT_TEXT, .against = "baseline" };
	struct scan_options so = { 0 };
	struct events_hook events;
	struct scan_result res = { 0 };
	struct store_ref against = { 0 }, now;
	struct store *rd = NULL;
	struct path_list roots;
	struct diff_result dr;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(e, argc, argv, kind == SNAP_BASELINE ? "f:k" : "f:a:kb",
			     kind == SNAP_BASELINE ? baseline_longopts
						   : scan_longopts,
			     scan_opt, &a, &first, &nops, &dd)))
		return ret;
	if (dd < argc) {
		/* "--" only separates paths that look like options. */
		for (int i = dd; i < argc; i++)
			argv[first + nops++] = argv[i];
	}
	if ((ret = cmd_roots(ctx, argv + first, nops, &roots)))
		return ret;
	if (kind == SNAP_SCAN &&
	    (ret = resolve_against(ctx->st, a.against, &against)))
		goto out;
	/* A second connection reads the state before this snapshot: stat
	 * data to trust (rehash = changed) and the digests that prove an
	 * append. */
	if ((ret = store_open(&rd, ctx->db_path, STORE_READ)))
		goto out;

	so.cfg = &ctx->cfg;
	so.roots = (const char *const *)roots.v;
	so.rootlens = roots.len;
	so.nroots = roots.n;
	so.kind = kind;
	so.progress = ctx->tty_err && verbosity > 0;
	so.keep_content = a.keep;
	/* Shipping configured: the snapshot's events commit with it. */
	if (events_hook_init(&events, &ctx->cfg)) {
		so.before_commit = events_before_commit;
		so.hook_data = &events;
	}
	if ((ret = scan_run(ctx->st, rd, &so, &res)))
		goto out;

	if (kind == SNAP_BASELINE) {
		print_summary(&res, kind, a.format);
		ret = res.warnings ? EXIT_WARNINGS : 0;
		goto out;
	}
	now.snap = res.snap;
	now.overlay = 0;
	if (!(ret = diff_run(ctx->st, &against, &now, NULL, NULL, 0, &dr))) {
		struct report_opts ro;
		cmd_report_opts(ctx, a.format, &ro);
		if (a.bytes)
			ret = diff_bytes(ctx->st, &dr, DIFF_BYTES);
		if (!ret)
			ret = report_diff(&dr, &ro);
		if (!ret)
			ret = diff_exit_bits(&dr) |
			      (res.warnings ? EXIT_WARNINGS : 0);
		diff_result_release(&dr);
	}
out:
	store_close(rd);
	path_list_release(&roots);
	return ret;
}

static int cmd_baseline_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	return run(argc, argv, ctx, SNAP_BASELINE);
}

static int cmd_scan_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	return run(argc, argv, ctx, SNAP_SCAN);
}

const struct cmd_entry cmd_baseline_entry = {
	.name = "baseline",
	.usage = "fimscan baseline [--keep-content] [--format text|json] "
		 "[path ...]",
	.summary = "take a snapshot and make it the baseline",
	.options =
		"  --keep-content      keep the files' bytes too (not secrets;\n"
		"                      content-max-file/-total bound it), so\n"
		"                      diff --bytes is exact to the byte\n"
		"  --format text|json  summary format (default text)\n"
		"  path ...            trees to snapshot (default: the config's "
		"roots)\n",
	.flags = CMD_STORE_WRITE,
	.exec = cmd_baseline_exec,
};

const struct cmd_entry cmd_scan_entry = {
	.name = "scan",
	.usage = "fimscan scan [--against baseline|previous|latest] "
		 "[--bytes] [--keep-content] [--format text|json] [path ...]",
	.summary = "take a snapshot and report what changed",
	.options =
		"  --against REF       compare with baseline (default), or with\n"
		"                      the snapshot before this one (latest,\n"
		"                      previous), or a snapshot id\n"
		"  --bytes             show the changed byte ranges of\n"
		"                      modified files\n"
		"  --keep-content      keep the files' bytes too (see baseline)\n"
		"  --format text|json  report format (default text)\n"
		"  path ...            trees to scan (default: the config's "
		"roots)\n",
	.flags = CMD_STORE_WRITE,
	.exec = cmd_scan_exec,
};
