/**
 * The gpu pipeline of `linearBackward`: dx = dy·wᵀ, dW = xᵀ·dy, db = Σ_rows dy, one kernel each.
 * Every sum in blocks of 64 terms added to a running total (the rounding grows with 64 + n/64
 * terms, not n). Browser-compatible.
 *
 * @module
 */
import type { LinearBackwardArgs, LinearBackwardResult } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { scoped } from './pipeline';

/** `dx [In, R, 1]`: Σ_o dy[r][o]·w[i][o] over the C = Out entries of dy's row. Params: dy, w. */
const dxSrc = fn(
  ['dy', 'w'],
  `  let s = 0.0;
  let blk = 0.0;
  for (let o = 0; o < this.constants.C; o++) {
    blk += dy[this.thread.z][this.thread.y][o] * w[this.thread.x][o];
    if (o % 64 == 63) { s += blk; blk = 0.0; }
  }
  return s + blk;`,
);

/** `dW [Out, In, 1]`: Σ_r x[r][i]·dy[r][o] over the M rows. Params: x, dy. */
const dWSrc = fn(
  ['x', 'dy'],
  `  let s = 0.0;
  let blk = 0.0;
  for (let r = 0; r < this.constants.M; r++) {
    blk += x[r][this.thread.y] * dy[r][this.thread.x];
    if (r % 64 == 63) { s += blk; blk = 0.0; }
  }
  return s + blk;`,
);

/** `db [Out, 1, 1]`: Σ_r dy[r][o]. Params: dy. */
const dbSrc = fn(
  ['dy'],
  `  let s = 0.0;
  let blk = 0.0;
  for (let r = 0; r < this.constants.M; r++) {
    blk += dy[r][this.thread.x];
    if (r % 64 == 63) { s += blk; blk = 0.0; }
  }
  return s + blk;`,
);

/** linearBackward on the gpu. */
export function linearBackwardGpu(rt: Runtime, a: LinearBackwardArgs): LinearBackwardResult {
  const { rows: R, inDim: I, outDim: O } = a;
  const dx = new Float32Array(R * I);
  const dW = new Float32Array(I * O);
  const db = new Float32Array(O);
  // An empty axis: the sums over it are 0 and the outputs over it empty (nothing to upload).
  if (R * I * O === 0) {
    if (R > 0 && O > 0) for (let r = 0; r < R; r++) for (let o = 0; o < O; o++) db[o] += a.dy[r * O + o];
    return { dx, dW, db };
  }
  return scoped((scope) => {
    const dy3 = rt.input(a.dy, [O, R, 1]);
    const dy2 = rt.input(a.dy, [O, R]);
    const x2 = rt.input(a.x, [I, R]);
    const w = rt.input(a.w, [O, I]);
    return {
      dx: rt.read(rt.run(scope, { name: 'linearBackward.dx', src: dxSrc, output: [I, R, 1], constants: { C: O } }, [dy3, w]), R * I),
      dW: rt.read(rt.run(scope, { name: 'linearBackward.dW', src: dWSrc, output: [O, I, 1], constants: { M: R } }, [x2, dy2]), I * O),
      db: rt.read(rt.run(scope, { name: 'linearBackward.db', src: dbSrc, output: [O, 1, 1], constants: { M: R } }, [dy2]), O),
    };
  });
}
