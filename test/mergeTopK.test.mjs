// Sharded retrieval (issue #17 item 6): mergeTopK and shardExclude.
// 1. mergeTopK itself (no backend): hand-written known answers (ties across shards go to the lower
//    GLOBAL index, NaN the greatest value both ways, -1 tails), every typed error with the field it
//    names, shardExclude's mapping and errors.
// 2. On EVERY backend (reference, native, gpu under Xvfb; test/jobs.js: display): topK per shard
//    (item slices, exclusion lists mapped with shardExclude, k_s = min(k, shard size)), merged,
//    equals topK over the whole table exactly (indices and scores, bit for bit), on random tables
//    with planted ties (duplicated items inside and across shards), NaN and ±Infinity items,
//    uneven shards (one item, smaller than k), users whose shard is wholly excluded, fewer than k
//    left overall, largest and smallest, k = 1, 7 and N; float16 / bfloat16 items and outputDtype.
//    On reference the whole-table call is also checked against the float64 oracle of the specs.
//    In CI an unavailable backend fails; elsewhere it is a visible skip. On gpu every kernel built
//    must be a GL kernel.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { oracleTopK } from './specs/oracle.mjs';
import { backendWanted, rnd } from './specs/util.mjs';

const { ShapeError, ValueError, DTypeError, mergeTopK, shardExclude } = ak;

const throwsTyped = (fn, cls, argument, what, message) =>
  assert.throws(fn, (e) => {
    if (!(e instanceof cls)) throw new Error(`${what}: expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    if (argument !== undefined && e.argument !== argument) throw new Error(`${what}: expected argument ${argument}, got ${e.argument} (${e.message})`);
    if (message && !message.test(e.message)) throw new Error(`${what}: message ${JSON.stringify(e.message)} does not match ${message}`);
    return true;
  }, what);

/** A partial from rows of [index, score] pairs (one array per user). */
const partial = (rows, offset, size) => {
  const k = rows[0].length;
  const p = {
    indices: { data: Int32Array.from(rows.flat().map((x) => x[0])), shape: [rows.length, k] },
    scores: { data: Float32Array.from(rows.flat().map((x) => x[1])), shape: [rows.length, k] },
    offset,
  };
  if (size !== undefined) p.size = size;
  return p;
};
const pairs = (r) => Array.from(r.indices.data, (i, j) => [i, r.scores.data[j]]);
const sameBits = (got, want, what) => {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.unreachable(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
};

// ---------------------------------------------------------------------------------------------
// mergeTopK and shardExclude themselves
// ---------------------------------------------------------------------------------------------
const unit = suite('mergeTopK · known answers and typed errors');

unit('largest: ties across shards go to the lower global index, NaN first, -1 tails skipped', () => {
  // shard A: items 0..3 at offset 10; shard B: items 0..2 at offset 0 (global 0..2).
  const A = partial([[[2, NaN], [0, 5], [1, 3]], [[3, 1], [-1, -Infinity], [-1, -Infinity]]], 10);
  const B = partial([[[1, NaN], [2, 5], [0, 3]], [[0, 1], [2, -Infinity], [-1, -Infinity]]], 0, 3);
  const r = mergeTopK([A, B], 5);
  assert.equal(r.indices.shape, [2, 5]);
  // user 0: NaN at globals 12 and 1 -> 1 first; 5 at 10 and 2 -> 2 first; 3 at 11 and 0 -> 0 first.
  sameBits(Array.from(r.indices.data.subarray(0, 5)), [1, 12, 2, 10, 0], 'user 0 indices');
  sameBits(Array.from(r.scores.data.subarray(0, 5)), [NaN, NaN, 5, 5, 3], 'user 0 scores');
  // user 1: 1 at 13 and 0 -> 0 first; then a real -Infinity (index 2); then padding.
  sameBits(Array.from(r.indices.data.subarray(5)), [0, 13, 2, -1, -1], 'user 1 indices');
  sameBits(Array.from(r.scores.data.subarray(5)), [1, 1, -Infinity, -Infinity, -Infinity], 'user 1 scores');
});

unit('largest: false: the smallest first, NaN last (after +Infinity), ties to the lower global index, +Infinity padding', () => {
  const A = partial([[[0, -1], [3, Infinity], [1, NaN]]], 4); // no size: k_s cannot be checked
  const B = partial([[[2, -1], [0, Infinity], [1, NaN]]], 0, 3);
  const r = mergeTopK([A, B], 6, { largest: false });
  sameBits(Array.from(r.indices.data), [2, 4, 0, 7, 1, 5], 'indices');
  sameBits(Array.from(r.scores.data), [-1, -1, Infinity, Infinity, NaN, NaN], 'scores');
  const short = mergeTopK([partial([[[0, 2], [-1, Infinity]]], 0, 1), partial([[[-1, Infinity]]], 1, 1)], 3, { largest: false });
  sameBits(Array.from(short.indices.data), [0, -1, -1], 'fewer than k left: -1 tail');
  sameBits(Array.from(short.scores.data), [2, Infinity, Infinity], '+Infinity padding');
});

unit('one shard at offset 0 is itself; outputDtype rounds at the end; sizes optional', () => {
  const p = partial([[[3, 4], [1, 2.5], [0, 1 / 3]]], 0);
  const r = mergeTopK([p], 3);
  assert.equal(pairs(r), [[3, 4], [1, 2.5], [0, Math.fround(1 / 3)]]);
  const h = mergeTopK([p], 2, { outputDtype: 'bfloat16' });
  assert.is(h.scores.dtype, 'bfloat16');
  sameBits(Array.from(h.scores.data), Array.from(ak.toBFloat16(Float32Array.from([4, 2.5]))), 'bfloat16 scores');
  assert.equal(Array.from(h.indices.data), [3, 1]);
});

unit('typed errors, each naming its field', () => {
  const good = () => partial([[[0, 3], [1, 2]], [[1, 5], [0, 1]]], 0, 2);
  const other = () => partial([[[0, 4], [1, 0]], [[0, 2], [1, 1]]], 2, 2);
  throwsTyped(() => mergeTopK('x', 2), DTypeError, 'partials', 'partials a string');
  throwsTyped(() => mergeTopK([], 2), ValueError, 'partials', 'no partials');
  throwsTyped(() => mergeTopK([good(), 7], 2), DTypeError, 'partials[1]', 'a partial that is a number');
  throwsTyped(() => mergeTopK([{ ...good(), scores: ak.toFloat16(good().scores) }], 2), DTypeError, 'partials[0].scores', 'half scores', /outputDtype/);
  throwsTyped(() => mergeTopK([{ ...good(), scores: { data: new Float64Array(4), shape: [2, 2] } }], 2), DTypeError, 'partials[0].scores.data', 'Float64Array scores');
  throwsTyped(() => mergeTopK([{ ...good(), indices: { data: new Float32Array(4), shape: [2, 2] } }], 2), DTypeError, 'partials[0].indices.data', 'float indices');
  throwsTyped(() => mergeTopK([{ ...good(), indices: { data: new Int32Array(2), shape: [2, 1] } }], 2), ShapeError, 'partials[0].indices', 'indices shape != scores shape', /\[B=2,k=2\]/);
  throwsTyped(() => mergeTopK([{ ...good(), scores: { data: new Float32Array(4), shape: [4] } }], 2), ShapeError, 'partials[0].scores', 'rank-1 scores');
  throwsTyped(() => mergeTopK([good(), partial([[[0, 1], [1, 0]]], 2, 2)], 2), ShapeError, 'partials[1].scores', 'B differs', /B=2/);
  throwsTyped(() => mergeTopK([good(), other()], 0), ValueError, 'k', 'k = 0');
  throwsTyped(() => mergeTopK([good(), other()], 5), ValueError, 'k', 'k past the shards\' k_s summed', /1\.\.4/);
  throwsTyped(() => mergeTopK([good(), other()], 1.5), ValueError, 'k', 'fractional k');
  throwsTyped(() => mergeTopK([good(), { ...other(), offset: -2 }], 2), ValueError, 'partials[1].offset', 'negative offset');
  throwsTyped(() => mergeTopK([good(), { ...other(), offset: 0.5 }], 2), ValueError, 'partials[1].offset', 'fractional offset');
  throwsTyped(() => mergeTopK([good(), { ...other(), offset: 1 }], 2), ValueError, 'partials[1].offset', 'overlapping sized shards', /overlap/);
  const noSize = (p) => ({ indices: p.indices, scores: p.scores, offset: p.offset });
  throwsTyped(() => mergeTopK([noSize(good()), { ...noSize(other()), offset: 1 }], 2), ValueError, 'partials[1].offset', 'overlapping shards seen from their indices', /overlap/);
  throwsTyped(() => mergeTopK([good(), { ...other(), size: -1 }], 2), ValueError, 'partials[1].size', 'negative size');
  throwsTyped(() => mergeTopK([good(), { ...other(), offset: 2 ** 31 - 2, size: 2 }], 2), ValueError, 'partials[1].size', 'offset + size past 2^31-1');
  throwsTyped(() => mergeTopK([good(), { ...noSize(other()), offset: 2 ** 31 - 1 }], 2), ValueError, 'partials[1].offset', 'a global index past 2^31-1', /2\^31-1/);
  throwsTyped(() => mergeTopK([good(), { ...other(), size: 1 }], 2), ValueError, 'partials[1].indices', 'a local index past size', /0\.\.0/);
  throwsTyped(() => mergeTopK([good(), partial([[[-1, 3], [1, 2]], [[0, 5], [1, 1]]], 2, 2)], 2), ValueError, 'partials[1].indices', 'an index after -1 padding', /after a -1/);
  throwsTyped(() => mergeTopK([good(), partial([[[-2, 3], [1, 2]], [[0, 5], [1, 1]]], 2, 2)], 2), ValueError, 'partials[1].indices', 'index -2');
  throwsTyped(() => mergeTopK([good(), other()], 2, { largest: false }), ValueError, 'partials[0].scores', 'shards computed with largest: true, merged as false', /largest: true/);
  throwsTyped(() => mergeTopK([good(), partial([[[0, 4], [0, 4]], [[0, 2], [1, 1]]], 2, 2)], 2), ValueError, 'partials[1].scores', 'a repeated index', /repeated/);
  throwsTyped(() => mergeTopK([good(), partial([[[0, 4]], [[0, 2]]], 2, 5)], 2), ValueError, 'partials[1]', 'a shard that kept fewer than min(k, size)', /min\(k, size\) = 2/);
  throwsTyped(() => mergeTopK([good()], 2, { largest: 1 }), DTypeError, 'options.largest', 'largest not a boolean');
  throwsTyped(() => mergeTopK([good()], 2, { outputDtype: 'float64' }), ValueError, 'options.outputDtype', 'outputDtype float64');
  throwsTyped(() => mergeTopK([good()], 2, { k: 2 }), ValueError, 'options.k', 'an unknown option');
  throwsTyped(() => mergeTopK([{ get indices() { throw new Error('boom'); }, scores: good().scores, offset: 0 }], 2), DTypeError, 'partials[0].indices', 'a throwing getter');
  const detached = good();
  structuredClone(detached.indices.data.buffer, { transfer: [detached.indices.data.buffer] });
  throwsTyped(() => mergeTopK([detached], 2), DTypeError, 'partials[0].indices.data', 'detached indices');
});

unit('shardExclude: a global exclusion list in one shard\'s local indices', () => {
  const ex = [[0, 5, 7, 12, 5], null, new Uint32Array([6]), []];
  const s = shardExclude(ex, 5, 3); // items 5, 6, 7
  assert.equal(s.map((l) => (l ? Array.from(l) : l)), [[0, 2, 0], null, [1], []]);
  assert.ok(s[0] instanceof Int32Array);
  assert.is(shardExclude(null, 0, 4), null);
  assert.is(shardExclude(undefined, 0, 4), null);
  throwsTyped(() => shardExclude([[1, -1]], 0, 4), ValueError, 'exclude[0][1]', 'a negative index');
  throwsTyped(() => shardExclude([[1, 2.5]], 0, 4), ValueError, 'exclude[0][1]', 'a fractional index');
  throwsTyped(() => shardExclude([['1']], 0, 4), ValueError, 'exclude[0][0]', 'a string index');
  throwsTyped(() => shardExclude([7], 0, 4), DTypeError, 'exclude[0]', 'a list that is a number');
  throwsTyped(() => shardExclude('x', 0, 4), DTypeError, 'exclude', 'exclude a string');
  throwsTyped(() => shardExclude([], -1, 4), ValueError, 'offset', 'negative offset');
  throwsTyped(() => shardExclude([], 0, 1.5), ValueError, 'size', 'fractional size');
});

unit.run();

// ---------------------------------------------------------------------------------------------
// Sharded topK + mergeTopK == topK over the whole table, on every backend
// ---------------------------------------------------------------------------------------------

/** Rows [a, b) of an [N,D] table (float32 or half), no copy. */
function slice(items, a, b) {
  const D = items.shape[1];
  const t = { data: items.data.subarray(a * D, b * D), shape: [b - a, D] };
  if (items.dtype) t.dtype = items.dtype;
  return t;
}

/**
 * A table with planted ties (items copied inside a shard and across shard boundaries), NaN and
 * ±Infinity items; shard cut points with a one-item shard and one smaller than k; per-user
 * exclusions: random, one user with a whole shard excluded, one with all but 3 items excluded.
 */
function makeCase(seed, B, N, D, k) {
  const R = ak.seededRandom(seed);
  const users = rnd([B, D], seed + 1);
  const items = rnd([N, D], seed + 2);
  // Cut points: a one-item shard at 1, one of 3 items, the rest random.
  const cuts = new Set([1, 4]);
  while (cuts.size < 6) cuts.add(5 + Math.floor(R() * (N - 6)));
  const bounds = [0, ...[...cuts].sort((a, b) => a - b), N];
  const shards = bounds.slice(1).map((end, i) => ({ offset: bounds[i], size: end - bounds[i] }));
  // Exact ties: copy items onto others, across shards and within one.
  for (let t = 0; t < Math.max(4, N / 10); t++) {
    const from = Math.floor(R() * N), to = Math.floor(R() * N);
    items.data.copyWithin(to * D, from * D, (from + 1) * D);
  }
  items.data.copyWithin(0, (N - 1) * D, N * D); // the first and the last item tie (first and last shard)
  for (const n of [2, Math.floor(N / 2), N - 3]) items.data[n * D + 1] = NaN;
  items.data[3 * D] = Infinity;
  items.data[(N - 2) * D] = -Infinity;
  for (let c = 1; c < D; c++) users.data[c] = 0; // user 0 sees ±Infinity items as ±Infinity (no Inf - Inf)
  users.data[0] = 0.5;
  const exclude = Array.from({ length: B }, (_, b) => (b % 3 === 2 ? null : Array.from({ length: Math.floor(R() * 6) }, () => Math.floor(R() * N))));
  const big = shards.reduce((a, s) => (s.size > a.size ? s : a));
  exclude[1] = Array.from({ length: big.size }, (_, i) => big.offset + i); // a shard wholly excluded for user 1
  if (B > 3) exclude[3] = Array.from({ length: N - 3 }, (_, i) => i + 2); // three items left: fewer than k
  return { users, items, shards, exclude, k };
}

function backendSuite(backend) {
  const info = ak.backends().find((b) => b.name === backend);
  const test = suite(`${backend} · sharded topK + mergeTopK == topK`);
  if (!info || !info.available) {
    const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
    if (process.env.CI === 'true') test(`${backend} is available in CI`, () => assert.unreachable(`${backend} unavailable in CI: ${why}`));
    else {
      console.log(`SKIP: ${backend} backend unavailable: ${why}`);
      test.skip(`${backend} mergeTopK tests (unavailable: ${why})`, () => {});
    }
    test.run();
    return;
  }
  const dispatch = { backend };
  const gpu = backend === 'gpu'; // llvmpipe runs GLSL on the CPU: smaller tables
  const shapes = gpu ? [[4, 61, 5], [3, 300, 16]] : [[5, 61, 5], [9, 1500, 16], [6, 2100, 64]];

  /** topK over the whole table and over the shards merged; every field must be identical. */
  function check(c, largest, what, options = {}) {
    const { users, items, shards, exclude, k } = c;
    const whole = ak.topK(users, items, k, { exclude, largest, ...options }, dispatch);
    const partials = shards.map(({ offset, size }) => ({
      ...ak.topK(users, slice(items, offset, offset + size), Math.min(k, size), { exclude: shardExclude(exclude, offset, size), largest }, dispatch),
      offset,
      size,
    }));
    const merged = mergeTopK(partials, k, { largest, ...options });
    assert.equal(merged.indices.shape, whole.indices.shape, `${what}: indices shape`);
    assert.equal([...merged.scores.shape], [...whole.scores.shape], `${what}: scores shape`);
    assert.is(merged.scores.dtype, whole.scores.dtype, `${what}: scores dtype`);
    sameBits(Array.from(merged.indices.data), Array.from(whole.indices.data), `${what}: indices`);
    sameBits(Array.from(merged.scores.data), Array.from(whole.scores.data), `${what}: scores`);
    // Shards given without their sizes merge the same.
    const bare = mergeTopK(partials.map(({ indices, scores, offset }) => ({ indices, scores, offset })), k, { largest, ...options });
    sameBits(Array.from(bare.indices.data), Array.from(whole.indices.data), `${what}: indices (no sizes)`);
    return { whole, partials };
  }

  for (const [B, N, D] of shapes) {
    for (const largest of [true, false]) {
      test(`B=${B} N=${N} D=${D}, largest: ${largest}: k = 1, 7 and N, ties, NaN, ±Infinity, uneven shards, exclusions`, () => {
        for (const k of [1, 7, N]) {
          const c = makeCase(100 + N + k + D, B, N, D, k);
          const { whole, partials } = check(c, largest, `k=${k}`);
          const row = (r, b) => Array.from(r.indices.data.subarray(b * r.indices.shape[1], (b + 1) * r.indices.shape[1]));
          // The planted cases happened: a tail of -1 for user 3 when k > 3, a shard with -1 for user 1, a tie across shards.
          if (B > 3 && k > 3) assert.ok(row(whole, 3).slice(3).every((i) => i === -1), 'fewer than k left: -1 tail');
          assert.ok(partials.some((p) => row(p, 1).every((i) => i === -1)), 'a shard wholly excluded for user 1');
          if (backend === 'reference') {
            // The whole-table call itself against the float64 oracle of the specs (scores rounded once to float32).
            const o = oracleTopK(c.users, c.items, k, { exclude: c.exclude, largest });
            sameBits(Array.from(whole.indices.data), Array.from(o.indices), `k=${k}: reference vs oracle indices`);
            sameBits(Array.from(whole.scores.data), Array.from(o.scores, Math.fround), `k=${k}: reference vs oracle scores`);
          }
        }
      });
    }
  }

  test('ties across every shard boundary: all items equal, the merge keeps global index order', () => {
    const [B, N, D] = [3, gpu ? 40 : 300, 8];
    const c = makeCase(7, B, N, D, 25);
    for (let n = 1; n < N; n++) c.items.data.copyWithin(n * D, 0, D);
    for (const largest of [true, false]) {
      const { whole } = check(c, largest, `all equal, largest: ${largest}`);
      const first = Array.from(whole.indices.data.subarray(0, 25));
      const ex = new Set(c.exclude[0]);
      assert.equal(first, Array.from({ length: N }, (_, i) => i).filter((i) => !ex.has(i)).slice(0, 25), 'lowest global indices first');
    }
  });

  test('float16 / bfloat16 items and users, outputDtype: the merge equals the whole-table call', () => {
    const [B, N, D] = gpu ? [3, 90, 8] : [5, 700, 32];
    for (const [conv, dtype] of [[ak.toFloat16, 'float16'], [ak.toBFloat16, 'bfloat16']]) {
      const c = makeCase(31, B, N, D, 9);
      const half = { ...c, users: conv(c.users), items: conv(c.items) };
      check(half, true, `${dtype} inputs`);
      check(half, false, `${dtype} inputs, largest: false`);
      check(c, true, `outputDtype ${dtype}`, { outputDtype: dtype });
    }
  });

  test('async shards (topKAsync, as worker threads or machines would run them) merge the same', async () => {
    const c = makeCase(55, 4, gpu ? 80 : 900, 16, 12);
    const whole = ak.topK(c.users, c.items, c.k, { exclude: c.exclude }, dispatch);
    const partials = await Promise.all(
      c.shards.map(async ({ offset, size }) => ({
        ...(await ak.topKAsync(c.users, slice(c.items, offset, offset + size), Math.min(c.k, size), { exclude: shardExclude(c.exclude, offset, size) }, dispatch)),
        offset,
        size,
      })),
    );
    const merged = mergeTopK(partials, c.k);
    sameBits(Array.from(merged.indices.data), Array.from(whole.indices.data), 'indices');
    sameBits(Array.from(merged.scores.data), Array.from(whole.scores.data), 'scores');
  });

  if (gpu) {
    test('gpu ran GL kernels only (no gpu.js CPU fallback)', () => {
      const s = ak.gpuStats();
      assert.ok(s.kernelClasses.length > 0, 'kernels compiled');
      for (const cls of s.kernelClasses) assert.is(cls, 'HeadlessGLKernel');
    });
  }
  test.run();
}

for (const backend of ['reference', 'native', 'gpu']) if (backendWanted(backend)) backendSuite(backend);
