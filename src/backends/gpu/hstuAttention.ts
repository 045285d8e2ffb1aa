/**
 * The gpu pipeline of `hstuAttention` (HSTU pointwise attention over a jagged batch), and the
 * per-batch plan and kernel source pieces that hstuAttentionBackward shares. Browser-compatible.
 *
 * Jagged, no padding: every thread knows its own sequence from per-row uploads (`ri`: the
 * sequence's first row, its length, its max id and its divisor) and loops over that sequence's
 * keys only (the loop bound is the longest sequence, a compile-time constant; shorter sequences
 * leave the loop early). Indices travel as float32, exact below 2^24: T = offsets[B] must be
 * below 2^24 ({@link GpuLimitError} `MAX_EXACT_INDEX`), and the longest sequence at most
 * `MAX_ROW_LENGTH` (the bound every gpu loop over a row keeps).
 *
 * Time buckets, exactly as the float64 contract: float32 cannot hold float64 timestamps (nor
 * their differences), so the GPU never subtracts timestamps. The host sorts each sequence's
 * timestamps and, for each query row and threshold u, finds in float64 the two cut positions in
 * that order (`A_u`: the keys before it have `tq - t >= thr_u`; `B_u`: from it on `tq - t <=
 * -thr_u`; both monotone in t because float64 subtraction is). Key j (at sorted position p) is in
 * a bucket >= u iff `p < A_u || p >= B_u`, so the kernel finds the bucket by a binary search over
 * u comparing small exact integers: the same bucket as `count(thresholds <= |tq - t_j|)` in
 * float64 for any timestamps, any span. NaN pairs (a NaN time, or the same infinity on both
 * sides: tq - t is NaN) make the logit NaN, as in the contract.
 *
 * @module
 */
import type { HstuAttentionArgs, HstuAttentionBackwardArgs, Widened } from '../../kernels';
import { GPU_MAX_ROW_LENGTH, GpuLimitError, fn, type Arg, type Runtime } from './runtime';
import { SPECIAL, scoped, texture, type Src } from './pipeline';

/** Row and key indices travel as float32: exact below 2^24. */
export const HSTU_MAX_EXACT = 2 ** 24;

/** The per-batch facts and uploads every hstu kernel reads. */
export interface HstuPlan {
  T: number;
  H: number;
  D: number;
  Dv: number;
  /** The longest sequence (the bound of every loop over a sequence's rows or keys). */
  NM: number;
  /** Per row `[4, T]`: the sequence's first row o, its length n, its max id (mask), its divisor. */
  ri: Float32Array;
  /** Position bias sliced to the reachable diagonals: `[2·NM-1, Hp]`, entry NM-1+d for j - i = d; or null. */
  pb: Float32Array | null;
  Hp: number;
  /** Time bias `[K+1, Ht]` or null; the time tables below are present iff it is. */
  tb: Float32Array | null;
  Ht: number;
  K: number;
  /** Per row `[2(K+2), T]`: A_0..A_{K+1}, then B_0..B_{K+1} (cut positions of its query time). */
  cut: Float32Array | null;
  /** Per key `[T]`: its position in its sequence's sorted timestamps (NaN keys: -1). */
  kp: Float32Array | null;
  /** Per key `[T]`: class of its timestamp (0 finite, 1 +Inf, -1 -Inf, 2 NaN). */
  kc: Float32Array | null;
  /** Per row `[T]`: class of its query time tq_i. */
  qc: Float32Array | null;
  /** Per sequence position: `srt[o + p]` = the key (in-sequence index) at sorted position p. */
  srt: Float32Array | null;
  /** Mask options as kernel constants (contextual length clamped to NM+1, maxAttnLen to NM: same mask). */
  ctx: number;
  mal: number;
  causal: boolean;
  targets: boolean;
  alpha: number;
}

/** Class of a timestamp for the NaN-pair rule: 0 finite, ±1 ±Infinity, 2 NaN. */
function timeClass(x: number): number {
  if (Number.isNaN(x)) return 2;
  if (x === Infinity) return 1;
  if (x === -Infinity) return -1;
  return 0;
}

/** Validate the gpu limits and build the per-row uploads (host, float64). */
export function hstuPlan(a: Widened<HstuAttentionArgs> | Widened<HstuAttentionBackwardArgs>, op: string): HstuPlan {
  const { B, H, D, Dv, offsets } = a;
  const T = offsets[B];
  if (T >= HSTU_MAX_EXACT) throw new GpuLimitError('MAX_EXACT_INDEX', `${op} on gpu indexes rows with float32 (exact below 2^24); offsets[B] = ${T} rows is too many: split the batch or use another backend`);
  let NM = 0;
  for (let b = 0; b < B; b++) NM = Math.max(NM, offsets[b + 1] - offsets[b]);
  if (NM > GPU_MAX_ROW_LENGTH) throw new GpuLimitError('MAX_ROW_LENGTH', `${op} on gpu loops over a sequence's keys; the longest sequence has ${NM}, more than the ${GPU_MAX_ROW_LENGTH} a gpu loop is verified to read correctly; use another backend`);
  const N = a.maxLength;
  const c = a.contextualLength;
  const ri = new Float32Array(4 * T);
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    const n = offsets[b + 1] - o;
    // max id of _get_valid_attn_mask, in float64; below -1 every id equals it (with targets) or
    // none is below it: -1 gives the same mask.
    let mx = c > 0 ? n - c + 1 : n;
    if (a.numTargets) mx -= a.numTargets[b];
    mx = Math.max(mx, -1);
    const norm = a.normalization === 'maxLength' ? N : n;
    for (let t = o; t < o + n; t++) ri.set([o, n, mx, norm], 4 * t);
  }
  let pb: Float32Array | null = null;
  let Hp = 1;
  if (a.positionBias && NM > 0) {
    Hp = a.positionBiasPerHead ? H : 1;
    const W = 2 * NM - 1;
    pb = new Float32Array(W * Hp);
    for (let h = 0; h < Hp; h++) for (let x = 0; x < W; x++) pb[h * W + x] = a.positionBias[h * (2 * N - 1) + N - 1 + x - (NM - 1)];
  }
  const plan: HstuPlan = { T, H, D, Dv, NM, ri, pb, Hp, tb: null, Ht: 1, K: 0, cut: null, kp: null, kc: null, qc: null, srt: null, ctx: Math.min(c, NM + 1), mal: a.maxAttnLen > 0 ? Math.min(a.maxAttnLen, Math.max(NM, 1)) : 0, causal: a.causal, targets: !!a.numTargets, alpha: a.alpha };
  if (a.timestamps && a.timeBias) timeTables(a, plan);
  return plan;
}

/** The time-bucket uploads (see the module comment): sorted positions, classes, cut positions per row. */
function timeTables(a: Widened<HstuAttentionArgs>, p: HstuPlan): void {
  const { B, H, offsets } = a;
  const ts = a.timestamps as Float64Array;
  const thr = a.timeBucketThresholds ?? new Float64Array(0);
  const K = a.numBuckets;
  const T = p.T;
  p.K = K;
  p.Ht = a.timeBiasPerHead ? H : 1;
  p.tb = a.timeBias;
  const K2 = K + 2;
  const cut = new Float32Array(2 * K2 * T);
  const kp = new Float32Array(T).fill(-1);
  const kc = new Float32Array(T);
  const qc = new Float32Array(T);
  const srt = new Float32Array(T);
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    const n = offsets[b + 1] - o;
    if (n === 0) continue;
    const order: number[] = [];
    for (let j = 0; j < n; j++) {
      kc[o + j] = timeClass(ts[o + j]);
      if (!Number.isNaN(ts[o + j])) order.push(j);
    }
    order.sort((x, y) => ts[o + x] - ts[o + y] || x - y);
    const m = order.length;
    const vals = order.map((j) => ts[o + j]);
    order.forEach((j, pos) => {
      kp[o + j] = pos;
      srt[o + pos] = j;
    });
    for (let i = 0; i < n; i++) {
      const tq = ts[o + Math.min(i + 1, n - 1)];
      const row = o + i;
      qc[row] = timeClass(tq);
      if (Number.isNaN(tq)) continue;
      const base = row * 2 * K2;
      // A_u: first position where tq - t >= thr fails (tq - t falls as t grows);
      // B_u: first position where tq - t <= -thr holds.
      const firstWhere = (pred: (pos: number) => boolean): number => {
        let lo = 0;
        let hi = m;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (pred(mid)) hi = mid;
          else lo = mid + 1;
        }
        return lo;
      };
      for (let u = 1; u <= K; u++) {
        const th = thr[u - 1];
        cut[base + u] = firstWhere((pos) => !(tq - vals[pos] >= th));
        cut[base + K2 + u] = firstWhere((pos) => tq - vals[pos] <= -th);
      }
      // u = K+1 holds for no key: [0, m) never cut; u = 0 holds for every key: both cuts at B_1.
      cut[base + K + 1] = 0;
      cut[base + K2 + K + 1] = m;
      const b1 = K >= 1 ? cut[base + K2 + 1] : m;
      cut[base] = b1;
      cut[base + K2] = b1;
    }
  }
  p.cut = cut;
  p.kp = kp;
  p.kc = kc;
  p.qc = qc;
  p.srt = srt;
}

/**
 * Source lines setting `out` to 1.0 if key j of row i (in-sequence indices, floats) is visible
 * under M, else 0.0 (`mx`, the sequence's max id, in scope). generative-recommenders'
 * `_get_valid_attn_mask`, see HstuAttentionArgs.
 */
export function visibleLines(p: HstuPlan, i: string, j: string, out: string): string {
  const id = (x: string, v: string): string => {
    let s = `  let ${v} = ${x};`;
    if (p.ctx > 0) s += `\n  ${v} = ${x} - ${p.ctx - 1}.0;\n  if (${v} < 0.0) { ${v} = 0.0; }`;
    if (p.targets) s += `\n  if (${v} > mx) { ${v} = mx; }`;
    return s;
  };
  const lines = [id(i, `${out}_a`), id(j, `${out}_b`), `  let ${out}_d = ${out}_a - ${out}_b;`];
  if (!p.causal) lines.push(`  if (${out}_d < 0.0) { ${out}_d = -${out}_d; }`);
  lines.push(`  let ${out} = 0.0;`, `  if (${i} == ${j} || ${out}_d > 0.0) { ${out} = 1.0; }`);
  if (p.mal > 0) lines.push(`  if (${out}_d > ${p.mal}.0) { ${out} = 0.0; }`);
  if (p.ctx > 0) lines.push(`  if (${out}_a == 0.0 && ${out}_b < mx) { ${out} = 1.0; }`);
  return lines.join('\n');
}

/**
 * Source lines declaring `zz`, the logit of query row t (head h, in-sequence i) and key j of the
 * sequence starting at row o: alpha·q·k + position bias + time bias; NaN for a NaN pair of times.
 * Reads q, k (`[D, H, T]` textures), al, and pb / tb, cut, kp, kc, qc, sp when present.
 */
export function logitLines(p: HstuPlan, t: string, h: string, i: string, j: string, o: string): string {
  const lines = [`  let zz = 0.0;`, `  for (let d = 0; d < this.constants.D; d++) { zz += q[${t}][${h}][d] * k[${o} + ${j}][${h}][d]; }`, `  zz = zz * al[0];`];
  if (p.pb) lines.push(`  zz += pb[${p.Hp > 1 ? h : '0'}][${p.NM - 1}.0 + ${j} - ${i}];`);
  if (p.tb) {
    const iter = Math.ceil(Math.log2(p.K + 1));
    const K2 = p.K + 2;
    lines.push(`  let kcl = kc[${o} + ${j}];
  let qcl = qc[${t}];
  if (qcl == 2.0 || kcl == 2.0 || (qcl != 0.0 && qcl == kcl)) { zz = sp[1]; } else {
    let kpos = kp[${o} + ${j}];
    let blo = 0.0;
    let bhi = ${p.K + 1}.0;
    for (let it = 0; it < ${iter}; it++) {
      if (bhi - blo > 1.5) {
        let mid = Math.floor((blo + bhi) * 0.5);
        if (kpos < cut[${t}][mid] || kpos >= cut[${t}][${K2}.0 + mid]) { blo = mid; } else { bhi = mid; }
      }
    }
    zz += tb[${p.Ht > 1 ? h : '0'}][blo];
  }`);
  }
  return lines.join('\n');
}

/** The kernel params and args of the plan's optional uploads, in the order {@link logitLines} names them. */
export function planArgs(rt: Runtime, p: HstuPlan): { params: string[]; args: Arg[] } {
  const params = ['ri', 'al', 'sp'];
  const args: Arg[] = [rt.input(p.ri, [4, p.T]), Float32Array.of(p.alpha), SPECIAL];
  if (p.pb) {
    params.push('pb');
    args.push(rt.input(p.pb, [2 * p.NM - 1, p.Hp]));
  }
  if (p.tb) {
    params.push('tb', 'cut', 'kp', 'kc', 'qc');
    args.push(rt.input(p.tb, [p.K + 1, p.Ht]), rt.input(p.cut as Float32Array, [2 * (p.K + 2), p.T]), rt.input(p.kp as Float32Array, [p.T]), rt.input(p.kc as Float32Array, [p.T]), rt.input(p.qc as Float32Array, [p.T]));
  }
  return { params, args };
}

/** The thread's row t, its sequence (o, n, mx, nrm) and in-sequence index i (`ri` in scope). */
export function rowLines(t: string): string {
  return `  let o = ri[${t}][0];
  let n = ri[${t}][1];
  let mx = ri[${t}][2];
  let nrm = ri[${t}][3];
  let i = ${t} - o;`;
}

/**
 * SiLU(zz)/nrm as `av`: with e = exp(-|z|) (never overflows) sigmoid is 1/(1+e) for z >= 0 and
 * e/(1+e) below; -Infinity gives NaN (-Inf·0), as z·sigmoid(z) does in float64.
 */
export const siluLines = `  let ee = Math.exp(-Math.abs(zz));
  let sg = 1.0 / (1.0 + ee);
  if (zz < 0.0) { sg = ee * sg; }
  let av = zz * sg / nrm;`;

/** hstuAttention on the gpu: one kernel, each output element (row, head, column) a loop over its sequence's visible keys. */
export function hstuAttentionGpu(rt: Runtime, a: Widened<HstuAttentionArgs>): Float32Array {
  const p = hstuPlan(a, 'hstuAttention');
  const { T, H, D, Dv, NM } = p;
  if (T * H * Dv === 0) return new Float32Array(T * H * Dv);
  return scoped((scope) => {
    // D = 0: the dot products are empty sums (the loop over d runs 0 times); a 1-wide zero upload.
    const q = texture(rt, scope, D === 0 ? new Float32Array(H * T) : a.q, [Math.max(D, 1), H, T]);
    const k = texture(rt, scope, D === 0 ? new Float32Array(H * T) : a.k, [Math.max(D, 1), H, T]);
    const v = texture(rt, scope, a.v, [Dv, H, T]);
    const { params, args } = planArgs(rt, p);
    // Each key of the row's sequence: visible keys only (q, k, v, biases never read otherwise).
    const src = fn(['q', 'k', 'v', ...params], `  let e = this.thread.x;
  let h = this.thread.y;
  let t = this.thread.z;
${rowLines('t')}
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    if (j >= n) { break; }
${visibleLines(p, 'i', 'j', 'vis')}
    if (vis > 0.5) {
${logitLines(p, 't', 'h', 'i', 'j', 'o')}
${siluLines}
      acc += av * v[o + j][h][e];
    }
  }
  return acc;`);
    const out = rt.run(scope, { name: 'hstuAttention', src, output: [Dv, H, T], constants: { S: NM, D } }, [q, k, v, ...args] as Src[]);
    return rt.read(out, T * H * Dv);
  });
}
