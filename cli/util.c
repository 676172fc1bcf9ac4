/*
 * util.c: what the commands share: option parsing, roots, path operands.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cmd.h"

void path_list_add(struct path_list *l, char *path, size_t len)
{
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	l->len = xrealloc(l->len, l->alloc * sizeof(*l->len));
	l->v[l->n] = path;
	l->len[l->n++] = len;
}

void path_list_release(struct path_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->len);
	memset(l, 0, sizeof(*l));
}

int cmd_parse(const struct cmd_entry *e, int argc, char **argv,
	      const char *optstring, const struct option *longopts,
	      int (*fn)(int opt, const char *arg, void *data), void *data,
	      int *first, int *nops, int *dashdash)
{
	int end = 1, c, ret;

	while (end < argc && strcmp(argv[end], "--"))
		end++;
	*dashdash = end < argc ? end + 1 : argc;
	optind = 0;            /* reinitialize GNU getopt */
	opterr = 0;
	while ((c = getopt_long(end, argv, optstring, longopts, NULL)) != -1) {
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];
			if (c == ':' || (optopt && strchr(optstring, optopt)))
				error("option %s needs an argument",
				      escaped(bad, strlen(bad)));
			else
				error("unknown option '%s'",
				      escaped(bad, strlen(bad)));
			return cmd_usage(e, 0);
		}
		if ((ret = fn(c, optarg, data)))
			return ret == EXIT_USAGE ? cmd_usage(e, 0) : ret;
	}
	*first = optind;
	*nops = end - optind;
	return 0;
}

/*
 * Drop roots below other roots on the same filesystem: the walk covers
 * them already. One on another filesystem is kept, since the walk stops
 * at mount points (one-filesystem); listing /boot/efi beside /boot is how
 * a user asks for it.
 */
static void drop_nested(struct path_list *l, int one_fs)
{
	size_t w = 0;

	for (size_t i = 0; i < l->n; i++) {
		int nested = 0;
		for (size_t j = 0; j < l->n && !nested; j++) {
			struct stat si, sj;
			if (i == j || !path_is_under(l->v[i], l->len[i],
						     l->v[j], l->len[j]))
				continue;
			/* Equal roots: keep the first. */
			nested = l->len[i] != l->len[j] || j < i;
			if (nested && l->len[i] != l->len[j] && one_fs &&
			    !lstat(l->v[i], &si) && !lstat(l->v[j], &sj) &&
			    si.st_dev != sj.st_dev)
				nested = 0;
		}
		if (nested) {
			free(l->v[i]);
			continue;
		}
		l->v[w] = l->v[i];
		l->len[w++] = l->len[i];
	}
	l->n = w;
}

int cmd_roots(struct cmd_ctx *ctx, char **ops, int nops,
	      struct path_list *out)
{
	memset(out, 0, sizeof(*out));
	for (int i = 0; i < nops; i++) {
		size_t len;
		char *p = config_normalize_root(ops[i], &len);
		if (!p) {
			path_list_release(out);
			return EXIT_USAGE;
		}
		path_list_add(out, p, len);
	}
	if (!nops)
		for (size_t i = 0; i < ctx->cfg.nroots; i++)
			path_list_add(out, xmemdup(ctx->cfg.roots[i],
						   ctx->cfg.rootlens[i]),
				      ctx->cfg.rootlens[i]);
	if (!out->n) {
		error("nothing to scan: give PATH operands, or 'root' lines in "
		      "the config (%s)", ctx->cfg.path ? ctx->cfg.path :
		      "none loaded; see -c");
		return EXIT_USAGE;
	}
	drop_nested(out, ctx->cfg.one_filesystem);
	return 0;
}

void cmd_path_arg(const char *arg, struct path_list *out)
{
	struct strbuf in = STRBUF_INIT, sb = STRBUF_INIT;

	if (arg[0] != '/') {
		char *cwd = getcwd(NULL, 0);
		if (cwd)
			strbuf_addstr(&in, cwd);
		free(cwd);
		strbuf_addch(&in, '/');
	}
	strbuf_addstr(&in, arg);
	/* Clean component by component: "", ".", ".." and "//". */
	for (size_t i = 0; i < in.len;) {
		size_t j = i, n;
		while (j < in.len && in.buf[j] != '/')
			j++;
		n = j - i;
		if ((n == 1 && in.buf[i] == '.') || n == 0) {
			;
		} else if (n == 2 && in.buf[i] == '.' && in.buf[i + 1] == '.') {
			while (sb.len && sb.buf[sb.len - 1] != '/')
				sb.len--;
			if (sb.len)
				sb.len--;
			strbuf_setlen(&sb, sb.len);
		} else {
			strbuf_addch(&sb, '/');
			strbuf_add(&sb, in.buf + i, n);
		}
		i = j + 1;
	}
	if (!sb.len)
		strbuf_addch(&sb, '/');
	strbuf_release(&in);
	{
		size_t len = sb.len;
		path_list_add(out, strbuf_detach(&sb, NULL), len);
	}
}

int cmd_format(const char *arg, int *fmt)
{
	int f = report_format_by_name(arg);

	if (f != FMT_TEXT && f != FMT_JSON) {
		error("unknown format '%s': use text or json",
		      escaped(arg, strlen(arg)));
		return EXIT_USAGE;
	}
	*fmt = f;
	return 0;
}

void cmd_report_opts(struct cmd_ctx *ctx, int fmt, struct report_opts *o)
{
	const char *nc = getenv("NO_COLOR");

	memset(o, 0, sizeof(*o));
	o->format = fmt;
	o->out = stdout;
	o->st = ctx->st;
	o->color = fmt == FMT_TEXT && ctx->tty_out && !(nc && *nc);
	o->verbose = verbosity > 1;
}
