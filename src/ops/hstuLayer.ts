/**
 * The HSTU layer (Zhai et al., "Actions Speak Louder than Words", 2024; generative-recommenders'
 * `SequentialTransductionUnitJagged`) over a jagged batch, forward: a composite of dispatched ops
 * (layerNorm, linear, silu, hstuAttention), so it runs on every backend that runs those ops, each
 * step verified and reported on its own. The split of the projection into u, v, q, k and the gate
 * `⊙ u` and the residual add are float32 data moves and products here, exact on every backend.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors';
import { asJagged, type JaggedLike, type JaggedTensor } from '../jagged';
import { optionsObject } from '../options';
import type { Tensor, TensorLike } from '../tensor';
import { matrix, optBool, optFinite, positiveInt, vector } from '../validate';
import { drive, driveAsync, type Steps } from './cached';
import { HSTU_OPTIONS, checkHstuCall, hstuAttention, hstuAttentionAsync, hstuAttentionOp, type HstuAttentionOptions } from './hstuAttention';
import { layerNorm, layerNormAsync } from './layerNorm';
import { silu, siluAsync } from './silu';
import type { SavedNorm } from './transformerEncoderLayerBackward';
import { addInto, linearStep, step, tensorOf } from './trainingSteps';

/**
 * Parameters of {@link hstuLayer} (x·W layout, as the reference implementation's `_uvqk`). With
 * `E` the model width, `H` heads, `D` the query/key width per head and `Dv` the value/gate width per
 * head, `C = 2·H·Dv + 2·H·D`:
 */
export interface HstuLayerParams {
  /** LayerNorm of the input, `[E]` each; absent or null: no affine part (the research code's `_norm_input`). */
  inputNorm?: { gamma?: TensorLike | null; beta?: TensorLike | null } | null;
  /** The u/v/q/k projection: `weight [E, C]` (columns u, v, q, k, each head-major), `bias [C]` optional. */
  uvqk: { weight: TensorLike; bias?: TensorLike | null };
  /** LayerNorm of the attention output over all `H·Dv` features, `[H·Dv]` each; optional. */
  outputNorm?: { gamma?: TensorLike | null; beta?: TensorLike | null } | null;
  /** The output projection: `weight [H·Dv, E]`, `bias [E]` optional. */
  output: { weight: TensorLike; bias?: TensorLike | null };
}

/**
 * Options of {@link hstuLayer}: the layer's own (`numHeads`, `headDim`, `valueDim`, `eps`,
 * `returnSaved`) and every option of {@link hstuAttention}, passed to it as given (numTargets,
 * timestamps with timeBias, positionBias, maxLength, maxAttnLen, contextualLength, normalization,
 * causal, alpha, ...; its defaults hold).
 */
export interface HstuLayerOptions extends Omit<HstuAttentionOptions, 'out'> {
  /** Attention heads H (required). */
  numHeads: number;
  /** Query/key width per head D (required; the reference implementation's `attention_dim`). */
  headDim: number;
  /** Value and gate (u) width per head Dv (default headDim; the reference's `linear_dim` / `hidden_dim`). */
  valueDim?: number;
  /** Epsilon of both LayerNorms (default 1e-6, the reference implementation's). */
  eps?: number;
  /**
   * Training: return `{ output, saved }`, where `saved` is what {@link hstuLayerBackward} needs
   * (references to the inputs and the intermediates; no global state).
   */
  returnSaved?: boolean;
}

/** The layer's own options (the rest go to hstuAttention). */
const OWN_OPTIONS = ['numHeads', 'headDim', 'valueDim', 'eps', 'returnSaved'] as const;
/** hstuAttention's options the layer passes through (all but `out`: its output is an intermediate here). */
const ATTENTION_OPTIONS = Object.keys(HSTU_OPTIONS);

/**
 * What `hstuLayer(x, params, { ...options, returnSaved: true })` keeps for
 * {@link hstuLayerBackward}. Treat it as opaque; it holds references to the caller's float32
 * arrays (do not change them between the forward and the backward).
 */
export interface HstuLayerSaved {
  /** Which forward made it. */
  readonly kind: 'hstuLayer';
  readonly T: number; readonly E: number; readonly H: number; readonly D: number; readonly Dv: number;
  /** `[B+1]` the batch's offsets (x's). */
  readonly offsets: Int32Array;
  /** The input LayerNorm: input x `[T,E]` and its statistics. */
  readonly inputNorm: SavedNorm;
  /** `[T,E]` LN_in(x), the uvqk projection's input. */
  readonly normedInput: Float32Array;
  /** `[T,C]` the projection before SiLU. */
  readonly preActivation: Float32Array;
  /** `[T,H·Dv]` the gate. */
  readonly u: Float32Array;
  /** `[T,H·Dv]`, `[T,H·D]`, `[T,H·D]`: hstuAttention's v, q, k. */
  readonly v: Float32Array; readonly q: Float32Array; readonly k: Float32Array;
  /** The output LayerNorm: input = hstuAttention's output `[T,H·Dv]`, and its statistics. */
  readonly outputNorm: SavedNorm;
  /** `[T,H·Dv]` LN_out(attention). */
  readonly normedAttention: Float32Array;
  /** `[T,H·Dv]` LN_out(attention) ⊙ u, the output projection's input. */
  readonly gated: Float32Array;
  readonly wUvqk: Float32Array; readonly bUvqk: Float32Array | null;
  readonly wO: Float32Array; readonly bO: Float32Array | null;
  /** hstuAttention's options as the caller gave them (for hstuAttentionBackward). */
  readonly attentionOptions: Readonly<Record<string, unknown>>;
}

/** The checked call: float32 arrays and sizes. */
export interface HstuLayerArgs {
  readonly x: Float32Array;
  readonly offsets: Int32Array;
  readonly T: number; readonly E: number; readonly H: number; readonly D: number; readonly Dv: number;
  readonly eps: number;
  readonly gammaIn: Float32Array | null; readonly betaIn: Float32Array | null;
  readonly wUvqk: Float32Array; readonly bUvqk: Float32Array | null;
  readonly gammaOut: Float32Array | null; readonly betaOut: Float32Array | null;
  readonly wO: Float32Array; readonly bO: Float32Array | null;
  readonly attentionOptions: Record<string, unknown>;
  readonly returnSaved: boolean;
  /** hstuAttention's q, k `[T,H·D]` and v `[T,H·Dv]`: allocated (and checked) up front, filled by the forward. */
  readonly q: Float32Array; readonly k: Float32Array; readonly v: Float32Array;
}

const NORM_KEYS = ['gamma', 'beta'] as const;

/** Check everything before any op runs (hstuAttention's options through its own checks on the shapes it will see). */
export function prepareHstuLayer(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions): HstuLayerArgs {
  const xj = asJagged(x, 'x', ['E']);
  if (xj.dtype !== 'float32') throw new DTypeError('x.values', 'float32 values (the layer computes and trains in float32)', xj.dtype);
  const [T, E] = xj.shape;
  if (E < 1) throw new ShapeError('x.values', '[total,E] with E >= 1', formatShape(xj.shape));
  const all = optionsObject<Record<string, unknown>>(options, 'options');
  const own: Record<string, unknown> = {};
  const attentionOptions: Record<string, unknown> = {};
  for (const key of Object.keys(all)) {
    if ((OWN_OPTIONS as readonly string[]).includes(key)) own[key] = all[key];
    else if (ATTENTION_OPTIONS.includes(key)) attentionOptions[key] = all[key];
    else throw new ValueError(`options.${key}`, `unknown option; expected the layer's (${OWN_OPTIONS.join(', ')}) or hstuAttention's (${ATTENTION_OPTIONS.join(', ')})`);
  }
  const H = positiveInt(own.numHeads, 'options.numHeads');
  const D = positiveInt(own.headDim, 'options.headDim');
  const Dv = positiveInt(own.valueDim, 'options.valueDim', D);
  const eps = optFinite(own.eps, 'options.eps', 1e-6);
  if (eps < 0) throw new ValueError('options.eps', `expected a number >= 0, received ${eps}`);
  const returnSaved = optBool(own.returnSaved, 'options.returnSaved', false);
  const C = 2 * H * Dv + 2 * H * D;
  const p = optionsObject<HstuLayerParams>(params, 'params', ['inputNorm', 'uvqk', 'outputNorm', 'output']);
  const nIn = optionsObject<Record<string, unknown>>(p.inputNorm, 'params.inputNorm', NORM_KEYS);
  const uvqk = optionsObject<Record<string, unknown>>(p.uvqk, 'params.uvqk', ['weight', 'bias']);
  const nOut = optionsObject<Record<string, unknown>>(p.outputNorm, 'params.outputNorm', NORM_KEYS);
  const out = optionsObject<Record<string, unknown>>(p.output, 'params.output', ['weight', 'bias']);
  const cName = `C=2·H·Dv+2·H·D (H=${H}, D=${D}, Dv=${Dv})`;
  const hv = `H·Dv (H=${H}, Dv=${Dv})`;
  const args: HstuLayerArgs = {
    x: xj.data as Float32Array, offsets: xj.offsets, T, E, H, D, Dv, eps,
    gammaIn: vector(nIn.gamma, 'params.inputNorm.gamma', E, 'E', true),
    betaIn: vector(nIn.beta, 'params.inputNorm.beta', E, 'E', true),
    wUvqk: matrix(uvqk.weight, 'params.uvqk.weight', E, C, 'E', cName).data,
    bUvqk: vector(uvqk.bias, 'params.uvqk.bias', C, cName, true),
    gammaOut: vector(nOut.gamma, 'params.outputNorm.gamma', H * Dv, hv, true),
    betaOut: vector(nOut.beta, 'params.outputNorm.beta', H * Dv, hv, true),
    wO: matrix(out.weight, 'params.output.weight', H * Dv, E, hv, 'E').data,
    bO: vector(out.bias, 'params.output.bias', E, 'E', true),
    attentionOptions,
    returnSaved,
    q: new Float32Array(T * H * D), k: new Float32Array(T * H * D), v: new Float32Array(T * H * Dv),
  };
  // hstuAttention's own checks of its options against the q, k, v this call will give it (the
  // timestamps' and numTargets' lengths, the bias tables' sizes, ...), on the (still zero) arrays
  // the forward fills: its typed errors before any op runs.
  const [q, k, v] = attentionOperands(args, args.q, args.k, args.v);
  checkHstuCall(hstuAttentionOp, q, k, v, attentionOptions);
  return args;
}

/** q, k `[T,H,D]` and v `[T,H,Dv]` as the jagged arguments of hstuAttention. */
function attentionOperands(a: Pick<HstuLayerArgs, 'offsets' | 'T' | 'H' | 'D' | 'Dv'>, q: Float32Array, k: Float32Array, v: Float32Array): [JaggedLike, JaggedLike, JaggedLike] {
  const { offsets, T, H, D, Dv } = a;
  return [
    { values: tensorOf(q, [T, H, D]), offsets },
    { values: tensorOf(k, [T, H, D]), offsets },
    { values: tensorOf(v, [T, H, Dv]), offsets },
  ];
}

/** Columns `[from, from + width)` of each row of a `[rows, cols]` matrix, copied into `out` `[rows, width]` (exact). */
function columnsInto(out: Float32Array, m: Float32Array, rows: number, cols: number, from: number, width: number): Float32Array {
  for (let r = 0; r < rows; r++) out.set(m.subarray(r * cols + from, r * cols + from + width), r * width);
  return out;
}

/** `x ⊙ y` elementwise in float32 (one rounding per element: the same on every backend). */
export function multiply(x: Float32Array, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * y[i];
  return out;
}

const vec = (data: Float32Array | null): Tensor | null => (data ? tensorOf(data, [data.length]) : null);
type Stats = { output: Tensor; mean: Tensor; invStd: Tensor };

function normStep(x: Float32Array, rows: number, cols: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number, d?: DispatchOptions) {
  const xt = tensorOf(x, [rows, cols]);
  const o = { eps, returnStats: true as const };
  return step(() => layerNorm(xt, vec(gamma), vec(beta), o, d), () => layerNormAsync(xt, vec(gamma), vec(beta), o, d));
}

/** The layer's forward over checked args, keeping what the backward needs (internal). */
export function* hstuLayerForward(a: HstuLayerArgs, d?: DispatchOptions): Steps<{ output: JaggedTensor; saved: HstuLayerSaved }> {
  const { T, E, H, D, Dv, eps } = a;
  const C = 2 * H * Dv + 2 * H * D;
  const n1 = (yield normStep(a.x, T, E, a.gammaIn, a.betaIn, eps, d)) as Stats;
  const pre = ((yield linearStep(n1.output.data, T, E, a.wUvqk, C, a.bUvqk, d)) as Tensor).data;
  const pt = tensorOf(pre, [T, C]);
  const act = ((yield step(() => silu(pt, null, d), () => siluAsync(pt, null, d))) as Tensor).data;
  // torch.split(uvqk, [H·Dv, H·Dv, H·D, H·D], dim=1): u, v, q, k; each a head-major [T, H, ·] view.
  const u = columnsInto(new Float32Array(T * H * Dv), act, T, C, 0, H * Dv);
  const v = columnsInto(a.v, act, T, C, H * Dv, H * Dv);
  const q = columnsInto(a.q, act, T, C, 2 * H * Dv, H * D);
  const k = columnsInto(a.k, act, T, C, 2 * H * Dv + H * D, H * D);
  const [qj, kj, vj] = attentionOperands(a, q, k, v);
  const o = a.attentionOptions;
  const att = (yield step(() => hstuAttention(qj, kj, vj, o as HstuAttentionOptions, d), () => hstuAttentionAsync(qj, kj, vj, o as HstuAttentionOptions, d))) as JaggedTensor;
  const y = (att.values as Tensor).data;
  const n2 = (yield normStep(y, T, H * Dv, a.gammaOut, a.betaOut, eps, d)) as Stats;
  const gated = multiply(n2.output.data, u);
  const proj = ((yield linearStep(gated, T, H * Dv, a.wO, E, a.bO, d)) as Tensor).data;
  const output: JaggedTensor = { values: tensorOf(addInto(proj, a.x), [T, E]), offsets: a.offsets };
  const saved: HstuLayerSaved = {
    kind: 'hstuLayer', T, E, H, D, Dv, offsets: a.offsets,
    inputNorm: { input: a.x, mean: n1.mean.data, invStd: n1.invStd.data, gamma: a.gammaIn, beta: a.betaIn },
    normedInput: n1.output.data, preActivation: pre, u, v, q, k,
    outputNorm: { input: y, mean: n2.mean.data, invStd: n2.invStd.data, gamma: a.gammaOut, beta: a.betaOut },
    normedAttention: n2.output.data, gated,
    wUvqk: a.wUvqk, bUvqk: a.bUvqk, wO: a.wO, bO: a.bO,
    attentionOptions: a.attentionOptions,
  };
  return { output, saved };
}

/**
 * One HSTU layer over a jagged batch (Zhai et al. 2024, eq. 1-3; generative-recommenders'
 * `SequentialTransductionUnitJagged` with `linear_config='uvqk'`, `linear_activation='silu'`,
 * `concat_ua=False`, no dropout):
 *
 *   U, V, Q, K = split(SiLU(LN(x)·W_uvqk + b_uvqk))
 *   Y = (LN(hstuAttention(Q, K, V)) ⊙ U)·W_o + b_o + x
 *
 * x `{ values [T,E], offsets [B+1] }` (float32) → the same jagged shape (its offsets are x's).
 * The split is `torch.split(·, [H·Dv, H·Dv, H·D, H·D])`: columns `0..H·Dv-1` are U, then V, Q, K,
 * each head-major (head h of Q is columns `2·H·Dv + h·D .. 2·H·Dv + h·D + D-1`). The second
 * LayerNorm is over all H·Dv features of a row. Both LayerNorms use `eps` (default 1e-6) and an
 * affine part only where params has gamma / beta. Every hstuAttention option passes through.
 * Composed of dispatched ops (layerNorm, linear, silu, hstuAttention) with the caller's dispatch
 * options. With `returnSaved: true` it returns `{ output, saved }` for {@link hstuLayerBackward}.
 *
 * @example
 * const x = jagged(events, offsetsFromLengths([3, 0, 5]), [E]);
 * const y = hstuLayer(x, params, { numHeads: 2, headDim: 16, numTargets, positionBias });
 */
export function hstuLayer(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): { output: JaggedTensor; saved: HstuLayerSaved };
export function hstuLayer(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions & { returnSaved?: false }, dispatchOptions?: DispatchOptions): JaggedTensor;
export function hstuLayer(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions, dispatchOptions?: DispatchOptions): JaggedTensor | { output: JaggedTensor; saved: HstuLayerSaved };
export function hstuLayer(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions, dispatchOptions?: DispatchOptions): JaggedTensor | { output: JaggedTensor; saved: HstuLayerSaved } {
  const a = prepareHstuLayer(x, params, options);
  const r = drive(hstuLayerForward(a, dispatchOptions));
  return a.returnSaved ? r : r.output;
}

/** The async twin of {@link hstuLayer} (each step runs off the main thread where its backend can). */
export function hstuLayerAsync(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): Promise<{ output: JaggedTensor; saved: HstuLayerSaved }>;
export function hstuLayerAsync(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions & { returnSaved?: false }, dispatchOptions?: DispatchOptions): Promise<JaggedTensor>;
export function hstuLayerAsync(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions, dispatchOptions?: DispatchOptions): Promise<JaggedTensor | { output: JaggedTensor; saved: HstuLayerSaved }>;
export async function hstuLayerAsync(x: JaggedLike, params: HstuLayerParams, options: HstuLayerOptions, dispatchOptions?: DispatchOptions): Promise<JaggedTensor | { output: JaggedTensor; saved: HstuLayerSaved }> {
  const a = prepareHstuLayer(x, params, options);
  const r = await driveAsync(hstuLayerForward(a, dispatchOptions));
  return a.returnSaved ? r : r.output;
}
