/**
 * Execution: check the dispatch options, run the selected kernel (sync or off the main thread),
 * cross-check against reference when asked, and report what ran.
 *
 * @module
 */
import { DTypeError, NumericsMismatchError, describeType, type VerifyReport } from '../errors';
import type { AsyncKernel, OpArgs, OpName, OpResults, RowFilter } from '../kernels';
import { liveBufferCheck } from '../buffers';
import { optionsObject } from '../options';
import { compareResults, inputDtypes, verifySettings } from './compare';
import { referenceKernel } from './registry';
import { select } from './select';
import type { DispatchOptions, OutputLayout } from './types';

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
    report = compareResults(op, sel.def.name, result, want, lay, vs.filter, vs.tol, inputDtypes(args));
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
    report = compareResults(op, sel.def.name, result, want, lay, vs.filter, vs.tol, inputDtypes(args));
    if (!report.passed) throw new NumericsMismatchError(report);
  }
  options.onReport?.({ op, backend: sel.def.name, requested, reason: sel.reason, verify: report });
  return result;
}
