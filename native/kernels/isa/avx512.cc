// The generic kernel families (generic_kernels.h) compiled for AVX-512 (F + BW + DQ + VL).
#include "includes.h"

#if ATTNKIT_X86_64
#include <immintrin.h>
#define ATTNKIT_VEC_HEADER "../vec/vec_avx512.h"
ATTNKIT_TARGET_AVX512_BEGIN
#include "instantiate.h"
ATTNKIT_TARGET_END
ATTNKIT_GENERIC_ENTRY_POINTS(avx512)
#endif
