/**
 * Reference multi-head attention, composed from the reference linear and sdpa kernels, so it is
 * exactly "project, split heads, attend, merge heads, project".
 *
 * @module
 */
import type { AttentionResult, MultiHeadAttentionArgs, RowFilter } from '../../kernels';
import { linearReference } from './linear';
import { sdpaReference } from './sdpa';

/** Copy between `[B,T,H*X]` (token-major) and `[B,H,T,X]` (head-major), either way. */
function permuteHeads(x: Float32Array, B: number, T: number, H: number, X: number, toHeadMajor: boolean): Float32Array {
  const out = new Float32Array(B * H * T * X);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let d = 0; d < X; d++) {
          const token = ((b * T + t) * H + h) * X + d, head = ((b * H + h) * T + t) * X + d;
          if (toHeadMajor) out[head] = x[token];
          else out[token] = x[head];
        }
  return out;
}

/** `[B,T,H*X]` (token-major) to `[B,H,T,X]` (head-major). */
export function splitHeads(x: Float32Array, B: number, T: number, H: number, X: number): Float32Array {
  return permuteHeads(x, B, T, H, X, true);
}

/** `[B,H,T,X]` back to `[B,T,H*X]`. */
export function mergeHeads(x: Float32Array, B: number, T: number, H: number, X: number): Float32Array {
  return permuteHeads(x, B, T, H, X, false);
}

/** multiHeadAttention; `rows` flags (b,i) query rows of the `B*L` row space. */
export function multiHeadAttentionReference(a: MultiHeadAttentionArgs, rows: RowFilter = null): AttentionResult {
  const { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo } = a;
  const q = linearReference({ x: a.query, rows: B * L, inDim: E, outDim: Hq * D, w: a.wq, b: a.bq }, rows);
  const k = linearReference({ x: a.key, rows: B * S, inDim: Ek, outDim: Hkv * D, w: a.wk, b: a.bk });
  const v = linearReference({ x: a.value, rows: B * S, inDim: Ev, outDim: Hkv * Dv, w: a.wv, b: a.bv });
  let headRows: Uint8Array | null = null;
  if (rows) {
    headRows = new Uint8Array(B * Hq * L);
    for (let b = 0; b < B; b++) for (let h = 0; h < Hq; h++) for (let i = 0; i < L; i++) headRows[(b * Hq + h) * L + i] = rows[b * L + i];
  }
  const att = sdpaReference(
    {
      q: splitHeads(q, B, L, Hq, D),
      k: splitHeads(k, B, S, Hkv, D),
      v: splitHeads(v, B, S, Hkv, Dv),
      B, Hq, Hkv, L, S, D, Dv,
      scale: a.scale, causal: a.causal, offsets: a.offsets, windowLeft: a.windowLeft, windowRight: a.windowRight, softcap: a.softcap,
      mask: a.mask, bias: a.bias, keyLengths: a.keyLengths,
      returnWeights: a.returnWeights, returnLse: a.returnLse, returnLogits: false, layout: 'bhld',
    },
    headRows,
  );
  const merged = mergeHeads(att.output, B, L, Hq, Dv);
  const output = linearReference({ x: merged, rows: B * L, inDim: Hq * Dv, outDim: Eo, w: a.wo, b: a.bo }, rows);
  return { ...att, output };
}
