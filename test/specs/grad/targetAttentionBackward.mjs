// targetAttentionBackward (composite: linear over the valid items, linear's backward, the
// features' and activations' gradients) against finite differences of the float64 DIN target
// attention of test/specs/oracle.mjs (oracleTarget: float64 throughout, written from the
// definition), on every option: activation relu / sigmoid / prelu (slope as a tensor, as a number,
// left out), normalize none / softmax, keyLengths (an empty batch row, one item), one layer only,
// sigmoid saturation.
import * as ak from 'attnkit';
import { tensor64 } from './fd.mjs';
import { oracleTarget } from '../oracle.mjs';

/**
 * A case: `hidden` widths, `alpha` per hidden layer ('tensor' | 'number' | undefined: left out),
 * `opts` (activation, normalize, keyLengths), `scale` of the weights.
 */
function targetCase(label, { B, S, D, hidden }, seed, { alpha = [], opts = {}, scale = 0.5 } = {}) {
  const inputs = { target: tensor64([B, D], seed), history: tensor64([B, S, D], seed + 1) };
  const widths = [...hidden, 1];
  let inDim = 4 * D;
  widths.forEach((out, l) => {
    inputs[`w${l}`] = tensor64([inDim, out], seed + 10 + 3 * l, scale);
    inputs[`b${l}`] = tensor64([out], seed + 11 + 3 * l, 0.3);
    if (alpha[l] === 'tensor') inputs[`alpha${l}`] = tensor64([out], seed + 12 + 3 * l, 0.5);
    if (alpha[l] === 'number') inputs[`alpha${l}`] = tensor64([1], seed + 12 + 3 * l, 0.5);
    inDim = out;
  });
  const layersOf = (inp, asNumber) =>
    widths.map((_o, l) => {
      const layer = { w: inp[`w${l}`], b: inp[`b${l}`] };
      if (alpha[l] === 'tensor') layer.alpha = inp[`alpha${l}`];
      if (alpha[l] === 'number') layer.alpha = asNumber(inp[`alpha${l}`].data[0]);
      return layer;
    });
  const forward = (inp) => oracleTarget(inp.target, inp.history, { layers: layersOf(inp, (x) => x) }, opts).output;
  const grads = { target: 'dTarget', history: 'dHistory' };
  widths.forEach((_o, l) => {
    grads[`w${l}`] = `dParams.layers.${l}.w`;
    grads[`b${l}`] = `dParams.layers.${l}.b`;
    if (alpha[l] === 'tensor') grads[`alpha${l}`] = `dParams.layers.${l}.alpha`;
    if (alpha[l] === 'number') grads[`alpha${l}`] = `dAlpha${l}`;
  });
  return {
    label,
    inputs,
    forward,
    dOut: tensor64([B, D], seed + 99).data,
    grads,
    call(t, dOut) {
      return this.callWith(t, dOut, { backend: 'reference' });
    },
    /** The same call with any dispatch options (test/pool-training.test.mjs runs it on every backend). */
    callWith(t, dOut, d) {
      const { saved } = ak.targetAttention(t.target, t.history, { layers: layersOf(t, (x) => x) }, { ...opts, returnSaved: true }, d);
      const g = ak.targetAttentionBackward({ data: dOut, shape: [B, D] }, saved, d);
      const lens = opts.keyLengths;
      if (lens) {
        for (let b = 0; b < B; b++)
          for (let f = lens[b] * D; f < S * D; f++) if (g.dHistory.data[b * S * D + f] !== 0) throw new Error(`${label}: a padded item's gradient is not 0`);
      }
      const out = { ...g };
      g.dParams.layers.forEach((ly, l) => {
        const hiddenPrelu = opts.activation === 'prelu' && l < widths.length - 1;
        if (hiddenPrelu !== (ly.alpha !== undefined)) throw new Error(`${label}: layer ${l} alpha gradient ${ly.alpha === undefined ? 'missing' : 'unexpected'}`);
        if (!hiddenPrelu) return;
        const isTensor = alpha[l] === 'tensor';
        if (isTensor !== (typeof ly.alpha === 'object')) throw new Error(`${label}: layer ${l} alpha gradient should be a ${isTensor ? 'tensor' : 'number'}`);
        if (!isTensor) out[`dAlpha${l}`] = [ly.alpha];
      });
      return out;
    },
  };
}

export function gradCases() {
  const base = { B: 2, S: 4, D: 3, hidden: [5] };
  return [
    targetCase('sigmoid, normalize none (DIN)', base, 31),
    targetCase('relu, softmax, keyLengths [4, 1, 0] (one item, an empty batch row)', { ...base, B: 3 }, 32, { opts: { activation: 'relu', normalize: 'softmax', keyLengths: new Int32Array([4, 1, 0]) } }),
    targetCase('prelu 3 layers, alpha tensor then number, keyLengths [2, 4]', { ...base, hidden: [6, 4] }, 33, { alpha: ['tensor', 'number'], opts: { activation: 'prelu', keyLengths: new Int32Array([2, 4]) } }),
    targetCase('prelu, alpha left out (0.25: a number), softmax', base, 34, { opts: { activation: 'prelu', normalize: 'softmax' } }),
    targetCase('one layer only (no hidden), softmax, S=1', { B: 2, S: 1, D: 2, hidden: [] }, 35, { opts: { normalize: 'softmax' } }),
    targetCase('sigmoid near saturation (weights ×6)', { ...base, hidden: [4] }, 36, { scale: 3, opts: { activation: 'sigmoid' } }),
  ];
}
