// Results and their comparison: a public-API result flattened into named typed arrays, compared
// within a tolerance (atol + rtol·|want|; non-finite values must match exactly).
import * as ak from 'attnkit';

/** Flatten a public-API result into named typed arrays. */
export function flatten(res) {
  if (res && res.data && ArrayBuffer.isView(res.data)) return { output: res.data };
  // Every tensor-valued field (the backward ops' dx, dValues, dka, ...), by name.
  const out = {};
  for (const [k, v] of Object.entries(res ?? {})) if (v && ArrayBuffer.isView(v.data)) out[k] = v.data;
  return out;
}

/**
 * topK is the one op whose output is a selection: with tied scores several index sets are correct,
 * so its indices are not compared with reference's; each reported index's score is recomputed from
 * the inputs the call accepted (`clean.args`) instead. null when fine, else a message.
 */
function checkSelection(got, clean) {
  // The args as the op saw them (any TensorLike representation), normalised to { data, shape }.
  // Half inputs (float16 / bfloat16) are widened: exact.
  const wide = (v, name) => {
    const t = ak.asFloatTensor(v, name);
    return t.dtype === 'float32' ? t : ak.toFloat32({ data: t.data, shape: t.shape, dtype: t.dtype });
  };
  const users = wide(clean.args[0], 'users'), items = wide(clean.args[1], 'items');
  const D = users.shape[1], k = clean.args[2];
  // The padding score is the worst of the order: -Infinity, or +Infinity for the k smallest.
  const pad = clean.args[3]?.largest === false ? Infinity : -Infinity;
  for (let i = 0; i < got.indices.length; i++) {
    const idx = got.indices[i], b = Math.floor(i / k);
    if (idx === -1) {
      if (got.scores[i] !== pad) return `topK: index -1 with score ${got.scores[i]}`;
      continue;
    }
    let s = 0;
    for (let d = 0; d < D; d++) s += users.data[b * D + d] * items.data[idx * D + d];
    if (Math.abs(s - got.scores[i]) > 1e-4 + 1e-4 * Math.abs(s)) return `topK: indices[${i}] = ${idx} has score ${s}, reported ${got.scores[i]}`;
  }
  return null;
}

/** null when close, else a message. topK: scores within tol, and each index's recomputed score matches its score. */
export function compareFlat(op, got, want, tol, clean) {
  const names = Object.keys(want);
  if (Object.keys(got).sort().join() !== names.sort().join()) return `outputs differ: got {${Object.keys(got)}} want {${names}}`;
  for (const n of names) {
    const g = got[n], w = want[n];
    if (g.length !== w.length) return `${n}: length ${g.length} vs ${w.length}`;
    if (op === 'topK' && n === 'indices') continue; // see checkSelection
    for (let i = 0; i < w.length; i++) {
      const a = g[i], b = w[i];
      if (Number.isFinite(a) && Number.isFinite(b)) {
        if (Math.abs(a - b) > tol.atol + tol.rtol * Math.abs(b)) return `${n}[${i}]: got ${a}, want ${b} (atol ${tol.atol}, rtol ${tol.rtol})`;
      } else if (!(Number.isNaN(b) ? Number.isNaN(a) : a === b)) return `${n}[${i}]: got ${a}, want ${b}`;
    }
  }
  return op === 'topK' && clean ? checkSelection(got, clean) : null;
}
