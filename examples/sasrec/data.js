'use strict';
// Data for the SASRec example: a seeded generator of sequential interactions with planted
// structure (and its exact next-item distribution, the oracle), the MovieLens-1M ratings.dat
// loader with the SASRec paper's preprocessing, the leave-one-out split, the sampled evaluation
// candidates and the right-padded batches the model reads. Nothing here needs a backward op.
//
// Item ids are 1..numItems everywhere; 0 is the padding id.
const { seededRandom } = require('../../dist/cjs/index.js');

/** A uniform integer in [0, n) from `rng` (a () => [0, 1) function). */
const randInt = (rng, n) => Math.floor(rng() * n);

/** Fisher-Yates shuffle of `a` in place with `rng`; returns `a`. */
function shuffle(a, rng) {
  for (let i = a.length - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/** An index drawn from the non-negative `weights` (their sum `total` > 0). */
function drawIndex(weights, total, rng) {
  let u = rng() * total;
  let last = -1;
  for (let i = 0; i < weights.length; i++) {
    if (weights[i] <= 0) continue;
    last = i;
    u -= weights[i];
    if (u < 0) return i;
  }
  return last; // u landed on the rounding slack at the top: the last positive weight
}

// ---------------------------------------------------------------------------------------------
// The generator
//
// Items are split into clusters. A user's next item comes from a cluster chosen by a Markov chain
// over clusters (from the cluster of the user's last item: stay with probability `stay`, else move
// to one of `successors` fixed successor clusters), then an item of that cluster drawn by a Zipf
// popularity weight (1 / (rank + 1)^zipf within the cluster). Users never repeat an item (as in
// MovieLens, one rating per movie): a cluster with no unseen item left cannot be chosen (the
// chain's probabilities are renormalised over the clusters that can), and the item is drawn among
// the cluster's unseen items. The first item's cluster comes from `start`. When the last item's
// cluster has no reachable successor with unseen items, the next cluster comes from `start`
// (renormalised over the clusters with unseen items), and when that is empty too, uniformly over
// them. Because an item's cluster is known from the item, the state is visible in the history and
// `nextItemDistribution` below is exactly the generator's next-item distribution.

/**
 * A generator from explicit tables (the tests build tiny ones by hand).
 * `clusterOf` Int32Array [numItems + 1] (entry 0 unused), `weight` Float64Array [numItems + 1]
 * (> 0 for items), `transition` C arrays of C non-negative numbers (rows need not sum to 1), `start`
 * C non-negative numbers.
 */
function generatorFromTables({ clusterOf, weight, transition, start }) {
  const numItems = clusterOf.length - 1;
  const numClusters = start.length;
  const members = Array.from({ length: numClusters }, () => []);
  for (let i = 1; i <= numItems; i++) {
    const c = clusterOf[i];
    if (!(c >= 0 && c < numClusters)) throw new RangeError(`clusterOf[${i}] = ${c} is not a cluster in [0, ${numClusters})`);
    if (!(weight[i] > 0)) throw new RangeError(`weight[${i}] = ${weight[i]} must be > 0`);
    members[c].push(i);
  }
  if (transition.length !== numClusters || transition.some((row) => row.length !== numClusters)) {
    throw new RangeError(`transition must be ${numClusters} rows of ${numClusters}`);
  }
  return {
    numItems,
    numClusters,
    clusterOf: Int32Array.from(clusterOf),
    weight: Float64Array.from(weight),
    transition: transition.map((r) => Float64Array.from(r)),
    start: Float64Array.from(start),
    members: members.map((m) => Int32Array.from(m)),
  };
}

/**
 * The seeded generator: `numItems` items dealt at random into `numClusters` clusters of equal size
 * (±1), each cluster's order giving its Zipf ranks; cluster c stays with probability `stay` and
 * otherwise moves to one of `successors` other clusters chosen at random, with weights 1, 1/2, 1/3,
 * ...; the first cluster is drawn with weight 1 / (c + 1) (a popularity skew across clusters too).
 */
function makeGenerator({ numItems = 500, numClusters = 20, stay = 0.3, successors = 3, zipf = 1.0, seed = 1 } = {}) {
  if (numClusters < 2 || successors < 1 || successors >= numClusters) throw new RangeError('need numClusters >= 2 and 1 <= successors < numClusters');
  if (numItems < numClusters) throw new RangeError(`numItems (${numItems}) must be >= numClusters (${numClusters})`);
  const rng = seededRandom(seed);
  const items = shuffle(Array.from({ length: numItems }, (_, i) => i + 1), rng);
  const clusterOf = new Int32Array(numItems + 1);
  const weight = new Float64Array(numItems + 1);
  items.forEach((item, k) => {
    clusterOf[item] = k % numClusters;
    weight[item] = 1 / Math.pow(Math.floor(k / numClusters) + 1, zipf);
  });
  const transition = [];
  for (let c = 0; c < numClusters; c++) {
    const row = new Float64Array(numClusters);
    row[c] = stay;
    const others = shuffle(Array.from({ length: numClusters }, (_, i) => i).filter((i) => i !== c), rng).slice(0, successors);
    const norm = others.reduce((s, _, k) => s + 1 / (k + 1), 0);
    others.forEach((o, k) => {
      row[o] = ((1 - stay) * (1 / (k + 1))) / norm;
    });
    transition.push(row);
  }
  const start = Array.from({ length: numClusters }, (_, c) => 1 / (c + 1));
  return generatorFromTables({ clusterOf, weight, transition, start });
}

/** Per cluster, the total weight of the items not in `seen` (a Set or Uint8Array by item id). */
function unseenWeights(gen, seen) {
  const w = new Float64Array(gen.numClusters);
  for (let c = 0; c < gen.numClusters; c++) {
    for (const i of gen.members[c]) if (!seen[i]) w[c] += gen.weight[i];
  }
  return w;
}

/**
 * The probability of each next cluster given the last item's cluster (`last` = -1: no item yet)
 * and, per cluster, a number > 0 when it has unseen items left (clusters without get 0), as the
 * generator draws it.
 */
function clusterDistribution(gen, last, unseen) {
  const C = gen.numClusters;
  const p = new Float64Array(C);
  const fill = (row) => {
    let s = 0;
    for (let c = 0; c < C; c++) {
      p[c] = unseen[c] > 0 ? row(c) : 0;
      s += p[c];
    }
    return s;
  };
  let total = last >= 0 ? fill((c) => gen.transition[last][c]) : 0;
  if (total <= 0) total = fill((c) => gen.start[c]);
  if (total <= 0) total = fill(() => 1);
  if (total <= 0) throw new RangeError('every item has been seen: there is no next item');
  for (let c = 0; c < C; c++) p[c] /= total;
  return p;
}

/**
 * The generator's exact next-item distribution after `history` (item ids, oldest first):
 * Float64Array [numItems + 1], entry 0 = 0, seen items 0. This is the oracle: ranking candidates
 * by it is the best any model can do in expectation (see evaluate.js).
 */
function nextItemDistribution(gen, history) {
  const seen = new Uint8Array(gen.numItems + 1);
  for (const i of history) seen[i] = 1;
  const unseen = unseenWeights(gen, seen);
  const last = history.length ? gen.clusterOf[history[history.length - 1]] : -1;
  const pc = clusterDistribution(gen, last, unseen);
  const p = new Float64Array(gen.numItems + 1);
  for (let i = 1; i <= gen.numItems; i++) {
    const c = gen.clusterOf[i];
    if (!seen[i] && unseen[c] > 0) p[i] = (pc[c] * gen.weight[i]) / unseen[c];
  }
  return p;
}

/**
 * `numUsers` sequences from the generator, each of a length drawn uniformly in [minLen, maxLen]
 * (capped at numItems), seeded: the same arguments give the same sequences. Returns Int32Array[].
 */
function generateSequences(gen, { numUsers = 2000, minLen = 10, maxLen = 50, seed = 1 } = {}) {
  if (!(minLen >= 3 && maxLen >= minLen)) throw new RangeError(`need 3 <= minLen <= maxLen (got ${minLen}, ${maxLen}): leave-one-out takes two items`);
  const rng = seededRandom((seed * 7919 + 17) >>> 0);
  const users = [];
  for (let u = 0; u < numUsers; u++) {
    const n = Math.min(gen.numItems, minLen + randInt(rng, maxLen - minLen + 1));
    const seen = new Uint8Array(gen.numItems + 1);
    const remaining = Float64Array.from(gen.members, (m) => m.length); // unseen items per cluster
    const seq = new Int32Array(n);
    let last = -1;
    for (let t = 0; t < n; t++) {
      const pc = clusterDistribution(gen, last, remaining);
      const c = drawIndex(pc, 1, rng);
      const members = gen.members[c];
      const w = Array.from(members, (i) => (seen[i] ? 0 : gen.weight[i]));
      const item = members[drawIndex(w, w.reduce((a, b) => a + b, 0), rng)];
      seq[t] = item;
      seen[item] = 1;
      remaining[c] -= 1;
      last = c;
    }
    users.push(seq);
  }
  return users;
}

// ---------------------------------------------------------------------------------------------
// MovieLens-1M

/** A malformed ratings file: the message names the file and line. */
class RatingsFormatError extends Error {
  constructor(message, line) {
    super(message);
    this.name = 'RatingsFormatError';
    this.line = line;
  }
}

const FIELD = /^\d+$/;

/**
 * Parses MovieLens-1M `ratings.dat` text (`UserID::MovieID::Rating::Timestamp` per line; blank
 * lines and a trailing newline are allowed, `\r\n` too) into `{ user, item, rating, time }` rows in
 * file order. A malformed line throws a RatingsFormatError naming the line number and its text.
 */
function parseRatings(text, name = 'ratings.dat') {
  const rows = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const f = line.split('::');
    const show = line.length > 80 ? `${line.slice(0, 77)}...` : line;
    if (f.length !== 4 || !f.every((x) => FIELD.test(x))) {
      throw new RatingsFormatError(`${name} line ${n + 1}: expected UserID::MovieID::Rating::Timestamp (4 non-negative integers separated by '::'), got ${JSON.stringify(show)}`, n + 1);
    }
    const [user, item, rating, time] = f.map(Number);
    if (!Number.isSafeInteger(time) || !Number.isSafeInteger(user) || !Number.isSafeInteger(item)) {
      throw new RatingsFormatError(`${name} line ${n + 1}: a field is too large for an integer, got ${JSON.stringify(show)}`, n + 1);
    }
    rows.push({ user, item, rating, time });
  }
  if (!rows.length) throw new RatingsFormatError(`${name}: no ratings (the file is empty)`, 0);
  return rows;
}

/**
 * The SASRec paper's preprocessing of explicit ratings: every rating is an interaction; users and
 * items with fewer than `minCount` (5) interactions are dropped, repeatedly until every remaining
 * user and item has at least `minCount` (a 5-core; on ML-1M one pass already gets there, every
 * user having >= 20 ratings); each user's interactions sorted by timestamp (a stable sort: equal
 * timestamps keep their file order). Users and items are renumbered 1..n in order of first
 * appearance in the file. Returns `{ numUsers, numItems, sequences: Int32Array[] (by new user id
 * - 1), userIds, itemIds (new id - 1 -> original id) }`.
 */
function preprocessRatings(rows, { minCount = 5 } = {}) {
  let kept = rows;
  for (;;) {
    const users = new Map();
    const items = new Map();
    for (const r of kept) {
      users.set(r.user, (users.get(r.user) ?? 0) + 1);
      items.set(r.item, (items.get(r.item) ?? 0) + 1);
    }
    const next = kept.filter((r) => users.get(r.user) >= minCount && items.get(r.item) >= minCount);
    if (next.length === kept.length) break;
    kept = next;
  }
  if (!kept.length) throw new RangeError(`no user and item has ${minCount} or more interactions: nothing is left after filtering`);
  const userIndex = new Map();
  const itemIndex = new Map();
  const byUser = [];
  kept.forEach((r, order) => {
    if (!userIndex.has(r.user)) {
      userIndex.set(r.user, byUser.length);
      byUser.push([]);
    }
    if (!itemIndex.has(r.item)) itemIndex.set(r.item, itemIndex.size + 1);
    byUser[userIndex.get(r.user)].push({ item: itemIndex.get(r.item), time: r.time, order });
  });
  const sequences = byUser.map((events) => Int32Array.from(events.sort((a, b) => a.time - b.time || a.order - b.order), (e) => e.item));
  return { numUsers: byUser.length, numItems: itemIndex.size, sequences, userIds: [...userIndex.keys()], itemIds: [...itemIndex.keys()] };
}

/** Reads and preprocesses a ratings.dat file (see parseRatings, preprocessRatings). */
function loadMovieLens(file, options) {
  const fs = require('fs');
  const path = require('path');
  return preprocessRatings(parseRatings(fs.readFileSync(file, 'utf8'), path.basename(file)), options);
}

// ---------------------------------------------------------------------------------------------
// Split, candidates, batches

/**
 * Leave-one-out (the paper's split): per user, the last item is the test item, the second to last
 * the validation item, the rest training. Every sequence needs >= 3 items.
 */
function leaveOneOut(sequences) {
  return sequences.map((seq, u) => {
    if (seq.length < 3) throw new RangeError(`user ${u + 1} has ${seq.length} interactions: leave-one-out needs at least 3`);
    return { train: seq.subarray(0, seq.length - 2), valid: seq[seq.length - 2], test: seq[seq.length - 1] };
  });
}

/**
 * Per user, the evaluation candidates of the paper's protocol: the true item first, then
 * `numNegatives` (100) distinct items drawn uniformly among the items the user never interacted
 * with (train, validation and test items all excluded). Seeded; Int32Array [1 + numNegatives] each.
 */
function sampleCandidates(split, numItems, { which = 'test', numNegatives = 100, seed = 1 } = {}) {
  const rng = seededRandom((seed * 2654435761 + (which === 'test' ? 1 : 2)) >>> 0);
  return split.map((s, u) => {
    const seen = new Set(s.train);
    seen.add(s.valid);
    seen.add(s.test);
    if (numItems - seen.size < numNegatives) throw new RangeError(`user ${u + 1}: only ${numItems - seen.size} items outside the user's sequence, ${numNegatives} negatives needed`);
    const out = new Int32Array(1 + numNegatives);
    out[0] = which === 'test' ? s.test : s.valid;
    const taken = new Set();
    for (let k = 1; k <= numNegatives; ) {
      const i = 1 + randInt(rng, numItems);
      if (seen.has(i) || taken.has(i)) continue;
      taken.add(i);
      out[k++] = i;
    }
    return out;
  });
}

/** The history a user's evaluation item follows: training items (+ the validation item for test). */
const historyFor = (s, which) => (which === 'test' ? Int32Array.from([...s.train, s.valid]) : s.train);

/**
 * Right-padded model inputs for `histories` (Int32Array each), the last `maxLen` items of each:
 * `{ items: Int32Array [B * L] (0 = padding), lengths: Int32Array [B], L }` with L the longest kept
 * history (<= maxLen: a batch of short histories costs less). Position t of a row holds its t-th
 * kept item (oldest first): padding sits at the end, where causal attention plus keyLengths keep
 * it out of every real row (see model.js).
 */
function padRight(histories, maxLen) {
  const B = histories.length;
  const L = histories.reduce((m, h) => Math.max(m, Math.min(h.length, maxLen)), 1);
  const items = new Int32Array(B * L);
  const lengths = new Int32Array(B);
  histories.forEach((h, b) => {
    if (h.length === 0) throw new RangeError(`history ${b} is empty: there is nothing to predict from`);
    const kept = h.length > maxLen ? h.subarray(h.length - maxLen) : h;
    items.set(kept, b * L);
    lengths[b] = kept.length;
  });
  return { items, lengths, L };
}

/**
 * A training batch from users' training sequences, as the paper trains: inputs are the sequence
 * without its last item, the target at each position is the next item, and each position gets one
 * negative drawn uniformly among the items not in the user's training sequence. The last `maxLen`
 * steps are kept. `{ items, positives, negatives (Int32Array [B * L], 0 at padding), lengths, L }`.
 * Every sequence needs >= 2 items.
 */
function trainingBatch(trainSequences, maxLen, numItems, rng) {
  trainSequences.forEach((s, b) => {
    if (s.length < 2) throw new RangeError(`training sequence ${b} has ${s.length} item(s): it needs an input and a target`);
  });
  const inputs = trainSequences.map((s) => s.subarray(0, s.length - 1));
  const batch = padRight(inputs, maxLen);
  const { L } = batch;
  const positives = new Int32Array(batch.items.length);
  const negatives = new Int32Array(batch.items.length);
  trainSequences.forEach((s, b) => {
    const n = batch.lengths[b];
    const targets = s.subarray(s.length - n);
    positives.set(targets, b * L);
    const seen = new Set(s);
    if (seen.size >= numItems) throw new RangeError('a user has interacted with every item: no negative to sample');
    for (let t = 0; t < n; t++) {
      let j;
      do j = 1 + randInt(rng, numItems);
      while (seen.has(j));
      negatives[b * L + t] = j;
    }
  });
  return { ...batch, positives, negatives };
}

module.exports = {
  shuffle,
  makeGenerator,
  generatorFromTables,
  nextItemDistribution,
  generateSequences,
  RatingsFormatError,
  parseRatings,
  preprocessRatings,
  loadMovieLens,
  leaveOneOut,
  sampleCandidates,
  historyFor,
  padRight,
  trainingBatch,
};
