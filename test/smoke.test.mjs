// CI smoke of the main job: `attnkit verify` on every available backend and `attnkit bench --quick`
// with peers. No timing assertions; it checks that every backend ran and every check passed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import * as ak from 'attnkit';

const run = (args) => spawnSync(process.execPath, ['bin/attnkit.js', ...args], { encoding: 'utf8', env: process.env, maxBuffer: 256 << 20, timeout: 20 * 60 * 1000 });
const available = ak.backends().filter((b) => b.available).map((b) => b.name);

// Outside CI a visible skip (the other tests still run on whatever is available).
(process.env.CI === 'true' ? test : test.skip)(`every backend is available in CI (available here: ${available.join(', ')})`, () => {
  for (const n of ['reference', 'native', 'gpu']) assert.ok(available.includes(n), `${n} available in CI: ${JSON.stringify(ak.backends().find((b) => b.name === n))}`);
});

test('verify: every available backend but reference (its checks are the specs\' oracles), every op, all pass', () => {
  const r = run(['verify']);
  process.stdout.write(r.stdout.split('\n').slice(-6).join('\n'));
  assert.is(r.status, 0, r.stdout.split('\n').filter((l) => /FAIL|unavailable/.test(l)).join('\n') || r.stderr);
  for (const n of available.filter((b) => b !== 'reference')) assert.ok(new RegExp(`\\s${n}\\s`).test(r.stdout), `${n} verified`);
  assert.not.ok(/\sreference\s/.test(r.stdout), 'reference is not compared with itself');
});

test('bench --quick: a timed row for every op on every available backend, and peers', () => {
  const r = run(['bench', '--quick', '--json']);
  assert.is(r.status, 0, r.stderr.slice(-2000));
  const res = JSON.parse(r.stdout);
  for (const be of available) {
    const def = ak.getBackend(be);
    for (const op of Object.keys(def.kernels)) {
      // Timed rows only (the sdpaBackward extra-memory rows measure memory, not time).
      const rows = res.rows.filter((x) => x.backend === be && x.op === op && x.measure !== 'memory');
      assert.ok(rows.length > 0, `${be}/${op} benchmarked`);
      for (const row of rows) assert.ok(row.median > 0 || (be === 'reference' && /skipped/.test(row.note)), `${be}/${op} ${row.shape}: ${row.note ?? ''}`);
    }
  }
  assert.ok(res.rows.some((x) => x.backend.startsWith('ort')), `onnxruntime peer ran (notes: ${res.notes.join('; ')})`);
  assert.ok(res.rows.some((x) => x.backend.startsWith('tfjs')), 'tfjs peer ran');
});

test.run();
