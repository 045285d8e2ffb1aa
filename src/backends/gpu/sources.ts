/**
 * gpu.js kernel sources (GLSL ES 1.00 after compilation), generated per problem so that every
 * loop bound is a compile-time constant and optional inputs (mask, bias, lengths) cost nothing
 * when absent. Every array is read as `a[z][y][x]` over an `[x, y, z]` view, so gpu.js computes
 * flat offsets in integer arithmetic (float offsets would lose exactness above 2^24).
 *
 * Conventions: `sp` is a 3-element input holding [-Infinity, NaN, 1] (GLSL ES 1.00 has no way to
 * write those literals: gpu.js turns `Infinity` into the largest float); a logit below
 * `-FLT_MAX` is -Infinity, i.e. an excluded key (NaN compares false, so NaN stays included and
 * propagates to its own row). Probabilities use -1 for excluded keys, so later kernels skip them
 * without reading masks again, and the readback maps -1 to 0.
 *
 * @module
 */
import { FLT, fn } from './runtime';

/** `floor(a / n)` for small non-negative integers held in floats (the +0.5 keeps it exact). */
export const idiv = (a: string, n: string): string => `Math.floor((${a} + 0.5) / ${n})`;

/** Taylor coefficients of tanh(x) = x + x·Σ c_k·x^(2k), k = 1..8 (truncation below 5e-9 relative for |x| < 0.55). */
const TANH_SERIES = ['-0.3333333333333333', '0.13333333333333333', '-0.05396825396825397', '0.021869488536155203', '-0.008863235529902197', '0.003592128036572481', '-0.0014558343870513183', '0.000590027440945586'];

/**
 * tanh that neither overflows (gpu.js's own gives NaN beyond |x| ~ 44) nor cancels near 0 (GLSL
 * ES 1.00 has none): for |x| < 0.55 an odd Taylor polynomial `x + x·q·P(q)`, q = x² (degree 17),
 * else `sign(x)·(1 - e)/(1 + e)` with `e = exp(-2|x|)` (at most a 1/2 cancellation there). ±Inf
 * gives ±1, NaN stays NaN (it fails `|x| < 0.55` and exp(NaN) is NaN). Measured on Mesa llvmpipe
 * over a dense grid: within 2.9e-7 relative (2.4 ulp) of Math.tanh; see the README. Declares `out`.
 */
export function tanhInline(x: string, out: string): string {
  let poly = TANH_SERIES[TANH_SERIES.length - 1];
  for (let k = TANH_SERIES.length - 2; k >= 0; k--) poly = `${TANH_SERIES[k]} + ${out}_q * (${poly})`;
  return `  let ${out}_u = ${x};
  let ${out}_a = Math.abs(${out}_u);
  let ${out} = 0.0;
  if (${out}_a < 0.55) {
    let ${out}_q = ${out}_u * ${out}_u;
    ${out} = ${out}_u + ${out}_u * ${out}_q * (${poly});
  } else {
    let ${out}_e = Math.exp(-2.0 * ${out}_a);
    ${out} = (1.0 - ${out}_e) / (1.0 + ${out}_e);
    if (${out}_u < 0.0) { ${out} = -${out}; }
  }`;
}

/**
 * erfc(t) for t >= 0 (Numerical Recipes' erfcc, Chebyshev fit: relative error below 1.2e-7 for
 * every t >= 0), in float32 arithmetic. Declares `out`.
 */
export function erfcInline(t: string, out: string): string {
  return `  let ${out}_t = 1.0 / (1.0 + 0.5 * ${t});
  let ${out} = ${out}_t * Math.exp(-${t} * ${t} - 1.26551223 + ${out}_t * (1.00002368 + ${out}_t * (0.37409196 + ${out}_t * (0.09678418 + ${out}_t * (-0.18628806 + ${out}_t * (0.27886807 + ${out}_t * (-1.13520398 + ${out}_t * (1.48851587 + ${out}_t * (-0.82215223 + ${out}_t * 0.17087277)))))))));`;
}

/** Activation applied in place to variable `v` (`alpha` expression for prelu). */
export function activation(kind: 'none' | 'relu' | 'sigmoid' | 'prelu' | 'gelu' | 'gelu_tanh', v: string, alpha = ''): string {
  switch (kind) {
    case 'none':
      return '';
    // Written as a comparison so NaN passes through (GLSL max(NaN, 0) gives 0 on llvmpipe).
    case 'relu':
      return `  if (${v} < 0.0) { ${v} = 0.0; }`;
    case 'prelu':
      return `  if (${v} < 0.0) { ${v} = ${alpha} * ${v}; }`;
    case 'sigmoid':
      return `  ${v} = 1.0 / (1.0 + Math.exp(-${v}));`;
    case 'gelu':
      // x * Phi(x) = x * (1 - erfc(x/sqrt2)/2) for x >= 0, x * erfc(-x/sqrt2)/2 for x < 0:
      // the erfc form keeps the relative accuracy in the negative tail.
      return `  let g_x = ${v};
  let g_t = Math.abs(g_x) * 0.7071067811865476;
${erfcInline('g_t', 'g_c')}
  if (g_x < 0.0) { ${v} = g_x * 0.5 * g_c; } else { ${v} = g_x * (1.0 - 0.5 * g_c); }`;
    case 'gelu_tanh':
      // 0.5x(1 + tanh(u)) = x / (1 + exp(-2u)): the same function without the cancellation of
      // 1 + tanh(u) for negative x (and the same NaN at x = -Infinity).
      return `  let g_x = ${v};
  let g_u = 0.7978845608028654 * (g_x + 0.044715 * g_x * g_x * g_x);
  ${v} = g_x / (1.0 + Math.exp(-2.0 * g_u));`;
  }
}

/**
 * `y[o, y, z] = act(Σ_c x[z][y][c] * w[c][o] + b[o]) (+ r[z][y][o])`. Params: x, w, [b], [alpha], [r].
 */
export function linearSrc(opts: { bias: boolean; act: 'none' | 'relu' | 'sigmoid' | 'prelu' | 'gelu' | 'gelu_tanh'; residual: boolean }): string {
  const params = ['x', 'w'];
  if (opts.bias) params.push('b');
  if (opts.act === 'prelu') params.push('al');
  if (opts.residual) params.push('r');
  return fn(
    params,
    `  let acc = 0.0;
  for (let c = 0; c < this.constants.IN; c++) {
    acc += x[this.thread.z][this.thread.y][c] * w[c][this.thread.x];
  }
${opts.bias ? '  acc += b[this.thread.x];' : ''}
${activation(opts.act, 'acc', 'al[this.thread.x]')}
${opts.residual ? '  acc += r[this.thread.z][this.thread.y][this.thread.x];' : ''}
  return acc;`,
  );
}

/**
 * layerNorm statistics `[2, Y, Z]`: x=0 the mean, x=1 the biased variance (two-pass) of `x (+ r)`.
 * The mean is summed as deviations from the row's first element: an fp32 sum of the raw values
 * carries an error proportional to |mean|, which a row with a large mean and a small spread
 * (mean 100, sd 0.7) turns into 1e-2 relative output error; the shifted sum's error follows the
 * spread instead. It is summed in blocks of 64 (the error grows with 64 + C/64 terms, not C), and
 * the second pass adds the two-pass correction Σ(x - mean)/C to the mean (a U(-1,1) row of 4096
 * columns had its mean, 0.014, only to ~5e-5 relative without both).
 */
export function lnStatsSrc(residual: boolean): string {
  const val = residual ? 'x[this.thread.z][this.thread.y][c] + r[this.thread.z][this.thread.y][c]' : 'x[this.thread.z][this.thread.y][c]';
  return fn(
    residual ? ['x', 'r'] : ['x'],
    `  let shift = ${val.replace(/\[c\]/g, '[0]')};
  let mean = 0.0;
  let blk = 0.0;
  for (let c = 0; c < this.constants.C; c++) {
    blk += ${val} - shift;
    if (c % 64 == 63) { mean += blk; blk = 0.0; }
  }
  mean = shift + (mean + blk) / this.constants.C;
  let v = 0.0;
  let cs = 0.0;
  for (let c = 0; c < this.constants.C; c++) { let d = ${val} - mean; v += d * d; cs += d; }
  if (this.thread.x == 0) {
    let m = mean + cs / this.constants.C;
    if (!(Math.abs(m) <= 3.4e38)) {
      // ±Inf or NaN in the row: the shifted sums give NaN (Inf - Inf); the plain mean is what
      // reference returns (±Inf, or NaN for mixed signs / NaN).
      let raw = 0.0;
      for (let c = 0; c < this.constants.C; c++) { raw += ${val}; }
      m = raw / this.constants.C;
    }
    return m;
  }
  return v / this.constants.C;`,
  );
}

/**
 * layerNorm's returned statistics `[2, Y, Z]` from the statistics `st`: x=0 the mean as is, x=1
 * `1/sqrt(var + eps)` (the apply stage divides by that same `sqrt(var + eps)`). Params: st.
 */
export function lnInvStdSrc(): string {
  return fn(
    ['st'],
    `  if (this.thread.x == 0) { return st[this.thread.z][this.thread.y][0]; }
  return 1.0 / Math.sqrt(st[this.thread.z][this.thread.y][1] + this.constants.EPS);`,
  );
}

/** layerNorm apply `[C, Y, Z]`: `(x - mean) / sqrt(var + eps) * g + b`. Params: x, [r], st, [g], [b]. */
export function lnApplySrc(residual: boolean, gamma: boolean, beta: boolean): string {
  const params = ['x'];
  if (residual) params.push('r');
  params.push('st');
  if (gamma) params.push('g');
  if (beta) params.push('be');
  const val = residual ? 'x[this.thread.z][this.thread.y][this.thread.x] + r[this.thread.z][this.thread.y][this.thread.x]' : 'x[this.thread.z][this.thread.y][this.thread.x]';
  return fn(
    params,
    `  let v = (${val} - st[this.thread.z][this.thread.y][0]) / Math.sqrt(st[this.thread.z][this.thread.y][1] + this.constants.EPS);
${gamma ? '  v = v * g[this.thread.x];' : ''}
${beta ? '  v = v + be[this.thread.x];' : ''}
  return v;`,
  );
}

/**
 * Row statistics of logits `lg` (`[S, Y, Z]`): x=0 the max over included entries (-Inf if none),
 * x=1 the sum of exp(l - max) (0 if none; NaN if a logit is NaN or +Inf), in blocks of 64 terms
 * added to a running total, so its rounding error grows with 64 + S/64 terms rather than S (one
 * accumulator was 2.2e-5 off, relatively, on a 20000-entry row). With `lo`, each logit
 * is the unevaluated sum `lg + lo` (see the sdpa bias), so `exp((lg - max) + lo)` keeps the low
 * bits that a large bias would round away. Params: lg, sp, [lo].
 */
export function statsSrc(lo = false): string {
  return fn(
    lo ? ['lg', 'sp', 'lo'] : ['lg', 'sp'],
    `  let m = sp[0];
  for (let j = 0; j < this.constants.S; j++) {
    let l = lg[this.thread.z][this.thread.y][j];
    if (l > m) { m = l; }
  }
  if (this.thread.x == 0) { return m; }
  if (m > ${FLT}) { return sp[1]; }
  let s = 0.0;
  let blk = 0.0;
  let n = 0;
  for (let j = 0; j < this.constants.S; j++) {
    let l = lg[this.thread.z][this.thread.y][j];
    if (l < -${FLT}) { blk += 0.0; } else { blk += Math.exp(l - m${lo ? ' + lo[this.thread.z][this.thread.y][j]' : ''}); }
    n = n + 1;
    if (n == 64) { s += blk; blk = 0.0; n = 0; }
  }
  return s + blk;`,
  );
}

/** Probabilities `[S, Y, Z]`: exp(l - max) / sum for included entries, -1 for excluded ones. Params: lg, st, [lo]. */
export function probsSrc(lo = false): string {
  return fn(
    lo ? ['lg', 'st', 'lo'] : ['lg', 'st'],
    `  let l = lg[this.thread.z][this.thread.y][this.thread.x];
  if (l < -${FLT}) { return -1.0; }
  return Math.exp(l - st[this.thread.z][this.thread.y][0]${lo ? ' + lo[this.thread.z][this.thread.y][this.thread.x]' : ''}) / st[this.thread.z][this.thread.y][1];`,
  );
}

/** log-sum-exp `[1, Y, Z]` from the statistics (-Inf for rows with nothing included). Params: st, sp. */
export function lseSrc(): string {
  return fn(
    ['st', 'sp'],
    `  let s = st[this.thread.z][this.thread.y][1];
  if (s == 0.0) { return sp[0]; }
  return st[this.thread.z][this.thread.y][0] + Math.log(s);`,
  );
}

/**
 * Weighted sum of values with probabilities `p` (`[S, L, Zp]`, -1 = excluded). The caller gives
 * the output's index decomposition (`pre`, declaring `pz`, `d` and anything `vExpr` needs) and
 * the value read `vExpr` (using `j`). Params: p, v.
 */
export function pvSrc(pre: string, vExpr: string): string {
  return fn(
    ['p', 'v'],
    `${pre}
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    let pj = p[pz][this.thread.y][j];
    if (pj < 0.0) { acc += 0.0; } else { acc += pj * ${vExpr}; }
  }
  return acc;`,
  );
}

/** Exclusion tests shared by the logits kernels. */
export interface Exclusions {
  /** keyLengths given (param `lens`, indexed by batch variable `b`). */
  lens: boolean;
  /** A lower key bound (causal / window limits, see `limitsArgs`): key j excluded when `j < i + klo[b]`. */
  lo?: boolean;
  /** An upper key bound (causal / window limits, see `limitsArgs`): key j excluded when `j > i + khi[b]`. */
  hi?: boolean;
  /** Mask read expression (param `mk`), or null. */
  mask: string | null;
}

/** Source lines that return `value` (default -Inf) for excluded keys (variables `b`, `i`, `j` in scope). */
export function exclusionLines(ex: Exclusions, value = 'sp[0]'): string {
  const lines: string[] = [];
  if (ex.lens) lines.push(`  if (j >= lens[b]) { return ${value}; }`);
  if (ex.lo) lines.push(`  if (j < i + klo[b]) { return ${value}; }`);
  if (ex.hi) lines.push(`  if (j > i + khi[b]) { return ${value}; }`);
  if (ex.mask) lines.push(`  if (${ex.mask} == 0.0) { return ${value}; }`);
  return lines.join('\n');
}
