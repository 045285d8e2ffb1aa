// The shared op specs: one spec per op, run against any backend by name. Each backend's test file
// calls runSpecs('<backend>'). Known answers are checked within the backend's documented tolerance
// for the op; random and adversarial inputs are cross-checked against reference with `verify`.
import { ORACLES, ORACLE_TOL } from './oracle.mjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import sdpaSpec from './sdpa.mjs';
import jaggedSdpaSpec from './jaggedSdpa.mjs';
import mhaSpec from './multiHeadAttention.mjs';
import additiveSpec from './additiveAttention.mjs';
import targetSpec from './targetAttention.mjs';
import encoderSpec from './transformerEncoderLayer.mjs';
import primitivesSpec from './primitives.mjs';
import topKSpec from './topK.mjs';
import descriptorSpec from './descriptors.mjs';
import halfSpec from './half.mjs';
import hstuSpec from './hstuAttention.mjs';
import hstuLayerSpec from './hstuLayer.mjs';
import { toleranceOf } from './util.mjs';

export const SPECS = { sdpa: sdpaSpec, jaggedSdpa: jaggedSdpaSpec, multiHeadAttention: mhaSpec, additiveAttention: additiveSpec, targetAttention: targetSpec, transformerEncoderLayer: encoderSpec, primitives: primitivesSpec, topK: topKSpec, descriptors: descriptorSpec, half: halfSpec, hstuAttention: hstuSpec, hstuLayer: hstuLayerSpec };

/** Assert every element of got is within atol + rtol*|want| of want; non-finite must match exactly. */
export function assertClose(got, want, { atol = 1e-6, rtol = 1e-5 } = {}, what = 'value') {
  const g = got.data ?? got;
  const w = want.data ?? want;
  assert.is(g.length, w.length, `${what}: length`);
  for (let i = 0; i < w.length; i++) {
    const a = g[i];
    const b = w[i];
    if (Number.isFinite(a) && Number.isFinite(b)) {
      if (Math.abs(a - b) > atol + rtol * Math.abs(b)) assert.unreachable(`${what}[${i}]: got ${a}, want ${b} (atol ${atol}, rtol ${rtol})`);
    } else if (!(Number.isNaN(b) ? Number.isNaN(a) : a === b)) {
      assert.unreachable(`${what}[${i}]: got ${a}, want ${b} (non-finite values must match)`);
    }
  }
}

/** Build the context a spec receives. */
function context(backend) {
  const tolFor = (op) => {
    const t = toleranceOf(backend, op);
    // Known answers are float64 closed forms; the backend's tolerance is measured against
    // reference's float32 result, so add that result's rounding (2 ulps) and nothing more.
    const ulps = { atol: 1e-30, rtol: 2 ** -22 };
    return backend === 'reference' ? ulps : { atol: t.atol + ulps.atol, rtol: t.rtol + ulps.rtol };
  };
  /** Dispatch options: run on this backend and cross-check against reference; assert the report. */
  const d = (extra = {}) => {
    const reports = [];
    const opts = { backend, verify: true, ...extra, onReport: (r) => reports.push(r) };
    // Not enumerable: dispatch rejects unknown keys in its options.
    Object.defineProperty(opts, 'check', { enumerable: false, value: () => {
      assert.is(reports.length, 1, 'one dispatch report');
      const r = reports[0];
      assert.is(r.backend, backend, 'ran on the requested backend');
      assert.ok(r.verify && r.verify.passed, 'verify passed');
      assert.ok(r.verify.elementsChecked > 0, 'verify compared elements');
      return r;
    } });
    return opts;
  };
  /**
   * On the reference backend, where verify compares reference with itself: `res` (the op's result
   * for its call arguments `args`) against the independent float64 oracle of test/specs/oracle.mjs.
   */
  const oracle = (op, args, res) => {
    if (backend !== 'reference') return;
    const want = ORACLES[op](args);
    const got = res && ArrayBuffer.isView(res.data) ? { output: res } : res;
    for (const name of Object.keys(got)) if (got[name]?.data) assertClose(got[name], want[name], ORACLE_TOL, `${op} ${name} vs the float64 oracle`);
  };
  return { backend, suite: (name) => suite(`${backend} · ${name}`), d, tolFor, assertClose, ak, assert, oracle };
}

/** Register and run every op spec against `backend`. Unavailable: a failure in CI, a visible skip elsewhere. */
export function runSpecs(backend, { only } = {}) {
  const info = ak.backends().find((b) => b.name === backend);
  const names = Object.keys(SPECS).filter((n) => !only || only.includes(n));
  if (!info || !info.available) {
    const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
    const s = suite(`${backend} · availability`);
    if (process.env.CI === 'true') {
      s(`backend '${backend}' is available in CI`, () => assert.unreachable(`backend '${backend}' unavailable in CI: ${why}`));
    } else {
      console.log(`SKIP: backend '${backend}' unavailable: ${why}`);
      for (const n of names) s.skip(`${n} specs (backend unavailable: ${why})`, () => {});
    }
    s.run();
    return;
  }
  const ctx = context(backend);
  for (const n of names) SPECS[n](ctx);
}
