'use strict';
// `attnkit verify`: random and adversarial inputs for every op on every available backend, each
// cross-checked against reference at the backend's documented tolerance. One table; exit 1 on any
// failure.
const ak = require('../dist/cjs/index.js');
const { rnd, mlp, encoderParams } = require('./cases.js');

const maskOf = (shape, fn) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    data[f] = fn(...idx) ? 1 : 0;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return { data, shape };
};

/**
 * The matrix: [op, case name, run(dispatchOptions), logitMagnitude?]. Sizes are odd on purpose (not
 * SIMD multiples). A case with logits of magnitude M is ill-conditioned in float32: rounding a logit
 * moves it by up to M·2^-24, which changes its softmax weight by that much relatively. Such a case is
 * checked at max(the backend's tolerance, 8·M·2^-24) — the same bound for every backend, derived,
 * not fitted (see README, Tolerances).
 */
function verifyCases({ quick = false } = {}) {
  const cases = [];
  const sdpaShapes = quick
    ? [[1, 2, 1, 7, 129, 17], [2, 4, 2, 33, 65, 64]]
    : [[1, 1, 1, 1, 1, 1], [1, 2, 1, 7, 129, 17], [2, 4, 2, 33, 65, 64], [1, 2, 2, 129, 7, 65], [1, 8, 1, 1, 1000, 128], [1, 1, 1, 200, 200, 3]];
  for (const [B, Hq, Hkv, L, S, D] of sdpaShapes) {
    const q = rnd([B, Hq, L, D], L + S);
    const k = rnd([B, Hkv, S, D], L + S + 1);
    const v = rnd([B, Hkv, S, D], L + S + 2);
    const sh = `B=${B} Hq=${Hq} Hkv=${Hkv} L=${L} S=${S} D=${D}`;
    const lens = new Int32Array(B).map((_, b) => (b ? 0 : S - 1));
    const nanQ = rnd([B, Hq, L, D], 5);
    nanQ.data[0] = NaN;
    const variants = {
      plain: {},
      causal: { causal: true, returnWeights: true, returnLse: true },
      'mask + empty rows': { mask: maskOf([L, S], (i, j) => i % 3 !== 1 && (i + j) % 4 !== 0) },
      'bias ±1e4 + keyLengths': { bias: rnd([Hq, L, S], 7, 1e4), keyLengths: lens },
      '-Inf bias rows': { bias: { data: new Float32Array(L * S).map((_, f) => (Math.floor(f / S) % 2 ? -Infinity : 0)), shape: [L, S] } },
    };
    for (const [name, opts] of Object.entries(variants)) cases.push(['sdpa', `${sh} ${name}`, (d) => ak.sdpa(q, k, v, opts, d), name.includes('1e4') ? 1e4 : 0]);
    cases.push(['sdpa', `${sh} NaN in one query row`, (d) => ak.sdpa(nanQ, k, v, {}, d)]);
  }
  const mhaP = (E, H, Hkv, seed) => ({ wq: rnd([E, E], seed, 0.3), wk: rnd([E, (E / H) * Hkv], seed + 1, 0.3), wv: rnd([E, (E / H) * Hkv], seed + 2, 0.3), wo: rnd([E, 17], seed + 3, 0.3), bq: rnd([E], seed + 4, 0.1) });
  for (const [B, L, S, E, H, Hkv] of quick ? [[2, 9, 13, 24, 4, 2]] : [[2, 9, 13, 24, 4, 2], [1, 65, 65, 64, 8, 8], [3, 1, 50, 16, 2, 1]]) {
    const q = rnd([B, L, E], 11);
    const kv = rnd([B, S, E], 12);
    cases.push(['multiHeadAttention', `B=${B} L=${L} S=${S} E=${E} H=${H}/${Hkv} cross`, (d) => ak.multiHeadAttention(q, kv, kv, mhaP(E, H, Hkv, 13), { numHeads: H, numKvHeads: Hkv, returnWeights: true }, d)]);
    cases.push(['multiHeadAttention', `B=${B} L=${L} E=${E} H=${H}/${Hkv} self causal`, (d) => ak.multiHeadAttention(q, q, q, mhaP(E, H, Hkv, 14), { numHeads: H, numKvHeads: Hkv, causal: true }, d)]);
  }
  for (const [B, L, S, D, A] of quick ? [[3, 2, 17, 9, 5]] : [[3, 2, 17, 9, 5], [4, 1, 50, 64, 64], [2, 3, 129, 3, 33]]) {
    const p = { wq: rnd([D, A], 20, 0.3), wk: rnd([D, A], 21, 0.3), b: rnd([A], 22, 0.1), v: rnd([A], 23) };
    const q = rnd([B, L, D], 24);
    const k = rnd([B, S, D], 25);
    const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
    cases.push(['additiveAttention', `B=${B} L=${L} S=${S} D=${D} A=${A}`, (d) => ak.additiveAttention(q, k, k, p, { keyLengths: lens, returnWeights: true }, d)]);
    cases.push(['additiveAttention', `B=${B} S=${S} D=${D} A=${A} pooling`, (d) => ak.additiveAttention(null, k, k, p, {}, d)]);
  }
  for (const [B, S, D, hidden] of quick ? [[3, 17, 5, [7]]] : [[3, 17, 5, [7]], [8, 50, 32, [80, 40]], [2, 129, 17, [16, 8]]]) {
    const t = rnd([B, D], 30);
    const h = rnd([B, S, D], 31);
    const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
    for (const activation of ['sigmoid', 'relu', 'prelu']) {
      cases.push(['targetAttention', `B=${B} S=${S} D=${D} ${hidden.join('-')} ${activation}`, (d) => ak.targetAttention(t, h, mlp(D, hidden, 32), { activation, keyLengths: lens, returnWeights: true }, d)]);
    }
    cases.push(['targetAttention', `B=${B} S=${S} D=${D} softmax`, (d) => ak.targetAttention(t, h, mlp(D, hidden, 33), { normalize: 'softmax', keyLengths: lens }, d)]);
  }
  for (const [B, L, E, H, F] of quick ? [[2, 17, 12, 3, 20]] : [[2, 17, 12, 3, 20], [4, 50, 64, 2, 64]]) {
    const x = rnd([B, L, E], 40);
    const p = encoderParams(E, F, 41);
    const lens = new Int32Array(B).map((_, b) => L - b);
    cases.push(['transformerEncoderLayer', `B=${B} L=${L} E=${E} H=${H} post relu`, (d) => ak.transformerEncoderLayer(x, p, { numHeads: H }, d)]);
    cases.push(['transformerEncoderLayer', `B=${B} L=${L} E=${E} H=${H} pre gelu causal`, (d) => ak.transformerEncoderLayer(x, p, { numHeads: H, norm: 'pre', activation: 'gelu', causal: true, keyLengths: lens }, d)]);
  }
  for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) {
    const x = rnd([R, C], R + C, 5);
    cases.push(['softmax', `[${R},${C}] masked`, (d) => ak.softmax(x, { mask: maskOf([R, C], (i, j) => (i + j) % 3 !== 0 || C === 1) }, d)]);
    cases.push(['layerNorm', `[${R},${C}]`, (d) => ak.layerNorm(x, rnd([C], 3), rnd([C], 4), {}, d)]);
    cases.push(['gelu', `[${R},${C}] exact`, (d) => ak.gelu(x, {}, d)]);
    cases.push(['gelu', `[${R},${C}] tanh`, (d) => ak.gelu(x, { approximate: 'tanh' }, d)]);
  }
  for (const [M, I, O] of [[1, 1, 1], [65, 63, 129], [200, 64, 64]]) cases.push(['linear', `[${M},${I}]x[${I},${O}]`, (d) => ak.linear(rnd([M, I], 50), rnd([I, O], 51, 0.2), rnd([O], 52), d)]);
  for (const [B, N, D, k] of quick ? [[5, 1000, 17, 10]] : [[5, 1000, 17, 10], [33, 20011, 64, 100], [1, 7, 3, 7]]) {
    const u = rnd([B, D], 60);
    const it = rnd([N, D], 61);
    const exclude = Array.from({ length: B }, (_, b) => (b % 2 ? null : [b, (b * 7) % N, N - 1]));
    cases.push(['topK', `B=${B} N=${N} D=${D} k=${k} exclude`, (d) => ak.topK(u, it, k, { exclude }, d)]);
  }
  return cases;
}

function runVerify({ quick = false, backend, op } = {}) {
  const wanted = backend ? String(backend).split(',') : null;
  const ops = op ? String(op).split(',') : null;
  const list = ak.backends();
  const skipped = list.filter((b) => !b.available && (!wanted || wanted.includes(b.name)));
  const names = list.filter((b) => b.available && (!wanted || wanted.includes(b.name))).map((b) => b.name);
  const rows = [];
  const cases = verifyCases({ quick }).filter(([o]) => !ops || ops.includes(o));
  let k = 0;
  const total = cases.length * names.length;
  for (const name of names) {
    const def = ak.getBackend(name);
    for (const [o, label, run, magnitude = 0] of cases) {
      k++;
      if (!def.kernels[o]) {
        rows.push({ op: o, backend: name, case: label, pass: false, note: 'no kernel for this op' });
        continue;
      }
      process.stderr.write(`\r[${k}/${total}] ${name} ${o}                    `);
      let report = null;
      let error = null;
      try {
        const base = def.tolerances[o] ?? def.tolerances.default;
        const cond = 8 * magnitude * 2 ** -24;
        run({ backend: name, verify: { rtol: Math.max(base.rtol, cond), atol: Math.max(base.atol, cond) }, onReport: (r) => (report = r.verify) });
      } catch (e) {
        error = e;
        report = e && e.report;
      }
      rows.push({
        op: o, backend: name, case: label,
        maxAbs: report?.maxAbsError, maxRel: report?.maxRelError, atol: report?.atol, rtol: report?.rtol,
        pass: !error && !!report && report.passed,
        note: error ? String(error.message).split('\n')[0] : '',
      });
    }
  }
  process.stderr.write('\n');
  return { rows, skipped };
}

function printVerify({ rows, skipped }, out = process.stdout) {
  const { fmt } = require('./run-bench.js');
  const head = ['op', 'backend', 'case', 'max abs', 'max rel', 'tolerance (atol + rtol·|want|)', 'result'];
  const body = rows.map((r) => [r.op, r.backend, r.case, fmt(r.maxAbs), fmt(r.maxRel), r.atol !== undefined ? `${r.atol} + ${r.rtol}` : '', r.pass ? 'pass' : `FAIL ${r.note}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  out.write(`${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const b of body) out.write(`${line(b)}\n`);
  for (const s of skipped) out.write(`backend '${s.name}' unavailable (not verified): ${s.reason}${s.fix ? ` — fix: ${s.fix}` : ''}\n`);
  const failed = rows.filter((r) => !r.pass).length;
  out.write(`\nverify: ${rows.length - failed} passed, ${failed} failed over ${new Set(rows.map((r) => r.backend)).size} backend(s)\n`);
  return failed;
}

module.exports = { runVerify, printVerify, verifyCases };
