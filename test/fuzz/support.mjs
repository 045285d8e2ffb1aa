// Small deterministic helpers shared by the fuzzer's files: the random source the descriptors'
// case builders take (src/ops/descriptor.ts CaseRandom), random tensors for the corruptions, the
// tensor slots of a case, deep copies, hostile values (throwing getters and Proxies, detached
// buffers) and one-line descriptions of values for the recipes.
import * as ak from 'attnkit';

/** A CaseRandom ({ f, int, pick, bool }) over attnkit's seeded generator. */
export function rngOf(seed) {
  const r = ak.seededRandom(seed);
  return {
    f: r,
    int: (lo, hi) => lo + Math.floor(r() * (hi - lo + 1)),
    pick: (arr) => arr[Math.floor(r() * arr.length)],
    bool: (p = 0.5) => r() < p,
  };
}

export const prod = (s) => s.reduce((a, b) => a * b, 1);

export function randT(R, shape, scale = 1) {
  const d = new Float32Array(prod(shape));
  for (let i = 0; i < d.length; i++) d[i] = (R.f() * 2 - 1) * scale;
  return { data: d, shape: [...shape] };
}

export function randMask(R, shape) {
  const d = new Uint8Array(prod(shape));
  for (let i = 0; i < d.length; i++) d[i] = R.f() < 0.75 ? 1 : 0;
  return { data: d, shape: [...shape] };
}

export function randLengths(R, B, S) {
  const a = new Int32Array(B);
  for (let b = 0; b < B; b++) a[b] = R.int(0, S);
  return a;
}

const isTensor = (v) => v && typeof v === 'object' && (v.data instanceof Float32Array || v.data instanceof Uint8Array || v.data instanceof Uint16Array) && Array.isArray(v.shape);

/** Every tensor slot of a case: [container, key, kind('f32'|'u8'|'f16': a half tensor), path], nested ones included. */
export function slots(c) {
  const out = [];
  const seen = new Set();
  const visit = (obj, path) => {
    if (!obj || typeof obj !== 'object' || seen.has(obj)) return;
    seen.add(obj);
    for (const key of Object.keys(obj)) {
      const v = obj[key];
      if (isTensor(v)) out.push([obj, key, v.data instanceof Uint8Array ? 'u8' : v.data instanceof Uint16Array ? 'f16' : 'f32', `${path}.${key}`]);
      else if (v && typeof v === 'object' && !ArrayBuffer.isView(v)) visit(v, `${path}.${key}`);
    }
  };
  visit(c.args, 'args');
  return out;
}

/** Deep copy of a case's arguments (tensors copied; the self-attention aliasing preserved). */
export function cloneArgs(args) {
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

export const thrower = () => {
  throw new Error('hostile getter');
};
export const throwingProxy = (target = {}) =>
  new Proxy(target, { get: thrower, has: thrower, ownKeys: thrower, getOwnPropertyDescriptor: thrower, getPrototypeOf: thrower });
/** A copy of `ta` whose buffer has been transferred away. */
/** A copy of typed array `t` over a resizable ArrayBuffer (length-tracking), so it can be shrunk. */
export function resizableCopy(t) {
  const c = new t.constructor(new ArrayBuffer(t.byteLength, { maxByteLength: t.byteLength * 2 + 64 }));
  c.set(t);
  return c;
}

/** Take `t`'s memory away: shrink its resizable buffer to nothing, or transfer the buffer away. */
export function takeAway(t, how) {
  if (!ArrayBuffer.isView(t) || t.buffer.byteLength === 0 || t.buffer instanceof SharedArrayBuffer) return;
  if (how === 'resize' && t.buffer.resizable) t.buffer.resize(0);
  else structuredClone(t.buffer, { transfer: [t.buffer] });
}

export const detached = (ta) => {
  const copy = ta.slice();
  structuredClone(copy.buffer, { transfer: [copy.buffer] });
  return copy;
};

/** A value as a recipe shows it (bigints with `n`, strings quoted, typed arrays by type and length). */
export function describe(v) {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'symbol') return 'symbol';
  if (typeof v === 'string') return `'${v}'`;
  if (ArrayBuffer.isView(v)) return `${v.constructor.name}(${v.length})`;
  if (Array.isArray(v)) return `[${v.map(describe)}]`;
  return String(v);
}
