#!/usr/bin/env node
// The measurements behind every verify tolerance, and the tolerances they give under one rule.
// For each backend (native once per ISA this CPU has, ATTNKIT_ISA; gpu once, under xvfb-run when
// there is no display), every element compared with reference is seen by a preloaded probe
// (bench/tolerance-probe.cjs) in: the test files of TEST_FILES (the shared specs included), and a
// child run of every descriptor check, quick bench case, the GEMM family's large cases
// (bench/accuracy-cases.mjs) and a grid of x in [-100, 100] for the elementwise ops, and, for the
// ops that take half inputs, every check again with float16, bfloat16 and mixed inputs (measured
// per input type too: one tolerance per op and backend covers them all). Cases checked
// at a wider, derived tolerance (ill-conditioned logits) are left out; non-finite results must
// equal reference's (counted, never measured as an error).
//
// The rule (README, Tolerances): rtol = 4 x the largest relative error where |want| is a normal
// float32 within a decade of its output's largest, worst ISA; atol = 4 x the largest
// |got - want| - rtol·|want| left at that rtol (at least 1e-30); both rounded up to two significant
// digits. A second pass measures at the rule's rtol.
//
// Usage: node bench/tolerances.mjs [--op silu,gelu] [--backend native,gpu] [--json out.json]
import { spawnSync } from 'child_process';
import fs from 'fs';
import os from 'os';
import path from 'path';
import { fileURLToPath } from 'url';
import * as ak from 'attnkit';
import { gemmFamilyCases } from './accuracy-cases.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : def;
};
const OPS = opt('--op', ak.OP_NAMES.join(',')).split(',');
const BACKENDS = opt('--backend', 'native,gpu').split(',');
const CHILD = opt('--child', null); // internal: run the checks and cases on one backend, for the probe
const HEADROOM = 4;

/**
 * Elementwise ops: one row of x from -100 to 100 in steps of 1/64 (every regime, both tails); the
 * backward ops with dy = 1 (so dx is the derivative itself), geluBackward in both forms.
 */
const ones = () => ({ data: new Float32Array(200 * 64 + 1).fill(1), shape: [1, 200 * 64 + 1] });
const ELEMENTWISE = {
  gelu: () => [[grid(), {}]],
  silu: () => [[grid(), {}]],
  geluBackward: () => [[ones(), grid(), {}], [ones(), grid(), { approximate: 'tanh' }]],
  siluBackward: () => [[ones(), grid(), {}]],
};
function grid() {
  const n = 200 * 64 + 1;
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -100 + i / 64;
  return { data: x, shape: [1, n] };
}

/**
 * The child: this op list's checks (the whole list, as `attnkit verify` runs them; ill-conditioned
 * ones left out), quick bench cases, grid and the GEMM family's large cases (bench/accuracy-cases.mjs)
 * on one backend, seen by the preloaded probe.
 */
function childMeasure(backend) {
  for (const op of OPS) {
    const desc = ak.OPS[op];
    const cases = desc.cases.checks(false).filter((c) => !c.logitMagnitude).map((c) => c.args);
    for (const b of desc.cases.bench(true)) cases.push(b.make().args);
    if (ELEMENTWISE[op]) cases.push(...ELEMENTWISE[op]());
    for (const args of cases) verified(() => desc.call(args, { backend, verify: true }));
    // The ops that take half inputs: the same checks with their float tensors in float16, bfloat16, mixed.
    if (desc.half) {
      for (const c of desc.cases.checks(false).filter((x) => !x.logitMagnitude && !x.args.some((a) => a instanceof ak.KvCache))) {
        for (const mode of ['float16', 'bfloat16', 'mixed']) verified(() => desc.call(halfArgs(c.args, mode), { backend, verify: true }));
      }
    }
  }
  for (const [op, , run] of gemmFamilyCases(ak)) if (OPS.includes(op)) verified(() => run({ backend, verify: true }));
}

/** `args` with every float tensor converted to `mode` (float16, bfloat16, or mixed: alternating, every third left float32). */
function halfArgs(args, mode) {
  let n = 0;
  const plain = (v) => v !== null && typeof v === 'object' && (Object.getPrototypeOf(v) === Object.prototype || Array.isArray(v));
  const walk = (v) => {
    if (plain(v) && v.data instanceof Float32Array && Array.isArray(v.shape)) {
      const i = n++;
      const dt = mode === 'mixed' ? (i % 3 === 2 ? 'float32' : i % 2 ? 'float16' : 'bfloat16') : mode;
      return dt === 'float32' ? v : dt === 'float16' ? ak.toFloat16(v) : ak.toBFloat16(v);
    }
    if (Array.isArray(v)) return v.map(walk);
    if (plain(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return args.map(walk);
}

/** Run one verified call; a mismatch is seen by the probe all the same. */
function verified(call) {
  try {
    call();
  } catch (e) {
    if (!(e instanceof ak.NumericsMismatchError)) throw e;
  }
}

/** The test files whose comparisons are measured, per backend (besides the quick bench cases). */
const TEST_FILES = {
  native: ['test/native.test.mjs', 'test/native-composites.test.mjs', 'test/native-backward.test.mjs', 'test/native-hstu.test.mjs', 'test/edge.test.mjs'],
  gpu: ['test/gpu.test.mjs', 'test/gpu-hstu.test.mjs', 'test/edge.test.mjs'],
};

if (CHILD) {
  childMeasure(CHILD);
} else {
  await main();
}

async function main() {
const self = fileURLToPath(import.meta.url);
function child(backend, env, rtols) {
  const root = path.join(path.dirname(self), '..');
  const prefix = path.join(os.tmpdir(), `attnkit-tolerances-${process.pid}-${backend}-${env.ATTNKIT_ISA ?? ''}`);
  const probeEnv = {
    ...process.env, ...env, NO_COLOR: '1',
    ATTNKIT_TOLERANCE_PROBE_OUT: prefix, ATTNKIT_TOLERANCE_PROBE_BACKEND: backend, ATTNKIT_TOLERANCE_PROBE_RTOLS: JSON.stringify(rtols),
  };
  const display = backend === 'gpu' && !process.env.DISPLAY;
  const runNode = (args) => {
    const node = ['-r', path.join(root, 'bench', 'tolerance-probe.cjs'), ...args];
    const cmd = display ? ['xvfb-run', ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', process.execPath, ...node]] : [process.execPath, node];
    // The tests' own verdicts (their exit codes) do not matter here: only what the probe saw.
    spawnSync(cmd[0], cmd[1], { cwd: root, env: probeEnv, encoding: 'utf8', maxBuffer: 1 << 28 });
  };
  runNode([self, '--child', backend, '--op', OPS.join(',')]);
  for (const file of TEST_FILES[backend] ?? []) runNode(['--expose-gc', file]);
  // Merge every process's figures (each op: the worst of each).
  const merged = {};
  for (const op of OPS) merged[op] = { maxAbs: 0, maxRel: 0, atolNeeded: 0, declaredAtolNeeded: 0, outputs: 0, mismatchedNonFinite: 0, byInputs: {} };
  const files = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith(path.basename(prefix) + '.') && f.endsWith('.json'));
  if (!files.length) throw new Error(`${backend} ${JSON.stringify(env)}: the probe wrote nothing`);
  for (const f of files) {
    const part = JSON.parse(fs.readFileSync(path.join(os.tmpdir(), f), 'utf8'));
    fs.unlinkSync(path.join(os.tmpdir(), f));
    for (const [op, x] of Object.entries(part)) {
      if (!merged[op]) continue;
      const y = merged[op];
      for (const k of ['maxAbs', 'maxRel', 'atolNeeded', 'declaredAtolNeeded']) y[k] = Math.max(y[k], x[k]);
      y.outputs += x.outputs;
      y.mismatchedNonFinite += x.mismatchedNonFinite;
      for (const [dt, z] of Object.entries(x.byInputs ?? {})) {
        const t = (y.byInputs[dt] ??= { maxAbs: 0, maxRel: 0, outputs: 0 });
        t.maxAbs = Math.max(t.maxAbs, z.maxAbs);
        t.maxRel = Math.max(t.maxRel, z.maxRel);
        t.outputs += z.outputs;
      }
    }
  }
  return merged;
}

/** x rounded up to two significant digits. */
const up2 = (x) => {
  if (!(x > 0)) return 0;
  const e = 10 ** (Math.floor(Math.log10(x)) - 1);
  return Number((Math.ceil(x / e - 1e-9) * e).toPrecision(2));
};

const runs = [];
if (BACKENDS.includes('native')) {
  for (const isa of ['scalar', 'avx2', 'avx512']) {
    const probe = spawnSync(process.execPath, ['-e', "const ak=require('attnkit');process.exit(ak.backends().find(b=>b.name==='native').available?0:1)"], { env: { ...process.env, ATTNKIT_ISA: isa } });
    if (probe.status === 0) runs.push({ backend: 'native', isa, env: { ATTNKIT_ISA: isa } });
    else console.log(`native ${isa}: not available on this CPU, not measured`);
  }
}
if (BACKENDS.includes('gpu')) runs.push({ backend: 'gpu', isa: '-', env: {} });

// Pass 1 on every run; the rule's rtol per backend (worst ISA); pass 2 at that rtol.
for (const r of runs) r.pass1 = child(r.backend, r.env, {});
const rule = {};
for (const backend of new Set(runs.map((r) => r.backend))) {
  rule[backend] = {};
  for (const op of OPS) rule[backend][op] = { rtol: up2(HEADROOM * Math.max(...runs.filter((r) => r.backend === backend).map((r) => r.pass1[op].maxRel))) };
}
for (const r of runs) {
  const rtols = Object.fromEntries(OPS.map((op) => [op, rule[r.backend][op].rtol]));
  r.pass2 = child(r.backend, r.env, rtols);
}
for (const backend of Object.keys(rule)) {
  for (const op of OPS) {
    const need = Math.max(...runs.filter((r) => r.backend === backend).map((r) => r.pass2[op].atolNeeded));
    rule[backend][op].atol = Math.max(up2(HEADROOM * need), 1e-30);
  }
}

const f = (x) => (x === 0 ? '0' : x.toExponential(1));
console.log('| op | backend | isa | outputs compared | max abs err | max rel err (\\|want\\| >= max/10) | declared (rtol, atol) | atol needed at the declared rtol | within? | the rule gives (rtol, atol) | non-finite mismatches |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const op of OPS) {
  for (const r of runs) {
    const m = r.pass1[op];
    const t = ak.OPS[op].tolerances[r.backend];
    const g = rule[r.backend][op];
    const need = Math.max(0, m.declaredAtolNeeded);
    console.log(`| ${op} | ${r.backend} | ${r.isa} | ${m.outputs} | ${f(m.maxAbs)} | ${f(m.maxRel)} | ${f(t.rtol)}, ${f(t.atol)} | ${f(need)} | ${need <= t.atol ? `yes, ${f(t.atol / Math.max(need, 1e-300))}x` : 'NO'} | ${f(g.rtol)}, ${f(g.atol)} | ${m.mismatchedNonFinite + r.pass2[op].mismatchedNonFinite} |`);
  }
}
console.log(`\nrule (${HEADROOM}x headroom): ${JSON.stringify(rule)}`);
const JSON_OUT = opt('--json', null);
if (JSON_OUT) {
  // Per backend and op: the worst figures over its runs (ISAs), and the tolerance the rule gives.
  const measured = {};
  for (const backend of Object.keys(rule)) {
    measured[backend] = {};
    for (const op of OPS) {
      const rs = runs.filter((r) => r.backend === backend);
      measured[backend][op] = {
        maxAbs: Math.max(...rs.map((r) => r.pass1[op].maxAbs)),
        maxRel: Math.max(...rs.map((r) => r.pass1[op].maxRel)),
        atolNeeded: Math.max(0, ...rs.map((r) => r.pass2[op].atolNeeded)),
        declaredAtolNeeded: Math.max(0, ...rs.map((r) => r.pass1[op].declaredAtolNeeded)),
        // Per input element type, worst over the ISAs.
        byInputs: Object.fromEntries([...new Set(rs.flatMap((r) => Object.keys(r.pass1[op].byInputs)))].sort().map((dt) => [dt, {
          maxAbs: Math.max(...rs.map((r) => r.pass1[op].byInputs[dt]?.maxAbs ?? 0)),
          maxRel: Math.max(...rs.map((r) => r.pass1[op].byInputs[dt]?.maxRel ?? 0)),
          outputs: rs.reduce((a, r) => a + (r.pass1[op].byInputs[dt]?.outputs ?? 0), 0),
        }])),
        isas: rs.map((r) => r.isa),
      };
    }
  }
  fs.writeFileSync(JSON_OUT, `${JSON.stringify({ headroom: HEADROOM, rule, measured }, null, 2)}\n`);
}
}
