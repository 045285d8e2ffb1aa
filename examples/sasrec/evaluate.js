'use strict';
// The paper's evaluation: each user's true next item ranked among 100 sampled negatives (the
// candidates of data.js), HR@10 (is it in the top 10) and NDCG@10 (1 / log2(rank + 2) when it is,
// rank counted from 0), averaged over users. Scorers for the popularity baseline and the oracle.
//
// Ties: the true item's rank is taken as uniform over the places its ties could take (random
// tie-breaking), and the metrics are that rank's expectation, computed exactly: with g candidates
// scoring strictly higher and t scoring equal, rank r is uniform over g..g+t. Without ties this is
// the ordinary rank. A non-finite score is an error, never a rank.

/** Expected HR@k and NDCG@k of the true item (scores[0]) among scores[1..] (random tie-breaking). */
function rankMetrics(scores, k = 10) {
  const s0 = scores[0];
  if (!Number.isFinite(s0)) throw new RangeError(`the true item's score is ${s0}: scores must be finite`);
  let greater = 0;
  let ties = 0;
  for (let j = 1; j < scores.length; j++) {
    const s = scores[j];
    if (!Number.isFinite(s)) throw new RangeError(`candidate ${j}'s score is ${s}: scores must be finite`);
    if (s > s0) greater++;
    else if (s === s0) ties++;
  }
  let hr = 0;
  let ndcg = 0;
  for (let r = greater; r <= greater + ties && r < k; r++) {
    hr += 1;
    ndcg += 1 / Math.log2(r + 2);
  }
  return { hr: hr / (ties + 1), ndcg: ndcg / (ties + 1), rank: greater + ties / 2 };
}

/**
 * Mean HR@k and NDCG@k over users: `scoreUsers(userIndices, candidates)` returns, per user of the
 * chunk, the scores of its candidates (array-like, candidates[0] = the true item). Users are scored
 * in chunks of `chunk` (a model scores a batch at once).
 */
function evaluate(scoreUsers, candidates, { k = 10, chunk = 256, users = null } = {}) {
  const list = users ?? candidates.map((_, u) => u);
  let hr = 0;
  let ndcg = 0;
  for (let at = 0; at < list.length; at += chunk) {
    const us = list.slice(at, at + chunk);
    const scores = scoreUsers(us, us.map((u) => candidates[u]));
    if (scores.length !== us.length) throw new RangeError(`the scorer returned ${scores.length} rows for ${us.length} users`);
    scores.forEach((s) => {
      const m = rankMetrics(s, k);
      hr += m.hr;
      ndcg += m.ndcg;
    });
  }
  return { hr: hr / list.length, ndcg: ndcg / list.length, users: list.length };
}

/** Interaction counts per item over the training sequences (Float64Array [numItems + 1]). */
function popularity(split, numItems) {
  const counts = new Float64Array(numItems + 1);
  for (const s of split) for (const i of s.train) counts[i]++;
  return counts;
}

/** The popularity baseline's scorer: every user ranks by the training counts. */
const popularityScorer = (counts) => (users, cands) => cands.map((c) => Array.from(c, (i) => counts[i]));

/**
 * The oracle's scorer on generated data: the generator's true next-item probability after each
 * user's history (`historyOf(u)`), from data.js's nextItemDistribution. Ranking by it is the
 * best possible in expectation: the negatives are drawn uniformly from the items outside the
 * user's sequence whichever the true item is, so given the 101 candidates, the chance that
 * candidate i is the true one is proportional to its next-item probability.
 */
function oracleScorer(gen, historyOf) {
  const { nextItemDistribution } = require('./data.js');
  return (users, cands) => users.map((u, k) => {
    const p = nextItemDistribution(gen, historyOf(u));
    return Array.from(cands[k], (i) => p[i]);
  });
}

module.exports = { rankMetrics, evaluate, popularity, popularityScorer, oracleScorer };
