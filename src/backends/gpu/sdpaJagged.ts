/**
 * The gpu pipeline of `sdpa` on jagged rows (SdpaArgs.qOffsets / kvOffsets): q `[ΣLq, Hq·D]`,
 * k `[ΣS, Hkv·D]`, v `[ΣS, Hkv·Dv]` textures, no padded copy of any of them. Per query row t the
 * host computes where its sequence's keys start and which of them it may see (key lengths,
 * causal / window limits of its sequence); the logits stage `[Smax, ΣLq, Hq]` (Smax the longest
 * key sequence) reads them, computes no dot product for a key outside the row's sequence or band
 * (-Inf), then the shared softmax tail and a weighted sum of the row's own sequence's values.
 * The texture is Smax wide: unlike reference and native, the gpu stores (but does not compute)
 * the key-side padding of the logits and probabilities. Browser-compatible.
 *
 * @module
 */
import type { AttentionResult, SdpaArgs, Widened } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { REUSE, SPECIAL, scoped, texture, type Src } from './pipeline';
import { idiv, tanhInline } from './sources';
import { lse, softmaxTail } from './stages';

/** sdpa on jagged rows on the gpu: output `[ΣLq, Hq, Dv]` and lse `[ΣLq, Hq]` when asked for. */
export function sdpaJaggedGpu(rt: Runtime, a: Widened<SdpaArgs>, qo: Int32Array, ko: Int32Array): AttentionResult {
  const { B, Hq, Hkv, D, Dv } = a;
  const T = qo[B];
  const output = new Float32Array(T * Hq * Dv);
  if (T === 0) return a.returnLse ? { output, lse: new Float32Array(0) } : { output };
  // Smax: the longest key sequence (at least 1: a texture needs a column).
  let S = 1;
  for (let b = 0; b < B; b++) S = Math.max(S, ko[b + 1] - ko[b]);
  // Per query row: its sequence's first key row, and the visible keys lo..hi of that sequence
  // (clamped to [0, S_b-1]; hi < lo when none), small exact integers in float32.
  const kstart = new Float32Array(T), klo = new Float32Array(T), khi = new Float32Array(T);
  const maskRows = a.jaggedMask ? new Float32Array(T * S) : null;
  const biasRows = a.jaggedBias ? new Float32Array(T * S) : null;
  let maskAt = 0;
  for (let b = 0; b < B; b++) {
    const Lb = qo[b + 1] - qo[b], Sb = ko[b + 1] - ko[b];
    const off = a.offsets ? a.offsets[b] : Sb - Lb;
    for (let i = 0; i < Lb; i++) {
      const t = qo[b] + i, pos = i + off;
      let lo = 0, hi = Sb - 1;
      if (a.windowLeft >= 0) lo = Math.max(lo, pos - a.windowLeft);
      if (a.causal) hi = Math.min(hi, pos);
      if (a.windowRight >= 0) hi = Math.min(hi, pos + a.windowRight);
      kstart[t] = ko[b];
      klo[t] = Math.min(lo, S);
      khi[t] = Math.max(hi, -1);
      if (maskRows && a.jaggedMask) for (let j = 0; j < Sb; j++) maskRows[t * S + j] = a.jaggedMask[maskAt + i * Sb + j] ? 1 : 0;
      if (biasRows && a.jaggedBias) biasRows.set(a.jaggedBias.subarray(maskAt + i * Sb, maskAt + (i + 1) * Sb), t * S);
    }
    maskAt += Lb * Sb;
  }
  return scoped((scope) => {
    const TS = ko[B];
    const up = (data: Float32Array, dims: [number, number, number], reads: number): Src => (reads >= REUSE ? texture(rt, scope, data, dims) : rt.input(data, dims));
    const q = up(a.q, [Hq * D, T, 1], S);
    const k = TS > 0 ? up(a.k, [Hkv * D, TS, 1], 2) : rt.input(new Float32Array(Hkv * D), [Hkv * D, 1, 1]);
    const v = TS > 0 ? rt.input(a.v, [Hkv * Dv, TS, 1]) : rt.input(new Float32Array(Hkv * Dv), [Hkv * Dv, 1, 1]);
    const params = ['q', 'k', 'sp', 'ks', 'klo', 'khi'];
    const args: Src[] = [q, k, SPECIAL, rt.input(kstart, [T]), rt.input(klo, [T]), rt.input(khi, [T])];
    if (maskRows) {
      params.push('mk');
      args.push(rt.input(maskRows, [S, T]));
    }
    if (biasRows) {
      params.push('bs');
      args.push(rt.input(biasRows, [S, T]));
    }
    const cap = a.softcap > 0;
    const capped = cap ? `${tanhInline('s / this.constants.CAP', 'th')}
  s = this.constants.CAP * th;
` : '';
    // part 'hi': the fp32 logit softcap(scale·q·k) + bias, -Inf where excluded; 'lo' (only with a
    // bias): the rounding error of that sum (TwoSum, as the dense core: a ±1e4 bias would
    // otherwise round away the differences between logits), 0 where excluded.
    const tail = (part: 'hi' | 'lo'): string =>
      !biasRows
        ? `${capped}  return s;`
        : part === 'hi'
          ? `${capped}  return s + bs[t][j];`
          : `${capped}  let one = sp[2];
  let bv = bs[t][j];
  let u1 = (s + bv) * one;
  let bt = (u1 - s) * one;
  let u = (u1 - bt) * one;
  let e = (s - u) + (bv - bt);
  if (Math.abs(e) * 9007199254740992.0 < Math.abs(u1)) { return 0.0; }
  if (e != e) { return 0.0; }
  return e;`;
    // Logits [S, T, Hq]: thread (key j of the row's sequence, query row t, head h).
    const logitsSrc = (part: 'hi' | 'lo'): string => fn(
      params,
      `  let j = this.thread.x;
  let t = this.thread.y;
  let h = this.thread.z;
  let hk = ${idiv('h', 'this.constants.G')};
  if (j < klo[t]) { return ${part === 'hi' ? 'sp[0]' : '0.0'}; }
  if (j > khi[t]) { return ${part === 'hi' ? 'sp[0]' : '0.0'}; }
${maskRows ? `  if (mk[t][j] == 0.0) { return ${part === 'hi' ? 'sp[0]' : '0.0'}; }\n` : ''}  let kr = ks[t] + j;
  let dot = 0.0;
  for (let d = 0; d < this.constants.D; d++) { dot += q[0][t][h * this.constants.D + d] * k[0][kr][hk * this.constants.D + d]; }
  let s = dot * this.constants.SCALE;
${tail(part)}`,
    );
    const constants: Record<string, number> = { G: Hq / Hkv, D, SCALE: a.scale };
    if (cap) constants.CAP = a.softcap;
    const lg = rt.run(scope, { name: 'attention.jagged.logits', src: logitsSrc('hi'), output: [S, T, Hq], constants }, args);
    const lo = biasRows ? rt.run(scope, { name: 'attention.jagged.logits.lo', src: logitsSrc('lo'), output: [S, T, Hq], constants }, args) : null;
    const { st, p } = softmaxTail(rt, scope, lg, S, T, Hq, lo);
    // Output [Hq·Dv, T, 1]: thread (h·Dv + d, row t); excluded keys have p = -1.
    const pvSrc = fn(
      ['p', 'v', 'ks', 'khi'],
      `  let t = this.thread.y;
  let h = ${idiv('this.thread.x', 'this.constants.DV')};
  let d = this.thread.x - h * this.constants.DV;
  let hk = ${idiv('h', 'this.constants.G')};
  let kr = ks[t];
  let last = khi[t];
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    let pj = p[h][t][j];
    // (pj < 0: excluded; a NaN pj, a row that saw a NaN logit, must reach the sum)
    if (j > last) { acc += 0.0; } else if (pj < 0.0) { acc += 0.0; } else { acc += pj * v[0][kr + j][hk * this.constants.DV + d]; }
  }
  return acc;`,
    );
    const out = rt.run(scope, { name: 'attention.jagged.pv', src: pvSrc, output: [Hq * Dv, T, 1], constants: { S, G: Hq / Hkv, DV: Dv } }, [p, v, rt.input(kstart, [T]), rt.input(khi, [T])]);
    const res: { output: Float32Array; lse?: Float32Array } = { output: rt.read(out, T * Hq * Dv) };
    if (a.returnLse) {
      // The lse stage is [Hq, T] (head-major); the jagged lse is [T, Hq].
      const hm = rt.read(lse(rt, scope, st, T, Hq), T * Hq);
      const l = new Float32Array(T * Hq);
      for (let h = 0; h < Hq; h++) for (let t = 0; t < T; t++) l[t * Hq + h] = hm[h * T + t];
      res.lse = l;
    }
    return res;
  });
}
