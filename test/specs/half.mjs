// Half-precision inputs (issue #16) on one backend, for every op whose descriptor takes them
// (`half: true`): each of the descriptor's random and adversarial checks is run again with its
// float tensors (inputs, parameters, bias) rounded to float16, to bfloat16, and to a mix of the
// two formats and float32, and cross-checked against reference on the same half inputs at the
// backend's float32 tolerance: a half input is an exact float32 value, so accumulation is the only
// source of error, as for float32. On reference itself the result must equal, bit for bit, the
// float32 call on the widened inputs, and match the float64 oracle of those inputs.
// A new op that takes half inputs is covered here by declaring `half: true`: nothing to add.
import { toleranceOf } from './util.mjs';
import { ORACLES, ORACLE_TOL } from './oracle.mjs';

const isPlain = (v) => v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Array.isArray(v));
const isFloatTensor = (v) => isPlain(v) && v.data instanceof Float32Array && Array.isArray(v.shape);

/**
 * The args with their float tensors converted by `pick(path, index)` ('float16' | 'bfloat16' |
 * 'float32'), and the same args with each converted tensor widened back to float32 (the values
 * the half call computes with).
 */
export function convertArgs(ak, args, pick) {
  let n = 0;
  const walk = (v, path) => {
    if (isFloatTensor(v)) {
      const dtype = pick(path, n++);
      if (dtype === 'float32') return [v, v];
      const h = dtype === 'float16' ? ak.toFloat16(v) : ak.toBFloat16(v);
      return [h, ak.toFloat32(h)];
    }
    if (Array.isArray(v)) {
      const pairs = v.map((x, i) => walk(x, `${path}[${i}]`));
      return [pairs.map((p) => p[0]), pairs.map((p) => p[1])];
    }
    if (isPlain(v)) {
      const a = {};
      const b = {};
      for (const [k, x] of Object.entries(v)) [a[k], b[k]] = walk(x, path ? `${path}.${k}` : k);
      return [a, b];
    }
    return [v, v];
  };
  const half = [];
  const wide = [];
  args.forEach((a, i) => {
    const [h, w] = walk(a, `arg${i}`);
    half.push(h);
    wide.push(w);
  });
  return { half, wide, converted: n };
}

function fieldsOf(res) {
  if (res && ArrayBuffer.isView(res.data)) return { output: res.data };
  const out = {};
  for (const [k, v] of Object.entries(res)) if (v && ArrayBuffer.isView(v.data)) out[k] = v.data;
  return out;
}

export const MODES = {
  float16: () => 'float16',
  bfloat16: () => 'bfloat16',
  // Every third tensor stays float32, the others alternate: mixed operands in one call.
  mixed: (_path, i) => (i % 3 === 2 ? 'float32' : i % 2 ? 'float16' : 'bfloat16'),
};

export default function halfSpec({ backend, suite, d, assertClose, ak, assert }) {
  const test = suite('half-precision inputs (float16, bfloat16, mixed)');
  const quick = backend === 'gpu';
  const ops = ak.OP_NAMES.filter((op) => ak.OPS[op].half);
  test('the ops that take half inputs', () => {
    assert.equal(ops, ['sdpa', 'multiHeadAttention', 'additiveAttention', 'targetAttention', 'transformerEncoderLayer', 'linear', 'topK'].filter((o) => ak.OP_NAMES.includes(o)));
  });
  for (const op of ops) {
    const desc = ak.OPS[op];
    for (const [mode, pick] of Object.entries(MODES)) {
      test(`${op}: checks with ${mode} inputs against ${backend === 'reference' ? 'the float32 call on the same values and the float64 oracle' : 'reference'}`, () => {
        const cases = desc.cases.checks(quick);
        assert.ok(cases.length > 0);
        const base = toleranceOf(backend, op);
        let converted = 0;
        for (const c of cases) {
          // A KvCache call holds float32 caches: its half form is the cache's own dtype, not this spec's.
          if (c.args.some((a) => a instanceof ak.KvCache)) continue;
          const { half, wide, converted: n } = convertArgs(ak, c.args, pick);
          converted += n;
          const cond = 8 * (c.logitMagnitude ?? 0) * 2 ** -24;
          if (backend === 'reference') {
            const got = fieldsOf(desc.call(half, d()));
            const same = fieldsOf(desc.call(wide, d()));
            for (const name of Object.keys(same)) {
              assert.ok(got[name], `${op} ${c.label}: ${name} present`);
              assert.ok(got[name].every((x, i) => Object.is(x, same[name][i])), `${op} ${c.label} (${mode}): ${name} equals the float32 call on the widened inputs bit for bit`);
            }
            const want = ORACLES[op](wide);
            const tol = { rtol: Math.max(ORACLE_TOL.rtol, cond), atol: Math.max(ORACLE_TOL.atol, cond) };
            for (const name of op === 'topK' ? ['scores'] : Object.keys(got)) assertClose(got[name], want[name], tol, `${op} ${c.label} (${mode}): ${name} vs the float64 oracle`);
            continue;
          }
          const o = d({ verify: { rtol: Math.max(base.rtol, cond), atol: Math.max(base.atol, cond) } });
          try {
            desc.call(half, o);
          } catch (e) {
            throw new Error(`${op} ${c.label} (${mode}): ${e.message}`);
          }
          o.check();
        }
        assert.ok(converted > 0, `${op}: some tensors were converted to ${mode}`);
      });
    }
  }
  test('float32-only ops refuse half tensors with a DTypeError naming the argument', () => {
    const h = ak.toBFloat16(ak.tensor([1, 2, 3, 4], [2, 2]));
    for (const op of ak.OP_NAMES.filter((o) => !ak.OPS[o].half)) {
      let err;
      try {
        ak.OPS[op].call([h], d());
      } catch (e) {
        err = e;
      }
      assert.instance(err, ak.DTypeError, `${op} refuses a bfloat16 tensor`);
      assert.match(err.message, /float32/);
    }
  });
  test.run();
}
