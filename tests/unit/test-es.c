/*
 * test-es.c: the Elasticsearch sink's parts that need no server: the
 * strict bulk-response parser (also fed every prefix and thousands of
 * mutations of real answers: it must refuse or parse, never crash or
 * read out of bounds), backoff and Retry-After, the namespace rewrite,
 * and the outbox in the store (counters that reconcile).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report/es.h"
#include "test.h"

static const char full_answer[] =
	"{\"took\":30,\"errors\":true,\"items\":["
	"{\"create\":{\"_index\":\"logs-fimscan.events-default\",\"_id\":\"a1\","
	"\"_version\":1,\"result\":\"created\",\"_shards\":{\"total\":2,"
	"\"successful\":1,\"failed\":0},\"_seq_no\":0,\"_primary_term\":1,"
	"\"status\":201}},"
	"{\"create\":{\"_index\":\"logs-fimscan.events-default\",\"_id\":\"b2\","
	"\"status\":409,\"error\":{\"type\":\"version_conflict_engine_exception\","
	"\"reason\":\"[b2]: version conflict, document already exists "
	"(current version [1])\",\"index_uuid\":\"x\",\"shard\":\"0\","
	"\"index\":\"logs-fimscan.events-default\"}}},"
	"{\"create\":{\"_id\":\"c3\",\"status\":429,\"error\":{\"type\":"
	"\"es_rejected_execution_exception\",\"reason\":\"rejected\"}}},"
	"{\"create\":{\"_id\":\"d4\",\"status\":400,\"error\":{\"type\":"
	"\"document_parsing_exception\",\"reason\":\"[1:2] failed to parse "
	"field [file.size] of type [long] \\u00e9\\ud83d\\ude00\","
	"\"caused_by\":{\"type\":\"x\",\"reason\":\"y\",\"caused_by\":"
	"{\"type\":\"z\"}}}}},"
	"{\"create\":{\"_id\":\"e5\",\"status\":503,\"error\":{\"type\":"
	"\"unavailable_shards_exception\",\"reason\":\"primary\"}}}"
	"]}";

DEFINE_TEST(test_es_bulk_parse_answer)
{
	struct es_bulk_item it[5];

	assert_int(es_bulk_parse(full_answer, strlen(full_answer), it, 5), 0);
	assert_int(it[0].status, 201);
	assert_int(it[0].fate, ES_CREATED);
	assert_str(it[0].id, "a1");
	assert_int(it[1].fate, ES_EXISTED);
	assert_str(it[1].type, "version_conflict_engine_exception");
	assert_int(it[2].fate, ES_RETRY);
	assert_int(it[3].fate, ES_DEAD);
	assert_str(it[3].type, "document_parsing_exception");
	/* \u escapes decoded, a surrogate pair included */
	assert_true(strstr(it[3].reason, "[long] \xc3\xa9\xf0\x9f\x98\x80") != NULL);
	assert_int(it[4].fate, ES_RETRY);
	/* the number of items must be the number sent */
	assert_int(es_bulk_parse(full_answer, strlen(full_answer), it, 4), -1);
	assert_int(es_bulk_parse(full_answer, strlen(full_answer), it, 6), -1);
}

DEFINE_TEST(test_es_bulk_parse_filtered)
{
	/* ?filter_path=errors,items.*.error,items.*.status,items.*._id */
	static const char a[] =
		" {\"errors\" : false , \"items\" : [ {\"create\":{\"_id\":"
		"\"x\",\"status\":201}}, {\"create\":{\"status\":200}} ] }\r\n";
	struct es_bulk_item it[2];

	assert_int(es_bulk_parse(a, strlen(a), it, 2), 0);
	assert_int(it[0].fate, ES_CREATED);
	assert_int(it[1].fate, ES_CREATED);
	assert_str(it[1].id, "");
}

DEFINE_TEST(test_es_bulk_parse_refuses)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{}",                                       /* no items */
		"{\"items\":{}}",
		"{\"items\":[]}x",
		"{\"items\":[{\"create\":{\"status\":201}}]} {}",
		"{\"items\":[{\"index\":{\"status\":201}}]}", /* not create */
		"{\"items\":[{\"create\":{\"status\":201},\"x\":{}}]}",
		"{\"items\":[{\"create\":{}}]}",             /* no status */
		"{\"items\":[{\"create\":{\"status\":\"201\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201.0}}]}",
		"{\"items\":[{\"create\":{\"status\":99}}]}",
		"{\"items\":[{\"create\":{\"status\":600}}]}",
		"{\"items\":[{\"create\":{\"status\":302}}]}",
		"{\"items\":[{\"create\":{\"status\":-201}}]}",
		"{\"items\":[{\"create\":{\"status\":0201}}]}",
		"{\"items\":[{\"create\":{\"status\":201,}}]}",
		"{\"items\":[{\"create\":{\"status\":201}},]}",
		"{\"items\":[{\"create\":{\"status\":201}}],\"items\":[]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":5}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"\\x\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"\\ud800\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"\\udc00\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"\xc3\x28\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"\xed\xa0\x80\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"\xc0\xaf\"}}]}",
		"{\"items\":[{\"create\":{\"status\":201,\"_id\":\"a\nb\"}}]}",
		"{\"errors\":1,\"items\":[{\"create\":{\"status\":201}}]}",
		"{\"items\":[{\"create\":{\"status\":201}}],\"took\":1e}",
		"{\"items\":[{\"create\":{\"status\":201}}],\"took\":-}",
		"{\"items\":[{\"create\":{\"status\":201}}],\"took\":tru}",
		"{'items':[]}",
		"{\"items\":[{\"create\":{\"status\":201}}]",
	};
	struct es_bulk_item it[1];

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (es_bulk_parse(bad[i], strlen(bad[i]), it, 1) != -1)
			test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
	}
	assert_int(es_bulk_parse(NULL, 0, it, 1), -1);
	/* an _id too long to compare is refused, not truncated */
	{
		struct strbuf sb = STRBUF_INIT;
		strbuf_addstr(&sb, "{\"items\":[{\"create\":{\"status\":201,"
			      "\"_id\":\"");
		for (int i = 0; i < 200; i++)
			strbuf_addch(&sb, 'a');
		strbuf_addstr(&sb, "\"}}]}");
		assert_int(es_bulk_parse(sb.buf, sb.len, it, 1), -1);
		strbuf_release(&sb);
	}
}

DEFINE_TEST(test_es_bulk_parse_deep)
{
	struct strbuf sb = STRBUF_INIT;
	struct es_bulk_item it[1];

	/* 100,000 open brackets: refused by the depth limit, no recursion
	 * to the bottom of the stack. */
	strbuf_addstr(&sb, "{\"items\":[{\"create\":{\"status\":201}}],\"x\":");
	for (int i = 0; i < 100000; i++)
		strbuf_addch(&sb, '[');
	assert_int(es_bulk_parse(sb.buf, sb.len, it, 1), -1);
	strbuf_reset(&sb);
	strbuf_addstr(&sb, "{\"items\":[{\"create\":{\"status\":201}}],\"x\":");
	for (int i = 0; i < 60; i++)
		strbuf_addch(&sb, '[');
	for (int i = 0; i < 60; i++)
		strbuf_addch(&sb, ']');
	strbuf_addch(&sb, '}');
	assert_int(es_bulk_parse(sb.buf, sb.len, it, 1), 0);
	strbuf_release(&sb);
}

/* Each prefix of an answer is refused; a heap copy of exactly that many
 * bytes lets ASan see any read past the end. */
DEFINE_TEST(test_es_bulk_parse_prefixes)
{
	size_t len = strlen(full_answer);
	struct es_bulk_item it[5];

	for (size_t n = 0; n < len; n++) {
		char *p = xmalloc(n ? n : 1);
		memcpy(p, full_answer, n);
		if (es_bulk_parse(p, n, it, 5) != -1)
			test_fail(__FILE__, __LINE__, "prefix %zu accepted", n);
		free(p);
	}
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* A small deterministic fuzz: flips, insertions, deletions, splices. */
DEFINE_TEST(test_es_bulk_parse_mutations)
{
	static const char alphabet[] = "{}[]\":,\\0123456789eE+-.truefalsn "
				       "\x80\xc3\xed\xf4\xff";
	size_t len = strlen(full_answer);
	struct es_bulk_item it[5];
	int accepted = 0;

	for (int round = 0; round < 30000; round++) {
		size_t n = len, cut;
		char *p = xmalloc(len + 16);
		int edits = 1 + rnd() % 4;

		memcpy(p, full_answer, len);
		for (int e = 0; e < edits; e++) {
			size_t at = rnd() % (n ? n : 1);
			switch (rnd() % 4) {
			case 0:
				if (n)
					p[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
				break;
			case 1:
				if (n < len + 15) {
					memmove(p + at + 1, p + at, n - at);
					p[at] = alphabet[rnd() % (sizeof(alphabet) - 1)];
					n++;
				}
				break;
			case 2:
				if (n) {
					memmove(p + at, p + at + 1, n - at - 1);
					n--;
				}
				break;
			default:
				cut = rnd() % (n + 1);
				n = cut;
				break;
			}
		}
		if (!es_bulk_parse(p, n, it, 5)) {
			accepted++;
			for (int i = 0; i < 5; i++)
				assert_true(it[i].fate >= ES_CREATED &&
					    it[i].fate <= ES_DEAD &&
					    it[i].status >= 100 &&
					    it[i].status <= 599);
		}
		es_json_valid(p, n);
		free(p);
	}
	/* some mutations (inside strings, say) still parse */
	assert_true(accepted > 0);
}

DEFINE_TEST(test_es_json_valid)
{
	static const char *const good[] = {
		"{}", "[]", "0", "-0", "1.5e+3", "\"\"", "true", "null",
		" { \"a\" : [ 1 , { } , \"\\u00e9\\n\" ] } ",
		"{\"a\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}",
	};
	static const char *const bad[] = {
		"", " ", "{", "{\"a\"}", "{\"a\":}", "[1,]", "01", "1.", ".5",
		"1e", "+1", "tru", "nul", "\"\\u12\"", "\"a", "{}{}", "\"\t\"",
		"\"\xff\"", "\"\xf5\x80\x80\x80\"", "\"\xe0\x80\xaf\"", "NaN",
		"{\"a\":1,}", "[\"\\ud83d\"]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++)
		if (!es_json_valid(good[i], strlen(good[i])))
			test_fail(__FILE__, __LINE__, "refused: %s", good[i]);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (es_json_valid(bad[i], strlen(bad[i])))
			test_fail(__FILE__, __LINE__, "accepted: %s", bad[i]);
}

DEFINE_TEST(test_es_backoff)
{
	/* Doubling from the base, capped, half fixed and half jitter. */
	for (unsigned a = 0; a < 12; a++) {
		long d = 1000L << (a < 6 ? a : 6);
		if (d > 60000)
			d = 60000;
		for (int i = 0; i < 200; i++) {
			long w = es_backoff_ms(a, 1000, 60000, -1, rnd());
			assert_true(w >= d - d / 2 && w <= d);
		}
	}
	assert_int(es_backoff_ms(0, 1000, 60000, -1, 0), 500);
	assert_int(es_backoff_ms(40, 1000, 60000, -1, 0), 30000);
	assert_int(es_backoff_ms(1000, 1, 10, -1, 5), 10);
	/* Retry-After wins when longer, and is honoured up to an hour. */
	assert_int(es_backoff_ms(0, 1000, 60000, 7000, 0), 7000);
	assert_int(es_backoff_ms(5, 1000, 60000, 0, 0), 16000);
	assert_int(es_backoff_ms(0, 1000, 60000, 99999999, 0), 3600000);
	/* silly settings do not divide by zero or go negative */
	assert_true(es_backoff_ms(3, 0, 0, -1, 12345) >= 1);
}

DEFINE_TEST(test_es_retry_after)
{
	assert_int(es_retry_after_ms("0", 0), 0);
	assert_int(es_retry_after_ms("5", 0), 5000);
	assert_int(es_retry_after_ms("  12 ", 0), 12000);
	assert_int(es_retry_after_ms("99999999999", 0), 3600000);
	assert_int(es_retry_after_ms("1.5", 0), -1);
	assert_int(es_retry_after_ms("soon", 0), -1);
	assert_int(es_retry_after_ms("", 0), -1);
	assert_int(es_retry_after_ms("-3", 0), -1);
	/* Sun, 06 Nov 1994 08:49:37 GMT is 784111777 */
	assert_int(es_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT",
				     784111770), 7000);
	assert_int(es_retry_after_ms("Sun, 06 Nov 1994 08:49:37 GMT",
				     784111790), 0);
}

DEFINE_TEST(test_es_set_namespace)
{
	static const char doc[] =
		"{\"@timestamp\":\"x\",\"fimscan\":{\"namespace\":\"keep\"},"
		"\"data_stream\":{\"type\":\"logs\",\"dataset\":\"fimscan.events\","
		"\"namespace\":\"default\"},\"z\":\"namespace\"}";
	struct strbuf sb = STRBUF_INIT;

	assert_int(es_set_namespace(&sb, doc, strlen(doc), "prod_eu"), 0);
	assert_true(strstr(sb.buf, "\"namespace\":\"prod_eu\"}") != NULL);
	assert_true(strstr(sb.buf, "{\"namespace\":\"keep\"}") != NULL);
	assert_true(es_json_valid(sb.buf, sb.len));
	assert_int(sb.len, strlen(doc) - strlen("default") + strlen("prod_eu"));
	strbuf_reset(&sb);
	assert_int(es_set_namespace(&sb, "{\"a\":1}", 7, "x"), -1);
	assert_int(es_set_namespace(&sb, "{\"data_stream\":{}}", 18, "x"), -1);
	assert_int(es_set_namespace(&sb, "{\"data_stream\":{\"namespace\":1}}",
				    31, "x"), -1);
	assert_int(es_set_namespace(&sb, "not json", 8, "x"), -1);
	assert_int(sb.len, 0);
	strbuf_release(&sb);

	assert_true(es_namespace_ok("default"));
	assert_true(es_namespace_ok("prod_eu_1"));
	assert_true(!es_namespace_ok(""));
	assert_true(!es_namespace_ok("Prod"));
	assert_true(!es_namespace_ok("a-b"));
	assert_true(!es_namespace_ok("a.b"));
	assert_true(!es_namespace_ok("a b"));
	{
		char longns[102];
		memset(longns, 'a', 101);
		longns[101] = '\0';
		assert_true(!es_namespace_ok(longns));
		longns[100] = '\0';
		assert_true(es_namespace_ok(longns));
	}
}

struct collect {
	int64_t seqs[64];
	size_t n;
	size_t stop_at;
};

static int collect_fn(const struct outbox_doc *d, void *data)
{
	struct collect *c = data;

	if (c->stop_at && c->n == c->stop_at)
		return 1;
	c->seqs[c->n++] = d->seq;
	return 0;
}

static void add_docs(struct store *st, int n)
{
	for (int i = 0; i < n; i++) {
		char id[32], doc[64];
		snprintf(id, sizeof(id), "id%d", i);
		snprintf(doc, sizeof(doc), "{\"n\":%d}", i);
		assert_int(store_outbox_add(st, 1, "default", id, doc,
					    strlen(doc)), 0);
	}
}

struct dead_seen {
	int n;
	int64_t seq;
	int status;
	char reason[32];
};

static int dead_fn(const struct outbox_dead_info *d, void *data)
{
	struct dead_seen *s = data;

	s->n++;
	s->seq = d->seq;
	s->status = d->status;
	snprintf(s->reason, sizeof(s->reason), "%s", d->reason);
	return 0;
}

static void reconciles(struct store *st, struct outbox_status *os)
{
	assert_int(store_outbox_status(st, os), 0);
	assert_int(os->enqueued, os->pending + os->delivered + os->dead +
				 os->dropped);
}

DEFINE_TEST(test_outbox_lifecycle)
{
	struct outbox_settle set[4];
	struct outbox_status os;
	struct collect c = { .n = 0 };
	struct store *st;

	assert_int(store_open(&st, "s.db", STORE_WRITE), 0);
	reconciles(st, &os);
	assert_int(os.pending, 0);
	assert_int(os.oldest_seq, 0);
	assert_int(store_outbox_last_seq(st), 0);
	add_docs(st, 10);
	reconciles(st, &os);
	assert_int(os.pending, 10);
	assert_int(os.oldest_seq, 1);
	assert_int(store_outbox_last_seq(st), 10);

	/* read in order, bounded, from a cursor, up to a limit */
	assert_int(store_outbox_read(st, 0, 10, 4, collect_fn, &c), 0);
	assert_int(c.n, 4);
	assert_int(c.seqs[0], 1);
	assert_int(c.seqs[3], 4);
	c.n = 0;
	assert_int(store_outbox_read(st, 7, 9, 100, collect_fn, &c), 0);
	assert_int(c.n, 2);
	assert_int(c.seqs[0], 8);
	c.n = 0;
	c.stop_at = 3;
	assert_int(store_outbox_read(st, 0, 10, 100, collect_fn, &c), 0);
	assert_int(c.n, 3);

	/* settle: delivered, dead letter, retry */
	set[0] = (struct outbox_settle){ .seq = 1, .fate = OUTBOX_DELIVERED };
	set[1] = (struct outbox_settle){ .seq = 2, .fate = OUTBOX_DEAD,
					 .status = 400, .reason = "bad \n doc" };
	set[2] = (struct outbox_settle){ .seq = 3, .fate = OUTBOX_RETRY };
	set[3] = (struct outbox_settle){ .seq = 4, .fate = OUTBOX_DELIVERED };
	assert_int(store_outbox_settle(st, set, 4, 1000), 0);
	reconciles(st, &os);
	assert_int(os.pending, 7);
	assert_int(os.delivered, 2);
	assert_int(os.dead, 1);
	assert_int(os.oldest_seq, 3);
	assert_int(os.oldest_tries, 1);
	/* settling again what is gone counts nothing twice */
	assert_int(store_outbox_settle(st, set, 4, 1000), 0);
	reconciles(st, &os);
	assert_int(os.delivered, 2);
	assert_int(os.dead, 1);
	assert_int(os.oldest_tries, 2);
	{
		struct dead_seen d = { 0 };
		assert_int(store_outbox_dead_foreach(st, 10, dead_fn, &d), 0);
		assert_int(d.n, 1);
		assert_int(d.seq, 2);
		assert_int(d.status, 400);
		assert_str(d.reason, "bad \n doc");
	}

	/* overflow: the oldest go, counted */
	{
		int64_t dropped, first, last;
		assert_int(store_outbox_trim(st, 3, &dropped, &first, &last), 0);
		assert_int(dropped, 4);
		assert_int(first, 3);
		assert_int(last, 7);
		assert_int(store_outbox_trim(st, 3, &dropped, NULL, NULL), 0);
		assert_int(dropped, 0);
	}
	reconciles(st, &os);
	assert_int(os.pending, 3);
	assert_int(os.dropped, 4);
	assert_int(os.oldest_seq, 8);
	c.n = 0;
	c.stop_at = 0;
	assert_int(store_outbox_read(st, 0, 100, 100, collect_fn, &c), 0);
	assert_int(c.n, 3);
	assert_int(store_outbox_prev_snapshot(st, 5), 0);
	store_close(st);

	/* durable: the same after reopening */
	assert_int(store_open(&st, "s.db", STORE_READ), 0);
	reconciles(st, &os);
	assert_int(os.pending, 3);
	assert_int(os.dead, 1);
	store_close(st);
}
