// Small input builders shared by the specs (seeded, so every run sees the same numbers).
import * as ak from 'attnkit';

/** ATTNKIT_TEST_BACKENDS=a,b (scripts/sanitize.sh) restricts the backends a test file runs on. */
export const backendWanted = (name) => {
  const only = process.env.ATTNKIT_TEST_BACKENDS;
  return !only || only.split(',').includes(name);
};
/** The backend's verify tolerance for `op` (its table's `default` when the op has no entry). */
export const toleranceOf = (backend, op) => {
  const def = ak.getBackend(backend);
  return def.tolerances[op] ?? def.tolerances.default;
};
export const rnd = (shape, seed, scale = 1) => {
  const t = ak.random(shape, { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
};
export const maskOf = (shape, fn) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    data[f] = fn(...idx) ? 1 : 0;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return { data, shape };
};
export const tensorOf = (shape, fn) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    data[f] = fn(...idx);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return { data, shape };
};
export const at = (t, ...idx) => {
  let f = 0;
  for (let a = 0; a < idx.length; a++) f = f * t.shape[a] + idx[a];
  return t.data[f];
};
export const identity = (n) => tensorOf([n, n], (i, j) => (i === j ? 1 : 0));
