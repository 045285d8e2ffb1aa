'use strict';
// `attnkit bench`: every op x every available backend x default shapes, with peers (onnxruntime
// graphs and tfjs, bench/peers/) on every op that has one. Each row: median and spread of the
// time, GFLOP/s, share of the measured fp32 FMA peak, share of the measured memory bandwidth
// (memory-bound rows), and the max abs / rel error against reference on the same inputs. The run
// modes (default, --quick, --full), the per-row time budget and the progress line are in
// bench/budget.js; the peak and bandwidth in bench/limits.js; serving under load (concurrent
// async requests, attnkit beside onnxruntime-node; --serving runs it alone) in bench/serving.js.
const ak = require('../dist/cjs/index.js');
const { defaultCases } = require('./cases.js');
const { timeInterleaved } = require('./timing.js');
const { runDuel, runDuelInChild, verifyOnce, sdpaError, maxErrors, noWorse, timingFields, rowMakers, VERIFY_ROWS } = require('./duel.js');
const { ortPeers } = require('./peers/onnx.js');
const { tfjsPeer } = require('./peers/tfjs.js');
const { printPeerSummary, tfjsOpPeer, hasOrtPeer, hasTfjsPeer, judgeTargets } = require('./peers/op-peers.js');
const { machineFacts } = require('./info.js');
const { scenarios } = require('./scenarios.js');
const { measureLimits, newLimits, annotateRows, bandwidthText, BANDWIDTH_RULE } = require('./limits.js');
const { modeSettings, softwareGpu, timeWithin, Progress, estimateSeconds, estimateScenarioSeconds } = require('./budget.js');
const { runServing, printServing, estimateServingSeconds } = require('./serving.js');
const { measureBackwardMemory } = require('./sdpa-backward-memory.js');

/** reference is float64 JS: run it only where one call takes well under a second. */
const REFERENCE_MAX_FLOPS = 4e8;

function fmt(x, digits = 3) {
  if (x === undefined || x === null) return '-';
  if (Number.isNaN(x)) return 'NaN';
  if (x === 0) return '0';
  if (Number.isInteger(x)) return String(x); // thread counts, sizes: "2", not "2.00"
  const a = Math.abs(x);
  if (a >= 1000) return x.toFixed(0);
  if (a >= 0.01) return x.toPrecision(digits);
  return x.toExponential(1);
}

function parseList(s) {
  return s ? String(s).split(',').map((x) => x.trim()).filter(Boolean) : null;
}

async function runBench(opts) {
  const mode = opts.quick ? 'quick' : opts.full ? 'full' : 'main';
  const quick = mode === 'quick';
  const set = modeSettings(mode);
  if (opts.rounds !== undefined) {
    // --rounds N: N rounds of the mode's round length (the duel's time grows with them).
    const n = Number(opts.rounds); // an integer from 1 to 100: bench/cli.js checks it
    set.duelTime = (set.duelTime / set.rounds) * n;
    set.rounds = n;
  }
  const maxTime = set.budget;
  const minSamples = set.minSamples;
  const ops = parseList(opts.op);
  const backendFilter = parseList(opts.backend);
  const shapeFilter = opts.shape ? String(opts.shape) : null;
  const threadList = (parseList(opts.threads) ?? (mode === 'full' ? ['1', '2'] : [])).map(Number);
  const log = (s) => process.stderr.write(`${s}\n`);
  const facts = machineFacts();
  const nativeOk = facts.backends.some((b) => b.name === 'native' && b.available);
  const defaultThreads = nativeOk ? ak.getThreads() : null;

  // The machine's limits (bench/limits.js): FMA peak and memory bandwidth, at both ends of the run.
  // --serving: the serving rows alone (at the --full sizes unless --quick); --no-serving: none.
  const servingOnly = !!opts.serving;
  const servingMode = quick ? 'quick' : servingOnly || mode === 'full' ? 'full' : 'main';
  const limits = newLimits();
  const { peak, peakTrials } = limits;
  const measureAll = (when) => nativeOk && !servingOnly && measureLimits(limits, when, { threads: defaultThreads, quick, log });
  measureAll('start');

  const notes = new Set();
  const available = facts.backends.filter((b) => b.available).map((b) => b.name);
  const backendsToRun = available.filter((b) => !backendFilter || backendFilter.includes(b));
  const peersWanted = !opts.noPeers && (!backendFilter || backendFilter.some((b) => b.startsWith('ort') || b.startsWith('tfjs') || b === 'peers'));
  const caseFilter = (c) => (!ops || ops.includes(c.op)) && (!shapeFilter || c.shapeText.includes(shapeFilter));
  const cases = servingOnly ? [] : defaultCases({ quick }).filter(caseFilter);
  // A gpu drawn by a software rasteriser is timed at the quick shapes only, except under --full.
  const swGpu = mode === 'main' && !servingOnly && backendsToRun.includes('gpu') ? softwareGpu(facts) : null;
  const smallCases = swGpu ? defaultCases({ quick: true }).filter(caseFilter) : [];
  if (swGpu) notes.add(`gpu is a software rasteriser here (${swGpu}): timed at the small (--quick) shapes only, its rows marked 'gpu (software, small)'; attnkit bench --full times it at every shape`);

  // Plan every measurement first so progress can say "k of n".
  const plan = [];
  const planned = [];
  for (const op of [...new Set([...cases, ...smallCases].map((c) => c.op))]) {
    for (const c of cases.filter((x) => x.op === op)) planned.push({ c, backends: swGpu ? backendsToRun.filter((b) => b !== 'gpu') : backendsToRun });
    for (const c of smallCases.filter((x) => x.op === op)) planned.push({ c, backends: ['gpu'], small: true });
  }
  for (const { c, backends: bes, small } of planned) {
    if (small) {
      if (ak.getBackend('gpu').kernels[c.op]) plan.push({ c, kind: 'backend', name: 'gpu', small: true, threads: null });
      continue;
    }
    for (const be of bes) {
      if (be === 'reference' && c.flops > REFERENCE_MAX_FLOPS && !(backendFilter && backendFilter.includes('reference'))) {
        plan.push({ c, kind: 'skip', name: 'reference', note: `skipped: ~${fmt(c.flops / 1e9)} GFLOP in float64 JS (force with --backend reference)` });
        continue;
      }
      const def = ak.getBackend(be);
      if (!def.kernels[c.op]) continue;
      if (be === 'native' && (c.op === 'sdpa' || (peersWanted && hasOrtPeer(c.op)))) {
        // native (new output and, where the op has options.out, into a reused one) and
        // onnxruntime (every graph of the op, new and, with options.out, pre-allocated outputs)
        // are timed interleaved per thread count: see duel below.
        for (const t of threadList.length ? threadList : [defaultThreads]) plan.push({ c, kind: 'duel', threads: t, peers: peersWanted });
        continue;
      }
      plan.push({ c, kind: 'backend', name: be, threads: be === 'native' ? defaultThreads : null });
    }
    if (peersWanted && (c.op === 'sdpa' || hasOrtPeer(c.op))) {
      if (!backendsToRun.includes('native')) for (const t of threadList.length ? threadList : [defaultThreads ?? 2]) plan.push({ c, kind: 'ort', threads: t });
    }
    if (peersWanted && !opts.noTfjs && (c.op === 'sdpa' || hasTfjsPeer(c.op))) {
      if (set.tfjsCpu) plan.push({ c, kind: 'tfjs', name: 'cpu' });
      else notes.add('tfjs-cpu (plain JS kernels, seconds per call at most bench shapes) is timed under --full only; tfjs-wasm is here');
      plan.push({ c, kind: 'tfjs', name: 'wasm' });
    }
  }

  // The scenarios (run after the rows, below): each with every backend it names.
  const scenarioPlan = [];
  const smallScenarios = swGpu ? scenarios({ quick: true }) : null; // a software gpu: the quick sizes
  // The SASRec training step against tfjs (~15 s: a full-size tfjs-wasm step takes seconds) runs
  // under --full and --quick, not in the default run (npm run main's 5 minutes, issue #19 item 6).
  const sasrecStep = mode !== 'main';
  if (!sasrecStep && !servingOnly && (!ops || ops.includes('transformerEncoderLayer'))) notes.add('the SASRec training-step comparison with tfjs (issue #15) runs under --full and --quick only (a full-size tfjs-wasm step takes seconds)');
  for (const [si, scDefault] of (servingOnly ? [] : scenarios({ quick, tfjsCpu: set.tfjsCpu, sasrecStep })).entries()) {
    for (const be of backendsToRun) {
      const sc = be === 'gpu' && smallScenarios ? smallScenarios[si] : scDefault;
      if (ops && !ops.includes(sc.op)) continue;
      if (shapeFilter && !sc.label.includes(shapeFilter)) continue;
      if (sc.backends && !sc.backends.includes(be)) continue;
      scenarioPlan.push({ sc, be });
    }
  }

  // Serving under load (bench/serving.js): attnkit's async native calls beside onnxruntime's
  // session.run, after the scenarios.
  const servingNative = nativeOk && backendsToRun.includes('native');
  const servingWanted = !opts.noServing && (servingNative || peersWanted);
  const servingSteps = servingWanted ? estimateServingSeconds(servingMode, { native: servingNative, peers: peersWanted, ops, shape: shapeFilter }) : [];
  // sdpaBackward's extra memory per size (bench/sdpa-backward-memory.js): one child process per
  // size, after the scenarios; under --op only with sdpaBackward, under --shape never.
  const memoryWanted = nativeOk && backendsToRun.includes('native') && !servingOnly && (!ops || ops.includes('sdpaBackward')) && !shapeFilter;

  const rows = [];
  const estimates = [...plan.map((p) => estimateSeconds(p, set)), ...scenarioPlan.map((x) => estimateScenarioSeconds(x, set, REFERENCE_MAX_FLOPS)), ...(memoryWanted ? [quick ? 1 : 3] : []), ...servingSteps];
  const progress = new Progress(estimates, { log, extra: nativeOk ? (quick ? 3 : 6) : 0 });
  for (const p of plan) {
    const { c } = p;
    const label = `${c.op} ${c.shapeText}`;
    if (p.kind === 'skip') {
      progress.step(`${label} · ${p.name} (skipped)`);
      rows.push({ op: c.op, shape: c.shapeText, backend: p.name, note: p.note });
      continue;
    }
    const what = p.kind === 'backend' ? `${p.name}${p.small ? ' (software, small)' : ''}` : p.kind === 'duel' ? `native, native+out${p.peers ? ' and onnxruntime, interleaved' : ''}` : p.kind === 'ort' ? 'onnxruntime' : `tfjs-${p.name}`;
    progress.step(`${label} · ${what}${p.threads ? ` · ${p.threads} thread(s)` : ''}`);
    const inputs = p.kind === 'duel' ? null : c.make(); // a duel makes its inputs in its own process
    const { backendRow, peerRow, opPeers, incomparable } = rowMakers(c, p, inputs, notes);
    try {
      if (p.kind === 'backend') {
        const t0 = performance.now();
        const checked = verifyOnce(inputs.run, p.name);
        const t = await timeWithin(() => inputs.run({ backend: p.name }), { budget: maxTime, minSamples, firstMs: performance.now() - t0 });
        rows.push(backendRow(p.name, p.threads, checked, t));
      } else if (p.kind === 'duel') {
        // In a child process of its own (bench/duel.js: why); ATTNKIT_BENCH_DUELS_IN_PROCESS=1
        // runs it here instead, to show the difference.
        const res = process.env.ATTNKIT_BENCH_DUELS_IN_PROCESS === '1' ? await runDuel(c, p, set) : await runDuelInChild(c, p, set, { quick, timeoutMs: Math.max(300, 20 * estimateSeconds(p, set)) * 1e3 });
        rows.push(...res.rows);
        for (const n of res.notes) notes.add(n);
      } else if (p.kind === 'ort' && c.op !== 'sdpa') {
        const res = await opPeers(p.threads);
        for (const peer of res.peers ?? []) {
          const t0 = performance.now();
          await peer.run();
          const t = await timeWithin(peer.run, { budget: maxTime, minSamples, isAsync: true, firstMs: performance.now() - t0 });
          rows.push(peerRow(peer.name, p.threads, res.version, peer.err, t, peer.graph));
          peer.release();
        }
      } else if (p.kind === 'ort') {
        const res = await ortPeers(c.shape, inputs, p.threads);
        if (res.error) notes.add(res.error);
        for (const e of res.errors ?? []) notes.add(`${c.op} ${c.shapeText}: ${e}`);
        for (const peer of res.peers ?? []) {
          if (incomparable(peer)) {
            peer.release();
            continue;
          }
          const t0 = performance.now();
          const err = sdpaError(inputs, peer.toBHLD(await peer.run()));
          const t = await timeWithin(peer.run, { budget: maxTime, minSamples, isAsync: true, firstMs: performance.now() - t0 });
          rows.push(peerRow(peer.name, p.threads, res.version, err, t));
          peer.release();
        }
      } else {
        if (p.name === 'cpu' && c.flops > 2e9) {
          notes.add('tfjs-cpu (plain JS kernels) is left out of shapes above 2 GFLOP: one call takes many seconds');
          continue;
        }
        if (set.tfjsMaxFlops && c.flops > set.tfjsMaxFlops) {
          notes.add(`tfjs-${p.name} is left out of shapes above ${set.tfjsMaxFlops / 1e9} GFLOP here (seconds per call); attnkit bench --full times it`);
          continue;
        }
        const res = c.op === 'sdpa' ? await tfjsPeer(p.name, c.shape, inputs, defaultThreads ?? 1) : await tfjsOpPeer(p.name, c.op, inputs, defaultThreads ?? 1);
        if (res.error) {
          notes.add(res.error);
          continue;
        }
        const t0 = performance.now();
        const out = res.peer.run();
        const firstMs = performance.now() - t0;
        const err = res.peer.err ?? sdpaError(inputs, out);
        // A call of over a second: set.slowTfjsCalls timed calls (one in the default mode).
        const t = await timeWithin(res.peer.run, { budget: maxTime, minSamples: firstMs > 1000 ? set.slowTfjsCalls : minSamples, firstMs });
        rows.push(peerRow(res.peer.name, res.peer.threads, res.version, err, t, res.peer.graph));
        res.peer.release();
      }
    } catch (e) {
      rows.push({ op: c.op, shape: c.shapeText, backend: p.kind === 'backend' ? p.name : p.kind, threads: p.threads, note: `error: ${String(e && e.message).split('\n')[0]}` });
    }
  }

  // Scenarios (bench/scenarios.js), in the same run: issue #14's rows whose target is a ratio of
  // two calls (incremental decode via KV caches vs recomputing; a windowed vs full causal sdpa;
  // softcap vs none). Under --op they belong to their op; --shape matches their label. The two
  // calls are timed in alternating rounds, so drift on a shared machine hits both alike.
  const scenarioResults = [];
  const peakJudged = []; // scenarios with a peak-share target and their variant rows: judged after the end-of-run peak
  for (const { sc, be } of scenarioPlan) {
    {
      const threads = be === 'native' ? defaultThreads : undefined;
      if (be === 'reference' && sc.baseFlops > REFERENCE_MAX_FLOPS && !(backendFilter && backendFilter.includes('reference'))) {
        progress.step(`[scenario] ${sc.label} · ${be} (skipped)`);
        rows.push({ op: sc.op, shape: sc.label, backend: be, note: `skipped: ~${fmt(sc.baseFlops / 1e9)} GFLOP in float64 JS (force with --backend reference)` });
        continue;
      }
      progress.step(`[scenario] ${sc.label} · ${be}${be === 'gpu' && swGpu ? ' (software, small)' : ''}`);
      try {
        // make() may be async (a tfjs peer's backend initialises asynchronously); { skip } says why
        // the scenario cannot run here (e.g. tfjs not installed).
        if (sc.usesTfjs && opts.noTfjs) {
          rows.push({ op: sc.op, shape: sc.label, backend: be, threads, note: 'skipped: --no-tfjs (this scenario is a comparison with tfjs)' });
          continue;
        }
        const m = await sc.make(be);
        if (m.skip) {
          rows.push({ op: sc.op, shape: sc.label, backend: be, threads, note: `skipped: ${m.skip}` });
          continue;
        }
        const chk = m.check();
        const d = { backend: be };
        // Peers of the scenario (onnxruntime on the base's inputs), timed interleaved with both.
        const pr = m.peers && peersWanted ? await m.peers() : { peers: [] };
        if (pr.error) notes.add(pr.error);
        for (const e of pr.errors ?? []) notes.add(`${sc.label}: ${e}`);
        const peerList = pr.peers ?? [];
        let timed;
        try {
          // A scenario's own timing (sc.timing: rounds, warm-up calls; slow calls) replaces the
          // mode's rounds and warm-up round.
          timed = await timeInterleaved([{ fn: () => m.base(d) }, { fn: () => m.variant(d) }, ...peerList.map((p) => ({ fn: p.run, isAsync: true }))], { rounds: sc.timing?.rounds ?? set.scenarioRounds, warmupRounds: sc.timing?.rounds !== undefined ? 0 : set.scenarioWarmupRounds, warmupRoundMs: set.warmupRoundMs, settleMs: set.settleMs, maxTime: set.scenarioTime, minSamples: sc.timing?.minSamples ?? set.duelMinSamples, ...(sc.timing?.warmupCalls !== undefined ? { warmupCalls: sc.timing.warmupCalls } : {}) });
        } finally {
          for (const p of peerList) p.release();
          if (m.release) m.release();
        }
        const [tb, tv, ...tp] = timed;
        // A peer target is judged once, on the fastest peer that has one (e.g. the best onnxruntime
        // float32 graph); the other peers are shown beside it.
        const targeted = peerList.map((p, i) => (p.target ? i : -1)).filter((i) => i >= 0);
        const best = targeted.length ? targeted.reduce((a, i) => (tp[i].median < tp[a].median ? i : a)) : -1;
        const peerResults = peerList.map((p, i) => {
          const r = tp[i].median / tv.median;
          return { name: p.name, ms: tp[i].median, ratio: r, target: i === best ? p.target : null, met: i === best ? r >= p.target.value : null };
        });
        peerList.forEach((p, i) => rows.push({ op: sc.op, shape: `${sc.label}: ${p.name}`, backend: p.name, threads, peer: true, ...timingFields(tp[i]), gflops: sc.baseFlops / (tp[i].median * 1e6), scenario: true, note: `${sc.variantLabel} is ${peerResults[i].ratio.toFixed(2)}x faster${peerResults[i].target ? ` (the fastest targeted peer; target >= ${peerResults[i].target.value}x: ${peerResults[i].met ? 'met' : 'NOT met'})` : ' (shown beside)'}` }));
        // A scenario without a target (null) reports its time ratio, judged by nobody.
        const ratio = sc.target?.kind === 'speedup' ? tb.median / tv.median : tv.median / tb.median;
        const met = !sc.target ? null : sc.target.kind === 'speedup' ? ratio >= sc.target.value : ratio <= sc.target.value;
        const targetText = !sc.target ? `${ratio.toFixed(2)}x the time of ${sc.baseLabel} (no target` : sc.target.kind === 'speedup' ? `${ratio.toFixed(2)}x faster than ${sc.baseLabel} (target >= ${sc.target.value}x` : `${ratio.toFixed(2)}x the time of ${sc.baseLabel} (target <= ${sc.target.value}x`;
        rows.push({ op: sc.op, shape: `${sc.label}: ${sc.baseLabel}`, backend: be, threads, ...timingFields(tb), gflops: sc.baseFlops / (tb.median * 1e6), scenario: true });
        const variantRow = {
          op: sc.op, shape: `${sc.label}: ${sc.variantLabel}`, backend: be, threads, ...timingFields(tv), ...(sc.variantFlops ? { gflops: sc.variantFlops / (tv.median * 1e6) } : {}), maxAbs: chk.maxAbs, scenario: true, ratio, targetMet: met,
          note: `${targetText}${met === null ? '' : `: ${met ? 'met' : 'NOT met'}`}); ${chk.within ? 'passes' : 'FAILS'} ${chk.what}`,
        };
        rows.push(variantRow);
        const sr = { label: sc.label, backend: be, threads, baseLabel: sc.baseLabel, variantLabel: sc.variantLabel, baseMs: tb.median, variantMs: tv.median, ratio, target: sc.target, met, maxAbs: chk.maxAbs, withinTolerance: chk.within, ...(peerResults.length ? { peers: peerResults } : {}) };
        scenarioResults.push(sr);
        if (sc.peakTarget && sc.variantFlops) peakJudged.push({ sr, row: variantRow, share: sc.peakTarget.share });
      } catch (e) {
        rows.push({ op: sc.op, shape: sc.label, backend: be, threads, note: `error: ${String(e && e.message).split('\n')[0]}` });
      }
    }
  }

  let backwardMemory = null;
  if (memoryWanted) {
    progress.step(`[memory] sdpaBackward extra memory per size (one child process each) · native · ${defaultThreads} thread(s)`);
    backwardMemory = measureBackwardMemory({ quick, threads: defaultThreads });
    if (backwardMemory.error) notes.add(backwardMemory.error);
    for (const m of backwardMemory.sizes ?? []) {
      // measure 'memory': a row with no timing (readers of rows skip it for times and ratios).
      rows.push({ op: 'sdpaBackward', shape: `extra memory (1,8,${m.L},${m.S},64)`, backend: 'native', threads: m.threads, measure: 'memory', note: `extra ${(m.extra / 2 ** 20).toFixed(2)} MiB beyond inputs and outputs (VmHWM ${(m.hwm / 2 ** 20).toFixed(1)} MiB, baseline ${(m.baseline / 2 ** 20).toFixed(1)} MiB, dq+dk+dv ${(m.outputBytes / 2 ** 20).toFixed(1)} MiB; ${m.method})` });
    }
  }

  let serving = null;
  if (servingSteps.length) {
    serving = await runServing({ mode: servingMode, threads: threadList[0] ?? defaultThreads ?? 2, native: servingNative, peers: peersWanted, ops, shape: shapeFilter, step: (s) => progress.step(s), log });
  }

  // Shares of the peak and of the bandwidth, now that both are measured at both ends of the run.
  measureAll('end');
  annotateRows(rows, limits);
  // A scenario's second target (sc.peakTarget): the variant's share of the measured FMA peak at its
  // thread count, judged now that the peak is measured at both ends of the run (annotateRows).
  for (const { sr, row, share } of peakJudged) {
    const got = row.peakPct !== undefined ? row.peakPct / 100 : null;
    sr.peakShare = got;
    sr.peakTarget = share;
    sr.peakMet = got === null ? null : got >= share;
    row.peakTargetMet = sr.peakMet;
    row.note += `; ${got === null ? 'peak not measured' : `${(got * 100).toFixed(0)}% of the FMA peak`} (target >= ${(share * 100).toFixed(0)}%${sr.peakMet === null ? '' : `: ${sr.peakMet ? 'met' : 'NOT met'}`})`;
  }

  // Ratios: attnkit time vs the fastest ORT row (graph x output mode) and each tfjs backend, same
  // shape, same threads.
  for (const r of rows) {
    if (r.peer || r.median === undefined) continue;
    // The same op too: a backward op's bench shape can read like its forward's (layerNormBackward's 'R=1600 C=64').
    const same = (p) => p.peer && p.op === r.op && p.shape === r.shape && p.median !== undefined;
    const ort = rows.filter((p) => same(p) && p.backend.startsWith('ort') && (r.threads === undefined || p.threads === r.threads));
    if (ort.length) {
      const best = ort.reduce((a, b) => (a.median <= b.median ? a : b));
      r.vsOrt = best.median / r.median;
      r.vsOrtName = best.backend;
      r.errVsOrt = noWorse(r.maxAbs, best.maxAbs) ? 'ok' : `worse (${fmt(best.maxAbs)})`;
    }
    for (const name of ['tfjs-cpu', 'tfjs-wasm']) {
      const t = rows.find((p) => same(p) && p.backend === name);
      if (t) r[name === 'tfjs-cpu' ? 'vsTfjsCpu' : 'vsTfjsWasm'] = t.median / r.median;
    }
  }
  // Issue #19's targets: attnkit against the best onnxruntime row, 2 threads, same run.
  const targets = judgeTargets(rows, { noWorse });
  if (rows.some((r) => r.note && r.note.startsWith('FAILS verify'))) notes.add('some rows FAIL verify against reference at the backend\'s default tolerance (see their notes)');
  return { facts, peak, peakTrials, backwardMemory, bandwidth: limits.bandwidth, bandwidthTrials: limits.bandwidthTrials, limits: { workingSets: limits.workingSets, l2PerCore: limits.l2PerCore, l2Assumed: limits.l2Assumed, rule: BANDWIDTH_RULE }, rows, scenarios: scenarioResults, serving, targets, notes: [...notes], quick, mode, softwareGpu: swGpu, elapsedS: (performance.now() - progress.t0) / 1e3, flopsNote: 'flop and byte counts per op are written down in each op descriptor (src/ops/<op>.ts, cost); sdpa counts 2·B·H·(D+Dv) per visible (query, key) pair, so causal rows count only the visible half' };
}

function printTable(result, out = process.stdout, { markdown = false } = {}) {
  if (!result.rows.length && result.serving) {
    // --serving: the serving table alone.
    const f = result.facts;
    out.write(`attnkit ${f.versions.attnkit} · ${f.cpu} · ${f.cores} cores · node ${f.versions.node} · native: ${f.native ?? 'unavailable'}\n`);
    printServing(result.serving, out, { markdown });
    return;
  }
  const head = ['op', 'shape', 'backend', 'thr', 'median ms', '±IQR', 'GFLOP/s', '%peak', 'GB/s', '%bw', 'max abs err', 'max rel err', 'xORT', 'xtfjs-wasm', 'xtfjs-cpu', 'note'];
  const body = result.rows.map((r) => [
    r.op, r.shape, r.backend, r.threads ?? '', fmt(r.median), r.spreadPct !== undefined ? `${r.spreadPct.toFixed(1)}%` : '', fmt(r.gflops), r.peakPct !== undefined ? `${r.peakPct.toFixed(0)}%` : '', fmt(r.gbps), r.bwPct !== undefined ? `${r.bwPct.toFixed(0)}% ${r.bwLevel}` : '',
    fmt(r.maxAbs), fmt(r.maxRel), r.vsOrt ? `${r.vsOrt.toFixed(2)}` : '', r.vsTfjsWasm ? r.vsTfjsWasm.toFixed(1) : '', r.vsTfjsCpu ? r.vsTfjsCpu.toFixed(1) : '', r.note ?? (r.errVsOrt && r.errVsOrt !== 'ok' ? `error ${r.errVsOrt} than ORT` : ''),
  ].map(String));
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = markdown ? (cells) => `| ${cells.join(' | ')} |` : (cells) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const f = result.facts;
  out.write(`attnkit ${f.versions.attnkit} · ${f.cpu} · ${f.cores} cores · node ${f.versions.node} · native: ${f.native ?? 'unavailable'} · gpu: ${f.gl ?? 'unavailable'}\n`);
  if (Object.keys(result.peak).length) out.write(`measured fp32 FMA peak: ${Object.entries(result.peak).map(([t, g]) => `${fmt(g)} GFLOP/s (${t} thr)`).join(', ')}\n`);
  if (result.bandwidth && Object.keys(result.bandwidth).length) out.write(`measured read+write bandwidth: ${bandwidthText({ bandwidth: result.bandwidth }, fmt)}\n`);
  out.write(`${line(head)}\n${line(widths.map((w) => '-'.repeat(markdown ? 3 : w)))}\n`);
  for (const b of body) out.write(`${line(b)}\n`);
  out.write(`\nxORT = time of the fastest onnxruntime row (any of the op's graphs, each with a new output per call or '+out' into a pre-allocated one) / attnkit time, same inputs, same thread count, same run (>1: attnkit is faster). 'native+out' writes into a reused buffer (options.out). Native and onnxruntime rows are timed interleaved.\n`);
  if (result.limits) out.write(`%bw: ${result.limits.rule}.\n`);
  out.write(`Errors are against attnkit's float64 reference on the same inputs (${VERIFY_ROWS} sampled query rows on big problems).\n${result.flopsNote}.\n`);
  for (const sc of result.scenarios ?? []) {
    const t = !sc.target ? `${sc.ratio.toFixed(2)}x the time (no target)` : sc.target.kind === 'speedup' ? `${sc.ratio.toFixed(2)}x faster (target >= ${sc.target.value}x: ${sc.met ? 'met' : 'NOT met'})` : `${sc.ratio.toFixed(2)}x the time (target <= ${sc.target.value}x: ${sc.met ? 'met' : 'NOT met'})`;
    out.write(`scenario: ${sc.label} on ${sc.backend}${sc.threads ? ` (${sc.threads} thr)` : ''}: ${sc.baseLabel} ${fmt(sc.baseMs)} ms, ${sc.variantLabel} ${fmt(sc.variantMs)} ms: ${t}; max abs error ${fmt(sc.maxAbs)} (${sc.withinTolerance ? 'within' : 'OUTSIDE'} tolerance)\n`);
    if (sc.peakTarget !== undefined) out.write(`  ${sc.variantLabel}: ${sc.peakShare === null ? 'peak not measured' : `${(sc.peakShare * 100).toFixed(0)}% of the measured FMA peak`} (target >= ${(sc.peakTarget * 100).toFixed(0)}%${sc.peakMet === null ? '' : `: ${sc.peakMet ? 'met' : 'NOT met'}`})\n`);
    for (const p of sc.peers ?? []) out.write(`  beside ${p.name} ${fmt(p.ms)} ms: ${sc.variantLabel} ${p.ratio.toFixed(2)}x faster${p.target ? ` (the fastest targeted peer; target >= ${p.target.value}x: ${p.met ? 'met' : 'NOT met'})` : ''}\n`);
  }
  const mem = result.backwardMemory;
  if (mem && mem.sizes) out.write(`sdpaBackward extra memory (B=1, H=8, D=64, native): ${mem.sizes.map((m) => `L=S=${m.L} ${(m.extra / 2 ** 20).toFixed(2)} MiB`).join(', ')}: independent of L·S ${mem.met ? 'met' : 'NOT met'} (${mem.rule}; ${mem.seconds.toFixed(1)} s)\n`);
  printPeerSummary(result, out, fmt);
  printServing(result.serving, out, { markdown });
  for (const n of result.notes) out.write(`note: ${n}\n`);
}

module.exports = { runBench, printTable, fmt, maxErrors, noWorse, REFERENCE_MAX_FLOPS };
