/**
 * targetAttention (DIN) for training, issue #15: the forward that keeps what the backward needs
 * (`returnSaved`) and the backward. The activation unit's layers run as public linear calls over
 * the valid history items only (one row per item `j < keyLengths[b]`), their backward as
 * linear's backward; the features `[h, t, h − t, h ∘ t]`, the activations, the weights (raw or
 * softmax over the valid items) and the weighted sum are elementwise float32 / float64 work here,
 * the same on every backend.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { TargetAttentionArgs, Widened } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { drive, driveAsync, type Steps } from './cached';
import { linearBackwardSteps, linearStep, tensorOf } from './trainingSteps';

/** One layer of the activation unit as {@link TargetAttentionSaved} keeps it. */
export interface SavedTargetLayer {
  /** `[inDim,outDim]`. */
  readonly w: Float32Array;
  /** `[outDim]`. */
  readonly b: Float32Array;
  readonly inDim: number;
  readonly outDim: number;
  /** The PReLU slopes `[outDim]` of a hidden layer with `activation: 'prelu'`, else null. */
  readonly alpha: Float32Array | null;
  /** The slope was given as a tensor (its gradient is then a tensor), not as a number or left out. */
  readonly alphaTensor: boolean;
}

/**
 * What `targetAttention(target, history, params, { ...options, returnSaved: true })` keeps for
 * {@link targetAttentionBackward}: the float32 target, history and layers (references to the
 * caller's float32 arrays: do not change them between the forward and the backward; half ones
 * widened), the options, the index of each valid history item, every layer's input and
 * pre-activation over those items, and the items' weights. Treat it as opaque.
 */
export interface TargetAttentionSaved {
  /** Which forward made it. */
  readonly kind: 'targetAttention';
  /** `[B,D]`. */
  readonly target: Float32Array;
  /** `[B,S,D]`. */
  readonly history: Float32Array;
  readonly B: number; readonly S: number; readonly D: number;
  readonly layers: readonly SavedTargetLayer[];
  readonly activation: 'relu' | 'sigmoid' | 'prelu';
  readonly normalize: 'none' | 'softmax';
  /** `[R]`: `b·S + j` of each valid history item, batch-major (the MLP's rows). */
  readonly items: Int32Array;
  /** Per layer, its `[R, inDim]` input (layer 0: the features `[h, t, h − t, h ∘ t]`). */
  readonly inputs: readonly Float32Array[];
  /** Per hidden layer, its `[R, outDim]` pre-activation. */
  readonly pre: readonly Float32Array[];
  /** `[R]` each valid item's weight in the output (the score, or its softmax over the batch's items). */
  readonly weights: Float32Array;
}

/**
 * Gradients of targetAttention: `dTarget [B,D]`, `dHistory [B,S,D]` (zero for padded items) and
 * `dParams.layers[l]` `{ w [in,out], b [out], alpha? }` in {@link TargetAttentionParams}'
 * structure. `alpha` is present for the hidden layers when the activation is prelu: a tensor
 * `[out]` when the layer's alpha was given as a tensor, else a number (the slope given as a
 * number, or the default 0.25, is one parameter shared by the layer's units: its gradient is the
 * sum over them).
 */
export interface TargetAttentionGrads {
  /** `[B,D]`. */
  dTarget: Tensor;
  /** `[B,S,D]`. */
  dHistory: Tensor;
  /** The layers' gradients, in order. */
  dParams: { layers: { w: Tensor; b: Tensor; alpha?: number | Tensor }[] };
}

/** The hidden activation of `z` in float64 (PReLU with slope `alpha`). */
function activate(z: number, kind: TargetAttentionSaved['activation'], alpha: number): number {
  if (kind === 'relu') return z > 0 ? z : z < 0 ? 0 : z; // keeps NaN
  if (kind === 'sigmoid') return 1 / (1 + Math.exp(-z));
  return z >= 0 ? z : alpha * z;
}

/** The checked, widened forward args and which layers had a tensor alpha. */
export interface TargetForwardInputs {
  readonly a: Widened<TargetAttentionArgs>;
  readonly alphaTensor: readonly boolean[];
}

/**
 * The returnSaved forward: features of the valid items, the layers through linear (activations
 * here, in float64 rounded to float32), the weights and the weighted sum (float64 sums).
 */
export function* targetForwardSaved({ a, alphaTensor }: TargetForwardInputs, d?: DispatchOptions): Steps<{ output: Tensor; saved: TargetAttentionSaved }> {
  const { B, S, D } = a;
  const count: number[] = [];
  for (let b = 0; b < B; b++) count.push(a.keyLengths ? a.keyLengths[b] : S);
  const R = count.reduce((x, y) => x + y, 0);
  const items = new Int32Array(R);
  const feats = new Float32Array(R * 4 * D);
  let r = 0;
  for (let b = 0; b < B; b++)
    for (let j = 0; j < count[b]; j++, r++) {
      items[r] = b * S + j;
      for (let c = 0; c < D; c++) {
        const h = a.history[(b * S + j) * D + c], t = a.target[b * D + c];
        const f = r * 4 * D;
        feats[f + c] = h;
        feats[f + D + c] = t;
        feats[f + 2 * D + c] = h - t;
        feats[f + 3 * D + c] = h * t;
      }
    }
  const layers: SavedTargetLayer[] = a.layers.map((l, i) => ({ w: l.w, b: l.b, inDim: l.inDim, outDim: l.outDim, alpha: l.alpha, alphaTensor: alphaTensor[i] ?? false }));
  const inputs: Float32Array[] = [];
  const pre: Float32Array[] = [];
  let x: Float32Array = feats;
  let scores: Float32Array = new Float32Array(0);
  if (R > 0) {
    for (let l = 0; l < layers.length; l++) {
      const ly = layers[l];
      inputs.push(x);
      const z = ((yield linearStep(x, R, ly.inDim, ly.w, ly.outDim, ly.b, d)) as Tensor).data;
      if (l === layers.length - 1) {
        scores = z;
        break;
      }
      pre.push(z);
      x = new Float32Array(z.length);
      for (let k = 0; k < z.length; k++) x[k] = activate(z[k], a.activation, ly.alpha ? ly.alpha[k % ly.outDim] : 0);
    }
  }
  const weights = new Float32Array(R);
  const output = new Float64Array(B * D);
  r = 0;
  for (let b = 0; b < B; b++) {
    const r0 = r, r1 = r + count[b];
    if (a.normalize === 'softmax') {
      // Over the batch's valid items; a -Infinity score is excluded (weight 0), as in the fused op.
      let m = -Infinity;
      for (let k = r0; k < r1; k++) if (scores[k] !== -Infinity && !(scores[k] <= m)) m = scores[k];
      if (m !== -Infinity) {
        let sum = 0;
        for (let k = r0; k < r1; k++) if (scores[k] !== -Infinity) sum += Math.exp(scores[k] - m);
        for (let k = r0; k < r1; k++) weights[k] = scores[k] === -Infinity ? 0 : Math.exp(scores[k] - m) / sum;
      }
    } else {
      for (let k = r0; k < r1; k++) weights[k] = scores[k];
    }
    for (let k = r0; k < r1; k++) {
      if (weights[k] === 0) continue;
      for (let c = 0; c < D; c++) output[b * D + c] += weights[k] * a.history[items[k] * D + c];
    }
    r = r1;
  }
  const saved: TargetAttentionSaved = { kind: 'targetAttention', target: a.target, history: a.history, B, S, D, layers, activation: a.activation, normalize: a.normalize, items, inputs, pre, weights };
  return { output: tensorOf(Float32Array.from(output), [B, D]), saved };
}

/** The backward's steps: the weights' gradient, the layers' backward from the last, the features'. */
function* targetBackwardSteps(dOut: Float32Array, s: TargetAttentionSaved, d?: DispatchOptions): Steps<TargetAttentionGrads> {
  const { B, S, D, items, layers } = s;
  const R = items.length;
  const dHistory = new Float64Array(B * S * D);
  const dTarget = new Float64Array(B * D);
  // dOut_b·h_j: the gradient of item j's weight; w_j·dOut_b: h_j's direct gradient.
  const dw = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    const b = Math.floor(items[r] / S);
    let sum = 0;
    for (let c = 0; c < D; c++) {
      sum += dOut[b * D + c] * s.history[items[r] * D + c];
      dHistory[items[r] * D + c] += s.weights[r] * dOut[b * D + c];
    }
    dw[r] = sum;
  }
  // The scores' gradient: dw itself, or through the softmax over the batch's items.
  const dScore = new Float32Array(R);
  for (let r0 = 0; r0 < R; ) {
    const b = Math.floor(items[r0] / S);
    let r1 = r0;
    while (r1 < R && Math.floor(items[r1] / S) === b) r1++;
    if (s.normalize === 'softmax') {
      let delta = 0;
      for (let r = r0; r < r1; r++) delta += s.weights[r] * dw[r];
      for (let r = r0; r < r1; r++) dScore[r] = s.weights[r] === 0 ? 0 : s.weights[r] * (dw[r] - delta);
    } else {
      for (let r = r0; r < r1; r++) dScore[r] = dw[r];
    }
    r0 = r1;
  }
  const grads: { w: Tensor; b: Tensor; alpha?: number | Tensor }[] = layers.map((l) => ({ w: tensorOf(new Float32Array(l.inDim * l.outDim), [l.inDim, l.outDim]), b: tensorOf(new Float32Array(l.outDim), [l.outDim]) }));
  layers.forEach((l, i) => {
    if (l.alpha && i < layers.length - 1) grads[i].alpha = l.alphaTensor ? tensorOf(new Float32Array(l.outDim), [l.outDim]) : 0;
  });
  if (R > 0) {
    let dy: Float32Array = dScore;
    for (let l = layers.length - 1; l >= 0; l--) {
      const ly = layers[l];
      const g = yield* linearBackwardSteps(dy, s.inputs[l], R, ly.inDim, ly.w, ly.outDim, d);
      grads[l].w = tensorOf(g.dW, [ly.inDim, ly.outDim]);
      grads[l].b = tensorOf(g.db, [ly.outDim]);
      if (l === 0) {
        // The features [h, t, h − t, h ∘ t] back to h and t.
        for (let r = 0; r < R; r++) {
          const b = Math.floor(items[r] / S);
          const f = r * 4 * D;
          for (let c = 0; c < D; c++) {
            const h = s.history[items[r] * D + c], t = s.target[b * D + c];
            const gh = g.dx[f + c], gt = g.dx[f + D + c], gd = g.dx[f + 2 * D + c], gp = g.dx[f + 3 * D + c];
            dHistory[items[r] * D + c] += gh + gd + gp * t;
            dTarget[b * D + c] += gt - gd + gp * h;
          }
        }
        break;
      }
      // Through the previous layer's activation.
      const prev = layers[l - 1];
      const z = s.pre[l - 1];
      const dz = new Float32Array(z.length);
      const dAlpha = new Float64Array(prev.outDim);
      for (let k = 0; k < z.length; k++) {
        const gx = g.dx[k], zk = z[k];
        if (s.activation === 'relu') dz[k] = zk > 0 ? gx : 0;
        else if (s.activation === 'sigmoid') {
          const sg = 1 / (1 + Math.exp(-zk));
          dz[k] = gx * sg * (1 - sg);
        } else {
          // PReLU: slope 1 above 0, alpha at and below (PyTorch's choice at the kink).
          const o = k % prev.outDim;
          dz[k] = zk > 0 ? gx : gx * prev.alpha![o];
          if (!(zk > 0)) dAlpha[o] += gx * zk;
        }
      }
      if (s.activation === 'prelu') {
        if (prev.alphaTensor) grads[l - 1].alpha = tensorOf(Float32Array.from(dAlpha), [prev.outDim]);
        else grads[l - 1].alpha = Math.fround(dAlpha.reduce((x, y) => x + y, 0));
      }
      dy = dz;
    }
  }
  return { dTarget: tensorOf(Float32Array.from(dTarget), [B, D]), dHistory: tensorOf(Float32Array.from(dHistory), [B, S, D]), dParams: { layers: grads } };
}

function checkSaved(dOut: TensorLike, saved: TargetAttentionSaved): Float32Array {
  if (!saved || typeof saved !== 'object' || saved.kind !== 'targetAttention') {
    throw new ValueError('saved', 'expected the saved object of targetAttention(..., { returnSaved: true })');
  }
  const t = asTensor(dOut, 'dOut');
  const want = [saved.B, saved.D];
  if (t.shape.length !== 2 || t.shape.some((n, a) => n !== want[a])) throw new ShapeError('dOut', `[B,D]=${formatShape(want)} (the forward's output shape)`, formatShape(t.shape));
  return t.data;
}

/**
 * The vector-Jacobian product of targetAttention (DIN): given `dOut` `[B,D]`, the gradient of a
 * loss with respect to the forward's output, and the `saved` object of the forward called with
 * `returnSaved: true`, the gradients of the target, the history and every layer's parameters.
 * Every option of the forward is honoured (activation relu / sigmoid / prelu, normalize 'none' /
 * 'softmax', keyLengths): padded items get zero gradients and contribute nothing, and a batch
 * row with no valid item gives zeros. At the activations' kinks (relu, prelu at 0) the slope
 * above 0 is not taken (PyTorch's choice).
 *
 * @example
 * const { output, saved } = targetAttention(candidate, history, params, { keyLengths, returnSaved: true });
 * const g = targetAttentionBackward(dLossDOutput, saved);
 * // g.dTarget, g.dHistory, g.dParams.layers[0].w, ...
 */
export function targetAttentionBackward(dOut: TensorLike, saved: TargetAttentionSaved, dispatchOptions?: DispatchOptions): TargetAttentionGrads {
  return drive(targetBackwardSteps(checkSaved(dOut, saved), saved, dispatchOptions));
}

/** The async twin of {@link targetAttentionBackward} (each step runs off the main thread where the backend can). */
export async function targetAttentionBackwardAsync(dOut: TensorLike, saved: TargetAttentionSaved, dispatchOptions?: DispatchOptions): Promise<TargetAttentionGrads> {
  return driveAsync(targetBackwardSteps(checkSaved(dOut, saved), saved, dispatchOptions));
}
