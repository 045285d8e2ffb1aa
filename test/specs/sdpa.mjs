// sdpa spec: known answers, invariants, edge cases and cross-checks against reference.
import { at, maskOf, rnd, tensorOf } from './util.mjs';
import { oracleSdpa } from './oracle.mjs';

export default function sdpaSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('sdpa');
  const tol = tolFor('sdpa');
  const { sdpa } = ak;

  test('uniform keys give the mean of the values', () => {
    const [B, H, L, S, D, Dv] = [2, 3, 5, 9, 8, 6];
    const q = rnd([B, H, L, D], 1);
    const row = rnd([D], 2);
    const k = tensorOf([B, H, S, D], (b, h, j, c) => row.data[c]);
    const v = rnd([B, H, S, Dv], 3);
    const o = d();
    const out = sdpa(q, k, v, {}, o);
    o.check();
    const want = tensorOf([B, H, L, Dv], (b, h, i, c) => {
      let s = 0;
      for (let j = 0; j < S; j++) s += at(v, b, h, j, c);
      return s / S;
    });
    assertClose(out, want, tol, 'output');
  });

  test('a dominant logit selects one value', () => {
    const [B, H, L, S, D] = [1, 2, 4, 11, 5];
    const q = rnd([B, H, L, D], 4, 0.1);
    const k = rnd([B, H, S, D], 5, 0.1);
    const v = rnd([B, H, S, D], 6);
    const pick = (i) => (3 * i + 1) % S;
    const bias = tensorOf([H, L, S], (h, i, j) => (j === pick(i) ? 60 : 0));
    const o = d();
    const out = sdpa(q, k, v, { bias }, o);
    o.check();
    const want = tensorOf([B, H, L, D], (b, h, i, c) => at(v, b, h, pick(i), c));
    assertClose(out, want, tol, 'output');
  });

  for (const [L, S] of [[7, 7], [3, 9], [9, 4]]) {
    test(`causal equals the explicit bottom-right mask (L=${L}, S=${S})`, () => {
      const q = rnd([2, 2, L, 16], 7);
      const k = rnd([2, 2, S, 16], 8);
      const v = rnd([2, 2, S, 16], 9);
      const o1 = d();
      const c = sdpa(q, k, v, { causal: true, returnWeights: true }, o1);
      o1.check();
      const mask = maskOf([L, S], (i, j) => j <= i + S - L);
      const o2 = d();
      const m = sdpa(q, k, v, { mask, returnWeights: true }, o2);
      o2.check();
      assertClose(c.output, m.output, tol, 'output');
      assertClose(c.weights, m.weights, tol, 'weights');
      // the semantics themselves: weight is zero exactly where j > i + S - L
      for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) if (j > i + S - L) assert.is(at(c.weights, 1, 1, i, j), 0);
      if (L > S) for (let c2 = 0; c2 < 16; c2++) assert.is(at(c.output, 0, 0, 0, c2), 0, 'a query row with no visible key is zero');
    });
  }

  test('grouped-query equals repeating the kv heads', () => {
    const [B, Hq, Hkv, L, S, D] = [2, 6, 2, 5, 7, 9];
    const q = rnd([B, Hq, L, D], 10);
    const k = rnd([B, Hkv, S, D], 11);
    const v = rnd([B, Hkv, S, D], 12);
    const g = Hq / Hkv;
    const kr = tensorOf([B, Hq, S, D], (b, h, j, c) => at(k, b, Math.floor(h / g), j, c));
    const vr = tensorOf([B, Hq, S, D], (b, h, j, c) => at(v, b, Math.floor(h / g), j, c));
    const o = d();
    const gqa = sdpa(q, k, v, { causal: true }, o);
    o.check();
    const full = sdpa(q, kr, vr, { causal: true }, d());
    assertClose(gqa, full, tol, 'output');
  });

  test('weights rows sum to 1 and are the probabilities the output used', () => {
    const [B, H, L, S, D] = [2, 2, 6, 10, 4];
    const q = rnd([B, H, L, D], 13);
    const k = rnd([B, H, S, D], 14);
    const v = rnd([B, H, S, D], 15);
    const o = d();
    const { output, weights, lse } = sdpa(q, k, v, { returnWeights: true, returnLse: true }, o);
    o.check();
    assert.equal(weights.shape, [B, H, L, S]);
    assert.equal(lse.shape, [B, H, L]);
    for (let r = 0; r < B * H * L; r++) {
      let s = 0;
      for (let j = 0; j < S; j++) s += weights.data[r * S + j];
      assert.ok(Math.abs(s - 1) < 1e-5, `row ${r} sums to ${s}`);
    }
    const recomputed = tensorOf([B, H, L, D], (b, h, i, c) => {
      let s = 0;
      for (let j = 0; j < S; j++) s += at(weights, b, h, i, j) * at(v, b, h, j, c);
      return s;
    });
    assertClose(output, recomputed, { atol: 1e-5, rtol: 1e-4 }, 'output vs weights·v');
  });

  test('lse of equal logits is log(S)', () => {
    const S = 13;
    const q = tensorOf([1, 1, 2, 3], () => 0);
    const k = rnd([1, 1, S, 3], 16);
    const v = rnd([1, 1, S, 3], 17);
    const o = d();
    const { lse } = sdpa(q, k, v, { returnLse: true }, o);
    o.check();
    assertClose(lse, new Float32Array([Math.log(S), Math.log(S)]), tol, 'lse');
  });

  test('permuting keys and values together leaves the output unchanged', () => {
    const [B, H, L, S, D] = [1, 2, 5, 12, 7];
    const q = rnd([B, H, L, D], 18);
    const k = rnd([B, H, S, D], 19);
    const v = rnd([B, H, S, D], 20);
    const perm = Array.from({ length: S }, (_, j) => (j * 5 + 3) % S);
    const kp = tensorOf([B, H, S, D], (b, h, j, c) => at(k, b, h, perm[j], c));
    const vp = tensorOf([B, H, S, D], (b, h, j, c) => at(v, b, h, perm[j], c));
    const a = sdpa(q, k, v, {}, d());
    const o = d();
    const p = sdpa(q, kp, vp, {}, o);
    o.check();
    assertClose(p, a, tol, 'output');
  });

  test('edge sizes: L = 1, S = 1 (output = v), D = 1', () => {
    const v1 = rnd([2, 3, 1, 5], 21);
    const o = d();
    const one = sdpa(rnd([2, 3, 4, 3], 22), rnd([2, 3, 1, 3], 23), v1, { returnWeights: true }, o);
    o.check();
    const want = tensorOf([2, 3, 4, 5], (b, h, i, c) => at(v1, b, h, 0, c));
    assertClose(one.output, want, tol, 'S=1 output');
    assert.ok(one.weights.data.every((w) => w === 1), 'S=1 weights are exactly 1');
    const o2 = d();
    sdpa(rnd([1, 1, 1, 1], 24), rnd([1, 1, 9, 1], 25), rnd([1, 1, 9, 1], 26), {}, o2);
    o2.check();
  });

  test('rows with nothing to attend to give zeros (mask, keyLengths = 0, all -Infinity bias), never NaN', () => {
    const [B, H, L, S, D] = [2, 2, 4, 6, 3];
    const q = rnd([B, H, L, D], 27);
    const k = rnd([B, H, S, D], 28);
    const v = rnd([B, H, S, D], 29);
    const mask = maskOf([B, 1, L, S], (b, h, i) => !(b === 0 && i === 2)); // row i=2 of batch 0 fully masked
    const o = d();
    const r = sdpa(q, k, v, { mask, returnWeights: true, returnLse: true }, o);
    o.check();
    for (let h = 0; h < H; h++) {
      for (let c = 0; c < D; c++) assert.is(at(r.output, 0, h, 2, c), 0);
      for (let j = 0; j < S; j++) assert.is(at(r.weights, 0, h, 2, j), 0);
      assert.is(at(r.lse, 0, h, 2), -Infinity);
    }
    assert.ok(r.output.data.every(Number.isFinite), 'no NaN anywhere');
    const o2 = d();
    const z = sdpa(q, k, v, { keyLengths: new Int32Array([0, S]) }, o2);
    o2.check();
    for (let f = 0; f < H * L * D; f++) assert.is(z.data[f], 0);
    const bias = tensorOf([L, S], (i) => (i === 1 ? -Infinity : 0));
    const o3 = d();
    const zb = sdpa(q, k, v, { bias }, o3);
    o3.check();
    for (let c = 0; c < D; c++) assert.is(at(zb, 1, 1, 1, c), 0);
  });

  test('keyLengths (+ each causal form, + window) equal the matching key-padding mask', () => {
    const [B, H, L, S, D] = [3, 2, 5, 8, 4];
    const q = rnd([B, H, L, D], 30);
    const k = rnd([B, H, S, D], 31);
    const v = rnd([B, H, S, D], 32);
    const lens = new Int32Array([8, 3, 1]);
    // causal form, the aligned position of query i in batch b, window
    const forms = [
      [true, (b, i) => i + lens[b] - L, null], // bottom-right from each batch's valid length
      ['bottom-right', (b, i) => i + lens[b] - L, { left: 2 }],
      ['top-left', (b, i) => i, null],
      [{ offset: new Int32Array([1, -2, 0]) }, (b, i) => i + [1, -2, 0][b], { left: 1, right: 0 }],
      [false, (b, i) => i + lens[b] - L, { left: 1, right: 2 }],
    ];
    for (const [causal, pos, window] of forms) {
      const o = d();
      const a = sdpa(q, k, v, { keyLengths: lens, causal, window }, o);
      o.check();
      const mask = maskOf([B, 1, L, S], (b, h, i, j) => {
        const p = pos(b, i);
        return j < lens[b] && (causal === false || j <= p) && (!window || ((window.left === undefined || j >= p - window.left) && (window.right === undefined || j <= p + window.right)));
      });
      assertClose(a, sdpa(q, k, v, { mask }, d()), tol, `output, causal ${JSON.stringify(causal)}, window ${JSON.stringify(window)}`);
    }
  });

  test("causal: true with keyLengths is aligned to each batch's valid length (a static KV cache)", () => {
    // Capacity 8, 6 valid tokens, queries are tokens 4 and 5: query 4 must not see key 5.
    const q = rnd([1, 1, 2, 4], 1), k = rnd([1, 1, 8, 4], 2), v = rnd([1, 1, 8, 4], 3);
    const o = d();
    const { weights } = sdpa(q, k, v, { causal: true, keyLengths: new Int32Array([6]), returnWeights: true }, o);
    o.check();
    for (let j = 0; j < 8; j++) {
      assert.is(weights.data[j] > 0, j <= 4, `query 4, key ${j}`);
      assert.is(weights.data[8 + j] > 0, j <= 5, `query 5, key ${j}`);
    }
  });

  test('NaN reaches only the rows it touches; NaN in a masked key does not leak', () => {
    const [B, H, L, S, D] = [1, 2, 4, 6, 3];
    const q = rnd([B, H, L, D], 33);
    q.data[(0 * L + 1) * D + 0] = NaN; // head 0, query row 1
    const k = rnd([B, H, S, D], 34);
    const v = rnd([B, H, S, D], 35);
    v.data[((1 * S) + 5) * D + 2] = NaN; // head 1, key 5 (masked below)
    k.data[((1 * S) + 5) * D + 0] = Infinity;
    const mask = maskOf([S], (j) => j !== 5);
    const o = d();
    const r = sdpa(q, k, v, { mask }, o);
    o.check();
    for (let i = 0; i < L; i++)
      for (let c = 0; c < D; c++) {
        const x = at(r, 0, 0, i, c);
        if (i === 1) assert.ok(Number.isNaN(x), 'the NaN query row is NaN');
        else assert.ok(Number.isFinite(x), `row ${i} stays finite`);
        assert.ok(Number.isFinite(at(r, 0, 1, i, c)), 'masked NaN/Inf key does not leak');
      }
    // unmasked NaN value: every row of that head sees it, the other head does not
    const v2 = rnd([B, H, S, D], 36);
    v2.data[(0 * S + 2) * D + 1] = NaN;
    const o2 = d();
    const r2 = sdpa(rnd([B, H, L, D], 37), k, v2, { mask }, o2);
    o2.check();
    for (let i = 0; i < L; i++) {
      assert.ok(Number.isNaN(at(r2, 0, 0, i, 1)), 'head 0 rows see the NaN value');
      assert.ok(Number.isFinite(at(r2, 0, 1, i, 1)), 'head 1 rows do not');
    }
  });

  test('huge and tiny logits stay finite and match reference (±1e4 bias, ±1e30 bias, tiny q)', () => {
    const [B, H, L, S, D] = [1, 2, 5, 9, 4];
    const q = rnd([B, H, L, D], 38);
    const k = rnd([B, H, S, D], 39);
    const v = rnd([B, H, S, D], 40);
    for (const big of [1e4, 1e30]) {
      const bias = tensorOf([L, S], (i, j) => ((i + j) % 3 === 0 ? big : (i + 2 * j) % 4 === 0 ? -big : 0));
      const o = d();
      const r = sdpa(q, k, v, { bias, returnWeights: true }, o);
      o.check();
      assert.ok(r.output.data.every(Number.isFinite), `finite with ±${big} logits`);
    }
    const o2 = d();
    sdpa(rnd([B, H, L, D], 41, 1e-20), k, v, { scale: 1e4 }, o2);
    o2.check();
  });

  const shapes = [
    // [B, Hq, Hkv, L, S, D, Dv]
    [1, 1, 1, 1, 1, 1, 1],
    [2, 4, 2, 7, 129, 17, 3],
    [1, 2, 1, 129, 7, 65, 64],
    [1, 3, 3, 1, 1000, 63, 64],
    [2, 2, 1, 33, 65, 64, 65],
    [1, 1, 1, 129, 129, 129, 1],
  ];
  for (const [B, Hq, Hkv, L, S, D, Dv] of shapes) {
    test(`random inputs match reference: B=${B} Hq=${Hq} Hkv=${Hkv} L=${L} S=${S} D=${D} Dv=${Dv}, every mask and bias kind`, () => {
      const seed = B * 1000 + L * 7 + S;
      const q = rnd([B, Hq, L, D], seed);
      const k = rnd([B, Hkv, S, D], seed + 1);
      const v = rnd([B, Hkv, S, D], seed + 2);
      const v2 = rnd([B, Hkv, S, Dv], seed + 2);
      const lens = new Int32Array(B).map((_, b) => (b === 0 ? S : Math.max(0, S - 3 * b)));
      const cases = [
        {},
        { causal: true, returnWeights: true, returnLse: true },
        { mask: maskOf([L, S], (i, j) => (i * 3 + j) % 4 !== 0) },
        { mask: maskOf([B, 1, 1, S], (b, h, i, j) => j % 3 !== 1 || j === 0) },
        { mask: maskOf([B, Hq, L, S], (b, h, i, j) => (b + h + i + j) % 5 !== 0), returnLse: true },
        { bias: rnd([Hq, 1, S], seed + 3, 2) },
        { bias: rnd([B, Hq, L, S], seed + 4), causal: true, keyLengths: lens },
        { keyLengths: lens, returnWeights: true, scale: 0.5 },
      ];
      for (const opts of cases) {
        const o = d();
        const got = sdpa(q, k, Dv === D ? v : v2, opts, o);
        o.check();
        if (backend === 'reference') {
          // verify compared reference with itself: check it against the independent oracle
          // (float64 both; the float32 results may differ by the final rounding: 2 ulps).
          const want = oracleSdpa(q, k, Dv === D ? v : v2, opts);
          const ulps = { atol: 1e-30, rtol: 2 ** -22 };
          assertClose(got.output ?? got, want.output, ulps, 'output vs oracle');
          if (opts.returnWeights) assertClose(got.weights, want.weights, ulps, 'weights vs oracle');
          if (opts.returnLse) assertClose(got.lse, want.lse, ulps, 'lse vs oracle');
        }
      }
      const o = d({ verify: { rows: 3 } });
      sdpa(q, k, Dv === D ? v : v2, { causal: true }, o);
      const r = o.check();
      assert.ok(r.verify.rowsChecked <= 3, 'sampled verify checks only the sampled rows');
    });
  }

  test('async twin gives the same result as the sync call', async () => {
    const q = rnd([1, 2, 9, 8], 50);
    const k = rnd([1, 2, 11, 8], 51);
    const v = rnd([1, 2, 11, 8], 52);
    const sync = sdpa(q, k, v, { causal: true }, { backend: d().backend });
    const o = d();
    const asy = await ak.sdpaAsync(q, k, v, { causal: true }, o);
    o.check();
    assertClose(asy, sync, { atol: 0, rtol: 0 }, 'async vs sync');
  });

  for (const [label, L, S, opts] of [
    ['block path', 70, 33, { causal: true }],
    ['row path', 1, 700, {}],
    ['weights path', 5, 9, { returnWeights: true, returnLse: true }],
  ]) {
    test(`out: the output is written into the caller's buffer (${label})`, async () => {
      const [B, Hq, Hkv, D, Dv] = [2, 4, 2, 17, 9];
      const q = rnd([B, Hq, L, D], 60);
      const k = rnd([B, Hkv, S, D], 61);
      const v = rnd([B, Hkv, S, Dv], 62);
      const fresh = sdpa(q, k, v, opts, { backend: d().backend });
      const out = new Float32Array(B * Hq * L * Dv).fill(NaN); // stale contents must not leak
      const o = d();
      const got = sdpa(q, k, v, { ...opts, out }, o);
      o.check();
      const gotOut = opts.returnWeights ? got.output : got;
      const want = opts.returnWeights ? fresh.output : fresh;
      assert.is(gotOut.data, out, 'the returned tensor wraps the caller\'s buffer');
      assert.equal(gotOut.shape, [B, Hq, L, Dv]);
      assertClose(gotOut, want, { atol: 0, rtol: 0 }, 'out vs a fresh output');
      if (opts.returnWeights) assertClose(got.weights, fresh.weights, { atol: 0, rtol: 0 }, 'weights');
      const out2 = new Float32Array(B * Hq * L * Dv).fill(7);
      const o2 = d();
      const asy = await ak.sdpaAsync(q, k, v, { ...opts, out: out2 }, o2);
      o2.check();
      assert.is((opts.returnWeights ? asy.output : asy).data, out2, 'async also returns the caller\'s buffer');
      assertClose(opts.returnWeights ? asy.output : asy, want, { atol: 0, rtol: 0 }, 'async out vs a fresh output');
    });
  }

  test.run();
}
