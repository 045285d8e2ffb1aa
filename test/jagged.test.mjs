// Jagged tensors (issue #17 item 1): values [ΣL_b, ...inner] + offsets [B+1] (FBGEMM / torchrec).
// The oracle is a list of sequences (each a list of rows, each row its elements): the jagged form
// is their concatenation, the padded form is written from the lists directly, never from
// src/jagged.ts. Round trips on random lengths (0-length sequences, one 1024 long among short
// ones), float32 and half values (bit patterns, NaN patterns included), truncation, pad values;
// every typed error with the argument it names and the position of the first bad offset;
// detached, transferred and resized buffers.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';

const { ShapeError, ValueError, DTypeError } = ak;

const throwsTyped = (fn, cls, argument, what, message) =>
  assert.throws(fn, (e) => {
    if (!(e instanceof cls)) throw new Error(`${what}: expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e && e.message}`);
    if (argument !== undefined && e.argument !== argument) throw new Error(`${what}: expected argument ${argument}, got ${e.argument} (${e.message})`);
    if (message && !message.test(e.message)) throw new Error(`${what}: message ${JSON.stringify(e.message)} does not match ${message}`);
    return true;
  }, what);

/** Sequences of rows: seqs[b][t] is an array of `rowSize` element values (float32 values or half bit patterns). */
function makeSequences(R, lengths, rowSize, half) {
  return lengths.map((L) =>
    Array.from({ length: L }, () =>
      Array.from({ length: rowSize }, () => (half ? Math.floor(R() * 65536) : Math.fround((R() - 0.5) * 8))),
    ),
  );
}

/** The jagged form of the oracle: values concatenated, offsets the running sum. */
function jaggedOf(seqs, inner, dtype) {
  const flat = seqs.flat(2);
  const data = dtype === 'float32' ? Float32Array.from(flat) : Uint16Array.from(flat);
  const offsets = new Int32Array(seqs.length + 1);
  seqs.forEach((s, b) => (offsets[b + 1] = offsets[b] + s.length));
  const values = { data, shape: [offsets[seqs.length], ...inner] };
  if (dtype !== 'float32') values.dtype = dtype;
  return { values, offsets };
}

/** The padded form written from the sequences: [B, maxLen, ...inner], padding `pad` (an element value or bit pattern). */
function paddedOracle(seqs, maxLen, rowSize, pad) {
  const out = [];
  for (const s of seqs) for (let t = 0; t < maxLen; t++) for (let c = 0; c < rowSize; c++) out.push(t < s.length ? s[t][c] : pad);
  return out;
}

/** Element-wise identity, NaN included (float32: Object.is; bit patterns: ===). */
const sameElements = (got, want, what) => {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) if (!Object.is(got[i], want[i])) assert.unreachable(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
};

const size = (shape) => shape.reduce((a, b) => a * b, 1);

const CASES = [
  { label: 'random lengths 0..9, inner [2,3]', lengths: (R) => Array.from({ length: 7 }, () => Math.floor(R() * 10)), inner: [2, 3] },
  { label: 'a 1024-long sequence among short ones, inner [4]', lengths: (R) => [3, 0, 1024, 1, 0, Math.floor(R() * 5)], inner: [4] },
  { label: 'one row per element (inner [])', lengths: () => [5, 0, 2], inner: [] },
  { label: 'B = 1', lengths: () => [6], inner: [3] },
  { label: 'every sequence empty', lengths: () => [0, 0, 0], inner: [2] },
  { label: 'leading and trailing empty sequences', lengths: () => [0, 4, 0, 3, 0], inner: [1, 2] },
];

for (const dtype of ['float32', 'float16', 'bfloat16']) {
  for (const c of CASES) {
    test(`${dtype}: ${c.label}: toPadded equals the padded oracle, fromPadded gives the jagged form back bit for bit`, () => {
      const R = ak.seededRandom(17 + c.label.length);
      const lengths = c.lengths(R);
      const rowSize = size(c.inner);
      const seqs = makeSequences(R, lengths, rowSize, dtype !== 'float32');
      // NaN patterns must move untouched (float16 0x7e01, bfloat16 0xffc1; float32 NaN).
      if (seqs[0][0]?.length) seqs[0][0][0] = dtype === 'float32' ? NaN : dtype === 'float16' ? 0x7e01 : 0xffc1;
      const j0 = jaggedOf(seqs, c.inner, dtype);
      const j = ak.jagged(j0.values, j0.offsets);
      assert.is(j.values.data, j0.values.data, 'jagged() does not copy the values');
      assert.is(j.offsets, j0.offsets, 'jagged() does not copy Int32Array offsets');
      assert.equal([...j.values.shape], [j0.offsets[lengths.length], ...c.inner]);
      if (dtype !== 'float32') assert.is(j.values.dtype, dtype);
      assert.equal(Array.from(ak.lengthsOf(j)), lengths, 'lengthsOf');
      assert.equal(Array.from(ak.offsetsFromLengths(lengths)), Array.from(j0.offsets), 'offsetsFromLengths');
      const before = Array.from(j0.values.data);

      const maxLen = Math.max(0, ...lengths);
      const { padded, lengths: kept } = ak.toPadded(j);
      assert.equal([...padded.shape], [lengths.length, maxLen, ...c.inner]);
      assert.is(padded.dtype, dtype === 'float32' ? undefined : dtype);
      assert.equal(Array.from(kept), lengths);
      sameElements(padded.data, paddedOracle(seqs, maxLen, rowSize, 0), 'padded (pad 0)');
      sameElements(j0.values.data, before, 'the input values are unchanged');

      const back = ak.fromPadded(padded, kept);
      sameElements(back.values.data, Array.from(j0.values.data), 'fromPadded values');
      assert.equal(Array.from(back.offsets), Array.from(j0.offsets), 'fromPadded offsets');
      assert.equal([...back.values.shape], [...j.values.shape]);
      assert.is(back.values.dtype, dtype === 'float32' ? undefined : dtype);

      // A pad value, a longer maxLength: padding written, valid rows unchanged.
      const pad = -Infinity;
      const padBits = dtype === 'float32' ? pad : dtype === 'float16' ? 0xfc00 : 0xff80;
      const wide = ak.toPadded(j, { maxLength: maxLen + 2, padValue: pad });
      assert.equal([...wide.padded.shape], [lengths.length, maxLen + 2, ...c.inner]);
      sameElements(wide.padded.data, paddedOracle(seqs, maxLen + 2, rowSize, padBits), 'padded (pad -Infinity, maxLength + 2)');

      // Truncation: each sequence keeps its first rows; the lengths say how many.
      const cut = Math.floor(maxLen / 2);
      const short = ak.toPadded(j, { maxLength: cut, padValue: 1 });
      const one = dtype === 'float32' ? 1 : dtype === 'float16' ? 0x3c00 : 0x3f80;
      assert.equal(Array.from(short.lengths), lengths.map((L) => Math.min(L, cut)));
      sameElements(short.padded.data, paddedOracle(seqs.map((s) => s.slice(0, cut)), cut, rowSize, one), 'truncated');
      const shortBack = ak.fromPadded(short.padded, short.lengths);
      sameElements(shortBack.values.data, jaggedOf(seqs.map((s) => s.slice(0, cut)), c.inner, dtype).values.data, 'truncated round trip');

      // fromPadded never reads the padding: NaN there never reaches the values.
      const poisoned = { ...wide.padded, data: wide.padded.data.slice() };
      const nanElement = dtype === 'float32' ? NaN : dtype === 'float16' ? 0x7e00 : 0x7fc0;
      const seq = (maxLen + 2) * rowSize;
      lengths.forEach((L, b) => poisoned.data.fill(nanElement, b * seq + L * rowSize, (b + 1) * seq));
      sameElements(ak.fromPadded(poisoned, lengths).values.data, Array.from(j0.values.data), 'padding never read');
    });
  }
}

test('a bare Float32Array with innerShape; offsets and lengths as plain arrays', () => {
  const data = new Float32Array(4 * 2 * 3).map((_, i) => i);
  const j = ak.jagged(data, [0, 1, 1, 4], [2, 3]);
  assert.equal([...j.values.shape], [4, 2, 3]);
  assert.is(j.values.data, data);
  assert.ok(j.offsets instanceof Int32Array);
  assert.equal(Array.from(j.offsets), [0, 1, 1, 4]);
  const p = ak.toPadded(j);
  assert.equal([...p.padded.shape], [3, 3, 2, 3]);
  assert.equal(Array.from(p.padded.data.subarray(0, 6)), [0, 1, 2, 3, 4, 5]);
  assert.equal(Array.from(p.padded.data.subarray(36, 54)), Array.from({ length: 18 }, (_, i) => 6 + i));
  assert.ok(p.padded.data.subarray(6, 36).every((x) => x === 0), 'padding 0');
  const back = ak.fromPadded(p.padded, [1, 0, 3]);
  assert.equal(Array.from(back.values.data), Array.from(data));
  // Rows of zero elements: the offsets give the row count.
  const z = ak.jagged(new Float32Array(0), [0, 2, 5], [3, 0]);
  assert.equal([...z.values.shape], [5, 3, 0]);
  assert.equal([...ak.toPadded(z).padded.shape], [2, 3, 3, 0]);
  // padValue -0 is written (it is not the +0 of a fresh array).
  const neg = ak.toPadded(ak.jagged(new Float32Array([1]), [0, 1, 0 + 1]), { padValue: -0 });
  assert.ok(Object.is(neg.padded.data[1], -0), 'padValue -0 written');
  // asJagged: the checked flat form an op works on.
  const c = ak.asJagged(j, 'q', ['H', 'D'], { batch: 3, inner: [2, null] });
  assert.equal({ batch: c.batch, rowSize: c.rowSize, shape: c.shape, dtype: c.dtype }, { batch: 3, rowSize: 6, shape: [4, 2, 3], dtype: 'float32' });
  assert.is(c.data, data);
  assert.is(c.offsets, j.offsets);
});

test('typed errors: offsets (first bad position named), values, innerShape', () => {
  const v = new Float32Array(8);
  throwsTyped(() => ak.jagged(v, [1, 2, 4], [2]), ValueError, 'offsets', 'offsets[0] != 0', /offsets\[0\] = 1/);
  throwsTyped(() => ak.jagged(v, [0, 3, 2, 2, 1, 4], [2]), ValueError, 'offsets', 'decreasing offsets: the first decrease is named', /offsets\[2\] = 2 < offsets\[1\] = 3/);
  throwsTyped(() => ak.jagged(v, [0, -1, 4], [2]), ValueError, 'offsets', 'a negative offset', /offsets\[1\] = -1/);
  throwsTyped(() => ak.jagged(v, [0, 1, 3], [2]), ShapeError, 'offsets', 'last offset below the row count', /offsets\[2\] = 3/);
  throwsTyped(() => ak.jagged(v, [0, 1, 5], [2]), ShapeError, 'offsets', 'last offset above the row count', /row count of values \[4,2\]/);
  throwsTyped(() => ak.jagged(v, [0], [2]), ShapeError, 'offsets', 'B = 0', /B >= 1/);
  throwsTyped(() => ak.jagged(v, new Int32Array(0), [2]), ShapeError, 'offsets', 'no offsets at all');
  throwsTyped(() => ak.jagged(v, [0, 1.5, 4], [2]), ValueError, 'offsets[1]', 'a fractional offset');
  throwsTyped(() => ak.jagged(v, [0, 2 ** 31, 4], [2]), ValueError, 'offsets[1]', 'an offset past int32');
  throwsTyped(() => ak.jagged(v, 'nope', [2]), DTypeError, 'offsets', 'offsets a string');
  assert.equal(Array.from(ak.jagged(v, new Float64Array([0, 1, 4]), [2]).offsets), [0, 1, 4], 'Float64Array offsets are read as numbers');
  throwsTyped(() => ak.jagged(v, new Float64Array([0, 3]), [2]), ShapeError, 'offsets', 'Float64Array offsets are checked');
  throwsTyped(() => ak.jagged(v, [0, 2], [3]), ShapeError, 'values', 'values not whole rows', /multiple of 3/);
  throwsTyped(() => ak.jagged(new Float64Array(8), [0, 8]), DTypeError, 'values', 'Float64Array values');
  throwsTyped(() => ak.jagged(new Uint16Array(8), [0, 8]), DTypeError, 'values', 'bare Uint16Array values (no dtype)');
  throwsTyped(() => ak.jagged({ data: v, shape: [4, 2] }, [0, 4], [4]), ShapeError, 'values', 'innerShape differs from the tensor', /\[total,4\]/);
  throwsTyped(() => ak.jagged({ data: v, shape: [] }, [0, 1]), ShapeError, 'values', 'rank-0 values');
  throwsTyped(() => ak.jagged(v, [0, 4], [2, -1]), ShapeError, 'innerShape', 'a negative inner dim');
  throwsTyped(() => ak.jagged(v, [0, 4], 'x'), DTypeError, 'innerShape', 'innerShape a string');
});

test('typed errors of asJagged: the argument named in every field (q.values, q.offsets)', () => {
  const good = ak.jagged(new Float32Array(2 * 2 * 3), [0, 2, 2], [2, 3]);
  throwsTyped(() => ak.asJagged(null, 'q'), DTypeError, 'q', 'null');
  throwsTyped(() => ak.asJagged(new Float32Array(3), 'q'), DTypeError, 'q', 'a bare typed array');
  throwsTyped(() => ak.asJagged({ values: good.values, offsets: [0, 2, 2] }, 'q'), DTypeError, 'q.offsets', 'offsets a plain array');
  throwsTyped(() => ak.asJagged({ values: good.values, offsets: new Int32Array([0, 3, 2]) }, 'q'), ValueError, 'q.offsets', 'decreasing', /offsets\[2\] = 2 < offsets\[1\] = 3/);
  throwsTyped(() => ak.asJagged({ values: good.values, offsets: new Int32Array([2, 2, 2]) }, 'q'), ValueError, 'q.offsets', 'not starting at 0', /offsets\[0\] = 2/);
  throwsTyped(() => ak.asJagged({ values: good.values, offsets: new Int32Array([0, 1, 1]) }, 'q'), ShapeError, 'q.offsets', 'last != rows', /row count of q\.values \[2,2,3\]/);
  throwsTyped(() => ak.asJagged(good, 'q', ['D']), ShapeError, 'q.values', 'rank differs from the pattern', /\[total,D\]/);
  throwsTyped(() => ak.asJagged(good, 'q', ['H', 'D'], { inner: [4, null] }), ShapeError, 'q.values', 'head count mismatch', /H=4/);
  throwsTyped(() => ak.asJagged(good, 'k', ['H', 'D'], { inner: [null, 5] }), ShapeError, 'k.values', 'head dim mismatch', /D=5/);
  throwsTyped(() => ak.asJagged(good, 'q', ['H', 'D'], { batch: 3 }), ShapeError, 'q.offsets', 'batch mismatch', /B\+1=4/);
  throwsTyped(() => ak.asJagged({ values: { data: new Float32Array(5), shape: [2, 2, 3] }, offsets: good.offsets }, 'q'), ShapeError, 'q.values', 'values data length != shape');
  throwsTyped(() => ak.asJagged({ get values() { throw new Error('boom'); }, offsets: good.offsets }, 'q'), DTypeError, 'q.values', 'a throwing getter');
  throwsTyped(() => ak.asJagged({ values: good.values, offsets: new Proxy(new Int32Array([0, 2, 2]), {}) }, 'q'), DTypeError, 'q.offsets', 'a Proxy of an Int32Array');
  throwsTyped(() => ak.lengthsOf({ values: good.values }), DTypeError, 'j.offsets', 'lengthsOf: missing offsets');
});

test('typed errors of toPadded, fromPadded, offsetsFromLengths', () => {
  const j = ak.jagged(new Float32Array(6), [0, 1, 3], [2]);
  throwsTyped(() => ak.toPadded(j, { maxLength: -1 }), ValueError, 'options.maxLength', 'negative maxLength');
  throwsTyped(() => ak.toPadded(j, { maxLength: 1.5 }), ValueError, 'options.maxLength', 'fractional maxLength');
  throwsTyped(() => ak.toPadded(j, { maxLength: '2' }), ValueError, 'options.maxLength', 'string maxLength');
  throwsTyped(() => ak.toPadded(j, { maxLength: 2 ** 30 }), ValueError, 'options.maxLength', 'padded size past 2^31-1', /2\^31-1/);
  throwsTyped(() => ak.toPadded(j, { padValue: '0' }), DTypeError, 'options.padValue', 'string padValue');
  throwsTyped(() => ak.toPadded(j, { maxlen: 3 }), ValueError, 'options.maxlen', 'a misspelt option');
  throwsTyped(() => ak.toPadded(j, 3), DTypeError, 'options', 'options a number');
  throwsTyped(() => ak.toPadded({ values: j.values, offsets: new Int32Array([0, 2, 1]) }), ValueError, 'j.offsets', 'toPadded checks the offsets');
  const p = ak.toPadded(j).padded; // [2,2,2]
  throwsTyped(() => ak.fromPadded({ data: new Float32Array(3), shape: [3] }, [1, 1, 1]), ShapeError, 'padded', 'rank 1');
  throwsTyped(() => ak.fromPadded({ data: new Float32Array(0), shape: [0, 3, 2] }, []), ShapeError, 'padded', 'B = 0');
  throwsTyped(() => ak.fromPadded(p, [1]), ShapeError, 'lengths', 'lengths not B entries', /B=2/);
  throwsTyped(() => ak.fromPadded(p, [1, 3]), ValueError, 'lengths[1]', 'a length past maxLen', /0\.\.maxLen=2/);
  throwsTyped(() => ak.fromPadded(p, new Int32Array([-1, 0])), ValueError, 'lengths[0]', 'a negative length');
  throwsTyped(() => ak.fromPadded(p, [1, 0.5]), ValueError, 'lengths[1]', 'a fractional length');
  throwsTyped(() => ak.fromPadded(p, 'ab'), DTypeError, 'lengths', 'lengths a string');
  throwsTyped(() => ak.fromPadded(new Float32Array(8), [1, 1]), DTypeError, 'padded', 'padded a bare array');
  throwsTyped(() => ak.offsetsFromLengths([]), ShapeError, 'lengths', 'no lengths');
  throwsTyped(() => ak.offsetsFromLengths([2, -1]), ValueError, 'lengths[1]', 'a negative length');
  throwsTyped(() => ak.offsetsFromLengths([2 ** 30, 2 ** 30]), ValueError, 'lengths', 'a total past 2^31-1', /lengths\[1\]/);
  throwsTyped(() => ak.offsetsFromLengths([1, NaN]), ValueError, 'lengths[1]', 'NaN length');
});

test('detached, transferred and resized buffers are typed errors, never stale reads', () => {
  const make = () => ak.jagged(new Float32Array(6).fill(1), [0, 1, 3], [2]);
  // values transferred away after jagged() was built
  const a = make();
  structuredClone(a.values.data.buffer, { transfer: [a.values.data.buffer] });
  throwsTyped(() => ak.toPadded(a), DTypeError, 'j.values.data', 'toPadded: values detached');
  throwsTyped(() => ak.lengthsOf(a), DTypeError, 'j.values.data', 'lengthsOf: values detached');
  throwsTyped(() => ak.asJagged(a, 'q'), DTypeError, 'q.values.data', 'asJagged: values detached');
  // offsets transferred
  const b = make();
  structuredClone(b.offsets.buffer, { transfer: [b.offsets.buffer] });
  throwsTyped(() => ak.toPadded(b), DTypeError, 'j.offsets', 'toPadded: offsets detached');
  throwsTyped(() => ak.jagged(new Float32Array(2), b.offsets), DTypeError, 'offsets', 'jagged(): detached offsets');
  // a detached bare values array
  const bare = new Float32Array(4);
  structuredClone(bare.buffer, { transfer: [bare.buffer] });
  throwsTyped(() => ak.jagged(bare, [0, 2], [2]), DTypeError, 'values', 'jagged(): detached values');
  // fromPadded: padded and lengths detached
  const p = ak.toPadded(make()).padded;
  const lens = new Int32Array([1, 2]);
  structuredClone(lens.buffer, { transfer: [lens.buffer] });
  throwsTyped(() => ak.fromPadded(p, lens), DTypeError, 'lengths', 'fromPadded: lengths detached');
  structuredClone(p.data.buffer, { transfer: [p.data.buffer] });
  throwsTyped(() => ak.fromPadded(p, [1, 2]), DTypeError, 'padded.data', 'fromPadded: padded detached');
  // A resizable buffer shrunk under a length-tracking values array: the shape no longer matches.
  const rab = new ArrayBuffer(6 * 4, { maxByteLength: 12 * 4 });
  const tracking = new Float32Array(rab);
  const c = ak.jagged(tracking, [0, 1, 3], [2]);
  rab.resize(4 * 4);
  throwsTyped(() => ak.toPadded(c), ShapeError, 'j.values', 'values shrunk (length-tracking)');
  rab.resize(8 * 4);
  throwsTyped(() => ak.toPadded(c), ShapeError, 'j.values', 'values grown (length-tracking)');
  // ... and under a fixed-length view (out of bounds: length 0, as the rest of the project reads it).
  const rab2 = new ArrayBuffer(6 * 4, { maxByteLength: 12 * 4 });
  const d = ak.jagged(new Float32Array(rab2, 0, 6), [0, 1, 3], [2]);
  rab2.resize(2 * 4);
  throwsTyped(() => ak.toPadded(d), ShapeError, 'j.values', 'fixed view past a shrunk buffer');
  // Length-tracking offsets shrunk: B changes, so the last offset no longer matches the rows.
  const rab3 = new ArrayBuffer(3 * 4, { maxByteLength: 8 * 4 });
  const offs = new Int32Array(rab3);
  offs.set([0, 1, 3]);
  const e = ak.jagged(new Float32Array(6), offs, [2]);
  rab3.resize(2 * 4);
  throwsTyped(() => ak.toPadded(e), ShapeError, 'j.offsets', 'offsets shrunk (length-tracking)');
});

test.run();
