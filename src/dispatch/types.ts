/**
 * The dispatcher's public types: tolerances, backend definitions and reports, dispatch options,
 * output layouts.
 *
 * @module
 */
import type { VerifyReport } from '../errors';
import type { AsyncKernel, Kernel, OpArgs, OpName, RowFilter } from '../kernels';
import type { ComparisonAcc } from './compare';

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
