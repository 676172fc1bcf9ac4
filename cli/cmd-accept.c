/*
 * cmd-accept.c: `accept [PATH...]`: fold the differences between the
 * baseline and the latest snapshot into the baseline, for everything or
 * only for the named paths (each covering its subtree).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "differ/differ.h"

static int accept_opt(int opt, const char *arg, void *data)
{
	(void)arg;
	if (opt == 'n') {
		*(int *)data = 1;
		return 0;
	}
	return EXIT_USAGE;
}

static const struct option accept_longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 }
};

/* Does state b's coverage include every root of a? */
static int covers(const struct snapshot_info *b, const struct snapshot_info *a)
{
	for (size_t i = 0; i < a->nroots; i++) {
		int in = 0;
		for (size_t j = 0; j < b->nroots && !in; j++)
			in = path_is_under(a->roots[i], a->rootlens[i],
					   b->roots[j], b->rootlens[j]);
		if (!in)
			return 0;
	}
	return 1;
}

static void add_item(struct store_accept_item **v, size_t *n, size_t *alloc,
		     const struct strbuf *path)
{
	struct store_accept_item *it;

	ALLOC_GROW(*v, *n + 1, *alloc);
	it = &(*v)[(*n)++];
	path_split(path->buf, path->len, &it->dirlen, &it->name, &it->namelen);
	it->dir = path->buf;
}

static int cmd_accept_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct store_accept_item *items = NULL;
	struct path_list paths = { 0 };
	struct strbuf text = STRBUF_INIT;
	struct store_ref base, latest;
	struct diff_result dr;
	size_t n = 0, alloc = 0;
	int dry = 0, first, nops, dd, ret, all;
	int64_t id = 0;

	if ((ret = cmd_parse(&cmd_accept_entry, argc, argv, "n",
			     accept_longopts, accept_opt, &dry, &first, &nops,
			     &dd)))
		return ret;
	for (int i = 0; i < nops; i++)
		cmd_path_arg(argv[first + i], &paths);
	for (int i = dd; i < argc; i++)
		cmd_path_arg(argv[i], &paths);
	if ((ret = store_resolve(ctx->st, "baseline", &base)) ||
	    (ret = store_resolve(ctx->st, "latest", &latest)))
		goto out;
	if ((ret = diff_run(ctx->st, &base, &latest,
			    (const char *const *)paths.v, paths.len, paths.n,
			    &dr)))
		goto out;

	if (dry) {
		struct report_opts ro;
		cmd_report_opts(ctx, FMT_TEXT, &ro);
		ret = report_diff(&dr, &ro);
		diff_result_release(&dr);
		goto out;
	}
	/*
	 * Accepting everything moves the baseline to the latest snapshot,
	 * but only when that snapshot saw all the baseline covers: otherwise
	 * changes the user never saw in the latest report would be accepted
	 * with it. Then, and for named paths, record one override per entry.
	 */
	all = !paths.n && covers(&dr.b, &dr.a);
	for (size_t i = 0; !all && i < dr.n; i++) {
		add_item(&items, &n, &alloc, &dr.items[i]->path);
		if (dr.items[i]->moved_from.len)
			add_item(&items, &n, &alloc, &dr.items[i]->moved_from);
	}
	for (size_t i = 0; i < paths.n; i++) {
		if (i)
			strbuf_addch(&text, '\n');
		strbuf_add(&text, paths.v[i], paths.len[i]);
	}
	if (all || n)
		ret = store_accept(ctx->st, &latest, items, all ? 0 : n,
				   text.buf, ctx->cfg.busy_ms, &id);
	if (!ret && verbosity) {
		if (all)
			printf("accept %lld: the baseline is now snapshot %lld "
			       "(%zu differences accepted)\n", (long long)id,
			       (long long)latest.snap, dr.n);
		else if (n)
			printf("accept %lld: %zu entries of snapshot %lld "
			       "accepted into the baseline\n", (long long)id,
			       n, (long long)latest.snap);
		else
			printf("nothing to accept: the baseline and snapshot "
			       "%lld agree%s\n", (long long)latest.snap,
			       paths.n ? " on these paths" : "");
	}
	diff_result_release(&dr);
out:
	free(items);
	strbuf_release(&text);
	path_list_release(&paths);
	return ret;
}

const struct cmd_entry cmd_accept_entry = {
	.name = "accept",
	.usage = "fimscan accept [--dry-run] [path ...]",
	.summary = "accept the latest snapshot's differences into the baseline",
	.options =
		"  --dry-run  show what would be accepted, change nothing\n"
		"  path ...   accept only entries at or below these paths\n"
		"             (default: every difference)\n",
	.flags = CMD_STORE_WRITE,
	.exec = cmd_accept_exec,
};
