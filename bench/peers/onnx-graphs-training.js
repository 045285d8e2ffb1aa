'use strict';
// ONNX graphs of attnkit's training ops (docs/TRAINING.md), for onnxruntime-node as a peer on their
// bench shapes: each builder takes the op's checked, flat kernel arguments (src/kernels.ts) and
// returns graphs computing the same function as attnkit's float64 reference
// (src/backends/reference/<op>.ts), in the form ./onnx-graphs.js documents. A graph's outputs are
// named after the fields of the op's result (dx, dGamma, dBeta, ...; 'out' for a single array),
// so the bench compares every one with the reference.
//
// onnxruntime-node is an inference build: the com.microsoft *Grad kernels of ORT's training build
// (SoftmaxGrad_13, GeluGrad, FastGeluGrad, LayerNormalizationGrad, SigmoidGrad, QuickGeluGrad,
// BiasGeluGrad_dX) and its optimizers (AdamWOptimizer, AdamOptimizer) are not registered in it
// (session creation fails: "is not a registered function/op", checked on 1.30.0), so every graph
// here is composed from standard ONNX ops: the closed forms of the contract, written out.
//
// Exported as a function of ./onnx-graphs.js's helpers (no circular require): (lib) -> builders.

module.exports = function trainingBuilders({ Graph, refuse, attrInt, attrStr, attrInts }) {
  /** A [rows, cols] float feed. */
  const feed = (data, dims, type = 'float32') => ({ data, dims, type });
  /** ReduceSum / ReduceMean over `axes` (opset 18+: axes are an input). */
  const reduce = (g, type, x, axes, keepdims) => g.op(type, [x, g.ints(axes, 'axes')], { attrs: [attrInt('keepdims', keepdims ? 1 : 0)] });
  const scalar = (g, value, prefix = 'c') => g.init([], [value], prefix);

  return {
    // dx = y ∘ (dy − Σ_j dy_j·y_j) per row; y = 0 (masked entries) gives dx = 0 with a finite dy.
    softmaxBackward: (a) => {
      const { rows: R, cols: C } = a;
      const g = new Graph();
      const dot = reduce(g, 'ReduceSum', g.op('Mul', ['dy', 'y']), [-1], true);
      g.op('Mul', ['y', g.op('Sub', ['dy', dot])], { out: 'out' });
      return [{
        name: 'ort-softmax-vjp', what: 'Mul(y, Sub(dy, ReduceSum(dy·y, axis -1)))',
        model: g.bytes([['dy', [R, C]], ['y', [R, C]]], [['out', [R, C]]]),
        feeds: { dy: feed(a.dy, [R, C]), y: feed(a.y, [R, C]) }, outputs: ['out'],
      }];
    },

    // x̂ = (x − mean)·invStd, g = dy·gamma, dx = invStd·(g − mean_j g − x̂·mean_j(g·x̂)),
    // dGamma = Σ_rows dy·x̂, dBeta = Σ_rows dy; mean and invStd are the forward's, fed as [R, 1].
    layerNormBackward: (a) => {
      const { rows: R, cols: C } = a;
      const g = new Graph();
      const xh = g.op('Mul', [g.op('Sub', ['x', 'mean']), 'invStd']);
      const gy = a.gamma ? g.op('Mul', ['dy', g.init([C], a.gamma, 'gamma')]) : 'dy';
      const meanG = reduce(g, 'ReduceMean', gy, [-1], true);
      const meanGX = reduce(g, 'ReduceMean', g.op('Mul', [gy, xh]), [-1], true);
      g.op('Mul', ['invStd', g.op('Sub', [g.op('Sub', [gy, meanG]), g.op('Mul', [xh, meanGX])])], { out: 'dx' });
      g.op('ReduceSum', [g.op('Mul', ['dy', xh]), g.ints([0], 'axes')], { attrs: [attrInt('keepdims', 0)], out: 'dGamma' });
      g.op('ReduceSum', ['dy', g.ints([0], 'axes')], { attrs: [attrInt('keepdims', 0)], out: 'dBeta' });
      return [{
        name: 'ort-layernorm-vjp', what: `the closed form from the forward's mean and invStd: Sub, Mul${a.gamma ? ' (gamma a constant)' : ''}, two ReduceMean (axis -1), dx; dGamma, dBeta as ReduceSum over rows`,
        model: g.bytes([['dy', [R, C]], ['x', [R, C]], ['mean', [R, 1]], ['invStd', [R, 1]]], [['dx', [R, C]], ['dGamma', [C]], ['dBeta', [C]]]),
        feeds: { dy: feed(a.dy, [R, C]), x: feed(a.x, [R, C]), mean: feed(a.mean, [R, 1]), invStd: feed(a.invStd, [R, 1]) },
        outputs: ['dx', 'dGamma', 'dBeta'],
      }];
    },

    // dx = dy·wᵀ, dW = xᵀ·dy, db = Σ_rows dy. w is fed as an input (it changes every training
    // step), so MLAS cannot pre-pack it; both GEMMs read their operands transposed in place.
    linearBackward: (a) => {
      const { rows: R, inDim: I, outDim: O } = a;
      const g = new Graph();
      g.op('Gemm', ['dy', 'w'], { attrs: [attrInt('transB', 1)], out: 'dx' });
      g.op('Gemm', ['x', 'dy'], { attrs: [attrInt('transA', 1)], out: 'dW' });
      g.op('ReduceSum', ['dy', g.ints([0], 'axes')], { attrs: [attrInt('keepdims', 0)], out: 'db' });
      return [{
        name: 'ort-gemm-vjp', what: 'Gemm(dy, w, transB) for dx, Gemm(x, dy, transA) for dW (MLAS), ReduceSum over rows for db; w an input',
        model: g.bytes([['dy', [R, O]], ['x', [R, I]], ['w', [I, O]]], [['dx', [R, I]], ['dW', [I, O]], ['db', [O]]]),
        feeds: { dy: feed(a.dy, [R, O]), x: feed(a.x, [R, I]), w: feed(a.w, [I, O]) }, outputs: ['dx', 'dW', 'db'],
      }];
    },

    // dx = dy·(Φ(x) + x·φ(x)) (exact), or the tanh form's derivative
    // 0.5(1 + t) + 0.5·x·(1 − t²)·k(1 + 3c·x²), t = tanh(k(x + c·x³)), k = √(2/π), c = 0.044715.
    // At x = ±Infinity the graph gives NaN (Inf·0) where attnkit gives the limits 1 and 0: refused.
    geluBackward: (a) => {
      refuseInfinite(a.x, 'geluBackward');
      const tanh = a.approximate === 'tanh';
      const body = (g, x, out) => {
        const x2 = g.op('Mul', [x, x]);
        let d;
        if (tanh) {
          const k = Math.sqrt(2 / Math.PI), c = 0.044715;
          const t = g.op('Tanh', [g.op('Mul', [g.op('Mul', [x, scalar(g, k)]), g.op('Add', [scalar(g, 1), g.op('Mul', [x2, scalar(g, c)])])])]);
          const half1t = g.op('Mul', [g.op('Add', [scalar(g, 1), t]), scalar(g, 0.5)]);
          const du = g.op('Add', [scalar(g, k), g.op('Mul', [x2, scalar(g, 3 * c * k)])]); // k(1 + 3c·x²)
          d = g.op('Add', [half1t, g.op('Mul', [g.op('Mul', [g.op('Mul', [x, scalar(g, 0.5)]), g.op('Sub', [scalar(g, 1), g.op('Mul', [t, t])])]), du])]);
        } else {
          const cdf = g.op('Mul', [g.op('Add', [scalar(g, 1), g.op('Erf', [g.op('Mul', [x, scalar(g, Math.SQRT1_2)])])]), scalar(g, 0.5)]);
          const pdf = g.op('Mul', [g.op('Exp', [g.op('Mul', [x2, scalar(g, -0.5)])]), scalar(g, 1 / Math.sqrt(2 * Math.PI))]);
          d = g.op('Add', [cdf, g.op('Mul', [x, pdf])]);
        }
        g.op('Mul', ['dy', d], { out });
      };
      const what = tanh ? "dy·gelu'(x), the tanh form's derivative written out (Tanh, Mul, Add)" : "dy·(Φ(x) + x·φ(x)) written out (Erf, Exp, Mul, Add)";
      return [elementwiseVjp('ort-gelu-vjp', a, body, what)];
    },

    // dx = dy·σ(x)·(1 + x·(1 − σ(x))); at x = ±Infinity NaN (Inf·0) where attnkit gives 1 and 0: refused.
    siluBackward: (a) => {
      refuseInfinite(a.x, 'siluBackward');
      const body = (g, x, out) => {
        const s = g.op('Sigmoid', [x]);
        const d = g.op('Mul', [s, g.op('Add', [scalar(g, 1), g.op('Mul', [x, g.op('Sub', [scalar(g, 1), s])])])]);
        g.op('Mul', ['dy', d], { out });
      };
      return [elementwiseVjp('ort-silu-vjp', a, body, 'dy·σ(x)·(1 + x·(1 − σ(x))) (Sigmoid, Sub, Mul, Add)')];
    },

    // Batched over B: dP = dOut·valuesᵀ, dValues = Pᵀ·dOut, δ = Σ_j P·dP, dE = P·(dP − δ),
    // t = tanh(qa_i + ka_j) as a [B,L,S,A] broadcast, g = dE·v·(1 − t²), dqa = Σ_j g, dka = Σ_i g,
    // dv = Σ dE·t. A pair of weight 0 adds exact zeros when its inputs are finite; attnkit also
    // keeps non-finite padding there from leaking, which this dense graph cannot.
    additiveScoresBackward: (a) => {
      const { B, L, S, Dv, A } = a;
      const finite = (x) => !x || x.every(Number.isFinite);
      if (a.weights.some((w) => w === 0) && !(finite(a.values) && finite(a.ka) && finite(a.qa))) refuse('additiveScoresBackward with non-finite values or projections at excluded (weight 0) keys: a dense graph spreads them');
      const g = new Graph();
      const dP = g.op('MatMul', ['dOut', g.op('Transpose', ['values'], { attrs: [attrInts('perm', [0, 2, 1])] })]); // [B,L,S]
      g.op('MatMul', [g.op('Transpose', ['weights'], { attrs: [attrInts('perm', [0, 2, 1])] }), 'dOut'], { out: 'dValues' }); // [B,S,Dv]
      const delta = reduce(g, 'ReduceSum', g.op('Mul', ['weights', dP]), [-1], true); // [B,L,1]
      const dE = g.op('Reshape', [g.op('Mul', ['weights', g.op('Sub', [dP, delta])]), g.ints([0, 0, 0, 1])]); // [B,L,S,1]
      const kb = g.op('Reshape', ['ka', g.ints([0, 1, S, A])]); // [B,1,S,A]
      const t = g.op('Tanh', [a.qa ? g.op('Add', [g.op('Reshape', ['qa', g.ints([0, 0, 1, A])]), kb]) : kb]); // [B,L|1,S,A]
      const grad = g.op('Mul', [g.op('Mul', [dE, 'v']), g.op('Sub', [scalar(g, 1), g.op('Mul', [t, t])])]); // [B,L,S,A]
      if (a.qa) g.op('ReduceSum', [grad, g.ints([2], 'axes')], { attrs: [attrInt('keepdims', 0)], out: 'dqa' });
      g.op('ReduceSum', [grad, g.ints([1], 'axes')], { attrs: [attrInt('keepdims', 0)], out: 'dka' });
      g.op('ReduceSum', [g.op('Mul', [dE, t]), g.ints([0, 1, 2], 'axes')], { attrs: [attrInt('keepdims', 0)], out: 'dv' });
      const inputs = [['dOut', [B, L, Dv]], ['values', [B, S, Dv]], ['weights', [B, L, S]], ...(a.qa ? [['qa', [B, L, A]]] : []), ['ka', [B, S, A]], ['v', [A]]];
      const outputs = [['dValues', [B, S, Dv]], ...(a.qa ? [['dqa', [B, L, A]]] : []), ['dka', [B, S, A]], ['dv', [A]]];
      const data = { dOut: a.dOut, values: a.values, weights: a.weights, qa: a.qa, ka: a.ka, v: a.v };
      return [{
        name: 'ort-additive-vjp', what: 'batched MatMul for dP and dValues, ReduceSum for δ, the tanh pairs as a [B,L,S,A] broadcast (Reshape, Add, Tanh, Mul), ReduceSum for dqa, dka, dv',
        model: g.bytes(inputs, outputs), feeds: Object.fromEntries(inputs.map(([n, d]) => [n, feed(data[n], d)])), outputs: outputs.map(([n]) => n),
      }];
    },

    // dTable = zeros [numItems, E], then ScatterElements (axis 0, reduction 'add') of dOut at its
    // indices (fed as int32, as attnkit takes them, Cast to int64 and Expanded along E); positions
    // at paddingIndex add zeros (Where). Not ScatterND (reduction 'add'), the direct form: on
    // onnxruntime-node 1.30.0 at 2 intra-op threads it loses updates to duplicate indices (a race:
    // at the bench shape 0.09-0.1 off in about half of 20 calls, 3e-8 at 1 thread; the peers test
    // catches it); ScatterElements gave 3e-8 in every call at both thread counts.
    embeddingBackward: (a) => {
      const { N, E, numItems } = a;
      if (N === 0 || E === 0) refuse('embeddingBackward with no positions or width 0');
      const g = new Graph();
      const idx = g.op('Expand', [g.op('Cast', ['indices'], { attrs: [attrInt('to', 7)] }), g.ints([N, E])]); // int64 [N,E]
      let updates = 'dOut';
      if (a.paddingIndex >= 0) updates = g.op('Where', [g.op('Equal', ['indices', g.op('Cast', [g.ints([a.paddingIndex], 'pad')], { attrs: [attrInt('to', 6)] })]), scalar(g, 0), 'dOut']);
      const zeros = g.op('ConstantOfShape', [g.ints([numItems, E])]);
      g.op('ScatterElements', [zeros, idx, updates], { attrs: [attrInt('axis', 0), attrStr('reduction', 'add')], out: 'out' });
      return [{
        name: 'ort-scatter-add', what: `ConstantOfShape zeros, ScatterElements (axis 0, reduction 'add') of dOut at Cast(indices) expanded along E${a.paddingIndex >= 0 ? ', padding positions zeroed by Where' : ''}`,
        model: g.bytes([['dOut', [N, E]], ['indices', [N, 1], 'int32']], [['out', [numItems, E]]]),
        feeds: { dOut: feed(a.dOut, [N, E]), indices: feed(a.indices, [N, 1], 'int32') }, outputs: ['out'],
      }];
    },

    // One AdamW step as elementwise ops, the step's constants (bias corrections in float64, then
    // float32 scalars) folded in: m' = β1·m + (1−β1)·g, v' = β2·v + (1−β2)·g²,
    // param' = param·(1 − lr·wd) − (lr/bc1)·m' / (√v'/√bc2 + eps). It returns new param, m and v
    // (an ONNX graph cannot write its inputs); attnkit's bench call updates them in place.
    adamStep: (a) => {
      const { rows: R, cols: C } = a;
      const g = new Graph();
      const grad = a.maximize ? g.op('Neg', ['grad']) : 'grad';
      g.op('Add', [g.op('Mul', ['m', scalar(g, a.beta1)]), g.op('Mul', [grad, scalar(g, 1 - a.beta1)])], { out: 'm1' });
      g.op('Add', [g.op('Mul', ['v', scalar(g, a.beta2)]), g.op('Mul', [g.op('Mul', [grad, grad]), scalar(g, 1 - a.beta2)])], { out: 'v1' });
      const stepSize = a.lr / (1 - a.beta1 ** a.step);
      const bc2Sqrt = Math.sqrt(1 - a.beta2 ** a.step);
      const denom = g.op('Add', [g.op('Mul', [g.op('Sqrt', ['v1']), scalar(g, 1 / bc2Sqrt)]), scalar(g, a.eps)]);
      g.op('Sub', [g.op('Mul', ['param', scalar(g, 1 - a.lr * a.weightDecay)]), g.op('Mul', [g.op('Div', ['m1', denom]), scalar(g, stepSize)])], { out: 'param1' });
      return [{
        name: 'ort-adamw', what: `AdamW step ${a.step} as elementwise ops (Mul, Add, Sqrt, Div${a.maximize ? ', Neg' : ''}), its constants folded; new param, m, v`,
        model: g.bytes([['param', [R, C]], ['grad', [R, C]], ['m', [R, C]], ['v', [R, C]]], [['param1', [R, C]], ['m1', [R, C]], ['v1', [R, C]]]),
        feeds: { param: feed(a.param, [R, C]), grad: feed(a.grad, [R, C]), m: feed(a.m, [R, C]), v: feed(a.v, [R, C]) },
        outputs: ['param1', 'm1', 'v1'], fields: { param1: 'param', m1: 'm', v1: 'v' },
      }];
    },
  };

  /** Refuses an x holding ±Infinity: the written-out derivative is Inf·0 = NaN there, attnkit's the limit. */
  function refuseInfinite(x, op) {
    if (x.some((t) => t === Infinity || t === -Infinity)) refuse(`${op} at x = ±Infinity (the closed form gives Inf·0 = NaN; attnkit gives the limits 1 and 0)`);
  }

  /** An elementwise vector-Jacobian product: inputs dy and x [rows, cols], output out = body(g, 'x', 'out') (which reads 'dy'). */
  function elementwiseVjp(name, a, body, what) {
    const dims = [a.rows, a.cols];
    const g = new Graph();
    body(g, 'x', 'out');
    return { name, what, model: g.bytes([['dy', dims], ['x', dims]], [['out', dims]]), feeds: { dy: feed(a.dy, dims), x: feed(a.x, dims) }, outputs: ['out'] };
  }
};
