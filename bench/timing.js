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
        const median = quantile(s, 0.5);
        const p25 = quantile(s, 0.25);
        const p75 = quantile(s, 0.75);
        resolve({ median, p25, p75, spreadPct: median > 0 ? ((p75 - p25) / median) * 100 : 0, samples: s.length, calls: bench.count * s.length });
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

module.exports = { time, quantile };
