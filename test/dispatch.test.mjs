// The dispatcher: selection, unknown names, missing kernels, verify catching a wrong backend.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { createRequire } from 'node:module';

const { sdpa, sdpaAsync, softmax, registerBackend, unregisterBackend, backends, referenceKernels, random, NumericsMismatchError, BackendUnavailableError, UnknownBackendError, UnsupportedOpError, ValueError, DTypeError } = ak;

const q = random([1, 2, 6, 4], { seed: 1 });
const k = random([1, 2, 9, 4], { seed: 2 });
const v = random([1, 2, 9, 4], { seed: 3 });

/** A backend that is reference plus a planted error in one element of the output. */
function registerBroken(name, flat, delta) {
  registerBackend({
    name,
    probe: () => ({ available: true }),
    kernels: {
      sdpa: (args) => {
        const r = referenceKernels.sdpa(args);
        r.output[flat] += delta;
        return r;
      },
    },
    tolerances: { default: { rtol: 1e-5, atol: 1e-6 } },
  });
}

test('verify (all rows) catches a planted error and names op, backend, worst index, values and errors', () => {
  registerBroken('broken', 13, 1e-3);
  try {
    sdpa(q, k, v, {}, { backend: 'broken', verify: true });
    assert.unreachable('should have thrown');
  } catch (e) {
    assert.instance(e, NumericsMismatchError);
    const r = e.report;
    assert.is(r.op, 'sdpa');
    assert.is(r.backend, 'broken');
    assert.is(r.worst.output, 'output');
    assert.is(r.worst.index, 13);
    assert.equal(r.worst.position, [0, 0, 3, 1]);
    assert.ok(Math.abs(r.worst.actual - r.worst.expected - 1e-3) < 1e-6);
    assert.is(r.mismatches, 1);
    assert.ok(r.maxAbsError > 9e-4 && r.maxRelError > 0);
    assert.match(e.message, /sdpa on backend 'broken'/);
    assert.match(e.message, /expected/);
  } finally {
    unregisterBackend('broken');
  }
});

test('verify with sampled rows catches an error in a sampled row; the error is absent without verify', () => {
  // sampleRows always includes the first and the last row: plant the error in the last row
  const last = 2 * 6 * 4 - 1;
  registerBroken('broken-last', last, -0.5);
  try {
    const plain = sdpa(q, k, v, {}, { backend: 'broken-last' });
    assert.ok(plain.data[last] !== sdpa(q, k, v, {}, { backend: 'reference' }).data[last]);
    assert.throws(() => sdpa(q, k, v, {}, { backend: 'broken-last', verify: { rows: 2 } }), (e) => e instanceof NumericsMismatchError && e.report.rowsChecked === 2 && e.report.rowsTotal === 12);
  } finally {
    unregisterBackend('broken-last');
  }
});

test('verify catches NaN where reference is finite (non-finite values are never close)', async () => {
  registerBackend({
    name: 'nan',
    probe: () => ({ available: true }),
    kernels: { softmax: (a) => { const r = referenceKernels.softmax(a); r[0] = NaN; return r; } },
    tolerances: { default: { rtol: 1, atol: 1 } },
  });
  try {
    const x = random([2, 5], { seed: 4 });
    assert.throws(() => softmax(x, {}, { backend: 'nan', verify: true }), (e) => e instanceof NumericsMismatchError);
    await ak.softmaxAsync(x, {}, { backend: 'nan', verify: true }).then(
      () => assert.unreachable('async verify should reject'),
      (e) => assert.instance(e, NumericsMismatchError),
    );
  } finally {
    unregisterBackend('nan');
  }
});

test('sdpaBackward: sampled verify compares dq on the sampled rows and dk, dv, dBias whole (they sum over every row)', () => {
  const [dOut, bq, bk, bv, out, lse, opts] = ak.OPS.sdpaBackward.cases.small(); // q [1,2,8,16], k [1,2,12,16], bias [8,12]
  const plant = (field, flat) => {
    registerBackend({
      name: 'brokenBackward',
      probe: () => ({ available: true }),
      kernels: { sdpaBackward: (args) => { const r = referenceKernels.sdpaBackward(args); r[field][flat] += 1e-2; return r; } },
      tolerances: { default: { rtol: 1e-5, atol: 1e-6 } },
    });
    try {
      return ak.sdpaBackward(dOut, bq, bk, bv, out, lse, opts, { backend: 'brokenBackward', verify: { rows: 2 } });
    } finally {
      unregisterBackend('brokenBackward');
    }
  };
  // rows: 2 samples rows 0 and 15 of the 16 (b,h,i) rows; dq's element 20 is in row 1: not compared.
  assert.ok(plant('dq', 20).dq.data.length === 256);
  // the last key of the second kv head, the last bias element: far from row 0, compared all the same.
  for (const [field, flat] of [['dk', 383], ['dv', 191], ['dBias', 95], ['dq', 16 * 15]]) {
    try {
      plant(field, flat);
      assert.unreachable(`a planted error in ${field}[${flat}] must be caught`);
    } catch (e) {
      assert.instance(e, NumericsMismatchError);
      assert.is(e.report.worst.output, field);
      assert.is(e.report.worst.index, flat);
    }
  }
});

test('a passing check hands its report to the caller', () => {
  const reports = [];
  sdpa(q, k, v, { causal: true }, { backend: 'reference', verify: { rtol: 0, atol: 0 }, onReport: (r) => reports.push(r) });
  assert.is(reports.length, 1);
  assert.is(reports[0].verify.passed, true);
  assert.is(reports[0].verify.elementsChecked, 48);
  assert.is(reports[0].requested, 'reference');
});

test('auto never picks an unavailable backend, says what it picked, and a named unavailable backend throws its reason', () => {
  registerBackend({
    name: 'ghost',
    probe: () => ({ available: false, reason: 'no ghost hardware', fix: 'install a ghost' }),
    kernels: { sdpa: () => { throw new Error('must not run'); } },
    tolerances: { default: { rtol: 0, atol: 0 } },
    autoRank: () => 0,
  });
  try {
    const reports = [];
    sdpa(q, k, v, {}, { onReport: (r) => reports.push(r) });
    assert.ok(reports[0].backend !== 'ghost');
    assert.is(reports[0].requested, 'auto');
    assert.match(reports[0].reason, /ghost \(unavailable\)/);
    const info = backends().find((b) => b.name === 'ghost');
    assert.equal([info.available, info.reason, info.fix], [false, 'no ghost hardware', 'install a ghost']);
    assert.throws(() => sdpa(q, k, v, {}, { backend: 'ghost' }), (e) => e instanceof BackendUnavailableError && /no ghost hardware/.test(e.message) && /install a ghost/.test(e.message));
  } finally {
    unregisterBackend('ghost');
  }
});

test('an unknown backend name and a missing kernel are errors, never a fallback', () => {
  assert.throws(() => sdpa(q, k, v, {}, { backend: 'nope' }), (e) => e instanceof UnknownBackendError && /known backends: .*reference/.test(e.message));
  registerBackend({ name: 'partial', probe: () => ({ available: true }), kernels: {}, tolerances: { default: { rtol: 0, atol: 0 } } });
  try {
    assert.throws(() => sdpa(q, k, v, {}, { backend: 'partial' }), (e) => e instanceof UnsupportedOpError && e.op === 'sdpa' && e.backend === 'partial');
  } finally {
    unregisterBackend('partial');
  }
});

test('reference cannot be replaced or unregistered (verify compares against it)', () => {
  const fake = { name: 'reference', probe: () => ({ available: true }), kernels: { softmax: (a) => new Float32Array(a.rows * a.cols).fill(7) }, tolerances: { default: { rtol: 0, atol: 0 } } };
  assert.throws(() => registerBackend(fake), (e) => e instanceof ValueError && e.argument === 'backend.name');
  assert.throws(() => unregisterBackend('reference'), (e) => e instanceof ValueError);
  assert.throws(() => { referenceKernels.softmax = fake.kernels.softmax; }, TypeError, 'the exported map is frozen');
  assert.ok(backends().some((b) => b.name === 'reference' && b.available));
});

test('bad dispatch options are typed errors', async () => {
  assert.throws(() => sdpa(q, k, v, {}, { verify: { rows: 0 } }), (e) => e instanceof ValueError);
  assert.throws(() => sdpa(q, k, v, {}, { verify: { rtol: -1 } }), (e) => e instanceof ValueError);
  assert.throws(() => sdpa(q, k, v, {}, { backend: 3 }), (e) => e instanceof DTypeError && e.argument === 'dispatchOptions.backend');
  assert.throws(() => sdpa(q, k, v, {}, 'native'), (e) => e instanceof DTypeError && e.argument === 'dispatchOptions');
  assert.throws(() => sdpa(q, k, v, {}, { verfy: true }), (e) => e instanceof ValueError && e.argument === 'dispatchOptions.verfy');
  assert.throws(() => sdpa(q, k, v, {}, { verify: { row: 1 } }), (e) => e instanceof ValueError && e.argument === 'dispatchOptions.verify.row');
  assert.throws(() => sdpa(q, k, v, { casual: true }), (e) => e instanceof ValueError && e.argument === 'options.casual' && /causal/.test(e.message));
  await sdpaAsync(q, k, v, {}, { backend: 'nope' }).then(() => assert.unreachable(), (e) => assert.instance(e, UnknownBackendError));
});

test('reference is listed and available everywhere', () => {
  const ref = backends().find((b) => b.name === 'reference');
  assert.ok(ref.available);
  assert.ok(ref.ops.length >= 10);
});

test('sampleRows is deterministic, spread, and includes the first and last rows', () => {
  const f = ak.sampleRows(100, 5);
  assert.equal([...f.keys()].filter((i) => f[i]), [0, 24, 49, 74, 99]);
  assert.equal(Array.from(ak.sampleRows(3, 10)), [1, 1, 1]);
});

test('a NaN error wins every max: verify reports and the bench\'s error figures show NaN, never a smaller finite error', () => {
  const require = createRequire(import.meta.url);
  const { compareResults } = require('../dist/cjs/dispatch/compare.js');
  const layout = { rows: 2, rowOf: (_n, i) => i, shapeOf: () => [2] };
  for (const got of [[NaN, 1 + 1e-8], [1 + 1e-8, NaN]]) {
    const rep = compareResults('softmax', 'x', Float32Array.from(got), Float32Array.of(1, 1), layout, null, { rtol: 0, atol: 1e-3 });
    assert.ok(!rep.passed && Number.isNaN(rep.maxAbsError) && Number.isNaN(rep.maxRelError), `verify report for ${got}: ${rep.maxAbsError}`);
  }
  const { maxErrors, noWorse, fmt } = require('../bench/run-bench.js');
  for (const got of [[NaN, 1 + 1e-8], [1 + 1e-8, NaN]]) assert.ok(Number.isNaN(maxErrors(got, [1, 1], [0, 1]).maxAbs), `bench error of ${got}`);
  assert.equal(maxErrors([Infinity, NaN, 2], [Infinity, NaN, 1], [0, 1, 2]), { maxAbs: 1, maxRel: 1 }, 'the same non-finite value is no error');
  assert.ok(noWorse(1e-8, NaN) && !noWorse(NaN, 1e-8) && noWorse(NaN, NaN) && noWorse(1e-8, 2e-8) && !noWorse(2e-8, 1e-8));
  assert.is(fmt(NaN), 'NaN');
});

test.run();
