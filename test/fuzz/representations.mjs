// Valid but awkward representations of a tensor: the numbers are unchanged, only how they are
// held differs (a view at a byte offset with poison around it, shared and resizable buffers,
// onnx-style `dims`, shapes as typed arrays, frozen, getter-backed, class and Proxy objects).
// A valid case with some of these must give reference's result on plain copies.

function copyInto(src, buffer, byteOffset, lengthTracking = false) {
  const C = src.constructor;
  const dst = lengthTracking ? new C(buffer, byteOffset) : new C(buffer, byteOffset, src.length);
  dst.set(src);
  return dst;
}

function viewAtOffset(t) {
  const pad = 3;
  // poison around the view: a kernel reading past either end sees NaN (or 7 for a mask)
  const big = new t.data.constructor(t.data.length + pad + 5).fill(t.data instanceof Uint8Array ? 7 : NaN);
  const view = big.subarray(pad, pad + t.data.length);
  view.set(t.data);
  return { data: view, shape: t.shape };
}

const bytes = (t) => t.data.byteLength;

/** [name, (tensor) => the same tensor, represented otherwise]. */
export const REPRS = [
  ['view-offset', viewAtOffset],
  ['shared', (t) => ({ data: copyInto(t.data, new SharedArrayBuffer(bytes(t) + 16), 8), shape: t.shape })],
  ['resizable-fixed', (t) => ({ data: copyInto(t.data, new ArrayBuffer(bytes(t) + 8, { maxByteLength: bytes(t) + 64 }), 4), shape: t.shape })],
  ['resizable-tracking', (t) => ({ data: copyInto(t.data, new ArrayBuffer(bytes(t), { maxByteLength: bytes(t) + 64 }), 0, true), shape: t.shape })],
  ['growable-shared', (t) => ({ data: copyInto(t.data, new SharedArrayBuffer(bytes(t) + 8, { maxByteLength: bytes(t) + 64 }), 8), shape: t.shape })],
  ['onnx-dims', (t) => ({ data: t.data, dims: t.shape })],
  ['shape-int32', (t) => ({ data: t.data, shape: Int32Array.from(t.shape) })],
  ['frozen', (t) => Object.freeze({ data: t.data, shape: Object.freeze([...t.shape]) })],
  [
    'getters',
    (t) => ({
      get data() {
        return t.data;
      },
      get shape() {
        return t.shape;
      },
    }),
  ],
  [
    'class',
    (t) =>
      new (class TensorLike {
        constructor() {
          this.data = t.data;
          this.shape = t.shape;
        }
      })(),
  ],
  ['proxy-object', (t) => new Proxy({ data: t.data, shape: t.shape }, {})],
];
export const REPR_NAMES = REPRS.map((r) => r[0]);
