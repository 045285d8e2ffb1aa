// The KV cache (issue #14 item 4): KvCache's append / reset semantics and typed errors (backend
// independent), then on EVERY backend (reference, native, gpu under Xvfb; test/jobs.js: display):
// sdpa over a cache against the independent float64 oracle over the same valid keys, and the key
// property of incremental decoding: multiHeadAttention and transformerEncoderLayer run causal over
// L tokens at once equal the same ops run over a prefix and then token by token through the cache
// (within the op's descriptor tolerance on that backend; the float64 oracle's on reference), for
// both norm modes and two stacked layers. Every sub-op of the cache path is cross-checked against
// reference (verify) on native and gpu. In CI an unavailable backend fails; elsewhere it is a
// visible skip. On gpu, every kernel built must be a GL kernel (never gpu.js's CPU mode).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { ORACLE_TOL, oracleMha, oracleSdpa } from './specs/oracle.mjs';
import { assertClose } from './specs/index.mjs';
import { backendWanted, rnd, toleranceOf } from './specs/util.mjs';

const { KvCache, CapacityError, ShapeError, DTypeError, ValueError } = ak;

/** Rows [a, b) of every batch entry of a [B,L,X] tensor. */
function rows(t, a, b) {
  const [B, L, X] = t.shape;
  const data = new Float32Array(B * (b - a) * X);
  for (let i = 0; i < B; i++) data.set(t.data.subarray((i * L + a) * X, (i * L + b) * X), i * (b - a) * X);
  return { data, shape: [B, b - a, X] };
}

/** Row r of batch entry b of a [B,L,X] tensor. */
const rowOf = (t, b, r) => t.data.subarray((b * t.shape[1] + r) * t.shape[2], (b * t.shape[1] + r + 1) * t.shape[2]);

/** [B,H,T,X] head-major from [B,T,H,X] token-major. */
function bhld(t) {
  const [B, T, H, X] = t.shape;
  const data = new Float32Array(t.data.length);
  for (let b = 0; b < B; b++) for (let s = 0; s < T; s++) for (let h = 0; h < H; h++) for (let c = 0; c < X; c++) data[((b * H + h) * T + s) * X + c] = t.data[((b * T + s) * H + h) * X + c];
  return { data, shape: [B, H, T, X] };
}

const snapshot = (c) => ({ k: Float32Array.from(c.k.data), v: Float32Array.from(c.v.data), lengths: Array.from(c.lengths), appended: Array.from(c.appended) });
function assertUnchanged(c, s, what) {
  assert.equal(Array.from(c.lengths), s.lengths, `${what}: lengths unchanged`);
  assert.equal(Array.from(c.appended), s.appended, `${what}: appended unchanged`);
  assert.ok(c.k.data.every((x, i) => Object.is(x, s.k[i])), `${what}: k untouched`);
  assert.ok(c.v.data.every((x, i) => Object.is(x, s.v[i])), `${what}: v untouched`);
}
const throwsTyped = (fn, cls, argument, what) =>
  assert.throws(fn, (e) => {
    if (!(e instanceof cls)) throw new Error(`${what}: expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    if (argument !== undefined && e.argument !== argument) throw new Error(`${what}: expected argument ${argument}, got ${e.argument} (${e.message})`);
    return true;
  }, what);

// ---------------------------------------------------------------------------------------------
// KvCache itself (no backend involved)
// ---------------------------------------------------------------------------------------------
const cacheSuite = suite('kvCache · append, reset, errors');

cacheSuite('shapes, preallocation, lengths; append with a different count per batch row', () => {
  const c = new KvCache({ batch: 3, kvHeads: 2, capacity: 5, headDim: 4, valueDim: 3 });
  assert.equal(c.k.shape, [3, 2, 5, 4]);
  assert.equal(c.v.shape, [3, 2, 5, 3]);
  assert.is(c.k.data.length, 3 * 2 * 5 * 4);
  const kData = c.k.data, vData = c.v.data;
  assert.equal(Array.from(c.lengths), [0, 0, 0]);
  const k = rnd([3, 2, 2, 4], 1), v = rnd([3, 2, 2, 3], 2);
  assert.is(c.append(k, v, { counts: new Int32Array([2, 0, 1]) }), c, 'append returns the cache');
  assert.equal(Array.from(c.lengths), [2, 0, 1]);
  assert.equal(Array.from(c.appended), [2, 0, 1]);
  assert.equal(Array.from(c.causalOffsets()), [0, 0, 0]);
  const k2 = rnd([3, 2, 3, 4], 3), v2 = rnd([3, 2, 3, 3], 4);
  c.append(k2, v2); // default: all 3 rows of every batch entry
  assert.equal(Array.from(c.lengths), [5, 3, 4]);
  assert.equal(Array.from(c.appended), [3, 3, 3]);
  assert.equal(Array.from(c.causalOffsets()), [2, 0, 1]);
  assert.is(c.k.data, kData, 'no reallocation');
  assert.is(c.v.data, vData, 'no reallocation');
  // Positions: batch 0 = k[0, :, 0..2) then k2[0, :, 0..3); batch 1 = k2 only; batch 2 = k[2,:,0] then k2.
  const at = (t, b, h, s, X, T) => Array.from(t.data.subarray(((b * 2 + h) * T + s) * X, ((b * 2 + h) * T + s + 1) * X));
  for (let h = 0; h < 2; h++) {
    assert.equal(at(c.k, 0, h, 1, 4, 5), at(k, 0, h, 1, 4, 2));
    assert.equal(at(c.k, 0, h, 4, 4, 5), at(k2, 0, h, 2, 4, 3));
    assert.equal(at(c.v, 1, h, 0, 3, 5), at(v2, 1, h, 0, 3, 3));
    assert.equal(at(c.k, 2, h, 0, 4, 5), at(k, 2, h, 0, 4, 2));
    assert.equal(at(c.v, 2, h, 3, 3, 5), at(v2, 2, h, 2, 3, 3));
  }
});

cacheSuite("layout 'blhd' ([B,T,Hkv,D] and [B,T,Hkv*D]) fills the cache as 'bhld' does", () => {
  const opts = { batch: 2, kvHeads: 3, capacity: 4, headDim: 2, valueDim: 5 };
  const k = rnd([2, 3, 3, 2], 5), v = rnd([2, 3, 3, 5], 6);
  const counts = new Int32Array([3, 1]);
  const a = new KvCache(opts).append(bhld(k), bhld(v), { counts });
  const b = new KvCache(opts).append(k, v, { layout: 'blhd', counts });
  const c = new KvCache(opts).append({ data: k.data, shape: [2, 3, 6] }, { data: v.data, shape: [2, 3, 15] }, { layout: 'blhd', counts });
  for (const x of [b, c]) {
    assert.equal(Array.from(x.k.data), Array.from(a.k.data));
    assert.equal(Array.from(x.v.data), Array.from(a.v.data));
    assert.equal(Array.from(x.lengths), [3, 1]);
  }
});

cacheSuite('exactly full capacity is fine; one token more is a CapacityError and writes nothing', () => {
  const c = new KvCache({ batch: 2, kvHeads: 1, capacity: 4, headDim: 2 });
  c.append(rnd([2, 1, 3, 2], 7), rnd([2, 1, 3, 2], 8), { counts: new Int32Array([3, 2]) });
  c.append(rnd([2, 1, 2, 2], 9), rnd([2, 1, 2, 2], 10), { counts: new Int32Array([1, 2]) });
  assert.equal(Array.from(c.lengths), [4, 4], 'full');
  const s = snapshot(c);
  throwsTyped(() => c.append(rnd([2, 1, 1, 2], 11), rnd([2, 1, 1, 2], 12)), CapacityError, 'k', 'past capacity');
  assertUnchanged(c, s, 'after the CapacityError');
  // Only batch row 1 overflows: row 0 must not be written either.
  c.reset(0);
  const s2 = snapshot(c);
  let err;
  try {
    c.append(rnd([2, 1, 1, 2], 13), rnd([2, 1, 1, 2], 14), { counts: new Int32Array([1, 1]) });
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CapacityError && err instanceof ak.AttnkitError, 'CapacityError extends AttnkitError');
  assert.is(err.code, 'ERR_ATTNKIT_CAPACITY');
  assert.is(err.argument, 'options.counts');
  assert.is(err.batch, 1);
  assert.is(err.length, 4);
  assert.is(err.count, 1);
  assert.is(err.capacity, 4);
  assertUnchanged(c, s2, 'a later row overflowing');
  // counts 0 for the full row: fine.
  c.append(rnd([2, 1, 1, 2], 13), rnd([2, 1, 1, 2], 14), { counts: new Int32Array([1, 0]) });
  assert.equal(Array.from(c.lengths), [1, 4]);
});

cacheSuite('mismatched batch, heads, dims, token counts and options: typed errors naming the argument, nothing written', () => {
  const c = new KvCache({ batch: 2, kvHeads: 2, capacity: 6, headDim: 4, valueDim: 3 });
  c.append(rnd([2, 2, 1, 4], 1), rnd([2, 2, 1, 3], 2));
  const s = snapshot(c);
  const K = (shape) => rnd(shape, 3), V = (shape) => rnd(shape, 4);
  const cases = [
    ['k batch', () => c.append(K([3, 2, 1, 4]), V([2, 2, 1, 3])), ShapeError, 'k'],
    ['k heads', () => c.append(K([2, 1, 1, 4]), V([2, 2, 1, 3])), ShapeError, 'k'],
    ['k head dim', () => c.append(K([2, 2, 1, 5]), V([2, 2, 1, 3])), ShapeError, 'k'],
    ['k rank 3 in bhld', () => c.append(K([2, 1, 8]), V([2, 2, 1, 3])), ShapeError, 'k'],
    ['v heads', () => c.append(K([2, 2, 1, 4]), V([2, 1, 1, 3])), ShapeError, 'v'],
    ['v value dim', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 4])), ShapeError, 'v'],
    ['v token count', () => c.append(K([2, 2, 2, 4]), V([2, 2, 1, 3])), ShapeError, 'v'],
    ['blhd k heads*dim', () => c.append(K([2, 1, 6]), V([2, 1, 6]), { layout: 'blhd' }), ShapeError, 'k'],
    ['blhd v heads', () => c.append(K([2, 1, 2, 4]), V([2, 1, 1, 3]), { layout: 'blhd' }), ShapeError, 'v'],
    ['blhd k rank 2', () => c.append(K([2, 8]), V([2, 1, 6]), { layout: 'blhd' }), ShapeError, 'k'],
    ['k not a tensor', () => c.append(new Float32Array(8), V([2, 2, 1, 3])), DTypeError, 'k'],
    ['k Float64Array data', () => c.append({ data: new Float64Array(16), shape: [2, 2, 1, 4] }, V([2, 2, 1, 3])), DTypeError, 'k.data'],
    ['counts too long', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3]), { counts: new Int32Array(3) }), ShapeError, 'options.counts'],
    ['counts > T', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3]), { counts: new Int32Array([1, 2]) }), ValueError, 'options.counts[1]'],
    ['counts negative', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3]), { counts: new Int32Array([-1, 0]) }), ValueError, 'options.counts[0]'],
    ['counts plain array', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3]), { counts: [1, 1] }), DTypeError, 'options.counts'],
    ['layout unknown', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3]), { layout: 'bshd' }), ValueError, 'options.layout'],
    ['unknown option', () => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3]), { count: 1 }), ValueError, 'options.count'],
    ['k is the cache', () => c.append({ data: c.k.data.subarray(0, 16), shape: [2, 2, 1, 4] }, V([2, 2, 1, 3])), ValueError, 'k'],
  ];
  for (const [what, fn, cls, arg] of cases) {
    throwsTyped(fn, cls, arg, what);
    assertUnchanged(c, s, what);
  }
  // A length written past the capacity (lengths is writable state) is refused at the next append.
  c.lengths[1] = 7;
  throwsTyped(() => c.append(K([2, 2, 1, 4]), V([2, 2, 1, 3])), ValueError, 'cache.lengths[1]', 'lengths past capacity');
  c.lengths[1] = 1;
});

cacheSuite('reset() and reset(b); constructor errors', () => {
  const c = new KvCache({ batch: 2, kvHeads: 1, capacity: 3, headDim: 2 });
  c.append(rnd([2, 1, 2, 2], 1), rnd([2, 1, 2, 2], 2));
  c.reset(1);
  assert.equal(Array.from(c.lengths), [2, 0]);
  assert.equal(Array.from(c.appended), [2, 0]);
  c.append(rnd([2, 1, 1, 2], 3), rnd([2, 1, 1, 2], 4));
  assert.equal(Array.from(c.lengths), [3, 1]);
  c.reset();
  assert.equal(Array.from(c.lengths), [0, 0]);
  assert.equal(Array.from(c.appended), [0, 0]);
  c.append(rnd([2, 1, 3, 2], 5), rnd([2, 1, 3, 2], 6));
  assert.equal(Array.from(c.lengths), [3, 3], 'the whole capacity again after reset');
  for (const bad of [-1, 2, 0.5, '0', NaN]) throwsTyped(() => c.reset(bad), ValueError, 'batch', `reset(${String(bad)})`);
  throwsTyped(() => new KvCache(), DTypeError, 'options', 'no options');
  throwsTyped(() => new KvCache({ batch: 0, kvHeads: 1, capacity: 3, headDim: 2 }), ValueError, 'options.batch', 'batch 0');
  throwsTyped(() => new KvCache({ batch: 1, kvHeads: 1.5, capacity: 3, headDim: 2 }), ValueError, 'options.kvHeads', 'kvHeads 1.5');
  throwsTyped(() => new KvCache({ batch: 1, kvHeads: 1, capacity: -3, headDim: 2 }), ValueError, 'options.capacity', 'capacity -3');
  throwsTyped(() => new KvCache({ batch: 1, kvHeads: 1, capacity: 3, headDim: '2' }), ValueError, 'options.headDim', "headDim '2'");
  throwsTyped(() => new KvCache({ batch: 1, kvHeads: 1, capacity: 3, headDim: 2, valueDim: 0 }), ValueError, 'options.valueDim', 'valueDim 0');
  throwsTyped(() => new KvCache({ batch: 1, kvHeads: 1, capacity: 3, headDim: 2, heads: 2 }), ValueError, 'options.heads', 'unknown key');
  throwsTyped(() => new KvCache({ batch: 2 ** 16, kvHeads: 2 ** 8, capacity: 2 ** 8, headDim: 2 ** 8 }), ShapeError, undefined, 'too large');
});

cacheSuite('the ops refuse a bad cache option, keyLengths with a cache, appendCounts without one; nothing is appended on a refused call', () => {
  const E = 8, H = 2, B = 2;
  const p = { wq: rnd([E, E], 1), wk: rnd([E, E], 2), wv: rnd([E, E], 3), wo: rnd([E, E], 4) };
  const ep = { attention: p, ffn: { w1: rnd([E, 5], 5), w2: rnd([5, E], 6) } };
  const x = rnd([B, 3, E], 7);
  const c = new KvCache({ batch: B, kvHeads: H, capacity: 4, headDim: E / H });
  c.append(rnd([B, H, 2, E / H], 8), rnd([B, H, 2, E / H], 9));
  const s = snapshot(c);
  const mha = (o) => () => ak.multiHeadAttention(x, x, x, p, { numHeads: H, ...o });
  const enc = (o) => () => ak.transformerEncoderLayer(x, ep, { numHeads: H, ...o });
  const cases = [
    ['mha cache not a KvCache', mha({ cache: { k: c.k, v: c.v, lengths: c.lengths } }), DTypeError, 'options.cache'],
    ['encoder cache a string', enc({ cache: 'kv' }), DTypeError, 'options.cache'],
    ['mha cache with other heads', mha({ cache: new KvCache({ batch: B, kvHeads: 1, capacity: 9, headDim: E / H }) }), ShapeError, 'options.cache'],
    ['mha cache with another head dim', mha({ cache: new KvCache({ batch: B, kvHeads: H, capacity: 9, headDim: 3 }) }), ShapeError, 'options.cache'],
    ['encoder cache with another batch', enc({ cache: new KvCache({ batch: 3, kvHeads: H, capacity: 9, headDim: E / H }) }), ShapeError, 'options.cache'],
    ['encoder cache with another value dim', enc({ cache: new KvCache({ batch: B, kvHeads: H, capacity: 9, headDim: E / H, valueDim: 2 }) }), ShapeError, 'options.cache'],
    ['mha keyLengths with a cache', mha({ cache: c, keyLengths: new Int32Array([1, 1]) }), ValueError, 'options.keyLengths'],
    ['encoder keyLengths with a cache', enc({ cache: c, keyLengths: new Int32Array([1, 1]) }), ValueError, 'options.keyLengths'],
    ['mha appendCounts without a cache', mha({ appendCounts: new Int32Array([1, 1]) }), ValueError, 'options.appendCounts'],
    ['encoder appendCounts without a cache', enc({ appendCounts: new Int32Array([1, 1]) }), ValueError, 'options.appendCounts'],
    ['mha appendCounts > T', mha({ cache: c, appendCounts: new Int32Array([1, 4]) }), ValueError, 'options.appendCounts[1]'],
    ['mha mask over the new keys instead of the capacity', mha({ cache: c, mask: { data: new Uint8Array(9).fill(1), shape: [3, 3] } }), ShapeError, 'options.mask'],
    ['mha bias of the wrong shape', mha({ cache: c, bias: rnd([3, 5], 1) }), ShapeError, 'options.bias'],
    ['mha numHeads missing', () => ak.multiHeadAttention(x, x, x, p, { cache: c }), ValueError, 'options.numHeads'],
    ['mha past capacity (2 + 3 > 4)', mha({ cache: c }), CapacityError, 'key'],
    ['encoder past capacity, appendCounts', enc({ cache: c, appendCounts: new Int32Array([3, 0]) }), CapacityError, 'options.appendCounts'],
  ];
  for (const [what, fn, cls, arg] of cases) {
    throwsTyped(fn, cls, arg, what);
    assertUnchanged(c, s, what);
  }
  // The option kind is declared in the descriptors (the fuzzer draws bad values from it).
  for (const op of ['multiHeadAttention', 'transformerEncoderLayer']) {
    assert.is(ak.OPS[op].options.cache.kind, 'cache', `${op} declares options.cache`);
    for (const bad of ak.BAD_OPTION_VALUES.cache) throwsTyped(() => ak.OPS[op].call(op === 'multiHeadAttention' ? [x, x, x, p, { numHeads: H, cache: bad }] : [x, ep, { numHeads: H, cache: bad }]), DTypeError, 'options.cache', `${op} cache := ${String(bad)}`);
  }
});

cacheSuite.run();

// ---------------------------------------------------------------------------------------------
// Per backend: sdpa over a cache, and incremental == all at once
// ---------------------------------------------------------------------------------------------

/**
 * Dispatch options that run on `backend`, cross-check every sub-op against reference (verify,
 * not on reference itself) and record the reports; `check()` asserts each ran there and passed.
 */
function dispatchFor(backend) {
  const reports = [];
  const opts = { backend, verify: backend !== 'reference', onReport: (r) => reports.push(r) };
  Object.defineProperty(opts, 'check', {
    enumerable: false,
    value: (what) => {
      assert.ok(reports.length > 0, `${what}: dispatched`);
      for (const r of reports) {
        assert.is(r.backend, backend, `${what}: ${r.op} ran on ${backend}`);
        if (backend !== 'reference') assert.ok(r.verify && r.verify.passed, `${what}: ${r.op} verify passed`);
      }
      reports.length = 0;
    },
  });
  return opts;
}

const encoderParams = (E, F, seed, { affine = true, biases = true } = {}) => {
  const att = { wq: rnd([E, E], seed, 0.3), wk: rnd([E, E], seed + 1, 0.3), wv: rnd([E, E], seed + 2, 0.3), wo: rnd([E, E], seed + 3, 0.3) };
  if (biases) Object.assign(att, { bq: rnd([E], seed + 4, 0.1), bk: rnd([E], seed + 5, 0.1), bv: rnd([E], seed + 6, 0.1), bo: rnd([E], seed + 7, 0.1) });
  const p = { attention: att, ffn: { w1: rnd([E, F], seed + 8, 0.3), b1: biases ? rnd([F], seed + 9, 0.1) : null, w2: rnd([F, E], seed + 10, 0.3), b2: biases ? rnd([E], seed + 11, 0.1) : null } };
  const gamma = (sd) => ({ data: rnd([E], sd, 0.2).data.map((g) => 1 + g), shape: [E] });
  if (affine) Object.assign(p, { norm1: { gamma: gamma(seed + 12), beta: rnd([E], seed + 13, 0.1) }, norm2: { gamma: gamma(seed + 14), beta: rnd([E], seed + 15, 0.1) } });
  return p;
};

function backendSuite(backend) {
  const info = ak.backends().find((b) => b.name === backend);
  const test = suite(`${backend} · kvCache`);
  if (!info || !info.available) {
    const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
    if (process.env.CI === 'true') test(`${backend} is available in CI`, () => assert.unreachable(`${backend} unavailable in CI: ${why}`));
    else {
      console.log(`SKIP: ${backend} backend unavailable: ${why}`);
      test.skip(`${backend} kvCache tests (unavailable: ${why})`, () => {});
    }
    test.run();
    return;
  }
  // reference is compared with the float64 oracle at its tolerance; the others at the op's descriptor tolerance.
  const tolOf = (op) => (backend === 'reference' ? ORACLE_TOL : toleranceOf(backend, op));
  const quick = backend === 'gpu'; // llvmpipe runs GLSL on the CPU: fewer, smaller cases

  test('sdpa over a cache (capacity 8, 6 and 3 valid tokens, 2 new queries) equals the float64 oracle over the valid keys alone', () => {
    const [B, H, C, D, Dv, L] = [2, 2, 8, 4, 3, 2];
    const cache = new KvCache({ batch: B, kvHeads: H, capacity: C, headDim: D, valueDim: Dv });
    const k = rnd([B, H, 6, D], 21), v = rnd([B, H, 6, Dv], 22);
    cache.append(k, v, { counts: new Int32Array([6, 3]) });
    // Stale values past the lengths must never reach a result.
    const stale = new KvCache({ batch: B, kvHeads: H, capacity: C, headDim: D, valueDim: Dv });
    stale.k.data.fill(NaN);
    stale.v.data.fill(1e30);
    stale.append(k, v, { counts: new Int32Array([6, 3]) });
    const q = rnd([B, H, L, D], 23);
    for (const c of [cache, stale]) {
      const d = dispatchFor(backend);
      const got = ak.sdpa(q, c.k, c.v, { keyLengths: c.lengths, returnLse: true }, d);
      d.check('sdpa over the cache');
      for (let b = 0; b < B; b++) {
        const n = c.lengths[b];
        const sub = (t, X) => ({ data: Float32Array.from({ length: H * n * X }, (_, f) => t.data[((b * H + Math.floor(f / (n * X))) * 6 + Math.floor(f / X) % n) * X + (f % X)]), shape: [1, H, n, X] });
        const qb = { data: q.data.subarray(b * H * L * D, (b + 1) * H * L * D), shape: [1, H, L, D] };
        const want = oracleSdpa(qb, sub(k, D), sub(v, Dv));
        assertClose(got.output.data.subarray(b * H * L * Dv, (b + 1) * H * L * Dv), want.output, tolOf('sdpa'), `batch ${b} output`);
        assertClose(got.lse.data.subarray(b * H * L, (b + 1) * H * L), want.lse, tolOf('sdpa'), `batch ${b} lse`);
      }
    }
  });

  test('sdpa(q, cache, { causal: true }): the rows of the last append, each batch at its own position (counts 2 and 1), async too', async () => {
    const [B, H, C, D, L] = [2, 2, 8, 4, 2];
    const cache = new KvCache({ batch: B, kvHeads: H, capacity: C, headDim: D });
    cache.append(rnd([B, H, 4, D], 31), rnd([B, H, 4, D], 32), { counts: new Int32Array([4, 2]) });
    cache.append(rnd([B, H, 2, D], 33), rnd([B, H, 2, D], 34), { counts: new Int32Array([2, 1]) });
    // lengths [6, 3], appended [2, 1]: batch 0's rows are tokens 4, 5; batch 1's row 0 is token 2.
    const q = rnd([B, H, L, D], 35);
    const d = dispatchFor(backend);
    const got = ak.sdpa(q, cache, { causal: true, returnWeights: true }, d);
    d.check('sdpa over a cache');
    const sees = (b, i, j) => j < cache.lengths[b] && j <= [4, 2][b] + i;
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < L; i++)
          for (let j = 0; j < C; j++) assert.is(got.weights.data[((b * H + h) * L + i) * C + j] > 0, sees(b, i, j), `b ${b} h ${h} row ${i} key ${j}`);
    const plain = ak.sdpa(q, cache.k, cache.v, { keyLengths: cache.lengths, causal: { offset: new Int32Array([4, 2]) } }, { backend });
    assertClose(got.output, plain, tolOf('sdpa'), 'equals the explicit offsets');
    const asy = await ak.sdpaAsync(q, cache, { causal: true }, { backend });
    assertClose(asy, plain, tolOf('sdpa'), 'async');
    assert.throws(() => ak.sdpa(q, cache, { keyLengths: cache.lengths }), (e) => e instanceof ak.ValueError && /keyLengths/.test(e.message));
    assert.throws(() => ak.sdpa(q, cache, { layout: 'blhd' }), (e) => e instanceof ak.ValueError && /layout/.test(e.message));
  });

  test('multiHeadAttention: causal over L tokens at once == a prefix, then one token at a time through the cache (GQA, Dv != D)', () => {
    const [B, L, E, Hq, Hkv, D, Dv] = quick ? [2, 5, 8, 2, 1, 4, 3] : [3, 9, 12, 4, 2, 3, 5];
    const Eo = 7;
    const p = { wq: rnd([E, Hq * D], 31, 0.4), bq: rnd([Hq * D], 32, 0.1), wk: rnd([E, Hkv * D], 33, 0.4), bk: rnd([Hkv * D], 34, 0.1), wv: rnd([E, Hkv * Dv], 35, 0.4), wo: rnd([Hq * Dv, Eo], 36, 0.4), bo: rnd([Eo], 37, 0.1) };
    const x = rnd([B, L, E], 38);
    const o = { numHeads: Hq, numKvHeads: Hkv, causal: true };
    const full = ak.multiHeadAttention(x, x, x, p, o, { backend });
    if (backend === 'reference') assertClose(full, oracleMha(x, x, x, p, o).output, ORACLE_TOL, 'full vs oracle');
    const tol = tolOf('multiHeadAttention');
    for (const prefix of quick ? [2] : [1, 4]) {
      const cache = new KvCache({ batch: B, kvHeads: Hkv, capacity: L + 2, headDim: D, valueDim: Dv });
      const d = dispatchFor(backend);
      const first = ak.multiHeadAttention(rows(x, 0, prefix), rows(x, 0, prefix), rows(x, 0, prefix), p, { ...o, cache }, d);
      d.check('prefix');
      assertClose(first, rows(full, 0, prefix), tol, `prefix ${prefix}: its rows`);
      for (let t = prefix; t < L; t++) {
        const xt = rows(x, t, t + 1);
        const got = ak.multiHeadAttention(xt, xt, xt, p, { ...o, cache }, d);
        d.check(`token ${t}`);
        assertClose(got, rows(full, t, t + 1), tol, `prefix ${prefix}, token ${t}`);
      }
      assert.equal(Array.from(cache.lengths), new Array(B).fill(L));
    }
  });

  test('multiHeadAttention cross-attention over a cache (query != key), weights over the capacity, mask AND causal', () => {
    const [B, E, Ek, H, D] = [2, 6, 5, 2, 3];
    const p = { wq: rnd([E, H * D], 41, 0.4), wk: rnd([Ek, H * D], 42, 0.4), wv: rnd([Ek, H * D], 43, 0.4), wo: rnd([H * D, E], 44, 0.4) };
    const mem = rnd([B, 4, Ek], 45), q = rnd([B, 2, E], 46);
    const cache = new KvCache({ batch: B, kvHeads: H, capacity: 6, headDim: D });
    const d = dispatchFor(backend);
    const got = ak.multiHeadAttention(q, mem, mem, p, { numHeads: H, cache, appendCounts: new Int32Array([4, 3]), returnWeights: true }, d);
    d.check('cross');
    assert.equal(got.weights.shape, [B, H, 2, 6]);
    for (let b = 0; b < B; b++) {
      const n = b === 0 ? 4 : 3;
      const sub = (t) => ({ data: rows(t, 0, n).data.subarray(b * n * t.shape[2], (b + 1) * n * t.shape[2]), shape: [1, n, t.shape[2]] });
      const qb = { data: q.data.subarray(b * 2 * E, (b + 1) * 2 * E), shape: [1, 2, E] };
      const want = backend === 'reference' ? oracleMha(qb, sub(mem), sub(mem), p, { numHeads: H }).output : ak.multiHeadAttention(qb, sub(mem), sub(mem), p, { numHeads: H }, { backend: 'reference' });
      assertClose(got.output.data.subarray(b * 2 * E, (b + 1) * 2 * E), want.data ?? want, tolOf('multiHeadAttention'), `cross batch ${b}`);
      for (let h = 0; h < H; h++) for (let i = 0; i < 2; i++) for (let j = n; j < 6; j++) assert.is(got.weights.data[((b * H + h) * 2 + i) * 6 + j], 0, 'no weight past the length');
    }
    // A user mask with causal: the rule is ANDed (mask hides key 0 from query row 1 of every batch).
    const c2 = new KvCache({ batch: B, kvHeads: H, capacity: 6, headDim: D });
    const x = rnd([B, 3, E], 47);
    const pSelf = { wq: rnd([E, H * D], 48, 0.4), wk: rnd([E, H * D], 49, 0.4), wv: rnd([E, H * D], 50, 0.4), wo: rnd([H * D, E], 51, 0.4) };
    const mask = { data: Uint8Array.from({ length: 3 * 6 }, (_, f) => (Math.floor(f / 6) === 1 && f % 6 === 0 ? 0 : 1)), shape: [3, 6] };
    const r = ak.multiHeadAttention(x, x, x, pSelf, { numHeads: H, causal: true, cache: c2, mask, returnWeights: true }, d);
    d.check('mask AND causal');
    for (let b = 0; b < B; b++)
      for (let h = 0; h < H; h++)
        for (let i = 0; i < 3; i++)
          for (let j = 0; j < 6; j++) {
            const w = r.weights.data[((b * H + h) * 3 + i) * 6 + j];
            if (j > i || (i === 1 && j === 0)) assert.is(w, 0, `weight [${b},${h},${i},${j}] hidden`);
            else assert.ok(w > 0, `weight [${b},${h},${i},${j}] visible`);
          }
  });

  for (const norm of ['post', 'pre']) {
    test(`transformerEncoderLayer (${norm}-norm): two stacked layers causal over L tokens at once == prefix + one token at a time through one cache per layer`, () => {
      const [B, L, E, H, F] = quick ? [2, 5, 8, 2, 12] : [3, 10, 16, 2, 24];
      const layers = [encoderParams(E, F, 60), encoderParams(E, F, 80, { affine: norm === 'pre' })];
      const activation = norm === 'pre' ? 'gelu' : 'relu';
      const o = { numHeads: H, causal: true, norm, activation };
      const x = rnd([B, L, E], 61);
      const h1 = ak.transformerEncoderLayer(x, layers[0], o, { backend });
      const h2 = ak.transformerEncoderLayer(h1, layers[1], o, { backend });
      const tol = tolOf('transformerEncoderLayer');
      const caches = layers.map(() => new KvCache({ batch: B, kvHeads: H, capacity: L, headDim: E / H }));
      const d = dispatchFor(backend);
      const step = (xs) => ak.transformerEncoderLayer(ak.transformerEncoderLayer(xs, layers[0], { ...o, cache: caches[0] }, d), layers[1], { ...o, cache: caches[1] }, d);
      const prefix = quick ? 2 : 4;
      assertClose(step(rows(x, 0, prefix)), rows(h2, 0, prefix), tol, 'prefix rows');
      d.check('prefix');
      for (let t = prefix; t < L; t++) {
        assertClose(step(rows(x, t, t + 1)), rows(h2, t, t + 1), tol, `token ${t}`);
        d.check(`token ${t}`);
      }
      for (const c of caches) assert.equal(Array.from(c.lengths), new Array(B).fill(L), 'both caches full');
      // Full again: one more token is a CapacityError, and neither cache changed.
      const s = caches.map(snapshot);
      throwsTyped(() => step(rows(x, 0, 1)), CapacityError, 'x', 'past capacity');
      caches.forEach((c, i) => assertUnchanged(c, s[i], `cache ${i}`));
    });
  }

  test('transformerEncoderLayer: histories of different lengths (appendCounts), then one new event per user, equal the full layer at each user\'s position', () => {
    const [B, L, E, H, F] = quick ? [3, 5, 8, 2, 8] : [4, 9, 16, 4, 16];
    const p = encoderParams(E, F, 90);
    const o = { numHeads: H, causal: true, norm: 'pre', activation: 'gelu' };
    const x = rnd([B, L, E], 91);
    const full = ak.transformerEncoderLayer(x, p, o, { backend });
    const counts = Int32Array.from({ length: B }, (_, b) => 1 + ((b * 2) % (L - 1)));
    const cache = new KvCache({ batch: B, kvHeads: H, capacity: L, headDim: E / H });
    const d = dispatchFor(backend);
    const pre = ak.transformerEncoderLayer(rows(x, 0, L - 1), p, { ...o, cache, appendCounts: counts }, d);
    d.check('prefill');
    assert.equal(Array.from(cache.lengths), Array.from(counts));
    const tol = tolOf('transformerEncoderLayer');
    for (let b = 0; b < B; b++) for (let t = 0; t < counts[b]; t++) assertClose(rowOf(pre, b, t), rowOf(full, b, t), tol, `prefill user ${b} row ${t}`);
    // The next event of each user: x[b, counts[b]].
    const next = { data: new Float32Array(B * E), shape: [B, 1, E] };
    for (let b = 0; b < B; b++) next.data.set(rowOf(x, b, counts[b]), b * E);
    const got = ak.transformerEncoderLayer(next, p, { ...o, cache }, d);
    d.check('one event each');
    for (let b = 0; b < B; b++) assertClose(rowOf(got, b, 0), rowOf(full, b, counts[b]), tol, `user ${b}'s new event`);
    assert.equal(Array.from(cache.lengths), Array.from(counts, (n) => n + 1));
  });

  // sdpa's causal offsets, window and softcap (issue #14, on main): applied by reference and native;
  // gpu does not apply the per-batch offsets and windows yet, so this case skips gpu for now.
  if (backend !== 'gpu') {
    test('multiHeadAttention over a cache with causal + window + softcap (offsets passed to sdpa) equals the oracle of the full sequence per user', () => {
      const [E, H, D] = [6, 2, 3];
      const p = { wq: rnd([E, H * D], 111, 0.5), wk: rnd([E, H * D], 112, 0.5), wv: rnd([E, H * D], 113, 0.5), wo: rnd([H * D, E], 114, 0.5) };
      const x = rnd([2, 6, E], 115);
      const counts = new Int32Array([3, 1]);
      const cache = new KvCache({ batch: 2, kvHeads: H, capacity: 6, headDim: D });
      const o = { numHeads: H, causal: true, window: { left: 1 }, softcap: 3 };
      ak.multiHeadAttention(rows(x, 0, 3), rows(x, 0, 3), rows(x, 0, 3), p, { ...o, cache, appendCounts: counts }, { backend });
      const next = { data: new Float32Array(2 * 2 * E), shape: [2, 2, E] };
      for (let b = 0; b < 2; b++) for (let t = 0; t < 2; t++) next.data.set(rowOf(x, b, counts[b] + t), (b * 2 + t) * E);
      const d = dispatchFor(backend);
      const got = ak.multiHeadAttention(next, next, next, p, { ...o, cache }, d);
      d.check('causal + window + softcap');
      for (let b = 0; b < 2; b++) {
        const n = counts[b] + 2;
        const xb = { data: x.data.slice(b * 6 * E, (b * 6 + n) * E), shape: [1, n, E] };
        const want = oracleMha(xb, xb, xb, p, { numHeads: H, causal: 'top-left', window: { left: 1 }, softcap: 3 }).output;
        assertClose(got.data.subarray(b * 2 * E, (b + 1) * 2 * E), want.subarray((n - 2) * E), tolOf('multiHeadAttention'), `user ${b}`);
      }
    });
  }

  test('the async twins over a cache give the sync results', async () => {
    const [B, L, E, H, F] = [2, 4, 8, 2, 8];
    const p = encoderParams(E, F, 100);
    const o = { numHeads: H, causal: true, norm: 'post' };
    const x = rnd([B, L, E], 101);
    const c1 = new KvCache({ batch: B, kvHeads: H, capacity: L, headDim: E / H });
    const c2 = new KvCache({ batch: B, kvHeads: H, capacity: L, headDim: E / H });
    const want = [ak.transformerEncoderLayer(rows(x, 0, 3), p, { ...o, cache: c1 }, { backend }), ak.transformerEncoderLayer(rows(x, 3, 4), p, { ...o, cache: c1 }, { backend })];
    const got = [await ak.transformerEncoderLayerAsync(rows(x, 0, 3), p, { ...o, cache: c2 }, { backend }), await ak.transformerEncoderLayerAsync(rows(x, 3, 4), p, { ...o, cache: c2 }, { backend })];
    for (let i = 0; i < 2; i++) assertClose(got[i], want[i], { atol: 0, rtol: 0 }, `call ${i}`);
    const xt = rows(x, 0, 2);
    const mp = p.attention;
    const m1 = new KvCache({ batch: B, kvHeads: H, capacity: 2, headDim: E / H });
    const m2 = new KvCache({ batch: B, kvHeads: H, capacity: 2, headDim: E / H });
    assertClose(await ak.multiHeadAttentionAsync(xt, xt, xt, mp, { numHeads: H, causal: true, cache: m2 }, { backend }), ak.multiHeadAttention(xt, xt, xt, mp, { numHeads: H, causal: true, cache: m1 }, { backend }), { atol: 0, rtol: 0 }, 'mha async');
    // A refused call rejects (not a synchronous throw) and appends nothing.
    const s = snapshot(m2);
    let rejected = false;
    await ak.multiHeadAttentionAsync(xt, xt, xt, mp, { numHeads: H, cache: m2 }, { backend }).catch((e) => {
      rejected = e instanceof CapacityError;
    });
    assert.ok(rejected, 'CapacityError as a rejection');
    assertUnchanged(m2, s, 'after the rejection');
  });

  if (backend === 'gpu') {
    test('gpu ran GL kernels only (no gpu.js CPU fallback)', () => {
      const s = ak.gpuStats();
      assert.ok(s.kernelClasses.length > 0, 'kernels compiled');
      for (const c of s.kernelClasses) assert.is(c, 'HeadlessGLKernel');
    });
  }
  test.run();
}

for (const backend of ['reference', 'native', 'gpu']) if (backendWanted(backend)) backendSuite(backend);
