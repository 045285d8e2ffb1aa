// Jagged sdpa spec (issue #17 item 2): sdpa on jagged q, k, v on every backend.
//
// The oracle is the dense float64 oracleSdpa of oracle.mjs (written from the definitions, not
// from src/) run per sequence on that sequence's own slice: queries [1, Lq_b, Hq, D], keys
// [1, S_b, Hkv, D] ('blhd', which is the jagged rows' order), the causal form of that sequence,
// its mask and bias blocks [Lq_b, S_b]. Random and adversarial: empty sequences on either side or both,
// length 1, one ~500-long sequence among short ones, Lq_b != S_b both ways, GQA, every causal
// form, windows, softcap, masks, huge / tiny logits, NaN in one sequence that must not leak into
// the others; the padded + keyLengths path of the same data agrees row by row; on native, every
// thread count gives the same bits and async the same as sync.
import { createRequire } from 'module';
import { oracleSdpa } from './oracle.mjs';

/** A seeded uniform generator in [0, 1). */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

const offsetsOf = (lengths) => {
  const o = new Int32Array(lengths.length + 1);
  lengths.forEach((n, b) => (o[b + 1] = o[b] + n));
  return o;
};

/** A jagged tensor of `lengths` rows of [H, X] values, uniform in ±amp (seeded). */
function randJagged(R, lengths, H, X, amp = 1) {
  const offsets = offsetsOf(lengths);
  const data = new Float32Array(offsets[lengths.length] * H * X);
  for (let i = 0; i < data.length; i++) data[i] = (R() * 2 - 1) * amp;
  return { values: { data, shape: [offsets[lengths.length], H, X] }, offsets };
}

/** Per sequence b: the dense options of that sequence's slice. */
function sequenceOptions(opts, b, maskBlock, biasBlock) {
  const o = { layout: 'blhd' };
  for (const key of ['scale', 'softcap', 'window']) if (opts[key] !== undefined) o[key] = opts[key];
  if (biasBlock) o.bias = biasBlock;
  const c = opts.causal;
  if (c !== undefined) o.causal = typeof c === 'object' && c !== null ? { offset: typeof c.offset === 'number' ? c.offset : c.offset[b] } : c;
  if (maskBlock) o.mask = maskBlock;
  return o;
}

/**
 * The float64 oracle of jagged sdpa: for each sequence, oracleSdpa on its slice. Returns the
 * output [ΣLq, Hq, Dv] and lse [ΣLq, Hq] (Float64Array).
 */
export function oracleJaggedSdpa(q, k, v, opts = {}) {
  const B = q.offsets.length - 1;
  const [, Hq, D] = q.values.shape;
  const [, Hkv] = k.values.shape;
  const Dv = v.values.shape[2];
  const T = q.offsets[B];
  const output = new Float64Array(T * Hq * Dv);
  const lse = new Float64Array(T * Hq);
  let maskAt = 0;
  for (let b = 0; b < B; b++) {
    const q0 = q.offsets[b], Lb = q.offsets[b + 1] - q0;
    const k0 = k.offsets[b], Sb = k.offsets[b + 1] - k0;
    let maskBlock = null, biasBlock = null;
    if (opts.mask) maskBlock = { data: opts.mask.subarray(maskAt, maskAt + Lb * Sb), shape: [Lb, Sb] };
    if (opts.bias) biasBlock = { data: opts.bias.subarray(maskAt, maskAt + Lb * Sb), shape: [Lb, Sb] };
    maskAt += Lb * Sb;
    if (Lb === 0) continue;
    const slice = (t, r0, n, H, X) => ({ data: t.values.data.subarray(r0 * H * X, (r0 + n) * H * X), shape: [1, n, H, X] });
    const r = oracleSdpa(slice(q, q0, Lb, Hq, D), slice(k, k0, Sb, Hkv, D), slice(v, k0, Sb, Hkv, Dv), sequenceOptions(opts, b, maskBlock, biasBlock));
    output.set(r.output, q0 * Hq * Dv);
    // The dense lse is [1, Hq, Lb] (head-major); the jagged one [Lb, Hq].
    for (let h = 0; h < Hq; h++) for (let i = 0; i < Lb; i++) lse[(q0 + i) * Hq + h] = r.lse[h * Lb + i];
  }
  return { output, lse };
}

/** Lognormal-ish lengths: most short, some long (seeded). */
function longTailed(R, B, max) {
  return Array.from({ length: B }, () => Math.min(max, Math.floor(Math.exp(R() * R() * Math.log(max + 1)))));
}

export default function jaggedSdpaSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('sdpa on jagged q, k, v');
  const tol = tolFor('sdpa');
  const { sdpa, sdpaAsync } = ak;

  /** Run jagged sdpa (verified against reference by dispatch) and compare with the oracle. */
  const check = (q, k, v, opts, what) => {
    const o = d();
    let r;
    try {
      r = sdpa(q, k, v, { ...opts, returnLse: true }, o);
    } catch (e) {
      e.message = `${what}: ${e.message}`;
      throw e;
    }
    o.check();
    const want = oracleJaggedSdpa(q, k, v, opts);
    assert.equal(Array.from(r.output.offsets), Array.from(q.offsets), `${what}: output offsets are q's`);
    assert.equal(r.output.values.shape, [q.values.shape[0], q.values.shape[1], v.values.shape[2]], `${what}: output shape`);
    assert.equal(r.lse.values.shape, [q.values.shape[0], q.values.shape[1]], `${what}: lse shape`);
    assertClose(r.output.values, want.output, tol, `${what}: output vs the per-sequence float64 oracle`);
    assertClose(r.lse.values, want.lse, tol, `${what}: lse vs the per-sequence float64 oracle`);
    return r;
  };

  const CAUSAL = [undefined, true, 'bottom-right', 'top-left', { offset: 2 }, { offset: -1 }];

  test('closed form: zero queries weigh every visible key alike (the mean of its sequence\'s values)', () => {
    // Sequences of 3, 0, 1 and 4 events; v[t] = t + 10·h so every row's expected mean is exact.
    const lens = [3, 0, 1, 4];
    const offsets = offsetsOf(lens);
    const T = offsets[4], Hq = 2, D = 3;
    const q = { values: { data: new Float32Array(T * Hq * D), shape: [T, Hq, D] }, offsets };
    const k = { values: { data: Float32Array.from({ length: T * D }, (_, i) => i % 7), shape: [T, 1, D] }, offsets };
    const v = { values: { data: Float32Array.from({ length: T }, (_, t) => t), shape: [T, 1, 1] }, offsets };
    const o = d();
    const r = sdpa(q, k, v, { causal: true }, o);
    o.check();
    for (let b = 0; b < 4; b++)
      for (let i = 0; i < lens[b]; i++) {
        const t0 = offsets[b], want = t0 + i / 2; // the mean of rows t0..t0+i
        for (let h = 0; h < Hq; h++) assertClose([r.values.data[(t0 + i) * Hq + h]], [want], tol, `sequence ${b} row ${i} head ${h}`);
      }
  });

  test('random batches: self and cross attention, GQA, every causal form, windows, softcap, masks', () => {
    const R = rng(17);
    for (let n = 0; n < 24; n++) {
      const B = 1 + Math.floor(R() * 5);
      const Hkv = 1 + Math.floor(R() * 2), Hq = Hkv * (1 + Math.floor(R() * 3));
      const D = 1 + Math.floor(R() * 9), Dv = 1 + Math.floor(R() * 7);
      const cross = n % 2 === 1;
      const qLens = Array.from({ length: B }, () => (R() < 0.2 ? 0 : Math.floor(R() * 40)));
      if (qLens.every((x) => x === 0)) qLens[0] = 1; // (verify needs a row to compare)
      const sLens = cross ? Array.from({ length: B }, () => (R() < 0.2 ? 0 : Math.floor(R() * 40))) : qLens;
      const q = randJagged(R, qLens, Hq, D);
      const k = randJagged(R, sLens, Hkv, D);
      const v = randJagged(R, sLens, Hkv, Dv);
      const opts = {};
      const c = CAUSAL[n % CAUSAL.length];
      if (c !== undefined) opts.causal = c;
      if (n % 6 === 5) opts.causal = { offset: Int32Array.from({ length: B }, () => Math.floor(R() * 7) - 3) };
      if (n % 4 === 2) opts.window = R() < 0.5 ? { left: Math.floor(R() * 5) } : { left: Math.floor(R() * 5), right: Math.floor(R() * 3) };
      if (n % 5 === 3) opts.softcap = 0.5 + R() * 4;
      if (n % 3 === 1) {
        let size = 0;
        for (let b = 0; b < B; b++) size += qLens[b] * sLens[b];
        opts.mask = Uint8Array.from({ length: size }, () => (R() < 0.7 ? 1 : 0));
      }
      if (n % 7 === 4) opts.scale = 0.37;
      if (n % 4 === 1 || n % 5 === 3) {
        // A bias per sequence, some keys excluded by -Infinity.
        let size = 0;
        for (let b = 0; b < B; b++) size += qLens[b] * sLens[b];
        opts.bias = Float32Array.from({ length: size }, () => (R() < 0.1 ? -Infinity : (R() * 2 - 1) * 3));
      }
      check(q, k, v, opts, `case ${n}: B=${B} Hq=${Hq} Hkv=${Hkv} D=${D} Dv=${Dv} ${cross ? 'cross' : 'self'} Lq=[${qLens}] S=[${sLens}] ${JSON.stringify(opts, (key, x) => (x instanceof Uint8Array ? `mask(${x.length})` : x instanceof Float32Array ? `bias(${x.length})` : ArrayBuffer.isView(x) ? Array.from(x) : x))}`);
    }
  });

  test('empty sequences on the query side, the key side and both; length 1', () => {
    const R = rng(5);
    const qLens = [0, 3, 0, 1, 4, 1];
    const sLens = [0, 0, 5, 1, 7, 0];
    const q = randJagged(R, qLens, 2, 4), k = randJagged(R, sLens, 1, 4), v = randJagged(R, sLens, 1, 3);
    for (const causal of [false, true, 'top-left']) {
      const r = check(q, k, v, { causal }, `causal ${causal}`);
      // Sequence 1 (3 queries, no key) and 5 (1 query, no key): zeros and lse -Infinity.
      for (const t of [0, 1, 2, 8]) for (let h = 0; h < 2; h++) assert.is(r.lse.values.data[t * 2 + h], -Infinity, `row ${t} sees no key`);
    }
    // Every sequence empty on the query side: an empty output.
    const none = randJagged(R, [0, 0], 2, 4);
    const r = sdpa(none, k.offsets.length === 3 ? k : randJagged(R, [2, 3], 1, 4), randJagged(R, [2, 3], 1, 3), {}, d());
    assert.equal(r.values.shape, [0, 2, 3]);
  });

  test('one ~500-long sequence among short ones, causal self-attention and cross attention', () => {
    const R = rng(9);
    const lens = [3, 1, 0, 497, 2, 7, 1];
    const q = randJagged(R, lens, 4, 16), k = randJagged(R, lens, 2, 16), v = randJagged(R, lens, 2, 8);
    check(q, k, v, { causal: true }, 'causal self');
    check(q, k, v, { causal: true, window: { left: 37 } }, 'causal self, window 37');
    const sLens = [40, 0, 3, 5, 600, 1, 2];
    const k2 = randJagged(R, sLens, 2, 16), v2 = randJagged(R, sLens, 2, 8);
    check(q, k2, v2, {}, 'cross, Lq != S both ways');
    check(q, k2, v2, { causal: true }, 'cross, causal bottom-right per sequence');
  });

  test('huge and tiny logits, softcap over them', () => {
    const R = rng(11);
    const lens = [5, 9, 1, 12];
    const q = randJagged(R, lens, 2, 8, 100), k = randJagged(R, lens, 2, 8, 100), v = randJagged(R, lens, 2, 8);
    check(q, k, v, { causal: true }, 'logits ~ ±1e4');
    check(q, k, v, { softcap: 30 }, 'softcap 30 over ±1e4');
    const qt = randJagged(R, lens, 2, 8, 1e-20);
    check(qt, k, v, { causal: 'top-left' }, 'tiny logits');
  });

  test('a ±1e4 bias per sequence (the logits rounding is compared at the derived bound)', () => {
    const R = rng(41);
    const lens = [7, 0, 12, 3];
    const q = randJagged(R, lens, 2, 8), k = randJagged(R, lens, 1, 8), v = randJagged(R, lens, 1, 8);
    const size = lens.reduce((a, n) => a + n * n, 0);
    const bias = Float32Array.from({ length: size }, () => (R() * 2 - 1) * 1e4);
    // As the dense checks with logitMagnitude 1e4: the logit's float32 rounding (8·1e4·2^-24) on top.
    const cond = 8 * 1e4 * 2 ** -24;
    const wide = { rtol: Math.max(tol.rtol, cond), atol: Math.max(tol.atol, cond) };
    const o = d({ verify: wide });
    const r = sdpa(q, k, v, { causal: true, bias, returnLse: true }, o);
    o.check();
    const want = oracleJaggedSdpa(q, k, v, { causal: true, bias });
    assertClose(r.output.values, want.output, wide, 'output vs the per-sequence float64 oracle');
  });

  test('NaN / Inf in one sequence does not leak into the others', () => {
    const R = rng(13);
    const lens = [6, 4, 8];
    const q = randJagged(R, lens, 2, 4), k = randJagged(R, lens, 2, 4), v = randJagged(R, lens, 2, 4);
    const clean = sdpa(q, k, v, { causal: true }, d());
    const bad = (t) => ({ values: { data: t.values.data.slice(), shape: t.values.shape }, offsets: t.offsets });
    const qb = bad(q), kb = bad(k), vb = bad(v);
    const row = 6 * 2 * 4; // sequence 1's first element
    qb.values.data[row] = NaN;
    kb.values.data[row + 8] = NaN;
    vb.values.data[row + 3] = Infinity;
    const o = d();
    const r = sdpa(qb, kb, vb, { causal: true }, o);
    o.check();
    const n = 2 * 4; // elements per row
    for (let t = 0; t < 18; t++) {
      const inSeq1 = t >= 6 && t < 10;
      for (let e = 0; e < n; e++) {
        const got = r.values.data[t * n + e], want = clean.values.data[t * n + e];
        if (!inSeq1) assert.ok(Object.is(got, want), `row ${t} (not sequence 1) unchanged: ${got} vs ${want}`);
      }
    }
    assert.ok(r.values.data.subarray(6 * n, 10 * n).some(Number.isNaN), 'sequence 1 is NaN where it saw the NaN');
  });

  test('equals the padded + keyLengths path of the same data (every valid row)', () => {
    const R = rng(21);
    const lens = [4, 0, 13, 1, 9];
    const sLens = [6, 3, 2, 0, 11];
    const Hq = 4, Hkv = 2, D = 8, Dv = 5;
    const q = randJagged(R, lens, Hq, D), k = randJagged(R, sLens, Hkv, D), v = randJagged(R, sLens, Hkv, Dv);
    const pq = ak.toPadded(q), pk = ak.toPadded(k), pv = ak.toPadded(v);
    const Lmax = pq.padded.shape[1];
    const compare = (jag, dense, what) => {
      for (let b = 0; b < lens.length; b++)
        for (let i = 0; i < lens[b]; i++) {
          const t = q.offsets[b] + i;
          const got = jag.values.data.subarray(t * Hq * Dv, (t + 1) * Hq * Dv);
          const want = dense.data.subarray((b * Lmax + i) * Hq * Dv, (b * Lmax + i + 1) * Hq * Dv);
          assertClose(got, want, tol, `${what}: sequence ${b} row ${i}`);
        }
    };
    // Cross attention, no causal: the padded call masks the padded keys with keyLengths.
    compare(sdpa(q, k, v, {}, d()), sdpa(pq.padded, pk.padded, pv.padded, { layout: 'blhd', keyLengths: pk.lengths }, d()), 'cross');
    // Causal, each sequence bottom-right: the padded call's query i of sequence b sits at i + S_b - Lq_b.
    const offs = Int32Array.from(lens, (n, b) => sLens[b] - n);
    compare(sdpa(q, k, v, { causal: true }, d()), sdpa(pq.padded, pk.padded, pv.padded, { layout: 'blhd', keyLengths: pk.lengths, causal: { offset: offs } }, d()), 'causal');
    // Self-attention, causal: top-left on the padded batch is bottom-right per sequence.
    const ks = randJagged(R, lens, Hkv, D), vs = randJagged(R, lens, Hkv, Dv);
    const pks = ak.toPadded(ks), pvs = ak.toPadded(vs);
    compare(sdpa(q, ks, vs, { causal: true, window: { left: 3 } }, d()), sdpa(pq.padded, pks.padded, pvs.padded, { layout: 'blhd', keyLengths: pks.lengths, causal: 'top-left', window: { left: 3 } }, d()), 'self causal window');
  });

  test('async equals sync; out and outputDtype', async () => {
    const R = rng(23);
    const lens = [3, 40, 0, 17];
    const q = randJagged(R, lens, 2, 8), k = randJagged(R, lens, 1, 8), v = randJagged(R, lens, 1, 8);
    const sync = sdpa(q, k, v, { causal: true, returnLse: true }, { backend });
    const asy = await sdpaAsync(q, k, v, { causal: true, returnLse: true }, { backend });
    assert.equal(Array.from(asy.output.values.data), Array.from(sync.output.values.data), 'async output = sync');
    assert.equal(Array.from(asy.lse.values.data), Array.from(sync.lse.values.data), 'async lse = sync');
    const out = new Float32Array(60 * 2 * 8);
    const r = sdpa(q, k, v, { causal: true, out }, { backend });
    assert.ok(r.values.data === out, 'written into out');
    assert.equal(Array.from(out), Array.from(sync.output.values.data));
    const h = sdpa(q, k, v, { causal: true, outputDtype: 'bfloat16' }, { backend });
    assert.is(h.values.dtype, 'bfloat16');
    assert.equal(Array.from(h.values.data), Array.from(ak.toBFloat16(sync.output.values).data), 'outputDtype rounds the float32 result');
  });

  test('half-precision values: the float32 call on the decoded values', () => {
    const R = rng(29);
    const lens = [5, 0, 33];
    const q = randJagged(R, lens, 2, 8), k = randJagged(R, lens, 2, 8), v = randJagged(R, lens, 2, 8);
    const half = (t, conv) => ({ values: conv(t.values), offsets: t.offsets });
    const dec = (t) => ({ values: ak.toFloat32(t.values), offsets: t.offsets });
    const qh = half(q, ak.toFloat16), kh = half(k, ak.toBFloat16), vh = half(v, ak.toFloat16);
    const o = d();
    const got = sdpa(qh, kh, vh, { causal: true }, o);
    o.check();
    const want = sdpa(dec(qh), dec(kh), dec(vh), { causal: true }, { backend });
    assertClose(got.values, want.values, { atol: 0, rtol: 0 }, 'half = float32 on the decoded values');
  });

  if (backend === 'native') {
    test('native: bit-identical for 1, 2 and 3 threads', () => {
      const R = rng(31);
      const lens = longTailed(R, 40, 300);
      const sLens = longTailed(R, 40, 300);
      const q = randJagged(R, lens, 4, 16), k = randJagged(R, sLens, 2, 16), v = randJagged(R, sLens, 2, 16);
      const n0 = ak.getThreads();
      try {
        const runs = [1, 2, 3].map((n) => {
          ak.setThreads(n);
          return sdpa(q, k, v, { causal: true, returnLse: true }, { backend });
        });
        for (const r of runs.slice(1)) {
          assert.equal(Array.from(r.output.values.data), Array.from(runs[0].output.values.data), 'output');
          assert.equal(Array.from(r.lse.values.data), Array.from(runs[0].lse.values.data), 'lse');
        }
      } finally {
        ak.setThreads(n0);
      }
    });

    test('native addon: hostile jagged arguments are errors, never a crash (sync and async)', async () => {
      // The kernel args an sdpa call on jagged rows builds, captured by a throw-away backend.
      let captured = null;
      const SPY = '__jagged_spy__';
      ak.registerBackend({ name: SPY, probe: () => ({ available: true }), kernels: { sdpa: (a) => { captured = a; throw new Error('captured'); } }, tolerances: { default: { rtol: 0, atol: 0 } } });
      const R = rng(37);
      const q = randJagged(R, [3, 0, 5], 2, 4), k = randJagged(R, [2, 4, 6], 1, 4), v = randJagged(R, [2, 4, 6], 1, 3);
      try {
        assert.throws(() => sdpa(q, k, v, { causal: true, mask: new Uint8Array(3 * 2 + 5 * 6).fill(1), returnLse: true }, { backend: SPY }), /captured/);
      } finally {
        ak.unregisterBackend(SPY);
      }
      const addon = createRequire(import.meta.url)(ak.nativeInfo().path);
      const good = addon.sdpa({ ...captured });
      assert.ok(good.output instanceof Float32Array && good.output.length === 8 * 2 * 3, 'the captured args run');
      const I = (xs) => Int32Array.from(xs);
      const variants = [
        ['qOffsets decreasing', { qOffsets: I([0, 5, 3, 8]) }],
        ['qOffsets not starting at 0', { qOffsets: I([1, 3, 3, 8]) }],
        ['qOffsets past the rows', { qOffsets: I([0, 3, 3, 9]) }],
        ['qOffsets short of the rows', { qOffsets: I([0, 3, 3, 7]) }],
        ['a sequence longer than L', { qOffsets: I([0, 0, 0, 8]) }],
        ['kvOffsets too long a sequence', { kvOffsets: I([0, 0, 0, 12]) }],
        ['qOffsets of the wrong length', { qOffsets: I([0, 3, 8]) }],
        ['qOffsets a Float64Array', { qOffsets: Float64Array.from([0, 3, 3, 8]) }],
        ['qOffsets huge values', { qOffsets: I([0, 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1]) }],
        ['kvOffsets missing', { kvOffsets: undefined }],
        ['qOffsets missing', { qOffsets: null }],
        ['jaggedMask of the wrong size', { jaggedMask: new Uint8Array(5) }],
        ['jaggedBias of the wrong size', { jaggedBias: new Float32Array(5) }],
        ['jaggedBias a Float64Array', { jaggedBias: new Float64Array(3 * 2 + 5 * 6) }],
        ['a dense bias with jagged rows', { bias: { data: new Float32Array(1), strides: [0, 0, 0, 0] } }],
        ['a dense mask with jagged rows', { mask: { data: new Uint8Array(1), strides: [0, 0, 0, 0] } }],
        ['keyLengths with jagged rows', { keyLengths: I([1, 1, 1]) }],
        ['returnWeights with jagged rows', { returnWeights: true }],
        ["layout 'bhld' with jagged rows", { layout: 'bhld' }],
        ['B larger than the offsets', { B: 4 }],
        ['q detached', { q: (() => { const x = captured.q.slice(); structuredClone(x.buffer, { transfer: [x.buffer] }); return x; })() }],
      ];
      const run = async (what, args) => {
        for (const mode of ['sync', 'async']) {
          try {
            const r = mode === 'sync' ? addon.sdpa(args) : await addon.sdpaAsync(args);
            assert.unreachable(`${what} (${mode}): expected an error, got ${Object.keys(r)}`);
          } catch (e) {
            assert.ok(e instanceof Error && !/expected an error/.test(e.message), `${what} (${mode}): ${e && e.message}`);
          }
        }
      };
      for (const [what, over] of variants) await run(what, { ...captured, ...over });
      // A getter read after the offsets that rewrites them: the kernel reads the addon's checked copy.
      const qo = captured.qOffsets.slice();
      const args = { ...captured, qOffsets: qo };
      Object.defineProperty(args, 'scale', { enumerable: true, get() { qo[1] = 1e9; qo[3] = -5; return captured.scale; } });
      const r = addon.sdpa(args);
      assert.equal(Array.from(r.output), Array.from(good.output), 'the result of the offsets as checked');
    });
  }
  test.run();
}
