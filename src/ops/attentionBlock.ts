/**
 * The attention block of multiHeadAttention and transformerEncoderLayer as a composite of public
 * ops, for training (internal): the forward that keeps what the backward needs (`returnSaved`),
 * and the backward (a vector-Jacobian product) made of linearBackward and sdpaBackward. Each step
 * is a dispatched op (verified and reported on its own, on any backend); the head split is free:
 * the projections `[B,L,H*D]` are sdpa's `'blhd'` layout as they are.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ValueError } from '../errors';
import { decodeHalf } from '../half';
import { asFloatTensor, type Tensor } from '../tensor';
import { linear, linearAsync } from './linear';
import { linearBackward, linearBackwardAsync } from './linearBackward';
import { sdpa, sdpaAsync, type SdpaOptions } from './sdpa';
import { sdpaBackward, sdpaBackwardAsync } from './sdpaBackward';
import type { Step, Steps } from './cached';

/** A float32 tensor from data and shape. */
export const tensorOf = (data: Float32Array, shape: number[]): Tensor => ({ data, shape });
const vec = (data: Float32Array | null): Tensor | null => (data ? tensorOf(data, [data.length]) : null);

/** One op call as a composite step, in its sync and async forms. */
export function step<R>(run: () => R, runAsync: () => Promise<R>): Step {
  return { run, runAsync };
}

/** `x + y` elementwise in float32 (a residual add; exact on every backend). */
export function addInto(x: Float32Array, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + y[i];
  return out;
}

/**
 * Refuse options that the `returnSaved` (training) path does not take: it returns float32
 * `{ output, saved }`, keeps sdpa's lse in `saved`, and has no KV cache.
 */
export function refuseWithSaved(o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || v === null || v === false || (k === 'outputDtype' && v === 'float32')) continue;
    throw new ValueError(`options.${k}`, 'not with options.returnSaved (training returns float32 { output, saved }, with the lse inside saved, and takes no cache)');
  }
}

/**
 * sdpa's options for the block's heads from the op's checked options: the scale resolved, and a
 * half-precision bias widened to float32 (exact), since the backward ops take float32 only.
 */
export function savedSdpaOptions(o: Record<string, unknown>, scale: number): SdpaOptions {
  const out: Record<string, unknown> = { scale };
  for (const k of ['mask', 'keyLengths', 'causal', 'window', 'softcap']) if (o[k] !== undefined && o[k] !== null) out[k] = o[k];
  if (o.bias !== undefined && o.bias !== null) {
    const b = asFloatTensor(o.bias, 'options.bias');
    out.bias = b.dtype === 'float32' ? { data: b.data, shape: b.shape } : { data: decodeHalf(b.data as Uint16Array, b.dtype), shape: b.shape };
  }
  return out as SdpaOptions;
}

/** The checked float32 inputs and parameters of one attention block (x·W weights). */
export interface AttentionBlockInputs {
  /** `[B,L,E]`. */
  readonly query: Float32Array;
  /** `[B,S,Ek]` (the same array as query for self-attention). */
  readonly key: Float32Array;
  /** `[B,S,Ev]`. */
  readonly value: Float32Array;
  readonly B: number; readonly L: number; readonly S: number;
  readonly E: number; readonly Ek: number; readonly Ev: number;
  readonly Hq: number; readonly Hkv: number; readonly D: number; readonly Dv: number; readonly Eo: number;
  readonly wq: Float32Array; readonly bq: Float32Array | null;
  readonly wk: Float32Array; readonly bk: Float32Array | null;
  readonly wv: Float32Array; readonly bv: Float32Array | null;
  readonly wo: Float32Array; readonly bo: Float32Array | null;
  /**
   * sdpa's options for the heads (scale, mask, bias, keyLengths, causal form, window, softcap),
   * as the caller gave them (already checked by the op); layout and returnLse are added here.
   */
  readonly sdpaOptions: SdpaOptions;
}

/** What the attention block's backward needs: its inputs, the projections, sdpa's output and lse. */
export interface AttentionBlockSaved extends AttentionBlockInputs {
  /** `[B,L,Hq*D]` projected queries (= `[B,L,Hq,D]`, sdpa's 'blhd'). */
  readonly qp: Float32Array;
  /** `[B,S,Hkv*D]` projected keys. */
  readonly kp: Float32Array;
  /** `[B,S,Hkv*Dv]` projected values. */
  readonly vp: Float32Array;
  /** `[B,L,Hq*Dv]` sdpa's output, the heads merged (the output projection's input). */
  readonly context: Float32Array;
  /** `[B,Hq,L]` sdpa's log-sum-exp per query row. */
  readonly lse: Float32Array;
}

/** Gradients of the attention block's parameters (a bias's only when it has one). */
export interface AttentionBlockParamGrads {
  wq: Tensor; bq?: Tensor; wk: Tensor; bk?: Tensor; wv: Tensor; bv?: Tensor; wo: Tensor; bo?: Tensor;
}

/** Gradients of the attention block's inputs and parameters. */
export interface AttentionBlockGrads {
  /** `[B,L,E]`. */
  dQuery: Tensor;
  /** `[B,S,Ek]`. */
  dKey: Tensor;
  /** `[B,S,Ev]`. */
  dValue: Tensor;
  /** In the parameters' own structure. */
  dParams: AttentionBlockParamGrads;
}

function linearStep(x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number, b: Float32Array | null, d?: DispatchOptions): Step {
  const xt = tensorOf(x, [rows, inDim]);
  const wt = tensorOf(w, [inDim, outDim]);
  return step(() => linear(xt, wt, vec(b), d), () => linearAsync(xt, wt, vec(b), d));
}

function linearBackwardStep(dy: Float32Array, x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number, d?: DispatchOptions): Step {
  const dyt = tensorOf(dy, [rows, outDim]);
  const xt = tensorOf(x, [rows, inDim]);
  const wt = tensorOf(w, [inDim, outDim]);
  return step(() => linearBackward(dyt, xt, wt, d), () => linearBackwardAsync(dyt, xt, wt, d));
}

type LinearGrads = { dx: Tensor; dW: Tensor; db: Tensor };

/** Forward of the block, keeping what its backward needs. */
export function* attentionBlockForward(a: AttentionBlockInputs, d?: DispatchOptions): Steps<{ output: Float32Array; saved: AttentionBlockSaved }> {
  const { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo } = a;
  const qp = ((yield linearStep(a.query, B * L, E, a.wq, Hq * D, a.bq, d)) as Tensor).data;
  const kp = ((yield linearStep(a.key, B * S, Ek, a.wk, Hkv * D, a.bk, d)) as Tensor).data;
  const vp = ((yield linearStep(a.value, B * S, Ev, a.wv, Hkv * Dv, a.bv, d)) as Tensor).data;
  const q = tensorOf(qp, [B, L, Hq, D]);
  const k = tensorOf(kp, [B, S, Hkv, D]);
  const v = tensorOf(vp, [B, S, Hkv, Dv]);
  const o = { ...a.sdpaOptions, layout: 'blhd' as const, returnLse: true as const };
  const att = (yield step(() => sdpa(q, k, v, o, d), () => sdpaAsync(q, k, v, o, d))) as { output: Tensor; lse: Tensor };
  const context = att.output.data;
  const output = ((yield linearStep(context, B * L, Hq * Dv, a.wo, Eo, a.bo, d)) as Tensor).data;
  return { output, saved: { ...a, qp, kp, vp, context, lse: att.lse.data } };
}

/** Backward of the block: the gradients of its inputs and parameters for `dOut` `[B,L,Eo]`. */
export function* attentionBlockBackward(dOut: Float32Array, s: AttentionBlockSaved, d?: DispatchOptions): Steps<AttentionBlockGrads> {
  const { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo } = s;
  const go = (yield linearBackwardStep(dOut, s.context, B * L, Hq * Dv, s.wo, Eo, d)) as LinearGrads;
  const dO = tensorOf(go.dx.data, [B, L, Hq, Dv]);
  const q = tensorOf(s.qp, [B, L, Hq, D]);
  const k = tensorOf(s.kp, [B, S, Hkv, D]);
  const v = tensorOf(s.vp, [B, S, Hkv, Dv]);
  const out = tensorOf(s.context, [B, L, Hq, Dv]);
  const lse = tensorOf(s.lse, [B, Hq, L]);
  const o = { ...s.sdpaOptions, layout: 'blhd' as const };
  const g = (yield step(() => sdpaBackward(dO, q, k, v, out, lse, o, d), () => sdpaBackwardAsync(dO, q, k, v, out, lse, o, d))) as { dq: Tensor; dk: Tensor; dv: Tensor };
  const gq = (yield linearBackwardStep(g.dq.data, s.query, B * L, E, s.wq, Hq * D, d)) as LinearGrads;
  const gk = (yield linearBackwardStep(g.dk.data, s.key, B * S, Ek, s.wk, Hkv * D, d)) as LinearGrads;
  const gv = (yield linearBackwardStep(g.dv.data, s.value, B * S, Ev, s.wv, Hkv * Dv, d)) as LinearGrads;
  const dParams: AttentionBlockParamGrads = { wq: gq.dW, wk: gk.dW, wv: gv.dW, wo: go.dW };
  if (s.bq) dParams.bq = gq.db;
  if (s.bk) dParams.bk = gk.db;
  if (s.bv) dParams.bv = gv.db;
  if (s.bo) dParams.bo = go.db;
  return {
    dQuery: tensorOf(gq.dx.data, [B, L, E]),
    dKey: tensorOf(gk.dx.data, [B, S, Ek]),
    dValue: tensorOf(gv.dx.data, [B, S, Ev]),
    dParams,
  };
}
