/**
 * Typed errors. Every error attnkit throws on purpose is an {@link AttnkitError}; each subclass
 * names the argument (or backend, or op) it is about, so callers can branch on `instanceof` or on
 * the stable `code` string.
 *
 * @module
 */

/** Describe a shape for messages: `[2,3,4]`. */
export function formatShape(shape: ArrayLike<number> | null | undefined): string {
  if (shape == null) return String(shape);
  return `[${Array.from(shape as ArrayLike<number>).join(',')}]`;
}

/** Name a received value's type for messages (`Float64Array`, `Array`, `null`, `string`, ...). */
export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value !== 'object' && typeof value !== 'function') return typeof value;
  try {
    const ctor = (value as { constructor?: { name?: unknown } }).constructor;
    if (ctor && typeof ctor.name === 'string' && ctor.name) return ctor.name;
  } catch {
    /* a Proxy or getter may throw: fall through */
  }
  return 'object';
}

/** Base class of every error attnkit throws deliberately. */
export class AttnkitError extends Error {
  /** A stable machine-readable code, e.g. `'ERR_ATTNKIT_SHAPE'`. */
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An argument's rank or dimensions do not fit: names the argument, the expected and the received shape. */
export class ShapeError extends AttnkitError {
  /** The argument, e.g. `'k'` or `'params.wq'`. */
  readonly argument: string;
  /** What was expected, in words or as a shape pattern like `[B,Hkv,S,D]`. */
  readonly expected: string;
  /** What was received, e.g. `[2,3]`. */
  readonly received: string;
  constructor(argument: string, expected: string, received: string, detail?: string) {
    super(
      'ERR_ATTNKIT_SHAPE',
      `${argument}: expected shape ${expected}, received ${received}${detail ? ` (${detail})` : ''}`,
    );
    this.argument = argument;
    this.expected = expected;
    this.received = received;
  }
}

/** An argument has the wrong type or element type (e.g. a Float64Array where Float32Array is required). */
export class DTypeError extends AttnkitError {
  /** The argument. */
  readonly argument: string;
  /** The expected type, e.g. `'Float32Array'`. */
  readonly expected: string;
  /** The received type, e.g. `'Float64Array'`. */
  readonly received: string;
  constructor(argument: string, expected: string, received: string, detail?: string) {
    super(
      'ERR_ATTNKIT_DTYPE',
      `${argument}: expected ${expected}, received ${received}${detail ? ` (${detail})` : ''}`,
    );
    this.argument = argument;
    this.expected = expected;
    this.received = received;
  }
}

/** A scalar or option is out of its allowed range or set (e.g. `k` outside 1..N, a non-finite scale). */
export class ValueError extends AttnkitError {
  /** The argument. */
  readonly argument: string;
  constructor(argument: string, message: string) {
    super('ERR_ATTNKIT_VALUE', `${argument}: ${message}`);
    this.argument = argument;
  }
}

/**
 * An append would take a {@link KvCache} past its capacity: names the argument (`k` of
 * `append`, `key` of multiHeadAttention, `x` of transformerEncoderLayer, or `options.counts` /
 * `options.appendCounts` when counts were given), the first batch row that does
 * not fit, its current length, the tokens asked for and the capacity. Nothing was written.
 */
export class CapacityError extends AttnkitError {
  /** The argument whose tokens do not fit. */
  readonly argument: string;
  /** The first batch row that would overflow. */
  readonly batch: number;
  /** Its valid tokens before the append. */
  readonly length: number;
  /** The tokens the append asked for in that row. */
  readonly count: number;
  /** The cache's capacity (tokens per batch row). */
  readonly capacity: number;
  constructor(argument: string, batch: number, length: number, count: number, capacity: number) {
    super(
      'ERR_ATTNKIT_CAPACITY',
      `${argument}: appending ${count} token(s) to batch ${batch} of the KV cache (length ${length}) exceeds its capacity ${capacity}; nothing was written (reset() the row or build a larger cache)`,
    );
    this.argument = argument;
    this.batch = batch;
    this.length = length;
    this.count = count;
    this.capacity = capacity;
  }
}

/** The backend exists but cannot run here; `reason` says why and `fix` what to do about it. */
export class BackendUnavailableError extends AttnkitError {
  /** The backend's name. */
  readonly backend: string;
  /** Why it cannot run. */
  readonly reason: string;
  /** The command or step that fixes it, when one is known. */
  readonly fix?: string;
  constructor(backend: string, reason: string, fix?: string) {
    super(
      'ERR_ATTNKIT_BACKEND_UNAVAILABLE',
      `backend '${backend}' is unavailable: ${reason}${fix ? `. Fix: ${fix}` : ''}`,
    );
    this.backend = backend;
    this.reason = reason;
    this.fix = fix;
  }
}

/** A backend name that no registered backend has. */
export class UnknownBackendError extends AttnkitError {
  /** The name asked for. */
  readonly backend: string;
  constructor(backend: string, known: readonly string[]) {
    super(
      'ERR_ATTNKIT_UNKNOWN_BACKEND',
      `backend: unknown backend '${backend}'; known backends: ${known.join(', ')} (or 'auto')`,
    );
    this.backend = backend;
  }
}

/** The named backend exists but has no kernel for this op. Never silently falls back. */
export class UnsupportedOpError extends AttnkitError {
  /** The backend's name. */
  readonly backend: string;
  /** The op's name. */
  readonly op: string;
  constructor(backend: string, op: string) {
    super('ERR_ATTNKIT_UNSUPPORTED_OP', `backend '${backend}' has no kernel for op '${op}'`);
    this.backend = backend;
    this.op = op;
  }
}

/** Where a verified result differs most from `reference`. */
export interface MismatchDetail {
  /** Which output (`'output'`, `'weights'`, `'lse'`, `'indices'`, `'scores'`). */
  output: string;
  /** Flat index into that output. */
  index: number;
  /** The multi-dimensional index into that output. */
  position: number[];
  /** The reference value. */
  expected: number;
  /** The backend's value. */
  actual: number;
}

/** The report of a cross-check against `reference` (see `verify` in {@link DispatchOptions}). */
export interface VerifyReport {
  /** The op checked. */
  op: string;
  /** The backend whose result was checked. */
  backend: string;
  /** True when every compared element is within tolerance. */
  passed: boolean;
  /** Relative tolerance used. */
  rtol: number;
  /** Absolute tolerance used. */
  atol: number;
  /** Rows (query rows, users, ...) compared, and out of how many. */
  rowsChecked: number;
  /** Total rows in the op's row space. */
  rowsTotal: number;
  /** Elements compared. */
  elementsChecked: number;
  /** Elements outside tolerance (a non-finite mismatch counts as one). */
  mismatches: number;
  /** Largest |got - want| over finite pairs. */
  maxAbsError: number;
  /** Largest |got - want| / |want| over finite pairs with want != 0. */
  maxRelError: number;
  /** The worst element (largest excess over the tolerance), when any element was compared. */
  worst?: MismatchDetail;
}

/** A cross-check found elements outside tolerance. Carries the full {@link VerifyReport}. */
export class NumericsMismatchError extends AttnkitError {
  /** The failing report. */
  readonly report: VerifyReport;
  constructor(report: VerifyReport) {
    const w = report.worst;
    super(
      'ERR_ATTNKIT_NUMERICS_MISMATCH',
      `${report.op} on backend '${report.backend}' differs from reference: ` +
        `${report.mismatches} of ${report.elementsChecked} elements outside |got-want| <= ${report.atol} + ${report.rtol}*|want|` +
        (w
          ? `; worst at ${w.output}${formatShape(w.position)} (flat ${w.index}): expected ${w.expected}, actual ${w.actual}`
          : '') +
        `; max abs error ${report.maxAbsError}, max rel error ${report.maxRelError}`,
    );
    this.report = report;
  }
}
