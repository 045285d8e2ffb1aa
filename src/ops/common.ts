/**
 * Glue shared by every op: run a prepared call through the dispatcher, sync or async, and wrap
 * the flat kernel result into tensors.
 *
 * @module
 */
import { isDetachedView } from '../buffers';
import { dispatch, dispatchAsync, type DispatchOptions, type OutputLayout } from '../dispatch';
import { DTypeError } from '../errors';
import type { DType, OpArgs, OpName, OpResults } from '../kernels';
import { toBFloat16, toFloat16 } from '../half';
import type { HalfTensor, Tensor } from '../tensor';
import type { OptionSpec } from './descriptor';

/** An op call whose arguments are checked: the kernel args, how to lay out its outputs, how to wrap them. */
export interface Prepared<O extends OpName, R> {
  op: O;
  args: OpArgs[O];
  layout: () => OutputLayout;
  wrap: (result: OpResults[O]) => R;
  /** options.outputDtype: the element type the main output is returned in (absent: float32). */
  outputDtype?: DType;
  /**
   * The args' `out` field is an input of the op, not the caller's output buffer (sdpaBackward's
   * `out` is the forward's output): {@link runAsync} passes it on instead of leaving it out.
   */
  outIsInput?: boolean;
}

/** The `outputDtype` option of the ops that take half inputs (one spec, shared). */
export const OUTPUT_DTYPE_OPTION: OptionSpec = {
  kind: 'enum',
  values: ['float32', 'float16', 'bfloat16'],
  default: 'float32',
  doc: "element type of the returned output: 'float32' (default; computed in float32 whatever the inputs) or a half type, rounded to nearest even at the end",
};

/**
 * `r` as an op with `outputDtype` returns it: the main output (a tensor, the `output` of a result
 * object, or topK's `scores`) rounded to `dtype` when that is a half type; float32: `r` itself.
 */
export function narrowOutput<R>(r: R, dtype: DType | undefined): R {
  if (!dtype || dtype === 'float32') return r;
  const narrow = (t: Tensor): HalfTensor => (dtype === 'float16' ? toFloat16(t) : toBFloat16(t));
  const x = r as unknown as Record<string, unknown>;
  if (x.data instanceof Float32Array) return narrow(r as unknown as Tensor) as unknown as R;
  if (x.output) return { ...x, output: narrow(x.output as Tensor) } as unknown as R;
  if (x.scores) return { ...x, scores: narrow(x.scores as Tensor) } as unknown as R;
  return r;
}

/**
 * The result type of a call with `outputDtype` set to a half type: its main output a
 * {@link HalfTensor} (see {@link narrowOutput}).
 */
export type Narrowed<R> = R extends Tensor
  ? HalfTensor
  : R extends { output: Tensor }
    ? Omit<R, 'output'> & { output: HalfTensor }
    : R extends { scores: Tensor }
      ? Omit<R, 'scores'> & { scores: HalfTensor }
      : R;

/** Run a prepared call synchronously. */
export function run<O extends OpName, R>(p: Prepared<O, R>, options?: DispatchOptions): R {
  return narrowOutput(p.wrap(dispatch(p.op, p.args, p.layout, options)), p.outputDtype);
}

/** Run a prepared call off the main thread where the backend can. Argument errors still reject the promise. */
export async function runAsync<O extends OpName, R>(prepare: () => Prepared<O, R>, options?: DispatchOptions): Promise<R> {
  const p = prepare();
  // An async kernel works on copies of its inputs (a worker's clone, the native addon's private
  // copies), so a caller's `out` would only be copied there and back: leave it out and let wrap()
  // copy the result into it once.
  const args = (p.args as { out?: unknown }).out && !p.outIsInput ? ({ ...p.args, out: null } as OpArgs[O]) : p.args;
  return narrowOutput(p.wrap(await dispatchAsync(p.op, args, p.layout, options)), p.outputDtype);
}

/** Layout for ops whose every output is `[rows, cols_k]` row-major over the same row space. */
export function rowMajorLayout(rows: number, shapes: Record<string, readonly number[]>): OutputLayout {
  const colsOf: Record<string, number> = {};
  for (const [name, shape] of Object.entries(shapes)) {
    let n = 1;
    for (const d of shape) n *= d;
    colsOf[name] = rows > 0 ? n / rows : 1;
  }
  return {
    rows,
    rowOf: (name, flat) => Math.floor(flat / (colsOf[name] || 1)),
    shapeOf: (name) => shapes[name] ?? [],
  };
}

/**
 * Layout for the backward ops with sums over every row (layerNormBackward's dGamma, dBeta,
 * linearBackward's dW, db) beside per-row outputs: `perRow` outputs map to their rows as in
 * {@link rowMajorLayout}; every element of a `summed` output maps to row 0, which every verify
 * row sample holds, so a sampled verify still checks the sums in full (reference computes them
 * over every row whatever the sample).
 */
export function rowsAndSumsLayout(rows: number, perRow: Record<string, readonly number[]>, summed: Record<string, readonly number[]>): OutputLayout {
  const base = rowMajorLayout(rows, perRow);
  return {
    rows,
    rowOf: (name, flat) => (name in summed ? 0 : base.rowOf(name, flat)),
    shapeOf: (name) => summed[name] ?? base.shapeOf(name),
  };
}

/**
 * `result` placed in the caller's `out` (options.out): returned as is when the kernel already wrote
 * there, else copied in. Throws when `out` was detached while an async call ran.
 */
export function intoOut(result: Float32Array, out: Float32Array | null): Float32Array {
  if (!out || result === out) return result;
  if (isDetachedView(out)) throw new DTypeError('options.out', 'a Float32Array with a live buffer', 'a buffer detached while the call ran');
  out.set(result);
  return out;
}
