/*
 * cmd-watch.c: `watch`: the daemon (scanner/watch.c runs the loop), and
 * what it records with each of its snapshots: one event per change the
 * differ finds between the snapshot before and this one, with the byte
 * ranges of modified files and the process the backend named; a rescan
 * row before the changes a full rescan found; a "transient" row for a
 * path that was created and gone again before it could be recorded.
 * With Elasticsearch configured, the shipping hook (events.c) runs in the
 * same transaction, each coverage gap is queued too, and a shipping
 * thread (report/es-shipper.c) delivers the outbox as it fills: woken
 * after each commit, restarted with the configuration on SIGHUP, stopped
 * and joined after the loop returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cmd.h"
#include "differ/differ.h"
#include "platform/watch.h"
#include "report/es.h"
#include "scanner/scanner.h"

#define MAX_RANGES 64            /* ranges kept per event (all are counted) */

struct watch_args {
	const char *backend;       /* --backend, NULL: the config's */
	int ready_fd;
	int no_ship;               /* --no-ship */
};

struct watch_ctx {
	struct cmd_ctx *ctx;
	struct watch_args a;
	char **ops;                /* PATH operands (none: the config's roots) */
	int nops;
	struct path_list roots;
	struct events_hook events;
	int queueing;              /* Elasticsearch is configured */
	struct es_shipper *shipper;    /* NULL: nobody ships meanwhile */
	struct strbuf attrs, ranges;
};

static int watch_opt(int opt, const char *arg, void *data)
{
	struct watch_args *a = data;
	char *end;
	long v;

	switch (opt) {
	case 'b':
		if (!plat_watch_by_name(arg)) {
			error("unknown backend '%s': use inotify or fanotify",
			      escaped(arg, strlen(arg)));
			return EXIT_USAGE;
		}
		a->backend = arg;
		return 0;
	case 'r':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (*arg < '0' || *arg > '9' || *end || errno || v > 1 << 20 ||
		    fcntl((int)v, F_GETFD) < 0) {
			error("--ready-fd wants an open file descriptor, not "
			      "'%s'", escaped(arg, strlen(arg)));
			return EXIT_USAGE;
		}
		a->ready_fd = (int)v;
		return 0;
	case 'n':
		a->no_ship = 1;
		return 0;
	}
	return EXIT_USAGE;
}

static const struct option watch_longopts[] = {
	{ "backend", required_argument, NULL, 'b' },
	{ "ready-fd", required_argument, NULL, 'r' },
	{ "no-ship", no_argument, NULL, 'n' },
	{ NULL, 0, NULL, 0 }
};

/* ---- recording ------------------------------------------------------- */

static void add_attrs(struct strbuf *sb, const struct diff_item *it)
{
	static const uint32_t order[] = {
		ATTR_TYPE, ATTR_MODE, ATTR_UID, ATTR_GID, ATTR_SIZE,
		ATTR_MTIME, ATTR_CTIME, ATTR_INODE, ATTR_NLINK, ATTR_DEV,
		ATTR_RDEV, ATTR_TARGET, ATTR_XATTRS, ATTR_FLAGS, ATTR_STATE,
	};

	strbuf_reset(sb);
	for (size_t i = 0; i < ARRAY_SIZE(order); i++)
		if (it->attrs & order[i])
			strbuf_addf(sb, "%s%s", sb->len ? "," : "",
				    attr_name(order[i]));
	if (it->attrs & ATTR_HASH) {
		int listed = 0;

		for (int id = 1; id < HASH_MAX_ID && id < 32; id++) {
			const struct fim_hash_algo *h = hash_algo_by_id(id);

			if (h && (it->hash_ids & (1u << id))) {
				strbuf_addf(sb, "%s%s", sb->len ? "," : "",
					    h->name);
				listed = 1;
			}
		}
		if (!listed)
			strbuf_addf(sb, "%shash", sb->len ? "," : "");
	}
}

static void add_ranges(struct strbuf *sb, const struct range_list *l)
{
	static const char *const op[] = { "", "modify", "insert", "delete" };

	strbuf_reset(sb);
	strbuf_addch(sb, '[');
	for (size_t i = 0; i < l->n && i < MAX_RANGES; i++) {
		const struct byte_range *r = &l->v[i];

		strbuf_addf(sb, "%s{\"op\":\"%s\",\"old_offset\":%llu,"
			    "\"old_length\":%llu,\"new_offset\":%llu,"
			    "\"new_length\":%llu,\"exact\":%s}", i ? "," : "",
			    r->op >= 1 && r->op <= 3 ? op[r->op] : "modify",
			    (unsigned long long)r->old_off,
			    (unsigned long long)r->old_len,
			    (unsigned long long)r->new_off,
			    (unsigned long long)r->new_len,
			    r->exact ? "true" : "false");
	}
	strbuf_addch(sb, ']');
}

/* The process and source of an event from what the backend saw. */
static void attribute(struct store_event *ev, const struct watch_batch *b,
		      const struct watch_seen *s)
{
	ev->backend = s && s->mask ? b->backend : "scan";
	ev->uid = -1;
	if (!s)
		return;
	ev->time_ns = s->first_ns;
	ev->pid = s->pid;
	ev->uid = s->pid ? s->uid : -1;
	ev->exe = s->exe;
	ev->exelen = s->exe_len;
}

static int record_item(struct watch_ctx *wc, struct store *st, int64_t snap,
		       const struct watch_batch *b, const struct diff_item *it)
{
	const struct fim_entry *e = it->new ? it->new : it->old;
	const struct watch_seen *s = watch_batch_find(b, it->path.buf,
						      it->path.len);
	struct store_event ev = { .snap = snap, .kind = EVENT_CHANGE,
				  .bytes_changed = -1 };

	if (!s && it->moved_from.len)
		s = watch_batch_find(b, it->moved_from.buf, it->moved_from.len);
	ev.action = it->kind == DIFF_ADDED ? "added" :
		    it->kind == DIFF_REMOVED ? "removed" :
		    it->moved_from.len ? "moved" : "changed";
	ev.type = e ? fim_type_of(e->mode) : FT_NONE;
	ev.path = it->path.buf;
	ev.pathlen = it->path.len;
	if (it->moved_from.len) {
		ev.old_path = it->moved_from.buf;
		ev.old_pathlen = it->moved_from.len;
	}
	if (it->kind == DIFF_CHANGED) {
		add_attrs(&wc->attrs, it);
		ev.attrs = wc->attrs.buf;
	}
	if (it->ranges) {
		ev.bytes_changed = (int64_t)range_list_bytes(it->ranges);
		add_ranges(&wc->ranges, it->ranges);
		ev.ranges = wc->ranges.buf;
	}
	attribute(&ev, b, s);
	if (!ev.time_ns)
		ev.time_ns = now_ns();
	return store_event_add(st, &ev);
}

/* The paths a diff names (new and moved-from), sorted for lookups. */
struct named {
	const char *p;
	size_t len;
};

static int named_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = memcmp(x->p, y->p, x->len < y->len ? x->len : y->len);

	return c ? c : x->len < y->len ? -1 : x->len > y->len;
}

static struct named *diff_names(const struct diff_result *dr, size_t *n)
{
	struct named *v = xcalloc(2 * dr->n + 1, sizeof(*v));

	*n = 0;
	for (size_t i = 0; i < dr->n; i++) {
		const struct diff_item *it = dr->items[i];

		v[(*n)++] = (struct named){ it->path.buf, it->path.len };
		if (it->moved_from.len)
			v[(*n)++] = (struct named){ it->moved_from.buf,
						    it->moved_from.len };
	}
	if (*n)
		qsort(v, *n, sizeof(*v), named_cmp);
	return v;
}

/* Did the diff say anything about this path? */
static int in_diff(const struct named *v, size_t n, const char *p,
		   size_t len)
{
	struct named key = { p, len };

	return n && bsearch(&key, v, n, sizeof(*v), named_cmp) != NULL;
}

static int record(struct store *st, int64_t snap, const struct watch_batch *b,
		  void *data)
{
	struct watch_ctx *wc = data;
	struct store_ref ra = { 0 }, rb = { .snap = snap };
	struct diff_result dr;
	struct named *names;
	size_t nnames;
	int ret, have_diff = 0;

	/* kept content still pending is written out for the differ */
	if ((ret = store_outbox_stamp(st, snap)))
		return ret;
	memset(&dr, 0, sizeof(dr));
	if ((ra.snap = store_outbox_prev_snapshot(st, snap))) {
		if ((ret = diff_run(st, &ra, &rb, NULL, NULL, 0, &dr)))
			return ret;
		have_diff = 1;
		if (diff_bytes(st, &dr, DIFF_BYTES))
			warning("the events of snapshot %lld go without their "
				"changed byte ranges", (long long)snap);
	}
	if (b->reason != WATCH_CHANGES) {
		struct strbuf detail = STRBUF_INIT;
		struct store_event ev = { .snap = snap, .kind = EVENT_RESCAN,
					  .action = watch_reason_name(b->reason),
					  .bytes_changed = -1,
					  .backend = "scan", .uid = -1 };

		if (have_diff)
			strbuf_addf(&detail, "snapshot %lld: %zu added, %zu "
				    "removed, %zu changed (%zu moved)",
				    (long long)snap, dr.added, dr.removed,
				    dr.changed, dr.moved);
		else
			strbuf_addf(&detail, "snapshot %lld: the first in the "
				    "store, nothing to compare with",
				    (long long)snap);
		ev.detail = detail.buf;
		ret = store_event_add(st, &ev);
		strbuf_release(&detail);
	}
	for (size_t i = 0; !ret && i < dr.n; i++)
		ret = record_item(wc, st, snap, b, dr.items[i]);
	names = diff_names(&dr, &nnames);
	/* created and gone again before the scan: no version, one event */
	for (size_t i = 0; !ret && i < b->nseen; i++) {
		const struct watch_seen *s = &b->seen[i];
		struct store_event ev = { .snap = snap, .kind = EVENT_CHANGE,
					  .action = "transient",
					  .bytes_changed = -1 };
		struct stat sb;

		if (!(s->mask & (PW_CREATE | PW_MOVED_TO)) ||
		    in_diff(names, nnames, s->path, s->len) ||
		    !lstat(s->path, &sb) || errno != ENOENT)
			continue;
		ev.path = s->path;
		ev.pathlen = s->len;
		ev.type = s->mask & PW_ISDIR ? FT_DIR : FT_NONE;
		ev.detail = "created and gone again before it was recorded";
		attribute(&ev, b, s);
		ret = store_event_add(st, &ev);
	}
	free(names);
	if (have_diff)
		diff_result_release(&dr);
	if (!ret && wc->queueing)
		ret = events_before_commit(st, snap, &wc->events);
	return ret;
}

/* A coverage gap the loop records: its document for Elasticsearch, in
 * the transaction of its event (watch_options.gap). */
static int queue_gap(struct store *st, const struct store_event *ev,
		     void *data)
{
	struct watch_ctx *wc = data;
	struct events_gap g = {
		.reason = ev->action, .message = ev->detail ? ev->detail : "",
		.path = ev->path, .pathlen = ev->pathlen,
		.since_ns = ev->time_ns, .events = -1,
	};

	return wc->queueing ? events_record_gap(&wc->events, st, &g) : 0;
}

/* ---- shipping ---------------------------------------------------------- */

/* The shipping thread, unless Elasticsearch is not configured or it is
 * turned off; a daemon that cannot ship still watches and queues. */
static void start_shipper(struct watch_ctx *wc)
{
	struct es_ship_options so;
	struct es_options eo;

	if (!wc->queueing || wc->a.no_ship || !wc->ctx->cfg.watch_ship)
		return;
	cmd_ship_options(wc->ctx, &eo, &so);
	if (es_shipper_start(&wc->shipper, wc->ctx->db_path, &eo, &so))
		warning("events are queued but not shipped: 'fimscan ship' "
			"sends them");
	else
		inform("shipping events to %s as they are queued",
		       escaped(eo.url, strlen(eo.url)));
}

static void stop_shipper(struct watch_ctx *wc)
{
	es_shipper_stop(wc->shipper);
	wc->shipper = NULL;
}

/* A snapshot or gap was committed: the shipper may read it now. */
static void committed(void *data)
{
	struct watch_ctx *wc = data;

	es_shipper_wake(wc->shipper);
}

/* ---- setup and reload -------------------------------------------------- */

static const char *backend_name(struct watch_ctx *wc)
{
	if (wc->a.backend)
		return wc->a.backend;
	return wc->ctx->cfg.watch_backend == WATCH_BACKEND_FANOTIFY ?
	       "fanotify" : "inotify";
}

static void fill_setup(struct watch_ctx *wc, struct watch_setup *s)
{
	s->cfg = &wc->ctx->cfg;
	s->roots = (const char *const *)wc->roots.v;
	s->rootlens = wc->roots.len;
	s->nroots = wc->roots.n;
	s->backend = backend_name(wc);
	wc->queueing = events_hook_init(&wc->events, &wc->ctx->cfg);
}

/* SIGHUP: read the config file again; keep everything when it is bad. */
static int reload(struct watch_setup *s, void *data)
{
	struct watch_ctx *wc = data;
	struct cmd_ctx tmp = *wc->ctx;
	struct fim_config cfg;
	struct path_list roots;
	int ret;

	if (!wc->ctx->cfg.path) {
		error("no configuration file to reload (none was given)");
		return EXIT_CONFIG;
	}
	config_init(&cfg);
	if ((ret = config_load(&cfg, wc->ctx->cfg.path, 0))) {
		config_release(&cfg);
		return ret;
	}
	tmp.cfg = cfg;
	if ((ret = cmd_roots(&tmp, wc->ops, wc->nops, &roots))) {
		config_release(&cfg);
		return ret;
	}
	/* the shipper's settings may have changed too */
	stop_shipper(wc);
	config_release(&wc->ctx->cfg);
	wc->ctx->cfg = cfg;
	path_list_release(&wc->roots);
	wc->roots = roots;
	fill_setup(wc, s);
	start_shipper(wc);
	return 0;
}

static int cmd_watch_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct watch_ctx wc = { .ctx = ctx, .a = { .ready_fd = -1 } };
	struct watch_options o = { 0 };
	struct store *rd = NULL;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_watch_entry, argc, argv, "", watch_longopts,
			     watch_opt, &wc.a, &first, &nops, &dd)))
		return ret;
	for (int i = dd; i < argc; i++)
		argv[first + nops++] = argv[i];
	wc.ops = argv + first;
	wc.nops = nops;
	if ((ret = cmd_roots(ctx, wc.ops, wc.nops, &wc.roots)))
		return ret;
	strbuf_init(&wc.attrs, 0);
	strbuf_init(&wc.ranges, 0);
	if ((ret = store_open(&rd, ctx->db_path, STORE_READ)))
		goto out;
	fill_setup(&wc, &o.setup);
	start_shipper(&wc);
	o.ready_fd = wc.a.ready_fd;
	o.record = record;
	o.gap = queue_gap;
	o.committed = committed;
	o.reload = reload;
	o.data = &wc;
	ret = watch_run(ctx->st, rd, &o);
	stop_shipper(&wc);
out:
	store_close(rd);
	path_list_release(&wc.roots);
	strbuf_release(&wc.attrs);
	strbuf_release(&wc.ranges);
	return ret;
}

const struct cmd_entry cmd_watch_entry = {
	.name = "watch",
	.usage = "fimscan watch [--backend inotify|fanotify] [--ready-fd n] "
		 "[--no-ship] [path ...]",
	.summary = "record changes as they happen (a daemon)",
	.options =
		"  --backend NAME      inotify (default, or the config's\n"
		"                      watch-backend) or fanotify (root; names\n"
		"                      the process behind each change)\n"
		"  --ready-fd N        write READY=1 to descriptor N once every\n"
		"                      watch is in place (again after SIGHUP)\n"
		"  --no-ship           queue events for Elasticsearch, but leave\n"
		"                      shipping them to 'fimscan ship'\n"
		"  path ...            trees to watch (default: the config's "
		"roots)\n"
		"\n"
		"SIGTERM or SIGINT: record what is pending and exit 0;\n"
		"SIGHUP: reload the configuration.\n",
	.flags = CMD_STORE_WRITE,
	.exec = cmd_watch_exec,
};
