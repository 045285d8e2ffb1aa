'use strict';
// Preloaded (node -r) by bench/tolerances.mjs into each process whose comparisons it measures (its
// own quick bench cases and grid, and test files such as test/native.test.mjs): every comparison
// the dispatcher makes against reference on ATTNKIT_TOLERANCE_PROBE_BACKEND is seen through the
// comparison probe, and the figures are written to ATTNKIT_TOLERANCE_PROBE_OUT.<pid>.json at exit.
// Cases checked at a tolerance wider than the declared one (ill-conditioned logits, judged by
// their derived bound) are left out. Pass 1 gives max abs and max rel (relative errors counted
// where |want| is within a decade of its output's largest and a normal float32: there they
// describe the arithmetic, not a cancellation that left a small difference of large terms); with
// ATTNKIT_TOLERANCE_PROBE_RTOLS (pass 2) also the atol each element still needs at that rtol.
const out = process.env.ATTNKIT_TOLERANCE_PROBE_OUT;
if (out) {
  const fs = require('fs');
  const path = require('path');
  const backend = process.env.ATTNKIT_TOLERANCE_PROBE_BACKEND;
  const rtols = JSON.parse(process.env.ATTNKIT_TOLERANCE_PROBE_RTOLS || '{}');
  const dist = path.join(__dirname, '..', 'dist', 'cjs');
  const ak = require(path.join(dist, 'index.js'));
  const m = {};
  const FLT_MIN = 2 ** -126; // the smallest normal float32
  require(path.join(dist, 'dispatch', 'compare.js')).setComparisonProbe((op, be, _name, got, want, inRows, tol, inputs = 'float32') => {
    if (be !== backend) return;
    const declared = ak.OPS[op].tolerances[backend];
    if (tol.rtol > declared.rtol || tol.atol > declared.atol) return;
    const x = (m[op] ??= { maxAbs: 0, maxRel: 0, atolNeeded: 0, declaredAtolNeeded: 0, outputs: 0, mismatchedNonFinite: 0, byInputs: {} });
    // The same figures per input element type (float32, float16, bfloat16, mixed): the op's one
    // tolerance covers them all, and the README shows each.
    const y = (x.byInputs[inputs] ??= { maxAbs: 0, maxRel: 0, outputs: 0 });
    x.outputs++;
    y.outputs++;
    let scale = 0;
    for (let i = 0; i < want.length; i++) if (inRows(i) && Number.isFinite(want[i])) scale = Math.max(scale, Math.abs(want[i]));
    for (let i = 0; i < want.length; i++) {
      if (!inRows(i)) continue;
      const g = got[i];
      const w = want[i];
      if (!Number.isFinite(w) || !Number.isFinite(g)) {
        if (!(Number.isNaN(w) ? Number.isNaN(g) : w === g)) x.mismatchedNonFinite++;
        continue;
      }
      const e = Math.abs(g - w);
      x.maxAbs = Math.max(x.maxAbs, e);
      y.maxAbs = Math.max(y.maxAbs, e);
      // (Denormal results are left out of the relative error: the gpu flushes them, documented.)
      if (Math.abs(w) >= Math.max(scale / 10, FLT_MIN)) {
        x.maxRel = Math.max(x.maxRel, e / Math.abs(w));
        y.maxRel = Math.max(y.maxRel, e / Math.abs(w));
      }
      if (rtols[op] !== undefined) x.atolNeeded = Math.max(x.atolNeeded, e - rtols[op] * Math.abs(w));
      x.declaredAtolNeeded = Math.max(x.declaredAtolNeeded, e - declared.rtol * Math.abs(w));
    }
  });
  process.on('exit', () => fs.writeFileSync(`${out}.${process.pid}.json`, JSON.stringify(m)));
}
