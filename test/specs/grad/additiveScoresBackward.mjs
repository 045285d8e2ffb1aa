// additiveScoresBackward (the tanh pairs of additive attention's backward) against finite
// differences of its forward written from the definition in float64: P = softmax over the allowed
// keys of e_ij = Σ_a v_a tanh(qa_ia + ka_ja), O_i = Σ_j P_ij values_j. The op is given P (the
// forward's weights, rounded to float32 as a forward returns them).
import * as ak from 'attnkit';
import { tensor64 } from './fd.mjs';
import { oracleAdditiveScoresBackward } from '../oracle.mjs';

/** The weights P [B,L,S] in float64 (0 for excluded keys; a row with none allowed is all 0). */
export function scoresWeights64(qa, ka, v, { B, L, S, A }, allowed) {
  const P = new Float64Array(B * L * S);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++) {
      const e = new Float64Array(S).fill(-Infinity);
      for (let j = 0; j < S; j++) {
        if (!allowed(b, i, j)) continue;
        let s = 0;
        for (let a = 0; a < A; a++) s += v[a] * Math.tanh((qa ? qa[(b * L + i) * A + a] : 0) + ka[(b * S + j) * A + a]);
        e[j] = s;
      }
      const m = Math.max(...e);
      if (m === -Infinity) continue;
      let sum = 0;
      for (let j = 0; j < S; j++) sum += Math.exp(e[j] - m);
      for (let j = 0; j < S; j++) P[(b * L + i) * S + j] = Math.exp(e[j] - m) / sum;
    }
  return P;
}

/**
 * The op takes the weights as a forward returns them, rounded to float32: that moves
 * dE = P∘(dP − δ) by about 2^-24·P·|dP| per pair, absolute, which dv's and dqa's cancelling sums
 * carry. Measured max abs error against the differences over these cases: 3.5e-8 (a dv element
 * of 9.6e-4 off by 1.1e-8); atol is 4x that. The float64 oracle (given the unrounded weights) is
 * held to the usual bound.
 */
const ROUNDED_WEIGHTS_TOL = { rtol: 2 ** -20, atol: 1.4e-7 };

function scoresCase(label, dims, seed, { pooled = false, allowed = () => true, projScale = 1 } = {}) {
  const { B, L, S, Dv, A } = dims;
  const inputs = { values: tensor64([B, S, Dv], seed), ka: tensor64([B, S, A], seed + 1, projScale), v: tensor64([A], seed + 2) };
  if (!pooled) inputs.qa = tensor64([B, L, A], seed + 3, projScale);
  const weightsOf = (inp) => scoresWeights64(inp.qa?.data ?? null, inp.ka.data, inp.v.data, dims, allowed);
  const forward = (inp) => {
    const P = weightsOf(inp);
    const out = new Float64Array(B * L * Dv);
    for (let b = 0; b < B; b++)
      for (let i = 0; i < L; i++)
        for (let j = 0; j < S; j++) for (let c = 0; c < Dv; c++) out[(b * L + i) * Dv + c] += P[(b * L + i) * S + j] * inp.values.data[(b * S + j) * Dv + c];
    return out;
  };
  const grads = { values: 'dValues', ka: 'dka', v: 'dv' };
  if (!pooled) grads.qa = 'dqa';
  const dOut = tensor64([B, L, Dv], seed + 4);
  return {
    label,
    inputs,
    forward,
    tol: ROUNDED_WEIGHTS_TOL,
    why: 'the weights are float32, as a forward returns them: dE moves by ~2^-24·P·|dP| absolute',
    dOut: dOut.data,
    grads,
    call(t, g) {
      const P = { data: Float32Array.from(weightsOf(t)), shape: [B, L, S] };
      return ak.additiveScoresBackward({ data: g, shape: [B, L, Dv] }, t.values, P, t.qa ?? null, t.ka, t.v, { backend: 'reference' });
    },
    oracle(inp, g) {
      const P = { data: weightsOf(inp), shape: [B, L, S] };
      return oracleAdditiveScoresBackward({ data: g, shape: [B, L, Dv] }, inp.values, P, inp.qa ?? null, inp.ka, inp.v);
    },
  };
}

export function gradCases() {
  return [
    scoresCase('L=3 S=5 Dv=2 A=4', { B: 2, L: 3, S: 5, Dv: 2, A: 4 }, 11),
    scoresCase('pooling, one key in batch 1 (keyLengths [4,1])', { B: 2, L: 1, S: 4, Dv: 3, A: 5 }, 12, { pooled: true, allowed: (b, _i, j) => j < [4, 1][b] }),
    scoresCase('L=6 > S=2, a fully masked row', { B: 1, L: 6, S: 2, Dv: 3, A: 3 }, 13, { allowed: (_b, i, j) => i !== 4 && (i + j) % 4 !== 3 }),
    scoresCase('near saturation (projections ±3)', { B: 2, L: 2, S: 3, Dv: 2, A: 6 }, 14, { projScale: 3 }),
  ];
}
