// The cases every op descriptor declares (src/ops/<op>.ts), run on one backend: known answers
// (closed forms, within the backend's tolerance plus the float32 rounding of the answer) and the
// random / adversarial checks (cross-checked against reference with verify, at the backend's
// tolerance widened only by the derived bound for ill-conditioned logits, 8·M·2^-24). On the
// reference backend itself, where verify would compare reference with reference, the checks are
// compared with the independent float64 oracles of oracle.mjs instead.
// A new op is covered here by declaring its cases: nothing to add to this file.
import { toleranceOf } from './util.mjs';
import { ORACLES, ORACLE_TOL } from './oracle.mjs';

/** The result's named outputs as plain arrays. */
function fieldsOf(res) {
  if (res && ArrayBuffer.isView(res.data)) return { output: res.data };
  const out = {};
  for (const [k, v] of Object.entries(res)) if (v && ArrayBuffer.isView(v.data)) out[k] = v.data;
  return out;
}

export default function descriptorSpec({ backend, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('descriptor cases');
  // llvmpipe runs the GLSL kernels on the CPU: the gpu backend gets the quick list.
  const quick = backend === 'gpu';
  for (const op of ak.OP_NAMES) {
    const desc = ak.OPS[op];
    test(`${op}: known answers`, () => {
      const cases = desc.cases.knownAnswers();
      assert.ok(cases.length > 0, `${op} declares at least one known answer`);
      for (const c of cases) {
        const o = d();
        const got = fieldsOf(desc.call(c.args, o));
        o.check();
        for (const [name, want] of Object.entries(c.want)) {
          assert.ok(got[name], `${op} ${c.label}: output ${name} present`);
          assertClose(got[name], want, tolFor(op), `${op} ${c.label}: ${name}`);
        }
      }
    });
    test(`${op}: random and adversarial checks against ${backend === 'reference' ? 'the float64 oracle' : 'reference'}`, () => {
      const cases = desc.cases.checks(quick);
      assert.ok(cases.length > 0, `${op} declares checks`);
      const base = toleranceOf(backend, op);
      for (const c of cases) {
        const cond = 8 * (c.logitMagnitude ?? 0) * 2 ** -24;
        if (backend === 'reference') {
          assert.ok(ORACLES[op], `${op} has an independent oracle in test/specs/oracle.mjs`);
          // The oracle first: an op that updates its arguments in place (adamStep) changes them.
          const want = ORACLES[op](c.args);
          const got = fieldsOf(desc.call(c.args, d()));
          const tol = { rtol: Math.max(ORACLE_TOL.rtol, cond), atol: Math.max(ORACLE_TOL.atol, cond) };
          // topK: tied scores may order different (equally correct) indices; the scores must agree.
          for (const name of op === 'topK' ? ['scores'] : Object.keys(got)) {
            assert.ok(want[name], `${op} ${c.label}: the oracle gives ${name}`);
            assertClose(got[name], want[name], tol, `${op} ${c.label}: ${name} vs the float64 oracle`);
          }
          continue;
        }
        const o = d({ verify: { rtol: Math.max(base.rtol, cond), atol: Math.max(base.atol, cond) } });
        try {
          desc.call(c.args, o);
        } catch (e) {
          throw new Error(`${op} ${c.label}: ${e.message}`);
        }
        o.check();
      }
    });
  }
  test('every op is in the registry once, under its one name', () => {
    assert.equal(Object.keys(ak.OPS), [...ak.OP_NAMES]);
    for (const op of ak.OP_NAMES) {
      assert.is(ak.OPS[op].name, op);
      assert.is(typeof ak[op], 'function', `ak.${op} exported`);
      assert.is(typeof ak[`${op}Async`], 'function', `ak.${op}Async exported`);
      assert.ok(ak.OPS[op].signature.startsWith(`${op}(`), `${op} signature names the op`);
    }
  });
  test.run();
}
