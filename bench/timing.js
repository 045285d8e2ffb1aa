'use strict';
// Timing: benchmark.js for a single row (time), plain interleaved blocks for duels (timeInterleaved);
// median and spread (inter-quartile range) of the per-call time.
const Benchmark = require('benchmark');

function quantile(sorted, q) {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** median, p25/p75 of the sorted samples `s`, spread (IQR / median, %) and the sample count. */
function spread(s, median) {
  const p25 = quantile(s, 0.25);
  const p75 = quantile(s, 0.75);
  return { median, p25, p75, spreadPct: median > 0 ? ((p75 - p25) / median) * 100 : 0, samples: s.length };
}

/**
 * Time `fn` (sync, or async when `isAsync`) with benchmark.js. Returns milliseconds:
 * { median, p25, p75, spreadPct (IQR / median), samples, calls }.
 */
function time(fn, { maxTime = 1, minSamples = 5, isAsync = false } = {}) {
  return new Promise((resolve, reject) => {
    const options = {
      maxTime,
      minSamples,
      initCount: 1,
      onComplete() {
        if (bench.error) return reject(bench.error);
        const s = bench.stats.sample.map((x) => x * 1000).sort((a, b) => a - b);
        resolve({ ...spread(s, quantile(s, 0.5)), calls: bench.count * s.length, sampleMs: s });
      },
      onError(e) {
        reject(e.target?.error ?? e);
      },
    };
    let bench;
    if (isAsync) {
      bench = new Benchmark({ ...options, defer: true, fn: (deferred) => { fn().then(() => deferred.resolve(), (e) => { bench.error = e; deferred.resolve(); }); } });
    } else {
      bench = new Benchmark({ ...options, fn });
    }
    bench.run({ async: false });
  });
}

let collect;
/** V8's full garbage collection without --expose-gc (the flag can be set at run time). */
function fullGc() {
  if (collect === undefined) {
    try {
      require('v8').setFlagsFromString('--expose_gc');
      collect = require('vm').runInNewContext('gc');
    } catch {
      collect = null;
    }
  }
  if (collect) collect();
}

/** Collect garbage, then idle for `ms` (timers only: background threads get the cores). */
async function settle(ms) {
  fullGc();
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Untimed calls after the idle time, before a contender's timed calls (see timeInterleaved). */
const WARMUP_CALLS = 3;
/** The shortest timed block, ms: a sample is the mean call time of one block. */
const MIN_BLOCK_MS = 50;

/**
 * Time several contenders interleaved, with plain back-to-back calls (an outsider's method:
 * `performance.now()` around a block of calls, each awaited when async): `rounds` rounds, each
 * timing every contender once for maxTime/rounds seconds, the starting contender rotating from
 * round to round, so a slow spell on a shared machine hits every contender rather than whichever
 * was being timed. A contender's round is a run of blocks of at least MIN_BLOCK_MS (and one call);
 * each block's mean call time is one sample. Each contender: { fn, isAsync?, before?() } (before
 * runs ahead of each of its rounds, e.g. to set a thread count). Returns per contender the median
 * of its round medians, p25/p75 and spread of all its samples pooled, and the round medians.
 *
 * Each timed round starts from a settled machine (a warm-up round, which records nothing, gets no
 * settle and needs one block): a full garbage collection, then `settleMs` of idle
 * time, then WARMUP_CALLS untimed calls (`warmupCalls`: fewer for calls of a second, whose
 * first call already wakes the pool). Whatever the previous contender left running belongs to
 * it, not to the one timed next: a thread pool keeps spinning for a while after its last call
 * (onnxruntime's did for up to ~50 ms here: 2-thread native sdpa (1,8,128,128,64) took 0.42 ms in
 * the first 50 ms after an ORT round and 0.19 ms after that, on 2 cores; two ORT sessions' pools
 * spin against each other the same way), and the garbage of a contender that allocates a new
 * output per call keeps V8's collector threads busy. The warm-up calls wake the contender's own
 * pool threads (asleep after the idle time) before its clock starts.
 *
 * Not benchmark.js here (it still times the single-backend rows, bench/budget.js): its cycles
 * (a setTimeout between cycles, deferred resolution for async calls) measured onnxruntime's
 * memory-heavy sdpa graphs 20-50% slower than plain back-to-back calls of the same sessions, so
 * the duels' ratios did not survive an outside check with plain loops (README, "The sdpa ratios
 * checked from outside"; bench/crosscheck.js). This method is the outside check's own.
 */
async function timeInterleaved(contenders, { rounds = 5, maxTime = 1, minSamples = 5, settleMs = 150, warmupCalls = WARMUP_CALLS, warmupRounds = 0, warmupRoundMs } = {}) {
  const per = contenders.map(() => ({ medians: [], samples: [], calls: 0, usage: zeroUsage() }));
  // The live JS heap the contenders ran beside (V8's major GC, which new outputs trigger, costs
  // in proportion to it: bench/duel.js).
  const heapUsedMB = process.memoryUsage().heapUsed / 2 ** 20;
  const budgetMs = (maxTime / rounds) * 1e3;
  // `warmupRounds` whole rounds first, run like the others and not recorded: the first round of
  // a contender read slowest (a fresh onnxruntime session's in 6 of 6 quiet processes here, by up
  // to 2x at 0.2 ms calls; native's first round too, by less), whatever the warm-up calls before it.
  for (let r = -warmupRounds; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const j = (((i + r) % contenders.length) + contenders.length) % contenders.length;
      const c = contenders[j];
      if (c.before) c.before();
      // A warm-up round (r < 0) records nothing, so it needs no idle time before it, and
      // `warmupRoundMs` (ms) may shorten it: it only has to run the contender's first calls.
      if (r >= 0) await settle(settleMs);
      // Up to warmupCalls untimed calls, no more than ~MIN_BLOCK_MS of them (one at least): a call
      // of 0.1-0.4 s is warm after one.
      const w0 = performance.now();
      for (let w = 0; w < warmupCalls && (w === 0 || performance.now() - w0 < MIN_BLOCK_MS); w++) await c.fn();
      const samples = [];
      const u0 = process.resourceUsage();
      const t0 = performance.now();
      let calls = 0;
      // At least minSamples blocks, and blocks until the round's time is spent.
      const roundMs = r < 0 && warmupRoundMs !== undefined ? warmupRoundMs : budgetMs;
      while (samples.length < (r < 0 ? 1 : minSamples) || performance.now() - t0 < roundMs) {
        const b0 = performance.now();
        let n = 0;
        do {
          if (c.isAsync) await c.fn();
          else c.fn();
          n++;
        } while (performance.now() - b0 < MIN_BLOCK_MS);
        samples.push((performance.now() - b0) / n);
        calls += n;
      }
      if (r < 0) continue; // a warm-up round
      addUsage(per[j].usage, u0, process.resourceUsage());
      samples.sort((a, b) => a - b);
      per[j].medians.push(quantile(samples, 0.5));
      per[j].samples.push(...samples);
      per[j].calls += calls;
    }
  }
  return per.map((p) => {
    const s = [...p.samples].sort((a, b) => a - b);
    const median = quantile([...p.medians].sort((a, b) => a - b), 0.5);
    return { ...spread(s, median), calls: p.calls, roundMedians: p.medians, ...usagePerCall(p.usage, p.calls), heapUsedMB };
  });
}

// What a contender's timed calls cost the process besides wall time (getrusage: the whole
// process, every thread): minor page faults and CPU time. A call that takes fresh pages from the
// kernel for its buffers pays a fault per 4 KiB page, so a contender's time can depend on the
// allocator's state (glibc's dynamic mmap threshold), which differs between processes; these
// figures show it beside the time (issue #19 item 2).
const zeroUsage = () => ({ faults: 0, userUs: 0, sysUs: 0 });
function addUsage(acc, u0, u1) {
  acc.faults += u1.minorPageFault - u0.minorPageFault;
  acc.userUs += u1.userCPUTime - u0.userCPUTime;
  acc.sysUs += u1.systemCPUTime - u0.systemCPUTime;
}
/** Per call: minor page faults, user and system CPU ms (all threads of the process). */
function usagePerCall(u, calls) {
  if (!calls) return {};
  return { faultsPerCall: u.faults / calls, userMsPerCall: u.userUs / 1e3 / calls, sysMsPerCall: u.sysUs / 1e3 / calls };
}

/**
 * The environment of the bench's timing children (bench/duel.js, bench/crosscheck.js): this
 * process's, plus glibc's malloc thresholds fixed (GLIBC_TUNABLES, Linux/glibc; ignored
 * elsewhere), unless GLIBC_TUNABLES is already set or ATTNKIT_BENCH_MALLOC=default. Why: glibc
 * serves a block above its mmap threshold with fresh pages from the kernel (a fault per 4 KiB) and
 * raises that threshold, per process, each time such a block is freed. So a call that allocates
 * big buffers costs what the process's history left behind: onnxruntime's AdamW graph (100000x64)
 * took 33-54 ms a call in fresh processes here with 1,000-8,800 faults a call, and 33-37 ms with
 * the thresholds fixed (0-360 faults). Fixed at 32 MiB (glibc's ceiling for the dynamic
 * threshold) with trimming at 1 GiB, every child of both methods starts alike and no
 * contender's buffers below 32 MiB fault after its first calls. It helps whoever allocates per call
 * (onnxruntime's graphs more than native), so it lowers attnkit's ratios rather than raising them.
 */
function benchChildEnv() {
  const env = { ...process.env };
  if (process.platform === 'linux' && env.GLIBC_TUNABLES === undefined && env.ATTNKIT_BENCH_MALLOC !== 'default') {
    env.GLIBC_TUNABLES = BENCH_GLIBC_TUNABLES;
  }
  return env;
}
const BENCH_GLIBC_TUNABLES = 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824';

module.exports = { time, timeInterleaved, quantile, settle, zeroUsage, addUsage, usagePerCall, benchChildEnv, BENCH_GLIBC_TUNABLES };
