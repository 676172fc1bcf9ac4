/*
 * bytes.c: the changed byte ranges of modified files (`--bytes`).
 *
 * For each modified regular file: a proven append is one insert at the
 * old end; otherwise the two versions' stored chunk lists are aligned
 * (chunk granularity); where both versions' bytes were kept, each range
 * is refined to the byte. Lists that agree while the hashes differ mean
 * "changed, location unknown": never invented ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "differ/differ.h"
#include "scanner/config.h"

/* Refining reads both sides of a range: past this, stay at chunks. */
#define REFINE_MAX (64ull << 20)

/*
 * The stored list of a version. A file that fit in one chunk has none
 * (clist 0): the whole file is its only chunk, under an id that only has
 * to differ from the other side's (the hashes already say it changed).
 * *have is 0 when no list was recorded at all.
 */
static int version_chunks(struct store *st, const struct fim_entry *e,
			  struct strbuf *blob, struct chunk_entry **out,
			  ssize_t *n, int *have)
{
	int ret;

	*n = 0;
	*have = 0;
	if (e->clist_id > 0) {
		if ((ret = store_clist(st, e->clist_id, blob)))
			return ret;
		uint64_t sum = 0;
		if ((*n = chunk_list_decode(blob->buf, blob->len, out)) < 0)
			goto corrupt;
		/* Offsets come from the lengths: they must add up. */
		for (ssize_t i = 0; i < *n; i++)
			sum += (*out)[i].len;
		if (sum != e->size)
			goto corrupt;
		*have = 1;
	} else if (!e->clist_id) {
		*out = xcalloc(1, sizeof(**out));
		(*out)[0].len = e->size;
		if (e->hashes_len >= 2 + CHUNK_ID_LEN)
			memcpy((*out)[0].id, e->hashes + 2, CHUNK_ID_LEN);
		*n = e->size ? 1 : 0;
		*have = 1;
	}
	return 0;
corrupt:
	error("store %s: chunk list %lld is corrupt (its lengths do not add "
	      "up to the file size)", store_path(st), (long long)e->clist_id);
	return EXIT_STORE;
}

/* Replace chunk-granular ranges with exact ones from kept content. */
static int refine(struct store *st, const struct diff_item *it,
		  const struct range_list *coarse, struct range_list *out)
{
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	int ret = 0;

	for (size_t i = 0; i < coarse->n && !ret; i++) {
		const struct byte_range *r = &coarse->v[i];

		if (r->old_len > REFINE_MAX || r->new_len > REFINE_MAX) {
			range_list_add(out, r->old_off, r->old_len, r->new_off,
				       r->new_len, 0);
			continue;
		}
		strbuf_reset(&a);
		strbuf_reset(&b);
		if ((ret = store_content_read(st, it->old, r->old_off,
					      r->old_len, &a)) ||
		    (ret = store_content_read(st, it->new, r->new_off,
					      r->new_len, &b)))
			break;
		diff_refine((const unsigned char *)a.buf, a.len,
			    (const unsigned char *)b.buf, b.len, r->old_off,
			    r->new_off, out);
	}
	strbuf_release(&a);
	strbuf_release(&b);
	return ret;
}

static int item_bytes(struct store *st, struct diff_item *it, int flags)
{
	struct strbuf la = STRBUF_INIT, lb = STRBUF_INIT;
	struct chunk_entry *ca = NULL, *cb = NULL;
	struct range_list coarse = { 0 };
	ssize_t na, nb;
	int ha, hb, ret;

	it->ranges = xcalloc(1, sizeof(*it->ranges));
	it->content_kept = it->old->content && it->new->content;
	if (it->appended) {
		/* Proven by hashes at scan time: exact without any bytes. */
		range_list_add(it->ranges, it->old->size, 0, it->old->size,
			       it->new->size - it->old->size, 1);
		it->bytes_state = BYTES_APPENDED;
		ret = 0;
		goto content;
	}
	if ((ret = version_chunks(st, it->old, &la, &ca, &na, &ha)) ||
	    (ret = version_chunks(st, it->new, &lb, &cb, &nb, &hb)))
		goto out;
	if (!ha || !hb) {
		it->bytes_state = BYTES_UNKNOWN;
		it->bytes_why = "no chunk list was stored for one version "
				"(taken before byte ranges were recorded)";
		goto out;
	}
	diff_align_chunks(ca, na, cb, nb, &coarse);
	if (!coarse.n) {
		it->bytes_state = BYTES_UNKNOWN;
		it->bytes_why = "the chunk lists agree but the hashes differ";
		goto out;
	}
	if (it->content_kept) {
		if ((ret = refine(st, it, &coarse, it->ranges)))
			goto out;
		it->bytes_state = BYTES_EXACT;
	} else {
		for (size_t i = 0; i < coarse.n; i++)
			range_list_add(it->ranges, coarse.v[i].old_off,
				       coarse.v[i].old_len, coarse.v[i].new_off,
				       coarse.v[i].new_len, 0);
		it->bytes_state = BYTES_CHUNKS;
	}
content:
	if ((flags & DIFF_CONTENT) && it->new->content) {
		it->new_data = xmalloc(sizeof(*it->new_data));
		strbuf_init(it->new_data, 0);
		for (size_t i = 0; i < it->ranges->n && !ret; i++) {
			const struct byte_range *r = &it->ranges->v[i];
			if (r->new_len)
				ret = store_content_read(st, it->new, r->new_off,
							 r->new_len,
							 it->new_data);
		}
	}
out:
	free(ca);
	free(cb);
	range_list_release(&coarse);
	strbuf_release(&la);
	strbuf_release(&lb);
	return ret;
}

int diff_bytes(struct store *st, struct diff_result *r, int flags)
{
	int ret = 0;

	for (size_t i = 0; i < r->n && !ret; i++) {
		struct diff_item *it = r->items[i];
		if (it->kind != DIFF_CHANGED || !it->old || !it->new ||
		    fim_type_of(it->old->mode) != FT_FILE ||
		    fim_type_of(it->new->mode) != FT_FILE ||
		    !(it->attrs & (ATTR_HASH | ATTR_SIZE)) ||
		    it->old->state != FS_OK || it->new->state != FS_OK)
			continue;
		ret = item_bytes(st, it, flags);
	}
	return ret;
}
