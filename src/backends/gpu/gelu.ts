/**
 * The gpu pipeline of `gelu`: one elementwise kernel, erf or tanh form. Browser-compatible.
 *
 * @module
 */
import type { GeluArgs } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { activation } from './sources';
import { scoped } from './pipeline';

/** Elementwise gelu over `[C, R, 1]`. */
function geluSrc(tanh: boolean): string {
  return fn(
    ['x'],
    `  let v = x[this.thread.z][this.thread.y][this.thread.x];
${activation(tanh ? 'gelu_tanh' : 'gelu', 'v')}
  return v;`,
  );
}

/** gelu (erf or tanh form). */
export function geluGpu(rt: Runtime, a: GeluArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) =>
    rt.read(rt.run(scope, { name: 'gelu', src: geluSrc(a.approximate === 'tanh'), output: [a.cols, a.rows, 1], constants: {} }, [rt.input(a.x, [a.cols, a.rows, 1])]), a.rows * a.cols),
  );
}
