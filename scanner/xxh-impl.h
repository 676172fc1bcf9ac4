/*
 * xxh-impl.h: the body of one XXH3-128 variant (see xxh.h). Included by
 * xxh.c and xxh-avx2.c after they choose XXH_VECTOR and define
 * XXH_IMPL_NAME (the struct xxh_impl to define) and XXH_IMPL_LABEL.
 * Everything is inlined into the including file: nothing here calls the
 * shared library, whose code is built for the baseline CPU.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "scanner/xxh.h"

/*
 * Leave no dirty upper vector state behind: GCC 12 emits no vzeroupper
 * at the end of the AVX2 digest (only of update and reset), and legacy
 * SSE code run next, OpenSSL's SHA-NI among it, then pays for a false
 * dependency on every instruction.
 */
#ifdef XXH_IMPL_ZEROUPPER
#include <immintrin.h>
#define impl_leave() _mm256_zeroupper()
#else
#define impl_leave() ((void)0)
#endif

static void *impl_state_new(void)
{
	return XXH3_createState();
}

static void impl_state_free(void *st)
{
	XXH3_freeState(st);
}

static void impl_reset(void *st)
{
	XXH3_128bits_reset(st);
	impl_leave();
}

static void impl_update(void *st, const void *buf, size_t len)
{
	XXH3_128bits_update(st, buf, len);
	impl_leave();
}

static void impl_digest(const void *st, unsigned char out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits_digest(st));
	memcpy(out, c.digest, 16);
	impl_leave();
}

static void impl_oneshot(const void *buf, size_t len, unsigned char out[16])
{
	XXH128_canonical_t c;

	XXH128_canonicalFromHash(&c, XXH3_128bits(buf, len));
	memcpy(out, c.digest, 16);
	impl_leave();
}

const struct xxh_impl XXH_IMPL_NAME = {
	.name = XXH_IMPL_LABEL,
	.state_new = impl_state_new,
	.state_free = impl_state_free,
	.reset = impl_reset,
	.update = impl_update,
	.digest = impl_digest,
	.oneshot = impl_oneshot,
};
