/**
 * Additive (Bahdanau) attention and attention pooling.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import type { AdditiveAttentionArgs, FloatData, DType, HalfDType, Widened } from '../kernels';
import { widenArgs } from '../half';
import type { MaskLike, Tensor, FloatTensorLike } from '../tensor';
import { expectDim, expectNonEmpty, matrix, optionalLengths, optionalMask, optionsObject, vector, weightsFit, HalfFields, floatMatrix, floatVector, type FloatChecked } from '../validate';
import { broadcastShape, optionsArg, randLengths, randMask, randT, rnd, shapeOf } from './cases';
import { run, runAsync, type Prepared, OUTPUT_DTYPE_OPTION, type Narrowed } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type OpCase, type OpDescriptor } from './descriptor';
import { drive, driveAsync, type Steps } from './cached';
import { refuseWithSaved, step } from './trainingSteps';
import { additiveForwardSaved, type AdditiveAttentionSaved } from './additiveAttentionBackward';
import { asJagged, type JaggedLike } from '../jagged';
import { DTypeError, ShapeError, ValueError, describeType } from '../errors';
import { liveTypedArray } from '../buffers';
import { isJaggedArg, longestOf, refuseWithJagged, sequenceOfRow, type JaggedPoolOutput } from './jaggedPool';

/** Parameters of {@link additiveAttention}: `wq [Dq,A]` (omit for pooling), `wk [Dk,A]`, `b [A]`, `v [A]`. */
export interface AdditiveAttentionParams {
  /** `[Dq, A]`; ignored (may be omitted) when query is null. */
  wq?: FloatTensorLike | null;
  /** `[Dk, A]`. */
  wk: FloatTensorLike;
  /** `[A]`. */
  b: FloatTensorLike;
  /** `[A]`. */
  v: FloatTensorLike;
}

/** Options of {@link additiveAttention}. */
export interface AdditiveAttentionOptions {
  /**
   * Bool mask broadcastable to `[B,L,S]` (1 = may attend). With jagged keys, a mask per user
   * instead: a `Uint8Array` of exactly `Σ_b L·S_b` entries (L the dense query count, S_b batch
   * b's key count), batch b's row-major `[L, S_b]` block after the blocks of the batches before it
   * (so it starts at `L·offsets[b]`); a row with no key left outputs zeros, as an all-masked row
   * does.
   */
  mask?: MaskLike | null;
  /** `[B]` valid key counts. Not with jagged keys (ValueError: the offsets give the lengths). */
  keyLengths?: Int32Array | null;
  /** Also return the weights: `[B,L,S]`, or with jagged keys jagged `[T,L]` (the keys' offsets). */
  returnWeights?: boolean;
  /**
   * Element type of the returned output (default `'float32'`): `'float16'` / `'bfloat16'` round the
   * float32 result to nearest even at the end (the computation is float32 whatever the inputs).
   */
  outputDtype?: DType;
  /**
   * Training: return `{ output, saved }`, where `saved` is what {@link additiveAttentionBackward}
   * needs (the float32 inputs and parameters, the weights). The output is the fused op's, run with
   * the same dispatch options on the float32 values (half inputs are widened, exactly); not with
   * `returnWeights` (the weights are in saved) or a half `outputDtype`, nor with jagged keys
   * (ValueError: pass the padded form, {@link toPadded}, with its lengths as `keyLengths`).
   */
  returnSaved?: boolean;
}

/** Result of additive and target attention when weights are asked for. */
export interface PoolOutput {
  /** The pooled output. */
  output: Tensor;
  /** The weights the output was computed with. */
  weights: Tensor;
}

const KP = ['B', 'S', 'Dk'];
const MAX_INT32 = 0x7fffffff;
const VP = ['B', 'S', 'Dv'];
const QP = ['B', 'L', 'Dq'];

/** Jagged keys and values: both jagged over the same offsets (typed errors naming the one that is not). */
function jaggedKeysValues(keys: unknown, values: unknown): { kt: FloatChecked; vt: FloatChecked; offsets: Int32Array } {
  if (!isJaggedArg(values, 'values')) throw new DTypeError('values', 'a jagged tensor ({ values: [T,Dv], offsets }) like keys', describeType(values), 'keys and values are both jagged or both padded');
  const jk = asJagged(keys, 'keys', ['Dk']);
  const jv = asJagged(values, 'values', ['Dv'], { batch: jk.batch });
  for (let b = 0; b <= jk.batch; b++) {
    if (jv.offsets[b] !== jk.offsets[b]) throw new ValueError('values.offsets', `expected the offsets of keys (the value of key j is row j of values), received values.offsets[${b}] = ${jv.offsets[b]} != keys.offsets[${b}] = ${jk.offsets[b]}`);
  }
  expectNonEmpty('keys.values', jk.shape, 1, ['T', 'Dk']);
  expectNonEmpty('values.values', jv.shape, 1, ['T', 'Dv']);
  return { kt: { data: jk.data, shape: jk.shape, dtype: jk.dtype }, vt: { data: jv.data, shape: jv.shape, dtype: jv.dtype }, offsets: jk.offsets };
}

/** The per-user mask of jagged keys: null, or a Uint8Array of exactly `L·T` entries (user b's `[L, S_b]` block at `L·offsets[b]`). */
function jaggedKeyMask(mask: unknown, offsets: Int32Array, L: number): Uint8Array | null {
  if (mask === undefined || mask === null) return null;
  const size = L * offsets[offsets.length - 1];
  const expected = `Uint8Array(Σ_b L·S_b = ${size}) (batch b's row-major [L,S_b] block after those of the batches before it; 1 = may attend)`;
  if (size > MAX_INT32) throw new ValueError('options.mask', `a jagged mask of Σ_b L·S_b = ${size} entries exceeds 2^31-1`);
  const m = liveTypedArray(mask, 'options.mask', Uint8Array, `a ${expected}`);
  if (m.length !== size) throw new ShapeError('options.mask', expected, `Uint8Array(${m.length})`);
  return m;
}

function prepareAdditive(query: FloatTensorLike | null, keys: FloatTensorLike | JaggedLike, values: FloatTensorLike | JaggedLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null): Prepared<'additiveAttention', Tensor | PoolOutput | JaggedPoolOutput> {
  const d = additiveAttentionOp;
  // Jagged keys / values: [T,Dk] / [T,Dv] over offsets [B+1]; batch b attends to its own rows only.
  const jagged = isJaggedArg(keys, 'keys') ? jaggedKeysValues(keys, values) : null;
  const offsets = jagged ? jagged.offsets : null;
  const kt = jagged ? jagged.kt : tensorParam(d, 'keys', keys);
  const vt = jagged ? jagged.vt : tensorParam(d, 'values', values);
  const B = offsets ? offsets.length - 1 : kt.shape[0];
  const S = offsets ? longestOf(offsets) : kt.shape[1];
  const Dk = kt.shape[kt.shape.length - 1];
  if (!offsets) {
    for (let a = 0; a < 3; a++) expectNonEmpty('keys', kt.shape, a, KP);
    expectNonEmpty('values', vt.shape, 2, VP);
    expectDim('values', vt.shape, 0, B, VP, 'batch must match keys');
    expectDim('values', vt.shape, 1, S, VP, 'length must match keys');
  }
  const Dv = vt.shape[vt.shape.length - 1];
  const p = optionsObject<AdditiveAttentionParams>(params, 'params', ['wq', 'wk', 'b', 'v']);
  const half = new HalfFields();
  const wk = floatMatrix(p.wk, 'params.wk', Dk, -1, 'Dk', 'A');
  const A = wk.shape[1];
  expectNonEmpty('params.wk', wk.shape, 1, ['Dk', 'A']);
  const b = half.take('b', floatVector(p.b, 'params.b', A, 'A'));
  const v = half.take('v', floatVector(p.v, 'params.v', A, 'A'));
  let L = 1;
  let Dq = 0;
  let q: FloatData | null = null;
  let wq: FloatData | null = null;
  if (query !== null) {
    const qt = tensorParam(d, 'query', query);
    for (let a = 1; a < 3; a++) expectNonEmpty('query', qt.shape, a, QP);
    expectDim('query', qt.shape, 0, B, QP, 'batch must match keys');
    L = qt.shape[1];
    Dq = qt.shape[2];
    q = half.take('query', qt);
    wq = half.take('wq', floatMatrix(p.wq, 'params.wq', Dq, A, 'Dq', 'A'));
  }
  const o = optionsFor<AdditiveAttentionOptions>(d, options);
  const jaggedMask = offsets ? jaggedKeyMask(o.mask, offsets, L) : null;
  if (offsets) refuseWithJagged(o as Record<string, unknown>, 'keys');
  const target = [B, L, S];
  const mask = offsets ? null : optionalMask(o.mask, 'options.mask', target, '[B,L,S]');
  const keyLengths = offsets ? null : optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights: boolean = readOption(d, o, 'returnWeights');
  const T = offsets ? offsets[B] : 0;
  weightsFit(returnWeights, offsets ? T * L : B * L * S, offsets ? '[T,L]' : '[B,L,S]');
  const args: AdditiveAttentionArgs = { query: q, keys: half.take('keys', kt), values: half.take('values', vt), B, L, S, Dq, Dk, Dv, A, wq, wk: half.take('wk', wk), b: b!, v: v!, mask, keyLengths, returnWeights, dtypes: half.dtypes, ...(offsets ? { keyOffsets: offsets, jaggedMask } : {}) };
  // Jagged weights are [T,L]: element (r, i) is query i of the batch that holds key row r.
  const layout = (): OutputLayout => ({
    rows: B * L,
    rowOf: (name, flat) => (name !== 'weights' ? Math.floor(flat / Dv) : offsets ? sequenceOfRow(offsets, Math.floor(flat / L)) * L + (flat % L) : Math.floor(flat / S)),
    shapeOf: (name) => (name !== 'weights' ? [B, L, Dv] : offsets ? [T, L] : target),
  });
  const wrap = (r: { output: Float32Array; weights?: Float32Array }): Tensor | PoolOutput | JaggedPoolOutput => {
    const output = { data: r.output, shape: [B, L, Dv] };
    if (!returnWeights || !r.weights) return output;
    return offsets ? { output, weights: { values: { data: r.weights, shape: [T, L] }, offsets } } : { output, weights: { data: r.weights, shape: target } };
  };
  const outputDtype: DType = readOption(d, o, 'outputDtype');
  return { op: 'additiveAttention', args, layout, wrap, outputDtype };
}

/** The `returnSaved` path's checks: null without it, else the composite to run with the dispatch options. */
function prepareSavedAdditive(query: FloatTensorLike | null, keys: FloatTensorLike | JaggedLike, values: FloatTensorLike | JaggedLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null): ((d?: DispatchOptions) => Steps<{ output: Tensor; saved: AdditiveAttentionSaved }>) | null {
  const o = optionsFor<AdditiveAttentionOptions>(additiveAttentionOp, options);
  if (!readOption(additiveAttentionOp, o, 'returnSaved')) return null;
  if (isJaggedArg(keys, 'keys') || isJaggedArg(values, 'values')) refuseWithJagged(o as Record<string, unknown>, 'keys');
  refuseWithSaved(o as Record<string, unknown>, ['returnWeights', 'outputDtype']);
  const p = prepareAdditive(query, keys, values, params, { ...o, returnWeights: true, returnSaved: false });
  const a = widenArgs(p.args) as Widened<AdditiveAttentionArgs>;
  const fused = { ...p, args: a as AdditiveAttentionArgs, outputDtype: undefined } as Prepared<'additiveAttention', PoolOutput>;
  return (d) => additiveForwardSaved(a, step(() => run(fused, d), () => runAsync(() => fused, d)));
}

/**
 * Additive (Bahdanau) attention: `score(i,j) = v · tanh(q_i·wq + k_j·wk + b)`, softmax over j,
 * weighted sum of values. query `[B,L,Dq]`, keys `[B,S,Dk]`, values `[B,S,Dv]` → `[B,L,Dv]`.
 * `query = null` is attention pooling (no query term): output `[B,1,Dv]`.
 *
 * Keys and values may be jagged (#17; {@link jagged}), both over the same offsets `[B+1]`: keys
 * `[T,Dk]`, values `[T,Dv]`, batch b's keys the rows `offsets[b] .. offsets[b+1]-1`; no work or
 * memory is spent on padding. The query stays dense `[B,L,Dq]` (or null) and the output `[B,L,Dv]`;
 * the weights come back jagged (`{ values: [T,L], offsets }`). An empty batch row has no allowed
 * key, as `keyLengths[b] = 0` does: output zeros. `mask` is then per user: a `Uint8Array` of
 * `Σ_b L·S_b` entries, batch b's row-major `[L, S_b]` block after those of the batches before it
 * (a row left with no key outputs zeros). Not with `keyLengths` or `returnSaved` (ValueError). Half-precision keys / values are accepted as in the padded form.
 *
 * @example
 * const pooled = additiveAttention(null, h, h, { wk, b, v });
 */
export function additiveAttention(query: FloatTensorLike | null, keys: JaggedLike, values: JaggedLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnWeights: true; outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<JaggedPoolOutput>;
export function additiveAttention(query: FloatTensorLike | null, keys: JaggedLike, values: JaggedLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): JaggedPoolOutput;
export function additiveAttention(query: FloatTensorLike | null, keys: JaggedLike, values: JaggedLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null, dispatchOptions?: DispatchOptions): Tensor | JaggedPoolOutput | Narrowed<Tensor | JaggedPoolOutput>;
export function additiveAttention(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): { output: Tensor; saved: AdditiveAttentionSaved };
export function additiveAttention(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<Tensor | PoolOutput>;
export function additiveAttention(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): PoolOutput;
export function additiveAttention(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options?: (AdditiveAttentionOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function additiveAttention(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput;
export function additiveAttention(query: FloatTensorLike | null, keys: FloatTensorLike | JaggedLike, values: FloatTensorLike | JaggedLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null, dispatchOptions?: DispatchOptions): Tensor | PoolOutput | JaggedPoolOutput | Narrowed<Tensor | PoolOutput | JaggedPoolOutput> | { output: Tensor; saved: AdditiveAttentionSaved } {
  const withSaved = prepareSavedAdditive(query, keys, values, params, options);
  if (withSaved) return drive(withSaved(dispatchOptions));
  return run(prepareAdditive(query, keys, values, params, options), dispatchOptions);
}

/** The async twin of {@link additiveAttention}. */
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: JaggedLike, values: JaggedLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnWeights: true; outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<JaggedPoolOutput>>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: JaggedLike, values: JaggedLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): Promise<JaggedPoolOutput>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: JaggedLike, values: JaggedLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | JaggedPoolOutput | Narrowed<Tensor | JaggedPoolOutput>>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): Promise<{ output: Tensor; saved: AdditiveAttentionSaved }>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<Tensor | PoolOutput>>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options: AdditiveAttentionOptions & { returnWeights: true }, dispatchOptions?: DispatchOptions): Promise<PoolOutput>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options?: (AdditiveAttentionOptions & { returnWeights?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function additiveAttentionAsync(query: FloatTensorLike | null, keys: FloatTensorLike, values: FloatTensorLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput>;
export async function additiveAttentionAsync(query: FloatTensorLike | null, keys: FloatTensorLike | JaggedLike, values: FloatTensorLike | JaggedLike, params: AdditiveAttentionParams, options?: AdditiveAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | PoolOutput | JaggedPoolOutput | Narrowed<Tensor | PoolOutput | JaggedPoolOutput> | { output: Tensor; saved: AdditiveAttentionSaved }> {
  const withSaved = prepareSavedAdditive(query, keys, values, params, options);
  if (withSaved) return driveAsync(withSaved(dispatchOptions));
  return runAsync(() => prepareAdditive(query, keys, values, params, options), dispatchOptions);
}

/** The additiveAttention descriptor. */
export const additiveAttentionOp: OpDescriptor<'additiveAttention'> = defineOp({
  name: 'additiveAttention',
  summary: 'additive (Bahdanau) attention, and attention pooling with query = null',
  signature: 'additiveAttention(query | null, keys, values, params, options?, dispatch?)',
  params: [tensor('query', QP, true), tensor('keys', KP), tensor('values', VP), 'params', 'options'],
  options: {
    outputDtype: OUTPUT_DTYPE_OPTION,
    mask: { kind: 'mask', doc: 'bool mask broadcastable to [B,L,S]; with jagged keys a Uint8Array of Σ_b L·S_b entries (batch b\'s [L,S_b] block after those before it)' },
    keyLengths: { kind: 'lengths', doc: '[B] valid key counts' },
    returnWeights: { kind: 'boolean', default: false, doc: 'also return the [B,L,S] weights' },
    returnSaved: { kind: 'boolean', default: false, doc: 'training: return { output, saved } for additiveAttentionBackward' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 1.8e-5, then 4.3e-7 of atol needed at 4x that rtol (max abs 8.9e-7).
    // max rel by input type: bfloat16 5.3e-6, float16 7.7e-6, float32 1.8e-5, mixed 7.8e-6.
    native: { rtol: 7.4e-5, atol: 1.8e-6 },
    // gpu on llvmpipe: max rel 1.6e-5, then 7.7e-7 of atol (max abs 1.8e-6; re-measured with
    // test/jagged-pool.test.mjs included: same rule result).
    gpu: { rtol: 6.3e-5, atol: 3.1e-6 },
  },
  cost: (s) => {
    const { B, L, S, D, A } = s as Record<string, number>;
    return { flops: 2 * B * S * D * A + 2 * B * L * D * A + 3 * B * L * S * A + 2 * B * L * S * D, bytes: 4 * (B * L * D + 2 * B * S * D + 2 * D * A + 2 * A + B * L * D) };
  },
  fn: additiveAttention,
  fnAsync: additiveAttentionAsync,
  native: { isaKernel: false },
  half: true,
  cases: {
    knownAnswers() {
      // A = 1, wk = [[1]], b = 0, v = [1], pooling: score_j = tanh(k_j); keys [0, atanh(0.5)] give scores [0, 0.5].
      const one = { data: new Float32Array([1]), shape: [1, 1] };
      const keys = { data: new Float32Array([0, Math.atanh(0.5)]), shape: [1, 2, 1] };
      const values = { data: new Float32Array([10, 20]), shape: [1, 2, 1] };
      const w0 = 1 / (1 + Math.exp(0.5)), w1 = 1 - w0;
      return [{
        label: 'pooling over two keys with tanh scores 0 and 0.5',
        args: [null, keys, values, { wk: one, b: { data: new Float32Array([0]), shape: [1] }, v: { data: new Float32Array([1]), shape: [1] } }, { returnWeights: true }],
        want: { output: [10 * w0 + 20 * w1], weights: [w0, w1] },
      }];
    },
    checks(quick) {
      const cases: OpCase[] = [];
      for (const [B, L, S, D, A] of quick ? [[3, 2, 17, 9, 5]] : [[3, 2, 17, 9, 5], [4, 1, 50, 64, 64], [2, 3, 129, 3, 33]]) {
        const p = { wq: rnd([D, A], 20, 0.3), wk: rnd([D, A], 21, 0.3), b: rnd([A], 22, 0.1), v: rnd([A], 23) };
        const q = rnd([B, L, D], 24), k = rnd([B, S, D], 25);
        const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
        cases.push({ label: `B=${B} L=${L} S=${S} D=${D} A=${A}`, args: [q, k, k, p, { keyLengths: lens, returnWeights: true }] });
        cases.push({ label: `B=${B} S=${S} D=${D} A=${A} pooling`, args: [null, k, k, p, {}] });
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { B: 32, L: 1, S: 50, D: 64, A: 64 } : { B: 256, L: 1, S: 50, D: 64, A: 64 };
      return [{
        label: 'attention over 50 items',
        shape: s,
        make: () => {
          const q = rnd([s.B, s.L, s.D], 8), k = rnd([s.B, s.S, s.D], 9);
          return { args: [q, k, k, { wq: rnd([s.D, s.A], 10, 0.2), wk: rnd([s.D, s.A], 11, 0.2), b: rnd([s.A], 12, 0.1), v: rnd([s.A], 13) }, {}] };
        },
      }];
    },
    random(R) {
      const B = R.int(1, 2), S = R.int(1, 5), Dk = R.int(1, 5), Dv = R.int(1, 4), A = R.int(1, 6);
      const pool = R.bool(0.3);
      const L = pool ? 1 : R.int(1, 4), Dq = R.int(1, 5);
      const p: Record<string, unknown> = { wk: randT(R, [Dk, A]), b: randT(R, [A]), v: randT(R, [A]) };
      if (!pool) p.wq = randT(R, [Dq, A]);
      const o: Record<string, unknown> = {};
      if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, [B, L, S]));
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
      if (R.bool(0.4)) o.returnWeights = true;
      return [pool ? null : randT(R, [B, L, Dq]), randT(R, [B, S, Dk]), randT(R, [B, S, Dv]), p, o];
    },
    small: () => [null, rnd([2, 6, 5], 9), rnd([2, 6, 4], 10), { wk: rnd([5, 7], 11), b: rnd([7], 12), v: rnd([7], 13) }, { returnWeights: true }],
  },
  fuzz: {
    broadcastTarget: (a) => ({ shape: [shapeOf(a[1])[0], a[0] ? shapeOf(a[0])[1] : 1, shapeOf(a[1])[1]], bias: false }),
    lengthsTarget: (a) => ({ B: shapeOf(a[1])[0], S: shapeOf(a[1])[1] }),
    invalidate(_R, a) {
      optionsArg(a, 4).returnWeights = 'yes';
      return "options.returnWeights := 'yes'";
    },
  },
});
