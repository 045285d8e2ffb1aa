/**
 * The gpu pipeline of `silu`: one elementwise kernel. Browser-compatible.
 *
 * @module
 */
import type { SiluArgs } from '../../kernels';
import { FLT, fn, type Runtime } from './runtime';
import { scoped } from './pipeline';

/**
 * Elementwise silu over `[C, R, 1]`: with e = exp(-|x|) (never overflows), sigmoid(x) is 1/(1+e)
 * for x >= 0 and e/(1+e) below. x = -Infinity (below -FLT_MAX) gives the limit 0, not -Inf·0.
 */
const siluSrc = fn(
  ['x'],
  `  let v = x[this.thread.z][this.thread.y][this.thread.x];
  let e = Math.exp(-Math.abs(v));
  let s = 1.0 / (1.0 + e);
  if (v < 0.0) { s = e * s; }
  let y = v * s;
  if (v < -${FLT}) { y = 0.0; }
  return y;`,
);

/** silu. */
export function siluGpu(rt: Runtime, a: SiluArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) =>
    rt.read(rt.run(scope, { name: 'silu', src: siluSrc, output: [a.cols, a.rows, 1], constants: {} }, [rt.input(a.x, [a.cols, a.rows, 1])]), a.rows * a.cols),
  );
}
