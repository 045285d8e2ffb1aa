// The SASRec example (examples/sasrec/): the generator and its oracle, the MovieLens-1M loader and
// the paper's preprocessing, the split, the candidates and batches, HR@10 / NDCG@10, the progress
// bar, the report, the `attnkit train` command line, the model's gradients and a quick training run. Every expected value here is worked out by
// hand from the definitions (in the comments), never taken from the code under test.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createRequire } from 'module';

const require = createRequire(import.meta.url);
const data = require('../examples/sasrec/data.js');
const ev = require('../examples/sasrec/evaluate.js');
const { createProgress, clock } = require('../examples/sasrec/progress.js');
const { htmlReport } = require('../examples/sasrec/report.js');
const { parseTrainArgs, settings } = require('../examples/sasrec/cli.js');

const close = (got, want, label, tol = 1e-12) => assert.ok(Math.abs(got - want) <= tol, `${label}: got ${got}, want ${want}`);
const tmp = mkdtempSync(join(tmpdir(), 'attnkit-sasrec-'));
const cli = (args) => spawnSync(process.execPath, ['bin/attnkit.js', ...args], { encoding: 'utf8', env: { ...process.env, ATTNKIT_NO_XVFB: '1' }, maxBuffer: 64 << 20 });

// ---------------------------------------------------------------------------------------------
// The generator and the oracle

// Two clusters, four items: cluster 0 = {1 (weight 2), 2 (weight 1)}, cluster 1 = {3 (1), 4 (3)}.
const tiny = (transition = [[0.5, 0.5], [0.2, 0.8]], start = [1, 3]) =>
  data.generatorFromTables({ clusterOf: [0, 0, 0, 1, 1], weight: [0, 2, 1, 1, 3], transition, start });

test('oracle: the next-item distribution of a tiny generator, worked out by hand', () => {
  const g = tiny();
  const check = (history, want, label) => {
    const p = data.nextItemDistribution(g, history);
    assert.is(p.length, 5);
    want.forEach((w, i) => close(p[i], w, `${label}: P(${i})`, 1e-15));
  };
  // No history: clusters by start 1:3 -> 1/4, 3/4; within: 2/3, 1/3 and 1/4, 3/4.
  check([], [0, 1 / 6, 1 / 12, 3 / 16, 9 / 16], 'empty history');
  // After item 4 (cluster 1): row [0.2, 0.8]; cluster 1 has only item 3 unseen.
  check([4], [0, 0.2 * (2 / 3), 0.2 * (1 / 3), 0.8, 0], 'after 4');
  // After 4, 3: cluster 1 is exhausted, so cluster 0 gets all of the renormalised row.
  check([4, 3], [0, 2 / 3, 1 / 3, 0, 0], 'after 4, 3');
  // After 1, 2 (cluster 0 exhausted): row [0.5, 0.5] restricted to cluster 1.
  check([1, 2], [0, 0, 0, 1 / 4, 3 / 4], 'after 1, 2');
  // A row with no weight on the clusters left falls back to start (restricted), then to uniform.
  check([1, 2], [0, 0, 0, 1 / 4, 3 / 4], 'after 1, 2 via start');
  const viaStart = data.generatorFromTables({ clusterOf: [0, 0, 0, 1, 1], weight: [0, 2, 1, 1, 3], transition: [[1, 0], [0, 1]], start: [0, 1] });
  const ps = data.nextItemDistribution(viaStart, [1, 2]);
  close(ps[3], 1 / 4, 'start fallback P(3)');
  close(ps[4], 3 / 4, 'start fallback P(4)');
  const viaUniform = data.generatorFromTables({ clusterOf: [0, 0, 0, 1, 1, 1], weight: [0, 2, 1, 1, 3, 4], transition: [[1, 0], [0, 1]], start: [1, 0] });
  const pu = data.nextItemDistribution(viaUniform, [1, 2]);
  [1 / 8, 3 / 8, 4 / 8].forEach((w, k) => close(pu[3 + k], w, `uniform fallback P(${3 + k})`));
  assert.throws(() => data.nextItemDistribution(g, [1, 2, 3, 4]), /every item has been seen/);
});

test('oracle bound: HR@k / NDCG@k of ranking by the true probability on a tiny case', () => {
  const g = tiny();
  // User 0 after [4]: true item 1 (P 2/15) among 2 (1/15) and 3 (0.8): one candidate above -> rank 1.
  // User 1 after []: true item 4 (9/16) among 1 (1/6) and 3 (3/16): rank 0.
  const histories = [[4], []];
  const candidates = [Int32Array.from([1, 2, 3]), Int32Array.from([4, 1, 3])];
  const scorer = ev.oracleScorer(g, (u) => histories[u]);
  const at1 = ev.evaluate(scorer, candidates, { k: 1 });
  close(at1.hr, 0.5, 'HR@1 = (0 + 1) / 2');
  close(at1.ndcg, 0.5, 'NDCG@1 = (0 + 1) / 2');
  const at2 = ev.evaluate(scorer, candidates, { k: 2 });
  close(at2.hr, 1, 'HR@2 = (1 + 1) / 2');
  close(at2.ndcg, (1 / Math.log2(3) + 1) / 2, 'NDCG@2 = (1/log2(3) + 1) / 2');
  assert.is(at2.users, 2);
});

test('the sampler draws from the oracle distribution (first and second items, 40,000 sequences)', () => {
  const g = tiny();
  const n = 40000;
  const seqs = data.generateSequences(g, { numUsers: n, minLen: 3, maxLen: 3, seed: 5 });
  const first = new Float64Array(5);
  const afterFour = new Float64Array(5);
  let fours = 0;
  for (const s of seqs) {
    assert.is(new Set(s).size, s.length, 'no item repeats within a sequence');
    first[s[0]]++;
    if (s[0] === 4) {
      fours++;
      afterFour[s[1]]++;
    }
  }
  const within = (count, total, p, label) => {
    const sd = Math.sqrt(total * p * (1 - p));
    assert.ok(Math.abs(count - total * p) <= 5 * sd + 1e-9, `${label}: ${count} of ${total}, expected ${total * p} ± ${5 * sd}`);
  };
  const p0 = data.nextItemDistribution(g, []);
  const p4 = data.nextItemDistribution(g, [4]);
  for (let i = 1; i <= 4; i++) {
    within(first[i], n, p0[i], `first item ${i}`);
    within(afterFour[i], fours, p4[i], `second item ${i} after 4`);
  }
});

test('the generator is deterministic: same seed, same tables and sequences; another seed differs', () => {
  const a = data.makeGenerator({ numItems: 120, numClusters: 6, seed: 3 });
  const b = data.makeGenerator({ numItems: 120, numClusters: 6, seed: 3 });
  const c = data.makeGenerator({ numItems: 120, numClusters: 6, seed: 4 });
  assert.equal(Array.from(a.clusterOf), Array.from(b.clusterOf));
  assert.equal(a.transition.map((r) => Array.from(r)), b.transition.map((r) => Array.from(r)));
  assert.not.equal(Array.from(a.clusterOf), Array.from(c.clusterOf));
  const sa = data.generateSequences(a, { numUsers: 50, minLen: 5, maxLen: 20, seed: 9 });
  const sb = data.generateSequences(b, { numUsers: 50, minLen: 5, maxLen: 20, seed: 9 });
  const sc = data.generateSequences(a, { numUsers: 50, minLen: 5, maxLen: 20, seed: 10 });
  assert.equal(sa.map((s) => Array.from(s)), sb.map((s) => Array.from(s)));
  assert.not.equal(sa.map((s) => Array.from(s)), sc.map((s) => Array.from(s)));
  for (const s of sa) {
    assert.ok(s.length >= 5 && s.length <= 20, `length ${s.length} in [5, 20]`);
    assert.is(new Set(s).size, s.length);
    for (const i of s) assert.ok(i >= 1 && i <= 120);
  }
  // Rows of the chain: stay 0.3 plus three successors with weights 1 : 1/2 : 1/3 over the other 0.7.
  for (const [ci, row] of a.transition.entries()) {
    close(row[ci], 0.3, `stay of cluster ${ci}`, 1e-15);
    const moves = Array.from(row).filter((v, j) => j !== ci && v > 0).sort((x, y) => y - x);
    assert.is(moves.length, 3);
    const norm = 1 + 1 / 2 + 1 / 3;
    moves.forEach((v, k) => close(v, (0.7 / (k + 1)) / norm, `successor ${k} of cluster ${ci}`, 1e-15));
  }
});

// ---------------------------------------------------------------------------------------------
// MovieLens-1M format

// A ratings.dat-format file (UserID::MovieID::Rating::Timestamp) built so that each rule shows:
// user 6 has 4 ratings (dropped); item 16 has 2 ratings (dropped), which leaves user 7 with 4, so
// user 7 goes in a second round (a one-pass filter would keep it); user 1's lines are out of time
// order; user 2 has two ratings at the same time (file order kept); user 5's are all at one time.
const RATINGS = [
  '1::13::5::300', '1::11::4::100', '7::16::3::10', '1::16::2::150', '1::12::5::200',
  '2::15::3::40', '2::14::3::40', '2::11::3::10', '2::12::3::20', '2::13::3::30',
  '1::14::1::400', '1::15::1::500',
  '3::11::5::1', '3::12::5::2', '3::13::5::3', '3::14::5::4', '3::15::5::5',
  '4::15::5::9', '4::14::5::8', '4::13::5::7', '4::12::5::6', '4::11::5::5',
  '5::11::2::100', '5::12::2::100', '5::13::2::100', '5::14::2::100', '5::15::2::100',
  '6::11::1::1', '6::12::1::2', '6::13::1::3', '6::14::1::4',
  '7::11::3::11', '7::12::3::12', '7::13::3::13', '7::14::3::14',
];

test('loader: 5-core filtering (repeated), time order (stable on ties), renumbering, leave-one-out', () => {
  const file = join(tmp, 'ratings.dat');
  writeFileSync(file, `${RATINGS.join('\r\n')}\r\n`);
  const ml = data.loadMovieLens(file);
  assert.is(ml.numUsers, 5, 'users 6 (4 ratings) and 7 (4 once item 16 is gone) dropped');
  assert.is(ml.numItems, 5, 'item 16 (2 ratings) dropped');
  assert.equal(ml.userIds, [1, 2, 3, 4, 5]);
  // Items renumbered by first appearance among the kept lines: 13, 11, 12, 15, 14 -> 1..5.
  assert.equal(ml.itemIds, [13, 11, 12, 15, 14]);
  // By time: 11, 12, 13, 14, 15 -> 2, 3, 1, 5, 4; user 2's 15 and 14 share time 40 (file order: 15 first).
  assert.equal(ml.sequences.map((s) => Array.from(s)), [[2, 3, 1, 5, 4], [2, 3, 1, 4, 5], [2, 3, 1, 5, 4], [2, 3, 1, 5, 4], [2, 3, 1, 5, 4]]);
  const split = data.leaveOneOut(ml.sequences);
  assert.equal(Array.from(split[0].train), [2, 3, 1]);
  assert.is(split[0].valid, 5);
  assert.is(split[0].test, 4);
  assert.equal(Array.from(split[1].train), [2, 3, 1]);
  assert.is(split[1].valid, 4);
  assert.is(split[1].test, 5);
  // Every rating is an interaction, whatever its value (user 1 rated 14 and 15 with 1 star).
  assert.ok(ml.sequences[0].includes(5) && ml.sequences[0].includes(4));
});

test('loader: malformed lines are errors naming the file, the line and its text', () => {
  const bad = [
    [['1::2::3::4', '1::2::3'], 2],
    [['1::2::3::4', '', 'a::2::3::4'], 3],
    [['1:2:3:4'], 1],
    [['1::2::3::4::5'], 1],
    [['1::-2::3::4'], 1],
    [['1::2::3.5::4'], 1],
  ];
  for (const [lines, at] of bad) {
    const text = lines.join('\n');
    try {
      data.parseRatings(text, 'ratings.dat');
      assert.unreachable(`${JSON.stringify(text)} parsed`);
    } catch (e) {
      assert.instance(e, data.RatingsFormatError);
      assert.is(e.line, at);
      assert.match(e.message, `ratings.dat line ${at}: expected UserID::MovieID::Rating::Timestamp`);
      assert.match(e.message, JSON.stringify(lines[at - 1]));
    }
  }
  assert.throws(() => data.parseRatings('\n\n'), /no ratings/);
  assert.throws(() => data.preprocessRatings(data.parseRatings('1::2::3::4\n')), /nothing is left/);
  const file = join(tmp, 'broken.dat');
  writeFileSync(file, '1::2::5::100\n1::3::5::x\n');
  assert.throws(() => data.loadMovieLens(file), /broken\.dat line 2/);
});

test('leave-one-out needs 3 items; the split keeps views of the sequence', () => {
  assert.throws(() => data.leaveOneOut([Int32Array.from([1, 2])]), /user 1 has 2 interactions/);
  const [s] = data.leaveOneOut([Int32Array.from([7, 8, 9])]);
  assert.equal([Array.from(s.train), s.valid, s.test], [[7], 8, 9]);
  assert.equal(Array.from(data.historyFor(s, 'valid')), [7]);
  assert.equal(Array.from(data.historyFor(s, 'test')), [7, 8]);
});

// ---------------------------------------------------------------------------------------------
// Candidates and batches

test('candidates: the true item first, 100 distinct items the user never touched, seeded', () => {
  const seqs = [Int32Array.from([1, 2, 3, 4, 5]), Int32Array.from([10, 20, 30])];
  const split = data.leaveOneOut(seqs);
  const test1 = data.sampleCandidates(split, 200, { which: 'test', seed: 4 });
  const valid1 = data.sampleCandidates(split, 200, { which: 'valid', seed: 4 });
  assert.equal(test1.map((c) => c[0]), [5, 30]);
  assert.equal(valid1.map((c) => c[0]), [4, 20]);
  for (const [u, c] of test1.entries()) {
    assert.is(c.length, 101);
    const negatives = Array.from(c.subarray(1));
    assert.is(new Set(negatives).size, 100, 'distinct');
    for (const i of negatives) {
      assert.ok(i >= 1 && i <= 200);
      assert.not.ok(seqs[u].includes(i), `negative ${i} is not one of the user's items`);
    }
  }
  assert.equal(data.sampleCandidates(split, 200, { which: 'test', seed: 4 }).map((c) => Array.from(c)), test1.map((c) => Array.from(c)));
  assert.throws(() => data.sampleCandidates(split, 104, { which: 'test' }), /only 99 items outside/);
});

test('training batch: inputs, next-item targets and negatives aligned, right padding, truncation', () => {
  const rng = require('../dist/cjs/index.js').seededRandom(1);
  const b = data.trainingBatch([Int32Array.from([5, 6, 7, 8]), Int32Array.from([1, 2, 3, 4, 5, 6, 7])], 4, 50, rng);
  assert.is(b.L, 4);
  assert.equal(Array.from(b.lengths), [3, 4]);
  // Row 0: inputs 5 6 7 -> targets 6 7 8, one padding slot. Row 1: the last 4 steps of 1..7.
  assert.equal(Array.from(b.items), [5, 6, 7, 0, 3, 4, 5, 6]);
  assert.equal(Array.from(b.positives), [6, 7, 8, 0, 4, 5, 6, 7]);
  const seqs = [[5, 6, 7, 8], [1, 2, 3, 4, 5, 6, 7]];
  for (let r = 0; r < 8; r++) {
    const [row, t] = [Math.floor(r / 4), r % 4];
    if (t >= b.lengths[row]) assert.is(b.negatives[r], 0, 'padding has no negative');
    else assert.ok(b.negatives[r] >= 1 && b.negatives[r] <= 50 && !seqs[row].includes(b.negatives[r]), `negative ${b.negatives[r]} outside the sequence`);
  }
  const short = data.padRight([Int32Array.from([9]), Int32Array.from([4, 5])], 10);
  assert.is(short.L, 2, 'a batch is as long as its longest history, not maxLen');
  assert.equal(Array.from(short.items), [9, 0, 4, 5]);
  assert.throws(() => data.trainingBatch([Int32Array.from([3])], 4, 50, rng), /needs an input and a target/);
});

// ---------------------------------------------------------------------------------------------
// Metrics

test('HR@10 and NDCG@10 of hand-ranked candidates (rank from 0; ties in expectation)', () => {
  // True item third (two above): HR@10 1, NDCG 1/log2(4) = 0.5; not in the top 2; in the top 3.
  let m = ev.rankMetrics([0.5, 0.9, 0.1, 0.7]);
  close(m.hr, 1, 'HR@10');
  close(m.ndcg, 0.5, 'NDCG@10');
  close(ev.rankMetrics([0.5, 0.9, 0.1, 0.7], 2).hr, 0, 'HR@2');
  close(ev.rankMetrics([0.5, 0.9, 0.1, 0.7], 3).ndcg, 0.5, 'NDCG@3');
  m = ev.rankMetrics([3, 1, 2]);
  close(m.ndcg, 1, 'first place: NDCG 1');
  // One tie: rank 0 or 1 with equal chance.
  m = ev.rankMetrics([1, 1, 0], 1);
  close(m.hr, 0.5, 'tie HR@1');
  close(m.ndcg, 0.5, 'tie NDCG@1');
  m = ev.rankMetrics([1, 1, 0]);
  close(m.ndcg, (1 + 1 / Math.log2(3)) / 2, 'tie NDCG@10');
  // 101 candidates: 9 above -> rank 9, the last place in the top 10; 10 above -> out.
  const scores = (above) => [0, ...Array.from({ length: 100 }, (_, j) => (j < above ? 1 : -1))];
  m = ev.rankMetrics(scores(9));
  close(m.hr, 1, '9 above: hit');
  close(m.ndcg, 1 / Math.log2(11), '9 above: NDCG 1/log2(11)');
  m = ev.rankMetrics(scores(10));
  assert.equal([m.hr, m.ndcg], [0, 0]);
  // Ties across the boundary: 8 above and 4 tied: ranks 8..12 equally likely, 2 of 5 inside.
  m = ev.rankMetrics([0, ...Array(8).fill(1), ...Array(4).fill(0), ...Array(88).fill(-1)]);
  close(m.hr, 2 / 5, 'tied across the cut HR');
  close(m.ndcg, (1 / Math.log2(10) + 1 / Math.log2(11)) / 5, 'tied across the cut NDCG');
  assert.throws(() => ev.rankMetrics([NaN, 1]), /true item's score is NaN/);
  assert.throws(() => ev.rankMetrics([1, Infinity]), /candidate 1's score is Infinity/);
});

test('evaluate averages over users; popularity ranks by training counts', () => {
  // Training items: user 0 [1, 2], user 1 [2, 3], user 2 [2]: counts 1:1, 2:3, 3:1.
  const split = data.leaveOneOut([Int32Array.from([1, 2, 8, 9]), Int32Array.from([2, 3, 8, 7]), Int32Array.from([2, 6, 5])]);
  const counts = ev.popularity(split, 9);
  assert.equal(Array.from(counts), [0, 1, 3, 1, 0, 0, 0, 0, 0, 0]);
  // Candidates: user 0 true 2 (3) vs 1, 3 -> rank 0; user 1 true 4 (0) vs 2 (3), 1 (1) -> rank 2;
  // user 2 true 1 (1) vs 3 (1), 5 (0) -> tie: rank 0 or 1.
  const cands = [Int32Array.from([2, 1, 3]), Int32Array.from([4, 2, 1]), Int32Array.from([1, 3, 5])];
  const r = ev.evaluate(ev.popularityScorer(counts), cands, { k: 1, chunk: 2 });
  close(r.hr, (1 + 0 + 0.5) / 3, 'HR@1');
  close(r.ndcg, (1 + 0 + 0.5) / 3, 'NDCG@1');
  const r10 = ev.evaluate(ev.popularityScorer(counts), cands);
  close(r10.ndcg, (1 + 1 / Math.log2(4) + (1 + 1 / Math.log2(3)) / 2) / 3, 'NDCG@10');
  assert.throws(() => ev.evaluate(() => [[1]], cands), /returned 1 rows for 3 users/);
});

// ---------------------------------------------------------------------------------------------
// Progress, report, command line

const fakeStream = (isTTY) => ({ isTTY, text: '', write(s) { this.text += s; } });

test('progress: plain epoch lines off a terminal; a redrawn bar with loss, seq/s and ETA on one', () => {
  let t = 0;
  const plain = fakeStream(false);
  const p = createProgress({ stream: plain, now: () => t });
  p.start({ epochs: 2, steps: 4, sequences: 400 });
  for (let s = 1; s <= 4; s++) {
    t += 500;
    p.step({ epoch: 1, step: s, loss: 0.5, sequences: 100 });
  }
  p.epochEnd({ epoch: 1, loss: 0.5, hr: 0.25, ndcg: 0.125 });
  assert.not.match(plain.text, '\r');
  // 400 sequences in 2 s = 200 seq/s; half the steps done in 2 s -> 2 s to go.
  assert.is(plain.text, 'epoch 1/2  loss 0.5000  valid HR@10 0.2500  NDCG@10 0.1250  200 seq/s  ETA 0:02\n');
  t = 0;
  const term = fakeStream(true);
  const q = createProgress({ stream: term, now: () => t, intervalMs: 0, width: 4 });
  q.start({ epochs: 1, steps: 2, sequences: 10 });
  t = 1000;
  q.step({ epoch: 1, step: 1, loss: 0.75, sequences: 5 });
  assert.is(term.text, '\r\x1b[2Kepoch 1/1 [##--] 1/2  loss 0.7500  5 seq/s  ETA 0:01');
  q.done();
  assert.match(term.text, /trained 1 epochs in 0:01/);
  assert.equal([clock(59.6), clock(61), clock(3725), clock(NaN)], ['1:00', '1:01', '1:02:05', '?']);
});

test('report: the three rankers side by side and the training curve as SVG', () => {
  const m = (hr, ndcg) => ({ hr, ndcg, users: 10 });
  const result = {
    history: [1, 2, 3].map((e) => ({ epoch: e, loss: 1 / e, hr: 0.3 + e / 10, ndcg: 0.2, seconds: 1 })),
    validBaselines: { popularity: m(0.4, 0.2), oracle: m(0.8, 0.5) },
    test: { model: m(0.61, 0.35), popularity: m(0.41, 0.21), oracle: m(0.81, 0.51) },
    config: { epochs: 3, batchSize: 8, maxLen: 5, dim: 8, heads: 1, blocks: 2, dropout: 0, lr: 0.01, weightDecay: 0, betas: [0.9, 0.98], seed: 1 },
    parameters: 1234, users: 10, numItems: 20, seconds: 3,
  };
  const html = htmlReport(result, { command: 'npx attnkit train sasrec --quick', data: 'generated <data>', machine: 'test machine' });
  for (const s of ['SASRec (attnkit, trained)', '<td>0.6100</td>', 'popularity (training counts)', '<td>0.4100</td>', 'oracle', '<td>0.8100</td>', 'generated &lt;data&gt;', 'npx attnkit train sasrec --quick']) assert.ok(html.includes(s), `report contains ${s}`);
  assert.is((html.match(/<svg class="chart /g) || []).length, 2, 'two charts: loss and HR@10');
  const hrChart = html.slice(html.indexOf('<svg class="chart hr"'));
  assert.is((hrChart.match(/class="level"/g) || []).length, 2, 'popularity and oracle drawn as levels');
  const points = hrChart.match(/<polyline class="series" data-name="SASRec"[^>]*points="([^"]*)"/)[1].trim().split(' ');
  assert.is(points.length, 3, 'one point per epoch');
  const ys = points.map((p) => Number(p.split(',')[1]));
  assert.ok(ys[0] > ys[1] && ys[1] > ys[2], 'a rising HR is drawn rising (SVG y grows downwards)');
  const noOracle = htmlReport({ ...result, validBaselines: { popularity: m(0.4, 0.2) }, test: { model: m(0.6, 0.3), popularity: m(0.4, 0.2) } });
  assert.not.ok(noOracle.includes('oracle (the generator'), 'no oracle row for MovieLens');
});

test('command line: options parsed and checked; train needs an example; --data names a missing file', () => {
  assert.equal(parseTrainArgs(['--quick', '--epochs', '3', '--lr=0.01', '--report', 'x.html']), { quick: true, epochs: 3, lr: 0.01, report: 'x.html' });
  assert.throws(() => parseTrainArgs(['--epochs', '0']), /--epochs expects a positive integer/);
  assert.throws(() => parseTrainArgs(['--dropout', '1']), /probability in \[0, 1\)/);
  assert.throws(() => parseTrainArgs(['--frobnicate']), /unknown option --frobnicate/);
  assert.throws(() => settings({ dim: 10, heads: 3 }), /divisible/);
  const ml = settings({ data: 'ratings.dat' });
  assert.equal([ml.maxLen, ml.dim, ml.heads, ml.blocks, ml.dropout, ml.lr, ml.batchSize], [200, 50, 1, 2, 0.2, 0.001, 128], 'the paper\'s ML-1M settings');
  let r = cli(['train']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /train needs an example name; the examples: sasrec/);
  r = cli(['train', 'bert']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown example 'bert'/);
  r = cli(['train', 'sasrec', '--help']);
  assert.is(r.status, 0);
  assert.match(r.stdout, /attnkit train sasrec \[options\]/);
  r = cli(['train', 'sasrec', '--bogus']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown option --bogus/);
  r = cli(['train', 'sasrec', '--data', join(tmp, 'missing.dat')]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /no such file .*licence forbids redistribution/);
  r = cli(['--help']);
  assert.match(r.stdout, /train\s+train sasrec/);
});

// ---------------------------------------------------------------------------------------------
// Training (the backward ops, the encoder's backward and adamStep)

test('model: lossAndGradients against central differences of its own loss (tiny model, float32)', () => {
  const { createModel, flatten } = require('../examples/sasrec/model.js');
  const ak = require('../dist/cjs/index.js');
  const m = createModel({ numItems: 12, maxLen: 6, dim: 8, heads: 2, seed: 2 });
  const batch = data.trainingBatch([Int32Array.from([1, 2, 3, 4, 5, 6, 7]), Int32Array.from([8, 9, 10]), Int32Array.from([11, 3, 5, 7])], 6, 12, ak.seededRandom(3));
  const r = m.lossAndGradients(batch);
  // 7 items give 6 (input, target) pairs (maxLen 6 keeps them all), 3 items 2, 4 items 3.
  assert.is(r.positions, 6 + 2 + 3, 'every real position trained, padding not');
  const grads = new Map(flatten(r.grads));
  assert.equal([...grads.keys()].sort(), flatten(m.params).map(([p]) => p).sort(), 'a gradient for every parameter, same paths');
  assert.ok(grads.get('itemEmbedding').data.subarray(0, 8).every((x) => x === 0), 'the padding row gets no gradient');
  // The forward is float32: with h = 3e-3 the differences carry ~1e-5 of rounding noise on a loss
  // near 1, plus O(h^2) curvature; 3% + 2e-4 separates that from a wrong gradient (a missing
  // sqrt(E) scale, a transposed weight or a sign error miss by 30-100%).
  let checked = 0;
  for (const [path, t] of flatten(m.params)) {
    const g = grads.get(path).data ?? grads.get(path);
    for (const i of [1, 9, 17, t.data.length - 1]) {
      if (i >= t.data.length || (path === 'itemEmbedding' && i < 8)) continue;
      const v = t.data[i];
      const h = 3e-3;
      t.data[i] = v + h;
      const up = m.lossAndGradients(batch).loss;
      t.data[i] = v - h;
      const down = m.lossAndGradients(batch).loss;
      t.data[i] = v;
      const fd = (up - down) / (2 * h);
      assert.ok(Math.abs(fd - g[i]) <= 0.03 * Math.abs(fd) + 2e-4, `${path}[${i}]: backward ${g[i]}, differences ${fd}`);
      checked++;
    }
  }
  assert.ok(checked > 60, `checked ${checked} gradient entries`);
});

test('training is seeded: the same seed gives the same losses and metrics, another seed does not', () => {
  const { train } = require('../examples/sasrec/train.js');
  const gen = data.makeGenerator({ numItems: 150, numClusters: 6, seed: 2 });
  const sequences = data.generateSequences(gen, { numUsers: 120, minLen: 5, maxLen: 12, seed: 2 });
  const run = (seed) => train({ sequences, numItems: 150, generator: gen }, { epochs: 2, batchSize: 32, maxLen: 12, dim: 16, heads: 2, lr: 5e-3, dropout: 0.1, seed });
  const a = run(1);
  const b = run(1);
  const c = run(2);
  const numbers = (r) => [...r.history.flatMap((h) => [h.loss, h.hr, h.ndcg]), r.test.model.hr, r.test.model.ndcg];
  assert.equal(numbers(a), numbers(b));
  assert.not.equal(numbers(a), numbers(c));
  assert.equal([a.test.popularity, a.test.oracle], [b.test.popularity, b.test.oracle]);
});

test('attnkit train sasrec --quick: trained HR@10 clearly above popularity, at most the oracle; report written', () => {
  const report = join(tmp, 'quick.html');
  const t0 = Date.now();
  const r = cli(['train', 'sasrec', '--quick', '--json', '--report', report]);
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  const { model, popularity, oracle } = res.test;
  console.log(`quick run: ${((Date.now() - t0) / 1000).toFixed(1)} s; HR@10 model ${model.hr.toFixed(4)}, popularity ${popularity.hr.toFixed(4)}, oracle ${oracle.hr.toFixed(4)}; NDCG@10 ${model.ndcg.toFixed(4)}, ${popularity.ndcg.toFixed(4)}, ${oracle.ndcg.toFixed(4)}`);
  assert.ok(model.hr >= popularity.hr + 0.15, `HR@10 ${model.hr} clearly above popularity ${popularity.hr}`);
  assert.ok(model.ndcg >= popularity.ndcg + 0.1, `NDCG@10 ${model.ndcg} clearly above popularity ${popularity.ndcg}`);
  // The oracle is the best possible in expectation; 1500 users leave ~0.01 of sampling noise.
  assert.ok(model.hr <= oracle.hr + 0.03, `HR@10 ${model.hr} not above the oracle ${oracle.hr} (a leak would put it there)`);
  const h = res.history;
  assert.ok(h[h.length - 1].loss < 0.7 * h[0].loss, 'the loss falls');
  assert.ok(h[h.length - 1].hr > h[0].hr + 0.15, 'validation HR@10 rises');
  assert.match(r.stderr, /epoch 1\/\d+ {2}loss \d\.\d{4} {2}valid HR@10 /, 'plain progress lines (stderr is not a terminal)');
  const html = readFileSync(report, 'utf8');
  assert.ok(html.includes('<svg class="chart hr"') && html.includes(model.hr.toFixed(4)));
});

test.run();
