// hstuLayerBackward (composite) against central finite differences of the float64 HSTU layer
// written from its definition (test/specs/hstuLayerOracle.mjs, whose attention is the independent
// oracle of test/specs/hstuOracle.mjs): every input and parameter, and hstuAttention's learned
// tables (positionBias, timeBias). Adversarial batches: empty sequences, length 1, one long
// sequence among short ones, numTargets, timestamps that repeat and go backwards, a contextual
// prefix, maxAttnLen, both normalizations, non-causal, no affine norms and no biases.
import * as ak from 'attnkit';
import { COMPOSITE_WHY, tensor64 } from './fd.mjs';
import { oracleHstuLayer } from '../hstuLayerOracle.mjs';

/**
 * The bound of hstuLayer's reference gradients against the finite differences: twelve float32
 * steps (COMPOSITE_WHY), the two LayerNorms' backward cancelling. Measured over EVERY element of
 * the cases below (not only the grad job's sample): max rel 5.45e-5 over |g| > 1e-3 (x's gradient
 * in the single length-1 sequence: LN_out's backward over one visible pair's output cancels), max
 * abs 9.9e-6 (at |g| ~ 6, 1.2e-6 relative); at 4x that rtol no element needs any atol. Bound:
 * rtol 4x, atol the single ops' floor for gradients that are 0 in theory.
 */
export const HSTU_GRAD_TOL = { rtol: 2.2e-4, atol: 1e-8 };

// Parameter name in the inputs -> its path in params and in the result's dParams.
const PARAMS = {
  gammaIn: 'inputNorm.gamma', betaIn: 'inputNorm.beta', wUvqk: 'uvqk.weight', bUvqk: 'uvqk.bias',
  gammaOut: 'outputNorm.gamma', betaOut: 'outputNorm.beta', wO: 'output.weight', bO: 'output.bias',
};

/** The layer's attention options (as the op takes them) -> hstuOracle's options. */
export function oracleAttentionOptions(o, H) {
  const out = { ...o };
  if (o.positionBias) {
    out.positionBias = o.positionBias.data;
    out.positionBiasPerHead = o.positionBias.shape.length === 2;
  }
  if (o.timeBias) {
    out.timeBias = o.timeBias.data;
    out.timeBiasPerHead = o.timeBias.shape.length === 2;
    out.numBuckets = o.timeBias.shape[o.timeBias.shape.length - 1] - 1;
  }
  void H;
  return out;
}

/**
 * One gradient case. `lengths` the batch's sequence lengths; `attention` hstuAttention's options
 * other than the learned tables; `positionBias` / `timeBias`: 'shared' | 'perHead' | undefined.
 */
export function hstuLayerCase(label, { lengths, E, H, D, Dv, attention = {}, positionBias, timeBias, affine = true, biases = true, eps = 1e-6 }, seed) {
  const B = lengths.length;
  const offsets = new Int32Array(B + 1);
  lengths.forEach((n, b) => (offsets[b + 1] = offsets[b] + n));
  const T = offsets[B];
  const N = attention.maxLength ?? Math.max(1, ...lengths);
  const C = 2 * H * Dv + 2 * H * D;
  const shapes = { gammaIn: [E], betaIn: [E], wUvqk: [E, C], bUvqk: [C], gammaOut: [H * Dv], betaOut: [H * Dv], wO: [H * Dv, E], bO: [E] };
  const inputs = { x: tensor64([T, E], seed, 1.5) };
  Object.keys(PARAMS).forEach((n, i) => {
    if (!affine && /gamma|beta/.test(n)) return;
    if (!biases && /^b[A-Z]/.test(n)) return;
    const t = tensor64(shapes[n], seed + 10 + i, n === 'wUvqk' ? 0.8 : 0.5);
    if (n.startsWith('gamma')) t.data.forEach((v, j) => (t.data[j] = Math.fround(1 + v)));
    inputs[n] = t;
  });
  if (positionBias) inputs.positionBias = tensor64(positionBias === 'perHead' ? [H, 2 * N - 1] : [2 * N - 1], seed + 30, 0.5);
  if (timeBias) inputs.timeBias = tensor64(timeBias === 'perHead' ? [H, 5] : [5], seed + 31, 0.5);
  const grads = { x: 'dx.values' };
  for (const [n, path] of Object.entries(PARAMS)) if (inputs[n]) grads[n] = `dParams.${path}`;
  if (inputs.positionBias) grads.positionBias = 'dPositionBias';
  if (inputs.timeBias) grads.timeBias = 'dTimeBias';
  const attentionOptions = (inp) => {
    const o = { ...attention };
    if (inp.positionBias) o.positionBias = inp.positionBias;
    if (inp.timeBias) o.timeBias = inp.timeBias;
    return o;
  };
  return {
    label,
    tol: HSTU_GRAD_TOL,
    why: COMPOSITE_WHY,
    inputs,
    forward(inp) {
      const p = Object.fromEntries(Object.keys(PARAMS).map((n) => [n, inp[n]?.data ?? null]));
      return oracleHstuLayer(inp.x.data, offsets, p, { E, H, D, Dv, eps, attention: oracleAttentionOptions(attentionOptions(inp), H) }).output;
    },
    dOut: tensor64([T, E], seed + 99).data,
    grads,
    /** The forward's call: `{ x, params, options }` from float32 inputs. */
    callArgs(t) {
      const params = { uvqk: {}, output: {} };
      for (const [n, path] of Object.entries(PARAMS)) {
        if (!t[n]) continue;
        const [group, key] = path.split('.');
        (params[group] ??= {})[key] = t[n];
      }
      return { x: { values: t.x, offsets }, params, options: { numHeads: H, headDim: D, valueDim: Dv, eps, ...attentionOptions(t) } };
    },
    call(t, dOut) {
      return this.callWith(t, dOut, { backend: 'reference' });
    },
    /** The same call with any dispatch options (test/training.test.mjs runs it on every backend). */
    callWith(t, dOut, d) {
      const { x, params, options } = this.callArgs(t);
      const { saved } = ak.hstuLayer(x, params, { ...options, returnSaved: true }, d);
      return ak.hstuLayerBackward({ values: { data: dOut, shape: [T, E] }, offsets }, saved, d);
    },
  };
}

/** The timestamps of a batch (float64, per event): repeats and a step backwards in the second sequence. */
const stamps = (lengths, seed) => {
  const out = [];
  let s = seed;
  for (const n of lengths) {
    let t = 1000;
    for (let i = 0; i < n; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      out.push(t);
      t += [0, 3, 40, 700, -25][s % 5];
    }
  }
  return Float64Array.from(out);
};

export function gradCases() {
  const dims = { E: 6, H: 2, D: 3, Dv: 2 };
  const withTargets = [1, 6, 0, 3];
  return [
    hstuLayerCase('causal, shared position bias, lengths [4, 0, 3] (an empty sequence)', { ...dims, lengths: [4, 0, 3], positionBias: 'shared' }, 1),
    hstuLayerCase('numTargets, timestamps (repeats, backwards) with a per-head time bias, per-head position bias, lengths [1, 6, 0, 3]', {
      ...dims, lengths: withTargets, positionBias: 'perHead', timeBias: 'perHead',
      attention: { numTargets: new Int32Array([0, 2, 0, 1]), timestamps: stamps(withTargets, 5) },
    }, 2),
    hstuLayerCase('one long sequence among short ones [9, 1, 1, 2], contextual prefix 1, maxAttnLen 3, normalization length, no affine norms, no biases', {
      ...dims, lengths: [9, 1, 1, 2], affine: false, biases: false,
      attention: { contextualLength: 1, maxAttnLen: 3, normalization: 'length' },
    }, 3),
    hstuLayerCase('non-causal, one head, D != Dv, alpha 0.7, maxLength 6 over lengths [5, 1], shared time bias', {
      E: 5, H: 1, D: 4, Dv: 3, lengths: [5, 1], timeBias: 'shared',
      attention: { causal: false, alpha: 0.7, maxLength: 6, timestamps: stamps([5, 1], 9) },
    }, 4),
    hstuLayerCase('a single sequence of length 1', { ...dims, lengths: [1], positionBias: 'shared' }, 5),
  ];
}
