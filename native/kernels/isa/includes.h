// What every per-ISA file of the generic families includes, before it opens its ISA region (no
// header may be included inside a region: see attnkit/isa_region.h).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <vector>

#include "attnkit/adamStep.h"
#include "attnkit/additiveAttention.h"
#include "attnkit/additiveScoresBackward.h"
#include "attnkit/bandwidth.h"
#include "attnkit/convert.h"
#include "attnkit/embeddingBackward.h"
#include "attnkit/gelu.h"
#include "attnkit/geluBackward.h"
#include "attnkit/gemm.h"
#include "attnkit/hstuAttention.h"
#include "attnkit/hstuAttentionBackward.h"
#include "attnkit/layerNorm.h"
#include "attnkit/layerNormBackward.h"
#include "attnkit/scratch.h"
#include "attnkit/silu.h"
#include "attnkit/siluBackward.h"
#include "attnkit/softmax.h"
#include "attnkit/softmaxBackward.h"
#include "attnkit/targetAttention.h"
#include "attnkit/isa_region.h"
#include "attnkit/parallel.h"
#include "attnkit/peak.h"
#include "attnkit/sdpa.h"
#include "attnkit/sdpaBackward.h"
