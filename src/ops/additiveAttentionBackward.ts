/**
 * The backward of additiveAttention (training, issue #15): the gradients of query, keys, values
 * and every parameter from what `additiveAttention(..., { returnSaved: true })` kept. Composed of
 * public ops with the caller's dispatch options: the projections (linear, recomputed), the tanh
 * pairs ({@link additiveScoresBackward}) and the projections' backward; each step is verified and
 * reported on its own, on any backend.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { AdditiveAttentionArgs, Widened } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { additiveScoresBackward, additiveScoresBackwardAsync, type AdditiveScoresGradients } from './additiveScoresBackward';
import { drive, driveAsync, type Step, type Steps } from './cached';
import { linearBackwardSteps, linearStep, step, tensorOf, zeroUnusedRows } from './trainingSteps';

/**
 * What `additiveAttention(query, keys, values, params, { ...options, returnSaved: true })` keeps
 * for {@link additiveAttentionBackward}: its float32 inputs and parameters (references to the
 * caller's float32 arrays, not copies: do not change them between the forward and the backward;
 * half ones widened) and the `[B,L,S]` attention weights (0 for excluded keys). Treat it as
 * opaque. The projections are recomputed by the backward rather than kept.
 */
export interface AdditiveAttentionSaved {
  /** Which forward made it. */
  readonly kind: 'additiveAttention';
  /** `[B,L,Dq]`, or null (attention pooling). */
  readonly query: Float32Array | null;
  /** `[B,S,Dk]`. */
  readonly keys: Float32Array;
  /** `[B,S,Dv]`. */
  readonly values: Float32Array;
  /** `[Dq,A]`, or null with query. */
  readonly wq: Float32Array | null;
  /** `[Dk,A]`. */
  readonly wk: Float32Array;
  /** `[A]`. */
  readonly b: Float32Array;
  /** `[A]`. */
  readonly v: Float32Array;
  readonly B: number; readonly L: number; readonly S: number;
  readonly Dq: number; readonly Dk: number; readonly Dv: number; readonly A: number;
  /** `[B,L,S]` the forward's attention weights (mask and keyLengths applied: excluded keys are 0). */
  readonly weights: Float32Array;
}

/**
 * Gradients of additiveAttention: `dQuery [B,L,Dq]` (absent for attention pooling, query null),
 * `dKeys [B,S,Dk]`, `dValues [B,S,Dv]` and `dParams` in {@link AdditiveAttentionParams}' structure
 * (`wq` only with a query). For one tensor passed as keys and values (the usual pooling call), its
 * gradient is `dKeys + dValues`.
 */
export interface AdditiveAttentionGrads {
  /** `[B,L,Dq]`; absent when query was null. */
  dQuery?: Tensor;
  /** `[B,S,Dk]`. */
  dKeys: Tensor;
  /** `[B,S,Dv]`. */
  dValues: Tensor;
  /** The parameters' gradients: `wq [Dq,A]` (with a query), `wk [Dk,A]`, `b [A]`, `v [A]`. */
  dParams: { wq?: Tensor; wk: Tensor; b: Tensor; v: Tensor };
}

/**
 * The returnSaved forward: the fused op (dispatched as `run` says, with its weights) on the
 * widened float32 args, and what the backward needs.
 */
export function* additiveForwardSaved(a: Widened<AdditiveAttentionArgs>, fused: Step): Steps<{ output: Tensor; saved: AdditiveAttentionSaved }> {
  const r = (yield fused) as { output: Tensor; weights: Tensor };
  const saved: AdditiveAttentionSaved = {
    kind: 'additiveAttention',
    query: a.query, keys: a.keys, values: a.values, wq: a.wq, wk: a.wk, b: a.b, v: a.v,
    B: a.B, L: a.L, S: a.S, Dq: a.Dq, Dk: a.Dk, Dv: a.Dv, A: a.A,
    weights: r.weights.data,
  };
  return { output: r.output, saved };
}

/** The backward's steps: recompute the projections, the tanh pairs, then the projections' backward. */
function* additiveBackwardSteps(dOut: Float32Array, s: AdditiveAttentionSaved, d?: DispatchOptions): Steps<AdditiveAttentionGrads> {
  const { B, L, S, Dq, Dk, Dv, A } = s;
  const ka = ((yield linearStep(s.keys, B * S, Dk, s.wk, A, s.b, d)) as Tensor).data;
  const qa = s.query ? ((yield linearStep(s.query, B * L, Dq, s.wq!, A, null, d)) as Tensor).data : null;
  const g = tensorOf(dOut, [B, L, Dv]);
  const vals = tensorOf(s.values, [B, S, Dv]);
  const w = tensorOf(s.weights, [B, L, S]);
  const qt = qa ? tensorOf(qa, [B, L, A]) : null;
  const kt = tensorOf(ka, [B, S, A]);
  const vt = tensorOf(s.v, [A]);
  const core = (yield step(() => additiveScoresBackward(g, vals, w, qt, kt, vt, d), () => additiveScoresBackwardAsync(g, vals, w, qt, kt, vt, d))) as AdditiveScoresGradients;
  // Keys no row attends to (padding, masked for every row) and query rows with nothing to attend
  // to get zero gradients; their values, whatever they are, must not reach dWk / dWq.
  const keyUsed = new Uint8Array(B * S), rowUsed = new Uint8Array(B * L);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++)
      for (let j = 0; j < S; j++)
        if (s.weights[(b * L + i) * S + j] !== 0) {
          keyUsed[b * S + j] = 1;
          rowUsed[b * L + i] = 1;
        }
  const gk = yield* linearBackwardSteps(core.dka.data, zeroUnusedRows(s.keys, B * S, Dk, keyUsed), B * S, Dk, s.wk, A, d);
  const out: AdditiveAttentionGrads = {
    dKeys: tensorOf(gk.dx, [B, S, Dk]),
    dValues: core.dValues,
    dParams: { wk: tensorOf(gk.dW, [Dk, A]), b: tensorOf(gk.db, [A]), v: core.dv },
  };
  if (s.query && core.dqa) {
    const gq = yield* linearBackwardSteps(core.dqa.data, zeroUnusedRows(s.query, B * L, Dq, rowUsed), B * L, Dq, s.wq!, A, d);
    out.dQuery = tensorOf(gq.dx, [B, L, Dq]);
    out.dParams = { wq: tensorOf(gq.dW, [Dq, A]), ...out.dParams };
  }
  return out;
}

function checkSaved(dOut: TensorLike, saved: AdditiveAttentionSaved): Float32Array {
  if (!saved || typeof saved !== 'object' || saved.kind !== 'additiveAttention') {
    throw new ValueError('saved', 'expected the saved object of additiveAttention(..., { returnSaved: true })');
  }
  const t = asTensor(dOut, 'dOut');
  const want = [saved.B, saved.L, saved.Dv];
  if (t.shape.length !== 3 || t.shape.some((n, a) => n !== want[a])) throw new ShapeError('dOut', `[B,L,Dv]=${formatShape(want)} (the forward's output shape)`, formatShape(t.shape));
  return t.data;
}

/**
 * The vector-Jacobian product of additiveAttention: given `dOut` `[B,L,Dv]`, the gradient of a
 * loss with respect to the forward's output, and the `saved` object of the forward called with
 * `returnSaved: true`, the gradients of its inputs and parameters. Every option of the forward is
 * honoured through its weights: masked and padded keys (mask, keyLengths) get zero gradients, and
 * rows with nothing to attend to give zeros (never NaN).
 *
 * @example
 * const { output, saved } = additiveAttention(null, h, h, { wk, b, v }, { keyLengths, returnSaved: true });
 * const g = additiveAttentionBackward(dLossDOutput, saved);
 * // g.dParams.wk, g.dParams.b, g.dParams.v; the gradient of h: g.dKeys + g.dValues
 */
export function additiveAttentionBackward(dOut: TensorLike, saved: AdditiveAttentionSaved, dispatchOptions?: DispatchOptions): AdditiveAttentionGrads {
  return drive(additiveBackwardSteps(checkSaved(dOut, saved), saved, dispatchOptions));
}

/** The async twin of {@link additiveAttentionBackward} (each step runs off the main thread where the backend can). */
export async function additiveAttentionBackwardAsync(dOut: TensorLike, saved: AdditiveAttentionSaved, dispatchOptions?: DispatchOptions): Promise<AdditiveAttentionGrads> {
  return driveAsync(additiveBackwardSteps(checkSaved(dOut, saved), saved, dispatchOptions));
}
