/*
 * test-chunk.c: the Gear chunker against a naive roller, independence
 * from read sizes, bounds and average size, packed lists and hostile
 * blobs, first use from several threads. Deterministic: a fixed seed
 * (FIMSCAN_TEST_SEED overrides it to explore).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <xxhash.h>

#include "scanner/chunk.h"
#include "scanner/xxh.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t salt)
{
	const char *env = getenv("FIMSCAN_TEST_SEED");

	rng_state = (env ? strtoull(env, NULL, 0) : 20240607) ^ salt;
}

static uint64_t rnd(void)
{
	return splitmix(&rng_state);
}

/* Uniform in [0, n), n > 0 (the bias is irrelevant here). */
static size_t below(size_t n)
{
	return (size_t)(rnd() % n);
}

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rnd();
}

/* Random, zero, or periodic content: the chunker must not care. */
static unsigned char *make_data(size_t n, int kind)
{
	unsigned char *p = xmalloc(n + 1);
	size_t period = 1 + below(kind == 2 ? 16 : 9000);

	switch (kind) {
	case 0:
		fill_random(p, n);
		break;
	case 1:
		memset(p, 0, n);
		break;
	default:
		fill_random(p, n < period ? n : period);
		for (size_t i = period; i < n; i++)
			p[i] = p[i - period];
		break;
	}
	return p;
}

static size_t decode_all(const struct strbuf *list, struct chunk_entry **out)
{
	ssize_t n = chunk_list_decode(list->buf, list->len, out);

	assert_true(n >= 0);
	return n < 0 ? 0 : (size_t)n;
}

/* The definition, one byte at a time, from the chunker's own table. */
static void naive_chunks(const struct chunk_params *p, const uint64_t *gear,
			 const unsigned char *b, size_t len,
			 struct strbuf *list)
{
	uint64_t mask = p->bits ? ~0ull << (64 - p->bits) : 0;
	uint64_t h = 0, pos = 0;
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		h = (h << 1) + gear[b[i]];
		pos++;
		if ((pos >= p->min && !(h & mask)) || pos == p->max ||
		    i + 1 == len) {
			unsigned char id[CHUNK_ID_LEN];

			chunk_id(b + start, i + 1 - start, id);
			chunk_list_add(list, i + 1 - start, id);
			start = i + 1;
			h = 0;
			pos = 0;
		}
	}
}

static const uint64_t *gear_of(const struct chunk_params *p)
{
	struct strbuf list = STRBUF_INIT;
	struct chunker c;
	const uint64_t *g;

	chunker_init(&c, p, &list);
	g = c.gear;
	chunker_release(&c);
	return g;
}

struct kept {
	struct strbuf bytes;        /* every chunk's bytes, in order */
	size_t n;
	int bad;                    /* a chunk whose id or length was wrong */
};

static void on_chunk(void *data, const struct chunk_entry *e,
		     const void *bytes)
{
	struct kept *k = data;
	unsigned char id[CHUNK_ID_LEN];

	chunk_id(bytes, e->len, id);
	if (memcmp(id, e->id, CHUNK_ID_LEN))
		k->bad++;
	strbuf_add(&k->bytes, bytes, e->len);
	k->n++;
}

/*
 * Stream `data` through a chunker in pieces of `step` bytes (0: random
 * sizes); the list must equal `want` and the kept bytes the input.
 */
static void check_stream(const struct chunk_params *p,
			 const unsigned char *data, size_t len, size_t step,
			 const struct strbuf *want)
{
	struct strbuf list = STRBUF_INIT;
	struct kept k = { STRBUF_INIT, 0, 0 };
	struct chunker c;
	size_t off = 0;

	chunker_init(&c, p, &list);
	c.keep = 1;
	c.on_chunk = on_chunk;
	c.data = &k;
	while (off < len) {
		size_t n = step ? step : 1 + below(below(4) ? 9000 : 200000);

		if (n > len - off)
			n = len - off;
		chunker_update(&c, data + off, n);
		if (!below(8))
			chunker_update(&c, data + off, 0);
		off += n;
	}
	chunker_final(&c);
	if (list.len != want->len || memcmp(list.buf, want->buf, list.len))
		test_fail(__FILE__, __LINE__,
			  "len %zu step %zu: streamed list differs", len, step);
	assert_int(k.bad, 0);
	assert_int(k.n, c.nchunks);
	assert_int(k.n * (1 + CHUNK_ID_LEN) <= list.len, 1);
	assert_mem(k.bytes.buf, k.bytes.len, data, len);
	chunker_release(&c);
	strbuf_release(&list);
	strbuf_release(&k.bytes);
}

/* Every chunk but the last in [min, max], the last in [1, max]. */
static void check_bounds(const struct chunk_params *p,
			 const struct chunk_entry *v, size_t n, size_t len)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		if (v[i].len > p->max || !v[i].len ||
		    (i + 1 < n && v[i].len < p->min))
			test_fail(__FILE__, __LINE__,
				  "chunk %zu of %zu has length %llu", i, n,
				  (unsigned long long)v[i].len);
		sum += v[i].len;
	}
	assert_int(sum, len);
}

/* ---- tests ---------------------------------------------------------- */

DEFINE_TEST(test_chunk_params)
{
	char *id = chunk_params_id(&chunk_params_default);
	char *tiny = chunk_params_id(&chunk_params_tiny);
	struct chunk_params other = chunk_params_default;
	const uint64_t *g = gear_of(&chunk_params_default);
	uint64_t x = chunk_params_default.seed;
	char *oid;

	assert_int(chunk_params_default.min, 7168);
	assert_int(chunk_params_default.max, 65536);
	assert_int(chunk_params_default.bits, 10);
	assert_int(chunk_params_tiny.min, 32);
	assert_int(chunk_params_tiny.max, 1024);
	assert_int(chunk_params_tiny.bits, 5);
	/* The table is splitmix64 of the seed, computed once. */
	for (int i = 0; i < 256; i++)
		assert_true(g[i] == splitmix(&x));
	assert_true(gear_of(&chunk_params_default) == g);

	/*
	 * Frozen: a store records this string and compares it. If this test
	 * fails, every stored chunk list would silently stop matching.
	 */
	assert_str(id, "gear-v1 min=7168 max=65536 bits=10 "
		       "table=96e6e82606fc8847");
	/* The first releases' stores keep their own cuts. */
	oid = chunk_params_id(&chunk_params_v1_4k);
	assert_str(oid, "gear-v1 min=4096 max=65536 bits=12 "
			"table=96e6e82606fc8847");
	assert_true(chunk_params_known(oid) == &chunk_params_v1_4k);
	free(oid);
	assert_true(chunk_params_known(id) == &chunk_params_default);
	assert_true(!strncmp(tiny, "gear-v1 min=32 max=1024 bits=5 table=",
			     37));
	assert_str(tiny + 37, id + 41);
	other.seed++;
	oid = chunk_params_id(&other);
	assert_true(strcmp(oid + 41, id + 41) != 0);
	assert_true(chunk_params_known(oid) == NULL);
	free(oid);
	other = chunk_params_default;
	other.max = 65535;
	oid = chunk_params_id(&other);
	assert_true(strcmp(oid, id) != 0);
	free(oid);
	free(id);
	free(tiny);
}

DEFINE_TEST(test_chunk_empty)
{
	struct strbuf list = STRBUF_INIT;
	struct chunk_entry *v = (void *)1;
	struct chunker c;

	chunk_buffer(&chunk_params_default, "", 0, &list);
	assert_int(list.len, 0);
	chunker_init(&c, &chunk_params_default, &list);
	chunker_update(&c, "x", 0);
	chunker_final(&c);
	assert_int(list.len, 0);
	assert_int(c.nchunks, 0);
	chunker_release(&c);
	assert_int(chunk_list_decode(list.buf, 0, &v), 0);
	assert_true(v == NULL);

	/* One byte: one chunk, whatever the parameters. */
	chunk_buffer(&chunk_params_default, "x", 1, &list);
	assert_int(decode_all(&list, &v), 1);
	assert_int(v[0].len, 1);
	free(v);
	strbuf_release(&list);
}

/* Skipping the first min - 64 bytes must cut exactly where rolling all does. */
DEFINE_TEST(test_chunk_naive)
{
	const struct chunk_params ps[] = {
		chunk_params_default, chunk_params_tiny,
		{ 1, 8, 2, 1 }, { 63, 300, 4, 2 }, { 64, 300, 4, 3 },
		{ 65, 300, 4, 4 }, { 200, 200, 3, 5 }, { 100, 5000, 0, 6 },
		{ 100, 777, 64, 7 }, { 1000, 3000, 1, 8 },
		{ 4096, 65536, 12, 9 },
	};
	size_t cases = 0;

	rng_seed(1);
	for (size_t pi = 0; pi < ARRAY_SIZE(ps); pi++) {
		const struct chunk_params *p = &ps[pi];
		const uint64_t *g = gear_of(p);

		for (int t = 0; t < 40; t++) {
			size_t most = t < 36 ? 3 * p->max + 500 : 1 << 20;
			long long l = t < 8 ? (long long)p->min + t - 4 :
				      t < 12 ? (long long)p->max + t - 10 :
				      (long long)below(most);
			size_t len = l < 0 ? 0 : (size_t)l;
			unsigned char *d = make_data(len, t % 3);
			struct strbuf fast = STRBUF_INIT;
			struct strbuf slow = STRBUF_INIT;

			chunk_buffer(p, d, len, &fast);
			naive_chunks(p, g, d, len, &slow);
			if (fast.len != slow.len ||
			    memcmp(fast.buf, slow.buf, fast.len))
				test_fail(__FILE__, __LINE__,
					  "params %zu len %zu kind %d: cuts "
					  "differ from the naive roller",
					  pi, len, t % 3);
			strbuf_release(&fast);
			strbuf_release(&slow);
			free(d);
			cases++;
		}
	}
	printf("  %zu cases against the naive roller\n", cases);
}

DEFINE_TEST(test_chunk_read_sizes)
{
	static const size_t steps[] = { 1, 7, 4096, 65536, 0, 0 };
	size_t cases = 0;

	rng_seed(2);
	for (int t = 0; t < 60; t++) {
		const struct chunk_params *p =
			t % 4 == 3 ? &chunk_params_tiny : &chunk_params_default;
		size_t len = t < 6 ? p->min - 3 + t :
			     t < 12 ? p->max - 9 + t :
			     t < 14 ? 2 * p->max + t - 13 :
			     t < 57 ? below(300000) :
				      (1u << 20) + below(2u << 20);
		unsigned char *d = make_data(len, t % 3);
		struct strbuf want = STRBUF_INIT;
		struct chunk_entry *v;
		size_t n;

		chunk_buffer(p, d, len, &want);
		n = decode_all(&want, &v);
		check_bounds(p, v, n, len);
		for (size_t s = 0; s < ARRAY_SIZE(steps); s++) {
			/* Byte by byte is slow under ASan: small ones only. */
			if (steps[s] == 1 && len > 140000)
				continue;
			check_stream(p, d, len, steps[s], &want);
			cases++;
		}
		free(v);
		free(d);
		strbuf_release(&want);
	}
	printf("  %zu streamed inputs\n", cases);
}

DEFINE_TEST(test_chunk_average)
{
	size_t len = 8u << 20, n;
	unsigned char *d;
	struct strbuf list = STRBUF_INIT;
	struct chunk_entry *v;
	double avg;

	rng_seed(3);
	d = make_data(len, 0);
	chunk_buffer(&chunk_params_default, d, len, &list);
	n = decode_all(&list, &v);
	check_bounds(&chunk_params_default, v, n, len);
	avg = (double)len / n;
	printf("  default: %zu chunks, average %.0f bytes, list %.3f%% of "
	       "the data\n", n, avg, 100.0 * list.len / len);
	assert_true(avg > 8192 * 0.85 && avg < 8192 * 1.15);
	free(v);

	strbuf_reset(&list);
	chunk_buffer(&chunk_params_tiny, d, 1u << 20, &list);
	n = decode_all(&list, &v);
	check_bounds(&chunk_params_tiny, v, n, 1u << 20);
	avg = (double)(1u << 20) / n;
	printf("  tiny: %zu chunks, average %.1f bytes\n", n, avg);
	assert_true(avg > 64 * 0.85 && avg < 64 * 1.15);
	free(v);
	free(d);

	/* All zeros: h is constant, every chunk is min or max long. */
	d = make_data(1u << 20, 1);
	strbuf_reset(&list);
	chunk_buffer(&chunk_params_default, d, 1u << 20, &list);
	n = decode_all(&list, &v);
	check_bounds(&chunk_params_default, v, n, 1u << 20);
	for (size_t i = 1; i + 1 < n; i++)
		assert_true(v[i].len == v[0].len &&
			    !memcmp(v[i].id, v[0].id, CHUNK_ID_LEN));
	free(v);
	free(d);
	strbuf_release(&list);
}

DEFINE_TEST(test_chunk_ids)
{
	unsigned char d[100], id[CHUNK_ID_LEN];
	XXH128_canonical_t c;

	rng_seed(4);
	fill_random(d, sizeof(d));
	chunk_id(d, sizeof(d), id);
	XXH128_canonicalFromHash(&c, XXH3_128bits(d, sizeof(d)));
	assert_mem(id, CHUNK_ID_LEN, c.digest, CHUNK_ID_LEN);
	/* Canonical means big endian: the high half first. */
	for (int i = 0; i < 8; i++)
		assert_int(id[i], (XXH3_128bits(d, sizeof(d)).high64 >>
				   (56 - 8 * i)) & 0xff);
}

/*
 * Every compiled-in XXH3 variant (scanner/xxh.h) gives the library's
 * values, one-shot and streamed in random pieces, over the lengths where
 * XXH3 switches code paths (0, 1-3, 4-8, 9-16, 17-128, 129-240, stripes
 * of 64, blocks of 1024) and beyond.
 */
DEFINE_TEST(test_chunk_xxh_variants)
{
	size_t lens[] = { 0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241,
			  255, 256, 1023, 1024, 1025, 4096, 65537, 300000 };
	unsigned char *d = xmalloc(300000), got[16];
	size_t checked = 0;

	rng_seed(5);
	fill_random(d, 300000);
	for (size_t v = 0; xxh_impls[v]; v++) {
		const struct xxh_impl *x = xxh_impls[v];
		void *st = x->state_new();

		assert_true(st != NULL);
		for (size_t k = 0; k < ARRAY_SIZE(lens) + 40; k++) {
			size_t len = k < ARRAY_SIZE(lens) ? lens[k]
							  : below(70000);
			XXH128_canonical_t c;

			XXH128_canonicalFromHash(&c, XXH3_128bits(d, len));
			x->oneshot(d, len, got);
			assert_mem(got, 16, c.digest, 16);
			x->reset(st);
			for (size_t off = 0; off < len;) {
				size_t n = 1 + below(k % 2 ? 3000 : 70);

				if (n > len - off)
					n = len - off;
				x->update(st, d + off, n);
				off += n;
			}
			x->digest(st, got);
			assert_mem(got, 16, c.digest, 16);
			checked++;
		}
		x->state_free(st);
		printf("  %s: %zu lengths agree with libxxhash\n", x->name,
		       checked);
		checked = 0;
	}
	/* The one in use is one of them. */
	for (size_t v = 0; xxh_impls[v] != xxh_impl(); v++)
		assert_true(xxh_impls[v + 1] != NULL);
	free(d);
}

/* A malformed blob, in an exact-size heap copy so ASan sees overreads. */
static void check_bad(const char *lit, size_t len, int line)
{
	unsigned char *blob = xmalloc(len);
	struct chunk_entry *v = (void *)1;

	memcpy(blob, lit, len);
	if (chunk_list_decode(blob, len, &v) != -1 || v)
		test_fail(__FILE__, line, "malformed blob accepted");
	free(blob);
}

/* Round trips, every varint width, and malformed blobs by hand. */
DEFINE_TEST(test_chunk_list_codec)
{
	static const uint64_t lens[] = {
		1, 127, 128, 16383, 16384, 65536, (1ull << 35) - 1,
		1ull << 56, (1ull << 63) - 1, 1ull << 63, UINT64_MAX
	};
	unsigned char id[CHUNK_ID_LEN];
	struct strbuf sb = STRBUF_INIT;
	struct chunk_entry *v;
	ssize_t n;

	rng_seed(5);
	for (size_t i = 0; i < ARRAY_SIZE(lens); i++) {
		fill_random(id, sizeof(id));
		chunk_list_add(&sb, lens[i], id);
	}
	n = chunk_list_decode(sb.buf, sb.len, &v);
	assert_int(n, ARRAY_SIZE(lens));
	for (ssize_t i = 0; i < n; i++)
		assert_true(v[i].len == lens[i]);
	free(v);
	/* UINT64_MAX takes all ten bytes */
	assert_int(sb.len, 1 + 1 + 2 + 2 + 3 + 3 + 5 + 9 + 9 + 10 + 10 +
		   ARRAY_SIZE(lens) * CHUNK_ID_LEN);

#define BAD(lit) check_bad(lit, sizeof(lit) - 1, __LINE__)
	BAD("\x80");                                       /* truncated */
	BAD("\x05" "0123456789abcde");                     /* id cut */
	BAD("\x00" "0123456789abcdef");                    /* zero length */
	BAD("\x80\x00" "0123456789abcdef");                /* overlong */
	BAD("\x81\x80\x00" "0123456789abcdef");            /* overlong */
	BAD("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02"
	    "0123456789abcdef");                           /* 2^64 */
	BAD("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x81\x01"
	    "0123456789abcdef");                           /* 11 bytes */
	BAD("\x01" "0123456789abcdef" "\x01");             /* tail */
#undef BAD
	strbuf_release(&sb);
}

/*
 * Mutated and random blobs: never a crash or an out-of-bounds read (the
 * decoder gets exact-size heap copies, so ASan sees any), and whatever
 * decodes re-encodes to the very same bytes.
 */
DEFINE_TEST(test_chunk_list_fuzz)
{
	size_t ok = 0, bad = 0;

	rng_seed(6);
	for (int t = 0; t < 5000; t++) {
		struct strbuf sb = STRBUF_INIT, re = STRBUF_INIT;
		size_t nent = below(6), len;
		unsigned char *blob;
		struct chunk_entry *v;
		ssize_t n;

		for (size_t i = 0; i < nent; i++) {
			unsigned char id[CHUNK_ID_LEN];

			fill_random(id, sizeof(id));
			chunk_list_add(&sb, below(3) ? 1 + below(70000) :
					    rnd() >> below(64), id);
		}
		if (!below(10)) {
			strbuf_reset(&sb);
			for (size_t i = below(60); i; i--)
				strbuf_addch(&sb, (int)rnd());
		}
		for (size_t m = below(4); m; m--) {
			size_t at = sb.len ? below(sb.len) : 0;

			switch (below(5)) {
			case 0:
				if (sb.len)
					sb.buf[at] ^= (char)(1 << below(8));
				break;
			case 1:
				strbuf_setlen(&sb, at);
				break;
			case 2:
				if (sb.len)
					sb.buf[at] = "\0\x80\xff\1"[below(4)];
				break;
			case 3:
				strbuf_addch(&sb, (int)rnd());
				break;
			default:
				if (sb.len) {
					memmove(sb.buf + at, sb.buf + at + 1,
						sb.len - at - 1);
					strbuf_setlen(&sb, sb.len - 1);
				}
				break;
			}
		}
		len = sb.len;
		blob = xmalloc(len ? len : 1);
		memcpy(blob, sb.buf, len);
		n = chunk_list_decode(blob, len, &v);
		if (n < 0) {
			bad++;
		} else {
			for (ssize_t i = 0; i < n; i++) {
				assert_true(v[i].len > 0);
				chunk_list_add(&re, v[i].len, v[i].id);
			}
			assert_mem(re.buf, re.len, blob, len);
			ok++;
		}
		free(v);
		free(blob);
		strbuf_release(&sb);
		strbuf_release(&re);
	}
	printf("  %zu blobs decoded, %zu rejected\n", ok, bad);
	assert_true(ok > 100 && bad > 100);
}

/* First use of a table from several threads at once (the scanner's case). */
struct thread_arg {
	struct chunk_params p;
	const unsigned char *data;
	size_t len;
	struct strbuf list;
	const uint64_t *gear;
};

static void *chunk_thread(void *v)
{
	struct thread_arg *a = v;
	struct chunker c;

	chunker_init(&c, &a->p, &a->list);
	a->gear = c.gear;
	chunker_update(&c, a->data, a->len);
	chunker_final(&c);
	chunker_release(&c);
	return NULL;
}

DEFINE_TEST(test_chunk_threads)
{
	enum { N = 6 };
	struct thread_arg args[N];
	pthread_t th[N];
	size_t len = 300000;
	unsigned char *d;

	rng_seed(7);
	d = make_data(len, 0);
	for (int round = 0; round < 4; round++) {
		uint64_t seed = rnd();

		for (int i = 0; i < N; i++) {
			args[i].p = chunk_params_default;
			args[i].p.seed = seed;
			args[i].data = d;
			args[i].len = len;
			strbuf_init(&args[i].list, 0);
			if (pthread_create(&th[i], NULL, chunk_thread,
					   &args[i])) {
				test_fail(__FILE__, __LINE__, "pthread_create");
				return;
			}
		}
		for (int i = 0; i < N; i++)
			pthread_join(th[i], NULL);
		for (int i = 1; i < N; i++) {
			assert_true(args[i].gear == args[0].gear);
			assert_mem(args[i].list.buf, args[i].list.len,
				   args[0].list.buf, args[0].list.len);
		}
		for (int i = 0; i < N; i++)
			strbuf_release(&args[i].list);
	}
	free(d);
}
