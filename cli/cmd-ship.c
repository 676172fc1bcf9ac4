/*
 * cmd-ship.c: `ship`: deliver the events waiting in the outbox to
 * Elasticsearch, or say what is waiting (--status).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "report/es.h"
#include "scanner/scanner.h"

#define DEAD_LIST_MAX 20

struct ship_args {
	const char *url;
	const char *key_file;
	const char *ns;
	int status;
	int format;
};

static int ship_opt(int opt, const char *arg, void *data)
{
	struct ship_args *a = data;

	switch (opt) {
	case 'u':
		a->url = arg;
		return 0;
	case 'k':
		a->key_file = arg;
		return 0;
	case 'n':
		if (!es_namespace_ok(arg)) {
			error("invalid namespace '%s': use 1 to 100 lowercase "
			      "letters, digits and '_'", escaped(arg, strlen(arg)));
			return EXIT_USAGE;
		}
		a->ns = arg;
		return 0;
	case 's':
		a->status = 1;
		return 0;
	case 'f':
		return cmd_format(arg, &a->format);
	}
	return EXIT_USAGE;
}

static const struct option ship_longopts[] = {
	{ "es-url", required_argument, NULL, 'u' },
	{ "api-key-file", required_argument, NULL, 'k' },
	{ "namespace", required_argument, NULL, 'n' },
	{ "status", no_argument, NULL, 's' },
	{ "format", required_argument, NULL, 'f' },
	{ NULL, 0, NULL, 0 }
};

/* ---- --status -------------------------------------------------------- */

struct dead_list {
	struct strbuf sb;
	int fmt;
	size_t n;
};

static int dead_row(const struct outbox_dead_info *d, void *data)
{
	struct dead_list *l = data;
	struct strbuf *sb = &l->sb;

	if (l->fmt == FMT_JSON) {
		strbuf_addstr(sb, l->n++ ? ",\n  " : "\n  ");
		strbuf_addf(sb, "{\"seq\": %lld, \"snapshot\": %lld, "
			    "\"status\": %d, \"id\": ", (long long)d->seq,
			    (long long)d->snap, d->status);
		json_add_string(sb, d->id, strlen(d->id));
		strbuf_addstr(sb, ", \"namespace\": ");
		json_add_string(sb, d->ns, strlen(d->ns));
		strbuf_addstr(sb, ", \"time\": \"");
		time_add_rfc3339(sb, d->dead_ns);
		strbuf_addstr(sb, "\", \"reason\": ");
		json_add_string(sb, d->reason, strlen(d->reason));
		strbuf_addch(sb, '}');
		return 0;
	}
	strbuf_addf(sb, "  %-8lld snapshot %-6lld HTTP %-3d _id ",
		    (long long)d->seq, (long long)d->snap, d->status);
	strbuf_add_escaped(sb, d->id, strlen(d->id));
	strbuf_addstr(sb, "\n           ");
	strbuf_add_escaped(sb, d->reason, strlen(d->reason));
	strbuf_addch(sb, '\n');
	l->n++;
	return 0;
}

static int print_status(struct cmd_ctx *ctx, struct store *st, int fmt)
{
	struct dead_list l = { STRBUF_INIT, fmt, 0 };
	struct outbox_status os;
	struct strbuf sb = STRBUF_INIT;
	int ret;

	if ((ret = store_outbox_status(st, &os)) ||
	    (ret = store_outbox_dead_foreach(st, DEAD_LIST_MAX, dead_row, &l)))
		goto out;
	if (fmt == FMT_JSON) {
		strbuf_addf(&sb, "{\"fimscan\": 1,\n \"outbox\": {\"pending\": "
			    "%lld, \"delivered\": %lld, \"dead\": %lld, "
			    "\"dropped\": %lld, \"enqueued\": %lld, "
			    "\"outbox_max\": %d,\n  \"oldest\": ",
			    (long long)os.pending, (long long)os.delivered,
			    (long long)os.dead, (long long)os.dropped,
			    (long long)os.enqueued, ctx->cfg.outbox_max);
		if (os.oldest_seq) {
			strbuf_addf(&sb, "{\"seq\": %lld, \"snapshot\": %lld, "
				    "\"tries\": %lld, \"queued\": \"",
				    (long long)os.oldest_seq,
				    (long long)os.oldest_snap,
				    (long long)os.oldest_tries);
			time_add_rfc3339(&sb, os.oldest_time_ns);
			strbuf_addstr(&sb, "\"}");
		} else {
			strbuf_addstr(&sb, "null");
		}
		strbuf_addf(&sb, "},\n \"dead_letters\": [%s%s]}\n", l.sb.buf,
			    l.n ? "\n " : "");
	} else {
		strbuf_addf(&sb, "outbox of %s\n", escaped(store_path(st),
						      strlen(store_path(st))));
		strbuf_addf(&sb, "  pending       %12lld", (long long)os.pending);
		if (os.oldest_seq) {
			strbuf_addstr(&sb, "  (oldest queued ");
			time_add_rfc3339(&sb, os.oldest_time_ns);
			strbuf_addf(&sb, ", snapshot %lld, tried %lld times)",
				    (long long)os.oldest_snap,
				    (long long)os.oldest_tries);
		}
		strbuf_addf(&sb, "\n  delivered     %12lld\n"
			    "  dead letters  %12lld\n"
			    "  dropped       %12lld  (outbox-max %d)\n"
			    "  queued in all %12lld\n",
			    (long long)os.delivered, (long long)os.dead,
			    (long long)os.dropped, ctx->cfg.outbox_max,
			    (long long)os.enqueued);
		if (l.n)
			strbuf_addf(&sb, "dead letters (the newest %zu of "
				    "%lld):\n%s", l.n, (long long)os.dead,
				    l.sb.buf);
	}
	fwrite(sb.buf, 1, sb.len, stdout);
out:
	strbuf_release(&sb);
	strbuf_release(&l.sb);
	return ret;
}

/* ---- shipping -------------------------------------------------------- */

static void fill_options(struct cmd_ctx *ctx, const struct ship_args *a,
			 struct es_options *eo, struct es_ship_options *so)
{
	const struct fim_config *c = &ctx->cfg;

	memset(eo, 0, sizeof(*eo));
	eo->url = a->url ? a->url : c->es_url;
	/* --api-key-file replaces whatever the config says about auth. */
	eo->api_key_file = a->key_file ? a->key_file : c->es_api_key_file;
	eo->credentials_file = a->key_file ? NULL : c->es_credentials_file;
	eo->ca_file = c->es_ca_file;
	eo->pinned_key = c->es_pinned_key;
	eo->insecure_http = c->es_insecure_http;
	eo->connect_ms = c->es_connect_ms;
	eo->read_ms = c->es_read_ms;
	eo->request_ms = c->es_request_ms;
	if (so) {
		memset(so, 0, sizeof(*so));
		so->ns = a->ns;
		so->batch_docs = c->es_batch;
		so->backoff_ms = c->es_backoff_ms;
		so->backoff_max_ms = c->es_backoff_max_ms;
		so->stall_ms = c->ship_timeout_ms;
		so->stop = scan_stop_requested;
	}
}

void cmd_es_options(struct cmd_ctx *ctx, const char *url,
		    const char *key_file, struct es_options *eo)
{
	struct ship_args a = { .url = url, .key_file = key_file };

	fill_options(ctx, &a, eo, NULL);
}

void cmd_ship_options(struct cmd_ctx *ctx, struct es_options *eo,
		      struct es_ship_options *so)
{
	struct ship_args a = { 0 };

	fill_options(ctx, &a, eo, so);
}

static int cmd_ship_exec(int argc, char **argv, struct cmd_ctx *ctx)
{
	struct ship_args a = { .format = FMT_TEXT };
	struct es_ship_options so;
	struct es_ship_stats stats;
	struct es_options eo;
	struct es_client *c = NULL;
	struct outbox_status os;
	struct store *st = NULL;
	int64_t delivered;
	int first, nops, dd, ret;

	if ((ret = cmd_parse(&cmd_ship_entry, argc, argv, "", ship_longopts,
			     ship_opt, &a, &first, &nops, &dd)))
		return ret;
	if (nops || dd < argc) {
		error("ship takes no operands");
		return cmd_usage(&cmd_ship_entry, 0);
	}
	/* A store that does not exist has nothing to ship: do not create
	 * one (a mistyped --db would then say "nothing pending"). */
	if (access(ctx->db_path, F_OK)) {
		error("no store at %s (see --db)", escaped(ctx->db_path,
						      strlen(ctx->db_path)));
		return EXIT_STORE;
	}
	if ((ret = store_open(&st, ctx->db_path,
			      a.status ? STORE_READ : STORE_WRITE)))
		return ret;
	if (a.status) {
		ret = print_status(ctx, st, a.format);
		goto out;
	}
	fill_options(ctx, &a, &eo, &so);
	if ((ret = es_client_new(&c, &eo)))
		goto out;
	ret = es_ship(c, st, &so, &stats);
	delivered = stats.created + stats.existed;
	/* A run that failed before delivering anything says so in its
	 * error alone. */
	if ((!ret || delivered || stats.dead) && !store_outbox_status(st, &os) &&
	    (verbosity || a.format == FMT_JSON)) {
		if (a.format == FMT_JSON)
			printf("{\"fimscan\": 1, \"delivered\": %lld, "
			       "\"created\": %lld, \"existed\": %lld, "
			       "\"dead\": %lld, \"retried\": %lld, "
			       "\"requests\": %lld, \"bytes\": %lld, "
			       "\"bytes_gzip\": %lld, \"pending\": %lld}\n",
			       (long long)delivered, (long long)stats.created,
			       (long long)stats.existed, (long long)stats.dead,
			       (long long)stats.retried,
			       (long long)stats.requests,
			       (long long)stats.raw_bytes,
			       (long long)stats.wire_bytes,
			       (long long)os.pending);
		else
			printf("shipped to %s: %lld delivered (%lld already "
			       "stored), %lld dead letters, %lld pending\n",
			       es_client_url(c), (long long)delivered,
			       (long long)stats.existed, (long long)stats.dead,
			       (long long)os.pending);
	}
out:
	es_client_free(c);
	store_close(st);
	return ret;
}

const struct cmd_entry cmd_ship_entry = {
	.name = "ship",
	.usage = "fimscan ship [--status] [--format text|json] [--es-url url] "
		 "[--api-key-file file] [--namespace ns]",
	.summary = "send the events waiting in the outbox to Elasticsearch",
	.options =
		"  --status            show what is waiting, delivered, dead-\n"
		"                      lettered and dropped; send nothing\n"
		"  --format text|json  output format (default text)\n"
		"  --es-url url        Elasticsearch (default: the config's\n"
		"                      'elasticsearch' setting)\n"
		"  --api-key-file file a file holding the API key\n"
		"  --namespace ns      send every event to this namespace of\n"
		"                      logs-fimscan.events-*\n",
	.flags = 0,
	.exec = cmd_ship_exec,
};
