'use strict';
// The extra memory of a native sdpaBackward call, per size (issue #15: "independent of L·S"). The
// addon's scratch is C++ heap, invisible to process.memoryUsage()'s V8 figures, so the honest
// measure is the resident set's high-water mark. One child process per size (a fresh heap: memory
// freed by an earlier size cannot be reused and hide the next one's), which:
//   1. builds q, k, v, dOut, out [1,8,L,64] and lse [1,8,L] (filled, so their pages are resident)
//      and runs a tiny backward so the thread pool and the addon are loaded;
//   2. resets VmHWM to the current RSS (writing 5 to /proc/self/clear_refs, Linux >= 4.0; where
//      that is refused, the high-water mark so far is the baseline and the method says so);
//   3. runs one sdpaBackward at L = S and reads VmHWM.
// extra = VmHWM after - the baseline - the bytes of dq, dk, dv (the call's own outputs). The values
// of out and lse are synthetic (memory does not depend on them; no forward runs, so its own scratch
// cannot sit in the baseline). Run alone: node bench/sdpa-backward-memory.js [--quick]
const fs = require('fs');
const { spawnSync } = require('child_process');

const B = 1, H = 8, D = 64;

/** kB fields of /proc/self/status as bytes. */
function status(field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** The child: one size, printed as one JSON line. */
function child(L, threads) {
  const ak = require('../dist/cjs/index.js');
  if (threads) ak.setThreads(threads);
  const S = L;
  const make = (l, s) => {
    const t = (shape, seed) => ak.random(shape, { seed });
    return { q: t([B, H, l, D], 1), k: t([B, H, s, D], 2), v: t([B, H, s, D], 3), dOut: t([B, H, l, D], 4), out: t([B, H, l, D], 5), lse: { data: new Float32Array(B * H * l).fill(Math.log(s)), shape: [B, H, l] } };
  };
  const call = (x) => ak.sdpaBackward(x.dOut, x.q, x.k, x.v, x.out, x.lse, {}, { backend: 'native' });
  call(make(16, 16)); // the addon and the thread pool up, before the baseline
  const x = make(L, S);
  global.gc?.();
  let method = 'VmHWM reset (clear_refs 5) to VmRSS before the call';
  let baseline;
  try {
    fs.writeFileSync('/proc/self/clear_refs', '5');
    baseline = status('VmRSS');
  } catch {
    method = 'VmHWM before the call (clear_refs refused: a startup peak above it hides part of the call)';
    baseline = status('VmHWM');
  }
  const t0 = performance.now();
  const r = call(x);
  const ms = performance.now() - t0;
  const hwm = status('VmHWM');
  const outputBytes = r.dq.data.byteLength + r.dk.data.byteLength + r.dv.data.byteLength;
  process.stdout.write(`${JSON.stringify({ L, S, threads: ak.getThreads(), baseline, hwm, outputBytes, extra: hwm - baseline - outputBytes, ms, method })}\n`);
}

/**
 * Measure every size in its own child process. Returns { sizes: [{ L, S, extra, ... }], met, rule,
 * seconds } (met: the extra grows from the smallest to the largest size by less than one
 * [1,8,L,64] float32 tensor of the largest size: O(L) scratch passes, any buffer of one float per
 * (query, key) pair of even one head (L·S·4 bytes: 64 MiB at 4096) does not), or { error }.
 */
function measureBackwardMemory({ quick = false, threads } = {}) {
  if (!fs.existsSync('/proc/self/status')) return { error: 'no /proc/self/status (Linux only): the backward memory row is not measured' };
  const sizes = quick ? [256, 512, 1024] : [1024, 2048, 4096];
  const t0 = performance.now();
  const results = [];
  for (const L of sizes) {
    const res = spawnSync(process.execPath, ['--expose-gc', __filename, '--child', String(L), String(threads ?? 0)], { encoding: 'utf8', timeout: 600e3 });
    const line = (res.stdout || '').trim().split('\n').pop();
    if (res.status !== 0 || !line) return { error: `sdpaBackward memory child L=${L} failed (status ${res.status}): ${String(res.stderr || res.error || '').split('\n')[0]}` };
    results.push(JSON.parse(line));
  }
  const largest = sizes[sizes.length - 1];
  const allowance = B * H * largest * D * 4;
  const growth = results[results.length - 1].extra - results[0].extra;
  return {
    sizes: results,
    growth,
    allowance,
    met: growth < allowance,
    rule: `extra (VmHWM during the call - RSS before - dq, dk, dv bytes) grows from L=S=${sizes[0]} to ${largest} by less than one [${B},${H},${largest},${D}] float32 tensor (${allowance} bytes); L·S grows ${(largest / sizes[0]) ** 2}x`,
    seconds: (performance.now() - t0) / 1e3,
  };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') child(Number(args[1]), Number(args[2]) || 0);
  else process.stdout.write(`${JSON.stringify(measureBackwardMemory({ quick: args.includes('--quick') }), null, 2)}\n`);
}

module.exports = { measureBackwardMemory };
