/**
 * transformerEncoderLayer for training: the forward that keeps what the backward needs
 * (`returnSaved`) and the backward (`transformerEncoderLayerBackward`), both composed of public
 * ops (layerNorm, linear, sdpa, gelu and their backward ops) with the caller's dispatch options,
 * so they run on every backend and each step is verified and reported on its own. Residual adds
 * and relu are plain float32 loops here, exact on every backend.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { TransformerEncoderLayerArgs, Widened } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { attentionBlockBackward, attentionBlockForward, type AttentionBlockParamGrads, type AttentionBlockSaved } from './attentionBlock';
import { addInto, linearBackwardSteps, linearStep, step, tensorOf, type LinearGrads } from './trainingSteps';
import { drive, driveAsync, type Step, type Steps } from './cached';
import { gelu, geluAsync } from './gelu';
import { geluBackward, geluBackwardAsync } from './geluBackward';
import { layerNorm, layerNormAsync } from './layerNorm';
import { layerNormBackward, layerNormBackwardAsync } from './layerNormBackward';

/** One LayerNorm of the layer as the backward needs it: its input and each row's statistics. */
export interface SavedNorm {
  /** `[B*L, E]` the normalised input. */
  readonly input: Float32Array;
  /** `[B*L]` each row's mean. */
  readonly mean: Float32Array;
  /** `[B*L]` each row's `1/sqrt(var + eps)`. */
  readonly invStd: Float32Array;
  readonly gamma: Float32Array | null;
  readonly beta: Float32Array | null;
}

/**
 * What `transformerEncoderLayer(x, params, { ...options, returnSaved: true })` keeps for
 * {@link transformerEncoderLayerBackward}: both norms' inputs and statistics, the attention
 * block's projections, output and log-sum-exp, the FFN's hidden pre-activation and activation.
 * Treat it as opaque; it holds references to the caller's float32 arrays (do not change them
 * between the forward and the backward).
 */
export interface TransformerEncoderLayerSaved {
  /** Which forward made it. */
  readonly kind: 'transformerEncoderLayer';
  readonly B: number; readonly L: number; readonly E: number; readonly F: number;
  readonly norm: 'pre' | 'post';
  readonly activation: 'relu' | 'gelu';
  readonly attention: AttentionBlockSaved;
  readonly norm1: SavedNorm;
  readonly norm2: SavedNorm;
  /** `[B*L, E]` the FFN's input. */
  readonly ffnInput: Float32Array;
  /** `[B*L, F]` the hidden layer before the activation. */
  readonly hidden: Float32Array;
  /** `[B*L, F]` the hidden layer after the activation. */
  readonly activated: Float32Array;
  readonly w1: Float32Array; readonly b1: Float32Array | null;
  readonly w2: Float32Array; readonly b2: Float32Array | null;
}

/**
 * Gradients of transformerEncoderLayer: `dx [B,L,E]` and `dParams` in
 * {@link TransformerEncoderLayerParams}' structure (an entry only where the forward's params had
 * it: a norm's gamma / beta, a bias).
 */
export interface TransformerEncoderLayerGrads {
  dx: Tensor;
  dParams: {
    attention: AttentionBlockParamGrads;
    norm1?: { gamma?: Tensor; beta?: Tensor };
    ffn: { w1: Tensor; b1?: Tensor; w2: Tensor; b2?: Tensor };
    norm2?: { gamma?: Tensor; beta?: Tensor };
  };
}

const vec = (data: Float32Array | null): Tensor | null => (data ? tensorOf(data, [data.length]) : null);
type Stats = { output: Tensor; mean: Tensor; invStd: Tensor };
type NormGrads = { dx: Tensor; dGamma: Tensor; dBeta: Tensor };

function normStep(x: Float32Array, rows: number, E: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number, d?: DispatchOptions): Step {
  const xt = tensorOf(x, [rows, E]);
  const o = { eps, returnStats: true as const };
  return step(() => layerNorm(xt, vec(gamma), vec(beta), o, d), () => layerNormAsync(xt, vec(gamma), vec(beta), o, d));
}

function normBackwardStep(dy: Float32Array, n: SavedNorm, rows: number, E: number, d?: DispatchOptions): Step {
  const dyt = tensorOf(dy, [rows, E]);
  const xt = tensorOf(n.input, [rows, E]);
  const stats = { mean: tensorOf(n.mean, [rows]), invStd: tensorOf(n.invStd, [rows]) };
  return step(() => layerNormBackward(dyt, xt, vec(n.gamma), stats, d), () => layerNormBackwardAsync(dyt, xt, vec(n.gamma), stats, d));
}

function* activate(h: Float32Array, rows: number, F: number, activation: 'relu' | 'gelu', d?: DispatchOptions): Steps<Float32Array> {
  if (activation === 'gelu') {
    const ht = tensorOf(h, [rows, F]);
    return ((yield step(() => gelu(ht, { approximate: 'none' }, d), () => geluAsync(ht, { approximate: 'none' }, d))) as Tensor).data;
  }
  // relu as the fused kernels compute it: NaN stays NaN.
  return h.map((v) => (v > 0 ? v : v < 0 ? 0 : v));
}

function* activateBackward(dg: Float32Array, h: Float32Array, rows: number, F: number, activation: 'relu' | 'gelu', d?: DispatchOptions): Steps<Float32Array> {
  if (activation === 'gelu') {
    const dgt = tensorOf(dg, [rows, F]);
    const ht = tensorOf(h, [rows, F]);
    return ((yield step(() => geluBackward(dgt, ht, { approximate: 'none' }, d), () => geluBackwardAsync(dgt, ht, { approximate: 'none' }, d))) as Tensor).data;
  }
  // relu'(0) = 0, as PyTorch; NaN in h passes dg's NaN-ness through the product.
  return dg.map((g, i) => (h[i] > 0 ? g : h[i] <= 0 ? 0 : g * h[i]));
}

/**
 * The forward of one encoder layer over checked, widened args, keeping what the backward needs
 * (internal: transformerEncoderLayer's `returnSaved` path).
 */
export function* encoderForwardSaved(a: Widened<TransformerEncoderLayerArgs>, keyLengths: Int32Array | null, window: unknown, d?: DispatchOptions): Steps<{ output: Tensor; saved: TransformerEncoderLayerSaved }> {
  const { B, L, E, H, F, eps } = a;
  const rows = B * L;
  // The encoder aligns causal limits and windows top-left (query i at key position i).
  const sdpaOptions: Record<string, unknown> = { scale: 1 / Math.sqrt(E / H) };
  if (a.causal) sdpaOptions.causal = 'top-left';
  if (window !== undefined && window !== null) sdpaOptions.window = window;
  if (a.softcap > 0) sdpaOptions.softcap = a.softcap;
  if (keyLengths) sdpaOptions.keyLengths = keyLengths;
  const block = (x: Float32Array) =>
    attentionBlockForward({
      query: x, key: x, value: x, B, L, S: L, E, Ek: E, Ev: E, Hq: H, Hkv: H, D: E / H, Dv: E / H, Eo: E,
      wq: a.wq, bq: a.bq, wk: a.wk, bk: a.bk, wv: a.wv, bv: a.bv, wo: a.wo, bo: a.bo, sdpaOptions,
    }, d);
  const savedNorm = (input: Float32Array, r: Stats, gamma: Float32Array | null, beta: Float32Array | null): SavedNorm => ({ input, mean: r.mean.data, invStd: r.invStd.data, gamma, beta });
  let norm1: SavedNorm;
  let norm2: SavedNorm;
  let attention: AttentionBlockSaved;
  let ffnInput: Float32Array;
  let residual: Float32Array;
  if (a.norm === 'pre') {
    const n1 = (yield normStep(a.x, rows, E, a.gamma1, a.beta1, eps, d)) as Stats;
    norm1 = savedNorm(a.x, n1, a.gamma1, a.beta1);
    const att = yield* block(n1.output.data);
    attention = att.saved;
    residual = addInto(a.x, att.output);
    const n2 = (yield normStep(residual, rows, E, a.gamma2, a.beta2, eps, d)) as Stats;
    norm2 = savedNorm(residual, n2, a.gamma2, a.beta2);
    ffnInput = n2.output.data;
  } else {
    const att = yield* block(a.x);
    attention = att.saved;
    const r1 = addInto(a.x, att.output);
    const n1 = (yield normStep(r1, rows, E, a.gamma1, a.beta1, eps, d)) as Stats;
    norm1 = savedNorm(r1, n1, a.gamma1, a.beta1);
    ffnInput = n1.output.data;
    residual = ffnInput;
  }
  const hidden = ((yield linearStep(ffnInput, rows, E, a.w1, F, a.b1, d)) as Tensor).data;
  const activated = yield* activate(hidden, rows, F, a.activation, d);
  const f2 = ((yield linearStep(activated, rows, F, a.w2, E, a.b2, d)) as Tensor).data;
  let output = addInto(residual, f2);
  if (a.norm === 'post') {
    const n2 = (yield normStep(output, rows, E, a.gamma2, a.beta2, eps, d)) as Stats;
    norm2 = savedNorm(output, n2, a.gamma2, a.beta2);
    output = n2.output.data;
  }
  const saved: TransformerEncoderLayerSaved = {
    kind: 'transformerEncoderLayer', B, L, E, F, norm: a.norm, activation: a.activation,
    attention, norm1, norm2: norm2!, ffnInput, hidden, activated, w1: a.w1, b1: a.b1, w2: a.w2, b2: a.b2,
  };
  return { output: tensorOf(output, [B, L, E]), saved };
}

function* encoderBackward(dOut: Float32Array, s: TransformerEncoderLayerSaved, d?: DispatchOptions): Steps<TransformerEncoderLayerGrads> {
  const { B, L, E, F } = s;
  const rows = B * L;
  let dResidual = dOut;
  let g2: NormGrads | null = null;
  if (s.norm === 'post') {
    g2 = (yield normBackwardStep(dOut, s.norm2, rows, E, d)) as NormGrads;
    dResidual = g2.dx.data;
  }
  // FFN: dResidual flows into both the residual branch and the FFN's output.
  const l2 = yield* linearBackwardSteps(dResidual, s.activated, rows, F, s.w2, E, d);
  const dHidden = yield* activateBackward(l2.dx, s.hidden, rows, F, s.activation, d);
  const l1 = yield* linearBackwardSteps(dHidden, s.ffnInput, rows, E, s.w1, F, d);
  let dAttnResidual: Float32Array;
  if (s.norm === 'pre') {
    g2 = (yield normBackwardStep(l1.dx, s.norm2, rows, E, d)) as NormGrads;
    dAttnResidual = addInto(dResidual, g2.dx.data);
  } else {
    const dx1 = addInto(dResidual, l1.dx);
    const g1post = (yield normBackwardStep(dx1, s.norm1, rows, E, d)) as NormGrads;
    dAttnResidual = g1post.dx.data;
    const ab = yield* attentionBlockBackward(dAttnResidual, s.attention, d);
    const dx = addInto(addInto(dAttnResidual, ab.dQuery.data), addInto(ab.dKey.data, ab.dValue.data));
    return { dx: tensorOf(dx, [B, L, E]), dParams: params(s, ab.dParams, g1post, g2!, l1, l2) };
  }
  const ab = yield* attentionBlockBackward(dAttnResidual, s.attention, d);
  const dNorm1 = addInto(ab.dQuery.data, addInto(ab.dKey.data, ab.dValue.data));
  const g1 = (yield normBackwardStep(dNorm1, s.norm1, rows, E, d)) as NormGrads;
  const dx = addInto(dAttnResidual, g1.dx.data);
  return { dx: tensorOf(dx, [B, L, E]), dParams: params(s, ab.dParams, g1, g2!, l1, l2) };
}

function params(s: TransformerEncoderLayerSaved, attention: AttentionBlockParamGrads, g1: NormGrads, g2: NormGrads, l1: LinearGrads, l2: LinearGrads): TransformerEncoderLayerGrads['dParams'] {
  const norm = (n: SavedNorm, g: NormGrads) => {
    const out: { gamma?: Tensor; beta?: Tensor } = {};
    if (n.gamma) out.gamma = g.dGamma;
    if (n.beta) out.beta = g.dBeta;
    return out;
  };
  const { E, F } = s;
  const ffn: TransformerEncoderLayerGrads['dParams']['ffn'] = { w1: tensorOf(l1.dW, [E, F]), w2: tensorOf(l2.dW, [F, E]) };
  if (s.b1) ffn.b1 = tensorOf(l1.db, [F]);
  if (s.b2) ffn.b2 = tensorOf(l2.db, [E]);
  const out: TransformerEncoderLayerGrads['dParams'] = { attention, ffn };
  if (s.norm1.gamma || s.norm1.beta) out.norm1 = norm(s.norm1, g1);
  if (s.norm2.gamma || s.norm2.beta) out.norm2 = norm(s.norm2, g2);
  return out;
}

function checkSaved(dOut: TensorLike, saved: TransformerEncoderLayerSaved): Tensor {
  if (!saved || typeof saved !== 'object' || saved.kind !== 'transformerEncoderLayer') {
    throw new ValueError('saved', 'expected the saved object of transformerEncoderLayer(..., { returnSaved: true })');
  }
  const t = asTensor(dOut, 'dOut');
  const want = [saved.B, saved.L, saved.E];
  if (t.shape.length !== 3 || t.shape.some((n, a) => n !== want[a])) throw new ShapeError('dOut', `[B,L,E]=${formatShape(want)} (the forward's output shape)`, formatShape(t.shape));
  return t;
}

/**
 * The vector-Jacobian product of transformerEncoderLayer: given `dOut` `[B,L,E]` and the `saved`
 * object of the forward called with `returnSaved: true`, the gradient of x and of every parameter
 * (in the params' own structure). Pre- and post-norm, relu and gelu, causal, window, softcap and
 * keyLengths are all honoured.
 *
 * @example
 * const { output, saved } = transformerEncoderLayer(x, block, { numHeads: 2, causal: true, norm: 'pre', returnSaved: true });
 * const { dx, dParams } = transformerEncoderLayerBackward(dLossDOutput, saved);
 */
export function transformerEncoderLayerBackward(dOut: TensorLike, saved: TransformerEncoderLayerSaved, dispatchOptions?: DispatchOptions): TransformerEncoderLayerGrads {
  const t = checkSaved(dOut, saved);
  return drive(encoderBackward(t.data, saved, dispatchOptions));
}

/** The async twin of {@link transformerEncoderLayerBackward} (each step runs off the main thread). */
export async function transformerEncoderLayerBackwardAsync(dOut: TensorLike, saved: TransformerEncoderLayerSaved, dispatchOptions?: DispatchOptions): Promise<TransformerEncoderLayerGrads> {
  const t = checkSaved(dOut, saved);
  return driveAsync(encoderBackward(t.data, saved, dispatchOptions));
}
