// The subset run under valgrind (scripts/valgrind.sh): every op the native backend registers, sync
// and async, verified against reference: its descriptor's small call (ak.OPS[op].cases.small(),
// SIMD-width shapes) and one random fuzz-builder call (ak.OPS[op].cases.random: odd sizes, so the
// vector tails, masks, key lengths and option paths run too); plus a few invalid raw-addon calls
// (error paths).
import * as ak from 'attnkit';
import { createRequire } from 'node:module';
import { rngOf } from '../test/fuzz/support.mjs';

const V = { backend: 'native', verify: true };
const ops = ak.backends().find((b) => b.name === 'native').ops;
let n = 0;
for (const op of ops) {
  const desc = ak.OPS[op];
  for (const args of [desc.cases.small(), desc.cases.random(rngOf(1000 + op.length), false)]) {
    const reports = [];
    const onReport = (r) => reports.push(r);
    desc.call(args, { ...V, onReport });
    await desc.callAsync(args, { ...V, onReport });
    const verified = reports.length === 2 && reports.every((r) => r.verify?.passed);
    if (!verified) throw new Error(`${op}: not verified against reference (${JSON.stringify(reports)})`);
    n += 2;
  }
}
const { loadAddon } = createRequire(import.meta.url)('../dist/cjs/backends/native/loader.js');
const addon = loadAddon().addon;
let threw = 0;
for (const bad of [undefined, null, {}, { q: new Float32Array(3), B: 1e9 }, { x: new Float32Array(4), rows: 2, cols: 3 }]) {
  for (const op of ops) {
    try { addon[op](bad); } catch { threw++; }
  }
}
console.log(`valgrind subset: ${n} verified native calls over ${ops.length} ops, ${threw} rejected raw calls`);
