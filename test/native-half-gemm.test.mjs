// Half precision (issue #16) in the native GEMM-based ops: linear, multiHeadAttention,
// transformerEncoderLayer, additiveAttention and targetAttention read float16 / bfloat16
// operands themselves (the GEMM widens A's and B's tiles as it packs them; biases and other
// small vectors are widened into O(size) scratch). Every half value is a float32 value, so each
// call must give, bit for bit, the float32 call on the decoded inputs: float16, bfloat16 and
// mixed inputs, odd sizes, GEMM edge tiles (M, N, K not multiples of the microkernel tile, more
// than one K block, more than one task tile, B read in place and packed), 1 / 2 / 3 threads,
// async twins; then the addon's own checks of declared half fields (called directly). Run once
// per ISA level (test/jobs.js sets ATTNKIT_ISA).
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';

const info = ak.backends().find((b) => b.name === 'native');
const NATIVE = { backend: 'native' };
const VERIFY = { backend: 'native', verify: true };

// ---- float16 / bfloat16 encoders (round to nearest even) and decoders, independent of the package ----
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toBf16Bits(v) {
  f32[0] = v;
  const x = u32[0];
  if ((x & 0x7fffffff) > 0x7f800000) return ((x >>> 16) | 0x40) & 0xffff; // NaN stays NaN (quiet)
  return ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
}
function toF16Bits(v) {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let man = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (man ? 0x200 | (man >>> 13) : 0);
  const e = exp - 112;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    man |= 0x800000;
    const shift = 14 - e;
    let h = man >>> shift;
    const rem = man & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (h & 1))) h++; // a carry rounds up into the exponent (Inf included)
  return sign | h;
}
function fromBits(h, dtype) {
  if (dtype === 'bfloat16') {
    u32[0] = h << 16;
    return f32[0];
  }
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : sign * Infinity;
  if (e === 0) return sign * m * 2 ** -24;
  return sign * (1 + m / 1024) * 2 ** (e - 15);
}

/** A float32 tensor as a HalfTensor of `dtype` ('float32': the tensor itself). */
function half(t, dtype) {
  if (dtype === 'float32' || t === null || t === undefined) return t;
  const enc = dtype === 'bfloat16' ? toBf16Bits : toF16Bits;
  const data = new Uint16Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = enc(t.data[i]);
  return { data, shape: [...t.shape], dtype };
}
/** The float32 tensor of a HalfTensor's values (a float32 tensor: itself). */
function wide(t) {
  if (t === null || t === undefined || !(t.data instanceof Uint16Array)) return t;
  const data = new Float32Array(t.data.length);
  for (let i = 0; i < data.length; i++) data[i] = fromBits(t.data[i], t.dtype);
  return { data, shape: [...t.shape] };
}

const R = (shape, seed, scale = 1) => {
  const t = ak.random(shape, { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
};

/** Bitwise equality of two typed arrays (NaN payloads included). */
function same(a, b, what) {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  assert.is(x.length, y.length, `${what}: length`);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.unreachable(`${what}: differs at byte ${i} (element ${i >> 2}: ${new Float32Array(a.buffer, a.byteOffset)[i >> 2]} vs ${new Float32Array(b.buffer, b.byteOffset)[i >> 2]})`);
}
/** Every array of an op result, flattened to [name, typed array] pairs. */
function arrays(r) {
  if (r instanceof Float32Array) return [['out', r]];
  if (r.data) return [['out', r.data]];
  return Object.entries(r).filter(([, v]) => v && (v.data || ArrayBuffer.isView(v))).map(([k, v]) => [k, v.data ?? v]);
}
function sameResults(got, want, what) {
  const g = arrays(got);
  const w = arrays(want);
  assert.is(g.length, w.length, `${what}: outputs`);
  for (let i = 0; i < g.length; i++) same(g[i][1], w[i][1], `${what}.${g[i][0]}`);
}

// The dtype patterns every op runs with: all float16, all bfloat16, and two mixes of the two
// formats with float32 (operand i gets mix[i % 3]).
const MODES = {
  float16: () => 'float16',
  bfloat16: () => 'bfloat16',
  'mixed A': (i) => ['bfloat16', 'float16', 'float32'][i % 3],
  'mixed B': (i) => ['float32', 'bfloat16', 'float16'][i % 3],
};

/**
 * Run `call(conv)` twice: once with `conv(t)` converting each float tensor to the mode's dtype
 * (operand by operand), once with each converted tensor widened back to float32, and require the
 * same bits. Returns the half call's result.
 */
function halfVsDecoded(what, mode, call, opts = NATIVE) {
  let i = 0;
  const pick = MODES[mode];
  const halfs = [];
  const h = call((t) => {
    const c = half(t, t ? pick(i++) : 'float32');
    halfs.push(c);
    return c;
  }, opts);
  let j = 0;
  const w = call(() => wide(halfs[j++]), NATIVE);
  sameResults(h, w, `${what} [${mode}]`);
  return h;
}

if (!info || !info.available) {
  const s = suite('native half GEMM · availability');
  const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
  if (process.env.CI === 'true') s('native is available in CI', () => assert.unreachable(why));
  else s.skip(`native unavailable: ${why}`, () => {});
  s.run();
} else {
  run();
}

function run() {
  const isa = info.isa;

  // ---- linear: the GEMM's paths ---------------------------------------------------------------
  const lin = suite(`native half GEMM [${isa}] · linear`);
  lin('odd M, K, N: edge tiles, several K blocks, B read in place (small M) and packed (large M), A rows > 256', () => {
    // M: one row, below/at/above every ISA's mr (4, 6, 8, 14) and mc (64..112), several task rows;
    // K: one, ragged, exactly one and more than one K block (kc = 256), rows longer than 256 (lda);
    // N: below / above every nr (8, 16, 32), more than one task column (nc = 128..256).
    const shapes = [
      [1, 1, 1], [1, 600, 257], [3, 17, 33], [13, 255, 15], [14, 256, 32], [15, 257, 31], [29, 65, 129],
      [63, 3, 300], [113, 300, 65], [130, 129, 17], [300, 600, 300], [257, 64, 64], [700, 33, 520],
    ];
    for (const [M, K, N] of shapes)
      for (const mode of Object.keys(MODES))
        halfVsDecoded(`linear ${M}x${K}x${N}`, mode, (c, o) => ak.linear(c(R([M, K], M + K)), c(R([K, N], K + N, 1 / Math.sqrt(K))), (M + N) % 2 ? c(R([N], N, 0.1)) : null, o));
  });
  lin('each operand alone half (x, w, b), the others float32', () => {
    const [M, K, N] = [150, 300, 70];
    const x = R([M, K], 1);
    const w = R([K, N], 2, 0.05);
    const b = R([N], 3);
    for (const dtype of ['float16', 'bfloat16']) {
      for (const which of ['x', 'w', 'b']) {
        const args = { x, w, b };
        args[which] = half(args[which], dtype);
        const got = ak.linear(args.x, args.w, args.b, NATIVE);
        const want = ak.linear(wide(args.x), wide(args.w), wide(args.b), NATIVE);
        same(got.data, want.data, `linear ${which} ${dtype}`);
      }
    }
  });
  lin('verified against reference (half inputs on both backends)', () => {
    ak.linear(half(R([37, 65], 4), 'bfloat16'), half(R([65, 129], 5, 0.1), 'float16'), half(R([129], 6), 'bfloat16'), VERIFY);
    ak.linear(half(R([300, 300], 7), 'float16'), half(R([300, 33], 8, 0.05), 'float16'), null, VERIFY);
  });
  lin('NaN / ±Inf half patterns stay in the rows and columns they touch', () => {
    const [M, K, N] = [19, 33, 37];
    for (const dtype of ['float16', 'bfloat16']) {
      const x = half(R([M, K], 5), dtype);
      const w = half(R([K, N], 6, 0.2), dtype);
      x.data[4 * K + 7] = dtype === 'bfloat16' ? 0x7fc0 : 0x7e00; // NaN
      x.data[9 * K + 2] = dtype === 'bfloat16' ? 0x7f80 : 0x7c00; // +Inf
      w.data[3 * N + 30] = dtype === 'bfloat16' ? 0xff80 : 0xfc00; // -Inf
      const got = ak.linear(x, w, null, NATIVE).data;
      const want = ak.linear(wide(x), wide(w), null, NATIVE).data;
      for (let i = 0; i < M * N; i++) {
        if (Number.isNaN(want[i])) assert.ok(Number.isNaN(got[i]), `${dtype}: NaN at ${i}`);
        else assert.is(got[i], want[i], `${dtype}: element ${i}`);
      }
      assert.ok(Number.isNaN(got[4 * N]), `${dtype}: NaN row`);
    }
  });

  // ---- multiHeadAttention -----------------------------------------------------------------------
  const mh = suite(`native half GEMM [${isa}] · multiHeadAttention`);
  const mhaParams = (c, E, Ek, Ev, Hq, Hkv, D, Dv, Eo, seed, bias = true) => ({
    wq: c(R([E, Hq * D], seed, 0.3)), bq: bias ? c(R([Hq * D], seed + 1, 0.1)) : null,
    wk: c(R([Ek, Hkv * D], seed + 2, 0.3)), bk: bias ? c(R([Hkv * D], seed + 3, 0.1)) : null,
    wv: c(R([Ev, Hkv * Dv], seed + 4, 0.3)), bv: bias ? c(R([Hkv * Dv], seed + 5, 0.1)) : null,
    wo: c(R([Hq * Dv, Eo], seed + 6, 0.3)), bo: bias ? c(R([Eo], seed + 7, 0.1)) : null,
  });
  mh('separate q / k / v, GQA, mask, half attention bias, keyLengths, weights and lse', () => {
    for (const [B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo] of [[2, 1, 17, 17, 3, 65, 4, 2, 3, 5, 7], [3, 17, 3, 64, 64, 64, 8, 1, 8, 8, 63], [2, 65, 129, 24, 17, 24, 6, 3, 4, 17, 1]]) {
      const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
      const maskData = new Uint8Array(L * S).map((_, f) => ((f * 7) % 5 !== 0 ? 1 : 0));
      for (const mode of Object.keys(MODES)) {
        const variants = [
          (c) => ({ numHeads: Hq, numKvHeads: Hkv }),
          (c) => ({ numHeads: Hq, numKvHeads: Hkv, causal: true, keyLengths, returnWeights: true, returnLse: true }),
          (c) => ({ numHeads: Hq, numKvHeads: Hkv, mask: { data: maskData, shape: [L, S] }, bias: c(R([Hq, L, S], 4)), returnWeights: true }),
        ];
        variants.forEach((opts, vi) =>
          halfVsDecoded(`mha ${B},${L},${S},${E} variant ${vi}`, mode, (c, o) => {
            const p = mhaParams(c, E, Ek, Ev, Hq, Hkv, D, Dv, Eo, L + S);
            return ak.multiHeadAttention(c(R([B, L, E], 1)), c(R([B, S, Ek], 2)), c(R([B, S, Ev], 3)), p, opts(c), o);
          }),
        );
      }
    }
  });
  mh('self-attention (fused [wq | wk | wv] packed from three half matrices) and key == value (fused [wk | wv])', () => {
    const [B, L, E, H] = [2, 33, 24, 3];
    for (const mode of Object.keys(MODES)) {
      halfVsDecoded('mha self', mode, (c, o) => {
        const x = c(R([B, L, E], 6));
        return ak.multiHeadAttention(x, x, x, mhaParams(c, E, E, E, H, H, 8, 8, E, 5), { numHeads: H, causal: true }, o);
      });
      halfVsDecoded('mha key == value', mode, (c, o) => {
        const kv = c(R([B, 40, E], 7));
        return ak.multiHeadAttention(c(R([B, L, E], 6)), kv, kv, mhaParams(c, E, E, E, H, 1, 8, 8, 17, 9, false), { numHeads: H, numKvHeads: 1 }, o);
      });
    }
    // The fused GEMM gives the bits of three separate ones (half weights packed from three blocks).
    const x = half(R([B, L, E], 6), 'bfloat16');
    const p = mhaParams((t) => half(t, 'float16'), E, E, E, H, H, 8, 8, E, 5);
    const fused = ak.multiHeadAttention(x, x, x, p, { numHeads: H }, NATIVE);
    const copy = (t) => ({ ...t, data: t.data.slice() });
    same(fused.data, ak.multiHeadAttention(x, copy(x), copy(x), p, { numHeads: H }, NATIVE).data, 'fused vs separate');
    // The same Uint16Array declared as two different formats is not fused.
    const asF16 = { ...x, dtype: 'float16' };
    const mixed = ak.multiHeadAttention(x, asF16, asF16, p, { numHeads: H }, NATIVE);
    same(mixed.data, ak.multiHeadAttention(wide(x), wide(asF16), wide(asF16), mhaParams((t) => wide(half(t, 'float16')), E, E, E, H, H, 8, 8, E, 5), { numHeads: H }, NATIVE).data, 'one buffer, two formats');
  });
  mh('verified against reference', () => {
    const c = (t) => half(t, 'bfloat16');
    const x = c(R([2, 20, 16], 1));
    ak.multiHeadAttention(x, x, x, mhaParams(c, 16, 16, 16, 4, 2, 4, 4, 16, 3), { numHeads: 4, numKvHeads: 2, causal: true }, VERIFY);
  });

  // ---- transformerEncoderLayer --------------------------------------------------------------------
  const en = suite(`native half GEMM [${isa}] · transformerEncoderLayer`);
  const encParams = (c, E, F, seed, withNorm = true) => ({
    attention: { wq: c(R([E, E], seed, 0.2)), bq: c(R([E], seed + 1, 0.1)), wk: c(R([E, E], seed + 2, 0.2)), bk: c(R([E], seed + 3, 0.1)), wv: c(R([E, E], seed + 4, 0.2)), bv: null, wo: c(R([E, E], seed + 6, 0.2)), bo: c(R([E], seed + 7, 0.1)) },
    norm1: withNorm ? { gamma: c(R([E], seed + 8, 0.5)), beta: c(R([E], seed + 9, 0.1)) } : null,
    ffn: { w1: c(R([E, F], seed + 10, 0.2)), b1: c(R([F], seed + 11, 0.1)), w2: c(R([F, E], seed + 12, 0.2)), b2: null },
    norm2: withNorm ? { gamma: c(R([E], seed + 13, 0.5)), beta: null } : null,
  });
  en('pre / post norm x relu / gelu x causal, keyLengths with zeros, odd sizes', () => {
    for (const [B, L, E, H, F] of [[1, 1, 3, 1, 1], [3, 17, 24, 3, 65], [2, 65, 63, 7, 17], [2, 129, 16, 2, 129], [1, 40, 300, 3, 20]]) {
      const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : L - b));
      for (const mode of Object.keys(MODES))
        for (const norm of ['post', 'pre'])
          for (const activation of ['relu', 'gelu'])
            halfVsDecoded(`encoder ${B},${L},${E},${H},${F} ${norm} ${activation}`, mode, (c, o) =>
              ak.transformerEncoderLayer(c(R([B, L, E], 3)), encParams(c, E, F, L + E, L % 2 === 1), { numHeads: H, norm, activation, causal: (L + E) % 2 === 0, keyLengths, eps: 1e-5 }, o),
            );
    }
  });
  en('verified against reference', () => {
    const c = (t) => half(t, 'float16');
    for (const norm of ['post', 'pre']) ak.transformerEncoderLayer(c(R([2, 17, 24], 1)), encParams(c, 24, 40, 2), { numHeads: 3, norm, causal: true }, VERIFY);
  });

  // ---- additiveAttention --------------------------------------------------------------------------
  const ad = suite(`native half GEMM [${isa}] · additiveAttention`);
  const addParams = (c, Dq, Dk, A, seed) => ({ wq: Dq ? c(R([Dq, A], seed, 0.4)) : null, wk: c(R([Dk, A], seed + 1, 0.4)), b: c(R([A], seed + 2, 0.1)), v: c(R([A], seed + 3, 0.5)) });
  ad('L != S, pooling, masks, keyLengths with zeros, odd sizes', () => {
    for (const [B, L, S, Dq, Dk, Dv, A] of [[1, 1, 1, 1, 1, 1, 1], [2, 3, 17, 5, 7, 9, 63], [3, 17, 65, 17, 3, 1, 129], [2, 65, 3, 8, 8, 8, 17], [2, 20, 130, 300, 270, 5, 33]]) {
      const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
      const mask = { data: new Uint8Array(B * L * S).map((_, f) => (f % 4 !== 1 ? 1 : 0)), shape: [B, L, S] };
      for (const mode of Object.keys(MODES)) {
        halfVsDecoded(`additive ${B},${L},${S}`, mode, (c, o) => ak.additiveAttention(c(R([B, L, Dq], 1)), c(R([B, S, Dk], 2)), c(R([B, S, Dv], 3)), addParams(c, Dq, Dk, A, B + S), { keyLengths, mask, returnWeights: true }, o));
        halfVsDecoded(`additive pooling ${B},${S}`, mode, (c, o) => ak.additiveAttention(null, c(R([B, S, Dk], 2)), c(R([B, S, Dv], 3)), { ...addParams(c, 0, Dk, A, B + S), wq: null }, { keyLengths, returnWeights: true }, o));
      }
    }
  });
  ad('verified against reference', () => {
    const c = (t) => half(t, 'bfloat16');
    ak.additiveAttention(c(R([2, 5, 8], 1)), c(R([2, 9, 6], 2)), c(R([2, 9, 7], 3)), addParams(c, 8, 6, 17, 4), { returnWeights: true }, VERIFY);
  });

  // ---- targetAttention ----------------------------------------------------------------------------
  const ta = suite(`native half GEMM [${isa}] · targetAttention`);
  const mlp = (c, D, hidden, seed, act) => {
    const layers = [];
    let inDim = 4 * D;
    [...hidden, 1].forEach((o, l) => {
      layers.push({ w: c(R([inDim, o], seed + l, 1 / Math.sqrt(inDim))), b: c(R([o], seed + 10 + l, 0.1)), alpha: act === 'prelu' && l < hidden.length ? c(R([o], seed + 20 + l, 0.3)) : undefined });
      inDim = o;
    });
    return { layers };
  };
  ta('every activation x normalize, 1 to 3 layers (each with its own dtypes), keyLengths with zeros, odd sizes', () => {
    for (const [B, S, D, hidden] of [[1, 1, 1, []], [3, 17, 3, [63]], [2, 129, 17, [65, 3]], [65, 3, 8, [17, 9, 5]], [2, 70, 80, [300]]]) {
      for (const mode of Object.keys(MODES))
        for (const activation of ['relu', 'sigmoid', 'prelu'])
          for (const normalize of ['none', 'softmax']) {
            const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - (b % S)));
            halfVsDecoded(`target ${B},${S},${D},[${hidden}] ${activation} ${normalize}`, mode, (c, o) =>
              ak.targetAttention(c(R([B, D], 1)), c(R([B, S, D], 2)), mlp(c, D, hidden, S + D, activation), { activation, normalize, keyLengths, returnWeights: true }, o),
            );
          }
    }
  });
  ta('verified against reference', () => {
    const c = (t) => half(t, 'float16');
    ak.targetAttention(c(R([3, 8], 1)), c(R([3, 20, 8], 2)), mlp(c, 8, [16, 5], 3, 'prelu'), { activation: 'prelu', normalize: 'softmax', returnWeights: true }, VERIFY);
  });

  // ---- threads and async ----------------------------------------------------------------------------
  const det = suite(`native half GEMM [${isa}] · threads and async`);
  const hb = (t) => half(t, 'bfloat16');
  const hf = (t) => half(t, 'float16');
  const workloads = () => {
    const x = hb(R([4, 129, 64], 4));
    const mp = mhaParams(hf, 64, 64, 64, 8, 2, 8, 8, 64, 3);
    const ep = encParams(hb, 64, 256, 5);
    const keys = hf(R([8, 300, 32], 6));
    const lx = hb(R([700, 300], 1));
    const lw = hf(R([300, 500], 2, 0.05));
    const lb = hb(R([500], 3));
    const sx = hf(R([5, 1000], 1));
    const sw = hb(R([1000, 700], 2, 0.05));
    const tq = hb(R([16, 32], 11));
    const th = hf(R([16, 200, 32], 12));
    const tm = mlp(hb, 32, [80, 40], 13, 'sigmoid');
    const aq = hb(R([8, 37, 16], 9));
    const ap = addParams(hf, 16, 32, 48, 10);
    return [
      ['linear', (o) => ak.linear(lx, lw, lb, o), (o) => ak.linearAsync(lx, lw, lb, o)],
      ['linear (small M: half B widened per task)', (o) => ak.linear(sx, sw, null, o), (o) => ak.linearAsync(sx, sw, null, o)],
      ['multiHeadAttention', (o) => ak.multiHeadAttention(x, x, x, mp, { numHeads: 8, numKvHeads: 2, causal: true, returnWeights: true }, o), (o) => ak.multiHeadAttentionAsync(x, x, x, mp, { numHeads: 8, numKvHeads: 2, causal: true, returnWeights: true }, o)],
      ['transformerEncoderLayer post', (o) => ak.transformerEncoderLayer(x, ep, { numHeads: 4, activation: 'gelu' }, o), (o) => ak.transformerEncoderLayerAsync(x, ep, { numHeads: 4, activation: 'gelu' }, o)],
      ['transformerEncoderLayer pre', (o) => ak.transformerEncoderLayer(x, ep, { numHeads: 4, norm: 'pre', causal: true }, o), (o) => ak.transformerEncoderLayerAsync(x, ep, { numHeads: 4, norm: 'pre', causal: true }, o)],
      ['additiveAttention', (o) => ak.additiveAttention(aq, keys, keys, ap, { returnWeights: true }, o), (o) => ak.additiveAttentionAsync(aq, keys, keys, ap, { returnWeights: true }, o)],
      ['targetAttention', (o) => ak.targetAttention(tq, th, tm, { returnWeights: true }, o), (o) => ak.targetAttentionAsync(tq, th, tm, { returnWeights: true }, o)],
    ];
  };
  det('bit-identical results at 1, 2 and 3 threads', () => {
    const before = ak.getThreads();
    try {
      for (const [op, sync] of workloads()) {
        ak.setThreads(1);
        const one = arrays(sync(NATIVE));
        for (const n of [2, 3]) {
          ak.setThreads(n);
          const other = arrays(sync(NATIVE));
          for (let i = 0; i < one.length; i++) same(other[i][1], one[i][1], `${op}.${one[i][0]} at ${n} threads`);
        }
      }
    } finally {
      ak.setThreads(before);
    }
  });
  det('async twins resolve to exactly the sync results (inputs copied at their half size), 14 concurrent calls', async () => {
    const w = workloads();
    const want = w.map(([, sync]) => arrays(sync(NATIVE)));
    const calls = [];
    for (let r = 0; r < 2; r++) w.forEach(([op, , asy], i) => calls.push(asy(NATIVE).then((res) => [op, i, res])));
    for (const [op, i, res] of await Promise.all(calls)) {
      const got = arrays(res);
      for (let j = 0; j < got.length; j++) same(got[j][1], want[i][j][1], `${op}.${got[j][0]} async`);
    }
  });

  // ---- the addon's own checks of half fields (no TypeScript validation in front) --------------------
  const bad = suite(`native half GEMM [${isa}] · addon argument checks`);
  const addon = createRequire(import.meta.url)(ak.nativeInfo().path);
  const f = (n) => new Float32Array(n);
  const u = (n) => new Uint16Array(n);
  const throwsKind = (fn, Kind, re, what) => {
    try {
      fn();
    } catch (e) {
      assert.instance(e, Kind, `${what}: ${e}`);
      if (re) assert.match(e.message, re, what);
      return;
    }
    assert.unreachable(`${what}: did not throw`);
  };
  bad('half operands reach the addon as they are (NATIVE_HALF: no float32 copy in TypeScript)', () => {
    const seen = {};
    const names = ['linear', 'multiHeadAttention', 'transformerEncoderLayer', 'additiveAttention', 'targetAttention'];
    const saved = names.map((n) => addon[n]);
    names.forEach((n, i) => {
      addon[n] = (args) => {
        seen[n] = args;
        return saved[i](args);
      };
    });
    try {
      const c = (t) => half(t, 'bfloat16');
      ak.linear(c(R([3, 4], 1)), c(R([4, 5], 2)), null, NATIVE);
      const x = c(R([1, 3, 8], 3));
      ak.multiHeadAttention(x, x, x, mhaParams(c, 8, 8, 8, 2, 2, 4, 4, 8, 4), { numHeads: 2 }, NATIVE);
      ak.transformerEncoderLayer(x, encParams(c, 8, 6, 5), { numHeads: 2 }, NATIVE);
      ak.additiveAttention(c(R([1, 2, 3], 1)), x, x, addParams(c, 3, 8, 5, 6), {}, NATIVE);
      ak.targetAttention(c(R([2, 3], 1)), c(R([2, 4, 3], 2)), mlp(c, 3, [5], 7, 'relu'), {}, NATIVE);
    } finally {
      names.forEach((n, i) => (addon[n] = saved[i]));
    }
    assert.instance(seen.linear?.x, Uint16Array, 'linear x');
    assert.equal(seen.linear.dtypes, { x: 'bfloat16', w: 'bfloat16' });
    assert.instance(seen.multiHeadAttention?.query, Uint16Array, 'mha query');
    assert.instance(seen.multiHeadAttention.wo, Uint16Array, 'mha wo');
    assert.instance(seen.transformerEncoderLayer?.x, Uint16Array, 'encoder x');
    assert.instance(seen.transformerEncoderLayer.gamma1, Uint16Array, 'encoder gamma1');
    assert.instance(seen.additiveAttention?.values, Uint16Array, 'additive values');
    assert.instance(seen.targetAttention?.history, Uint16Array, 'target history');
    assert.instance(seen.targetAttention.layers[0].w, Uint16Array, 'target layers[0].w');
    assert.equal(seen.targetAttention.layers[0].dtypes, { w: 'bfloat16', b: 'bfloat16' });
  });
  bad('linear: a declared half field holding a Float32Array, an undeclared one holding a Uint16Array, bad dtypes', async () => {
    const args = () => ({ x: u(6), rows: 2, inDim: 3, outDim: 4, w: f(12), b: u(4), dtypes: { x: 'bfloat16', b: 'float16' } });
    assert.is(addon.linear(args()).length, 8);
    throwsKind(() => addon.linear({ ...args(), x: f(6) }), TypeError, /linear: x: expected a Uint16Array/, 'declared half, Float32Array given');
    throwsKind(() => addon.linear({ ...args(), w: u(12) }), TypeError, /linear: w: expected a Float32Array/, 'undeclared, Uint16Array given');
    throwsKind(() => addon.linear({ ...args(), b: f(4) }), TypeError, /linear: b: expected a Uint16Array/, 'optional declared half');
    throwsKind(() => addon.linear({ ...args(), x: u(5) }), RangeError, /x: expected 6 elements/, 'short half x');
    throwsKind(() => addon.linear({ ...args(), dtypes: { x: 'float8' } }), RangeError, /dtypes\.x/, 'unknown dtype');
    throwsKind(() => addon.linear({ ...args(), dtypes: { x: 16 } }), TypeError, /dtypes\.x/, 'dtype not a string');
    throwsKind(() => addon.linear({ ...args(), dtypes: 'bfloat16' }), TypeError, /dtypes/, 'dtypes not an object');
    throwsKind(() => addon.linear({ ...args(), dtypes: { x: 'bfloat16', y: 'float16' } }), RangeError, /linear: dtypes\.y: not a float operand of linear/, 'unknown field');
    await addon.linearAsync({ ...args(), x: f(6) }).then(() => assert.unreachable('async resolved'), (e) => assert.instance(e, TypeError));
    // async: the copies are of the half arrays' byte counts (a wrong count would read past them or lose data)
    const x = new Uint16Array([0x3f80, 0x4000, 0x4040, 0x4080, 0x40a0, 0x40c0]); // bfloat16 1..6
    const w = new Float32Array(12).fill(1);
    const got = await addon.linearAsync({ x, rows: 2, inDim: 3, outDim: 4, w, b: null, dtypes: { x: 'bfloat16' } });
    assert.equal(Array.from(got), [6, 6, 6, 6, 15, 15, 15, 15]);
  });
  bad('multiHeadAttention, transformerEncoderLayer, additiveAttention, targetAttention: each half field re-checked', () => {
    const mha = () => ({
      query: f(12), key: f(12), value: f(12), selfAttention: false, B: 1, L: 3, S: 3, E: 4, Ek: 4, Ev: 4, Hq: 2, Hkv: 2, D: 2, Dv: 2, Eo: 4,
      wq: f(16), bq: null, wk: f(16), bk: null, wv: f(16), bv: null, wo: f(16), bo: null, scale: 0.5, causal: false, mask: null, bias: null, keyLengths: null, returnWeights: false, returnLse: false,
      offsets: null, windowLeft: -1, windowRight: -1, softcap: 0,
    });
    for (const field of ['query', 'key', 'value', 'wq', 'wk', 'wv', 'wo'])
      throwsKind(() => addon.multiHeadAttention({ ...mha(), dtypes: { [field]: 'float16' } }), TypeError, new RegExp(`multiHeadAttention: ${field}: expected a Uint16Array`), `mha ${field}`);
    throwsKind(() => addon.multiHeadAttention({ ...mha(), bq: f(4), dtypes: { bq: 'bfloat16' } }), TypeError, /bq: expected a Uint16Array/, 'mha bq');
    throwsKind(() => addon.multiHeadAttention({ ...mha(), bias: { data: f(9), strides: [0, 0, 3, 1] }, dtypes: { bias: 'bfloat16' } }), TypeError, /bias\.data: expected a Uint16Array/, 'mha strided bias');
    throwsKind(() => addon.multiHeadAttention({ ...mha(), bias: { data: u(9), strides: [0, 0, 3, 1] } }), TypeError, /bias\.data: expected a Float32Array/, 'mha undeclared half bias');
    throwsKind(() => addon.multiHeadAttention({ ...mha(), bias: { data: u(8), strides: [0, 0, 3, 1] }, dtypes: { bias: 'float16' } }), RangeError, /strides reach/, 'mha short half bias');
    assert.is(addon.multiHeadAttention({ ...mha(), query: u(12), wo: u(16), bias: { data: u(9), strides: [0, 0, 3, 1] }, dtypes: { query: 'float16', wo: 'bfloat16', bias: 'bfloat16' } }).output.length, 12);

    const enc = () => ({ x: f(12), B: 1, L: 3, E: 4, H: 2, D: 2, F: 5, wq: f(16), bq: null, wk: f(16), bk: null, wv: f(16), bv: null, wo: f(16), bo: null, gamma1: f(4), beta1: null, w1: f(20), b1: null, w2: f(20), b2: null, gamma2: null, beta2: null, norm: 'post', activation: 'relu', causal: false, offsets: null, windowLeft: -1, windowRight: -1, softcap: 0, keyLengths: null, eps: 1e-5 });
    for (const field of ['x', 'wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'gamma1'])
      throwsKind(() => addon.transformerEncoderLayer({ ...enc(), dtypes: { [field]: 'bfloat16' } }), TypeError, new RegExp(`transformerEncoderLayer: ${field}: expected a Uint16Array`), `encoder ${field}`);
    throwsKind(() => addon.transformerEncoderLayer({ ...enc(), x: u(12) }), TypeError, /x: expected a Float32Array/, 'encoder undeclared half x');
    assert.is(addon.transformerEncoderLayer({ ...enc(), x: u(12), w2: u(20), gamma1: u(4), dtypes: { x: 'float16', w2: 'bfloat16', gamma1: 'float16' } }).length, 12);

    const add = () => ({ query: f(4), keys: f(6), values: f(6), B: 1, L: 2, S: 3, Dq: 2, Dk: 2, Dv: 2, A: 4, wq: f(8), wk: f(8), b: f(4), v: f(4), mask: null, keyLengths: null, returnWeights: true });
    for (const field of ['query', 'keys', 'values', 'wq', 'wk', 'b', 'v'])
      throwsKind(() => addon.additiveAttention({ ...add(), dtypes: { [field]: 'float16' } }), TypeError, new RegExp(`additiveAttention: ${field}: expected a Uint16Array`), `additive ${field}`);
    assert.is(addon.additiveAttention({ ...add(), values: u(6), v: u(4), dtypes: { values: 'bfloat16', v: 'float16' } }).weights.length, 6);

    const layer = (i, o, extra = {}) => ({ w: f(i * o), b: f(o), inDim: i, outDim: o, alpha: null, ...extra });
    const tgt = () => ({ target: f(4), history: f(12), B: 2, S: 3, D: 2, layers: [layer(8, 3), layer(3, 1)], activation: 'relu', normalize: 'none', keyLengths: null, returnWeights: false });
    for (const field of ['target', 'history'])
      throwsKind(() => addon.targetAttention({ ...tgt(), dtypes: { [field]: 'bfloat16' } }), TypeError, new RegExp(`targetAttention: ${field}: expected a Uint16Array`), `target ${field}`);
    // A layer's dtypes are its own: the args' dtypes do not reach the layers, nor the other way round.
    throwsKind(() => addon.targetAttention({ ...tgt(), layers: [layer(8, 3, { dtypes: { w: 'float16' } }), layer(3, 1)] }), TypeError, /layers\[0\]\.w: expected a Uint16Array/, 'layer w');
    throwsKind(() => addon.targetAttention({ ...tgt(), layers: [layer(8, 3), layer(3, 1, { dtypes: { b: 'bfloat16' } })] }), TypeError, /layers\[1\]\.b: expected a Uint16Array/, 'layer b');
    throwsKind(() => addon.targetAttention({ ...tgt(), activation: 'prelu', layers: [layer(8, 3, { alpha: f(3), dtypes: { alpha: 'float16' } }), layer(3, 1)] }), TypeError, /layers\[0\]\.alpha: expected a Uint16Array/, 'layer alpha');
    throwsKind(() => addon.targetAttention({ ...tgt(), layers: [layer(8, 3, { w: u(24) }), layer(3, 1)], dtypes: { w: 'float16' } }), RangeError, /targetAttention: dtypes\.w: not a float operand/, 'args dtypes do not name layer fields');
    throwsKind(() => addon.targetAttention({ ...tgt(), layers: [layer(8, 3, { dtypes: { history: 'float16' } }), layer(3, 1)] }), RangeError, /layers\[0\]\.dtypes\.history: not a float operand/, 'layer dtypes name the args fields');
    // dtypes naming a field that is not a float operand of the op
    throwsKind(() => addon.multiHeadAttention({ ...mha(), dtypes: { mask: 'float16' } }), RangeError, /dtypes\.mask: not a float operand/, 'mha dtypes.mask');
    throwsKind(() => addon.transformerEncoderLayer({ ...enc(), dtypes: { gamma: 'float16' } }), RangeError, /dtypes\.gamma: not a float operand/, 'encoder dtypes.gamma');
    throwsKind(() => addon.additiveAttention({ ...add(), dtypes: { keyLengths: 'bfloat16' } }), RangeError, /dtypes\.keyLengths: not a float operand/, 'additive dtypes.keyLengths');
    assert.is(addon.targetAttention({ ...tgt(), history: u(12), dtypes: { history: 'float16' }, layers: [layer(8, 3, { w: u(24), dtypes: { w: 'bfloat16' } }), layer(3, 1, { b: u(1), dtypes: { b: 'float16' } })] }).output.length, 4);
  });

  for (const s of [lin, mh, en, ad, ta, det, bad]) s.run();
}
