/*
 * xxh.h: XXH3-128 for chunk ids through the fastest code the CPU runs.
 *
 * Debian's libxxhash is built for baseline x86-64 (SSE2): 12-16 GB/s
 * here, a tenth of a SHA-256 scan's CPU on top of it. The same algorithm
 * compiled for AVX2 runs at ~30 GB/s. XXH3 is defined on bytes, not on
 * the vector width, so every variant gives the same ids (test-chunk
 * checks them against the library); which one runs is decided once, from
 * the CPU.
 *
 * The AVX-512 variant is left out on purpose: libxxhash's own dispatcher
 * picks it and the vector state it leaves behind slowed the SSE code that
 * runs next (memcpy, SHA-NI) up to 8x; AVX2 code compiled here ends each
 * function with vzeroupper.
 */
#ifndef FIMSCAN_XXH_H
#define FIMSCAN_XXH_H

#include <stddef.h>

struct xxh_impl {
	const char *name;                 /* "avx2", "sse2", "generic" */
	void *(*state_new)(void);         /* NULL when out of memory */
	void (*state_free)(void *st);
	void (*reset)(void *st);
	void (*update)(void *st, const void *buf, size_t len);
	/* The digest, canonical (big endian), as chunk ids store it. */
	void (*digest)(const void *st, unsigned char out[16]);
	void (*oneshot)(const void *buf, size_t len, unsigned char out[16]);
};

/* The variant for this CPU (FIMSCAN_XXH=generic forces the baseline). */
const struct xxh_impl *xxh_impl(void);

/* Every compiled-in variant, NULL-terminated, for the tests. */
extern const struct xxh_impl *const xxh_impls[];

#endif
