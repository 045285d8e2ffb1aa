'use strict';
// Issue #17's hstuAttention performance rows in the scenario framework (bench/scenarios.js spreads
// them in), native only:
//
//   (a) hstuAttention forward vs sdpa forward on the same dense-equivalent shape, (1,8,1024,1024,64)
//       causal for both (hstu: one sequence of 1024 events, 8 heads, D = Dv = 64), both into a
//       reused output. Targets: hstu at most sdpa's time (slowdown <= 1: it has no exp and no
//       running max) and at least 60% of the measured FMA peak, counting the useful work only
//       (the visible pairs: ak.OPS.hstuAttention.cost).
//   (b) a jagged batch (the descriptor's bench data: 256 sequences, lognormal lengths with mean 60
//       capped at 1024, seeded) against the same data padded to its longest sequence (every
//       sequence that long, zeros after the events: the padded call does all the padded work).
//       Target: jagged at least 4x faster; the ratio of useful work (padded pairs / jagged pairs)
//       is in the label. Both use normalization 'maxLength' with N = the longest sequence, so the
//       events' outputs are the same in both (check()).
const ak = require('../dist/cjs/index.js');
const { hstuBenchShape, offsetsOf, jaggedRnd } = require('../dist/cjs/ops/hstuAttention.js');

/** Deterministic [shape] tensor (as bench/scenarios.js builds its inputs). */
const rnd = (shape, seed) => ak.random(shape, { seed });

/** (a): hstuAttention vs sdpa on (1,H,L,L,D), causal for both. */
function hstuVsSdpa(quick) {
  const H = 8, D = 64, L = quick ? 256 : 1024;
  const pairs = (L * (L + 1)) / 2;
  return {
    op: 'hstuAttention',
    label: `hstuAttention vs sdpa forward, (1,${H},${L},${L},${D}) causal dense-equivalent (one sequence of ${L}), into out`,
    shape: { B: 1, H, L, S: L, D, causal: true },
    target: { kind: 'slowdown', value: 1 },
    peakTarget: { share: 0.6 },
    baseLabel: 'sdpa causal',
    variantLabel: 'hstuAttention causal',
    baseFlops: ak.OPS.sdpa.cost({ B: 1, H, L, S: L, D, causal: true, window: null }).flops,
    variantFlops: ak.OPS.hstuAttention.cost({ H, D, Dv: D, T: L, pairs }).flops,
    backends: ['native'],
    make(backend) {
      const q = rnd([1, H, L, D], 1), k = rnd([1, H, L, D], 2), v = rnd([1, H, L, D], 3);
      const sdpaOut = new Float32Array(H * L * D);
      // hstu's layout is token-major [T,H,D]: its own inputs of the same sizes and values' kind.
      const offsets = offsetsOf([L]);
      const hq = jaggedRnd(offsets, H, D, 1), hk = jaggedRnd(offsets, H, D, 2), hv = jaggedRnd(offsets, H, D, 3);
      const hstuOut = new Float32Array(L * H * D);
      const sdpa = (d) => ak.sdpa(q, k, v, { causal: true, out: sdpaOut }, d);
      const hstu = (d) => ak.hstuAttention(hq, hk, hv, { out: hstuOut }, d);
      const check = () => {
        let report = null;
        ak.hstuAttention(hq, hk, hv, {}, { backend, verify: true, onReport: (r) => (report = r.verify) });
        return { maxAbs: report.maxAbsError, within: report.passed, what: 'hstuAttention verified against reference' };
      };
      return { base: sdpa, variant: hstu, check };
    },
  };
}

/** (b): the descriptor's long-tailed jagged batch vs the same data padded to its longest sequence. */
function jaggedVsPadded(quick) {
  const s = hstuBenchShape(quick);
  const { B, H, D, lengths } = s;
  const Lmax = Math.max(...lengths);
  const paddedPairs = (B * Lmax * (Lmax + 1)) / 2;
  const cost = (T, pairs) => ak.OPS.hstuAttention.cost({ H, D, Dv: D, T, pairs }).flops;
  const usefulRatio = paddedPairs / s.pairs;
  return {
    op: 'hstuAttention',
    label: `hstuAttention jagged vs padded to the longest: ${B} sequences, lognormal mean 60, max ${quick ? 256 : 1024} (longest ${Lmax}), H=${H} D=${D}; padded does ${usefulRatio.toFixed(1)}x the useful work`,
    shape: { B, H, D, T: s.T, Lmax },
    target: { kind: 'speedup', value: 4 },
    baseLabel: `padded (${B} x ${Lmax})`,
    variantLabel: 'jagged',
    baseFlops: cost(B * Lmax, paddedPairs),
    variantFlops: cost(s.T, s.pairs),
    backends: ['native'],
    timing: quick ? undefined : { rounds: 3, warmupCalls: 1 },
    make() {
      const offsets = offsetsOf(lengths);
      const q = jaggedRnd(offsets, H, D, 1), k = jaggedRnd(offsets, H, D, 2), v = jaggedRnd(offsets, H, D, 3);
      // Padded: every sequence Lmax long, its events first, zeros after.
      const pOffsets = offsetsOf(lengths.map(() => Lmax));
      const pad = (t) => {
        const data = new Float32Array(B * Lmax * H * D);
        for (let b = 0; b < B; b++) data.set(t.values.data.subarray(offsets[b] * H * D, offsets[b + 1] * H * D), b * Lmax * H * D);
        return { values: { data, shape: [B * Lmax, H, D] }, offsets: pOffsets };
      };
      const pq = pad(q), pk = pad(k), pv = pad(v);
      const o = { maxLength: Lmax };
      const out = new Float32Array(s.T * H * D), pOut = new Float32Array(B * Lmax * H * D);
      const jagged = (d) => ak.hstuAttention(q, k, v, { ...o, out }, d);
      const padded = (d) => ak.hstuAttention(pq, pk, pv, { ...o, out: pOut }, d);
      const check = () => {
        // The events' rows of the padded call equal the jagged call's within the native tolerance
        // (the padding comes after every event, so causal rows never see it; same N).
        const d = { backend: 'native' };
        const a = jagged(d).values.data, p = padded(d).values.data;
        const tol = ak.OPS.hstuAttention.tolerances.native;
        let maxAbs = 0, within = true;
        for (let b = 0; b < B; b++)
          for (let e = 0; e < lengths[b] * H * D; e++) {
            const x = a[offsets[b] * H * D + e], y = p[b * Lmax * H * D + e];
            const err = Math.abs(x - y);
            if (!(err <= tol.atol + tol.rtol * Math.abs(y))) within = false;
            if (!(err <= maxAbs)) maxAbs = err;
          }
        return { maxAbs, within, what: "the jagged rows equal the padded call's event rows (native tolerance)" };
      };
      return { base: padded, variant: jagged, check };
    },
  };
}

/** The hstu scenarios for a bench run (quick: smaller shapes of the same kinds). */
function hstuScenarios(quick = false) {
  return [hstuVsSdpa(quick), jaggedVsPadded(quick)];
}

module.exports = { hstuScenarios };
