'use strict';
// `attnkit train sasrec [options]`: train SASRec on generated data (default) or a MovieLens-1M
// ratings.dat (--data), print the test table (model, popularity, oracle), write the HTML report.
const fs = require('fs');
const os = require('os');
const path = require('path');

const HELP = `attnkit train sasrec [options]

Trains SASRec (two causal self-attention blocks, learned positions, BCE with one sampled negative
per position, AdamW) with attnkit's ops alone, then ranks each user's last item among 100 sampled
negatives: HR@10 and NDCG@10 of the model, the popularity baseline and, on generated data, the
oracle (the generator's own next-item probability). Progress on stderr; the results table on
stdout; an HTML report with the training curve in artifacts/sasrec.html (or --report FILE).

data (default: generated, seeded; users drift through item clusters along a Markov chain, Zipf
popularity within each cluster):
  --data FILE        a MovieLens-1M ratings.dat (UserID::MovieID::Rating::Timestamp); the paper's
                     preprocessing (5-core, sorted by time, leave-one-out) and settings (maxLen
                     200, dim 50, 1 head, dropout 0.2, lr 0.001, 200 epochs)
  --users N          generated users (default 3000; --quick 1500)
  --items N          generated items (default 1000; --quick 400)
  --clusters N       generated item clusters (default 20)

model and training:
  --quick            a short run on small generated data (about a minute on 2 cores)
  --epochs N         (generated: 30, --quick 12; --data: 200)
  --batch-size N     (128)
  --max-len N        longest history the model reads (generated: 50; --data: 200)
  --dim N            embedding size E (generated: 64; --data: 50)
  --heads N          attention heads, E divisible by it (1)
  --blocks N         encoder blocks (2)
  --dropout P        dropout on the embedding sum while training (generated: 0; --data: 0.2)
  --lr X             AdamW learning rate (generated: 0.005; --data: 0.001)
  --weight-decay X   AdamW decoupled weight decay (0)
  --eval-users N     validation users ranked after each epoch (default all)
  --seed N           one seed for the data, the initialisation, the batches and the negatives (1)
  --backend NAME     attnkit backend for every op (default auto: native when built)
  --report FILE      where to write the HTML report (default artifacts/sasrec.html)
  --json             print the whole result as JSON instead of the table
  --help`;

const BOOLEAN = ['quick', 'json', 'help'];
const NUMBER = ['users', 'items', 'clusters', 'epochs', 'batchSize', 'maxLen', 'dim', 'heads', 'blocks', 'dropout', 'lr', 'weightDecay', 'evalUsers', 'seed'];
const INTEGER = ['users', 'items', 'clusters', 'epochs', 'batchSize', 'maxLen', 'dim', 'heads', 'blocks', 'evalUsers', 'seed'];

/** A usage error: message + help, exit 2. */
class UsageError extends Error {}

/** Parses the options after `train sasrec`; unknown or malformed options are UsageErrors. */
function parseTrainArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument '${a}'`);
    const [k, inline] = a.slice(2).split('=');
    const key = k.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (BOOLEAN.includes(key)) {
      o[key] = true;
      continue;
    }
    if (![...NUMBER, 'data', 'report', 'backend'].includes(key)) throw new UsageError(`unknown option --${k}`);
    const v = inline ?? argv[++i];
    if (v === undefined) throw new UsageError(`--${k} needs a value`);
    if (NUMBER.includes(key)) {
      const n = Number(v);
      if (!Number.isFinite(n) || (INTEGER.includes(key) && !(Number.isInteger(n) && n >= (key === 'seed' ? 0 : 1)))) throw new UsageError(`--${k} expects ${INTEGER.includes(key) ? 'a positive integer' : 'a number'}, got '${v}'`);
      if (key === 'dropout' && !(n >= 0 && n < 1)) throw new UsageError(`--dropout expects a probability in [0, 1), got '${v}'`);
      if ((key === 'lr' && !(n > 0)) || (key === 'weightDecay' && !(n >= 0))) throw new UsageError(`--${k} expects a number ${key === 'lr' ? '> 0' : '>= 0'}, got '${v}'`);
      o[key] = n;
    } else o[key] = v;
  }
  return o;
}

/** The run's settings from the options: the data's and the quick preset's defaults, then the flags. */
function settings(o) {
  const movieLens = Boolean(o.data);
  const base = movieLens
    ? { epochs: 200, maxLen: 200, dim: 50, heads: 1, dropout: 0.2, lr: 1e-3 }
    : o.quick
      ? { epochs: 12, maxLen: 50, dim: 64, heads: 1, dropout: 0, lr: 5e-3, users: 1500, items: 400 }
      : { epochs: 30, maxLen: 50, dim: 64, heads: 1, dropout: 0, lr: 5e-3, users: 3000, items: 1000 };
  const s = { batchSize: 128, blocks: 2, weightDecay: 0, seed: 1, clusters: 20, evalUsers: null, ...base };
  for (const k of NUMBER) if (o[k] !== undefined) s[k] = o[k];
  if (s.dim % s.heads !== 0) throw new UsageError(`--dim (${s.dim}) must be divisible by --heads (${s.heads})`);
  return s;
}

/** The data: `{ sequences, numItems, generator?, description }`. */
function loadData(o, s) {
  const data = require('./data.js');
  if (o.data) {
    if (!fs.existsSync(o.data)) {
      const e = new Error(`--data ${o.data}: no such file (MovieLens-1M's ratings.dat is not shipped: its licence forbids redistribution; download ml-1m.zip from grouplens.org and pass the path of ratings.dat)`);
      e.exitCode = 1;
      throw e;
    }
    const ml = data.loadMovieLens(o.data);
    return { sequences: ml.sequences, numItems: ml.numItems, description: `MovieLens ratings from ${o.data} (5-core, ${ml.numUsers} users, ${ml.numItems} items)` };
  }
  const generator = data.makeGenerator({ numItems: s.items, numClusters: s.clusters, seed: s.seed });
  const sequences = data.generateSequences(generator, { numUsers: s.users, minLen: 10, maxLen: s.maxLen + 1, seed: s.seed });
  return { sequences, numItems: s.items, generator, description: `generated data (seed ${s.seed}, ${s.clusters} clusters)` };
}

/** One line about the machine and the backend that ran. */
function machineLine(backend) {
  const ak = require('../../dist/cjs/index.js');
  const cpus = os.cpus();
  const native = ak.backends().find((b) => b.name === 'native');
  const used = backend ?? 'auto';
  const isa = native && native.available ? `, native ${native.isa ?? ''} ${native.threads ? `${native.threads} threads` : ''}`.trimEnd() : '';
  return `${cpus[0] ? cpus[0].model.trim() : 'unknown CPU'}, ${cpus.length} cores, node ${process.versions.node}; backend ${used}${isa}`;
}

/** The results table (stdout). */
function printResults(result, out = process.stdout) {
  const t = result.test;
  const rows = [['SASRec (trained)', t.model], ['popularity', t.popularity]];
  if (t.oracle) rows.push(['oracle (generator)', t.oracle]);
  out.write(`\ntest, ${t.model.users} users: the true next item among 100 sampled negatives\n`);
  out.write(`${'ranker'.padEnd(20)} ${'HR@10'.padStart(8)} ${'NDCG@10'.padStart(8)}\n`);
  for (const [name, m] of rows) out.write(`${name.padEnd(20)} ${m.hr.toFixed(4).padStart(8)} ${m.ndcg.toFixed(4).padStart(8)}\n`);
}

/** `attnkit train sasrec ...`: 0 on success, 2 on a usage error. */
function main(argv) {
  let o;
  let s;
  try {
    o = parseTrainArgs(argv);
    if (o.help) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    s = settings(o);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`attnkit train sasrec: ${e.message}\n\n${HELP}\n`);
      return 2;
    }
    throw e;
  }
  const { train } = require('./train.js');
  const { createProgress } = require('./progress.js');
  const { htmlReport } = require('./report.js');
  const data = loadData(o, s);
  const machine = machineLine(o.backend);
  // Which backend each op actually ran on (auto picks per op), from the dispatcher's reports.
  const ranOn = new Map();
  const dispatch = { ...(o.backend ? { backend: o.backend } : {}), onReport: (r) => ranOn.set(r.op, r.backend) };
  process.stderr.write(`SASRec on ${data.description}: ${data.sequences.length} users, ${data.numItems} items; E=${s.dim}, ${s.heads} head(s), ${s.blocks} blocks, maxLen ${s.maxLen}, ${s.epochs} epochs; ${machine}\n`);
  const result = train(data, {
    epochs: s.epochs, batchSize: s.batchSize, maxLen: s.maxLen, dim: s.dim, heads: s.heads, blocks: s.blocks,
    dropout: s.dropout, lr: s.lr, weightDecay: s.weightDecay, seed: s.seed, evalUsers: s.evalUsers,
    dispatch, progress: createProgress(),
  });
  const ops = [...ranOn].sort(([a], [b]) => a.localeCompare(b)).map(([op, b]) => `${op} ${b}`).join(', ');
  process.stderr.write(`ops ran on: ${ops}\n`);
  if (o.json) process.stdout.write(`${JSON.stringify({ ...result, data: data.description, machine, ops: Object.fromEntries(ranOn) }, null, 2)}\n`);
  else printResults(result);
  const report = o.report ?? path.join('artifacts', 'sasrec.html');
  fs.mkdirSync(path.dirname(path.resolve(report)), { recursive: true });
  fs.writeFileSync(report, htmlReport(result, { command: `npx attnkit train sasrec ${argv.join(' ')}`.trim(), data: data.description, machine, ops }));
  process.stderr.write(`report written to ${report}\n`);
  return 0;
}

module.exports = { main, parseTrainArgs, settings, printResults, HELP };
