/**
 * The gpu pipeline of `softmax`: the broadcast mask applied as -Infinity logits, then the
 * softmax tail. Browser-compatible.
 *
 * @module
 */
import type { SoftmaxArgs } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { SPECIAL, gather, maskToFloat, scoped, type Src } from './pipeline';
import { softmaxTail } from './stages';

/** softmax over the last axis, with an optional broadcast mask. */
export function softmaxGpu(rt: Runtime, a: SoftmaxArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0); // an empty tensor: nothing to upload
  return scoped((scope) => {
    const { rows, cols } = a;
    const x = rt.input(a.x, [cols, rows, 1]);
    let lg: Src = x;
    if (a.mask) {
      const src = fn(
        ['x', 'mk', 'sp'],
        `  if (mk[this.thread.z][this.thread.y][this.thread.x] == 0.0) { return sp[0]; }
  return x[this.thread.z][this.thread.y][this.thread.x];`,
      );
      const full = maskToFloat(gather(a.mask, a.shape)); // the broadcast mask at the full shape, 0/1
      lg = rt.run(scope, { name: 'softmax.mask', src, output: [cols, rows, 1], constants: {} }, [x, rt.input(full, [cols, rows, 1]), SPECIAL]);
    }
    const { p } = softmaxTail(rt, scope, lg, cols, rows, 1);
    return rt.read(p, rows * cols, true);
  });
}

