/**
 * Reference softmax over the last axis, with an optional broadcast bool mask.
 *
 * @module
 */
import type { RowFilter, SoftmaxArgs } from '../../kernels';
import { softmaxRow } from './softmaxRow';

/** softmax: masked and -Infinity entries get 0; a row with nothing left is all zeros. */
export function softmaxReference(a: SoftmaxArgs, rows: RowFilter = null): Float32Array {
  const { x, shape, rows: R, cols: C, mask } = a;
  const out = new Float32Array(R * C);
  const logits = new Float64Array(C);
  const allowed = new Uint8Array(C);
  const p = new Float64Array(C);
  const rank = shape.length;
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0); // multi-index of the row
  for (let r = 0; r < R; r++) {
    if (r > 0) {
      // advance the row multi-index (all axes but the last)
      for (let ax = rank - 2; ax >= 0; ax--) {
        if (++idx[ax] < shape[ax]) break;
        idx[ax] = 0;
      }
    }
    if (rows && !rows[r]) continue;
    let mBase = 0;
    if (mask) for (let ax = 0; ax < rank - 1; ax++) mBase += idx[ax] * mask.strides[ax];
    const mStride = mask ? mask.strides[rank - 1] : 0;
    for (let j = 0; j < C; j++) {
      const v = x[r * C + j];
      const ok = (!mask || mask.data[mBase + j * mStride] !== 0) && v !== -Infinity;
      allowed[j] = ok ? 1 : 0;
      logits[j] = v;
    }
    softmaxRow(logits, allowed, C, p);
    for (let j = 0; j < C; j++) out[r * C + j] = p[j];
  }
  return out;
}
