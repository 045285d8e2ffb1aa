'use strict';
// `attnkit verify`: random and adversarial inputs for every op on every available backend but
// reference, each cross-checked against reference at the backend's documented tolerance. One
// table; exit 1 on any failure or when nothing was checked.
const ak = require('../dist/cjs/index.js');

/**
 * The matrix: every op descriptor's random and adversarial checks (src/ops/<op>.ts,
 * `cases.checks`) as [op, case name, run(dispatchOptions), logitMagnitude]. Sizes are odd on
 * purpose (not SIMD multiples). A case with logits of magnitude M is ill-conditioned in float32:
 * rounding a logit moves it by up to M·2^-24, which changes its softmax weight by that much
 * relatively. Such a case is checked at max(the backend's tolerance, 8·M·2^-24) — the same bound
 * for every backend, derived, not fitted (see README, Tolerances).
 */
function verifyCases({ quick = false } = {}) {
  const cases = [];
  for (const op of ak.OP_NAMES) {
    const d = ak.OPS[op];
    for (const c of d.cases.checks(quick)) cases.push([op, c.label, (o) => d.call(c.args, o), c.logitMagnitude ?? 0]);
  }
  return cases;
}

function runVerify({ quick = false, backend, op } = {}) {
  const wanted = backend ? String(backend).split(',') : null;
  const ops = op ? String(op).split(',') : null;
  const list = ak.backends();
  const skipped = list.filter((b) => !b.available && (!wanted || wanted.includes(b.name)));
  // reference is what every other backend is compared with: verifying it here would compare it with
  // itself and could not fail. Its own checks are the float64 oracles of the specs (npm test).
  const names = list.filter((b) => b.available && b.name !== 'reference' && (!wanted || wanted.includes(b.name))).map((b) => b.name);
  const rows = [];
  const cases = verifyCases({ quick }).filter(([o]) => !ops || ops.includes(o));
  let k = 0;
  const total = cases.length * names.length;
  for (const name of names) {
    const def = ak.getBackend(name);
    for (const [o, label, run, magnitude = 0] of cases) {
      k++;
      if (!def.kernels[o]) {
        rows.push({ op: o, backend: name, case: label, pass: false, note: 'no kernel for this op' });
        continue;
      }
      process.stderr.write(`\r[${k}/${total}] ${name} ${o}                    `);
      let report = null;
      let error = null;
      try {
        const base = def.tolerances[o] ?? def.tolerances.default;
        const cond = 8 * magnitude * 2 ** -24;
        run({ backend: name, verify: { rtol: Math.max(base.rtol, cond), atol: Math.max(base.atol, cond) }, onReport: (r) => (report = r.verify) });
      } catch (e) {
        error = e;
        report = e && e.report;
      }
      rows.push({
        op: o, backend: name, case: label,
        maxAbs: report?.maxAbsError, maxRel: report?.maxRelError, atol: report?.atol, rtol: report?.rtol,
        pass: !error && !!report && report.passed,
        note: error ? String(error.message).split('\n')[0] : '',
      });
    }
  }
  process.stderr.write('\n');
  return { rows, skipped };
}

function printVerify({ rows, skipped }, out = process.stdout) {
  const { fmt } = require('./run-bench.js');
  const head = ['op', 'backend', 'case', 'max abs', 'max rel', 'tolerance (atol + rtol·|want|)', 'result'];
  const body = rows.map((r) => [r.op, r.backend, r.case, fmt(r.maxAbs), fmt(r.maxRel), r.atol !== undefined ? `${r.atol} + ${r.rtol}` : '', r.pass ? 'pass' : `FAIL ${r.note}`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => String(b[i]).length)));
  const line = (cells) => cells.map((c, i) => String(c).padEnd(widths[i])).join('  ').trimEnd();
  out.write(`${line(head)}\n${line(widths.map((w) => '-'.repeat(w)))}\n`);
  for (const b of body) out.write(`${line(b)}\n`);
  for (const s of skipped) out.write(`backend '${s.name}' unavailable (not verified): ${s.reason}${s.fix ? ` — fix: ${s.fix}` : ''}\n`);
  const failed = rows.filter((r) => !r.pass).length;
  out.write(`\nverify: ${rows.length - failed} passed, ${failed} failed over ${new Set(rows.map((r) => r.backend)).size} backend(s)\n`);
  return failed;
}

module.exports = { runVerify, printVerify, verifyCases };
