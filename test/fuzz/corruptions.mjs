// Corruptions: ONE per corrupt case, applied in place to a cloned valid case `c` ({ op, args }).
// Each is [name, must, apply(R, c) -> description]; `must` = the result is invalid by the contract
// whatever the random draw, so the call must throw a typed error. The per-op knowledge (where the
// options sit, which keys they have and of which kind, the broadcast and key-length targets, the
// op's own invalid argument) comes from the op's descriptor (ak.OPS[op], src/ops/<op>.ts).
import * as ak from 'attnkit';
import { describe, detached, prod, randLengths, randMask, randT, slots, thrower, throwingProxy } from './support.mjs';

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

/** Shapes of the given rank whose element count overflows 2^32 / 2^53 (and doubles) while the data stays tiny. */
function overflowShapes(rank) {
  const sets = [[65536, 65536], [2 ** 26, 2 ** 26], [2 ** 31, 2], [4294967296, 1], [2 ** 53, 2], [3037000500, 3037000500]];
  return sets.map((s) => {
    const out = new Array(rank).fill(1);
    for (let i = 0; i < Math.min(rank, s.length); i++) out[rank - 1 - i] = s[i];
    return out;
  });
}

/**
 * Values of the right kind but out of the option's range, which the kind's list in
 * ak.BAD_OPTION_VALUES cannot hold: `eps` is of kind `finite`, and its `>= 0` is checked by the
 * ops that read it (layerNorm, transformerEncoderLayer, adamStep), not by the kind; likewise
 * adamStep's `lr`, `beta1`, `beta2`, `weightDecay` ranges and embeddingBackward's integer
 * `paddingIndex` (2^40 is past any numItems).
 */
const OUT_OF_RANGE = { eps: [-1], lr: [-1e-3], beta1: [1, -0.1], beta2: [1.5], weightDecay: [-1], paddingIndex: [0.5, 2 ** 40] };

/** The option keys a corruption may set to a wrong value: every key the descriptor declares, of every kind. */
export const optionKeys = (op) => Object.keys(ak.OPS[op].options);

/** Values of the wrong kind (or range) for option `key` of `op`: each must be refused with a typed error. */
export function badOptionValues(op, key) {
  return [...ak.BAD_OPTION_VALUES[ak.OPS[op].options[key].kind], ...(OUT_OF_RANGE[key] ?? [])];
}

/** The case's options object (created when absent); a throw-away object for an op without options (linear). */
function optionsOf(c) {
  const idx = ak.OPS[c.op].optionsIndex;
  if (idx < 0) return {};
  if (c.args[idx] === undefined || c.args[idx] === null) c.args[idx] = {};
  return c.args[idx];
}

/** The op's own invalid argument (an out-of-range count or enum, topK's k or exclusions, ...). */
const invalidate = (R, c) => ak.OPS[c.op].fuzz.invalidate(R, c.args);

function pickSlot(R, c, kind) {
  const all = slots(c).filter((s) => !kind || s[2] === kind);
  return all.length ? R.pick(all) : null;
}

/** Replace one tensor slot's shape (the data kept) by `f(tensor)`; returns the slot. */
function reshapeSlot(R, c, f) {
  const s = pickSlot(R, c);
  const t = s[0][s[1]];
  s[0][s[1]] = { data: t.data, shape: f(t), ...(t.dtype ? { dtype: t.dtype } : {}) };
  return s;
}

function shapeLie(R, t) {
  const shape = [...t.shape];
  const a = R.int(0, shape.length - 1);
  const lies = [1, 2, -1].filter((d) => shape[a] + d >= 0 && prod(shape.map((x, i) => (i === a ? x + d : x))) !== t.data.length);
  shape[a] += R.pick(lies);
  if (prod(shape) === t.data.length) shape.push(2); // -1 landed on the same count: force a lie
  return shape;
}

function hostileParams(R, c) {
  const i = ak.OPS[c.op].params.findIndex((p) => p.kind === 'params');
  if (i < 0) {
    // ops without a params object: a hostile second argument instead
    c.args[1] = R.pick([throwingProxy(), 'w', 42]);
    return 'args[1] := hostile';
  }
  const p = c.args[i];
  const lists = Object.keys(p).filter((k) => Array.isArray(p[k])); // targetAttention's layers
  const how = R.int(0, 4);
  if (how === 0) c.args[i] = throwingProxy();
  else if (how === 1) c.args[i] = 'params';
  else if (how === 2 && lists.length) p[R.pick(lists)] = R.pick([[], 'layers', [null], [{}], throwingProxy([])]);
  else if (how === 3) Object.defineProperty(p, R.pick(Object.keys(p)), { get: thrower, enumerable: true, configurable: true });
  else p[R.pick(Object.keys(p))] = R.pick(['w', 1]); // not null / []: optional fields (biases, norm1) accept those
  return `params hostile (${how})`;
}

function wrongBroadcast(R, c) {
  const t = ak.OPS[c.op].fuzz.broadcastTarget(c.args);
  if (!t) return invalidate(R, c);
  const shape = [...t.shape];
  const a = R.int(0, shape.length - 1);
  shape[a] = shape[a] + 1;
  if (R.bool(0.3)) shape.unshift(2, 1); // rank above the target's
  const key = t.bias && R.bool() ? 'bias' : 'mask';
  optionsOf(c)[key] = key === 'bias' ? randT(R, shape) : randMask(R, shape);
  return `options.${key} shape [${shape}] vs target [${t.shape}]`;
}

function lengthsOutOfRange(R, c) {
  const t = ak.OPS[c.op].fuzz.lengthsTarget(c.args);
  if (!t) return invalidate(R, c);
  const a = randLengths(R, t.B, t.S);
  const how = R.int(0, 2);
  if (how === 0) a[R.int(0, t.B - 1)] = t.S + R.int(1, 3);
  else if (how === 1) a[R.int(0, t.B - 1)] = R.pick([-1, -2147483648]);
  const v = how === 2 ? new Int32Array(t.B + 1) : a;
  optionsOf(c).keyLengths = v;
  return `options.keyLengths := [${Array.from(v)}] (B=${t.B}, S=${t.S})`;
}

function replaceOptions(R, c) {
  const d = ak.OPS[c.op];
  const choices = [
    ['string', 'opts'], ['bigint', 5n], ['symbol', Symbol('o')], ['true', true], ['throwing-proxy', throwingProxy()], ['function', () => 1],
  ];
  const idx = d.optionsIndex;
  // A number is refused unless the descriptor says a bare number there means an option (layerNorm's eps).
  if (idx < 0 || !d.params[idx].numberMeans) choices.push(['number', 7]);
  const bad = R.pick(choices);
  // An op without options (linear): its last positional parameter (linear's optional bias) instead.
  c.args[idx < 0 ? d.params.length - 1 : idx] = bad[1];
  return `${idx < 0 ? d.params[d.params.length - 1].name : 'options'} := ${bad[0]}`;
}

function wrongOptionValue(R, c) {
  const keys = optionKeys(c.op);
  if (!keys.length) return invalidate(R, c);
  const k = R.pick(keys);
  const v = R.pick(badOptionValues(c.op, k));
  optionsOf(c)[k] = v;
  return `options.${k} := ${describe(v)}`;
}

function throwingOption(R, c) {
  const keys = optionKeys(c.op);
  if (!keys.length) return invalidate(R, c);
  const k = R.pick(keys);
  Object.defineProperty(optionsOf(c), k, { get: thrower, enumerable: true, configurable: true });
  return `options.${k} := throwing getter`;
}

const BAD_DISPATCH = [
  ['string', 'native'],
  ['backend-number', { backend: 5 }],
  ['unknown-backend', { backend: 'nope' }],
  ['verify-string', { verify: 'yes' }],
  ['verify-rows', { verify: { rows: -1 } }],
  ['verify-rtol', { verify: { rtol: -1 } }],
  ['onReport', { onReport: 5 }],
  ['getter', { get backend() { return thrower(); } }],
  ['proxy', throwingProxy()],
];

export const CORRUPT = [
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
    const t = s[0][s[1]];
    s[0][s[1]] = { data: f(t), shape: t.shape, ...(t.dtype ? { dtype: t.dtype } : {}) };
    return `${s[3]}.data := ${name}`;
  }],
  ['shape-lies', true, (R, c) => {
    const s = reshapeSlot(R, c, (t) => shapeLie(R, t));
    const t = s[0][s[1]];
    return `${s[3]}.shape := [${t.shape}] (data ${t.data.length})`;
  }],
  ['bad-dim', true, (R, c) => {
    const s = reshapeSlot(R, c, (t) => {
      const shape = [...t.shape];
      const d = R.pick(BAD_DIMS);
      shape[R.int(0, shape.length - 1)] = d;
      return shape;
    });
    return `${s[3]}.shape := [${s[0][s[1]].shape.map(String)}]`;
  }],
  ['overflow-shape', true, (R, c) => {
    const s = reshapeSlot(R, c, (t) => R.pick(overflowShapes(t.shape.length)));
    return `${s[3]}.shape := [${s[0][s[1]].shape}]`;
  }],
  ['bad-shape-container', true, (R, c) => {
    const hostile = [
      () => 'abc', () => 4, (t) => ({ length: t.shape.length, 0: 1 }), () => throwingProxy([]),
      () => null, () => new Float64Array([NaN]), (t) => [t.shape],
    ];
    const s = reshapeSlot(R, c, (t) => R.pick(hostile)(t));
    return `${s[3]}.shape := hostile container`;
  }],
  ['detached-buffer', true, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    structuredClone(t.data.buffer, { transfer: [t.data.buffer] });
    return `${s[3]}.data detached`;
  }],
  ['rank-changed', false, (R, c) => {
    const other = (t) => (t.shape.length > 1 ? [prod(t.shape.slice(0, 2)), ...t.shape.slice(2)] : [...t.shape, 1]);
    const s = reshapeSlot(R, c, (t) => (R.bool() ? [1, ...t.shape] : other(t)));
    return `${s[3]}.shape := [${s[0][s[1]].shape}] (same count, other rank)`;
  }],
  ['zero-dim', false, (R, c) => {
    const s = pickSlot(R, c);
    const t = s[0][s[1]];
    const shape = [...t.shape];
    shape[R.int(0, shape.length - 1)] = 0;
    s[0][s[1]] = { data: new t.data.constructor(0), shape };
    return `${s[3]}.shape := [${shape}] (empty)`;
  }],
  ['options-replaced', true, replaceOptions],
  ['option-wrong-type', true, wrongOptionValue],
  ['option-getter-throws', true, throwingOption],
  ['params-hostile', true, hostileParams],
  ['mask-wrong-broadcast', true, wrongBroadcast],
  ['lengths-out-of-range', true, lengthsOutOfRange],
  ['op-invalid-argument', true, invalidate],
  ['dispatch-options', true, (R, c) => {
    const v = R.pick(BAD_DISPATCH);
    c.dispatchOverride = v[1];
    return `dispatchOptions := ${v[0]}`;
  }],
];
export const CORRUPT_NAMES = CORRUPT.map((x) => x[0]);
