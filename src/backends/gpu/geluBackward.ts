/**
 * The gpu pipeline of `geluBackward`: one elementwise kernel, erf or tanh form. Browser-compatible.
 *
 * @module
 */
import type { GeluBackwardArgs } from '../../kernels';
import { FLT, fn, type Runtime } from './runtime';
import { erfcInline } from './sources';
import { scoped } from './pipeline';

/**
 * `dy·gelu'(x)` over `[C, R, 1]`. Exact: `Φ(x) + x·φ(x)`, Φ from erfc as the forward has it (no
 * cancellation in the negative tail), φ = exp(-x²/2)/√(2π). Tanh form: with 2u = 2√(2/π)(x +
 * 0.044715x³) and e = exp(-|2u|), `σ(2u) + 2x·e/(1+e)²·u'` (no 1 + tanh cancellation for negative
 * x); where e is 0 the second term is left out. ±Infinity: the limits 1 and 0 (not ±Inf·0).
 */
function geluBackwardSrc(tanh: boolean): string {
  const body = tanh
    ? `  let x2 = v * v;
  let u2 = 1.5957691216057308 * (v + 0.044715 * x2 * v);
  let du = 0.7978845608028654 + 0.10703222440890038 * x2;
  let e = Math.exp(-Math.abs(u2));
  let d = 1.0 / (1.0 + e);
  let g = d;
  if (u2 < 0.0) { g = e * d; }
  if (e > 0.0) { g = g + 2.0 * v * (e * d * d) * du; }`
    : `  let t = Math.abs(v) * 0.7071067811865476;
${erfcInline('t', 'c')}
  let g = 1.0 - 0.5 * c;
  if (v < 0.0) { g = 0.5 * c; }
  let p = Math.exp(-0.5 * v * v) * 0.3989422804014327;
  if (p > 0.0) { g = g + v * p; }`;
  return fn(
    ['dy', 'x'],
    `  let v = x[this.thread.z][this.thread.y][this.thread.x];
${body}
  if (v > ${FLT}) { g = 1.0; }
  if (v < -${FLT}) { g = 0.0; }
  return dy[this.thread.z][this.thread.y][this.thread.x] * g;`,
  );
}

/** geluBackward (erf or tanh form). */
export function geluBackwardGpu(rt: Runtime, a: GeluBackwardArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) =>
    rt.read(
      rt.run(scope, { name: 'geluBackward', src: geluBackwardSrc(a.approximate === 'tanh'), output: [a.cols, a.rows, 1], constants: {} }, [rt.input(a.dy, [a.cols, a.rows, 1]), rt.input(a.x, [a.cols, a.rows, 1])]),
      a.rows * a.cols,
    ),
  );
}
