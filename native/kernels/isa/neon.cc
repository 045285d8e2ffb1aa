// The generic kernel families (generic_kernels.h) on arm64 NEON (baseline there: no region).
// Compiles to nothing off arm64.
#include "includes.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>
#define ATTNKIT_VEC_HEADER "../vec/vec_neon.h"
#include "instantiate.h"
ATTNKIT_GENERIC_ENTRY_POINTS(neon)
#endif
