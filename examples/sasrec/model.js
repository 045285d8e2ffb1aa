'use strict';
// SASRec (Kang & McAuley 2018, "Self-Attentive Sequential Recommendation") on attnkit alone: the
// parameters, the forward pass, the loss and the backward pass. Everything that can be done by an
// attnkit op is: the encoder blocks (transformerEncoderLayer and its backward), the final
// LayerNorm (layerNorm, layerNormBackward) and the embedding gradients (embeddingBackward); the
// rest is a few loops over rows (gathering embeddings, the dot-product scores and their sigmoids).
//
// The model: x_t = itemEmbedding[s_t]·sqrt(E) + positionEmbedding[t] (learned positions), two
// causal pre-norm encoder blocks (ReLU feed-forward of width E), a final LayerNorm, and the score
// of item i at position t is h_t · itemEmbedding[i] (the input table, shared, as in the paper).
// Loss: binary cross-entropy of the next item against one sampled negative per position,
// -log σ(h_t·e_pos) - log σ(-h_t·e_neg), averaged over the real positions of the batch.
//
// Padding: sequences are right-padded (data.js padRight): a row's real items sit at positions
// 0..len-1 and padding after them. With `causal` (top-left: position i sees j <= i) and
// `keyLengths = len`, a real position never sees a padding key, so its output is exactly the one
// of the unpadded sequence. Padding positions are still computed (they see the real keys) but
// their outputs are never scored: their loss gradient is zero, which the backward carries through
// unchanged (rows are independent in the FFN and LayerNorm, and a zero dOut row gives no dQ, dK,
// dV), and the input gradient of padding rows is dropped explicitly before the embedding
// gradients. The paper pads on the left instead; the encoder's keyLengths masks keys at the end
// of a row, so right padding is the layout in which padding neither reaches a real row nor gets
// a gradient.
const ak = require('../../dist/cjs/index.js');

/** `{ data: Float32Array, shape }` of zeros. */
const zeros = (shape) => ({ data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape });
const dataOf = (t) => (t && t.data ? t.data : t);

/** A seeded normal sampler (Box-Muller over ak.seededRandom). */
function normalSampler(seed) {
  const rng = ak.seededRandom(seed);
  let spare = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    let u = 0;
    while (u === 0) u = rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

/**
 * The model's parameters, seeded: item embeddings [numItems + 1, E] (row 0 = padding, zero and
 * never updated: its gradient is excluded by embeddingBackward's paddingIndex) and position
 * embeddings [maxLen, E] ~ N(0, 1/E); per block Xavier-uniform projections (wq, wk, wv, wo [E,E],
 * w1 [E,F], w2 [F,E]), zero biases, LayerNorm gamma 1 and beta 0; the final LayerNorm likewise.
 */
function initParams({ numItems, maxLen, dim: E = 64, blocks = 2, ffnDim, seed = 1 }) {
  const F = ffnDim ?? E;
  const normal = normalSampler((seed * 48271 + 11) >>> 0);
  const uniform = ak.seededRandom((seed * 69621 + 7) >>> 0);
  const gaussian = (shape, std, skipRow0 = false) => {
    const t = zeros(shape);
    const from = skipRow0 ? shape[1] : 0;
    for (let i = from; i < t.data.length; i++) t.data[i] = normal() * std;
    return t;
  };
  const xavier = (rows, cols) => {
    const t = zeros([rows, cols]);
    const a = Math.sqrt(6 / (rows + cols));
    for (let i = 0; i < t.data.length; i++) t.data[i] = (uniform() * 2 - 1) * a;
    return t;
  };
  const ones = (n) => ({ data: new Float32Array(n).fill(1), shape: [n] });
  const block = () => ({
    attention: { wq: xavier(E, E), bq: zeros([E]), wk: xavier(E, E), bk: zeros([E]), wv: xavier(E, E), bv: zeros([E]), wo: xavier(E, E), bo: zeros([E]) },
    norm1: { gamma: ones(E), beta: zeros([E]) },
    ffn: { w1: xavier(E, F), b1: zeros([F]), w2: xavier(F, E), b2: zeros([E]) },
    norm2: { gamma: ones(E), beta: zeros([E]) },
  });
  return {
    itemEmbedding: gaussian([numItems + 1, E], 1 / Math.sqrt(E), true),
    positionEmbedding: gaussian([maxLen, E], 1 / Math.sqrt(E)),
    blocks: Array.from({ length: blocks }, block),
    finalNorm: { gamma: ones(E), beta: zeros([E]) },
  };
}

/** Every parameter tensor with its path ("blocks.0.attention.wq"), in a fixed order. */
function flatten(tree, prefix = '', out = []) {
  if (tree && tree.data instanceof Float32Array) {
    out.push([prefix, tree]);
    return out;
  }
  for (const [k, v] of Object.entries(tree)) if (v !== null && v !== undefined) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/**
 * A SASRec model over `numItems` items: `{ params, config, forward, lossAndGradients, scoreCandidates }`.
 * config: `numItems, maxLen, dim (E, 64), heads (1), blocks (2), ffnDim (E), dropout (0: applied
 * to the embedding sum while training), seed, dispatch` (attnkit dispatch options, e.g.
 * `{ backend: 'native' }`).
 */
function createModel(config) {
  const cfg = { dim: 64, heads: 1, blocks: 2, dropout: 0, seed: 1, dispatch: undefined, ...config };
  cfg.ffnDim = cfg.ffnDim ?? cfg.dim;
  if (cfg.dim % cfg.heads !== 0) throw new RangeError(`dim (${cfg.dim}) must be divisible by heads (${cfg.heads})`);
  const params = initParams(cfg);
  const E = cfg.dim;
  const scale = Math.sqrt(E);
  const dropRng = ak.seededRandom((cfg.seed * 16807 + 3) >>> 0);
  const layerOptions = (lengths, train) => ({ numHeads: cfg.heads, norm: 'pre', activation: 'relu', causal: true, keyLengths: lengths, ...(train ? { returnSaved: true } : {}) });

  /**
   * The forward pass over a right-padded batch `{ items [B*L], lengths [B], L }`: the final
   * hidden states [B*L*E] (Float32Array), and with `train` what the backward needs.
   */
  function forward(batch, { train = false } = {}) {
    const { items, lengths, L } = batch;
    const B = lengths.length;
    if (L > cfg.maxLen) throw new RangeError(`batch length ${L} exceeds maxLen ${cfg.maxLen}`);
    const emb = params.itemEmbedding.data;
    const pos = params.positionEmbedding.data;
    const x = new Float32Array(B * L * E);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]; t++) {
        const row = (b * L + t) * E;
        const e = items[b * L + t] * E;
        for (let c = 0; c < E; c++) x[row + c] = emb[e + c] * scale + pos[t * E + c];
      }
    }
    let keep = null;
    if (train && cfg.dropout > 0) {
      keep = new Float32Array(x.length);
      const k = 1 / (1 - cfg.dropout);
      for (let i = 0; i < x.length; i++) {
        keep[i] = dropRng() < cfg.dropout ? 0 : k;
        x[i] *= keep[i];
      }
    }
    let h = { data: x, shape: [B, L, E] };
    const saved = [];
    for (const block of params.blocks) {
      const r = ak.transformerEncoderLayer(h, block, layerOptions(lengths, train), cfg.dispatch);
      if (train) {
        saved.push(r.saved);
        h = r.output;
      } else h = r;
    }
    const fn = params.finalNorm;
    if (!train) return { hidden: dataOf(ak.layerNorm(h, fn.gamma, fn.beta, {}, cfg.dispatch)), B, L };
    const ln = ak.layerNorm(h, fn.gamma, fn.beta, { returnStats: true }, cfg.dispatch);
    return { hidden: dataOf(ln.output), B, L, saved, keep, preNorm: h, stats: { mean: ln.mean, invStd: ln.invStd } };
  }

  /**
   * The mean BCE loss of a training batch (data.js trainingBatch) and the gradient of every
   * parameter, in a tree shaped like `params`.
   */
  function lossAndGradients(batch) {
    const { items, lengths, positives, negatives } = batch;
    const f = forward(batch, { train: true });
    const { hidden, B, L } = f;
    const emb = params.itemEmbedding.data;
    const rows = B * L;
    let count = 0;
    for (let b = 0; b < B; b++) count += lengths[b];
    if (count === 0) throw new RangeError('the batch has no position to train on');
    const dHidden = new Float32Array(rows * E);
    const dPosRows = new Float32Array(rows * E);
    const dNegRows = new Float32Array(rows * E);
    let loss = 0;
    const softplus = (z) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    const sigmoid = (z) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < lengths[b]; t++) {
        const r = b * L + t;
        const h = r * E;
        const ep = positives[r] * E;
        const en = negatives[r] * E;
        let sp = 0;
        let sn = 0;
        for (let c = 0; c < E; c++) {
          sp += hidden[h + c] * emb[ep + c];
          sn += hidden[h + c] * emb[en + c];
        }
        loss += softplus(-sp) + softplus(sn);
        const gp = (sigmoid(sp) - 1) / count;
        const gn = sigmoid(sn) / count;
        for (let c = 0; c < E; c++) {
          dHidden[h + c] = gp * emb[ep + c] + gn * emb[en + c];
          dPosRows[h + c] = gp * hidden[h + c];
          dNegRows[h + c] = gn * hidden[h + c];
        }
      }
    }
    if (!Number.isFinite(loss)) throw new RangeError(`the loss is ${loss}: training diverged`);
    const numRows = cfg.numItems + 1;
    const pad = { paddingIndex: 0 };
    const dItem = dataOf(ak.embeddingBackward({ data: dPosRows, shape: [rows, E] }, positives, numRows, pad, cfg.dispatch));
    add(dItem, dataOf(ak.embeddingBackward({ data: dNegRows, shape: [rows, E] }, negatives, numRows, pad, cfg.dispatch)));

    const fn = params.finalNorm;
    const ln = ak.layerNormBackward({ data: dHidden, shape: [B, L, E] }, f.preNorm, fn.gamma, f.stats, cfg.dispatch);
    let dh = ln.dx;
    const dBlocks = new Array(params.blocks.length);
    for (let k = params.blocks.length - 1; k >= 0; k--) {
      const r = ak.transformerEncoderLayerBackward(dh, f.saved[k], cfg.dispatch);
      dBlocks[k] = r.dParams;
      dh = r.dx;
    }
    const dx = Float32Array.from(dataOf(dh));
    if (f.keep) for (let i = 0; i < dx.length; i++) dx[i] *= f.keep[i];
    // Padding rows carry no gradient (see the header); dropped explicitly so that holds exactly.
    const positions = new Int32Array(rows);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < L; t++) positions[b * L + t] = t;
      dx.fill(0, (b * L + lengths[b]) * E, (b + 1) * L * E);
    }
    const dPositions = dataOf(ak.embeddingBackward({ data: dx, shape: [rows, E] }, positions, cfg.maxLen, {}, cfg.dispatch));
    for (let i = 0; i < dx.length; i++) dx[i] *= scale;
    add(dItem, dataOf(ak.embeddingBackward({ data: dx, shape: [rows, E] }, items, numRows, pad, cfg.dispatch)));
    const grads = {
      itemEmbedding: { data: dItem, shape: params.itemEmbedding.shape },
      positionEmbedding: { data: dPositions, shape: params.positionEmbedding.shape },
      blocks: dBlocks,
      finalNorm: { gamma: ln.dGamma, beta: ln.dBeta },
    };
    return { loss: loss / count, positions: count, grads };
  }

  /**
   * Scores of each history's candidates: the last real position's hidden state against each
   * candidate's embedding. `histories` Int32Array[], `candidates` Int32Array[] -> Float64Array[].
   */
  function scoreCandidates(histories, candidates) {
    const { padRight } = require('./data.js');
    const batch = padRight(histories, cfg.maxLen);
    const { hidden, L } = forward(batch);
    const emb = params.itemEmbedding.data;
    return candidates.map((cands, b) => {
      const h = (b * L + batch.lengths[b] - 1) * E;
      return Float64Array.from(cands, (i) => {
        let s = 0;
        for (let c = 0; c < E; c++) s += hidden[h + c] * emb[i * E + c];
        return s;
      });
    });
  }

  return { params, config: cfg, forward, lossAndGradients, scoreCandidates };
}

/** a += b, elementwise. */
function add(a, b) {
  for (let i = 0; i < a.length; i++) a[i] += b[i];
}

module.exports = { createModel, initParams, flatten };
