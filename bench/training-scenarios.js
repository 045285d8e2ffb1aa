'use strict';
// Issue #15's training rows in the scenario framework (bench/scenarios.js spreads them in):
//
//   sdpa backward vs forward, native, the bench's thread count: base = the forward with returnLse
//   into a reused output (the backward needs lse), variant = sdpaBackward from that forward's out
//   and lse. Two targets: the backward at most 2.5x the forward's time (FlashAttention's flop
//   ratio: 5 matmuls per visible (query, key) pair against 2, ak.OPS.sdpaBackward.cost over
//   ak.OPS.sdpa.cost) and at least 60% of the measured FMA peak (peakTarget, judged by
//   bench/run-bench.js once the peak is measured at both ends of the run).
//
// The backward's extra memory (bench/sdpa-backward-memory.js) is measured by run-bench.js in
// child processes, not here: a scenario times two calls, the memory row reads a high-water mark.
const ak = require('../dist/cjs/index.js');

/** Deterministic [shape] tensor scaled by s (as bench/scenarios.js builds its inputs). */
function rnd(shape, seed, s = 1) {
  const t = ak.random(shape, { seed });
  for (let i = 0; i < t.data.length; i++) t.data[i] *= s;
  return t;
}

/**
 * sdpaBackward against the forward it differentiates, on one (B,H,L,L,D) shape. check(): the
 * backward verified against reference on 64 sampled query rows of dq (dk and dv whole: every
 * sample holds row 0, where they sit; see sdpaBackward's output layout).
 */
function sdpaBackwardPair({ B, H, L, D, causal }) {
  const S = L;
  const o = causal ? { causal: true } : {};
  const shapeText = `(${B},${H},${L},${S},${D})${causal ? ' causal' : ''}`;
  return {
    op: 'sdpaBackward',
    label: `sdpaBackward ${shapeText} vs its forward (returnLse, into out)`,
    shape: { B, H, L, S, D, causal: !!causal },
    target: { kind: 'slowdown', value: 2.5 },
    peakTarget: { share: 0.6 },
    baseLabel: 'sdpa forward with returnLse',
    variantLabel: 'sdpaBackward',
    baseFlops: ak.OPS.sdpa.cost({ B, H, L, S, D, causal: !!causal, window: null }).flops,
    variantFlops: ak.OPS.sdpaBackward.cost({ B, H, L, S, D, causal: !!causal }).flops,
    backends: ['native'],
    make(backend) {
      const q = rnd([B, H, L, D], 1), k = rnd([B, H, S, D], 2), v = rnd([B, H, S, D], 3);
      const dOut = rnd([B, H, L, D], 4);
      // The forward writes into one reused output, as sdpaPair's rows do: the backward's outputs
      // are new per call (sdpaBackward has no options.out), which the ratio then includes.
      const out = new Float32Array(B * H * L * D);
      const forward = (d) => ak.sdpa(q, k, v, { ...o, returnLse: true, out }, d);
      // The backward's out and lse: one native forward, kept apart from the timed forward's buffer.
      const fwd = ak.sdpa(q, k, v, { ...o, returnLse: true }, { backend });
      const backward = (d) => ak.sdpaBackward(dOut, q, k, v, fwd.output, fwd.lse, o, d);
      const check = () => {
        let report = null;
        ak.sdpaBackward(dOut, q, k, v, fwd.output, fwd.lse, o, { backend, verify: { rows: 64 }, onReport: (r) => (report = r) });
        return { maxAbs: report.verify.maxAbsError, within: report.verify.passed, what: 'verify against reference on 64 sampled rows (dq rows; dk, dv whole)' };
      };
      return { base: forward, variant: backward, check };
    },
  };
}

/** The training scenarios for a bench run (quick: smaller shapes of the same kinds). */
function trainingScenarios(quick = false) {
  const shapes = quick
    ? [{ B: 1, H: 8, L: 128, D: 64 }, { B: 2, H: 8, L: 64, D: 64 }, { B: 1, H: 12, L: 128, D: 64 }, { B: 1, H: 8, L: 128, D: 64, causal: true }]
    : [{ B: 1, H: 8, L: 512, D: 64 }, { B: 4, H: 8, L: 256, D: 64 }, { B: 1, H: 12, L: 1024, D: 64 }, { B: 1, H: 8, L: 512, D: 64, causal: true }];
  return shapes.map(sdpaBackwardPair);
}

module.exports = { trainingScenarios, sdpaBackwardPair };
