'use strict';
// Issue #17's jagged sdpa row in the scenario framework (bench/scenarios.js spreads it in):
//
//   a batch of 256 user histories, lengths lognormal (parameters: mean 60, sigma 1.5; clamped to
//   1..1024, seed 2: realized mean 63.3, longest 1024), H=8, D=64, causal self-attention: sdpa on the jagged batch against the padded +
//   keyLengths path of the same data (padded to the longest history, 'blhd', causal 'top-left',
//   which is each sequence's own bottom-right alignment for self-attention). Target: jagged at
//   least 4x faster. The label states the useful-work ratio beside it: the causal (query, key)
//   pairs of the sequences, Σ n(n+1)/2, over those of the padded batch, B·max(max+1)/2.
//
// Both calls write into a reused output (options.out); the padding and the jagged inputs are
// built once, outside the timed calls.
const ak = require('../dist/cjs/index.js');

/** xorshift32 in [0, 1), seeded. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 4294967296;
  };
}

/** B lengths, lognormal with the given mean and sigma, clamped to [1, max] (Box-Muller, seeded). */
function lognormalLengths(B, mean, sigma, max, seed) {
  const R = rng(seed);
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Array.from({ length: B }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - R())) * Math.cos(2 * Math.PI * R());
    return Math.max(1, Math.min(max, Math.round(Math.exp(mu + sigma * z))));
  });
}

/** A jagged [ΣL, H, D] tensor of uniform values in ±1 (seeded). */
function jaggedRandom(lengths, H, D, seed) {
  const offsets = ak.offsetsFromLengths(lengths);
  const t = ak.random([offsets[lengths.length], H, D], { seed });
  return ak.jagged(t, offsets);
}

/** The jagged causal self-attention row (quick: a smaller batch of the same kind). */
function jaggedSdpaScenario(quick = false) {
  const B = quick ? 32 : 256, H = quick ? 2 : 8, D = quick ? 16 : 64, max = quick ? 256 : 1024;
  const lengths = lognormalLengths(B, 60, 1.5, max, 2);
  const longest = Math.max(...lengths);
  const total = lengths.reduce((a, b) => a + b, 0);
  const pairs = (n) => (n * (n + 1)) / 2;
  const useful = lengths.reduce((a, n) => a + pairs(n), 0) / (B * pairs(longest));
  const cost = (n) => ak.OPS.sdpa.cost({ B: 1, H, L: n, S: n, D, causal: true, window: null }).flops;
  return {
    op: 'sdpa',
    label: `sdpa jagged causal self-attention, B=${B} lognormal lengths (mean ${(total / B).toFixed(1)}, max ${longest}), H=${H}, D=${D}; useful work ${(useful * 100).toFixed(1)}% of the padded batch`,
    shape: { B, H, L: longest, S: longest, D, causal: true },
    target: { kind: 'speedup', value: 4 },
    baseLabel: `padded to ${longest} + keyLengths`,
    variantLabel: 'jagged',
    baseFlops: ak.OPS.sdpa.cost({ B, H, L: longest, S: longest, D, causal: true, window: null }).flops,
    variantFlops: lengths.reduce((a, n) => a + cost(n), 0),
    make(backend) {
      const q = jaggedRandom(lengths, H, D, 1), k = jaggedRandom(lengths, H, D, 2), v = jaggedRandom(lengths, H, D, 3);
      const pq = ak.toPadded(q), pk = ak.toPadded(k), pv = ak.toPadded(v);
      const padOpts = { layout: 'blhd', causal: 'top-left', keyLengths: pk.lengths, out: new Float32Array(B * longest * H * D) };
      const jagOpts = { causal: true, out: new Float32Array(total * H * D) };
      const padded = (d) => ak.sdpa(pq.padded, pk.padded, pv.padded, padOpts, d);
      const jaggedCall = (d) => ak.sdpa(q, k, v, jagOpts, d);
      const check = () => {
        // The jagged output against the padded path's valid rows, and both verified against
        // reference on sampled rows by the dispatcher.
        let within = true;
        let maxAbs = 0;
        const reports = [];
        const d = { verify: { rows: 64 }, onReport: (r) => reports.push(r) };
        const a = ak.sdpa(q, k, v, { causal: true }, { ...d, backend });
        const b = ak.sdpa(pq.padded, pk.padded, pv.padded, { layout: 'blhd', causal: 'top-left', keyLengths: pk.lengths }, { ...d, backend });
        const rowSize = H * D;
        for (let s = 0; s < B; s++)
          for (let i = 0; i < lengths[s]; i++) {
            const t = q.offsets[s] + i;
            for (let e = 0; e < rowSize; e++) {
              const x = a.values.data[t * rowSize + e], y = b.data[(s * longest + i) * rowSize + e];
              const diff = Math.abs(x - y);
              if (!(diff <= 1e-5 + 1e-4 * Math.abs(y))) within = false;
              if (diff > maxAbs || Number.isNaN(diff)) maxAbs = Number.isNaN(diff) ? NaN : diff;
            }
          }
        for (const r of reports) if (!(r.verify && r.verify.passed)) within = false;
        return { maxAbs, within, what: 'equal to the padded path on every valid row (|diff| <= 1e-5 + 1e-4|x|), both verified against reference on 64 sampled rows' };
      };
      return { base: padded, variant: jaggedCall, check };
    },
  };
}

module.exports = { jaggedSdpaScenario, lognormalLengths };
