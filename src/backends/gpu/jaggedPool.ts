/**
 * What the gpu pipelines of targetAttention and additiveAttention need over a jagged history
 * (#17): the per-row and per-sequence textures (each history row's sequence; each sequence's
 * start row and length) and the softmax statistics / probabilities over a sequence's own rows.
 * Kernels loop over a sequence's rows only (`break` at its length), so no work is spent on
 * padding, and no padded texture exists. Every jagged kernel carries B and T in its constants:
 * a compiled kernel is cached by its source, output and constants, and the sizes of the textures
 * it reads must follow from that key (T is not in the output of the per-sequence kernels, B not
 * in that of the per-row ones). Browser-compatible.
 *
 * @module
 */
import { FLT, fn } from './runtime';

/** The textures describing a jagged batch, as floats (exact: row counts stay below 2^24 on a GL texture). */
export interface SequenceTextures {
  /** `[T]`: the sequence of each row. */
  readonly rowSeq: Float32Array;
  /** `[B]`: each sequence's first row. */
  readonly start: Float32Array;
  /** `[B]`: each sequence's length. */
  readonly length: Float32Array;
  /**
   * The loop bound of the per-sequence loops: the longest sequence rounded up to a power of two,
   * so few kernel variants are compiled (a loop stops at its own sequence's length).
   */
  readonly loop: number;
}

/** The textures of checked offsets `[B+1]`. */
export function sequenceTextures(offsets: Int32Array): SequenceTextures {
  const B = offsets.length - 1;
  const rowSeq = new Float32Array(offsets[B]);
  const start = new Float32Array(B);
  const length = new Float32Array(B);
  let longest = 0;
  for (let b = 0; b < B; b++) {
    start[b] = offsets[b];
    length[b] = offsets[b + 1] - offsets[b];
    longest = Math.max(longest, length[b]);
    rowSeq.fill(b, offsets[b], offsets[b + 1]);
  }
  let loop = 1;
  while (loop < longest) loop *= 2;
  return { rowSeq, start, length, loop };
}

/**
 * Softmax statistics `[2, L, B]` over each sequence's rows (x=0 the max, x=1 the sum of exp(l -
 * max) in blocks of 64, as the padded statistics are; a NaN sum for a +Inf max; -Inf logits
 * excluded): logits `lg[0][row][i]` (`[L, T, 1]`). Params: lg, sp (SPECIAL), sst, sln; constant S
 * (the loop bound).
 */
export function jaggedStatsSrc(): string {
  return fn(
    ['lg', 'sp', 'sst', 'sln'],
    `  let st = sst[this.thread.z];
  let n = sln[this.thread.z];
  let i = this.thread.y;
  let m = sp[0];
  for (let j = 0; j < this.constants.S; j++) {
    if (j >= n) { break; }
    let l = lg[0][st + j][i];
    if (l > m) { m = l; }
  }
  if (this.thread.x == 0) { return m; }
  if (m > ${FLT}) { return sp[1]; }
  let s = 0.0;
  let blk = 0.0;
  let c = 0;
  for (let j = 0; j < this.constants.S; j++) {
    if (j >= n) { break; }
    let l = lg[0][st + j][i];
    if (l < -${FLT}) { blk += 0.0; } else { blk += Math.exp(l - m); }
    c = c + 1;
    if (c == 64) { s += blk; blk = 0.0; c = 0; }
  }
  return s + blk;`,
  );
}

/** Probabilities `[L, T, 1]` (-1 = excluded) from the logits and the statistics `[2, L, B]`. Params: lg, st, rs. */
export function jaggedProbsSrc(): string {
  return fn(
    ['lg', 'st', 'rs'],
    `  let i = this.thread.x;
  let r = this.thread.y;
  let b = rs[r];
  let l = lg[0][r][i];
  if (l < -${FLT}) { return -1.0; }
  return Math.exp(l - st[b][i][0]) / st[b][i][1];`,
  );
}

/**
 * The weighted sum `[Dv, L, B]` over each sequence's rows: `Σ_j p[0][row][i] · v[0][row][d]`
 * (probabilities: p < 0 is excluded; `raw`: every weight counts, as targetAttention's
 * `normalize: 'none'` weights may be negative). Params: p, v, sst, sln; constant S (the loop bound).
 */
export function jaggedSumSrc(raw = false): string {
  return fn(
    ['p', 'v', 'sst', 'sln'],
    `  let st = sst[this.thread.z];
  let n = sln[this.thread.z];
  let i = this.thread.y;
  let d = this.thread.x;
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    if (j >= n) { break; }
    let pj = p[0][st + j][i];
    ${raw ? 'acc += pj * v[0][st + j][d];' : 'if (pj < 0.0) { acc += 0.0; } else { acc += pj * v[0][st + j][d]; }'}
  }
  return acc;`,
  );
}
