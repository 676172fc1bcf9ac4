/*
 * xxh-avx2.c: the AVX2 variant of XXH3-128 (see xxh.h). Built with
 * -mavx2 on x86-64 only, and only ever called after the CPU said it has
 * AVX2 (xxh.c).
 */
#include <string.h>

#define XXH_VECTOR XXH_AVX2
#define XXH_IMPL_NAME xxh_impl_avx2
#define XXH_IMPL_LABEL "avx2"
#define XXH_IMPL_ZEROUPPER 1
#include "scanner/xxh-impl.h"
