// hstuAttention and hstuAttentionBackward spec: each backend's own result (no verify in between)
// against the independent float64 oracle of hstuOracle.mjs, on the descriptors' random and
// adversarial checks (lengths 0 and 1, one long sequence among short ones, D != Dv, H = 1 and 3,
// targets, contextual prefixes, maxAttnLen, non-causal, both normalizations, shared and per-head
// position and time biases, timestamps that repeat and go backwards, logits of size ~80, NaN / Inf
// in positions the mask hides). A backend without an HSTU kernel fails here (UnsupportedOpError).
import { oracleHstuAttention, oracleHstuAttentionBackward, hstuMask } from './hstuOracle.mjs';
import { hstuOracleArgs, ORACLE_TOL } from './oracle.mjs';

/** The result's named outputs as plain arrays (forward: values; backward: dq, dk, dv, bias grads). */
function fieldsOf(res) {
  const out = {};
  for (const [k, v] of Object.entries(res)) if (v && ArrayBuffer.isView(v.data)) out[k] = v.data;
  return out;
}

export default function hstuSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('hstuAttention');
  // llvmpipe runs the GLSL kernels on the CPU: the gpu backend gets the quick list.
  const quick = backend === 'gpu';
  const on = { backend };
  /** The tolerance of this backend against the float64 oracle, widened only by the derived bound for logits of size M. */
  const tolOf = (op, c) => {
    const base = backend === 'reference' ? ORACLE_TOL : tolFor(op);
    const cond = 8 * (c.logitMagnitude ?? 0) * 2 ** -24;
    return { rtol: Math.max(base.rtol, cond), atol: Math.max(base.atol, cond) };
  };

  test('forward: every check against the float64 oracle', () => {
    const cases = ak.OPS.hstuAttention.cases.checks(quick);
    assert.ok(cases.length >= 8, 'the adversarial checks are there');
    for (const c of cases) {
      const [q, k, v, o] = c.args;
      const a = hstuOracleArgs(q, k, v, o);
      const want = oracleHstuAttention(a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, a.opts);
      const res = ak.hstuAttention(q, k, v, o, on);
      assert.is(res.offsets, q.offsets, `${c.label}: the output's offsets are q's`);
      assert.equal([...res.values.shape], [q.values.shape[0], a.H, a.Dv], `${c.label}: shape [T,H,Dv]`);
      assertClose(res.values, want, tolOf('hstuAttention', c), `${backend} hstuAttention ${c.label}`);
    }
  });

  test('forward: NaN / Inf in positions the mask hides do not leak (rows that cannot see them stay finite)', () => {
    const c = ak.OPS.hstuAttention.cases.checks(quick).find((x) => x.label.includes('no leak'));
    assert.ok(c, 'the poisoned check exists');
    const [q, k, v, o] = c.args;
    const a = hstuOracleArgs(q, k, v, o);
    const want = oracleHstuAttention(a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, a.opts);
    const got = ak.hstuAttention(q, k, v, o, on).values.data;
    const poisoned = new Set();
    for (let t = 0; t < a.offsets[a.offsets.length - 1]; t++) {
      for (const [x, X] of [[a.q, a.D], [a.k, a.D], [a.v, a.Dv]]) for (let i = 0; i < a.H * X; i++) if (!Number.isFinite(x[t * a.H * X + i])) poisoned.add(t);
    }
    assert.ok(poisoned.size >= 2, 'the check holds poisoned positions');
    let clean = 0, dirty = 0;
    for (let b = 0; b + 1 < a.offsets.length; b++) {
      const off = a.offsets[b], n = a.offsets[b + 1] - off;
      const N = o.maxLength ?? Math.max(...Array.from({ length: a.offsets.length - 1 }, (_, s) => a.offsets[s + 1] - a.offsets[s]));
      const m = hstuMask(N, n, { ...a.opts, numTargets: a.opts.numTargets ? a.opts.numTargets[b] : 0 });
      for (let i = 0; i < n; i++) {
        let seesPoison = false;
        for (let j = 0; j < n; j++) if (m[i * N + j] && poisoned.has(off + j)) seesPoison = true;
        // A poisoned position sees only itself (the check is built so): every other row is clean.
        if (poisoned.has(off + i)) assert.ok(seesPoison, `row ${off + i} is poisoned and sees itself`);
        for (let x = 0; x < a.H * a.Dv; x++) {
          const idx = (off + i) * a.H * a.Dv + x;
          if (!seesPoison) {
            clean++;
            assert.ok(Number.isFinite(got[idx]), `${backend}: row ${off + i} cannot see a poisoned position, but values[${idx}] = ${got[idx]}`);
          } else if (!Number.isFinite(want[idx])) {
            dirty++;
          }
        }
      }
    }
    assert.ok(clean > 0 && dirty > 0, `clean rows (${clean} values) and poisoned rows (${dirty} non-finite values) both checked`);
  });

  test('backward: every check against the float64 oracle', () => {
    const cases = ak.OPS.hstuAttentionBackward.cases.checks(quick);
    assert.ok(cases.length >= 8, 'the adversarial checks are there');
    for (const c of cases) {
      const [g, q, k, v, o] = c.args;
      const a = hstuOracleArgs(q, k, v, o);
      const want = oracleHstuAttentionBackward(g.values.data, a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, a.opts);
      const got = fieldsOf(ak.hstuAttentionBackward(g, q, k, v, o, on));
      const names = ['dq', 'dk', 'dv', ...(o.positionBias ? ['dPositionBias'] : []), ...(o.timeBias ? ['dTimeBias'] : [])];
      assert.equal(Object.keys(got).sort(), names.sort(), `${c.label}: the gradients returned`);
      for (const n of names) assertClose(got[n], want[n], tolOf('hstuAttentionBackward', c), `${backend} hstuAttentionBackward ${c.label}: ${n}`);
    }
  });

  test('async twins give the sync result; options.out is written in place; sampled verify passes', async () => {
    const [q, k, v, o] = ak.OPS.hstuAttention.cases.small();
    const sync = ak.hstuAttention(q, k, v, o, on);
    const asy = await ak.hstuAttentionAsync(q, k, v, o, on);
    assertClose(asy.values, sync.values, { atol: 0, rtol: 0 }, 'async == sync');
    const out = new Float32Array(sync.values.data.length).fill(NaN);
    const r = ak.hstuAttention(q, k, v, { ...o, out }, on);
    assert.is(r.values.data, out, 'the result is options.out');
    assertClose(out, sync.values, { atol: 0, rtol: 0 }, 'out == the result');
    const rows = d({ verify: { rows: 5 } });
    ak.hstuAttention(q, k, v, o, rows);
    assert.ok(rows.check().verify.rowsChecked <= 5, 'sampled verify checks at most the rows asked for');
    const bargs = ak.OPS.hstuAttentionBackward.cases.small();
    const bs = ak.hstuAttentionBackward(...bargs, on);
    const ba = await ak.hstuAttentionBackwardAsync(...bargs, on);
    for (const n of ['dq', 'dk', 'dv', 'dPositionBias']) assertClose(ba[n], bs[n], { atol: 0, rtol: 0 }, `backward async == sync: ${n}`);
    const brow = d({ verify: { rows: 3 } });
    ak.hstuAttentionBackward(...bargs, brow);
    brow.check();
  });

  test('a batch of empty sequences: an empty [0,H,Dv] output and zero-length gradients (zero bias gradients)', () => {
    const offsets = Int32Array.of(0, 0, 0);
    const j = (X) => ({ values: { data: new Float32Array(0), shape: [0, 2, X] }, offsets });
    const y = ak.hstuAttention(j(3), j(3), j(4), {}, on);
    assert.equal([...y.values.shape], [0, 2, 4]);
    const g = ak.hstuAttentionBackward(j(4), j(3), j(3), j(4), { positionBias: { data: new Float32Array(1).fill(0.5), shape: [1] } }, on);
    assert.is(g.dq.data.length, 0);
    assert.equal(Array.from(g.dPositionBias.data), [0]);
  });

  test.run();
}
