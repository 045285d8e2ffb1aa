'use strict';
// Serving under load (issue #19 item 5): many concurrent async requests of one workload, each
// request's latency from its submission to its resolution, the throughput of the whole load, and
// the event loop's delay while the requests are in flight; attnkit's async API on native beside
// onnxruntime-node's async session.run on the equivalent graph, same concurrency, same intra-op
// thread count, same run.
//
// A request (one call each; every request of a load has the same inputs, so every response must
// equal the checked first one):
//   sdpa     one call of sdpa's DIN-sized bench shape (256,1,1,50,32): 256 (candidate, 50-event
//            history) pairs of one page of candidates, q [256,1,1,32], k and v [256,1,50,32].
//   topK     one user [1,64] against a 100,000 x 64 item table, k = 10.
//   encoder  the SASRec block (transformerEncoderLayer E=64, H=2, F=64, pre-norm, gelu, causal)
//            over one user's 200-event history [1,200,64].
//
// Method: a closed loop of `concurrency` outstanding requests until `requests` were issued: the
// first `concurrency` requests are submitted at once in one synchronous loop, and each resolution
// submits the next. With concurrency = requests (sdpa, encoder: 1000 and 1000) that is one burst of
// 1000 requests all started at once (Promise.all). topK runs at a lower concurrency: attnkit's
// async calls copy every input when they are made (a buffer changed or detached while a call is in
// flight cannot reach the kernel), so each topK request in flight holds its own 25.6 MB copy of the
// item table: 1000 in flight would need 25.6 GB. topK's concurrency is as many requests as fit 1 GiB
// of copies (41), for both libraries. onnxruntime holds its item table once, as a constant of the
// graph (an exported model's form), and gets only the user vector per request.
//
// Latency: performance.now() just before a request's call to just after its Promise resolves (so
// queueing behind the other requests is in it: in a burst, p50 is about half the burst). Throughput:
// requests / (last resolution - first submission). Event loop: perf_hooks.monitorEventLoopDelay
// (1 ms sampling; its figures include the 1 ms) over the whole load, the first submission loop
// included (it blocks the loop by construction: attnkit parses, checks and copies each request's
// inputs on the main thread); that loop's own synchronous time; and the longest stretch without a
// 1 ms timer running from the end of that loop to the last resolution (the "in-flight gap": near
// 1 ms when the requests run off the main thread).
// Before each load: one request on each library checked against attnkit's float64 reference, a
// full GC and 150 ms of idle time. After it: every response compared with the checked one.
const { monitorEventLoopDelay } = require('perf_hooks');
const ak = require('../dist/cjs/index.js');
const { quantile, settle } = require('./timing.js');
const { layerParams, rnd } = require('./scenarios.js');
const { loadOrt, matmulSdpaModel, contribMhaModel, toBSHD, fromBSHD } = require('./peers/onnx.js');
const { onnxGraphs } = require('./peers/onnx-graphs.js');
const { flatArgs } = require('./peers/op-peers.js');

/** Bytes of input copies topK's attnkit requests in flight may hold (sets topK's concurrency). */
const TOPK_COPY_BUDGET = 2 ** 30;
/** Sequential calls timed per library before the load (the unloaded one-request latency). */
const SINGLE_CALLS = 7;

/**
 * The workloads of a run. mode: 'quick' (100 requests each, a 10,000-item table), 'main' (the
 * default run: sdpa and encoder 300 requests, topK 200), 'full' (every workload 1000 requests:
 * `--full` and `--serving`).
 */
function servingWorkloads(mode = 'main') {
  const quick = mode === 'quick';
  // The default run (npm run main, within 5 minutes) bursts 300 sdpa and encoder requests; --full
  // and --serving the issue's 1000 (a 1000-request sdpa burst alone held ~3.3 GB of input copies).
  const R = quick ? 100 : mode === 'main' ? 300 : 1000;
  const items = quick ? 10000 : 100000;
  const topRequests = quick ? 100 : mode === 'full' ? 1000 : 200;
  const topConcurrency = Math.min(topRequests, Math.max(1, Math.floor(TOPK_COPY_BUDGET / (items * 64 * 4))));
  return [
    sdpaWorkload(R),
    topKWorkload(items, topRequests, topConcurrency),
    encoderWorkload(R),
  ];
}

/** Max abs error of got against want and whether every element is within atol + rtol·|want| (NaN only matches NaN). */
function within(got, want, tol) {
  let maxAbs = 0;
  let ok = got.length === want.length;
  for (let i = 0; i < want.length; i++) {
    const g = Number(got[i]);
    const w = Number(want[i]);
    if (Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w))) continue;
    const e = Math.abs(g - w);
    maxAbs = Number.isNaN(e) || Number.isNaN(maxAbs) ? NaN : Math.max(maxAbs, e);
    if (!(e <= tol.atol + tol.rtol * Math.abs(w))) ok = false;
  }
  return { maxAbs, ok };
}

/** Whether two typed arrays hold the same values (bitwise, as float32 / integers). */
function identical(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(Number(a[i]), Number(b[i]))) return false;
  return true;
}

const nativeTol = (op) => ak.getBackend('native').tolerances[op] ?? ak.getBackend('native').tolerances.default;

/** A row-output workload: the public call's args, its async call, and ORT graphs; outputs are Float32Arrays. */
function floatWorkload({ op, label, request, requests, concurrency, flops, args, call, ort }) {
  return {
    op, label, request, requests, concurrency, flops,
    make() {
      const a = args();
      const reference = () => call(a, { backend: 'reference' }, true).data;
      return {
        args: a,
        native: () => call(a, { backend: 'native' }).then((t) => t.data),
        reference,
        check: (got, want) => within(got, want, nativeTol(op)),
        same: identical,
        ortGraphs: () => ort(a),
      };
    },
  };
}

function sdpaWorkload(R) {
  const [B, H, L, S, D] = [256, 1, 1, 50, 32];
  return floatWorkload({
    op: 'sdpa',
    label: `sdpa DIN-sized (${B},${H},${L},${S},${D})`,
    request: `one sdpa call of the DIN-sized bench shape: ${B} (candidate, ${S}-event history) pairs, q [${B},${H},${L},${D}], k and v [${B},${H},${S},${D}]`,
    requests: R,
    concurrency: R,
    flops: ak.OPS.sdpa.cost({ B, H, L, S, D, causal: false }).flops,
    args: () => ({ q: rnd([B, H, L, D], 1), k: rnd([B, H, S, D], 2), v: rnd([B, H, S, D], 3) }),
    call: (a, d, sync) => (sync ? ak.sdpa : ak.sdpaAsync)(a.q, a.k, a.v, {}, d),
    ort: (a) => {
      const shape = { B, H, L, S, D };
      const scale = 1 / Math.sqrt(D);
      return [
        { name: 'ort-matmul', what: 'MatMul -> Softmax -> MatMul on [B,H,T,D]', model: matmulSdpaModel(shape, scale, false), feeds: { Q: { data: a.q.data, dims: [B, H, L, D] }, K: { data: a.k.data, dims: [B, H, S, D] }, V: { data: a.v.data, dims: [B, H, S, D] } }, toAttnkit: (o) => o.out.data },
        { name: 'ort-mha', what: 'com.microsoft.MultiHeadAttention on [B,T,H*D]', model: contribMhaModel(shape, scale, false), feeds: { query: { data: toBSHD(a.q.data, B, H, L, D), dims: [B, L, H * D] }, key: { data: toBSHD(a.k.data, B, H, S, D), dims: [B, S, H * D] }, value: { data: toBSHD(a.v.data, B, H, S, D), dims: [B, S, H * D] } }, toAttnkit: (o) => fromBSHD(o.out.data, B, H, L, D) },
      ];
    },
  });
}

function encoderWorkload(R) {
  const s = { B: 1, L: 200, E: 64, H: 2, F: 64 };
  const opts = { numHeads: s.H, causal: true, norm: 'pre', activation: 'gelu' };
  return floatWorkload({
    op: 'transformerEncoderLayer',
    label: `SASRec block, one user [1,${s.L},${s.E}]`,
    request: `transformerEncoderLayer (E=${s.E}, H=${s.H}, F=${s.F}, pre-norm, gelu, causal) over one user's ${s.L}-event history [1,${s.L},${s.E}]`,
    requests: R,
    concurrency: R,
    flops: ak.OPS.transformerEncoderLayer.cost({ ...s, causal: true }).flops,
    args: () => ({ x: rnd([s.B, s.L, s.E], 6), p: layerParams(s.E, s.F, 7) }),
    call: (a, d, sync) => (sync ? ak.transformerEncoderLayer : ak.transformerEncoderLayerAsync)(a.x, a.p, opts, d),
    ort: (a) => onnxGraphs('transformerEncoderLayer', flatArgs('transformerEncoderLayer', [a.x, a.p, opts])).map((g) => ({ ...g, toAttnkit: (o) => o.out.data })),
  });
}

function topKWorkload(N, requests, concurrency) {
  const D = 64, k = 10;
  return {
    op: 'topK',
    label: `topK one user vs ${N}x${D} items, k=${k}`,
    request: `topK of one user [1,${D}] against a ${N} x ${D} item table, k = ${k}`,
    requests,
    concurrency,
    flops: ak.OPS.topK.cost({ B: 1, N, D, k }).flops,
    make() {
      const users = rnd([1, D], 17), items = rnd([N, D], 18);
      const ref = () => ak.topK(users, items, k, {}, { backend: 'reference' });
      return {
        args: { users, items },
        native: () => ak.topKAsync(users, items, k, {}, { backend: 'native' }).then((r) => ({ scores: r.scores.data, indices: r.indices.data })),
        reference: () => {
          const r = ref();
          return { scores: r.scores.data, indices: r.indices.data };
        },
        check: (got, want) => {
          const e = within(got.scores, want.scores, nativeTol('topK'));
          let differ = 0;
          for (let i = 0; i < want.indices.length; i++) if (Number(got.indices[i]) !== want.indices[i]) differ++;
          return { maxAbs: e.maxAbs, ok: e.ok, ...(differ ? { note: `${differ} of ${want.indices.length} indices differ from reference (float32 near-ties)` } : {}) };
        },
        same: (a, b) => identical(a.scores, b.scores) && identical(a.indices, b.indices),
        ortGraphs: () => onnxGraphs('topK', flatArgs('topK', [users, items, k, {}])).map((g) => ({ ...g, toAttnkit: (o) => ({ scores: o.scores.data, indices: o.indices.data }) })),
      };
    },
  };
}

/**
 * The longest stretch (ms) the event loop went without running a 1 ms timer, from start() to
 * stop() (the stretch up to stop() included; the 1 ms interval is part of every stretch).
 */
function loopGapProbe() {
  let last = performance.now();
  let max = 0;
  let timer;
  const tick = () => {
    const now = performance.now();
    max = Math.max(max, now - last);
    last = now;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  return {
    stop() {
      clearTimeout(timer);
      return Math.max(max, performance.now() - last);
    },
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Run `requests` calls of `call` (returns a Promise) with `concurrency` outstanding (closed loop;
 * concurrency = requests: one burst). Returns latencies, throughput, event-loop figures and the
 * responses. The event-loop histogram is enabled, and has ticked once, before the first
 * submission (monitorEventLoopDelay records nothing for the stretch before its first tick), and
 * ticks once more after the last resolution, so a loop blocked by the submissions or by the
 * requests themselves is recorded.
 */
async function load(call, { requests, concurrency }) {
  const lat = new Float64Array(requests);
  const responses = new Array(requests);
  const errors = [];
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await sleep(5);
  let next = 0;
  let done = 0;
  let t0 = 0;
  const all = new Promise((resolve) => {
    const submit = () => {
      const i = next++;
      const start = performance.now();
      let p;
      try {
        p = call();
      } catch (e) {
        p = Promise.reject(e);
      }
      p.then((r) => {
        lat[i] = performance.now() - start;
        responses[i] = r;
      }, (e) => {
        lat[i] = performance.now() - start;
        errors.push(e);
      }).then(() => {
        done++;
        if (next < requests) submit();
        else if (done === requests) resolve(performance.now());
      });
    };
    t0 = performance.now();
    for (let j = 0; j < Math.min(concurrency, requests); j++) submit();
  });
  const submitMs = performance.now() - t0;
  const rssAfterSubmit = process.memoryUsage().rss;
  const probe = loopGapProbe();
  const tEnd = await all;
  const inflightGapMaxMs = probe.stop();
  await sleep(3);
  h.disable();
  const wallMs = tEnd - t0;
  const rssMiB = Math.max(rssAfterSubmit, process.memoryUsage().rss) / 2 ** 20;
  const s = Array.from(lat).sort((a, b) => a - b);
  return {
    requests, concurrency, wallMs, submitMs,
    throughput: requests / (wallMs / 1e3),
    p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1], mean: s.reduce((x, y) => x + y, 0) / s.length,
    loopDelayMaxMs: h.max / 1e6, loopDelayP99Ms: h.percentile(99) / 1e6, loopDelayMeanMs: h.mean / 1e6, inflightGapMaxMs, rssMiB,
    responses, errors,
  };
}

/** Median ms of `n` sequential awaited calls (after one warm-up call). */
async function singleMs(call, n = SINGLE_CALLS) {
  await call();
  const s = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await call();
    s.push(performance.now() - t);
  }
  return quantile(s.sort((a, b) => a - b), 0.5);
}

const firstLine = (e) => String(e && e.message).split('\n')[0];

/**
 * onnxruntime sessions of a workload's graphs at `threads` intra-op threads (the bench peers'
 * settings), each checked once against reference: [{ name, what, run, err, release }] and errors.
 */
async function ortSessions(ort, m, want, threads) {
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const out = [];
  const errors = [];
  let graphs;
  try {
    graphs = m.ortGraphs();
  } catch (e) {
    return { sessions: [], errors: [firstLine(e)] };
  }
  for (const g of graphs) {
    let sess;
    try {
      sess = await ort.InferenceSession.create(g.model, opts);
      const feeds = Object.fromEntries(Object.entries(g.feeds).map(([n, f]) => [n, new ort.Tensor('float32', f.data, f.dims)]));
      const s = sess;
      const run = async () => g.toAttnkit(await s.run(feeds));
      const first = await run();
      out.push({ name: g.name, what: g.what, run, first, err: m.check(first, want), release: () => s.release() });
    } catch (e) {
      if (sess) sess.release();
      errors.push(`${g.name}: onnxruntime cannot run it: ${firstLine(e)}`);
    }
  }
  return { sessions: out, errors };
}

/**
 * What onnxruntime-node's async session.run does, read from its installed JavaScript: 1.30.0's
 * (dist/backend.js) calls the binding's synchronous run inside setImmediate, so a request runs on
 * the main thread and blocks the event loop while it runs. null when the code does not read so.
 */
function ortRunNote() {
  try {
    const file = require.resolve('onnxruntime-node/dist/backend.js');
    const src = require('fs').readFileSync(file, 'utf8');
    const body = src.slice(src.indexOf('async run('), src.indexOf('async run(') + 600);
    if (/setImmediate\(/.test(body) && /\.run\(feeds, fetches, options\)/.test(body)) {
      return `onnxruntime-node ${require('onnxruntime-node/package.json').version}'s session.run is not off the main thread: its dist/backend.js calls the binding's synchronous run inside setImmediate, so its requests run one after another on the main thread and block the event loop while they run (its "in-flight gap")`;
    }
  } catch {
    // not readable: say nothing
  }
  return null;
}

/** Count the responses that differ from the checked first one. */
function countDiffering(res, first, same) {
  let n = 0;
  for (const r of res.responses) if (r === undefined || !same(r, first)) n++;
  return n;
}

/**
 * The serving rows of a run: for each workload (filtered by `ops` / `shape`), attnkit native
 * (when `native`) and onnxruntime's fastest graph for one request (when `peers`), each loaded as
 * the workload says. `step(label)`: progress. Returns { rows, notes, threads, method }.
 */
async function runServing({ mode = 'main', threads, native = true, peers = true, ops = null, shape = null, step = () => {}, log = () => {} } = {}) {
  const notes = [];
  const rows = [];
  const { ort, error } = peers ? loadOrt() : {};
  if (peers && !ort) notes.push(error);
  if (ort) {
    const how = ortRunNote();
    if (how) notes.push(how);
  }
  const before = native ? ak.getThreads() : null;
  const list = servingWorkloads(mode).filter((w) => (!ops || ops.includes(w.op)) && (!shape || w.label.includes(shape)));
  try {
    if (native && threads) ak.setThreads(threads);
    for (const w of list) {
      step(`[serving] ${w.label} · ${w.requests} requests, ${w.concurrency} concurrent`);
      const base = { workload: w.label, op: w.op, request: w.request, requests: w.requests, concurrency: w.concurrency, threads };
      let m;
      let want;
      try {
        m = w.make();
        want = m.reference();
      } catch (e) {
        rows.push({ ...base, library: 'attnkit', note: `error: ${firstLine(e)}` });
        continue;
      }
      if (native) {
        try {
          const first = await m.native();
          const err = m.check(first, want);
          const one = await singleMs(m.native);
          await settle(150);
          const r = await load(m.native, w);
          const differ = countDiffering(r, first, m.same);
          const failed = !err.ok || r.errors.length || differ;
          rows.push({
            ...base, library: 'attnkit', backend: 'native', api: `${w.op}Async(..., { backend: 'native' })`, singleMs: one, ...stats(r), maxAbs: err.maxAbs,
            ...(failed ? { note: `FAILS check: ${!err.ok ? `outside native's ${w.op} tolerance of reference (max abs ${err.maxAbs}); ` : ''}${r.errors.length ? `${r.errors.length} rejected (${firstLine(r.errors[0])}); ` : ''}${differ ? `${differ} responses differ from the checked one` : ''}` } : err.note ? { note: err.note } : {}),
          });
        } catch (e) {
          rows.push({ ...base, library: 'attnkit', note: `error: ${firstLine(e)}` });
        }
      }
      if (ort) {
        const { sessions, errors } = await ortSessions(ort, m, want, threads ?? 2);
        for (const e of errors) notes.push(`${w.label}: ${e}`);
        try {
          if (sessions.length) {
            // The graph for the load: the fastest one request at a time.
            for (const s of sessions) s.singleMs = await singleMs(s.run);
            const best = sessions.reduce((a, b) => (a.singleMs <= b.singleMs ? a : b));
            await settle(150);
            const r = await load(best.run, w);
            const differ = countDiffering(r, best.first, m.same);
            const mismatch = r.errors.length || differ;
            rows.push({
              ...base, library: 'onnxruntime', backend: best.name, graph: best.what, api: 'session.run(feeds)', version: require('onnxruntime-node/package.json').version, singleMs: best.singleMs,
              graphsSingleMs: Object.fromEntries(sessions.map((s) => [s.name, s.singleMs])), ...stats(r), maxAbs: best.err.maxAbs,
              ...(mismatch ? { note: `${r.errors.length ? `${r.errors.length} rejected (${firstLine(r.errors[0])}); ` : ''}${differ ? `${differ} responses differ from its first one` : ''}` } : !best.err.ok ? { note: `outside native's ${w.op} tolerance of reference (max abs ${best.err.maxAbs})` } : best.err.note ? { note: best.err.note } : {}),
            });
          }
        } catch (e) {
          rows.push({ ...base, library: 'onnxruntime', note: `error: ${firstLine(e)}` });
        } finally {
          for (const s of sessions) s.release();
        }
      }
      log(`[serving] ${w.label}: ${rows.filter((r) => r.workload === w.label && r.throughput).map((r) => `${r.library} ${r.throughput.toFixed(0)} req/s, p99 ${r.p99.toFixed(1)} ms`).join('; ')}`);
    }
  } finally {
    if (native && before) ak.setThreads(before);
  }
  return { rows, notes, threads, method: METHOD };
}

/** The figures of a load that a row keeps (not the responses). */
function stats(r) {
  const { requests, concurrency, wallMs, submitMs, throughput, p50, p99, max, mean, loopDelayMaxMs, loopDelayP99Ms, loopDelayMeanMs, inflightGapMaxMs, rssMiB } = r;
  return { requests, concurrency, wallMs, submitMs, throughput, p50, p99, max, mean, loopDelayMaxMs, loopDelayP99Ms, loopDelayMeanMs, inflightGapMaxMs, rssMiB };
}

const METHOD = 'a closed loop of `concurrency` outstanding async requests until `requests` were issued (concurrency = requests: all submitted at once in one synchronous loop, a burst); latency from just before a request\'s call to its resolution (queueing included); throughput = requests / (last resolution - first submission); "1 req ms": median of 7 requests one at a time; "submit ms": the synchronous time of the first submission loop; "loop delay max ms": perf_hooks.monitorEventLoopDelay (1 ms sampling, included) over the whole load, the submission loop included; "in-flight gap ms": the longest stretch without a 1 ms timer running, from the end of the first submission loop to the last resolution; every request of a load has the same inputs: each library\'s first response is checked against attnkit\'s float64 reference (within native\'s tolerance of the op) and every response compared with it; onnxruntime: the fastest of its graphs for one request at a time, the same intra-op thread count';

/** A-priori seconds of the serving part of a run (the progress line's ETA). */
function estimateServingSeconds(mode, { native = true, peers = true, ops = null, shape = null } = {}) {
  const per = { sdpa: 0.6e-3, topK: 15e-3, transformerEncoderLayer: 1e-3 };
  const ortPer = { sdpa: 0.6e-3, topK: 4e-3, transformerEncoderLayer: 2e-3 };
  return servingWorkloads(mode).filter((w) => (!ops || ops.includes(w.op)) && (!shape || w.label.includes(shape))).map((w) => (native ? w.requests * per[w.op] + 0.5 : 0) + (peers ? w.requests * ortPer[w.op] + 1.5 : 0));
}

function fmtMs(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return '-';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(2);
}

/** The serving table: workload, library, concurrency, requests, throughput, p50 / p99 / max latency, event-loop delay. */
function printServing(serving, out = process.stdout, { markdown = false } = {}) {
  if (!serving || !serving.rows.length) return;
  const head = ['workload', 'library', 'concurrency', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', '1 req ms', 'submit ms', 'loop delay max ms', 'in-flight gap ms', 'note'];
  const body = serving.rows.map((r) => [
    r.workload, r.library === 'attnkit' ? 'attnkit native' : r.backend ? `onnxruntime ${r.backend}` : r.library, String(r.concurrency), String(r.requests), r.throughput ? r.throughput.toFixed(0) : '-',
    fmtMs(r.p50), fmtMs(r.p99), fmtMs(r.max), fmtMs(r.singleMs), fmtMs(r.submitMs), fmtMs(r.loopDelayMaxMs), fmtMs(r.inflightGapMaxMs), r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = markdown ? (cells) => `| ${cells.join(' | ')} |` : (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  out.write(`\nserving under load (${serving.threads ?? '?'} thread(s) for both libraries):\n${line(head)}\n${line(widths.map((w) => '-'.repeat(markdown ? 3 : w)))}\n`);
  for (const b of body) out.write(`${line(b)}\n`);
  out.write(`serving method: ${serving.method}.\n`);
  for (const n of serving.notes) out.write(`serving note: ${n}\n`);
}

module.exports = { runServing, servingWorkloads, printServing, estimateServingSeconds, load, TOPK_COPY_BUDGET };
