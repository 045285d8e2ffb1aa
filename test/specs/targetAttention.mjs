// targetAttention (DIN) spec.
import { at, rnd, tensorOf } from './util.mjs';
import { ORACLE_TOL, oracleTarget } from './oracle.mjs';

export default function targetSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('targetAttention');
  const tol = tolFor('targetAttention');
  const { targetAttention } = ak;
  const mlp = (D, hidden, seed, scale = 0.3) => {
    const layers = [];
    let inDim = 4 * D;
    [...hidden, 1].forEach((out, l) => {
      layers.push({ w: rnd([inDim, out], seed + 2 * l, scale), b: rnd([out], seed + 2 * l + 1, 0.1) });
      inDim = out;
    });
    return { layers };
  };

  test('softmax-normalised with a constant MLP gives the mean of the (valid) history', () => {
    const [B, S, D] = [3, 6, 5];
    const history = rnd([B, S, D], 1);
    const params = { layers: [{ w: tensorOf([4 * D, 3], () => 0), b: tensorOf([3], () => 0.5) }, { w: tensorOf([3, 1], () => 0), b: tensorOf([1], () => 2) }] };
    const lens = new Int32Array([6, 2, 1]);
    const o = d();
    const r = targetAttention(rnd([B, D], 2), history, params, { normalize: 'softmax', keyLengths: lens, returnWeights: true }, o);
    o.check();
    const want = tensorOf([B, D], (b, c) => {
      let s = 0;
      for (let j = 0; j < lens[b]; j++) s += at(history, b, j, c);
      return s / lens[b];
    });
    assertClose(r.output, want, tol, 'output');
    // normalize 'none': the constant weight is the last bias, 2
    const o2 = d();
    const raw = targetAttention(rnd([B, D], 2), history, params, { keyLengths: lens, returnWeights: true }, o2);
    o2.check();
    for (let b = 0; b < B; b++) for (let j = 0; j < S; j++) assert.is(at(raw.weights, b, j), j < lens[b] ? 2 : 0);
  });

  for (const [B, S, D, hidden] of [[1, 1, 1, [1]], [4, 50, 32, [80, 40]], [3, 17, 3, [7]], [2, 129, 17, [16, 8, 4]]]) {
    for (const activation of ['sigmoid', 'relu', 'prelu']) {
      test(`random inputs match reference: B=${B} S=${S} D=${D} hidden=${hidden.join('-')} ${activation}`, () => {
        const seed = S + D * 7;
        const params = mlp(D, hidden, seed);
        if (activation === 'prelu') params.layers[0].alpha = rnd([hidden[0]], seed + 99, 0.5);
        const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
        for (const opts of [{ activation }, { activation, normalize: 'softmax', keyLengths: lens, returnWeights: true }, { activation, keyLengths: lens, returnWeights: true }]) {
          const o = d();
          const t = rnd([B, D], seed + 50), h = rnd([B, S, D], seed + 51);
          const r = targetAttention(t, h, params, opts, o);
          o.check();
          if (backend === 'reference') {
            // verify compared reference with itself: check it against the independent oracle.
            const want = oracleTarget(t, h, params, opts);
            assertClose(r.output ?? r, want.output, ORACLE_TOL, 'output vs oracle');
            if (opts.returnWeights) assertClose(r.weights, want.weights, ORACLE_TOL, 'weights vs oracle');
          }
        }
      });
    }
  }

  test.run();
}
