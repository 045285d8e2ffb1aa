// hstuAttentionBackward's gradient cases (see index.mjs): the forward is the independent float64
// HSTU oracle (oracleHstuAttention of ../hstuOracle.mjs, generative-recommenders' semantics) over
// q, k, v and the bias tables; the independent backward oracle is oracleHstuAttentionBackward.
// The adversarial set of the forward's checks: lengths 0 and 1, one long sequence among short
// ones, D != Dv, H = 1 and 3, targets (0 and n_b), contextual prefixes, maxAttnLen, non-causal,
// both normalizations, shared and per-head position and time biases (their gradients checked too),
// timestamps that repeat and go backwards, logits of size ~80. (NaN / Inf inputs have no finite
// differences: the no-leak property of the backward is checked by ../hstuAttention.mjs.)
import * as ak from 'attnkit';
import { oracleHstuAttention, oracleHstuAttentionBackward } from '../hstuOracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

const offsetsOf = (lengths) => {
  const o = new Int32Array(lengths.length + 1);
  lengths.forEach((n, b) => (o[b + 1] = o[b] + n));
  return o;
};

/** Sequence-local event times `timeOf(b, i)` as a `[T]` Float64Array. */
const timesOf = (offsets, timeOf) => {
  const t = new Float64Array(offsets[offsets.length - 1]);
  for (let b = 0; b + 1 < offsets.length; b++) for (let i = 0; i < offsets[b + 1] - offsets[b]; i++) t[offsets[b] + i] = timeOf(b, i);
  return t;
};

/**
 * One case: sequence `lengths`, H heads, widths D and Dv, the op's options `opts` (without the
 * bias tables), and optionally a position table of shape `pos` and a time table of shape `time`
 * (their gradients checked too). `scale` sets q's and k's spread (the logits' size).
 */
function hstuCase(label, lengths, H, D, Dv, opts, { pos = null, time = null, seed = 1, scale = 1 } = {}) {
  const offsets = offsetsOf(lengths);
  const T = offsets[offsets.length - 1];
  const inputs = { q: tensor64([T, H, D], seed, scale), k: tensor64([T, H, D], seed + 1, scale), v: tensor64([T, H, Dv], seed + 2) };
  if (pos) inputs.positionBias = tensor64(pos, seed + 3, 0.5);
  if (time) inputs.timeBias = tensor64(time, seed + 4, 0.5);
  const dOut = rand64(T * H * Dv, seed + 5);
  // The oracle's options from the op's: the tables' flat data, per-head flags from their rank.
  const oracleOpts = (x) => ({
    ...opts,
    ...(x.positionBias ? { positionBias: x.positionBias.data, positionBiasPerHead: pos.length === 2 } : {}),
    ...(x.timeBias ? { timeBias: x.timeBias.data, timeBiasPerHead: time.length === 2, numBuckets: time[time.length - 1] - 1, timestamps: Float64Array.from(opts.timestamps) } : {}),
  });
  const grads = { q: 'dq', k: 'dk', v: 'dv' };
  if (pos) grads.positionBias = 'dPositionBias';
  if (time) grads.timeBias = 'dTimeBias';
  const jag = (t) => ({ values: t, offsets });
  return {
    label: `lengths [${lengths}] H=${H} D=${D} Dv=${Dv}: ${label}`,
    forward: (x) => oracleHstuAttention(x.q.data, x.k.data, x.v.data, offsets, H, D, Dv, oracleOpts(x)),
    inputs,
    dOut,
    call(x, g) {
      const o = { ...opts };
      if (x.positionBias) o.positionBias = x.positionBias;
      if (x.timeBias) o.timeBias = x.timeBias;
      return ak.hstuAttentionBackward(jag({ data: g, shape: [T, H, Dv] }), jag(x.q), jag(x.k), jag(x.v), o, { backend: 'reference' });
    },
    grads,
    oracle: (x, g) => oracleHstuAttentionBackward(g, x.q.data, x.k.data, x.v.data, offsets, H, D, Dv, oracleOpts(x)),
  };
}

/** The gradient cases of hstuAttentionBackward. */
export function gradCases() {
  const o3 = offsetsOf([6, 5]);
  const o4 = offsetsOf([7, 3, 0, 5]);
  return [
    hstuCase('defaults (causal, maxLength normalization)', [3, 0, 1, 5], 2, 4, 4, {}),
    hstuCase('sequences of length 0 and 1, D != Dv', [0, 1, 0, 2], 1, 3, 5, {}, { seed: 5 }),
    hstuCase('one long sequence (40) among short ones', [2, 40, 1, 3], 1, 3, 2, {}, { seed: 9 }),
    hstuCase('numTargets 0, n_b and between, H = 3', [4, 3, 6], 3, 5, 2, { numTargets: new Int32Array([0, 3, 2]) }, { seed: 13 }),
    hstuCase('contextualLength 2 with targets', [5, 2, 7, 1], 2, 4, 3, { contextualLength: 2, numTargets: new Int32Array([1, 0, 2, 0]) }, { seed: 17 }),
    hstuCase('maxAttnLen 2', [6, 9, 1], 2, 3, 2, { maxAttnLen: 2 }, { seed: 21 }),
    hstuCase('not causal, maxAttnLen 1, contextualLength 1, targets', [6, 4], 1, 4, 2, { causal: false, maxAttnLen: 1, contextualLength: 1, numTargets: new Int32Array([2, 1]) }, { seed: 25 }),
    hstuCase("normalization 'length', alpha 0.7", [4, 1, 6], 2, 4, 4, { normalization: 'length', alpha: 0.7 }, { seed: 29 }),
    hstuCase('shared position bias, maxLength 9 > longest', [4, 7, 0], 2, 4, 3, { maxLength: 9 }, { seed: 33, pos: [17] }),
    hstuCase('per-head position bias', [5, 3], 3, 2, 2, {}, { seed: 37, pos: [3, 9] }),
    hstuCase('increasing timestamps, shared time bias (12 buckets)', [5, 4, 1], 2, 4, 4, { timestamps: timesOf(offsetsOf([5, 4, 1]), (b, i) => 1000 * b + i * i * 37) }, { seed: 41, time: [13] }),
    hstuCase('timestamps repeating and going backwards, per-head time bias', [6, 5], 3, 3, 2, { timestamps: timesOf(o3, (b, i) => [50, 50, 10, 4000, 4000, 3][i] + b) }, { seed: 45, time: [3, 21] }),
    hstuCase('per-head position and time bias, targets, contextual, maxAttnLen, length normalization', [7, 3, 0, 5], 2, 4, 3, {
      timestamps: timesOf(o4, (b, i) => 100 * (i % 3) - 7 * i + b), numTargets: new Int32Array([2, 1, 0, 5]), contextualLength: 1, maxAttnLen: 3, normalization: 'length',
    }, { seed: 49, pos: [2, 13], time: [2, 9] }),
    // maxLength 64 (N above the lengths, as for batches made for N): A = SiLU(z)/64 keeps
    // |phi| = |<dOut, y>| of order 1 with logits of ~80, so the central differences' own error
    // (about eps·|phi|/h, 1e-10·|phi|) stays below the oracle's atol (1e-9); with N = 6, |phi| ~ 300
    // and the differences, not the gradients, were 2e-9 off.
    hstuCase('large logits (|α·q·k| up to ~80: SiLU saturates on both sides), maxLength 64', [6, 4], 2, 4, 3, { alpha: 6, maxLength: 64 }, { seed: 53, scale: 2.7 }),
  ];
}
