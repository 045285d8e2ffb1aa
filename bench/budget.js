'use strict';
// What keeps `attnkit bench` (and so `npm run main`) within minutes: the run modes, a time budget
// per row, the software-rasteriser rule for the gpu backend, and the progress line with an ETA.
//
// Modes:
//   --quick  the CI smoke: the descriptors' quick shapes, short timing.
//   default  every op x every available backend once on the default shapes, each row within a
//            time budget (below); sdpa's native-vs-peers duel at the default thread count only;
//            a gpu drawn by a software rasteriser (Mesa llvmpipe, SwiftShader: the renderer says
//            so, see backends()) timed at the quick (small) shapes only, its rows named so.
//   --full   the whole matrix as before: default shapes on every backend, gpu included, sdpa at
//            1 and 2 threads, 1.5 s of timing per row and 5 interleaved rounds per duel.
const { time, quantile } = require('./timing.js');

/**
 * Timing settings per mode. budget: seconds of timing per row (benchmark.js maxTime); duelTime /
 * scenarioTime: seconds per contender of an interleaved duel / scenario pair, over `rounds`.
 */
function modeSettings(mode) {
  // settleMs: idle time before each interleaved round (timing.js); tfjsCpu: whether tfjs-cpu (plain
  // JS kernels, seconds per call at most bench shapes) gets rows; slowTfjsCalls: timed calls of a
  // tfjs row whose first call took over a second.
  if (mode === 'quick') return { budget: 0.25, minSamples: 3, rounds: 2, duelTime: 0.375, duelWarmupRounds: 0, settleMs: 150, scenarioTime: 0.25, scenarioRounds: 2, scenarioWarmupRounds: 0, duelMinSamples: 2, tfjsCpu: true, slowTfjsCalls: 3 };
  if (mode === 'full') return { budget: 1.5, minSamples: 7, rounds: 5, duelTime: 2.25, duelWarmupRounds: 1, settleMs: 150, scenarioTime: 1.5, scenarioRounds: 5, scenarioWarmupRounds: 1, duelMinSamples: 3, tfjsCpu: true, slowTfjsCalls: 7 };
  // The default mode (npm run main) fits in 5 minutes with every op's peers (issue #19 item 6):
  //   - duels: 2 rounds of 0.1 s after one warm-up round that is not recorded (timing.js
  //     warmupRounds). A contender's time is the median of its round medians. The first round of
  //     a fresh onnxruntime session was its slowest in 5 of 5 quiet processes here
  //     ((1,8,512,512,64) into fetches: rounds 1-2 of 8 at 2.41/2.59, 2.74/1.89, 2.21/1.65,
  //     2.34/2.17, 3.21/3.42 ms; the other six 1.9-2.0 ms) and again in 6 of 6 at (1,8,128,128,64)
  //     (0.32-0.40 ms, the other rounds 0.16-0.38): the earlier mean of two 0.3 s rounds kept that
  //     slow start and read onnxruntime 20-60% slower than the outside check (bench/crosscheck.js).
  //   - 70 ms of idle before each round, not 150: onnxruntime's threads spin for up to ~50 ms
  //     after a run (timing.js), and that is all the idle time has to outlast.
  //   - serving (bench/serving.js): 300-request bursts of sdpa and the encoder, not 1000.
  //   - a round ends after 0.1 s and one block (>= 50 ms) at least: a call of 50 ms or more is
  //     timed once per round (5-6 calls per contender with the warm-ups).
  //   - scenarios: 2 rounds of 0.1 s after a warm-up round (they had kept --full's 5 of 0.3 s
  //     because 2 rounds without a warm-up round read incremental decode at 15-17x, 21-35x with
  //     5: the slow first round again).
  //   - tfjs-cpu rows only under --full (plain JS kernels: seconds per call at most bench
  //     shapes); tfjs-wasm up to 2 GFLOP a call (topK's 13 GFLOP took 4.2 s a call), a tfjs call
  //     of over a second timed once.
  //   - the warm-up round (duels and scenarios) is 50 ms of calls (warmupRoundMs; timing.js; in
  //     every mode it has no idle time before it): it records nothing and only has to get past a
  //     contender's first calls. With each duel in its own child process (bench/duel.js) the full-length warm-up
  //     round took npm run main past 5 minutes.
  // With 2 rounds a contender's time is their mean: a steadier figure wants more (`--rounds 6`,
  // how the README's tables are made; same code). Measured: npm run main 5:57 with 3 rounds.
  return { budget: 0.4, minSamples: 3, rounds: 2, duelTime: 0.2, duelWarmupRounds: 1, warmupRoundMs: 50, settleMs: 70, scenarioTime: 0.2, scenarioRounds: 2, scenarioWarmupRounds: 1, duelMinSamples: 1, tfjsCpu: false, tfjsMaxFlops: 2e9, slowTfjsCalls: 1 };
}

/** Idle time before each interleaved round in seconds (the mode's settleMs), for the estimates. */
const settleS = (set) => (set.settleMs ?? 150) / 1e3;

/**
 * A-priori seconds of one planned step of bench/run-bench.js (the ETA's starting point; the
 * Progress pace corrects it): timing budget plus set-up, plus the first calls of slow paths
 * (float64 reference, tfjs-cpu, a software gpu) at rough rates.
 */
function estimateSeconds(p, set) {
  const flops = p.c.flops;
  if (p.kind === 'skip') return 0;
  if (p.kind === 'backend') {
    const slow = p.name === 'reference' ? flops / 2e8 : p.name === 'gpu' ? 0.5 + flops / 2e9 : flops / 5e10;
    return set.budget + 0.3 + 2 * slow;
  }
  if (p.kind === 'duel') {
    const warm = set.duelWarmupRounds * (set.warmupRoundMs !== undefined ? set.warmupRoundMs / 1e3 : set.duelTime / set.rounds + settleS(set));
    return (p.peers ? 6 : 2) * (set.duelTime + set.rounds * settleS(set) + warm) + (p.peers ? 1.2 : 0.4);
  }
  if (p.kind === 'ort') return 4 * (set.budget + 0.3) + 1;
  return set.budget + 0.5 + 2 * (p.name === 'cpu' ? flops / 1e9 : flops / 5e9); // tfjs
}

/** A-priori seconds of one scenario on one backend: two contenders, interleaved, plus the check. */
function estimateScenarioSeconds({ sc, be }, set, referenceMaxFlops) {
  if (be === 'reference' && sc.baseFlops > referenceMaxFlops) return 0;
  const contenders = 2 + (sc.peerCount ?? 0);
  const rounds = (sc.timing?.rounds ?? set.scenarioRounds) + set.scenarioWarmupRounds;
  // A slow call (a second, not milliseconds) outlasts the time budget: each round's warm-up and
  // minimum samples set the time instead (native at ~2e11 FLOP/s, rough), plus the check's calls.
  const call = be === 'native' ? (sc.baseFlops ?? 0) / 2e11 : 0;
  const slow = call > 0.05 ? contenders * rounds * ((sc.timing?.warmupCalls ?? 3) + set.duelMinSamples) * call + 2 * call : 0;
  return Math.max(contenders * ((set.scenarioTime * rounds) / (rounds - set.scenarioWarmupRounds) + rounds * settleS(set)), slow) + 1 + (be === 'gpu' ? sc.baseFlops / 1e9 : 0);
}

/**
 * Whether the gpu backend is drawn by a software rasteriser: its backends() entry says so
 * (details.softwareRasteriser, or a renderer naming llvmpipe / softpipe / SwiftShader). Returns
 * the reason, or null.
 */
function softwareGpu(facts) {
  const gpu = facts.backends.find((b) => b.name === 'gpu' && b.available);
  if (!gpu) return null;
  if (gpu.details && gpu.details.softwareRasteriser) return gpu.details.softwareRasteriser;
  const m = /llvmpipe|softpipe|swiftshader|software rasteriser/i.exec(gpu.renderer ?? '');
  return m ? m[0] : null;
}

/** Calls slower than this (ms) are timed by a plain loop within the budget, not benchmark.js. */
const SLOW_CALL_MS = 25;

/**
 * Time `fn` within about `budget` seconds. `firstMs`: how long one call took (e.g. the verified
 * call just made). Fast calls go to benchmark.js (maxTime = budget, at least minSamples samples);
 * a slow call is timed one call per sample, as many as fit in the budget (at least one, at most
 * minSamples more than fit: the row then takes at most budget + one call), so a 16 s call costs
 * one call, not benchmark.js's minimum of several. Same fields as timing.js time().
 */
async function timeWithin(fn, { budget, minSamples, firstMs = 0, isAsync = false }) {
  if (firstMs < SLOW_CALL_MS) return time(fn, { maxTime: budget, minSamples, isAsync });
  const s = [];
  const t0 = performance.now();
  do {
    const a = performance.now();
    if (isAsync) await fn();
    else fn();
    s.push(performance.now() - a);
  } while (s.length < minSamples && performance.now() - t0 + s[s.length - 1] <= budget * 1e3);
  s.sort((x, y) => x - y);
  const median = quantile(s, 0.5);
  const p25 = quantile(s, 0.25);
  const p75 = quantile(s, 0.75);
  return { median, p25, p75, spreadPct: median > 0 ? ((p75 - p25) / median) * 100 : 0, samples: s.length, calls: s.length, sampleMs: s };
}

/** m:ss */
function clock(s) {
  if (!Number.isFinite(s) || s < 0) return '?';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s - m * 60)).padStart(2, '0')}`;
}

/**
 * Progress over a planned list of steps, each with an a-priori cost estimate in seconds: step(k)
 * prints "[k/n] <label> · elapsed m:ss · ETA m:ss". The ETA is the estimates left, scaled by how
 * the steps so far compared with their estimates (elapsed / estimates done), so it corrects itself
 * as the run goes; `extra` seconds are added for the work after the steps (limits at the end,
 * scenarios).
 */
class Progress {
  constructor(estimates, { log, extra = 0 }) {
    this.est = estimates;
    this.log = log;
    this.extra = extra;
    this.t0 = performance.now();
    this.doneEst = 0;
    this.k = 0;
  }

  /** Step k (1-based) starts. */
  step(label) {
    if (this.k > 0) this.doneEst += this.est[this.k - 1];
    this.k++;
    const elapsed = (performance.now() - this.t0) / 1e3;
    const left = this.est.slice(this.k - 1).reduce((a, b) => a + b, 0) + this.extra;
    // Scale by the observed pace once a few seconds of estimates have gone by (bounded, so one
    // odd step cannot swing the ETA tenfold).
    const pace = this.doneEst > 5 ? Math.min(4, Math.max(0.25, elapsed / this.doneEst)) : 1;
    this.log(`[${this.k}/${this.est.length}] ${label} · elapsed ${clock(elapsed)} · ETA ${clock(left * pace)}`);
  }
}

module.exports = { modeSettings, softwareGpu, timeWithin, Progress, clock, estimateSeconds, estimateScenarioSeconds, SLOW_CALL_MS };
