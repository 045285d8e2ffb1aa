/**
 * The one softmax every reference kernel uses, so that all ops share the same rules.
 *
 * @module
 */

/**
 * Stable softmax of `logits[j]` over the entries with `allowed[j] = 1`, into `p` (float64).
 * Entries not allowed get p = 0. No allowed entry: all zeros, returns -Infinity (the log-sum-exp).
 * A NaN or +Infinity logit makes every allowed p NaN (it propagates to this row only).
 * Returns the log-sum-exp `max + log(Σ exp(l - max))`.
 */
export function softmaxRow(logits: Float64Array, allowed: Uint8Array, n: number, p: Float64Array): number {
  let max = -Infinity;
  let any = false;
  let nan = false;
  for (let j = 0; j < n; j++) {
    if (!allowed[j]) continue;
    any = true;
    const l = logits[j];
    if (Number.isNaN(l)) nan = true;
    else if (l > max) max = l;
  }
  if (!any) {
    p.fill(0, 0, n);
    return -Infinity;
  }
  if (nan || max === Infinity) {
    for (let j = 0; j < n; j++) p[j] = allowed[j] ? NaN : 0;
    return NaN;
  }
  let sum = 0;
  for (let j = 0; j < n; j++) {
    if (!allowed[j]) {
      p[j] = 0;
      continue;
    }
    const e = Math.exp(logits[j] - max);
    p[j] = e;
    sum += e;
  }
  for (let j = 0; j < n; j++) p[j] /= sum;
  return max + Math.log(sum);
}
