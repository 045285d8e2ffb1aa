// Raw addon fuzzing, no TypeScript validation in front: the kernel argument structs the ops build
// are captured (through a throw-away spy backend), one or two fields corrupted, and the addon's
// `<op>` / `<op>Async` called directly. Property: a JS Error is thrown or a result returned; never
// a crash (under scripts/sanitize.sh, never an ASan/UBSan report either).
import fc from 'fast-check';
import * as ak from 'attnkit';
import { FUZZ_SEED, buildCase, callOp } from './run.mjs';
import { cloneArgs, detached, resizableCopy, rngOf, takeAway, thrower, throwingProxy } from './support.mjs';

/** Capture the kernel argument structs that the ops build, through a throw-away spy backend. */
export function captureKernelArgs(ops, perOp, seed = FUZZ_SEED) {
  const captured = [];
  const SPY = '__attnkit_fuzz_spy__';
  class Captured extends Error {}
  const kernels = {};
  for (const op of ops) {
    kernels[op] = (args) => {
      captured.push({ op, args });
      throw new Captured();
    };
  }
  ak.registerBackend({ name: SPY, probe: () => ({ available: true }), kernels, tolerances: { default: { rtol: 0, atol: 0 } } });
  try {
    for (const op of ops) {
      for (let i = 0; i < perOp; i++) {
        const c = buildCase(op, rngOf(seed + i * 7919 + op.length), false);
        try {
          callOp(c, SPY, false, false);
        } catch (e) {
          if (!(e instanceof Captured)) throw e;
        }
      }
    }
  } finally {
    ak.unregisterBackend(SPY);
  }
  return captured;
}

const RAW_SCALARS = [
  undefined, null, -1, 0, 1, 0.5, NaN, Infinity, -Infinity, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 2 ** 53 + 2, 1e308, -0,
  'x', '3', true, false, 1n, {}, [], Symbol('s'),
];

function corruptTypedArray(R, v) {
  return R.pick([
    () => v.subarray(1),
    () => new v.constructor(v.length + 1),
    () => Float64Array.from(v, Number),
    () => new Int32Array(v.length),
    () => new Uint8Array(v.length),
    () => detached(v),
    () => {
      const s = new v.constructor(new SharedArrayBuffer(v.byteLength + 8), 8, v.length);
      s.set(v);
      return s;
    },
    () => new v.constructor(0),
    () => new Proxy(v, {}),
  ])();
}

/** A strided operand `{ data, strides }` with lying strides or data. */
function corruptStrided(R, v) {
  const st = [...v.strides];
  const i = R.int(0, st.length - 1);
  const m = R.int(0, 4);
  if (m === 0) st[i] = R.pick([-1, 2 ** 40, 2 ** 53, NaN, 1.5, 'x', 1e300]);
  else if (m === 1) st.push(0);
  else if (m === 2) st.pop();
  if (m === 3) return { data: v.data.subarray(0, Math.max(0, v.data.length - 1)), strides: st };
  if (m === 4) return { data: v.data, strides: 'x' };
  return { data: v.data, strides: st };
}

function corruptDtypes(R, v, args) {
  const names = Object.keys(v);
  const f = names.length ? R.pick(names) : 'q';
  const floats = Object.keys(args).filter((x) => args[x] instanceof Float32Array);
  return R.pick([
    () => ({ ...v, [f]: v[f] === 'float16' ? 'bfloat16' : 'float16' }),
    () => ({ ...v, [f]: 'float32' }),
    () => ({ ...v, [floats.length ? R.pick(floats) : 'x']: 'bfloat16' }),
    () => ({ ...v, [f]: R.pick(['float8', '', 5, null, {}, 'FLOAT16']) }),
    () => R.pick([5, 'float16', [], null]),
    () => {
      const o = { ...v };
      Object.defineProperty(o, f, { get: thrower, enumerable: true });
      return o;
    },
  ])();
}

function corruptLayers(R, v) {
  const layers = v.map((l) => ({ ...l }));
  const l = R.int(0, layers.length - 1);
  const f = R.pick(['w', 'b', 'inDim', 'outDim', 'alpha']);
  layers[l][f] = R.pick([null, 0, 1e9, -1, new Float32Array(1), 'x', 2 ** 53]);
  return R.pick([layers, [], [null], 'layers']);
}

function corruptExclude(R, v, N) {
  return R.pick([
    v.map((l) => (l ? Int32Array.from([...l, R.pick([-1, 2 ** 31 - 1, N])]) : Int32Array.of(N))),
    v.slice(1),
    [...v, null],
    v.map(() => 'x'),
    v.map(() => new Float32Array(2)),
  ]);
}

/** Corrupt one field of a captured kernel struct (recursing into strided operands, layers, exclude). */
function corruptRaw(R, args) {
  const a = { ...args };
  const k = R.pick(Object.keys(a));
  const v = a[k];
  const how = R.int(0, 9);
  if (how === 0) a[k] = R.pick(RAW_SCALARS);
  else if (typeof v === 'number') a[k] = R.pick([v + 1, v - 1, v * 2, v + 2 ** 32, -v, v + 0.5, 0, 2 ** 31, NaN]);
  else if (ArrayBuffer.isView(v)) a[k] = corruptTypedArray(R, v);
  else if (v && typeof v === 'object' && Array.isArray(v.strides)) a[k] = corruptStrided(R, v);
  // The half operands' dtypes (src/kernels.ts DTypes): a field declared with the other format, as
  // float32 over Uint16Array bits, half over a Float32Array, an unknown name, a non-string.
  else if (k === 'dtypes' && v && typeof v === 'object') a[k] = corruptDtypes(R, v, args);
  // The struct fields named here are the kernels' list-valued ones (targetAttention's, topK's).
  else if (Array.isArray(v) && k === 'layers') a[k] = corruptLayers(R, v);
  else if (Array.isArray(v) && k === 'exclude') a[k] = corruptExclude(R, v, args.N);
  else if (Array.isArray(v)) a[k] = R.pick([[], v.concat([1]), 'x', v.map(() => -1)]);
  else if (typeof v === 'string') a[k] = R.pick(['', 'bogus', 5, null]);
  else if (typeof v === 'boolean') a[k] = R.pick([1, 'true', null]);
  else a[k] = R.pick(RAW_SCALARS);
  return { args: a, what: `${k} (${how})` };
}

/** The argument of one raw call: whole-argument garbage (g = 0) or a captured struct with 1-2 corrupted fields. */
function rawArgument(R, struct, g, extraGarbage) {
  if (g === 0) return { call: R.pick(extraGarbage), what: 'whole argument garbage' };
  let cur = cloneArgs(struct); // corruptions never touch the captured originals
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
  const typed = Object.keys(cur).filter((k) => ArrayBuffer.isView(cur[k]) && cur[k].byteLength > 0);
  let inFlight = null;
  if ((g === 3 || g === 4) && typed.length) {
    // 3: a getter on one field takes away the memory of another (maybe already read);
    // 4: the memory of an input is taken away right after the call (in flight when async).
    const victim = R.pick(typed);
    const how = R.pick(['resize', 'transfer']);
    if (how === 'resize') cur[victim] = resizableCopy(cur[victim]);
    if (g === 3) {
      const trigger = R.pick(Object.keys(cur));
      const value = cur[trigger];
      Object.defineProperty(cur, trigger, { enumerable: true, get: () => (takeAway(cur[victim], how), value) });
      parts.push(`getter on ${trigger} ${how}s ${victim}`);
    } else {
      inFlight = () => takeAway(cur[victim], how);
      parts.push(`${victim} ${how}d after the call`);
    }
  }
  if (g === 2) Object.defineProperty(cur, R.pick(Object.keys(cur)), { get: thrower, enumerable: true });
  return { call: g === 1 ? throwingProxy(cur) : cur, what: parts.join(', '), inFlight };
}

/**
 * Call the raw addon functions with corrupted kernel structs. Property: each call throws a JS
 * Error (or rejects) or returns; a crash ends the process (the long run reports it).
 */
export async function fuzzRaw(addon, ops, { numRuns, seed = FUZZ_SEED, onCase } = {}) {
  const captured = captureKernelArgs(ops, 4, seed);
  const stats = { calls: 0, threw: 0, returned: 0, nonErrorThrows: [] };
  const extraGarbage = [undefined, null, 1, 'x', [], [1, 2], new Float32Array(4), () => 1, throwingProxy(), Symbol('s'), 1n];
  // (captured struct, seed of the corruption, async twin?, g: 0 garbage, 1 throwing Proxy, 2 throwing getter,
  // 3 a getter that takes another input's memory away, 4 an input's memory taken away in flight, else plain)
  const recipe = [fc.nat({ max: captured.length - 1 }), fc.integer({ min: 1, max: 0x7fffffff }), fc.boolean(), fc.nat({ max: 19 })];
  await fc.assert(
    fc.asyncProperty(...recipe, async (ci, s, async, g) => {
      const R = rngOf(s);
      const { op } = captured[ci];
      const { call, what, inFlight } = rawArgument(R, captured[ci].args, g, extraGarbage);
      if (onCase) onCase({ raw: true, op, ci, s, async, g, what });
      const fn = addon[async ? `${op}Async` : op];
      stats.calls++;
      try {
        const r = fn(call);
        if (inFlight) inFlight();
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
