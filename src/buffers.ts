/**
 * Buffer checks shared by tensor and argument validation (internal: not re-exported).
 *
 * @module
 */
import { DTypeError, describeType } from './errors';

/**
 * True when a typed array's buffer is detached (or shrunk below the view). `buffer.detached` does
 * not exist before V8 11.4 (Node 20 ships 11.3), and Node 20's optimised code can return a
 * detached array's OLD `length` and `byteLength` once a call site has seen resizable-buffer-backed
 * arrays (found by the fuzzer, test/fuzz/). The ArrayBuffer's own byteLength is zeroed on detach, so
 * the view must fit inside it.
 */
export function isDetachedView(typed: ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number }): boolean {
  const b = typed.buffer as ArrayBuffer & { detached?: boolean };
  if (b.detached === true) return true;
  if (b.byteLength < typed.byteOffset + typed.length * typed.BYTES_PER_ELEMENT) return true;
  try {
    // The TypedArray constructor's own detach check (a builtin, not inlined field loads).
    new Uint8Array(b, 0, 0);
  } catch {
    return true;
  }
  return false;
}

/** A typed-array constructor (Float32Array, Int32Array, Uint8Array, ...). */
type TypedCtor<T> = { new (n: number): T; readonly name: string };

/**
 * `value` as a live `ctor` array, or a DTypeError on `argument` saying `expected`: not that kind of
 * typed array (ArrayBuffer.isView: a Proxy of one passes instanceof but is not one, its getters
 * throw), or its buffer detached.
 */
export function liveTypedArray<T extends ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number }>(value: unknown, argument: string, ctor: TypedCtor<T>, expected: string): T {
  if (!(ArrayBuffer.isView(value) && value instanceof (ctor as unknown as Function))) {
    throw new DTypeError(argument, expected, value instanceof (ctor as unknown as Function) ? `a Proxy of ${ctor.name}` : describeType(value));
  }
  const typed = value as T;
  if (isDetachedView(typed)) throw new DTypeError(argument, `${ctor.name.startsWith('Int') ? 'an' : 'a'} ${ctor.name} with a live buffer`, 'a detached ArrayBuffer');
  return typed;
}

/**
 * Record every typed array in a kernel's args (nested in masks, layers, exclude lists) with its
 * length now; the returned check throws a DTypeError if any was detached, shrunk or resized since.
 * The async path of a backend without an async kernel runs the sync kernel after a yield, by which
 * time the caller may have transferred an input or resized its (resizable) buffer.
 */
export function liveBufferCheck(op: string, args: unknown): () => void {
  const seen: [ArrayBufferView & { length: number }, number, string][] = [];
  const walk = (v: unknown, path: string): void => {
    if (ArrayBuffer.isView(v)) {
      if (!(v instanceof DataView)) seen.push([v as unknown as Float32Array, (v as unknown as Float32Array).length, path]);
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
  };
  walk(args, '');
  return () => {
    for (const [view, length, path] of seen) {
      if (view.length !== length || isDetachedView(view as unknown as Float32Array)) {
        throw new DTypeError(`${op}: ${path}`, 'a buffer that stays attached and unresized until the call settles', 'a buffer detached or resized while the call was in flight');
      }
    }
  };
}
