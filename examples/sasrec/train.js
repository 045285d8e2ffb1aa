'use strict';
// The training loop: per epoch, users shuffled (seeded) into batches, one sampled negative per
// position, the model's loss and gradients, an AdamW step (ak.adamStep) on every parameter; after
// each epoch HR@10 / NDCG@10 on the validation items. At the end the test items are ranked by the
// trained model, the popularity baseline and (on generated data) the generator's oracle, all on
// the same sampled candidates. Everything is seeded: the same seed gives the same numbers.
const ak = require('../../dist/cjs/index.js');
const { shuffle, leaveOneOut, sampleCandidates, historyFor, trainingBatch } = require('./data.js');
const { evaluate, popularity, popularityScorer, oracleScorer } = require('./evaluate.js');
const { createModel, flatten } = require('./model.js');

/**
 * AdamW over a parameter tree: `step(grads)` applies one ak.adamStep to every parameter with its
 * gradient (found by the same path in `grads`); the states are made once by ak.adamState.
 */
function adamW(params, options, dispatch) {
  const entries = flatten(params).map(([path, param]) => ({ path, param, state: ak.adamState(param) }));
  return {
    step(grads) {
      const byPath = new Map(flatten(grads));
      for (const e of entries) {
        const g = byPath.get(e.path);
        if (!g) throw new Error(`no gradient for parameter ${e.path}`);
        ak.adamStep(e.param, g, e.state, options, dispatch);
      }
    },
    count: entries.reduce((n, e) => n + e.param.data.length, 0),
  };
}

/**
 * Trains and evaluates. `data`: `{ sequences: Int32Array[], numItems, generator? }`; `options`:
 * `epochs, batchSize, maxLen, dim, heads, blocks, dropout, lr, weightDecay, betas, seed, evalUsers
 * (validation users per epoch; null = all), dispatch, progress` (a progress.js bar or null).
 * Returns `{ history: [{ epoch, loss, hr, ndcg, seconds }] (validation metrics), validBaselines:
 * { popularity, oracle? }, test: { model, popularity, oracle? } (each { hr, ndcg, users }), config,
 * parameters, users, numItems, seconds }`. The popularity counts are the training items'.
 */
function train(data, options = {}) {
  const o = {
    epochs: 20, batchSize: 128, maxLen: 50, dim: 64, heads: 1, blocks: 2, dropout: 0,
    lr: 1e-3, weightDecay: 0, betas: [0.9, 0.98], seed: 1, evalUsers: null, dispatch: undefined, progress: null,
    ...options,
  };
  const { numItems } = data;
  const split = leaveOneOut(data.sequences);
  const validCands = sampleCandidates(split, numItems, { which: 'valid', seed: o.seed });
  const testCands = sampleCandidates(split, numItems, { which: 'test', seed: o.seed });
  const model = createModel({ numItems, maxLen: o.maxLen, dim: o.dim, heads: o.heads, blocks: o.blocks, dropout: o.dropout, seed: o.seed, dispatch: o.dispatch });
  const optimizer = adamW(model.params, { lr: o.lr, weightDecay: o.weightDecay, beta1: o.betas[0], beta2: o.betas[1] }, o.dispatch);
  const rng = ak.seededRandom((o.seed * 1103515245 + 12345) >>> 0);
  const trainable = split.map((s, u) => u).filter((u) => split[u].train.length >= 2);
  const steps = Math.ceil(trainable.length / o.batchSize);
  const validUsers = o.evalUsers && o.evalUsers < split.length ? shuffle(split.map((_, u) => u), ak.seededRandom(o.seed + 99)).slice(0, o.evalUsers).sort((a, b) => a - b) : null;
  const modelScorer = (which) => (users, cands) => model.scoreCandidates(users.map((u) => historyFor(split[u], which)), cands);

  // The baselines on the validation items too: the chart draws them beside the per-epoch curve.
  const counts = popularity(split, numItems);
  const baselines = { popularity: evaluate(popularityScorer(counts), validCands, { users: validUsers }) };
  if (data.generator) baselines.oracle = evaluate(oracleScorer(data.generator, (u) => historyFor(split[u], 'valid')), validCands, { users: validUsers });

  const history = [];
  const t0 = Date.now();
  if (o.progress) o.progress.start({ epochs: o.epochs, steps, sequences: trainable.length });
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    const te = Date.now();
    const order = shuffle(trainable.slice(), rng);
    let lossSum = 0;
    let positions = 0;
    for (let s = 0; s < steps; s++) {
      const users = order.slice(s * o.batchSize, (s + 1) * o.batchSize);
      const batch = trainingBatch(users.map((u) => split[u].train), o.maxLen, numItems, rng);
      const r = model.lossAndGradients(batch);
      optimizer.step(r.grads);
      lossSum += r.loss * r.positions;
      positions += r.positions;
      if (o.progress) o.progress.step({ epoch, step: s + 1, loss: lossSum / positions, sequences: users.length });
    }
    const valid = evaluate(modelScorer('valid'), validCands, { users: validUsers });
    const row = { epoch, loss: lossSum / positions, hr: valid.hr, ndcg: valid.ndcg, seconds: (Date.now() - te) / 1000 };
    history.push(row);
    if (o.progress) o.progress.epochEnd(row);
  }
  if (o.progress) o.progress.done();
  const test = {
    model: evaluate(modelScorer('test'), testCands),
    popularity: evaluate(popularityScorer(counts), testCands),
  };
  if (data.generator) test.oracle = evaluate(oracleScorer(data.generator, (u) => historyFor(split[u], 'test')), testCands);
  return {
    history,
    validBaselines: baselines,
    test,
    config: { ...o, progress: undefined, dispatch: o.dispatch && o.dispatch.backend ? { backend: o.dispatch.backend } : null },
    parameters: optimizer.count,
    users: split.length,
    numItems,
    seconds: (Date.now() - t0) / 1000,
  };
}

module.exports = { train, adamW };
