'use strict';
// tfjs forms of attnkit's training ops (docs/TRAINING.md) for the bench's peer table
// (./op-peers.js): (tf, flat kernel args) -> { tensors, what, fn, fields? }. `fields`: fn returns
// an object of tensors named after the op's result fields (dx, dGamma, ...), each compared with
// the reference. The elementwise derivatives are tf.grad of the forward (tfjs's own autodiff);
// the ops whose contract takes the forward's saved values (layerNorm's statistics, additive
// attention's weights) are their closed forms in plain tf ops, on the same inputs.
//
// tfjs-cpu runs plain JS kernels: a form whose call would take well over a second there at the
// bench's size refuses it (the bench notes why) and runs on wasm only.

/**
 * Elements above which a form refuses tfjs-cpu: measured there at the quick shapes, these forms
 * take ~0.2-1 µs per element (layerNormBackward 99 ms at 1600x64, geluBackward 130 ms and
 * siluBackward 52 ms at 1024x256, adamStep 11 ms at 64k parameters), so a million is ~0.5 s.
 */
const CPU_MAX_ELEMENTS = 1e6;

/** Throws when `tf` runs on its cpu backend and the op has more than CPU_MAX_ELEMENTS elements. */
function cpuTooSlow(tf, op, elements, why) {
  if (tf.getBackend() === 'cpu' && elements > CPU_MAX_ELEMENTS) throw new Error(`${op} on tfjs-cpu at ${elements} elements: left out (${why}; more than a second per call in plain JS)`);
}

/** Throws for an x holding ±Infinity: tf.grad's product rule gives Inf·0 = NaN there, attnkit the limit 1 or 0. */
function refuseInfinite(x, op) {
  if (x.some((t) => t === Infinity || t === -Infinity)) throw new Error(`${op} at x = ±Infinity has no tfjs form here (tf.grad gives Inf·0 = NaN; attnkit gives the limits 1 and 0)`);
}

module.exports = {
  // softmax's vector-Jacobian product by tf.grad, at logits log(y) (y is their softmax: a row's
  // logits are fixed up to a constant, which softmax ignores); the timed call recomputes the
  // forward, as tf.grad does. A masked y = 0 has no finite logit: no formulation then.
  softmaxBackward: (tf, a) => {
    if (a.y.some((v) => !(v > 0))) throw new Error('softmaxBackward with y = 0 entries (masked) has no tf.grad formulation here');
    cpuTooSlow(tf, 'softmaxBackward', a.rows * a.cols, 'tf.grad of softmax: ~98 ms at 1024x256');
    const dy = tf.tensor2d(a.dy, [a.rows, a.cols]);
    const logits = tf.tidy(() => tf.log(tf.tensor2d(a.y, [a.rows, a.cols])));
    const vjp = tf.grad((x) => tf.softmax(x));
    return { tensors: [dy, logits], what: 'tf.grad(softmax) at log(y)', fn: () => vjp(logits, dy) };
  },
  layerNormBackward: (tf, a) => {
    const { rows: R, cols: C } = a;
    cpuTooSlow(tf, 'layerNormBackward', R * C, 'about 12 kernels over [rows, cols]');
    const dy = tf.tensor2d(a.dy, [R, C]), x = tf.tensor2d(a.x, [R, C]);
    const mean = tf.tensor2d(a.mean, [R, 1]), invStd = tf.tensor2d(a.invStd, [R, 1]);
    const gamma = a.gamma ? tf.tensor1d(a.gamma) : null;
    return {
      tensors: [dy, x, mean, invStd, gamma], fields: true,
      what: "the closed form from the forward's mean and invStd: x̂, g = dy·gamma, dx = invStd·(g − mean(g) − x̂·mean(g·x̂)); sum over rows for dGamma, dBeta",
      fn: () => {
        const xh = tf.mul(tf.sub(x, mean), invStd);
        const g = gamma ? tf.mul(dy, gamma) : dy;
        const dx = tf.mul(invStd, tf.sub(tf.sub(g, tf.mean(g, -1, true)), tf.mul(xh, tf.mean(tf.mul(g, xh), -1, true))));
        return { dx, dGamma: tf.sum(tf.mul(dy, xh), 0), dBeta: tf.sum(dy, 0) };
      },
    };
  },
  linearBackward: (tf, a) => {
    const dy = tf.tensor2d(a.dy, [a.rows, a.outDim]), x = tf.tensor2d(a.x, [a.rows, a.inDim]), w = tf.tensor2d(a.w, [a.inDim, a.outDim]);
    return {
      tensors: [dy, x, w], fields: true, what: 'matMul(dy, w, transposeB), matMul(x, dy, transposeA), sum(dy, 0)',
      fn: () => ({ dx: tf.matMul(dy, w, false, true), dW: tf.matMul(x, dy, true, false), db: tf.sum(dy, 0) }),
    };
  },
  geluBackward: (tf, a) => {
    refuseInfinite(a.x, 'geluBackward');
    cpuTooSlow(tf, 'geluBackward', a.rows * a.cols, 'tf.grad of the erf form runs ~12 elementwise kernels');
    const dy = tf.tensor2d(a.dy, [a.rows, a.cols]), x = tf.tensor2d(a.x, [a.rows, a.cols]);
    const k = Math.sqrt(2 / Math.PI);
    const gelu = a.approximate === 'tanh'
      ? (t) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.tanh(tf.mul(k, tf.add(t, tf.mul(0.044715, tf.mul(t, tf.mul(t, t))))))))
      : (t) => tf.mul(tf.mul(t, 0.5), tf.add(1, tf.erf(tf.mul(t, Math.SQRT1_2))));
    const vjp = tf.grad(gelu);
    return { tensors: [dy, x], what: `tf.grad of ${a.approximate === 'tanh' ? '0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))' : '0.5·x·(1 + erf(x/√2))'}`, fn: () => vjp(x, dy) };
  },
  siluBackward: (tf, a) => {
    refuseInfinite(a.x, 'siluBackward');
    cpuTooSlow(tf, 'siluBackward', a.rows * a.cols, 'tf.grad of x·sigmoid(x) runs ~6 elementwise kernels');
    const dy = tf.tensor2d(a.dy, [a.rows, a.cols]), x = tf.tensor2d(a.x, [a.rows, a.cols]);
    const vjp = tf.grad((t) => tf.mul(t, tf.sigmoid(t)));
    return { tensors: [dy, x], what: 'tf.grad of x·sigmoid(x)', fn: () => vjp(x, dy) };
  },
  additiveScoresBackward: (tf, a) => {
    const { B, L, S, Dv, A } = a;
    const finite = (x) => !x || x.every(Number.isFinite);
    if (a.weights.some((w) => w === 0) && !(finite(a.values) && finite(a.ka) && finite(a.qa))) throw new Error('additiveScoresBackward with non-finite values or projections at excluded (weight 0) keys: the dense tfjs form spreads them');
    const dOut = tf.tensor3d(a.dOut, [B, L, Dv]), values = tf.tensor3d(a.values, [B, S, Dv]), P = tf.tensor3d(a.weights, [B, L, S]);
    const qa = a.qa ? tf.tensor4d(a.qa, [B, L, 1, A]) : null, ka = tf.tensor4d(a.ka, [B, 1, S, A]), v = tf.tensor1d(a.v);
    return {
      tensors: [dOut, values, P, qa, ka, v], fields: true,
      what: 'batched matMul for dP and dValues, the tanh pairs as a [B,L,S,A] broadcast, sums for dqa, dka, dv',
      fn: () => {
        const dP = tf.matMul(dOut, values, false, true); // [B,L,S]
        const dE = tf.reshape(tf.mul(P, tf.sub(dP, tf.sum(tf.mul(P, dP), -1, true))), [B, L, S, 1]);
        const t = tf.tanh(qa ? tf.add(qa, ka) : ka);
        const g = tf.mul(tf.mul(dE, v), tf.sub(1, tf.square(t))); // [B,L,S,A]
        const out = { dValues: tf.matMul(P, dOut, true, false), dka: tf.sum(g, 1), dv: tf.sum(tf.mul(dE, t), [0, 1, 2]) };
        if (qa) out.dqa = tf.sum(g, 2);
        return out;
      },
    };
  },
  embeddingBackward: (tf, a) => {
    const { N, E, numItems } = a;
    if (N === 0 || E === 0) throw new Error('embeddingBackward with no positions or width 0 has no tfjs form here');
    // scatterND sums the updates of duplicate indices (tfjs's documented rule); unsortedSegmentSum
    // would be the direct form, but tfjs-cpu's takes ~44 s at the quick shape (a pass over every
    // position per item) and tfjs-wasm has no kernel for it.
    const dOut = tf.tensor2d(a.dOut, [N, E]), indices = tf.tensor2d(a.indices, [N, 1], 'int32');
    const keep = a.paddingIndex >= 0 ? tf.tidy(() => tf.cast(tf.notEqual(indices, a.paddingIndex), 'float32')) : null;
    return {
      tensors: [dOut, indices, keep], what: `scatterND(indices, dOut, [numItems, E]) (duplicates summed)${keep ? ', padding positions zeroed' : ''}`,
      fn: () => tf.scatterND(indices, keep ? tf.mul(dOut, keep) : dOut, [numItems, E]),
    };
  },
  adamStep: (tf, a) => {
    const n = a.rows * a.cols;
    cpuTooSlow(tf, 'adamStep', n, 'about 12 elementwise kernels');
    const param = tf.tensor1d(a.param), grad = tf.tensor1d(a.grad), m = tf.tensor1d(a.m), v = tf.tensor1d(a.v);
    const stepSize = a.lr / (1 - a.beta1 ** a.step), bc2Sqrt = Math.sqrt(1 - a.beta2 ** a.step);
    return {
      tensors: [param, grad, m, v], fields: true, what: `AdamW step ${a.step} in plain tf ops (mul, add, sqrt, div), new param, m, v`,
      fn: () => {
        const g = a.maximize ? tf.neg(grad) : grad;
        const m1 = tf.add(tf.mul(m, a.beta1), tf.mul(g, 1 - a.beta1));
        const v1 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(g), 1 - a.beta2));
        const p1 = tf.sub(tf.mul(param, 1 - a.lr * a.weightDecay), tf.mul(tf.div(m1, tf.add(tf.div(tf.sqrt(v1), bc2Sqrt), a.eps)), stepSize));
        return { param: p1, m: m1, v: v1 };
      },
    };
  },
};
