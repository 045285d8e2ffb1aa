/**
 * The backward of multiHeadAttention (training): the gradients of query, key, value and every
 * projection parameter, from what `multiHeadAttention(..., { returnSaved: true })` kept. Composed
 * of public ops (linearBackward, sdpaBackward) with the caller's dispatch options, so it runs on
 * every backend and each step is verified and reported on its own.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { attentionBlockBackward, type AttentionBlockGrads, type AttentionBlockSaved } from './attentionBlock';
import { drive, driveAsync } from './cached';

/**
 * What `multiHeadAttention(query, key, value, params, { ...options, returnSaved: true })` keeps for
 * {@link multiHeadAttentionBackward}: its float32 inputs and parameters, the three projections,
 * sdpa's output and log-sum-exp. Treat it as opaque; it holds references, not copies, to the
 * caller's float32 arrays (so do not change them between the forward and the backward).
 */
export interface MultiHeadAttentionSaved extends AttentionBlockSaved {
  /** Which forward made it. */
  readonly kind: 'multiHeadAttention';
}

/**
 * Gradients of multiHeadAttention: `dQuery [B,L,E]`, `dKey [B,S,Ek]`, `dValue [B,S,Ev]` and
 * `dParams` in {@link MultiHeadAttentionParams}' structure (a bias's gradient only where the
 * forward had that bias). For self-attention (one tensor passed as query, key and value) that
 * tensor's gradient is the sum `dQuery + dKey + dValue`.
 */
export type MultiHeadAttentionGrads = AttentionBlockGrads;

function checkSaved(dOut: TensorLike, saved: MultiHeadAttentionSaved): Tensor {
  if (!saved || typeof saved !== 'object' || saved.kind !== 'multiHeadAttention') {
    throw new ValueError('saved', "expected the saved object of multiHeadAttention(..., { returnSaved: true })");
  }
  const t = asTensor(dOut, 'dOut');
  const want = [saved.B, saved.L, saved.Eo];
  if (t.shape.length !== 3 || t.shape.some((n, a) => n !== want[a])) throw new ShapeError('dOut', `[B,L,Eo]=${formatShape(want)} (the forward's output shape)`, formatShape(t.shape));
  return t;
}

/**
 * The vector-Jacobian product of multiHeadAttention: given `dOut` `[B,L,Eo]`, the gradient of a
 * loss with respect to the forward's output, and the `saved` object of the forward called with
 * `returnSaved: true`, the gradients of its inputs and parameters. Every option of the forward
 * (mask, bias, keyLengths, causal forms, window, softcap, grouped-query heads, scale) is honoured;
 * rows with nothing to attend to get zero gradients.
 *
 * @example
 * const { output, saved } = multiHeadAttention(x, x, x, params, { numHeads: 2, causal: true, returnSaved: true });
 * const g = multiHeadAttentionBackward(dLossDOutput, saved);
 * // g.dParams.wq, ...; the gradient of x: g.dQuery + g.dKey + g.dValue
 */
export function multiHeadAttentionBackward(dOut: TensorLike, saved: MultiHeadAttentionSaved, dispatchOptions?: DispatchOptions): MultiHeadAttentionGrads {
  const t = checkSaved(dOut, saved);
  return drive(attentionBlockBackward(t.data, saved, dispatchOptions));
}

/** The async twin of {@link multiHeadAttentionBackward} (each step runs off the main thread). */
export async function multiHeadAttentionBackwardAsync(dOut: TensorLike, saved: MultiHeadAttentionSaved, dispatchOptions?: DispatchOptions): Promise<MultiHeadAttentionGrads> {
  const t = checkSaved(dOut, saved);
  return driveAsync(attentionBlockBackward(t.data, saved, dispatchOptions));
}
