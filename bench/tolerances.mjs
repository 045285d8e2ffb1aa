#!/usr/bin/env node
// Accuracy of each backend against reference on every op descriptor's checks (random and
// adversarial inputs, src/ops/<op>.ts `cases.checks`) plus a dense grid of x in [-100, 100] for
// the elementwise ops: the measurements behind the descriptors' tolerances. Native runs once per
// ISA this CPU has (one child process each, ATTNKIT_ISA), gpu once (under xvfb-run when there is
// no display). Non-finite results count only where reference has the same value.
//
// Usage: node bench/tolerances.mjs [--op silu,gelu] [--backend native,gpu]
// Prints, per op / backend / ISA: the max abs error, the max rel error where |want| >= 1e-2, and
// the atol each element needs at the descriptor's rtol (the largest |got - want| - rtol·|want|).
import { spawnSync } from 'child_process';
import { fileURLToPath } from 'url';
import * as ak from 'attnkit';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const OPS = opt('--op', ak.OP_NAMES.join(',')).split(',');
const BACKENDS = opt('--backend', 'native,gpu').split(',');
const CHILD = opt('--child', null); // internal: measure one backend in this process, print JSON

/** Elementwise ops: one row of x from -100 to 100 in steps of 1/64 (every regime, both tails). */
const ELEMENTWISE = new Set(['gelu', 'silu']);
function grid() {
  const n = 200 * 64 + 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -100 + i / 64;
  return { data: x, shape: [1, n] };
}

/** The float outputs of a result, by name. */
function fieldsOf(res) {
  if (res && res.data instanceof Float32Array) return { output: res.data };
  const out = {};
  for (const [k, v] of Object.entries(res)) if (v && v.data instanceof Float32Array) out[k] = v.data;
  return out;
}

function measure(backend, op) {
  const desc = ak.OPS[op];
  const { rtol } = desc.tolerances[backend];
  const cases = desc.cases.checks(false).map((c) => c.args);
  if (ELEMENTWISE.has(op)) cases.push([grid(), {}]);
  const m = { maxAbs: 0, maxRel: 0, atolNeeded: 0, mismatchedNonFinite: 0, cases: cases.length };
  for (const args of cases) {
    const got = fieldsOf(desc.call(args, { backend }));
    const want = fieldsOf(desc.call(args, { backend: 'reference' }));
    for (const [name, w] of Object.entries(want)) {
      const g = got[name];
      for (let i = 0; i < w.length; i++) {
        if (!Number.isFinite(w[i]) || !Number.isFinite(g[i])) {
          if (!Object.is(w[i], g[i]) && !(Number.isNaN(w[i]) && Number.isNaN(g[i])) && !(w[i] === g[i])) m.mismatchedNonFinite++;
          continue;
        }
        const e = Math.abs(g[i] - w[i]);
        m.maxAbs = Math.max(m.maxAbs, e);
        if (Math.abs(w[i]) >= 1e-2) m.maxRel = Math.max(m.maxRel, e / Math.abs(w[i]));
        m.atolNeeded = Math.max(m.atolNeeded, e - rtol * Math.abs(w[i]));
      }
    }
  }
  return m;
}

if (CHILD) {
  const out = {};
  for (const op of OPS) out[op] = measure(CHILD, op);
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const self = fileURLToPath(import.meta.url);
function child(backend, env) {
  const cmd = backend === 'gpu' && !process.env.DISPLAY ? ['xvfb-run', ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', process.execPath, self]] : [process.execPath, [self]];
  const r = spawnSync(cmd[0], [...cmd[1], '--child', backend, '--op', OPS.join(',')], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${backend} ${JSON.stringify(env)}: exit ${r.status}\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const runs = [];
if (BACKENDS.includes('native')) {
  for (const isa of ['scalar', 'avx2', 'avx512']) {
    const probe = spawnSync(process.execPath, ['-e', "const ak=require('attnkit');process.exit(ak.backends().find(b=>b.name==='native').available?0:1)"], { env: { ...process.env, ATTNKIT_ISA: isa } });
    if (probe.status === 0) runs.push({ backend: 'native', isa, res: child('native', { ATTNKIT_ISA: isa }) });
    else console.log(`native ${isa}: not available on this CPU, not measured`);
  }
}
if (BACKENDS.includes('gpu')) runs.push({ backend: 'gpu', isa: '-', res: child('gpu', {}) });

const f = (x) => (x === 0 ? '0' : x.toExponential(1));
console.log('| op | backend | isa | cases | max abs err | max rel err (\\|want\\| >= 1e-2) | atol needed at the declared rtol | declared (rtol, atol) | non-finite mismatches |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const op of OPS) {
  for (const r of runs) {
    const m = r.res[op];
    const t = ak.OPS[op].tolerances[r.backend];
    console.log(`| ${op} | ${r.backend} | ${r.isa} | ${m.cases} | ${f(m.maxAbs)} | ${f(m.maxRel)} | ${f(Math.max(0, m.atolNeeded))} | ${f(t.rtol)}, ${f(t.atol)} | ${m.mismatchedNonFinite} |`);
  }
}
