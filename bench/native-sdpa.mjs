#!/usr/bin/env node
// Native sdpa forward (fp32) against onnxruntime-node on the shapes of issue 3, from one run:
// GFLOP/s (flops = 4·B·H·L·S·D, also for causal), share of the measured FMA peak, the ratio to
// the faster ORT graph (plain MatMul→Softmax→MatMul and com.microsoft.MultiHeadAttention), and
// the max abs error of each against the float64 reference on sampled rows.
//
// Usage: node bench/native-sdpa.mjs [--threads 2] [--one-thread] [--quick] [--json out.json]
//   --one-thread  also run the three large shapes at 1 thread (native and ORT)
//   --quick       shorter timing rounds
import { createRequire } from 'module';
import * as ak from 'attnkit';

const require = createRequire(import.meta.url);
const { ortPeers } = require('./peers/onnx.js');

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const THREADS = Number(opt('--threads', 2));
const QUICK = argv.includes('--quick');
const ONE = argv.includes('--one-thread');
const JSON_OUT = opt('--json', null);
const ROUND_MS = QUICK ? 150 : 400;
const ROUNDS = QUICK ? 3 : 5;

const SHAPES = [
  { name: 'large-1', B: 1, H: 8, L: 512, S: 512, D: 64, target: '>=1.3x ORT, >=70% peak', large: true },
  { name: 'large-2', B: 4, H: 8, L: 256, S: 256, D: 64, target: '>=1.3x ORT, >=70% peak', large: true },
  { name: 'large-3', B: 1, H: 12, L: 1024, S: 1024, D: 64, target: '>=1.3x ORT, >=70% peak', large: true },
  { name: 'causal', B: 1, H: 8, L: 512, S: 512, D: 64, causal: true, target: '>=3x ORT' },
  { name: 'decode', B: 1, H: 32, L: 1, S: 4096, D: 128, target: '>=1.3x ORT' },
  { name: 'small', B: 1, H: 8, L: 128, S: 128, D: 64, target: '>=1.5x ORT' },
  { name: 'din', B: 256, H: 1, L: 1, S: 50, D: 32, target: '>=1.5x ORT' },
];

/** Median of ROUNDS rounds, each timing as many calls as fit in ROUND_MS; returns ms per call. */
async function time(fn) {
  for (let i = 0; i < 3; i++) await fn(); // warm-up
  let t0 = performance.now();
  await fn();
  const once = Math.max(1e-3, performance.now() - t0);
  const n = Math.max(1, Math.round(ROUND_MS / once));
  const per = [];
  for (let r = 0; r < ROUNDS; r++) {
    t0 = performance.now();
    for (let i = 0; i < n; i++) await fn();
    per.push((performance.now() - t0) / n);
  }
  per.sort((a, b) => a - b);
  return per[Math.floor(per.length / 2)];
}

function maxAbsErr(got, want, rowsFlag, Dv) {
  let m = 0;
  for (let r = 0; r < rowsFlag.length; r++) {
    if (!rowsFlag[r]) continue;
    for (let e = 0; e < Dv; e++) {
      const d = Math.abs(got[r * Dv + e] - want[r * Dv + e]);
      if (!(d <= m)) m = d; // NaN makes it NaN
    }
  }
  return m;
}

async function benchShape(s, threads) {
  const { B, H, L, S, D, causal = false } = s;
  ak.setThreads(threads);
  const q = ak.random([B, H, L, D], { seed: 11 });
  const k = ak.random([B, H, S, D], { seed: 12 });
  const v = ak.random([B, H, S, D], { seed: 13 });
  const flops = 4 * B * H * L * S * D;
  const native = () => ak.sdpa(q, k, v, { causal }, { backend: 'native' });
  const nativeMs = await time(native);
  const out = native().data;
  // float64 reference on up to 128 sampled query rows
  const rows = ak.sampleRows(B * H * L, 128);
  const args = { q: q.data, k: k.data, v: v.data, B, Hq: H, Hkv: H, L, S, D, Dv: D, scale: 1 / Math.sqrt(D), causal, mask: null, bias: null, keyLengths: null, returnWeights: false, returnLse: false };
  const want = ak.referenceKernels.sdpa(args, rows).output;
  const res = { shape: s.name, B, H, L, S, D, causal, threads, target: s.target, nativeMs, nativeGflops: flops / nativeMs / 1e6, nativeErr: maxAbsErr(out, want, rows, D), ort: {} };
  const { peers, errors, error, version } = await ortPeers({ B, H, L, S, D, causal }, { q, k, v }, threads);
  res.ortVersion = version;
  if (error) res.ortError = error;
  if (errors && errors.length) res.ortErrors = errors;
  for (const p of peers ?? []) {
    try {
      const ms = await time(p.run);
      const o = p.toBHLD(await p.run());
      res.ort[p.name] = { ms, gflops: flops / ms / 1e6, err: maxAbsErr(o, want, rows, D) };
    } catch (e) {
      res.ort[p.name] = { error: String(e.message).split('\n')[0] };
    }
    p.release?.();
  }
  const best = Object.values(res.ort).filter((x) => x.ms).sort((a, b) => a.ms - b.ms)[0];
  res.ortBestMs = best ? best.ms : null;
  res.ratio = best ? best.ms / nativeMs : null;
  return res;
}

const info = ak.nativeInfo();
if (!info.available) {
  console.error(`native backend unavailable: ${info.reason}${info.fix ? `\nfix: ${info.fix}` : ''}`);
  process.exit(1);
}
const peak2 = ak.measurePeak({ threads: THREADS, ms: 500 }).gflops;
const peak1 = ak.measurePeak({ threads: 1, ms: 500 }).gflops;
console.log(`native ${info.isa} (${info.cpu.brand}), ${THREADS} threads; FMA peak ${peak2.toFixed(0)} GFLOP/s at ${THREADS} threads, ${peak1.toFixed(0)} at 1`);
const results = [];
const fmt = (x, d = 2) => (x == null ? '-' : Number(x).toFixed(d));
const line = (r, peak) => {
  const o = r.ort;
  const om = o['ort-matmul'] ?? {};
  const oh = o['ort-mha'] ?? {};
  return `${r.shape.padEnd(8)} ${`(${r.B},${r.H},${r.L},${r.S},${r.D})${r.causal ? ' causal' : ''}`.padEnd(26)} t=${r.threads} native ${fmt(r.nativeMs, 3).padStart(8)} ms ${fmt(r.nativeGflops, 1).padStart(6)} GF/s ${fmt((100 * r.nativeGflops) / peak, 0).padStart(3)}% peak | ort-matmul ${fmt(om.ms, 3)} ms ort-mha ${fmt(oh.ms, 3)} ms | ratio ${fmt(r.ratio)}x | err native ${r.nativeErr.toExponential(1)} matmul ${om.err != null ? om.err.toExponential(1) : '-'} mha ${oh.err != null ? oh.err.toExponential(1) : '-'} | target ${r.target}`;
};
for (const s of SHAPES) {
  const r = await benchShape(s, THREADS);
  results.push(r);
  console.log(line(r, peak2));
  if (r.ortErrors) console.log(`   ort errors: ${r.ortErrors.join('; ')}`);
}
if (ONE) {
  for (const s of SHAPES.filter((x) => x.large)) {
    const r = await benchShape({ ...s, target: '>=1.2x ORT at 1 thread' }, 1);
    results.push(r);
    console.log(line(r, peak1));
  }
}
ak.setThreads(0);
if (JSON_OUT) {
  const fs = await import('fs');
  fs.writeFileSync(JSON_OUT, JSON.stringify({ isa: info.isa, cpu: info.cpu.brand, peak: { [THREADS]: peak2, 1: peak1 }, results }, null, 2));
}
