#!/usr/bin/env node
// Summarises a saved bench run (docs/bench.json from `attnkit bench --save-json`) as the Markdown
// tables in the README: the sdpa targets against onnxruntime, and one row per op and backend.
// With --peers: the peer table instead (every op against its onnxruntime graphs, same run, 2
// threads, with the issue #19 targets the run judged). With --crosscheck=a.json,b.json: the
// bench's ratios beside the outside check's (bench/crosscheck.js), and whether they agree.
'use strict';
const fs = require('fs');
const argv = process.argv.slice(2);
const peersOnly = argv.includes('--peers');
const res = JSON.parse(fs.readFileSync(argv.find((a) => !a.startsWith('--')) || 'docs/bench.json', 'utf8'));
const num = (x) => (typeof x === 'string' ? Number(x) : x);
const { noWorse } = require('../bench/run-bench.js');
const f = (x, d = 3) => (x === undefined || x === null || Number.isNaN(num(x)) ? '-' : Number(num(x).toPrecision(d)).toString());
const rows = res.rows;
// The sdpa targets' rows: op sdpa only (sdpaBackward's bench shapes can print the same way).
const find = (shape, backend, threads) => rows.find((r) => r.op === 'sdpa' && r.shape === shape && r.backend === backend && (threads === undefined || r.threads === threads) && r.median !== undefined);
const bestOrt = (shape, threads) => rows.filter((r) => r.op === 'sdpa' && r.shape === shape && r.backend.startsWith('ort') && r.threads === threads && r.median !== undefined).sort((a, b) => a.median - b.median)[0];

const targets = [
  ['(1,8,512,512,64)', 2, '≥ 1.3x ORT, ≥ 70% of peak', 1.3, 70],
  ['(4,8,256,256,64)', 2, '≥ 1.3x ORT, ≥ 70% of peak', 1.3, 70],
  ['(1,12,1024,1024,64)', 2, '≥ 1.3x ORT, ≥ 70% of peak', 1.3, 70],
  ['(1,8,512,512,64) causal', 2, '≥ 3x ORT', 3, 0],
  ['(1,32,1,4096,128) decode', 2, '≥ 1.3x ORT', 1.3, 0],
  ['(1,8,128,128,64) small', 2, '≥ 1.5x ORT', 1.5, 0],
  ['(256,1,1,50,32) DIN-sized', 2, '≥ 1.5x ORT', 1.5, 0],
  ['(1,8,512,512,64)', 1, '1 thread: ≥ 1.2x ORT', 1.2, 0],
  ['(4,8,256,256,64)', 1, '1 thread: ≥ 1.2x ORT', 1.2, 0],
  ['(1,12,1024,1024,64)', 1, '1 thread: ≥ 1.2x ORT', 1.2, 0],
];
if (peersOnly) {
  process.stdout.write(`${peerTable().join('\n')}\n`);
  process.exit(0);
}
const crossArg = argv.find((a) => a.startsWith('--crosscheck='));
if (crossArg) {
  process.stdout.write(`${crossTable(crossArg.slice('--crosscheck='.length).split(',')).join('\n')}\n`);
  process.exit(0);
}

/**
 * --crosscheck=a.json,b.json: the bench's ratios beside the outside check's (bench/crosscheck.js
 * runs, same sitting). Per op and shape at 2 threads: best ORT time / attnkit time, new output
 * per call and into a reused output, from the bench run and from each check run by both of its
 * methods (separate processes; one process). The bench agrees when the band of its own rounds
 * meets the outside band: both methods' noise counts, not the outside method's alone.
 *   - the bench's band: its ratio (into `out`; new output where the op has no `out`) in each of
 *     its interleaved rounds (the fastest ORT graph's round median in that round / attnkit's round
 *     median, same round), min to max. Per round the fastest graph, not the graph with the best
 *     overall median: the band is then no wider than the best graph's own (a stricter test);
 *     a contender without rounds (a slow peer, timed apart) leaves the single figure;
 *   - the outside band: the outside ratios widened by their own noise, [min / (1 + n),
 *     max · (1 + n)], n = the largest change of one method's ratio between two check runs (how
 *     far the outside method moves by itself); with one check run, n = the gap between its two
 *     methods.
 */
function crossTable(files) {
  const checks = files.map((f) => JSON.parse(fs.readFileSync(f, 'utf8')));
  const T = 2;
  const lines = [
    `| op | shape | bench ×ORT: new / out | ${checks.map((_, i) => `check ${i + 1}: separate processes | check ${i + 1}: one process`).join(' | ')} | noise n | agree? |`,
    `|---|---|---|${checks.map(() => '---|---').join('|')}|---|---|`,
  ];
  const best = (xs) => xs.reduce((a, b) => (a.median <= b.median ? a : b));
  const shapes = [];
  for (const c of checks) for (const r of c.rows) if (!shapes.some((x) => x.op === (r.op ?? 'sdpa') && x.shape === r.shape)) shapes.push({ op: r.op ?? 'sdpa', shape: r.shape });
  for (const { op, shape } of shapes) {
    const nat = rows.filter((x) => x.op === op && x.shape === shape && !x.peer && x.backend === 'native' && x.threads === T && x.median !== undefined);
    const natOut = rows.filter((x) => x.op === op && x.shape === shape && !x.peer && x.backend === 'native+out' && x.threads === T && x.median !== undefined);
    const ort = rows.filter((x) => x.op === op && x.shape === shape && x.peer && x.backend.startsWith('ort') && x.threads === T && x.median !== undefined);
    const hasOut = natOut.length > 0;
    const bench = nat.length && ort.length ? { r: best(ort).median / nat[0].median, ro: hasOut ? best(ort).median / natOut[0].median : null } : null;
    // The bench's ratio round by round (its contenders are timed in the same rounds).
    const mine = hasOut ? natOut[0] : nat[0];
    const rounds = bench && mine.roundMedians && ort.every((x) => x.roundMedians?.length === mine.roundMedians.length) ? mine.roundMedians.map((m, i) => Math.min(...ort.map((x) => x.roundMedians[i])) / m) : [];
    const bLo = rounds.length ? Math.min(...rounds) : null;
    const bHi = rounds.length ? Math.max(...rounds) : null;
    const per = checks.map((c) => c.rows.find((r) => (r.op ?? 'sdpa') === op && r.shape === shape) ?? null);
    const pick = (m) => (hasOut ? m.ratioOut : m.ratio);
    const sep = per.filter(Boolean).map((r) => pick(r.separate));
    const one = per.filter(Boolean).map((r) => pick(r.oneProcess));
    const moved = (xs) => (xs.length > 1 ? Math.max(...xs) / Math.min(...xs) - 1 : 0);
    const n = per.filter(Boolean).length > 1 ? Math.max(moved(sep), moved(one)) : Math.abs(sep[0] / one[0] - 1);
    const all = [...sep, ...one];
    const lo = Math.min(...all) / (1 + n), hi = Math.max(...all) * (1 + n);
    const b = bench ? (hasOut ? bench.ro : bench.r) : null;
    const pair = (m) => `${m.ratio.toFixed(2)} / ${hasOut ? m.ratioOut.toFixed(2) : '-'}`;
    const cells = per.map((r) => (r ? `${pair(r.separate)} | ${pair(r.oneProcess)}` : '- | -'));
    const meets = b !== null && (bLo === null ? b >= lo && b <= hi : bHi >= lo && bLo <= hi);
    const agree = b === null ? 'not timed' : `${meets ? 'yes' : '**no**'} (${bLo === null ? `bench ${b.toFixed(2)}` : `bench rounds ${bLo.toFixed(2)}-${bHi.toFixed(2)}`}; outside ${lo.toFixed(2)}-${hi.toFixed(2)})`;
    lines.push(`| ${op} | ${shape} | ${bench ? `${bench.r.toFixed(2)} / ${bench.ro === null ? '-' : bench.ro.toFixed(2)}` : '-'} | ${cells.join(' | ')} | ${(n * 100).toFixed(0)}% | ${agree} |`);
  }
  return lines;
}

/**
 * One row per op and bench shape at 2 threads: attnkit's fastest native row (new output or into
 * options.out), the fastest onnxruntime row (any graph, either output mode), the ratio, both max
 * abs / rel errors against the float64 reference, tfjs-wasm's time, and the target the run judged.
 */
function peerTable() {
  const T = 2;
  const lines = ['| op | shape | attnkit ms (row) | best ORT ms (row) | ×ORT | attnkit / ORT max abs err | attnkit / ORT max rel err | tfjs-wasm ms | target | met? |', '|---|---|---|---|---|---|---|---|---|---|'];
  const seen = new Set();
  const best = (xs) => xs.reduce((a, b) => (a.median <= b.median ? a : b));
  for (const r of rows) {
    const key = `${r.op}|${r.shape}`;
    if (seen.has(key) || r.peer || r.scenario) continue;
    seen.add(key);
    const nat = rows.filter((x) => x.op === r.op && x.shape === r.shape && !x.peer && x.backend.startsWith('native') && x.threads === T && x.median !== undefined);
    const ort = rows.filter((x) => x.op === r.op && x.shape === r.shape && x.peer && x.backend.startsWith('ort') && x.threads === T && x.median !== undefined);
    if (!nat.length) continue;
    const n = best(nat);
    const o = ort.length ? best(ort) : null;
    const tw = rows.find((x) => x.op === r.op && x.shape === r.shape && x.backend === 'tfjs-wasm' && x.median !== undefined);
    const t = (res.targets ?? []).find((x) => x.op === r.op && x.shape === r.shape && x.threads === T);
    const target = t ? `≥ ${t.target}x` : '-';
    const met = !t ? '-' : t.met === null ? 'not measured' : t.met ? 'yes' : '**no**';
    lines.push(`| ${r.op} | ${r.shape} | ${f(n.median)} (${n.backend}) | ${o ? `${f(o.median)} (${o.backend})` : '-'} | ${o ? (o.median / n.median).toFixed(2) : '-'} | ${f(n.maxAbs, 2)} / ${o ? f(o.maxAbs, 2) : '-'} | ${f(n.maxRel, 2)} / ${o ? f(o.maxRel, 2) : '-'} | ${tw ? f(tw.median) : '-'} | ${target} | ${met} |`);
  }
  return lines;
}

const out = [];
// Both ways of calling each library: a new output array per call, and into a reused buffer
// (attnkit options.out, ORT pre-allocated fetches). ×ORT divides the fastest ORT row of either
// mode by the native row; a target counts as met on the native+out row (each library's fastest
// call; the ratio for the allocating call is shown beside it).
out.push('| sdpa (B,H,L,S,D) | threads | native ms: new output / into out | GFLOP/s (into out) | % of peak | best ORT ms (row) | ×ORT: new output / into out | native / ORT max abs err | target | met? |');
out.push('|---|---|---|---|---|---|---|---|---|---|');
for (const [shape, t, text, ratio, peak] of targets) {
  const a = find(shape, 'native', t);
  const n = find(shape, 'native+out', t);
  const o = bestOrt(shape, t);
  if (!n || !o || !a) {
    out.push(`| ${shape} | ${t} | ${a ? f(a.median) : '-'} / ${n ? f(n.median) : '-'} | | | ${o ? f(o.median) : '-'} | | | ${text} | not measured |`);
    continue;
  }
  const r = o.median / n.median;
  const ra = o.median / a.median;
  const met = r >= ratio && (!peak || num(n.peakPct) >= peak) && noWorse(num(n.maxAbs), num(o.maxAbs));
  out.push(`| ${shape} | ${t} | ${f(a.median)} / ${f(n.median)} | ${f(n.gflops)} | ${n.peakPct !== undefined ? `${Math.round(num(n.peakPct))}%` : '-'} | ${f(o.median)} (${o.backend}) | ${ra.toFixed(2)} / ${r.toFixed(2)} | ${f(n.maxAbs, 2)} / ${f(o.maxAbs, 2)} | ${text}, error ≤ ORT's | ${met ? 'yes' : 'no'} |`);
}
out.push('');
// A software gpu is timed at the small (--quick) shapes only: its column then names the shape.
const gpuSmall = (op) => rows.find((x) => x.op === op && x.backend === 'gpu (software, small)' && x.median !== undefined && !x.scenario);
out.push('| op | shape | reference ms | native ms (2 thr) | native GFLOP/s (% peak) | gpu ms (llvmpipe) | tfjs-wasm ms | tfjs-cpu ms |');
out.push('|---|---|---|---|---|---|---|---|');
const seen = new Set();
for (const r of rows) {
  const key = `${r.op}|${r.shape}`;
  if (seen.has(key) || r.peer || r.scenario || r.backend === 'gpu (software, small)') continue;
  seen.add(key);
  const g = (b) => rows.find((x) => x.op === r.op && x.shape === r.shape && x.backend === b && (b !== 'native' || x.threads === 2 || x.threads == null));
  const ref = g('reference'), nat = g('native'), tw = g('tfjs-wasm'), tc = g('tfjs-cpu');
  const ms = (x) => (x && x.median !== undefined ? f(x.median) : x && x.note ? (x.note.startsWith('skipped') ? 'skipped' : x.note) : '-');
  const gfull = g('gpu');
  const gs = gfull ? null : gpuSmall(r.op);
  const gpuCell = gfull ? ms(gfull) : gs && !seen.has(`gpu|${r.op}`) ? (seen.add(`gpu|${r.op}`), `${f(gs.median)} at ${gs.shape}`) : '-';
  if (!nat && !tw && !tc && gpuCell === '-') continue; // a scenario's skipped reference row: the scenario tables have it
  out.push(`| ${r.op} | ${r.shape} | ${ms(ref)} | ${ms(nat)} | ${nat && nat.gflops ? `${f(nat.gflops)} (${nat.peakPct !== undefined ? Math.round(num(nat.peakPct)) : '-'}%)` : '-'} | ${gpuCell} | ${ms(tw)} | ${ms(tc)} |`);
}
process.stdout.write(`${out.join('\n')}\n`);
