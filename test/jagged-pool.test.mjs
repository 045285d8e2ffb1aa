// Jagged pooling (#17 item 2): targetAttention and additiveAttention over jagged histories, and
// topK's exclusion lists as one jagged index list, on every backend (reference, native, gpu;
// ATTNKIT_TEST_BACKENDS restricts them, as the ISA jobs do).
// - Against the independent float64 oracles of test/specs/oracle.mjs (written from the
//   definitions, not from src/), applied per user on that user's own slice: random and adversarial
//   lengths (empty histories, length 1, one ~500 long among short ones), odd sizes, every
//   activation, both normalizations, NaN in one user's history not leaking into another's,
//   huge and tiny logits. Tolerance: the backend's verify tolerance (the descriptor's, measured
//   against reference) plus the oracle tolerance of the specs (reference's own float32 rounding).
// - The jagged call against the padded + keyLengths call of the same data on the same backend.
// - Half-precision jagged histories equal the float32 call on the decoded values, bit for bit.
// - Native: bit-identical at 1, 2 and 3 threads, async = sync, the addon refuses bad offsets
//   (typed JS errors, no crash) with no TypeScript in front.
// - additiveAttention with a per-user mask (Σ_b L·S_b entries): random masks, a fully masked row
//   and user, a NaN key hidden by the mask, against the oracle with each user's [L,S_b] mask and
//   the padded call with the equal padded mask.
// - Typed errors from TypeScript: bad offsets, keyLengths / returnSaved with jagged inputs, a
//   jagged mask of the wrong length or type.
// - topK: the jagged exclusion list equals the array-of-lists form bit for bit (and the oracle),
//   its typed errors; shardExclude of a jagged list equals the array form.
// In CI an unavailable backend fails; elsewhere it is a visible skip. On gpu, gpu.js's CPU
// fallback is refused by the backend itself (src/backends/gpu/runtime.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'module';
import * as ak from 'attnkit';
import { ORACLE_TOL, oracleAdditive, oracleTarget, oracleTopK } from './specs/oracle.mjs';
import { backendWanted, rnd, toleranceOf } from './specs/util.mjs';

const { ShapeError, ValueError, DTypeError } = ak;

/** A seeded generator (mulberry32) for lengths and picks; tensor values come from ak.random's seeds. */
function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

const offsetsOf = (lens) => {
  const o = new Int32Array(lens.length + 1);
  lens.forEach((l, b) => (o[b + 1] = o[b] + l));
  return o;
};

/** Rows lo..hi-1 of a [T, ...inner] tensor as a [1, hi-lo, ...inner] tensor (a copy). */
const slice = (t, lo, hi) => {
  const row = t.shape.slice(1).reduce((a, b) => a * b, 1);
  return { data: t.data.slice(lo * row, hi * row), shape: [1, hi - lo, ...t.shape.slice(1)] };
};
const rowOf = (t, b) => {
  const row = t.shape.slice(1).reduce((a, b2) => a * b2, 1);
  return { data: t.data.slice(b * row, (b + 1) * row), shape: [1, ...t.shape.slice(1)] };
};

/** The padded [B, S, ...inner] form of a jagged [T, ...inner] tensor, written here (not with ak.toPadded), padding `pad`. */
const padded = (t, offsets, S, pad = 0) => {
  const B = offsets.length - 1;
  const row = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const out = new Float32Array(B * S * row).fill(pad);
  for (let b = 0; b < B; b++) out.set(t.data.subarray(offsets[b] * row, offsets[b + 1] * row), b * S * row);
  return { data: out, shape: [B, S, ...t.shape.slice(1)] };
};

const mlp = (D, hidden, seed, scale = 0.3) => {
  const layers = [];
  let inDim = 4 * D;
  [...hidden, 1].forEach((out, l) => {
    layers.push({ w: rnd([inDim, out], seed + 2 * l, scale), b: rnd([out], seed + 2 * l + 1, 0.1) });
    inDim = out;
  });
  return { layers };
};
const additiveParams = (Dq, Dk, A, seed, scale = 0.4) => ({ wq: Dq ? rnd([Dq, A], seed, scale) : null, wk: rnd([Dk, A], seed + 1, scale), b: rnd([A], seed + 2, 0.1), v: rnd([A], seed + 3, scale) });

/** Per-user float64 oracle of targetAttention over a jagged history: the oracle on each user's slice. */
function targetOracle(target, hist, offsets, params, opts) {
  const B = offsets.length - 1, D = target.shape[1];
  const output = new Float64Array(B * D), weights = new Float64Array(offsets[B]);
  for (let b = 0; b < B; b++) {
    const r = oracleTarget(rowOf(target, b), slice(hist, offsets[b], offsets[b + 1]), params, opts);
    output.set(r.output, b * D);
    weights.set(r.weights, offsets[b]);
  }
  return { output, weights };
}

/**
 * Per-batch float64 oracle of additiveAttention over jagged keys / values; weights as [T, L]. A
 * jagged mask (Uint8Array of Σ_b L·n_b) gives each user its own [1, L, n_b] mask: the block
 * starting at L·offsets[b].
 */
function additiveOracle(query, keys, values, offsets, params, L, jaggedMask = null) {
  const B = offsets.length - 1, Dv = values.shape[1];
  const output = new Float64Array(B * L * Dv), weights = new Float64Array(offsets[B] * L);
  for (let b = 0; b < B; b++) {
    const n = offsets[b + 1] - offsets[b];
    const opts = jaggedMask ? { mask: { data: jaggedMask.slice(L * offsets[b], L * offsets[b + 1]), shape: [1, L, n] } } : {};
    const r = oracleAdditive(query ? rowOf(query, b) : null, slice(keys, offsets[b], offsets[b + 1]), slice(values, offsets[b], offsets[b + 1]), params, opts);
    output.set(r.output, b * L * Dv);
    for (let i = 0; i < L; i++) for (let j = 0; j < n; j++) weights[(offsets[b] + j) * L + i] = r.weights[i * n + j];
  }
  return { output, weights };
}

const sum = (a, b) => ({ atol: a.atol + b.atol, rtol: a.rtol + b.rtol });
const sameBits = (got, want, what) => {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.unreachable(`${what}[${i}]: ${got[i]} != ${want[i]}`);
};
function close(got, want, { atol, rtol }, what) {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = got[i], b = want[i];
    if (Number.isFinite(a) && Number.isFinite(b)) {
      if (Math.abs(a - b) > atol + rtol * Math.abs(b)) assert.unreachable(`${what}[${i}]: got ${a}, want ${b} (atol ${atol}, rtol ${rtol})`);
    } else if (!(Number.isNaN(b) ? Number.isNaN(a) : a === b)) assert.unreachable(`${what}[${i}]: got ${a}, want ${b} (non-finite values must match)`);
  }
}
const throwsTyped = (fn, cls, argument, what) =>
  assert.throws(fn, (e) => {
    if (!(e instanceof cls)) throw new Error(`${what}: expected ${cls.name}, got ${e?.constructor?.name}: ${e?.message}`);
    if (argument !== undefined && e.argument !== argument) throw new Error(`${what}: expected argument ${argument}, got ${e.argument} (${e.message})`);
    return true;
  }, what);

/** Length patterns: random short ones with empties and ones, one ~500 long among short, all empty, odd. */
function lengthCases(seed) {
  const R = rng(seed);
  return [
    { label: 'random short with empty and length-1 histories', lens: [0, 1, ...Array.from({ length: 9 }, () => R.int(0, 13)), 0] },
    { label: 'one long (~500) among short ones', lens: [3, 0, 497, 1, 2, 0, 5] },
    { label: 'every history empty', lens: [0, 0, 0] },
    { label: 'one user of one item', lens: [1] },
    { label: 'odd lengths around the 64-item task size', lens: [63, 64, 65, 127, 129, 0] },
  ];
}

function backendSuites(backend) {
  const info = ak.backends().find((b) => b.name === backend);
  if (!info || !info.available) {
    const why = info ? info.reason : 'not registered';
    const s = suite(`jagged pool · ${backend} · availability`);
    if (process.env.CI === 'true') s(`backend '${backend}' is available in CI`, () => assert.unreachable(`backend '${backend}' unavailable in CI: ${why}`));
    else {
      console.log(`SKIP: backend '${backend}' unavailable: ${why}`);
      s.skip(`jagged pooling on ${backend} (backend unavailable: ${why})`, () => {});
    }
    s.run();
    return;
  }
  // Every call is also cross-checked against reference at the descriptor's tolerance (verify).
  const d = { backend, verify: true };
  const tolT = sum(backend === 'reference' ? { atol: 0, rtol: 0 } : toleranceOf(backend, 'targetAttention'), ORACLE_TOL);
  const tolA = sum(backend === 'reference' ? { atol: 0, rtol: 0 } : toleranceOf(backend, 'additiveAttention'), ORACLE_TOL);

  // ---- targetAttention ----------------------------------------------------------------------
  const ts = suite(`jagged pool · ${backend} · targetAttention over a jagged history`);
  let seed = 100;
  for (const c of lengthCases(7)) {
    for (const [D, hidden] of [[3, [7]], [5, [16, 8]]]) {
      for (const activation of ['sigmoid', 'relu', 'prelu']) {
        for (const normalize of ['none', 'softmax']) {
          const s = seed++;
          ts(`${c.label}: D=${D} hidden=${hidden.join('-')} ${activation} ${normalize}: the per-user oracle, and the padded + keyLengths call`, () => {
            const offsets = offsetsOf(c.lens), B = c.lens.length, T = offsets[B];
            const S = Math.max(1, ...c.lens);
            const target = rnd([B, D], s), hist = rnd([T, D], s + 1);
            const params = mlp(D, hidden, s + 2);
            if (activation === 'prelu') params.layers[0].alpha = rnd([hidden[0]], s + 9, 0.5);
            const opts = { activation, normalize };
            const r = ak.targetAttention(target, ak.jagged(hist, offsets), params, { ...opts, returnWeights: true }, d);
            assert.equal(r.output.shape, [B, D]);
            assert.equal(r.weights.values.shape, [T]);
            assert.is(r.weights.offsets, offsets, 'weights carry the history offsets');
            const want = targetOracle(target, hist, offsets, params, opts);
            close(r.output.data, want.output, tolT, 'output vs oracle');
            close(r.weights.values.data, want.weights, tolT, 'weights vs oracle');
            for (let b = 0; b < B; b++) if (c.lens[b] === 0) for (let k = 0; k < D; k++) assert.is(r.output.data[b * D + k], 0, 'an empty history gives zeros');
            // The same data padded (with NaN: padding must never be read) + keyLengths, same backend.
            const keyLengths = Int32Array.from(c.lens);
            const p = ak.targetAttention(target, padded(hist, offsets, S, NaN), params, { ...opts, keyLengths, returnWeights: true }, d);
            close(r.output.data, p.output.data, backend === 'reference' ? { atol: 0, rtol: 0 } : tolT, 'jagged vs padded output');
            for (let b = 0; b < B; b++) for (let j = 0; j < c.lens[b]; j++) close([r.weights.values.data[offsets[b] + j]], [p.weights.data[b * S + j]], backend === 'reference' ? { atol: 0, rtol: 0 } : tolT, `weights[${b},${j}]`);
            // Without weights: the output alone is the same.
            const o = ak.targetAttention(target, { values: hist, offsets }, params, opts, d);
            sameBits(o.data, r.output.data, 'output without weights');
          });
        }
      }
    }
  }

  ts('NaN in one user\'s history stays in that user; the others match the oracle', () => {
    const lens = [4, 3, 0, 6], offsets = offsetsOf(lens), D = 4;
    const target = rnd([4, D], 501), hist = rnd([offsets[4], D], 502);
    hist.data[(offsets[1] + 1) * D + 2] = NaN;
    const params = mlp(D, [6], 503);
    for (const normalize of ['none', 'softmax']) {
      const r = ak.targetAttention(target, ak.jagged(hist, offsets), params, { normalize, returnWeights: true }, d);
      const want = targetOracle(target, hist, offsets, params, { normalize });
      close(r.output.data, want.output, tolT, `${normalize}: output vs oracle`);
      for (const b of [0, 2, 3]) for (let k = 0; k < D; k++) assert.ok(Number.isFinite(r.output.data[b * D + k]), `${normalize}: user ${b} finite`);
      assert.ok(Number.isNaN(r.output.data[1 * D + 0]), `${normalize}: user 1 is NaN`);
    }
  });

  ts('huge and tiny logits (softmax saturates to one item; tiny weights stay exact)', () => {
    const lens = [5, 2, 0, 9], offsets = offsetsOf(lens), D = 3;
    const target = rnd([4, D], 601), hist = rnd([offsets[4], D], 602);
    for (const scale of [300, 1e-20]) {
      const params = mlp(D, [5], 603, 1);
      params.layers[1].w.data.forEach((x, i, a) => (a[i] = x * scale));
      params.layers[1].b.data[0] *= scale;
      for (const normalize of ['none', 'softmax']) {
        const r = ak.targetAttention(target, ak.jagged(hist, offsets), params, { normalize, activation: 'relu', returnWeights: true }, d);
        const want = targetOracle(target, hist, offsets, params, { normalize, activation: 'relu' });
        close(r.output.data, want.output, tolT, `scale ${scale} ${normalize}: output`);
        close(r.weights.values.data, want.weights, tolT, `scale ${scale} ${normalize}: weights`);
      }
    }
  });

  ts('float16 / bfloat16 jagged histories equal the float32 call on the decoded values, bit for bit', () => {
    const lens = [3, 0, 70, 1], offsets = offsetsOf(lens), D = 6;
    const target = rnd([4, D], 701), hist = rnd([offsets[4], D], 702);
    const params = mlp(D, [8], 703);
    for (const [encode, decode] of [[ak.toFloat16, ak.toFloat32], [ak.toBFloat16, ak.toFloat32]]) {
      const h16 = encode(hist);
      const got = ak.targetAttention(target, ak.jagged(h16, offsets), params, { normalize: 'softmax', returnWeights: true }, d);
      const want = ak.targetAttention(target, ak.jagged(decode(h16), offsets), params, { normalize: 'softmax', returnWeights: true }, d);
      sameBits(got.output.data, want.output.data, `${h16.dtype}: output`);
      sameBits(got.weights.values.data, want.weights.values.data, `${h16.dtype}: weights`);
    }
  });

  ts('async = sync', async () => {
    const lens = [2, 0, 40, 7], offsets = offsetsOf(lens), D = 5;
    const target = rnd([4, D], 801), hist = rnd([offsets[4], D], 802), params = mlp(D, [9, 4], 803);
    const sync = ak.targetAttention(target, ak.jagged(hist, offsets), params, { normalize: 'softmax', returnWeights: true }, d);
    const asy = await ak.targetAttentionAsync(target, ak.jagged(hist, offsets), params, { normalize: 'softmax', returnWeights: true }, d);
    sameBits(asy.output.data, sync.output.data, 'output');
    sameBits(asy.weights.values.data, sync.weights.values.data, 'weights');
  });

  ts('verify cross-checks the jagged call against reference (the dispatcher maps jagged weights to their users)', () => {
    const lens = [6, 0, 1, 33], offsets = offsetsOf(lens), D = 4;
    const reports = [];
    ak.targetAttention(rnd([4, D], 811), ak.jagged(rnd([offsets[4], D], 812), offsets), mlp(D, [5], 813), { normalize: 'softmax', returnWeights: true }, { backend, verify: true, onReport: (r) => reports.push(r) });
    assert.is(reports.length, 1);
    assert.is(reports[0].backend, backend, 'ran on the requested backend');
    assert.ok(reports[0].verify.passed, 'verify passed');
    assert.ok(reports[0].verify.elementsChecked > 0, 'verify compared elements');
  });

  // ---- additiveAttention --------------------------------------------------------------------
  const as = suite(`jagged pool · ${backend} · additiveAttention over jagged keys / values`);
  seed = 2000;
  for (const c of lengthCases(11)) {
    for (const [L, Dq, Dk, Dv, A] of [[1, 0, 3, 5, 4], [3, 5, 7, 2, 9], [2, 4, 16, 33, 24]]) {
      const s = seed++;
      const pooled = Dq === 0;
      as(`${c.label}: ${pooled ? 'pooling' : `L=${L} Dq=${Dq}`} Dk=${Dk} Dv=${Dv} A=${A}: the per-row oracle, and the padded + keyLengths call`, () => {
        const offsets = offsetsOf(c.lens), B = c.lens.length, T = offsets[B];
        const S = Math.max(1, ...c.lens);
        const query = pooled ? null : rnd([B, L, Dq], s);
        const keys = rnd([T, Dk], s + 1), values = rnd([T, Dv], s + 2);
        const params = additiveParams(Dq, Dk, A, s + 3);
        const r = ak.additiveAttention(query, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { returnWeights: true }, d);
        assert.equal(r.output.shape, [B, L, Dv]);
        assert.equal(r.weights.values.shape, [T, L]);
        const want = additiveOracle(query, keys, values, offsets, params, L);
        close(r.output.data, want.output, tolA, 'output vs oracle');
        close(r.weights.values.data, want.weights, tolA, 'weights vs oracle');
        const keyLengths = Int32Array.from(c.lens);
        const p = ak.additiveAttention(query, padded(keys, offsets, S, NaN), padded(values, offsets, S, NaN), params, { keyLengths, returnWeights: true }, d);
        close(r.output.data, p.output.data, backend === 'reference' ? { atol: 0, rtol: 0 } : tolA, 'jagged vs padded output');
        for (let b = 0; b < B; b++)
          for (let i = 0; i < L; i++)
            for (let j = 0; j < c.lens[b]; j++) close([r.weights.values.data[(offsets[b] + j) * L + i]], [p.weights.data[(b * L + i) * S + j]], backend === 'reference' ? { atol: 0, rtol: 0 } : tolA, `weights[${b},${i},${j}]`);
      });
    }
  }

  as('NaN in one batch row\'s values stays in that row; huge logits saturate', () => {
    const lens = [3, 4, 0, 2], offsets = offsetsOf(lens), T = offsets[4];
    const keys = rnd([T, 4], 901), values = rnd([T, 3], 902);
    values.data[(offsets[1] + 2) * 3 + 1] = NaN;
    for (const scale of [1, 400]) {
      const params = additiveParams(0, 4, 6, 903, 0.4 * scale);
      const r = ak.additiveAttention(null, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { returnWeights: true }, d);
      const want = additiveOracle(null, keys, values, offsets, params, 1);
      close(r.output.data, want.output, tolA, `scale ${scale}: output vs oracle`);
      close(r.weights.values.data, want.weights, tolA, `scale ${scale}: weights vs oracle`);
      for (const b of [0, 2, 3]) for (let k = 0; k < 3; k++) assert.ok(Number.isFinite(r.output.data[b * 3 + k]), `user ${b} finite`);
    }
  });

  // Masked (#17 item 2, mask semantics per user): a Uint8Array of Σ_b L·n_b, user b's [L, n_b] block at L·offsets[b].
  /** A random jagged mask (keep probability `keep`), with user `fullUser`'s block all 0 and row `fullRow` = [b, i] all 0. */
  const jaggedMaskOf = (R, offsets, L, keep, fullUser, fullRow) => {
    const B = offsets.length - 1, mask = new Uint8Array(L * offsets[B]);
    for (let e = 0; e < mask.length; e++) mask[e] = R.next() < keep ? 1 : 0;
    if (fullUser !== null) mask.fill(0, L * offsets[fullUser], L * offsets[fullUser + 1]);
    if (fullRow) {
      const [b, i] = fullRow, n = offsets[b + 1] - offsets[b];
      mask.fill(0, L * offsets[b] + i * n, L * offsets[b] + (i + 1) * n);
    }
    return mask;
  };
  /** The padded [B, L, S] mask equal to a jagged one (padding positions 0). */
  const paddedMaskOf = (mask, offsets, L, S) => {
    const B = offsets.length - 1, out = new Uint8Array(B * L * S);
    for (let b = 0; b < B; b++) {
      const n = offsets[b + 1] - offsets[b];
      for (let i = 0; i < L; i++) for (let j = 0; j < n; j++) out[(b * L + i) * S + j] = mask[L * offsets[b] + i * n + j];
    }
    return { data: out, shape: [B, L, S] };
  };
  /** The first user with at least `min` keys other than `not`, or null. */
  const userWith = (lens, min, not = -1) => {
    const b = lens.findIndex((n, c) => n >= min && c !== not);
    return b < 0 ? null : b;
  };
  seed = 2500;
  for (const c of lengthCases(13)) {
    for (const [L, Dq, Dk, Dv, A] of [[1, 0, 3, 5, 4], [3, 5, 7, 2, 9], [2, 4, 16, 33, 24]]) {
      for (const keep of [0.7, 0.15]) {
        const s = seed++;
        const pooled = Dq === 0;
        as(`masked, ${c.label}: ${pooled ? 'pooling' : `L=${L} Dq=${Dq}`} Dk=${Dk} Dv=${Dv} A=${A} keep ${keep}, a fully masked user and row: the per-user oracle with its [L,S_b] mask, and the padded call with the padded mask`, () => {
          const R = rng(s);
          const offsets = offsetsOf(c.lens), B = c.lens.length, T = offsets[B];
          const S = Math.max(1, ...c.lens);
          const query = pooled ? null : rnd([B, L, Dq], s);
          const keys = rnd([T, Dk], s + 1), values = rnd([T, Dv], s + 2);
          const params = additiveParams(Dq, Dk, A, s + 3);
          const fullUser = userWith(c.lens, 1);
          const rowUser = userWith(c.lens, 1, fullUser ?? -1);
          const mask = jaggedMaskOf(R, offsets, L, keep, fullUser, rowUser === null ? null : [rowUser, L - 1]);
          const r = ak.additiveAttention(query, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { mask, returnWeights: true }, d);
          assert.equal(r.output.shape, [B, L, Dv]);
          assert.equal(r.weights.values.shape, [T, L]);
          const want = additiveOracle(query, keys, values, offsets, params, L, mask);
          close(r.output.data, want.output, tolA, 'output vs oracle');
          close(r.weights.values.data, want.weights, tolA, 'weights vs oracle');
          // The fully masked user and row: zeros, as an all-masked row is defined.
          if (fullUser !== null) for (let e = fullUser * L * Dv; e < (fullUser + 1) * L * Dv; e++) assert.ok(Object.is(r.output.data[e], 0), `fully masked user ${fullUser}: output[${e}] = ${r.output.data[e]}`);
          if (rowUser !== null) for (let e = 0; e < Dv; e++) assert.ok(Object.is(r.output.data[((rowUser * L) + L - 1) * Dv + e], 0), `fully masked row of user ${rowUser}: zeros`);
          const keyLengths = Int32Array.from(c.lens);
          const p = ak.additiveAttention(query, padded(keys, offsets, S, NaN), padded(values, offsets, S, NaN), params, { keyLengths, mask: paddedMaskOf(mask, offsets, L, S), returnWeights: true }, d);
          close(r.output.data, p.output.data, backend === 'reference' ? { atol: 0, rtol: 0 } : tolA, 'jagged vs padded output');
          for (let b = 0; b < B; b++)
            for (let i = 0; i < L; i++)
              for (let j = 0; j < c.lens[b]; j++) close([r.weights.values.data[(offsets[b] + j) * L + i]], [p.weights.data[(b * L + i) * S + j]], backend === 'reference' ? { atol: 0, rtol: 0 } : tolA, `weights[${b},${i},${j}]`);
        });
      }
    }
  }

  as('masked: a NaN key / value hidden by the mask does not leak; async = sync', async () => {
    const lens = [4, 0, 5, 2], offsets = offsetsOf(lens), T = offsets[4], L = 2;
    const q = rnd([4, L, 3], 931), keys = rnd([T, 4], 932), values = rnd([T, 3], 933);
    const params = additiveParams(3, 4, 6, 934);
    const mask = new Uint8Array(L * T).fill(1);
    // User 0's key 1 and user 2's key 4: NaN in their keys and values, masked for every query.
    for (const [b, j] of [[0, 1], [2, 4]]) {
      const n = lens[b];
      for (let i = 0; i < L; i++) mask[L * offsets[b] + i * n + j] = 0;
      keys.data.fill(NaN, (offsets[b] + j) * 4, (offsets[b] + j + 1) * 4);
      values.data.fill(NaN, (offsets[b] + j) * 3, (offsets[b] + j + 1) * 3);
    }
    const r = ak.additiveAttention(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { mask, returnWeights: true }, d);
    const want = additiveOracle(q, keys, values, offsets, params, L, mask);
    for (const x of r.output.data) assert.ok(Number.isFinite(x), 'every output finite');
    for (const x of r.weights.values.data) assert.ok(Number.isFinite(x), 'every weight finite');
    close(r.output.data, want.output, tolA, 'output vs oracle');
    close(r.weights.values.data, want.weights, tolA, 'weights vs oracle');
    assert.is(r.weights.values.data[(offsets[0] + 1) * L], 0, 'the masked key\'s weight is 0');
    const asy = await ak.additiveAttentionAsync(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { mask, returnWeights: true }, d);
    sameBits(asy.output.data, r.output.data, 'async output');
    sameBits(asy.weights.values.data, r.weights.values.data, 'async weights');
    // Unmasked, the NaN key makes its user's rows NaN (and only its user's): the mask is what hid it.
    const u = ak.additiveAttention(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, {}, d);
    assert.ok(Number.isNaN(u.data[0]), 'unmasked: user 0 NaN');
    assert.ok(Number.isFinite(u.data[3 * L * 3]), 'unmasked: user 3 finite');
  });

  as('half keys / values equal the float32 call on the decoded values, bit for bit; async = sync', async () => {
    const lens = [5, 0, 66, 1], offsets = offsetsOf(lens), T = offsets[4];
    const q = rnd([4, 2, 3], 911), keys = ak.toFloat16(rnd([T, 6], 912)), values = ak.toBFloat16(rnd([T, 5], 913));
    const params = additiveParams(3, 6, 8, 914);
    const got = ak.additiveAttention(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { returnWeights: true }, d);
    const want = ak.additiveAttention(q, ak.jagged(ak.toFloat32(keys), offsets), ak.jagged(ak.toFloat32(values), offsets), params, { returnWeights: true }, d);
    sameBits(got.output.data, want.output.data, 'output');
    sameBits(got.weights.values.data, want.weights.values.data, 'weights');
    const asy = await ak.additiveAttentionAsync(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), params, { returnWeights: true }, d);
    sameBits(asy.output.data, got.output.data, 'async output');
    sameBits(asy.weights.values.data, got.weights.values.data, 'async weights');
  });

  // ---- topK with a jagged exclusion list ----------------------------------------------------
  const ks = suite(`jagged pool · ${backend} · topK with a jagged exclusion list`);
  ks('equals the array-of-lists form bit for bit, and the oracle; largest and smallest', () => {
    const R = rng(31);
    for (const [B, N, D, k] of [[5, 37, 6, 7], [3, 200, 16, 200], [1, 9, 3, 1]]) {
      const users = rnd([B, D], 40 + N), items = rnd([N, D], 41 + N);
      const lists = Array.from({ length: B }, (_, b) => (b === 1 ? [] : Array.from({ length: R.int(0, N) }, () => R.int(0, N - 1))));
      const offsets = offsetsOf(lists.map((l) => l.length));
      const values = Int32Array.from(lists.flat());
      for (const largest of [true, false]) {
        const j = ak.topK(users, items, k, { exclude: { values, offsets }, largest }, d);
        const a = ak.topK(users, items, k, { exclude: lists, largest }, d);
        sameBits(j.indices.data, a.indices.data, `B=${B} N=${N} largest=${largest}: indices`);
        sameBits(j.scores.data, a.scores.data, `B=${B} N=${N} largest=${largest}: scores`);
        const want = oracleTopK(users, items, k, { exclude: lists, largest });
        sameBits(j.indices.data, want.indices, `B=${B} N=${N} largest=${largest}: indices vs oracle`);
      }
    }
  });
  ks('async = sync', async () => {
    const users = rnd([2, 4], 51), items = rnd([30, 4], 52);
    const exclude = { values: new Int32Array([3, 4, 29, 0]), offsets: new Int32Array([0, 3, 4]) };
    const s = ak.topK(users, items, 5, { exclude }, d);
    const a = await ak.topKAsync(users, items, 5, { exclude }, d);
    sameBits(a.indices.data, s.indices.data, 'indices');
    sameBits(a.scores.data, s.scores.data, 'scores');
  });
  ts.run();
  as.run();
  ks.run();
}

// ---- typed errors (TypeScript, before any backend) ------------------------------------------
const errs = suite('jagged pool · typed errors');
errs('targetAttention: bad offsets, batch / dim mismatch, keyLengths and returnSaved with a jagged history', () => {
  const D = 3, target = rnd([2, D], 1), hist = rnd([5, D], 2), params = mlp(D, [4], 3);
  const j = (offsets, values = hist) => ({ values, offsets: Int32Array.from(offsets) });
  throwsTyped(() => ak.targetAttention(target, j([1, 2, 5]), params), ValueError, 'history.offsets', 'offsets[0] != 0');
  throwsTyped(() => ak.targetAttention(target, j([0, 3, 2]), params), ValueError, 'history.offsets', 'decreasing');
  throwsTyped(() => ak.targetAttention(target, j([0, 3, 4]), params), ShapeError, 'history.offsets', 'last offset != rows');
  throwsTyped(() => ak.targetAttention(target, j([0, 5]), params), ShapeError, 'history.offsets', 'B mismatch');
  throwsTyped(() => ak.targetAttention(target, j([0, 2, 5], rnd([5, 4], 4)), params), ShapeError, 'history.values', 'D mismatch');
  throwsTyped(() => ak.targetAttention(target, { values: hist, offsets: [0, 2, 5] }, params), DTypeError, 'history.offsets', 'offsets not an Int32Array');
  throwsTyped(() => ak.targetAttention(target, j([0, 2, 5]), params, { keyLengths: new Int32Array([2, 3]) }), ValueError, 'options.keyLengths', 'keyLengths with jagged');
  throwsTyped(() => ak.targetAttention(target, j([0, 2, 5]), params, { returnSaved: true }), ValueError, 'options.returnSaved', 'returnSaved with jagged');
});
errs('additiveAttention: keys and values both jagged over the same offsets; a jagged mask of exactly L·T; keyLengths, returnSaved refused', () => {
  const keys = rnd([5, 3], 1), values = rnd([5, 2], 2), params = additiveParams(0, 3, 4, 3);
  const off = new Int32Array([0, 2, 5]);
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, rnd([2, 3, 2], 4), params), DTypeError, 'values', 'values padded, keys jagged');
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values: values, offsets: new Int32Array([0, 3, 5]) }, params), ValueError, 'values.offsets', 'different offsets');
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: new Int32Array([0, 6, 5]) }, { values, offsets: off }, params), ValueError, 'keys.offsets', 'decreasing');
  throwsTyped(() => ak.additiveAttention(rnd([3, 1, 2], 5), { values: keys, offsets: off }, { values, offsets: off }, { ...params, wq: rnd([2, 4], 6) }), ShapeError, 'query', 'query batch mismatch');
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { mask: { data: new Uint8Array([1]), shape: [1] } }), DTypeError, 'options.mask', 'a padded MaskLike with jagged keys');
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { mask: new Uint8Array(4) }), ShapeError, 'options.mask', 'a jagged mask of the wrong length (L·T = 5)');
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { mask: new Float32Array(5) }), DTypeError, 'options.mask', 'a jagged mask not a Uint8Array');
  assert.throws(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { mask: new Uint8Array(6) }), (e) => /5/.test(e.message), 'the error names the expected length');
  ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { mask: new Uint8Array(5).fill(1) });
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { keyLengths: new Int32Array([1, 1]) }), ValueError, 'options.keyLengths', 'keyLengths with jagged');
  throwsTyped(() => ak.additiveAttention(null, { values: keys, offsets: off }, { values, offsets: off }, params, { returnSaved: true }), ValueError, 'options.returnSaved', 'returnSaved with jagged');
});
errs('topK: a jagged exclusion list is checked (offsets, every index), errors name the field', () => {
  const users = rnd([2, 3], 1), items = rnd([10, 3], 2);
  const ex = (values, offsets) => ({ exclude: { values: Int32Array.from(values), offsets: Int32Array.from(offsets) } });
  throwsTyped(() => ak.topK(users, items, 3, ex([1, 10], [0, 1, 2])), ValueError, 'options.exclude.values[1]', 'index >= N');
  throwsTyped(() => ak.topK(users, items, 3, ex([1, -1], [0, 1, 2])), ValueError, 'options.exclude.values[1]', 'negative index');
  throwsTyped(() => ak.topK(users, items, 3, ex([1, 2], [0, 2])), ShapeError, 'options.exclude.offsets', 'B mismatch');
  throwsTyped(() => ak.topK(users, items, 3, ex([1, 2], [1, 1, 2])), ValueError, 'options.exclude.offsets', 'offsets[0] != 0');
  throwsTyped(() => ak.topK(users, items, 3, ex([1, 2], [0, 2, 1])), ValueError, 'options.exclude.offsets', 'decreasing');
  throwsTyped(() => ak.topK(users, items, 3, ex([1, 2], [0, 1, 3])), ShapeError, 'options.exclude.offsets', 'last != values.length');
  throwsTyped(() => ak.topK(users, items, 3, { exclude: { values: [1, 2], offsets: new Int32Array([0, 1, 2]) } }), DTypeError, 'options.exclude.values', 'values not an Int32Array');
  // A later change to the caller's arrays changes nothing: topK read a checked copy.
  const values = new Int32Array([0, 1]), offsets = new Int32Array([0, 1, 2]);
  const r1 = ak.topK(users, items, 10, { exclude: { values, offsets } }, { backend: 'reference' });
  assert.ok(!Array.from(r1.indices.data.subarray(0, 10)).includes(0) && !Array.from(r1.indices.data.subarray(10)).includes(1), 'excluded items absent');
});
errs('shardExclude: a jagged list gives the jagged local list, equal to the array form', () => {
  const lists = [[0, 5, 9, 12], [], [7, 8, 3]];
  const offsets = offsetsOf(lists.map((l) => l.length));
  const j = ak.shardExclude({ values: Int32Array.from(lists.flat()), offsets }, 5, 4);
  const a = ak.shardExclude(lists, 5, 4);
  for (let b = 0; b < 3; b++) assert.equal(Array.from(j.values.subarray(j.offsets[b], j.offsets[b + 1])), Array.from(a[b]), `user ${b}`);
  assert.equal(Array.from(j.offsets), [0, 1, 1, 3]); // shard [5, 9): 5 | none | 7, 8
  throwsTyped(() => ak.shardExclude({ values: new Int32Array([-3]), offsets: new Int32Array([0, 1]) }, 0, 4), ValueError, 'exclude.values[0]', 'negative index');
  throwsTyped(() => ak.shardExclude({ values: new Int32Array([1]), offsets: new Int32Array([0, 2]) }, 0, 4), ShapeError, 'exclude.offsets', 'last != length');
});
errs('random hostile offsets through the API: a correct result or a typed error naming the field, never anything else', () => {
  const R = rng(5);
  const D = 2, target = rnd([3, D], 1), params = mlp(D, [3], 2);
  for (let t = 0; t < 300; t++) {
    const n = R.int(0, 5);
    const offs = Int32Array.from({ length: n }, () => (R.next() < 0.8 ? R.int(-1, 6) : 2147483647));
    const rows = R.int(0, 6);
    const hist = rnd([rows, D], 10 + t);
    try {
      const r = ak.targetAttention(target, { values: hist, offsets: offs }, params, { returnWeights: true }, { backend: 'reference' });
      // Accepted: then the offsets were valid for B = 3 and these rows.
      assert.is(offs.length, 4);
      assert.is(offs[0], 0);
      assert.is(offs[3], rows);
      assert.is(r.weights.values.data.length, rows);
    } catch (e) {
      assert.ok(e instanceof ak.AttnkitError, `offsets [${offs}] rows ${rows}: ${e?.constructor?.name}: ${e?.message}`);
      assert.ok(/^history\.(offsets|values)/.test(e.argument), `names the field: ${e.argument}`);
    }
  }
});
errs.run();

for (const backend of ['reference', 'native', 'gpu']) if (backendWanted(backend)) backendSuites(backend);

// ---- native only: threads, and the addon's own checks -------------------------------------
const native = ak.backends().find((b) => b.name === 'native');
if (backendWanted('native') && native?.available) {
  const nt = suite('jagged pool · native · threads and the addon\'s checks');
  const NATIVE = { backend: 'native' };
  const work = () => {
    const lens = Array.from({ length: 40 }, (_, b) => (b % 7 === 3 ? 0 : (b * 37) % 150)), offsets = offsetsOf(lens), T = offsets[40];
    const target = rnd([40, 16], 1), hist = rnd([T, 16], 2), params = mlp(16, [32, 8], 3);
    const q = rnd([40, 3, 8], 4), keys = rnd([T, 16], 5), values = rnd([T, 12], 6), ap = additiveParams(8, 16, 24, 7);
    const jmask = Uint8Array.from({ length: 3 * T }, (_, e) => ((e * 7919) % 5 !== 0 ? 1 : 0));
    return [
      ['targetAttention', () => ak.targetAttention(target, ak.jagged(hist, offsets), params, { normalize: 'softmax', returnWeights: true }, NATIVE)],
      ['additiveAttention', () => ak.additiveAttention(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), ap, { returnWeights: true }, NATIVE)],
      ['additiveAttention masked', () => ak.additiveAttention(q, ak.jagged(keys, offsets), ak.jagged(values, offsets), ap, { mask: jmask, returnWeights: true }, NATIVE)],
    ];
  };
  nt('bit-identical at 1, 2 and 3 threads', () => {
    const before = ak.getThreads();
    try {
      for (const [op, call] of work()) {
        ak.setThreads(1);
        const one = call();
        for (const n of [2, 3]) {
          ak.setThreads(n);
          const s0 = ak.nativeAsyncStats();
          const other = call();
          const s1 = ak.nativeAsyncStats();
          assert.ok(s1.regions - s1.inlineRegions > s0.regions - s0.inlineRegions, `${op} at ${n} threads: a parallel region ran on the pool`);
          sameBits(other.output.data, one.output.data, `${op} output at ${n} threads`);
          sameBits(other.weights.values.data, one.weights.values.data, `${op} weights at ${n} threads`);
        }
      }
    } finally {
      ak.setThreads(before);
    }
  });
  const addon = createRequire(import.meta.url)(ak.nativeInfo().path);
  const targetArgs = (over = {}) => ({
    target: new Float32Array(2 * 2), history: new Float32Array(3 * 2), B: 2, S: 2, D: 2, activation: 'sigmoid', normalize: 'softmax', keyLengths: null, returnWeights: true,
    layers: [{ w: new Float32Array(8), b: new Float32Array(1), inDim: 8, outDim: 1, alpha: null }], historyOffsets: new Int32Array([0, 1, 3]), ...over,
  });
  const additiveArgs = (over = {}) => ({
    query: null, keys: new Float32Array(3 * 2), values: new Float32Array(3 * 2), B: 2, L: 1, S: 2, Dq: 0, Dk: 2, Dv: 2, A: 2, wq: null, wk: new Float32Array(4), b: new Float32Array(2), v: new Float32Array(2), mask: null, keyLengths: null, returnWeights: true, keyOffsets: new Int32Array([0, 1, 3]), ...over,
  });
  const refused = async (fn, fnAsync, args, cls, re, what) => {
    assert.throws(() => fn(args), (e) => e instanceof cls && re.test(e.message), `${what} (sync)`);
    await fnAsync(args).then(() => assert.unreachable(`${what}: async resolved`), (e) => assert.ok(e instanceof cls && re.test(e.message), `${what} (async): ${e.message}`));
  };
  nt('the addon runs a valid jagged call and refuses bad offsets (typed errors, no crash), sync and async', async () => {
    const ok = addon.targetAttention(targetArgs());
    assert.is(ok.weights.length, 3);
    assert.is(addon.additiveAttention(additiveArgs()).weights.length, 3);
    for (const [name, fn, fnAsync, make, key] of [['targetAttention', addon.targetAttention, addon.targetAttentionAsync, targetArgs, 'historyOffsets'], ['additiveAttention', addon.additiveAttention, addon.additiveAttentionAsync, additiveArgs, 'keyOffsets']]) {
      await refused(fn, fnAsync, make({ [key]: new Int32Array([1, 1, 3]) }), RangeError, /offsets\[0\] must be 0/, `${name}: offsets[0] = 1`);
      await refused(fn, fnAsync, make({ [key]: new Int32Array([0, 3, 2]) }), RangeError, /must not decrease/, `${name}: decreasing`);
      await refused(fn, fnAsync, make({ [key]: new Int32Array([0, 1, 4]), S: 3 }), RangeError, /history: expected 8 elements|keys: expected 8 elements/, `${name}: last offset past the rows`);
      await refused(fn, fnAsync, make({ [key]: new Int32Array([0, 1, 2147483647]) }), RangeError, /./, `${name}: a huge last offset`);
      await refused(fn, fnAsync, make({ [key]: new Int32Array([0, -1, 3]) }), RangeError, /outside/, `${name}: negative offset`);
      await refused(fn, fnAsync, make({ [key]: new Int32Array([0, 3]) }), RangeError, /expected 3 elements/, `${name}: wrong length`);
      await refused(fn, fnAsync, make({ S: 5 }), RangeError, /longest/, `${name}: S is not the longest sequence`);
      await refused(fn, fnAsync, make({ keyLengths: new Int32Array([1, 2]) }), TypeError, /must be null/, `${name}: keyLengths with offsets`);
      await refused(fn, fnAsync, make({ [key]: new Float32Array([0, 1, 3]) }), TypeError, /Int32Array/, `${name}: offsets not an Int32Array`);
    }
    // The jagged mask: exactly L·T bytes (3 here), a Uint8Array, only with keyOffsets.
    assert.is(addon.additiveAttention(additiveArgs({ jaggedMask: new Uint8Array([1, 0, 1]) })).weights[1], 0, 'a masked key weighs 0');
    await refused(addon.additiveAttention, addon.additiveAttentionAsync, additiveArgs({ jaggedMask: new Uint8Array(2) }), RangeError, /jaggedMask: expected 3 elements/, 'additiveAttention: jaggedMask too short');
    await refused(addon.additiveAttention, addon.additiveAttentionAsync, additiveArgs({ jaggedMask: new Uint8Array(4) }), RangeError, /jaggedMask: expected 3 elements/, 'additiveAttention: jaggedMask too long');
    await refused(addon.additiveAttention, addon.additiveAttentionAsync, additiveArgs({ jaggedMask: new Float32Array(3) }), TypeError, /Uint8Array/, 'additiveAttention: jaggedMask not a Uint8Array');
    await refused(addon.additiveAttention, addon.additiveAttentionAsync, additiveArgs({ keyOffsets: null, keys: new Float32Array(4 * 2), values: new Float32Array(4 * 2), jaggedMask: new Uint8Array(4) }), TypeError, /must be null without keyOffsets/, 'additiveAttention: jaggedMask without keyOffsets');
    // Random hostile offsets (any int32, any length), sync and async: a result or a typed error, never a crash.
    const R = rng(97);
    const anyInt = () => (R.next() < 0.5 ? R.int(-3, 8) : R.next() < 0.5 ? 2147483647 - R.int(0, 3) : -2147483648 + R.int(0, 3));
    for (let t = 0; t < 400; t++) {
      const offs = Int32Array.from({ length: R.int(0, 5) }, anyInt);
      const over = { S: R.int(0, 9), B: R.int(0, 4) };
      const [fn, fnAsync, make, key] = t % 2 ? [addon.targetAttention, addon.targetAttentionAsync, targetArgs, 'historyOffsets'] : [addon.additiveAttention, addon.additiveAttentionAsync, additiveArgs, 'keyOffsets'];
      const args = make({ ...over, [key]: offs });
      let syncOk = false;
      try {
        fn(args);
        syncOk = true;
      } catch (e) {
        assert.ok(e instanceof TypeError || e instanceof RangeError, `hostile offsets [${offs}]: ${e?.constructor?.name}: ${e?.message}`);
      }
      await fnAsync(args).then(() => assert.ok(syncOk, `async accepted what sync refused: [${offs}]`), (e) => assert.ok(!syncOk && (e instanceof TypeError || e instanceof RangeError), `async: ${e?.message}`));
    }
    // A getter that rewrites the offsets after they were read: the kernel uses the checked copy.
    const offs = new Int32Array([0, 1, 3]);
    const args = targetArgs({ historyOffsets: offs });
    Object.defineProperty(args, 'layers', { enumerable: true, get() { offs[2] = 1e9; return [{ w: new Float32Array(8), b: new Float32Array(1), inDim: 8, outDim: 1, alpha: null }]; } });
    const r = addon.targetAttention(args);
    assert.is(r.weights.length, 3, 'ran on the copy');
  });
  nt.run();
}
