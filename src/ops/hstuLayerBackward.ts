/**
 * The backward of the HSTU layer (training): the gradients of x, of every parameter and of
 * hstuAttention's learned bias tables, from what `hstuLayer(..., { returnSaved: true })` kept.
 * Composed of dispatched ops (linearBackward, layerNormBackward, hstuAttentionBackward,
 * siluBackward) with the caller's dispatch options, so it runs on every backend that runs them,
 * each step verified and reported on its own; the gate's product rule, the reassembly of the
 * u/v/q/k gradients and the residual add are float32 loops here.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { DTypeError, ShapeError, ValueError, formatShape } from '../errors';
import { asJagged, type JaggedLike, type JaggedTensor } from '../jagged';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { drive, driveAsync, type Steps } from './cached';
import type { HstuAttentionOptions } from './hstuAttention';
import { hstuAttentionBackward, hstuAttentionBackwardAsync, type HstuAttentionBackwardOutput } from './hstuAttentionBackward';
import { multiply, type HstuLayerSaved } from './hstuLayer';
import { layerNormBackward, layerNormBackwardAsync } from './layerNormBackward';
import { siluBackward, siluBackwardAsync } from './siluBackward';
import type { SavedNorm } from './transformerEncoderLayerBackward';
import { addInto, linearBackwardSteps, step, tensorOf } from './trainingSteps';

/**
 * Gradients of {@link hstuLayer}: `dx` (jagged like x: values `[T,E]`, x's offsets), `dParams` in
 * {@link HstuLayerParams}' structure (an entry exactly where the forward's params had one: a
 * norm's gamma / beta, a bias), and the gradients of hstuAttention's learned tables when the
 * forward's options had them (`dPositionBias` shaped as `options.positionBias`, `dTimeBias` as
 * `options.timeBias`).
 */
export interface HstuLayerGrads {
  dx: JaggedTensor;
  dParams: {
    inputNorm?: { gamma?: Tensor; beta?: Tensor };
    uvqk: { weight: Tensor; bias?: Tensor };
    outputNorm?: { gamma?: Tensor; beta?: Tensor };
    output: { weight: Tensor; bias?: Tensor };
  };
  /** Present iff the forward's options had positionBias. */
  dPositionBias?: Tensor;
  /** Present iff the forward's options had timeBias. */
  dTimeBias?: Tensor;
}

type NormGrads = { dx: Tensor; dGamma: Tensor; dBeta: Tensor };

const vec = (data: Float32Array | null): Tensor | null => (data ? tensorOf(data, [data.length]) : null);

function normBackwardStep(dy: Float32Array, n: SavedNorm, rows: number, cols: number, d?: DispatchOptions) {
  const dyt = tensorOf(dy, [rows, cols]);
  const xt = tensorOf(n.input, [rows, cols]);
  const stats = { mean: tensorOf(n.mean, [rows]), invStd: tensorOf(n.invStd, [rows]) };
  return step(() => layerNormBackward(dyt, xt, vec(n.gamma), stats, d), () => layerNormBackwardAsync(dyt, xt, vec(n.gamma), stats, d));
}

/** `[T,C]` rows of `[du | dv | dq | dk]`: the split's backward (a float32 copy: exact). */
function concatColumns(parts: readonly Float32Array[], widths: readonly number[], rows: number): Float32Array {
  const C = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    let at = r * C;
    parts.forEach((p, i) => {
      out.set(p.subarray(r * widths[i], (r + 1) * widths[i]), at);
      at += widths[i];
    });
  }
  return out;
}

function* layerBackward(dOut: Float32Array, s: HstuLayerSaved, d?: DispatchOptions): Steps<HstuLayerGrads> {
  const { T, E, H, D, Dv, offsets } = s;
  const C = 2 * H * Dv + 2 * H * D;
  // out = gated·W_o + b_o + x
  const lo = yield* linearBackwardSteps(dOut, s.gated, T, H * Dv, s.wO, E, d);
  // gated = LN_out(y) ⊙ u
  const dNormed = multiply(lo.dx, s.u);
  const du = multiply(lo.dx, s.normedAttention);
  const g2 = (yield normBackwardStep(dNormed, s.outputNorm, T, H * Dv, d)) as NormGrads;
  // y = hstuAttention(q, k, v)
  const q = { values: tensorOf(s.q, [T, H, D]), offsets };
  const k = { values: tensorOf(s.k, [T, H, D]), offsets };
  const v = { values: tensorOf(s.v, [T, H, Dv]), offsets };
  const dy = { values: tensorOf(g2.dx.data, [T, H, Dv]), offsets };
  const o = s.attentionOptions as HstuAttentionOptions;
  const ga = (yield step(() => hstuAttentionBackward(dy, q, k, v, o, d), () => hstuAttentionBackwardAsync(dy, q, k, v, o, d))) as HstuAttentionBackwardOutput;
  // [u | v | q | k] = SiLU(pre)
  const dAct = tensorOf(concatColumns([du, ga.dv.data, ga.dq.data, ga.dk.data], [H * Dv, H * Dv, H * D, H * D], T), [T, C]);
  const pre = tensorOf(s.preActivation, [T, C]);
  const dPre = ((yield step(() => siluBackward(dAct, pre, null, d), () => siluBackwardAsync(dAct, pre, null, d))) as Tensor).data;
  // pre = LN_in(x)·W_uvqk + b_uvqk
  const li = yield* linearBackwardSteps(dPre, s.normedInput, T, E, s.wUvqk, C, d);
  const g1 = (yield normBackwardStep(li.dx, s.inputNorm, T, E, d)) as NormGrads;
  const dx: JaggedTensor = { values: tensorOf(addInto(dOut, g1.dx.data), [T, E]), offsets };
  const norm = (n: SavedNorm, g: NormGrads) => {
    const out: { gamma?: Tensor; beta?: Tensor } = {};
    if (n.gamma) out.gamma = g.dGamma;
    if (n.beta) out.beta = g.dBeta;
    return out;
  };
  const dParams: HstuLayerGrads['dParams'] = {
    uvqk: { weight: tensorOf(li.dW, [E, C]) },
    output: { weight: tensorOf(lo.dW, [H * Dv, E]) },
  };
  if (s.bUvqk) dParams.uvqk.bias = tensorOf(li.db, [C]);
  if (s.bO) dParams.output.bias = tensorOf(lo.db, [E]);
  if (s.inputNorm.gamma || s.inputNorm.beta) dParams.inputNorm = norm(s.inputNorm, g1);
  if (s.outputNorm.gamma || s.outputNorm.beta) dParams.outputNorm = norm(s.outputNorm, g2);
  const grads: HstuLayerGrads = { dx, dParams };
  if (ga.dPositionBias) grads.dPositionBias = ga.dPositionBias;
  if (ga.dTimeBias) grads.dTimeBias = ga.dTimeBias;
  return grads;
}

/** dOut as the forward's output (jagged with x's offsets) or a bare `[T,E]` tensor; the saved object checked. */
function checkSaved(dOut: JaggedLike | TensorLike, saved: HstuLayerSaved): Float32Array {
  if (!saved || typeof saved !== 'object' || saved.kind !== 'hstuLayer') {
    throw new ValueError('saved', 'expected the saved object of hstuLayer(..., { returnSaved: true })');
  }
  const want = [saved.T, saved.E];
  if (dOut !== null && typeof dOut === 'object' && !ArrayBuffer.isView(dOut) && 'offsets' in dOut) {
    const j = asJagged(dOut, 'dOut', ['E'], { batch: saved.offsets.length - 1, inner: [saved.E] });
    if (j.dtype !== 'float32') throw new DTypeError('dOut.values', 'float32 values', j.dtype);
    for (let b = 0; b < j.offsets.length; b++) {
      if (j.offsets[b] !== saved.offsets[b]) throw new ShapeError('dOut.offsets', `the forward's offsets (offsets[${b}] = ${saved.offsets[b]})`, `offsets[${b}] = ${j.offsets[b]}`);
    }
    return j.data as Float32Array;
  }
  const t = asTensor(dOut, 'dOut');
  if (t.shape.length !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1]) throw new ShapeError('dOut', `[T,E]=${formatShape(want)} (the forward's output values)`, formatShape(t.shape));
  return t.data;
}

/**
 * The vector-Jacobian product of {@link hstuLayer}: given `dOut` (the gradient of a loss with
 * respect to the forward's output: jagged with x's offsets, or its `[T,E]` values) and the `saved`
 * object of the forward called with `returnSaved: true`, the gradient of x, of every parameter
 * (in the params' own structure) and of hstuAttention's positionBias / timeBias when given. Every
 * hstuAttention option of the forward is honoured (the same options reach hstuAttentionBackward).
 *
 * @example
 * const { output, saved } = hstuLayer(x, params, { numHeads: 2, headDim: 16, returnSaved: true });
 * const { dx, dParams, dPositionBias } = hstuLayerBackward(dLossDOutput, saved);
 */
export function hstuLayerBackward(dOut: JaggedLike | TensorLike, saved: HstuLayerSaved, dispatchOptions?: DispatchOptions): HstuLayerGrads {
  const g = checkSaved(dOut, saved);
  return drive(layerBackward(g, saved, dispatchOptions));
}

/** The async twin of {@link hstuLayerBackward} (each step runs off the main thread where its backend can). */
export async function hstuLayerBackwardAsync(dOut: JaggedLike | TensorLike, saved: HstuLayerSaved, dispatchOptions?: DispatchOptions): Promise<HstuLayerGrads> {
  const g = checkSaved(dOut, saved);
  return driveAsync(layerBackward(g, saved, dispatchOptions));
}
