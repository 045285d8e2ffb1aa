/**
 * One AdamW optimizer step (issue #15, docs/TRAINING.md): PyTorch `torch.optim.AdamW` semantics
 * and defaults, updating the parameters and the moment state in place.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import type { AdamStepArgs, AdamStepResult } from '../kernels';
import { isDetachedView, liveTypedArray } from '../buffers';
import { optionsObject } from '../options';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { rowsCols } from '../validate';
import { randShape, randT, rnd } from './cases';
import { rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, readOption, tensor, type CaseRandom, type KnownAnswer, type OpCase, type OpDescriptor } from './descriptor';

/**
 * The state AdamW keeps per parameter tensor: the first and second moments (PyTorch's `exp_avg`
 * and `exp_avg_sq`), float32 arrays of the parameter's size, and the number of steps taken.
 * {@link adamStep} updates `m` and `v` in place and increments `step`; {@link adamState} makes a
 * fresh one.
 */
export interface AdamState {
  /** First moment (exp_avg): a Float32Array of the parameter's element count. */
  m: Float32Array;
  /** Second moment (exp_avg_sq): a Float32Array of the parameter's element count. */
  v: Float32Array;
  /** Steps taken so far: a non-negative integer (0 for a fresh state). */
  step: number;
}

/** Options of {@link adamStep}: PyTorch AdamW's hyperparameters, with its defaults. */
export interface AdamStepOptions {
  /** Learning rate, >= 0 (default 1e-3). */
  lr?: number;
  /** Decay of the first moment, in [0, 1) (PyTorch `betas[0]`, default 0.9). */
  beta1?: number;
  /** Decay of the second moment, in [0, 1) (PyTorch `betas[1]`, default 0.999). */
  beta2?: number;
  /** Added to the bias-corrected sqrt of the second moment, >= 0 (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay, >= 0: the parameters are first multiplied by `1 - lr·weightDecay` (default 1e-2). */
  weightDecay?: number;
  /** Ascend the objective instead (the gradient is negated), as PyTorch's `maximize` (default false). */
  maximize?: boolean;
}

/** A fresh AdamW state for `param`: zero moments of its size, step 0. */
export function adamState(param: TensorLike): AdamState {
  const n = asTensor(param, 'param').data.length;
  return { m: new Float32Array(n), v: new Float32Array(n), step: 0 };
}

/** The largest row count or width the kernels index (int32). */
const MAX_INT32 = 0x7fffffff;

/** Largest step count whose successor is still an exact integer. */
const MAX_STEP = Number.MAX_SAFE_INTEGER - 1;

/**
 * The dispatch options read once into a plain object (a getter or Proxy is read here, once, with
 * dispatch's own messages): the op must know whether `verify` is on before it chooses in place.
 */
function dispatchSnapshot(d: DispatchOptions | undefined): DispatchOptions | undefined {
  if (d === undefined || d === null) return d;
  const o = optionsObject<DispatchOptions>(d, 'dispatchOptions', ['backend', 'verify', 'onReport']);
  const backend = o.backend, verify = o.verify, onReport = o.onReport;
  return { ...(backend !== undefined ? { backend } : {}), ...(verify !== undefined ? { verify } : {}), ...(onReport !== undefined ? { onReport } : {}) };
}

/** `state` checked: its m and v of `n` elements, its step, and that step can be written back. */
function checkState(state: unknown, n: number): { m: Float32Array; v: Float32Array; step: number; target: AdamState } {
  if (state === null || typeof state !== 'object') throw new DTypeError('state', 'an AdamW state { m, v, step } (see adamState)', describeType(state));
  const s = optionsObject<AdamState>(state, 'state', ['m', 'v', 'step']);
  const moment = (value: unknown, name: string): Float32Array => {
    if (!ArrayBuffer.isView(value)) throw new DTypeError(name, `a Float32Array of param's ${n} elements`, describeType(value));
    const a = liveTypedArray(value, name, Float32Array, `a Float32Array of param's ${n} elements`);
    if (a.length !== n) throw new ShapeError(name, `Float32Array(${n}) (param's element count)`, `Float32Array(${a.length})`);
    return a;
  };
  const m = moment(s.m, 'state.m');
  const v = moment(s.v, 'state.v');
  const step = s.step;
  if (typeof step !== 'number' || !Number.isInteger(step) || step < 0 || step > MAX_STEP) {
    throw new ValueError('state.step', `expected the steps taken, an integer within 0..${MAX_STEP}, received ${typeof step === 'number' ? step : describeType(step)}`);
  }
  let desc: PropertyDescriptor | undefined;
  try {
    desc = Object.getOwnPropertyDescriptor(state, 'step');
  } catch (e) {
    throw new DTypeError('state', 'a plain state object', 'an object whose property descriptors cannot be read', String((e as Error)?.message ?? e));
  }
  if (!desc || !('value' in desc) || !desc.writable) throw new ValueError('state.step', 'must be a writable own data property: adamStep increments it');
  return { m, v, step, target: state as AdamState };
}

/** The four arrays may not share memory: each is read while the others are written. */
function checkDisjoint(arrays: readonly (readonly [string, Float32Array])[]): void {
  for (let i = 1; i < arrays.length; i++) {
    const [name, a] = arrays[i];
    for (let j = 0; j < i; j++) {
      const [other, b] = arrays[j];
      if (a.buffer !== b.buffer || a.byteLength === 0 || b.byteLength === 0) continue;
      if (a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength) {
        throw new ValueError(name, `shares memory with ${other}: AdamW reads each of param, grad, state.m and state.v while writing the others`);
      }
    }
  }
}

/**
 * Copy a kernel's results into the caller's arrays (those it did not write in place), after
 * checking that every one is still attached: all are written, or none.
 */
function copyBack(pairs: readonly (readonly [Float32Array, Float32Array, string])[]): void {
  for (const [result, target, name] of pairs) {
    if (result !== target && isDetachedView(target)) throw new DTypeError(name, 'a Float32Array with a live buffer', 'a buffer detached while the call ran; nothing was written');
  }
  for (const [result, target] of pairs) if (result !== target) target.set(result);
}

/** A finite option within its range (ValueError naming it otherwise). */
function ranged(o: Record<string, unknown>, key: string, ok: (x: number) => boolean, range: string): number {
  const x: number = readOption(adamStepOp, o, key);
  if (!ok(x)) throw new ValueError(`options.${key}`, `expected a number ${range}, received ${x}`);
  return x;
}

function prepareAdamStep(param: TensorLike, grad: TensorLike, state: AdamState, options: AdamStepOptions | null | undefined, inPlace: boolean): Prepared<'adamStep', Tensor> {
  const p = asTensor(param, 'param');
  const g = asTensor(grad, 'grad');
  if (g.shape.length !== p.shape.length || g.shape.some((d, i) => d !== p.shape[i])) {
    throw new ShapeError('grad', `param's shape ${formatShape(p.shape)}`, formatShape(g.shape));
  }
  const n = p.data.length;
  const { rows, cols } = rowsCols(p.shape);
  // The kernels index rows and columns with int32 (an empty param may still carry a huge dim).
  if (p.shape.some((x) => x > MAX_INT32) || rows > MAX_INT32) throw new ShapeError('param', `every dim and the row count within 2^31-1`, formatShape(p.shape));
  const s = checkState(state, n);
  checkDisjoint([['param', p.data], ['grad', g.data], ['state.m', s.m], ['state.v', s.v]]);
  const o = optionsFor<AdamStepOptions>(adamStepOp, options) as Record<string, unknown>;
  const lr = ranged(o, 'lr', (x) => x >= 0, '>= 0');
  const beta1 = ranged(o, 'beta1', (x) => x >= 0 && x < 1, 'in [0, 1)');
  const beta2 = ranged(o, 'beta2', (x) => x >= 0 && x < 1, 'in [0, 1)');
  const eps = ranged(o, 'eps', (x) => x >= 0, '>= 0');
  const weightDecay = ranged(o, 'weightDecay', (x) => x >= 0, '>= 0');
  const maximize: boolean = readOption(adamStepOp, o, 'maximize');
  const step = s.step + 1;
  const args: AdamStepArgs = { param: p.data, grad: g.data, m: s.m, v: s.v, rows, cols, step, lr, beta1, beta2, eps, weightDecay, maximize, inPlace };
  const wrap = (r: AdamStepResult): Tensor => {
    copyBack([[r.param, p.data, 'param'], [r.m, s.m, 'state.m'], [r.v, s.v, 'state.v']]);
    s.target.step = step;
    return { data: p.data, shape: p.shape };
  };
  return { op: 'adamStep', args, layout: () => rowMajorLayout(rows, { param: p.shape, m: p.shape, v: p.shape }), wrap };
}

/**
 * One AdamW step, as PyTorch's `torch.optim.AdamW` (decoupled weight decay) takes it for one
 * parameter tensor: with `g = grad` (negated with `maximize`) and `t = state.step + 1`,
 * `param *= 1 - lr·weightDecay`; `m = beta1·m + (1 - beta1)·g`; `v = beta2·v + (1 - beta2)·g²`;
 * `param -= lr · (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`. Updates `param`'s data,
 * `state.m` and `state.v` IN PLACE, sets `state.step = t`, and returns the param tensor (its data
 * the caller's array). Defaults: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8, weightDecay 1e-2.
 *
 * The moments are float32 state and the update reads them as stored. The bias corrections are
 * computed in float64 on every backend; the elementwise arithmetic is float64 on reference, float32
 * on native and gpu. NaN or ±Infinity in a gradient make that parameter NaN, as in PyTorch.
 * With `verify` the backend writes new arrays (so the reference run reads the same inputs), copied
 * into param, m and v afterwards. The async twin also works on copies: param and the state are
 * written when its promise resolves (do not change them while it is pending).
 *
 * @example
 * const state = adamState(weights);
 * for (const batch of batches) adamStep(weights, gradOf(batch), state, { lr: 3e-4 });
 * @throws ShapeError (grad, state.m, state.v), DTypeError (a non-float32 argument, a state that
 *   is not an object), ValueError naming an option out of range, `state.step`, or an array that
 *   shares memory with another.
 */
export function adamStep(param: TensorLike, grad: TensorLike, state: AdamState, options?: AdamStepOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  const d = dispatchSnapshot(dispatchOptions);
  return run(prepareAdamStep(param, grad, state, options, !d?.verify), d);
}

/** The async twin of {@link adamStep}: param and the state are updated when the promise resolves. */
export async function adamStepAsync(param: TensorLike, grad: TensorLike, state: AdamState, options?: AdamStepOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  const d = dispatchSnapshot(dispatchOptions);
  // Async kernels run on copies (the native addon's, a worker's): new arrays, copied back by wrap.
  return runAsync(() => prepareAdamStep(param, grad, state, options, false), d);
}

/** A state with moments as after some steps: m in ±scale, v in [0, scale²), `step` taken. */
function someState(n: number, seed: number, step: number, scale = 0.1): AdamState {
  const m = rnd([n], seed, scale).data;
  const v = rnd([n], seed + 1, scale).data.map((x) => x * x);
  return { m, v, step };
}

/** The float64 closed form of one step from a zero state (or any state whose bias-corrected moments are g and g²). */
function firstStep(p: number, g: number, lr = 1e-3, wd = 1e-2, eps = 1e-8): number {
  return p * (1 - lr * wd) - (lr * g) / (Math.abs(g) + eps);
}

/** The adamStep descriptor. */
export const adamStepOp: OpDescriptor<'adamStep'> = defineOp({
  name: 'adamStep',
  summary: 'one AdamW optimizer step (PyTorch torch.optim.AdamW): param, m and v updated in place',
  signature: 'adamStep(param, grad, state, options?, dispatch?)',
  params: [tensor('param', []), tensor('grad', []), { name: 'state', kind: 'state' }, 'options'],
  options: {
    lr: { kind: 'finite', default: 1e-3, doc: 'learning rate, >= 0' },
    beta1: { kind: 'finite', default: 0.9, doc: 'first-moment decay, in [0, 1)' },
    beta2: { kind: 'finite', default: 0.999, doc: 'second-moment decay, in [0, 1)' },
    eps: { kind: 'finite', default: 1e-8, doc: 'added to the bias-corrected sqrt(v), >= 0' },
    weightDecay: { kind: 'finite', default: 1e-2, doc: 'decoupled weight decay, >= 0' },
    maximize: { kind: 'boolean', default: false, doc: 'ascend: the gradient is negated' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks and the quick bench cases (param, m and
    // v). Native, worst ISA (avx2, avx512; scalar 5.8e-7): max rel error 6.0e-7, then 2.6e-7 of
    // atol needed at 4x that rtol: the float32 update (lr 0.1: ~0.1-1 per step) of parameters
    // that land near 0 (the lr-0.1 checks, found by the fuzzer).
    native: { rtol: 2.5e-6, atol: 1.1e-6 },
    // gpu on llvmpipe: max rel 5.8e-7, then 2.5e-7 of atol (the same cases).
    gpu: { rtol: 2.4e-6, atol: 9.9e-7 },
  },
  // Nominal 16 flops per parameter; reads param, grad, m and v, writes param, m and v.
  cost: (s) => {
    const n = (s.rows as number) * (s.cols as number);
    return { flops: 16 * n, bytes: 28 * n };
  },
  fn: adamStep,
  fnAsync: adamStepAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const cases: KnownAnswer[] = [];
      const p = [1, -2, 0.5, 3, 0.25, -0.75, 100, 7];
      const g = [0.5, -0.25, 1e-3, -4, 2, 1e-6, -1e4, 0];
      const T = (xs: number[]) => ({ data: Float32Array.from(xs), shape: [2, xs.length / 2] });
      const at = (i: number, f: (p: number, g: number) => number) => f(Math.fround(p[i]), Math.fround(g[i]));
      const want = (f: (p: number, g: number) => number) => p.map((_x, i) => at(i, f));
      // From a zero state the bias-corrected moments are g and g²: each parameter moves by
      // lr·g/(|g| + eps) (about lr·sign(g); 0 for g = 0) after the decay.
      cases.push({ label: 'first step from zero state, defaults: ~lr·sign(g) after decay', args: [T(p), T(g), adamState(T(p)), {}], want: { output: want((x, y) => firstStep(x, y)) } });
      cases.push({ label: 'first step, lr 0.1, weightDecay 0.5, eps 1e-3', args: [T(p), T(g), adamState(T(p)), { lr: 0.1, weightDecay: 0.5, eps: 1e-3 }], want: { output: want((x, y) => firstStep(x, y, 0.1, 0.5, 1e-3)) } });
      cases.push({ label: 'maximize: the step goes the other way', args: [T(p), T(g), adamState(T(p)), { maximize: true }], want: { output: want((x, y) => firstStep(x, -y)) } });
      // A second step with the same gradient: m = 0.19·g, v = 0.001999·g², and 1 - 0.9² = 0.19,
      // 1 - 0.999² = 0.001999, so the bias-corrected moments are g and g² again.
      const s2: AdamState = { m: Float32Array.from(g, (x) => 0.1 * x), v: Float32Array.from(g, (x) => 0.001 * x * x), step: 1 };
      cases.push({ label: 'second step, same gradient: the same move', args: [T(p), T(g), s2, { weightDecay: 0 }], want: { output: want((x, y) => firstStep(x, y, 1e-3, 0)) } });
      // Zero gradients and zero state: only the decay (0 / (0 + eps) = 0).
      cases.push({ label: 'zero gradient: only the decay', args: [T(p), T(p.map(() => 0)), adamState(T(p)), { lr: 0.01, weightDecay: 0.1 }], want: { output: p.map((x) => Math.fround(x) * (1 - 0.01 * 0.1)) } });
      // NaN or ±Infinity in a gradient: that parameter is NaN (Inf/Inf in the update), as in PyTorch.
      const gn = [NaN, Infinity, -Infinity, 1];
      cases.push({ label: 'NaN, ±Infinity gradients give NaN parameters', args: [{ data: Float32Array.of(1, 2, 3, 4), shape: [4] }, { data: Float32Array.from(gn), shape: [4] }, { m: new Float32Array(4), v: new Float32Array(4), step: 0 }, {}], want: { output: [NaN, NaN, NaN, firstStep(4, 1)] } });
      // After 10^6 steps the bias corrections are 1 to float64 precision: m̂ = m', v̂ = v'.
      const big: AdamState = { m: Float32Array.of(0.5), v: Float32Array.of(0.25), step: 1e6 };
      const m1 = 0.9 * 0.5 + 0.1 * 2, v1 = Math.fround(0.999 * 0.25 + 0.001 * 4);
      cases.push({ label: 'step 10^6: no bias correction left', args: [{ data: Float32Array.of(1), shape: [1] }, { data: Float32Array.of(2), shape: [1] }, big, { weightDecay: 0 }], want: { output: [1 - (1e-3 * Math.fround(m1)) / (Math.sqrt(v1) + 1e-8)] } });
      return cases;
    },
    checks(quick) {
      const cases: OpCase[] = [];
      const add = (label: string, shape: number[], seed: number, opts: AdamStepOptions, step = 0, gScale = 1, state = true): void => {
        const n = shape.reduce((a, b) => a * b, 1);
        const param = rnd(shape, seed, 2);
        cases.push({ label, args: [param, rnd(shape, seed + 1, gScale), state && step > 0 ? someState(n, seed + 2, step) : adamState(param), opts] });
      };
      add('[37,17] first step, defaults', [37, 17], 1, {});
      add('[5,4096] step 11, lr 0.1, weightDecay 0.1', [5, 4096], 2, { lr: 0.1, weightDecay: 0.1 }, 10);
      add('[3,7,9] step 1001, beta1 0.5, beta2 0.9, eps 1e-6, maximize', [3, 7, 9], 3, { beta1: 0.5, beta2: 0.9, eps: 1e-6, maximize: true }, 1000);
      add('[] scalar parameter, step 3', [], 4, {}, 2);
      add('[1,1] beta1 0, beta2 0 (no averaging)', [1, 1], 5, { beta1: 0, beta2: 0 }, 4);
      add('[4,33] lr 0, weightDecay 0 (moments only)', [4, 33], 6, { lr: 0, weightDecay: 0 }, 7);
      add('[9,13] gradients ±1e18 (g² past float32, (1-beta2)·g² within)', [9, 13], 7, {}, 3, 1e18);
      add('[9,13] gradients ±1e30 (v overflows to Infinity: the update is 0)', [9, 13], 8, {}, 0, 1e30);
      add('[9,13] gradients ±1e-20 (v denormal or 0)', [9, 13], 9, {}, 5, 1e-20);
      // lr 0.1: updates of ~0.1 to parameters of ~1, some landing near 0 (the absolute error of the
      // float32 update is what the atol covers there). Found by the fuzzer (test/fuzz/).
      add('[64,257] lr 0.1, beta1 0.5, weightDecay 0, gradients ±100, step 194', [64, 257], 16, { lr: 0.1, beta1: 0.5, weightDecay: 0 }, 193, 100);
      add('[64,257] lr 0.1, weightDecay 0.5, beta2 0, gradients ±1e-3, step 402', [64, 257], 17, { lr: 0.1, weightDecay: 0.5, beta2: 0 }, 401, 1e-3);
      if (!quick) add('[300,257] step 51', [300, 257], 10, { lr: 3e-4 }, 50);
      const nf = Float32Array.of(NaN, Infinity, -Infinity, 0, -0, 1e-30, 3e38, -3e38);
      cases.push({ label: '[8] NaN, ±Infinity, ±0, tiny and huge gradients', args: [rnd([8], 11), { data: nf, shape: [8] }, someState(8, 12, 3), {}] });
      cases.push({ label: '[6] NaN and Infinity in the state', args: [rnd([6], 13), rnd([6], 14), { m: Float32Array.of(NaN, 1, Infinity, 0, 0, -1), v: Float32Array.of(0, NaN, 1, Infinity, 0, 1e30), step: 2 }, {}] });
      cases.push({ label: '[5] zero gradients with eps 0: 0/0 = NaN, as in PyTorch', args: [rnd([5], 15), { data: new Float32Array(5), shape: [5] }, adamState({ data: new Float32Array(5), shape: [5] }), { eps: 0 }] });
      return cases;
    },
    bench(quick) {
      // The item table of the embedding bench (100,000 x 64 = 6.4M parameters).
      const s = quick ? { rows: 1000, cols: 64 } : { rows: 100000, cols: 64 };
      return [
        {
          label: 'item-table AdamW step',
          shape: s,
          make: () => {
            const param = rnd([s.rows, s.cols], 41, 0.1);
            return { args: [param, rnd([s.rows, s.cols], 42, 0.01), someState(s.rows * s.cols, 43, 10, 0.01), {}] };
          },
        },
      ];
    },
    random(R: CaseRandom, small: boolean) {
      // Rank >= 1: a rank-0 tensor has no dim the fuzzer's shape corruptions could make overflow.
      const shape = randShape(R, 1, 3, small ? 6 : 24);
      const n = shape.reduce((a, b) => a * b, 1);
      const param = randT(R, shape, 2);
      const state: AdamState = R.bool(0.3) ? adamState(param) : { m: randT(R, [n], 0.5).data, v: randT(R, [n], 0.5).data.map((x) => x * x), step: R.int(1, 1000) };
      const opts: AdamStepOptions = {};
      if (R.bool()) opts.lr = R.pick([1e-3, 0.1, 0]);
      if (R.bool()) opts.weightDecay = R.pick([0, 0.01, 0.5]);
      if (R.bool(0.3)) opts.beta1 = R.pick([0, 0.5]);
      if (R.bool(0.3)) opts.beta2 = R.pick([0, 0.9]);
      if (R.bool(0.3)) opts.maximize = true;
      return [param, randT(R, shape, R.pick([1, 1e-3, 100])), state, opts];
    },
    small: () => {
      const param = rnd([16, 16], 51);
      return [param, rnd([16, 16], 52, 0.1), adamState(param), null];
    },
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(R, a) {
      const st = a[2] as AdamState;
      const n = st.m.length;
      const how = R.int(0, 6);
      if (how === 0) {
        a[2] = R.pick([null, 'state', 5, [st.m, st.v, 0]]);
        return 'state := not a state object';
      }
      if (how === 1) {
        st.m = R.pick<unknown>([new Float32Array(n + 1), Float64Array.from(st.m), Array.from(st.m)]) as Float32Array;
        return 'state.m := wrong length or type';
      }
      if (how === 2) {
        st.step = R.pick([-1, 1.5, NaN, '3' as unknown as number, 2 ** 53]);
        return `state.step := ${String(st.step)}`;
      }
      if (how === 3) {
        Object.defineProperty(st, 'step', { value: st.step, writable: false, enumerable: true });
        return 'state.step := read-only';
      }
      if (how === 4 && n > 0) {
        st.v = (a[0] as { data: Float32Array }).data;
        return 'state.v := param.data (shared memory)';
      }
      if (how === 5) {
        const key = R.pick(['lr', 'beta1', 'beta2', 'eps', 'weightDecay']);
        a[3] = { ...((a[3] as object) ?? {}), [key]: key === 'beta1' || key === 'beta2' ? R.pick([1, -0.1, 2]) : -0.5 };
        return `options.${key} out of range`;
      }
      a[1] = { data: new Float32Array(n + 1), shape: [n + 1] };
      return "grad := a tensor of another shape than param's";
    },
  },
});
