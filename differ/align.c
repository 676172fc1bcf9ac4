/*
 * align.c: changed byte ranges, from chunk lists and from kept content.
 *
 * Sections: range lists, aligning chunk lists (patience), refining a
 * region to the byte.
 *
 * Every range this file reports is backed by a comparison: chunks are
 * equal only when their lengths and ids are, bytes only when memcmp says
 * so. Precision may degrade on hostile or repetitive input (a gap without
 * unique chunks is one range), correctness never does.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "differ/differ.h"

/* ---- range lists ---------------------------------------------------- */

void range_list_release(struct range_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->alloc = 0;
}

static int range_op_of(uint64_t old_len, uint64_t new_len)
{
	if (!old_len)
		return RANGE_INSERT;
	if (!new_len)
		return RANGE_DELETE;
	return RANGE_MODIFY;
}

void range_list_add(struct range_list *l, uint64_t old_off, uint64_t old_len,
		    uint64_t new_off, uint64_t new_len, int exact)
{
	struct byte_range *r;

	if (!old_len && !new_len)
		return;
	if (l->n) {
		r = &l->v[l->n - 1];
		if (r->old_off + r->old_len == old_off &&
		    r->new_off + r->new_len == new_off) {
			r->old_len += old_len;
			r->new_len += new_len;
			r->op = range_op_of(r->old_len, r->new_len);
			r->exact = r->exact && exact;
			return;
		}
	}
	ALLOC_GROW(l->v, l->n + 1, l->alloc);
	r = &l->v[l->n++];
	r->op = range_op_of(old_len, new_len);
	r->old_off = old_off;
	r->old_len = old_len;
	r->new_off = new_off;
	r->new_len = new_len;
	r->exact = exact;
}

uint64_t range_list_bytes(const struct range_list *l)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < l->n; i++)
		sum += l->v[i].old_len > l->v[i].new_len ? l->v[i].old_len :
							   l->v[i].new_len;
	return sum;
}

/* ---- aligning chunk lists ------------------------------------------- */

/*
 * Patience alignment with an explicit stack of gaps instead of recursion:
 * hostile lists could otherwise nest as deep as they are long, and the
 * scanner's threads have small stacks. Gaps are popped left to right, so
 * ranges come out in offset order.
 *
 * Each gap costs a pass over its chunks; a gap split into a big sub-gap
 * and a tiny one, over and over, would make that quadratic. The total is
 * therefore capped at a few passes over the input: past the cap, a gap is
 * reported whole (coarser, still correct).
 */
#define ALIGN_WORK_FACTOR 32

struct gap {
	size_t la, ha;                 /* old chunks [la, ha) */
	size_t lb, hb;                 /* new chunks [lb, hb) */
	int in_place_done;             /* no equal chunk at equal offsets */
};

/* An id of the gap's old side; 16 bytes, for big gaps stay in cache. */
struct slot {
	uint32_t gen;                  /* in use when == the table's gen */
	uint32_t pa, pb;               /* first occurrences, from gap starts */
	unsigned char na, nb;          /* occurrences per side, up to 2 */
};

struct anchor {
	size_t pa, pb;
};

struct aligner {
	const struct chunk_entry *a, *b;
	uint64_t *offa, *offb;         /* prefix sums of the lengths */
	struct slot *tab;              /* sized for the first, largest gap */
	size_t cap;
	uint32_t gen;
	struct slot **bslot;           /* per new chunk of the gap */
	struct anchor *anc;            /* unique pairs, in new order */
	size_t *tails, *prev;          /* longest increasing subsequence */
	size_t *lis;
	struct gap *stack;
	size_t nstack, astack;
	uint64_t work, budget;
	struct range_list *out;
};

static int entry_eq(const struct chunk_entry *x, const struct chunk_entry *y)
{
	return x->len == y->len && !memcmp(x->id, y->id, CHUNK_ID_LEN);
}

static uint64_t entry_hash(const struct chunk_entry *e)
{
	uint64_t x;

	/* Ids are hashes already; mix anyway, lists are stored input. */
	memcpy(&x, e->id, sizeof(x));
	x ^= e->len * 0x9e3779b97f4a7c15ull;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

/*
 * The slot of `e` among the old chunks from `base` on; with `create`, a
 * new slot records `pa` as the first occurrence.
 */
static struct slot *slot_find(struct aligner *al,
			      const struct chunk_entry *base,
			      const struct chunk_entry *e, size_t mask,
			      int create, uint32_t pa)
{
	size_t i = entry_hash(e) & mask;

	for (;; i = (i + 1) & mask) {
		struct slot *s = &al->tab[i];

		if (s->gen != al->gen) {
			if (!create)
				return NULL;
			s->gen = al->gen;
			s->pa = pa;
			s->na = s->nb = 0;
			return s;
		}
		if (entry_eq(&base[s->pa], e))
			return s;
	}
}

static void push_gap(struct aligner *al, size_t la, size_t ha, size_t lb,
		     size_t hb, int in_place_done)
{
	struct gap *g;

	ALLOC_GROW(al->stack, al->nstack + 1, al->astack);
	g = &al->stack[al->nstack++];
	g->la = la;
	g->ha = ha;
	g->lb = lb;
	g->hb = hb;
	g->in_place_done = in_place_done;
}

static void emit(struct aligner *al, const struct gap *g)
{
	range_list_add(al->out, al->offa[g->la],
		       al->offa[g->ha] - al->offa[g->la], al->offb[g->lb],
		       al->offb[g->hb] - al->offb[g->lb], 0);
}

static void scratch_alloc(struct aligner *al, size_t na, size_t nb)
{
	size_t n = na < nb ? na : nb;

	/* Only old chunks go in: at most half full. */
	al->cap = 16;
	while (al->cap < 2 * na)
		al->cap *= 2;
	al->tab = xcalloc(al->cap, sizeof(*al->tab));
	al->gen = 0;
	al->bslot = xmalloc((nb + 1) * sizeof(*al->bslot));
	/* Unique pairs: at most one per chunk of the smaller side. */
	al->anc = xmalloc((n + 1) * sizeof(*al->anc));
	al->tails = xmalloc((n + 1) * sizeof(*al->tails));
	al->prev = xmalloc((n + 1) * sizeof(*al->prev));
	al->lis = xmalloc((n + 1) * sizeof(*al->lis));
}

/*
 * Longest strictly increasing subsequence of anc[].pa (anc is in new
 * order), O(k log k); its indices into anc go to al->lis, in order.
 */
static size_t longest_increasing(struct aligner *al, size_t k)
{
	size_t len = 0;

	for (size_t i = 0; i < k; i++) {
		size_t lo = 0, hi = len;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (al->anc[al->tails[mid]].pa < al->anc[i].pa)
				lo = mid + 1;
			else
				hi = mid;
		}
		al->prev[i] = lo ? al->tails[lo - 1] : SIZE_MAX;
		al->tails[lo] = i;
		if (lo == len)
			len++;
	}
	for (size_t i = len, j = len ? al->tails[len - 1] : 0; i > 0; i--) {
		al->lis[i - 1] = j;
		j = al->prev[j];
	}
	return len;
}

/*
 * When both sides of a gap have the same byte length, equal chunks at the
 * same offset inside it are matched before anything else. Unique ids
 * cannot anchor repeated content (zero runs, periodic data) and may pair
 * a chunk with its copy a period away; overwrites keep offsets, and this
 * keeps their ranges in place, so that refining them gives exactly the
 * differing bytes. Returns the number of pairs in al->anc, in order.
 */
static size_t in_place_anchors(struct aligner *al, const struct gap *g)
{
	uint64_t ba = al->offa[g->la], bb = al->offb[g->lb];
	size_t i = g->la, j = g->lb, k = 0;

	if (al->offa[g->ha] - ba != al->offb[g->hb] - bb)
		return 0;
	while (i < g->ha && j < g->hb) {
		uint64_t da = al->offa[i] - ba, db = al->offb[j] - bb;

		if (da < db) {
			i++;
		} else if (db < da) {
			j++;
		} else {
			if (entry_eq(&al->a[i], &al->b[j])) {
				al->anc[k].pa = i;
				al->anc[k].pb = j;
				k++;
			}
			i++;
			j++;
		}
	}
	return k;
}

/* Push the gaps between anchors right to left: the leftmost pops first. */
static void push_between(struct aligner *al, const struct gap *g,
			 const size_t *idx, size_t n, int in_place_done)
{
	size_t la = g->ha, lb = g->hb;

	for (size_t i = n; i > 0; i--) {
		const struct anchor *x = &al->anc[idx ? idx[i - 1] : i - 1];

		push_gap(al, x->pa + 1, la, x->pb + 1, lb, in_place_done);
		la = x->pa;
		lb = x->pb;
	}
	push_gap(al, g->la, la, g->lb, lb, in_place_done);
}

/* Split a trimmed gap at its anchors, or report it whole. */
static void align_gap(struct aligner *al, const struct gap *g)
{
	size_t na = g->ha - g->la, nb = g->hb - g->lb, k = 0, nlis, mask;

	if (!na || !nb || al->work > al->budget || na >= UINT32_MAX ||
	    nb >= UINT32_MAX) {
		emit(al, g);
		return;
	}
	al->work += na + nb;
	if (!al->tab)
		scratch_alloc(al, na, nb);
	if (!g->in_place_done) {
		k = in_place_anchors(al, g);
		if (k) {
			/* between in-place anchors, none is left to find */
			push_between(al, g, NULL, k, 1);
			return;
		}
	}
	if (!++al->gen) {
		/* 2^32 gaps: clear the stale marks once. */
		memset(al->tab, 0, al->cap * sizeof(*al->tab));
		al->gen = 1;
	}
	for (mask = 16; mask < 2 * na; mask *= 2)
		;
	mask--;

	for (size_t i = 0; i < na; i++) {
		struct slot *s = slot_find(al, al->a + g->la, &al->a[g->la + i],
					   mask, 1, (uint32_t)i);

		if (s->na++)
			s->na = 2;
	}
	for (size_t j = 0; j < nb; j++) {
		struct slot *s = slot_find(al, al->a + g->la, &al->b[g->lb + j],
					   mask, 0, 0);

		al->bslot[j] = s;
		if (s && !s->nb++)
			s->pb = (uint32_t)j;
		else if (s)
			s->nb = 2;
	}
	for (size_t j = 0; j < nb; j++) {
		struct slot *s = al->bslot[j];

		if (s && s->na == 1 && s->nb == 1) {
			al->anc[k].pa = g->la + s->pa;
			al->anc[k].pb = g->lb + s->pb;
			k++;
		}
	}
	if (!k) {
		emit(al, g);
		return;
	}

	nlis = longest_increasing(al, k);
	push_between(al, g, al->lis, nlis, 0);
}

void diff_align_chunks(const struct chunk_entry *a, size_t na,
		       const struct chunk_entry *b, size_t nb,
		       struct range_list *out)
{
	struct aligner al = { .a = a, .b = b, .out = out };

	al.offa = xmalloc((na + 1) * sizeof(*al.offa));
	al.offb = xmalloc((nb + 1) * sizeof(*al.offb));
	al.offa[0] = al.offb[0] = 0;
	for (size_t i = 0; i < na; i++)
		al.offa[i + 1] = al.offa[i] + a[i].len;
	for (size_t j = 0; j < nb; j++)
		al.offb[j + 1] = al.offb[j] + b[j].len;
	al.budget = (uint64_t)ALIGN_WORK_FACTOR * (na + nb) + 4096;

	push_gap(&al, 0, na, 0, nb, 0);
	while (al.nstack) {
		struct gap g = al.stack[--al.nstack];

		while (g.la < g.ha && g.lb < g.hb &&
		       entry_eq(&a[g.la], &b[g.lb])) {
			g.la++;
			g.lb++;
		}
		while (g.la < g.ha && g.lb < g.hb &&
		       entry_eq(&a[g.ha - 1], &b[g.hb - 1])) {
			g.ha--;
			g.hb--;
		}
		if (g.la < g.ha || g.lb < g.hb)
			align_gap(&al, &g);
	}

	free(al.offa);
	free(al.offb);
	free(al.tab);
	free(al.bslot);
	free(al.anc);
	free(al.tails);
	free(al.prev);
	free(al.lis);
	free(al.stack);
}

/* ---- refining a region to the byte ---------------------------------- */

/*
 * Shifted content is re-aligned with tiny chunks only above this size;
 * below, one exact range costs less than chunking. The depth cap bounds
 * the recursion whatever the content.
 */
#define REFINE_MIN_REALIGN 256
#define REFINE_MAX_DEPTH 16

static size_t common_prefix(const unsigned char *x, const unsigned char *y,
			    size_t n)
{
	size_t i = 0;

	/* memcmp is the fast way to skip long equal stretches. */
	while (n - i >= 256 && !memcmp(x + i, y + i, 256))
		i += 256;
	while (i < n && x[i] == y[i])
		i++;
	return i;
}

static size_t common_suffix(const unsigned char *x, size_t xn,
			    const unsigned char *y, size_t yn)
{
	size_t n = xn < yn ? xn : yn, i = 0;

	while (n - i >= 256 && !memcmp(x + xn - i - 256, y + yn - i - 256, 256))
		i += 256;
	while (i < n && x[xn - i - 1] == y[yn - i - 1])
		i++;
	return i;
}

/* Same lengths: exactly the maximal runs of differing bytes (cmp -l). */
static void emit_runs(const unsigned char *x, const unsigned char *y,
		      size_t n, uint64_t old_base, uint64_t new_base,
		      struct range_list *out)
{
	size_t i = 0;

	while (i < n) {
		size_t start;

		i += common_prefix(x + i, y + i, n - i);
		if (i == n)
			break;
		start = i;
		while (i < n && x[i] != y[i])
			i++;
		range_list_add(out, old_base + start, i - start,
			       new_base + start, i - start, 1);
	}
}

static void refine(const unsigned char *old, size_t oldlen,
		   const unsigned char *new, size_t newlen, uint64_t old_base,
		   uint64_t new_base, int depth, struct range_list *out)
{
	struct strbuf la = STRBUF_INIT, lb = STRBUF_INIT;
	struct chunk_entry *ca = NULL, *cb = NULL;
	struct range_list sub = { 0 };
	ssize_t nca, ncb;
	size_t n;

	n = common_prefix(old, new, oldlen < newlen ? oldlen : newlen);
	old += n;
	new += n;
	oldlen -= n;
	newlen -= n;
	old_base += n;
	new_base += n;
	n = common_suffix(old, oldlen, new, newlen);
	oldlen -= n;
	newlen -= n;

	if (oldlen == newlen) {
		emit_runs(old, new, oldlen, old_base, new_base, out);
		return;
	}
	if (!oldlen || !newlen || depth >= REFINE_MAX_DEPTH ||
	    (oldlen <= REFINE_MIN_REALIGN && newlen <= REFINE_MIN_REALIGN))
		goto whole;

	chunk_buffer(&chunk_params_tiny, old, oldlen, &la);
	chunk_buffer(&chunk_params_tiny, new, newlen, &lb);
	nca = chunk_list_decode(la.buf, la.len, &ca);
	ncb = chunk_list_decode(lb.buf, lb.len, &cb);
	if (nca < 0 || ncb < 0)
		die("chunk_list_decode failed on a list just built");
	diff_align_chunks(ca, nca, cb, ncb, &sub);
	/* One range over everything: nothing to gain by going deeper. */
	if (sub.n == 1 && sub.v[0].old_len == oldlen &&
	    sub.v[0].new_len == newlen)
		sub.n = 0;
	for (size_t i = 0; i < sub.n; i++) {
		const struct byte_range *r = &sub.v[i];

		refine(old + r->old_off, r->old_len, new + r->new_off,
		       r->new_len, old_base + r->old_off,
		       new_base + r->new_off, depth + 1, out);
	}
	n = sub.n;
	strbuf_release(&la);
	strbuf_release(&lb);
	free(ca);
	free(cb);
	range_list_release(&sub);
	if (n)
		return;
whole:
	range_list_add(out, old_base, oldlen, new_base, newlen, 1);
}

void diff_refine(const unsigned char *old, size_t oldlen,
		 const unsigned char *new, size_t newlen, uint64_t old_base,
		 uint64_t new_base, struct range_list *out)
{
	refine(old, oldlen, new, newlen, old_base, new_base, 0, out);
}
