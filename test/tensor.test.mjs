// Tensor helpers and interop with onnxruntime-like and tfjs tensors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);

test('fromNested / toNested round trip, shapes read from nesting, ragged arrays rejected', () => {
  const t = ak.fromNested([[1, 2, 3], [4, 5, 6]]);
  assert.equal(t.shape, [2, 3]);
  assert.equal(Array.from(t.data), [1, 2, 3, 4, 5, 6]);
  assert.equal(ak.toNested(t), [[1, 2, 3], [4, 5, 6]]);
  assert.throws(() => ak.fromNested([[1, 2], [3]]), (e) => e instanceof ak.ShapeError);
});

test('tensor() keeps a Float32Array without copying and checks the length', () => {
  const data = new Float32Array(6);
  assert.ok(ak.tensor(data, [2, 3]).data === data);
  assert.throws(() => ak.tensor(data, [4, 2]), (e) => e instanceof ak.ShapeError);
});

test('random is deterministic per seed, zeros is zero, mask and lengths convert', () => {
  assert.equal(Array.from(ak.random([5], { seed: 7 }).data), Array.from(ak.random([5], { seed: 7 }).data));
  assert.not.equal(Array.from(ak.random([5], { seed: 7 }).data), Array.from(ak.random([5], { seed: 8 }).data));
  const n = ak.random([10000], { seed: 3, distribution: 'normal' });
  const mean = n.data.reduce((a, b) => a + b, 0) / n.data.length;
  assert.ok(Math.abs(mean) < 0.05, `normal mean ${mean}`);
  assert.ok(ak.zeros([3, 2]).data.every((x) => x === 0));
  assert.equal(Array.from(ak.mask([true, false, 1], [3]).data), [1, 0, 1]);
  assert.equal(Array.from(ak.lengths([3, 0])), [3, 0]);
  assert.throws(() => ak.lengths([1.5]), (e) => e instanceof ak.ValueError);
});

test('onnxruntime tensors ({ data, dims }) are accepted without copying', () => {
  const ort = require('onnxruntime-node');
  const q = new ort.Tensor('float32', ak.random([1, 1, 3, 4], { seed: 1 }).data, [1, 1, 3, 4]);
  const out = ak.sdpa(q, q, q, {}, { backend: 'reference' });
  const ref = ak.sdpa({ data: q.data, shape: [1, 1, 3, 4] }, { data: q.data, shape: [1, 1, 3, 4] }, { data: q.data, shape: [1, 1, 3, 4] }, {}, { backend: 'reference' });
  assert.equal(Array.from(out.data), Array.from(ref.data));
});

test('tfjs tensors are read through dataSync()', () => {
  const { log, warn } = console;
  console.log = console.warn = () => {};
  let tf;
  try {
    tf = require('@tensorflow/tfjs');
  } finally {
    Object.assign(console, { log, warn });
  }
  const x = tf.tensor2d([[1, 2, 3]]);
  const p = ak.softmax(x, {}, { backend: 'reference' });
  const want = ak.softmax(ak.fromNested([[1, 2, 3]]), {}, { backend: 'reference' });
  assert.equal(Array.from(p.data), Array.from(want.data));
  x.dispose();
});

test('positionalEncoding rejects bad sizes with a typed error', () => {
  assert.throws(() => ak.positionalEncoding(-1, 4), (e) => e instanceof ak.ShapeError);
  assert.throws(() => ak.positionalEncoding(2.5, 4), (e) => e instanceof ak.ShapeError);
});

test('tensor / mask / lengths / random reject bad data and options with typed errors naming the argument', () => {
  const is = (fn, Kind, argument) => assert.throws(fn, (e) => e instanceof Kind && e.argument === argument, `${Kind.name} on ${argument}`);
  is(() => ak.tensor(undefined, [2]), ak.DTypeError, 'data');
  is(() => ak.tensor([1, 'a'], [2]), ak.DTypeError, 'data[1]');
  is(() => ak.tensor({ length: 2 }, [2]), ak.DTypeError, 'data[0]');
  is(() => ak.mask(undefined, [2]), ak.DTypeError, 'data');
  is(() => ak.mask([1, {}], [2]), ak.DTypeError, 'data[1]');
  is(() => ak.lengths(undefined), ak.DTypeError, 'values');
  is(() => ak.lengths([1, 2.5]), ak.ValueError, 'values[1]');
  is(() => ak.random([2], { get seed() { throw new Error('boom'); } }), ak.DTypeError, 'options.seed');
  assert.equal(Array.from(ak.tensor({ length: 2, 0: 1, 1: 2 }, [2]).data), [1, 2], 'array-likes are accepted');
  is(() => ak.random([2], 'x'), ak.DTypeError, 'options');
  is(() => ak.random([2], { seed: 'x' }), ak.DTypeError, 'options.seed');
  is(() => ak.random([2], { distribution: 'gauss' }), ak.ValueError, 'options.distribution');
  // what is accepted still works
  assert.equal(Array.from(ak.tensor(Float64Array.from([1, 2]), [2]).data), [1, 2]);
  assert.equal(Array.from(ak.mask([true, 0], [2]).data), [1, 0]);
  assert.is(ak.random([3], null).data.length, 3);
});

test.run();
