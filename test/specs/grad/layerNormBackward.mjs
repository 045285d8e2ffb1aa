// layerNormBackward's gradient cases: the forward is oracleLayerNorm (float64); the backward op
// gets the forward's statistics (float64 mean and invStd rounded to float32, as layerNorm's
// returnStats gives them) and dOut.
import * as ak from 'attnkit';
import { ORACLES, oracleLayerNorm } from '../oracle.mjs';
import { rand64, tensor64, to32 } from './fd.mjs';

/**
 * x, gamma, beta (gamma / beta may be null in the forward); `gammaToBackward`: whether the
 * backward is given gamma (false with a gamma of ones: the implicit γ = 1 of a null gamma).
 */
function lnCase(label, { x, gamma = null, beta = null, eps = 1e-5, gammaToBackward = true, seed }) {
  const inputs = { x };
  if (gamma) inputs.gamma = gamma;
  if (beta) inputs.beta = beta;
  const grads = { x: 'dx' };
  if (gamma) grads.gamma = 'dGamma';
  if (beta) grads.beta = 'dBeta';
  const statsOf = (inp) => {
    const f = oracleLayerNorm(inp.x, inp.gamma ?? null, inp.beta ?? null, eps, true);
    const shape = x.shape.slice(0, -1);
    return { mean: { data: f.mean, shape }, invStd: { data: f.invStd, shape } };
  };
  const dOut = rand64(x.data.length, seed, 2);
  return {
    label,
    forward: (inp) => oracleLayerNorm(inp.x, inp.gamma ?? null, inp.beta ?? null, eps).output,
    inputs,
    dOut,
    ...statsRoundingTol(statsOf(inputs), inputs, dOut),
    call: (inp32, dOut32) => {
      // The statistics of the float32 x, computed in float64 and rounded to float32 (layerNorm's own).
      const st = statsOf(inp32);
      const stats = { mean: to32(st.mean), invStd: to32(st.invStd) };
      return ak.layerNormBackward({ data: dOut32, shape: x.shape }, inp32.x, gammaToBackward ? inp32.gamma ?? null : null, stats, { backend: 'reference' });
    },
    grads,
    oracle: (inp, dOut) => ORACLES.layerNormBackward([{ data: dOut, shape: x.shape }, inp.x, gammaToBackward ? inp.gamma ?? null : null, statsOf(inp)]),
  };
}

/**
 * The op takes the statistics as float32 (|Δinv| <= 2^-24·inv, |Δmean| <= 2^-24·|mean|), so x̂ =
 * (x − mean)·inv moves by up to 2^-24·(|x̂| + inv·|mean|) and dx = inv·(g − mean(g) − x̂·mean(g·x̂))
 * by up to 2^-24·|dx| + inv·max|g|·(2·max|x̂| + 1)·max|Δx̂| (the x̂ and mean(g·x̂) terms; max over
 * rows). dGamma = Σ dy·x̂ moves by Σ|dy|·max|Δx̂|. That bound, as the case's atol.
 */
function statsRoundingTol(stats, inputs, dOut) {
  const C = inputs.x.shape[inputs.x.shape.length - 1];
  let bound = 0;
  stats.mean.data.forEach((m, r) => {
    const inv = stats.invStd.data[r];
    let maxXh = 0, maxG = 0, sumDy = 0;
    for (let j = 0; j < C; j++) {
      maxXh = Math.max(maxXh, Math.abs((inputs.x.data[r * C + j] - m) * inv));
      maxG = Math.max(maxG, Math.abs(dOut[r * C + j] * (inputs.gamma ? inputs.gamma.data[j] : 1)));
      sumDy += Math.abs(dOut[r * C + j]);
    }
    const dXh = 2 ** -24 * (maxXh + inv * Math.abs(m));
    bound = Math.max(bound, inv * maxG * (2 * maxXh + 1) * dXh, sumDy * dXh);
  });
  return { tol: { rtol: 2 ** -20, atol: Math.max(1e-8, bound) }, why: `the statistics are float32 (mean and invStd rounded): the derived bound ${bound.toExponential(2)} as atol` };
}

export function gradCases() {
  return [
    lnCase('[5,8] gamma and beta', { x: tensor64([5, 8], 1, 3), gamma: tensor64([8], 2), beta: tensor64([8], 3), seed: 4 }),
    lnCase('[3,6] no gamma, no beta', { x: tensor64([3, 6], 5, 2), seed: 6 }),
    lnCase('[4,7] null gamma = implicit ones (dGamma of γ = 1), beta', { x: tensor64([4, 7], 7, 2), gamma: { data: new Float64Array(7).fill(1), shape: [7] }, beta: tensor64([7], 8), gammaToBackward: false, seed: 9 }),
    lnCase('[2,3,5] rank 3, eps 0.5', { x: tensor64([2, 3, 5], 10, 1), gamma: tensor64([5], 11), eps: 0.5, seed: 12 }),
    lnCase('[2,2] two columns', { x: tensor64([2, 2], 13, 4), gamma: tensor64([2], 14), beta: tensor64([2], 15), seed: 16 }),
    lnCase('[1,65] one long row, mean 10', { x: { data: rand64(65, 17).map((v) => Math.fround(10 + v)), shape: [1, 65] }, gamma: tensor64([65], 18), seed: 19 }),
  ];
}
