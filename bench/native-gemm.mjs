#!/usr/bin/env node
// Native GEMM-family ops: accuracy against reference (per ISA) and speed.
//
//   node bench/native-gemm.mjs            errors at every ISA this CPU has, then speed
//   node bench/native-gemm.mjs errors     errors only      (child process per ATTNKIT_ISA level)
//   node bench/native-gemm.mjs speed      speed only       (2 threads unless ATTNKIT_BENCH_THREADS)
//   node bench/native-gemm.mjs vmath      max error of the vector exp/tanh/sigmoid/gelu/silu (builds
//                                         native/kernels/vec/vmath_accuracy.cc with $CXX or g++)
//
// Errors: for each op, random inputs (several shapes and seeds, including sizes that are not
// multiples of the SIMD width), native vs the float64 reference: max |got - want|, max relative
// error where |want| >= 1e-2, and the largest |want| seen, plus the atol each op needs at its
// rtol. Speed: GFLOP/s of linear (2·M·N·K flops) and topK (2·B·N·D flops), median and best of
// repeats (the best is what the machine can do; the median shows how much others' load cost).
// The machine is shared: the script prints the load average before and after timing.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import * as ak from 'attnkit';
import { R, gemmFamilyCases } from './accuracy-cases.mjs';

const mode = process.argv[2] ?? 'all';

/** Accumulate error stats of one output pair. */
function account(st, got, want) {
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      if (!(Number.isNaN(w) ? Number.isNaN(g) : g === w)) st.nonFinite++;
      continue;
    }
    const e = Math.abs(g - w);
    const aw = Math.abs(w);
    st.abs = Math.max(st.abs, e);
    if (aw >= 1e-2) st.rel = Math.max(st.rel, e / aw);
    st.scale = Math.max(st.scale, aw);
    st.pairs.push([e, aw]);
    st.n++;
  }
}

/** The smallest atol that passes every element at this rtol. */
const atolNeeded = (st, rtol) => st.pairs.reduce((m, [e, aw]) => Math.max(m, e - rtol * aw), 0);

const cases = () => gemmFamilyCases(ak);

function errorsHere() {
  const info = ak.nativeInfo();
  if (!info.available) throw new Error(`native unavailable: ${info.reason}`);
  const stats = {};
  for (const [op, label, run] of cases()) {
    const st = (stats[op] ??= { abs: 0, rel: 0, scale: 0, n: 0, nonFinite: 0, pairs: [], cases: 0 });
    let got;
    try {
      got = run({ backend: 'native' });
    } catch (e) {
      st.error = `${label}: ${e.message}`;
      continue;
    }
    const want = run({ backend: 'reference' });
    account(st, (got.data ?? got).output?.data ?? got.data ?? got, (want.data ?? want).output?.data ?? want.data ?? want);
    st.cases++;
  }
  const tol = ak.getBackend('native').tolerances;
  const rows = {};
  for (const [op, st] of Object.entries(stats)) {
    const t = tol[op] ?? tol.default;
    rows[op] = {
      cases: st.cases,
      elements: st.n,
      maxAbs: +st.abs.toExponential(2),
      maxRel: +st.rel.toExponential(2),
      maxWant: +st.scale.toPrecision(3),
      'atol@rtol1e-5': +atolNeeded(st, 1e-5).toExponential(2),
      'atol@rtol': +atolNeeded(st, t.rtol).toExponential(2),
      tolerance: `rtol ${t.rtol} atol ${t.atol}`,
      nonFiniteMismatch: st.nonFinite,
      ...(st.error ? { error: st.error } : {}),
    };
  }
  return { isa: info.isa, rows };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
function time(fn, minMs = 400, minReps = 3) {
  fn();
  const ts = [];
  const t0 = performance.now();
  while (ts.length < minReps || performance.now() - t0 < minMs) {
    const a = performance.now();
    fn();
    ts.push(performance.now() - a);
  }
  return { ms: median(ts), min: Math.min(...ts), reps: ts.length, spread: (Math.max(...ts) - Math.min(...ts)) / median(ts) };
}

function speed() {
  const threads = Number(process.env.ATTNKIT_BENCH_THREADS ?? 2);
  ak.setThreads(threads);
  const info = ak.nativeInfo();
  console.log(`speed: isa ${info.isa}, ${threads} threads, load average before: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  const o = { backend: 'native' };
  const rows = [];
  for (const [M, K, N, what] of [[1024, 1024, 1024, 'square'], [1, 1024, 1024, 'one row (B read in place)'], [25600, 64, 64, 'SASRec x·W (B=128,L=200,E=64)'], [25600, 64, 192, 'SASRec fused QKV'], [25600, 64, 256, 'SASRec FFN up (F=256)'], [25600, 256, 64, 'SASRec FFN down']]) {
      const x = R([M, K], 1);
      const w = R([K, N], 2);
      const b = R([N], 3);
      const t = time(() => ak.linear(x, w, b, o));
      rows.push({ op: 'linear', shape: `${M}x${K}x${N}`, what, ms: +t.ms.toFixed(3), gflops: +((2 * M * N * K) / t.ms / 1e6).toFixed(1), 'best ms': +t.min.toFixed(3), 'best gflops': +((2 * M * N * K) / t.min / 1e6).toFixed(1), reps: t.reps, spread: +t.spread.toFixed(2) });
  }
  {
    // A SASRec block: B=128, L=200, E=64, 1 head, F=64 (point-wise FFN), causal self-attention.
    const [B, L, E, F] = [128, 200, 64, 64];
    const p = {
      attention: { wq: R([E, E], 1, 0.1), bq: R([E], 2, 0.1), wk: R([E, E], 3, 0.1), bk: R([E], 4, 0.1), wv: R([E, E], 5, 0.1), bv: R([E], 6, 0.1), wo: R([E, E], 7, 0.1), bo: R([E], 8, 0.1) },
      norm1: { gamma: R([E], 9), beta: R([E], 10) },
      ffn: { w1: R([E, F], 11, 0.1), b1: R([F], 12), w2: R([F, E], 13, 0.1), b2: R([E], 14) },
      norm2: { gamma: R([E], 15), beta: R([E], 16) },
    };
    const x = R([B, L, E], 17);
    const t = time(() => ak.transformerEncoderLayer(x, p, { numHeads: 1, causal: true }, o));
    const flops = 2 * B * L * E * (4 * E + 2 * F) + 2 * B * L * L * E; // GEMMs + causal half of QK and PV
    rows.push({ op: 'transformerEncoderLayer', shape: `B${B} L${L} E${E} H1 F${F}`, what: 'SASRec block (causal)', ms: +t.ms.toFixed(2), gflops: +(flops / t.ms / 1e6).toFixed(1), 'best ms': +t.min.toFixed(2), 'best gflops': +(flops / t.min / 1e6).toFixed(1), reps: t.reps, spread: +t.spread.toFixed(2) });
  }
  {
    const [B, N, D, k] = [1024, 100000, 64, 10];
    const users = R([B, D], 4);
    const items = R([N, D], 5);
    const t = time(() => ak.topK(users, items, k, {}, o), 1500);
    rows.push({ op: 'topK', shape: `B${B} N${N} D${D} k${k}`, what: 'users x item table', ms: +t.ms.toFixed(1), gflops: +((2 * B * N * D) / t.ms / 1e6).toFixed(1), 'best ms': +t.min.toFixed(1), 'best gflops': +((2 * B * N * D) / t.min / 1e6).toFixed(1), reps: t.reps, spread: +t.spread.toFixed(2) });
  }
  console.table(rows);
  console.log(`load average after: ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
}

function vmath() {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const exe = `${os.tmpdir()}/attnkit-vmath-accuracy-${process.pid}`;
  const cxx = process.env.CXX || 'g++';
  const b = spawnSync(cxx, ['-O2', '-std=c++17', '-DATTNKIT_VMATH_ACCURACY_MAIN', `-I${root}native/kernels/vec`, `-I${root}native/include`, `${root}native/kernels/vec/vmath_accuracy.cc`, '-o', exe], { encoding: 'utf8' });
  if (b.status !== 0) return console.log(`vmath: could not build with ${cxx}:\n${b.stderr}`);
  const r = spawnSync(exe, [], { encoding: 'utf8' });
  console.log(r.stdout + r.stderr);
}

if (process.env.ATTNKIT_BENCH_CHILD === 'errors') {
  process.stdout.write(JSON.stringify(errorsHere()));
} else {
  if (mode === 'all' || mode === 'errors') {
    const detected = ak.nativeInfo().detectedIsa;
    const levels = ['scalar', 'avx2', 'avx512'].slice(0, detected === 'avx512' ? 3 : detected === 'avx2' ? 2 : 1);
    for (const isa of levels) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url)], { env: { ...process.env, ATTNKIT_ISA: isa, ATTNKIT_BENCH_CHILD: 'errors' }, encoding: 'utf8', maxBuffer: 1 << 28 });
      if (r.status !== 0) {
        console.log(`errors at ${isa}: failed\n${r.stderr}`);
        continue;
      }
      const res = JSON.parse(r.stdout);
      console.log(`\nnative vs reference, ISA ${res.isa}:`);
      console.table(res.rows);
    }
  }
  if (mode === 'all' || mode === 'vmath') vmath();
  if (mode === 'all' || mode === 'speed') speed();
}
