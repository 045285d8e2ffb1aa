/**
 * The gpu pipeline of `adamStep`: three elementwise kernels (the new first moment, the new second
 * moment, then the parameters from those two textures), read back once each. The scalars (bias
 * corrections in float64, then rounded to float32) reach the kernels as a small upload, not as
 * constants, so one compiled kernel serves every step. Browser-compatible.
 *
 * @module
 */
import type { AdamStepArgs, AdamStepResult, Widened } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { scoped } from './pipeline';

const at = '[this.thread.z][this.thread.y][this.thread.x]';

/** m' = beta1·m + (1 - beta1)·g, with g = sign·grad. */
const momentSrc = fn(['g', 'm', 'sc'], `  return sc[1] * m${at} + sc[2] * (sc[8] * g${at});`);
/** v' = beta2·v + (sqrt(1 - beta2)·g)²: (1 - beta2)·g² without overflowing where that fits float32. */
const squareSrc = fn(['g', 'v', 'sc'], `  let s = sc[4] * (sc[8] * g${at});\n  return sc[3] * v${at} + s * s;`);
/** param' = param·decay - stepSize · m' / (sqrt(v') / sqrt(bc2) + eps). */
const paramSrc = fn(['p', 'mt', 'vt', 'sc'], `  let denom = Math.sqrt(vt${at}) / sc[6] + sc[7];\n  return p${at} * sc[0] - sc[5] * (mt${at} / denom);`);

/** adamStep: new param, m and v (written into the inputs when `inPlace`). */
export function adamStepGpu(rt: Runtime, a: Widened<AdamStepArgs>): AdamStepResult {
  const { rows, cols } = a;
  const n = rows * cols;
  const done = (param: Float32Array, m: Float32Array, v: Float32Array): AdamStepResult => {
    if (!a.inPlace) return { param, m, v };
    a.param.set(param);
    a.m.set(m);
    a.v.set(v);
    return { param: a.param, m: a.m, v: a.v };
  };
  if (n === 0) return done(new Float32Array(0), new Float32Array(0), new Float32Array(0));
  // float64 scalars, rounded to float32 by the upload.
  const sc = Float32Array.of(1 - a.lr * a.weightDecay, a.beta1, 1 - a.beta1, a.beta2, Math.sqrt(1 - a.beta2), a.lr / (1 - a.beta1 ** a.step), Math.sqrt(1 - a.beta2 ** a.step), a.eps, a.maximize ? -1 : 1);
  const dims: [number, number, number] = [cols, rows, 1];
  return scoped((scope) => {
    const g = rt.input(a.grad, dims);
    const s = rt.input(sc, [sc.length]);
    const mt = rt.run(scope, { name: 'adamStep.m', src: momentSrc, output: dims, constants: {} }, [g, rt.input(a.m, dims), s]);
    const vt = rt.run(scope, { name: 'adamStep.v', src: squareSrc, output: dims, constants: {} }, [g, rt.input(a.v, dims), s]);
    const pt = rt.run(scope, { name: 'adamStep.param', src: paramSrc, output: dims, constants: {} }, [rt.input(a.param, dims), mt, vt, s]);
    return done(rt.read(pt, n), rt.read(mt, n), rt.read(vt, n));
  });
}
