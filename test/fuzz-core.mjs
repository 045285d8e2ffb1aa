// Hostile-input fuzzer shared by test/fuzz.test.mjs (CI budget) and scripts/fuzz-long.mjs (long run).
//
// Every case is drawn by fast-check with a fixed seed and built deterministically from a few
// integers, so a failing case prints as a one-line recipe and replays exactly. A case is:
//   - an op the backend registers, with small valid inputs (random sizes, options, masks, biases);
//   - then either a set of VALID but awkward representations (subarray views at byte offsets,
//     SharedArrayBuffer, resizable ArrayBuffer (fixed and length-tracking views), onnx-style `dims`,
//     shapes as typed arrays, getter-backed tensor objects), whose result must equal reference's
//     result on plain copies of the same numbers (bit-identical for reference itself, the backend's
//     measured verify tolerance for the others), or
//   - ONE corruption (wrong types, lying shapes, bad dims, overflowing size products, detached
//     buffers, wrong broadcast shapes, out-of-range k / exclusion indices / key lengths, options and
//     dispatch options of the wrong type, throwing getters and Proxies). Corruptions marked `must`
//     are invalid by the contract and must throw an AttnkitError; the others may be valid (then the
//     result is cross-checked against reference on the same input).
// The property: a correct result or an `instanceof AttnkitError` throw (a rejection for the async
// twins). Anything else (an untyped error, a wrong number, an accepted invalid input) is recorded
// as a failure with its recipe. A crash kills the process: scripts/fuzz-long.mjs runs each backend
// in a child process and reports the last case started.
//
// The raw addon fuzzer (fuzzRaw) bypasses the TypeScript validation: it captures the kernel
// argument structs the ops build (through a throw-away spy backend), corrupts one field, and calls
// the addon's `<op>` / `<op>Async` directly. Property: a JS Error is thrown or a result returned;
// never a crash (under scripts/sanitize.sh, never an ASan/UBSan report either).
import fc from 'fast-check';
import * as ak from 'attnkit';

export const FUZZ_SEED = 20261122;

// ---------------------------------------------------------------------------------------------
// Small deterministic helpers

function rngOf(seed) {
  const r = ak.seededRandom(seed);
  return {
    f: r,
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(r() * arr.length)],
    bool: (p = 0.5) => r() < p,
  };
}
const prod = (s) => s.reduce((a, b) => a * b, 1);
function randT(R, shape, scale = 1) {
  const d = new Float32Array(prod(shape));
  for (let i = 0; i < d.length; i++) d[i] = (R.f() * 2 - 1) * scale;
  return { data: d, shape: [...shape] };
}
function randMask(R, shape) {
  const d = new Uint8Array(prod(shape));
  for (let i = 0; i < d.length; i++) d[i] = R.f() < 0.75 ? 1 : 0;
  return { data: d, shape: [...shape] };
}
/** A random shape broadcastable to `target`: some leading axes dropped, some axes set to 1. */
function broadcastShape(R, target) {
  const drop = R.int(0, target.length - 1);
  return target.slice(drop).map((d) => (R.bool(0.4) ? 1 : d));
}
function randLengths(R, B, S) {
  const a = new Int32Array(B);
  for (let b = 0; b < B; b++) a[b] = R.int(0, S);
  return a;
}

// ---------------------------------------------------------------------------------------------
// Valid case builders, one per op. Each returns { op, fn, args: [...positional before dispatch options] }
// with `args` holding tensors as plain { data, shape } objects. `tensors(args)` lists every tensor
// slot as [container, key, kind] so representations and corruptions can reach nested ones.

const BUILD = {
  sdpa(R, small) {
    const B = R.int(1, 2), Hkv = R.int(1, 2), Hq = Hkv * R.int(1, 2);
    const L = R.int(1, small ? 3 : 5), S = R.int(1, small ? 4 : 6), D = R.int(1, small ? 4 : 8), Dv = R.int(1, small ? 4 : 6);
    const target = [B, Hq, L, S];
    const o = {};
    if (R.bool()) o.causal = R.bool();
    if (R.bool(0.2)) o.scale = R.f() * 2 - 0.5;
    if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, target));
    if (R.bool(0.3)) o.bias = randT(R, broadcastShape(R, target));
    if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
    if (R.bool(0.3)) o.returnWeights = true;
    if (R.bool(0.3)) o.returnLse = true;
    return { op: 'sdpa', fn: 'sdpa', args: [randT(R, [B, Hq, L, D]), randT(R, [B, Hkv, S, D]), randT(R, [B, Hkv, S, Dv]), o] };
  },
  multiHeadAttention(R, small) {
    const B = R.int(1, 2), Hkv = R.int(1, 2), Hq = Hkv * R.int(1, 2), D = R.int(1, small ? 3 : 4), Dv = R.int(1, small ? 3 : 4);
    const self = R.bool(0.3);
    const L = R.int(1, 4), S = self ? L : R.int(1, 4);
    const E = R.int(1, 6), Ek = self ? E : R.int(1, 6), Ev = self ? E : R.int(1, 6), Eo = R.int(1, 5);
    const query = randT(R, [B, L, E]);
    const key = self ? query : randT(R, [B, S, Ek]);
    const value = self ? query : randT(R, [B, S, Ev]);
    const p = { wq: randT(R, [E, Hq * D]), wk: randT(R, [Ek, Hkv * D]), wv: randT(R, [Ev, Hkv * Dv]), wo: randT(R, [Hq * Dv, Eo]) };
    if (R.bool()) p.bq = randT(R, [Hq * D]);
    if (R.bool()) p.bk = randT(R, [Hkv * D]);
    if (R.bool()) p.bv = randT(R, [Hkv * Dv]);
    if (R.bool()) p.bo = randT(R, [Eo]);
    const target = [B, Hq, L, S];
    const o = { numHeads: Hq };
    if (Hkv !== Hq || R.bool()) o.numKvHeads = Hkv;
    if (R.bool()) o.causal = R.bool();
    if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, target));
    if (R.bool(0.3)) o.bias = randT(R, broadcastShape(R, target));
    if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
    if (R.bool(0.3)) o.returnWeights = true;
    if (R.bool(0.3)) o.returnLse = true;
    return { op: 'multiHeadAttention', fn: 'multiHeadAttention', args: [query, key, value, p, o] };
  },
  additiveAttention(R) {
    const B = R.int(1, 2), S = R.int(1, 5), Dk = R.int(1, 5), Dv = R.int(1, 4), A = R.int(1, 6);
    const pool = R.bool(0.3);
    const L = pool ? 1 : R.int(1, 4), Dq = R.int(1, 5);
    const p = { wk: randT(R, [Dk, A]), b: randT(R, [A]), v: randT(R, [A]) };
    if (!pool) p.wq = randT(R, [Dq, A]);
    const o = {};
    if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, [B, L, S]));
    if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
    if (R.bool(0.4)) o.returnWeights = true;
    return { op: 'additiveAttention', fn: 'additiveAttention', args: [pool ? null : randT(R, [B, L, Dq]), randT(R, [B, S, Dk]), randT(R, [B, S, Dv]), p, o] };
  },
  targetAttention(R) {
    const B = R.int(1, 3), S = R.int(1, 6), D = R.int(1, 4);
    const activation = R.pick(['relu', 'sigmoid', 'prelu']);
    const nl = R.int(1, 3);
    const layers = [];
    let inDim = 4 * D;
    for (let l = 0; l < nl; l++) {
      const out = l === nl - 1 ? 1 : R.int(1, 6);
      const layer = { w: randT(R, [inDim, out]), b: randT(R, [out]) };
      if (activation === 'prelu' && l < nl - 1 && R.bool()) layer.alpha = R.bool() ? R.f() : randT(R, [out]);
      layers.push(layer);
      inDim = out;
    }
    const o = { activation };
    if (R.bool()) o.normalize = R.pick(['none', 'softmax']);
    if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
    if (R.bool(0.4)) o.returnWeights = true;
    return { op: 'targetAttention', fn: 'targetAttention', args: [randT(R, [B, D]), randT(R, [B, S, D]), { layers }, o] };
  },
  transformerEncoderLayer(R) {
    const B = R.int(1, 2), L = R.int(1, 4), H = R.int(1, 2), E = H * R.int(1, 3), F = R.int(1, 6);
    const att = { wq: randT(R, [E, E]), wk: randT(R, [E, E]), wv: randT(R, [E, E]), wo: randT(R, [E, E]) };
    for (const b of ['bq', 'bk', 'bv', 'bo']) if (R.bool()) att[b] = randT(R, [E]);
    const ffn = { w1: randT(R, [E, F]), w2: randT(R, [F, E]) };
    if (R.bool()) ffn.b1 = randT(R, [F]);
    if (R.bool()) ffn.b2 = randT(R, [E]);
    const p = { attention: att, ffn };
    if (R.bool(0.7)) p.norm1 = { gamma: randT(R, [E]), beta: randT(R, [E]) };
    if (R.bool(0.7)) p.norm2 = { gamma: randT(R, [E]), beta: randT(R, [E]) };
    const o = { numHeads: H };
    if (R.bool()) o.norm = R.pick(['pre', 'post']);
    if (R.bool()) o.activation = R.pick(['relu', 'gelu']);
    if (R.bool()) o.causal = R.bool();
    if (R.bool(0.3)) o.keyLengths = randLengths(R, B, L);
    return { op: 'transformerEncoderLayer', fn: 'transformerEncoderLayer', args: [randT(R, [B, L, E]), p, o] };
  },
  softmax(R) {
    const shape = Array.from({ length: R.int(1, 4) }, () => R.int(1, 5));
    const o = {};
    if (R.bool(0.4)) o.mask = randMask(R, broadcastShape(R, shape));
    return { op: 'softmax', fn: 'softmax', args: [randT(R, shape, 4), o] };
  },
  layerNorm(R) {
    const shape = Array.from({ length: R.int(1, 3) }, () => R.int(1, 6));
    const c = shape[shape.length - 1];
    return { op: 'layerNorm', fn: 'layerNorm', args: [randT(R, shape), R.bool() ? randT(R, [c]) : null, R.bool() ? randT(R, [c]) : null, R.bool() ? { eps: R.f() * 1e-3 } : undefined] };
  },
  linear(R) {
    const shape = Array.from({ length: R.int(1, 3) }, () => R.int(1, 6));
    const out = R.int(1, 7);
    return { op: 'linear', fn: 'linear', args: [randT(R, shape), randT(R, [shape[shape.length - 1], out]), R.bool() ? randT(R, [out]) : null] };
  },
  gelu(R) {
    const shape = Array.from({ length: R.int(1, 3) }, () => R.int(1, 6));
    return { op: 'gelu', fn: 'gelu', args: [randT(R, shape, 4), R.bool() ? { approximate: R.pick(['none', 'tanh']) } : undefined] };
  },
  topK(R) {
    const B = R.int(1, 3), N = R.int(1, 12), D = R.int(1, 6);
    const k = R.int(1, N);
    const o = {};
    if (R.bool(0.4)) o.exclude = Array.from({ length: B }, () => (R.bool(0.3) ? null : Array.from({ length: R.int(0, N) }, () => R.int(0, N - 1))));
    return { op: 'topK', fn: 'topK', args: [randT(R, [B, D]), randT(R, [N, D]), k, o] };
  },
};
export const FUZZ_OPS = Object.keys(BUILD);

/** Every tensor slot of a case: [container, key, kind('f32'|'u8'), path]. */
function slots(c) {
  const out = [];
  const seen = new Set();
  const visit = (obj, path) => {
    if (!obj || typeof obj !== 'object' || seen.has(obj)) return;
    seen.add(obj);
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (v && typeof v === 'object' && (v.data instanceof Float32Array || v.data instanceof Uint8Array) && Array.isArray(v.shape)) {
        out.push([obj, key, v.data instanceof Uint8Array ? 'u8' : 'f32', `${path}.${key}`]);
      } else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) visit(v, `${path}.${key}`);
    }
  };
  visit(c.args, 'args');
  return out;
}

/** Deep copy of a case's arguments (tensors copied; the self-attention aliasing preserved). */
function cloneArgs(args) {
  const map = new Map();
  const cp = (v) => {
    if (v === null || typeof v !== 'object') return v;
    if (map.has(v)) return map.get(v);
    let out;
    if (ArrayBuffer.isView(v)) out = v.slice();
    else if (Array.isArray(v)) {
      out = [];
      map.set(v, out);
      for (const x of v) out.push(cp(x));
      return out;
    } else {
      out = {};
      map.set(v, out);
      for (const k of Object.keys(v)) out[k] = cp(v[k]);
      return out;
    }
    map.set(v, out);
    return out;
  };
  return cp(args);
}

// ---------------------------------------------------------------------------------------------
// Valid representations of a tensor's data (the numbers are unchanged).

function copyInto(src, buffer, byteOffset, lengthTracking = false) {
  const C = src.constructor;
  const dst = lengthTracking ? new C(buffer, byteOffset) : new C(buffer, byteOffset, src.length);
  dst.set(src);
  return dst;
}
const REPRS = [
  ['view-offset', (t) => {
    const B = t.data.BYTES_PER_ELEMENT, pad = 3;
    const big = new t.data.constructor(t.data.length + pad + 5).fill(t.data instanceof Uint8Array ? 7 : NaN); // poison around the view
    const view = big.subarray(pad, pad + t.data.length);
    view.set(t.data);
    void B;
    return { data: view, shape: t.shape };
  }],
  ['shared', (t) => ({ data: copyInto(t.data, new SharedArrayBuffer(t.data.byteLength + 16), 8), shape: t.shape })],
  ['resizable-fixed', (t) => ({ data: copyInto(t.data, new ArrayBuffer(t.data.byteLength + 8, { maxByteLength: t.data.byteLength + 64 }), 4), shape: t.shape })],
  ['resizable-tracking', (t) => ({ data: copyInto(t.data, new ArrayBuffer(t.data.byteLength, { maxByteLength: t.data.byteLength + 64 }), 0, true), shape: t.shape })],
  ['growable-shared', (t) => ({ data: copyInto(t.data, new SharedArrayBuffer(t.data.byteLength + 8, { maxByteLength: t.data.byteLength + 64 }), 8), shape: t.shape })],
  ['onnx-dims', (t) => ({ data: t.data, dims: t.shape })],
  ['shape-int32', (t) => ({ data: t.data, shape: Int32Array.from(t.shape) })],
  ['frozen', (t) => Object.freeze({ data: t.data, shape: Object.freeze([...t.shape]) })],
  ['getters', (t) => ({ get data() { return t.data; }, get shape() { return t.shape; } })],
  ['class', (t) => new (class TensorLike { constructor() { this.data = t.data; this.shape = t.shape; } })()],
  ['proxy-object', (t) => new Proxy({ data: t.data, shape: t.shape }, {})],
];
export const REPR_NAMES = REPRS.map((r) => r[0]);

// ---------------------------------------------------------------------------------------------
// Corruptions. Each: [name, must, apply(R, c)] mutating the cloned case in place; `must` = the
// result is invalid by the contract whatever the random draw (so it must throw a typed error).

const thrower = () => { throw new Error('hostile getter'); };
const throwingProxy = (target = {}) => new Proxy(target, { get: thrower, has: thrower, ownKeys: thrower, getOwnPropertyDescriptor: thrower, getPrototypeOf: thrower });
const detached = (ta) => {
  const copy = ta.slice();
  structuredClone(copy.buffer, { transfer: [copy.buffer] });
  return copy;
};
const BAD_VALUES = [
  ['plain-array', (t) => Array.from(t.data)],
  ['bare-f32', (t) => t.data],
  ['bare-f64', (t) => Float64Array.from(t.data)],
  ['string', () => 'tensor'],
  ['number', () => 3],
  ['bigint', () => 3n],
  ['symbol', () => Symbol('t')],
  ['function', () => () => 1],
  ['empty-object', () => ({})],
  ['getter-data-throws', (t) => ({ get data() { return thrower(); }, shape: t.shape })],
  ['getter-shape-throws', (t) => ({ data: t.data, get shape() { return thrower(); } })],
  ['throwing-proxy', () => throwingProxy()],
  ['proxy-of-typed-data', (t) => ({ data: new Proxy(t.data, {}), shape: t.shape })],
];
const BAD_DATA = [
  ['f64', (t) => Float64Array.from(t.data)],
  ['i32', (t) => Int32Array.from(t.data)],
  ['bigint64', (t) => new BigInt64Array(t.data.length)],
  ['u8-for-f32', (t) => new Uint8Array(t.data.length)],
  ['f32-for-u8', (t) => new Float32Array(t.data.length)],
  ['array', (t) => Array.from(t.data)],
  ['string', () => 'abc'],
  ['null', () => null],
  ['dataview', (t) => new DataView(new ArrayBuffer(t.data.byteLength))],
  ['detached', (t) => detached(t.data)],
];
const BAD_DIMS = [-1, 0.5, 2.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e308, '2', null, undefined, true, 1n];

// Shapes whose element count overflows 2^32 / 2^53 (and doubles) while the data stays tiny.
const OVERFLOW_SHAPES = (rank) => {
  const sets = [
    [65536, 65536],
    [2 ** 26, 2 ** 26],
    [2 ** 31, 2],
    [4294967296, 1],
    [2 ** 53, 2],
    [3037000500, 3037000500],
  ];
  return sets.map((s) => {
    const out = new Array(rank).fill(1);
    for (let i = 0; i < Math.min(rank, s.length); i++) out[rank - 1 - i] = s[i];
    return out;
  });
};

function pickSlot(R, c, kind) {
  const all = slots(c).filter((s) => !kind || s[2] === kind);
  return all.length ? R.pick(all) : null;
}

const CORRUPT = [
  ['tensor-replaced', true, (R, c) => {
    const s = pickSlot(R, c);
    const [name, f] = R.pick(BAD_VALUES);
    s[0][s[1]] = f(s[0][s[1]]);
    return `${s[3]} := ${name}`;
  }],
  ['data-replaced', true, (R, c) => {
    const s = pickSlot(R, c);
    let [name, f] = R.pick(BAD_DATA);
    if ((name === 'u8-for-f32' && s[2] === 'u8') || (name === 'f32-for-u8' && s[2] === 'f32')) [name, f] = BAD_DATA[0];
    s[0][s[1]] = { data: f(s[0][s[1]]), shape: s[0][s[1]].shape };
    return `${s[3]}.data := ${name}`;
  }],
  ['shape-lies', true, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = [...t.shape];
    const a = R.int(0, shape.length - 1);
    shape[a] += R.pick([1, 2, -1].filter((d) => shape[a] + d >= 0 && prod(shape.map((x, i) => (i === a ? x + d : x))) !== t.data.length));
    if (prod(shape) === t.data.length) shape.push(2); // -1 landed on the same count: force a lie
    s[0][s[1]] = { data: t.data, shape };
    return `${s[3]}.shape := [${shape}] (data ${t.data.length})`;
  }],
  ['bad-dim', true, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = [...t.shape];
    const d = R.pick(BAD_DIMS);
    shape[R.int(0, shape.length - 1)] = d;
    s[0][s[1]] = { data: t.data, shape };
    return `${s[3]}.shape := [${shape.map(String)}]`;
  }],
  ['overflow-shape', true, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = R.pick(OVERFLOW_SHAPES(t.shape.length));
    s[0][s[1]] = { data: t.data, shape };
    return `${s[3]}.shape := [${shape}]`;
  }],
  ['bad-shape-container', true, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = R.pick([() => 'abc', () => 4, () => ({ length: t.shape.length, 0: 1 }), () => throwingProxy([]), () => null, () => new Float64Array([NaN]), () => [t.shape]])();
    s[0][s[1]] = { data: t.data, shape };
    return `${s[3]}.shape := hostile container`;
  }],
  ['detached-buffer', true, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    structuredClone(t.data.buffer, { transfer: [t.data.buffer] });
    return `${s[3]}.data detached`;
  }],
  ['rank-changed', false, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = R.bool() ? [1, ...t.shape] : t.shape.length > 1 ? [prod(t.shape.slice(0, 2)), ...t.shape.slice(2)] : [...t.shape, 1];
    s[0][s[1]] = { data: t.data, shape };
    return `${s[3]}.shape := [${shape}] (same count, other rank)`;
  }],
  ['zero-dim', false, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = [...t.shape];
    shape[R.int(0, shape.length - 1)] = 0;
    s[0][s[1]] = { data: new t.data.constructor(0), shape };
    return `${s[3]}.shape := [${shape}] (empty)`;
  }],
  ['options-replaced', true, (R, c) => {
    const choices = [['string', 'opts'], ['bigint', 5n], ['symbol', Symbol('o')], ['true', true], ['throwing-proxy', throwingProxy()], ['function', () => 1]];
    if (c.op !== 'layerNorm') choices.push(['number', 7]); // layerNorm takes a number as eps
    const bad = R.pick(choices);
    const idx = OPT_IDX[c.op] < 0 ? 2 : OPT_IDX[c.op]; // linear: its optional bias
    c.args[idx] = bad[1];
    return `${OPT_IDX[c.op] < 0 ? 'b' : 'options'} := ${bad[0]}`;
  }],
  ['option-wrong-type', true, (R, c) => {
    const keys = OPTION_KEYS[c.op];
    if (!keys.length) return corruptK(R, c);
    const k = R.pick(keys);
    const v = R.pick(BAD_OPTION_VALUES[k]);
    optionsOf(c)[k] = v;
    return `options.${k} := ${describe(v)}`;
  }],
  ['option-getter-throws', true, (R, c) => {
    const keys = OPTION_KEYS[c.op];
    if (!keys.length) return corruptK(R, c);
    const k = R.pick(keys);
    Object.defineProperty(optionsOf(c), k, { get: thrower, enumerable: true, configurable: true });
    return `options.${k} := throwing getter`;
  }],
  ['params-hostile', true, (R, c) => {
    const i = c.args.findIndex((a) => a && typeof a === 'object' && ('layers' in a || 'attention' in a || ('wk' in a)));
    if (i < 0) {
      // ops without params: hostile second argument instead
      c.args[1] = R.pick([throwingProxy(), 'w', 42]);
      return 'args[1] := hostile';
    }
    const p = c.args[i];
    const how = R.int(0, 4);
    if (how === 0) c.args[i] = throwingProxy();
    else if (how === 1) c.args[i] = 'params';
    else if (how === 2 && 'layers' in p) p.layers = R.pick([[], 'layers', [null], [{}], throwingProxy([])]);
    else if (how === 3) {
      const k = R.pick(Object.keys(p));
      Object.defineProperty(p, k, { get: thrower, enumerable: true, configurable: true });
    } else {
      const k = R.pick(Object.keys(p));
      p[k] = R.pick(['w', 1]); // not null / []: optional fields (biases, norm1) accept those
    }
    return `params hostile (${how})`;
  }],
  ['mask-wrong-broadcast', true, (R, c) => {
    const t = broadcastTarget(c);
    if (!t) return corruptK(R, c);
    const shape = [...t.shape];
    const a = R.int(0, shape.length - 1);
    shape[a] = shape[a] + 1;
    if (R.bool(0.3)) shape.unshift(2, 1); // rank above the target's
    const useBias = t.bias && R.bool();
    const v = useBias ? randT(R, shape) : randMask(R, shape);
    optionsOf(c)[useBias ? 'bias' : 'mask'] = v;
    return `options.${useBias ? 'bias' : 'mask'} shape [${shape}] vs target [${t.shape}]`;
  }],
  ['lengths-out-of-range', true, (R, c) => {
    const t = lengthsTarget(c);
    if (!t) return corruptK(R, c);
    const a = randLengths(R, t.B, t.S);
    const how = R.int(0, 2);
    if (how === 0) a[R.int(0, t.B - 1)] = t.S + R.int(1, 3);
    else if (how === 1) a[R.int(0, t.B - 1)] = R.pick([-1, -2147483648]);
    optionsOf(c).keyLengths = how === 2 ? new Int32Array(t.B + 1) : a;
    return `options.keyLengths := [${Array.from(how === 2 ? new Int32Array(t.B + 1) : a)}] (B=${t.B}, S=${t.S})`;
  }],
  ['k-or-exclude', true, (R, c) => corruptK(R, c)],
  ['dispatch-options', true, (R, c) => {
    const v = R.pick([['string', 'native'], ['backend-number', { backend: 5 }], ['unknown-backend', { backend: 'nope' }], ['verify-string', { verify: 'yes' }], ['verify-rows', { verify: { rows: -1 } }], ['verify-rtol', { verify: { rtol: -1 } }], ['onReport', { onReport: 5 }], ['getter', { get backend() { return thrower(); } }], ['proxy', throwingProxy()]]);
    c.dispatchOverride = v[1];
    return `dispatchOptions := ${v[0]}`;
  }],
];
export const CORRUPT_NAMES = CORRUPT.map((x) => x[0]);

const OPTION_KEYS = {
  sdpa: ['causal', 'returnWeights', 'returnLse', 'scale', 'keyLengths', 'mask', 'bias'],
  multiHeadAttention: ['numHeads', 'numKvHeads', 'causal', 'returnWeights', 'scale', 'keyLengths', 'mask', 'bias'],
  additiveAttention: ['returnWeights', 'keyLengths', 'mask'],
  targetAttention: ['activation', 'normalize', 'returnWeights', 'keyLengths'],
  transformerEncoderLayer: ['numHeads', 'norm', 'activation', 'causal', 'eps', 'keyLengths'],
  softmax: ['mask'],
  layerNorm: ['eps'],
  linear: [],
  gelu: ['approximate'],
  topK: ['exclude'],
};
const BAD_OPTION_VALUES = {
  causal: [1, 'true', null],
  returnWeights: [1, 'yes', null],
  returnLse: [0, 'no'],
  scale: [NaN, Infinity, -Infinity, '0.5', null, 1n],
  numHeads: [0, -1, 1.5, '2', NaN, 2 ** 53 + 2, null],
  numKvHeads: [0, -2, 0.5, 'x'],
  activation: ['tanh', 5, null],
  normalize: ['l2', 1],
  norm: ['mid', 0],
  approximate: ['erf', true],
  eps: [NaN, -1, Infinity, '1e-5'],
  keyLengths: [[1, 2], new Float32Array(4), new Uint32Array(4), 'abc', 3],
  mask: ['abc', 3, [1, 0], new Uint8Array(3)],
  bias: ['abc', 3, new Float32Array(3)],
  exclude: ['abc', 5, { length: 1 }],
};
const OPT_IDX = { sdpa: 3, multiHeadAttention: 4, additiveAttention: 4, targetAttention: 3, transformerEncoderLayer: 2, softmax: 1, layerNorm: 3, linear: -1, gelu: 1, topK: 3 };
function optionsOf(c) {
  const idx = OPT_IDX[c.op];
  if (idx < 0) return {}; // linear has no options: a write to this object is harmless
  if (c.args[idx] === undefined || c.args[idx] === null) c.args[idx] = {};
  return c.args[idx];
}
function broadcastTarget(c) {
  const a = c.args;
  if (c.op === 'sdpa') return { shape: [a[0].shape[0], a[0].shape[1], a[0].shape[2], a[1].shape[2]], bias: true };
  if (c.op === 'multiHeadAttention') return { shape: [a[0].shape[0], a[4].numHeads, a[0].shape[1], a[1].shape[1]], bias: true };
  if (c.op === 'additiveAttention') return { shape: [a[1].shape[0], a[0] ? a[0].shape[1] : 1, a[1].shape[1]], bias: false };
  if (c.op === 'softmax') return { shape: [...a[0].shape], bias: false };
  return null;
}
function lengthsTarget(c) {
  const a = c.args;
  if (c.op === 'sdpa') return { B: a[0].shape[0], S: a[1].shape[2] };
  if (c.op === 'multiHeadAttention') return { B: a[0].shape[0], S: a[1].shape[1] };
  if (c.op === 'additiveAttention' || c.op === 'targetAttention') return { B: a[1].shape[0], S: a[1].shape[1] };
  if (c.op === 'transformerEncoderLayer') return { B: a[0].shape[0], S: a[0].shape[1] };
  return null;
}
function corruptK(R, c) {
  if (c.op !== 'topK') {
    // Not topK: an out-of-range integer option where the op has one, else a bad eps/approximate.
    const o = optionsOf(c);
    if (c.op === 'multiHeadAttention' || c.op === 'transformerEncoderLayer') {
      o.numHeads = R.pick([0, -1, 2 ** 31, 2 ** 53, 1e300]);
      return `options.numHeads := ${o.numHeads}`;
    }
    if (c.op === 'layerNorm') { c.args[3] = { eps: -1e-3 }; return 'eps := -1e-3'; }
    if (c.op === 'gelu') { c.args[1] = { approximate: 'fast' }; return "approximate := 'fast'"; }
    if (c.op === 'targetAttention') { o.activation = 'gelu'; return "activation := 'gelu'"; }
    if (c.op === 'linear') { c.args[1] = { data: c.args[1].data, shape: [c.args[1].shape[0] + 1, c.args[1].data.length] }; return 'w rows lie'; }
    if (c.op === 'additiveAttention') { o.returnWeights = 'yes'; return "returnWeights := 'yes'"; }
    if (c.op === 'softmax') { o.mask = 'x'; return "mask := 'x'"; }
    o.scale = NaN;
    return 'options.scale := NaN';
  }
  const N = c.args[1].shape[0], B = c.args[0].shape[0];
  if (R.bool()) {
    c.args[2] = R.pick([0, -1, N + 1, N + 1000, 1.5, NaN, Infinity, '2', null, undefined, 2 ** 32 + 1, 2 ** 53 + 2, 1n]);
    return `k := ${describe(c.args[2])} (N=${N})`;
  }
  const ex = Array.from({ length: B }, () => []);
  const how = R.int(0, 5);
  const bad = [N, -1, 1.5, NaN, '0', 2 ** 31][how];
  ex[R.int(0, B - 1)].push(0, bad);
  c.args[3] = { exclude: how === 5 && R.bool() ? ex.concat([[]]) : ex };
  if (R.bool(0.2)) c.args[3] = { exclude: ex.map((l) => BigInt64Array.from(l.filter((x) => typeof x === 'number' && Number.isInteger(x)).map((x) => BigInt(x)))) };
  return `exclude with ${describe(bad)} (N=${N})`;
}
function describe(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return 'symbol';
  if (typeof v === 'string') return `'${v}'`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `[${v.map(describe)}]`;
  return String(v);
}

// ---------------------------------------------------------------------------------------------
// Results and comparison

/** Flatten a public-API result into named typed arrays. */
export function flatten(res) {
  if (res && res.data && ArrayBuffer.isView(res.data)) return { output: res.data };
  const out = {};
  for (const k of ['output', 'weights', 'lse', 'indices', 'scores']) if (res && res[k]) out[k] = res[k].data;
  return out;
}

function tolFor(backend, op) {
  if (backend === 'reference') return { atol: 0, rtol: 0 }; // same code, same numbers: bit-identical
  const def = ak.getBackend(backend);
  return def.tolerances[op] ?? def.tolerances.default;
}

/** null when close, else a message. topK: scores within tol, and each index's recomputed score matches its score. */
export function compareFlat(op, got, want, tol, clean) {
  const names = Object.keys(want);
  if (Object.keys(got).sort().join() !== names.sort().join()) return `outputs differ: got {${Object.keys(got)}} want {${names}}`;
  for (const n of names) {
    const g = got[n], w = want[n];
    if (g.length !== w.length) return `${n}: length ${g.length} vs ${w.length}`;
    if (op === 'topK' && n === 'indices') continue;
    for (let i = 0; i < w.length; i++) {
      const a = g[i], b = w[i];
      if (Number.isFinite(a) && Number.isFinite(b)) {
        if (Math.abs(a - b) > tol.atol + tol.rtol * Math.abs(b)) return `${n}[${i}]: got ${a}, want ${b} (atol ${tol.atol}, rtol ${tol.rtol})`;
      } else if (!(Number.isNaN(b) ? Number.isNaN(a) : a === b)) return `${n}[${i}]: got ${a}, want ${b}`;
    }
  }
  if (op === 'topK' && clean) {
    // The args as the op saw them (any TensorLike representation), normalised to { data, shape }.
    const users = ak.asTensor(clean.args[0], 'users'), items = ak.asTensor(clean.args[1], 'items');
    const D = users.shape[1], k = clean.args[2];
    for (let i = 0; i < got.indices.length; i++) {
      const idx = got.indices[i], b = Math.floor(i / k);
      if (idx === -1) { if (got.scores[i] !== -Infinity) return `topK: index -1 with score ${got.scores[i]}`; continue; }
      let s = 0;
      for (let d = 0; d < D; d++) s += users.data[b * D + d] * items.data[idx * D + d];
      if (Math.abs(s - got.scores[i]) > 1e-4 + 1e-4 * Math.abs(s)) return `topK: indices[${i}] = ${idx} has score ${s}, reported ${got.scores[i]}`;
    }
  }
  return null;
}

function callOp(c, backend, async, verify) {
  const fn = ak[async ? `${c.fn}Async` : c.fn];
  const dopts = c.dispatchOverride !== undefined ? c.dispatchOverride : { backend, ...(verify && backend !== 'reference' ? { verify: true } : {}) };
  // Positional: every op's dispatch options come right after its declared arguments.
  const n = { sdpa: 4, multiHeadAttention: 5, additiveAttention: 5, targetAttention: 4, transformerEncoderLayer: 3, softmax: 2, layerNorm: 4, linear: 3, gelu: 2, topK: 4 }[c.op];
  const args = c.args.slice(0, n);
  while (args.length < n) args.push(undefined);
  return fn(...args, dopts);
}

// ---------------------------------------------------------------------------------------------
// The driver

class HangError extends Error {}

/** Outcome counters. */
export function newStats() {
  return { calls: 0, correct: 0, typed: 0, failures: [], byOutcome: {}, asyncCalls: 0 };
}
function record(stats, kind, key) {
  stats.byOutcome[key] = (stats.byOutcome[key] || 0) + 1;
  if (kind === 'correct') stats.correct++;
  else if (kind === 'typed') stats.typed++;
}

/**
 * Build and run one case. `spec` = { op, seed, mode: 'valid'|'corrupt', pick, async } (integers
 * drawn by fast-check). Returns nothing; records into `stats`; failures carry the recipe.
 */
export async function runCase(backend, spec, stats, opts = {}) {
  const R = rngOf(spec.seed);
  const base = BUILD[spec.op](R, opts.small);
  const clean = cloneArgs(base.args);
  const c = { op: base.op, fn: base.fn, args: cloneArgs(base.args) };
  const recipe = { backend, ...spec };
  let must = false;
  let what;
  if (spec.mode === 'valid') {
    // Apply a representation to each tensor slot with probability 1/2 (some cases keep all plain).
    const names = [];
    const replaced = new Set();
    for (const s of slots(c)) {
      if (replaced.has(s[0][s[1]]) || !R.bool(0.5)) continue;
      const [name, f] = REPRS[(spec.pick + names.length) % REPRS.length];
      const shared = s[0][s[1]];
      const rep = f(shared);
      // keep the self-attention aliasing: the same object must stay shared
      for (const s2 of slots(c)) if (s2[0][s2[1]] === shared) s2[0][s2[1]] = rep;
      replaced.add(rep);
      names.push(`${s[3]}:${name}`);
    }
    what = `valid [${names.join(' ')}]`;
  } else {
    const [name, m, f] = CORRUPT[spec.pick % CORRUPT.length];
    must = m;
    what = `${name}: ${f(R, c)}`;
    // A few corruptions become valid for some ops (e.g. no slot of that kind): treat as optional.
  }
  recipe.what = what;
  if (opts.onCase) opts.onCase(recipe);
  stats.calls++;
  if (spec.async) stats.asyncCalls++;
  let res;
  try {
    if (spec.async) {
      const p = callOp(c, backend, true, true);
      if (!(p instanceof Promise)) throw new Error('async twin did not return a Promise');
      // A promise that never settles is a defect too: race it against a generous timer.
      let timer;
      const hang = new Promise((_, rej) => { timer = setTimeout(() => rej(new HangError()), opts.hangMs ?? 15000); });
      try {
        res = await Promise.race([p, hang]);
      } finally {
        clearTimeout(timer);
      }
    } else res = callOp(c, backend, false, true);
  } catch (e) {
    if (e instanceof ak.AttnkitError) {
      if (spec.mode === 'valid') {
        stats.failures.push({ ...recipe, problem: `valid input rejected: ${e.name}: ${e.message}` });
        return;
      }
      record(stats, 'typed', `typed:${e.code}`);
      return;
    }
    if (e instanceof HangError) {
      stats.failures.push({ ...recipe, problem: `async call never settled (waited ${opts.hangMs ?? 15000} ms)` });
      return;
    }
    stats.failures.push({ ...recipe, problem: `untyped error: ${e?.constructor?.name}: ${e?.message ?? String(e)}`, stack: String(e?.stack ?? '').split('\n').slice(0, 6).join('\n') });
    return;
  }
  if (spec.mode !== 'valid' && must) {
    stats.failures.push({ ...recipe, problem: 'invalid input accepted', detail: slots(c).map((x) => { const t = x[0][x[1]]; return `${x[3]}:${t.shape}/${t.data?.length}/${t.data?.buffer?.byteLength}`; }).join(' ') + ` result:${Object.entries(flatten(res)).map(([k, v]) => `${k}=${v.length}[${Array.from(v.slice(0, 4))}]`).join(' ')}` });
    return;
  }
  // Correctness: reference on plain copies (valid) or on the same input (optional corruptions).
  let want;
  try {
    if (spec.mode === 'valid') want = callOp({ ...c, args: clean }, 'reference', false, false);
    else want = callOp({ ...c, args: c.args, dispatchOverride: undefined }, 'reference', false, false);
  } catch (e) {
    stats.failures.push({ ...recipe, problem: `backend accepted an input reference rejects: ${e?.name}: ${e?.message}` });
    return;
  }
  // topK indices are checked by recomputing their scores from the inputs the call accepted.
  const bad = compareFlat(c.op, flatten(res), flatten(want), tolFor(backend, c.op), { args: spec.mode === 'valid' ? clean : c.args });
  if (bad) stats.failures.push({ ...recipe, problem: `wrong result: ${bad}` });
  else record(stats, 'correct', spec.mode === 'valid' ? 'correct:valid' : 'correct:optional-corruption');
}

/** The fast-check arbitrary of case recipes for the given ops. */
export function caseArbitrary(ops, { asyncRatio = 0.25 } = {}) {
  return fc.record({
    op: fc.constantFrom(...ops),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    mode: fc.constantFrom('valid', 'corrupt', 'corrupt'),
    pick: fc.nat({ max: 10_000 }),
    async: fc.nat({ max: 99 }).map((x) => x < asyncRatio * 100),
  });
}

/**
 * Run `numRuns` cases on a backend with a fixed seed. Returns the stats; a property failure
 * (untyped error, wrong result, accepted invalid input) is collected rather than thrown so the
 * long run can count everything; fast-check still drives generation with the seed.
 */
export async function fuzzBackend(backend, { numRuns, seed = FUZZ_SEED, ops, small, onCase, asyncRatio, hangMs } = {}) {
  const info = ak.backends().find((b) => b.name === backend);
  const useOps = (ops ?? info.ops).filter((o) => FUZZ_OPS.includes(o) && info.ops.includes(o));
  const stats = newStats();
  stats.ops = useOps;
  await fc.assert(
    fc.asyncProperty(caseArbitrary(useOps, { asyncRatio }), async (spec) => {
      await runCase(backend, spec, stats, { small, onCase, hangMs });
      return true;
    }),
    { seed, numRuns, endOnFailure: true },
  );
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Raw addon fuzzing (no TypeScript validation in front)

/** Capture the kernel argument structs that the ops build, through a throw-away spy backend. */
export function captureKernelArgs(ops, perOp, seed = FUZZ_SEED) {
  const captured = [];
  const SPY = '__attnkit_fuzz_spy__';
  class Captured extends Error {}
  const kernels = {};
  for (const op of ops) kernels[op] = (args) => { captured.push({ op, args }); throw new Captured(); };
  ak.registerBackend({ name: SPY, probe: () => ({ available: true }), kernels, tolerances: { default: { rtol: 0, atol: 0 } } });
  try {
    for (const op of ops) {
      for (let i = 0; i < perOp; i++) {
        const c = BUILD[op](rngOf(seed + i * 7919 + op.length), false);
        try { callOp(c, SPY, false, false); } catch (e) { if (!(e instanceof Captured)) throw e; }
      }
    }
  } finally {
    ak.unregisterBackend(SPY);
  }
  return captured;
}

const RAW_SCALARS = [undefined, null, -1, 0, 1, 0.5, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e308, -0, 'x', '3', true, false, 1n, {}, [], Symbol('s')];

/** Corrupt one field of a captured kernel struct (recursing into masks, layers, exclude). */
function corruptRaw(R, args) {
  const a = { ...args };
  const keys = Object.keys(a);
  const k = R.pick(keys);
  const v = a[k];
  const how = R.int(0, 9);
  if (how === 0) a[k] = R.pick(RAW_SCALARS);
  else if (typeof v === 'number') a[k] = R.pick([v + 1, v - 1, v * 2, v + 2 ** 32, -v, v + 0.5, 0, 2 ** 31, NaN]);
  else if (ArrayBuffer.isView(v)) {
    a[k] = R.pick([
      () => v.subarray(1),
      () => new v.constructor(v.length + 1),
      () => Float64Array.from(v, Number),
      () => new Int32Array(v.length),
      () => new Uint8Array(v.length),
      () => detached(v),
      () => { const s = new v.constructor(new SharedArrayBuffer(v.byteLength + 8), 8, v.length); s.set(v); return s; },
      () => new v.constructor(0),
      () => new Proxy(v, {}),
    ])();
  } else if (v && typeof v === 'object' && Array.isArray(v.strides)) {
    const st = [...v.strides];
    const i = R.int(0, st.length - 1);
    const m = R.int(0, 4);
    if (m === 0) st[i] = R.pick([-1, 2 ** 40, 2 ** 53, NaN, 1.5, 'x', 1e300]);
    else if (m === 1) st.push(0);
    else if (m === 2) st.pop();
    a[k] = m === 3 ? { data: v.data.subarray(0, Math.max(0, v.data.length - 1)), strides: st } : m === 4 ? { data: v.data, strides: 'x' } : { data: v.data, strides: st };
  } else if (Array.isArray(v) && k === 'layers') {
    const layers = v.map((l) => ({ ...l }));
    const l = R.int(0, layers.length - 1);
    const f = R.pick(['w', 'b', 'inDim', 'outDim', 'alpha']);
    layers[l][f] = R.pick([null, 0, 1e9, -1, new Float32Array(1), 'x', 2 ** 53]);
    a[k] = R.pick([layers, [], [null], 'layers']);
  } else if (Array.isArray(v) && k === 'exclude') {
    a[k] = R.pick([
      v.map((l) => (l ? Int32Array.from([...l, R.pick([-1, 2 ** 31 - 1, args.N])]) : Int32Array.of(args.N))),
      v.slice(1),
      [...v, null],
      v.map(() => 'x'),
      v.map(() => new Float32Array(2)),
    ]);
  } else if (Array.isArray(v)) a[k] = R.pick([[], v.concat([1]), 'x', v.map(() => -1)]);
  else if (typeof v === 'string') a[k] = R.pick(['', 'bogus', 5, null]);
  else if (typeof v === 'boolean') a[k] = R.pick([1, 'true', null]);
  else a[k] = R.pick(RAW_SCALARS);
  return { args: a, what: `${k} (${how})` };
}

/**
 * Call the raw addon functions with corrupted kernel structs. Property: each call throws a JS
 * Error (or rejects) or returns; a crash ends the process (the long run reports it).
 */
export async function fuzzRaw(addon, ops, { numRuns, seed = FUZZ_SEED, onCase } = {}) {
  const captured = captureKernelArgs(ops, 4, seed);
  const stats = { calls: 0, threw: 0, returned: 0, nonErrorThrows: [] };
  const extraGarbage = [undefined, null, 1, 'x', [], [1, 2], new Float32Array(4), () => 1, throwingProxy(), Symbol('s'), 1n];
  await fc.assert(
    fc.asyncProperty(fc.nat({ max: captured.length - 1 }), fc.integer({ min: 1, max: 0x7fffffff }), fc.boolean(), fc.nat({ max: 19 }), async (ci, s, async, g) => {
      const R = rngOf(s);
      const { op } = captured[ci];
      const args = cloneArgs(captured[ci].args); // corruptions never touch the captured originals
      let call;
      let what;
      if (g === 0) {
        call = R.pick(extraGarbage);
        what = 'whole argument garbage';
      } else {
        let cur = args;
        const parts = [];
        const n = R.int(1, 2);
        for (let i = 0; i < n; i++) {
          let r;
          try {
            r = corruptRaw(R, cur);
          } catch {
            r = { args: cur, what: 'corruption of a corrupted field skipped' }; // e.g. .set() from a detached copy
          }
          cur = r.args;
          parts.push(r.what);
        }
        if (g === 2) Object.defineProperty(cur, R.pick(Object.keys(cur)), { get: thrower, enumerable: true });
        call = g === 1 ? throwingProxy(cur) : cur;
        what = parts.join(', ');
      }
      if (onCase) onCase({ raw: true, op, ci, s, async, g, what });
      const fn = addon[async ? `${op}Async` : op];
      stats.calls++;
      try {
        const r = fn(call);
        if (async) await r;
        stats.returned++;
      } catch (e) {
        if (e instanceof Error) stats.threw++;
        else stats.nonErrorThrows.push({ op, what, value: String(e) });
      }
      return true;
    }),
    { seed, numRuns },
  );
  return stats;
}
