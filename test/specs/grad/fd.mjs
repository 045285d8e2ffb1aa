// Central finite differences in float64: the check every backward op's gradient is held to.
// `phi(x) = <dOut, f(x)>` for a float64 forward oracle f (test/specs/oracle.mjs or one written
// here from the definition); its partial derivative with respect to one input element is the
// vector-Jacobian product a backward op returns for that element.

/**
 * The step for element value `x`: 2^-20 relative (about 1e-6), at least 2^-20. For a smooth float64
 * f this balances truncation (O(h^2 f''')) against cancellation (O(eps |phi| / h)): both stay
 * near 1e-10 relative for the O(1)-conditioned cases here.
 */
export const fdStep = (x) => 2 ** -20 * Math.max(1, Math.abs(x));

/** `<a, b>` in float64. */
function dot(a, b) {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

/**
 * The finite-difference gradient of `<dOut, forward(inputs)>` with respect to `inputs[name]`, at
 * the element indices `which` (all of them when omitted). `forward(inputs)` returns a Float64Array
 * (or any array) of the op's output; `inputs` maps names to `{ data: Float64Array, shape }`. The
 * data is perturbed in place and restored. Returns a Float64Array of `which.length` partials.
 */
export function fdGradient(forward, inputs, dOut, name, which) {
  const t = inputs[name];
  const idx = which ?? Array.from(t.data, (_v, i) => i);
  const out = new Float64Array(idx.length);
  idx.forEach((i, n) => {
    const x0 = t.data[i];
    const h = fdStep(x0);
    t.data[i] = x0 + h;
    const up = dot(dOut, forward(inputs));
    t.data[i] = x0 - h;
    const down = dot(dOut, forward(inputs));
    t.data[i] = x0;
    out[n] = (up - down) / (2 * h);
  });
  return out;
}

/**
 * The largest errors of `got` (at indices `which`) against the finite differences `want`:
 * `{ maxAbs, maxRel, worst }` where maxRel is taken over elements with |want| > `floor`.
 * Non-finite values on either side are reported as `nonFinite` (never close).
 */
export function gradError(got, want, which, floor = 1e-3) {
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let nonFinite = 0;
  want.forEach((w, n) => {
    const g = got[which ? which[n] : n];
    if (!Number.isFinite(g) || !Number.isFinite(w)) {
      nonFinite++;
      return;
    }
    const a = Math.abs(g - w);
    if (a > maxAbs) {
      maxAbs = a;
      worst = which ? which[n] : n;
    }
    if (Math.abs(w) > floor) maxRel = Math.max(maxRel, a / Math.abs(w));
  });
  return { maxAbs, maxRel, worst, nonFinite };
}

/** Seeded uniform values in [-scale, scale), rounded to float32 (so a float32 call sees exactly them), as a Float64Array. */
export function rand64(n, seed, scale = 1) {
  let s = seed >>> 0 || 1;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = Math.fround(((s / 2 ** 32) * 2 - 1) * scale);
  }
  return out;
}

/** A `{ data: Float64Array, shape }` tensor of seeded float32-representable values. */
export const tensor64 = (shape, seed, scale = 1) => ({ data: rand64(shape.reduce((a, b) => a * b, 1), seed, scale), shape });

/** The same tensor with Float32Array data (exact: the values are float32). */
export const to32 = (t) => (t == null ? t : { data: Float32Array.from(t.data), shape: t.shape });

/**
 * The bound of the composite layers' reference gradients (multiHeadAttentionBackward,
 * transformerEncoderLayerBackward, ...) against finite differences: each step is a float32 op, so
 * the projections, sdpa's output and the LayerNorm statistics the backward reads are rounded to
 * float32 (2^-24 relative each) and later steps amplify those roundings; gradients that are 0 in
 * theory (a key bias: softmax ignores a constant shift of a row) come out as sums of float32
 * terms that cancel. Measured (test/grad.test.mjs prints it): max rel 2.95e-5 (encoder, |g| > 1e-3),
 * max abs 4.42e-7; the bound is 4x each, as the project's rule.
 */
export const COMPOSITE_GRAD_TOL = { rtol: 1.2e-4, atol: 1.8e-6 };
/** Why the composites get COMPOSITE_GRAD_TOL instead of the single ops' bound. */
export const COMPOSITE_WHY = 'a chain of float32 ops: every intermediate the backward reads is rounded to float32';
