/*
 * hash.c: one read pass over an open file, feeding every configured
 * algorithm (OpenSSL 3 EVP).
 *
 * A hasher belongs to one thread. Everything that costs something is done
 * once in scan_hasher_new(): the EVP_MD fetches (a provider lookup each),
 * the contexts (reset per file with EVP_DigestInit_ex2) and the read
 * buffer, so hashing a file allocates nothing.
 *
 * Reading stops as soon as more than e->size bytes have come: the file
 * grew since its fstat, the caller sees *bytes_read != size and will not
 * keep the hash, and a file appended to as fast as we read cannot keep a
 * worker busy forever.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "platform/platform.h"
#include "scanner/chunk.h"
#include "scanner/scanner.h"

/* Large enough to amortize read(2), small enough to stay in L2. */
#define HASH_BUF_SIZE (256 * 1024)

struct scan_hasher {
	size_t n;                         /* algorithms, in configured order */
	struct {
		EVP_MD *md;
		EVP_MD_CTX *ctx;
		unsigned char id;         /* enum fim_hash_id */
		unsigned char len;        /* digest bytes */
	} a[ARRAY_SIZE(((struct fim_config *)0)->hash_ids)];
	unsigned char *buf;               /* HASH_BUF_SIZE bytes */
	EVP_MD_CTX *prefix;               /* scratch for the append proof */
	struct chunker ck;
	int no_chunks;                    /* FIMSCAN_NO_CHUNKS=1 (benchmarks) */
};

void scan_hasher_free(struct scan_hasher *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		EVP_MD_CTX_free(h->a[i].ctx);
		EVP_MD_free(h->a[i].md);
	}
	free(h->buf);
	EVP_MD_CTX_free(h->prefix);
	chunker_release(&h->ck);
	free(h);
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

struct scan_hasher *scan_hasher_new(const struct fim_config *cfg,
				    const struct chunk_params *cp)
{
	struct scan_hasher *h = xcalloc(1, sizeof(*h));
	size_t packed = 0;

	if (cfg->nhashes > ARRAY_SIZE(h->a)) {
		error("too many hash algorithms (%zu)", cfg->nhashes);
		goto fail;
	}
	for (size_t i = 0; i < cfg->nhashes; i++) {
		const struct fim_hash_algo *algo =
			hash_algo_by_id(cfg->hash_ids[i]);

		if (!algo) {
			error("unknown hash algorithm id %d", cfg->hash_ids[i]);
			goto fail;
		}
		packed += 2 + algo->len;
		if (packed > FIM_HASH_BUF) {
			error("too many hash algorithms");
			goto fail;
		}
		h->a[h->n].id = (unsigned char)algo->id;
		h->a[h->n].len = (unsigned char)algo->len;
		h->a[h->n].md = EVP_MD_fetch(NULL, algo->evp_name, NULL);
		if (!h->a[h->n].md) {
			error("hash algorithm %s is not available in "
			      "OpenSSL: %s", algo->name, ssl_reason());
			goto fail;
		}
		h->a[h->n].ctx = EVP_MD_CTX_new();
		h->n++;
		if (!h->a[h->n - 1].ctx)
			die("out of memory");
		if ((unsigned)EVP_MD_get_size(h->a[h->n - 1].md) != algo->len) {
			error("hash algorithm %s: unexpected digest size %d",
			      algo->name, EVP_MD_get_size(h->a[h->n - 1].md));
			goto fail;
		}
	}
	h->buf = xmalloc(HASH_BUF_SIZE);
	/* A benchmark knob (scanner.h), read once per hasher. */
	h->no_chunks = getenv("FIMSCAN_NO_CHUNKS") &&
		       !strcmp(getenv("FIMSCAN_NO_CHUNKS"), "1");
	if (!(h->prefix = EVP_MD_CTX_new()))
		die("out of memory");
	/* one chunker per hasher, reset per file: no allocation per file */
	chunker_init(&h->ck, cp, NULL);
	return h;
fail:
	scan_hasher_free(h);
	return NULL;
}

static int ssl_fail(void)
{
	/* digest failures are internal errors; report them as EIO */
	error("hashing failed: %s", ssl_reason());
	errno = EIO;
	return -1;
}

/*
 * The append proof: the old version's digest equals the digest of the
 * new file's first old-size bytes. Called with the algorithm whose
 * context has seen exactly those bytes; a copy is finalized, so the
 * running hash goes on untouched.
 */
static int check_prefix(struct scan_hasher *h, size_t i, struct fim_entry *e)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned len = 0;

	if (!EVP_MD_CTX_copy_ex(h->prefix, h->a[i].ctx) ||
	    !EVP_DigestFinal_ex(h->prefix, md, &len))
		return ssl_fail();
	if (len == e->prev.len && !memcmp(md, e->prev.digest, len))
		e->prefix = e->prev.born;
	return 0;
}

/* Index of the algorithm the append proof uses, or h->n for none. */
static size_t prefix_algo(const struct scan_hasher *h,
			  const struct fim_entry *e)
{
	size_t i = h->n;

	if (e->prev.born && e->prev.alg && e->prev.size &&
	    e->prev.size < e->size)
		for (i = 0; i < h->n && h->a[i].id != e->prev.alg; i++)
			;
	return i;
}

int scan_hash_fd(struct scan_hasher *h, int fd, struct fim_entry *e,
		 uint64_t *bytes_read)
{
	uint64_t total = 0, limit = e->size;
	size_t off = 0, pa = prefix_algo(h, e);
	/*
	 * A file no longer than the minimum chunk is one chunk: the store
	 * keeps no list for it (clist 0), so it is not chunked at all, unless
	 * its content is kept, which needs the chunk's id. Most files of a
	 * system tree are that small.
	 */
	int chunk = !h->no_chunks && (e->keep || e->size > h->ck.p->min);

	*bytes_read = 0;
	e->hashes_len = 0;
	e->prefix = 0;
	strbuf_reset(&e->chunks);
	strbuf_reset(&e->data);
	if (chunk)
		chunker_reset(&h->ck, &e->chunks);
	/* a file that one read(2) takes needs no readahead advice */
	if (limit > HASH_BUF_SIZE)
		plat_advise_sequential(fd);
	for (size_t i = 0; i < h->n; i++)
		if (!EVP_DigestInit_ex2(h->a[i].ctx, h->a[i].md, NULL))
			return ssl_fail();
	/*
	 * Read the size fstat gave and no more: a file that grew meanwhile
	 * shows in the fstat after hashing (and is retried), so asking for
	 * the end-of-file 0 would only cost every file one more read(2).
	 */
	while (total < limit) {
		uint64_t want = limit - total;
		ssize_t r = plat_read(fd, h->buf, want < HASH_BUF_SIZE ?
					     (size_t)want : HASH_BUF_SIZE);

		if (r < 0) {
			*bytes_read = total;
			return -1;
		}
		if (r == 0)
			break;
		for (size_t i = 0; i < h->n; i++) {
			size_t cut = 0;
			/* stop once at the old size for the append proof */
			if (i == pa && total < e->prev.size &&
			    total + (uint64_t)r >= e->prev.size) {
				cut = (size_t)(e->prev.size - total);
				if (!EVP_DigestUpdate(h->a[i].ctx, h->buf, cut) ||
				    check_prefix(h, i, e))
					return ssl_fail();
			}
			if (!EVP_DigestUpdate(h->a[i].ctx, h->buf + cut,
					      (size_t)r - cut))
				return ssl_fail();
		}
		if (chunk)
			chunker_update(&h->ck, h->buf, (size_t)r);
		if (e->keep)
			strbuf_add(&e->data, h->buf, (size_t)r);
		total += (uint64_t)r;
		if (scan_stop_requested()) {
			*bytes_read = total;
			errno = EINTR;
			return -1;
		}
	}
	*bytes_read = total;
	if (chunk)
		chunker_final(&h->ck);
	for (size_t i = 0; i < h->n; i++) {
		unsigned char *out = e->hashes + off + 2;
		unsigned len = 0;

		e->hashes[off] = h->a[i].id;
		e->hashes[off + 1] = h->a[i].len;
		if (!EVP_DigestFinal_ex(h->a[i].ctx, out, &len) ||
		    len != h->a[i].len)
			return ssl_fail();
		off += 2 + len;
	}
	e->hashes_len = off;
	return 0;
}
