// The generic kernel families (generic_kernels.h) compiled for AVX2 + FMA.
#include "includes.h"

#if ATTNKIT_X86_64
#include <immintrin.h>
#define ATTNKIT_VEC_HEADER "../vec/vec_avx2.h"
ATTNKIT_TARGET_AVX2_BEGIN
#include "instantiate.h"
ATTNKIT_TARGET_END
ATTNKIT_GENERIC_ENTRY_POINTS(avx2)
#endif
