// The generic kernel families (generic_kernels.h) on the portable scalar baseline (always registered).
#include "includes.h"

#define ATTNKIT_VEC_HEADER "../vec/vec_scalar.h"
#include "instantiate.h"
ATTNKIT_GENERIC_ENTRY_POINTS(scalar)
