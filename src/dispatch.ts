/**
 * The dispatcher: a registry of backends and their kernels keyed by op, backend selection
 * (`'auto'` or a name), and the cross-check of any result against `reference`.
 *
 * @module
 */
import {
  BackendUnavailableError,
  DTypeError,
  NumericsMismatchError,
  UnknownBackendError,
  UnsupportedOpError,
  ValueError,
  describeType,
  type MismatchDetail,
  type VerifyReport,
} from './errors';
import type { AsyncKernel, Kernel, OpArgs, OpName, OpResults, ReferenceKernel, RowFilter } from './kernels';
import { liveBufferCheck } from './buffers';
import { optionsObject } from './options';

/** Per-op tolerance: an element passes when `|got - want| <= atol + rtol * |want|`. */
export interface Tolerance {
  /** Relative part. */
  rtol: number;
  /** Absolute part. */
  atol: number;
}

/** Whether a backend can run here, and if not, why and how to fix it. */
export type Availability =
  | { available: true }
  | { available: false; reason: string; fix?: string };

/** A backend as listed by {@link backends}. */
export interface BackendInfo {
  /** Its name (`'reference'`, `'native'`, `'gpu'`, ...). */
  name: string;
  /** True when it can run here. */
  available: boolean;
  /** Why it cannot run (when unavailable). */
  reason?: string;
  /** The command or step that makes it available (when unavailable). */
  fix?: string;
  /** The instruction-set path in use (native). */
  isa?: string;
  /** Worker threads it uses (native). */
  threads?: number;
  /** The GL renderer (gpu). */
  renderer?: string;
  /** Ops it has kernels for. */
  ops: OpName[];
  /** Anything else the backend wants to report (versions, kernel class, ...). */
  details?: Record<string, unknown>;
}

/** What a backend registers. Kernels take the checked, flat arguments of src/kernels.ts. */
export interface BackendDefinition {
  /** Unique name. */
  name: string;
  /**
   * Whether it can run here. Called lazily (first use or {@link backends}); a backend caches the
   * answer itself if probing is expensive.
   */
  probe(): Availability;
  /** Synchronous kernels, by op. */
  kernels: { [O in OpName]?: Kernel<O> };
  /** Kernels that run off the main thread, by op. Without one, the async twin yields once and runs the sync kernel. */
  asyncKernels?: { [O in OpName]?: AsyncKernel<O> };
  /** Default verify tolerances per op (measured; see the README), and a fallback. */
  tolerances: { [O in OpName]?: Tolerance } & { default: Tolerance };
  /**
   * Rank for `auto` (lower is preferred); `null` = never picked by auto for this problem.
   * Absent: never picked by auto.
   */
  autoRank?: <O extends OpName>(op: O, args: OpArgs[O]) => number | null;
  /** Extra facts for {@link backends} (isa, threads, renderer, details). */
  info?: () => Partial<Omit<BackendInfo, 'name' | 'available' | 'reason' | 'fix' | 'ops'>>;
}

/** Cross-check options: all rows (true), or a deterministic sample of `rows` rows, with tolerances. */
export interface VerifyOptions {
  /** Compare only this many rows (query rows, users, ...), spread evenly and always the same ones. */
  rows?: number;
  /** Relative tolerance (default: the backend's measured default for the op). */
  rtol?: number;
  /** Absolute tolerance (default: the backend's measured default for the op). */
  atol?: number;
}

/** What the dispatcher did for one call: which backend ran, why, and the verify report if any. */
export interface DispatchReport {
  /** The op. */
  op: OpName;
  /** The backend that ran. */
  backend: string;
  /** What the caller asked for (`'auto'` or a name). */
  requested: string;
  /** Why this backend (for auto: the ranking it won). */
  reason: string;
  /** The cross-check, when `verify` was on. */
  verify?: VerifyReport;
}

/** The last argument of every op. */
export interface DispatchOptions {
  /** `'auto'` (default) or a backend name. An unknown name or a missing kernel is an error, never a fallback. */
  backend?: string;
  /** Cross-check against `reference`: true for every row, or {@link VerifyOptions}. A mismatch throws {@link NumericsMismatchError}. */
  verify?: boolean | VerifyOptions;
  /** Called after every dispatched call with what ran and, when verified, the (passing) report. */
  onReport?: (report: DispatchReport) => void;
}

/** How an op's results are laid out, so verify can map each element to a row of the op's row space. */
export interface OutputLayout {
  /** Number of rows in the op's row space. */
  rows: number;
  /** Map a flat element index of a named output to its row. */
  rowOf: (output: string, flat: number) => number;
  /** Shape of a named output (for positions in reports). */
  shapeOf: (output: string) => readonly number[];
  /** Optional custom comparison (topK compares indices through their scores). */
  compare?: (got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>, filter: RowFilter, tol: Tolerance) => ComparisonAcc;
}

const registry = new Map<string, BackendDefinition>();
const availabilityCache = new Map<string, Availability>();
let referenceKernels: { [O in OpName]?: ReferenceKernel<O> } = {};

/**
 * Register (or replace) a backend. Backends that ship with attnkit register themselves; a test or
 * an extension can register its own. `reference` cannot be replaced once registered: it is what
 * `verify` compares against.
 * @throws ValueError for a missing name, `'auto'`, or a second `'reference'`.
 */
export function registerBackend(def: BackendDefinition): void {
  if (!def || typeof def.name !== 'string' || !def.name || def.name === 'auto') {
    throw new ValueError('backend.name', `a non-empty name other than 'auto' is required, received ${describeType(def?.name)}`);
  }
  if (def.name === 'reference' && registry.has('reference')) {
    throw new ValueError('backend.name', "'reference' is the specification verify compares against and cannot be replaced; register your backend under another name");
  }
  registry.set(def.name, def);
  availabilityCache.delete(def.name);
  if (def.name === 'reference') referenceKernels = def.kernels as typeof referenceKernels;
}

/**
 * Remove a registered backend (for tests and extensions). Returns true if it existed.
 * @throws ValueError for `'reference'` (verify needs it).
 */
export function unregisterBackend(name: string): boolean {
  if (name === 'reference') throw new ValueError('name', "'reference' cannot be unregistered: verify compares against it");
  availabilityCache.delete(name);
  return registry.delete(name);
}

/** Forget cached availability (e.g. after building the addon in-process). */
export function resetAvailability(name?: string): void {
  if (name === undefined) availabilityCache.clear();
  else availabilityCache.delete(name);
}

/** Whether a registered backend can run here: its probe, run once and cached (resetAvailability forgets it). */
export function availability(def: BackendDefinition): Availability {
  let a = availabilityCache.get(def.name);
  if (!a) {
    try {
      a = def.probe();
    } catch (e) {
      a = { available: false, reason: `probe failed: ${(e as Error)?.message ?? String(e)}` };
    }
    availabilityCache.set(def.name, a);
  }
  return a;
}

/** Every registered backend, whether it can run here, and if not, why and how to fix it. */
export function backends(): BackendInfo[] {
  const out: BackendInfo[] = [];
  for (const def of registry.values()) {
    const a = availability(def);
    const info: BackendInfo = {
      name: def.name,
      available: a.available,
      ops: Object.keys(def.kernels) as OpName[],
    };
    if (!a.available) {
      info.reason = a.reason;
      if (a.fix) info.fix = a.fix;
    } else if (def.info) {
      try {
        Object.assign(info, def.info());
      } catch (e) {
        info.details = { infoError: (e as Error)?.message ?? String(e) };
      }
    }
    out.push(info);
  }
  return out;
}

/** The registered definition of a backend (for tools such as the bench CLI). */
export function getBackend(name: string): BackendDefinition | undefined {
  return registry.get(name);
}

interface Selected<O extends OpName> {
  def: BackendDefinition;
  kernel: Kernel<O>;
  reason: string;
}

function select<O extends OpName>(op: O, args: OpArgs[O], requested: string): Selected<O> {
  if (requested !== 'auto') {
    const def = registry.get(requested);
    if (!def) throw new UnknownBackendError(requested, [...registry.keys()]);
    const a = availability(def);
    if (!a.available) throw new BackendUnavailableError(def.name, a.reason, a.fix);
    const kernel = def.kernels[op] as Kernel<O> | undefined;
    if (!kernel) throw new UnsupportedOpError(def.name, op);
    return { def, kernel, reason: 'requested by name' };
  }
  let best: { def: BackendDefinition; rank: number } | null = null;
  const considered: string[] = [];
  for (const def of registry.values()) {
    if (!def.kernels[op] || !def.autoRank) continue;
    if (!availability(def).available) {
      considered.push(`${def.name} (unavailable)`);
      continue;
    }
    const rank = def.autoRank(op, args);
    if (rank === null) {
      considered.push(`${def.name} (not for this problem)`);
      continue;
    }
    considered.push(`${def.name} (rank ${rank})`);
    if (!best || rank < best.rank) best = { def, rank };
  }
  if (!best) {
    const ref = registry.get('reference');
    if (ref && ref.kernels[op]) return { def: ref, kernel: ref.kernels[op] as Kernel<O>, reason: 'auto: only reference can run this' };
    throw new UnsupportedOpError('auto', op);
  }
  return {
    def: best.def,
    kernel: best.def.kernels[op] as Kernel<O>,
    reason: `auto: lowest measured rank among ${considered.join(', ')}`,
  };
}

/** Which backend `auto` (or a name) would pick for an op and its checked arguments, and why. */
export function explainSelection<O extends OpName>(op: O, args: OpArgs[O], backend = 'auto'): { backend: string; reason: string } {
  const s = select(op, args, backend);
  return { backend: s.def.name, reason: s.reason };
}

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

/** Compare a backend's result with reference's over the rows flagged in `filter`. */
export function compareResults(
  op: OpName,
  backend: string,
  got: unknown,
  want: unknown,
  layout: OutputLayout,
  filter: RowFilter,
  tol: Tolerance,
): VerifyReport {
  const g = fields(got);
  const w = fields(want);
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

function verifySettings(def: BackendDefinition, op: OpName, verify: boolean | VerifyOptions | undefined, layout: OutputLayout): { tol: Tolerance; filter: RowFilter } | null {
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

function checkOptions(options: DispatchOptions | undefined): { requested: string; options: DispatchOptions } {
  if (options === undefined || options === null) return { requested: 'auto', options: {} };
  // The op's last argument, named apart from the op's own `options` so errors say which is meant.
  // Each field is read once (a throwing getter or Proxy is a typed error, and cannot change later).
  const o = optionsObject<DispatchOptions>(options, 'dispatchOptions', ['backend', 'verify', 'onReport']);
  options = { backend: o.backend, verify: o.verify, onReport: o.onReport };
  const requested = options.backend ?? 'auto';
  if (typeof requested !== 'string') throw new DTypeError('dispatchOptions.backend', "a backend name or 'auto'", describeType(requested));
  if (options.onReport !== undefined && typeof options.onReport !== 'function') {
    throw new DTypeError('dispatchOptions.onReport', 'a function', describeType(options.onReport));
  }
  return { requested, options };
}

function referenceKernel<O extends OpName>(op: O): ReferenceKernel<O> {
  const k = referenceKernels[op] as ReferenceKernel<O> | undefined;
  if (!k) throw new UnsupportedOpError('reference', op);
  return k;
}

/** Run an op's checked arguments on the chosen backend, cross-checking when asked. Used by src/ops. */
export function dispatch<O extends OpName>(op: O, args: OpArgs[O], layout: () => OutputLayout, opts?: DispatchOptions): OpResults[O] {
  const { requested, options } = checkOptions(opts);
  const sel = select(op, args, requested);
  const lay = options.verify ? layout() : null;
  const vs = lay ? verifySettings(sel.def, op, options.verify, lay) : null;
  const result = sel.kernel(args);
  let report: VerifyReport | undefined;
  if (vs && lay) {
    const want = referenceKernel(op)(args, vs.filter);
    report = compareResults(op, sel.def.name, result, want, lay, vs.filter, vs.tol);
    if (!report.passed) throw new NumericsMismatchError(report);
  }
  options.onReport?.({ op, backend: sel.def.name, requested, reason: sel.reason, verify: report });
  return result;
}

let referenceAsync: (<O extends OpName>(op: O, args: OpArgs[O], rows: RowFilter) => Promise<OpResults[O]>) | null = null;

/** Install the off-main-thread runner for reference kernels (the reference backend does this). */
export function setReferenceAsyncRunner(fn: <O extends OpName>(op: O, args: OpArgs[O], rows: RowFilter) => Promise<OpResults[O]>): void {
  referenceAsync = fn;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
}

/** The async twin of {@link dispatch}: the kernel (and the verifying reference run) off the main thread where the backend can. */
export async function dispatchAsync<O extends OpName>(op: O, args: OpArgs[O], layout: () => OutputLayout, opts?: DispatchOptions): Promise<OpResults[O]> {
  const { requested, options } = checkOptions(opts);
  const sel = select(op, args, requested);
  const lay = options.verify ? layout() : null;
  const vs = lay ? verifySettings(sel.def, op, options.verify, lay) : null;
  const asyncKernel = sel.def.asyncKernels?.[op] as AsyncKernel<O> | undefined;
  const runRef = (rows: RowFilter): Promise<OpResults[O]> =>
    referenceAsync ? referenceAsync(op, args, rows) : yieldToEventLoop().then(() => referenceKernel(op)(args, rows));
  let resultP: Promise<OpResults[O]>;
  if (asyncKernel) resultP = asyncKernel(args);
  else if (sel.def.name === 'reference') resultP = runRef(null);
  // The inputs are read after the yield: if the caller detached or shrank one meanwhile, a typed error.
  else {
    const stillLive = liveBufferCheck(op, args);
    resultP = yieldToEventLoop().then(() => (stillLive(), sel.kernel(args)));
  }
  const wantP = vs ? runRef(vs.filter) : null;
  const [result, want] = await Promise.all([resultP, wantP]);
  let report: VerifyReport | undefined;
  if (vs && lay && want) {
    report = compareResults(op, sel.def.name, result, want, lay, vs.filter, vs.tol);
    if (!report.passed) throw new NumericsMismatchError(report);
  }
  options.onReport?.({ op, backend: sel.def.name, requested, reason: sel.reason, verify: report });
  return result;
}
