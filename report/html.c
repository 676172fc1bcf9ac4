/*
 * html.c: FMT_HTML, one self-contained HTML file: summary figures,
 * charts (changes per snapshot, by top-level directory, by action) and a
 * filterable table of the changes with their attribute changes and byte
 * ranges. Works offline: nothing is fetched, the stylesheet and script
 * are inline (html-template.h) and the data is embedded as JSON.
 *
 * Escaping, once per context:
 *   - the data is JSON (the ECS documents of report_ecs_item(), with
 *     json_add_string's escapes) inside <script type="application/json">;
 *     on top of that every '<', '>' and '&', and U+2028/U+2029, are
 *     written as \u escapes, which only ever occur inside JSON strings, so
 *     no name can close the script element or open a comment, and the
 *     JSON still parses to the same values;
 *   - the script inserts every name and value with textContent (see
 *     html-template.h), never as markup;
 *   - no other data is written into the markup.
 * The Content-Security-Policy allows exactly the inline stylesheet and
 * script (by SHA-256) and no source at all, so even a bug in the above
 * could neither run other script nor fetch anything.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "report/report.h"
#include "report/html-template.h"

#include "report/report-private.h"

/* The chart of changes per snapshot shows at most the newest this many. */
#define HTML_SNAPSHOTS 1000

/* Append JSON to the page: the characters HTML would read as markup, and
 * the JavaScript line terminators, as \u escapes. */
static void add_script_json(struct strbuf *sb, const char *p, size_t len)
{
	strbuf_grow(sb, len);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '<' || c == '>' || c == '&') {
			strbuf_addf(sb, "\\u%04x", c);
		} else if (c == 0xe2 && i + 2 < len &&
			   (unsigned char)p[i + 1] == 0x80 &&
			   ((unsigned char)p[i + 2] == 0xa8 ||
			    (unsigned char)p[i + 2] == 0xa9)) {
			strbuf_addf(sb, "\\u%04x",
				    0x2000 | ((unsigned char)p[i + 2] - 0x80));
			i += 2;
		} else {
			strbuf_addch(sb, c);
		}
	}
}

/* 'sha256-<base64>' of an inline block, for the CSP. */
static void add_csp_hash(struct strbuf *sb, const char *text)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!EVP_Digest(text, strlen(text), md, &len, EVP_sha256(), NULL))
		die("html: SHA-256 is not available");
	strbuf_addstr(sb, "'sha256-");
	base64_add(sb, md, len);
	strbuf_addch(sb, '\'');
}

/* One snapshot for the header and the chart. */
struct snap_row {
	int64_t id, finished_ns, entries, added, removed, changed, warnings;
	int kind;
};

struct snap_ring {
	struct snap_row v[HTML_SNAPSHOTS];
	size_t n;               /* snapshots seen; the newest are kept */
};

static void snap_row_of(struct snap_row *row, const struct snapshot_info *s)
{
	row->id = s->id;
	row->kind = s->kind;
	row->finished_ns = s->finished_ns;
	row->entries = s->entries;
	row->added = s->added;
	row->removed = s->removed;
	row->changed = s->changed;
	row->warnings = s->warnings;
}

static int collect_snapshot(const struct snapshot_info *s, void *data)
{
	struct snap_ring *ring = data;

	snap_row_of(&ring->v[ring->n++ % HTML_SNAPSHOTS], s);
	return 0;
}

static void json_snap_row(struct strbuf *sb, const struct snap_row *s)
{
	strbuf_addf(sb, "{\"id\":%lld,\"kind\":", (long long)s->id);
	json_add_cstr(sb, snap_kind_name(s->kind));
	strbuf_addstr(sb, ",\"time\":");
	json_add_time(sb, s->finished_ns);
	strbuf_addf(sb, ",\"entries\":%lld,\"added\":%lld,\"removed\":%lld,"
		    "\"changed\":%lld,\"warnings\":%lld}",
		    (long long)s->entries, (long long)s->added,
		    (long long)s->removed, (long long)s->changed,
		    (long long)s->warnings);
}

/*
 * The snapshots for the chart: every complete one in the store (the
 * newest HTML_SNAPSHOTS), or, without a store, the two compared.
 */
static void json_snapshots(struct strbuf *sb, const struct diff_result *r,
			   const struct report_opts *o)
{
	struct snap_ring *ring = xcalloc(1, sizeof(*ring));
	size_t n, first;

	if (!o->st || store_snapshot_foreach(o->st, collect_snapshot, ring) ||
	    !ring->n) {
		const struct snapshot_info *lo = &r->a, *hi = &r->b;

		if (lo->id > hi->id) {
			lo = &r->b;
			hi = &r->a;
		}
		ring->n = 0;
		snap_row_of(&ring->v[ring->n++], lo);
		if (hi->id != lo->id)
			snap_row_of(&ring->v[ring->n++], hi);
	}
	n = ring->n < HTML_SNAPSHOTS ? ring->n : HTML_SNAPSHOTS;
	first = ring->n - n;
	strbuf_addstr(sb, "\"snapshots\":[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			strbuf_addch(sb, ',');
		json_snap_row(sb, &ring->v[(first + i) % HTML_SNAPSHOTS]);
	}
	strbuf_addf(sb, "],\"snapshots_total\":%zu", ring->n);
	free(ring);
}

/* Hash algorithm name ("sha3-256") -> its key in ECS documents. */
static void json_hash_keys(struct strbuf *sb)
{
	int first = 1;

	strbuf_addstr(sb, "\"hash_keys\":{");
	for (int id = 1; id < HASH_MAX_ID; id++) {
		const struct fim_hash_algo *h = hash_algo_by_id(id);
		const char *key = report_ecs_hash_key(id, NULL);

		if (!h || !key)
			continue;
		if (!first)
			strbuf_addch(sb, ',');
		first = 0;
		json_add_key(sb, h->name);
		json_add_cstr(sb, key);
	}
	strbuf_addch(sb, '}');
}

static int known_kind(const struct diff_item *it)
{
	return it->kind == DIFF_ADDED || it->kind == DIFF_REMOVED ||
	       it->kind == DIFF_CHANGED;
}

int report_html_diff(const struct diff_result *r, const struct report_opts *o)
{
	struct strbuf sb = STRBUF_INIT, tmp = STRBUF_INIT;
	struct ecs_ctx c;
	const char *host;
	int first = 1;

	ecs_ctx_init(&c, o->ecs_ns);
	host = r->b.host && *r->b.host ? r->b.host : c.host_name;

	strbuf_addstr(&sb,
		"<!DOCTYPE html>\n"
		"<html lang=\"en\">\n"
		"<head>\n"
		"<meta charset=\"utf-8\">\n"
		"<meta name=\"viewport\" content=\"width=device-width, "
		"initial-scale=1\">\n"
		"<meta http-equiv=\"Content-Security-Policy\" content=\""
		"default-src 'none'; script-src ");
	add_csp_hash(&sb, html_js);
	strbuf_addstr(&sb, "; style-src ");
	add_csp_hash(&sb, html_css);
	strbuf_addstr(&sb,
		"; img-src 'none'; base-uri 'none'; form-action 'none'\">\n"
		"<meta name=\"referrer\" content=\"no-referrer\">\n"
		"<meta name=\"generator\" content=\"fimscan " FIMSCAN_VERSION
		"\">\n"
		"<title>fimscan report</title>\n"
		"<style>");
	strbuf_addstr(&sb, html_css);
	strbuf_addstr(&sb,
		"</style>\n"
		"</head>\n"
		"<body>\n"
		"<header id=\"head\"><noscript><h1>fimscan report</h1>"
		"<p>This report draws its tables and charts with JavaScript, "
		"which is off. Its data is the JSON in the script element "
		"fimscan-data of this file.</p></noscript></header>\n"
		"<main id=\"app\"></main>\n"
		"<footer id=\"foot\"></footer>\n"
		"<svg id=\"svg-ns\" width=\"0\" height=\"0\" "
		"aria-hidden=\"true\"></svg>\n"
		"<script type=\"application/json\" id=\"fimscan-data\">\n");

	/* The data: everything but the events, then one event at a time. */
	strbuf_addstr(&tmp, "{\"fimscan\":1,\"version\":\"" FIMSCAN_VERSION
		      "\",\"title\":");
	if (o->title) {
		json_add_cstr(&tmp, o->title);
	} else {
		struct strbuf t = STRBUF_INIT;

		strbuf_addf(&t, "fimscan report: %s", host ? host : "unknown host");
		json_add_string(&tmp, t.buf, t.len);
		strbuf_release(&t);
	}
	strbuf_addstr(&tmp, ",\"host\":");
	json_add_cstr(&tmp, host);
	strbuf_addstr(&tmp, ",\n");
	report_json_snapshot(&tmp, "a", &r->a, 1);
	strbuf_addstr(&tmp, ",\n");
	report_json_snapshot(&tmp, "b", &r->b, 1);
	strbuf_addf(&tmp, ",\n\"summary\":{\"added\":%zu,\"removed\":%zu,"
		    "\"changed\":%zu,\"moved\":%zu,\"warnings\":%lld},\n",
		    r->added, r->removed, r->changed, r->moved,
		    (long long)r->b.warnings);
	json_snapshots(&tmp, r, o);
	strbuf_addstr(&tmp, ",\n");
	json_hash_keys(&tmp);
	strbuf_addstr(&tmp, ",\n\"events\":[");
	add_script_json(&sb, tmp.buf, tmp.len);
	for (size_t i = 0; i < r->n && !ferror(o->out); i++) {
		const struct diff_item *it = r->items[i];

		if (!known_kind(it))
			continue;
		strbuf_reset(&tmp);
		strbuf_addstr(&tmp, first ? "\n" : ",\n");
		first = 0;
		report_ecs_item(&tmp, r, it, &c, o);
		add_script_json(&sb, tmp.buf, tmp.len);
		report_flush(&sb, o->out, REPORT_FLUSH);
	}
	strbuf_addstr(&sb, "]}\n</script>\n<script>");
	strbuf_addstr(&sb, html_js);
	strbuf_addstr(&sb, "</script>\n</body>\n</html>\n");
	report_flush(&sb, o->out, 0);
	strbuf_release(&sb);
	strbuf_release(&tmp);
	return report_finish(o->out);
}
