/**
 * The transformer encoder layer that sequential recommenders (SASRec-style) stack, and the
 * sinusoidal position table.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { TransformerEncoderLayerArgs, Widened, DType, HalfDType } from '../kernels';
import { widenArgs } from '../half';
import { checkShape, type Tensor, type FloatTensorLike, type HalfTensor } from '../tensor';
import { expectNonEmpty, matrix, optionalLengths, optionsObject, vector, HalfFields, floatMatrix, floatVector } from '../validate';
import { encoderParams, optionsArg, randLengths, randT, rnd, shapeOf, someLengths } from './cases';
import { rowMajorLayout, run, runAsync, type Prepared, narrowOutput, OUTPUT_DTYPE_OPTION } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type OpCase, type OpDescriptor } from './descriptor';
import { multiHeadAttentionOp } from './multiHeadAttention';
import { attentionLimits, type WindowOption } from './attentionLimits';
import { expectCacheFits, expectRoom, type KvCache } from '../kvCache';
import { cachedEncoder, cacheOptions, drive, driveAsync, expectWindowAligned, type Steps } from './cached';
import { encoderForwardSaved, type TransformerEncoderLayerSaved } from './transformerEncoderLayerBackward';
import { refuseWithSaved } from './trainingSteps';

/** Parameters of {@link transformerEncoderLayer} (x·W layout; biases, gamma and beta optional). */
export interface TransformerEncoderLayerParams {
  /** Self-attention projections: `wq, wk, wv, wo` are `[E,E]`, biases `[E]`. */
  attention: { wq: FloatTensorLike; bq?: FloatTensorLike | null; wk: FloatTensorLike; bk?: FloatTensorLike | null; wv: FloatTensorLike; bv?: FloatTensorLike | null; wo: FloatTensorLike; bo?: FloatTensorLike | null };
  /** LayerNorm around attention: `[E]` each. */
  norm1?: { gamma?: FloatTensorLike | null; beta?: FloatTensorLike | null } | null;
  /** Feed-forward: `w1 [E,F]`, `b1 [F]`, `w2 [F,E]`, `b2 [E]`. */
  ffn: { w1: FloatTensorLike; b1?: FloatTensorLike | null; w2: FloatTensorLike; b2?: FloatTensorLike | null };
  /** LayerNorm around the feed-forward: `[E]` each. */
  norm2?: { gamma?: FloatTensorLike | null; beta?: FloatTensorLike | null } | null;
}

/** Options of {@link transformerEncoderLayer}. */
export interface TransformerEncoderLayerOptions {
  /** Attention heads H (E % H == 0). */
  numHeads: number;
  /** `'post'` (default, as PyTorch) or `'pre'`. */
  norm?: 'pre' | 'post';
  /** Feed-forward activation: `'relu'` (default, as PyTorch) or `'gelu'` (exact). */
  activation?: 'relu' | 'gelu';
  /** Causal self-attention (SASRec): position i sees positions j <= i (top-left: a padded sequence starts at 0). */
  causal?: boolean;
  /** Sliding window around each position i: keys `i - left <= j <= i + right` (see sdpa's `window`). */
  window?: WindowOption | null;
  /** Logit soft-cap `c > 0` (see sdpa's `softcap`). */
  softcap?: number;
  /** `[B]` valid sequence lengths: positions `>= keyLengths[b]` are not attended to (they are still computed). */
  keyLengths?: Int32Array | null;
  /** LayerNorm eps (default 1e-5). */
  eps?: number;
  /**
   * Incremental decoding through this layer's own {@link KvCache} (`batch` B, `kvHeads` numHeads,
   * `headDim` = `valueDim` = E/numHeads; one cache per layer): x is the NEW tokens `[B,T,E]`; the
   * keys and values of their attention rows (x for post-norm, norm1(x) for pre-norm, projected)
   * are appended to the cache, and the result is the layer's output for the new tokens only,
   * `[B,T,E]`, as if the layer ran over every cached token (`keyLengths` is refused: the cache's
   * lengths are the key lengths). With `causal`, new token i of batch b is at position
   * `lengths[b] - appended[b] + i`. Composed from the public ops (linear, sdpa, layerNorm, gelu)
   * with the same dispatch options: O(T·E·(E + F) + T·lengths·E) per layer instead of the whole block.
   */
  cache?: KvCache<DType> | null;
  /** With `cache`: `[B]` how many of the T new tokens of each batch row are valid and appended (default T). */
  appendCounts?: Int32Array | null;
  /**
   * Element type of the returned output (default `'float32'`): `'float16'` / `'bfloat16'` round the
   * float32 result to nearest even at the end (the computation is float32 whatever the inputs).
   */
  outputDtype?: DType;
  /**
   * Training: return `{ output, saved }`, where `saved` is what
   * {@link transformerEncoderLayerBackward} needs. Computed by the public ops (layerNorm, linear,
   * sdpa, gelu) with the same dispatch options, in float32 (half inputs are widened, exactly); not
   * with `cache` or a half `outputDtype`, nor with a window without causal plus keyLengths.
   */
  returnSaved?: boolean;
}


const XP = ['B', 'L', 'E'];

function prepareEncoder(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions): Prepared<'transformerEncoderLayer', Tensor> {
  const d = transformerEncoderLayerOp;
  const xt = tensorParam(d, 'x', x);
  for (let a = 0; a < 3; a++) expectNonEmpty('x', xt.shape, a, XP);
  const [B, L, E] = xt.shape;
  const o = optionsFor<TransformerEncoderLayerOptions>(d, options);
  if (o.appendCounts !== undefined && o.appendCounts !== null) throw new ValueError('options.appendCounts', 'only with options.cache (it counts the new tokens appended to the cache)');
  const H: number = readOption(d, o, 'numHeads');
  if (E % H !== 0) throw new ShapeError('x', `[B,L,E] with E divisible by numHeads=${H}`, formatShape(xt.shape));
  const p = optionsObject<TransformerEncoderLayerParams>(params, 'params', ['attention', 'norm1', 'ffn', 'norm2']);
  const att = optionsObject<TransformerEncoderLayerParams['attention']>(p.attention, 'params.attention', ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo']);
  const ffn = optionsObject<TransformerEncoderLayerParams['ffn']>(p.ffn, 'params.ffn', ['w1', 'b1', 'w2', 'b2']);
  const n1 = optionsObject<NonNullable<TransformerEncoderLayerParams['norm1']>>(p.norm1, 'params.norm1', ['gamma', 'beta']);
  const n2 = optionsObject<NonNullable<TransformerEncoderLayerParams['norm2']>>(p.norm2, 'params.norm2', ['gamma', 'beta']);
  const half = new HalfFields();
  // Each float parameter checked (any dtype) and its dtype recorded under its args field.
  const sq = (field: string, w: unknown, name: string) => half.take(field, floatMatrix(w, name, E, E, 'E', 'E'));
  const vec = (field: string, w: unknown, name: string, n: number, nName: string) => half.take(field, floatVector(w, name, n, nName, true));
  const w1 = floatMatrix(ffn.w1, 'params.ffn.w1', E, -1, 'E', 'F');
  const F = w1.shape[1];
  if (F < 1) throw new ShapeError('params.ffn.w1', `[E=${E},F] with F >= 1`, formatShape(w1.shape));
  const args: TransformerEncoderLayerArgs = {
    x: half.take('x', xt), B, L, E, H, D: E / H, F,
    wq: sq('wq', att.wq, 'params.attention.wq'), bq: vec('bq', att.bq, 'params.attention.bq', E, 'E'),
    wk: sq('wk', att.wk, 'params.attention.wk'), bk: vec('bk', att.bk, 'params.attention.bk', E, 'E'),
    wv: sq('wv', att.wv, 'params.attention.wv'), bv: vec('bv', att.bv, 'params.attention.bv', E, 'E'),
    wo: sq('wo', att.wo, 'params.attention.wo'), bo: vec('bo', att.bo, 'params.attention.bo', E, 'E'),
    gamma1: vec('gamma1', n1.gamma, 'params.norm1.gamma', E, 'E'), beta1: vec('beta1', n1.beta, 'params.norm1.beta', E, 'E'),
    w1: half.take('w1', w1), b1: vec('b1', ffn.b1, 'params.ffn.b1', F, 'F'),
    w2: half.take('w2', floatMatrix(ffn.w2, 'params.ffn.w2', F, E, 'F', 'E')), b2: vec('b2', ffn.b2, 'params.ffn.b2', E, 'E'),
    gamma2: vec('gamma2', n2.gamma, 'params.norm2.gamma', E, 'E'), beta2: vec('beta2', n2.beta, 'params.norm2.beta', E, 'E'),
    norm: readOption(d, o, 'norm'),
    activation: readOption(d, o, 'activation'),
    ...attentionLimits({ causal: readOption(d, o, 'causal'), window: o.window }, B, L, L, null, readOption(d, o, 'softcap', 0), 'top-left'),
    keyLengths: optionalLengths(o.keyLengths, 'options.keyLengths', B, L),
    eps: readOption(d, o, 'eps'),
    dtypes: half.dtypes,
  };
  if (args.eps < 0) throw new ValueError('options.eps', `expected a number >= 0, received ${args.eps}`);
  const shape = [B, L, E];
  const outputDtype: DType = readOption(d, o, 'outputDtype');
  return { op: 'transformerEncoderLayer', args, layout: () => rowMajorLayout(B * L, { output: shape }), wrap: (r) => ({ data: r, shape }), outputDtype };
}

/**
 * The cache path's checks, all before anything is appended: null without `options.cache`, else the
 * composite to run with the dispatch options.
 */
function prepareCachedEncoder(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions): ((d?: DispatchOptions) => Steps<Tensor>) | null {
  const c = cacheOptions<TransformerEncoderLayerOptions>(transformerEncoderLayerOp, options, []);
  if (!c) return null;
  const { o, cache } = c;
  // The cache path composes the public ops over float32 arrays: half operands are widened (exact).
  const a = widenArgs(prepareEncoder(x, params, c.rest).args) as Widened<TransformerEncoderLayerArgs>;
  expectCacheFits(cache, 'options.cache', a.B, a.H, a.D, a.D);
  const appendCounts = optionalLengths(o.appendCounts, 'options.appendCounts', a.B, a.L);
  expectRoom(cache, appendCounts, a.L, appendCounts ? 'options.appendCounts' : 'x');
  const window = (o.window ?? null) as WindowOption | null;
  expectWindowAligned(window, a.causal, appendCounts, a.L);
  return (dispatch) =>
    cachedEncoder({
      x: a.x, B: a.B, T: a.L, E: a.E, H: a.H, F: a.F,
      wq: a.wq, bq: a.bq, wk: a.wk, bk: a.bk, wv: a.wv, bv: a.bv, wo: a.wo, bo: a.bo,
      gamma1: a.gamma1, beta1: a.beta1, w1: a.w1, b1: a.b1, w2: a.w2, b2: a.b2, gamma2: a.gamma2, beta2: a.beta2,
      norm: a.norm, activation: a.activation, causal: a.causal, window, softcap: a.softcap, eps: a.eps, appendCounts,
    }, cache, dispatch);
}

/** The `returnSaved` path's checks: null without it, else the composite to run with the dispatch options. */
function prepareSavedEncoder(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions): ((d?: DispatchOptions) => Steps<{ output: Tensor; saved: TransformerEncoderLayerSaved }>) | null {
  const d = transformerEncoderLayerOp;
  const o = optionsFor<TransformerEncoderLayerOptions>(d, options);
  if (!readOption(d, o, 'returnSaved')) return null;
  refuseWithSaved(o as Record<string, unknown>, ['cache', 'appendCounts', 'outputDtype']);
  const a = widenArgs(prepareEncoder(x, params, options).args) as Widened<TransformerEncoderLayerArgs>;
  // sdpa aligns a window without causal bottom-right from keyLengths; the layer aligns it top-left.
  if (!a.causal && (a.windowLeft >= 0 || a.windowRight >= 0) && a.keyLengths) throw new ValueError('options.window', 'with options.returnSaved, a window without causal cannot be combined with options.keyLengths');
  return (dispatch) => encoderForwardSaved(a, a.keyLengths, o.window, dispatch);
}

/**
 * One transformer encoder layer (PyTorch `nn.TransformerEncoderLayer` semantics, x·W weights):
 * multi-head self-attention and a feed-forward block, each with a residual and LayerNorm.
 * Post-norm: `x = norm1(x + mha(x)); x = norm2(x + ffn(x))`; pre-norm: `x = x + mha(norm1(x));
 * x = x + ffn(norm2(x))`. x `[B,L,E]` → `[B,L,E]`.
 *
 * @example
 * // items [B,L,E] plus the sinusoidal positions (broadcast over B), then one causal pre-norm block
 * const pos = positionalEncoding(L, E);
 * const x = tensor(items.data.map((v, f) => v + pos.data[f % (L * E)]), [B, L, E]);
 * const h = transformerEncoderLayer(x, block1, { numHeads: 2, causal: true, norm: 'pre' });
 */
export function transformerEncoderLayer(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): { output: Tensor; saved: TransformerEncoderLayerSaved };
export function transformerEncoderLayer(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): HalfTensor;
export function transformerEncoderLayer(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions & { outputDtype?: 'float32' }, dispatchOptions?: DispatchOptions): Tensor;
export function transformerEncoderLayer(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions, dispatchOptions?: DispatchOptions): Tensor | HalfTensor;
export function transformerEncoderLayer(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions, dispatchOptions?: DispatchOptions): Tensor | HalfTensor | { output: Tensor; saved: TransformerEncoderLayerSaved } {
  const withSaved = prepareSavedEncoder(x, params, options);
  if (withSaved) return drive(withSaved(dispatchOptions));
  const cached = prepareCachedEncoder(x, params, options);
  if (cached) return narrowOutput(drive(cached(dispatchOptions)), options.outputDtype);
  return run(prepareEncoder(x, params, options), dispatchOptions);
}

/** The async twin of {@link transformerEncoderLayer}. */
export function transformerEncoderLayerAsync(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): Promise<{ output: Tensor; saved: TransformerEncoderLayerSaved }>;
export function transformerEncoderLayerAsync(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<HalfTensor>;
export function transformerEncoderLayerAsync(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions & { outputDtype?: 'float32' }, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function transformerEncoderLayerAsync(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions, dispatchOptions?: DispatchOptions): Promise<Tensor | HalfTensor>;
export async function transformerEncoderLayerAsync(x: FloatTensorLike, params: TransformerEncoderLayerParams, options: TransformerEncoderLayerOptions, dispatchOptions?: DispatchOptions): Promise<Tensor | HalfTensor | { output: Tensor; saved: TransformerEncoderLayerSaved }> {
  const withSaved = prepareSavedEncoder(x, params, options);
  if (withSaved) return driveAsync(withSaved(dispatchOptions));
  const cached = prepareCachedEncoder(x, params, options);
  if (cached) return narrowOutput(await driveAsync(cached(dispatchOptions)), options.outputDtype);
  return runAsync(() => prepareEncoder(x, params, options), dispatchOptions);
}

/**
 * The sinusoidal position table `[L,E]`: `[p,2i] = sin(p / 10000^(2i/E))`, `[p,2i+1] = cos(...)`
 * (computed in float64, stored as float32). The same on every backend, so it is not dispatched.
 */
export function positionalEncoding(L: number, E: number): Tensor {
  const [l, e] = checkShape([L, E], 'positionalEncoding(L, E)');
  const out = new Float32Array(l * e);
  for (let p = 0; p < l; p++) {
    for (let c = 0; c < e; c++) {
      const i2 = c - (c % 2);
      const angle = p / Math.pow(10000, i2 / e);
      out[p * e + c] = c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return { data: out, shape: [l, e] };
}

/** The transformerEncoderLayer descriptor. */
export const transformerEncoderLayerOp: OpDescriptor<'transformerEncoderLayer'> = defineOp({
  name: 'transformerEncoderLayer',
  summary: 'the transformer encoder block of sequential recommenders (SASRec): self-attention + FFN, residuals, LayerNorm (pre or post)',
  signature: 'transformerEncoderLayer(x, params, options, dispatch?)',
  params: [tensor('x', XP), 'params', 'options'],
  options: {
    outputDtype: OUTPUT_DTYPE_OPTION,
    numHeads: { kind: 'positiveInt', doc: 'attention heads (required; E % numHeads == 0)' },
    norm: { kind: 'enum', values: ['pre', 'post'], default: 'post', doc: 'LayerNorm before or after each residual block' },
    activation: { kind: 'enum', values: ['relu', 'gelu'], default: 'relu', doc: 'FFN activation' },
    causal: { kind: 'boolean', default: false, doc: 'causal self-attention: position i sees j <= i' },
    window: { kind: 'window', doc: '{ left?, right? }: position i sees keys i - left <= j <= i + right' },
    softcap: { kind: 'finite', greaterThan: 0, doc: 'logit soft-cap c in [1e-10, 1e10]: c·tanh(logit / c)' },
    keyLengths: { kind: 'lengths', doc: '[B] valid lengths (padding keys masked)' },
    eps: { kind: 'finite', default: 1e-5, doc: 'LayerNorm epsilon (>= 0)' },
    returnSaved: { kind: 'boolean', default: false, doc: 'training: return { output, saved } for transformerEncoderLayerBackward' },
    cache: { kind: 'cache', doc: "this layer's KvCache: x is the new tokens, the output their rows" },
    appendCounts: { kind: 'lengths', doc: 'with cache: [B] valid new tokens per batch row (default T)' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 7.7e-6, then 3.2e-6 of atol needed at 4x that rtol (max abs 8.3e-6).
    // max rel by input type: bfloat16 2.1e-6, float16 2.8e-6, float32 7.7e-6, mixed 2.5e-6.
    native: { rtol: 3.1e-5, atol: 1.3e-5 },
    // gpu on llvmpipe: max rel 5.8e-6, then 3e-6 of atol (max abs 6.4e-6).
    gpu: { rtol: 2.4e-5, atol: 1.2e-5 },
  },
  cost: (s) => {
    const { B, L, E, F } = s as Record<string, number>;
    const mha = multiHeadAttentionOp.cost(s);
    return { flops: mha.flops + 4 * B * L * E * F, bytes: mha.bytes + 4 * 2 * E * F };
  },
  fn: transformerEncoderLayer,
  fnAsync: transformerEncoderLayerAsync,
  native: { isaKernel: false },
  half: true,
  cases: {
    knownAnswers() {
      // All weights zero, post-norm without affine params: every sublayer adds 0, and a row
      // [1, 2, 3, 4] normalises to ±1.5/sd, ±0.5/sd twice (the second norm sees a normalised row).
      const E = 4, z = (r: number, c: number) => ({ data: new Float32Array(r * c), shape: [r, c] });
      const p = { attention: { wq: z(E, E), wk: z(E, E), wv: z(E, E), wo: z(E, E) }, ffn: { w1: z(E, 3), w2: z(3, E) } };
      const sd1 = Math.sqrt(1.25 + 1e-5);
      const n1 = [-1.5, -0.5, 0.5, 1.5].map((x) => x / sd1);
      const var2 = n1.reduce((a, x) => a + x * x, 0) / E;
      return [{
        label: 'zero weights: two LayerNorms of the input row',
        args: [{ data: new Float32Array([1, 2, 3, 4]), shape: [1, 1, E] }, p, { numHeads: 2 }],
        want: { output: n1.map((x) => x / Math.sqrt(var2 + 1e-5)) },
      }];
    },
    checks(quick) {
      const cases: OpCase[] = [];
      for (const [B, L, E, H, F] of quick ? [[2, 17, 12, 3, 20]] : [[2, 17, 12, 3, 20], [4, 50, 64, 2, 64]]) {
        const x = rnd([B, L, E], 40), p = encoderParams(E, F, 41);
        const lens = new Int32Array(B).map((_, b) => L - b);
        cases.push({ label: `B=${B} L=${L} E=${E} H=${H} post relu`, args: [x, p, { numHeads: H }] });
        cases.push({ label: `B=${B} L=${L} E=${E} H=${H} pre gelu causal`, args: [x, p, { numHeads: H, norm: 'pre', activation: 'gelu', causal: true, keyLengths: lens }] });
        cases.push({ label: `B=${B} L=${L} E=${E} H=${H} post causal, window left 3, softcap 2`, args: [x, p, { numHeads: H, causal: true, window: { left: 3 }, softcap: 2, keyLengths: lens }] });
        cases.push({ label: `B=${B} L=${L} E=${E} H=${H} pre, window { left: 2, right: 2 }`, args: [x, p, { numHeads: H, norm: 'pre', window: { left: 2, right: 2 } }] });
      }
      cases.push({ label: 'B=3 L=5 E=6 H=3 keyLengths incl. 0', args: [rnd([3, 5, 6], 42), encoderParams(6, 7, 43), { numHeads: 3, keyLengths: someLengths(3, 5) }] });
      return cases;
    },
    bench(quick) {
      // SASRec-sized: B=128, L=200, E=64, 2 heads, causal; FFN width F = E as in SASRec.
      const s = quick ? { B: 8, L: 50, E: 64, H: 2, F: 64, causal: true } : { B: 128, L: 200, E: 64, H: 2, F: 64, causal: true };
      return [{
        label: 'SASRec-sized block',
        shape: s,
        make: () => ({ args: [rnd([s.B, s.L, s.E], 6), encoderParams(s.E, s.F, 7), { numHeads: s.H, causal: true, norm: 'pre', activation: 'gelu' }] }),
      }];
    },
    random(R) {
      const B = R.int(1, 2), L = R.int(1, 4), H = R.int(1, 2), E = H * R.int(1, 3), F = R.int(1, 6);
      const att: Record<string, unknown> = { wq: randT(R, [E, E]), wk: randT(R, [E, E]), wv: randT(R, [E, E]), wo: randT(R, [E, E]) };
      for (const b of ['bq', 'bk', 'bv', 'bo']) if (R.bool()) att[b] = randT(R, [E]);
      const ffn: Record<string, unknown> = { w1: randT(R, [E, F]), w2: randT(R, [F, E]) };
      if (R.bool()) ffn.b1 = randT(R, [F]);
      if (R.bool()) ffn.b2 = randT(R, [E]);
      const p: Record<string, unknown> = { attention: att, ffn };
      if (R.bool(0.7)) p.norm1 = { gamma: randT(R, [E]), beta: randT(R, [E]) };
      if (R.bool(0.7)) p.norm2 = { gamma: randT(R, [E]), beta: randT(R, [E]) };
      const o: Record<string, unknown> = { numHeads: H };
      if (R.bool()) o.norm = R.pick(['pre', 'post']);
      if (R.bool()) o.activation = R.pick(['relu', 'gelu']);
      if (R.bool()) o.causal = R.bool();
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, L);
      return [randT(R, [B, L, E]), p, o];
    },
    small: () => [rnd([1, 4, 8], 20), { attention: { wq: rnd([8, 8], 21), wk: rnd([8, 8], 22), wv: rnd([8, 8], 23), wo: rnd([8, 8], 24) }, ffn: { w1: rnd([8, 16], 25), w2: rnd([16, 8], 26) } }, { numHeads: 2 }],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: (a) => ({ B: shapeOf(a[0])[0], S: shapeOf(a[0])[1] }),
    invalidate(R, a) {
      const o = optionsArg(a, 2);
      o.numHeads = R.pick([0, -1, 2 ** 31, 2 ** 53, 1e300]);
      return `options.numHeads := ${o.numHeads}`;
    },
  },
});
