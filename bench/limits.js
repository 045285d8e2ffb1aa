'use strict';
// The machine's limits the bench compares rows with, measured by the native addon at the start
// and again at the end of a run: the fp32 FMA peak (ak.measurePeak) and read + write memory
// bandwidth (ak.measureBandwidth) at a DRAM-sized and an L2-sized working set. Each figure is the
// best of all its trials at both ends: a neighbour on a shared machine can only lower a trial,
// never raise it (one run here measured 117 GFLOP/s at 2 threads in all three start trials, the
// 1-thread figure: a core taken for about a second).
//
// Which rows get "% of bandwidth", and at which level (the rule):
//   - memory-bound rows: native rows whose arithmetic intensity (the op descriptor's flops / bytes,
//     src/ops/<op>.ts cost) is below the machine balance at their level (peak GFLOP/s / bandwidth
//     GB/s, same thread count). softmax, layerNorm, gelu and silu are memory-bound by this rule
//     on any machine whose balance is above 1.25 flop/byte (gelu's 10 flops per 8 bytes).
//   - level: L2 when the working set (the descriptor's bytes: inputs read + outputs written) fits
//     in half the L2 of the cores the row runs on (threads x L2 per core / 2, the L2 size read
//     from sysfs; 256 KiB per core assumed where it cannot be read), else DRAM. A working set
//     between that and the last-level cache is held in L3 between calls, so its share of DRAM
//     bandwidth can pass 100%: that is the cache at work, not a measuring error.
//   - % of bandwidth = (descriptor bytes / median time) / the measured bandwidth at that level
//     and thread count. Both count bytes alike: reads plus writes, not the write-allocate read
//     of an output (the microbenchmark is a STREAM triad, 12 bytes per element).
const fs = require('fs');
const ak = require('../dist/cjs/index.js');

/** Working set of the DRAM measurement, per thread: far beyond any last-level cache here. */
const DRAM_BYTES = 256 * 2 ** 20;
/** Working set of the L2 measurement, per thread (three arrays of 85 KiB together). */
const L2_BYTES = 256 * 2 ** 10;

/** L2 size per core in bytes, from sysfs (Linux), or null. */
function l2PerCore() {
  try {
    const dir = '/sys/devices/system/cpu/cpu0/cache';
    for (const idx of fs.readdirSync(dir).filter((d) => d.startsWith('index'))) {
      const read = (f) => fs.readFileSync(`${dir}/${idx}/${f}`, 'utf8').trim();
      if (read('level') !== '2' || read('type') === 'Instruction') continue;
      const m = /^(\d+)([KMG]?)/.exec(read('size'));
      if (!m) continue;
      const shared = read('shared_cpu_list').split(',').reduce((n, part) => {
        const [a, b] = part.split('-').map(Number);
        return n + (b === undefined ? 1 : b - a + 1);
      }, 0);
      return (Number(m[1]) * { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30 }[m[2]]) / Math.max(1, shared);
    }
  } catch {
    // not Linux, or no sysfs
  }
  return null;
}

/**
 * Measure the limits at `when` ('start' | 'end') into `limits` ({ peak, peakTrials, bandwidth,
 * bandwidthTrials }), for 1 thread and `threads`; logs one line per figure. No-op without native.
 */
function measureLimits(limits, when, { threads, quick, log }) {
  const ms = quick ? 100 : 200;
  const fmt = (x) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));
  const counts = [...new Set([1, threads])];
  for (const t of counts) {
    const trials = [0, 1, 2].map(() => ak.measurePeak({ threads: t, ms: quick ? 100 : 300 }).gflops);
    (limits.peakTrials[when] ??= {})[t] = trials;
    limits.peak[t] = Math.max(limits.peak[t] ?? 0, ...trials);
  }
  log(`peak fp32 FMA (${when} of run): ${counts.map((t) => `${fmt(Math.max(...limits.peakTrials[when][t]))} GFLOP/s at ${t} thread(s)`).join(', ')}`);
  for (const [level, bytes] of [['DRAM', DRAM_BYTES], ['L2', L2_BYTES]]) {
    for (const t of counts) {
      let r;
      try {
        r = ak.measureBandwidth({ threads: t, ms, bytes, trials: 3 });
      } catch (e) {
        // e.g. 256 MiB per thread could not be allocated: that level goes unmeasured, the run goes on.
        log(`bandwidth ${level} at ${t} thread(s) not measured: ${String(e && e.message)}`);
        continue;
      }
      ((limits.bandwidthTrials[when] ??= {})[level] ??= {})[t] = r.trials;
      const best = (limits.bandwidth[level] ??= {});
      best[t] = Math.max(best[t] ?? 0, r.gbps);
    }
  }
  const got = limits.bandwidthTrials[when] ?? {};
  log(`bandwidth read+write (${when} of run): ${Object.keys(got).map((l) => `${l} ${Object.entries(got[l]).map(([t, g]) => `${fmt(Math.max(...g))} GB/s at ${t} thread(s)`).join(', ')}`).join('; ') || 'not measured'}`);
}

/** A fresh limits record: the working sets measured and the L2 size the level rule uses. */
function newLimits() {
  const l2 = l2PerCore();
  return {
    peak: {}, peakTrials: {}, bandwidth: {}, bandwidthTrials: {},
    workingSets: { DRAM: DRAM_BYTES, L2: L2_BYTES },
    l2PerCore: l2, l2Assumed: l2 === null,
  };
}

/** The level ('L2' | 'DRAM') a row's working set streams from, by the rule at the top. */
function levelOf(bytes, threads, limits) {
  const l2 = limits.l2PerCore ?? 256 * 2 ** 10;
  return bytes <= (threads * l2) / 2 ? 'L2' : 'DRAM';
}

/**
 * Fill `peakPct` (native rows with GFLOP/s) and, for memory-bound native rows, `bwPct` and
 * `bwLevel` (the rule at the top), `memoryBound: true`.
 */
function annotateRows(rows, limits) {
  for (const r of rows) {
    if (!(r.backend && r.backend.startsWith('native')) || r.median === undefined) continue;
    const peak = limits.peak[r.threads];
    if (r.gflops !== undefined && peak) r.peakPct = (r.gflops / peak) * 100;
    if (!r.bytes || !r.flops || r.scenario) continue;
    const level = levelOf(r.bytes, r.threads, limits);
    const bw = limits.bandwidth[level]?.[r.threads];
    if (!bw || !peak) continue;
    if (r.flops / r.bytes >= peak / bw) continue; // compute-bound at this level
    r.memoryBound = true;
    r.bwLevel = level;
    r.bwPct = (r.bytes / (r.median * 1e6) / bw) * 100;
  }
}

/** One line per level for the table's header: "DRAM 15.8 GB/s (1 thr), ...". */
function bandwidthText(limits, fmt) {
  return Object.entries(limits.bandwidth).map(([level, byT]) => `${level} ${Object.entries(byT).map(([t, g]) => `${fmt(g)} GB/s (${t} thr)`).join(', ')}`).join('; ');
}

const BANDWIDTH_RULE = 'descriptor bytes / time over the measured read+write bandwidth (STREAM triad) at the level the working set fits: L2 when the bytes fit in half the L2 of the threads\' cores, else DRAM (an L3-resident set can pass 100% of DRAM); shown for native rows whose flops/bytes is below the machine balance (peak / bandwidth)';

module.exports = { measureLimits, newLimits, annotateRows, levelOf, bandwidthText, l2PerCore, BANDWIDTH_RULE, DRAM_BYTES, L2_BYTES };
