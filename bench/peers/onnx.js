'use strict';
// onnxruntime-node as a peer: two sdpa graphs written as ONNX bytes by a tiny protobuf writer
// (./onnx-proto.js; no onnx package needed): a plain MatMul -> Softmax -> MatMul graph, and
// com.microsoft.MultiHeadAttention. Optional: when onnxruntime-node is not installed the bench
// says so and goes on.

const { node, valueInfo, tensorProto, model, attrInt, attrFloat, attrInts } = require('./onnx-proto.js');

/** Q·Kᵀ·scale (+ causal -inf bias) -> Softmax -> ·V on [B,H,L,D] inputs. */
function matmulSdpaModel({ B, H, L, S, D }, scale, causal) {
  const nodes = [
    node('Transpose', ['K'], ['Kt'], [attrInts('perm', [0, 1, 3, 2])]),
    node('MatMul', ['Q', 'Kt'], ['logits']),
    node('Mul', ['logits', 'scale'], ['scaled']),
  ];
  const inits = [tensorProto('scale', [], [scale])];
  let soft = 'scaled';
  if (causal) {
    const bias = new Float32Array(L * S);
    for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) bias[i * S + j] = j <= i + S - L ? 0 : -Infinity;
    inits.push(tensorProto('causal_bias', [L, S], bias));
    nodes.push(node('Add', ['scaled', 'causal_bias'], ['biased']));
    soft = 'biased';
  }
  nodes.push(node('Softmax', [soft], ['probs'], [attrInt('axis', -1)]));
  nodes.push(node('MatMul', ['probs', 'V'], ['out']));
  return model(nodes, [valueInfo('Q', [B, H, L, D]), valueInfo('K', [B, H, S, D]), valueInfo('V', [B, H, S, D])], [valueInfo('out', [B, H, L, D])], inits, [['', 17]]);
}

/** com.microsoft.MultiHeadAttention on [B,L,H*D] query and [B,S,H*D] key/value (its native layout). */
function contribMhaModel({ B, H, L, S, D }, scale, causal) {
  const attrs = [attrInt('num_heads', H), attrFloat('scale', scale)];
  if (causal) attrs.push(attrInt('unidirectional', 1));
  const nodes = [node('MultiHeadAttention', ['query', 'key', 'value'], ['out'], attrs, 'com.microsoft')];
  return model(nodes, [valueInfo('query', [B, L, H * D]), valueInfo('key', [B, S, H * D]), valueInfo('value', [B, S, H * D])], [valueInfo('out', [B, L, H * D])], [], [['', 17], ['com.microsoft', 1]]);
}

/** [B,H,T,D] -> [B,T,H*D]. */
function toBSHD(t, B, H, T, D) {
  const out = new Float32Array(B * T * H * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) out.set(t.subarray(((b * H + h) * T + i) * D, ((b * H + h) * T + i + 1) * D), ((b * T + i) * H + h) * D);
  return out;
}
/** [B,T,H*D] -> [B,H,T,D]. */
function fromBSHD(t, B, H, T, D) {
  const out = new Float32Array(B * T * H * D);
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < T; i++) out.set(t.subarray(((b * T + i) * H + h) * D, ((b * T + i) * H + h + 1) * D), ((b * H + h) * T + i) * D);
  return out;
}

function loadOrt() {
  try {
    return { ort: require('onnxruntime-node') };
  } catch (e) {
    return { error: `onnxruntime-node is not installed (${String(e.message).split('\n')[0]}); install it with ONNXRUNTIME_NODE_INSTALL=skip npm i -D onnxruntime-node` };
  }
}

/**
 * Build ORT sdpa peers for one shape: returns [{ name, run() (sync-ish: returns a Promise), output() }]
 * ORT's run is async (it runs on ORT's own threads); the bench times it with deferred benchmarks.
 */
async function ortPeers(shape, inputs, threads) {
  const { ort, error } = loadOrt();
  if (!ort) return { error };
  const { B, H, L, S, D, causal } = shape;
  const scale = 1 / Math.sqrt(D);
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const peers = [];
  const errors = [];
  try {
    const sess = await ort.InferenceSession.create(matmulSdpaModel(shape, scale, causal), opts);
    const feeds = { Q: new ort.Tensor('float32', inputs.q.data, [B, H, L, D]), K: new ort.Tensor('float32', inputs.k.data, [B, H, S, D]), V: new ort.Tensor('float32', inputs.v.data, [B, H, S, D]) };
    // '+out': the same session run into a pre-allocated output tensor (fetches), ORT's way of
    // reusing an output buffer (the counterpart of attnkit's options.out).
    const pre = { out: new ort.Tensor('float32', new Float32Array(B * H * L * D), [B, H, L, D]) };
    let open = 2;
    const release = () => --open === 0 && sess.release();
    peers.push({ name: 'ort-matmul', run: async () => (await sess.run(feeds)).out.data, toBHLD: (o) => o, release });
    peers.push({ name: 'ort-matmul+out', run: async () => (await sess.run(feeds, pre)).out.data, toBHLD: (o) => o, release });
  } catch (e) {
    errors.push(`ort-matmul: ${e.message}`);
  }
  try {
    const sess = await ort.InferenceSession.create(contribMhaModel(shape, scale, causal), opts);
    const feeds = {
      query: new ort.Tensor('float32', toBSHD(inputs.q.data, B, H, L, D), [B, L, H * D]),
      key: new ort.Tensor('float32', toBSHD(inputs.k.data, B, H, S, D), [B, S, H * D]),
      value: new ort.Tensor('float32', toBSHD(inputs.v.data, B, H, S, D), [B, S, H * D]),
    };
    const pre = { out: new ort.Tensor('float32', new Float32Array(B * L * H * D), [B, L, H * D]) };
    let open = 2;
    const release = () => --open === 0 && sess.release();
    peers.push({ name: 'ort-mha', run: async () => (await sess.run(feeds)).out.data, toBHLD: (o) => fromBSHD(o, B, H, L, D), release });
    peers.push({ name: 'ort-mha+out', run: async () => (await sess.run(feeds, pre)).out.data, toBHLD: (o) => fromBSHD(o, B, H, L, D), release });
  } catch (e) {
    errors.push(`ort-mha: ${String(e.message).split('\n')[0]}`);
  }
  return { peers, errors, version: require('onnxruntime-node/package.json').version };
}

module.exports = { ortPeers, loadOrt, matmulSdpaModel, contribMhaModel, toBSHD, fromBSHD };
