// additiveAttentionBackward (composite: linear, additiveScoresBackward, linear's backward) against
// finite differences of the float64 additive attention of test/specs/oracle.mjs (oracleAdditive:
// float64 throughout, written from the definition), on every option: pooling, mask, keyLengths
// (an empty batch row, one key), L != S both ways, one tensor as keys and values, saturated tanh.
import * as ak from 'attnkit';
import { tensor64 } from './fd.mjs';
import { oracleAdditive } from '../oracle.mjs';

/**
 * The composite rounds to float32 where its steps return (the forward's weights P, the
 * projections qa and ka): each rounding (2^-24 relative) moves dE = P∘(dP − δ) by about
 * 2^-24·P·|dP| per pair, in absolute terms, and the sums of dv, db and dWq carry that where their
 * terms cancel. Measured max abs error against the differences over these cases (test/grad.test.mjs
 * prints it): 5.4e-8 (the largest relative one, 7.6e-6, on a dv element of 2.4e-3 off by 1.8e-8);
 * atol is 4x that.
 */
const COMPOSITE_GRAD_TOL = { rtol: 2 ** -20, atol: 2.2e-7 };
const COMPOSITE_WHY = 'float32 intermediates (weights, projections) shift dE by ~2^-24·P·|dP| absolute, carried by the cancelling sums of dv, db, dWq';

/**
 * A case: dims { B, L, S, Dq, Dk, Dv, A }; `pooled` (query null), `shared` (keys === values, Dk ==
 * Dv: its gradient is dKeys + dValues), `opts` (mask, keyLengths), `scale` of the projections'
 * weights, `nanPadding` (NaN in the keys and values of padded items, which must get 0 and leak
 * nowhere; excluded from the finite differences, whose step is NaN there).
 */
function additiveCase(label, dims, seed, { pooled = false, shared = false, opts = {}, scale = 0.6, nanPadding = false } = {}) {
  const { B, L, S, Dq, Dk, Dv, A } = dims;
  const inputs = { keys: tensor64([B, S, Dk], seed) };
  if (!shared) inputs.values = tensor64([B, S, Dv], seed + 1);
  if (!pooled) {
    inputs.query = tensor64([B, L, Dq], seed + 2);
    inputs.wq = tensor64([Dq, A], seed + 3, scale);
  }
  inputs.wk = tensor64([Dk, A], seed + 4, scale);
  inputs.b = tensor64([A], seed + 5, 0.3);
  inputs.v = tensor64([A], seed + 6);
  const which = {};
  if (nanPadding) {
    const lens = opts.keyLengths;
    for (const name of shared ? ['keys'] : ['keys', 'values']) {
      const t = inputs[name], w = t.shape[2], keep = [];
      for (let b = 0; b < B; b++)
        for (let j = 0; j < S; j++)
          for (let c = 0; c < w; c++) {
            if (j >= lens[b]) t.data[(b * S + j) * w + c] = NaN;
            else keep.push((b * S + j) * w + c);
          }
      which[name] = keep;
    }
  }
  const forward = (inp) => {
    const p = { wk: inp.wk, b: inp.b, v: inp.v, ...(pooled ? {} : { wq: inp.wq }) };
    return oracleAdditive(pooled ? null : inp.query, inp.keys, shared ? inp.keys : inp.values, p, opts).output;
  };
  const grads = { keys: shared ? 'dShared' : 'dKeys', wk: 'dParams.wk', b: 'dParams.b', v: 'dParams.v' };
  if (!shared) grads.values = 'dValues';
  if (!pooled) Object.assign(grads, { query: 'dQuery', wq: 'dParams.wq' });
  return {
    label,
    inputs,
    forward,
    which,
    tol: COMPOSITE_GRAD_TOL,
    why: COMPOSITE_WHY,
    dOut: tensor64([B, L, Dv], seed + 99).data,
    grads,
    call(t, dOut) {
      const g = this.callWith(t, dOut, { backend: 'reference' });
      // Padded items: exactly zero gradients, never NaN (the finite differences skip them).
      if (nanPadding) {
        for (const name of shared ? ['dShared'] : ['dKeys', 'dValues']) {
          const arr = name === 'dShared' ? g.dShared : g[name].data;
          const keep = new Set(which[name === 'dValues' ? 'values' : 'keys']);
          arr.forEach((x, i) => {
            if (!keep.has(i) && x !== 0) throw new Error(`${label}: ${name}[${i}] = ${x} for a padded item`);
          });
        }
      }
      return g;
    },
    /** The same call with any dispatch options (test/pool-training.test.mjs runs it on every backend). */
    callWith(t, dOut, d) {
      const p = { wk: t.wk, b: t.b, v: t.v, ...(pooled ? {} : { wq: t.wq }) };
      const { saved } = ak.additiveAttention(pooled ? null : t.query, t.keys, shared ? t.keys : t.values, p, { ...opts, returnSaved: true }, d);
      const g = ak.additiveAttentionBackward({ data: dOut, shape: [B, L, Dv] }, saved, d);
      if (pooled && (g.dQuery || g.dParams.wq)) throw new Error(`${label}: pooling returned a query gradient`);
      if (!shared) return g;
      return { ...g, dShared: g.dKeys.data.map((x, i) => x + g.dValues.data[i]) };
    },
  };
}

export function gradCases() {
  const base = { B: 2, L: 3, S: 5, Dq: 4, Dk: 3, Dv: 2, A: 6 };
  return [
    additiveCase('cross attention L < S', base, 21),
    additiveCase('L=5 > S=2, keyLengths [2, 1] (one key)', { ...base, L: 5, S: 2 }, 22, { opts: { keyLengths: new Int32Array([2, 1]) } }),
    additiveCase('pooling, one tensor as keys and values, keyLengths [5, 0, 3] (an empty batch row)', { ...base, B: 3, L: 1, Dk: 3, Dv: 3 }, 23, { pooled: true, shared: true, opts: { keyLengths: new Int32Array([5, 0, 3]) } }),
    additiveCase('mask broadcast over batch with a fully masked row', base, 24, { opts: { mask: { data: Uint8Array.from({ length: 3 * 5 }, (_v, f) => (Math.floor(f / 5) === 1 || f % 4 === 2 ? 0 : 1)), shape: [1, 3, 5] } } }),
    additiveCase('NaN in the padded keys and values (keyLengths [3, 1])', base, 25, { opts: { keyLengths: new Int32Array([3, 1]) }, nanPadding: true }),
    additiveCase('pooling, saturated tanh (weights ×4)', { ...base, L: 1 }, 26, { pooled: true, scale: 2.4 }),
  ];
}
