// Half precision conversions (src/half.ts), checked exhaustively against oracles written from the
// format definitions, not from the implementation:
// - decode: all 65,536 patterns of float16 and of bfloat16 against sign·2^(e-bias)·(1+m/2^p)
//   (subnormals 2^(1-bias)·m/2^p, Inf, NaN) in float64 with Math.pow, compared with Object.is;
// - encode: the sorted list of every finite value of the format, nearest by binary search, ties to
//   the even pattern, overflow from max + half an ulp; every finite value, every midpoint between
//   neighbours and the float32 values one ulp either side, overflow and underflow boundaries, ±0,
//   ±Inf, thousands of NaN patterns, and >= 1,000,000 seeded random float32 bit patterns per format;
// - the tensor forms (shapes, onnxruntime { data, dims }), typed errors, and widenArgs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const { widenArgs, widening } = require('../dist/cjs/half.js');

// ---- float32 bits, independent of the library ----
const F = new Float32Array(1);
const U = new Uint32Array(F.buffer);
const bitsOf = (x) => ((F[0] = x), U[0]);
const fromBits = (b) => ((U[0] = b >>> 0), F[0]);
const nextUp32 = (x) => fromBits(bitsOf(x) + 1); // for finite x > 0
const nextDown32 = (x) => fromBits(bitsOf(x) - 1); // for finite x > 0

// A seeded generator of 32-bit integers (xorshift32), written here so the inputs do not depend on
// the library's seededRandom.
function xorshift32(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

// ---- the oracles ----
const FORMATS = {
  float16: { E: 5, M: 10, toBits: ak.toFloat16, scalar: ak.float32ToFloat16Bits, decode: ak.float16BitsToNumber },
  bfloat16: { E: 8, M: 7, toBits: ak.toBFloat16, scalar: ak.float32ToBFloat16Bits, decode: ak.bfloat16BitsToNumber },
};

/** The value of pattern h of a format with E exponent bits and M mantissa bits, from the definition. */
function oracleDecode(h, { E, M }) {
  const bias = Math.pow(2, E - 1) - 1;
  const sign = (h >> (E + M)) & 1 ? -1 : 1;
  const e = (h >> M) & ((1 << E) - 1);
  const m = h & ((1 << M) - 1);
  if (e === (1 << E) - 1) return m === 0 ? sign * Infinity : NaN;
  if (e === 0) return sign * Math.pow(2, 1 - bias) * (m / Math.pow(2, M)); // subnormal (sign·0 is ±0)
  return sign * Math.pow(2, e - bias) * (1 + m / Math.pow(2, M));
}

/** Nearest-even encoder over the sorted finite values of a format (float64 arithmetic, exact here). */
function buildOracle(fmt) {
  const { E, M } = fmt;
  const signBit = 1 << (E + M);
  const infBits = ((1 << E) - 1) << M;
  const maxPattern = infBits - 1; // the largest finite positive pattern
  const values = new Float64Array(maxPattern + 1);
  for (let p = 0; p <= maxPattern; p++) values[p] = oracleDecode(p, fmt);
  const max = values[maxPattern];
  // Above max, RNE rounds as if the exponent went on: max + ulp = 2^(emax+1) has an even
  // (zero) mantissa, so the midpoint max + ulp/2 and everything above it go to Inf.
  const overflow = max + (max - values[maxPattern - 1]) / 2;
  function encode(x) {
    if (Number.isNaN(x)) return null;
    const s = x < 0 || Object.is(x, -0) ? signBit : 0;
    const a = Math.abs(x);
    if (a >= overflow) return s | infBits;
    let lo = 0;
    let hi = maxPattern;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (values[mid] <= a) lo = mid;
      else hi = mid - 1;
    }
    if (lo === maxPattern || values[lo] === a) return s | lo;
    const half = (values[lo] + values[lo + 1]) / 2; // exact: both have few significant bits
    return s | (a < half ? lo : a > half ? lo + 1 : lo % 2 === 0 ? lo : lo + 1);
  }
  return { ...fmt, signBit, infBits, maxPattern, values, max, overflow, encode };
}
const ORACLES = { float16: buildOracle(FORMATS.float16), bfloat16: buildOracle(FORMATS.bfloat16) };

/** True when half pattern h of the format is a NaN. */
const isNaNPattern = (h, o) => (h & o.infBits) === o.infBits && (h & ((1 << o.M) - 1)) !== 0;

/** Collects mismatches and fails once with the first few (a million uvu asserts would be slow). */
function checker(what) {
  const bad = [];
  let n = 0;
  return {
    check(ok, detail) {
      n++;
      if (!ok && bad.length < 10) bad.push(detail());
    },
    done() {
      assert.ok(bad.length === 0, `${what}: mismatches, first: ${bad.join('; ')}`);
      return n;
    },
  };
}
const hex = (x, w = 4) => '0x' + (x >>> 0).toString(16).padStart(w, '0');
const counts = [];

/** Encode `inputs` (a Float32Array) both ways (array form, scalar form) and compare with `want(i)`. */
function checkEncode(name, dtype, inputs, want) {
  const fmt = FORMATS[dtype];
  const c = checker(`${dtype} ${name}`);
  const arr = fmt.toBits(inputs);
  assert.ok(arr instanceof Uint16Array && arr.length === inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const w = want(i);
    const x = inputs[i];
    c.check(arr[i] === w, () => `array form: ${x} (${hex(bitsOf(x), 8)}) -> ${hex(arr[i])}, want ${hex(w)}`);
    const s = fmt.scalar(x);
    c.check(s === w, () => `scalar form: ${x} (${hex(bitsOf(x), 8)}) -> ${hex(s)}, want ${hex(w)}`);
  }
  const n = c.done();
  counts.push(`${dtype} ${name}: ${inputs.length} inputs`);
  return n;
}

// ---- decode ----
for (const dtype of ['float16', 'bfloat16']) {
  test(`${dtype} decode: all 65,536 patterns against the definition (Object.is; NaN keeps sign and payload)`, () => {
    const fmt = FORMATS[dtype];
    const c = checker(`${dtype} decode`);
    const all = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) all[h] = h;
    const viaBits = ak.toFloat32(all, dtype);
    const viaTensor = ak.toFloat32(ak.halfTensor(all, [256, 256], dtype));
    assert.equal(viaTensor.shape, [256, 256]);
    const bits = new Uint32Array(viaBits.buffer);
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const want = oracleDecode(h, fmt);
      c.check(Object.is(Math.fround(want), want), () => `${hex(h)}: ${want} is not a float32 value`);
      c.check(Object.is(fmt.decode(h), want), () => `scalar ${hex(h)} -> ${fmt.decode(h)}, want ${want}`);
      c.check(Object.is(viaBits[h], want), () => `toFloat32(bits) ${hex(h)} -> ${viaBits[h]}, want ${want}`);
      c.check(Object.is(viaTensor.data[h], want), () => `toFloat32(tensor) ${hex(h)} -> ${viaTensor.data[h]}, want ${want}`);
      if (Number.isNaN(want)) {
        nans++;
        // Widening is exact for NaN too: same sign, the payload in the top mantissa bits.
        const wantBits = (((h >> (fmt.E + fmt.M)) & 1) << 31 | 0x7f800000 | ((h & ((1 << fmt.M) - 1)) << (23 - fmt.M))) >>> 0;
        c.check(bits[h] === wantBits, () => `NaN ${hex(h)} -> float32 bits ${hex(bits[h], 8)}, want ${hex(wantBits, 8)}`);
      }
    }
    assert.is(nans, 2 * ((1 << fmt.M) - 1));
    c.done();
    counts.push(`${dtype} decode: 65536 patterns (${nans} NaNs)`);
  });
}

// ---- the oracle itself ----
test('the encode oracles: finite values strictly increasing, max and overflow thresholds as the formats define', () => {
  for (const o of Object.values(ORACLES)) for (let p = 1; p <= o.maxPattern; p++) if (!(o.values[p] > o.values[p - 1])) assert.unreachable(`not increasing at ${p}`);
  assert.is(ORACLES.float16.max, 65504);
  assert.is(ORACLES.float16.overflow, 65520);
  assert.is(ORACLES.float16.values[1], Math.pow(2, -24));
  assert.is(ORACLES.bfloat16.max, fromBits(0x7f7f0000));
  assert.is(ORACLES.bfloat16.overflow, fromBits(0x7f7f8000));
  assert.is(ORACLES.bfloat16.values[1], Math.pow(2, -133));
});

// ---- encode ----
for (const dtype of ['float16', 'bfloat16']) {
  const o = ORACLES[dtype];

  test(`${dtype} encode: every finite value (both signs, ±0) round-trips to its own pattern`, () => {
    const patterns = [];
    for (let p = 0; p <= o.maxPattern; p++) patterns.push(p, o.signBit | p);
    const inputs = Float32Array.from(patterns, (p) => oracleDecode(p, o));
    const c = checker(`${dtype} oracle self-check`);
    for (let i = 0; i < patterns.length; i++) c.check(o.encode(inputs[i]) === patterns[i], () => `oracle ${hex(patterns[i])}`);
    c.done();
    checkEncode('finite round trip', dtype, inputs, (i) => patterns[i]);
  });

  test(`${dtype} encode: every midpoint between neighbours goes to the even pattern, one float32 ulp either side to the nearer`, () => {
    const inputs = [];
    const want = [];
    const c = checker(`${dtype} midpoints: float32 values, oracle agrees`);
    const add = (x, w) => {
      c.check(Object.is(Math.fround(x), x), () => `${x} is not a float32 value`);
      c.check(o.encode(x) === w, () => `oracle at ${x}: ${hex(o.encode(x))}, want ${hex(w)}`);
      inputs.push(x);
      want.push(w);
    };
    for (let i = 0; i < o.maxPattern; i++) {
      const lo = o.values[i];
      const hi = o.values[i + 1];
      const mid = (lo + hi) / 2;
      const even = i % 2 === 0 ? i : i + 1;
      for (const s of [0, o.signBit]) {
        const sg = s ? -1 : 1;
        add(sg * mid, s | even);
        add(sg * nextDown32(mid), s | i);
        add(sg * nextUp32(mid), s | (i + 1));
        if (lo > 0) add(sg * nextUp32(lo), s | i);
        add(sg * nextDown32(hi), s | (i + 1));
      }
    }
    c.done();
    checkEncode('midpoints and their neighbours', dtype, Float32Array.from(inputs), (i) => want[i]);
  });

  test(`${dtype} encode: overflow boundary, ±Inf, ±0, float32 max`, () => {
    const inf = o.infBits;
    const cases = [
      [o.max, o.maxPattern],
      [nextDown32(o.overflow), o.maxPattern], // just under max + half an ulp: max
      [o.overflow, inf], // the tie goes to the even neighbour 2^(emax+1): Inf
      [nextUp32(o.overflow), inf],
      [fromBits(0x7f7fffff), inf], // float32 max
      [Infinity, inf],
      [-o.max, o.signBit | o.maxPattern],
      [-nextDown32(o.overflow), o.signBit | o.maxPattern],
      [-o.overflow, o.signBit | inf],
      [-Infinity, o.signBit | inf],
      [0, 0],
      [-0, o.signBit],
    ];
    for (const [x, w] of cases) assert.is(o.encode(x), w, `oracle at ${x}`);
    checkEncode('overflow, Inf, zero', dtype, Float32Array.from(cases, (c) => c[0]), (i) => cases[i][1]);
  });
}

test('float16 encode: the named corners (65519.99 -> 65504, 65520 -> Inf, 2^-25 -> +0, just above 2^-25 -> 2^-24)', () => {
  const p = Math.pow;
  const cases = [
    [65504, 0x7bff],
    [nextDown32(65520), 0x7bff], // 65519.996
    [65520, 0x7c00],
    [-65520, 0xfc00],
    [p(2, -25), 0x0000], // half the smallest subnormal: tie to the even 0
    [-p(2, -25), 0x8000],
    [nextUp32(p(2, -25)), 0x0001],
    [nextDown32(p(2, -25)), 0x0000],
    [p(2, -26), 0x0000],
    [3 * p(2, -26), 0x0001],
    [1.5 * p(2, -24), 0x0002], // tie between 1 and 2: even 2
    [2.5 * p(2, -24), 0x0002], // tie between 2 and 3: even 2
    [p(2, -14) - p(2, -25), 0x0400], // between the largest subnormal and the smallest normal: even 0x400
    [p(2, -14), 0x0400],
    [fromBits(1), 0x0000], // float32's smallest subnormal
    [-fromBits(1), 0x8000], // ... negative: -0
    [1 + p(2, -11), 0x3c00], // tie between 1 and 1+2^-10: even 1
    [1 + 3 * p(2, -11), 0x3c02],
    [0.1, 0x2e66],
    [-2, 0xc000],
  ];
  checkEncode('named corners', 'float16', Float32Array.from(cases, (c) => c[0]), (i) => cases[i][1]);
});

test('bfloat16 encode: the named corners (subnormal ties, float32 subnormals, largest finite)', () => {
  const cases = [
    [fromBits(0x00008000), 0x0000], // 2^-134: tie between 0 and 2^-133, even 0
    [fromBits(0x00008001), 0x0001],
    [fromBits(0x00018000), 0x0002], // tie between 1 and 2: even 2
    [fromBits(0x00028000), 0x0002], // tie between 2 and 3: even 2
    [fromBits(0x00000001), 0x0000],
    [fromBits(0x80000001), 0x8000],
    [fromBits(0x007f8000), 0x0080], // largest subnormal + half: the smallest normal
    [fromBits(0x7f7f7fff), 0x7f7f],
    [fromBits(0x7f7f8000), 0x7f80],
    [1 + Math.pow(2, -8), 0x3f80], // tie: even 1
    [1 + 3 * Math.pow(2, -8), 0x3f82],
    [0.1, 0x3dcd],
  ];
  checkEncode('named corners', 'bfloat16', Float32Array.from(cases, (c) => c[0]), (i) => cases[i][1]);
});

for (const dtype of ['float16', 'bfloat16']) {
  test(`${dtype} encode: thousands of NaN patterns (signalling, quiet, payloads in the low bits only) stay quiet NaN with their sign`, () => {
    const o = ORACLES[dtype];
    const fmt = FORMATS[dtype];
    const nanBits = [];
    for (const sign of [0, 0x80000000]) {
      for (let bit = 0; bit < 23; bit++) nanBits.push((sign | 0x7f800000 | (1 << bit)) >>> 0); // one payload bit: signalling, or the quiet bit alone
      nanBits.push((sign | 0x7fffffff) >>> 0);
      for (let low = 1; low < 0x10000; low += 37) nanBits.push((sign | 0x7f800000 | low) >>> 0); // payload below the kept bits: truncation would give Inf
      const rnd = xorshift32(sign ? 7 : 11);
      for (let i = 0; i < 2000; i++) {
        const m = rnd() & 0x7fffff;
        nanBits.push((sign | 0x7f800000 | (m || 1)) >>> 0);
      }
    }
    const inputs = new Float32Array(Uint32Array.from(nanBits).buffer);
    const out = fmt.toBits(inputs);
    const quiet = 1 << (o.M - 1);
    const kept = quiet - 1; // payload bits below the quiet bit that fit in the half format
    const c = checker(`${dtype} NaN`);
    for (let i = 0; i < nanBits.length; i++) {
      const b = nanBits[i];
      const h = out[i];
      const desc = () => `${hex(b, 8)} -> ${hex(h)}`;
      c.check(isNaNPattern(h, o), desc);
      c.check((h & quiet) !== 0, desc);
      c.check(((h >> (o.E + o.M)) & 1) === b >>> 31, desc);
      c.check((h & kept) === ((b >>> (23 - o.M)) & kept), desc);
      // The scalar form: whatever NaN the engine passes, a NaN comes out.
      c.check(isNaNPattern(fmt.scalar(inputs[i]), o), () => `scalar ${desc()}`);
    }
    c.check(isNaNPattern(fmt.scalar(NaN), o), () => 'NaN');
    c.done();
    counts.push(`${dtype} NaN: ${nanBits.length} patterns`);
  });

  test(`${dtype} encode: 1,000,000 seeded random float32 bit patterns against the oracle`, () => {
    const o = ORACLES[dtype];
    const fmt = FORMATS[dtype];
    const run = (name, seed, n, make) => {
      const rnd = xorshift32(seed);
      const u = new Uint32Array(n);
      for (let i = 0; i < n; i++) u[i] = make(rnd());
      const inputs = new Float32Array(u.buffer);
      const out = fmt.toBits(inputs);
      const c = checker(`${dtype} ${name}`);
      for (let i = 0; i < n; i++) {
        const x = inputs[i];
        const w = o.encode(x);
        if (w === null) {
          c.check(isNaNPattern(out[i], o) && ((out[i] >> (o.E + o.M)) & 1) === u[i] >>> 31, () => `NaN ${hex(u[i], 8)} -> ${hex(out[i])}`);
          continue;
        }
        c.check(out[i] === w, () => `${x} (${hex(u[i], 8)}) -> ${hex(out[i])}, want ${hex(w)}`);
        const s = fmt.scalar(x);
        c.check(s === w, () => `scalar ${x} (${hex(u[i], 8)}) -> ${hex(s)}, want ${hex(w)}`);
      }
      c.done();
      counts.push(`${dtype} ${name}: ${n} random float32 patterns`);
    };
    run('uniform bits', dtype === 'float16' ? 0x1234 : 0x4321, 1_000_000, (r) => r);
    // Uniform bits mostly overflow or underflow float16: another million with exponents around its range (2^-27 .. 2^17).
    if (dtype === 'float16') run('float16-range bits', 0x5678, 1_000_000, (r) => ((r & 0x807fffff) | ((100 + (r >>> 23) % 45) << 23)) >>> 0);
  });
}

test('double rounding is confined to non-float32 inputs (documented): a float64 just above a float16 midpoint', () => {
  const x = 1 + Math.pow(2, -11) + Math.pow(2, -40); // nearest float16 of x itself: 1 + 2^-10
  assert.is(Math.fround(x), 1 + Math.pow(2, -11)); // as a float32 it is the midpoint exactly
  assert.is(ak.float32ToFloat16Bits(x), 0x3c00); // ... which ties to the even 1
  assert.is(ak.toFloat16(new Float64Array([x]))[0], 0x3c00);
  assert.is(ak.toFloat16([x])[0], 0x3c00);
});

// ---- tensor forms and errors ----
test('toFloat16 / toBFloat16 / toFloat32: tensor forms keep the shape; onnxruntime { data, dims } accepted; arrays of numbers', () => {
  const ort = require('onnxruntime-node');
  const data = Float32Array.from([1, -2.5, 0.1, 65520, -0, 3e-8]);
  const t = ak.tensor(data, [2, 3]);
  for (const [dtype, to] of [['float16', ak.toFloat16], ['bfloat16', ak.toBFloat16]]) {
    const bits = to(data);
    for (const input of [t, { data, shape: [2, 3] }, { data, dims: [2, 3] }, new ort.Tensor('float32', data, [2, 3])]) {
      const h = to(input);
      assert.is(h.dtype, dtype);
      assert.equal(h.shape, [2, 3]);
      assert.ok(h.data instanceof Uint16Array && h.data.buffer !== data.buffer);
      assert.equal(Array.from(h.data), Array.from(bits));
      const back = ak.toFloat32(h);
      assert.equal(back.shape, [2, 3]);
      assert.ok(back.data instanceof Float32Array);
      assert.equal(Array.from(back.data), Array.from(bits, (b) => oracleDecode(b, FORMATS[dtype])));
      assert.equal(Array.from(ak.toFloat32(h.data, dtype)), Array.from(back.data));
    }
    assert.equal(Array.from(to([1, -2.5, 0.1])), Array.from(bits.subarray(0, 3)));
    assert.equal(Array.from(to(new Float64Array([1, -2.5, 0.1]))), Array.from(bits.subarray(0, 3)));
    assert.equal(Array.from(to({ length: 2, 0: 1, 1: -2.5 })), Array.from(bits.subarray(0, 2)));
    assert.is(to(new Float32Array(0)).length, 0);
    assert.equal(to(ak.tensor(new Float32Array(0), [0, 4])).shape, [0, 4]);
    assert.equal(to(ak.tensor([7], [])).shape, []);
  }
  assert.equal(Array.from(ak.toFloat16(data)), [0x3c00, 0xc100, 0x2e66, 0x7c00, 0x8000, 0x0001]);
  // onnxruntime's own float16 tensor ({ data: Uint16Array, dims, type: 'float16' }) decodes.
  const h16 = new Uint16Array([0x3c00, 0xc100, 0x7e00, 0x0001]);
  const ortHalf = new ort.Tensor('float16', h16, [2, 2]);
  for (const input of [ortHalf, { data: h16, dims: [2, 2], type: 'float16' }, ak.halfTensor(h16, [2, 2], 'float16')]) {
    const f = ak.toFloat32(input);
    assert.equal(f.shape, [2, 2]);
    assert.equal(Array.from(f.data), [1, -2.5, NaN, Math.pow(2, -24)]);
  }
  // halfTensor wraps without copying.
  assert.ok(ak.halfTensor(h16, [4], 'bfloat16').data === h16);
});

test('half helpers reject bad input with typed errors naming the argument', () => {
  const is = (fn, Kind, argument) =>
    assert.throws(fn, (e) => e instanceof Kind && e.argument === argument, `${Kind.name} on ${argument}`);
  const bits = new Uint16Array(6);
  // toFloat32: the bits alone do not say which format.
  is(() => ak.toFloat32(bits), ak.DTypeError, 'dtype');
  is(() => ak.toFloat32(bits, 'float8'), ak.DTypeError, 'dtype');
  is(() => ak.toFloat32(bits, 'float32'), ak.DTypeError, 'dtype');
  is(() => ak.toFloat32(new Float32Array(6), 'float16'), ak.DTypeError, 'bits');
  is(() => ak.toFloat32([1, 2], 'float16'), ak.DTypeError, 'bits');
  is(() => ak.toFloat32({ data: bits, shape: [2, 3] }), ak.DTypeError, 't.dtype');
  is(() => ak.toFloat32({ data: bits, shape: [2, 3], dtype: 'half' }), ak.DTypeError, 't.dtype');
  is(() => ak.toFloat32({ data: new Float32Array(6), shape: [2, 3], dtype: 'float16' }), ak.DTypeError, 't.data');
  is(() => ak.toFloat32({ data: bits, shape: [4, 2], dtype: 'float16' }), ak.ShapeError, 't');
  is(() => ak.toFloat32(ak.tensor(new Float32Array(6), [2, 3])), ak.DTypeError, 't.data');
  is(() => ak.toFloat32(null), ak.DTypeError, 't');
  is(() => ak.toFloat32(42), ak.DTypeError, 't');
  // toFloat16 / toBFloat16
  for (const to of [ak.toFloat16, ak.toBFloat16]) {
    is(() => to(null), ak.DTypeError, 'x');
    is(() => to(1.5), ak.DTypeError, 'x');
    is(() => to('abc'), ak.DTypeError, 'x');
    is(() => to([1, 'a']), ak.DTypeError, 'x[1]');
    is(() => to(new BigInt64Array(2)), ak.DTypeError, 'x');
    is(() => to({ data: new Float32Array(5), shape: [2, 3] }), ak.ShapeError, 'x');
    is(() => to({ data: new Float64Array(6), shape: [2, 3] }), ak.DTypeError, 'x.data');
    is(() => to({ data: bits, shape: [2, 3], dtype: 'float16' }), ak.DTypeError, 'x'); // a half tensor: toFloat16 takes float32 (asTensor names the argument)
    is(() => to({ data: new Float32Array(6), shape: [2, -3] }), ak.ShapeError, 'x');
    const detached = new Float32Array(4);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    is(() => to(detached), ak.DTypeError, 'x');
  }
  // halfTensor
  is(() => ak.halfTensor(bits, [4, 2], 'float16'), ak.ShapeError, 'bits');
  is(() => ak.halfTensor(new Float32Array(6), [2, 3], 'float16'), ak.DTypeError, 'bits');
  is(() => ak.halfTensor([0, 0], [2], 'float16'), ak.DTypeError, 'bits');
  is(() => ak.halfTensor(bits, [2, 3], 'fp16'), ak.DTypeError, 'dtype');
  is(() => ak.halfTensor(bits, [2, 3]), ak.DTypeError, 'dtype');
  is(() => ak.halfTensor(bits, [2, 1.5], 'float16'), ak.ShapeError, 'shape');
  is(() => ak.halfTensor(bits, 'abc', 'float16'), ak.DTypeError, 'shape.shape');
  const gone = new Uint16Array(4);
  structuredClone(gone.buffer, { transfer: [gone.buffer] });
  is(() => ak.halfTensor(gone, [4], 'float16'), ak.DTypeError, 'bits');
  is(() => ak.toFloat32(gone, 'bfloat16'), ak.DTypeError, 'bits');
});

// ---- widenArgs ----
test('widenArgs: named half fields (plain, strided, nested layers) decoded exactly, dtypes removed, the original untouched', () => {
  const f16 = (xs) => Uint16Array.from(xs);
  const q = f16([0x3c00, 0xc000, 0x0001, 0x7bff, 0xfc00, 0x7e01]);
  const k = Float32Array.from([1, 2, 3]);
  const biasData = f16([0x3f80, 0xbf80, 0x7f80, 0x0001]);
  const biasStrides = [0, 2, 1];
  const w0 = f16([0x3800, 0x8000, 0x03ff]);
  const b0 = Float32Array.from([0.5]);
  const layer1 = { w: Float32Array.from([1]), b: Float32Array.from([2]) };
  const args = {
    q,
    k,
    bias: { data: biasData, strides: biasStrides },
    scale: 0.5,
    layers: [{ w: w0, b: b0, dtypes: { w: 'float16' } }, layer1],
    dtypes: { q: 'float16', bias: 'bfloat16' },
  };
  const before = JSON.stringify(args, (key, v) => (ArrayBuffer.isView(v) ? `${v.constructor.name}:${Array.from(v)}` : v));
  const out = widenArgs(args);
  const dec = (bits, dtype) => Array.from(bits, (b) => oracleDecode(b, FORMATS[dtype]));
  const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
  assert.ok(out !== args);
  assert.not.ok('dtypes' in out);
  assert.ok(out.q instanceof Float32Array && same(Array.from(out.q), dec(q, 'float16')), 'q decoded');
  assert.ok(out.k === k, 'float32 field kept as is');
  assert.ok(out.bias.data instanceof Float32Array && same(Array.from(out.bias.data), dec(biasData, 'bfloat16')), 'strided data decoded');
  assert.equal(out.bias.strides, biasStrides);
  assert.is(out.scale, 0.5);
  assert.not.ok('dtypes' in out.layers[0]);
  assert.ok(out.layers[0].w instanceof Float32Array && same(Array.from(out.layers[0].w), dec(w0, 'float16')), 'nested layer decoded');
  assert.ok(out.layers[0].b === b0);
  assert.ok(out.layers[1] === layer1, 'a layer without dtypes is kept as is');
  // The original: same objects, same contents, dtypes still there.
  const after = JSON.stringify(args, (key, v) => (ArrayBuffer.isView(v) ? `${v.constructor.name}:${Array.from(v)}` : v));
  assert.is(after, before);
  assert.ok(args.q === q && args.bias.data === biasData && args.layers[0].w === w0 && args.dtypes.q === 'float16' && args.layers[0].dtypes.w === 'float16');
  // Nothing half: the same object back.
  const plain = { q: k, scale: 1, layers: [layer1] };
  assert.ok(widenArgs(plain) === plain);
  // widening(kernel) hands the kernel the widened args.
  let seen;
  widening((a) => (seen = a))(args);
  assert.ok(seen.q instanceof Float32Array && !('dtypes' in seen));
});

// ---- speed (reported, not asserted: the machine may be shared) ----
test('a 100000x64 table: toFloat16, toBFloat16 and back (timings printed)', () => {
  const t = ak.random([100000, 64], { seed: 5, distribution: 'normal' });
  const time = (name, fn) => {
    fn();
    const t0 = process.hrtime.bigint();
    const r = fn();
    counts.push(`${name} on 100000x64: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(1)} ms`);
    return r;
  };
  const h = time('toFloat16', () => ak.toFloat16(t));
  const b = time('toBFloat16', () => ak.toBFloat16(t));
  const hf = time('toFloat32 (float16)', () => ak.toFloat32(h));
  const bf = time('toFloat32 (bfloat16)', () => ak.toFloat32(b));
  assert.equal(hf.shape, [100000, 64]);
  assert.equal(bf.shape, [100000, 64]);
  // Spot check against the oracle.
  for (let i = 0; i < t.data.length; i += 9973) {
    assert.is(h.data[i], ORACLES.float16.encode(t.data[i]));
    assert.is(b.data[i], ORACLES.bfloat16.encode(t.data[i]));
    assert.is(hf.data[i], oracleDecode(h.data[i], FORMATS.float16));
  }
});

test.after(() => {
  for (const line of counts) console.log(`  ${line}`);
});

test.run();
