'use strict';
// Timing with benchmark.js: median and spread (inter-quartile range) of the per-call time.
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

/**
 * Time several contenders interleaved: `rounds` rounds, each timing every contender once with
 * benchmark.js for maxTime/rounds seconds, the starting contender rotating from round to round.
 * A slow spell on a shared machine then hits every contender rather than whichever was being
 * timed when it came. Each contender: { fn, isAsync?, before?() } (before runs ahead of each of
 * its rounds, e.g. to set a thread count). Returns per contender the median of its round medians,
 * p25/p75 and spread of all its samples pooled, and the round medians themselves.
 *
 * Each round starts from a settled machine: a full garbage collection, then `settleMs` of idle
 * time. Whatever the previous contender left running belongs to it, not to the one timed next:
 * a thread pool keeps spinning for a while after its last call (onnxruntime's did for up to
 * ~50 ms here: 2-thread native sdpa (1,8,128,128,64) took 0.42 ms in the first 50 ms after an ORT
 * round and 0.19 ms after that, on 2 cores), and the garbage of a contender that allocates a new
 * output per call keeps V8's collector threads busy (4 threads at 6-10% of a core each during a
 * 2-thread sdpa duel here).
 */
async function timeInterleaved(contenders, { rounds = 5, maxTime = 1, minSamples = 5, settleMs = 150 } = {}) {
  const per = contenders.map(() => ({ medians: [], samples: [], calls: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      const j = (i + r) % contenders.length;
      const c = contenders[j];
      if (c.before) c.before();
      await settle(settleMs);
      const t = await time(c.fn, { maxTime: maxTime / rounds, minSamples, isAsync: !!c.isAsync });
      per[j].medians.push(t.median);
      per[j].samples.push(...t.sampleMs);
      per[j].calls += t.calls;
    }
  }
  return per.map((p) => {
    const s = [...p.samples].sort((a, b) => a - b);
    const median = quantile([...p.medians].sort((a, b) => a - b), 0.5);
    return { ...spread(s, median), calls: p.calls, roundMedians: p.medians };
  });
}

module.exports = { time, timeInterleaved, quantile, settle };
