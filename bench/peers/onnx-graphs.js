'use strict';
// ONNX graphs of attnkit's ops, for onnxruntime-node as a peer on every op's bench shapes. Each
// builder takes the op's checked, flat kernel arguments (src/kernels.ts: the same numbers attnkit's
// kernels get) and returns the graphs computing the same function as attnkit's float64 reference
// (src/backends/reference/<op>.ts):
//
//   { name, model (ModelProto bytes), feeds: { input: { data, dims } }, outputs: [name, ...] }[]
//
// Weights are initializers (as in an exported model, so ORT may pre-pack them); activations are
// graph inputs. Where a graph cannot express a case (an option ONNX has no form for), the builder
// throws an Error whose message says what is missing; the bench shows it in a note.
const { node, valueInfo, tensorProto, int64Proto, model, attrInt, attrFloat, attrStr, attrInts } = require('./onnx-proto.js');

const OPSET = 20; // Gelu is opset 20; LayerNormalization 17, Softmax 13, TopK 11.
const IR_VERSION = 9; // opset 20 needs IR 9

/** A graph under construction: nodes, initializers and fresh value names. */
class Graph {
  constructor() {
    this.nodes = [];
    this.inits = [];
    this.n = 0;
    this.ms = false;
  }
  /** A float32 initializer (weights, constants). */
  init(dims, data, prefix = 'w') {
    const name = `${prefix}_${this.n++}`;
    this.inits.push(tensorProto(name, dims, data));
    return name;
  }
  /** An int64 initializer (shapes, TopK's K). */
  ints(values, prefix = 'shape') {
    const name = `${prefix}_${this.n++}`;
    this.inits.push(int64Proto(name, [values.length], values));
    return name;
  }
  /** One node; returns its output name. `out`: the output's name; `outs`: the names of several outputs. */
  op(type, inputs, { attrs = [], domain = '', out, outs } = {}) {
    if (domain === 'com.microsoft') this.ms = true;
    const names = outs ?? [out ?? `${type}_${this.n++}`];
    this.nodes.push(node(type, inputs, names, attrs, domain));
    return names.length === 1 ? names[0] : names;
  }
  /** x·W (+ b): MatMul with W `[I,O]` (attnkit's x·W layout) and an Add of the bias. */
  dense(x, w, b, I, O, out) {
    const y = this.op('MatMul', [x, this.init([I, O], w)], { out: b ? undefined : out });
    return b ? this.op('Add', [y, this.init([O], b, 'b')], { out }) : y;
  }
  layerNorm(x, gamma, beta, C, eps, out) {
    const scale = this.init([C], gamma ?? new Float32Array(C).fill(1), 'gamma');
    const inputs = beta ? [x, scale, this.init([C], beta, 'beta')] : [x, scale];
    return this.op('LayerNormalization', inputs, { attrs: [attrInt('axis', -1), attrFloat('epsilon', eps)], out });
  }
  /** The ModelProto bytes: inputs [[name, dims, elem?]], outputs [[name, dims, elem?]]. */
  bytes(inputs, outputs) {
    const opsets = [['', OPSET], ...(this.ms ? [['com.microsoft', 1]] : [])];
    return model(this.nodes, inputs.map(([n, d, e]) => valueInfo(n, d, e)), outputs.map(([n, d, e]) => valueInfo(n, d, e)), this.inits, opsets, IR_VERSION);
  }
}

/** A row-wise [R, C] graph: one input x, one output out, built by `body(g, 'x') -> 'out'`. */
function rowwise(name, R, C, x, body) {
  const g = new Graph();
  body(g, 'x', 'out');
  return { name, model: g.bytes([['x', [R, C]]], [['out', [R, C]]]), feeds: { x: { data: x, dims: [R, C] } }, outputs: ['out'] };
}

const refuse = (what) => {
  throw new Error(`no ONNX graph here for ${what}`);
};

/** The attention options a plain ONNX graph here does not take (none of the bench cases uses them). */
function checkAttention(a, op) {
  if (a.mask || a.bias) refuse(`${op} with a mask or bias`);
  if (a.keyLengths) refuse(`${op} with keyLengths`);
  if (a.windowLeft >= 0 || a.windowRight >= 0) refuse(`${op} with a window`);
  if (a.softcap) refuse(`${op} with softcap`);
  const L = a.L, S = a.S ?? a.L;
  if (a.causal && a.offsets && Array.from(a.offsets).some((o) => o !== S - L)) refuse(`${op} with a causal offset other than S - L`);
}

/** The additive causal bias [L, S]: 0 where key j <= i + S - L (attnkit's bottom-right rule), -Infinity elsewhere. */
function causalBias(L, S) {
  const bias = new Float32Array(L * S);
  for (let i = 0; i < L; i++) for (let j = 0; j < S; j++) bias[i * S + j] = j <= i + S - L ? 0 : -Infinity;
  return bias;
}

/**
 * Multi-head attention inside a graph, three ways: 'matmul' (projections, Reshape/Transpose to
 * heads, MatMul·scale + causal bias, Softmax, MatMul, merge, projection), 'mha' (the projections
 * as MatMul+Add around com.microsoft.MultiHeadAttention) and 'attention' (com.microsoft.Attention,
 * which projects Q, K and V itself from one [E, 3E] weight, then the output MatMul+Add). Returns
 * the output value name ([B, L, Eo]).
 */
function attention(g, kind, a, q, k, v, out) {
  const { L, S, Hq: H, D, Dv } = a;
  const E = a.E, Ek = a.Ek ?? a.E, Ev = a.Ev ?? a.E, Eo = a.Eo ?? a.E;
  const unidirectional = a.causal ? [attrInt('unidirectional', 1)] : [];
  if (a.causal && kind !== 'matmul' && L !== S) refuse(`${kind}: unidirectional=1 aligns the causal mask top-left; attnkit's is bottom-right (L != S)`);
  let merged;
  if (kind === 'attention') {
    if (q !== k || k !== v || D !== Dv) refuse('com.microsoft.Attention beyond self-attention with D = Dv');
    const W = new Float32Array(E * 3 * H * D);
    const Bq = new Float32Array(3 * H * D);
    const HD = H * D;
    for (let i = 0; i < E; i++) {
      W.set(a.wq.subarray(i * HD, (i + 1) * HD), i * 3 * HD);
      W.set(a.wk.subarray(i * HD, (i + 1) * HD), i * 3 * HD + HD);
      W.set(a.wv.subarray(i * HD, (i + 1) * HD), i * 3 * HD + 2 * HD);
    }
    if (a.bq) Bq.set(a.bq, 0);
    if (a.bk) Bq.set(a.bk, HD);
    if (a.bv) Bq.set(a.bv, 2 * HD);
    merged = g.op('Attention', [q, g.init([E, 3 * HD], W), g.init([3 * HD], Bq, 'b')], { attrs: [attrInt('num_heads', H), attrFloat('scale', a.scale), ...unidirectional], domain: 'com.microsoft' });
  } else {
    const qp = g.dense(q, a.wq, a.bq, E, H * D);
    const kp = g.dense(k, a.wk, a.bk, Ek, H * D);
    const vp = g.dense(v, a.wv, a.bv, Ev, H * Dv);
    if (kind === 'mha') {
      merged = g.op('MultiHeadAttention', [qp, kp, vp], { attrs: [attrInt('num_heads', H), attrFloat('scale', a.scale), ...unidirectional], domain: 'com.microsoft' });
    } else {
      const heads = (x, X, perm) => g.op('Transpose', [g.op('Reshape', [x, g.ints([0, 0, H, X])])], { attrs: [attrInts('perm', perm)] });
      const qh = heads(qp, D, [0, 2, 1, 3]); // [B,H,L,D]
      const kt = heads(kp, D, [0, 2, 3, 1]); // [B,H,D,S]
      const vh = heads(vp, Dv, [0, 2, 1, 3]); // [B,H,S,Dv]
      let s = g.op('Mul', [g.op('MatMul', [qh, kt]), g.init([], [a.scale], 'scale')]);
      if (a.causal) s = g.op('Add', [s, g.init([L, S], causalBias(L, S), 'causal')]);
      const o = g.op('MatMul', [g.op('Softmax', [s], { attrs: [attrInt('axis', -1)] }), vh]); // [B,H,L,Dv]
      merged = g.op('Reshape', [g.op('Transpose', [o], { attrs: [attrInts('perm', [0, 2, 1, 3])] }), g.ints([0, 0, H * Dv])]);
    }
  }
  return g.dense(merged, a.wo, a.bo, H * Dv, Eo, out);
}

const ATTENTION_KINDS = [
  ['ort-mha', 'mha'],
  ['ort-attention', 'attention'],
  ['ort-matmul', 'matmul'],
];

/** One builder per op: flat kernel args -> graphs (each may throw: a case the graph cannot express). */
const BUILDERS = {
  linear: (a) => {
    const { rows: R, inDim: I, outDim: O } = a;
    const g = new Graph();
    g.dense('x', a.w, a.b, I, O, 'out');
    return [{ name: 'ort-matmul', what: 'MatMul + Add (MLAS GEMM; ORT fuses it into Gemm)', model: g.bytes([['x', [R, I]]], [['out', [R, O]]]), feeds: { x: { data: a.x, dims: [R, I] } }, outputs: ['out'] }];
  },
  softmax: (a) => {
    if (a.mask) refuse('softmax with a mask');
    return [{ what: 'Softmax (axis -1)', ...rowwise('ort-softmax', a.rows, a.cols, a.x, (g, x, out) => g.op('Softmax', [x], { attrs: [attrInt('axis', -1)], out })) }];
  },
  layerNorm: (a) => {
    if (a.returnStats) refuse('layerNorm with returnStats');
    return [{ what: `LayerNormalization (opset 17, epsilon ${a.eps})`, ...rowwise('ort-layernorm', a.rows, a.cols, a.x, (g, x, out) => g.layerNorm(x, a.gamma, a.beta, a.cols, a.eps, out)) }];
  },
  gelu: (a) => {
    const approximate = a.approximate === 'tanh' ? 'tanh' : 'none';
    const graphs = [{ what: `Gelu (opset 20, approximate '${approximate}')`, ...rowwise('ort-gelu', a.rows, a.cols, a.x, (g, x, out) => g.op('Gelu', [x], { attrs: [attrStr('approximate', approximate)], out })) }];
    const ms = approximate === 'tanh' ? 'FastGelu' : 'Gelu';
    graphs.push({ what: `com.microsoft.${ms}`, ...rowwise(`ort-ms-${ms.toLowerCase()}`, a.rows, a.cols, a.x, (g, x, out) => g.op(ms, [x], { domain: 'com.microsoft', out })) });
    return graphs;
  },
  silu: (a) => [
    { what: 'x · Sigmoid(x) (Mul + Sigmoid; ORT fuses it into QuickGelu with alpha 1)', ...rowwise('ort-sigmoid-mul', a.rows, a.cols, a.x, (g, x, out) => g.op('Mul', [x, g.op('Sigmoid', [x])], { out })) },
  ],
  multiHeadAttention: (a) => {
    checkAttention(a, 'multiHeadAttention');
    if (a.Hq !== a.Hkv) refuse('multiHeadAttention with grouped kv heads');
    if (a.returnWeights || a.returnLse) refuse('multiHeadAttention with returnWeights / returnLse');
    const { B, L, S, E, Ek, Ev, Eo } = a;
    const self = a.selfAttention || (a.query === a.key && a.key === a.value);
    return ATTENTION_KINDS.flatMap(([name, kind]) => {
      if (kind === 'attention' && !self) return [];
      const g = new Graph();
      const ins = self ? ['x', 'x', 'x'] : ['query', 'key', 'value'];
      attention(g, kind, a, ...ins, 'out');
      const inputs = self ? [['x', [B, L, E]]] : [['query', [B, L, E]], ['key', [B, S, Ek]], ['value', [B, S, Ev]]];
      const feeds = self ? { x: { data: a.query, dims: [B, L, E] } } : { query: { data: a.query, dims: [B, L, E] }, key: { data: a.key, dims: [B, S, Ek] }, value: { data: a.value, dims: [B, S, Ev] } };
      const what = { mha: 'MatMul+Add projections around com.microsoft.MultiHeadAttention', attention: 'com.microsoft.Attention (fused QKV projection) + MatMul+Add', matmul: 'MatMul+Add projections, Reshape/Transpose, MatMul·scale + causal bias, Softmax, MatMul, MatMul+Add' }[kind];
      return [{ name, what, model: g.bytes(inputs, [['out', [B, L, Eo]]]), feeds, outputs: ['out'] }];
    });
  },
  transformerEncoderLayer: (a) => {
    checkAttention({ ...a, S: a.L }, 'transformerEncoderLayer');
    const { B, L, E, F } = a;
    const mhaArgs = { ...a, S: L, Ek: E, Ev: E, Eo: E, Hq: a.H, Hkv: a.H, Dv: a.D, scale: 1 / Math.sqrt(a.D), selfAttention: true };
    return ATTENTION_KINDS.map(([name, kind]) => {
      const g = new Graph();
      const ffn = (x) => {
        const h = g.dense(x, a.w1, a.b1, E, F);
        const act = a.activation === 'relu' ? g.op('Relu', [h]) : g.op('Gelu', [h], { attrs: [attrStr('approximate', 'none')] });
        return g.dense(act, a.w2, a.b2, F, E);
      };
      if (a.norm === 'post') {
        const n1 = g.layerNorm(g.op('Add', ['x', attention(g, kind, mhaArgs, 'x', 'x', 'x')]), a.gamma1, a.beta1, E, a.eps);
        g.layerNorm(g.op('Add', [n1, ffn(n1)]), a.gamma2, a.beta2, E, a.eps, 'out');
      } else {
        const n1 = g.layerNorm('x', a.gamma1, a.beta1, E, a.eps);
        const x1 = g.op('Add', ['x', attention(g, kind, mhaArgs, n1, n1, n1)]);
        g.op('Add', [x1, ffn(g.layerNorm(x1, a.gamma2, a.beta2, E, a.eps))], { out: 'out' });
      }
      const attn = { mha: 'com.microsoft.MultiHeadAttention', attention: 'com.microsoft.Attention', matmul: 'MatMul/Softmax attention' }[kind];
      return { name, what: `the whole ${a.norm}-norm block: LayerNormalization, ${attn} with its projections, residual Adds, MatMul+Add, ${a.activation === 'relu' ? 'Relu' : 'Gelu (opset 20)'}, MatMul+Add`, model: g.bytes([['x', [B, L, E]]], [['out', [B, L, E]]]), feeds: { x: { data: a.x, dims: [B, L, E] } }, outputs: ['out'] };
    });
  },
  topK: (a) => {
    const { B, N, D, k } = a;
    if (k > N) refuse('topK with k > N (ONNX TopK needs k <= N; attnkit pads)');
    const g = new Graph();
    // The item table transposed to [D, N], a constant: MLAS packs it once at session creation.
    const itemsT = new Float32Array(D * N);
    for (let n = 0; n < N; n++) for (let d = 0; d < D; d++) itemsT[d * N + n] = a.items[n * D + d];
    let scores = g.op('MatMul', ['users', g.init([D, N], itemsT, 'itemsT')]);
    const inputs = [['users', [B, D]]];
    const feeds = { users: { data: a.users, dims: [B, D] } };
    if (a.exclude) {
      // Exclusions as an additive -Infinity (+Infinity for the k smallest) [B, N] input.
      const bias = new Float32Array(B * N);
      const inf = a.largest ? -Infinity : Infinity;
      for (let b = 0; b < B; b++) for (const i of a.exclude[b] ?? []) bias[b * N + i] = inf;
      scores = g.op('Add', [scores, 'exclude']);
      inputs.push(['exclude', [B, N]]);
      feeds.exclude = { data: bias, dims: [B, N] };
    }
    g.op('TopK', [scores, g.ints([k], 'k')], { attrs: [attrInt('axis', -1), attrInt('largest', a.largest ? 1 : 0), attrInt('sorted', 1)], outs: ['scores', 'indices'] });
    return [{ name: 'ort-matmul-topk', what: `MatMul (users · itemsᵀ, the [D,N] table a constant) + TopK (k ${k}, sorted; ties to the lower index as attnkit)${a.exclude ? ', exclusions as a -Infinity bias' : ''}`, model: g.bytes(inputs, [['scores', [B, k]], ['indices', [B, k], 'int64']]), feeds, outputs: ['scores', 'indices'] }];
  },
  additiveAttention: (a) => {
    const { B, L, S, Dq, Dk, Dv, A } = a;
    if (a.mask || a.keyLengths) refuse('additiveAttention with a mask or keyLengths');
    if (!a.query) refuse('additiveAttention without a query (attention pooling)');
    if (a.returnWeights) refuse('additiveAttention with returnWeights');
    const g = new Graph();
    const qp = g.op('Reshape', [g.op('MatMul', ['query', g.init([Dq, A], a.wq)]), g.ints([0, 0, 1, A])]); // [B,L,1,A]
    const kp = g.op('Reshape', [g.op('MatMul', ['keys', g.init([Dk, A], a.wk)]), g.ints([0, 1, S, A])]); // [B,1,S,A]
    const h = g.op('Tanh', [g.op('Add', [g.op('Add', [qp, kp]), g.init([A], a.b, 'b')])]); // [B,L,S,A]
    const s = g.op('Reshape', [g.op('MatMul', [h, g.init([A, 1], a.v, 'v')]), g.ints([0, 0, S])]); // [B,L,S]
    g.op('MatMul', [g.op('Softmax', [s], { attrs: [attrInt('axis', -1)] }), 'values'], { out: 'out' });
    return [{
      name: 'ort-additive', what: 'MatMul projections of query and keys, broadcast Add + bias, Tanh, MatMul by v, Softmax, MatMul by the values',
      model: g.bytes([['query', [B, L, Dq]], ['keys', [B, S, Dk]], ['values', [B, S, Dv]]], [['out', [B, L, Dv]]]),
      feeds: { query: { data: a.query, dims: [B, L, Dq] }, keys: { data: a.keys, dims: [B, S, Dk] }, values: { data: a.values, dims: [B, S, Dv] } }, outputs: ['out'],
    }];
  },
  targetAttention: (a) => {
    const { B, S, D, layers } = a;
    if (a.keyLengths) refuse('targetAttention with keyLengths');
    if (a.returnWeights) refuse('targetAttention with returnWeights');
    const g = new Graph();
    const t = g.op('Expand', [g.op('Reshape', ['target', g.ints([0, 1, D])]), g.ints([B, S, D])]); // [B,S,D]
    let cur = g.op('Concat', ['history', t, g.op('Sub', ['history', t]), g.op('Mul', ['history', t])], { attrs: [attrInt('axis', -1)] }); // [B,S,4D]
    layers.forEach((l, i) => {
      cur = g.dense(cur, l.w, l.b, l.inDim, l.outDim);
      if (i === layers.length - 1) return;
      if (a.activation === 'sigmoid') cur = g.op('Sigmoid', [cur]);
      else if (a.activation === 'relu') cur = g.op('Relu', [cur]);
      else cur = g.op('PRelu', [cur, g.init([l.outDim], l.alpha, 'alpha')]);
    });
    let w = g.op('Reshape', [cur, g.ints([0, 1, S])]); // [B,1,S]
    if (a.normalize === 'softmax') w = g.op('Softmax', [w], { attrs: [attrInt('axis', -1)] });
    g.op('Reshape', [g.op('MatMul', [w, 'history']), g.ints([0, D])], { out: 'out' }); // [B,D]
    return [{
      name: 'ort-din', what: `Expand the target, Concat [h, t, h-t, h·t], the MLP as MatMul+Add with ${a.activation === 'prelu' ? 'PRelu' : a.activation === 'relu' ? 'Relu' : 'Sigmoid'} (${layers.map((l) => l.outDim).join('-')}), ${a.normalize === 'softmax' ? 'Softmax, ' : ''}MatMul by the history`,
      model: g.bytes([['target', [B, D]], ['history', [B, S, D]]], [['out', [B, D]]]),
      feeds: { target: { data: a.target, dims: [B, D] }, history: { data: a.history, dims: [B, S, D] } }, outputs: ['out'],
    }];
  },
};

// sdpaBackward and the HSTU ops (padded dense): ./onnx-graphs-hstu.js.
Object.assign(BUILDERS, require('./onnx-graphs-hstu.js')({ Graph, refuse, checkAttention, causalBias, attrInt, attrInts, attrStr }));
// The training ops' graphs (backward ops, adamStep): ./onnx-graphs-training.js.
Object.assign(BUILDERS, require('./onnx-graphs-training.js')({ Graph, refuse, attrInt, attrStr, attrInts }));

/** The ONNX graphs of `op` for its flat kernel args; throws when the case has no graph here. */
function onnxGraphs(op, args) {
  const build = BUILDERS[op];
  if (!build) throw new Error(`no ONNX graph for ${op}`);
  return build(args);
}

module.exports = { onnxGraphs, hasOnnxGraph: (op) => op in BUILDERS, causalBias };
