'use strict';
// The peer table of the bench: for every op with a peer, onnxruntime-node sessions of its ONNX
// graphs (./onnx-graphs.js) and, where tfjs has a reasonable formulation, a tfjs peer; each peer's
// output is checked against attnkit's float64 reference on the same inputs (sampled rows), and
// the issue #19 targets (attnkit time against the best onnxruntime row, same run, same threads)
// are judged from the bench rows. sdpa keeps its own graphs (./onnx.js, ./tfjs.js); its error
// check is the one here.
const ak = require('../../dist/cjs/index.js');
const { loadOrt } = require('./onnx.js');
const { onnxGraphs, hasOnnxGraph } = require('./onnx-graphs.js');
const { CHECKERS: OP_CHECKERS } = require('./onnx-graphs-hstu.js');
const { useBackend, loadTf } = require('./tfjs.js');

/** Rows compared with reference (a deterministic sample, as verify's rows; all rows when fewer). */
const CHECK_ROWS = 64;

/**
 * The checked, flat kernel arguments (src/kernels.ts) of one public call: what every backend's
 * kernel receives. Captured through a throwaway backend whose kernel records them, so the peers
 * see exactly the numbers, defaults and resolved options (eps, scale, causal offsets) attnkit's
 * kernels see.
 */
function flatArgs(op, args) {
  const name = '__attnkit_bench_capture';
  const stop = new Error('captured');
  let captured;
  ak.registerBackend({ name, probe: () => ({ available: true }), kernels: { [op]: (a) => { captured = a; throw stop; } }, tolerances: { default: { rtol: 0, atol: 0 } } });
  try {
    ak.OPS[op].call(args, { backend: name });
  } catch (e) {
    if (e !== stop) throw e;
  } finally {
    ak.unregisterBackend(name);
  }
  return captured;
}

/** Size of each op's row space (the rows verify samples). */
const ROW_SPACE = {
  sdpa: (a) => a.B * a.Hq * a.L,
  multiHeadAttention: (a) => a.B * a.L,
  transformerEncoderLayer: (a) => a.B * a.L,
  additiveAttention: (a) => a.B * a.L,
  targetAttention: (a) => a.B,
  topK: (a) => a.B,
  linear: (a) => a.rows,
  softmax: (a) => a.rows,
  layerNorm: (a) => a.rows,
  gelu: (a) => a.rows,
  silu: (a) => a.rows,
  softmaxBackward: (a) => a.rows,
  geluBackward: (a) => a.rows,
  siluBackward: (a) => a.rows,
  layerNormBackward: (a) => a.rows,
  linearBackward: (a) => a.rows,
  adamStep: (a) => a.rows,
  additiveScoresBackward: (a) => a.B,
  embeddingBackward: (a) => a.numItems,
};

/**
 * The ops whose result has several outputs: each field, and how it is compared. 'rows': in the
 * op's row space, on the sampled rows; 'all': every element (a sum over rows such as dW, or a
 * small tensor; the reference computes it in full even when restricted to sampled rows).
 */
const OUTPUTS = {
  layerNormBackward: { dx: 'rows', dGamma: 'all', dBeta: 'all' },
  linearBackward: { dx: 'rows', dW: 'all', db: 'all' },
  additiveScoresBackward: { dValues: 'all', dqa: 'all', dka: 'all', dv: 'all' },
  adamStep: { param: 'rows', m: 'rows', v: 'rows' },
};

/**
 * Ops checked on every row rather than a sample: embeddingBackward (its row space is the item
 * table, mostly untouched rows; its full reference is one pass over dOut) and
 * additiveScoresBackward (its reference has no row filter; the bench shapes are small).
 */
const CHECK_ALL_ROWS = new Set(['embeddingBackward', 'additiveScoresBackward']);

/** The worse of two errors (NaN is worse than any number). */
const worse = (a, b) => (Number.isNaN(a) ? a : Number.isNaN(b) ? b : Math.max(a, b));

/**
 * A checker of peer outputs for one call: the float64 reference on CHECK_ROWS sampled rows of the
 * call's flat args (every row for CHECK_ALL_ROWS), computed once; `check(got)` gives { maxAbs,
 * maxRel, note? } of a peer's output in attnkit's layout (a Float32Array; for topK { scores,
 * indices }; for the ops of OUTPUTS an object of every output by field name, each compared, the
 * worst counting and each output's max abs error in the note). NaN wins, as in the bench's other
 * error figures. topK's scores are compared at each rank; its indices are counted where they
 * differ (float32 near-ties can swap neighbours). adamStep's reference runs out of place, so the
 * caller's arrays are not touched.
 */
function referenceChecker(op, flat) {
  const { maxErrors } = require('../run-bench.js');
  const space = ROW_SPACE[op](flat);
  const rows = CHECK_ALL_ROWS.has(op) ? new Uint8Array(space).fill(1) : ak.sampleRows(space, CHECK_ROWS);
  const res = ak.referenceKernels[op](op === 'adamStep' ? { ...flat, inPlace: false } : flat, CHECK_ALL_ROWS.has(op) ? null : rows);
  /** Every index of `want`, as a reusable iterable (no array of millions of numbers). */
  const allIndices = (want) => ({ [Symbol.iterator]: () => want.keys() });
  /** The indices of `want` (of one output) in the sampled rows. */
  const rowIndices = (want) => {
    if (CHECK_ALL_ROWS.has(op)) return allIndices(want);
    const per = want.length / rows.length;
    const idx = [];
    for (let r = 0; r < rows.length; r++) if (rows[r]) for (let c = 0; c < per; c++) idx.push(r * per + c);
    return idx;
  };
  if (OUTPUTS[op]) {
    const fields = Object.entries(OUTPUTS[op]).filter(([f]) => res[f]);
    const idx = Object.fromEntries(fields.map(([f, how]) => [f, how === 'all' ? allIndices(res[f]) : rowIndices(res[f])]));
    return (got) => {
      let maxAbs = 0, maxRel = 0;
      const per = [];
      for (const [f] of fields) {
        const e = got[f] && got[f].length === res[f].length ? maxErrors(got[f], res[f], idx[f]) : { maxAbs: NaN, maxRel: NaN };
        maxAbs = worse(maxAbs, e.maxAbs);
        maxRel = worse(maxRel, e.maxRel);
        per.push(`${f} ${got[f] ? Number(e.maxAbs.toPrecision(2)) : 'missing'}`);
      }
      return { maxAbs, maxRel, note: `max abs error per output: ${per.join(', ')}` };
    };
  }
  const want = op === 'topK' ? res.scores : res instanceof Float32Array ? res : res.output;
  const idx = rowIndices(want);
  return (got) => {
    const e = maxErrors(op === 'topK' ? got.scores : got, want, idx);
    if (op === 'topK') {
      let differ = 0;
      for (const i of idx) if (Number(got.indices[i]) !== res.indices[i]) differ++;
      if (differ) e.note = `${differ} of ${idx.length} checked indices differ from reference (float32 near-ties)`;
    }
    return e;
  };
}

/**
 * A peer call slower than this (its first, checked call) is timed on its own after a duel's
 * interleaved rounds (budget.js's slow-call rule: a call or two), and gets no '+out' twin: the
 * padded HSTU graphs take seconds per call at the bench shape, and 2 rounds x (3 warm-up + 2
 * timed) calls of each would cost minutes.
 */
const SLOW_PEER_MS = 1000;

/** Whether the bench has an onnxruntime peer for `op` (sdpa: ./onnx.js). */
const hasOrtPeer = (op) => hasOnnxGraph(op);

const firstLine = (e) => String(e && e.message).split('\n')[0];

/**
 * onnxruntime sessions of `op`'s graphs on one bench case's inputs, at `threads` intra-op threads
 * (sequential execution, all graph optimisations, as the sdpa peers). `withOut`: also each graph
 * run into pre-allocated output tensors ('+out', ORT's fetches; for ops whose native call has
 * options.out). Returns { peers: [{ name, graph, err, run() (async), release() }], errors: [],
 * version } or { error } when onnxruntime-node is missing.
 */
async function ortOpPeers(op, inputs, threads, { withOut = false } = {}) {
  const { ort, error } = loadOrt();
  if (!ort) return { error };
  const version = require('onnxruntime-node/package.json').version;
  const flat = flatArgs(op, inputs.args);
  let graphs;
  try {
    graphs = onnxGraphs(op, flat);
  } catch (e) {
    return { peers: [], errors: [firstLine(e)], version };
  }
  const check = (OP_CHECKERS[op] ?? referenceChecker)(op, flat);
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const peers = [];
  const errors = [];
  for (const gr of graphs) {
    // One output 'out': the array; several: an object by the op's result fields (gr.fields renames).
    const toAttnkit = (out) => (op === 'topK' ? { scores: out.scores.data, indices: out.indices.data } : gr.outputs.length === 1 && gr.outputs[0] === 'out' ? out.out.data : Object.fromEntries(gr.outputs.map((n) => [gr.fields?.[n] ?? n, out[n].data])));
    let sess;
    try {
      sess = await ort.InferenceSession.create(gr.model, { ...opts, ...(gr.sessionOptions ?? {}) });
      const feeds = Object.fromEntries(Object.entries(gr.feeds).map(([n, f]) => [n, new ort.Tensor(f.type ?? 'float32', f.data, f.dims)]));
      // A graph with its own collect() (several outputs, padded rows) is timed on its raw outputs.
      const collect = gr.collect ?? toAttnkit;
      const result = gr.collect ? (out) => out : toAttnkit;
      const t0 = performance.now();
      const first = await sess.run(feeds);
      const firstMs = performance.now() - t0;
      const slow = firstMs >= SLOW_PEER_MS;
      if (withOut && slow) errors.push(`${gr.name}+out left out: one call takes ${(firstMs / 1e3).toFixed(1)} s, where a pre-allocated output changes nothing measurable`);
      let open = withOut && !slow ? 2 : 1;
      const s = sess;
      const release = () => --open === 0 && s.release();
      peers.push({ name: gr.name, graph: gr.what, err: check(collect(first)), run: async () => result(await s.run(feeds)), release, firstMs, slow });
      if (withOut && !slow) {
        const pre = Object.fromEntries(gr.outputs.map((n) => {
          const t = first[n];
          return [n, new ort.Tensor(t.type, t.type === 'int64' ? new BigInt64Array(t.data.length) : new Float32Array(t.data.length), t.dims)];
        }));
        const firstOut = collect(await s.run(feeds, pre));
        peers.push({ name: `${gr.name}+out`, graph: `${gr.what}, into pre-allocated outputs`, err: check(firstOut), run: async () => result(await s.run(feeds, pre)), release });
      }
    } catch (e) {
      if (sess) sess.release();
      errors.push(`${gr.name} (${gr.what}): onnxruntime cannot run it: ${firstLine(e)}`);
    }
  }
  return { peers, errors, version };
}

/**
 * tfjs formulations: (tf, flat args) -> { fn() -> the output in attnkit's layout (`multi`: topK's
 * [scores, indices]; `fields`: an object by the op's result fields), tensors, what }.
 * Written with tfjs's own ops; the ops without a reasonable tfjs form here have none.
 */
const TFJS = {
  linear: (tf, a) => {
    const x = tf.tensor2d(a.x, [a.rows, a.inDim]), w = tf.tensor2d(a.w, [a.inDim, a.outDim]), b = a.b ? tf.tensor1d(a.b) : null;
    return { tensors: [x, w, b], what: 'matMul + add', fn: () => (b ? tf.add(tf.matMul(x, w), b) : tf.matMul(x, w)) };
  },
  softmax: (tf, a) => {
    if (a.mask) throw new Error('softmax with a mask has no tfjs formulation here');
    const x = tf.tensor2d(a.x, [a.rows, a.cols]);
    return { tensors: [x], what: 'softmax', fn: () => tf.softmax(x) };
  },
  layerNorm: (tf, a) => {
    const x = tf.tensor2d(a.x, [a.rows, a.cols]);
    const g = a.gamma ? tf.tensor1d(a.gamma) : null, b = a.beta ? tf.tensor1d(a.beta) : null;
    const eps = tf.scalar(a.eps);
    return {
      tensors: [x, g, b, eps], what: 'moments, (x - mean) · rsqrt(variance + eps) · gamma + beta',
      fn: () => {
        const { mean, variance } = tf.moments(x, -1, true);
        let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
        if (g) y = tf.mul(y, g);
        return b ? tf.add(y, b) : y;
      },
    };
  },
  gelu: (tf, a) => {
    const x = tf.tensor2d(a.x, [a.rows, a.cols]);
    if (a.approximate === 'tanh') {
      return { tensors: [x], what: '0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³)))', fn: () => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))) };
    }
    return { tensors: [x], what: '0.5·x·(1 + erf(x/√2))', fn: () => tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) };
  },
  silu: (tf, a) => {
    const x = tf.tensor2d(a.x, [a.rows, a.cols]);
    return { tensors: [x], what: 'x · sigmoid(x)', fn: () => tf.mul(x, tf.sigmoid(x)) };
  },
  topK: (tf, a) => {
    if (a.exclude) throw new Error('topK with exclusions has no tfjs formulation here');
    const u = tf.tensor2d(a.users, [a.B, a.D]), items = tf.tensor2d(a.items, [a.N, a.D]);
    return {
      tensors: [u, items], what: 'matMul (users · itemsᵀ) + topk', multi: true,
      fn: () => {
        const s = tf.matMul(u, items, false, true);
        const { values, indices } = tf.topk(a.largest ? s : tf.neg(s), a.k, true);
        return [a.largest ? values : tf.neg(values), indices];
      },
    };
  },
};

// The training ops' tfjs forms (backward ops, adamStep): ./tfjs-training.js.
Object.assign(TFJS, require('./tfjs-training.js'));

const hasTfjsPeer = (op) => op in TFJS;

/** A tfjs peer of `op` on backend `name` ('cpu' | 'wasm'): { peer: { name, threads, graph, err, run, release }, version } or { error }. */
async function tfjsOpPeer(name, op, inputs, threads) {
  const err = await useBackend(name, threads);
  if (err) return { error: err };
  const tf = loadTf();
  const flat = flatArgs(op, inputs.args);
  let f;
  try {
    f = TFJS[op](tf, flat);
  } catch (e) {
    return { error: `tfjs-${name} ${op}: ${firstLine(e)}` };
  }
  const run = () => {
    const out = tf.tidy(() => f.fn());
    if (f.fields) {
      // An object of outputs by the op's result fields.
      return Object.fromEntries(Object.entries(out).map(([k, t]) => {
        const data = t.dataSync();
        t.dispose();
        return [k, data];
      }));
    }
    if (f.multi) {
      const [s, i] = out;
      const r = { scores: s.dataSync(), indices: i.dataSync() };
      s.dispose();
      i.dispose();
      return r;
    }
    const data = out.dataSync();
    out.dispose();
    return data;
  };
  const release = () => f.tensors.forEach((t) => t && t.dispose());
  let check;
  try {
    check = referenceChecker(op, flat)(run());
  } catch (e) {
    release();
    return { error: `tfjs-${name} ${op}: ${firstLine(e)}` };
  }
  const threadsUsed = name === 'wasm' ? (require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1) : 1;
  return { peer: { name: `tfjs-${name}`, threads: threadsUsed, graph: f.what, err: check, run, release }, version: tf.version_core };
}

/**
 * Issue #19 item 4: attnkit's time against onnxruntime's, 2 threads, same run. Each: the op, and
 * the least ratio (best ORT row's median / attnkit's median) that meets the target.
 */
const TARGETS = [
  { op: 'softmax', min: 1.2 },
  { op: 'layerNorm', min: 1.2 },
  { op: 'gelu', min: 1.2 },
  { op: 'silu', min: 1.2 },
  { op: 'multiHeadAttention', min: 1.5, why: 'at SASRec size' },
  { op: 'transformerEncoderLayer', min: 1.5, why: 'at SASRec size' },
  { op: 'topK', min: 1.5, why: "against ORT's MatMul + TopK" },
  { op: 'linear', min: 1.0, why: "at least ORT's MatMul (MLAS)" },
  { op: 'sdpa', min: 1.2 },
];
const TARGET_THREADS = 2;

/**
 * The targets judged on a run's rows: per target op and bench shape at 2 threads, attnkit's
 * fastest native row (a new output or into options.out) against the fastest onnxruntime row (any
 * graph, either output mode), same shape, same threads, same run (the duel's interleaved rows).
 * { op, shape, threads, attnkitMs, attnkitRow, ortMs, ortRow, ratio, target, met, attnkitMaxAbs,
 * ortMaxAbs, errorNoWorse } or, when either side was not timed, { op, shape, met: null, note }.
 */
function judgeTargets(rows, { noWorse }) {
  const out = [];
  for (const t of TARGETS) {
    const natives = rows.filter((r) => r.op === t.op && !r.peer && !r.scenario && r.backend.startsWith('native') && r.threads === TARGET_THREADS && r.median !== undefined);
    for (const shape of [...new Set(natives.map((r) => r.shape))]) {
      const n = natives.filter((r) => r.shape === shape).reduce((a, b) => (a.median <= b.median ? a : b));
      const orts = rows.filter((r) => r.peer && r.op === t.op && r.shape === shape && r.backend.startsWith('ort') && r.threads === TARGET_THREADS && r.median !== undefined);
      if (!orts.length) {
        out.push({ op: t.op, shape, threads: TARGET_THREADS, target: t.min, met: null, note: 'no onnxruntime row at 2 threads in this run' });
        continue;
      }
      const o = orts.reduce((a, b) => (a.median <= b.median ? a : b));
      const ratio = o.median / n.median;
      out.push({
        op: t.op, shape, threads: TARGET_THREADS, attnkitMs: n.median, attnkitRow: n.backend, ortMs: o.median, ortRow: o.backend, ratio, target: t.min, met: ratio >= t.min,
        attnkitMaxAbs: n.maxAbs, attnkitMaxRel: n.maxRel, ortMaxAbs: o.maxAbs, ortMaxRel: o.maxRel, errorNoWorse: noWorse(n.maxAbs, o.maxAbs), ...(t.why ? { why: t.why } : {}),
      });
    }
  }
  return out;
}

/** The peers' graphs (one line per op and peer) and the targets, after the bench table. */
function printPeerSummary(result, out, fmt) {
  const graphs = new Map();
  for (const r of result.rows) if (r.peer && r.graph && !r.backend.endsWith('+out')) graphs.set(`${r.op} · ${r.backend}`, r.graph);
  if (graphs.size) out.write(`peer graphs (same inputs; errors against attnkit's float64 reference on ${CHECK_ROWS} sampled rows, every output of the op: sums over rows (dW, db, dGamma, dBeta, dv), ${[...CHECK_ALL_ROWS].join('\'s and ')}'s outputs and every output of sdpaBackward and hstuAttentionBackward whole; per output in the row's note): ${[...graphs].map(([k, g]) => `\n  ${k}: ${g}`).join('')}\n`);
  const targets = result.targets ?? [];
  if (!targets.length) return;
  out.write(`targets (issue #19 item 4: attnkit's fastest native row against the fastest onnxruntime row, ${TARGET_THREADS} threads, same run${result.quick ? '; --quick shapes, not the targets\' shapes' : ''}):\n`);
  for (const t of targets) {
    if (t.met === null) {
      out.write(`  ${t.op} ${t.shape}: target >= ${t.target}x ORT: not measured (${t.note})\n`);
      continue;
    }
    out.write(`  ${t.op} ${t.shape}: ${t.attnkitRow} ${fmt(t.attnkitMs)} ms vs ${t.ortRow} ${fmt(t.ortMs)} ms = ${t.ratio.toFixed(2)}x (target >= ${t.target}x${t.why ? `, ${t.why}` : ''}): ${t.met ? 'met' : 'NOT met'}; max abs error ${fmt(t.attnkitMaxAbs)} vs ORT ${fmt(t.ortMaxAbs)}\n`);
  }
  const judged = targets.filter((t) => t.met !== null);
  out.write(`  met: ${judged.filter((t) => t.met).length} of ${judged.length}\n`);
}

module.exports = { SLOW_PEER_MS, printPeerSummary, flatArgs, referenceChecker, ortOpPeers, tfjsOpPeer, hasOrtPeer, hasTfjsPeer, judgeTargets, TARGETS, CHECK_ROWS };
