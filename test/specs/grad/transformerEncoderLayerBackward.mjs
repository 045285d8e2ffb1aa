// transformerEncoderLayerBackward (composite) against finite differences of a float64 encoder
// layer written from its definition (layers64.mjs): pre- and post-norm, relu and gelu, causal,
// window, softcap, keyLengths.
import * as ak from 'attnkit';
import { COMPOSITE_GRAD_TOL, COMPOSITE_WHY, tensor64 } from './fd.mjs';
import { act64, add64, layerNorm64, linear64, mha64 } from './layers64.mjs';

// Parameter name in the inputs -> its path in params and in dParams.
const PARAMS = {
  wq: 'attention.wq', bq: 'attention.bq', wk: 'attention.wk', bk: 'attention.bk', wv: 'attention.wv', bv: 'attention.bv', wo: 'attention.wo', bo: 'attention.bo',
  gamma1: 'norm1.gamma', beta1: 'norm1.beta', w1: 'ffn.w1', b1: 'ffn.b1', w2: 'ffn.w2', b2: 'ffn.b2', gamma2: 'norm2.gamma', beta2: 'norm2.beta',
};

function encoderCase(label, { B, L, E, H, F, norm, activation, opts = {}, affine = true }, seed) {
  const shapes = { wq: [E, E], bq: [E], wk: [E, E], bk: [E], wv: [E, E], bv: [E], wo: [E, E], bo: [E], gamma1: [E], beta1: [E], w1: [E, F], b1: [F], w2: [F, E], b2: [E], gamma2: [E], beta2: [E] };
  const inputs = { x: tensor64([B, L, E], seed, 1.5) };
  Object.keys(PARAMS).forEach((n, i) => {
    if (!affine && /gamma|beta/.test(n)) return;
    const t = tensor64(shapes[n], seed + 10 + i, 0.5);
    if (n.startsWith('gamma')) t.data.forEach((v, j) => (t.data[j] = Math.fround(1 + v)));
    inputs[n] = t;
  });
  const eps = 1e-5;
  const D = E / H;
  const rows = B * L;
  const sdpaOpts = { causal: opts.causal ? 'top-left' : false, window: opts.window, windowAlign: 'top-left', softcap: opts.softcap, keyLengths: opts.keyLengths };
  const forward = (inp) => {
    const p = Object.fromEntries(Object.keys(PARAMS).map((n) => [n, inp[n]?.data ?? null]));
    const mha = (x) => mha64(x, x, x, { B, L, S: L, E, Ek: E, Ev: E, Hq: H, Hkv: H, D, Dv: D, Eo: E }, p, sdpaOpts);
    const ffn = (x) => linear64(act64(linear64(x, rows, E, p.w1, p.b1, F), activation), rows, F, p.w2, p.b2, E);
    const ln = (x, g, b) => layerNorm64(x, rows, E, g, b, eps);
    const x = inp.x.data;
    if (norm === 'pre') {
      const x1 = add64(x, mha(ln(x, p.gamma1, p.beta1)));
      return add64(x1, ffn(ln(x1, p.gamma2, p.beta2)));
    }
    const x1 = ln(add64(x, mha(x)), p.gamma1, p.beta1);
    return ln(add64(x1, ffn(x1)), p.gamma2, p.beta2);
  };
  const grads = { x: 'dx' };
  for (const [n, path] of Object.entries(PARAMS)) if (inputs[n]) grads[n] = `dParams.${path}`;
  return {
    label,
    tol: COMPOSITE_GRAD_TOL,
    why: COMPOSITE_WHY,
    inputs,
    forward,
    dOut: tensor64([B, L, E], seed + 99).data,
    grads,
    call(t, dOut) {
      return this.callWith(t, dOut, { backend: 'reference' });
    },
    /** The same call with any dispatch options (test/training.test.mjs runs it on every backend). */
    callWith(t, dOut, d) {
      const params = { attention: {}, ffn: {} };
      for (const [n, path] of Object.entries(PARAMS)) {
        if (!t[n]) continue;
        const [group, key] = path.split('.');
        (params[group] ??= {})[key] = t[n];
      }
      const { saved } = ak.transformerEncoderLayer(t.x, params, { numHeads: H, norm, activation, eps, ...opts, returnSaved: true }, d);
      return ak.transformerEncoderLayerBackward({ data: dOut, shape: [B, L, E] }, saved, d);
    },
  };
}

export function gradCases() {
  const base = { B: 2, L: 5, E: 6, H: 2, F: 7 };
  return [
    encoderCase('pre-norm, gelu, causal (SASRec form)', { ...base, norm: 'pre', activation: 'gelu', opts: { causal: true } }, 1),
    encoderCase('post-norm, relu, no mask', { ...base, norm: 'post', activation: 'relu' }, 2),
    encoderCase('pre-norm, relu, causal + keyLengths (one row of length 1), no affine norms', { ...base, norm: 'pre', activation: 'relu', affine: false, opts: { causal: true, keyLengths: new Int32Array([5, 1]) } }, 3),
    encoderCase('post-norm, gelu, causal window {left: 1}, softcap 1.5, one head', { ...base, H: 1, norm: 'post', activation: 'gelu', opts: { causal: true, window: { left: 1 }, softcap: 1.5 } }, 4),
  ];
}
