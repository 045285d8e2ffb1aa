// The gpu backend without an X display (run with DISPLAY unset and NOT under xvfb-run): it must
// say so explicitly. backends() lists it unavailable with the reason and the fix, auto moves on to
// another backend, and naming it throws BackendUnavailableError carrying the same reason and fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';

test('precondition: no X display in this process', () => {
  assert.ok(!process.env.DISPLAY, `DISPLAY must be unset for this test, is '${process.env.DISPLAY}'`);
});

test('backends() reports gpu unavailable with a reason and a fix', () => {
  const g = ak.backends().find((b) => b.name === 'gpu');
  assert.ok(g, 'gpu is registered');
  assert.is(g.available, false);
  assert.match(g.reason, /display|DISPLAY|gl/);
  assert.match(g.fix, /xvfb-run/);
  console.log(`    gpu: ${g.reason}\n    fix: ${g.fix}`);
});

test('auto moves on to an available backend', () => {
  const q = ak.random([1, 2, 3, 4], { seed: 1 });
  const reports = [];
  ak.sdpa(q, q, q, {}, { onReport: (r) => reports.push(r) });
  assert.is.not(reports[0].backend, 'gpu');
  assert.match(reports[0].reason, /gpu \(unavailable\)|only reference/);
});

test("{ backend: 'gpu' } throws BackendUnavailableError with the reason and the fix", () => {
  const q = ak.random([1, 2, 3, 4], { seed: 1 });
  for (const call of [() => ak.sdpa(q, q, q, {}, { backend: 'gpu' }), () => ak.softmax(q, {}, { backend: 'gpu' })]) {
    assert.throws(call, (e) => e instanceof ak.BackendUnavailableError && /xvfb-run/.test(e.message + (e.fix ?? '')));
  }
});

test('the async twin rejects the same way', async () => {
  const q = ak.random([1, 2, 3, 4], { seed: 1 });
  try {
    await ak.sdpaAsync(q, q, q, {}, { backend: 'gpu' });
    assert.unreachable('should reject');
  } catch (e) {
    assert.instance(e, ak.BackendUnavailableError);
  }
});

test.run();
