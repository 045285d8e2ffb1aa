/**
 * The attention limits shared by sdpa, multiHeadAttention and transformerEncoderLayer: the causal
 * forms, the sliding window and the logit soft-cap, checked and resolved into the kernels'
 * {@link AttentionLimits} (one per-batch offset array, whatever form the user chose).
 *
 * @module
 */
import { DTypeError, ShapeError, ValueError, describeType } from '../errors';
import type { AttentionLimits } from '../kernels';
import { liveTypedArray } from '../buffers';

/**
 * Causal alignment. `true` and `'bottom-right'`: query i of batch b sits at key position
 * `i + len[b] - L`, where `len[b]` is `keyLengths[b]` (S without it): the newest query is the
 * newest valid key (KV cache; FlashAttention, ONNX Attention with `nonpad_kv_seqlen`).
 * `'top-left'`: query i sits at key position i (PyTorch `is_causal=True`, `torch.tril`).
 * `{ offset }`: query i of batch b sits at `i + offset[b]` (a number applies to every batch).
 */
export type CausalOption = boolean | 'bottom-right' | 'top-left' | { readonly offset: number | Int32Array };

/**
 * Sliding window around each query's aligned position p (see {@link CausalOption}; without causal,
 * bottom-right as for `causal: true`): key j is visible only if `p - left <= j <= p + right`.
 * An absent bound is unlimited. Sizes are integers in 0..2^31-1.
 */
export interface WindowOption {
  /** Keys at most this many positions before p (FlashAttention `window_size[0]`). */
  readonly left?: number;
  /** Keys at most this many positions after p (FlashAttention `window_size[1]`). */
  readonly right?: number;
}

const INT32_MAX = 0x7fffffff;

function int32(value: unknown, argument: string, min: number): number {
  if (typeof value !== 'number') throw new DTypeError(argument, 'an integer', describeType(value));
  if (!Number.isInteger(value) || value < min || value > INT32_MAX) throw new ValueError(argument, `expected an integer within ${min}..${INT32_MAX}, received ${value}`);
  return value;
}

/**
 * Check `options.causal` and `options.window` and resolve them into per-batch offsets. `align` is
 * what `true` (and a window without causal) means: 'bottom-right' for sdpa and
 * multiHeadAttention; 'top-left' for transformerEncoderLayer, whose queries are its keys (a
 * padded sequence starts at position 0). `queryLengths` (jagged queries: `[B]` rows per
 * sequence) replaces L in the bottom-right alignment: `keyLengths[b] - queryLengths[b]`.
 */
export function attentionLimits(o: { causal?: unknown; window?: unknown }, B: number, L: number, S: number, keyLengths: Int32Array | null, softcap: number, align: 'bottom-right' | 'top-left' = 'bottom-right', queryLengths: Int32Array | null = null): AttentionLimits {
  const c = o.causal;
  let causal = false;
  let offsets: Int32Array | null = null;
  let form: 'bottom-right' | 'top-left' | 'offset' = align;
  if (c === undefined || c === false) causal = false;
  else if (c === true || c === 'bottom-right') causal = true;
  else if (c === 'top-left') {
    causal = true;
    form = 'top-left';
  } else if (typeof c === 'object' && c !== null && !ArrayBuffer.isView(c) && Object.keys(c).length === 1 && 'offset' in c) {
    causal = true;
    form = 'offset';
    const off = (c as { offset: unknown }).offset;
    if (typeof off === 'number') offsets = new Int32Array(B).fill(int32(off, 'options.causal.offset', -INT32_MAX));
    else {
      const a = liveTypedArray(off, 'options.causal.offset', Int32Array, `an integer or an Int32Array of length B=${B}`);
      if (a.length !== B) throw new ShapeError('options.causal.offset', `[B=${B}]`, `[${a.length}]`);
      offsets = Int32Array.from(a);
    }
  } else {
    const expected = "true, false, 'bottom-right', 'top-left' or { offset: number | Int32Array[B] }";
    // A value of the wrong type is a DTypeError; a string or object of the wrong form a ValueError.
    if (typeof c === 'string') throw new ValueError('options.causal', `expected ${expected}, received '${c}'`);
    if (typeof c === 'object' && c !== null && !ArrayBuffer.isView(c) && !Array.isArray(c)) throw new ValueError('options.causal', `expected ${expected}, received an object with keys [${Object.keys(c).join(', ')}]`);
    throw new DTypeError('options.causal', expected, describeType(c));
  }
  let windowLeft = -1;
  let windowRight = -1;
  const w = o.window;
  if (w !== undefined && w !== null) {
    if (typeof w !== 'object' || ArrayBuffer.isView(w) || Array.isArray(w)) throw new DTypeError('options.window', '{ left?: integer >= 0, right?: integer >= 0 }', describeType(w));
    for (const key of Object.keys(w)) if (key !== 'left' && key !== 'right') throw new ValueError(`options.window.${key}`, `unknown key: the window takes { left?, right? }`);
    const { left, right } = w as WindowOption;
    if (left !== undefined) windowLeft = int32(left, 'options.window.left', 0);
    if (right !== undefined) windowRight = int32(right, 'options.window.right', 0);
  }
  if ((causal || windowLeft >= 0 || windowRight >= 0) && !offsets) {
    offsets = new Int32Array(B);
    if (form === 'bottom-right') for (let b = 0; b < B; b++) offsets[b] = (keyLengths ? keyLengths[b] : S) - (queryLengths ? queryLengths[b] : L);
  }
  if (softcap !== 0 && !(softcap >= SOFTCAP_MIN && softcap <= SOFTCAP_MAX)) {
    throw new ValueError('options.softcap', `expected a cap within ${SOFTCAP_MIN}..${SOFTCAP_MAX} (float32 kernels divide by it and multiply by it), received ${softcap}`);
  }
  return { causal, offsets, windowLeft, windowRight, softcap };
}

/** The accepted soft-cap range: c, 1/c and the capped logits stay normal float32 numbers. */
export const SOFTCAP_MIN = 1e-10;
/** See {@link SOFTCAP_MIN}. */
export const SOFTCAP_MAX = 1e10;

/** Unlimited, uncapped: what an op without these options passes. */
export const NO_LIMITS: AttentionLimits = Object.freeze({ causal: false, offsets: null, windowLeft: -1, windowRight: -1, softcap: 0 });

