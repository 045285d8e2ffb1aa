// Hostile-input fuzzing, CI budget: no input, however malformed, may crash the process, escape
// as an untyped error or give a wrong number. Every op every available backend registers, fast-check
// with a fixed seed (test/fuzz/): a correct result (checked against reference on plain
// copies) or an AttnkitError, for valid-but-awkward inputs (views at byte offsets, shared and
// resizable buffers, onnx dims, getters, Proxies of tensor objects) and for hostile ones (wrong
// types, lying shapes, bad and overflowing dims, detached buffers, wrong broadcasts, out-of-range
// k / exclusions / key lengths, wrong option types, throwing getters). The native addon's raw
// functions get corrupted kernel structs directly (no TypeScript validation in front): they must
// throw JS Errors, never crash. The long run is scripts/fuzz-long.mjs.
// Budget (2-core box): FUZZ_RUNS env overrides the per-backend count.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import * as ak from 'attnkit';
import { fuzzBackend, fuzzRaw } from './fuzz/index.mjs';
import { backendWanted } from './specs/util.mjs';

// About 5 s each for reference and native, 35 s for gpu (kernel compiles on llvmpipe), 1 s raw.
const RUNS = { reference: 20000, native: 20000, gpu: 600 };
const RAW_RUNS = 20000;
const override = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : null;

function summarise(failures) {
  const groups = new Map();
  for (const f of failures) {
    const key = `${f.op} · ${f.what.split(':')[0]} · ${f.problem.replace(/\d+/g, '#').slice(0, 140)}`;
    if (!groups.has(key)) groups.set(key, { n: 0, example: f });
    groups.get(key).n++;
  }
  return [...groups.entries()].map(([k, g]) => `  ${g.n} x ${k}\n      replay: ${JSON.stringify({ backend: g.example.backend, op: g.example.op, seed: g.example.seed, mode: g.example.mode, pick: g.example.pick, async: g.example.async })} (${g.example.what})`).join('\n');
}

for (const info of ak.backends()) {
  const name = info.name;
  if (!RUNS[name] || !backendWanted(name)) continue;
  if (!info.available) {
    if (process.env.CI === 'true') test(`fuzz ${name}: available in CI`, () => assert.unreachable(`${name} unavailable: ${info.reason}`));
    else test.skip(`fuzz ${name} (unavailable: ${info.reason})`, () => {});
    continue;
  }
  test(`fuzz ${name}: ${override ?? RUNS[name]} hostile and awkward calls over ${info.ops.length} ops end in a correct result or an AttnkitError`, async () => {
    const t0 = Date.now();
    const st = await fuzzBackend(name, { numRuns: override ?? RUNS[name], small: name === 'gpu', hangMs: name === 'gpu' ? 120000 : 20000 });
    console.log(`  fuzz ${name}: ${st.calls} calls (${st.asyncCalls} async), ${st.correct} correct, ${st.typed} typed errors, ${st.failures.length} failures, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.is(st.calls, override ?? RUNS[name], 'every case ran');
    assert.ok(st.correct > 0 && st.typed > 0, 'both valid and hostile cases were exercised');
    if (st.failures.length) assert.unreachable(`${st.failures.length} of ${st.calls} calls neither correct nor a typed error:\n${summarise(st.failures)}`);
  });
}

const native = ak.backends().find((b) => b.name === 'native');
if (native?.available) {
  test(`fuzz native addon raw functions: ${RAW_RUNS} corrupted kernel structs throw JS Errors, never crash`, async () => {
    const { loadAddon } = createRequire(import.meta.url)('../dist/cjs/backends/native/loader.js');
    const addon = loadAddon().addon;
    const t0 = Date.now();
    const st = await fuzzRaw(addon, native.ops, { numRuns: override ?? RAW_RUNS });
    console.log(`  fuzz native raw: ${st.calls} calls, ${st.threw} threw an Error, ${st.returned} returned, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    assert.is(st.nonErrorThrows.length, 0, `non-Error throws: ${JSON.stringify(st.nonErrorThrows.slice(0, 5))}`);
    assert.ok(st.threw > 0, 'corruptions were rejected');
  });
}

test.run();
