/**
 * The gpu pipeline of `sdpaBackward`: the attention core's logits again (same exclusions, scale,
 * softcap, bias pair), then P `[S, L, B*Hq]` from the given lse, δ per row, dZ (and dS with a
 * softcap) `[S, L, B*Hq]`, and the four reductions: dq over keys, dk and dv over each kv head's
 * query rows, dBias over the bias's broadcast axes. P, dZ and dS are materialised as
 * `B·Hq·L·S`-value textures (so the problem is bounded by `MAX_OUTPUT_VALUES`, like returnWeights).
 * Browser-compatible.
 *
 * @module
 */
import type { SdpaBackwardArgs, SdpaBackwardResult, Strided, Widened } from '../../kernels';
import { FLT, GPU_MAX_ROW_LENGTH, GpuLimitError, fn, type Runtime, type Scope } from './runtime';
import { idiv } from './sources';
import { scoped, texture, type Src } from './pipeline';
import { attentionLogits, type AttnCore } from './attentionCore';

/** Reads of the `[B,H,T,X]` tensor `name` at (b, h, t, x) in the core's 'heads' or 'packed' layout (X the constant `xc`). */
const at = (packed: boolean, name: string, hc: string, xc: string) => (b: string, h: string, t: string, x: string): string =>
  packed ? `${name}[${b}][${t}][${h} * this.constants.${xc} + ${x}]` : `${name}[${b} * this.constants.${hc} + ${h}][${t}][${x}]`;

/**
 * The thread's (b, h, row t, column x) of an output `[X, T, B*H]` ('heads') or `[H*X, T, B]`
 * ('packed'), as `let` lines (h over the constant `hc` heads, x over the constant `xc` columns).
 */
function threadIndex(packed: boolean, hc: string, xc: string): string {
  return packed
    ? `  let b = this.thread.z;
  let h = ${idiv('this.thread.x', `this.constants.${xc}`)};
  let x = this.thread.x - h * this.constants.${xc};
  let t = this.thread.y;`
    : `  let b = ${idiv('this.thread.z', `this.constants.${hc}`)};
  let h = this.thread.z - b * this.constants.${hc};
  let x = this.thread.x;
  let t = this.thread.y;`;
}

/** P `[S, L, Z]`: exp(logit - lse (+ lo)); -1 marks an excluded key or a row whose lse is -Inf (it gives nothing). Params: lg, lse, [lo]. */
function probsFromLseSrc(lo: boolean): string {
  return fn(
    lo ? ['lg', 'lse', 'lo'] : ['lg', 'lse'],
    `  let l = lg[this.thread.z][this.thread.y][this.thread.x];
  let m = lse[this.thread.z][this.thread.y][0];
  if (l < -${FLT}) { return -1.0; }
  if (m < -${FLT}) { return -1.0; }
  return Math.exp((l - m)${lo ? ' + lo[this.thread.z][this.thread.y][this.thread.x]' : ''});`,
  );
}

/** sdpaBackward on the gpu: every gradient of the kernel contract, each from its own kernel. */
export function sdpaBackwardGpu(rt: Runtime, a: Widened<SdpaBackwardArgs>): SdpaBackwardResult {
  const { B, Hq, Hkv, L, S, D, Dv } = a;
  // dk and dv loop over every query row of a kv head's group: the same bound as the loops over keys.
  if (L > GPU_MAX_ROW_LENGTH) throw new GpuLimitError('MAX_ROW_LENGTH', `gpu kernel 'sdpaBackward.dk' would loop over ${L} query rows, more than the ${GPU_MAX_ROW_LENGTH} it is verified to read correctly; use another backend`);
  return scoped((scope) => {
    const packed = a.layout === 'blhd';
    const dims = (H: number, rows: number, cols: number): [number, number, number] => (packed ? [H * cols, rows, B] : [cols, rows, B * H]);
    const Z = B * Hq;
    const q = texture(rt, scope, a.q, dims(Hq, L, D));
    const k = texture(rt, scope, a.k, dims(Hkv, S, D));
    const v = texture(rt, scope, a.v, dims(Hkv, S, Dv));
    const dO = texture(rt, scope, a.dOut, dims(Hq, L, Dv));
    const core: AttnCore = { ...a, layout: packed ? 'packed' : 'heads' };
    const lg = attentionLogits(rt, scope, core, q, k, 'hi');
    const lo = a.bias ? attentionLogits(rt, scope, core, q, k, 'lo') : null;
    const lse = rt.input(a.lse, [1, L, Z]);
    const pArgs: Src[] = lo ? [lg, lse, lo] : [lg, lse];
    const p = rt.run(scope, { name: 'sdpaBackward.p', src: probsFromLseSrc(!!lo), output: [S, L, Z], constants: {} }, pArgs);
    const G = Hq / Hkv;
    const QO = at(packed, 'q', 'HQ', 'D');
    const KO = at(packed, 'k', 'HKV', 'D');
    const VO = at(packed, 'v', 'HKV', 'DV');
    const GO = at(packed, 'dy', 'HQ', 'DV');
    const OO = at(packed, 'o', 'HQ', 'DV');
    // δ [1, L, Z]: dOut_i · out_i.
    const delta = rt.run(
      scope,
      {
        name: 'sdpaBackward.delta',
        src: fn(['dy', 'o'], `  let z = this.thread.z;
  let b = ${idiv('z', 'this.constants.HQ')};
  let h = z - b * this.constants.HQ;
  let i = this.thread.y;
  let acc = 0.0;
  for (let d = 0; d < this.constants.DV; d++) { acc += ${GO('b', 'h', 'i', 'd')} * ${OO('b', 'h', 'i', 'd')}; }
  return acc;`),
        output: [1, L, Z],
        constants: { HQ: Hq, DV: Dv },
      },
      [dO, rt.input(a.out, dims(Hq, L, Dv))],
    );
    // dZ [S, L, Z]: P·(dOut_i·v_j − δ_i), 0 where excluded (v is not read there).
    const dz = rt.run(
      scope,
      {
        name: 'sdpaBackward.dz',
        src: fn(['p', 'dy', 'v', 'dl'], `  let j = this.thread.x;
  let i = this.thread.y;
  let z = this.thread.z;
  let pj = p[z][i][j];
  if (pj < 0.0) { return 0.0; }
  let b = ${idiv('z', 'this.constants.HQ')};
  let h = z - b * this.constants.HQ;
  let hk = ${idiv('h', 'this.constants.G')};
  let dp = 0.0;
  for (let d = 0; d < this.constants.DV; d++) { dp += ${GO('b', 'h', 'i', 'd')} * ${VO('b', 'hk', 'j', 'd')}; }
  return pj * (dp - dl[z][i][0]);`),
        output: [S, L, Z],
        constants: { HQ: Hq, HKV: Hkv, G, DV: Dv },
      },
      [p, dO, v, delta],
    );
    // dS = dZ·(1 − tanh²(s/softcap)) with a softcap, else dZ; 0 where excluded (whatever the slope there).
    let ds = dz;
    if (a.softcap > 0) {
      const slope = attentionLogits(rt, scope, core, q, k, 'slope');
      const src = fn(['p', 'dz', 'sl'], `  let x = this.thread.x;
  let y = this.thread.y;
  let z = this.thread.z;
  if (p[z][y][x] < 0.0) { return 0.0; }
  return dz[z][y][x] * sl[z][y][x];`);
      ds = rt.run(scope, { name: 'sdpaBackward.ds', src, output: [S, L, Z], constants: {} }, [p, dz, slope]);
    }
    // dq [q's layout]: scale·Σ_j dS_ij k_j over the row's visible keys.
    const dq = rt.run(
      scope,
      {
        name: 'sdpaBackward.dq',
        src: fn(['p', 'ds', 'k'], `${threadIndex(packed, 'HQ', 'D')}
  let hk = ${idiv('h', 'this.constants.G')};
  let z = b * this.constants.HQ + h;
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    let pj = p[z][t][j];
    if (pj < 0.0) { acc += 0.0; } else { acc += ds[z][t][j] * ${KO('b', 'hk', 'j', 'x')}; }
  }
  return acc * this.constants.SCALE;`),
        output: dims(Hq, L, D),
        constants: { S, HQ: Hq, HKV: Hkv, G, D, SCALE: a.scale },
      },
      [p, ds, k],
    );
    // dk, dv [k's / v's layout]: sums over the kv head's query heads and their rows that see key j.
    const overGroup = (name: string, xc: string, params: string[], term: string): string =>
      fn(params, `${threadIndex(packed, 'HKV', xc)}
  let j = t;
  let acc = 0.0;
  for (let g = 0; g < this.constants.G; g++) {
    let hq = h * this.constants.G + g;
    let z = b * this.constants.HQ + hq;
    for (let i = 0; i < this.constants.LQ; i++) {
      let pj = p[z][i][j];
      if (pj < 0.0) { acc += 0.0; } else { acc += ${term}; }
    }
  }
  return acc${name === 'dk' ? ' * this.constants.SCALE' : ''};`);
    const dk = rt.run(
      scope,
      { name: 'sdpaBackward.dk', src: overGroup('dk', 'D', ['p', 'ds', 'q'], `ds[z][i][j] * ${QO('b', 'hq', 'i', 'x')}`), output: dims(Hkv, S, D), constants: { LQ: L, HQ: Hq, HKV: Hkv, G, D, SCALE: a.scale } },
      [p, ds, q],
    );
    const dv = rt.run(
      scope,
      { name: 'sdpaBackward.dv', src: overGroup('dv', 'DV', ['p', 'dy'], `pj * ${GO('b', 'hq', 'i', 'x')}`), output: dims(Hkv, S, Dv), constants: { LQ: L, HQ: Hq, HKV: Hkv, G, DV: Dv } },
      [p, dO],
    );
    const res: { dq: Float32Array; dk: Float32Array; dv: Float32Array; dBias?: Float32Array } = {
      dq: rt.read(dq, B * Hq * L * D),
      dk: rt.read(dk, B * Hkv * S * D),
      dv: rt.read(dv, B * Hkv * S * Dv),
    };
    if (a.returnDBias && a.bias) res.dBias = dBiasOf(rt, scope, a, a.bias, dz);
    return res;
  });
}

/**
 * dBias: dZ summed over the bias's broadcast axes. The kernel's output is the bias's compact form
 * `[nS, nL, nB*nH]` (an axis of stride 0 has extent 1 there); each thread loops over the
 * broadcast axes (sums of 64-term blocks, as softmax's), and the host places each value at its
 * index in the bias's own array through the strides.
 */
function dBiasOf(rt: Runtime, scope: Scope, a: Widened<SdpaBackwardArgs>, bias: Strided<Float32Array>, dz: Src): Float32Array {
  const { B, Hq, L, S } = a;
  const [nB, nH, nL, nS] = [B, Hq, L, S].map((d, ax) => (bias.strides[ax] === 0 ? 1 : d));
  const lines: string[] = [];
  let open = 0;
  const loop = (v: string, c: string): void => {
    lines.push(`  for (let ${v} = 0; ${v} < this.constants.${c}; ${v}++) {`);
    open++;
  };
  if (nB > 1) lines.push(nH > 1 ? `  let b = ${idiv('this.thread.z', 'this.constants.NH')};` : '  let b = this.thread.z;');
  else if (B > 1) loop('b', 'B');
  else lines.push('  let b = 0;');
  if (nH > 1) lines.push(nB > 1 ? '  let h = this.thread.z - b * this.constants.NH;' : '  let h = this.thread.z;');
  else if (Hq > 1) loop('h', 'HQ');
  else lines.push('  let h = 0;');
  if (nL > 1) lines.push('  let i = this.thread.y;');
  else if (L > 1) loop('i', 'LQ');
  else lines.push('  let i = 0;');
  if (nS > 1) lines.push('  let j = this.thread.x;');
  else if (S > 1) loop('j', 'S');
  else lines.push('  let j = 0;');
  const src = fn(
    ['dz'],
    `  let s = 0.0;
  let blk = 0.0;
  let n = 0;
${lines.join('\n')}
  blk += dz[b * this.constants.HQ + h][i][j];
  n = n + 1;
  if (n == 64) { s += blk; blk = 0.0; n = 0; }
${'  }\n'.repeat(open)}  return s + blk;`,
  );
  const t = rt.run(scope, { name: 'sdpaBackward.dBias', src, output: [nS, nL, nB * nH], constants: { B, HQ: Hq, LQ: L, S, NH: nH } }, [dz]);
  const compact = rt.read(t, nB * nH * nL * nS);
  const out = new Float32Array(a.biasLength);
  let f = 0;
  for (let b = 0; b < nB; b++) for (let h = 0; h < nH; h++) for (let i = 0; i < nL; i++) for (let j = 0; j < nS; j++) out[b * bias.strides[0] + h * bias.strides[1] + i * bias.strides[2] + j * bias.strides[3]] = compact[f++];
  return out;
}
