// The native sdpaBackward kernel (#15): the addon called directly against a float64 oracle written
// here from the definitions (docs/TRAINING.md; never from src/), adversarial shapes and every option,
// the NaN / dead-row rules, dBias over every broadcast kind, bit-identical results for 1, 2 and 3
// threads, async == sync, the addon's own argument checks, and (through the public API) native
// against reference with verify. Run once per ISA level via ATTNKIT_ISA (see test/jobs.js).
import { createRequire } from 'module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';

const require = createRequire(import.meta.url);
const info = ak.nativeInfo();

if (!info.available) {
  const s = suite('native backward · availability');
  if (process.env.CI === 'true') s('native is available in CI', () => assert.unreachable(info.reason));
  else s.skip(`native backward tests (unavailable: ${info.reason})`, () => {});
  s.run();
} else {
  backwardTests(require(info.path));
}

// ---------------------------------------------------------------------------------------------
// float64 oracle (plain loops over the definitions)

/** The element offset of (b, h, i, d) in a q-like ('q' / 'o') or k-like ('k' / 'v') tensor. */
function at(c, which, b, h, i, d) {
  const qlike = which === 'q' || which === 'o';
  const H = qlike ? c.Hq : c.Hkv, N = qlike ? c.L : c.S, W = which === 'q' || which === 'k' ? c.D : c.Dv;
  return c.layout === 'bhld' ? ((b * H + h) * N + i) * W + d : ((b * N + i) * H + h) * W + d;
}

/** Whether key j is visible to row i of (b, h) before the logit is known (limits, lengths, mask). */
function visible(c, b, h, i, j) {
  const pos = i + (c.offsets ? c.offsets[b] : c.S - c.L);
  if (c.keyLengths && j >= c.keyLengths[b]) return false;
  if (c.causal && j > pos) return false;
  if (c.windowLeft >= 0 && j < pos - c.windowLeft) return false;
  if (c.windowRight >= 0 && j > pos + c.windowRight) return false;
  if (c.mask) {
    const s = c.mask.strides;
    if (!c.mask.data[b * s[0] + h * s[1] + i * s[2] + j * s[3]]) return false;
  }
  return true;
}

/** s = scale·q·k, c = its soft cap (or s), z = c + bias. */
function logit(c, x, b, h, i, j) {
  const hk = Math.floor(h / (c.Hq / c.Hkv));
  let dot = 0;
  for (let d = 0; d < c.D; d++) dot += x.q[at(c, 'q', b, h, i, d)] * x.k[at(c, 'k', b, hk, j, d)];
  const s = dot * c.scale;
  const capped = c.softcap > 0 ? c.softcap * Math.tanh(s / c.softcap) : s;
  let z = capped;
  if (c.bias) {
    const st = c.bias.strides;
    z += c.bias.data[b * st[0] + h * st[1] + i * st[2] + j * st[3]];
  }
  return { capped, z };
}

/** The forward in float64: out and lse (what a forward hands its backward, rounded to float32 by the caller). */
function forward64(c, x) {
  const out = new Float64Array(c.B * c.Hq * c.L * c.Dv), lse = new Float64Array(c.B * c.Hq * c.L);
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.Hq; h++) {
      const hk = Math.floor(h / (c.Hq / c.Hkv));
      for (let i = 0; i < c.L; i++) {
        const z = [];
        let m = -Infinity;
        for (let j = 0; j < c.S; j++) {
          const zz = visible(c, b, h, i, j) ? logit(c, x, b, h, i, j).z : -Infinity;
          z.push(zz);
          if (zz > m) m = zz;
        }
        const row = (b * c.Hq + h) * c.L + i;
        if (m === -Infinity) {
          lse[row] = -Infinity;
          continue;
        }
        let l = 0;
        for (const zz of z) l += Math.exp(zz - m);
        lse[row] = m + Math.log(l);
        for (let j = 0; j < c.S; j++) {
          if (z[j] === -Infinity) continue;
          const p = Math.exp(z[j] - lse[row]);
          for (let e = 0; e < c.Dv; e++) out[at(c, 'o', b, h, i, e)] += p * x.v[at(c, 'v', b, hk, j, e)];
        }
      }
    }
  return { out, lse };
}

/** The backward in float64, from out / lse as given: { dq, dk, dv, dBias }. */
function backward64(c, x, biasLength) {
  const dq = new Float64Array(x.q.length), dk = new Float64Array(x.k.length), dv = new Float64Array(x.v.length), dBias = new Float64Array(biasLength);
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.Hq; h++) {
      const hk = Math.floor(h / (c.Hq / c.Hkv));
      for (let i = 0; i < c.L; i++) {
        const lse = x.lse[(b * c.Hq + h) * c.L + i];
        if (lse === -Infinity) continue;  // a row with no visible key contributes nothing
        let delta = 0;
        for (let e = 0; e < c.Dv; e++) delta += x.dOut[at(c, 'o', b, h, i, e)] * x.out[at(c, 'o', b, h, i, e)];
        for (let j = 0; j < c.S; j++) {
          if (!visible(c, b, h, i, j)) continue;
          const { capped, z } = logit(c, x, b, h, i, j);
          if (z === -Infinity) continue;
          const p = Math.exp(z - lse);
          let dp = 0;
          for (let e = 0; e < c.Dv; e++) dp += x.dOut[at(c, 'o', b, h, i, e)] * x.v[at(c, 'v', b, hk, j, e)];
          const dz = p * (dp - delta);
          if (biasLength) {
            const st = c.bias.strides;
            dBias[b * st[0] + h * st[1] + i * st[2] + j * st[3]] += dz;
          }
          const ds = c.softcap > 0 ? dz * (1 - (capped / c.softcap) ** 2) : dz;
          for (let d = 0; d < c.D; d++) {
            dq[at(c, 'q', b, h, i, d)] += c.scale * ds * x.k[at(c, 'k', b, hk, j, d)];
            dk[at(c, 'k', b, hk, j, d)] += c.scale * ds * x.q[at(c, 'q', b, h, i, d)];
          }
          for (let e = 0; e < c.Dv; e++) dv[at(c, 'v', b, hk, j, e)] += p * x.dOut[at(c, 'o', b, h, i, e)];
        }
      }
    }
  return { dq, dk, dv, dBias };
}

// ---------------------------------------------------------------------------------------------

function backwardTests(addon) {
  const isa = process.env.ATTNKIT_ISA;
  // The op's native verify tolerance, once its descriptor is registered (else the provisional one
  // every backward op starts from).
  const tol = ak.OPS?.sdpaBackward?.tolerances?.native ?? { rtol: 1e-4, atol: 1e-5 };

  let seed = 12345;
  const uniform = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
  const randF32 = (n, scale = 1) => Float32Array.from({ length: n }, () => (uniform() * 2 - 1) * scale);

  /**
   * A complete kernel call: random q, k, v, dOut; out and lse from the float64 forward (rounded to
   * float32); `poison(x)` may then change any input. `want()` is the float64 backward on exactly
   * the inputs the addon sees.
   */
  function makeCall(options, poison) {
    const c = { B: 1, Hq: 1, Hkv: 1, L: 5, S: 7, D: 4, Dv: 4, causal: false, windowLeft: -1, windowRight: -1, softcap: 0, layout: 'bhld', offsets: null, keyLengths: null, mask: null, bias: null, ...options };
    if (c.scale === undefined) c.scale = Math.fround(1 / Math.sqrt(c.D));
    const x = { q: randF32(c.B * c.Hq * c.L * c.D), k: randF32(c.B * c.Hkv * c.S * c.D), v: randF32(c.B * c.Hkv * c.S * c.Dv), dOut: randF32(c.B * c.Hq * c.L * c.Dv) };
    const f = forward64(c, x);
    x.out = Float32Array.from(f.out);
    x.lse = Float32Array.from(f.lse);
    if (poison) poison(x, c);
    const biasLength = c.bias ? c.bias.data.length : 0;
    const args = {
      dOut: x.dOut, q: x.q, k: x.k, v: x.v, out: x.out, lse: x.lse,
      B: c.B, Hq: c.Hq, Hkv: c.Hkv, L: c.L, S: c.S, D: c.D, Dv: c.Dv, scale: c.scale,
      causal: c.causal, offsets: c.offsets, windowLeft: c.windowLeft, windowRight: c.windowRight, softcap: c.softcap,
      mask: c.mask, bias: c.bias, keyLengths: c.keyLengths, layout: c.layout,
      returnDBias: c.returnDBias ?? !!c.bias, biasLength,
    };
    return { c, x, args, want: () => backward64(c, x, c.returnDBias === false ? 0 : biasLength) };
  }

  /** Every element within the native tolerance of the float64 value; non-finite only where the oracle is. */
  function expectClose(got, want, what) {
    for (const name of Object.keys(want)) {
      if (want[name].length === 0 && got[name] === undefined) continue;
      const g = got[name], w = want[name];
      assert.ok(g instanceof Float32Array, `${what}: ${name} is a Float32Array`);
      assert.is(g.length, w.length, `${what}: ${name} length`);
      for (let i = 0; i < w.length; i++) {
        const wi = Math.fround(w[i]);
        if (!Number.isFinite(wi) || !Number.isFinite(g[i])) {
          if (!Object.is(g[i], wi) && !(Number.isNaN(g[i]) && Number.isNaN(wi))) assert.unreachable(`${what}: ${name}[${i}] = ${g[i]}, want ${w[i]}`);
          continue;
        }
        const e = Math.abs(g[i] - w[i]);
        if (!(e <= tol.atol + tol.rtol * Math.abs(w[i]))) assert.unreachable(`${what}: ${name}[${i}] = ${g[i]}, want ${w[i]} (|error| ${e.toExponential(2)} > atol ${tol.atol} + rtol ${tol.rtol}·|want|)`);
      }
    }
  }

  const bitsEqual = (a, b, what) => {
    assert.is(a.length, b.length, `${what}: length`);
    const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
    for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.unreachable(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
  };
  const sameResult = (a, b, what) => {
    assert.equal(Object.keys(a).sort(), Object.keys(b).sort(), `${what}: the same outputs`);
    for (const n of Object.keys(a)) bitsEqual(a[n], b[n], `${what}: ${n}`);
  };

  // A [L, S] mask broadcast over B and H: row 0 fully masked, a scattered pattern elsewhere.
  const maskLS = (L, S) => ({ data: Uint8Array.from({ length: L * S }, (_, x) => (x < S ? 0 : (x * 7 + 3) % 5 !== 0 ? 1 : 0)), strides: [0, 0, S, 1] });

  // ------------------------------------------------------------------------------------------
  const sys = suite('native backward · kernel');
  sys('the sdpaBackward kernel family runs the forced ISA level and lastKernel reports it', () => {
    assert.ok(isa, 'test/jobs.js runs this file with ATTNKIT_ISA set');
    const k = info.kernels.sdpaBackward;
    assert.ok(k, 'info().kernels lists sdpaBackward');
    assert.is(k.selected, isa);
    addon.sdpaBackward(makeCall({}).args);
    assert.is(addon.lastKernel(), `sdpaBackward:${isa}`);
  });
  sys.run();

  // ------------------------------------------------------------------------------------------
  const oracle = suite('native backward · against the float64 oracle');
  const shapes = [
    ['one row, one key', { L: 1, S: 1, D: 3, Dv: 5 }],
    ['odd D, L < S, partial blocks', { B: 2, Hq: 4, Hkv: 2, L: 70, S: 130, D: 17, Dv: 9 }],
    ['L > S, grouped-query, causal (rows before any key)', { B: 2, Hq: 4, Hkv: 2, L: 130, S: 70, D: 64, Dv: 64, causal: true }],
    ['D = 1, long S', { B: 1, Hq: 2, Hkv: 1, L: 9, S: 700, D: 1, Dv: 2 }],
    ['causal with a left window, Dv != D', { B: 1, Hq: 2, Hkv: 1, L: 200, S: 200, D: 33, Dv: 31, causal: true, windowLeft: 40 }],
    ['window without causal, keyLengths', { B: 2, Hq: 2, Hkv: 2, L: 150, S: 300, D: 16, Dv: 16, windowLeft: 5, windowRight: 9, keyLengths: new Int32Array([200, 33]) }],
    ['keyLengths with an empty batch (every row dead)', { B: 3, Hq: 2, Hkv: 1, L: 40, S: 130, D: 8, Dv: 8, keyLengths: new Int32Array([0, 65, 130]) }],
    ['softcap', { B: 1, Hq: 2, Hkv: 2, L: 100, S: 100, D: 16, Dv: 16, softcap: 2, scale: 1.5 }],
    ['softcap + causal + mask', { B: 1, Hq: 4, Hkv: 2, L: 65, S: 65, D: 64, Dv: 64, causal: true, softcap: 3, mask: maskLS(65, 65) }],
    ['token-major layout, per-batch offsets, causal', { B: 2, Hq: 2, Hkv: 1, L: 100, S: 120, D: 8, Dv: 8, layout: 'blhd', causal: true, offsets: new Int32Array([-3, 30]) }],
    ['token-major layout, grouped-query, window', { B: 2, Hq: 6, Hkv: 3, L: 37, S: 90, D: 12, Dv: 20, layout: 'blhd', windowLeft: 10, windowRight: 0 }],
    ['mask [L, S] with a fully masked row', { B: 2, Hq: 2, Hkv: 2, L: 66, S: 99, D: 8, Dv: 8, mask: maskLS(66, 99) }],
    ['mask per (b, h, i, j)', { B: 2, Hq: 2, Hkv: 1, L: 20, S: 30, D: 4, Dv: 4, mask: { data: Uint8Array.from({ length: 2 * 2 * 20 * 30 }, () => (uniform() < 0.7 ? 1 : 0)), strides: [1200, 600, 30, 1] } }],
    ['only the diagonal (window 0)', { B: 1, Hq: 2, Hkv: 2, L: 130, S: 130, D: 17, Dv: 17, causal: true, windowLeft: 0 }],
    // B·Hkv >= 32 without dBias: the one-pass kernel (tasks (b, kv head)).
    ['one pass: causal, grouped-query, odd sizes', { B: 4, Hq: 16, Hkv: 8, L: 37, S: 41, D: 9, Dv: 7, causal: true }],
    ['one pass: token-major, window, softcap, keyLengths', { B: 32, Hq: 2, Hkv: 1, L: 20, S: 70, D: 5, Dv: 8, layout: 'blhd', windowLeft: 6, windowRight: 2, softcap: 1.5, keyLengths: Int32Array.from({ length: 32 }, (_, b) => (b * 7) % 71) }],
    ['one pass: mask with a fully masked row, L > S', { B: 2, Hq: 16, Hkv: 16, L: 70, S: 33, D: 16, Dv: 16, mask: maskLS(70, 33) }],
  ];
  for (const [label, o] of shapes) {
    oracle(label, () => {
      const t = makeCall(o);
      expectClose(addon.sdpaBackward(t.args), t.want(), label);
    });
  }
  // dBias over every broadcast kind (each dBias element one writer: bit-identical for any threads).
  const biasKinds = [
    ['[L, S] (broadcast over B, H)', (B, H, L, S) => ({ data: randF32(L * S, 2), strides: [0, 0, S, 1] })],
    ['[B, 1, 1, S] key bias (one writer per batch)', (B, H, L, S) => ({ data: randF32(B * S, 2), strides: [S, 0, 0, 1] })],
    ['[B, H, L, S] (no broadcast)', (B, H, L, S) => ({ data: randF32(B * H * L * S, 2), strides: [H * L * S, L * S, S, 1] })],
    ['[H, 1, S] per head and key', (B, H, L, S) => ({ data: randF32(H * S, 2), strides: [0, S, 0, 1] })],
    ['[L, 1] per row (broadcast over keys)', (B, H, L, S) => ({ data: randF32(L, 2), strides: [0, 0, 1, 0] })],
    ['a scalar', () => ({ data: randF32(1, 2), strides: [0, 0, 0, 0] })],
    ['aliasing strides (i and j overlap)', (B, H, L, S) => ({ data: randF32(L + S, 2), strides: [0, 0, 1, 1] })],
    ['large values (±1e4: logits far from their bias)', (B, H, L, S) => ({ data: randF32(L * S, 1).map((v) => v + 1e4), strides: [0, 0, S, 1] })],
    ['-Inf entries (excluded pairs)', (B, H, L, S) => ({ data: randF32(L * S, 1).map((v, x) => (x % 7 === 3 ? -Infinity : v)), strides: [0, 0, S, 1] })],
  ];
  for (const [label, make] of biasKinds) {
    oracle(`dBias: bias ${label}`, () => {
      const dims = { B: 2, Hq: 4, Hkv: 2, L: 75, S: 110, D: 12, Dv: 10, causal: label.includes('[L, S]') };
      const t = makeCall({ ...dims, bias: make(dims.B, dims.Hq, dims.L, dims.S) });
      const got = addon.sdpaBackward(t.args);
      assert.is(got.dBias.length, t.args.biasLength);
      expectClose(got, t.want(), label);
    });
  }
  oracle('a bias without returnDBias: no dBias, the same dq, dk, dv', () => {
    const t = makeCall({ B: 1, Hq: 2, Hkv: 1, L: 30, S: 40, D: 8, Dv: 8, bias: { data: randF32(30 * 40), strides: [0, 0, 40, 1] } });
    const a = addon.sdpaBackward(t.args), b = addon.sdpaBackward({ ...t.args, returnDBias: false });
    assert.is(b.dBias, undefined);
    for (const n of ['dq', 'dk', 'dv']) bitsEqual(a[n], b[n], n);
  });
  oracle.run();

  // ------------------------------------------------------------------------------------------
  const nan = suite('native backward · NaN / Inf rules');
  nan('NaN / Inf in excluded keys (keyLengths, mask, causal future) and in dead rows never leak', () => {
    const L = 100, S = 150;
    const mask = { data: new Uint8Array(L * S).fill(1), strides: [0, 0, S, 1] };
    for (let j = 0; j < S; j++) mask.data[3 * S + j] = 0;  // row 3 fully masked
    for (let i = 0; i < L; i++) mask.data[i * S + 5] = 0;  // key 5 masked for every row
    const t = makeCall({ B: 2, Hq: 2, Hkv: 1, L, S, D: 16, Dv: 12, causal: true, keyLengths: new Int32Array([120, 0]), mask }, (x, c) => {
      for (let d = 0; d < c.D; d++) {
        x.k[130 * c.D + d] = NaN;  // beyond keyLengths
        x.k[5 * c.D + d] = Infinity;  // masked
        x.k[149 * c.D + d] = -Infinity;
      }
      for (let e = 0; e < c.Dv; e++) x.v[131 * c.Dv + e] = x.v[5 * c.Dv + e] = NaN;
      for (let d = 0; d < c.D; d++) x.q[3 * c.D + d] = NaN;  // the fully masked row
      for (let e = 0; e < c.Dv; e++) x.dOut[3 * c.Dv + e] = NaN;
      x.q.fill(NaN, c.Hq * c.L * c.D);  // batch 1 sees no key: all its rows dead
      x.dOut.fill(Infinity, c.Hq * c.L * c.Dv);
    });
    const got = addon.sdpaBackward(t.args);
    for (const n of ['dq', 'dk', 'dv']) assert.ok(got[n].every(Number.isFinite), `${n} all finite`);
    expectClose(got, t.want(), 'excluded non-finite values');
    // Dead rows: dq exactly 0; keys nobody sees: dk, dv exactly 0.
    for (let x = t.c.Hq * t.c.L * t.c.D; x < got.dq.length; x++) assert.is(got.dq[x], 0);
    for (let x = 120 * t.c.D; x < t.c.S * t.c.D; x++) assert.is(got.dk[x], 0);
  });
  nan('one pass: NaN / Inf in excluded keys and dead rows never leak either', () => {
    const L = 30, S = 40;
    const t = makeCall({ B: 4, Hq: 8, Hkv: 8, L, S, D: 8, Dv: 6, causal: true, keyLengths: new Int32Array([35, 0, 40, 20]) }, (x, c) => {
      for (let d = 0; d < c.D; d++) x.k[37 * c.D + d] = NaN;  // beyond batch 0's keyLengths (head 0)
      for (let e = 0; e < c.Dv; e++) x.v[38 * c.Dv + e] = Infinity;
      x.q.fill(NaN, c.Hq * c.L * c.D, 2 * c.Hq * c.L * c.D);  // batch 1: every row dead
      x.dOut.fill(NaN, c.Hq * c.L * c.Dv, 2 * c.Hq * c.L * c.Dv);
    });
    const got = addon.sdpaBackward(t.args);
    for (const n of ['dq', 'dk', 'dv']) assert.ok(got[n].every(Number.isFinite), `${n} all finite`);
    expectClose(got, t.want(), 'one pass, excluded non-finite values');
  });
  nan('a NaN among a row\'s visible logits (lse NaN) gives NaN where the oracle has it, nowhere else', () => {
    const t = makeCall({ B: 1, Hq: 1, Hkv: 1, L: 20, S: 30, D: 8, Dv: 8 }, (x) => {
      x.q[5 * 8 + 2] = NaN;
      x.lse[5] = NaN;
    });
    const got = addon.sdpaBackward(t.args);
    assert.ok(Number.isNaN(got.dq[5 * 8]), 'the row\'s dq is NaN');
    assert.ok(got.dq.slice(6 * 8).every(Number.isFinite), 'other rows\' dq finite');
    expectClose(got, t.want(), 'NaN row');
  });
  nan('a NaN in an excluded key\'s bias does not leak; in a visible one it reaches only that row', () => {
    const L = 16, S = 20;
    const bias = { data: randF32(L * S), strides: [0, 0, S, 1] };
    bias.data[2 * S + 19] = NaN;  // causal: row 2 cannot see key 19
    const t = makeCall({ L, S, D: 4, Dv: 4, causal: true, bias });
    const got = addon.sdpaBackward(t.args);
    for (const n of ['dq', 'dk', 'dv', 'dBias']) assert.ok(got[n].every(Number.isFinite), `${n} finite`);
    expectClose(got, t.want(), 'excluded NaN bias');
  });
  nan.run();

  // ------------------------------------------------------------------------------------------
  const det = suite('native backward · bit-identical for 1, 2 and 3 threads; async == sync');
  const detCases = [
    ['causal, grouped-query, bias [L, S] with dBias', { B: 2, Hq: 4, Hkv: 2, L: 150, S: 170, D: 24, Dv: 20, causal: true, bias: { data: randF32(150 * 170), strides: [0, 0, 170, 1] } }],
    ['key bias [B, 1, 1, S] with dBias, keyLengths', { B: 3, Hq: 2, Hkv: 2, L: 90, S: 200, D: 16, Dv: 16, keyLengths: new Int32Array([200, 7, 0]), bias: { data: randF32(3 * 200), strides: [200, 0, 0, 1] } }],
    ['window, softcap, token-major', { B: 1, Hq: 8, Hkv: 2, L: 260, S: 260, D: 32, Dv: 32, windowLeft: 30, windowRight: 3, softcap: 5, layout: 'blhd' }],
    ['aliasing bias strides with dBias (one task)', { B: 2, Hq: 2, Hkv: 1, L: 70, S: 70, D: 8, Dv: 8, bias: { data: randF32(140), strides: [0, 0, 1, 1] } }],
    ['one pass (B·Hkv = 32), causal, bias without dBias', { B: 8, Hq: 8, Hkv: 4, L: 70, S: 100, D: 16, Dv: 12, causal: true, bias: { data: randF32(70 * 100), strides: [0, 0, 100, 1] }, returnDBias: false }],
  ];
  for (const [label, o] of detCases) {
    det(label, async () => {
      const t = makeCall(o);
      const n0 = ak.getThreads();
      const results = [];
      try {
        for (const n of [1, 2, 3]) {
          ak.setThreads(n);
          results.push(addon.sdpaBackward(t.args));
        }
        ak.setThreads(2);
        const asyncResult = await addon.sdpaBackwardAsync(t.args);
        sameResult(results[0], asyncResult, `${label}: async`);
      } finally {
        ak.setThreads(n0);
      }
      sameResult(results[0], results[1], `${label}: 1 vs 2 threads`);
      sameResult(results[0], results[2], `${label}: 1 vs 3 threads`);
      expectClose(results[0], t.want(), label);
    });
  }
  det('many concurrent async calls each give their own sync result', async () => {
    const calls = Array.from({ length: 12 }, (_, n) => makeCall({ B: 1, Hq: 2, Hkv: 1, L: 20 + n, S: 33, D: 8, Dv: 8, causal: n % 2 === 0 }));
    const sync = calls.map((t) => addon.sdpaBackward(t.args));
    const got = await Promise.all(calls.map((t) => addon.sdpaBackwardAsync(t.args)));
    got.forEach((r, n) => sameResult(r, sync[n], `call ${n}`));
  });
  det('async: inputs changed after the call do not reach the kernel', async () => {
    const t = makeCall({ B: 1, Hq: 2, Hkv: 2, L: 40, S: 50, D: 8, Dv: 8 });
    const want = addon.sdpaBackward(t.args);
    const p = addon.sdpaBackwardAsync(t.args);
    t.x.q.fill(NaN);
    t.x.dOut.fill(NaN);
    sameResult(await p, want, 'async with inputs overwritten after the call');
  });
  det.run();

  // ------------------------------------------------------------------------------------------
  const bad = suite('native backward · the addon checks every argument itself');
  const base = () => makeCall({ B: 1, Hq: 2, Hkv: 1, L: 3, S: 5, D: 4, Dv: 2 }).args;
  const errors = {
    'no argument': [() => addon.sdpaBackward(), /./],
    'a number': [() => addon.sdpaBackward(3), /./],
    'dOut too short': [() => addon.sdpaBackward({ ...base(), dOut: new Float32Array(5) }), /dOut/],
    'out of the wrong length': [() => addon.sdpaBackward({ ...base(), out: new Float32Array(13) }), /out/],
    'lse too long': [() => addon.sdpaBackward({ ...base(), lse: new Float32Array(7) }), /lse/],
    'lse missing': [() => addon.sdpaBackward({ ...base(), lse: undefined }), /lse/],
    'q as Float64Array': [() => addon.sdpaBackward({ ...base(), q: new Float64Array(24) }), /q/],
    'v as plain array': [() => addon.sdpaBackward({ ...base(), v: Array(10).fill(0) }), /v/],
    'k mismatched with S': [() => addon.sdpaBackward({ ...base(), S: 6 }), /k/],
    'Hq not a multiple of Hkv': [() => addon.sdpaBackward({ ...base(), Hkv: 3 }), /Hkv/],
    'zero heads': [() => addon.sdpaBackward({ ...base(), Hq: 0 }), /Hq/],
    'fractional L': [() => addon.sdpaBackward({ ...base(), L: 2.5 }), /L/],
    'sizes that overflow': [() => addon.sdpaBackward({ ...base(), B: 2 ** 31 - 1, Hq: 2 ** 31 - 1, Hkv: 2 ** 31 - 1, L: 2 ** 31 - 1 }), /./],
    'infinite scale': [() => addon.sdpaBackward({ ...base(), scale: Infinity }), /scale/],
    'causal as number': [() => addon.sdpaBackward({ ...base(), causal: 1 }), /causal/],
    'windowLeft below -1': [() => addon.sdpaBackward({ ...base(), windowLeft: -2 }), /windowLeft/],
    'negative softcap': [() => addon.sdpaBackward({ ...base(), softcap: -1 }), /softcap/],
    'offsets of the wrong length': [() => addon.sdpaBackward({ ...base(), offsets: new Int32Array(2) }), /offsets/],
    'unknown layout': [() => addon.sdpaBackward({ ...base(), layout: 'bshd' }), /layout/],
    'mask strides reaching past the data': [() => addon.sdpaBackward({ ...base(), mask: { data: new Uint8Array(5), strides: [0, 0, 1, 1] } }), /mask/],
    'negative bias stride': [() => addon.sdpaBackward({ ...base(), bias: { data: new Float32Array(50), strides: [0, 0, -1, 1] }, biasLength: 50 }), /bias/],
    'bias of the wrong type': [() => addon.sdpaBackward({ ...base(), bias: { data: new Uint8Array(5), strides: [0, 0, 0, 1] }, biasLength: 5 }), /bias/],
    'keyLengths out of range': [() => addon.sdpaBackward({ ...base(), keyLengths: new Int32Array([6]) }), /keyLengths/],
    'returnDBias as string': [() => addon.sdpaBackward({ ...base(), returnDBias: 'yes' }), /returnDBias/],
    'biasLength without a bias': [() => addon.sdpaBackward({ ...base(), biasLength: 3 }), /biasLength/],
    'biasLength below what the strides reach': [() => addon.sdpaBackward({ ...base(), bias: { data: new Float32Array(15), strides: [0, 0, 5, 1] }, returnDBias: true, biasLength: 14 }), /biasLength/],
    'biasLength past the bias data': [() => addon.sdpaBackward({ ...base(), bias: { data: new Float32Array(15), strides: [0, 0, 5, 1] }, returnDBias: true, biasLength: 2 ** 40 }), /biasLength/],
    'fractional biasLength': [() => addon.sdpaBackward({ ...base(), biasLength: 0.5 }), /biasLength/],
    'half dtypes (float32 only)': [() => addon.sdpaBackward({ ...base(), dtypes: { q: 'float16' } }), /dtypes/],
    'a getter that throws': [() => addon.sdpaBackward({ ...base(), get lse() { throw new Error('boom'); } }), /boom/],
  };
  for (const [name, [fn, re]] of Object.entries(errors)) {
    bad(name, () => {
      let err = null;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof Error, 'threw a JS error');
      assert.ok(err instanceof TypeError || err instanceof RangeError || /boom/.test(err.message), `TypeError or RangeError: ${err && err.constructor.name}: ${err && err.message}`);
      assert.match(err.message, re);
    });
  }
  bad('the async twin rejects the same way (a Promise, never a throw from the call)', async () => {
    let err = null;
    try {
      await addon.sdpaBackwardAsync({ ...base(), lse: new Float32Array(1) });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof RangeError, `RangeError: ${err}`);
    assert.match(err.message, /lse/);
  });
  bad('a buffer detached by a later field\'s getter is refused', () => {
    const a = base();
    const q = a.q;
    const args = { ...a, get layout() { structuredClone(q.buffer, { transfer: [q.buffer] }); return 'bhld'; } };
    assert.throws(() => addon.sdpaBackward(args), /q|elements|detached/);
  });
  bad('returnDBias without a bias: an empty dBias', () => {
    const r = addon.sdpaBackward({ ...base(), returnDBias: true, biasLength: 0 });
    assert.ok(r.dBias instanceof Float32Array && r.dBias.length === 0);
  });
  bad('still alive and correct after all of that', () => {
    const t = makeCall({ B: 1, Hq: 2, Hkv: 1, L: 10, S: 12, D: 4, Dv: 4, causal: true });
    expectClose(addon.sdpaBackward(t.args), t.want(), 'after the bad calls');
  });
  bad.run();

  // ------------------------------------------------------------------------------------------
  // Through the public API: native against reference with verify (the op's descriptor tolerance).
  if (typeof ak.sdpaBackward === 'function') {
    const api = suite('native backward · public API: native vs reference (verify)');
    const rnd = (shape, s) => ak.random(shape, { seed: s, low: -1, high: 1 });
    const apiCases = [
      ['(1,8,96,96,64) causal', [1, 8, 8, 96, 96, 64], { causal: true }],
      ['(2,4,2 kv,70,130,17) bias [L,S] + dBias', [2, 4, 2, 70, 130, 17], { bias: rnd([70, 130], 9), returnDBias: true }],
      ['(1,2,130,60,32) L > S, keyLengths, mask', [1, 2, 2, 130, 60, 32], { keyLengths: new Int32Array([45]), mask: ak.mask(Uint8Array.from({ length: 130 * 60 }, (_, x) => (x % 11 ? 1 : 0)), [130, 60]) }],
      ['(1,2,200,200,16) window + softcap, blhd', [1, 2, 1, 200, 200, 16], { window: { left: 20, right: 5 }, softcap: 4, layout: 'blhd' }],
      ['(4,8,8,40,40,16) causal: the one-pass kernel', [4, 8, 8, 40, 40, 16], { causal: true }],
    ];
    const apiCall = ([B, Hq, Hkv, L, S, D], options) => {
      const blhd = options.layout === 'blhd';
      const shapeQ = blhd ? [B, L, Hq, D] : [B, Hq, L, D], shapeK = blhd ? [B, S, Hkv, D] : [B, Hkv, S, D];
      const q = rnd(shapeQ, 1), k = rnd(shapeK, 2), v = rnd(shapeK, 3), dOut = rnd(shapeQ, 4);
      const { returnDBias, ...fwd } = options;
      const f = ak.sdpa(q, k, v, { ...fwd, returnLse: true }, { backend: 'reference' });
      return [dOut, q, k, v, f.output, f.lse, options];
    };
    for (const [label, dims, options] of apiCases) {
      api(`${label}: sync`, () => {
        let report = null;
        const r = ak.sdpaBackward(...apiCall(dims, options), { backend: 'native', verify: true, onReport: (x) => (report = x.verify) });
        assert.ok(report && report.passed, `verify against reference: ${JSON.stringify(report && report.worst)}`);
        assert.ok(r.dq && r.dk && r.dv);
        assert.is(!!r.dBias, !!options.returnDBias);
      });
      api(`${label}: async`, async () => {
        let report = null;
        const r = await ak.sdpaBackwardAsync(...apiCall(dims, options), { backend: 'native', verify: true, onReport: (x) => (report = x.verify) });
        assert.ok(report && report.passed, `verify against reference: ${JSON.stringify(report && report.worst)}`);
        assert.ok(r.dq && r.dk && r.dv);
      });
    }
    api.run();
  }
}
