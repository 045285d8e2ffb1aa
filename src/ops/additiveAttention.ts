/**
 * Additive (Bahdanau) attention and attention pooling.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import type { AdditiveArgs } from '../kernels';
import type { MaskLike, Tensor, TensorLike } from '../tensor';
import { expectDim, expectNonEmpty, matrix, optBool, optionalLengths, optionalMask, optionsObject, tensorOfRank, vector, weightsFit } from '../validate';
import { run, runAsync, type Prepared } from './common';

/** Parameters of {@link additiveAttention}: `wq [Dq,A]` (omit for pooling), `wk [Dk,A]`, `b [A]`, `v [A]`. */
export interface AdditiveParams {
  /** `[Dq, A]`; ignored (may be omitted) when query is null. */
  wq?: TensorLike | null;
  /** `[Dk, A]`. */
  wk: TensorLike;
  /** `[A]`. */
  b: TensorLike;
  /** `[A]`. */
  v: TensorLike;
}

/** Options of {@link additiveAttention}. */
export interface AdditiveOptions {
  /** Bool mask broadcastable to `[B,L,S]` (1 = may attend). */
  mask?: MaskLike | null;
  /** `[B]` valid key counts. */
  keyLengths?: Int32Array | null;
  /** Also return the `[B,L,S]` weights. */
  returnWeights?: boolean;
}

/** Result of additive and target attention when weights are asked for. */
export interface PoolOutput {
  /** The pooled output. */
  output: Tensor;
  /** The weights the output was computed with. */
  weights: Tensor;
}

function prepareAdditive(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: AdditiveOptions | null): Prepared<'additiveAttention', Tensor | PoolOutput> {
  const KP = ['B', 'S', 'Dk'];
  const VP = ['B', 'S', 'Dv'];
  const kt = tensorOfRank(keys, 'keys', KP);
  const vt = tensorOfRank(values, 'values', VP);
  const [B, S, Dk] = kt.shape;
  for (let a = 0; a < 3; a++) expectNonEmpty('keys', kt.shape, a, KP);
  expectNonEmpty('values', vt.shape, 2, VP);
  expectDim('values', vt.shape, 0, B, VP, 'batch must match keys');
  expectDim('values', vt.shape, 1, S, VP, 'length must match keys');
  const Dv = vt.shape[2];
  const p = optionsObject<AdditiveParams>(params, 'params', ['wq', 'wk', 'b', 'v']);
  const wk = matrix(p.wk, 'params.wk', Dk, -1, 'Dk', 'A');
  const A = wk.shape[1];
  expectNonEmpty('params.wk', wk.shape, 1, ['Dk', 'A']);
  const b = vector(p.b, 'params.b', A, 'A');
  const v = vector(p.v, 'params.v', A, 'A');
  let L = 1;
  let Dq = 0;
  let q: Float32Array | null = null;
  let wq: Float32Array | null = null;
  if (query !== null) {
    const QP = ['B', 'L', 'Dq'];
    const qt = tensorOfRank(query, 'query', QP);
    for (let a = 1; a < 3; a++) expectNonEmpty('query', qt.shape, a, QP);
    expectDim('query', qt.shape, 0, B, QP, 'batch must match keys');
    L = qt.shape[1];
    Dq = qt.shape[2];
    q = qt.data;
    wq = matrix(p.wq, 'params.wq', Dq, A, 'Dq', 'A').data;
  }
  const o = optionsObject<AdditiveOptions>(options, 'options', ['mask', 'keyLengths', 'returnWeights']);
  const target = [B, L, S];
  const mask = optionalMask(o.mask, 'options.mask', target, '[B,L,S]');
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights = optBool(o.returnWeights, 'options.returnWeights', false);
  weightsFit(returnWeights, B * L * S, '[B,L,S]');
  const args: AdditiveArgs = { query: q, keys: kt.data, values: vt.data, B, L, S, Dq, Dk, Dv, A, wq, wk: wk.data, b, v, mask, keyLengths, returnWeights };
  const layout = (): OutputLayout => ({
    rows: B * L,
    rowOf: (name, flat) => Math.floor(flat / (name === 'weights' ? S : Dv)),
    shapeOf: (name) => (name === 'weights' ? target : [B, L, Dv]),
  });
  const wrap = (r: { output: Float32Array; weights?: Float32Array }): Tensor | PoolOutput => {
    const output = { data: r.output, shape: [B, L, Dv] };
    return returnWeights && r.weights ? { output, weights: { data: r.weights, shape: target } } : output;
  };
  return { op: 'additiveAttention', args, layout, wrap };
}

/**
 * Additive (Bahdanau) attention: `score(i,j) = v · tanh(q_i·wq + k_j·wk + b)`, softmax over j,
 * weighted sum of values. query `[B,L,Dq]`, keys `[B,S,Dk]`, values `[B,S,Dv]` → `[B,L,Dv]`.
 * `query = null` is attention pooling (no query term): output `[B,1,Dv]`.
 *
 * @example
 * const pooled = additiveAttention(null, h, h, { wk, b, v });
 */
export function additiveAttention(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options: AdditiveOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): PoolOutput;
export function additiveAttention(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: (AdditiveOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function additiveAttention(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: AdditiveOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput;
export function additiveAttention(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: AdditiveOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput {
  return run(prepareAdditive(query, keys, values, params, options), dispatchOptions);
}

/** The async twin of {@link additiveAttention}. */
export function additiveAttentionAsync(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options: AdditiveOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): Promise<PoolOutput>;
export function additiveAttentionAsync(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: (AdditiveOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function additiveAttentionAsync(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: AdditiveOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput>;
export function additiveAttentionAsync(query: TensorLike | null, keys: TensorLike, values: TensorLike, params: AdditiveParams, options?: AdditiveOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput> {
  return runAsync(() => prepareAdditive(query, keys, values, params, options), dispatchOptions);
}
