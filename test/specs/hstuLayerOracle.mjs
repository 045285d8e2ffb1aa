// An independent float64 HSTU layer, written from its definition (issue #17 item 4; the paper's
// equations 1-3 and generative-recommenders' SequentialTransductionUnitJagged / STU semantics),
// never from src/ code:
//
//   n1 = LN_in(x)                                    over E features, eps, optional affine
//   a  = SiLU(n1·W_uvqk + b_uvqk)                    [T, 2·H·Dv + 2·H·D]
//   u, v, q, k = a[:, 0:H·Dv], a[:, H·Dv:2·H·Dv], a[:, 2·H·Dv:2·H·Dv+H·D], a[:, 2·H·Dv+H·D:]
//                                                    (torch.split(uvqk, [H·Dv, H·Dv, H·D, H·D]);
//                                                    each a [T, H, ·] view: head h is columns h·D..)
//   y  = hstuAttention(q, k, v)                      [T, H·Dv] (the float64 oracle of hstuOracle.mjs)
//   out = (LN_out(y) ⊙ u)·W_o + b_o + x              LN_out over all H·Dv features
//
// Everything in float64 (inputs may be Float32Array or Float64Array). Returns a Float64Array [T, E].
import { oracleHstuAttention } from './hstuOracle.mjs';

const silu64 = (z) => z / (1 + Math.exp(-z));

/** Row-wise LayerNorm in float64, biased variance, affine when gamma / beta are given. */
function layerNormRows(x, rows, cols, gamma, beta, eps) {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < cols; c++) mean += x[r * cols + c];
    mean /= cols;
    let varSum = 0;
    for (let c = 0; c < cols; c++) varSum += (x[r * cols + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(varSum / cols + eps);
    for (let c = 0; c < cols; c++) out[r * cols + c] = (x[r * cols + c] - mean) * inv * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  }
  return out;
}

/** x [rows, inDim] · w [inDim, outDim] (+ b) in float64. */
function matmul(x, rows, inDim, w, outDim, b) {
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[i * outDim + o];
      out[r * outDim + o] = s;
    }
  return out;
}

/** Columns [from, from + width) of a [rows, cols] matrix, as [rows, width]. */
function columns(m, rows, cols, from, width) {
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) for (let c = 0; c < width; c++) out[r * width + c] = m[r * cols + from + c];
  return out;
}

/**
 * The HSTU layer in float64. `x` `[T, E]` data, `offsets` `[B+1]`, `p` the parameters as plain
 * arrays: `{ gammaIn?, betaIn?, wUvqk [E, 2·H·Dv + 2·H·D], bUvqk?, gammaOut?, betaOut?, wO [H·Dv, E],
 * bO? }` (null or absent: no affine part / no bias). `o`: `{ E, H, D, Dv, eps, attention }` where
 * `attention` is oracleHstuAttention's options (maxLength, alpha, normalization, causal,
 * numTargets, maxAttnLen, contextualLength, positionBias, positionBiasPerHead, timestamps,
 * timeBias, timeBiasPerHead, numBuckets). Returns `{ output, intermediates }`.
 */
export function oracleHstuLayer(x, offsets, p, o) {
  const { E, H, D, Dv, eps } = o;
  const T = offsets[offsets.length - 1];
  const C = 2 * H * Dv + 2 * H * D;
  const n1 = layerNormRows(x, T, E, p.gammaIn ?? null, p.betaIn ?? null, eps);
  const act = matmul(n1, T, E, p.wUvqk, C, p.bUvqk ?? null).map(silu64);
  const u = columns(act, T, C, 0, H * Dv);
  const v = columns(act, T, C, H * Dv, H * Dv);
  const q = columns(act, T, C, 2 * H * Dv, H * D);
  const k = columns(act, T, C, 2 * H * Dv + H * D, H * D);
  const y = oracleHstuAttention(q, k, v, offsets, H, D, Dv, o.attention ?? {});
  const n2 = layerNormRows(y, T, H * Dv, p.gammaOut ?? null, p.betaOut ?? null, eps);
  const gated = n2.map((val, i) => val * u[i]);
  const out = matmul(gated, T, H * Dv, p.wO, E, p.bO ?? null);
  for (let i = 0; i < out.length; i++) out[i] += x[i];
  return { output: out, intermediates: { n1, act, u, v, q, k, y, n2, gated } };
}
