/**
 * The gpu pipeline of `siluBackward`: one elementwise kernel. Browser-compatible.
 *
 * @module
 */
import type { SiluBackwardArgs } from '../../kernels';
import { FLT, fn, type Runtime } from './runtime';
import { scoped } from './pipeline';

/**
 * `dy·silu'(x)` over `[C, R, 1]`: with e = exp(-|x|) (never overflows), σ(x) = 1/(1+e) for x >= 0
 * and e/(1+e) below, σ(1-σ) = e/(1+e)². Where e is 0 (|x| past exp's range, ±Infinity) the
 * second term is left out: the limits 1 and 0, not ±Inf·0.
 */
const siluBackwardSrc = fn(
  ['dy', 'x'],
  `  let v = x[this.thread.z][this.thread.y][this.thread.x];
  let e = Math.exp(-Math.abs(v));
  let d = 1.0 / (1.0 + e);
  let s = d;
  if (v < 0.0) { s = e * d; }
  let g = s;
  if (e > 0.0) { g = s + v * (e * d * d); }
  if (v > ${FLT}) { g = 1.0; }
  if (v < -${FLT}) { g = 0.0; }
  return dy[this.thread.z][this.thread.y][this.thread.x] * g;`,
);

/** siluBackward. */
export function siluBackwardGpu(rt: Runtime, a: SiluBackwardArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) =>
    rt.read(rt.run(scope, { name: 'siluBackward', src: siluBackwardSrc, output: [a.cols, a.rows, 1], constants: {} }, [rt.input(a.dy, [a.cols, a.rows, 1]), rt.input(a.x, [a.cols, a.rows, 1])]), a.rows * a.cols),
  );
}
