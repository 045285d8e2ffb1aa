'use strict';
// The outside check of the bench's sdpa ratios against onnxruntime (issue #19 item 2): the same
// shapes timed with plain loops, no benchmark.js, in two ways:
//   - each library in its own process (native alone, onnxruntime alone; alternating, twice each);
//   - both in one process, blocks of calls interleaved (native, ORT, native, ORT, ...).
// A block is `--calls` back-to-back calls (each ORT call awaited) timed with performance.now();
// a library's time is the median over its blocks of the per-call mean. Same inputs, same thread
// count for the addon's pool and ORT's intra-op pool.
//
//   node bench/crosscheck.js [--threads 2] [--shape TEXT] [--calls 40] [--blocks 6] [--json FILE]
//
// The child processes: node bench/crosscheck.js --child native|ort|both --case INDEX ...
const path = require('path');
const { spawnSync } = require('child_process');
const ak = require('../dist/cjs/index.js');
const { defaultCases } = require('./cases.js');
const { ortPeers } = require('./peers/onnx.js');
const { settle } = require('./timing.js');

/** Idle time before each block (the bench's settleMs). */
const SETTLE_MS = Number(process.env.CROSSCHECK_SETTLE_MS ?? 150);
/** Untimed calls after the idle time, before a block. */
const WARMUP_CALLS = 3;
/** The shortest block, ms (small shapes get more than `--calls` calls). */
const MIN_BLOCK_MS = 50;

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** The per-call mean of one block of `calls` calls (an async call awaited before the next), ms. */
async function block(fn, calls) {
  const t0 = performance.now();
  for (let i = 0; i < calls; i++) {
    const r = fn();
    if (r && typeof r.then === 'function') await r;
  }
  return (performance.now() - t0) / calls;
}

async function child() {
  const who = arg('child');
  const threads = Number(arg('threads', '2'));
  const calls = Number(arg('calls', '40'));
  const blocks = Number(arg('blocks', '6'));
  const c = defaultCases().filter((x) => x.op === 'sdpa')[Number(arg('case'))];
  const inputs = c.make();
  ak.setThreads(threads);
  const fns = {};
  if (who !== 'ort') {
    fns.native = () => inputs.run({ backend: 'native' });
    fns['native+out'] = () => inputs.runOut({ backend: 'native' });
  }
  const releases = [];
  if (who !== 'native') {
    const res = await ortPeers(c.shape, inputs, threads);
    if (res.error) throw new Error(res.error);
    for (const p of res.peers) {
      fns[p.name] = p.run;
      releases.push(p.release);
    }
  }
  const names = Object.keys(fns);
  for (const n of names) for (let i = 0; i < 5; i++) await fns[n](); // warm-up
  const per = Object.fromEntries(names.map((n) => [n, []]));
  // Each block starts from a settled machine (a full GC, then SETTLE_MS idle), as the bench's rounds
  // do: whatever the previous block left running (onnxruntime's intra-op threads spin after a run;
  // another session's pool; V8's collector after an allocating contender) belongs to it.
  // Then WARMUP_CALLS untimed calls: after the idle time the library's own pool threads sleep and the
  // VM's vCPUs may have been descheduled; waking them is not the library's per-call cost.
  // A block is at least `calls` calls and at least MIN_BLOCK_MS long.
  const perBlock = {};
  for (const n of names) {
    const t0 = performance.now();
    await fns[n]();
    perBlock[n] = Math.max(calls, Math.ceil(MIN_BLOCK_MS / Math.max(performance.now() - t0, 1e-3)));
  }
  for (let b = 0; b < blocks; b++) {
    for (const n of names) {
      await settle(SETTLE_MS);
      for (let i = 0; i < WARMUP_CALLS; i++) await fns[n]();
      per[n].push(await block(fns[n], perBlock[n]));
    }
  }
  for (const r of releases) r();
  process.stdout.write(JSON.stringify(Object.fromEntries(names.map((n) => [n, median(per[n])]))));
}

function run(who, index, o) {
  const r = spawnSync(process.execPath, [__filename, '--child', who, '--case', String(index), '--threads', String(o.threads), '--calls', String(o.calls), '--blocks', String(o.blocks)], { encoding: 'utf8', cwd: path.join(__dirname, '..') });
  if (r.status !== 0) throw new Error(`${who} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const bestOrt = (m) => Math.min(...Object.entries(m).filter(([k]) => k.startsWith('ort')).map(([, v]) => v));

function main() {
  const o = { threads: Number(arg('threads', '2')), calls: Number(arg('calls', '40')), blocks: Number(arg('blocks', '6')) };
  const shapeFilter = arg('shape');
  const cases = defaultCases().filter((x) => x.op === 'sdpa');
  const rows = [];
  cases.forEach((c, index) => {
    if (shapeFilter && !c.shapeText.includes(shapeFilter)) return;
    const sep = { native: [], 'native+out': [], ort: [] };
    for (let rep = 0; rep < 2; rep++) {
      const n = run('native', index, o);
      const r = run('ort', index, o);
      sep.native.push(n.native);
      sep['native+out'].push(n['native+out']);
      sep.ort.push(bestOrt(r));
    }
    const both = run('both', index, o);
    const row = {
      shape: c.shapeText,
      threads: o.threads,
      separate: { native: median(sep.native), nativeOut: median(sep['native+out']), ort: median(sep.ort), runs: sep },
      oneProcess: { native: both.native, nativeOut: both['native+out'], ort: bestOrt(both), all: both },
    };
    row.separate.ratio = row.separate.ort / row.separate.native;
    row.separate.ratioOut = row.separate.ort / row.separate.nativeOut;
    row.oneProcess.ratio = row.oneProcess.ort / row.oneProcess.native;
    row.oneProcess.ratioOut = row.oneProcess.ort / row.oneProcess.nativeOut;
    rows.push(row);
    const f = (x) => x.toFixed(3);
    process.stderr.write(`${c.shapeText}: separate processes native ${f(row.separate.native)} (+out ${f(row.separate.nativeOut)}) ms, best ORT ${f(row.separate.ort)} ms: x${row.separate.ratio.toFixed(2)} (+out x${row.separate.ratioOut.toFixed(2)}); one process native ${f(row.oneProcess.native)} (+out ${f(row.oneProcess.nativeOut)}), ORT ${f(row.oneProcess.ort)}: x${row.oneProcess.ratio.toFixed(2)} (+out x${row.oneProcess.ratioOut.toFixed(2)})\n`);
  });
  const out = arg('json');
  if (out) require('fs').writeFileSync(out, JSON.stringify({ threads: o.threads, calls: o.calls, blocks: o.blocks, rows }, null, 2));
}

if (arg('child')) child().catch((e) => {
  console.error(e);
  process.exit(1);
});
else main();
