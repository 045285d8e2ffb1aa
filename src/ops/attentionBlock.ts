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
import { decodeHalf } from '../half';
import { asFloatTensor, type Tensor } from '../tensor';
import { sdpa, sdpaAsync, type SdpaOptions } from './sdpa';
import { sdpaBackward, sdpaBackwardAsync } from './sdpaBackward';
import type { Steps } from './cached';
import { linearBackwardSteps, linearStep, step, tensorOf } from './trainingSteps';

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
  const go = yield* linearBackwardSteps(dOut, s.context, B * L, Hq * Dv, s.wo, Eo, d);
  const dO = tensorOf(go.dx, [B, L, Hq, Dv]);
  const q = tensorOf(s.qp, [B, L, Hq, D]);
  const k = tensorOf(s.kp, [B, S, Hkv, D]);
  const v = tensorOf(s.vp, [B, S, Hkv, Dv]);
  const out = tensorOf(s.context, [B, L, Hq, Dv]);
  const lse = tensorOf(s.lse, [B, Hq, L]);
  const o = { ...s.sdpaOptions, layout: 'blhd' as const };
  const g = (yield step(() => sdpaBackward(dO, q, k, v, out, lse, o, d), () => sdpaBackwardAsync(dO, q, k, v, out, lse, o, d))) as { dq: Tensor; dk: Tensor; dv: Tensor };
  const gq = yield* linearBackwardSteps(g.dq.data, s.query, B * L, E, s.wq, Hq * D, d);
  const gk = yield* linearBackwardSteps(g.dk.data, s.key, B * S, Ek, s.wk, Hkv * D, d);
  const gv = yield* linearBackwardSteps(g.dv.data, s.value, B * S, Ev, s.wv, Hkv * Dv, d);
  const dParams: AttentionBlockParamGrads = { wq: tensorOf(gq.dW, [E, Hq * D]), wk: tensorOf(gk.dW, [Ek, Hkv * D]), wv: tensorOf(gv.dW, [Ev, Hkv * Dv]), wo: tensorOf(go.dW, [Hq * Dv, Eo]) };
  if (s.bq) dParams.bq = tensorOf(gq.db, [Hq * D]);
  if (s.bk) dParams.bk = tensorOf(gk.db, [Hkv * D]);
  if (s.bv) dParams.bv = tensorOf(gv.db, [Hkv * Dv]);
  if (s.bo) dParams.bo = tensorOf(go.db, [Eo]);
  return {
    dQuery: tensorOf(gq.dx, [B, L, E]),
    dKey: tensorOf(gk.dx, [B, S, Ek]),
    dValue: tensorOf(gv.dx, [B, S, Ev]),
    dParams,
  };
}
