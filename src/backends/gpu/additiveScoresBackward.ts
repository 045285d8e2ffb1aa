/**
 * The gpu pipeline of `additiveScoresBackward`: dP and δ per row, dE, then the tanh pairs summed
 * over keys (dqa), over query rows (dka) and over both (dv, per batch then over batches), and
 * dValues. Every sum a loop over a compile-time constant, in fp32. Browser-compatible.
 *
 * @module
 */
import type { AdditiveScoresBackwardArgs, AdditiveScoresBackwardResult } from '../../kernels';
import { GPU_MAX_ROW_LENGTH, GpuLimitError, fn, type Runtime } from './runtime';
import { tanhInline } from './sources';
import { scoped } from './pipeline';

/** additiveScoresBackward (see src/kernels.ts AdditiveScoresBackwardArgs). */
export function additiveScoresBackwardGpu(rt: Runtime, a: AdditiveScoresBackwardArgs): AdditiveScoresBackwardResult {
  return scoped((scope) => {
    const { B, L, S, Dv, A } = a;
    // The kernels below also loop over L (dka, dvPart, dValues) and B (dv): held to the row
    // length the runtime checks for S (GPU_MAX_ROW_LENGTH).
    for (const [name, n] of [['L', L], ['B', B]] as const) {
      if (n > GPU_MAX_ROW_LENGTH) throw new GpuLimitError('MAX_ROW_LENGTH', `gpu additiveScoresBackward would loop over ${n} entries along ${name}, more than the ${GPU_MAX_ROW_LENGTH} it is verified to read correctly; use another backend`);
    }
    const P = rt.input(a.weights, [S, L, B]);
    const dO = rt.input(a.dOut, [Dv, L, B]);
    const V = rt.input(a.values, [Dv, S, B]);
    const ka = rt.input(a.ka, [A, S, B]);
    const qa = a.qa ? rt.input(a.qa, [A, L, B]) : null;
    // dP_ij = dOut_i·values_j where P_ij ≠ 0 (an excluded key's values are never read).
    const dpSrc = fn(
      ['P', 'dO', 'V'],
      `  let j = this.thread.x;
  let i = this.thread.y;
  let b = this.thread.z;
  if (P[b][i][j] == 0.0) { return 0.0; }
  let s = 0.0;
  for (let d = 0; d < this.constants.DV; d++) {
    s += dO[b][i][d] * V[b][j][d];
  }
  return s;`,
    );
    const dp = rt.run(scope, { name: 'additiveScoresBackward.dP', src: dpSrc, output: [S, L, B], constants: { DV: Dv } }, [P, dO, V]);
    const deltaSrc = fn(
      ['P', 'dp'],
      `  let i = this.thread.y;
  let b = this.thread.z;
  let s = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    s += P[b][i][j] * dp[b][i][j];
  }
  return s;`,
    );
    const delta = rt.run(scope, { name: 'additiveScoresBackward.delta', src: deltaSrc, output: [1, L, B], constants: { S } }, [P, dp]);
    const deSrc = fn(
      ['P', 'dp', 'dl'],
      `  let j = this.thread.x;
  let i = this.thread.y;
  let b = this.thread.z;
  let p = P[b][i][j];
  if (p == 0.0) { return 0.0; }
  return p * (dp[b][i][j] - dl[b][i][0]);`,
    );
    const de = rt.run(scope, { name: 'additiveScoresBackward.dE', src: deSrc, output: [S, L, B], constants: {} }, [P, dp, delta]);
    const pre = qa ? 'qa[b][i][u] + ka[b][j][u]' : 'ka[b][j][u]';
    const withQ = (params: string[]) => (qa ? [...params, 'qa'] : params);
    const withQa = <T>(args: T[]) => (qa ? [...args, qa] : args);
    // One pair's g = dE·v·(1 − t²) (or, dv: dE·t), skipped where dE = 0.
    const pair = (into: string, term: 'g' | 't') => `    let e = de[b][i][j];
    if (e == 0.0) { ${into} += 0.0; } else {
${tanhInline(pre, 'th').replace(/^/gm, '    ')}
      ${into} += ${term === 'g' ? 'e * vv[u] * (1.0 - th * th)' : 'e * th'};
    }`;
    let dqa: Float32Array | undefined;
    if (qa) {
      const src = fn(
        withQ(['de', 'ka', 'vv']),
        `  let u = this.thread.x;
  let i = this.thread.y;
  let b = this.thread.z;
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
${pair('acc', 'g')}
  }
  return acc;`,
      );
      dqa = rt.read(rt.run(scope, { name: 'additiveScoresBackward.dqa', src, output: [A, L, B], constants: { S } }, withQa([de, ka, a.v])), B * L * A);
    }
    const dkaSrc = fn(
      withQ(['de', 'ka', 'vv']),
      `  let u = this.thread.x;
  let j = this.thread.y;
  let b = this.thread.z;
  let acc = 0.0;
  for (let i = 0; i < this.constants.L; i++) {
${pair('acc', 'g')}
  }
  return acc;`,
    );
    const dka = rt.read(rt.run(scope, { name: 'additiveScoresBackward.dka', src: dkaSrc, output: [A, S, B], constants: { L } }, withQa([de, ka, a.v])), B * S * A);
    const dvPartSrc = fn(
      withQ(['de', 'ka', 'vv']),
      `  let u = this.thread.x;
  let b = this.thread.y;
  let acc = 0.0;
  for (let i = 0; i < this.constants.L; i++) {
    for (let j = 0; j < this.constants.S; j++) {
${pair('acc', 't').replace(/^/gm, '  ')}
    }
  }
  return acc;`,
    );
    const dvPart = rt.run(scope, { name: 'additiveScoresBackward.dvPart', src: dvPartSrc, output: [A, B, 1], constants: { L, S } }, withQa([de, ka, a.v]));
    const dvSrc = fn(
      ['pt'],
      `  let acc = 0.0;
  for (let b = 0; b < this.constants.B; b++) {
    acc += pt[0][b][this.thread.x];
  }
  return acc;`,
    );
    const dv = rt.read(rt.run(scope, { name: 'additiveScoresBackward.dv', src: dvSrc, output: [A, 1, 1], constants: { B } }, [dvPart]), A);
    const dValuesSrc = fn(
      ['P', 'dO'],
      `  let d = this.thread.x;
  let j = this.thread.y;
  let b = this.thread.z;
  let acc = 0.0;
  for (let i = 0; i < this.constants.L; i++) {
    let p = P[b][i][j];
    if (p == 0.0) { acc += 0.0; } else { acc += p * dO[b][i][d]; }
  }
  return acc;`,
    );
    const dValues = rt.read(rt.run(scope, { name: 'additiveScoresBackward.dValues', src: dValuesSrc, output: [Dv, S, B], constants: { L } }, [P, dO]), B * S * Dv);
    return dqa ? { dValues, dqa, dka, dv } : { dValues, dka, dv };
  });
}
