/*
 * xxh.c: the baseline XXH3-128 variant and the choice between variants
 * (see xxh.h).
 */
#include <stdlib.h>
#include <string.h>

#define XXH_IMPL_NAME xxh_impl_generic
#if defined(__x86_64__) || defined(_M_X64)
#define XXH_IMPL_LABEL "sse2"
#else
#define XXH_IMPL_LABEL "generic"
#endif
#include "scanner/xxh-impl.h"

#ifdef FIMSCAN_XXH_AVX2
extern const struct xxh_impl xxh_impl_avx2;
#endif

const struct xxh_impl *const xxh_impls[] = {
#ifdef FIMSCAN_XXH_AVX2
	&xxh_impl_avx2,
#endif
	&xxh_impl_generic,
	NULL
};

static const struct xxh_impl *choose(void)
{
	const char *force = getenv("FIMSCAN_XXH");

	if (force && !strcmp(force, "generic"))
		return &xxh_impl_generic;
#ifdef FIMSCAN_XXH_AVX2
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		return &xxh_impl_avx2;
#endif
	return &xxh_impl_generic;
}

/*
 * Racing first calls compute the same answer and store the same pointer:
 * an atomic pointer is all the synchronisation needed.
 */
const struct xxh_impl *xxh_impl(void)
{
	static const struct xxh_impl *_Atomic chosen;
	const struct xxh_impl *x = chosen;

	if (!x)
		chosen = x = choose();
	return x;
}
