/**
 * The jagged forms of the pooling ops (#17): targetAttention's history and additiveAttention's
 * keys / values as jagged tensors (src/jagged.ts) in place of padded `[B,S,...]` + keyLengths.
 * What both ops share: telling a jagged argument from a tensor, the row space of jagged weights,
 * the options a jagged call refuses.
 *
 * @module
 */
import { DTypeError, ValueError } from '../errors';
import type { JaggedTensor } from '../jagged';
import type { Tensor } from '../tensor';

/**
 * The result of targetAttention / additiveAttention over a jagged history when the weights are
 * asked for: the pooled output is dense (one row per user), the weights are jagged with the
 * history's offsets (targetAttention: values `[T]`; additiveAttention: values `[T, L]`, the
 * weight of query i on key j of user b at row `offsets[b] + j`, column i).
 */
export interface JaggedPoolOutput {
  /** The pooled output, dense: `[B,D]` (targetAttention) or `[B,L,Dv]` (additiveAttention). */
  output: Tensor;
  /** The weights, jagged like the history (same offsets; not a copy of them). */
  weights: JaggedTensor;
}

/**
 * Whether `value` is given as a jagged tensor (an object with an `offsets` field) rather than a
 * tensor: tensors (ours, onnxruntime's, tfjs's) have no `offsets`. A Proxy whose `has` trap throws
 * is a DTypeError naming `argument`.
 */
export function isJaggedArg(value: unknown, argument: string): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return false;
  try {
    return 'offsets' in value;
  } catch (e) {
    throw new DTypeError(argument, 'a tensor or a jagged tensor ({ values, offsets })', 'an object whose fields cannot be inspected', String((e as Error)?.message ?? e));
  }
}

/** The longest sequence of checked offsets `[B+1]` (0 when every sequence is empty). */
export function longestOf(offsets: Int32Array): number {
  let m = 0;
  for (let b = 0; b + 1 < offsets.length; b++) m = Math.max(m, offsets[b + 1] - offsets[b]);
  return m;
}

/** The sequence that holds row `r` of a jagged batch (checked offsets, 0 <= r < offsets[B]): a binary search. */
export function sequenceOfRow(offsets: Int32Array, r: number): number {
  let lo = 0;
  let hi = offsets.length - 2; // the answer b satisfies offsets[b] <= r < offsets[b+1]
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (offsets[mid] <= r) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The options a jagged call refuses (each a ValueError naming it): `keyLengths` (the offsets
 * already give every length) and `returnSaved` (the training composites take the padded form).
 * `extra` names further options with their reason (additiveAttention's `mask`).
 */
export function refuseWithJagged(o: Record<string, unknown>, jaggedArgument: string, extra: Readonly<Record<string, string>> = {}): void {
  const reasons: Record<string, string> = {
    keyLengths: `not with a jagged ${jaggedArgument}: its offsets already give every sequence's length (pass one or the other)`,
    returnSaved: `not with a jagged ${jaggedArgument}: the training composites take the padded form (toPadded(...) gives it, with the lengths as keyLengths)`,
    ...extra,
  };
  for (const [k, why] of Object.entries(reasons)) {
    const v = o[k];
    if (v === undefined || v === null || v === false) continue;
    throw new ValueError(`options.${k}`, why);
  }
}
