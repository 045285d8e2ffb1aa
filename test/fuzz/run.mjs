// The fuzzer's driver: builds one case from a recipe (op, seed, mode, pick, async), applies the
// representations or one corruption, calls the public function (or its async twin) and checks
// the property: a correct result or an `instanceof AttnkitError` throw.
import { MODES, convertArgs } from '../specs/half.mjs';
import fc from 'fast-check';
import * as ak from 'attnkit';
import { CORRUPT } from './corruptions.mjs';
import { compareFlat, flatten } from './compare.mjs';
import { REPRS } from './representations.mjs';
import { cloneArgs, rngOf, slots } from './support.mjs';
import { toleranceOf } from '../specs/util.mjs';

export const FUZZ_SEED = 20261122;

/** A valid random call of `op` (the descriptor's fuzz builder): { op, args }, tensors as plain { data, shape }. */
export function buildCase(op, R, small) {
  const args = ak.OPS[op].cases.random(R, small);
  // A quarter of the calls of the ops that take half inputs: their float tensors in float16,
  // bfloat16 or a mix (the same conversion as the shared half spec).
  if (ak.OPS[op].half && R.int(0, 3) === 0) {
    const mode = ['float16', 'bfloat16', 'mixed'][R.int(0, 2)];
    return { op, args: convertArgs(ak, args, MODES[mode]).half, half: mode };
  }
  return { op, args };
}

function tolFor(backend, op) {
  if (backend === 'reference') return { atol: 0, rtol: 0 }; // same code, same numbers: bit-identical
  return toleranceOf(backend, op);
}

/**
 * Call the public function `ak[op]` (or `ak[op + 'Async']`) as a user does: the descriptor's
 * positional parameters (padded with undefined), then the dispatch options.
 */
export function callOp(c, backend, async, verify) {
  const fn = ak[async ? `${c.op}Async` : c.op];
  const dopts = c.dispatchOverride !== undefined ? c.dispatchOverride : { backend, ...(verify && backend !== 'reference' ? { verify: true } : {}) };
  const n = ak.OPS[c.op].params.length;
  const args = c.args.slice(0, n);
  while (args.length < n) args.push(undefined);
  return fn(...args, dopts);
}

class HangError extends Error {}

/** Outcome counters. */
export function newStats() {
  return { calls: 0, correct: 0, typed: 0, failures: [], byOutcome: {}, asyncCalls: 0 };
}
function record(stats, kind, key) {
  stats.byOutcome[key] = (stats.byOutcome[key] || 0) + 1;
  if (kind === 'correct') stats.correct++;
  else if (kind === 'typed') stats.typed++;
}

/** A represented half tensor keeps its dtype (a frozen representation is rebuilt frozen with it). */
function withDtype(rep, dtype) {
  if (!dtype) return rep;
  if (Object.isFrozen(rep)) return Object.freeze({ data: rep.data, shape: rep.shape, dtype });
  rep.dtype = dtype;
  return rep;
}

/** Apply a representation to each tensor slot with probability 1/2 (some cases keep all plain). */
function represent(R, c, pick) {
  const names = [];
  const replaced = new Set();
  for (const s of slots(c)) {
    if (replaced.has(s[0][s[1]]) || !R.bool(0.5)) continue;
    const [name, f] = REPRS[(pick + names.length) % REPRS.length];
    const shared = s[0][s[1]];
    const rep = withDtype(f(shared), shared.dtype);
    // keep the self-attention aliasing: the same object must stay shared
    for (const s2 of slots(c)) if (s2[0][s2[1]] === shared) s2[0][s2[1]] = rep;
    replaced.add(rep);
    names.push(`${s[3]}:${name}`);
  }
  return `valid [${names.join(' ')}]`;
}

/** The call, awaited for the async twin; a promise that never settles is a defect too (raced against a generous timer). */
async function invoke(c, backend, async, hangMs) {
  if (!async) return callOp(c, backend, false, true);
  const p = callOp(c, backend, true, true);
  if (!(p instanceof Promise)) throw new Error('async twin did not return a Promise');
  let timer;
  const hang = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new HangError()), hangMs);
  });
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

function acceptedDetail(c, res) {
  const inputs = slots(c).map((x) => {
    const t = x[0][x[1]];
    return `${x[3]}:${t.shape}/${t.data?.length}/${t.data?.buffer?.byteLength}`;
  });
  const outputs = Object.entries(flatten(res)).map(([k, v]) => `${k}=${v.length}[${Array.from(v.slice(0, 4))}]`);
  return `${inputs.join(' ')} result:${outputs.join(' ')}`;
}

/**
 * Build and run one case. `spec` = { op, seed, mode: 'valid'|'corrupt', pick, async } (integers
 * drawn by fast-check). Returns nothing; records into `stats`; failures carry the recipe.
 */
export async function runCase(backend, spec, stats, opts = {}) {
  const R = rngOf(spec.seed);
  const base = buildCase(spec.op, R, opts.small);
  const clean = cloneArgs(base.args);
  const c = { op: base.op, args: cloneArgs(base.args) };
  const recipe = { backend, ...spec };
  const hangMs = opts.hangMs ?? 15000;
  let must = false;
  if (spec.mode === 'valid') recipe.what = represent(R, c, spec.pick);
  else {
    // A few corruptions become valid for some ops (e.g. no slot of that kind): those are not `must`.
    const [name, m, f] = CORRUPT[spec.pick % CORRUPT.length];
    must = m;
    recipe.what = `${name}: ${f(R, c)}`;
  }
  if (opts.onCase) opts.onCase(recipe);
  stats.calls++;
  if (spec.async) stats.asyncCalls++;
  // An optional corruption is compared with reference on the same input: copied before the call,
  // since an op may update its arguments in place (adamStep).
  const before = spec.mode !== 'valid' && !must ? cloneArgs(c.args) : null;
  let res;
  try {
    res = await invoke(c, backend, spec.async, hangMs);
  } catch (e) {
    if (e instanceof ak.AttnkitError) {
      if (spec.mode === 'valid') stats.failures.push({ ...recipe, problem: `valid input rejected: ${e.name}: ${e.message}` });
      else record(stats, 'typed', `typed:${e.code}`);
    } else if (e instanceof HangError) {
      stats.failures.push({ ...recipe, problem: `async call never settled (waited ${hangMs} ms)` });
    } else {
      const stack = String(e?.stack ?? '').split('\n').slice(0, 6).join('\n');
      stats.failures.push({ ...recipe, problem: `untyped error: ${e?.constructor?.name}: ${e?.message ?? String(e)}`, stack });
    }
    return;
  }
  if (spec.mode !== 'valid' && must) {
    stats.failures.push({ ...recipe, problem: 'invalid input accepted', detail: acceptedDetail(c, res) });
    return;
  }
  // Correctness: reference on plain copies (valid) or on the same input (optional corruptions).
  const seen = spec.mode === 'valid' ? clean : before;
  let want;
  try {
    want = callOp({ op: c.op, args: seen }, 'reference', false, false);
  } catch (e) {
    stats.failures.push({ ...recipe, problem: `backend accepted an input reference rejects: ${e?.name}: ${e?.message}` });
    return;
  }
  // topK indices are checked by recomputing their scores from the inputs the call accepted.
  const bad = compareFlat(c.op, flatten(res), flatten(want), tolFor(backend, c.op), { args: seen });
  if (bad) stats.failures.push({ ...recipe, problem: `wrong result: ${bad}` });
  else record(stats, 'correct', spec.mode === 'valid' ? 'correct:valid' : 'correct:optional-corruption');
}

/** The fast-check arbitrary of case recipes for the given ops. */
export function caseArbitrary(ops, { asyncRatio = 0.25 } = {}) {
  return fc.record({
    op: fc.constantFrom(...ops),
    seed: fc.integer({ min: 1, max: 0x7fffffff }),
    mode: fc.constantFrom('valid', 'corrupt', 'corrupt'),
    pick: fc.nat({ max: 10_000 }),
    async: fc.nat({ max: 99 }).map((x) => x < asyncRatio * 100),
  });
}

/**
 * Run `numRuns` cases on a backend with a fixed seed. Returns the stats; a property failure
 * (untyped error, wrong result, accepted invalid input) is collected rather than thrown so the
 * long run can count everything; fast-check still drives generation with the seed.
 */
export async function fuzzBackend(backend, { numRuns, seed = FUZZ_SEED, ops, small, onCase, asyncRatio, hangMs } = {}) {
  const info = ak.backends().find((b) => b.name === backend);
  const useOps = (ops ?? info.ops).filter((o) => ak.OP_NAMES.includes(o) && info.ops.includes(o));
  const stats = newStats();
  stats.ops = useOps;
  await fc.assert(
    fc.asyncProperty(caseArbitrary(useOps, { asyncRatio }), async (spec) => {
      await runCase(backend, spec, stats, { small, onCase, hangMs });
      return true;
    }),
    { seed, numRuns, endOnFailure: true },
  );
  return stats;
}
