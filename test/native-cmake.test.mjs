// The cmake-js build (npm run build:cmake → build-cmake/Release/attnkit.node), loaded through
// ATTNKIT_NATIVE_PATH (set by test/jobs.js): it must be the file that loaded, and pass the shared
// specs for sdpa and the primitives plus a thread-determinism check.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as path from 'path';
import * as ak from 'attnkit';
import { runSpecs } from './specs/index.mjs';

const info = ak.nativeInfo();
const s = suite('native (cmake-js) · loading');
s('the cmake-js binary is the one loaded', () => {
  assert.ok(info.available, `native unavailable: ${info.reason} (fix: ${info.fix}); build it with npm run build:cmake`);
  const want = process.env.ATTNKIT_NATIVE_PATH;
  if (want) assert.is(info.path, path.resolve(want));
});
s('same results for 1 and 2 threads', () => {
  if (!info.available) return;
  const q = ak.random([2, 2, 70, 16], { seed: 1 });
  const k = ak.random([2, 2, 90, 16], { seed: 2 });
  const v = ak.random([2, 2, 90, 16], { seed: 3 });
  ak.setThreads(1);
  const a = ak.sdpa(q, k, v, { causal: true }, { backend: 'native' }).data;
  ak.setThreads(2);
  const b = ak.sdpa(q, k, v, { causal: true }, { backend: 'native', verify: true }).data;
  assert.equal(Array.from(a), Array.from(b));
});
s.run();
if (info.available) runSpecs('native', { only: ['sdpa', 'jaggedSdpa', 'primitives'] });
