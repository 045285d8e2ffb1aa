'use strict';
// The outside check of the bench's ratios against onnxruntime (issue #19 item 2): the bench's
// shapes of every op with an onnxruntime peer (sdpa's graphs: ./peers/onnx.js; the others':
// ./peers/onnx-graphs.js) timed with plain loops (performance.now() around back-to-back calls, each async call
// awaited before the next; no benchmark.js), in two ways:
//   - separate processes: native alone in one, and each onnxruntime graph alone in its own (one
//     session per process), its calls back to back in blocks of >= 300 ms;
//   - one process: native and every ORT graph, blocks of >= 300 ms interleaved, each block after a
//     GC, 150 ms idle and 3 warm-up calls (what one contender leaves running, e.g. ORT's spinning
//     intra-op threads, must not land on the next).
// A contender's time is the median over its 6 blocks of the per-call mean. Same inputs, same
// thread count for the addon's pool and ORT's intra-op pool.
//
//   node bench/crosscheck.js [--op sdpa,topK,...] [--threads 2] [--shape TEXT] [--blocks 6] [--json FILE]
//
// The child processes: node bench/crosscheck.js --child native|<ort graph name>|both --case INDEX ...
// (INDEX into crossCases(): the default cases of the ops with a peer, in the bench's order).
const path = require('path');
const { spawnSync } = require('child_process');
const ak = require('../dist/cjs/index.js');
const { defaultCases } = require('./cases.js');
const { ortPeers } = require('./peers/onnx.js');
const { ortOpPeers, hasOrtPeer, flatArgs } = require('./peers/op-peers.js');
const { onnxGraphs } = require('./peers/onnx-graphs.js');
const { settle, zeroUsage, addUsage, usagePerCall, benchChildEnv } = require('./timing.js');

/** The cases checked: every default case of sdpa and of the ops with an onnxruntime graph. */
const crossCases = () => defaultCases().filter((c) => c.op === 'sdpa' || hasOrtPeer(c.op));

/** The names of a case's onnxruntime contenders (each timed alone in its own process). */
function ortNames(c, inputs) {
  if (c.op === 'sdpa') return ['ort-matmul', 'ort-matmul+out', 'ort-mha', 'ort-mha+out'];
  const names = [];
  for (const g of onnxGraphs(c.op, flatArgs(c.op, inputs.args))) names.push(g.name, ...(inputs.runOut ? [`${g.name}+out`] : []));
  return names;
}

/** Idle time before each block (the bench's settleMs). */
const SETTLE_MS = Number(process.env.CROSSCHECK_SETTLE_MS ?? 150);
/** Untimed calls after the idle time, before a block. */
const WARMUP_CALLS = 3;
/** A block: back-to-back calls for at least this long, ms (the bench's duel rounds are 300 ms too). */
const MIN_BLOCK_MS = 300;

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

/**
 * The contenders of one case: native (new output / into out) and every onnxruntime graph. `only`:
 * 'native' (both native rows) or one ORT graph (its own process; the other sessions released).
 */
async function contenders(c, inputs, threads, only) {
  const fns = {};
  const releases = [];
  if (!only || only === 'native') {
    fns.native = () => inputs.run({ backend: 'native' });
    if (inputs.runOut) fns['native+out'] = () => inputs.runOut({ backend: 'native' });
  }
  if (!only || only.startsWith('ort')) {
    const res = c.op === 'sdpa' ? await ortPeers(c.shape, inputs, threads) : await ortOpPeers(c.op, inputs, threads, { withOut: !!inputs.runOut });
    if (res.error) throw new Error(res.error);
    for (const p of res.peers) {
      if (only && p.name !== only) {
        p.release();
        continue;
      }
      fns[p.name] = p.run;
      releases.push(p.release);
    }
  }
  if (only && only.startsWith('ort')) for (const k of Object.keys(fns)) if (k !== only) delete fns[k];
  return { fns, releases };
}

async function child() {
  const who = arg('child');
  const threads = Number(arg('threads', '2'));
  const blocks = Number(arg('blocks', '6'));
  const c = crossCases()[Number(arg('case'))];
  const inputs = c.make();
  ak.setThreads(threads);
  const { fns, releases } = await contenders(c, inputs, threads, who === 'both' ? null : who);
  const names = Object.keys(fns);
  for (const n of names) for (let i = 0; i < 5; i++) await fns[n](); // warm-up
  // Each block is at least MIN_BLOCK_MS of back-to-back calls (sustained, as a serving loop runs).
  const perBlock = {};
  for (const n of names) {
    const t0 = performance.now();
    await fns[n]();
    perBlock[n] = Math.max(1, Math.ceil(MIN_BLOCK_MS / Math.max(performance.now() - t0, 1e-3)));
  }
  const per = Object.fromEntries(names.map((n) => [n, []]));
  const usage = Object.fromEntries(names.map((n) => [n, { ...zeroUsage(), calls: 0 }]));
  for (let b = 0; b < blocks; b++) {
    for (const n of names) {
      // One process, several contenders: each block starts from a settled machine (a full GC, then
      // SETTLE_MS idle, then WARMUP_CALLS untimed calls), so what the previous contender left running
      // (onnxruntime's spinning intra-op threads, V8's collector) is not charged to the next one.
      // Alone in its process a contender needs none of that: its blocks run back to back.
      if (names.length > 1) {
        await settle(SETTLE_MS);
        for (let i = 0; i < WARMUP_CALLS; i++) await fns[n]();
      }
      const u0 = process.resourceUsage();
      per[n].push(await block(fns[n], perBlock[n]));
      addUsage(usage[n], u0, process.resourceUsage());
      usage[n].calls += perBlock[n];
    }
  }
  for (const r of releases) r();
  // The medians, and beside them (key "usage") each contender's faults and CPU ms per call.
  const result = Object.fromEntries(names.map((n) => [n, median(per[n])]));
  result.usage = Object.fromEntries(names.map((n) => [n, usagePerCall(usage[n], usage[n].calls)]));
  process.stdout.write(JSON.stringify(result));
}

function run(who, index, o) {
  const r = spawnSync(process.execPath, [__filename, '--child', who, '--case', String(index), '--threads', String(o.threads), '--blocks', String(o.blocks)], { encoding: 'utf8', cwd: path.join(__dirname, '..'), env: benchChildEnv() });
  if (r.status !== 0) throw new Error(`${who} child failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

const bestOrt = (m) => Math.min(...Object.entries(m).filter(([k]) => k.startsWith('ort')).map(([, v]) => v));

function main() {
  const o = { threads: Number(arg('threads', '2')), blocks: Number(arg('blocks', '6')) };
  const shapeFilter = arg('shape');
  const opFilter = arg('op') ? arg('op').split(',') : null;
  const cases = crossCases();
  const rows = [];
  cases.forEach((c, index) => {
    if (shapeFilter && !c.shapeText.includes(shapeFilter)) return;
    if (opFilter && !opFilter.includes(c.op)) return;
    // Separate processes: native in one, each onnxruntime graph alone in its own (one session).
    const { usage: nativeUsage, ...n } = run('native', index, o);
    const ortAlone = {};
    const usageAlone = { ...nativeUsage };
    for (const g of ortNames(c, c.make())) {
      const { usage, ...t } = run(g, index, o);
      Object.assign(ortAlone, t);
      Object.assign(usageAlone, usage);
    }
    const sep = { native: [n.native], 'native+out': [n['native+out'] ?? n.native], ort: [bestOrt(ortAlone)], graphs: ortAlone };
    const { usage: usageBoth, ...both } = run('both', index, o);
    both['native+out'] ??= both.native;
    const row = {
      op: c.op,
      shape: c.shapeText,
      threads: o.threads,
      separate: { native: median(sep.native), nativeOut: median(sep['native+out']), ort: median(sep.ort), runs: sep, usage: usageAlone },
      oneProcess: { native: both.native, nativeOut: both['native+out'], ort: bestOrt(both), all: both, usage: usageBoth },
    };
    row.separate.ratio = row.separate.ort / row.separate.native;
    row.separate.ratioOut = row.separate.ort / row.separate.nativeOut;
    row.oneProcess.ratio = row.oneProcess.ort / row.oneProcess.native;
    row.oneProcess.ratioOut = row.oneProcess.ort / row.oneProcess.nativeOut;
    rows.push(row);
    const f = (x) => x.toFixed(3);
    process.stderr.write(`${c.op} ${c.shapeText}: separate processes native ${f(row.separate.native)} (+out ${f(row.separate.nativeOut)}) ms, best ORT ${f(row.separate.ort)} ms: x${row.separate.ratio.toFixed(2)} (+out x${row.separate.ratioOut.toFixed(2)}); one process native ${f(row.oneProcess.native)} (+out ${f(row.oneProcess.nativeOut)}), ORT ${f(row.oneProcess.ort)}: x${row.oneProcess.ratio.toFixed(2)} (+out x${row.oneProcess.ratioOut.toFixed(2)})\n`);
  });
  const out = arg('json');
  if (out) require('fs').writeFileSync(out, JSON.stringify({ threads: o.threads, blockMs: MIN_BLOCK_MS, blocks: o.blocks, rows }, null, 2));
}

if (arg('child')) child().catch((e) => {
  console.error(e);
  process.exit(1);
});
else main();
