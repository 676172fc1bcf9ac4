/*
 * chunk.c: Gear-hash content-defined chunking and packed chunk lists.
 *
 * Sections: gear tables, cut finding, the streaming chunker, whole
 * buffers, packed lists.
 *
 * The Gear hash h = (h << 1) + gear[byte] shifts every byte out after 64
 * steps, so h depends only on the last 64 bytes. No cut may happen before
 * `min` bytes, hence rolling can start 64 bytes before `min` (from h = 0)
 * and the cuts are those of a roller that hashes every byte (FastCDC's
 * "skip the minimum"; tests/unit/test-chunk.c checks it against one).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <xxhash.h>

#include "scanner/chunk.h"
#include "scanner/xxh.h"

/* "fimscan1": changing it changes every cut point of every store. */
#define GEAR_SEED 0x66696d7363616e31ull

/*
 * The minimum is 7/8 of the ~8 KiB mean: only the last ~1.1 KiB of each
 * chunk is rolled, which keeps chunking within 15% of a SHA-256 scan's
 * CPU (bench/bytes.sh; min 4 KiB cost 24-30%, 6 KiB ~25%). The price,
 * measured by test-align: after a small edit the cuts take a chunk or
 * more to fall back on the old ones in ~1.5% of cases instead of ~0.5%
 * (more than one neighbour flagged), while the bytes flagged on average
 * drop by a tenth (the sizes vary less).
 */
const struct chunk_params chunk_params_default = {
	.min = 7168, .max = 65536, .bits = 10, .seed = GEAR_SEED
};
/* The first releases' default, still read and written in their stores. */
const struct chunk_params chunk_params_v1_4k = {
	.min = 4096, .max = 65536, .bits = 12, .seed = GEAR_SEED
};
const struct chunk_params chunk_params_tiny = {
	.min = 32, .max = 1024, .bits = 5, .seed = GEAR_SEED
};

/* ---- gear tables ---------------------------------------------------- */

/*
 * One table per seed, computed on first use and never freed: a chunker
 * keeps a pointer to it. Published with a release store so that readers
 * walk the list without the lock; only building a new one takes it.
 */
struct gear_table {
	uint64_t seed;
	uint64_t g[256];
	struct gear_table *next;
};

static _Atomic(struct gear_table *) gear_tables;
static pthread_mutex_t gear_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const struct gear_table *find_table(uint64_t seed)
{
	struct gear_table *t;

	for (t = atomic_load_explicit(&gear_tables, memory_order_acquire); t;
	     t = t->next)
		if (t->seed == seed)
			return t;
	return NULL;
}

static const uint64_t *gear_table(uint64_t seed)
{
	const struct gear_table *found = find_table(seed);
	struct gear_table *t;
	uint64_t x = seed;

	if (found)
		return found->g;
	pthread_mutex_lock(&gear_lock);
	found = find_table(seed);
	if (!found) {
		t = xmalloc(sizeof(*t));
		t->seed = seed;
		for (int i = 0; i < 256; i++)
			t->g[i] = splitmix64(&x);
		t->next = atomic_load_explicit(&gear_tables,
					       memory_order_relaxed);
		atomic_store_explicit(&gear_tables, t, memory_order_release);
		found = t;
	}
	pthread_mutex_unlock(&gear_lock);
	return found->g;
}

static void check_params(const struct chunk_params *p)
{
	if (!p->min || p->max < p->min || p->bits > 64)
		die("bad chunk parameters min=%u max=%u bits=%u", p->min,
		    p->max, p->bits);
}

char *chunk_params_id(const struct chunk_params *p)
{
	const uint64_t *g;
	unsigned char le[256 * 8];
	struct strbuf sb = STRBUF_INIT;

	check_params(p);
	g = gear_table(p->seed);
	/* The table's bytes in a fixed order, whatever the host's. */
	for (int i = 0; i < 256; i++)
		for (int k = 0; k < 8; k++)
			le[i * 8 + k] = (unsigned char)(g[i] >> (8 * k));
	strbuf_addf(&sb, "gear-v1 min=%u max=%u bits=%u table=%016llx",
		    p->min, p->max, p->bits,
		    (unsigned long long)XXH3_64bits(le, sizeof(le)));
	return strbuf_detach(&sb, NULL);
}

const struct chunk_params *chunk_params_known(const char *id)
{
	static const struct chunk_params *const known[] = {
		&chunk_params_default, &chunk_params_v1_4k
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		char *mine = chunk_params_id(known[i]);
		int same = !strcmp(mine, id);

		free(mine);
		if (same)
			return known[i];
	}
	return NULL;
}

/* ---- cut finding ---------------------------------------------------- */

static uint64_t cut_mask(unsigned bits)
{
	return bits ? ~0ull << (64 - bits) : 0;
}

/*
 * Roll over b[0..n) looking for a cut, (h & mask) == 0. Returns how many
 * bytes were rolled, the cut byte included, and sets *cut when one was
 * found. Eight bytes a step: s_k, the gears of the step's first k bytes
 * shifted into place, do not depend on h, so the serial chain through h
 * is one shift and one add per step instead of per byte, and the eight
 * tests (h << k) + s_k run in parallel. About 1.6x the speed of the
 * byte loop here; the loads are what is left.
 */
static size_t roll(const uint64_t *g, uint64_t mask, uint64_t *hp,
		   const unsigned char *b, size_t n, int *cut)
{
	uint64_t h = *hp;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t s1 = g[b[i]];
		uint64_t s2 = (s1 << 1) + g[b[i + 1]];
		uint64_t s3 = (s2 << 1) + g[b[i + 2]];
		uint64_t s4 = (s3 << 1) + g[b[i + 3]];
		uint64_t s5 = (s4 << 1) + g[b[i + 4]];
		uint64_t s6 = (s5 << 1) + g[b[i + 5]];
		uint64_t s7 = (s6 << 1) + g[b[i + 6]];
		uint64_t s8 = (s7 << 1) + g[b[i + 7]];

		if (!(((h << 1) + s1) & mask) || !(((h << 2) + s2) & mask) ||
		    !(((h << 3) + s3) & mask) || !(((h << 4) + s4) & mask) ||
		    !(((h << 5) + s5) & mask) || !(((h << 6) + s6) & mask) ||
		    !(((h << 7) + s7) & mask) || !(((h << 8) + s8) & mask))
			break;          /* the byte loop finds which one */
		h = (h << 8) + s8;
	}
	for (; i < n; i++) {
		h = (h << 1) + g[b[i]];
		if (!(h & mask)) {
			*hp = h;
			*cut = 1;
			return i + 1;
		}
	}
	*hp = h;
	*cut = 0;
	return n;
}

/*
 * The gears of 8 bytes shifted into place, as 8 steps of the roll would
 * add them to h << 8; a tree, so the additions do not wait on each other.
 */
static inline uint64_t gear8(const uint64_t *g, const unsigned char *b)
{
	uint64_t a = (g[b[0]] << 1) + g[b[1]], c = (g[b[2]] << 1) + g[b[3]];
	uint64_t d = (g[b[4]] << 1) + g[b[5]], e = (g[b[6]] << 1) + g[b[7]];

	return (((a << 2) + c) << 4) + (d << 2) + e;
}

/*
 * Advance a chunk in progress (rolling hash *hp, *posp bytes so far) over
 * b[0..len). Returns the bytes consumed (at least one when len > 0) and
 * sets *cut when the chunk ends after them.
 */
static size_t find_cut(const uint64_t *g, const struct chunk_params *p,
		       uint64_t *hp, uint64_t *posp, const unsigned char *b,
		       size_t len, int *cut)
{
	uint64_t h = *hp, pos = *posp, mask = cut_mask(p->bits);
	uint64_t skip = p->min > 64 ? p->min - 64 : 0;
	size_t i = 0, n;

	*cut = 0;
	if (pos < skip) {
		n = len < skip - pos ? len : skip - pos;
		i += n;
		pos += n;
	}
	if (pos < p->min && i < len) {
		/* Warm the window up; no cut is possible yet. */
		size_t end;

		n = len - i < p->min - pos ? len - i : p->min - pos;
		for (end = i + n; i + 8 <= end; i += 8)
			h = (h << 8) + gear8(g, b + i);
		for (; i < end; i++)
			h = (h << 1) + g[b[i]];
		pos += n;
		if (pos == p->min && (!(h & mask) || pos == p->max)) {
			*cut = 1;
			goto out;
		}
	}
	if (pos >= p->min && i < len) {
		/* No cut at pos so far (or the chunk would have ended). */
		n = len - i < p->max - pos ? len - i : p->max - pos;
		n = roll(g, mask, &h, b + i, n, cut);
		i += n;
		pos += n;
		if (pos == p->max)
			*cut = 1;
	}
out:
	*hp = h;
	*posp = pos;
	return i;
}

/* ---- the streaming chunker ------------------------------------------ */

void chunker_init(struct chunker *c, const struct chunk_params *p,
		  struct strbuf *list)
{
	check_params(p);
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->gear = gear_table(p->seed);
	c->x = xxh_impl();
	c->xxh = c->x->state_new();
	if (!c->xxh)
		die("out of memory");
	c->x->reset(c->xxh);
	c->list = list;
	strbuf_init(&c->cur, 0);
}

void chunker_reset(struct chunker *c, struct strbuf *list)
{
	c->h = 0;
	c->pos = 0;
	c->nchunks = 0;
	c->list = list;
	strbuf_reset(&c->cur);
	c->x->reset(c->xxh);
}

static void chunker_cut(struct chunker *c)
{
	struct chunk_entry e;

	c->x->digest(c->xxh, e.id);
	e.len = c->pos;
	chunk_list_add(c->list, e.len, e.id);
	c->nchunks++;
	if (c->keep) {
		if (c->on_chunk)
			c->on_chunk(c->data, &e, c->cur.buf);
		strbuf_reset(&c->cur);
	}
	c->x->reset(c->xxh);
	c->h = 0;
	c->pos = 0;
}

void chunker_update(struct chunker *c, const void *buf, size_t len)
{
	const unsigned char *b = buf;

	while (len) {
		int cut;
		size_t n = find_cut(c->gear, c->p, &c->h, &c->pos, b, len,
				    &cut);

		/* Hash and keep whole spans: one call per chunk or buffer. */
		c->x->update(c->xxh, b, n);
		if (c->keep)
			strbuf_add(&c->cur, b, n);
		b += n;
		len -= n;
		if (cut)
			chunker_cut(c);
	}
}

void chunker_final(struct chunker *c)
{
	if (c->pos)
		chunker_cut(c);
}

void chunker_release(struct chunker *c)
{
	if (c->xxh)
		c->x->state_free(c->xxh);
	c->xxh = NULL;
	strbuf_release(&c->cur);
}

/* ---- whole buffers -------------------------------------------------- */

void chunk_buffer(const struct chunk_params *p, const void *buf, size_t len,
		  struct strbuf *list)
{
	const unsigned char *b = buf;
	const uint64_t *g;
	size_t start = 0, i = 0;
	uint64_t h = 0, pos = 0;

	check_params(p);
	g = gear_table(p->seed);
	/* The same cuts as the chunker, with one-shot hashes of each chunk. */
	while (i < len) {
		int cut;

		i += find_cut(g, p, &h, &pos, b + i, len - i, &cut);
		if (cut || i == len) {
			unsigned char id[CHUNK_ID_LEN];

			chunk_id(b + start, i - start, id);
			chunk_list_add(list, i - start, id);
			start = i;
			h = 0;
			pos = 0;
		}
	}
}

void chunk_id(const void *buf, size_t len, unsigned char id[CHUNK_ID_LEN])
{
	xxh_impl()->oneshot(buf, len, id);
}

/* ---- packed lists --------------------------------------------------- */

void chunk_list_add(struct strbuf *list, uint64_t len, const void *id)
{
	unsigned char v[10 + CHUNK_ID_LEN];
	size_t n = 0;

	do {
		v[n] = (unsigned char)(len & 0x7f);
		len >>= 7;
		if (len)
			v[n] |= 0x80;
		n++;
	} while (len);
	memcpy(v + n, id, CHUNK_ID_LEN);
	strbuf_add(list, v, n + CHUNK_ID_LEN);
}

/*
 * Only the encoding chunk_list_add() writes is accepted (no overlong
 * varints), so a blob that decodes re-encodes to the same bytes and equal
 * lists have equal blobs.
 */
ssize_t chunk_list_decode(const void *blob, size_t len,
			  struct chunk_entry **out)
{
	const unsigned char *b = blob, *end = b + len;
	struct chunk_entry *v;
	size_t n = 0;

	*out = NULL;
	if (!len)
		return 0;
	/* An entry takes at least 17 bytes: a bound that needs no growing. */
	v = xmalloc((len / (1 + CHUNK_ID_LEN) + 1) * sizeof(*v));
	while (b < end) {
		uint64_t x = 0;
		int shift = 0;

		for (;;) {
			unsigned char c;

			if (b == end || shift > 63)
				goto bad;
			c = *b++;
			if (shift == 63 && c > 1)
				goto bad;       /* more than 64 bits */
			x |= (uint64_t)(c & 0x7f) << shift;
			shift += 7;
			if (!(c & 0x80)) {
				if (!c && shift > 7)
					goto bad;   /* overlong */
				break;
			}
		}
		if (!x || end - b < CHUNK_ID_LEN)
			goto bad;
		v[n].len = x;
		memcpy(v[n].id, b, CHUNK_ID_LEN);
		b += CHUNK_ID_LEN;
		n++;
	}
	*out = v;
	return (ssize_t)n;
bad:
	free(v);
	return -1;
}
