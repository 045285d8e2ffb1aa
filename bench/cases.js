'use strict';
// The benchmark cases: the op descriptors' bench shapes (src/ops/<op>.ts, `cases.bench`), each
// with its cost model (`cost`: flops and bytes, written down in the descriptor) for GFLOP/s, GB/s
// and share of peak. Nothing per op is kept here.
const ak = require('../dist/cjs/index.js');

function shapeLabel(op, s) {
  if (op === 'sdpa') return `(${s.B},${s.H},${s.L},${s.S},${s.D})`;
  return Object.entries(s).filter(([, v]) => v !== false && v !== undefined).map(([k, v]) => (v === true ? k : `${k}=${Array.isArray(v) ? v.join('-') : v}`)).join(' ');
}

/**
 * Default (or quick) cases for every op: { op, label, shape, flops, bytes, shapeText, make() },
 * where make() builds the inputs once and returns { args, run(dispatchOptions), runOut? } (runOut:
 * the same call writing into a preallocated `options.out`), plus { q, k, v, opts } for sdpa (the
 * onnxruntime peers take those).
 */
function defaultCases({ quick = false } = {}) {
  const cases = [];
  for (const op of ak.OP_NAMES) {
    const d = ak.OPS[op];
    for (const bc of d.cases.bench(quick)) {
      const { flops, bytes } = d.cost(bc.shape);
      cases.push({
        op, label: bc.label, shape: bc.shape, flops, bytes,
        shapeText: shapeLabel(op, bc.shape) + (bc.label ? ` ${bc.label}` : ''),
        make() {
          const { args, outArgs } = bc.make();
          const made = { args, run: (o) => d.call(args, o) };
          if (outArgs) made.runOut = (o) => d.call(outArgs, o);
          if (op === 'sdpa') Object.assign(made, { q: args[0], k: args[1], v: args[2], opts: args[3] });
          return made;
        },
      });
    }
  }
  return cases;
}

module.exports = { defaultCases, shapeLabel };
