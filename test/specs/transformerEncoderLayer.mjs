// transformerEncoderLayer and positionalEncoding spec.
import { rnd, tensorOf } from './util.mjs';

export default function encoderSpec({ oracle, suite, d, tolFor, assertClose, ak, assert, backend }) {
  const test = suite('transformerEncoderLayer');
  const tol = tolFor('transformerEncoderLayer');
  const { transformerEncoderLayer, multiHeadAttention, layerNorm, linear, gelu, positionalEncoding } = ak;
  const paramsFor = (E, F, seed) => ({
    attention: { wq: rnd([E, E], seed, 0.3), bq: rnd([E], seed + 1, 0.1), wk: rnd([E, E], seed + 2, 0.3), bk: rnd([E], seed + 3, 0.1), wv: rnd([E, E], seed + 4, 0.3), bv: rnd([E], seed + 5, 0.1), wo: rnd([E, E], seed + 6, 0.3), bo: rnd([E], seed + 7, 0.1) },
    norm1: { gamma: rnd([E], seed + 8, 0.5), beta: rnd([E], seed + 9, 0.1) },
    ffn: { w1: rnd([E, F], seed + 10, 0.3), b1: rnd([F], seed + 11, 0.1), w2: rnd([F, E], seed + 12, 0.3), b2: rnd([E], seed + 13, 0.1) },
    norm2: { gamma: rnd([E], seed + 14, 0.5), beta: rnd([E], seed + 15, 0.1) },
  });
  const add = (a, b) => ({ data: a.data.map((x, i) => x + b.data[i]), shape: a.shape });

  for (const norm of ['post', 'pre']) {
    test(`${norm}-norm equals its definition composed from the public ops (reference)`, () => {
      const [B, L, E, H, F] = [2, 6, 8, 2, 12];
      const p = paramsFor(E, F, 1);
      const x = rnd([B, L, E], 2);
      const lens = new Int32Array([6, 4]);
      const o = d();
      const out = transformerEncoderLayer(x, p, { numHeads: H, norm, activation: 'gelu', causal: true, keyLengths: lens }, o);
      o.check();
      const R = { backend: 'reference' };
      const mha = (y) => multiHeadAttention(y, y, y, p.attention, { numHeads: H, causal: 'top-left', keyLengths: lens }, R); // the encoder's causal is top-left
      const ffn = (y) => linear(gelu(linear(y, p.ffn.w1, p.ffn.b1, R), {}, R), p.ffn.w2, p.ffn.b2, R);
      const n1 = (y) => layerNorm(y, p.norm1.gamma, p.norm1.beta, {}, R);
      const n2 = (y) => layerNorm(y, p.norm2.gamma, p.norm2.beta, {}, R);
      let want;
      if (norm === 'post') {
        const x1 = n1(add(x, mha(x)));
        want = n2(add(x1, ffn(x1)));
      } else {
        const x1 = add(x, mha(n1(x)));
        want = add(x1, ffn(n2(x1)));
      }
      assertClose(out, want, tol, 'output');
    });
  }

  for (const [B, L, E, H, F] of [[1, 1, 1, 1, 1], [3, 17, 12, 3, 20], [2, 50, 64, 2, 64], [1, 129, 16, 4, 65]]) {
    test(`random inputs match reference: B=${B} L=${L} E=${E} H=${H} F=${F}`, () => {
      const p = paramsFor(E, F, L + E);
      const x = rnd([B, L, E], L * E);
      const lens = new Int32Array(B).map((_, b) => Math.max(0, L - 2 * b));
      for (const opts of [{ numHeads: H }, { numHeads: H, norm: 'pre', activation: 'gelu', causal: true, keyLengths: lens }, { numHeads: H, causal: true, eps: 1e-3 }]) {
        const o = d();
        oracle('transformerEncoderLayer', [x, p, opts], transformerEncoderLayer(x, p, opts, o));
        o.check();
      }
      const o = d({ verify: { rows: 4 } });
      transformerEncoderLayer(x, { attention: p.attention, ffn: { w1: p.ffn.w1, w2: p.ffn.w2 } }, { numHeads: H, norm: 'pre' }, o);
      o.check();
    });
  }

  if (backend === 'reference') {
    test('positionalEncoding matches sin/cos at known positions', () => {
      const pe = positionalEncoding(50, 6);
      assert.equal(pe.shape, [50, 6]);
      const at = (p, c) => pe.data[p * 6 + c];
      assert.is(at(0, 0), 0);
      assert.is(at(0, 1), 1);
      assertClose([at(1, 0), at(1, 1)], [Math.fround(Math.sin(1)), Math.fround(Math.cos(1))], { atol: 0, rtol: 0 });
      assertClose([at(7, 2), at(7, 3)], [Math.fround(Math.sin(7 / Math.pow(10000, 2 / 6))), Math.fround(Math.cos(7 / Math.pow(10000, 2 / 6)))], { atol: 0, rtol: 0 });
      assertClose([at(49, 4), at(49, 5)], [Math.fround(Math.sin(49 / Math.pow(10000, 4 / 6))), Math.fround(Math.cos(49 / Math.pow(10000, 4 / 6)))], { atol: 0, rtol: 0 });
      const odd = positionalEncoding(3, 5);
      assert.is(odd.data[2 * 5 + 4], Math.fround(Math.sin(2 / Math.pow(10000, 4 / 5))), 'odd E: the last column is a sine');
    });
  }

  test.run();
}
