/*
 * cmd-show.c: `show PATH`: every stored version of one path; with
 * --versions, also the byte ranges that changed at each step.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"

struct show_args {
	int format;
	int versions;          /* --versions */
};

static int show_opt(int opt, const char *arg, void *data)
{
	struct show_args *a = data;

	if (opt == 'V') {
		a->versions = 1;
		return 0;
	}
	return opt == 'f' ? cmd_format(arg, &a->format) : EXIT_USAGE;
}

static const struct option show_longopts[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "versions", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 }
};

struct show_state {
	struct report_show *rs;
	struct store *st;
	int versions;
	struct fim_entry prev;  /* the version before, when have_prev */
	int have_prev;
};

static struct fim_entry *entry_dup(const struct fim_entry *e)
{
	struct fim_entry *c = xmalloc(sizeof(*c));

	fim_entry_init(c);
	fim_entry_copy(c, e);
	return c;
}

/*
 * The ranges from the previous version to `e`, through the differ's own
 * --bytes code on a one-item result: a proven append when the scanner
 * proved `e` appends to exactly that version.
 */
static int show_step(struct show_state *ss, const struct fim_entry *e)
{
	const struct fim_entry *p = &ss->prev;
	struct diff_result r = { 0 };
	struct diff_item *it;
	int ret;

	if (fim_type_of(p->mode) != FT_FILE || fim_type_of(e->mode) != FT_FILE ||
	    p->state != FS_OK || e->state != FS_OK) {
		report_show_version(ss->rs, e);
		return 0;
	}
	it = xcalloc(1, sizeof(*it));
	it->kind = DIFF_CHANGED;
	strbuf_init(&it->path, 0);
	strbuf_init(&it->moved_from, 0);
	it->old = entry_dup(p);
	it->new = entry_dup(e);
	it->attrs = diff_entries(p, e, &it->hash_ids);
	it->appended = e->prefix && e->prefix == p->born && e->size > p->size;
	r.items = xmalloc(sizeof(*r.items));
	r.items[r.n++] = it;
	ret = diff_bytes(ss->st, &r, DIFF_BYTES);
	if (!ret && !it->ranges && !(it->attrs & (ATTR_HASH | ATTR_SIZE))) {
		/* same content: say so, with no range */
		it->ranges = xcalloc(1, sizeof(*it->ranges));
		it->bytes_state = BYTES_NONE;
	}
	if (!ret)
		report_show_version_bytes(ss->rs, e, it->ranges ? it : NULL);
	diff_result_release(&r);
	return ret;
}

static int one_version(const struct fim_entry *e, void *data)
{
	struct show_state *ss = data;
	int ret = 0;

	if (ss->versions && ss->have_prev)
		ret = show_step(ss, e);
	else
		report_show_version(ss->rs, e);
	fim_entry_copy(&ss->prev, e);
	ss->have_prev = 1;
	return ret;
}

static int cmd_show_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct show_args a = { .format = FMT_TEXT };
	struct show_state ss = { .st = ctx->st };
	struct path_list p = { 0 };
	struct report_opts ro;
	const char *name;
	size_t dirlen, namelen;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_show_entry, argc, argv, "f:", show_longopts,
			     show_opt, &a, &first, &nops, &dd)))
		return ret;
	if (nops + (argc - dd) != 1) {
		error("show wants exactly one path");
		return cmd_usage(&cmd_show_entry, 0);
	}
	cmd_path_arg(nops ? argv[first] : argv[dd], &p);
	path_split(p.v[0], p.len[0], &dirlen, &name, &namelen);
	cmd_report_opts(ctx, a.format, &ro);
	ss.versions = a.versions;
	fim_entry_init(&ss.prev);
	ss.rs = report_show_begin(&ro, p.v[0], p.len[0]);
	ret = store_versions(ctx->st, p.v[0], dirlen, name, namelen,
			     one_version, &ss);
	{
		int end = report_show_end(ss.rs);
		if (!ret)
			ret = end;
	}
	fim_entry_release(&ss.prev);
	path_list_release(&p);
	return ret;
}

const struct cmd_entry cmd_show_entry = {
	.name = "show",
	.usage = "fimscan show [--versions] [--format text|json] path",
	.summary = "list the stored versions of one path",
	.options =
		"  --versions          also the byte ranges that changed from\n"
		"                      each version to the next (as diff --bytes)\n"
		"  --format text|json  output format (default text)\n",
	.flags = CMD_STORE_READ,
	.exec = cmd_show_exec,
};
