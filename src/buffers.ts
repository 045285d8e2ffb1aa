/**
 * Buffer checks shared by tensor and argument validation (internal: not re-exported).
 *
 * @module
 */

/**
 * True when a typed array's buffer is detached (or shrunk below the view). `buffer.detached` does
 * not exist before V8 11.4 (Node 20 ships 11.3), and Node 20's optimised code can return a
 * detached array's OLD `length` and `byteLength` once a call site has seen resizable-buffer-backed
 * arrays (found by test/fuzz-core.mjs). The ArrayBuffer's own byteLength is zeroed on detach, so
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
