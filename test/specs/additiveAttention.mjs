// additiveAttention spec.
import { at, maskOf, rnd, tensorOf } from './util.mjs';
import { ORACLE_TOL, oracleAdditive } from './oracle.mjs';

export default function additiveSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('additiveAttention');
  const tol = tolFor('additiveAttention');
  const { additiveAttention } = ak;

  test('v = 0 averages the values (with a query, and pooling)', () => {
    const [B, L, S, Dq, Dk, Dv, A] = [2, 3, 7, 5, 4, 6, 8];
    const values = rnd([B, S, Dv], 1);
    const params = { wq: rnd([Dq, A], 2), wk: rnd([Dk, A], 3), b: rnd([A], 4), v: tensorOf([A], () => 0) };
    const mean = (T) => tensorOf([B, T, Dv], (b, i, c) => {
      let s = 0;
      for (let j = 0; j < S; j++) s += at(values, b, j, c);
      return s / S;
    });
    const o = d();
    const r = additiveAttention(rnd([B, L, Dq], 5), rnd([B, S, Dk], 6), values, params, { returnWeights: true }, o);
    o.check();
    assertClose(r.output, mean(L), tol, 'output');
    assertClose(r.weights, tensorOf([B, L, S], () => 1 / S), tol, 'weights');
    const o2 = d();
    const pooled = additiveAttention(null, rnd([B, S, Dk], 7), values, { wk: params.wk, b: params.b, v: params.v }, {}, o2);
    o2.check();
    assert.equal(pooled.shape, [B, 1, Dv]);
    assertClose(pooled, mean(1), tol, 'pooled');
  });

  test('one dominant score selects one value', () => {
    const [B, S, Dk, Dv, A] = [1, 5, 1, 3, 1];
    // score_j = v·tanh(k_j·wk) with v = 50: the largest key dominates by exp(50·Δtanh)
    const keys = tensorOf([B, S, Dk], (b, j) => (j === 3 ? 3 : -3 + j * 0.1));
    const values = rnd([B, S, Dv], 8);
    const o = d();
    const r = additiveAttention(null, keys, values, { wk: tensorOf([1, 1], () => 1), b: tensorOf([1], () => 0), v: tensorOf([A], () => 50) }, {}, o);
    o.check();
    assertClose(r, tensorOf([B, 1, Dv], (b, i, c) => at(values, 0, 3, c)), { atol: 1e-5, rtol: 1e-5 }, 'output');
  });

  for (const [B, L, S, Dq, Dk, Dv, A] of [[1, 1, 1, 1, 1, 1, 1], [3, 4, 50, 64, 64, 64, 64], [2, 7, 129, 17, 3, 65, 33]]) {
    test(`random inputs match reference: B=${B} L=${L} S=${S} Dq=${Dq} Dk=${Dk} Dv=${Dv} A=${A}`, () => {
      const seed = S * 3 + A;
      const params = { wq: rnd([Dq, A], seed, 0.3), wk: rnd([Dk, A], seed + 1, 0.3), b: rnd([A], seed + 2, 0.1), v: rnd([A], seed + 3) };
      const q = rnd([B, L, Dq], seed + 4);
      const k = rnd([B, S, Dk], seed + 5);
      const v = rnd([B, S, Dv], seed + 6);
      const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
      for (const opts of [{}, { returnWeights: true, keyLengths: lens }, { mask: maskOf([B, L, S], (b, i, j) => (b + i + j) % 3 !== 0) }]) {
        const o = d();
        const r1 = additiveAttention(q, k, v, params, opts, o);
        o.check();
        const o2 = d();
        const poolOpts = opts.mask ? { mask: maskOf([B, 1, S], (b, i, j) => j % 2 === 0) } : opts;
        const r2 = additiveAttention(null, k, v, params, poolOpts, o2);
        o2.check();
        if (backend === 'reference') {
          // verify compared reference with itself: check it against the independent oracle.
          const { wq, ...pool } = params;
          for (const [got, want, what] of [[r1, oracleAdditive(q, k, v, params, opts), 'attention'], [r2, oracleAdditive(null, k, v, pool, poolOpts), 'pooling']]) {
            assertClose(got.output ?? got, want.output, ORACLE_TOL, `${what} output vs oracle`);
            if (got.weights) assertClose(got.weights, want.weights, ORACLE_TOL, `${what} weights vs oracle`);
          }
        }
      }
      if (B > 1) {
        const r = additiveAttention(q, k, v, params, { keyLengths: lens, returnWeights: true }, { backend: d().backend });
        for (let c = 0; c < Dv; c++) assert.is(at(r.output, 1, 0, c), 0, 'no valid key → zeros');
      }
    });
  }

  test.run();
}
