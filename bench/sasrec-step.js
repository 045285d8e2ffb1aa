'use strict';
// One SASRec training step (issue #15, Performance): forward + backward + AdamW of
// examples/sasrec/model.js (attnkit ops) against the same model composed from tfjs ops, its
// gradients from tf.variableGrads and the AdamW update written with tfjs ops.
//
// The tfjs model is the example's function, written again from its definition (model.js header):
// x_t = itemEmbedding[s_t]·sqrt(E) + positionEmbedding[t] on real positions, zero on padding
// (right padding, model.js); per block (pre-norm, eps 1e-5) h = x + Wo·attn(LN1(x)),
// out = h + FFN(LN2(h)) with ReLU, attention causal (top-left) and blind to keys >= the row's
// length, heads splitting E into H contiguous slices of D = E/H columns, scale 1/sqrt(D); a final
// LayerNorm; the loss -log σ(h_t·e_pos) - log σ(-h_t·e_neg) averaged over the real positions.
// Both start from the same parameters (attnkit's seeded initialisation copied into tf.variables).
// The embedding lookups are tf.gather with a tf.customGrad scatter-add gradient (tf.scatterND):
// gather's built-in gradient needs a kernel tfjs-backend-wasm lacks (UnsortedSegmentSum); the
// same formulation runs on both tfjs backends.
//
// AdamW in tfjs: tf.train.adam has no decoupled decay, so the update is written with tfjs ops,
// PyTorch AdamW (the semantics of ak.adamStep): p *= 1 - lr·wd; m = β1·m + (1-β1)·g;
// v = β2·v + (1-β2)·g²; p -= lr·(m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps).
//
// Run alone: `node bench/sasrec-step.js [--quick] [--threads N] [--steps N]` prints the agreement
// check and the time per step of attnkit (native) and of tfjs on wasm and cpu. In the bench it is
// a scenario (bench/scenarios.js): base = the tfjs step on the faster of wasm and cpu (one call of
// each decides), variant = the attnkit step, target 10x; the slower tfjs backend is timed beside
// (quick) or only noted with its one-call time (full: a full-size cpu step takes tens of seconds).
const ak = require('../dist/cjs/index.js');
const { createModel, flatten } = require('../examples/sasrec/model.js');
const { adamW } = require('../examples/sasrec/train.js');
const { makeGenerator, generateSequences, trainingBatch } = require('../examples/sasrec/data.js');
const { useBackend, loadTf } = require('./peers/tfjs.js');

/** The step's shapes: full B=128, L=200 (quick: B=16, L=50); E=64, one head (the example's default), two blocks. */
function stepShape(quick) {
  return quick ? { B: 16, L: 50, E: 64, H: 1, blocks: 2, numItems: 400 } : { B: 128, L: 200, E: 64, H: 1, blocks: 2, numItems: 1000 };
}

/** AdamW hyperparameters of both steps (train.js's betas; a non-zero decay so it is exercised). */
const ADAMW = { lr: 1e-3, beta1: 0.9, beta2: 0.98, eps: 1e-8, weightDecay: 0.01 };

/**
 * A seeded training batch of `B` generated sequences, right-padded to exactly `L` (lengths drawn
 * in [L/2, L+40]: most rows are cut to L, the rest carry padding).
 */
function makeBatch({ B, L, numItems }, seed = 1) {
  const gen = makeGenerator({ numItems, numClusters: 20, seed });
  const seqs = generateSequences(gen, { numUsers: B, minLen: Math.max(3, Math.floor(L / 2)), maxLen: L + 40, seed });
  const batch = trainingBatch(seqs, L, numItems, ak.seededRandom(seed * 31 + 5));
  if (batch.L !== L) throw new Error(`the batch came out with L=${batch.L}, wanted ${L}`);
  return batch;
}

/** The attnkit step: a fresh example model and optimizer; step() = lossAndGradients + AdamW; returns the loss. */
function attnkitStep(shape, batch, dispatch, seed = 1) {
  const model = createModel({ numItems: shape.numItems, maxLen: shape.L, dim: shape.E, heads: shape.H, blocks: shape.blocks, dropout: 0, seed, dispatch });
  const initial = flatten(model.params).map(([path, t]) => [path, Float32Array.from(t.data), t.shape]);
  const optimizer = adamW(model.params, ADAMW, dispatch);
  return {
    model,
    initial,
    lossAndGradients: () => model.lossAndGradients(batch),
    step() {
      const r = model.lossAndGradients(batch);
      optimizer.step(r.grads);
      return r.loss;
    },
  };
}

/**
 * The same model in tfjs ops, from `initial` ([path, Float32Array, shape] in model.js's flatten
 * order), on the current tfjs backend. step() runs forward, tf.variableGrads and the AdamW update
 * and returns the loss (read back, so the step has finished). release() frees every tensor.
 */
function tfjsStep(tf, shape, batch, initial) {
  const { B, L, E, H } = shape;
  const D = E / H;
  const N = B * L;
  const vars = new Map(initial.map(([path, data, shp]) => [path, tf.tidy(() => tf.variable(tf.tensor(data, shp), true))]));
  const p = (path) => vars.get(path);
  const moments = [...vars.values()].map((v) => tf.tidy(() => ({ m: tf.variable(tf.zerosLike(v), false), v: tf.variable(tf.zerosLike(v), false) })));
  let t = 0;

  // Constants of the batch.
  const items = tf.tensor1d(batch.items, 'int32');
  const positives = tf.tensor1d(batch.positives, 'int32');
  const negatives = tf.tensor1d(batch.negatives, 'int32');
  const real = new Float32Array(N);
  let count = 0;
  for (let b = 0; b < B; b++) for (let i = 0; i < batch.lengths[b]; i++, count++) real[b * L + i] = 1;
  const realRows = tf.tensor2d(real, [N, 1]);
  const realFlat = tf.tensor1d(real);
  // Additive attention bias [B,1,L,L]: 0 where key j <= query i and j < length, else -1e9.
  const bias = new Float32Array(B * L * L);
  for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) for (let j = 0; j < L; j++) bias[(b * L + i) * L + j] = j <= i && j < batch.lengths[b] ? 0 : -1e9;
  const attnBias = tf.tensor4d(bias, [B, 1, L, L]);
  const embScale = tf.scalar(Math.sqrt(E));
  const attnScale = tf.scalar(1 / Math.sqrt(D));
  const eps = tf.scalar(1e-5);
  const invCount = tf.scalar(1 / count);
  const rowsOf = (idx) => tf.reshape(idx, [N, 1]);
  const itemRows = rowsOf(items);
  const positiveRows = rowsOf(positives);
  const negativeRows = rowsOf(negatives);
  const constants = [items, positives, negatives, itemRows, positiveRows, negativeRows, realRows, realFlat, attnBias, embScale, attnScale, eps, invCount];

  // Embedding lookups with their gradient as a scatter-add (tf.scatterND sums duplicate indices):
  // tf.gather's own gradient needs UnsortedSegmentSum, which the wasm backend does not have.
  const embedding = (idx, idxRows) => tf.customGrad((table) => ({
    value: tf.gather(table, idx),
    gradFunc: (dy) => tf.scatterND(idxRows, dy, table.shape),
  }));
  const lookupItems = embedding(items, itemRows);
  const lookupPositives = embedding(positives, positiveRows);
  const lookupNegatives = embedding(negatives, negativeRows);

  const layerNorm = (x, g, b) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), g), b);
  };
  const linear = (x, w, b) => tf.add(tf.matMul(x, w), b);
  const heads = (x) => tf.transpose(tf.reshape(x, [B, L, H, D]), [0, 2, 1, 3]); // [B,H,L,D]
  // softplus(z) = max(z, 0) + log1p(exp(-|z|)), stable both ways.
  const softplus = (z) => tf.add(tf.relu(z), tf.log1p(tf.exp(tf.neg(tf.abs(z)))));

  const loss = () => {
    const emb = p('itemEmbedding');
    let x = tf.add(tf.mul(lookupItems(emb), embScale), tf.tile(p('positionEmbedding'), [B, 1]));
    x = tf.mul(x, realRows); // padding rows hold zeros (model.js)
    for (let k = 0; k < shape.blocks; k++) {
      const w = (name) => p(`blocks.${k}.${name}`);
      const a = layerNorm(x, w('norm1.gamma'), w('norm1.beta'));
      const q = heads(linear(a, w('attention.wq'), w('attention.bq')));
      const kk = heads(linear(a, w('attention.wk'), w('attention.bk')));
      const v = heads(linear(a, w('attention.wv'), w('attention.bv')));
      const logits = tf.add(tf.mul(tf.matMul(q, kk, false, true), attnScale), attnBias);
      const o = tf.reshape(tf.transpose(tf.matMul(tf.softmax(logits), v), [0, 2, 1, 3]), [N, E]);
      x = tf.add(x, linear(o, w('attention.wo'), w('attention.bo')));
      const f = layerNorm(x, w('norm2.gamma'), w('norm2.beta'));
      x = tf.add(x, linear(tf.relu(linear(f, w('ffn.w1'), w('ffn.b1'))), w('ffn.w2'), w('ffn.b2')));
    }
    const h = layerNorm(x, p('finalNorm.gamma'), p('finalNorm.beta'));
    const sp = tf.sum(tf.mul(h, lookupPositives(emb)), -1);
    const sn = tf.sum(tf.mul(h, lookupNegatives(emb)), -1);
    return tf.mul(tf.sum(tf.mul(tf.add(softplus(tf.neg(sp)), softplus(sn)), realFlat)), invCount);
  };

  const varList = [...vars.values()];
  const gradients = () => tf.variableGrads(loss, varList);

  const adamUpdate = (grads) => {
    t += 1;
    const { lr, beta1, beta2, weightDecay } = ADAMW;
    const c1 = 1 - beta1 ** t;
    const c2 = 1 - beta2 ** t;
    tf.tidy(() => {
      varList.forEach((param, i) => {
        const g = grads[param.name];
        const st = moments[i];
        const m = tf.add(tf.mul(st.m, beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(st.v, beta2), tf.mul(tf.square(g), 1 - beta2));
        st.m.assign(m);
        st.v.assign(v);
        const decayed = tf.mul(param, 1 - lr * weightDecay);
        const update = tf.div(tf.div(m, c1), tf.add(tf.sqrt(tf.div(v, c2)), ADAMW.eps));
        param.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    });
  };

  return {
    /** Loss and gradients ([path, Float32Array]) without updating. */
    lossAndGradients() {
      const { value, grads } = gradients();
      const out = { loss: value.dataSync()[0], grads: [...vars.entries()].map(([path, v]) => [path, grads[v.name].dataSync()]) };
      value.dispose();
      tf.dispose(grads);
      return out;
    },
    step() {
      const { value, grads } = gradients();
      adamUpdate(grads);
      const l = value.dataSync()[0];
      value.dispose();
      tf.dispose(grads);
      return l;
    },
    release() {
      tf.dispose([...varList, ...moments.flatMap((s) => [s.m, s.v]), ...constants]);
    },
  };
}

/** Max |a - b| over two arrays, NaN when any value is not finite. */
function maxAbsDiff(a, b) {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!Number.isFinite(e)) return NaN;
    if (e > m) m = e;
  }
  return m;
}

/** Why tfjs-wasm has one thread here: tfjs-backend-wasm 4.x answers WASM_HAS_MULTITHREAD_SUPPORT = false under Node. */
const WASM_THREADS_NOTE = 'tfjs-backend-wasm turns threads off under Node (its WASM_HAS_MULTITHREAD_SUPPORT flag is false there, tfjs issue #3830; forcing the flag leaves the backend uninitialised)';

/** Loss tolerance (relative) of step 1 and step 2: both in float32, summation orders differ. */
const LOSS_RTOL = 1e-4;
/** Gradient tolerance: max abs difference over a parameter <= this times its largest |gradient| (floored, see agreement). */
const GRAD_RTOL = 1e-3;

/**
 * The agreement check on fresh models: step-1 loss, every parameter's gradient and the step-2 loss
 * (after one AdamW update in each) of attnkit on `dispatch` against tfjs on the current backend.
 */
function agreement(tf, shape, batch, dispatch) {
  const ak1 = attnkitStep(shape, batch, dispatch);
  const tj = tfjsStep(tf, shape, batch, ak1.initial);
  try {
    const a = ak1.lossAndGradients();
    const b = tj.lossAndGradients();
    const aGrads = new Map(flatten(a.grads).map(([path, g]) => [path, g.data ?? g]));
    // The gradient of bk is zero in exact arithmetic (softmax is blind to a per-query constant,
    // and q·bk is one), so both sides hold rounding noise (~1e-9) there: each parameter's error is
    // measured against its largest |gradient|, floored at 1e-3 x the largest over all parameters.
    let globalScale = 0;
    for (const [, g] of b.grads) for (const x of g) globalScale = Math.max(globalScale, Math.abs(x));
    let worstGrad = { path: null, rel: 0 };
    let gradsOk = true;
    for (const [path, g] of b.grads) {
      const want = aGrads.get(path);
      if (!want) throw new Error(`attnkit has no gradient for ${path}`);
      let scale = 0;
      for (const x of g) scale = Math.max(scale, Math.abs(x));
      const d = maxAbsDiff(want, g);
      const rel = d / Math.max(scale, 1e-3 * globalScale);
      if (!(rel <= GRAD_RTOL)) gradsOk = false;
      if (!(rel <= worstGrad.rel)) worstGrad = { path, rel };
    }
    const loss1 = { attnkit: a.loss, tfjs: b.loss, rel: Math.abs(a.loss - b.loss) / Math.abs(b.loss) };
    ak1.step();
    tj.step();
    const a2 = ak1.lossAndGradients().loss;
    const b2 = tj.lossAndGradients().loss;
    const loss2 = { attnkit: a2, tfjs: b2, rel: Math.abs(a2 - b2) / Math.abs(b2) };
    const within = loss1.rel <= LOSS_RTOL && loss2.rel <= LOSS_RTOL && gradsOk;
    return { loss1, loss2, worstGrad, within, maxAbs: Math.abs(a.loss - b.loss) };
  } finally {
    tj.release();
  }
}

/**
 * Approximate FLOPs of one step: 3x the forward's (the backward costs about twice the forward);
 * forward per block 8·N·E² (projections) + 4·N·E·F (FFN) + 4·B·E·L(L+1)/2 (causal attention,
 * visible pairs only), plus 4·N·E for the scores. N = B·L, F = E.
 */
function stepFlops({ B, L, E, blocks }) {
  const N = B * L;
  const block = 8 * N * E * E + 4 * N * E * E + 4 * B * E * ((L * (L + 1)) / 2);
  return 3 * (blocks * block + 4 * N * E);
}

/** The scenario's description of the check (bench/run-bench.js prints it with the verdict). */
const CHECK_TEXT = `tfjs agreement: step-1 and step-2 loss within rel ${LOSS_RTOL}, every gradient within ${GRAD_RTOL} x its max |g|`;

/**
 * The bench scenario (bench/scenarios.js): base = the tfjs step on the faster tfjs backend (wasm
 * asked for the bench's threads), variant = the attnkit step on the bench backend, the other tfjs
 * backend beside without a target (quick) or noted (full). make() is async (tfjs backends
 * initialise asynchronously); without tfjs it returns `{ skip: reason }`.
 */
function sasrecStepScenario(quick, { tfjsCpu = true } = {}) {
  const s = stepShape(quick);
  const flops = stepFlops(s);
  return {
    op: 'transformerEncoderLayer', // the step's bulk (forward and backward of the encoder layers); --op transformerEncoderLayer selects it
    usesTfjs: true,
    label: `SASRec training step (forward + backward + AdamW): B=${s.B} L=${s.L} E=${s.E} H=${s.H}, ${s.blocks} blocks, vs tfjs`,
    shape: s,
    target: { kind: 'speedup', value: 10 },
    // A tfjs step takes seconds: 2 rounds with a warm-up call each; the default mode (no
    // tfjs-cpu) one timed call of each after make()'s probe call (the warm-up).
    timing: tfjsCpu ? { rounds: 2, warmupCalls: 1 } : { rounds: 1, warmupCalls: 0, minSamples: 1 },
    baseLabel: 'tfjs step (the faster tfjs backend; set by make)',
    variantLabel: 'attnkit step (examples/sasrec)',
    baseFlops: flops,
    variantFlops: flops,
    backends: ['native'],
    peerCount: quick ? 1 : 0,
    async make(backend) {
      const tf = loadTf();
      if (!tf) return { skip: 'tfjs unavailable: @tensorflow/tfjs is not installed' };
      const threads = ak.getThreads();
      const batch = makeBatch(s);
      const d = { backend };
      const mine = attnkitStep(s, batch, d);
      // Both tfjs backends, each with its own copy of the initial parameters; errors noted.
      const steps = {};
      const problems = [];
      // tfjs-cpu only where the mode times it (--full, --quick; a full-size cpu step takes ~28 s).
      for (const be of tfjsCpu ? ['wasm', 'cpu'] : ['wasm']) {
        const err = await useBackend(be, threads);
        if (err) problems.push(`tfjs-${be}: ${err}`);
        else steps[be] = tfjsStep(tf, s, batch, mine.initial);
      }
      const names = Object.keys(steps);
      if (!names.length) return { skip: `tfjs unavailable: ${problems.join('; ')}` };
      // The faster tfjs backend is the base: one call of each (after a warm-up call at the quick
      // size; a full-size cpu step alone takes tens of seconds), then the base is timed against
      // attnkit and the other is shown beside (quick) or only noted with its one-call time (full).
      const probe = {};
      for (const be of names) {
        await tf.setBackend(be);
        if (quick) steps[be].step();
        const t0 = performance.now();
        steps[be].step();
        probe[be] = performance.now() - t0;
      }
      const baseName = names.reduce((a, b) => (probe[b] < probe[a] ? b : a));
      const other = names.find((n) => n !== baseName);
      const tfThreads = baseName === 'wasm' ? require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1 : 1;
      this.baseLabel = `tfjs-${baseName} step, ${tfThreads} thread(s) (tf.variableGrads + AdamW in tfjs ops)`;
      await tf.setBackend(baseName);
      // The check (losses and gradients against tfjs, then one AdamW step) costs ~4 tfjs steps:
      // in the default mode it runs at the quick shape (the same code paths; its text says so).
      const chkShape = tfjsCpu ? s : stepShape(true);
      const chk = agreement(tf, chkShape, tfjsCpu ? batch : makeBatch(chkShape), d);
      const probeText = names.map((n) => `tfjs-${n} ${(probe[n] / 1e3).toFixed(2)} s`).join(', ');
      const threadNote = tfThreads < threads ? `; tfjs runs ${tfThreads} thread(s), not ${threads}${baseName === 'wasm' ? `: ${WASM_THREADS_NOTE}` : ''}` : '';
      const check = () => ({
        maxAbs: chk.maxAbs,
        within: chk.within,
        what: `${CHECK_TEXT} on tfjs-${baseName}${chkShape === s ? '' : ` at the quick shape B=${chkShape.B} L=${chkShape.L}`} (step-1 loss attnkit ${chk.loss1.attnkit.toFixed(6)} vs tfjs ${chk.loss1.tfjs.toFixed(6)}, rel ${chk.loss1.rel.toExponential(1)}; worst gradient ${chk.worstGrad.path} rel ${chk.worstGrad.rel.toExponential(1)}; the base is the faster tfjs backend, one call each: ${probeText}${threadNote})`,
      });
      const peers = async () => {
        const errors = [...problems];
        if (!other) return { peers: [], errors };
        if (!quick) {
          steps[other].release();
          return { peers: [], errors: [...errors, `tfjs-${other} not timed further (one call each: ${probeText}); the target is judged on tfjs-${baseName}`] };
        }
        return {
          errors,
          peers: [{
            name: `tfjs-${other} step`,
            target: null,
            run: async () => {
              await tf.setBackend(other);
              try {
                return steps[other].step();
              } finally {
                await tf.setBackend(baseName);
              }
            },
            release: () => steps[other].release(), // disposal follows each tensor's own backend
          }],
        };
      };
      return {
        base: () => steps[baseName].step(),
        variant: () => mine.step(),
        check,
        peers,
        release: () => steps[baseName].release(),
      };
    },
  };
}

/** Times `fn` over `n` calls after one warm-up: median ms. */
async function timeSteps(fn, n) {
  await fn();
  const t = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  t.sort((a, b) => a - b);
  return t[Math.floor(t.length / 2)];
}

async function main(argv) {
  const quick = argv.includes('--quick');
  const arg = (name, dflt) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const threads = arg('--threads', 2);
  const steps = arg('--steps', 3);
  ak.setThreads(threads);
  const s = stepShape(quick);
  const tf = loadTf();
  const batch = makeBatch(s);
  const d = { backend: 'native' };
  console.log(`SASRec step B=${s.B} L=${s.L} E=${s.E} H=${s.H} blocks=${s.blocks} items=${s.numItems}, ${threads} thread(s)`);
  const mine = attnkitStep(s, batch, d);
  const akMs = await timeSteps(() => mine.step(), steps);
  console.log(`attnkit native: ${akMs.toFixed(1)} ms/step`);
  if (!tf) return console.log('tfjs unavailable: @tensorflow/tfjs is not installed');
  for (const be of ['wasm', 'cpu']) {
    const err = await useBackend(be, threads);
    if (err) {
      console.log(`tfjs-${be}: ${err}`);
      continue;
    }
    const chk = agreement(tf, s, batch, d);
    console.log(`tfjs-${be}${be === 'wasm' ? ` (${require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1} threads)` : ''}: step-1 loss attnkit ${chk.loss1.attnkit} tfjs ${chk.loss1.tfjs} (rel ${chk.loss1.rel.toExponential(2)}); step-2 loss attnkit ${chk.loss2.attnkit} tfjs ${chk.loss2.tfjs} (rel ${chk.loss2.rel.toExponential(2)}); worst gradient ${chk.worstGrad.path} rel ${chk.worstGrad.rel.toExponential(2)}: ${chk.within ? 'AGREE' : 'DISAGREE'}`);
    const st = tfjsStep(tf, s, batch, mine.initial);
    const ms = await timeSteps(() => st.step(), steps);
    st.release();
    console.log(`tfjs-${be}: ${ms.toFixed(1)} ms/step (attnkit at ${threads} thread(s) ${(ms / akMs).toFixed(2)}x faster)`);
    const tfThreads = be === 'wasm' ? require('@tensorflow/tfjs-backend-wasm').getThreadsCount?.() ?? 1 : 1;
    if (tfThreads !== threads) {
      // tfjs here runs fewer threads than asked (see WASM_THREADS_NOTE): attnkit at its count too.
      ak.setThreads(tfThreads);
      const same = attnkitStep(s, batch, d);
      const sameMs = await timeSteps(() => same.step(), steps);
      ak.setThreads(threads);
      console.log(`  tfjs-${be} ran ${tfThreads} thread(s)${be === 'wasm' ? ` (${WASM_THREADS_NOTE})` : ''}; attnkit native at ${tfThreads} thread(s): ${sameMs.toFixed(1)} ms/step, ${(ms / sameMs).toFixed(2)}x faster`);
    }
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}

module.exports = { sasrecStepScenario, stepShape, makeBatch, attnkitStep, tfjsStep, agreement, ADAMW };
