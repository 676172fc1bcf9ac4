/*
 * bytes.c: changed byte ranges in reports.
 *
 * JSON carries the ranges as the contract says (op, offsets, lengths,
 * exact, and with --content new_data_base64). Text lists the ranges and,
 * with --content, shows them: a unified line diff for text files (hunks
 * are the ranges widened to whole lines, so the view agrees with the
 * ranges by construction) and a hexdump otherwise, bounded by
 * --max-bytes.
 */
#include <string.h>

#include "report/report-private.h"

static const char *op_name(int op)
{
	switch (op) {
	case RANGE_INSERT: return "insert";
	case RANGE_DELETE: return "delete";
	default: return "modify";
	}
}

static const char *state_name(int state)
{
	switch (state) {
	case BYTES_CHUNKS: return "chunks";
	case BYTES_EXACT: return "exact";
	case BYTES_APPENDED: return "appended";
	case BYTES_UNKNOWN: return "unknown";
	default: return "none";
	}
}

void report_json_bytes(struct strbuf *sb, const struct report_opts *o,
		       const struct diff_item *it)
{
	uint64_t data_off = 0;

	if (!it->ranges)
		return;
	strbuf_addf(sb, ",\"bytes\":{\"state\":\"%s\",\"bytes_changed\":%llu",
		    state_name(it->bytes_state),
		    (unsigned long long)range_list_bytes(it->ranges));
	if (it->bytes_state == BYTES_UNKNOWN && it->bytes_why) {
		strbuf_addstr(sb, ",\"location\":\"unknown\",\"reason\":");
		json_add_string(sb, it->bytes_why, strlen(it->bytes_why));
	}
	if (o->content)
		strbuf_addf(sb, ",\"content_available\":%s",
			    it->new_data ? "true" : "false");
	strbuf_addstr(sb, "},\"ranges\":[");
	for (size_t i = 0; i < it->ranges->n; i++) {
		const struct byte_range *r = &it->ranges->v[i];

		strbuf_addf(sb, "%s{\"op\":\"%s\",\"old_offset\":%llu,"
			    "\"old_length\":%llu,\"new_offset\":%llu,"
			    "\"new_length\":%llu,\"exact\":%s", i ? "," : "",
			    op_name(r->op), (unsigned long long)r->old_off,
			    (unsigned long long)r->old_len,
			    (unsigned long long)r->new_off,
			    (unsigned long long)r->new_len,
			    r->exact ? "true" : "false");
		if (it->new_data && r->new_len &&
		    data_off + r->new_len <= it->new_data->len) {
			strbuf_addstr(sb, ",\"new_data_base64\":\"");
			base64_add(sb, it->new_data->buf + data_off, r->new_len);
			strbuf_addch(sb, '"');
			data_off += r->new_len;
		}
		strbuf_addch(sb, '}');
	}
	strbuf_addch(sb, ']');
}

/* ---- text ---------------------------------------------------------- */

/* No NUL and valid UTF-8: show lines, not hex. */
static int looks_text(const struct strbuf *b)
{
	struct strbuf tmp = STRBUF_INIT;
	int text;

	if (memchr(b->buf, 0, b->len))
		return 0;
	/* escaping changes nothing but \ and controls when it is UTF-8 */
	strbuf_add_escaped(&tmp, b->buf, b->len);
	text = 1;
	for (size_t i = 0; i + 3 < tmp.len && text; i++)
		if (tmp.buf[i] == '\\' && tmp.buf[i + 1] == 'x' &&
		    (unsigned char)tmp.buf[i + 2] >= '8')
			text = 0;   /* \x80.. : invalid UTF-8 or C1 */
	strbuf_release(&tmp);
	return text;
}

static uint64_t line_start(const struct strbuf *b, uint64_t off)
{
	while (off > 0 && b->buf[off - 1] != '\n')
		off--;
	return off;
}

static uint64_t line_end(const struct strbuf *b, uint64_t off)
{
	while (off < b->len && b->buf[off] != '\n')
		off++;
	return off < b->len ? off + 1 : off;
}

static uint64_t line_no(const struct strbuf *b, uint64_t off)
{
	uint64_t n = 1;

	for (uint64_t i = 0; i < off && i < b->len; i++)
		n += b->buf[i] == '\n';
	return n;
}

static uint64_t count_lines(const struct strbuf *b, uint64_t a, uint64_t e)
{
	uint64_t n = 0;

	for (uint64_t i = a; i < e; i++)
		n += b->buf[i] == '\n';
	if (e > a && b->buf[e - 1] != '\n')
		n++;
	return n;
}

/* Each line of [a, e) with a prefix, escaped; returns bytes shown. */
static uint64_t add_lines(struct strbuf *sb, const struct strbuf *b,
			  uint64_t a, uint64_t e, char prefix, uint64_t budget)
{
	uint64_t shown = 0;

	while (a < e && shown < budget) {
		uint64_t end = line_end(b, a);
		uint64_t len = (end > e ? e : end) - a;
		int nl = len && b->buf[a + len - 1] == '\n';

		strbuf_addstr(sb, "      ");
		strbuf_addch(sb, prefix);
		strbuf_add_escaped(sb, b->buf + a, len - nl);
		strbuf_addch(sb, '\n');
		shown += len;
		a += len;
	}
	return shown;
}

/*
 * Unified hunks: each range widened to whole lines plus 3 lines of
 * context; overlapping hunks are merged.
 */
static void text_line_diff(struct strbuf *sb, const struct diff_item *it,
			   const struct strbuf *ob, const struct strbuf *nb,
			   uint64_t budget)
{
	const struct range_list *rl = it->ranges;
	uint64_t shown = 0;
	size_t i = 0;

	while (i < rl->n && shown < budget) {
		uint64_t oa = line_start(ob, rl->v[i].old_off);
		uint64_t na = line_start(nb, rl->v[i].new_off);
		uint64_t oe, ne;
		size_t j = i;
		int ctx;

		/* widen to lines and merge ranges whose lines touch */
		for (;;) {
			oe = line_end(ob, rl->v[j].old_off + rl->v[j].old_len);
			ne = line_end(nb, rl->v[j].new_off + rl->v[j].new_len);
			if (j + 1 < rl->n &&
			    line_start(ob, rl->v[j + 1].old_off) <= oe + 0)
				j++;
			else
				break;
		}
		/* context: up to 3 lines before and after */
		uint64_t oc = oa, nc = na, oce = oe, nce = ne;
		for (ctx = 0; ctx < 3 && oc > 0 && nc > 0; ctx++) {
			oc = line_start(ob, oc - 1);
			nc = line_start(nb, nc - 1);
		}
		for (ctx = 0; ctx < 3 && oce < ob->len && nce < nb->len; ctx++) {
			oce = line_end(ob, oce);
			nce = line_end(nb, nce);
		}
		strbuf_addf(sb, "      @@ -%llu,%llu +%llu,%llu @@\n",
			    (unsigned long long)line_no(ob, oc),
			    (unsigned long long)count_lines(ob, oc, oce),
			    (unsigned long long)line_no(nb, nc),
			    (unsigned long long)count_lines(nb, nc, nce));
		shown += add_lines(sb, ob, oc, oa, ' ', budget - shown);
		/* inside a merged hunk, equal stretches between ranges are
		 * shown as context too */
		for (size_t k = i; k <= j && shown < budget; k++) {
			uint64_t ro = line_start(ob, rl->v[k].old_off);
			uint64_t rn = line_start(nb, rl->v[k].new_off);
			uint64_t roe = line_end(ob, rl->v[k].old_off +
						rl->v[k].old_len);
			uint64_t rne = line_end(nb, rl->v[k].new_off +
						rl->v[k].new_len);
			if (k > i && ro > oa)
				shown += add_lines(sb, ob, oa, ro, ' ',
						   budget - shown);
			if (ro < oa)
				ro = oa;
			if (rn < na)
				rn = na;
			shown += add_lines(sb, ob, ro, roe, '-', budget - shown);
			shown += add_lines(sb, nb, rn, rne, '+', budget - shown);
			oa = roe > oa ? roe : oa;
			na = rne > na ? rne : na;
		}
		shown += add_lines(sb, ob, oe, oce, ' ', budget - shown);
		i = j + 1;
	}
	if (shown >= budget)
		strbuf_addf(sb, "      ... (more than --max-bytes %llu)\n",
			    (unsigned long long)budget);
}

static void hexdump(struct strbuf *sb, char sign, uint64_t base,
		    const unsigned char *p, uint64_t len)
{
	for (uint64_t i = 0; i < len; i += 16) {
		uint64_t n = len - i < 16 ? len - i : 16;

		strbuf_addf(sb, "      %c%08llx ", sign,
			    (unsigned long long)(base + i));
		for (uint64_t k = 0; k < 16; k++) {
			if (k < n)
				strbuf_addf(sb, " %02x", p[i + k]);
			else
				strbuf_addstr(sb, "   ");
		}
		strbuf_addstr(sb, "  |");
		for (uint64_t k = 0; k < n; k++)
			strbuf_addch(sb, p[i + k] >= 0x20 && p[i + k] < 0x7f ?
				     p[i + k] : '.');
		strbuf_addstr(sb, "|\n");
	}
}

static void text_hexdump(struct strbuf *sb, const struct diff_item *it,
			 const struct strbuf *ob, const struct strbuf *nb,
			 uint64_t budget)
{
	uint64_t shown = 0, data_off = 0;

	for (size_t i = 0; i < it->ranges->n && shown < budget; i++) {
		const struct byte_range *r = &it->ranges->v[i];
		uint64_t ol = r->old_len, nl = r->new_len;

		if (ob && r->old_off + ol <= ob->len) {
			/* leave half of what is left for the new bytes */
			uint64_t half = (budget - shown + 1) / 2;
			ol = ol > half ? half : ol;
			hexdump(sb, '-', r->old_off,
				(const unsigned char *)ob->buf + r->old_off, ol);
			shown += ol;
		}
		if (nb && r->new_off + nl <= nb->len) {
			nl = nl > budget - shown ? budget - shown : nl;
			hexdump(sb, '+', r->new_off,
				(const unsigned char *)nb->buf + r->new_off, nl);
			shown += nl;
		} else if (it->new_data && data_off + nl <= it->new_data->len) {
			uint64_t l = nl > budget - shown ? budget - shown : nl;
			hexdump(sb, '+', r->new_off, (const unsigned char *)
				it->new_data->buf + data_off, l);
			shown += l;
		}
		data_off += r->new_len;
	}
	if (shown >= budget)
		strbuf_addf(sb, "      ... (more than --max-bytes %llu)\n",
			    (unsigned long long)budget);
}

void report_text_bytes(struct strbuf *sb, const struct report_opts *o,
		       const struct diff_item *it)
{
	struct strbuf ob = STRBUF_INIT, nb = STRBUF_INIT;
	int have_old = 0, have_new = 0;

	if (!it->ranges)
		return;
	if (it->bytes_state == BYTES_UNKNOWN) {
		strbuf_addf(sb, "    bytes   changed, location unknown (%s)\n",
			    it->bytes_why ? it->bytes_why : "no detail");
		return;
	}
	strbuf_addf(sb, "    bytes   %llu changed in %zu range%s (%s)\n",
		    (unsigned long long)range_list_bytes(it->ranges),
		    it->ranges->n, it->ranges->n == 1 ? "" : "s",
		    it->bytes_state == BYTES_EXACT ? "exact" :
		    it->bytes_state == BYTES_APPENDED ? "appended, proven" :
		    "chunk granularity");
	for (size_t i = 0; i < it->ranges->n; i++) {
		const struct byte_range *r = &it->ranges->v[i];
		strbuf_addf(sb, "      %-6s old %llu+%llu  new %llu+%llu\n",
			    op_name(r->op), (unsigned long long)r->old_off,
			    (unsigned long long)r->old_len,
			    (unsigned long long)r->new_off,
			    (unsigned long long)r->new_len);
	}
	if (!o->content || !o->max_bytes || !o->st)
		return;
	if (it->old->content &&
	    !store_content_read(o->st, it->old, 0, it->old->size, &ob))
		have_old = 1;
	if (it->new->content &&
	    !store_content_read(o->st, it->new, 0, it->new->size, &nb))
		have_new = 1;
	if (have_old && have_new && looks_text(&ob) && looks_text(&nb))
		text_line_diff(sb, it, &ob, &nb, o->max_bytes);
	else if (have_new || it->new_data)
		text_hexdump(sb, it, have_old ? &ob : NULL,
			     have_new ? &nb : NULL, o->max_bytes);
	else
		strbuf_addstr(sb, "      (content not kept: use --keep-content "
			      "or a 'content' rule to see the bytes)\n");
	strbuf_release(&ob);
	strbuf_release(&nb);
}
