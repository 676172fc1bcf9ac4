/*
 * cmd-prune.c: `prune`: drop old snapshots, the versions only they saw,
 * and old kept content, then give the space back (VACUUM).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "scanner/scanner.h"

#define MAX_DAYS 36500
#define DAY_NS (86400ll * 1000000000ll)

struct prune_args {
	int dry_run;
	int64_t keep;              /* 0: no --keep */
	int64_t older, content;    /* days; -1: not given */
};

static int number(const char *opt, const char *arg, int64_t min, int64_t max,
		  int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (*arg >= '0' && *arg <= '9' && !*end && !errno && v >= min &&
	    v <= max) {
		*out = v;
		return 0;
	}
	error("%s wants a whole number from %lld to %lld, not '%s'", opt,
	      (long long)min, (long long)max, escaped(arg, strlen(arg)));
	return EXIT_USAGE;
}

static int prune_opt(int opt, const char *arg, void *data)
{
	struct prune_args *a = data;

	switch (opt) {
	case 'n':
		a->dry_run = 1;
		return 0;
	case 'k':
		return number("--keep", arg, 1, INT64_MAX, &a->keep);
	case 'o':
		return number("--older-than", arg, 0, MAX_DAYS, &a->older);
	case 'C':
		return number("--content-older-than", arg, 0, MAX_DAYS,
			      &a->content);
	}
	return EXIT_USAGE;
}

static const struct option prune_longopts[] = {
	{ "dry-run", no_argument, NULL, 'n' },
	{ "keep", required_argument, NULL, 'k' },
	{ "older-than", required_argument, NULL, 'o' },
	{ "content-older-than", required_argument, NULL, 'C' },
	{ NULL, 0, NULL, 0 }
};

/* "2-8, 10, 12-13" */
static void add_ids(struct strbuf *sb, const int64_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		strbuf_addf(sb, "%s%lld", i ? ", " : "", (long long)v[i]);
		if (j > i)
			strbuf_addf(sb, "-%lld", (long long)v[j]);
		i = j + 1;
	}
}

static void print_result(const struct store_prune_result *r, int dry_run,
			 int content)
{
	struct strbuf sb = STRBUF_INIT;
	const char *verb = dry_run ? "would drop" : "dropped";

	strbuf_addf(&sb, "%s %zu snapshot%s", verb, r->nsnaps,
		    r->nsnaps == 1 ? "" : "s");
	if (r->nsnaps) {
		strbuf_addstr(&sb, " (");
		add_ids(&sb, r->snaps, r->nsnaps);
		strbuf_addch(&sb, ')');
	}
	strbuf_addf(&sb, ", %lld versions, %lld change log rows, %lld chunk "
		    "lists\n", (long long)r->versions, (long long)r->changes,
		    (long long)r->clists);
	if (content)
		strbuf_addf(&sb, "%s the kept bytes of %lld dead versions\n",
			    verb, (long long)r->content_versions);
	strbuf_addf(&sb, "%s %lld kept chunks: %lld bytes, %lld compressed "
		    "(%lld packs rewritten)\n", verb, (long long)r->chunks,
		    (long long)r->content_raw, (long long)r->content_packed,
		    (long long)r->packs);
	fwrite(sb.buf, 1, sb.len, stdout);
	strbuf_release(&sb);
}

static int cmd_prune_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct prune_args a = { .older = -1, .content = -1 };
	struct store_prune_policy p = { 0 };
	struct store_prune_result r;
	int64_t before, now = now_ns();
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_prune_entry, argc, argv, "", prune_longopts,
			     prune_opt, &a, &first, &nops, &dd)))
		return ret;
	if (nops || dd < argc) {
		error("prune takes no operands");
		return cmd_usage(&cmd_prune_entry, 0);
	}
	if (!a.keep && a.older < 0 && a.content < 0) {
		error("nothing to prune: give --keep, --older-than or "
		      "--content-older-than");
		return cmd_usage(&cmd_prune_entry, 0);
	}
	p.keep = a.keep;
	/* "more than d days ago"; 0 days: everything finished before now */
	p.finished_before_ns = a.older >= 0 ? now - a.older * DAY_NS : 0;
	p.content_died_before_ns = a.content >= 0 ? now - a.content * DAY_NS
						   : 0;
	p.dry_run = a.dry_run;
	p.busy_ms = ctx->cfg.busy_ms;
	p.stop = scan_stop_requested;

	before = store_file_size(ctx->st);
	if ((ret = store_prune(ctx->st, &p, &r))) {
		store_prune_result_release(&r);
		return ret;
	}
	if (verbosity)
		print_result(&r, a.dry_run, a.content >= 0);
	store_prune_result_release(&r);
	if (a.dry_run) {
		if (verbosity)
			printf("store %lld bytes (dry run: nothing was "
			       "changed)\n", (long long)before);
		return 0;
	}
	/* The transaction freed pages inside the file; VACUUM gives them
	 * back to the file system. */
	ret = store_vacuum(ctx->st, ctx->cfg.busy_ms);
	if (verbosity)
		printf("store %lld bytes before, %lld after%s\n",
		       (long long)before, (long long)store_file_size(ctx->st),
		       ret ? "" : " (VACUUM returned the free space to the "
		       "file system)");
	return ret;
}

const struct cmd_entry cmd_prune_entry = {
	.name = "prune",
	.usage = "fimscan prune [--dry-run] [--keep n] [--older-than days] "
		 "[--content-older-than days]",
	.summary = "drop old snapshots and kept content from the store",
	.options =
		"  --dry-run           say what would be dropped, change nothing\n"
		"  --keep n            keep the newest n snapshots\n"
		"  --older-than days   drop snapshots finished more than days\n"
		"                      days ago (with --keep: only those beyond\n"
		"                      the newest n)\n"
		"  --content-older-than days\n"
		"                      drop the kept bytes of versions that died\n"
		"                      more than days days ago\n"
		"\nThe baseline and the latest snapshot are always kept, and the\n"
		"remaining snapshots compare exactly as before.\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_prune_exec,
};
