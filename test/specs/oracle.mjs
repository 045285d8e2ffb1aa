// An independent float64 sdpa, written straight from DESIGN.md's definition with plain loops (no
// code shared with src/): the reference backend is checked against it on random inputs, since
// `verify` on the reference backend would only compare reference with itself.
// Returns { output, weights, lse } as Float64Arrays.

/**
 * Tolerance of the composite ops against their oracles: they round at the same points as the op's
 * contract (float32 projections), but float64 sums in another order can move a rounding by an ulp
 * that later stages amplify. Far below any semantic error (a wrong head, mask or bias is O(1)).
 */
export const ORACLE_TOL = { atol: 1e-7, rtol: 2 ** -18 };

import { oracleHstuAttention, oracleHstuAttentionBackward } from './hstuOracle.mjs';

/** Index of [b, h, i, j] in a tensor broadcast to [B, H, L, S] (shape right-aligned, size-1 axes repeat). */
function bcastIndex(shape, idx4) {
  const off = 4 - shape.length;
  let f = 0;
  for (let a = 0; a < shape.length; a++) f = f * shape[a] + (shape[a] === 1 ? 0 : idx4[off + a]);
  return f;
}

/**
 * Softmax of float64 logits where -Infinity marks an excluded key: { p (0 there), lse }, or null
 * when every key is excluded.
 */
function softmax64(logits) {
  const m = Math.max(...logits);
  if (m === -Infinity) return null;
  let sum = 0;
  for (const x of logits) sum += Math.exp(x - m);
  return { p: logits.map((x) => Math.exp(x - m) / sum), lse: m + Math.log(sum) };
}

/**
 * Whether query i of batch b may see key j under the causal form and window of `opts`, from the
 * definitions: 'bottom-right' (and true) puts query i at key position i + len - L, where len is
 * the batch's valid key count; 'top-left' at i; { offset } at i + offset[b]. A window keeps keys
 * within [pos - left, pos + right] of that position (bottom-right when not causal, unless
 * `windowAlign` says otherwise).
 */
function visible(opts, b, i, j, L, len) {
  const c = opts.causal ?? false;
  let pos;
  if (c === 'top-left' || (c === false && opts.windowAlign === 'top-left')) pos = i;
  else if (typeof c === 'object') pos = i + (typeof c.offset === 'number' ? c.offset : c.offset[b]);
  else pos = i + len - L;
  if (c !== false && j > pos) return false;
  const w = opts.window ?? {};
  if (w.left !== undefined && j < pos - w.left) return false;
  if (w.right !== undefined && j > pos + w.right) return false;
  return true;
}

export function oracleSdpa(q, k, v, opts = {}) {
  const blhd = opts.layout === 'blhd';
  // index of element (b, h, t, c) of a [B,H,T,X] tensor stored in the layout's order
  const at = (t, b, h, i, c) => {
    const [B0, d1, d2, X] = t.shape;
    return blhd ? ((b * d1 + i) * d2 + h) * X + c : ((b * d1 + h) * d2 + i) * X + c;
  };
  const [B, Hq, L, D] = blhd ? [q.shape[0], q.shape[2], q.shape[1], q.shape[3]] : q.shape;
  const [Hkv, S] = blhd ? [k.shape[2], k.shape[1]] : [k.shape[1], k.shape[2]];
  const Dv = v.shape[3];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const cap = opts.softcap ?? 0;
  const output = new Float64Array(B * Hq * L * Dv);
  const weights = new Float64Array(B * Hq * L * S);
  const lse = new Float64Array(B * Hq * L);
  const logitsOut = new Float64Array(B * Hq * L * S);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hkv));
      const len = opts.keyLengths ? opts.keyLengths[b] : S;
      for (let i = 0; i < L; i++) {
        const logits = new Float64Array(S).fill(-Infinity);
        for (let j = 0; j < S; j++) {
          if (j >= len || !visible(opts, b, i, j, L, len)) continue;
          if (opts.mask && !opts.mask.data[bcastIndex(opts.mask.shape, [b, h, i, j])]) continue;
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q.data[at(q, b, h, i, c)] * k.data[at(k, b, hk, j, c)];
          let x = dot * scale;
          if (cap > 0) x = cap * Math.tanh(x / cap);
          logits[j] = x + (opts.bias ? opts.bias.data[bcastIndex(opts.bias.shape, [b, h, i, j])] : 0);
        }
        const sm = softmax64(logits);
        const row = (b * Hq + h) * L + i;
        logitsOut.set(logits, row * S);
        lse[row] = sm ? sm.lse : -Infinity;
        if (!sm) continue; // nothing to attend to: zeros out, zero weights
        for (let j = 0; j < S; j++) {
          if (logits[j] === -Infinity) continue; // excluded: contributes nothing (NaN in its v included)
          weights[row * S + j] = sm.p[j];
          for (let c = 0; c < Dv; c++) output[blhd ? ((b * L + i) * Hq + h) * Dv + c : row * Dv + c] += sm.p[j] * v.data[at(v, b, hk, j, c)];
        }
      }
    }
  return { output, weights, lse, logits: logitsOut };
}

/** x [rows, In] · w [In, Out] + b, summed in float64 and rounded to float32 (as a float32 op returns it). */
function linear32(x, rows, inDim, w, b, outDim) {
  const out = new Float32Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w.data[i * outDim + o];
      out[r * outDim + o] = s + (b ? b.data[o] : 0);
    }
  return out;
}

/** [B,T,H*X] token-major to a { data, shape: [B,H,T,X] } head-major tensor. */
function heads(x, B, T, H, X) {
  const data = new Float32Array(B * H * T * X);
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T; t++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < X; c++) data[((b * H + h) * T + t) * X + c] = x[((b * T + t) * H + h) * X + c];
  return { data, shape: [B, H, T, X] };
}

/**
 * multiHeadAttention from its definition: project (float32 results, as the op's contract has them),
 * split heads, oracleSdpa, merge heads, project. Returns { output, weights, lse }.
 */
export function oracleMha(query, key, value, p, opts) {
  const [B, L, E] = query.shape;
  const [, S, Ek] = key.shape;
  const Ev = value.shape[2];
  const Hq = opts.numHeads, Hkv = opts.numKvHeads ?? Hq;
  const D = p.wq.shape[1] / Hq, Dv = p.wv.shape[1] / Hkv, Eo = p.wo.shape[1];
  const q = heads(linear32(query.data, B * L, E, p.wq, p.bq, Hq * D), B, L, Hq, D);
  const k = heads(linear32(key.data, B * S, Ek, p.wk, p.bk, Hkv * D), B, S, Hkv, D);
  const v = heads(linear32(value.data, B * S, Ev, p.wv, p.bv, Hkv * Dv), B, S, Hkv, Dv);
  const att = oracleSdpa(q, k, v, opts);
  const merged = new Float32Array(B * L * Hq * Dv);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++)
      for (let i = 0; i < L; i++)
        for (let c = 0; c < Dv; c++) merged[((b * L + i) * Hq + h) * Dv + c] = att.output[((b * Hq + h) * L + i) * Dv + c];
  return { output: linear32(merged, B * L, Hq * Dv, p.wo, p.bo, Eo), weights: att.weights, lse: att.lse };
}

/** additiveAttention from its definition (query null = pooling, output [B,1,Dv]). Returns { output, weights }. */
export function oracleAdditive(query, keys, values, p, opts = {}) {
  const [B, S, Dk] = keys.shape;
  const Dv = values.shape[2];
  const L = query ? query.shape[1] : 1;
  const Dq = query ? query.shape[2] : 0;
  const A = p.v.shape[0];
  const output = new Float64Array(B * L * Dv);
  const weights = new Float64Array(B * L * S);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++) {
      const logits = new Float64Array(S).fill(-Infinity);
      for (let j = 0; j < S; j++) {
        if (opts.keyLengths && j >= opts.keyLengths[b]) continue;
        if (opts.mask && !opts.mask.data[bcastIndex(opts.mask.shape, [0, b, i, j])]) continue;
        let s = 0;
        for (let u = 0; u < A; u++) {
          let z = p.b.data[u];
          for (let c = 0; c < Dq; c++) z += query.data[(b * L + i) * Dq + c] * p.wq.data[c * A + u];
          for (let c = 0; c < Dk; c++) z += keys.data[(b * S + j) * Dk + c] * p.wk.data[c * A + u];
          s += p.v.data[u] * Math.tanh(z);
        }
        logits[j] = s;
      }
      const sm = softmax64(logits);
      if (!sm) continue; // nothing to attend to: zeros
      for (let j = 0; j < S; j++) {
        if (logits[j] === -Infinity) continue; // excluded: contributes nothing (NaN in its value included)
        weights[(b * L + i) * S + j] = sm.p[j];
        for (let c = 0; c < Dv; c++) output[(b * L + i) * Dv + c] += sm.p[j] * values.data[(b * S + j) * Dv + c];
      }
    }
  return { output, weights };
}

/**
 * topK from its definition: float64 dot scores rounded to float32, excluded items skipped, then
 * largest (default): descending, NaN first; largest false: ascending, NaN last (NaN is the
 * greatest value either way); ties to the lower index; -1 / -Inf (largest false: +Inf) padding.
 */
export function oracleTopK(users, items, k, opts = {}) {
  const [B, D] = users.shape;
  const N = items.shape[0];
  const largest = opts.largest ?? true;
  const indices = new Int32Array(B * k).fill(-1);
  const scores = new Float64Array(B * k).fill(largest ? -Infinity : Infinity);
  // A sort key per candidate: [NaN?, score in the wanted direction, index], compared in that order.
  const key = (x) => [Number.isNaN(x[1]) === largest ? 0 : 1, Number.isNaN(x[1]) ? 0 : largest ? -x[1] : x[1], x[0]];
  const cmp = (x, y) => {
    const a = key(x), b = key(y);
    for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
    return 0;
  };
  for (let b = 0; b < B; b++) {
    const skip = new Set(opts.exclude?.[b] ?? []);
    const cand = [];
    for (let n = 0; n < N; n++) {
      if (skip.has(n)) continue;
      let s = 0;
      for (let c = 0; c < D; c++) s += users.data[b * D + c] * items.data[n * D + c];
      cand.push([n, Math.fround(s)]);
    }
    cand.sort(cmp);
    for (let r = 0; r < Math.min(k, cand.length); r++) [indices[b * k + r], scores[b * k + r]] = cand[r];
  }
  return { indices, scores };
}

/**
 * targetAttention (DIN activation unit) from its definition: per valid history item an MLP over
 * [h, t, h-t, h*t] (hidden activation relu | sigmoid | prelu with slope alpha, default 0.25; last
 * layer width 1, no activation) gives a_j; output Σ a_j h_j, or with softmax-normalised a_j.
 */
export function oracleTarget(target, history, params, opts = {}) {
  const [B, S, D] = history.shape;
  const act = opts.activation ?? 'sigmoid';
  const output = new Float64Array(B * D);
  const weights = new Float64Array(B * S);
  for (let b = 0; b < B; b++) {
    const len = opts.keyLengths ? opts.keyLengths[b] : S;
    const a = new Float64Array(S).fill(-Infinity);
    for (let j = 0; j < len; j++) {
      const h = (d) => history.data[(b * S + j) * D + d], t = (d) => target.data[b * D + d];
      let x = [];
      for (let d = 0; d < D; d++) x[d] = h(d);
      for (let d = 0; d < D; d++) x[D + d] = t(d);
      for (let d = 0; d < D; d++) x[2 * D + d] = h(d) - t(d);
      for (let d = 0; d < D; d++) x[3 * D + d] = h(d) * t(d);
      params.layers.forEach((layer, l) => {
        const [inDim, outDim] = layer.w.shape;
        const y = [];
        for (let o = 0; o < outDim; o++) {
          let s = layer.b.data[o];
          for (let i = 0; i < inDim; i++) s += x[i] * layer.w.data[i * outDim + o];
          if (l < params.layers.length - 1) {
            const slope = layer.alpha === undefined ? 0.25 : typeof layer.alpha === 'number' ? layer.alpha : layer.alpha.data[o];
            s = act === 'relu' ? Math.max(0, s) : act === 'sigmoid' ? 1 / (1 + Math.exp(-s)) : s >= 0 ? s : slope * s;
          }
          y[o] = s;
        }
        x = y;
      });
      a[j] = x[0];
    }
    let w = a.map((v, j) => (j < len ? v : 0));
    if (opts.normalize === 'softmax') w = softmax64(a)?.p ?? new Float64Array(S);
    for (let j = 0; j < len; j++) {
      weights[b * S + j] = w[j];
      for (let d = 0; d < D; d++) output[b * D + d] += w[j] * history.data[(b * S + j) * D + d];
    }
  }
  return { output, weights };
}

/** The rows x cols view of a tensor over its last axis. */
const rowsCols = (t) => [t.data.length / (t.shape.at(-1) || 1), t.shape.at(-1) ?? 1];

/** softmax over the last axis in float64; mask (broadcast, right-aligned) false or a -Infinity logit excludes; an empty row is zeros. */
export function oracleSoftmax(x, mask) {
  const [R, C] = rowsCols(x);
  const out = new Float64Array(R * C);
  const rank = x.shape.length;
  for (let r = 0; r < R; r++) {
    const logits = new Float64Array(C);
    for (let c = 0; c < C; c++) {
      let allowed = true;
      if (mask) {
        // flat index of (r, c) in x's shape, then right-aligned into the mask's shape
        let rem = r * C + c, f = 0, stride = 1;
        const idx = new Array(rank);
        for (let a = rank - 1; a >= 0; a--) { idx[a] = rem % x.shape[a]; rem = Math.floor(rem / x.shape[a]); }
        for (let a = mask.shape.length - 1, xa = rank - 1; a >= 0; a--, xa--) {
          f += (mask.shape[a] === 1 ? 0 : idx[xa]) * stride;
          stride *= mask.shape[a];
        }
        allowed = !!mask.data[f];
      }
      logits[c] = allowed ? x.data[r * C + c] : -Infinity;
    }
    const sm = softmax64(Array.from(logits));
    if (sm) for (let c = 0; c < C; c++) out[r * C + c] = logits[c] === -Infinity ? 0 : sm.p[c];
  }
  return { output: out };
}

/**
 * layerNorm over the last axis in float64: (x - mean) / sqrt(biased var + eps) · gamma + beta;
 * with `returnStats`, also each row's mean and invStd = 1 / sqrt(biased var + eps).
 */
export function oracleLayerNorm(x, gamma, beta, eps = 1e-5, returnStats = false) {
  const [R, C] = rowsCols(x);
  const out = new Float64Array(R * C);
  const means = new Float64Array(R);
  const invStds = new Float64Array(R);
  for (let r = 0; r < R; r++) {
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x.data[r * C + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[r * C + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / C + eps);
    means[r] = mean;
    invStds[r] = inv;
    for (let c = 0; c < C; c++) out[r * C + c] = (x.data[r * C + c] - mean) * inv * (gamma ? gamma.data[c] : 1) + (beta ? beta.data[c] : 0);
  }
  return returnStats ? { output: out, mean: means, invStd: invStds } : { output: out };
}

/**
 * Φ(x), the standard normal CDF, by composite Simpson integration of the density (no erf): for
 * x <= 0, Φ(x) = ∫_0^12 φ(x - s) ds (the tail past 12 is below 1e-32 of it); Φ(x) = 1 - Φ(-x)
 * above. Relative error below 1e-9 wherever Φ(x) is above float32's smallest normal.
 */
export function normalCdf(x) {
  if (Number.isNaN(x)) return NaN;
  if (x > 0) return 1 - normalCdf(-x);
  if (x === -Infinity) return 0;
  const n = 3000, h = 12 / n;
  const f = (s) => Math.exp(-((x - s) ** 2) / 2);
  let sum = f(0) + f(12);
  for (let i = 1; i < n; i++) sum += (i % 2 ? 4 : 2) * f(i * h);
  return (sum * h) / 3 / Math.sqrt(2 * Math.PI);
}

/** gelu: x·Φ(x) (Φ by integration), or the tanh form 0.5x(1 + tanh(√(2/π)(x + 0.044715x³))). */
export function oracleGelu(x, approximate = 'none') {
  const out = Float64Array.from(x.data, (v) => {
    if (approximate === 'tanh') return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
    return v === Infinity ? Infinity : v * normalCdf(v);
  });
  return { output: out };
}

/** silu: x·sigmoid(x), with its limits silu(+Inf) = +Inf and silu(-Inf) = 0. */
export function oracleSilu(x) {
  return { output: Float64Array.from(x.data, (v) => (v === -Infinity ? 0 : v === Infinity ? Infinity : v / (1 + Math.exp(-v)))) };
}

/** linear: x [..., In] · w [In, Out] + b in float64. */
export function oracleLinear(x, w, b) {
  const [inDim, outDim] = w.shape;
  const rows = x.data.length / inDim;
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = b ? b.data[o] : 0;
      for (let i = 0; i < inDim; i++) s += x.data[r * inDim + i] * w.data[i * outDim + o];
      out[r * outDim + o] = s;
    }
  return { output: out };
}

/**
 * The transformer encoder layer from its definition, rounding to float32 where the op's contract
 * has float32 tensors (after attention, each residual sum, each norm, the FFN hidden and output):
 * post-norm x = LN1(x + MHA(x)); x = LN2(x + FFN(x)); pre-norm x = x + MHA(LN1(x)); x = x + FFN(LN2(x)).
 */
export function oracleEncoder(x, p, opts) {
  const [B, L, E] = x.shape;
  const f32 = (a) => Float32Array.from(a);
  const t = (data) => ({ data, shape: [B, L, E] });
  const ln = (v, n) => f32(oracleLayerNorm(t(v), n.gamma, n.beta, opts.eps ?? 1e-5).output);
  // The encoder's queries are its keys: causal and windows are top-left (position i is key i).
  const limits = { causal: opts.causal ? 'top-left' : false, windowAlign: 'top-left', window: opts.window ?? undefined, softcap: opts.softcap };
  const mha = (v) => f32(oracleMha(t(v), t(v), t(v), p.attention, { numHeads: opts.numHeads, keyLengths: opts.keyLengths, ...limits }).output);
  const add = (a, b2) => Float32Array.from(a, (v, i) => v + b2[i]);
  const ffn = (v) => {
    const F = p.ffn.w1.shape[1];
    const h = oracleLinear(t(v), p.ffn.w1, p.ffn.b1).output.map((s) => {
      const u = Math.fround(s);
      return (opts.activation ?? 'relu') === 'relu' ? (u > 0 ? u : u < 0 ? 0 : u) : oracleGelu({ data: [u] }).output[0];
    });
    return f32(oracleLinear({ data: f32(h), shape: [B, L, F] }, p.ffn.w2, p.ffn.b2).output);
  };
  if ((opts.norm ?? 'post') === 'post') {
    const x1 = ln(add(x.data, mha(x.data)), p.norm1);
    return { output: ln(add(x1, ffn(x1)), p.norm2) };
  }
  const x1 = add(x.data, mha(ln(x.data, p.norm1)));
  return { output: add(x1, ffn(ln(x1, p.norm2))) };
}

// ---- Backward oracles (docs/TRAINING.md), float64, written from the derivatives (plain loops) ----

/**
 * softmax backward from its output: dx_ij = Σ_k dy_ik·∂y_ik/∂x_ij with ∂y_k/∂x_j = y_k(δ_kj − y_j).
 * A row holding a non-finite dy or y has no such sum; there the contract's formula
 * y ∘ (dy − Σ dy∘y) (docs/TRAINING.md) is taken in IEEE arithmetic, which is what it specifies.
 */
export function oracleSoftmaxBackward(dy, y) {
  const [R, C] = rowsCols(y);
  const dx = new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    let finite = true;
    for (let k = 0; k < C; k++) finite &&= Number.isFinite(dy.data[r * C + k]) && Number.isFinite(y.data[r * C + k]);
    if (!finite) {
      let dot = 0;
      for (let k = 0; k < C; k++) dot += dy.data[r * C + k] * y.data[r * C + k];
      for (let j = 0; j < C; j++) dx[r * C + j] = y.data[r * C + j] * (dy.data[r * C + j] - dot);
      continue;
    }
    for (let j = 0; j < C; j++) {
      let s = 0;
      for (let k = 0; k < C; k++) s += dy.data[r * C + k] * y.data[r * C + k] * ((k === j ? 1 : 0) - y.data[r * C + j]);
      dx[r * C + j] = s;
    }
  }
  return { output: dx };
}

/** The standard normal density. */
const normalPdf = (x) => Math.exp(-(x * x) / 2) / Math.sqrt(2 * Math.PI);

/**
 * gelu'(x): exact d/dx[x·Φ(x)] = Φ(x) + x·φ(x) (Φ by integration, normalCdf); tanh form
 * d/dx[0.5x(1 + tanh u)] = 0.5(1 + tanh u) + 0.5x·sech²(u)·u', u = √(2/π)(x + 0.044715x³). At
 * ±Infinity the limits 1 and 0.
 */
export function geluDerivative(x, approximate = 'none') {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  if (approximate === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    const u = c * (x + 0.044715 * x ** 3);
    const sech = 1 / Math.cosh(u);
    return 0.5 * (1 + Math.tanh(u)) + 0.5 * x * sech * sech * c * (1 + 3 * 0.044715 * x * x);
  }
  return normalCdf(x) + x * normalPdf(x);
}

/** gelu backward: dy · gelu'(x). */
export function oracleGeluBackward(dy, x, approximate = 'none') {
  return { output: Float64Array.from(x.data, (v, i) => dy.data[i] * geluDerivative(v, approximate)) };
}

/** silu'(x) = σ(x)·(1 + x·(1 − σ(x))), σ(x) = 1/(1 + e^−x); the limits 1 and 0 at ±Infinity. */
export function siluDerivative(x) {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const s = 1 / (1 + Math.exp(-x));
  return s * (1 + x * (1 - s));
}

/** silu backward: dy · silu'(x). */
export function oracleSiluBackward(dy, x) {
  return { output: Float64Array.from(x.data, (v, i) => dy.data[i] * siluDerivative(v)) };
}

/**
 * layerNorm backward from given statistics (mean, invStd per row), by the Jacobian of
 * y_k = x̂_k·γ_k + β_k with x̂_k = (x_k − mean)·invStd: ∂x̂_k/∂x_j = invStd·(δ_kj − 1/C − x̂_k·x̂_j/C),
 * so dx_j = Σ_k dy_k·γ_k·∂x̂_k/∂x_j; dGamma = Σ_rows dy·x̂, dBeta = Σ_rows dy. gamma null: γ = 1.
 */
export function oracleLayerNormBackward(dy, x, gamma, stats) {
  const [R, C] = rowsCols(x);
  const dx = new Float64Array(R * C);
  const dGamma = new Float64Array(C);
  const dBeta = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const m = stats.mean.data[r], inv = stats.invStd.data[r];
    const xh = Array.from({ length: C }, (_, k) => (x.data[r * C + k] - m) * inv);
    for (let j = 0; j < C; j++) {
      let s = 0;
      for (let k = 0; k < C; k++) s += dy.data[r * C + k] * (gamma ? gamma.data[k] : 1) * inv * ((k === j ? 1 : 0) - 1 / C - (xh[k] * xh[j]) / C);
      dx[r * C + j] = s;
      dGamma[j] += dy.data[r * C + j] * xh[j];
      dBeta[j] += dy.data[r * C + j];
    }
  }
  return { dx, dGamma, dBeta };
}

/** linear backward: dx[r,i] = Σ_o dy[r,o]·w[i,o], dW[i,o] = Σ_r x[r,i]·dy[r,o], db[o] = Σ_r dy[r,o]. */
export function oracleLinearBackward(dy, x, w) {
  const [inDim, outDim] = w.shape;
  const rows = inDim > 0 ? x.data.length / inDim : dy.data.length / (outDim || 1);
  const dx = new Float64Array(rows * inDim);
  const dW = new Float64Array(inDim * outDim);
  const db = new Float64Array(outDim);
  for (let i = 0; i < inDim; i++)
    for (let o = 0; o < outDim; o++) {
      let s = 0;
      for (let r = 0; r < rows; r++) s += x.data[r * inDim + i] * dy.data[r * outDim + o];
      dW[i * outDim + o] = s;
    }
  for (let o = 0; o < outDim; o++) {
    let s = 0;
    for (let r = 0; r < rows; r++) s += dy.data[r * outDim + o];
    db[o] = s;
  }
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < inDim; i++) {
      let s = 0;
      for (let o = 0; o < outDim; o++) s += dy.data[r * outDim + o] * w.data[i * outDim + o];
      dx[r * inDim + i] = s;
    }
  return { dx, dW, db };
}

/**
 * sdpa's backward in float64, from docs/TRAINING.md's definition with plain loops: for each query
 * row (b,h,i) that saw something (lse > -Infinity) and each key j it may see (the forward's
 * exclusions: `visible`, key lengths, mask, a -Infinity logit), with `s = scale·q·k`,
 * `c = softcap·tanh(s/softcap)` (or s), `z = c + bias`: `P = exp(z - lse)` from the given lse,
 * `dZ = P·(dOut·v - dOut·out)` with the given out, `dS = dZ·(1 - (c/softcap)²)`, then
 * `dq += scale·dS·k`, `dk += scale·dS·q`, `dv += P·dOut`, `dBias[the bias element] += dZ`.
 * Tensors are plain `{ data, shape }` in the layout's order; mask and bias broadcast
 * (right-aligned) as in oracleSdpa. Returns { dq, dk, dv, dBias? } as Float64Arrays.
 */
export function oracleSdpaBackward(dOut, q, k, v, out, lse, opts = {}) {
  const blhd = opts.layout === 'blhd';
  // index of element (b, h, t, c) of a [B,H,T,X] tensor stored in the layout's order
  const at = (t, b, h, i, c) => {
    const [, d1, d2, X] = t.shape;
    return blhd ? ((b * d1 + i) * d2 + h) * X + c : ((b * d1 + h) * d2 + i) * X + c;
  };
  const [B, Hq, L, D] = blhd ? [q.shape[0], q.shape[2], q.shape[1], q.shape[3]] : q.shape;
  const [Hkv, S] = blhd ? [k.shape[2], k.shape[1]] : [k.shape[1], k.shape[2]];
  const Dv = v.shape[3];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const cap = opts.softcap ?? 0;
  const dq = new Float64Array(q.data.length);
  const dk = new Float64Array(k.data.length);
  const dv = new Float64Array(v.data.length);
  const dBias = opts.returnDBias ? new Float64Array(opts.bias.data.length) : null;
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hkv));
      const len = opts.keyLengths ? opts.keyLengths[b] : S;
      for (let i = 0; i < L; i++) {
        const m = lse.data[(b * Hq + h) * L + i];
        if (m === -Infinity) continue; // the row saw nothing: no gradient through it
        let delta = 0;
        for (let c = 0; c < Dv; c++) delta += dOut.data[at(dOut, b, h, i, c)] * out.data[at(out, b, h, i, c)];
        for (let j = 0; j < S; j++) {
          if (j >= len || !visible(opts, b, i, j, L, len)) continue;
          if (opts.mask && !opts.mask.data[bcastIndex(opts.mask.shape, [b, h, i, j])]) continue;
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q.data[at(q, b, h, i, c)] * k.data[at(k, b, hk, j, c)];
          const s = dot * scale;
          const capped = cap > 0 ? cap * Math.tanh(s / cap) : s;
          const dcds = cap > 0 ? 1 - (capped / cap) ** 2 : 1;
          const bi = opts.bias ? bcastIndex(opts.bias.shape, [b, h, i, j]) : -1;
          const z = capped + (opts.bias ? opts.bias.data[bi] : 0);
          if (z === -Infinity) continue; // excluded: nothing read from its k or v
          const p = Math.exp(z - m);
          let dp = 0;
          for (let c = 0; c < Dv; c++) dp += dOut.data[at(dOut, b, h, i, c)] * v.data[at(v, b, hk, j, c)];
          const dz = p * (dp - delta);
          if (dBias) dBias[bi] += dz;
          const ds = dz * dcds;
          for (let c = 0; c < D; c++) {
            dq[at(q, b, h, i, c)] += scale * ds * k.data[at(k, b, hk, j, c)];
            dk[at(k, b, hk, j, c)] += scale * ds * q.data[at(q, b, h, i, c)];
          }
          for (let c = 0; c < Dv; c++) dv[at(v, b, hk, j, c)] += p * dOut.data[at(dOut, b, h, i, c)];
        }
      }
    }
  return dBias ? { dq, dk, dv, dBias } : { dq, dk, dv };
}

/**
 * The backward of additive attention's scores, softmax and weighted sum from its definition, in
 * float64: with P the given weights, dP_ij = dOut_i·values_j, dE_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij'),
 * t_ija = tanh(qa_ia + ka_ja) (qa null: tanh(ka_ja)): dValues_j = Σ_i P_ij dOut_i, dqa_ia =
 * Σ_j dE_ij v_a (1 − t²), dka_ja = Σ_i dE_ij v_a (1 − t²), dv_a = Σ_ij dE_ij t_ija. A pair with
 * P = 0 (an excluded key) or dE = 0 contributes nothing (its projections are never read).
 */
export function oracleAdditiveScoresBackward(dOut, values, weights, qa, ka, v) {
  const [B, L, S] = weights.shape;
  const Dv = values.shape[2], A = v.shape[0];
  const dValues = new Float64Array(B * S * Dv), dka = new Float64Array(B * S * A), dv = new Float64Array(A);
  const dqa = qa ? new Float64Array(B * L * A) : null;
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++) {
      const P = (j) => weights.data[(b * L + i) * S + j];
      const dP = [];
      let delta = 0;
      for (let j = 0; j < S; j++) {
        if (P(j) === 0) continue;
        dP[j] = 0;
        for (let c = 0; c < Dv; c++) {
          dP[j] += dOut.data[(b * L + i) * Dv + c] * values.data[(b * S + j) * Dv + c];
          dValues[(b * S + j) * Dv + c] += P(j) * dOut.data[(b * L + i) * Dv + c];
        }
        delta += P(j) * dP[j];
      }
      for (let j = 0; j < S; j++) {
        if (P(j) === 0) continue;
        const e = P(j) * (dP[j] - delta);
        if (e === 0) continue;
        for (let a = 0; a < A; a++) {
          const t = Math.tanh((qa ? qa.data[(b * L + i) * A + a] : 0) + ka.data[(b * S + j) * A + a]);
          if (dqa) dqa[(b * L + i) * A + a] += e * v.data[a] * (1 - t * t);
          dka[(b * S + j) * A + a] += e * v.data[a] * (1 - t * t);
          dv[a] += e * t;
        }
      }
    }
  return { dValues, dka, dv, ...(dqa ? { dqa } : {}) };
}

/**
 * The gradient of an embedding lookup `out[n] = table[indices[n]]`, from the definition: each
 * position adds its dOut row into the table row its index names (so duplicates sum); positions
 * whose index is the padding item (PyTorch padding_idx, negative counting from the end) add
 * nothing. dOut `[..., E]` with as many leading rows as indices. Returns `{ output }`, `[numItems*E]`.
 */
export function oracleEmbeddingBackward(dOut, indices, numItems, opts = {}) {
  const E = dOut.shape[dOut.shape.length - 1];
  const pad = opts.paddingIndex === undefined ? -1 : opts.paddingIndex < 0 ? numItems + opts.paddingIndex : opts.paddingIndex;
  const table = new Float64Array(numItems * E);
  for (let n = 0; n < indices.length; n++) {
    if (indices[n] === pad) continue;
    for (let e = 0; e < E; e++) table[indices[n] * E + e] += dOut.data[n * E + e];
  }
  return { output: table };
}

/**
 * One AdamW step as torch.optim.AdamW's single-tensor loop takes it (decoupled weight decay), in
 * float64: t = step + 1; p *= 1 - lr·wd; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; p -= lr·m̂ /
 * (sqrt(v̂) + eps) with m̂ = m/(1-b1^t), v̂ = v/(1-b2^t). The moments are float32 state in attnkit's
 * contract, so m and v are rounded to float32 before the update reads them. Does not touch its
 * arguments. Returns `{ output, m, v }` (the new param, m, v).
 */
export function oracleAdamStep(param, grad, state, opts = {}) {
  const lr = opts.lr ?? 1e-3, b1 = opts.beta1 ?? 0.9, b2 = opts.beta2 ?? 0.999, eps = opts.eps ?? 1e-8, wd = opts.weightDecay ?? 1e-2;
  const t = state.step + 1;
  const n = param.data.length;
  const out = { output: new Float64Array(n), m: new Float64Array(n), v: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const g = opts.maximize ? -grad.data[i] : grad.data[i];
    let p = param.data[i] * (1 - lr * wd);
    const m = Math.fround(b1 * state.m[i] + (1 - b1) * g);
    const v = Math.fround(b2 * state.v[i] + (1 - b2) * g * g);
    const mHat = m / (1 - Math.pow(b1, t));
    const vHat = v / (1 - Math.pow(b2, t));
    p -= (lr * mHat) / (Math.sqrt(vHat) + eps);
    out.output[i] = p;
    out.m[i] = m;
    out.v[i] = v;
  }
  return out;
}

/**
 * hstuOracle.mjs's inputs from an HSTU call's public arguments (jagged q, k, v and the options):
 * the flat arrays, the sizes and the option flags it takes (per-head tables told by their rank,
 * numBuckets by the time table's length).
 */
export function hstuOracleArgs(q, k, v, o = {}) {
  const [, H, D] = q.values.shape ?? q.values.dims;
  const Dv = (v.values.shape ?? v.values.dims)[2];
  const pb = o.positionBias ?? null;
  const tb = o.timeBias ?? null;
  const opts = {
    maxLength: o.maxLength,
    alpha: o.alpha,
    normalization: o.normalization,
    causal: o.causal,
    numTargets: o.numTargets ?? null,
    maxAttnLen: o.maxAttnLen,
    contextualLength: o.contextualLength,
    positionBias: pb ? pb.data : null,
    positionBiasPerHead: pb ? (pb.shape ?? pb.dims).length === 2 : false,
    timestamps: o.timestamps ? Float64Array.from(o.timestamps) : null,
    timeBias: tb ? tb.data : null,
    timeBiasPerHead: tb ? (tb.shape ?? tb.dims).length === 2 : false,
    numBuckets: tb ? (tb.shape ?? tb.dims)[(tb.shape ?? tb.dims).length - 1] - 1 : 0,
  };
  for (const key of Object.keys(opts)) if (opts[key] === undefined) delete opts[key];
  return { q: q.values.data, k: k.values.data, v: v.values.data, offsets: q.offsets, H, D, Dv, opts };
}

/**
 * Every op's oracle over the op's own call arguments (as the descriptors' cases give them):
 * `ORACLES[op](args)` is `{ output, weights?, lse? }` (topK: `{ indices, scores }`). The reference
 * backend is checked against these, since verify on it would compare reference with itself.
 */
export const ORACLES = {
  sdpa: ([q, k, v, o]) => oracleSdpa(q, k, v, o ?? {}),
  multiHeadAttention: ([q, k, v, p, o]) => oracleMha(q, k, v, p, o),
  additiveAttention: ([q, k, v, p, o]) => oracleAdditive(q, k, v, p, o ?? {}),
  targetAttention: ([t, h, p, o]) => oracleTarget(t, h, p, o ?? {}),
  transformerEncoderLayer: ([x, p, o]) => oracleEncoder(x, p, o),
  softmax: ([x, o]) => oracleSoftmax(x, o?.mask ?? null),
  layerNorm: ([x, g, b, o]) => oracleLayerNorm(x, g ?? null, b ?? null, typeof o === 'number' ? o : (o?.eps ?? 1e-5), typeof o === 'object' && o?.returnStats === true),
  linear: ([x, w, b]) => oracleLinear(x, w, b ?? null),
  gelu: ([x, o]) => oracleGelu(x, o?.approximate ?? 'none'),
  silu: ([x]) => oracleSilu(x),
  topK: ([u, it, k, o]) => oracleTopK(u, it, k, o ?? {}),
  softmaxBackward: ([dy, y]) => oracleSoftmaxBackward(dy, y),
  layerNormBackward: ([dy, x, g, st]) => oracleLayerNormBackward(dy, x, g ?? null, st),
  linearBackward: ([dy, x, w]) => oracleLinearBackward(dy, x, w),
  geluBackward: ([dy, x, o]) => oracleGeluBackward(dy, x, o?.approximate ?? 'none'),
  siluBackward: ([dy, x]) => oracleSiluBackward(dy, x),
  sdpaBackward: ([g, q, k, v, out, lse, o]) => oracleSdpaBackward(g, q, k, v, out, lse, o ?? {}),
  additiveScoresBackward: ([g, vals, w, qa, ka, v]) => oracleAdditiveScoresBackward(g, vals, w, qa ?? null, ka, v),
  embeddingBackward: ([d, idx, n, o]) => oracleEmbeddingBackward(d, idx, n, o ?? {}),
  adamStep: ([p, g, s, o]) => oracleAdamStep(p, g, s, o ?? {}),
  hstuAttention: ([q, k, v, o]) => {
    const a = hstuOracleArgs(q, k, v, o ?? {});
    return { values: oracleHstuAttention(a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, a.opts) };
  },
  hstuAttentionBackward: ([g, q, k, v, o]) => {
    const a = hstuOracleArgs(q, k, v, o ?? {});
    const r = oracleHstuAttentionBackward(g.values.data, a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, a.opts);
    const out = { dq: r.dq, dk: r.dk, dv: r.dv };
    if (r.dPositionBias) out.dPositionBias = r.dPositionBias;
    if (r.dTimeBias) out.dTimeBias = r.dTimeBias;
    return out;
  },
};
