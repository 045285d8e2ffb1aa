/**
 * The gpu pipeline of `hstuAttentionBackward`. Browser-compatible.
 *
 * Per-pair values are materialised without padding to the longest sequence: the pairs of each
 * sequence b, head h and query row i (n_b keys) form a "pair row" stored in `ceil(n_b / W)`
 * texture rows of width W (W a power of two chosen per batch to waste least; the waste is under W
 * slots per pair row), pair rows back to back, sequence after sequence. So a pair texture holds
 * about `H·Σ n_b²` values, bounded by `MAX_OUTPUT_VALUES` (2^25) like sdpaBackward's P
 * ({@link GpuLimitError}). Kernels: the logits z and dZ = (dOut_i·v_j)/norm·SiLU'(z) per pair
 * (0 where M hides the pair; nothing is read there), then dq over each row's keys, dk and dv over
 * each key's rows (visible pairs only: NaN in a hidden position does not leak), dPositionBias per
 * diagonal and dTimeBias per bucket (each over groups of 64 rows, then summed over the groups).
 * dTimeBias visits each bucket's keys directly: the keys of a bucket are two runs of the
 * sequence's timestamps in sorted order (see hstuAttention.ts), so the work is the pair count,
 * not pairs times buckets.
 *
 * @module
 */
import type { HstuAttentionBackwardArgs, HstuAttentionBackwardResult, Widened } from '../../kernels';
import { GPU_MAX_OUTPUT_VALUES, GpuLimitError, fn, type Arg, type Runtime, type Scope } from './runtime';
import { scoped, texture, type Src } from './pipeline';
import type { GpuJsTexture } from './host';
import { hstuPlan, logitLines, planArgs, rowLines, siluLines, visibleLines, type HstuPlan } from './hstuAttention';

/** Rows per group of the bias-gradient kernels (each thread sums one group, then the groups are summed). */
const GROUP = 64;
/** Entries one thread of the group sum adds at most (sums of 64-term blocks); more take several passes. */
const PASS = 1024;

/** The pair layout: width W, rows R, per-row (pair row base, texture rows per pair row) and per texture row (t, h, chunk). */
interface Pairs {
  W: number;
  R: number;
  NCH: number;
  rb: Float32Array;
  pr: Float32Array;
}

function pairLayout(p: HstuPlan, offsets: Int32Array, B: number): Pairs {
  const { H } = p;
  let best = 0;
  let bestSlots = Infinity;
  for (const W of [4, 8, 16, 32, 64, 128]) {
    let slots = 0;
    for (let b = 0; b < B; b++) {
      const n = offsets[b + 1] - offsets[b];
      slots += H * n * Math.ceil(n / W) * W;
    }
    if (slots <= bestSlots) {
      best = W;
      bestSlots = slots;
    }
  }
  const W = best;
  if (bestSlots > GPU_MAX_OUTPUT_VALUES) {
    throw new GpuLimitError('MAX_OUTPUT_VALUES', `hstuAttentionBackward on gpu materialises its per-pair values (H·Σ n_b² = ${bestSlots} slots with rows of ${W}), more than the ${GPU_MAX_OUTPUT_VALUES} (2^25) one kernel output is verified to read back correctly; split the batch or use another backend`);
  }
  const R = bestSlots / W;
  const rb = new Float32Array(2 * p.T);
  const pr = new Float32Array(3 * Math.max(R, 1));
  let base = 0;
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    const n = offsets[b + 1] - o;
    const cpr = Math.ceil(n / W);
    for (let t = o; t < o + n; t++) {
      rb[2 * t] = base;
      rb[2 * t + 1] = cpr;
    }
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < cpr; c++) {
          const y = base + (h * n + i) * cpr + c;
          pr.set([o + i, h, c], 3 * y);
        }
      }
    }
    base += H * n * cpr;
  }
  return { W, R, NCH: Math.ceil(p.NM / W), rb, pr };
}

/** Rows grouped for the bias gradients: sequences longest first, rows concatenated, groups of GROUP (-1 pads the last). */
function rowGroups(offsets: Int32Array, B: number, T: number): { pm: Float32Array; gm: Float32Array; NG: number } {
  const seqs = Array.from({ length: B }, (_, b) => b).sort((x, y) => offsets[y + 1] - offsets[y] - (offsets[x + 1] - offsets[x]) || x - y);
  const NG = Math.max(1, Math.ceil(T / GROUP));
  const pm = new Float32Array(NG * GROUP).fill(-1);
  const gm = new Float32Array(NG);
  let s = 0;
  for (const b of seqs) {
    const n = offsets[b + 1] - offsets[b];
    for (let t = offsets[b]; t < offsets[b + 1]; t++) {
      if (s % GROUP === 0) gm[s / GROUP] = n;
      pm[s++] = t;
    }
  }
  return { pm, gm, NG };
}

/** Sum a `[X, Y, Z]` texture over z (blocks of 64 terms, at most PASS per thread per pass): `[X, Y, 1]`. */
function sumOverZ(rt: Runtime, scope: Scope, t: GpuJsTexture, X: number, Y: number, Z: number): GpuJsTexture {
  const src = fn(['a'], `  let s = 0.0;
  let blk = 0.0;
  let n = 0;
  for (let r = 0; r < this.constants.CH; r++) {
    let z = this.thread.z * this.constants.CH + r;
    if (z >= this.constants.ZIN) { break; }
    blk += a[z][this.thread.y][this.thread.x];
    n = n + 1;
    if (n == 64) { s += blk; blk = 0.0; n = 0; }
  }
  return s + blk;`);
  let cur = t;
  let z = Z;
  while (z > 1) {
    const next = Math.ceil(z / PASS);
    cur = rt.run(scope, { name: 'hstuAttentionBackward.sum', src, output: [X, Y, next], constants: { CH: PASS, ZIN: z } }, [cur]);
    z = next;
  }
  return cur;
}

/** hstuAttentionBackward on the gpu: dq, dk, dv, and dPositionBias / dTimeBias when their bias is given. */
export function hstuAttentionBackwardGpu(rt: Runtime, a: Widened<HstuAttentionBackwardArgs>): HstuAttentionBackwardResult {
  const p = hstuPlan(a, 'hstuAttentionBackward');
  const { T, H, D, Dv, NM, K } = p;
  const res: { dq: Float32Array; dk: Float32Array; dv: Float32Array; dPositionBias?: Float32Array; dTimeBias?: Float32Array } = {
    dq: new Float32Array(T * H * D),
    dk: new Float32Array(T * H * D),
    dv: new Float32Array(T * H * Dv),
  };
  if (a.positionBias) res.dPositionBias = new Float32Array(a.positionBias.length);
  if (a.timeBias) res.dTimeBias = new Float32Array(a.timeBias.length);
  if (T * H === 0) return res;
  const pairs = pairLayout(p, a.offsets, a.B);
  const { W, R, NCH } = pairs;
  return scoped((scope) => {
    // An empty width (D or Dv = 0) is uploaded as one zero column: its loops run 0 times.
    const tex = (data: Float32Array, w: number): GpuJsTexture => texture(rt, scope, w === 0 ? new Float32Array(H * T) : data, [Math.max(w, 1), H, T]);
    const q = tex(a.q, D);
    const k = tex(a.k, D);
    const v = tex(a.v, Dv);
    const dy = tex(a.dOut, Dv);
    const { params, args } = planArgs(rt, p);
    const prA = rt.input(pairs.pr, [3, Math.max(R, 1)]);
    const rbA = rt.input(pairs.rb, [2, T]);
    const consts = { S: NM, D, DV: Dv, W, NCH, H };
    // The thread's pair: texture row y holds chunk c of the pair row of (row t, head h).
    const pairHead = `  let x = this.thread.x;
  let y = this.thread.y;
  let t = pr[y][0];
  let h = pr[y][1];
  let c = pr[y][2];
${rowLines('t')}
  let j = c * this.constants.W + x;
  if (j >= n) { return 0.0; }
${visibleLines(p, 'i', 'j', 'vis')}
  if (vis < 0.5) { return 0.0; }`;
    const zt = rt.run(scope, { name: 'hstuAttentionBackward.z', src: fn(['q', 'k', 'pr', ...params], `${pairHead}\n${logitLines(p, 't', 'h', 'i', 'j', 'o')}\n  return zz;`), output: [W, R, 1], constants: consts }, [q, k, prA, ...args] as Src[]);
    // dZ = (dOut_i·v_j)/norm · SiLU'(z); SiLU'(z) = s + z·e/(1+e)² with e = exp(-|z|), s the
    // sigmoid (no cancellation); ±Infinity gives NaN (z·0), as in float64.
    const dzSrc = fn(['dy', 'v', 'zt', 'pr', ...params], `${pairHead}
  let da = 0.0;
  for (let e = 0; e < this.constants.DV; e++) { da += dy[t][h][e] * v[o + j][h][e]; }
  let zz = zt[0][y][x];
  let ee = Math.exp(-Math.abs(zz));
  let dd = 1.0 / (1.0 + ee);
  let sg = dd;
  if (zz < 0.0) { sg = ee * dd; }
  let g = sg + zz * (ee * dd * dd);
  return da / nrm * g;`);
    const dz = rt.run(scope, { name: 'hstuAttentionBackward.dz', src: dzSrc, output: [W, R, 1], constants: consts }, [dy, v, zt, prA, ...args] as Src[]);
    // Where pair (row r, key jj) of head h sits: texture row rb0 + (h·n + r)·cpr + floor(jj / W), column jj mod W.
    const at = (name: string, h: string, r: string, cj: string, xj: string): string => `${name}[0][rb[t][0] + (${h} * n + ${r}) * rb[t][1] + ${cj}][${xj}]`;
    if (D > 0) {
      // dq_i = alpha·Σ_j dZ_ij k_j over the row's visible keys.
      const dqSrc = fn(['dz', 'k', 'rb', ...params], `  let dd = this.thread.x;
  let h = this.thread.y;
  let t = this.thread.z;
${rowLines('t')}
  let acc = 0.0;
  for (let c = 0; c < this.constants.NCH; c++) {
    if (c * this.constants.W >= n) { break; }
    for (let x = 0; x < this.constants.W; x++) {
      let j = c * this.constants.W + x;
      if (j < n) {
${visibleLines(p, 'i', 'j', 'vis')}
        if (vis > 0.5) { acc += ${at('dz', 'h', 'i', 'c', 'x')} * k[o + j][h][dd]; }
      }
    }
  }
  return acc * al[0];`);
      const dq = rt.run(scope, { name: 'hstuAttentionBackward.dq', src: dqSrc, output: [D, H, T], constants: consts }, [dz, k, rbA, ...args] as Src[]);
      res.dq = rt.read(dq, T * H * D);
    }
    // dk_j, dv_j: over the rows r of the key's sequence that see it.
    const overRows = (params2: string[], term: string, pre: string): string =>
      fn([...params2, 'rb', ...params], `  let dd = this.thread.x;
  let h = this.thread.y;
  let t = this.thread.z;
${rowLines('t')}
  let jj = i;
  let cj = Math.floor((jj + 0.5) / this.constants.W);
  let xj = jj - cj * this.constants.W;
  let acc = 0.0;
  for (let r = 0; r < this.constants.S; r++) {
    if (r >= n) { break; }
${visibleLines(p, 'r', 'jj', 'vis')}
    if (vis > 0.5) {
${pre}
      acc += ${term};
    }
  }
  return acc${params2[0] === 'dz' ? ' * al[0]' : ''};`);
    if (D > 0) {
      const dkSrc = overRows(['dz', 'q'], `${at('dz', 'h', 'r', 'cj', 'xj')} * q[o + r][h][dd]`, '');
      res.dk = rt.read(rt.run(scope, { name: 'hstuAttentionBackward.dk', src: dkSrc, output: [D, H, T], constants: consts }, [dz, q, rbA, ...args] as Src[]), T * H * D);
    }
    if (Dv > 0) {
      const dvSrc = overRows(['zt', 'dy'], 'av * dy[o + r][h][dd]', `      let zz = ${at('zt', 'h', 'r', 'cj', 'xj')};\n${siluLines}`);
      res.dv = rt.read(rt.run(scope, { name: 'hstuAttentionBackward.dv', src: dvSrc, output: [Dv, H, T], constants: consts }, [zt, dy, rbA, ...args] as Src[]), T * H * Dv);
    }
    if (!p.pb && !p.tb) return res;
    const g = rowGroups(a.offsets, a.B, T);
    const pmA = rt.input(g.pm, [g.pm.length]);
    const riA = rt.input(p.ri, [4, T]);
    // Heads summed by a thread when the bias is shared, else the thread's own head.
    const perHead = (shared: boolean, term: string): string =>
      shared ? `for (let h = 0; h < this.constants.H; h++) { acc += ${term}; }` : `let h = hs;\n        acc += ${term};`;
    const groupLoop = (body: string): string => `  let hs = this.thread.y;
  let gi = this.thread.z;
  let acc = 0.0;
  for (let s = 0; s < ${GROUP}; s++) {
    let t = pm[gi * ${GROUP}.0 + s];
    if (t < 0.0) { break; }
${rowLines('t')}
${body}
  }
  return acc;`;
    if (p.pb && res.dPositionBias) {
      // Diagonal d = j - i of every row in the group (dZ is 0 on hidden pairs).
      const src = fn(['dz', 'rb', 'ri', 'pm', 'gm'], `  let dg = this.thread.x - ${NM - 1}.0;
  if (Math.abs(dg) >= gm[this.thread.z]) { return 0.0; }
${groupLoop(`    let jj = i + dg;
    if (jj >= 0.0 && jj < n) {
      let cj = Math.floor((jj + 0.5) / this.constants.W);
      let xj = jj - cj * this.constants.W;
      ${perHead(p.Hp === 1, at('dz', 'h', 'i', 'cj', 'xj'))}
    }`)}`);
      const X = 2 * NM - 1;
      const part = rt.run(scope, { name: 'hstuAttentionBackward.dPositionBias', src, output: [X, p.Hp, g.NG], constants: consts }, [dz, rbA, riA, pmA, rt.input(g.gm, [g.NG])]);
      const sum = rt.read(sumOverZ(rt, scope, part, X, p.Hp, g.NG), X * p.Hp);
      const N = a.maxLength;
      for (let h = 0; h < p.Hp; h++) for (let x = 0; x < X; x++) res.dPositionBias[h * (2 * N - 1) + N - 1 + x - (NM - 1)] = sum[h * X + x];
    }
    if (p.tb && res.dTimeBias) {
      // The keys of bucket u for row t: sorted positions [A_{u+1}, A_u) and [B_u, B_{u+1}); NaN pairs have no bucket.
      const K2 = K + 2;
      const src = fn(['dz', 'rb', 'ri', 'pm', 'cut', 'srt', 'kc', 'qc'], `  let u = this.thread.x;
${groupLoop(`    let qcl = qc[t];
    if (qcl != 2.0) {
      let a1 = cut[t][u + 1.0];
      let l1 = cut[t][u] - a1;
      let b0 = cut[t][${K2}.0 + u];
      let l2 = cut[t][${K2 + 1}.0 + u] - b0;
      for (let r = 0; r < this.constants.S; r++) {
        if (r >= l1 + l2) { break; }
        let pos = a1 + r;
        if (r >= l1) { pos = b0 + r - l1; }
        let jj = srt[o + pos];
        let kcl = kc[o + jj];
        if (!(qcl != 0.0 && qcl == kcl)) {
          let cj = Math.floor((jj + 0.5) / this.constants.W);
          let xj = jj - cj * this.constants.W;
          ${perHead(p.Ht === 1, at('dz', 'h', 'i', 'cj', 'xj'))}
        }
      }
    }`)}`);
      const tArgs: Arg[] = [rt.input(p.cut as Float32Array, [2 * K2, T]), rt.input(p.srt as Float32Array, [T]), rt.input(p.kc as Float32Array, [T]), rt.input(p.qc as Float32Array, [T])];
      const part = rt.run(scope, { name: 'hstuAttentionBackward.dTimeBias', src, output: [K + 1, p.Ht, g.NG], constants: consts }, [dz, rbA, riA, pmA, ...tArgs]);
      res.dTimeBias = rt.read(sumOverZ(rt, scope, part, K + 1, p.Ht, g.NG), (K + 1) * p.Ht);
    }
    return res;
  });
}
