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
	free(h);
}

static const char *ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

struct scan_hasher *scan_hasher_new(const struct fim_config *cfg)
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

int scan_hash_fd(struct scan_hasher *h, int fd, struct fim_entry *e,
		 uint64_t *bytes_read)
{
	uint64_t total = 0, limit = e->size;
	size_t off = 0;

	*bytes_read = 0;
	e->hashes_len = 0;
	plat_advise_sequential(fd);
	for (size_t i = 0; i < h->n; i++)
		if (!EVP_DigestInit_ex2(h->a[i].ctx, h->a[i].md, NULL))
			return ssl_fail();
	for (;;) {
		ssize_t r = plat_read(fd, h->buf, HASH_BUF_SIZE);

		if (r < 0) {
			*bytes_read = total;
			return -1;
		}
		if (r == 0)
			break;
		total += (uint64_t)r;
		for (size_t i = 0; i < h->n; i++)
			if (!EVP_DigestUpdate(h->a[i].ctx, h->buf, (size_t)r))
				return ssl_fail();
		if (scan_stop_requested()) {
			*bytes_read = total;
			errno = EINTR;
			return -1;
		}
		if (total > limit)
			break;
	}
	*bytes_read = total;
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
