#!/usr/bin/env node
// The gpu backend on this machine: median wall time (ms) and GFLOP/s of a few ops and shapes, next
// to the reference (and native, when built) backends; `--tolerances` instead measures the gpu
// backend's error against reference on random inputs (the source of its default tolerances).
// Needs a GL context: run under  xvfb-run -a -s '-screen 0 1x1x24 -nolisten tcp' node bench/gpu.mjs
// Options: --reps N (default 7), --json, --tolerances [--seeds N]
import * as ak from 'attnkit';

const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? Number(argv[i + 1]) : dflt;
};
const REPS = opt('--reps', 7);
const rnd = (shape, seed, scale = 1) => {
  const t = ak.random(shape, { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
};

const gpu = ak.backends().find((b) => b.name === 'gpu');
if (!gpu || !gpu.available) {
  console.error(`gpu backend unavailable: ${gpu ? gpu.reason : 'not registered'}${gpu?.fix ? `\nfix: ${gpu.fix}` : ''}`);
  process.exit(2);
}

/** Cases: name, flops, run(backend). */
function cases() {
  const out = [];
  for (const [B, H, L, S, D] of [[1, 8, 128, 128, 64], [1, 8, 512, 512, 64], [1, 4, 1, 4096, 128], [1, 1, 1024, 1024, 64]]) {
    const q = rnd([B, H, L, D], 1), k = rnd([B, H, S, D], 2), v = rnd([B, H, S, D], 3);
    out.push({ name: `sdpa B=${B} H=${H} L=${L} S=${S} D=${D}`, flops: 4 * B * H * L * S * D, run: (backend) => ak.sdpa(q, k, v, {}, { backend }) });
  }
  {
    const [B, L, E, H, F] = [4, 128, 256, 8, 1024];
    const x = rnd([B, L, E], 4);
    const w = (s, a, b) => rnd([a, b], s, 1 / Math.sqrt(a));
    const p = {
      attention: { wq: w(5, E, E), wk: w(6, E, E), wv: w(7, E, E), wo: w(8, E, E) },
      norm1: { gamma: rnd([E], 9), beta: rnd([E], 10) },
      ffn: { w1: w(11, E, F), w2: w(12, F, E) },
      norm2: { gamma: rnd([E], 13), beta: rnd([E], 14) },
    };
    const flops = 2 * B * L * (4 * E * E + 2 * E * F) + 4 * B * L * L * E;
    out.push({ name: `transformerEncoderLayer B=${B} L=${L} E=${E} H=${H} F=${F}`, flops, run: (backend) => ak.transformerEncoderLayer(x, p, { numHeads: H }, { backend }) });
  }
  {
    const [R, I, O] = [1024, 256, 256];
    const x = rnd([R, I], 15), w = rnd([I, O], 16);
    out.push({ name: `linear ${R}x${I} · ${I}x${O}`, flops: 2 * R * I * O, run: (backend) => ak.linear(x, w, null, { backend }) });
  }
  {
    const [B, N, D, K] = [16, 100000, 64, 10];
    const u = rnd([B, D], 17), it = rnd([N, D], 18);
    out.push({ name: `topK B=${B} N=${N} D=${D} k=${K}`, flops: 2 * B * N * D, run: (backend) => ak.topK(u, it, K, {}, { backend }) });
  }
  return out;
}

function timeIt(fn) {
  fn(); // warm-up: compiles the shaders (gpu) / warms the JIT
  const t = [];
  for (let r = 0; r < REPS; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

function bench() {
  const names = ak.backends().filter((b) => b.available).map((b) => b.name);
  const rows = [];
  for (const c of cases()) {
    const row = { case: c.name };
    for (const be of ['gpu', 'native', 'reference']) {
      if (!names.includes(be)) continue;
      try {
        const ms = timeIt(() => c.run(be));
        row[be] = { ms: +ms.toFixed(2), gflops: +(c.flops / ms / 1e6).toFixed(2) };
      } catch (e) {
        row[be] = { error: e.message.slice(0, 120) };
      }
    }
    rows.push(row);
    if (!argv.includes('--json')) {
      const cell = (r) => (!r ? '-' : r.error ? `error: ${r.error}` : `${r.ms} ms (${r.gflops} GFLOP/s)`);
      console.log(`${c.name.padEnd(52)} gpu ${cell(row.gpu).padEnd(26)} native ${cell(row.native).padEnd(26)} reference ${cell(row.reference)}`);
    }
  }
  const g = ak.backends().find((b) => b.name === 'gpu');
  if (argv.includes('--json')) console.log(JSON.stringify({ renderer: g.renderer, reps: REPS, rows }, null, 2));
  else console.log(`\ngpu renderer: ${g.renderer}; median of ${REPS} runs after one warm-up (shader compile excluded)`);
}

/** Flatten every float output of a result. */
function outputs(r) {
  if (r.data) return { output: r.data };
  const o = {};
  for (const [k, v] of Object.entries(r)) if (v && v.data && v.data instanceof Float32Array) o[k] = v.data;
  return o;
}

/** Max abs error, max rel error (|want| >= 1e-3), and the atol each rtol in RTOLS would need. */
const RTOLS = [1e-5, 1e-4];
function errors(got, want, acc) {
  for (const name of Object.keys(want)) {
    const g = got[name], w = want[name];
    for (let i = 0; i < w.length; i++) {
      if (!Number.isFinite(w[i])) continue;
      const e = Math.abs(g[i] - w[i]);
      acc.maxAbs = Math.max(acc.maxAbs, e);
      if (Math.abs(w[i]) >= 1e-3) acc.maxRel = Math.max(acc.maxRel, e / Math.abs(w[i]));
      RTOLS.forEach((r, k) => (acc.atol[k] = Math.max(acc.atol[k], e - r * Math.abs(w[i]))));
    }
  }
}

function tolerances() {
  const seeds = opt('--seeds', 3);
  const acc = {};
  const track = (op, run) => {
    const a = (acc[op] ??= { maxAbs: 0, maxRel: 0, atol: RTOLS.map(() => 0), calls: 0 });
    errors(outputs(run('gpu')), outputs(run('reference')), a);
    a.calls++;
  };
  for (let s = 0; s < seeds; s++) {
    const S0 = 100 * s;
    for (const [B, Hq, Hkv, L, S, D, Dv] of [[2, 4, 2, 17, 33, 16, 8], [1, 2, 1, 64, 300, 64, 64], [1, 1, 1, 3, 4096, 256, 16], [2, 2, 2, 65, 65, 3, 65], [1, 1, 1, 129, 129, 129, 1], [1, 3, 3, 1, 1000, 63, 64]]) {
      const q = rnd([B, Hq, L, D], S0 + 1), k = rnd([B, Hkv, S, D], S0 + 2), v = rnd([B, Hkv, S, Dv], S0 + 3);
      const bias = rnd([Hq, L, S], S0 + 4, 2);
      track('sdpa', (be) => ak.sdpa(q, k, v, { causal: true, returnWeights: true, returnLse: true }, { backend: be }));
      track('sdpa', (be) => ak.sdpa(q, k, v, { bias, returnLse: true }, { backend: be }));
      track('sdpa', (be) => ak.sdpa(rnd([B, Hq, L, D], S0 + 5, 3), k, v, {}, { backend: be }));
      const mask = { data: Uint8Array.from({ length: L * S }, (_, f) => ((f % S) * 3 + Math.floor(f / S)) % 4 !== 0 ? 1 : 0), shape: [L, S] };
      track('sdpa', (be) => ak.sdpa(q, k, v, { mask, keyLengths: new Int32Array(B).fill(S - 1), returnWeights: true }, { backend: be }));
    }
    for (const [B, L, S, E, Hq, Hkv, D, Dv, Eo] of [[2, 9, 13, 32, 4, 2, 8, 8, 16], [1, 64, 64, 128, 8, 8, 16, 16, 128]]) {
      const w = (sd, a, b) => rnd([a, b], sd, 1 / Math.sqrt(a));
      const p = { wq: w(S0 + 6, E, Hq * D), bq: rnd([Hq * D], S0 + 7, 0.1), wk: w(S0 + 8, E, Hkv * D), wv: w(S0 + 9, E, Hkv * Dv), wo: w(S0 + 10, Hq * Dv, Eo), bo: rnd([Eo], S0 + 11, 0.1) };
      const x = rnd([B, L, E], S0 + 12), kv = rnd([B, S, E], S0 + 13);
      track('multiHeadAttention', (be) => ak.multiHeadAttention(x, kv, kv, p, { numHeads: Hq, numKvHeads: Hkv, returnWeights: true, returnLse: true }, { backend: be }));
      track('multiHeadAttention', (be) => ak.multiHeadAttention(x, x, x, p, { numHeads: Hq, numKvHeads: Hkv, causal: true }, { backend: be }));
    }
    for (const [B, L, S, Dq, Dk, Dv, A] of [[2, 7, 19, 8, 12, 5, 16], [1, 32, 200, 64, 64, 64, 64]]) {
      const p = { wq: rnd([Dq, A], S0 + 14, 0.3), wk: rnd([Dk, A], S0 + 15, 0.3), b: rnd([A], S0 + 16, 0.1), v: rnd([A], S0 + 17) };
      const q = rnd([B, L, Dq], S0 + 18), k = rnd([B, S, Dk], S0 + 19), v = rnd([B, S, Dv], S0 + 20);
      track('additiveAttention', (be) => ak.additiveAttention(q, k, v, p, { returnWeights: true }, { backend: be }));
      track('additiveAttention', (be) => ak.additiveAttention(null, k, v, { wk: p.wk, b: p.b, v: p.v }, { returnWeights: true }, { backend: be }));
    }
    for (const [B, S, D, hidden] of [[3, 20, 8, [16, 8]], [2, 100, 32, [80, 40]]]) {
      const layers = [];
      let inDim = 4 * D;
      for (const [l, out] of [...hidden, 1].entries()) {
        layers.push({ w: rnd([inDim, out], S0 + 21 + 2 * l, 1 / Math.sqrt(inDim)), b: rnd([out], S0 + 22 + 2 * l, 0.1) });
        inDim = out;
      }
      const t = rnd([B, D], S0 + 30), h = rnd([B, S, D], S0 + 31);
      for (const activation of ['relu', 'sigmoid']) for (const normalize of ['none', 'softmax']) {
        track('targetAttention', (be) => ak.targetAttention(t, h, { layers }, { activation, normalize, returnWeights: true }, { backend: be }));
      }
    }
    for (const [B, L, E, H, F] of [[2, 10, 16, 2, 32], [2, 64, 128, 4, 512]]) {
      const w = (sd, a, b) => rnd([a, b], sd, 1 / Math.sqrt(a));
      const p = {
        attention: { wq: w(S0 + 40, E, E), bq: rnd([E], S0 + 41, 0.1), wk: w(S0 + 42, E, E), wv: w(S0 + 43, E, E), wo: w(S0 + 44, E, E) },
        norm1: { gamma: rnd([E], S0 + 45), beta: rnd([E], S0 + 46) },
        ffn: { w1: w(S0 + 47, E, F), b1: rnd([F], S0 + 48, 0.1), w2: w(S0 + 49, F, E) },
        norm2: { gamma: rnd([E], S0 + 50), beta: rnd([E], S0 + 51) },
      };
      const x = rnd([B, L, E], S0 + 52);
      for (const norm of ['pre', 'post']) for (const activation of ['relu', 'gelu']) {
        track('transformerEncoderLayer', (be) => ak.transformerEncoderLayer(x, p, { numHeads: H, norm, activation, causal: norm === 'pre' }, { backend: be }));
      }
    }
    for (const [R, C] of [[50, 10], [8, 4096], [300, 129]]) {
      const x = rnd([R, C], S0 + 60, 4);
      track('softmax', (be) => ak.softmax(x, {}, { backend: be }));
      track('layerNorm', (be) => ak.layerNorm(x, rnd([C], S0 + 61), rnd([C], S0 + 62), {}, { backend: be }));
      track('gelu', (be) => ak.gelu(x, {}, { backend: be }));
      track('gelu', (be) => ak.gelu(x, { approximate: 'tanh' }, { backend: be }));
      track('linear', (be) => ak.linear(x, rnd([C, 33], S0 + 63, 1 / Math.sqrt(C)), rnd([33], S0 + 64), { backend: be }));
    }
    // softmax on long rows of normal logits (sd 2-4; up to the gpu's longest row, 32767): many
    // entries carry weight and some reach 0.05-0.5, so an error in the row sum shows.
    for (const [R, C, sd] of [[6, 1000, 4], [2, 20000, 3], [1, 32767, 2]]) {
      const u = rnd([R, C], S0 + 65).data, v = rnd([R, C], S0 + 66).data;
      const x = { data: Float32Array.from(u, (ui, i) => sd * Math.sqrt(-2 * Math.log((ui + 1.000001) / 2.000002)) * Math.cos(Math.PI * v[i])), shape: [R, C] };
      track('softmax', (be) => ak.softmax(x, {}, { backend: be }));
    }
    {
      const u = rnd([5, 64], S0 + 70), it = rnd([3000, 64], S0 + 71);
      track('topK', (be) => ({ scores: ak.topK(u, it, 20, {}, { backend: be }).scores }));
    }
  }
  const rows = Object.entries(acc).map(([op, a]) => ({ op, calls: a.calls, maxAbs: a.maxAbs, maxRel: a.maxRel, ...Object.fromEntries(RTOLS.map((r, k) => [`atol@rtol=${r}`, a.atol[k]])) }));
  if (argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
  else console.table(rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' && k !== 'calls' ? v.toExponential(2) : v]))));
}

if (argv.includes('--tolerances')) tolerances();
else bench();
