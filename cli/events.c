/*
 * events.c: queue the changes of each snapshot for Elasticsearch.
 *
 * When the config names an Elasticsearch URL, `baseline` and `scan` set
 * this hook as scan_options.before_commit (`watch` calls it from its
 * record hook): inside the snapshot's transaction it compares the
 * previous snapshot with the new one and adds one ECS document per change
 * to the outbox, so the snapshot and its events commit together (kill -9
 * leaves neither). `ship` delivers them, and the `watch` daemon's
 * shipping thread as they come (report/es-shipper.c).
 *
 * The outbox is bounded (outbox-max). When it overflows, the OLDEST
 * pending events are dropped: the newest show the host as it is now, and
 * an intruder who fills the outbox while Elasticsearch is unreachable
 * cannot blind the SOC to what comes after. The drop is loud: a warning
 * on every overflow, a counter that `ship --status` shows, and a
 * coverage-gap event (event.action "coverage_gap") that ships in their
 * place. The dropped changes stay in the store (`fimscan diff`).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cli/cmd.h"
#include "differ/differ.h"
#include "scanner/scanner.h"

/*
 * A coverage-gap event: valid ECS (event.action "coverage_gap", the reason
 * in event.reason and fimscan.gap.reason, when it began in event.start,
 * the subtree in file.path), its _id 40 hex digits like the change
 * events', unique per gap. The dashboard's gap panels select on
 * event.action and group by fimscan.gap.reason.
 */
static void gap_document(struct events_hook *h, struct strbuf *doc,
			 struct strbuf *id, const struct events_gap *g)
{
	const struct ecs_ctx *c = &h->ecs;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	int64_t now = now_ns();

	strbuf_reset(id);
	strbuf_addf(id, "fimscan-gap-v1;%s;%s;%s;%lld;%lld;%lld;%lld",
		    c->host_id ? c->host_id : "",
		    c->host_name ? c->host_name : "", g->reason,
		    (long long)g->snap, (long long)now, (long long)g->first_seq,
		    (long long)g->last_seq);
	/* gaps of several subtrees can be queued in the same instant */
	if (g->path) {
		strbuf_addch(id, ';');
		strbuf_add(id, g->path, g->pathlen);
	}
	if (!EVP_Digest(id->buf, id->len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen < 20)
		die("SHA-256 is not available");
	strbuf_reset(id);
	for (unsigned i = 0; i < 20; i++)
		strbuf_addf(id, "%02x", md[i]);

	strbuf_reset(doc);
	strbuf_addstr(doc, "{\"@timestamp\":\"");
	time_add_rfc3339(doc, now);
	strbuf_addstr(doc, "\",\"ecs\":{\"version\":\"9.4.0\"},"
		      "\"event\":{\"id\":");
	json_add_string(doc, id->buf, id->len);
	strbuf_addstr(doc, ",\"kind\":\"event\",\"category\":[\"file\"],"
		      "\"type\":[\"info\"],\"action\":[\"coverage_gap\"],"
		      "\"module\":\"fimscan\",\"dataset\":\"fimscan.events\","
		      "\"reason\":");
	json_add_string(doc, g->reason, strlen(g->reason));
	if (g->since_ns) {
		strbuf_addstr(doc, ",\"start\":\"");
		time_add_rfc3339(doc, g->since_ns);
		strbuf_addch(doc, '"');
	}
	strbuf_addstr(doc, "},\"message\":");
	json_add_string(doc, g->message, strlen(g->message));
	strbuf_addstr(doc, ",\"data_stream\":{\"type\":\"logs\","
		      "\"dataset\":\"fimscan.events\",\"namespace\":");
	json_add_string(doc, h->ns, strlen(h->ns));
	strbuf_addstr(doc, "},\"host\":{\"name\":");
	json_add_string(doc, c->host_name ? c->host_name : "unknown",
			strlen(c->host_name ? c->host_name : "unknown"));
	if (c->host_id) {
		strbuf_addstr(doc, ",\"id\":");
		json_add_string(doc, c->host_id, strlen(c->host_id));
	}
	strbuf_addstr(doc, "}");
	if (g->path) {
		strbuf_addstr(doc, ",\"file\":{\"path\":");
		json_add_string(doc, g->path, g->pathlen);
		strbuf_addstr(doc, "}");
	}
	strbuf_addstr(doc, ",\"fimscan\":{");
	if (g->snap)
		strbuf_addf(doc, "\"snapshot\":{\"id\":%lld},",
			    (long long)g->snap);
	if (g->path) {
		strbuf_addstr(doc, "\"path_base64\":\"");
		base64_add(doc, g->path, g->pathlen);
		strbuf_addstr(doc, "\",");
	}
	strbuf_addstr(doc, "\"gap\":{\"reason\":");
	json_add_string(doc, g->reason, strlen(g->reason));
	if (g->events >= 0)
		strbuf_addf(doc, ",\"events\":%lld", (long long)g->events);
	if (g->first_seq)
		strbuf_addf(doc, ",\"first_seq\":%lld,\"last_seq\":%lld,"
			    "\"outbox_max\":%lld", (long long)g->first_seq,
			    (long long)g->last_seq, (long long)h->max);
	strbuf_addstr(doc, "}}}");
}

int events_queue_gap(struct events_hook *h, struct store *st,
		     const struct events_gap *g)
{
	struct strbuf doc = STRBUF_INIT, id = STRBUF_INIT;
	int ret;

	gap_document(h, &doc, &id, g);
	ret = store_outbox_add(st, g->snap, h->ns, id.buf, doc.buf, doc.len);
	strbuf_release(&doc);
	strbuf_release(&id);
	return ret;
}

/* Keep the outbox within outbox-max, loudly. */
static int bound_outbox(struct events_hook *h, struct store *st, int64_t snap)
{
	struct strbuf msg = STRBUF_INIT;
	struct events_gap g = { 0 };
	int64_t n, first = 0, last = 0;
	struct outbox_status os;
	int ret;

	if ((ret = store_outbox_status(st, &os)) || os.pending <= h->max)
		return ret;
	/* Room for the gap event that says so. */
	if ((ret = store_outbox_trim(st, h->max - 1, &n, &first, &last)) || !n)
		return ret;
	h->dropped += n;
	warning("the outbox is full (outbox-max %lld): dropped the %lld "
		"oldest events waiting for Elasticsearch (queue numbers %lld "
		"to %lld); their changes stay in the store ('fimscan diff'); "
		"run 'fimscan ship' more often or raise outbox-max",
		(long long)h->max, (long long)n, (long long)first,
		(long long)last);
	strbuf_addf(&msg, "%lld events waiting for Elasticsearch were dropped "
		    "from fimscan's outbox (outbox-max %lld); the changes are "
		    "still in the host's store", (long long)n,
		    (long long)h->max);
	g.snap = snap;
	g.reason = "outbox_overflow";
	g.message = msg.buf;
	g.events = n;
	g.first_seq = first;
	g.last_seq = last;
	ret = events_queue_gap(h, st, &g);
	strbuf_release(&msg);
	return ret;
}

int events_record_gap(struct events_hook *h, struct store *st,
		      const struct events_gap *g)
{
	int ret = events_queue_gap(h, st, g);

	/* a flood of gaps (roots coming and going, subtrees that cannot be
	 * watched) is held to outbox-max as a snapshot's changes are */
	return ret ? ret : bound_outbox(h, st, g->snap);
}

int events_before_commit(struct store *st, int64_t snap, void *data)
{
	struct events_hook *h = data;
	struct store_ref a = { 0 }, b = { .snap = snap };
	struct strbuf doc = STRBUF_INIT, id = STRBUF_INIT;
	struct report_opts ro;
	struct diff_result dr;
	int ret;

	if ((ret = store_outbox_stamp(st, snap)))
		return ret;
	/* The first snapshot has nothing to compare with: no events. */
	if (!(a.snap = store_outbox_prev_snapshot(st, snap)))
		return 0;
	if ((ret = diff_run(st, &a, &b, NULL, NULL, 0, &dr)))
		return ret;
	if (diff_bytes(st, &dr, DIFF_BYTES))
		warning("the events of snapshot %lld go without their changed "
			"byte ranges", (long long)snap);
	memset(&ro, 0, sizeof(ro));
	ro.format = FMT_ECS;
	ro.st = st;
	ro.ecs_ns = h->ns;
	for (size_t i = 0; i < dr.n && !ret; i++) {
		const struct diff_item *it = dr.items[i];

		strbuf_reset(&doc);
		strbuf_reset(&id);
		report_ecs_item(&doc, &dr, it, &h->ecs, &ro);
		report_ecs_id(&id, &dr, it, &h->ecs);
		ret = store_outbox_add(st, snap, h->ns, id.buf, doc.buf,
				       doc.len);
		h->queued++;
	}
	if (!ret)
		ret = bound_outbox(h, st, snap);
	if (!ret && h->queued)
		note("queued %lld events for Elasticsearch",
		     (long long)h->queued);
	diff_result_release(&dr);
	strbuf_release(&doc);
	strbuf_release(&id);
	return ret;
}

int events_hook_init(struct events_hook *h, const struct fim_config *cfg)
{
	memset(h, 0, sizeof(*h));
	if (!cfg->es_url)
		return 0;
	h->ns = cfg->es_namespace ? cfg->es_namespace : "default";
	h->max = cfg->outbox_max;
	ecs_ctx_init(&h->ecs, h->ns);
	return 1;
}
