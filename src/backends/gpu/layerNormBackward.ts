/**
 * The gpu pipeline of `layerNormBackward`: each row's `Σ g` and `Σ g·x̂`, then dx; dGamma and
 * dBeta summed over the rows per column. Every sum in blocks of 64 terms added to a running total
 * (the softmax statistics' scheme: the rounding grows with 64 + n/64 terms, not n).
 * Browser-compatible.
 *
 * @module
 */
import type { LayerNormBackwardArgs, LayerNormBackwardResult } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { scoped, type Src } from './pipeline';

const XHAT = '(x[this.thread.z][this.thread.y][j] - mu[this.thread.z][this.thread.y][0]) * inv[this.thread.z][this.thread.y][0]';

/** Row sums `[2, R, 1]`: x=0 Σ_j g, x=1 Σ_j g·x̂ (g = dy·gamma). Params: dy, x, mu, inv, [ga]. */
function rowSumsSrc(gamma: boolean): string {
  return fn(
    gamma ? ['dy', 'x', 'mu', 'inv', 'ga'] : ['dy', 'x', 'mu', 'inv'],
    `  let s = 0.0;
  let blk = 0.0;
  for (let j = 0; j < this.constants.C; j++) {
    let g = dy[this.thread.z][this.thread.y][j]${gamma ? ' * ga[j]' : ''};
    if (this.thread.x == 0) { blk += g; } else { blk += g * ${XHAT}; }
    if (j % 64 == 63) { s += blk; blk = 0.0; }
  }
  return s + blk;`,
  );
}

/** `dx [C, R, 1] = inv·(g − Σg/C − x̂·Σg·x̂/C)`. Params: dy, x, mu, inv, st, [ga]. */
function dxSrc(gamma: boolean): string {
  return fn(
    gamma ? ['dy', 'x', 'mu', 'inv', 'st', 'ga'] : ['dy', 'x', 'mu', 'inv', 'st'],
    `  let iv = inv[this.thread.z][this.thread.y][0];
  let xh = (x[this.thread.z][this.thread.y][this.thread.x] - mu[this.thread.z][this.thread.y][0]) * iv;
  let g = dy[this.thread.z][this.thread.y][this.thread.x]${gamma ? ' * ga[this.thread.x]' : ''};
  let a = st[this.thread.z][this.thread.y][0] / this.constants.CF;
  let b = st[this.thread.z][this.thread.y][1] / this.constants.CF;
  return iv * (g - a - xh * b);`,
  );
}

/** Column sums `[C, 2, 1]` over the M rows: y=0 dGamma = Σ dy·x̂, y=1 dBeta = Σ dy. Params: dy, x, mu, inv. */
const columnSumsSrc = fn(
  ['dy', 'x', 'mu', 'inv'],
  `  let s = 0.0;
  let blk = 0.0;
  for (let r = 0; r < this.constants.M; r++) {
    let d = dy[0][r][this.thread.x];
    if (this.thread.y == 0) { blk += d * ((x[0][r][this.thread.x] - mu[0][r][0]) * inv[0][r][0]); } else { blk += d; }
    if (r % 64 == 63) { s += blk; blk = 0.0; }
  }
  return s + blk;`,
);

/** layerNormBackward over the last axis, from the forward's mean and invStd. */
export function layerNormBackwardGpu(rt: Runtime, a: LayerNormBackwardArgs): LayerNormBackwardResult {
  const { rows, cols } = a;
  if (rows * cols === 0) return { dx: new Float32Array(0), dGamma: new Float32Array(cols), dBeta: new Float32Array(cols) };
  return scoped((scope) => {
    const dy = rt.input(a.dy, [cols, rows, 1]);
    const x = rt.input(a.x, [cols, rows, 1]);
    const mu = rt.input(a.mean, [1, rows, 1]);
    const inv = rt.input(a.invStd, [1, rows, 1]);
    const base: Src[] = [dy, x, mu, inv];
    const g = !!a.gamma;
    const st = rt.run(scope, { name: 'layerNormBackward.rowSums', src: rowSumsSrc(g), output: [2, rows, 1], constants: { C: cols } }, g ? [...base, a.gamma] : base);
    const dx = rt.read(rt.run(scope, { name: 'layerNormBackward.dx', src: dxSrc(g), output: [cols, rows, 1], constants: { CF: cols } }, g ? [...base, st, a.gamma] : [...base, st]), rows * cols);
    const both = rt.read(rt.run(scope, { name: 'layerNormBackward.columnSums', src: columnSumsSrc, output: [cols, 2, 1], constants: { M: rows } }, base), 2 * cols);
    return { dx, dGamma: both.slice(0, cols), dBeta: both.slice(cols) };
  });
}
