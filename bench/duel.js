'use strict';
// One duel of `attnkit bench`: native (new output and into `out`) against the op's onnxruntime
// peers, same inputs, same thread count, timed interleaved (bench/timing.js timeInterleaved), each
// contender's error against the float64 reference shown. Each duel runs in a child process of its
// own (runDuelInChild), not in the bench's long-lived process (issue #19 item 2). Why, measured
// here (2 vCPUs): a call that returns a new output reports its buffer to V8 as external memory,
// and V8 starts a major GC about every 64 MB of it. The marking's cost grows with the process's
// live JS heap and runs on the same two cores as the compute threads. In a process that had loaded
// gpu.js / headless-gl / tfjs and the earlier rows, onnxruntime's linear (25600x64x64) read 2.6-4.0
// ms a call against 1.2-1.6 ms in a fresh process; a fresh process holding 49 MB of plain JS
// objects read 6.3 ms (native 1.0 -> 2.7 ms). The outside check (bench/crosscheck.js) times each
// case in fresh processes, so the bench does too: a fresh `node` with attnkit, onnxruntime-node,
// the bench's own modules and the case's inputs (8-13 MB of JS heap here), the same for every duel.
//
// The child's environment (benchChildEnv, bench/timing.js) also fixes glibc's malloc thresholds,
// for both methods alike: see there.
//
//   node bench/duel.js '<json: { op, shapeText, quick, threads, peers, set }>'   (prints { rows, notes })
const path = require('path');
const { spawn } = require('child_process');
const ak = require('../dist/cjs/index.js');
const { defaultCases } = require('./cases.js');
const { timeInterleaved, benchChildEnv, settle } = require('./timing.js');
const { ortPeers } = require('./peers/onnx.js');
const { flatArgs, referenceChecker, ortOpPeers } = require('./peers/op-peers.js');
const { timeWithin } = require('./budget.js');

/** Rows compared with reference on big problems (a deterministic sample; see verify.rows). */
const VERIFY_ROWS = 64;

/** Max abs/rel error of a [B,H,L,D] output against reference on sampled query rows (bench/peers/op-peers.js). */
function sdpaError(inputs, got) {
  if (!inputs.checkPeer) inputs.checkPeer = referenceChecker('sdpa', flatArgs('sdpa', inputs.args));
  return inputs.checkPeer(got);
}

/** The larger of two errors, NaN (an error that is not a number: a wrong NaN or Inf) winning. */
const worstOf = (a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b));

/** Max abs / rel error of got against want at the indices `idx`; NaN wins (shown as NaN, never skipped). */
function maxErrors(got, want, idx) {
  let maxAbs = 0;
  let maxRel = 0;
  for (const i of idx) {
    const e = Math.abs(got[i] - want[i]); // NaN when either is NaN, or for Inf - Inf
    if (Object.is(got[i], want[i]) || (Number.isNaN(got[i]) && Number.isNaN(want[i]))) continue; // the same value, Inf included
    maxAbs = worstOf(maxAbs, e);
    if (want[i] !== 0) maxRel = worstOf(maxRel, e / Math.abs(want[i]));
  }
  return { maxAbs, maxRel };
}

/** Whether error a is no worse than error b (NaN is worse than any number). */
const noWorse = (a, b) => (Number.isNaN(a) ? Number.isNaN(b) : Number.isNaN(b) || a <= b);

/**
 * One verified call of `call` on `backend` (its default tolerance, sampled rows): the error
 * figures of its row. A failing check is reported in the row, loudly, and the timing still runs.
 */
function verifyOnce(call, backend) {
  const reports = [];
  let note;
  try {
    call({ backend, verify: backend === 'reference' ? false : { rows: VERIFY_ROWS }, onReport: (r) => reports.push(r) });
  } catch (e) {
    if (!(e instanceof ak.NumericsMismatchError)) throw e;
    reports.push({ verify: e.report });
    note = `FAILS verify: ${String(e.message).slice(0, 160)}`;
  }
  const v = reports[0]?.verify;
  // reference is what verify compares with: it has no error of its own to show here ('-').
  return { maxAbs: v ? v.maxAbsError : undefined, maxRel: v ? v.maxRelError : undefined, note };
}

/** The timing fields a row keeps (not the raw samples); interleaved rows also keep their round medians. */
function timingFields(t) {
  const { median, p25, p75, spreadPct, samples, calls, roundMedians, faultsPerCall, userMsPerCall, sysMsPerCall, heapUsedMB } = t;
  return { median, p25, p75, spreadPct, samples, calls, ...(roundMedians ? { roundMedians } : {}), ...(faultsPerCall !== undefined ? { faultsPerCall, userMsPerCall, sysMsPerCall, heapUsedMB } : {}) };
}

/**
 * The row builders of one case `c` and plan step `p` on `inputs` (c.make()); `notes` (a Set)
 * collects what the peers report.
 */
function rowMakers(c, p, inputs, notes) {
  /** A backend row's fields from one verified call plus its timing. */
  const backendRow = (name, threads, checked, t) => ({
    op: c.op, shape: c.shapeText, backend: p.small ? `${name} (software, small)` : name, threads: threads ?? undefined, ...timingFields(t),
    gflops: c.flops / (t.median * 1e6), gbps: c.bytes / (t.median * 1e6),
    maxAbs: checked.maxAbs, maxRel: checked.maxRel,
    flops: c.flops, bytes: c.bytes, seqLen: c.shape.L ?? null, caseShape: c.shape,
    ...(checked.note ? { note: checked.note } : {}),
  });
  /** A peer row: its name, thread count, version, timing, and error against reference. */
  const peerRow = (name, threads, version, err, t, graph) => ({
    op: c.op, shape: c.shapeText, backend: name, threads, peer: true, version, ...timingFields(t),
    gflops: c.flops / (t.median * 1e6), gbps: c.bytes / (t.median * 1e6), maxAbs: err.maxAbs, maxRel: err.maxRel, flops: c.flops, bytes: c.bytes, seqLen: c.shape.L, caseShape: c.shape,
    ...(graph ? { graph } : {}), ...(err.note ? { note: err.note } : {}),
  });
  /** onnxruntime peers of a non-sdpa op (bench/peers/op-peers.js), its notes recorded. */
  const opPeers = async (threads) => {
    const res = await ortOpPeers(c.op, inputs, threads, { withOut: !!inputs.runOut });
    if (res.error) notes.add(res.error);
    for (const e of res.errors ?? []) notes.add(`${c.op} ${c.shapeText}: ${e}`);
    return res;
  };
  /** ort-mha with unidirectional=1 aligns causal top-left: not comparable when L != S (noted). */
  const incomparable = (peer) => {
    if (!(peer.name.startsWith('ort-mha') && c.shape.causal && c.shape.L !== c.shape.S)) return false;
    notes.add('ort-mha with unidirectional=1 aligns the causal mask top-left; rows with L != S are not comparable and are left out');
    return true;
  };
  return { backendRow, peerRow, opPeers, incomparable };
}

const secs = (ms) => (ms / 1e3).toPrecision(3);

/** Untimed calls of a slow peer (seconds a call: op-peers.js SLOW_PEER_MS) before its timed call(s). */
const SLOW_PEER_WARMUP_CALLS = 2;

/**
 * The duel of case `c` at `p.threads` (peers when `p.peers`) with the mode's timing settings
 * `set`, in this process: returns { rows, notes }.
 */
async function runDuel(c, p, set) {
  const notes = new Set();
  const rows = [];
  const inputs = c.make();
  const { backendRow, peerRow, opPeers, incomparable } = rowMakers(c, p, inputs, notes);
  const defaultThreads = ak.getThreads();
  const maxTime = set.budget;
  const minSamples = set.minSamples;
  const setT = () => ak.setThreads(p.threads);
  const peers = [];
  try {
    setT();
    const contenders = [];
    for (const [name, call] of [['native', inputs.run], ['native+out', inputs.runOut]]) {
      if (!call) continue;
      const checked = verifyOnce(call, 'native');
      contenders.push({ fn: () => call({ backend: 'native' }), before: setT, make: (t) => backendRow(name, p.threads, checked, t) });
    }
    const slowPeers = [];
    let slowVersion;
    if (p.peers && c.op !== 'sdpa') {
      const res = await opPeers(p.threads);
      slowVersion = res.version;
      for (const peer of res.peers ?? []) {
        peers.push(peer);
        if (peer.slow) {
          slowPeers.push(peer); // seconds per call: timed after the rounds (op-peers.js SLOW_PEER_MS)
          continue;
        }
        contenders.push({ fn: peer.run, isAsync: true, make: (t) => peerRow(peer.name, p.threads, res.version, peer.err, t, peer.graph) });
      }
    } else if (p.peers) {
      const res = await ortPeers(c.shape, inputs, p.threads);
      if (res.error) notes.add(res.error);
      for (const e of res.errors ?? []) notes.add(`${c.op} ${c.shapeText}: ${e}`);
      for (const peer of res.peers ?? []) {
        peers.push(peer);
        if (incomparable(peer)) continue;
        const err = sdpaError(inputs, peer.toBHLD(await peer.run()));
        contenders.push({ fn: peer.run, isAsync: true, make: (t) => peerRow(peer.name, p.threads, res.version, err, t) });
      }
    }
    const timings = await timeInterleaved(contenders, { rounds: set.rounds, maxTime: set.duelTime, minSamples: set.duelMinSamples, warmupRounds: set.duelWarmupRounds, warmupRoundMs: set.warmupRoundMs, settleMs: set.settleMs });
    contenders.forEach((ct, i) => rows.push(ct.make(timings[i])));
    for (const peer of slowPeers) {
      try {
        // Settled, and warmed by SLOW_PEER_WARMUP_CALLS untimed calls: right after the rounds, the
        // padded HSTU backward graph's next call took 4.3 s, as long as its first, where calls 3-6 of
        // a session took 2.3-2.5 s (the outside check warms every contender with 5 calls).
        await settle(set.settleMs);
        for (let w = 0; w < SLOW_PEER_WARMUP_CALLS; w++) await peer.run();
        const t = await timeWithin(peer.run, { budget: maxTime, minSamples, isAsync: true, firstMs: peer.firstMs });
        const row = peerRow(peer.name, p.threads, slowVersion, peer.err, t, peer.graph);
        row.note = [row.note, `one call takes ${secs(peer.firstMs)} s: timed after the interleaved rounds (${SLOW_PEER_WARMUP_CALLS} untimed calls, then ${t.samples} timed), not interleaved`].filter(Boolean).join('; ');
        rows.push(row);
      } catch (e) {
        // The rows timed already stay; this peer gets an error row of its own.
        rows.push({ op: c.op, shape: c.shapeText, backend: peer.name, threads: p.threads, peer: true, note: `error: ${String(e && e.message).split('\n')[0]}` });
      }
    }
  } finally {
    // Also on a failure: later native rows must run at the default thread count, and every
    // ORT session (each with its own thread pool) must go.
    for (const peer of peers) peer.release();
    ak.setThreads(defaultThreads);
  }
  return { rows, notes: [...notes] };
}

// Rows cross the process boundary as JSON, which has no NaN or Infinity: an error figure that is
// NaN (a wrong NaN or Inf in the output) must arrive as NaN, never as null.
const encode = (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? { nonFinite: String(v) } : v);
const decode = (k, v) => (v && typeof v === 'object' && Object.keys(v).length === 1 && typeof v.nonFinite === 'string' ? Number(v.nonFinite) : v);

/**
 * The duel of case `c` (a default or --quick case: found again in the child by op and shape text)
 * in a fresh child process: resolves { rows, notes }; rejects with the child's stderr on failure.
 */
function runDuelInChild(c, p, set, { quick, timeoutMs = 600e3 }) {
  const arg = JSON.stringify({ op: c.op, shapeText: c.shapeText, quick, threads: p.threads, peers: !!p.peers, set });
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, arg], { cwd: path.join(__dirname, '..'), env: benchChildEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    // A stuck call must not hold `attnkit bench` forever.
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        // The child's last stderr line is its error's message (childMain).
        const why = signal ? `killed by ${signal}${signal === 'SIGKILL' ? ` (no result within ${timeoutMs / 1e3} s?)` : ''}` : `exited ${code}`;
        return reject(new Error(`duel child ${why}: ${err.trim().split('\n').slice(-1)[0] ?? ''}`));
      }
      try {
        resolve(JSON.parse(out, decode));
      } catch (e) {
        reject(new Error(`duel child printed no result: ${String(e.message)}; stderr: ${err.trim().slice(-300)}`));
      }
    });
  });
}

async function childMain() {
  const a = JSON.parse(process.argv[2]);
  const c = defaultCases({ quick: a.quick }).find((x) => x.op === a.op && x.shapeText === a.shapeText);
  if (!c) throw new Error(`no case ${a.op} ${a.shapeText}`);
  const res = await runDuel(c, { threads: a.threads, peers: a.peers }, a.set);
  process.stdout.write(JSON.stringify(res, encode), () => process.exit(0));
}

module.exports = { runDuel, runDuelInChild, encode, decode, verifyOnce, sdpaError, maxErrors, noWorse, timingFields, rowMakers, VERIFY_ROWS };

if (require.main === module) {
  childMain().catch((e) => {
    // The stack, then the message alone as the last line (what the parent's row shows).
    process.stderr.write(`${e && e.stack ? e.stack : e}\n${String(e && e.message).split('\n')[0]}\n`);
    process.exit(1);
  });
}
