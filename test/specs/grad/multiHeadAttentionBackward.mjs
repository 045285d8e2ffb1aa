// multiHeadAttentionBackward (composite: linearBackward + sdpaBackward) against finite
// differences of a float64 multi-head attention written from the definition (layers64.mjs).
import * as ak from 'attnkit';
import { COMPOSITE_GRAD_TOL, COMPOSITE_WHY, tensor64 } from './fd.mjs';
import { mha64 } from './layers64.mjs';

const PARAMS = ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo'];

function mhaCase(label, { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo, self = false, biases = true, opts = {} }, seed) {
  const inputs = { query: tensor64([B, L, E], seed) };
  if (!self) {
    inputs.key = tensor64([B, S, Ek], seed + 1);
    inputs.value = tensor64([B, S, Ev], seed + 2);
  }
  const shapes = { wq: [E, Hq * D], bq: [Hq * D], wk: [Ek, Hkv * D], bk: [Hkv * D], wv: [Ev, Hkv * Dv], bv: [Hkv * Dv], wo: [Hq * Dv, Eo], bo: [Eo] };
  PARAMS.forEach((n, i) => {
    if (biases || n[0] === 'w') inputs[n] = tensor64(shapes[n], seed + 10 + i, 0.6);
  });
  const dims = { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo };
  const kv = (inp) => (self ? [inp.query, inp.query] : [inp.key, inp.value]);
  const forward = (inp) => {
    const [k, v] = kv(inp);
    const p = Object.fromEntries(PARAMS.map((n) => [n, inp[n]?.data ?? null]));
    return mha64(inp.query.data, k.data, v.data, dims, p, { ...opts, causal: opts.causal ?? false });
  };
  const grads = { query: self ? 'dSelf' : 'dQuery' };
  if (!self) Object.assign(grads, { key: 'dKey', value: 'dValue' });
  for (const n of PARAMS) if (inputs[n]) grads[n] = `dParams.${n}`;
  return {
    label,
    tol: COMPOSITE_GRAD_TOL,
    why: COMPOSITE_WHY,
    inputs,
    forward,
    dOut: tensor64([B, L, Eo], seed + 99).data,
    grads,
    call(t, dOut) {
      return this.callWith(t, dOut, { backend: 'reference' });
    },
    /** The same call with any dispatch options (test/training.test.mjs runs it on every backend). */
    callWith(t, dOut, d) {
      const [k, v] = self ? [t.query, t.query] : [t.key, t.value];
      const params = Object.fromEntries(PARAMS.filter((n) => t[n]).map((n) => [n, t[n]]));
      const { saved } = ak.multiHeadAttention(t.query, k, v, params, { numHeads: Hq, numKvHeads: Hkv, ...opts, returnSaved: true }, d);
      const g = ak.multiHeadAttentionBackward({ data: dOut, shape: [B, L, Eo] }, saved, d);
      if (!self) return g;
      // One tensor as query, key and value: its gradient is the sum of the three.
      return { ...g, dSelf: g.dQuery.data.map((x, i) => x + g.dKey.data[i] + g.dValue.data[i]) };
    },
  };
}

export function gradCases() {
  const base = { B: 2, L: 5, S: 7, E: 6, Ek: 5, Ev: 4, Hq: 2, Hkv: 2, D: 3, Dv: 2, Eo: 3 };
  return [
    mhaCase('cross attention L < S, biases', base, 1),
    mhaCase('cross attention L > S, GQA 4/2, no biases', { ...base, L: 7, S: 3, Hq: 4, Hkv: 2, biases: false }, 2),
    mhaCase('self attention, top-left causal, window {left: 2}', { ...base, S: 5, Ek: 6, Ev: 6, self: true, opts: { causal: 'top-left', window: { left: 2 } } }, 3),
    mhaCase('cross, bottom-right causal + keyLengths (one batch row with one key), softcap 2', { ...base, opts: { causal: true, keyLengths: new Int32Array([7, 1]), softcap: 2 } }, 4),
    mhaCase('cross, mask and bias broadcast over batch', { ...base, opts: {
      mask: { data: Uint8Array.from({ length: 2 * 5 * 7 }, (_v, i) => (i % 3 === 1 ? 0 : 1)), shape: [1, 2, 5, 7] },
      bias: { data: Float32Array.from({ length: 5 * 7 }, (_v, i) => Math.fround(Math.sin(i))), shape: [5, 7] },
    } }, 5),
  ];
}
