/**
 * Reference multi-head attention, composed from the reference linear and sdpa kernels, so it is
 * exactly "project, attend per head, project": the `[B,T,H*X]` projections are sdpa's `'blhd'`
 * layout, so the heads are read (and the output written) in place, with no split or merge copies.
 *
 * @module
 */
import type { AttentionResult, MultiHeadAttentionArgs, RowFilter, Widened } from '../../kernels';
import { linearReference } from './linear';
import { sdpaReference } from './sdpa';

/** multiHeadAttention; `rows` flags (b,i) query rows of the `B*L` row space. */
export function multiHeadAttentionReference(a: Widened<MultiHeadAttentionArgs>, rows: RowFilter = null): AttentionResult {
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
      q, k, v,
      B, Hq, Hkv, L, S, D, Dv,
      scale: a.scale, causal: a.causal, offsets: a.offsets, windowLeft: a.windowLeft, windowRight: a.windowRight, softcap: a.softcap,
      mask: a.mask, bias: a.bias, keyLengths: a.keyLengths,
      returnWeights: a.returnWeights, returnLse: a.returnLse, returnLogits: false, layout: 'blhd',
    },
    headRows,
  );
  // att.output is [B,L,Hq,Dv]: the [B*L, Hq*Dv] rows of the output projection.
  const output = linearReference({ x: att.output, rows: B * L, inDim: Hq * Dv, outDim: Eo, w: a.wo, b: a.bo }, rows);
  return { ...att, output };
}
