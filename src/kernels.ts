/**
 * The kernel contract: what every backend receives and returns for each op.
 *
 * Ops (src/ops/) validate the user's arguments once and turn them into these flat, checked
 * structures: plain typed arrays plus integer sizes, with broadcast masks and biases described by
 * strides (0 on broadcast axes) over the op's canonical index space. A backend kernel may trust
 * every field here (sizes match, indices are in range); the native layer checks again anyway.
 *
 * @module
 */

/** A broadcast operand: element `(i0, i1, ...)` of the canonical index space is `data[Σ ik*strides[k]]`. */
export interface Strided<T> {
  /** The operand's elements. */
  readonly data: T;
  /** One stride per canonical axis, 0 where the operand broadcasts. */
  readonly strides: readonly number[];
}

/**
 * Element type of a float tensor: IEEE binary32, IEEE binary16 (`float16`), or bfloat16 (the top
 * 16 bits of a binary32).
 */
export type DType = 'float32' | 'float16' | 'bfloat16';

/** The half-precision element types. */
export type HalfDType = 'float16' | 'bfloat16';

/**
 * A float operand as kernels receive it: a Float32Array for float32, the raw 16-bit patterns in a
 * Uint16Array for float16 and bfloat16 (which of the two is said by the args' `dtypes`).
 */
export type FloatData = Float32Array | Uint16Array;

/**
 * The element types of an args object's half-precision operands, by field name (`{ k: 'bfloat16',
 * v: 'bfloat16' }`), carried in the object's optional `dtypes` field; a float field not named is
 * float32. Nested parameter objects (a dense layer) carry their own `dtypes`. A strided operand
 * (a bias) named here has a Uint16Array `data`. The native binding reads the same field
 * (`Args::dtype_of`). Backends without a half kernel for an op widen its half fields first
 * (`widenArgs`, src/half.ts): exact, since every half value is a float32 value.
 */
export type DTypes = Readonly<Partial<Record<string, HalfDType>>>;

/**
 * `T` as a backend sees it after `widenArgs` (src/half.ts): every float operand a Float32Array
 * (nested dense layers too) and no `dtypes`. The kernels of backends that compute from float32
 * arrays (reference, gpu) take their args in this form; the dispatcher widens for them.
 */
export type Widened<T> = {
  readonly [K in keyof T]: T[K] extends FloatData
    ? Float32Array
    : T[K] extends FloatData | null
      ? Float32Array | null
      : T[K] extends Strided<FloatData> | null
        ? Strided<Float32Array> | null
        : T[K] extends readonly DenseLayer[]
          ? readonly Widened<DenseLayer>[]
          : T[K];
};

/** Names of the ops that backends implement (the keys of {@link OpArgs}). */
export type OpName = keyof OpArgs;

/**
 * Row restriction for `reference` when `verify: { rows }` samples: `rows[r] = 1` marks the rows
 * to compute (the row space of each op is documented on its args type); other rows may be left 0.
 */
export type RowFilter = Uint8Array | null;

/**
 * Which keys each query row may see beyond `keyLengths` and the mask, and the logit cap; shared
 * by sdpa, multiHeadAttention and transformerEncoderLayer. Query row i of batch b sits at key
 * position `p = i + (offsets ? offsets[b] : S - L)`; key j is visible iff `!causal || j <= p`,
 * `windowLeft < 0 || j >= p - windowLeft` and `windowRight < 0 || j <= p + windowRight`. The ops
 * resolve every causal form (`'bottom-right'` per batch's valid length, `'top-left'`,
 * `{ offset }`) into `offsets`. The logit is `scale·q·k`, then `softcap·tanh(logit/softcap)` when
 * `softcap > 0`, then the bias is added.
 */
export interface AttentionLimits {
  /** Keys after the row's position are excluded. */
  readonly causal: boolean;
  /** `[B]` alignment of the query rows (see above); null = `S - L` for every batch. */
  readonly offsets: Int32Array | null;
  /** Keys more than this many positions before the row's position are excluded; -1 = no limit. */
  readonly windowLeft: number;
  /** Keys more than this many positions after the row's position are excluded; -1 = no limit. */
  readonly windowRight: number;
  /** Logit soft-cap `c > 0` (`c·tanh(logit/c)`), 0 = none. */
  readonly softcap: number;
}

/**
 * sdpa. q `[B,Hq,L,D]`, k `[B,Hkv,S,D]`, v `[B,Hkv,S,Dv]` (layout 'bhld'; 'blhd' reads q, k, v
 * and writes the output as `[B,L,H,D]`); query head h reads kv head `floor(h / (Hq/Hkv))`.
 * mask/bias strides are over `[B,Hq,L,S]`. Key j is excluded from row (b,h,i) when:
 * `keyLengths && j >= keyLengths[b]`, the {@link AttentionLimits} rule it out, `mask == 0`, or its
 * capped, biased, scaled logit is -Infinity. Excluded keys contribute nothing (NaN in their k or
 * v does not leak). A row with no key left gives zeros (output and weights) and lse = -Infinity.
 * weights, logits `[B,Hq,L,S]` and lse `[B,Hq,L]` are in head-major order whatever the layout.
 * Row space: `B*Hq*L` rows `(b,h,i)`.
 */
export interface SdpaArgs extends AttentionLimits {
  readonly q: FloatData;
  readonly k: FloatData;
  readonly v: FloatData;
  readonly B: number;
  readonly Hq: number;
  readonly Hkv: number;
  readonly L: number;
  readonly S: number;
  readonly D: number;
  readonly Dv: number;
  readonly scale: number;
  readonly mask: Strided<Uint8Array> | null;
  readonly bias: Strided<FloatData> | null;
  readonly keyLengths: Int32Array | null;
  readonly returnWeights: boolean;
  readonly returnLse: boolean;
  /** Also return the `[B,Hq,L,S]` logits after scale, softcap, bias and exclusions (-Infinity). */
  readonly returnLogits: boolean;
  /** Memory order of q, k, v and the output: `[B,H,L,D]` or `[B,L,H,D]`. */
  readonly layout: 'bhld' | 'blhd';
  /**
   * Optional caller-supplied `[B,Hq,L,Dv]` output (checked: right length, no memory shared with
   * an input). A kernel may write the output straight into it and return it; a kernel that
   * returns another array has it copied in by the op.
   */
  readonly out?: Float32Array | null;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
  /**
   * Jagged queries (with {@link SdpaArgs.kvOffsets}; both or neither). `[B+1]` offsets
   * (FBGEMM / torchrec): sequence b's queries are rows `qOffsets[b] .. qOffsets[b+1]-1` of q
   * `[ΣLq, Hq, D]`, its output rows the same rows of the output `[ΣLq, Hq, Dv]` (the 'blhd'
   * layout of one sequence, sequences back to back, no padding). `L` is then only the longest
   * `Lq_b` (at least 1) and `layout` is 'blhd'. Sequence b is attention over its own keys with
   * `Lq_b` queries and `S_b` keys, every rule above applied as for a batch of `L = Lq_b`,
   * `S = S_b`: query row i sits at key position `i + offsets[b]` (the op resolves 'bottom-right' to
   * `S_b - Lq_b`). With jagged rows: `mask` and `bias` null (see `jaggedMask`, `jaggedBias`), `keyLengths` null,
   * `returnWeights` and `returnLogits` false; lse is `[ΣLq, Hq]` (row-major, like the output).
   * Row space: `ΣLq·Hq` rows `(t, h)`, row `t·Hq + h`.
   */
  readonly qOffsets?: Int32Array | null;
  /**
   * Jagged keys and values: `[B+1]` offsets over the rows of k `[ΣS, Hkv, D]` and v
   * `[ΣS, Hkv, Dv]` (same B as `qOffsets`); `S` is then only the longest `S_b` (at least 1).
   */
  readonly kvOffsets?: Int32Array | null;
  /**
   * With jagged rows only: a boolean mask per sequence, broadcast over the heads: sequence b's
   * `[Lq_b, S_b]` block (row-major, 1 = may attend) starts at element `Σ_{c<b} Lq_c·S_c`; the
   * array holds exactly `Σ_b Lq_b·S_b` elements.
   */
  readonly jaggedMask?: Uint8Array | null;
  /**
   * With jagged rows only: a float32 bias per sequence added to the (capped) scaled logits,
   * broadcast over the heads, laid out as `jaggedMask` (-Infinity excludes a key).
   */
  readonly jaggedBias?: Float32Array | null;
}

/** Result of attention kernels: output, and weights / lse when asked for. */
export interface AttentionResult {
  readonly output: Float32Array;
  readonly weights?: Float32Array;
  readonly lse?: Float32Array;
  readonly logits?: Float32Array;
}

/**
 * sdpaBackward: the vector-Jacobian product of sdpa (docs/TRAINING.md). dOut and out are
 * [B,Hq,L,Dv] in `layout` (as the forward's output), lse [B,Hq,L] head-major (the forward's
 * returnLse). Same exclusion rules and AttentionLimits as SdpaArgs. Results: dq as q, dk as k,
 * dv as v (grouped-query: summed over each kv head's query heads); dBias (when returnDBias) has
 * biasLength elements: the bias's own array, element bias-index(b,h,i,j) summing dZ(b,h,i,j) over
 * every (b,h,i,j) that maps to it through bias.strides. Float32 only. Row space: B*Hq*L rows.
 */
export interface SdpaBackwardArgs extends AttentionLimits {
  readonly dOut: Float32Array;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly out: Float32Array;
  readonly lse: Float32Array;
  readonly B: number; readonly Hq: number; readonly Hkv: number;
  readonly L: number; readonly S: number; readonly D: number; readonly Dv: number;
  readonly scale: number;
  readonly mask: Strided<Uint8Array> | null;
  readonly bias: Strided<Float32Array> | null;
  readonly keyLengths: Int32Array | null;
  readonly layout: 'bhld' | 'blhd';
  readonly returnDBias: boolean;
  /** Elements of the bias's own array (0 without a bias): dBias's length. */
  readonly biasLength: number;
}
/** Result of sdpaBackward. */
export interface SdpaBackwardResult { readonly dq: Float32Array; readonly dk: Float32Array; readonly dv: Float32Array; readonly dBias?: Float32Array; }

/**
 * multiHeadAttention. query `[B,L,E]`, key `[B,S,Ek]`, value `[B,S,Ev]`; `wq [E,Hq*D]`,
 * `wk [Ek,Hkv*D]`, `wv [Ev,Hkv*Dv]`, `wo [Hq*Dv,Eo]` (x·W layout), biases optional.
 * `selfAttention` is true when query, key and value are the same array (a backend may fuse the
 * three projections). mask/bias strides over `[B,Hq,L,S]`. Output `[B,L,Eo]`, weights
 * `[B,Hq,L,S]`, lse `[B,Hq,L]`. Row space: `B*L` rows `(b,i)`.
 */
export interface MultiHeadAttentionArgs extends AttentionLimits {
  readonly query: FloatData;
  readonly key: FloatData;
  readonly value: FloatData;
  readonly selfAttention: boolean;
  readonly B: number;
  readonly L: number;
  readonly S: number;
  readonly E: number;
  readonly Ek: number;
  readonly Ev: number;
  readonly Hq: number;
  readonly Hkv: number;
  readonly D: number;
  readonly Dv: number;
  readonly Eo: number;
  readonly wq: FloatData;
  readonly bq: FloatData | null;
  readonly wk: FloatData;
  readonly bk: FloatData | null;
  readonly wv: FloatData;
  readonly bv: FloatData | null;
  readonly wo: FloatData;
  readonly bo: FloatData | null;
  readonly scale: number;
  readonly mask: Strided<Uint8Array> | null;
  readonly bias: Strided<FloatData> | null;
  readonly keyLengths: Int32Array | null;
  readonly returnWeights: boolean;
  readonly returnLse: boolean;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/**
 * additiveAttention. `score(i,j) = v · tanh(q_i·wq + k_j·wk + b)`; softmax over allowed j;
 * output `[B,L,Dv]` = weighted sum of values, weights `[B,L,S]`. `query === null` is attention
 * pooling: L = 1 and no query term (wq is null). mask strides over `[B,L,S]`. Same exclusion and
 * empty-row rules as sdpa. Row space: `B*L` rows.
 */
export interface AdditiveAttentionArgs {
  readonly query: FloatData | null;
  readonly keys: FloatData;
  readonly values: FloatData;
  readonly B: number;
  readonly L: number;
  readonly S: number;
  readonly Dq: number;
  readonly Dk: number;
  readonly Dv: number;
  readonly A: number;
  readonly wq: FloatData | null;
  readonly wk: FloatData;
  readonly b: FloatData;
  readonly v: FloatData;
  readonly mask: Strided<Uint8Array> | null;
  readonly keyLengths: Int32Array | null;
  readonly returnWeights: boolean;
  /**
   * Jagged keys and values (#17): `[B+1]` offsets (FBGEMM / torchrec); keys are `[T,Dk]` and
   * values `[T,Dv]` with `T = keyOffsets[B]`, batch b's keys the rows `keyOffsets[b] ..
   * keyOffsets[b+1]-1` (n_b of them). `S` is then the longest n_b (scratch size only); `mask` and
   * `keyLengths` are null; weights are `[T, L]` (jagged, same offsets: the weight of query i on
   * key j of batch b at `(keyOffsets[b] + j)·L + i`); a per-user mask is `jaggedMask`. An empty
   * batch row is an all-excluded row.
   * Absent or null: the padded layout above.
   */
  readonly keyOffsets?: Int32Array | null;
  /**
   * With `keyOffsets` only: a boolean mask per batch row (1 = may attend), `L·T` elements: batch
   * b's row-major `[L, n_b]` block starts at `L·keyOffsets[b]` (element `(i, j)` at
   * `L·keyOffsets[b] + i·n_b + j`). A masked key is excluded (its score is never formed, so a
   * NaN in it does not leak); a row left with no key is an all-excluded row. Absent or null: no mask.
   */
  readonly jaggedMask?: Uint8Array | null;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/** One dense layer of the DIN activation unit: `w [inDim,outDim]`, `b [outDim]`, PReLU slope `alpha`. */
export interface DenseLayer {
  readonly w: FloatData;
  readonly b: FloatData;
  readonly inDim: number;
  readonly outDim: number;
  /** PReLU slope per output unit (`[outDim]`), or null when the activation is not prelu. */
  readonly alpha: FloatData | null;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/**
 * targetAttention (DIN). For each history item h_j: MLP over `[h_j, t, h_j - t, h_j * t]`
 * (4D inputs; hidden layers use `activation`, the last layer has width 1 and no activation) gives
 * a_j. `normalize: 'none'`: output `Σ_j a_j h_j` over valid j; `'softmax'`: softmax over valid j
 * first (no valid item: zeros). Padded items (`j >= keyLengths[b]`) have weight 0. Output `[B,D]`,
 * weights `[B,S]`. Row space: `B` rows.
 */
export interface TargetAttentionArgs {
  readonly target: FloatData;
  readonly history: FloatData;
  readonly B: number;
  readonly S: number;
  readonly D: number;
  readonly layers: readonly DenseLayer[];
  readonly activation: 'relu' | 'sigmoid' | 'prelu';
  readonly normalize: 'none' | 'softmax';
  readonly keyLengths: Int32Array | null;
  readonly returnWeights: boolean;
  /**
   * A jagged history (#17): `[B+1]` offsets (FBGEMM / torchrec); history is `[T,D]` with `T =
   * historyOffsets[B]`, user b's items the rows `historyOffsets[b] .. historyOffsets[b+1]-1`.
   * `S` is then the longest history (scratch size only), `keyLengths` is null, and weights are
   * `[T]` (jagged, same offsets). An empty history is a row with no valid item (output zeros).
   * Absent or null: the padded layout above.
   */
  readonly historyOffsets?: Int32Array | null;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/** Result of targetAttention and additiveAttention. */
export interface PoolResult {
  readonly output: Float32Array;
  readonly weights?: Float32Array;
}

/**
 * transformerEncoderLayer, x `[B,L,E]`, H heads of D = E/H, FFN width F. Post-norm:
 * `x = norm1(x + mha(x)); x = norm2(x + ffn(x))`; pre-norm: `x = x + mha(norm1(x));
 * x = x + ffn(norm2(x))`. `ffn(x) = act(x·w1 + b1)·w2 + b2`. Output `[B,L,E]`. Row space: `B*L`.
 */
export interface TransformerEncoderLayerArgs extends AttentionLimits {
  readonly x: FloatData;
  readonly B: number;
  readonly L: number;
  readonly E: number;
  readonly H: number;
  readonly D: number;
  readonly F: number;
  readonly wq: FloatData;
  readonly bq: FloatData | null;
  readonly wk: FloatData;
  readonly bk: FloatData | null;
  readonly wv: FloatData;
  readonly bv: FloatData | null;
  readonly wo: FloatData;
  readonly bo: FloatData | null;
  readonly gamma1: FloatData | null;
  readonly beta1: FloatData | null;
  readonly w1: FloatData;
  readonly b1: FloatData | null;
  readonly w2: FloatData;
  readonly b2: FloatData | null;
  readonly gamma2: FloatData | null;
  readonly beta2: FloatData | null;
  readonly norm: 'pre' | 'post';
  readonly activation: 'relu' | 'gelu';
  readonly keyLengths: Int32Array | null;
  readonly eps: number;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/**
 * softmax over the last axis of x (shape `shape`, last dim `cols`, `rows` = the product of the
 * rest). mask strides are over `shape` (one per axis). Masked or -Infinity entries get 0; a row
 * with nothing left is all zeros. Row space: `rows`.
 */
export interface SoftmaxArgs {
  readonly x: Float32Array;
  readonly shape: readonly number[];
  readonly rows: number;
  readonly cols: number;
  readonly mask: Strided<Uint8Array> | null;
  /** Optional caller-supplied output (checked by the op: length, no memory shared with an input); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * layerNorm over the last axis (`cols`), biased variance. Row space: `rows`. With `returnStats`
 * the kernel returns a {@link LayerNormResult} (the output and each row's mean and invStd), else
 * the output array itself.
 */
export interface LayerNormArgs {
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly gamma: Float32Array | null;
  readonly beta: Float32Array | null;
  readonly eps: number;
  /** Also return each row's mean and `1/sqrt(var + eps)`, those the row was normalised with. */
  readonly returnStats: boolean;
  /** Optional caller-supplied output (checked by the op: length, no memory shared with an input); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * Result of layerNorm with `returnStats`: the `[rows, cols]` output and, per row (`[rows]`), the
 * mean and `invStd = 1/sqrt(var + eps)` (biased variance) the row was normalised with; a row of
 * no columns has NaN for both.
 */
export interface LayerNormResult {
  readonly output: Float32Array;
  readonly mean: Float32Array;
  readonly invStd: Float32Array;
}

/** linear: `y [rows,outDim] = x [rows,inDim] · w [inDim,outDim] + b`. Row space: `rows`. */
export interface LinearArgs {
  readonly x: FloatData;
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
  readonly w: FloatData;
  readonly b: FloatData | null;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/** gelu, elementwise: exact `x·Φ(x)` or the tanh approximation. Row space: `rows` of `cols`. */
export interface GeluArgs {
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly approximate: 'none' | 'tanh';
  /** Optional caller-supplied output (checked by the op: length, no memory shared with an input); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/** silu (swish), elementwise: `x·sigmoid(x)`. Row space: `rows` of `cols`. */
export interface SiluArgs {
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** Optional caller-supplied output (checked by the op: length, no memory shared with an input); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * topK: score `users[b]·items[n]`, keep the k largest per user (`largest`; ties: lower index
 * first; NaN ranks above every number, as in PyTorch) or the k smallest (`!largest`; ties: lower
 * index first; NaN ranks below every number: NaN is the greatest value in both directions),
 * skipping `exclude[b]` (indices, each in range, may repeat). If fewer than k remain, the tail is
 * index -1, score -Infinity (largest) or +Infinity (smallest). Row space: `B`.
 */
export interface TopKArgs {
  readonly users: FloatData;
  readonly items: FloatData;
  readonly B: number;
  readonly N: number;
  readonly D: number;
  readonly k: number;
  readonly exclude: readonly (Int32Array | null)[] | null;
  /** The k largest scores (true) or the k smallest (false). */
  readonly largest: boolean;
  /** The element types of the half-precision operands (see {@link DTypes}); absent: all float32. */
  readonly dtypes?: DTypes;
}

/** Result of topK: `[B,k]` indices and scores. */
export interface TopKResult {
  readonly indices: Int32Array;
  readonly scores: Float32Array;
}

/**
 * softmaxBackward over the last axis: `dx = y ∘ (dy − Σ_j dy_j·y_j)` per row, from the forward's
 * output y (masked / excluded entries have y = 0, so dx = 0 there). Row space: `rows` of `cols`.
 */
export interface SoftmaxBackwardArgs {
  readonly dy: Float32Array;
  readonly y: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** Optional caller-supplied dx (checked by the op: length, no memory shared with an input); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * geluBackward, elementwise: `dx = dy · gelu'(x)`, exact `Φ(x) + x·φ(x)` or the tanh form's
 * derivative; the limits gelu'(+Inf) = 1, gelu'(−Inf) = 0. Row space: `rows` of `cols`.
 */
export interface GeluBackwardArgs {
  readonly dy: Float32Array;
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly approximate: 'none' | 'tanh';
  /** Optional caller-supplied dx (checked by the op); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * siluBackward, elementwise: `dx = dy · (σ(x) + x·σ(x)(1 − σ(x)))`; the limits silu'(+Inf) = 1,
 * silu'(−Inf) = 0. Row space: `rows` of `cols`.
 */
export interface SiluBackwardArgs {
  readonly dy: Float32Array;
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** Optional caller-supplied dx (checked by the op); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * layerNormBackward over the last axis (`cols`), from the forward's statistics (`mean`, `invStd`
 * `[rows]`, the values the forward normalised each row with): with `x̂ = (x − mean)·invStd` and
 * `g = dy·gamma` (gamma null: γ = 1), `dx = invStd·(g − mean_j(g) − x̂·mean_j(g·x̂))`,
 * `dGamma = Σ_rows dy·x̂`, `dBeta = Σ_rows dy`. Row space: `rows`; dGamma and dBeta are sums
 * over every row (a row-sampled reference still computes them in full).
 */
export interface LayerNormBackwardArgs {
  readonly dy: Float32Array;
  readonly x: Float32Array;
  readonly rows: number;
  readonly cols: number;
  readonly gamma: Float32Array | null;
  readonly mean: Float32Array;
  readonly invStd: Float32Array;
}

/** Result of layerNormBackward: dx `[rows, cols]`, dGamma and dBeta `[cols]`. */
export interface LayerNormBackwardResult {
  readonly dx: Float32Array;
  readonly dGamma: Float32Array;
  readonly dBeta: Float32Array;
}

/**
 * linearBackward of `y = x·w + b`: `dx [rows,inDim] = dy·wᵀ`, `dW [inDim,outDim] = xᵀ·dy`,
 * `db [outDim] = Σ_rows dy`. Row space: `rows`; dW and db are sums over every row (a row-sampled
 * reference still computes them in full).
 */
export interface LinearBackwardArgs {
  readonly dy: Float32Array;
  readonly x: Float32Array;
  readonly w: Float32Array;
  readonly rows: number;
  readonly inDim: number;
  readonly outDim: number;
}

/** Result of linearBackward: dx `[rows, inDim]`, dW `[inDim, outDim]`, db `[outDim]`. */
export interface LinearBackwardResult {
  readonly dx: Float32Array;
  readonly dW: Float32Array;
  readonly db: Float32Array;
}

/**
 * additiveScoresBackward: the backward of additive attention's scores, softmax and weighted sum,
 * given the projections (additiveAttention's backward without the projections' GEMMs). With
 * `t_ija = tanh(qa_ia + ka_ja)` (qa null: `tanh(ka_ja)`), `P = weights` (the forward's),
 * `dP_ij = dOut_i·values_j`, `dE_ij = P_ij·(dP_ij − Σ_j' P_ij'·dP_ij')`:
 * `dValues_j = Σ_i P_ij·dOut_i`, `g_ija = dE_ij·v_a·(1 − t_ija²)`, `dqa_i = Σ_j g_ij`,
 * `dka_j = Σ_i g_ij`, `dv = Σ_ij dE_ij·t_ij`. A pair (i, j) contributes only where its weight is
 * nonzero (dP) and its dE is nonzero (g, dv): excluded keys (weight 0) and rows with nothing to
 * attend to give nothing, and non-finite projections or values there never leak.
 * dOut `[B,L,Dv]`, values `[B,S,Dv]`, weights `[B,L,S]`, qa `[B,L,A]` or null, ka `[B,S,A]`,
 * v `[A]`. Row space: `B` (batches); dv is a sum over every batch.
 */
export interface AdditiveScoresBackwardArgs {
  readonly dOut: Float32Array;
  readonly values: Float32Array;
  readonly weights: Float32Array;
  readonly qa: Float32Array | null;
  readonly ka: Float32Array;
  readonly v: Float32Array;
  readonly B: number;
  readonly L: number;
  readonly S: number;
  readonly Dv: number;
  readonly A: number;
}

/** Result of additiveScoresBackward: dValues `[B,S,Dv]`, dqa `[B,L,A]` (only with qa), dka `[B,S,A]`, dv `[A]`. */
export interface AdditiveScoresBackwardResult {
  readonly dValues: Float32Array;
  readonly dqa?: Float32Array;
  readonly dka: Float32Array;
  readonly dv: Float32Array;
}

/**
 * embeddingBackward: the gradient of an embedding lookup `out[n] = table[indices[n]]`, a
 * scatter-add: `dTable[i, e] = Σ_{n : indices[n] = i} dOut[n, e]` over positions in increasing
 * order, except that positions whose index is `paddingIndex` add nothing (PyTorch `padding_idx`:
 * that row of dTable stays 0). dOut `[N, E]` (a `[..., E]` tensor flattened), indices `[N]` each in
 * `[0, numItems)` (checked by the op), dTable `[numItems, E]`. Row space: `numItems` rows (items).
 */
export interface EmbeddingBackwardArgs {
  readonly dOut: Float32Array;
  readonly indices: Int32Array;
  /** Positions (the length of indices; dOut's leading size). May be 0: dTable is all 0. */
  readonly N: number;
  /** Embedding width. May be 0 (an empty dTable). */
  readonly E: number;
  /** Rows of the table, >= 1. */
  readonly numItems: number;
  /** The item whose positions contribute nothing, in `[0, numItems)`; -1 = none. */
  readonly paddingIndex: number;
  /** Optional caller-supplied output (checked by the op: length, no memory shared with an input); see SdpaArgs.out. */
  readonly out?: Float32Array | null;
}

/**
 * adamStep: one AdamW step (PyTorch `torch.optim.AdamW`, decoupled weight decay), elementwise over
 * `rows·cols` parameters, with `step` the step being taken (the state's count after the step,
 * >= 1) and the bias corrections `1 - beta1^step`, `1 - beta2^step` computed in float64:
 * `g = maximize ? -grad : grad`; `m' = beta1·m + (1-beta1)·g`; `v' = beta2·v + (1-beta2)·g²`, both
 * stored as float32; `param' = param·(1 - lr·weightDecay) - (lr / (1-beta1^step)) · m' /
 * (sqrt(v') / sqrt(1-beta2^step) + eps)`, the update reading m' and v' as stored.
 *
 * In place or not (`inPlace`): with `inPlace` the kernel writes `param`, `m` and `v` themselves
 * (every element is read before it is written, and the four arrays share no memory, as the op
 * checks) and returns those arrays; without it, the inputs are left unchanged and new arrays are
 * returned. The op passes `inPlace: false` when `verify` is on, so the reference run that follows
 * reads the same inputs; it then copies the results into the caller's arrays. A backend that works
 * on copies (the native async twin, the reference worker) writes or returns its results so that
 * the op's copy-back lands them in the caller's arrays. Row space: `rows` (the param's leading
 * dims) of `cols`; with a row filter, rows not flagged are not computed.
 */
export interface AdamStepArgs {
  readonly param: Float32Array;
  readonly grad: Float32Array;
  /** First-moment state (exp_avg), float32. */
  readonly m: Float32Array;
  /** Second-moment state (exp_avg_sq), float32. */
  readonly v: Float32Array;
  readonly rows: number;
  readonly cols: number;
  /** The step being taken, >= 1 (the state's step + 1). */
  readonly step: number;
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Ascend instead (PyTorch `maximize`): the gradient is negated. */
  readonly maximize: boolean;
  /** Write param, m and v in place (see above) or return new arrays. */
  readonly inPlace: boolean;
}

/** Result of adamStep: the updated parameters and moments (the input arrays themselves when in place). */
export interface AdamStepResult {
  readonly param: Float32Array;
  readonly m: Float32Array;
  readonly v: Float32Array;
}

/**
 * hstuAttention: HSTU pointwise attention (Zhai et al., "Actions Speak Louder than Words", 2024;
 * generative-recommenders' `pytorch_hstu_mha` and `RelativeBucketedTimeAndPositionBasedBias`)
 * over a jagged batch. q, k `[T,H,D]`, v `[T,H,Dv]`, the output `[T,H,Dv]`, where `T = offsets[B]`
 * and sequence b is rows `offsets[b] .. offsets[b+1]-1` (length `n_b`). Self-attention within each
 * sequence: for head h and positions i, j < n_b of sequence b (row-in-sequence indices),
 *
 *   z_ij = alpha · q_i·k_j + posBias(h, j - i) + timeBias(h, bucket_ij)
 *   A_ij = SiLU(z_ij) / norm_b · M_b(i, j)          (SiLU(z) = z·sigmoid(z); M is 0/1)
 *   y_i  = Σ_j A_ij · v_j
 *
 * - `norm_b` = `maxLength` (normalization 'maxLength', the reference implementation) or `n_b`
 *   ('length').
 * - posBias(h, d) = `positionBias[h·(2N-1) + N-1 + d]` with N = maxLength (`positionBiasPerHead`;
 *   else the shared `positionBias[N-1 + d]`); 0 when positionBias is null. d = j - i ranges over
 *   -(N-1)..N-1 since every n_b <= maxLength.
 * - bucket_ij: the query time is the time of the event the row predicts, `tq_i = t[min(i+1,
 *   n_b-1)]` (the reference's one-step shift; the last event of a sequence uses its own time),
 *   `delta = |tq_i - t_j|` in float64, and bucket = the number of `timeBucketThresholds` entries
 *   <= delta (the thresholds are `exp(0.301·u)` for u = 1..numBuckets, computed by the op in
 *   float64, so bucket = clamp(floor(ln(max(delta,1)) / 0.301), 0, numBuckets) as in the
 *   reference). timeBias(h, u) = `timeBias[h·(numBuckets+1) + u]` (`timeBiasPerHead`) or
 *   `timeBias[u]`; 0 when timestamps/timeBias are null (both or neither). t is `timestamps`
 *   (`[T]`, jagged like q).
 * - M_b(i, j) (generative-recommenders `_get_valid_attn_mask`): ids `id_p = p`, or with
 *   `contextualLength = c > 0`: `id_p = max(p - c + 1, 0)`; `maxId = n_b` (with c > 0: `n_b - c +
 *   1`); with numTargets: `maxId -= numTargets[b]` and `id_p = min(id_p, maxId)`. `dist = id_i -
 *   id_j` (|id_i - id_j| when !causal). Visible iff `(i == j || dist > 0)`, and, when `maxAttnLen >
 *   0`, `dist <= maxAttnLen`; then, when c > 0, also visible if `id_i == 0 && id_j < maxId`.
 *   So targets (the last numTargets[b] events) see the history and themselves, not each other.
 *
 * Non-finite values in q, k, v, biases or timestamps propagate through the visible pairs only
 * (an invisible pair contributes exactly nothing, as sdpa's excluded keys). No log-sum-exp.
 * Row space: T·H rows (row t·H + h).
 */
export interface HstuAttentionArgs {
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  /** `[B+1]` jagged offsets shared by q, k, v, timestamps and the output. */
  readonly offsets: Int32Array;
  readonly B: number;
  readonly H: number;
  /** Query/key width. */
  readonly D: number;
  /** Value width. */
  readonly Dv: number;
  /** N: the position-bias table's extent (2N-1 entries) and the 'maxLength' divisor; >= every n_b, >= 1. */
  readonly maxLength: number;
  /** Logit scale (default 1/sqrt(D), resolved by the op). */
  readonly alpha: number;
  /** Divisor of SiLU(z): maxLength (the reference implementation) or the sequence's own length. */
  readonly normalization: 'maxLength' | 'length';
  readonly causal: boolean;
  /** `[B]` targets at the end of each sequence (0 <= numTargets[b] <= n_b), or null. */
  readonly numTargets: Int32Array | null;
  /** 0 = unlimited; else pairs with dist > maxAttnLen are invisible. */
  readonly maxAttnLen: number;
  /** c: leading positions of every sequence that form the contextual prefix; 0 = none. */
  readonly contextualLength: number;
  /** `[2N-1]` shared or `[H,2N-1]` (positionBiasPerHead) learned relative-position bias, or null. */
  readonly positionBias: Float32Array | null;
  readonly positionBiasPerHead: boolean;
  /** `[T]` per-event timestamps (float64, any unit), or null. */
  readonly timestamps: Float64Array | null;
  /** `[numBuckets+1]` shared or `[H,numBuckets+1]` (timeBiasPerHead), or null (iff timestamps null). */
  readonly timeBias: Float32Array | null;
  readonly timeBiasPerHead: boolean;
  readonly numBuckets: number;
  /** `[numBuckets]` ascending: thresholds[u-1] = exp(0.301·u); bucket = count of entries <= delta. */
  readonly timeBucketThresholds: Float64Array | null;
  /** Optional caller-supplied `[T,H,Dv]` output (as SdpaArgs.out). */
  readonly out?: Float32Array | null;
}

/**
 * hstuAttentionBackward: the vector-Jacobian product of hstuAttention. Same fields as the forward
 * plus dOut `[T,H,Dv]`. With dZ_ij = (dOut_i·v_j) · M_b(i,j) / norm_b · SiLU'(z_ij):
 * dq_i = alpha·Σ_j dZ_ij k_j, dk_j = alpha·Σ_i dZ_ij q_i, dv_j = Σ_i A_ij dOut_i; dPositionBias
 * (when positionBias is given) has its shape, entry (h, N-1+d) summing dZ over the pairs with
 * j - i = d (over heads too when shared); dTimeBias likewise per bucket. Row space: T·H rows.
 */
export interface HstuAttentionBackwardArgs extends Omit<HstuAttentionArgs, 'out'> {
  readonly dOut: Float32Array;
}

/** Result of hstuAttentionBackward: gradients shaped as their inputs. */
export interface HstuAttentionBackwardResult {
  readonly dq: Float32Array;
  readonly dk: Float32Array;
  readonly dv: Float32Array;
  /** Present iff positionBias was given. */
  readonly dPositionBias?: Float32Array;
  /** Present iff timeBias was given. */
  readonly dTimeBias?: Float32Array;
}

/** Kernel argument type per op. */
export interface OpArgs {
  sdpa: SdpaArgs;
  multiHeadAttention: MultiHeadAttentionArgs;
  additiveAttention: AdditiveAttentionArgs;
  targetAttention: TargetAttentionArgs;
  transformerEncoderLayer: TransformerEncoderLayerArgs;
  softmax: SoftmaxArgs;
  layerNorm: LayerNormArgs;
  linear: LinearArgs;
  gelu: GeluArgs;
  silu: SiluArgs;
  topK: TopKArgs;
  softmaxBackward: SoftmaxBackwardArgs;
  geluBackward: GeluBackwardArgs;
  siluBackward: SiluBackwardArgs;
  layerNormBackward: LayerNormBackwardArgs;
  linearBackward: LinearBackwardArgs;
  sdpaBackward: SdpaBackwardArgs;
  additiveScoresBackward: AdditiveScoresBackwardArgs;
  embeddingBackward: EmbeddingBackwardArgs;
  adamStep: AdamStepArgs;
  hstuAttention: HstuAttentionArgs;
  hstuAttentionBackward: HstuAttentionBackwardArgs;
}

/** Kernel result type per op. */
export interface OpResults {
  sdpa: AttentionResult;
  multiHeadAttention: AttentionResult;
  additiveAttention: PoolResult;
  targetAttention: PoolResult;
  transformerEncoderLayer: Float32Array;
  softmax: Float32Array;
  layerNorm: Float32Array | LayerNormResult;
  linear: Float32Array;
  gelu: Float32Array;
  silu: Float32Array;
  topK: TopKResult;
  softmaxBackward: Float32Array;
  geluBackward: Float32Array;
  siluBackward: Float32Array;
  layerNormBackward: LayerNormBackwardResult;
  linearBackward: LinearBackwardResult;
  sdpaBackward: SdpaBackwardResult;
  additiveScoresBackward: AdditiveScoresBackwardResult;
  embeddingBackward: Float32Array;
  adamStep: AdamStepResult;
  hstuAttention: Float32Array;
  hstuAttentionBackward: HstuAttentionBackwardResult;
}

/** A synchronous kernel for op `O`. */
export type Kernel<O extends OpName> = (args: OpArgs[O]) => OpResults[O];
/** An asynchronous kernel for op `O` (runs off the main thread). */
export type AsyncKernel<O extends OpName> = (args: OpArgs[O]) => Promise<OpResults[O]>;
/** A reference kernel: may restrict its work to the rows flagged in `rows`. */
export type ReferenceKernel<O extends OpName> = (args: OpArgs[O], rows?: RowFilter) => OpResults[O];
