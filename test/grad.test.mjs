// Every backward op against central finite differences in float64 (test/specs/grad/): the
// reference backward (float64 accumulation, float32 result) and the independent float64 backward
// oracle (test/specs/oracle.mjs, ORACLES) on each op's gradient cases. The other backends are held
// to reference by the shared specs (verify), so this file pins the specification itself.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { GRAD_MODULES } from './specs/grad/index.mjs';
import { fdGradient, gradError, to32 } from './specs/grad/fd.mjs';

/**
 * Reference (its float32 result: 2^-24 relative rounding, float64 sums) against float64 finite
 * differences (about 1e-10 relative error, fd.mjs): 2^-20 relative, 16x the result's rounding,
 * leaves room for the differences' own error and nothing more; atol only for gradients that are
 * exactly 0 in theory. A case may state a wider bound only with its reason (`tol`, `why`).
 */
export const GRAD_TOL = { rtol: 2 ** -20, atol: 1e-8 };
/** The float64 oracle against the differences: only the differences' own error. */
export const ORACLE_GRAD_TOL = { rtol: 1e-7, atol: 1e-9 };
/** Inputs larger than this are checked at a seeded sample of this many elements. */
const SAMPLE = 48;

const sampleOf = (n, seed) => {
  if (n <= SAMPLE) return null;
  const out = new Set([0, n - 1]);
  let s = seed || 1;
  // A 32-bit LCG in exact integer arithmetic (Math.imul), drawing from its high bits: its low
  // bits cycle with short periods, and `s % n` of them never reached 48 distinct indices for
  // some n (54, 60, 72, 120, 240: the loop did not end).
  while (out.size < SAMPLE) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out.add((s >>> 8) % n);
  }
  return [...out].sort((a, b) => a - b);
};

/** A result field by name or dotted path ('dParams.attention.wq'); a bare tensor is its 'output'. */
const fieldOf = (res, name) => {
  let v = res;
  for (const part of name.split('.')) v = v?.[part];
  if (v === undefined && name === 'output') v = res;
  return v && (v.data ?? v);
};

const measured = {};
const test = suite('gradients vs float64 central differences');

test('every backward op has gradient cases', () => {
  const backward = ak.OP_NAMES.filter((n) => n.endsWith('Backward'));
  for (const op of backward) assert.ok(GRAD_MODULES[op], `${op} has gradient cases in test/specs/grad/index.mjs`);
  // Composite backward functions (multiHeadAttentionBackward, ...) are exported functions, not registered ops.
  for (const op of Object.keys(GRAD_MODULES)) assert.ok(ak.OP_NAMES.includes(op) || typeof ak[op] === 'function', `${op} (test/specs/grad) is a registered op or an exported function`);
});

for (const [op, load] of Object.entries(GRAD_MODULES)) {
  test(`${op}: reference and the float64 oracle against finite differences`, async () => {
    const { gradCases } = await load();
    const cases = gradCases();
    assert.ok(cases.length > 0, `${op} declares gradient cases`);
    for (const c of cases) {
      const inputs32 = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, to32(t)]));
      const got = c.call(inputs32, Float32Array.from(c.dOut));
      const want = c.oracle ? c.oracle(c.inputs, c.dOut) : null;
      const tol = c.tol ?? GRAD_TOL;
      if (c.tol) assert.ok(typeof c.why === 'string' && c.why.length > 10, `${op} ${c.label}: a wider tolerance states why`);
      for (const [input, field] of Object.entries(c.grads)) {
        const n = c.inputs[input].data.length;
        const which = c.which?.[input] ?? sampleOf(n, n + 7);
        const fd = fdGradient(c.forward, c.inputs, c.dOut, input, which);
        const g = fieldOf(got, field);
        assert.ok(g, `${op} ${c.label}: result has ${field}`);
        assert.is(g.length, n, `${op} ${c.label}: ${field} has one element per element of ${input}`);
        const check = (arr, t, who) => {
          const e = gradError(arr, fd, which);
          assert.is(e.nonFinite, 0, `${op} ${c.label}: ${who} ${field}: no non-finite values`);
          fd.forEach((w, k) => {
            const i = which ? which[k] : k;
            if (Math.abs(arr[i] - w) > t.atol + t.rtol * Math.abs(w)) assert.unreachable(`${op} ${c.label}: ${who} ${field}[${i}] = ${arr[i]}, finite differences ${w} (atol ${t.atol}, rtol ${t.rtol})`);
          });
          return e;
        };
        const e = check(g, tol, 'reference');
        const m = (measured[op] ??= { maxAbs: 0, maxRel: 0, oracleMaxRel: 0 });
        m.maxAbs = Math.max(m.maxAbs, e.maxAbs);
        m.maxRel = Math.max(m.maxRel, e.maxRel);
        if (want) {
          assert.ok(want[field], `${op} ${c.label}: the oracle gives ${field}`);
          m.oracleMaxRel = Math.max(m.oracleMaxRel, check(want[field], ORACLE_GRAD_TOL, 'oracle').maxRel);
        }
      }
    }
  });
}

// The measured errors, for the tolerance notes (printed, not asserted: the checks above assert).
test.after(() => {
  for (const [op, m] of Object.entries(measured)) console.log(`  ${op}: reference max abs ${m.maxAbs.toExponential(2)}, max rel ${m.maxRel.toExponential(2)}; oracle max rel ${m.oracleMaxRel.toExponential(2)}`);
});

test.run();

// adamStep is not a gradient: the descriptor's checks hold it to the float64 oracle step by step.
// Here, many steps: 1000 AdamW steps on a small quadratic f(x) = ½ Σ a_i (x_i - c_i)² (float32
// parameters and gradients, the state kept by attnkit) against the same 1000 steps in float64
// throughout (a plain loop from torch.optim.AdamW's definition). Measured (2026-12, this machine):
// max |x - x64| 5.2e-7 on reference, 3.8e-6 on native (every ISA), with x moving ~1.9 from its
// start; the bounds are 4x those.
const adam = suite('adamStep: 1000 steps on a quadratic vs a float64 AdamW loop');
const ADAM_BOUND = { reference: 2.1e-6, native: 1.6e-5 };
for (const backend of Object.keys(ADAM_BOUND)) {
  adam(`${backend}: within ${ADAM_BOUND[backend]} of float64 after 1000 steps`, () => {
    const info = ak.backends().find((b) => b.name === backend);
    if (!info?.available) {
      if (process.env.CI === 'true') assert.unreachable(`${backend} unavailable in CI: ${info?.reason}`);
      console.log(`  SKIP ${backend}: unavailable (${info?.reason})`);
      return;
    }
    const n = 64;
    const rng = ak.seededRandom(7);
    const a = Float64Array.from({ length: n }, () => 0.5 + 1.5 * rng());
    const c = Float64Array.from({ length: n }, () => 4 * rng() - 2);
    const x0 = Float32Array.from({ length: n }, () => 4 * rng() - 2);
    const lr = 1e-2, wd = 1e-2;
    const p = { data: x0.slice(), shape: [n] }, s = ak.adamState(p), g = { data: new Float32Array(n), shape: [n] };
    for (let t = 0; t < 1000; t++) {
      for (let i = 0; i < n; i++) g.data[i] = a[i] * (p.data[i] - c[i]);
      ak.adamStep(p, g, s, { lr, weightDecay: wd }, { backend });
    }
    assert.is(s.step, 1000);
    const x = Float64Array.from(x0), m = new Float64Array(n), v = new Float64Array(n);
    for (let t = 1; t <= 1000; t++) {
      for (let i = 0; i < n; i++) {
        const gi = a[i] * (x[i] - c[i]);
        x[i] *= 1 - lr * wd;
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        x[i] -= (lr * (m[i] / (1 - 0.9 ** t))) / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
      }
    }
    let worst = 0, moved = 0;
    for (let i = 0; i < n; i++) {
      assert.ok(Number.isFinite(p.data[i]), `x[${i}] finite`);
      worst = Math.max(worst, Math.abs(p.data[i] - x[i]));
      moved = Math.max(moved, Math.abs(x[i] - x0[i]));
    }
    console.log(`  adamStep ${backend}: max |x - x64| after 1000 steps ${worst.toExponential(2)} (x moved up to ${moved.toFixed(2)})`);
    assert.ok(moved > 0.5, 'the steps went somewhere');
    assert.ok(worst <= ADAM_BOUND[backend], `max |x - x64| = ${worst} > ${ADAM_BOUND[backend]}`);
  });
}
adam.run();
