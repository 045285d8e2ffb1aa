#!/usr/bin/env node
// Half-precision operands on the native backend (#16), timed with plain loops through the addon
// (kernel args built by hand, as the public API does not take half tensors yet): each shape's
// float32 call and its half variants interleaved round by round (this VM drifts between minutes),
// median and best per variant, and the ratio of medians float32 / half.
//
//   node bench/native-half.mjs [--threads 2] [--rounds 15] [--only decode|sdpa|topK]
//
// Shapes (issue #16's targets): decode (1,32,1,4096,128) with bfloat16 / float16 K and V and a
// float32 q (target >= 1.8x); sdpa (1,8,512,512,64) with bfloat16 q, k, v (target: no slower);
// topK B=1024 N=100000 D=64 k=10 with a bfloat16 item table (target >= 1.5x).
import * as ak from 'attnkit';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const threads = Number(arg('threads', 2));
const rounds = Number(arg('rounds', 15));
const only = arg('only', null);
const info = ak.nativeInfo();
if (!info.available) {
  console.error(`native unavailable: ${info.reason}`);
  process.exit(1);
}
const addon = require(info.path);
ak.setThreads(threads);

const f32b = new Float32Array(1);
const u32b = new Uint32Array(f32b.buffer);
/** Round-to-nearest-even float32 -> bfloat16 / float16 bits (finite inputs in range). */
function toBf16(x) {
  f32b[0] = x;
  const b = u32b[0];
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
function toF16(x) {
  f32b[0] = x;
  const b = u32b[0];
  const sign = (b >>> 16) & 0x8000;
  const a = Math.abs(f32b[0]);
  if (a < 2 ** -14) return sign | Math.round(a * 2 ** 24);
  let ex = ((b >>> 23) & 0xff) - 127;
  let n = Math.round((a / 2 ** ex - 1) * 1024);
  if (n === 1024) (n = 0), ex++;
  return sign | ((ex + 15) << 10) | n;
}
function rand(n, seed) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296) * 2 - 1;
  }
  return out;
}
const enc = (x, t) => Uint16Array.from(x, t === 'bfloat16' ? toBf16 : toF16);

/** Interleaved timing of the named calls; prints median / best ms and ratios against the first. */
function race(title, calls) {
  const names = Object.keys(calls);
  for (const n of names) for (let w = 0; w < 2; w++) calls[n]();
  const times = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++)
    for (const n of names) {
      const t0 = process.hrtime.bigint();
      calls[n]();
      times[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  const base = med(times[names[0]]);
  console.log(`\n${title} (${threads} threads, ${rounds} rounds interleaved, ${info.isa})`);
  for (const n of names) {
    const m = med(times[n]);
    console.log(`  ${n.padEnd(34)} median ${m.toFixed(3).padStart(8)} ms  best ${Math.min(...times[n]).toFixed(3).padStart(8)} ms  ${n === names[0] ? '' : `${(base / m).toFixed(2)}x vs ${names[0]}`}`);
  }
}

function sdpaArgs(B, H, L, S, D, dt, seed) {
  const q = rand(B * H * L * D, seed), k = rand(B * H * S * D, seed + 1), v = rand(B * H * S * D, seed + 2);
  const cast = (x, f) => (dt[f] ? enc(x, dt[f]) : x);
  return {
    q: cast(q, 'q'), k: cast(k, 'k'), v: cast(v, 'v'), B, Hq: H, Hkv: H, L, S, D, Dv: D, scale: 1 / Math.sqrt(D),
    mask: null, bias: null, keyLengths: null, returnWeights: false, returnLse: false, returnLogits: false, layout: 'bhld',
    causal: false, offsets: null, windowLeft: -1, windowRight: -1, softcap: 0, out: new Float32Array(B * H * L * D), dtypes: dt,
  };
}

if (!only || only === 'decode') {
  const [B, H, L, S, D] = [1, 32, 1, 4096, 128];
  const f = sdpaArgs(B, H, L, S, D, {}, 1), bf = sdpaArgs(B, H, L, S, D, { k: 'bfloat16', v: 'bfloat16' }, 1), h = sdpaArgs(B, H, L, S, D, { k: 'float16', v: 'float16' }, 1);
  race('decode sdpa (1,32,1,4096,128), q float32', { 'K/V float32': () => addon.sdpa(f), 'K/V bfloat16': () => addon.sdpa(bf), 'K/V float16': () => addon.sdpa(h) });
}
if (!only || only === 'sdpa') {
  const [B, H, L, S, D] = [1, 8, 512, 512, 64];
  const f = sdpaArgs(B, H, L, S, D, {}, 2);
  const bf = sdpaArgs(B, H, L, S, D, { q: 'bfloat16', k: 'bfloat16', v: 'bfloat16' }, 2);
  const h = sdpaArgs(B, H, L, S, D, { q: 'float16', k: 'float16', v: 'float16' }, 2);
  race('sdpa (1,8,512,512,64), into out', { 'q/k/v float32': () => addon.sdpa(f), 'q/k/v bfloat16': () => addon.sdpa(bf), 'q/k/v float16': () => addon.sdpa(h) });
  // Causal: the query blocks see different key ranges, so each widens its own K/V tiles (no grouping).
  const c = (x) => ({ ...x, causal: true });
  const [cf, cb] = [c(f), c(bf)];
  race('sdpa (1,8,512,512,64) causal, into out', { 'q/k/v float32': () => addon.sdpa(cf), 'q/k/v bfloat16': () => addon.sdpa(cb) });
}
if (!only || only === 'topK') {
  const [B, N, D, k] = [1024, 100000, 64, 10];
  const users = rand(B * D, 3), items = rand(N * D, 4);
  const base = { B, N, D, k, exclude: null, largest: true };
  const f = { ...base, users, items };
  const bi = { ...base, users, items: enc(items, 'bfloat16'), dtypes: { items: 'bfloat16' } };
  const bb = { ...base, users: enc(users, 'bfloat16'), items: enc(items, 'bfloat16'), dtypes: { users: 'bfloat16', items: 'bfloat16' } };
  race('topK B=1024 N=100000 D=64 k=10', { 'users, items float32': () => addon.topK(f), 'items bfloat16': () => addon.topK(bi), 'users, items bfloat16': () => addon.topK(bb) });
}
