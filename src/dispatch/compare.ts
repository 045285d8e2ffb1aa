/**
 * The cross-check: comparing a backend's result with reference's, element by element, into a
 * {@link VerifyReport}; the row sample and tolerance settings of `verify`.
 *
 * @module
 */
import { ValueError, type MismatchDetail, type VerifyReport } from '../errors';
import type { OpName, RowFilter } from '../kernels';
import { optionsObject } from '../options';
import type { BackendDefinition, OutputLayout, Tolerance, VerifyOptions } from './types';

/** Evenly spread, deterministic sample of `n` rows out of `total` (the first and the last when n >= 2; row 0 when n = 1). */
export function sampleRows(total: number, n: number): Uint8Array {
  const f = new Uint8Array(total);
  if (total === 0) return f;
  const m = Math.max(1, Math.min(total, Math.floor(n)));
  if (m === 1) {
    f[0] = 1;
    return f;
  }
  for (let k = 0; k < m; k++) f[Math.floor((k * (total - 1)) / (m - 1))] = 1;
  return f;
}

/** Running comparison state (exported for ops with custom comparisons). */
export interface ComparisonAcc {
  elements: number;
  mismatches: number;
  maxAbs: number;
  maxRel: number;
  worstExcess: number;
  worst?: { output: string; index: number; expected: number; actual: number };
}

/** A fresh comparison accumulator. */
export function newComparison(): ComparisonAcc {
  return { elements: 0, mismatches: 0, maxAbs: 0, maxRel: 0, worstExcess: -Infinity };
}

/**
 * Compare one element: finite pairs by `|got - want| <= atol + rtol*|want|`; non-finite values
 * match only the same non-finite value (NaN with NaN, +Inf with +Inf, -Inf with -Inf).
 */
export function compareElement(acc: ComparisonAcc, output: string, index: number, got: number, want: number, tol: Tolerance): void {
  acc.elements++;
  let excess: number;
  let bad: boolean;
  if (Number.isFinite(got) && Number.isFinite(want)) {
    const err = Math.abs(got - want);
    if (err > acc.maxAbs) acc.maxAbs = err;
    if (want !== 0) {
      const rel = err / Math.abs(want);
      if (rel > acc.maxRel) acc.maxRel = rel;
    }
    const bound = tol.atol + tol.rtol * Math.abs(want);
    bad = err > bound;
    excess = err - bound;
  } else {
    const same = Number.isNaN(got) ? Number.isNaN(want) : got === want;
    bad = !same;
    excess = same ? -Infinity : Infinity;
    // A non-finite mismatch has no finite error: NaN, which then wins every later max (x > NaN is false).
    if (bad) acc.maxAbs = acc.maxRel = NaN;
  }
  if (bad) acc.mismatches++;
  if (excess > acc.worstExcess || acc.worst === undefined) {
    if (excess > acc.worstExcess) acc.worstExcess = excess;
    acc.worst = { output, index, expected: want, actual: got };
  }
}

function positionOf(shape: readonly number[], flat: number): number[] {
  const pos = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] || 1;
    pos[d] = flat % n;
    flat = Math.floor(flat / n);
  }
  return pos;
}

/** Turn a result (array or object of arrays) into named outputs. */
function fields(result: unknown): Record<string, ArrayLike<number>> {
  if (ArrayBuffer.isView(result)) return { output: result as unknown as ArrayLike<number> };
  const out: Record<string, ArrayLike<number>> = {};
  for (const [k, v] of Object.entries(result as Record<string, unknown>)) {
    if (v !== undefined && ArrayBuffer.isView(v)) out[k] = v as unknown as ArrayLike<number>;
  }
  return out;
}

/**
 * Sees every output that {@link compareResults} checks, with the tolerance it is checked at and the
 * rows checked (`inRows(i)`: whether element i is in a checked row). For measurement tools
 * (bench/tolerances.mjs), not part of the public API.
 */
export type ComparisonProbe = (
  op: OpName,
  backend: string,
  output: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  inRows: (i: number) => boolean,
  tol: Tolerance,
  /** The element types of the call's inputs: 'float32', 'float16', 'bfloat16' or 'mixed' (see {@link inputDtypes}). */
  inputs: string,
) => void;
let probe: ComparisonProbe | null = null;

/** Install the comparison probe (null removes it). Internal: reached through dist/cjs/dispatch/compare.js only. */
export function setComparisonProbe(p: ComparisonProbe | null): void {
  probe = p;
}

/**
 * The element types of a kernel call's half operands (its `dtypes`, and those of nested layers):
 * 'float32' when there are none, the one half type when all agree, else 'mixed'.
 */
export function inputDtypes(args: unknown): string {
  const seen = new Set<string>();
  const visit = (a: unknown): void => {
    const d = (a as { dtypes?: Record<string, string> } | null)?.dtypes;
    if (d) for (const t of Object.values(d)) if (t) seen.add(t);
  };
  visit(args);
  for (const v of Object.values((args ?? {}) as Record<string, unknown>)) if (Array.isArray(v)) v.forEach(visit);
  return seen.size === 0 ? 'float32' : seen.size === 1 ? [...seen][0] : 'mixed';
}

/** Compare a backend's result with reference's over the rows flagged in `filter`; `inputs` as {@link inputDtypes} says. */
export function compareResults(
  op: OpName,
  backend: string,
  got: unknown,
  want: unknown,
  layout: OutputLayout,
  filter: RowFilter,
  tol: Tolerance,
  inputs = 'float32',
): VerifyReport {
  const g = fields(got);
  const w = fields(want);
  if (probe) {
    for (const name of Object.keys(w)) {
      if (g[name] && g[name].length === w[name].length) probe(op, backend, name, g[name], w[name], (i) => !filter || !!filter[layout.rowOf(name, i)], tol, inputs);
    }
  }
  let acc: ComparisonAcc;
  if (layout.compare) {
    acc = layout.compare(g, w, filter, tol);
  } else {
    acc = newComparison();
    for (const name of Object.keys(w)) {
      const wa = w[name];
      const ga = g[name];
      if (!ga || ga.length !== wa.length) {
        acc.elements++;
        acc.mismatches++;
        acc.worstExcess = Infinity;
        acc.worst = { output: name, index: 0, expected: wa.length, actual: ga ? ga.length : NaN };
        continue;
      }
      for (let i = 0; i < wa.length; i++) {
        if (filter && !filter[layout.rowOf(name, i)]) continue;
        compareElement(acc, name, i, ga[i], wa[i], tol);
      }
    }
  }
  let rowsChecked = layout.rows;
  if (filter) {
    rowsChecked = 0;
    for (let i = 0; i < filter.length; i++) rowsChecked += filter[i];
  }
  const report: VerifyReport = {
    op,
    backend,
    passed: acc.mismatches === 0,
    rtol: tol.rtol,
    atol: tol.atol,
    rowsChecked,
    rowsTotal: layout.rows,
    elementsChecked: acc.elements,
    mismatches: acc.mismatches,
    maxAbsError: acc.maxAbs,
    maxRelError: acc.maxRel,
  };
  if (acc.worst) {
    const shape = layout.shapeOf(acc.worst.output);
    const detail: MismatchDetail = { ...acc.worst, position: positionOf(shape, acc.worst.index) };
    report.worst = detail;
  }
  return report;
}

/** The tolerance and row filter of a call's `verify` option (null when verify is off). */
export function verifySettings(def: BackendDefinition, op: OpName, verify: boolean | VerifyOptions | undefined, layout: OutputLayout): { tol: Tolerance; filter: RowFilter } | null {
  if (!verify) return null;
  const base = def.tolerances[op] ?? def.tolerances.default;
  const o: VerifyOptions = verify === true ? {} : optionsObject<VerifyOptions>(verify, 'dispatchOptions.verify', ['rows', 'rtol', 'atol']);
  const tol = { rtol: o.rtol ?? base.rtol, atol: o.atol ?? base.atol };
  if (!(tol.rtol >= 0) || !(tol.atol >= 0)) throw new ValueError('dispatchOptions.verify', `rtol and atol must be non-negative numbers, received rtol=${tol.rtol} atol=${tol.atol}`);
  let filter: RowFilter = null;
  if (o.rows !== undefined) {
    if (!Number.isInteger(o.rows) || o.rows < 1) throw new ValueError('dispatchOptions.verify.rows', `expected a positive integer, received ${String(o.rows)}`);
    if (o.rows < layout.rows) filter = sampleRows(layout.rows, o.rows);
  }
  return { tol, filter };
}
