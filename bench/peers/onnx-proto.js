'use strict';
// A minimal protobuf writer for ONNX ModelProto bytes (no onnx package needed): only the fields
// the bench's peer graphs use. Every builder returns a Buffer, so an initializer of tens of MB
// (topK's item table) is one copy, not an array of numbers.

function varint(n) {
  const out = [];
  let v = BigInt(n);
  if (v < 0n) v += 1n << 64n;
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const cat = (parts) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const key = (field, wire) => varint((field << 3) | wire);
const fInt = (field, n) => cat([key(field, 0), varint(n)]);
const fBytes = (field, bytes) => cat([key(field, 2), varint(bytes.length), bytes]);
const fStr = (field, s) => fBytes(field, Buffer.from(s, 'utf8'));
const fFloat = (field, x) => {
  const b = Buffer.alloc(4);
  b.writeFloatLE(x);
  return cat([key(field, 5), b]);
};
const fMsg = fBytes;

// onnx.proto field numbers (AttributeProto: name 1, f 2, i 3, s 4, ints 8, type 20).
const attrInt = (name, i) => cat([fStr(1, name), fInt(3, i), fInt(20, 2)]); // INT = 2
const attrFloat = (name, f) => cat([fStr(1, name), fFloat(2, f), fInt(20, 1)]); // FLOAT = 1
const attrStr = (name, s) => cat([fStr(1, name), fStr(4, s), fInt(20, 3)]); // STRING = 3
const attrInts = (name, ints) => cat([fStr(1, name), ...ints.map((i) => fInt(8, i)), fInt(20, 7)]); // INTS = 7

let nodeCount = 0;
/** NodeProto: inputs ('' = an absent optional input), outputs, attributes, domain. */
function node(opType, inputs, outputs, attrs = [], domain = '') {
  return cat([
    ...inputs.map((s) => fStr(1, s)),
    ...outputs.map((s) => fStr(2, s)),
    fStr(3, `${opType}_${outputs[0]}_${nodeCount++}`),
    fStr(4, opType),
    ...attrs.map((a) => fMsg(5, a)),
    ...(domain ? [fStr(7, domain)] : []),
  ]);
}

const ELEM = { float: 1, int32: 6, int64: 7, float16: 10 };
/** ValueInfoProto of a tensor (float unless said otherwise). */
function valueInfo(name, dims, elem = 'float') {
  const shape = cat(dims.map((d) => fMsg(1, fInt(1, d))));
  const tensorType = cat([fInt(1, ELEM[elem]), fMsg(2, shape)]);
  return cat([fStr(1, name), fMsg(2, fMsg(1, tensorType))]);
}
/** A float32 TensorProto (an initializer) from any array of numbers. */
function tensorProto(name, dims, values) {
  const f = values instanceof Float32Array ? values : new Float32Array(values);
  const raw = Buffer.from(f.buffer, f.byteOffset, f.byteLength);
  return cat([...dims.map((d) => fInt(1, d)), fInt(2, 1), fStr(8, name), fBytes(9, raw)]);
}
/** An int64 TensorProto (shapes, K of TopK). */
function int64Proto(name, dims, values) {
  const raw = Buffer.from(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
  return cat([...dims.map((d) => fInt(1, d)), fInt(2, 7), fStr(8, name), fBytes(9, raw)]);
}
/** ModelProto bytes of one graph; opsets: [[domain, version], ...] ('' is the default domain). */
function model(nodes, inputs, outputs, initializers, opsets, irVersion = 8) {
  const graph = cat([
    ...nodes.map((n) => fMsg(1, n)),
    fStr(2, 'attnkit_bench'),
    ...initializers.map((t) => fMsg(5, t)),
    ...inputs.map((v) => fMsg(11, v)),
    ...outputs.map((v) => fMsg(12, v)),
  ]);
  const bytes = cat([
    fInt(1, irVersion), // ir_version (8; 9 for opset 19-20)
    fStr(2, 'attnkit-bench'),
    fMsg(7, graph),
    ...opsets.map(([domain, version]) => fMsg(8, cat([...(domain ? [fStr(1, domain)] : []), fInt(2, version)]))),
  ]);
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

module.exports = { node, valueInfo, tensorProto, int64Proto, model, attrInt, attrFloat, attrStr, attrInts };
