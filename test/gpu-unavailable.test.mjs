// The gpu backend without an X display (run with DISPLAY unset and NOT under xvfb-run): it must
// say so explicitly. backends() lists it unavailable with the reason and the fix, auto moves on to
// another backend, and naming it throws BackendUnavailableError carrying the same reason and fix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { spawnSync } from 'child_process';

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

test('without the gl module: unavailable, and the fix builds it', () => {
  // A child process in which require('gl') fails, as when gl was never built.
  const code = `
    const Module = require('module');
    const load = Module._load;
    Module._load = function (request, ...rest) {
      if (request === 'gl') throw new Error("Cannot find module 'gl' (simulated)");
      return load.call(this, request, ...rest);
    };
    const g = require('attnkit').backends().find((b) => b.name === 'gpu');
    process.stdout.write(JSON.stringify(g));`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, DISPLAY: ':0' } });
  assert.is(r.status, 0, r.stderr);
  const g = JSON.parse(r.stdout);
  assert.is(g.available, false);
  assert.match(g.reason, /the gl module \(headless-gl\) cannot be loaded: Cannot find module 'gl' \(simulated\)/);
  assert.match(g.fix, /install-system-deps\.sh/);
  assert.match(g.fix, /npm rebuild gl/);
});

test.run();
