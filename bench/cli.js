'use strict';
// The attnkit CLI: `attnkit bench | verify | info | train` (see --help).
const fs = require('fs');

/** `names` as a comma list wrapped at 100 columns, continuation lines indented by `indent`. */
function wrapList(names, first, indent) {
  const lines = [];
  let line = first;
  for (const [i, n] of names.entries()) {
    const word = `${n}${i < names.length - 1 ? ',' : ')'}`;
    if (line.length + word.length + 1 > 100) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
    } else line += (line.endsWith('(') ? '' : ' ') + word;
  }
  return [...lines, line].join('\n');
}

// The op list comes from the op registry (src/ops/registry.ts), like every other op list.
const HELP = `attnkit <command> [options]

commands:
  bench    time every op on every available backend (and peers: onnxruntime-node, tfjs) on the
           default shapes, each row within a time budget (a gpu on a software rasteriser at the
           small shapes only); GFLOP/s, share of the measured fp32 FMA peak, share of the measured
           memory bandwidth (memory-bound rows), error vs reference
  verify   random and adversarial inputs for every op on every available backend but reference,
           checked against reference at each backend's documented tolerance; exits 1 on any
           failure or when nothing was checked
  info     backends with availability and reason, ISA, threads, GL renderer, versions
  train    train sasrec [--quick] [--data ratings.dat]: a SASRec model trained with attnkit's ops
           alone (examples/sasrec/), ranked against a popularity baseline and the generator's
           oracle; HTML report with the training curve (attnkit train sasrec --help)

options:
${wrapList(require('../dist/cjs/index.js').OP_NAMES, '  --op a,b          only these ops (', 20)}
  --backend a,b     only these backends (reference, native, gpu; 'peers' keeps only the peers)
  --shape TEXT      only cases whose shape text contains TEXT, e.g. "(1,8,512,512,64)"
  --threads 1,2     native and onnxruntime thread counts of the ops with peers (default: the
                    default thread count; --full: 1,2)
  --quick           smaller shapes and shorter timing (CI smoke)
  --full            the whole matrix: every shape on every backend (a software gpu too), sdpa at
                    1 and 2 threads, 1.5 s of timing per row
  --rounds N        interleaved rounds per duel (native against its peers), each of the mode's
                    round length (default 2 after a warm-up round; --quick 2; --full 5): more rounds, a steadier median
  --no-peers        leave out onnxruntime-node and tfjs
  --serving         only the serving-under-load rows (bench/serving.js): 1000 concurrent async
                    requests of sdpa (DIN-sized), topK (one user, 100k items) and the SASRec block,
                    attnkit native beside onnxruntime's session.run; throughput, p50/p99/max latency,
                    event-loop delay (the default run has them too: 300 sdpa and encoder requests, topK 200)
  --no-serving      leave the serving rows out
  --no-tfjs         leave out tfjs (onnxruntime stays)
  --json            print JSON (rows + machine facts) instead of the table
  --markdown        print the table as Markdown (for the README)
  --report FILE     also write an HTML report: per op, a bar chart of the time ratio against the
                    best peer per shape and GFLOP/s or GB/s against size
  --chart FILE      also write that SVG chart alone
  --save-json FILE  also write the JSON result to FILE
  --help`;

/** JSON of a bench result; non-finite numbers (NaN, ±Infinity) become strings so nothing is lost. */
function toJson(result) {
  return `${JSON.stringify(result, (k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v), 2)}\n`;
}

function parseArgs(argv) {
  const opts = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      opts._.push(a);
      continue;
    }
    const [k, inline] = a.slice(2).split('=');
    const key = k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (['quick', 'full', 'json', 'help', 'noPeers', 'markdown', 'serving', 'noServing', 'noTfjs'].includes(key)) opts[key] = true;
    else opts[key] = inline ?? argv[++i];
  }
  return opts;
}

/** A usage error: the message and the valid choices, exit 2. */
class UsageError extends Error {}

/**
 * The --op and --backend filters of verify and bench, checked before anything runs: an unknown
 * name is a usage error listing the valid ones; a backend named explicitly but unavailable is an
 * error with its reason and fix (nothing would be checked on it, so the run must not pass).
 */
function checkFilters(opts, { peers }) {
  const ak = require('../dist/cjs/index.js');
  const list = (s) => (s ? String(s).split(',').map((x) => x.trim()).filter(Boolean) : []);
  const badOps = list(opts.op).filter((o) => !ak.OP_NAMES.includes(o));
  if (badOps.length) throw new UsageError(`unknown op ${badOps.map((o) => `'${o}'`).join(', ')} in --op; the ops: ${ak.OP_NAMES.join(', ')}`);
  const infos = ak.backends();
  const isPeer = (b) => peers && (b === 'peers' || b.startsWith('ort') || b.startsWith('tfjs'));
  const named = list(opts.backend);
  const badBackends = named.filter((b) => !isPeer(b) && !infos.some((i) => i.name === b));
  if (badBackends.length) {
    const valid = infos.map((i) => i.name).concat(peers ? ['peers'] : []);
    throw new UsageError(`unknown backend ${badBackends.map((b) => `'${b}'`).join(', ')} in --backend; the backends: ${valid.join(', ')}`);
  }
  if (!peers && named.includes('reference')) {
    throw new UsageError("reference is what verify compares every other backend with, so it is not verified here (it could not fail); npm test checks it against independent float64 oracles (test/specs/oracle.mjs)");
  }
  if (peers && opts.rounds !== undefined && !(Number.isInteger(Number(opts.rounds)) && Number(opts.rounds) >= 1 && Number(opts.rounds) <= 100)) {
    throw new UsageError(`--rounds takes an integer from 1 to 100, got '${opts.rounds}'`);
  }
  const down = infos.filter((i) => named.includes(i.name) && !i.available);
  if (down.length) {
    const e = new Error(down.map((i) => `backend '${i.name}' is unavailable: ${i.reason}${i.fix ? ` — fix: ${i.fix}` : ''}`).join('\n'));
    e.exitCode = 1;
    throw e;
  }
}

async function main(argv = process.argv.slice(2)) {
  try {
    return await command(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`attnkit: ${e.message}\n\n${HELP}\n`);
      return 2;
    }
    if (e && e.exitCode) {
      process.stderr.write(`attnkit: ${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
}

/** The examples `attnkit train NAME` runs (examples/NAME/cli.js). */
const TRAIN_EXAMPLES = ['sasrec'];

async function command(argv) {
  // train has its own options (examples/<name>/cli.js parses them), so it is dispatched first.
  if (argv[0] === 'train') {
    const name = argv[1];
    if (!TRAIN_EXAMPLES.includes(name)) {
      throw new UsageError(`${name === undefined || name.startsWith('--') ? 'train needs an example name' : `unknown example '${name}' for train`}; the examples: ${TRAIN_EXAMPLES.join(', ')} (e.g. attnkit train sasrec --quick)`);
    }
    return require(`../examples/${name}/cli.js`).main(argv.slice(2));
  }
  const opts = parseArgs(argv);
  const cmd = opts._[0] ?? 'bench';
  if (opts.help || cmd === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (cmd === 'info') {
    const { machineFacts, printInfo } = require('./info.js');
    const facts = machineFacts();
    if (opts.json) process.stdout.write(`${JSON.stringify(facts, null, 2)}\n`);
    else printInfo(facts);
    return 0;
  }
  if (cmd === 'verify') {
    checkFilters(opts, { peers: false });
    const { runVerify, printVerify } = require('./verify.js');
    const res = runVerify(opts);
    if (res.rows.length === 0) {
      process.stderr.write('attnkit verify: nothing was checked (no available backend has the ops asked for)\n');
      return 1;
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(res, null, 2)}\n`);
      return res.rows.some((r) => !r.pass) ? 1 : 0;
    }
    return printVerify(res) > 0 ? 1 : 0;
  }
  if (cmd === 'bench') {
    checkFilters(opts, { peers: true });
    const { runBench, printTable } = require('./run-bench.js');
    const result = await runBench(opts);
    const servingRows = result.serving ? result.serving.rows : [];
    if (!result.rows.some((r) => r.median !== undefined) && !servingRows.some((r) => r.throughput !== undefined)) {
      process.stderr.write('attnkit bench: nothing was timed (no case matches the filters on an available backend)\n');
      return 1;
    }
    if (opts.json) process.stdout.write(toJson(result));
    else if (opts.markdown) printTable(result, process.stdout, { markdown: true });
    else printTable(result);
    if (opts.report) {
      const { htmlReport } = require('./report.js');
      require('path').dirname(opts.report) && fs.mkdirSync(require('path').dirname(opts.report), { recursive: true });
      fs.writeFileSync(opts.report, htmlReport(result, `npx attnkit ${argv.join(' ')}`));
      process.stderr.write(`report written to ${opts.report}\n`);
    }
    if (opts.chart) {
      const { chart } = require('./report.js');
      const path = require('path');
      fs.mkdirSync(path.dirname(path.resolve(opts.chart)), { recursive: true });
      fs.writeFileSync(opts.chart, `${chart(result.rows)}\n`);
      process.stderr.write(`chart written to ${opts.chart}\n`);
    }
    if (opts.saveJson) {
      fs.writeFileSync(opts.saveJson, toJson(result));
    }
    const scenarioFailed = (result.scenarios ?? []).some((s) => !s.withinTolerance);
    const servingFailed = servingRows.some((r) => r.note && (r.note.startsWith('error') || r.note.startsWith('FAILS')));
    return scenarioFailed || servingFailed || result.rows.some((r) => r.note && (r.note.startsWith('error') || r.note.startsWith('FAILS verify'))) ? 1 : 0;
  }
  process.stderr.write(`attnkit: unknown command '${cmd}'\n\n${HELP}\n`);
  return 2;
}

module.exports = { main, parseArgs };
