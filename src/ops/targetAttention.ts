/**
 * DIN-style target attention of a candidate item over a user's history.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import type { DenseLayer, TargetArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { expectDim, expectNonEmpty, matrix, optBool, optEnum, optionalLengths, optionsObject, tensorOfRank, vector } from '../validate';
import type { PoolOutput } from './additiveAttention';
import { run, runAsync, type Prepared } from './common';

/** One dense layer of the activation unit: `w [in,out]`, `b [out]`, PReLU slope `alpha` (number or `[out]`, default 0.25). */
export interface TargetLayer {
  /** `[in, out]`. */
  w: TensorLike;
  /** `[out]`. */
  b: TensorLike;
  /** PReLU slope (hidden layers, `activation: 'prelu'`): a number or `[out]`; default 0.25 as in PyTorch. */
  alpha?: number | TensorLike;
}

/** Parameters of {@link targetAttention}: the activation unit's layers; the first takes 4D inputs, the last has width 1. */
export interface TargetParams {
  /** The MLP layers in order. */
  layers: readonly TargetLayer[];
}

/** Options of {@link targetAttention}. */
export interface TargetOptions {
  /** Hidden-layer activation (default `'sigmoid'`, as in the DIN paper's code). */
  activation?: 'relu' | 'sigmoid' | 'prelu';
  /** `'none'` (default, DIN's choice): raw weights; `'softmax'`: softmax over the valid history. */
  normalize?: 'none' | 'softmax';
  /** `[B]` valid history lengths; items `j >= keyLengths[b]` are padding (weight 0). */
  keyLengths?: Int32Array | null;
  /** Also return the `[B,S]` weights. */
  returnWeights?: boolean;
}

function prepareTarget(target: TensorLike, history: TensorLike, params: TargetParams, options?: TargetOptions | null): Prepared<'targetAttention', Tensor | PoolOutput> {
  const TP = ['B', 'D'];
  const HP = ['B', 'S', 'D'];
  const tt = tensorOfRank(target, 'target', TP);
  const ht = tensorOfRank(history, 'history', HP);
  const [B, D] = tt.shape;
  const S = ht.shape[1];
  for (let a = 0; a < 2; a++) expectNonEmpty('target', tt.shape, a, TP);
  expectNonEmpty('history', ht.shape, 1, HP);
  expectDim('history', ht.shape, 0, B, HP, 'batch must match target');
  expectDim('history', ht.shape, 2, D, HP, 'item dim must match target');
  const o = optionsObject<TargetOptions>(options, 'options', ['activation', 'normalize', 'keyLengths', 'returnWeights']);
  const activation = optEnum(o.activation, 'options.activation', ['relu', 'sigmoid', 'prelu'] as const, 'sigmoid');
  const normalize = optEnum(o.normalize, 'options.normalize', ['none', 'softmax'] as const, 'none');
  const p = optionsObject<TargetParams>(params, 'params', ['layers']);
  let rawLayers: unknown;
  try {
    rawLayers = p.layers;
    if (Array.isArray(rawLayers)) rawLayers = Array.from(rawLayers); // a Proxy of an array: read it here
  } catch {
    throw new DTypeError('params.layers', 'an array of { w, b, alpha? }', 'an unreadable value');
  }
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) {
    throw new DTypeError('params.layers', 'a non-empty array of { w, b, alpha? }', describeType(rawLayers));
  }
  const layers: DenseLayer[] = [];
  let inDim = 4 * D;
  rawLayers.forEach((raw: unknown, l: number) => {
    const name = `params.layers[${l}]`;
    const layer = optionsObject<TargetLayer>(raw, name, ['w', 'b', 'alpha']);
    const w = matrix(layer.w, `${name}.w`, inDim, -1, l === 0 ? 'in=4D' : 'in', 'out');
    const outDim = w.shape[1];
    if (outDim < 1) throw new ShapeError(`${name}.w`, `[${inDim},out] with out >= 1`, formatShape(w.shape));
    const last = l === rawLayers.length - 1;
    if (last && outDim !== 1) throw new ShapeError(`${name}.w`, `[${inDim},1] (the last layer has width 1)`, formatShape(w.shape));
    const b = vector(layer.b, `${name}.b`, outDim, 'out');
    let alpha: Float32Array | null = null;
    if (!last && activation === 'prelu') {
      if (layer.alpha === undefined || typeof layer.alpha === 'number') {
        const a = layer.alpha ?? 0.25;
        if (!Number.isFinite(a)) throw new ValueError(`${name}.alpha`, `expected a finite number, received ${a}`);
        alpha = new Float32Array(outDim).fill(a);
      } else {
        const at = asTensor(layer.alpha, `${name}.alpha`);
        if (at.shape.length !== 1 || at.shape[0] !== outDim) throw new ShapeError(`${name}.alpha`, `a number or [out=${outDim}]`, formatShape(at.shape));
        alpha = at.data;
      }
    }
    layers.push({ w: w.data, b, inDim, outDim, alpha });
    inDim = outDim;
  });
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights = optBool(o.returnWeights, 'options.returnWeights', false);
  const args: TargetArgs = { target: tt.data, history: ht.data, B, S, D, layers, activation, normalize, keyLengths, returnWeights };
  const layout = (): OutputLayout => ({
    rows: B,
    rowOf: (name, flat) => Math.floor(flat / (name === 'weights' ? S : D)),
    shapeOf: (name) => (name === 'weights' ? [B, S] : [B, D]),
  });
  const wrap = (r: { output: Float32Array; weights?: Float32Array }): Tensor | PoolOutput => {
    const output = { data: r.output, shape: [B, D] };
    return returnWeights && r.weights ? { output, weights: { data: r.weights, shape: [B, S] } } : output;
  };
  return { op: 'targetAttention', args, layout, wrap };
}

/**
 * DIN target attention: for each history item h_j, an MLP over `[h_j, t, h_j - t, h_j * t]` gives
 * a weight a_j; the output is `Σ_j a_j h_j` (`normalize: 'none'`) or with softmax-normalised
 * weights. target `[B,D]`, history `[B,S,D]` → `[B,D]`; weights `[B,S]`.
 *
 * @example
 * const interest = targetAttention(candidate, history, { layers: [{ w: w1, b: b1 }, { w: w2, b: b2 }] }, { keyLengths });
 */
export function targetAttention(target: TensorLike, history: TensorLike, params: TargetParams, options: TargetOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): PoolOutput;
export function targetAttention(target: TensorLike, history: TensorLike, params: TargetParams, options?: (TargetOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function targetAttention(target: TensorLike, history: TensorLike, params: TargetParams, options?: TargetOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput;
export function targetAttention(target: TensorLike, history: TensorLike, params: TargetParams, options?: TargetOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput {
  return run(prepareTarget(target, history, params, options), dispatchOptions);
}

/** The async twin of {@link targetAttention}. */
export function targetAttentionAsync(target: TensorLike, history: TensorLike, params: TargetParams, options: TargetOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): Promise<PoolOutput>;
export function targetAttentionAsync(target: TensorLike, history: TensorLike, params: TargetParams, options?: (TargetOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function targetAttentionAsync(target: TensorLike, history: TensorLike, params: TargetParams, options?: TargetOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput>;
export function targetAttentionAsync(target: TensorLike, history: TensorLike, params: TargetParams, options?: TargetOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput> {
  return runAsync(() => prepareTarget(target, history, params, options), dispatchOptions);
}
