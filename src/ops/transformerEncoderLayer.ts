/**
 * The transformer encoder layer that sequential recommenders (SASRec-style) stack, and the
 * sinusoidal position table.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { EncoderArgs } from '../kernels';
import { checkShape, type Tensor, type TensorLike } from '../tensor';
import { expectNonEmpty, matrix, optBool, optEnum, optFinite, optionalLengths, optionsObject, positiveInt, tensorOfRank, vector } from '../validate';
import { rowMajorLayout, run, runAsync, type Prepared } from './common';

/** Parameters of {@link transformerEncoderLayer} (x·W layout; biases, gamma and beta optional). */
export interface EncoderParams {
  /** Self-attention projections: `wq, wk, wv, wo` are `[E,E]`, biases `[E]`. */
  attention: { wq: TensorLike; bq?: TensorLike | null; wk: TensorLike; bk?: TensorLike | null; wv: TensorLike; bv?: TensorLike | null; wo: TensorLike; bo?: TensorLike | null };
  /** LayerNorm around attention: `[E]` each. */
  norm1?: { gamma?: TensorLike | null; beta?: TensorLike | null } | null;
  /** Feed-forward: `w1 [E,F]`, `b1 [F]`, `w2 [F,E]`, `b2 [E]`. */
  ffn: { w1: TensorLike; b1?: TensorLike | null; w2: TensorLike; b2?: TensorLike | null };
  /** LayerNorm around the feed-forward: `[E]` each. */
  norm2?: { gamma?: TensorLike | null; beta?: TensorLike | null } | null;
}

/** Options of {@link transformerEncoderLayer}. */
export interface EncoderOptions {
  /** Attention heads H (E % H == 0). */
  numHeads: number;
  /** `'post'` (default, as PyTorch) or `'pre'`. */
  norm?: 'pre' | 'post';
  /** Feed-forward activation: `'relu'` (default, as PyTorch) or `'gelu'` (exact). */
  activation?: 'relu' | 'gelu';
  /** Causal self-attention (SASRec). */
  causal?: boolean;
  /** `[B]` valid sequence lengths: positions `>= keyLengths[b]` are not attended to (they are still computed). */
  keyLengths?: Int32Array | null;
  /** LayerNorm eps (default 1e-5). */
  eps?: number;
}

function prepareEncoder(x: TensorLike, params: EncoderParams, options: EncoderOptions): Prepared<'transformerEncoderLayer', Tensor> {
  const XP = ['B', 'L', 'E'];
  const xt = tensorOfRank(x, 'x', XP);
  for (let a = 0; a < 3; a++) expectNonEmpty('x', xt.shape, a, XP);
  const [B, L, E] = xt.shape;
  const o = optionsObject<EncoderOptions>(options, 'options', ['numHeads', 'norm', 'activation', 'causal', 'keyLengths', 'eps']);
  const H = positiveInt(o.numHeads, 'options.numHeads');
  if (E % H !== 0) throw new ShapeError('x', `[B,L,E] with E divisible by numHeads=${H}`, formatShape(xt.shape));
  const p = optionsObject<EncoderParams>(params, 'params', ['attention', 'norm1', 'ffn', 'norm2']);
  const att = optionsObject<EncoderParams['attention']>(p.attention, 'params.attention', ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo']);
  const ffn = optionsObject<EncoderParams['ffn']>(p.ffn, 'params.ffn', ['w1', 'b1', 'w2', 'b2']);
  const n1 = optionsObject<NonNullable<EncoderParams['norm1']>>(p.norm1, 'params.norm1', ['gamma', 'beta']);
  const n2 = optionsObject<NonNullable<EncoderParams['norm2']>>(p.norm2, 'params.norm2', ['gamma', 'beta']);
  const sq = (w: unknown, name: string) => matrix(w, name, E, E, 'E', 'E').data;
  const w1 = matrix(ffn.w1, 'params.ffn.w1', E, -1, 'E', 'F');
  const F = w1.shape[1];
  if (F < 1) throw new ShapeError('params.ffn.w1', `[E=${E},F] with F >= 1`, formatShape(w1.shape));
  const args: EncoderArgs = {
    x: xt.data, B, L, E, H, D: E / H, F,
    wq: sq(att.wq, 'params.attention.wq'), bq: vector(att.bq, 'params.attention.bq', E, 'E', true),
    wk: sq(att.wk, 'params.attention.wk'), bk: vector(att.bk, 'params.attention.bk', E, 'E', true),
    wv: sq(att.wv, 'params.attention.wv'), bv: vector(att.bv, 'params.attention.bv', E, 'E', true),
    wo: sq(att.wo, 'params.attention.wo'), bo: vector(att.bo, 'params.attention.bo', E, 'E', true),
    gamma1: vector(n1.gamma, 'params.norm1.gamma', E, 'E', true), beta1: vector(n1.beta, 'params.norm1.beta', E, 'E', true),
    w1: w1.data, b1: vector(ffn.b1, 'params.ffn.b1', F, 'F', true),
    w2: matrix(ffn.w2, 'params.ffn.w2', F, E, 'F', 'E').data, b2: vector(ffn.b2, 'params.ffn.b2', E, 'E', true),
    gamma2: vector(n2.gamma, 'params.norm2.gamma', E, 'E', true), beta2: vector(n2.beta, 'params.norm2.beta', E, 'E', true),
    norm: optEnum(o.norm, 'options.norm', ['pre', 'post'] as const, 'post'),
    activation: optEnum(o.activation, 'options.activation', ['relu', 'gelu'] as const, 'relu'),
    causal: optBool(o.causal, 'options.causal', false),
    keyLengths: optionalLengths(o.keyLengths, 'options.keyLengths', B, L),
    eps: optFinite(o.eps, 'options.eps', 1e-5),
  };
  if (args.eps < 0) throw new ValueError('options.eps', `expected a number >= 0, received ${args.eps}`);
  const shape = [B, L, E];
  return { op: 'transformerEncoderLayer', args, layout: () => rowMajorLayout(B * L, { output: shape }), wrap: (r) => ({ data: r, shape }) };
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
export function transformerEncoderLayer(x: TensorLike, params: EncoderParams, options: EncoderOptions, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareEncoder(x, params, options), dispatchOptions);
}

/** The async twin of {@link transformerEncoderLayer}. */
export function transformerEncoderLayerAsync(x: TensorLike, params: EncoderParams, options: EncoderOptions, dispatchOptions?: DispatchOptions): Promise<Tensor> {
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
