// Half-precision operands read by the native kernels themselves (#16): float16 / bfloat16 q, k, v
// and bias of sdpa, users and items of topK, passed to the addon as Uint16Array bit patterns with
// the args' `dtypes` (src/kernels.ts). This file builds the kernel args by hand and calls the addon
// (and the native backend's kernel table); the public API's half path is test/specs/half.mjs and
// test/half-ops.test.mjs.
//
// Every half value is a float32 value, and the kernels widen exactly, so two checks per case:
//  * bit-identical to the float32 call on the decoded inputs (same paths, same arithmetic);
//  * against the independent float64 oracles (test/specs/oracle.mjs) on the decoded values, at
//    the native tolerances of the op's descriptor.
// Plus: the convert kernels over all 65,536 patterns of each type, thread-count bit-identity,
// async twins, and the addon's type checks. Run once per ISA level (ATTNKIT_ISA; test/jobs.js).
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { oracleSdpa, oracleTopK } from './specs/oracle.mjs';
import { toleranceOf } from './specs/util.mjs';

const require = createRequire(import.meta.url);
const info = ak.nativeInfo();
const inCI = process.env.CI === 'true';

// ---- test scaffolding: round-to-nearest-even encoders and exact decoders ----------------------
const f32b = new Float32Array(1);
const u32b = new Uint32Array(f32b.buffer);
const bitsOf = (x) => ((f32b[0] = x), u32b[0]);
/** Round-half-to-even of v >= 0 to an integer. */
function rne(v) {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
}
/** float16 bits of the float32 value of x, rounded to nearest even (NaN stays NaN, quiet). */
function toF16(x) {
  const b = bitsOf(x);
  const sign = (b >>> 16) & 0x8000;
  const e = (b >>> 23) & 0xff, m = b & 0x7fffff;
  if (e === 0xff) return sign | 0x7c00 | (m ? 0x200 | (m >>> 13) : 0);
  const a = Math.abs(Math.fround(x));
  if (a < 2 ** -14) return sign | rne(a * 2 ** 24); // subnormal (1024 rounds up to the smallest normal: same bits)
  let ex = e - 127;
  let n = rne((a / 2 ** ex - 1) * 1024);
  if (n === 1024) {
    n = 0;
    ex++;
  }
  if (ex + 15 >= 31) return sign | 0x7c00; // overflow: Inf
  return sign | ((ex + 15) << 10) | n;
}
/** bfloat16 bits of the float32 value of x, rounded to nearest even (NaN stays NaN, quiet). */
function toBf16(x) {
  const b = bitsOf(x);
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x40;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
/** Exact value of a float16 pattern. */
function fromF16(h) {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 31) return m ? NaN : s * Infinity;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
/** Exact value of a bfloat16 pattern. */
function fromBf16(h) {
  u32b[0] = (h << 16) >>> 0;
  return f32b[0];
}
const ENC = { float16: toF16, bfloat16: toBf16 };
const DEC = { float16: fromF16, bfloat16: fromBf16 };

/** values (float32) in `dtype`: { data: what the kernel gets, dec: the decoded float32 values }. */
function inType(values, dtype) {
  if (dtype === 'float32') return { data: values, dec: values };
  const bits = new Uint16Array(values.length);
  const dec = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    bits[i] = ENC[dtype](values[i]);
    dec[i] = DEC[dtype](bits[i]);
  }
  return { data: bits, dec };
}

/** Seeded uniform values in [-scale, scale). */
function rand(n, seed, scale = 1) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return out;
}

/** Strides over [B,Hq,L,S] of a tensor of `shape` broadcast to it (right-aligned, size-1 axes repeat). */
function strides4(shape) {
  const full = [1, 1, 1, 1];
  shape.forEach((d, a) => (full[4 - shape.length + a] = d));
  const st = [0, 0, 0, 0];
  let acc = 1;
  for (let a = 3; a >= 0; a--) {
    st[a] = full[a] === 1 ? 0 : acc;
    acc *= full[a];
  }
  return st;
}

function bitsEqual(a, b, what) {
  assert.is(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) assert.unreachable(`${what}: element ${i} differs (${a[i]} vs ${b[i]})`);
}

function close(got, want, tol, what) {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    const a = got[i], b = want[i];
    if (Number.isFinite(a) && Number.isFinite(b)) {
      if (Math.abs(a - b) > tol.atol + tol.rtol * Math.abs(b)) assert.unreachable(`${what}[${i}]: got ${a}, want ${b} (atol ${tol.atol}, rtol ${tol.rtol})`);
    } else if (!(Number.isNaN(b) ? Number.isNaN(a) : a === b)) {
      assert.unreachable(`${what}[${i}]: got ${a}, want ${b} (non-finite values must match)`);
    }
  }
}

const DTYPES = ['float32', 'float16', 'bfloat16'];
const SHORT = { float32: 'f32', float16: 'f16', bfloat16: 'bf16' };

/**
 * One sdpa case: sizes, options and the float32 values of q, k, v (layout order) and bias; `dt`
 * the dtypes of q, k, v, bias. Returns { half, f32, oracle } (the kernel args with half data, the
 * same args with the decoded float32 data, and a function running the float64 oracle).
 */
function sdpaCase(c, dt) {
  const { B, Hq, Hkv, L, S, D, Dv } = c;
  const layout = c.layout ?? 'bhld';
  const q = inType(c.q ?? rand(B * Hq * L * D, c.seed ?? 1), dt.q ?? 'float32');
  const k = inType(c.k ?? rand(B * Hkv * S * D, (c.seed ?? 1) + 1), dt.k ?? 'float32');
  const v = inType(c.v ?? rand(B * Hkv * S * Dv, (c.seed ?? 1) + 2), dt.v ?? 'float32');
  const bias = c.bias ? inType(c.bias.values, dt.bias ?? 'float32') : null;
  const lens = Array.from({ length: B }, (_, b) => (c.keyLengths ? c.keyLengths[b] : S));
  const offsets = Int32Array.from(c.offsets ?? lens.map((n) => n - L));
  const dtypes = {};
  for (const f of ['q', 'k', 'v', 'bias']) if (dt[f] && dt[f] !== 'float32') dtypes[f] = dt[f];
  const scale = c.scale ?? 1 / Math.sqrt(D);
  const common = {
    B, Hq, Hkv, L, S, D, Dv, scale,
    mask: c.mask ? { data: c.mask.data, strides: strides4(c.mask.shape) } : null,
    keyLengths: c.keyLengths ? Int32Array.from(c.keyLengths) : null,
    returnWeights: !!c.returnWeights, returnLse: true, returnLogits: !!c.returnLogits,
    layout, causal: !!c.causal, offsets, windowLeft: c.windowLeft ?? -1, windowRight: c.windowRight ?? -1, softcap: c.softcap ?? 0,
  };
  const bstr = c.bias ? strides4(c.bias.shape) : null;
  const half = { ...common, q: q.data, k: k.data, v: v.data, bias: bias ? { data: bias.data, strides: bstr } : null, dtypes };
  const f32 = { ...common, q: q.dec, k: k.dec, v: v.dec, bias: bias ? { data: bias.dec, strides: bstr } : null };
  const shapeOf = (H, T, X) => (layout === 'blhd' ? [B, T, H, X] : [B, H, T, X]);
  const oracle = () => {
    const opts = { scale, softcap: c.softcap ?? 0, layout, keyLengths: c.keyLengths ?? undefined, causal: c.causal ? { offset: Array.from(offsets) } : false };
    if (c.windowLeft >= 0 || c.windowRight >= 0) opts.window = { ...(c.windowLeft >= 0 ? { left: c.windowLeft } : {}), ...(c.windowRight >= 0 ? { right: c.windowRight } : {}) };
    if (c.mask) opts.mask = c.mask;
    if (c.bias) opts.bias = { data: bias.dec, shape: c.bias.shape };
    return oracleSdpa({ data: q.dec, shape: shapeOf(Hq, L, D) }, { data: k.dec, shape: shapeOf(Hkv, S, D) }, { data: v.dec, shape: shapeOf(Hkv, S, Dv) }, opts);
  };
  return { half, f32, oracle };
}

function halfTests(addon) {
  const ISA = process.env.ATTNKIT_ISA;
  const sdpaTol = toleranceOf('native', 'sdpa');
  const topKTol = toleranceOf('native', 'topK');
  const native = ak.getBackend('native');
  // bfloat16 users and items at the avx512 level of a CPU with AVX512_BF16: topK scores them by
  // vdpbf16ps (pairs summed in order), not the float32 path's FMA chain: within tolerance, not bits.
  const bf16dot = ISA === 'avx512' && addon.info().cpu.avx512bf16 === true;

  // ------------------------------------------------------------------------------------------
  const conv = suite('native half · convert kernels, all 65,536 patterns');
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  conv('float16 -> float32 is exact (NaN: payload kept, made quiet)', () => {
    const got = new Uint32Array(addon.halfToFloat(all, 'float16').buffer);
    assert.is(addon.lastKernel(), `convert:${ISA}`);
    for (let h = 0; h < 65536; h++) {
      const m = h & 0x3ff, e = (h >> 10) & 0x1f;
      const want = e === 31 && m ? ((((h & 0x8000) << 16) | 0x7fc00000 | (m << 13)) >>> 0) : bitsOf(fromF16(h));
      if (got[h] !== want) assert.unreachable(`float16 0x${h.toString(16)}: got 0x${got[h].toString(16)}, want 0x${want.toString(16)}`);
    }
  });
  conv('bfloat16 -> float32 is the top half of the float32 bits, every pattern', () => {
    const got = new Uint32Array(addon.halfToFloat(all, 'bfloat16').buffer);
    assert.is(addon.lastKernel(), `convert:${ISA}`);
    for (let h = 0; h < 65536; h++) if (got[h] !== ((h << 16) >>> 0)) assert.unreachable(`bfloat16 0x${h.toString(16)}: got 0x${got[h].toString(16)}`);
  });
  conv('every length and offset (whole vectors, partial tails, unaligned starts)', () => {
    const src = Uint16Array.from({ length: 300 }, (_, i) => (i * 2654435761) & 0xfbff); // no NaN patterns
    for (const dt of ['float16', 'bfloat16'])
      for (let off = 0; off < 5; off++)
        for (let n = 0; n <= 70; n++) {
          const got = addon.halfToFloat(src.subarray(off, off + n), dt);
          assert.is(got.length, n);
          for (let i = 0; i < n; i++) if (!Object.is(got[i], DEC[dt](src[off + i]))) assert.unreachable(`${dt} n=${n} off=${off} [${i}]: ${got[i]}`);
        }
  });
  conv('halfToFloat checks its arguments', () => {
    assert.throws(() => addon.halfToFloat(new Float32Array(3), 'float16'), (e) => e instanceof TypeError && /bits/.test(e.message));
    assert.throws(() => addon.halfToFloat(new Uint16Array(3), 'float8'), (e) => e instanceof RangeError && /dtype/.test(e.message));
    assert.throws(() => addon.halfToFloat(new Uint16Array(3)), TypeError);
    assert.equal(Array.from(addon.halfToFloat(new Uint16Array(0), 'bfloat16')), []);
  });
  conv('the encoders of this file round to nearest even (checked against the exact decoders)', () => {
    for (const x of [1, -2.5, 65504, 65519.99, 65520, 1e-7, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 5.960464477539063e-8 * 1.5, 1 + 2 ** -11, 1 + 3 * 2 ** -11]) {
      const h = toF16(x);
      const d = fromF16(h);
      // No float16 value is nearer to x than d (ties: even mantissa).
      const up = fromF16(h + 1), dn = h & 0x7fff ? fromF16(h - 1) : -d;
      if (Number.isFinite(d)) assert.ok(Math.abs(d - x) <= Math.abs(up - x) && Math.abs(d - x) <= Math.abs(dn - x), `toF16(${x}) = ${d}`);
    }
    assert.is(toF16(65520), 0x7c00);
    assert.is(toF16(2 ** -25), 0); // halfway to the smallest subnormal: even (0)
    assert.is(toF16(3 * 2 ** -26), 1);
    assert.is(toBf16(1 + 2 ** -8), 0x3f80); // tie: even
    assert.is(toBf16(1 + 3 * 2 ** -8), 0x3f82);
  });
  conv.run();

  // ------------------------------------------------------------------------------------------
  const sd = suite('native half · sdpa: bit-identical to float32 on the decoded inputs, and within the native tolerance of the float64 oracle');
  let caseNo = 0;
  /** Run a case: half args via the addon and via the backend's kernel table, float32 args, oracle. */
  function check(name, c, dt) {
    const { half, f32, oracle } = sdpaCase(c, dt);
    const got = addon.sdpa(half);
    const want = addon.sdpa(f32);
    for (const key of Object.keys(want)) bitsEqual(got[key], want[key], `${name}: ${key} vs float32 on the decoded inputs`);
    // The kernel table passes sdpa's half args through unwidened (NATIVE_HALF): same bits.
    bitsEqual(native.kernels.sdpa(half).output, want.output, `${name}: kernel table`);
    if (c.noOracle) return got;
    const o = oracle();
    close(got.output, o.output, sdpaTol, `${name}: output`);
    close(got.lse, o.lse, sdpaTol, `${name}: lse`);
    if (c.returnWeights) close(got.weights, o.weights, sdpaTol, `${name}: weights`);
    if (c.returnLogits) close(got.logits, o.logits, sdpaTol, `${name}: logits`);
    return got;
  }
  /** Name of a dtype combination. */
  const dtName = (dt) => Object.entries(dt).filter(([, t]) => t !== 'float32').map(([f, t]) => `${f} ${SHORT[t]}`).join(', ') || 'all f32';
  /** Every combination of q, k, v in the three types (27). */
  const everyQkv = [];
  for (const q of DTYPES) for (const k of DTYPES) for (const v of DTYPES) everyQkv.push({ q, k, v });
  /** A rotating subset: all-half of each type, and mixed ones. */
  const someQkv = [
    { q: 'bfloat16', k: 'bfloat16', v: 'bfloat16' },
    { q: 'float16', k: 'float16', v: 'float16' },
    { q: 'float32', k: 'bfloat16', v: 'float16' },
    { q: 'float16', k: 'float32', v: 'bfloat16' },
  ];

  const shapes = {
    'block path, L != S (L > S), odd D and Dv': { B: 2, Hq: 2, Hkv: 2, L: 70, S: 45, D: 13, Dv: 7 },
    'block path, L < S, D 64': { B: 1, Hq: 2, Hkv: 2, L: 40, S: 300, D: 64, Dv: 64 },
    'row path (small L), odd D': { B: 2, Hq: 3, Hkv: 3, L: 5, S: 37, D: 9, Dv: 11 },
    'one key': { B: 2, Hq: 2, Hkv: 1, L: 33, S: 1, D: 16, Dv: 8 },
    'grouped-query heads (Hq 4, Hkv 2)': { B: 1, Hq: 4, Hkv: 2, L: 50, S: 60, D: 24, Dv: 20 },
    'decode (1,4,1,1000,64): chunked keys, merged': { B: 1, Hq: 4, Hkv: 4, L: 1, S: 1000, D: 64, Dv: 64 },
    // No band and a half K / V: a task computes up to 4 query blocks sharing each widened tile
    // (5 blocks per head at BR 64: groups of 4 and 1); each block must still be computed alone.
    'grouped query blocks (no band), L 300': { B: 2, Hq: 4, Hkv: 2, L: 300, S: 200, D: 24, Dv: 16 },
    'grouped query blocks with a mask and keyLengths': { B: 2, Hq: 4, Hkv: 2, L: 300, S: 200, D: 24, Dv: 16, keyLengths: [150, 200], mask: { data: new Uint8Array(300 * 200).map((_, t) => (t % 11 ? 1 : 0)), shape: [300, 200] } },
    'weights path (returnWeights, returnLogits)': { B: 1, Hq: 2, Hkv: 1, L: 20, S: 33, D: 12, Dv: 5, returnWeights: true, returnLogits: true },
  };
  sd('every q/k/v dtype combination on a block-path and a row-path shape', () => {
    for (const dt of everyQkv) {
      check(`block ${dtName(dt)}`, { B: 1, Hq: 2, Hkv: 1, L: 40, S: 50, D: 20, Dv: 12, seed: 7 }, dt);
      check(`rows ${dtName(dt)}`, { B: 1, Hq: 2, Hkv: 2, L: 3, S: 70, D: 20, Dv: 12, seed: 8 }, dt);
    }
  });
  for (const [name, c] of Object.entries(shapes)) {
    sd(name, () => {
      for (const dt of someQkv) for (const layout of ['bhld', 'blhd']) check(`${name} ${dtName(dt)} ${layout}`, { ...c, layout, seed: ++caseNo * 10 }, dt);
    });
  }
  sd('causal, windows (left, right, both, with and without causal), softcap', () => {
    const base = { B: 2, Hq: 2, Hkv: 1, L: 80, S: 90, D: 16, Dv: 16 };
    const opts = [
      { causal: true },
      { causal: true, windowLeft: 10 },
      { windowLeft: 5, windowRight: 3 },
      { windowRight: 0 },
      { softcap: 2 },
      { causal: true, softcap: 0.5, scale: 1 },
      { causal: true, offsets: [0, 20] },
    ];
    for (const o of opts)
      for (const dt of someQkv)
        for (const L of [80, 3]) check(`${JSON.stringify(o)} L=${L} ${dtName(dt)}`, { ...base, ...o, L, seed: ++caseNo * 10 }, dt);
  });
  sd('mask with a fully masked row; keyLengths with an empty batch', () => {
    const B = 2, Hq = 2, L = 40, S = 50;
    const m = new Uint8Array(L * S).map((_, t) => ((t * 7) % 5 !== 0 ? 1 : 0));
    for (let j = 0; j < S; j++) m[3 * S + j] = 0; // row 3 sees nothing
    for (const dt of someQkv)
      for (const L2 of [L, 2]) {
        check(`mask L=${L2} ${dtName(dt)}`, { B, Hq, Hkv: 2, L: L2, S, D: 8, Dv: 8, mask: { data: m.subarray(0, L2 * S), shape: [L2, S] }, seed: ++caseNo * 10 }, dt);
        check(`keyLengths [0, 31] L=${L2} ${dtName(dt)}`, { B, Hq, Hkv: 1, L: L2, S, D: 8, Dv: 8, keyLengths: [0, 31], seed: ++caseNo * 10 }, dt);
      }
  });
  sd('half bias (full and broadcast), with and without half q/k/v', () => {
    const B = 2, Hq = 2, L = 36, S = 41;
    for (const bt of ['float16', 'bfloat16'])
      for (const dt of [{ q: 'float32', k: 'float32', v: 'float32' }, ...someQkv])
        for (const [shape, L2] of [[[B, Hq, L, S], L], [[S], L], [[1, Hq, 1, S], 2], [[B, Hq, 2, S], 2]]) {
          const n = shape.reduce((a, b) => a * b, 1);
          const c = { B, Hq, Hkv: 2, L: L2, S, D: 10, Dv: 6, bias: { values: rand(n, ++caseNo, 3), shape }, seed: caseNo * 10 };
          check(`bias ${SHORT[bt]} [${shape}] ${dtName(dt)}`, c, { ...dt, bias: bt });
          check(`bias ${SHORT[bt]} [${shape}] ${dtName(dt)} weights`, { ...c, returnWeights: true }, { ...dt, bias: bt });
        }
  });
  sd('a large bias (±1e4) in half: the dot products still decide', () => {
    const shape = [1, 1, 40, 30];
    const values = rand(1200, 5).map((x) => (x > 0 ? 1e4 : -1e4));
    for (const bt of ['float16', 'bfloat16'])
      for (const L of [40, 2]) check(`bias ±1e4 ${bt} L=${L}`, { B: 1, Hq: 1, Hkv: 1, L, S: 30, D: 16, Dv: 16, bias: { values: values.subarray(0, L * 30), shape: [1, 1, L, 30] }, seed: 3 }, { q: 'bfloat16', k: 'float16', v: 'bfloat16', bias: bt });
    void shape;
  });
  sd('float16 subnormals and values near the float16 limits', () => {
    const B = 1, Hq = 2, L = 40, S = 48, D = 16;
    const q = rand(B * Hq * L * D, 11);
    const k = rand(B * Hq * S * D, 12).map((x, i) => (i % 3 === 0 ? x * 4e-5 : i % 3 === 1 ? x * 1e-7 : x)); // subnormal float16s
    // Large values near the float16 limit are all positive: a sum of ±6e4·p that cancels to ~0.5
    // has float32 rounding errors of ~1e-5 whatever the input type (measured: 1.7e-5 at 0.49 on the
    // float32 path too), beyond a tolerance relative to the result.
    const v = rand(B * Hq * S * D, 13).map((x, i) => (i % 5 === 0 ? x * 3e-6 : i % 7 === 0 ? Math.abs(x) * 6e4 : x));
    for (const L2 of [L, 1]) {
      const kk = inType(k, 'float16');
      let sub = 0;
      for (const h of kk.data) if ((h & 0x7c00) === 0 && (h & 0x3ff) !== 0) sub++;
      assert.ok(sub > 100, `${sub} subnormal float16 keys`);
      for (const dt of [{ q: 'float16', k: 'float16', v: 'float16' }, { q: 'float32', k: 'float16', v: 'float16' }, { q: 'bfloat16', k: 'bfloat16', v: 'bfloat16' }])
        check(`subnormals L=${L2} ${dtName(dt)}`, { B, Hq, Hkv: Hq, L: L2, S, D, Dv: D, q: q.subarray(0, B * Hq * L2 * D), k, v, scale: 1 }, dt);
    }
  });
  sd('±Inf / NaN half values: in excluded keys they never leak, in included keys they follow the rules', () => {
    const B = 2, Hq = 2, L = 40, S = 50, D = 8;
    const lens = [30, 50];
    for (const dt of [{ q: 'float16', k: 'float16', v: 'float16' }, { q: 'bfloat16', k: 'bfloat16', v: 'bfloat16' }, { q: 'float32', k: 'bfloat16', v: 'float16' }])
      for (const L2 of [L, 3]) {
        // Excluded: keys past keyLengths[0] hold NaN / ±Inf in k and v.
        const k = rand(B * Hq * S * D, 21), v = rand(B * Hq * S * D, 22);
        for (let h = 0; h < Hq; h++)
          for (let j = lens[0]; j < S; j++)
            for (let d = 0; d < D; d++) {
              const at = ((0 * Hq + h) * S + j) * D + d;
              k[at] = [NaN, Infinity, -Infinity][(j + d) % 3];
              v[at] = [Infinity, NaN, -Infinity][(j + d) % 3];
            }
        const got = check(`excluded non-finite L=${L2} ${dtName(dt)}`, { B, Hq, Hkv: Hq, L: L2, S, D, Dv: D, k, v, keyLengths: lens }, dt);
        for (let i = 0; i < Hq * L2 * D; i++) assert.ok(Number.isFinite(got.output[i]), `batch 0 output finite [${i}]`);
        // Causal + mask exclusions with NaN in the excluded k / v too.
        const k2 = rand(Hq * S * D, 23), v2 = rand(Hq * S * D, 24);
        for (let h = 0; h < Hq; h++) for (let d = 0; d < D; d++) { k2[(h * S + S - 1) * D + d] = NaN; v2[(h * S + S - 1) * D + d] = Infinity; }
        const m = new Uint8Array(S).fill(1);
        m[S - 1] = 0;
        check(`masked non-finite key L=${L2} ${dtName(dt)}`, { B: 1, Hq, Hkv: Hq, L: L2, S, D, Dv: D, k: k2, v: v2, mask: { data: m, shape: [S] } }, dt);
        // Included: a NaN key flags its rows (NaN output and lse); a +Inf in one V element gives
        // +Inf in that column of every row that sees it.
        const k3 = rand(Hq * S * D, 25), v3 = rand(Hq * S * D, 26);
        k3[(0 * S + 7) * D + 2] = NaN;
        v3[(1 * S + 9) * D + 3] = Infinity;
        const got3 = check(`included non-finite L=${L2} ${dtName(dt)}`, { B: 1, Hq, Hkv: Hq, L: L2, S, D, Dv: D, k: k3, v: v3 }, dt);
        assert.ok(Number.isNaN(got3.output[0]) && Number.isNaN(got3.lse[0]), 'head 0: NaN');
        assert.is(got3.output[L2 * D + 3], Infinity, 'head 1: +Inf in column 3');
      }
  });
  sd.run();

  // ------------------------------------------------------------------------------------------
  const det = suite('native half · bit-identical for 1, 2 and 3 threads');
  const detCases = {
    'block path (causal, mask, GQA), bf16 q/k/v + f16 bias': [{ B: 2, Hq: 4, Hkv: 2, L: 150, S: 170, D: 40, Dv: 24, causal: true, bias: { values: rand(170, 9), shape: [170] } }, { q: 'bfloat16', k: 'bfloat16', v: 'bfloat16', bias: 'float16' }],
    'grouped query blocks (no band), f16 k, bf16 v': [{ B: 2, Hq: 4, Hkv: 2, L: 300, S: 200, D: 24, Dv: 16 }, { q: 'float32', k: 'float16', v: 'bfloat16' }],
    'decode (chunked, merged), f16 k/v': [{ B: 1, Hq: 8, Hkv: 2, L: 1, S: 5000, D: 64, Dv: 64 }, { q: 'float32', k: 'float16', v: 'float16' }],
    'weights path, f16 q, bf16 k/v': [{ B: 2, Hq: 2, Hkv: 2, L: 40, S: 300, D: 16, Dv: 16, returnWeights: true }, { q: 'float16', k: 'bfloat16', v: 'bfloat16' }],
  };
  for (const [name, [c, dt]] of Object.entries(detCases)) {
    det(name, () => {
      const n0 = ak.getThreads();
      const { half } = sdpaCase(c, dt);
      const res = [1, 2, 3].map((t) => {
        ak.setThreads(t);
        return addon.sdpa(half);
      });
      ak.setThreads(n0);
      for (const key of Object.keys(res[0])) {
        bitsEqual(res[1][key], res[0][key], `${name} ${key}: 2 vs 1 threads`);
        bitsEqual(res[2][key], res[0][key], `${name} ${key}: 3 vs 1 threads`);
      }
    });
  }
  for (const dt of [{ users: 'float16', items: 'bfloat16' }, { users: 'bfloat16', items: 'bfloat16' }]) {
    det(`topK, users ${SHORT[dt.users]}, items ${SHORT[dt.items]}${dt.users === 'bfloat16' && bf16dot ? ' (vdpbf16ps)' : ''}`, () => {
      const n0 = ak.getThreads();
      const a = topKArgs(300, 3000, 24, 10, dt, 5).half;
      const res = [1, 2, 3].map((t) => {
        ak.setThreads(t);
        return addon.topK(a);
      });
      ak.setThreads(n0);
      for (const key of ['indices', 'scores']) {
        bitsEqual(res[1][key], res[0][key], `${key}: 2 vs 1 threads`);
        bitsEqual(res[2][key], res[0][key], `${key}: 3 vs 1 threads`);
      }
    });
  }
  det.run();

  // ------------------------------------------------------------------------------------------
  /** topK args: users [B,D], items [N,D] in the given dtypes (`values`: optional float32 values). */
  function topKArgs(B, N, D, k, dt, seed, values = {}, extra = {}) {
    const users = inType(values.users ?? rand(B * D, seed), dt.users ?? 'float32');
    const items = inType(values.items ?? rand(N * D, seed + 1), dt.items ?? 'float32');
    const dtypes = {};
    for (const f of ['users', 'items']) if (dt[f] && dt[f] !== 'float32') dtypes[f] = dt[f];
    const common = { B, N, D, k, exclude: null, largest: true, ...extra };
    return {
      half: { ...common, users: users.data, items: items.data, dtypes },
      f32: { ...common, users: users.dec, items: items.dec },
      oracle: () => oracleTopK({ data: users.dec, shape: [B, D] }, { data: items.dec, shape: [N, D] }, k, { largest: common.largest, exclude: common.exclude ? common.exclude.map((e) => (e ? Array.from(e) : [])) : undefined }),
    };
  }
  const tk = suite('native half · topK: half users and/or items');
  tk('every users/items dtype combination: bit-identical to float32 on the decoded inputs, scores within tolerance of the oracle', () => {
    for (const u of DTYPES)
      for (const it of DTYPES)
        for (const [B, N, D, k] of [[7, 600, 17, 5], [40, 1000, 64, 10], [1, 257, 3, 257]]) {
          for (const largest of [true, false]) {
            const exclude = Array.from({ length: B }, (_, b) => (b % 3 === 0 ? Int32Array.of(0, 5, N - 1) : null));
            const a = topKArgs(B, N, D, k, { users: u, items: it }, B + N + D, {}, { largest, exclude });
            const got = addon.topK(a.half), want = addon.topK(a.f32);
            const what = `users ${SHORT[u]} items ${SHORT[it]} B${B} N${N} D${D} k${k} largest ${largest}`;
            if (!(bf16dot && u === 'bfloat16' && it === 'bfloat16')) {
              bitsEqual(got.scores, want.scores, `${what}: scores`);
              assert.equal(Array.from(got.indices), Array.from(want.indices), `${what}: indices`);
            }
            bitsEqual(native.kernels.topK(a.half).scores, got.scores, `${what}: kernel table`);
            const o = a.oracle();
            close(got.scores, o.scores, topKTol, `${what}: scores vs oracle`);
          }
        }
  });
  tk('bfloat16 users x bfloat16 items, long rows (D 256, odd D 77): scores within the native tolerance of the oracle', () => {
    for (const [B, N, D] of [[64, 3000, 256], [30, 2000, 77]])
      for (const largest of [true, false]) {
        const a = topKArgs(B, N, D, 10, { users: 'bfloat16', items: 'bfloat16' }, D, {}, { largest });
        close(addon.topK(a.half).scores, a.oracle().scores, topKTol, `B${B} N${N} D${D} largest ${largest}`);
      }
  });
  tk('ties (repeated items, exact small-integer scores): lower index first, same as the oracle', () => {
    const B = 9, N = 700, D = 32, k = 12;
    // Multiples of 1/4 in [-2, 2]: exact in float16 and bfloat16, dot products exact in float32.
    const users = rand(B * D, 31).map((x) => Math.round(x * 8) / 4);
    const base = rand(50 * D, 32).map((x) => Math.round(x * 8) / 4);
    const items = new Float32Array(N * D);
    for (let n = 0; n < N; n++) items.set(base.subarray((n % 50) * D, (n % 50 + 1) * D), n * D); // every row 14 times
    for (const dt of [{ users: 'bfloat16', items: 'bfloat16' }, { users: 'float32', items: 'float16' }, { users: 'float16', items: 'float32' }])
      for (const largest of [true, false]) {
        const a = topKArgs(B, N, D, k, dt, 0, { users, items }, { largest });
        const got = addon.topK(a.half), o = a.oracle();
        assert.equal(Array.from(got.indices), Array.from(o.indices), `${JSON.stringify(dt)} largest ${largest}: indices`);
        assert.equal(Array.from(got.scores), Array.from(o.scores), `${JSON.stringify(dt)} largest ${largest}: scores`);
      }
  });
  tk('NaN and ±Inf half items rank as float32 ones do', () => {
    const B = 3, N = 300, D = 8;
    const items = rand(N * D, 41);
    items[5 * D] = NaN;
    items[17 * D + 1] = Infinity;
    items[40 * D + 2] = -Infinity;
    for (const dt of [{ items: 'float16' }, { items: 'bfloat16' }, { users: 'bfloat16', items: 'float16' }])
      for (const largest of [true, false]) {
        const a = topKArgs(B, N, D, 6, dt, 42, { items }, { largest });
        const got = addon.topK(a.half), want = addon.topK(a.f32), o = a.oracle();
        bitsEqual(got.scores, want.scores, 'scores vs float32');
        assert.equal(Array.from(got.indices), Array.from(o.indices), `${JSON.stringify(dt)} largest ${largest}: indices vs oracle`);
      }
  });
  tk.run();

  // ------------------------------------------------------------------------------------------
  const asy = suite('native half · async twins copy the 16-bit inputs');
  asy('sdpaAsync and topKAsync equal the sync calls; changing the inputs after the call changes nothing', async () => {
    const { half } = sdpaCase({ B: 1, Hq: 2, Hkv: 2, L: 40, S: 64, D: 16, Dv: 16, bias: { values: rand(64, 3), shape: [64] } }, { q: 'float16', k: 'bfloat16', v: 'float16', bias: 'bfloat16' });
    const want = addon.sdpa(half);
    const p = addon.sdpaAsync(half);
    half.q.fill(0x7e00); // NaN everywhere: must not reach the running call
    half.k.fill(0);
    half.bias.data.fill(0x7fc0);
    const got = await p;
    for (const key of Object.keys(want)) bitsEqual(got[key], want[key], `sdpaAsync ${key}`);
    const a = topKArgs(20, 500, 16, 5, { users: 'bfloat16', items: 'float16' }, 3).half;
    const tw = addon.topK(a);
    const tp = addon.topKAsync(a);
    a.items.fill(0x7c00);
    const tg = await tp;
    bitsEqual(tg.scores, tw.scores, 'topKAsync scores');
    assert.equal(Array.from(tg.indices), Array.from(tw.indices));
    // The backend's async kernel passes the half args through as well.
    const { half: h2 } = sdpaCase({ B: 1, Hq: 1, Hkv: 1, L: 1, S: 900, D: 32, Dv: 32 }, { q: 'float32', k: 'bfloat16', v: 'bfloat16' });
    bitsEqual((await native.asyncKernels.sdpa(h2)).output, addon.sdpa(h2).output, 'asyncKernels.sdpa');
  });
  asy('a wrong array type rejects the async call with a TypeError naming the field', async () => {
    const { half } = sdpaCase({ B: 1, Hq: 1, Hkv: 1, L: 2, S: 3, D: 4, Dv: 4 }, { k: 'float16' });
    let err = null;
    await addon.sdpaAsync({ ...half, k: new Float32Array(12) }).catch((e) => (err = e));
    assert.ok(err instanceof TypeError && /\bk\b/.test(err.message), String(err));
  });
  asy.run();

  // ------------------------------------------------------------------------------------------
  const bad = suite('native half · the addon checks the half operands itself');
  bad('wrong array type for the declared dtype, or a Uint16Array without one: a TypeError naming the field', () => {
    const { half } = sdpaCase({ B: 1, Hq: 2, Hkv: 1, L: 3, S: 5, D: 4, Dv: 4, bias: { values: rand(5, 1), shape: [5] } }, { q: 'float16', k: 'bfloat16', v: 'float32', bias: 'float16' });
    addon.sdpa(half); // the good call
    const cases = [
      [{ q: new Float32Array(24) }, TypeError, /\bq\b.*Uint16Array/],
      [{ k: new Float32Array(20) }, TypeError, /\bk\b.*Uint16Array/],
      [{ v: new Uint16Array(20) }, TypeError, /\bv\b.*Float32Array/],
      [{ q: new Uint16Array(23) }, RangeError, /\bq\b/],
      [{ q: new Int16Array(24) }, TypeError, /\bq\b/],
      [{ bias: { data: new Float32Array(5), strides: [0, 0, 0, 1] } }, TypeError, /bias\.data/],
      [{ bias: { data: new Uint16Array(4), strides: [0, 0, 0, 1] } }, RangeError, /bias\.data/],
      [{ dtypes: { ...half.dtypes, q: 'float8' } }, RangeError, /dtypes\.q/],
      [{ dtypes: { ...half.dtypes, q: 16 } }, TypeError, /dtypes\.q/],
      [{ dtypes: { ...half.dtypes, mask: 'float16' } }, RangeError, /dtypes\.mask/],
      [{ dtypes: 'float16' }, TypeError, /dtypes/],
      [{ dtypes: null }, TypeError, /\bq\b.*Float32Array/], // no dtypes: q must be float32
    ];
    for (const [patch, type, re] of cases) {
      assert.throws(() => addon.sdpa({ ...half, ...patch }), (e) => e instanceof type && re.test(e.message), `${JSON.stringify(Object.keys(patch))}: ${type.name} ${re}`);
    }
    const t = topKArgs(2, 9, 4, 3, { users: 'bfloat16', items: 'float16' }, 1).half;
    addon.topK(t);
    for (const [patch, type, re] of [
      [{ users: new Float32Array(8) }, TypeError, /users.*Uint16Array/],
      [{ items: new Float32Array(36) }, TypeError, /items.*Uint16Array/],
      [{ items: new Uint16Array(35) }, RangeError, /items/],
      [{ dtypes: { users: 'bfloat16' } }, TypeError, /items.*Float32Array/],
      [{ dtypes: { users: 'bfloat16', items: 'float16', k: 'float16' } }, RangeError, /dtypes\.k/],
    ]) {
      assert.throws(() => addon.topK({ ...t, ...patch }), (e) => e instanceof type && re.test(e.message), `topK ${JSON.stringify(Object.keys(patch))}: ${type.name} ${re}`);
    }
  });
  bad.run();
}

if (!info.available) {
  const s = suite('native half · availability');
  if (inCI) s('native is available in CI', () => assert.unreachable(info.reason));
  else s.skip(`native half tests (unavailable: ${info.reason})`, () => {});
  s.run();
} else {
  halfTests(require(info.path));
}
