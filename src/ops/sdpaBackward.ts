/**
 * The backward pass of scaled dot-product attention (issue #15, docs/TRAINING.md).
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { ValueError } from '../errors';
import type { SdpaBackwardArgs, SdpaBackwardResult } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { asTensor } from '../tensor';
import { broadcastStrides, expectDim } from '../validate';
import { broadcastShape, maskOf, normalLogits, optionsArg, randLengths, randMask, randT, rnd, shapeOf, someLengths, tensorOf } from './cases';
import { run, runAsync, type Prepared } from './common';
import { defineOp, readOption, tensor, tensorParam, type BenchCase, type KnownAnswer, type OpCase, type OpDescriptor } from './descriptor';
import { ATTENTION_OPTIONS, checkSdpaCall, headMajorRow, isJaggedArg, sdpa, sdpaOp, visiblePairs, type AttentionOutput, type SdpaOptions } from './sdpa';

/**
 * Options of {@link sdpaBackward}: the forward's semantic options, exactly as the forward call
 * that produced `out` and `lse` had them, plus `returnDBias`.
 */
export interface SdpaBackwardOptions extends Pick<SdpaOptions, 'scale' | 'causal' | 'window' | 'softcap' | 'layout' | 'mask' | 'bias' | 'keyLengths'> {
  /**
   * Also return `dBias`, the gradient with respect to `options.bias`, in the bias's own shape
   * (summed over the axes it broadcasts along). Needs a bias. Default false.
   */
  returnDBias?: boolean;
}

/** The result of {@link sdpaBackward}: the gradient with respect to each input, in its shape. */
export interface SdpaBackwardOutput {
  /** Gradient with respect to q, q's shape and layout. */
  dq: Tensor;
  /** Gradient with respect to k, k's shape and layout (grouped-query: summed over each kv head's query heads). */
  dk: Tensor;
  /** Gradient with respect to v, v's shape and layout (grouped-query: summed likewise). */
  dv: Tensor;
  /** Gradient with respect to `options.bias`, in the bias's own shape (when `returnDBias`). */
  dBias?: Tensor;
}

const OUT = ['B', 'Hq', 'L', 'Dv'];
const OUT_BLHD = ['B', 'L', 'Hq', 'Dv'];
const LSE = ['B', 'Hq', 'L'];

/** The forward's options of a backward call (everything but returnDBias). */
function forwardOptions(o: SdpaBackwardOptions | null | undefined): SdpaOptions {
  const f: SdpaBackwardOptions = { ...(o ?? {}) };
  delete f.returnDBias;
  return f;
}

/** sdpaBackward takes dense tensors only: a jagged argument is a ValueError naming it. */
function refuseJagged(name: string, x: unknown): void {
  if (isJaggedArg(x)) throw new ValueError(name, 'sdpaBackward does not take jagged tensors yet (jagged sdpa is forward only): pass dense [B,H,L,D] tensors (toPadded) with keyLengths');
}

/** Check sdpaBackward's arguments and build its kernel call. */
function prepareSdpaBackward(dOut: TensorLike, q: TensorLike, k: TensorLike, v: TensorLike, out: TensorLike, lse: TensorLike, options?: SdpaBackwardOptions | null): Prepared<'sdpaBackward', SdpaBackwardOutput> {
  // No per-call array here: this runs on every call (the memory test counts RSS over 10,000).
  refuseJagged('dOut', dOut); refuseJagged('q', q); refuseJagged('k', k); refuseJagged('v', v); refuseJagged('out', out); refuseJagged('lse', lse);
  const gt = tensorParam(sdpaBackwardOp, 'dOut', dOut);
  let biasShape: number[] = [];
  const c = checkSdpaCall(sdpaBackwardOp, q, k, v, options, (value, target) => {
    if (value === undefined || value === null) return null;
    const t = asTensor(value, 'options.bias'); // float32 only: a half bias is a DTypeError
    biasShape = t.shape;
    return { data: t.data, strides: broadcastStrides('options.bias', t.shape, target, '[B,Hq,L,S]') };
  });
  const ot = tensorParam(sdpaBackwardOp, 'out', out);
  const lt = tensorParam(sdpaBackwardOp, 'lse', lse);
  const { qt, kt, vt, B, Hq, Hkv, L, S, D, Dv, layout, outShape, scale, mask, bias, keyLengths, limits, o } = c;
  const outNames = layout === 'blhd' ? OUT_BLHD : OUT;
  for (let a = 0; a < 4; a++) expectDim('dOut', gt.shape, a, outShape[a], outNames, "must match the forward's output (q's batch, heads, rows in the layout; v's head dim)");
  for (let a = 0; a < 4; a++) expectDim('out', ot.shape, a, outShape[a], outNames, "the forward's output: q's batch, heads, rows in the layout; v's head dim");
  const lseShape = [B, Hq, L];
  for (let a = 0; a < 3; a++) expectDim('lse', lt.shape, a, lseShape[a], LSE, "the forward's returnLse: one value per query row, head-major whatever the layout");
  const returnDBias: boolean = readOption(sdpaBackwardOp, o, 'returnDBias');
  if (returnDBias && !bias) throw new ValueError('options.returnDBias', 'asks for the gradient of options.bias, but there is no bias: pass the bias the forward call used, or leave returnDBias out');
  const args: SdpaBackwardArgs = {
    dOut: gt.data as Float32Array, q: qt.data as Float32Array, k: kt.data as Float32Array, v: vt.data as Float32Array, out: ot.data as Float32Array, lse: lt.data as Float32Array,
    B, Hq, Hkv, L, S, D, Dv, scale, ...limits, mask, bias, keyLengths, layout, returnDBias, biasLength: bias ? bias.data.length : 0,
  };
  const qRow = headMajorRow(layout, Hq, L, D);
  const shapes: Record<string, number[]> = { dq: qt.shape, dk: kt.shape, dv: vt.shape, dBias: biasShape };
  // verify's rows: dq's row is its query row; dk, dv and dBias sum over every row, so they sit in
  // row 0, which every sample holds (sampleRows), and the reference kernel computes them whole.
  const layoutOf = (): OutputLayout => ({
    rows: B * Hq * L,
    rowOf: (name, flat) => (name === 'dq' ? qRow(flat) : 0),
    shapeOf: (name) => shapes[name] ?? [],
  });
  const wrap = (r: SdpaBackwardResult): SdpaBackwardOutput => {
    const res: SdpaBackwardOutput = { dq: { data: r.dq, shape: qt.shape }, dk: { data: r.dk, shape: kt.shape }, dv: { data: r.dv, shape: vt.shape } };
    if (returnDBias && r.dBias) res.dBias = { data: r.dBias, shape: biasShape };
    return res;
  };
  return { op: 'sdpaBackward', args, layout: layoutOf, wrap, outIsInput: true };
}

/**
 * The backward pass of {@link sdpa}: given `dOut`, the gradient of a scalar loss with respect to
 * sdpa's output, the gradients with respect to q, k, v (and the bias). `out` and `lse` are the
 * forward's output and log-sum-exp (`sdpa(q, k, v, { ...options, returnLse: true })`); `options`
 * are the forward call's options (mask, bias, keyLengths, causal, window, softcap, scale, layout)
 * plus `returnDBias`. The probabilities are recomputed from lse, never stored. Float32 only.
 *
 * With `s = scale·q·k`, `c = softcap·tanh(s/softcap)` (or s), `z = c + bias`, `P = softmax(z)`:
 * `dv = Pᵀ·dOut`, `dZ = P ∘ (dOut·vᵀ − δ)` with `δ = rowsum(dOut ∘ out)`, `dBias = dZ` summed
 * over the bias's broadcast axes, `dS = dZ·(1 − (c/softcap)²)`, `dq = scale·dS·k`,
 * `dk = scale·dSᵀ·q`. Grouped-query: dk and dv of a kv head sum over its query heads. A row with
 * no visible key (lse = -Infinity) gets dq = 0 and gives nothing to dk, dv; excluded keys get no
 * gradient from the rows that cannot see them, and a NaN in their k or v does not leak.
 *
 * @example
 * const { output, lse } = sdpa(q, k, v, { causal: true, returnLse: true });
 * const { dq, dk, dv } = sdpaBackward(dOut, q, k, v, output, lse, { causal: true });
 */
export function sdpaBackward(dOut: TensorLike, q: TensorLike, k: TensorLike, v: TensorLike, out: TensorLike, lse: TensorLike, options?: SdpaBackwardOptions | null, dispatchOptions?: DispatchOptions): SdpaBackwardOutput {
  return run(prepareSdpaBackward(dOut, q, k, v, out, lse, options), dispatchOptions);
}

/** The async twin of {@link sdpaBackward}: runs off the main thread where the backend can. */
export function sdpaBackwardAsync(dOut: TensorLike, q: TensorLike, k: TensorLike, v: TensorLike, out: TensorLike, lse: TensorLike, options?: SdpaBackwardOptions | null, dispatchOptions?: DispatchOptions): Promise<SdpaBackwardOutput> {
  return runAsync(() => prepareSdpaBackward(dOut, q, k, v, out, lse, options), dispatchOptions);
}

/**
 * A backward call built from its forward: the forward (reference backend, so every backend's
 * checks see the same numbers) gives out and lse; dOut is seeded uniform [-1, 1).
 */
function fromForward(label: string, q: Tensor, k: Tensor, v: Tensor, options: SdpaBackwardOptions, seed: number, illConditioned = false, backend = 'reference'): OpCase {
  const fwd = sdpa(q, k, v, { ...forwardOptions(options), returnLse: true }, { backend }) as AttentionOutput;
  const dOut = rnd(fwd.output.shape, seed);
  return { label, args: [dOut, q, k, v, fwd.output, fwd.lse, options], ...(illConditioned ? { logitMagnitude: logitSize(q, k, options) } : {}) };
}

/**
 * The largest |scale·q·k| over a 'bhld' call's (query, key) pairs plus the largest finite |bias|:
 * the logit size M of an ill-conditioned case (see OpCase.logitMagnitude). Uncapped: with a
 * softcap the forward's logits stay below the cap, but dS holds `1 - tanh²(s/cap)`, whose float32
 * rounding follows the size of s itself.
 */
function logitSize(q: Tensor, k: Tensor, o: SdpaBackwardOptions): number {
  const [B, Hq, L, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const sc = Math.abs(o.scale ?? 1 / Math.sqrt(D));
  let m = 0;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++)
      for (let i = 0; i < L; i++)
        for (let j = 0; j < S; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[((b * Hq + h) * L + i) * D + d] * k.data[((b * Hkv + Math.floor(h / (Hq / Hkv))) * S + j) * D + d];
          m = Math.max(m, Math.abs(sc * dot));
        }
  let bm = 0;
  const bias = o.bias as Tensor | null | undefined;
  if (bias) for (const x of bias.data) if (Number.isFinite(x)) bm = Math.max(bm, Math.abs(x));
  return m + bm;
}

/** The same `[B,H,L,D]` tensor's elements in `[B,L,H,D]` order. */
function toBlhd(t: Tensor): Tensor {
  const [B, H, L, D] = t.shape;
  const data = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) for (let d = 0; d < D; d++) data[((b * L + i) * H + h) * D + d] = t.data[((b * H + h) * L + i) * D + d];
  return { data, shape: [B, L, H, D] };
}

const f32 = (a: readonly number[]): Float32Array => Float32Array.from(a);
const t4 = (data: readonly number[], shape: number[]): Tensor => ({ data: f32(data), shape });

/** sdpaBackward's bench shapes: [label, B, H, L, S, D, causal]. */
const BENCH_SHAPES: readonly (readonly [string, number, number, number, number, number, boolean])[] = [
  ['', 1, 8, 512, 512, 64, false],
  ['SASRec-sized, causal', 128, 2, 200, 200, 32, true],
];
const QUICK_SHAPES: typeof BENCH_SHAPES = [
  ['', 1, 8, 128, 128, 64, false],
  ['SASRec-sized, causal', 16, 2, 200, 200, 32, true],
];

const { scale, causal, window, softcap, mask, bias, keyLengths } = ATTENTION_OPTIONS;

/** The sdpaBackward descriptor. */
export const sdpaBackwardOp: OpDescriptor<'sdpaBackward'> = defineOp({
  name: 'sdpaBackward',
  summary: "sdpa's backward pass: dq, dk, dv (and dBias) from dOut, the forward's output and lse, under the forward's options",
  signature: 'sdpaBackward(dOut, q, k, v, out, lse, options?, dispatch?)',
  params: [tensor('dOut', OUT), tensor('q', ['B', 'Hq', 'L', 'D']), tensor('k', ['B', 'Hkv', 'S', 'D']), tensor('v', ['B', 'Hkv', 'S', 'Dv']), tensor('out', OUT), tensor('lse', LSE), 'options'],
  options: {
    scale,
    causal,
    window,
    softcap,
    mask,
    bias,
    keyLengths,
    layout: sdpaOp.options.layout,
    returnDBias: { kind: 'boolean', default: false, doc: "also return dBias, the bias's gradient in the bias's own shape (needs options.bias)" },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (with D = Dv = 64 and 128 since the arm64
    // check found dBias errors of 1.4e-6 at D = 63-65) and the quick bench cases. Native, worst
    // ISA: max rel error 7.7e-6 (avx2), then 3.7e-7 of atol needed at 4x that rtol (max abs 1.9e-6,
    // avx2/avx512; 859 outputs per ISA).
    native: { rtol: 3.1e-5, atol: 1.5e-6 },
    // gpu on llvmpipe: max rel 8.8e-6, then 1.8e-7 of atol (max abs 2.1e-6; 545 outputs).
    gpu: { rtol: 3.6e-5, atol: 7.2e-7 },
  },
  // Per visible (query, key) pair: the logit again (2·D), dP (2·Dv), dV (2·Dv), dQ (2·D), dK (2·D).
  cost: (s) => {
    const { B, H, L, S, D } = s as Record<string, number>;
    const Hkv = (s.Hkv as number | undefined) ?? H;
    const Dv = (s.Dv as number | undefined) ?? D;
    const pairs = visiblePairs(L, S, !!s.causal);
    return { flops: 2 * B * H * pairs * (3 * D + 2 * Dv), bytes: 4 * (B * H * L * (2 * D + 2 * Dv + 1) + B * Hkv * S * (2 * D + 2 * Dv)) };
  },
  fn: sdpaBackward,
  fnAsync: sdpaBackwardAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const answers: KnownAnswer[] = [];
      // One key: P = 1 for every row, so out = v, dv = Σ dOut over the kv head's query heads and
      // rows, and dZ = P·(dOut·v − dOut·out) = 0: dq = dk = 0 (also in the blhd layout).
      {
        const q = [0.5, -1, 2, 0.25, -0.75, 1.5, 1, 1]; // [1,2,2,2]
        const k = [0.5, -1];
        const v = [3, 4];
        const dOut = [1, 2, -3, 0.5, 0.25, -1, 2, 2];
        const z = [0, 1, 2, 3].map((r) => (q[2 * r] * k[0] + q[2 * r + 1] * k[1]) / Math.SQRT2);
        const lse = z.map(Math.fround); // as the forward returns it: P = exp(z - lse) is 1 within float32 rounding
        const P = z.map((x, r) => Math.exp(x - lse[r]));
        const dv = [0, 1].map((d) => P[0] * dOut[d] + P[1] * dOut[2 + d] + P[2] * dOut[4 + d] + P[3] * dOut[6 + d]);
        const out = [3, 4, 3, 4, 3, 4, 3, 4];
        answers.push({
          label: 'one key: dv = Σ dOut over the group, dq = dk = 0 (bhld)',
          args: [t4(dOut, [1, 2, 2, 2]), t4(q, [1, 2, 2, 2]), t4(k, [1, 1, 1, 2]), t4(v, [1, 1, 1, 2]), t4(out, [1, 2, 2, 2]), t4(lse, [1, 2, 2]), {}],
          want: { dq: new Array(8).fill(0), dk: [0, 0], dv },
        });
        const bl = (a: number[]) => toBlhd(t4(a, [1, 2, 2, 2]));
        answers.push({
          label: 'one key, layout blhd: the same gradients in [B,L,H,D] order',
          args: [bl(dOut), bl(q), t4(k, [1, 1, 1, 2]), t4(v, [1, 1, 1, 2]), bl(out), t4(lse, [1, 2, 2]), { layout: 'blhd' }],
          want: { dq: new Array(8).fill(0), dk: [0, 0], dv },
        });
      }
      // Two keys (sdpa's closed form): q = 1, k = [0, 1], v = [10, 20], scale 1, dOut = 2:
      // P = [1, e]/(1 + e), dZ_j = P_j·2·(v_j − out), dq = dZ_1 (k = [0, 1]), dk_j = dZ_j·q,
      // dv_j = 2·P_j, dBias = dZ. A second batch whose keys are all padding (lse -Infinity): zeros.
      // P and δ come from lse and out as given (float32), as the op defines them.
      {
        const e = Math.E;
        const lse = Math.fround(Math.log(1 + e));
        const P = [Math.exp(-lse), Math.exp(1 - lse)];
        const o = Math.fround((10 + 20 * e) / (1 + e));
        const dZ = [P[0] * 2 * (10 - o), P[1] * 2 * (20 - o)];
        answers.push({
          label: 'two keys, closed form with a zero bias (dBias = dZ); an all-padding batch gives zeros',
          args: [
            t4([2, 5], [2, 1, 1, 1]), t4([1, 1], [2, 1, 1, 1]), t4([0, 1, 0, 1], [2, 1, 2, 1]), t4([10, 20, 10, 20], [2, 1, 2, 1]),
            t4([o, 0], [2, 1, 1, 1]), t4([lse, -Infinity], [2, 1, 1]),
            { scale: 1, keyLengths: new Int32Array([2, 0]), bias: t4([0, 0, 0, 0], [2, 1, 1, 2]), returnDBias: true },
          ],
          want: { dq: [dZ[1], 0], dk: [dZ[0], dZ[1], 0, 0], dv: [2 * P[0], 2 * P[1], 0, 0], dBias: [dZ[0], dZ[1], 0, 0] },
        });
      }
      // q = 0: every logit 0, P = 1/3 for every row, out = mean(v) = [1, 1], lse = log 3. Then
      // dv_j = Σ_i dOut_i / 3, dZ_ij = dOut_i·(v_j − mean v)/3, dq_i = scale·Σ_j dZ_ij k_j, dk = 0,
      // and a bias of shape [S] (broadcast over batch, heads, rows) gets dBias_j = Σ_(h,i) dZ_ij.
      {
        const Hq = 2, L = 2, S = 3, D = 2, Dv = 2, sc = 0.5;
        const p = Math.exp(-Math.fround(Math.log(3))); // 1/3 from the float32 lse
        const k = [1, -2, 0.5, 3, -1, 1];
        const v = [1, 2, 4, -1, -2, 2];
        const dOut = [1, -1, 2, 0.5, -0.5, 3, 1.5, 1];
        const dq = new Array<number>(Hq * L * D).fill(0);
        const dv = new Array<number>(S * Dv).fill(0);
        const dBias = new Array<number>(S).fill(0);
        for (let r = 0; r < Hq * L; r++) {
          for (let j = 0; j < S; j++) {
            let dz = 0;
            for (let d = 0; d < Dv; d++) dz += p * dOut[r * Dv + d] * (v[j * Dv + d] - 1);
            dBias[j] += dz;
            for (let d = 0; d < D; d++) dq[r * D + d] += sc * dz * k[j * D + d];
            for (let d = 0; d < Dv; d++) dv[j * Dv + d] += p * dOut[r * Dv + d];
          }
        }
        answers.push({
          label: 'q = 0 (uniform P, grouped-query): dv = Σ dOut / S, dk = 0, dBias of a [S] bias sums dZ over heads and rows',
          args: [t4(dOut, [1, Hq, L, Dv]), t4(new Array(8).fill(0), [1, Hq, L, D]), t4(k, [1, 1, S, D]), t4(v, [1, 1, S, Dv]), t4([1, 1, 1, 1, 1, 1, 1, 1], [1, Hq, L, Dv]), t4(new Array(4).fill(Math.log(3)), [1, Hq, L]), { scale: sc, bias: t4([0, 0, 0], [S]), returnDBias: true }],
          want: { dq, dk: new Array(6).fill(0), dv, dBias },
        });
      }
      // Softcap 5: s = [0, 10], c = 5·tanh(s/5) = [0, 5·tanh 2], P = softmax(c), out = Σ P v,
      // dOut = 1: dZ_j = P_j (v_j − out), dS_j = dZ_j·(1 − tanh²(s_j/5)), dq = dS·k, dk_j = dS_j·q.
      {
        const th = Math.tanh(2);
        const c1 = 5 * th;
        const lse = Math.fround(Math.log(1 + Math.exp(c1)));
        const P = [Math.exp(-lse), Math.exp(c1 - lse)];
        const o = Math.fround((10 + 30 * Math.exp(c1)) / (1 + Math.exp(c1)));
        const dZ = [P[0] * (10 - o), P[1] * (30 - o)];
        const dS = [dZ[0], dZ[1] * (1 - th * th)];
        answers.push({
          label: 'softcap 5, two keys: dS = dZ·(1 − tanh²(s/5))',
          args: [t4([1], [1, 1, 1, 1]), t4([1], [1, 1, 1, 1]), t4([0, 10], [1, 1, 2, 1]), t4([10, 30], [1, 1, 2, 1]), t4([o], [1, 1, 1, 1]), t4([lse], [1, 1, 1]), { scale: 1, softcap: 5 }],
          want: { dq: [10 * dS[1]], dk: [dS[0], dS[1]], dv: P },
        });
      }
      return answers;
    },
    checks(quick) {
      const cases: OpCase[] = [];
      const shapes = quick
        ? [[1, 2, 1, 7, 13, 17, 5], [2, 4, 2, 9, 5, 8, 8]]
        : [[1, 1, 1, 1, 1, 1, 1], [1, 2, 1, 7, 13, 17, 5], [2, 4, 2, 9, 5, 8, 8], [1, 2, 2, 33, 65, 16, 16], [2, 6, 3, 17, 23, 32, 24], [1, 2, 1, 19, 37, 64, 64], [1, 1, 1, 9, 21, 128, 128]];
      // The last two: real head sizes, where dO·Vᵀ's float32 rounding grows with Dv and dBias has no scale to shrink it (the arm64 check's D = 63-65 cases).
      for (const [B, Hq, Hkv, L, S, D, Dv] of shapes) {
        const seed = 101 * (L + S) + D;
        const q = rnd([B, Hq, L, D], seed), k = rnd([B, Hkv, S, D], seed + 1), v = rnd([B, Hkv, S, Dv], seed + 2);
        const sh = `B=${B} Hq=${Hq} Hkv=${Hkv} L=${L} S=${S} D=${D} Dv=${Dv}`;
        const lens = new Int32Array(B).map((_, b) => (b ? 0 : Math.max(1, S - 1)));
        const add = (what: string, o: SdpaBackwardOptions, qq = q, kk = k, vv = v, ill = false) => cases.push(fromForward(`${sh} ${what}`, qq, kk, vv, o, seed + 3 + cases.length, ill));
        add('plain', {});
        add('causal', { causal: true });
        add('mask + empty rows', { mask: maskOf([L, S], (i, j) => i % 3 !== 1 && (i + j) % 4 !== 0) });
        add('bias [Hq,L,S] + keyLengths (an empty batch), dBias', { bias: rnd([Hq, L, S], seed + 7), keyLengths: lens, returnDBias: true });
        add('bias [B,1,1,S] (key padding bias), dBias', { bias: rnd([B, 1, 1, S], seed + 8), returnDBias: true });
        add('bias [S] broadcast over batch, heads and rows, dBias', { bias: rnd([S], seed + 9), causal: 'top-left', returnDBias: true });
        add('-Infinity bias rows and keys, dBias', { bias: tensorOf([L, S], (i, j) => (i % 2 || j === 1 ? -Infinity : 0.25 * j)), returnDBias: true });
        add('bias ±1e4 + keyLengths', { bias: rnd([Hq, L, S], seed + 10, 1e4), keyLengths: lens }, q, k, v, true);
        add('logits ±1e4 (scale 1e4)', { scale: 1e4 }, q, k, v, true);
        const offs = new Int32Array(B).map((_, b) => (b ? S - L + 3 : -2));
        add('causal top-left', { causal: 'top-left' });
        add('causal bottom-right + keyLengths', { causal: true, keyLengths: lens });
        add('causal { offset: [-2, S-L+3] } (rows that see nothing)', { causal: { offset: offs } });
        add('causal, window left 3', { causal: true, window: { left: 3 } });
        add('window { left: 0, right: 2 } + mask', { window: { left: 0, right: 2 }, mask: maskOf([L, S], (i, j) => (i + 2 * j) % 5 !== 0) });
        add('softcap 3 + bias, dBias', { softcap: 3, bias: rnd([Hq, L, S], seed + 11), returnDBias: true });
        add('softcap at the ends of its range', { softcap: L % 2 ? 1e10 : 1e-10, causal: true });
        add('softcap 30 over ±1e4 logits', { softcap: 30, scale: 3000, causal: true }, q, k, v, true);
        // The last key holds NaN in k and +Inf in v, and is padding in every batch: nothing may leak.
        if (S > 1) {
          const badK = { data: k.data.slice(), shape: k.shape }, badV = { data: v.data.slice(), shape: v.shape };
          for (let b = 0; b < B; b++) for (let h = 0; h < Hkv; h++) { badK.data[((b * Hkv + h) * S + S - 1) * D] = NaN; badV.data[((b * Hkv + h) * S + S - 1) * Dv] = Infinity; }
          add('NaN/Inf in a padding key (keyLengths S-1): no leak', { keyLengths: new Int32Array(B).fill(S - 1), causal: 'top-left' }, q, badK, badV);
        }
        // Key 0 holds NaN in k: only the rows whose window reaches key 0 (and their keys) turn NaN.
        const nanK = { data: k.data.slice(), shape: k.shape };
        for (let b = 0; b < B; b++) for (let h = 0; h < Hkv; h++) nanK.data[(b * Hkv + h) * S * D] = NaN;
        add('NaN key 0 outside most rows\' window', { causal: true, window: { left: 2 } }, q, nanK, v);
        add('layout blhd, causal, window, bias, dBias', { layout: 'blhd', causal: true, window: { left: 4 }, bias: rnd([1, Hq, 1, S], seed + 12), returnDBias: true }, toBlhd(q), toBlhd(k), toBlhd(v));
      }
      // Long rows of normal logits: many keys carry weight, so the sums' rounding shows.
      const S = quick ? 1000 : 4000;
      cases.push(fromForward(`B=1 Hq=1 L=2 S=${S} D=1 normal logits (sd 3)`, tensorOf([1, 1, 2, 1], () => 1), normalLogits([1, 1, S, 1], 9, 3), rnd([1, 1, S, 3], 10), { scale: 1 }, 11));
      cases.push(fromForward('B=3 Hq=2 L=5 S=9 D=4 keyLengths incl. 0, causal, GQA 2:1', rnd([3, 2, 5, 4], 12), rnd([3, 1, 9, 4], 13), rnd([3, 1, 9, 4], 14), { causal: true, keyLengths: someLengths(3, 9) }, 15));
      return cases;
    },
    bench(quick) {
      return (quick ? QUICK_SHAPES : BENCH_SHAPES).map(([label, B, H, L, S, D, c]): BenchCase => ({
        label,
        shape: { B, H, Hkv: H, L, S, D, causal: c },
        // The forward on the fastest backend here (auto): only its shapes and scale matter to the bench.
        make: () => ({ args: fromForward(label, rnd([B, H, L, D], 1), rnd([B, H, S, D], 2), rnd([B, H, S, D], 3), { causal: c }, 4, false, 'auto').args }),
      }));
    },
    random(R, small) {
      const B = R.int(1, 2), Hkv = R.int(1, 2), Hq = Hkv * R.int(1, 2);
      const L = R.int(1, small ? 3 : 5), S = R.int(1, small ? 4 : 6), D = R.int(1, small ? 4 : 8), Dv = R.int(1, small ? 4 : 6);
      const target = [B, Hq, L, S];
      const o: Record<string, unknown> = {};
      if (R.bool()) o.causal = R.pick([true, false, 'top-left', 'bottom-right', { offset: R.int(-3, 3) }, { offset: Int32Array.from({ length: B }, () => R.int(-3, 3)) }]);
      if (R.bool(0.25)) o.window = R.bool() ? { left: R.int(0, 3) } : { left: R.int(0, 3), right: R.int(0, 3) };
      if (R.bool(0.2)) o.softcap = 0.5 + R.f() * 5;
      if (R.bool(0.2)) o.scale = R.f() * 2 - 0.5;
      if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, target));
      if (R.bool(0.4)) {
        o.bias = randT(R, broadcastShape(R, target));
        if (R.bool()) o.returnDBias = true;
      }
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
      const bl = R.bool(0.2);
      if (bl) o.layout = 'blhd';
      // The same sizes in [B,L,H,D] order for blhd (fresh random data: only the shapes matter here).
      const qkv = (H: number, T: number, X: number) => randT(R, bl ? [B, T, H, X] : [B, H, T, X]);
      const q = qkv(Hq, L, D), k = qkv(Hkv, S, D), v = qkv(Hkv, S, Dv);
      const fwd = sdpa(q, k, v, { ...forwardOptions(o), returnLse: true }, { backend: 'reference' }) as AttentionOutput;
      return [randT(R, fwd.output.shape), q, k, v, fwd.output, fwd.lse, o];
    },
    small: () => fromForward('small', rnd([1, 2, 8, 16], 1), rnd([1, 2, 12, 16], 2), rnd([1, 2, 12, 8], 3), { causal: true, bias: rnd([8, 12], 4), returnDBias: true }, 5).args,
  },
  fuzz: {
    broadcastTarget: (a) => {
      const [q, k] = [shapeOf(a[1]), shapeOf(a[2])];
      const bl = (a[6] as SdpaBackwardOptions | undefined)?.layout === 'blhd';
      return { shape: bl ? [q[0], q[2], q[1], k[1]] : [q[0], q[1], q[2], k[2]], bias: true };
    },
    lengthsTarget: (a) => ({ B: shapeOf(a[1])[0], S: shapeOf(a[2])[(a[6] as SdpaBackwardOptions | undefined)?.layout === 'blhd' ? 1 : 2] }),
    invalidate(R, a) {
      const o = optionsArg(a, 6);
      const how = R.int(0, 2);
      if (how === 0 && !o.bias) {
        o.returnDBias = true;
        return 'options.returnDBias := true without a bias';
      }
      if (how === 1) {
        const s = shapeOf(a[5]);
        s[2] += 1;
        a[5] = { data: new Float32Array(s[0] * s[1] * s[2]), shape: s };
        return `lse := [${s}] (one row too many)`;
      }
      o.scale = R.pick([NaN, Infinity]);
      return `options.scale := ${o.scale}`;
    },
  },
});
