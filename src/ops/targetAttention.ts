/**
 * DIN-style target attention of a candidate item over a user's history.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import type { DenseLayer, TargetAttentionArgs, FloatData, DType, HalfDType, Widened } from '../kernels';
import { widenArgs } from '../half';
import { asFloatTensor, type Tensor, type FloatTensorLike } from '../tensor';
import { expectDim, expectNonEmpty, matrix, optionalLengths, optionsObject, vector, HalfFields, floatMatrix, floatVector } from '../validate';
import type { PoolOutput } from './additiveAttention';
import { mlpParams, optionsArg, randLengths, randT, rnd, shapeOf } from './cases';
import { run, runAsync, type Prepared, OUTPUT_DTYPE_OPTION, type Narrowed } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type OpCase, type OpDescriptor } from './descriptor';
import { drive, driveAsync, type Steps } from './cached';
import { refuseWithSaved } from './trainingSteps';
import { asJagged, type JaggedLike } from '../jagged';
import { isJaggedArg, longestOf, refuseWithJagged, sequenceOfRow, type JaggedPoolOutput } from './jaggedPool';
import { targetForwardSaved, type TargetAttentionSaved } from './targetAttentionBackward';

/** One dense layer of the activation unit: `w [in,out]`, `b [out]`, PReLU slope `alpha` (number or `[out]`, default 0.25). */
export interface TargetLayer {
  /** `[in, out]`. */
  w: FloatTensorLike;
  /** `[out]`. */
  b: FloatTensorLike;
  /** PReLU slope (hidden layers, `activation: 'prelu'`): a number or `[out]`; default 0.25 as in PyTorch. */
  alpha?: number | FloatTensorLike;
}

/** Parameters of {@link targetAttention}: the activation unit's layers; the first takes 4D inputs, the last has width 1. */
export interface TargetAttentionParams {
  /** The MLP layers in order. */
  layers: readonly TargetLayer[];
}

/** Options of {@link targetAttention}. */
export interface TargetAttentionOptions {
  /** Hidden-layer activation (default `'sigmoid'`, as in the DIN paper's code). */
  activation?: 'relu' | 'sigmoid' | 'prelu';
  /** `'none'` (default, DIN's choice): raw weights; `'softmax'`: softmax over the valid history. */
  normalize?: 'none' | 'softmax';
  /** `[B]` valid history lengths; items `j >= keyLengths[b]` are padding (weight 0). Not with a jagged history (ValueError). */
  keyLengths?: Int32Array | null;
  /** Also return the weights: `[B,S]`, or jagged `[T]` (the history's offsets) for a jagged history. */
  returnWeights?: boolean;
  /**
   * Element type of the returned output (default `'float32'`): `'float16'` / `'bfloat16'` round the
   * float32 result to nearest even at the end (the computation is float32 whatever the inputs).
   */
  outputDtype?: DType;
  /**
   * Training: return `{ output, saved }`, where `saved` is what {@link targetAttentionBackward}
   * needs. Computed by the public linear op (the activation unit's layers over the valid items)
   * with the same dispatch options, in float32 (half inputs are widened, exactly); not with
   * `returnWeights` or a half `outputDtype`, nor with a jagged history (ValueError: pass the
   * padded form, {@link toPadded}, with its lengths as `keyLengths`).
   */
  returnSaved?: boolean;
}

const TP = ['B', 'D'];
const HP = ['B', 'S', 'D'];

function prepareTarget(target: FloatTensorLike, history: FloatTensorLike | JaggedLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null): Prepared<'targetAttention', Tensor | PoolOutput | JaggedPoolOutput> {
  const d = targetAttentionOp;
  const tt = tensorParam(d, 'target', target);
  const jaggedHistory = isJaggedArg(history, 'history');
  const padded = jaggedHistory ? null : tensorParam(d, 'history', history);
  const [B, D] = tt.shape;
  for (let a = 0; a < 2; a++) expectNonEmpty('target', tt.shape, a, TP);
  // A jagged history: values [T,D] and offsets [B+1] (user b's items are its own rows; no padding).
  const jh = jaggedHistory ? asJagged(history, 'history', ['D'], { batch: B, inner: [D] }) : null;
  const ht = padded ?? { data: jh!.data, shape: jh!.shape, dtype: jh!.dtype };
  const offsets = jh ? jh.offsets : null;
  const S = offsets ? longestOf(offsets) : ht.shape[1];
  if (padded) {
    expectNonEmpty('history', ht.shape, 1, HP);
    expectDim('history', ht.shape, 0, B, HP, 'batch must match target');
    expectDim('history', ht.shape, 2, D, HP, 'item dim must match target');
  }
  const o = optionsFor<TargetAttentionOptions>(d, options);
  if (offsets) refuseWithJagged(o as Record<string, unknown>, 'history');
  const activation: TargetAttentionArgs['activation'] = readOption(d, o, 'activation');
  const normalize: TargetAttentionArgs['normalize'] = readOption(d, o, 'normalize');
  const p = optionsObject<TargetAttentionParams>(params, 'params', ['layers']);
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
    const lh = new HalfFields(); // a layer's dtypes are its own (DenseLayer.dtypes)
    const w = floatMatrix(layer.w, `${name}.w`, inDim, -1, l === 0 ? 'in=4D' : 'in', 'out');
    const outDim = w.shape[1];
    if (outDim < 1) throw new ShapeError(`${name}.w`, `[${inDim},out] with out >= 1`, formatShape(w.shape));
    const last = l === rawLayers.length - 1;
    if (last && outDim !== 1) throw new ShapeError(`${name}.w`, `[${inDim},1] (the last layer has width 1)`, formatShape(w.shape));
    const b = lh.take('b', floatVector(layer.b, `${name}.b`, outDim, 'out'));
    let alpha: FloatData | null = null;
    if (!last && activation === 'prelu') {
      if (layer.alpha === undefined || typeof layer.alpha === 'number') {
        const a = layer.alpha ?? 0.25;
        if (!Number.isFinite(a)) throw new ValueError(`${name}.alpha`, `expected a finite number, received ${a}`);
        alpha = new Float32Array(outDim).fill(a);
      } else {
        const at = asFloatTensor(layer.alpha, `${name}.alpha`);
        if (at.shape.length !== 1 || at.shape[0] !== outDim) throw new ShapeError(`${name}.alpha`, `a number or [out=${outDim}]`, formatShape(at.shape));
        alpha = lh.take('alpha', at);
      }
    }
    layers.push({ w: lh.take('w', w), b: b!, inDim, outDim, alpha, dtypes: lh.dtypes });
    inDim = outDim;
  });
  const keyLengths = offsets ? null : optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights: boolean = readOption(d, o, 'returnWeights');
  const half = new HalfFields();
  const args: TargetAttentionArgs = { target: half.take('target', tt), history: half.take('history', ht), B, S, D, layers, activation, normalize, keyLengths, returnWeights, dtypes: half.dtypes, ...(offsets ? { historyOffsets: offsets } : {}) };
  // Jagged weights are [T] in the history's row order: a weight's row (user) is found in the offsets.
  const layout = (): OutputLayout => ({
    rows: B,
    rowOf: (name, flat) => (name !== 'weights' ? Math.floor(flat / D) : offsets ? sequenceOfRow(offsets, flat) : Math.floor(flat / S)),
    shapeOf: (name) => (name !== 'weights' ? [B, D] : offsets ? [offsets[B]] : [B, S]),
  });
  const wrap = (r: { output: Float32Array; weights?: Float32Array }): Tensor | PoolOutput | JaggedPoolOutput => {
    const output = { data: r.output, shape: [B, D] };
    if (!returnWeights || !r.weights) return output;
    return offsets ? { output, weights: { values: { data: r.weights, shape: [offsets[B]] }, offsets } } : { output, weights: { data: r.weights, shape: [B, S] } };
  };
  const outputDtype: DType = readOption(d, o, 'outputDtype');
  return { op: 'targetAttention', args, layout, wrap, outputDtype };
}

/** The `returnSaved` path's checks: null without it, else the composite to run with the dispatch options. */
function prepareSavedTarget(target: FloatTensorLike, history: FloatTensorLike | JaggedLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null): ((d?: DispatchOptions) => Steps<{ output: Tensor; saved: TargetAttentionSaved }>) | null {
  const o = optionsFor<TargetAttentionOptions>(targetAttentionOp, options);
  if (!readOption(targetAttentionOp, o, 'returnSaved')) return null;
  if (isJaggedArg(history, 'history')) refuseWithJagged(o as Record<string, unknown>, 'history');
  refuseWithSaved(o as Record<string, unknown>, ['returnWeights', 'outputDtype']);
  const p = prepareTarget(target, history as FloatTensorLike, params, { ...o, returnSaved: false });
  const a = widenArgs(p.args) as Widened<TargetAttentionArgs>;
  // Which slopes were given as tensors (their gradient is then a tensor; a number's is a number).
  const alphaTensor = Array.from(params.layers, (l) => l.alpha !== undefined && typeof l.alpha !== 'number');
  return (d) => targetForwardSaved({ a, alphaTensor }, d);
}

/**
 * DIN target attention: for each history item h_j, an MLP over `[h_j, t, h_j - t, h_j * t]` gives
 * a weight a_j; the output is `Σ_j a_j h_j` (`normalize: 'none'`) or with softmax-normalised
 * weights. target `[B,D]`, history `[B,S,D]` → `[B,D]`; weights `[B,S]`.
 *
 * The history may be jagged (#17; {@link jagged}): values `[T,D]` and offsets `[B+1]`, user b's
 * items the rows `offsets[b] .. offsets[b+1]-1`; no work or memory is spent on padding. The
 * output stays `[B,D]`; the weights come back jagged (`{ values: [T], offsets }`, the same
 * offsets). An empty history is a row with no valid item, as `keyLengths[b] = 0` is: output
 * zeros. Not with `keyLengths` or `returnSaved` (ValueError). Half-precision values are accepted
 * as in the padded form.
 *
 * @example
 * const interest = targetAttention(candidate, history, { layers: [{ w: w1, b: b1 }, { w: w2, b: b2 }] }, { keyLengths });
 * // The same over a jagged history (no padding): values [T,D], offsets [B+1].
 * const interest2 = targetAttention(candidate, jagged(events, offsets, [D]), params);
 */
export function targetAttention(target: FloatTensorLike, history: JaggedLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnWeights: true; outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<JaggedPoolOutput>;
export function targetAttention(target: FloatTensorLike, history: JaggedLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): JaggedPoolOutput;
export function targetAttention(target: FloatTensorLike, history: JaggedLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null, dispatchOptions?: DispatchOptions): Tensor | JaggedPoolOutput | Narrowed<Tensor | JaggedPoolOutput>;
export function targetAttention(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): { output: Tensor; saved: TargetAttentionSaved };
export function targetAttention(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options: TargetAttentionOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<Tensor | PoolOutput>;
export function targetAttention(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): PoolOutput;
export function targetAttention(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options?: (TargetAttentionOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function targetAttention(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput;
export function targetAttention(target: FloatTensorLike, history: FloatTensorLike | JaggedLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput | JaggedPoolOutput | Narrowed<Tensor | PoolOutput | JaggedPoolOutput> | { output: Tensor; saved: TargetAttentionSaved } {
  const withSaved = prepareSavedTarget(target, history, params, options);
  if (withSaved) return drive(withSaved(dispatchOptions));
  return run(prepareTarget(target, history, params, options), dispatchOptions);
}

/** The async twin of {@link targetAttention}. */
export function targetAttentionAsync(target: FloatTensorLike, history: JaggedLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnWeights: true; outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<JaggedPoolOutput>>;
export function targetAttentionAsync(target: FloatTensorLike, history: JaggedLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): Promise<JaggedPoolOutput>;
export function targetAttentionAsync(target: FloatTensorLike, history: JaggedLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | JaggedPoolOutput | Narrowed<Tensor | JaggedPoolOutput>>;
export function targetAttentionAsync(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): Promise<{ output: Tensor; saved: TargetAttentionSaved }>;
export function targetAttentionAsync(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options: TargetAttentionOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<Tensor | PoolOutput>>;
export function targetAttentionAsync(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options: TargetAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): Promise<PoolOutput>;
export function targetAttentionAsync(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options?: (TargetAttentionOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function targetAttentionAsync(target: FloatTensorLike, history: FloatTensorLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput>;
export async function targetAttentionAsync(target: FloatTensorLike, history: FloatTensorLike | JaggedLike, params: TargetAttentionParams, options?: TargetAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput | JaggedPoolOutput | Narrowed<Tensor | PoolOutput | JaggedPoolOutput> | { output: Tensor; saved: TargetAttentionSaved }> {
  const withSaved = prepareSavedTarget(target, history, params, options);
  if (withSaved) return driveAsync(withSaved(dispatchOptions));
  return runAsync(() => prepareTarget(target, history, params, options), dispatchOptions);
}

/** targetAttention's MLP flops per (b, j) pair: the dense layers over [h, t, h-t, h*t], plus the feature build. */
function mlpFlops(D: number, hidden: readonly number[]): number {
  let per = 0;
  let inDim = 4 * D;
  for (const h of [...hidden, 1]) {
    per += 2 * inDim * h;
    inDim = h;
  }
  return per + 3 * D;
}

/** The targetAttention descriptor. */
export const targetAttentionOp: OpDescriptor<'targetAttention'> = defineOp({
  name: 'targetAttention',
  summary: 'DIN target attention: an MLP activation unit weighs each history item against the target',
  signature: 'targetAttention(target, history, params, options?, dispatch?)',
  params: [tensor('target', TP), tensor('history', HP), 'params', 'options'],
  options: {
    outputDtype: OUTPUT_DTYPE_OPTION,
    activation: { kind: 'enum', values: ['relu', 'sigmoid', 'prelu'], default: 'sigmoid', doc: 'hidden-layer activation' },
    normalize: { kind: 'enum', values: ['none', 'softmax'], default: 'none', doc: "raw weights (DIN) or softmax over the history" },
    keyLengths: { kind: 'lengths', doc: '[B] valid history lengths' },
    returnWeights: { kind: 'boolean', default: false, doc: 'also return the [B,S] weights' },
    returnSaved: { kind: 'boolean', default: false, doc: 'training: return { output, saved } for targetAttentionBackward' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 1.2e-5, then 1.3e-6 of atol needed at 4x that rtol (max abs 6.1e-5; re-measured with
    // test/jagged-pool.test.mjs included, jagged histories up to 497 items: same rule result).
    // max rel by input type: bfloat16 1.2e-5, float16 1e-5, float32 1.1e-5, mixed 1.1e-5.
    native: { rtol: 5e-5, atol: 5.2e-6 },
    // gpu on llvmpipe: max rel 1.2e-5, then 3.3e-7 of atol (max abs 6.1e-5, jagged tests included).
    gpu: { rtol: 4.7e-5, atol: 1.4e-6 },
  },
  cost: (s) => {
    const { B, S, D } = s as Record<string, number>;
    const hidden = s.hidden as readonly number[];
    let w = 0;
    let inDim = 4 * D;
    for (const h of [...hidden, 1]) {
      w += inDim * h + h;
      inDim = h;
    }
    return { flops: B * S * mlpFlops(D, hidden) + 2 * B * S * D, bytes: 4 * (B * D + B * S * D + w + B * D) };
  },
  fn: targetAttention,
  fnAsync: targetAttentionAsync,
  native: { isaKernel: false },
  half: true,
  cases: {
    knownAnswers() {
      // D = 1, one (output) layer w = 0 with bias b: the output layer is linear, so every weight is b (normalize none).
      const b = 0.5, a = b;
      const layers = [{ w: { data: new Float32Array(4), shape: [4, 1] }, b: { data: new Float32Array([b]), shape: [1] } }];
      return [{
        label: 'a constant activation unit weighs every item b',
        args: [{ data: new Float32Array([1]), shape: [1, 1] }, { data: new Float32Array([2, 3]), shape: [1, 2, 1] }, { layers }, { returnWeights: true }],
        want: { output: [a * 5], weights: [a, a] },
      }];
    },
    checks(quick) {
      const cases: OpCase[] = [];
      for (const [B, S, D, hidden] of (quick ? [[3, 17, 5, [7]]] : [[3, 17, 5, [7]], [8, 50, 32, [80, 40]], [2, 129, 17, [16, 8]]]) as [number, number, number, number[]][]) {
        const t = rnd([B, D], 30), h = rnd([B, S, D], 31);
        const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
        for (const activation of ['sigmoid', 'relu', 'prelu']) {
          cases.push({ label: `B=${B} S=${S} D=${D} ${hidden.join('-')} ${activation}`, args: [t, h, mlpParams(D, hidden, 32), { activation, keyLengths: lens, returnWeights: true }] });
        }
        cases.push({ label: `B=${B} S=${S} D=${D} softmax`, args: [t, h, mlpParams(D, hidden, 33), { normalize: 'softmax', keyLengths: lens }] });
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { B: 32, S: 50, D: 32, hidden: [80, 40] } : { B: 256, S: 50, D: 32, hidden: [80, 40] };
      return [{
        label: 'DIN activation unit',
        shape: s,
        make: () => ({ args: [rnd([s.B, s.D], 14), rnd([s.B, s.S, s.D], 15), mlpParams(s.D, s.hidden, 16), { activation: 'sigmoid' }] }),
      }];
    },
    random(R) {
      const B = R.int(1, 3), S = R.int(1, 6), D = R.int(1, 4);
      const activation = R.pick(['relu', 'sigmoid', 'prelu']);
      const nl = R.int(1, 3);
      const layers: Record<string, unknown>[] = [];
      let inDim = 4 * D;
      for (let l = 0; l < nl; l++) {
        const out = l === nl - 1 ? 1 : R.int(1, 6);
        const layer: Record<string, unknown> = { w: randT(R, [inDim, out]), b: randT(R, [out]) };
        if (activation === 'prelu' && l < nl - 1 && R.bool()) layer.alpha = R.bool() ? R.f() : randT(R, [out]);
        layers.push(layer);
        inDim = out;
      }
      const o: Record<string, unknown> = { activation };
      if (R.bool()) o.normalize = R.pick(['none', 'softmax']);
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
      if (R.bool(0.4)) o.returnWeights = true;
      return [randT(R, [B, D]), randT(R, [B, S, D]), { layers }, o];
    },
    small: () => [rnd([2, 4], 14), rnd([2, 6, 4], 15), { layers: [{ w: rnd([16, 6], 16), b: rnd([6], 17) }, { w: rnd([6, 1], 18), b: rnd([1], 19) }] }, null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: (a) => ({ B: shapeOf(a[1])[0], S: shapeOf(a[1])[1] }),
    invalidate(_R, a) {
      optionsArg(a, 3).activation = 'gelu';
      return "options.activation := 'gelu'";
    },
  },
});
