// The argument checks hstuAttention and hstuAttentionBackward share (bindings/hstuAttention.cc).
#pragma once

#include <cstdint>

#include "attnkit/hstuAttention.h"
#include "common.h"

namespace attnkit::bind {

/// Reads and checks every HstuAttentionArgs field except `out` into p (op names the messages'
/// size products); returns q's element count and sets *vN to v's.
uint64_t hstu_args(Args& a, HstuAttentionParams& p, const char* op, uint64_t* vN);

}  // namespace attnkit::bind
