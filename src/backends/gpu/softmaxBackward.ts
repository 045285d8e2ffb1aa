/**
 * The gpu pipeline of `softmaxBackward`: each row's `Σ dy·y`, then `dx = y·(dy − Σ)`.
 * Browser-compatible.
 *
 * @module
 */
import type { SoftmaxBackwardArgs } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { scoped } from './pipeline';

/** Row sums `[1, R, 1]` of dy·y, in blocks of 64 terms added to a running total (the softmax statistics' scheme). */
const rowDotSrc = fn(
  ['dy', 'y'],
  `  let s = 0.0;
  let blk = 0.0;
  for (let j = 0; j < this.constants.C; j++) {
    blk += dy[this.thread.z][this.thread.y][j] * y[this.thread.z][this.thread.y][j];
    if (j % 64 == 63) { s += blk; blk = 0.0; }
  }
  return s + blk;`,
);

/** `dx [C, R, 1] = y·(dy − s)`. */
const dxSrc = fn(
  ['dy', 'y', 's'],
  `  let v = y[this.thread.z][this.thread.y][this.thread.x];
  return v * (dy[this.thread.z][this.thread.y][this.thread.x] - s[this.thread.z][this.thread.y][0]);`,
);

/** softmaxBackward over the last axis. */
export function softmaxBackwardGpu(rt: Runtime, a: SoftmaxBackwardArgs): Float32Array {
  const { rows, cols } = a;
  if (rows * cols === 0) return new Float32Array(0);
  return scoped((scope) => {
    const dy = rt.input(a.dy, [cols, rows, 1]);
    const y = rt.input(a.y, [cols, rows, 1]);
    const s = rt.run(scope, { name: 'softmaxBackward.rowDot', src: rowDotSrc, output: [1, rows, 1], constants: { C: cols } }, [dy, y]);
    return rt.read(rt.run(scope, { name: 'softmaxBackward.dx', src: dxSrc, output: [cols, rows, 1], constants: {} }, [dy, y, s]), rows * cols);
  });
}
