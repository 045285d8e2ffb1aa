// topK spec.
import { rnd } from './util.mjs';
import { ORACLE_TOL, oracleTopK } from './oracle.mjs';

export default function topKSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('topK');
  const tol = tolFor('topK');
  const { topK, fromNested } = ak;

  test('ties go to the lower index; exclusions; fewer than k left', () => {
    const users = fromNested([[1, 0], [0, 1]]);
    const items = fromNested([[1, 0], [0, 1], [1, 0], [2, 0], [0, 1]]);
    const o = d();
    const r = topK(users, items, 3, {}, o);
    o.check();
    assert.equal(Array.from(r.indices.data), [3, 0, 2, 1, 4, 0]);
    assertClose(r.scores, [2, 1, 1, 1, 1, 0], tol, 'scores');
    const o2 = d();
    const e = topK(users, items, 3, { exclude: [[3], [4, 1, 4]] }, o2);
    o2.check();
    assert.equal(Array.from(e.indices.data), [0, 2, 1, 0, 2, 3]);
    const o3 = d();
    const f = topK(fromNested([[1, 1]]), fromNested([[1, 0], [0, 2]]), 2, { exclude: [[0]] }, o3);
    o3.check();
    assert.equal(Array.from(f.indices.data), [1, -1]);
    assert.equal(Array.from(f.scores.data), [2, -Infinity]);
  });

  test('NaN scores rank first (PyTorch convention), -Infinity scores still rank above padding', () => {
    const o = d();
    const r = topK(fromNested([[1]]), fromNested([[1], [NaN], [-Infinity], [2]]), 4, {}, o);
    o.check();
    assert.equal(Array.from(r.indices.data), [1, 3, 0, 2]);
  });

  test('largest: false: the k smallest, ties to the lower index, exclusions, fewer than k left (+Infinity padding)', () => {
    const users = fromNested([[1, 0], [0, 1]]);
    const items = fromNested([[1, 0], [0, 1], [1, 0], [2, 0], [0, 1]]);
    const o = d();
    const r = topK(users, items, 3, { largest: false }, o);
    o.check();
    assert.equal(Array.from(r.indices.data), [1, 4, 0, 0, 2, 3]);
    assertClose(r.scores, [0, 0, 1, 0, 0, 0], tol, 'scores');
    const o2 = d();
    const e = topK(users, items, 3, { exclude: [[1], [0, 2, 0]], largest: false }, o2);
    o2.check();
    assert.equal(Array.from(e.indices.data), [4, 0, 2, 3, 1, 4]);
    const o3 = d();
    const f = topK(fromNested([[1, 1]]), fromNested([[1, 0], [0, 2]]), 2, { exclude: [[0]], largest: false }, o3);
    o3.check();
    assert.equal(Array.from(f.indices.data), [1, -1]);
    assert.equal(Array.from(f.scores.data), [2, Infinity]);
    // largest: true stays the default, and an explicit true is the same call.
    const o4 = d();
    assert.equal(Array.from(topK(users, items, 3, { largest: true }, o4).indices.data), [3, 0, 2, 1, 4, 0]);
    o4.check();
  });

  test('largest: false: NaN scores rank last (after +Infinity), -Infinity first', () => {
    const o = d();
    const r = topK(fromNested([[1]]), fromNested([[1], [NaN], [-Infinity], [2], [NaN], [Infinity]]), 6, { largest: false }, o);
    o.check();
    assert.equal(Array.from(r.indices.data), [2, 0, 3, 5, 1, 4]);
    const o2 = d();
    const t = topK(fromNested([[1]]), fromNested([[NaN], [3], [NaN]]), 2, { largest: false }, o2);
    o2.check();
    assert.equal(Array.from(t.indices.data), [1, 0], 'a NaN is taken only when fewer than k numbers remain (lower index first)');
  });

  for (const [B, N, D, k] of [[1, 1, 1, 1], [3, 1000, 17, 10], [17, 4099, 64, 33], [2, 50, 3, 50]]) {
    test(`largest: false, random inputs match reference: B=${B} N=${N} D=${D} k=${k}`, () => {
      const users = rnd([B, D], N + 2);
      const items = rnd([N, D], N + 3);
      const exclude = Array.from({ length: B }, (_, b) => (b % 2 ? null : Array.from({ length: Math.min(N - 1, 5) }, (_, i) => (i * 7 + b) % N)));
      const o = d();
      const r = topK(users, items, k, { exclude, largest: false }, o);
      o.check();
      if (backend === 'reference') {
        const want = oracleTopK(users, items, k, { exclude, largest: false });
        assert.equal(Array.from(r.indices.data), Array.from(want.indices), 'indices vs oracle');
        assert.equal(Array.from(r.scores.data), Array.from(want.scores), 'scores vs oracle');
      }
      // duplicated items: ties go to the lower index; the smallest are the largest of the negated users
      const dup = rnd([N, D], 6);
      for (let n = 1; n < N; n += 2) dup.data.copyWithin(n * D, (n - 1) * D, n * D);
      const o2 = d();
      const s = topK(users, dup, k, { largest: false }, o2);
      o2.check();
      const negUsers = { data: users.data.map((x) => -x), shape: users.shape };
      const l = topK(negUsers, dup, k, {}, { backend: d().backend });
      assert.equal(Array.from(s.indices.data), Array.from(l.indices.data), 'smallest of s = largest of -s, tie order included');
      for (let b = 0; b < B; b++)
        for (let i = 1; i < k; i++) {
          const s0 = s.scores.data[b * k + i - 1];
          const s1 = s.scores.data[b * k + i];
          assert.ok(s0 <= s1, 'scores are non-decreasing');
          if (s0 === s1) assert.ok(s.indices.data[b * k + i - 1] < s.indices.data[b * k + i], 'equal scores: lower index first');
        }
    });
  }

  for (const [B, N, D, k] of [[1, 1, 1, 1], [3, 1000, 17, 10], [17, 4099, 64, 33], [2, 50, 3, 50]]) {
    test(`random inputs match reference: B=${B} N=${N} D=${D} k=${k}`, () => {
      const users = rnd([B, D], N);
      const items = rnd([N, D], N + 1);
      const o = d();
      topK(users, items, k, {}, o);
      o.check();
      const exclude = Array.from({ length: B }, (_, b) => (b % 2 ? null : Array.from({ length: Math.min(N - 1, 5) }, (_, i) => (i * 7 + b) % N)));
      const o2 = d();
      const rx = topK(users, items, k, { exclude }, o2);
      o2.check();
      if (backend === 'reference') {
        // verify compared reference with itself: check it against the independent oracle (exact).
        const want = oracleTopK(users, items, k, { exclude });
        assert.equal(Array.from(rx.indices.data), Array.from(want.indices), 'indices vs oracle');
        assert.equal(Array.from(rx.scores.data), Array.from(want.scores), 'scores vs oracle');
      }
      // duplicates in the item table: ties must go to the lower index
      const dup = rnd([N, D], 5);
      for (let n = 1; n < N; n += 2) dup.data.copyWithin(n * D, (n - 1) * D, n * D);
      const o3 = d();
      const r = topK(users, dup, k, {}, o3);
      o3.check();
      if (backend === 'reference') assert.equal(Array.from(r.indices.data), Array.from(oracleTopK(users, dup, k).indices), 'tied indices vs oracle');
      for (let b = 0; b < B; b++)
        for (let i = 1; i < k; i++) {
          const s0 = r.scores.data[b * k + i - 1];
          const s1 = r.scores.data[b * k + i];
          assert.ok(s0 >= s1, 'scores are non-increasing');
          if (s0 === s1) assert.ok(r.indices.data[b * k + i - 1] < r.indices.data[b * k + i], 'equal scores: lower index first');
        }
    });
  }

  test.run();
}
