'use strict';
// ONNX graphs of sdpaBackward, hstuAttention and hstuAttentionBackward for onnxruntime-node as
// their bench peer (the other ops' graphs: ./onnx-graphs.js, which registers these). Standard
// ONNX ops only (onnxruntime-node is an inference build: no training kernels), so each backward
// is written out the way a PyTorch user's math-path backward runs: MatMuls and elementwise ops.
//
// HSTU is jagged in attnkit; its peer is what a PyTorch / ONNX user runs instead, the PADDED
// dense form of generative-recommenders' pytorch_hstu_mha: every sequence padded to N (the op's
// maxLength, by default the longest sequence) on the host, once, outside the timed call, then
// dense [B,H,N,N] logits, SiLU, the mask and 1/norm as one multiplicative tensor, MatMul by v.
// The padded graph does B·N² pairs where the jagged call does Σ n_b(n_b+1)/2 (the bench's
// long-tailed batch: ~97x the pairs); its outputs are compared on the valid rows only. A masked
// pair is multiplied by 0, not skipped as attnkit skips it, so a non-finite logit there would leak
// NaN into the padded graph where attnkit's output stays finite (the bench inputs are finite).
//
// Each graph also carries `collect(ortOutputs)` -> the op's result in attnkit's layout (for the
// error check, never inside the timed call), and CHECKERS below compare every output the op
// returns with attnkit's float64 reference.
const ak = require('../../dist/cjs/index.js');
const { int64Proto } = require('./onnx-proto.js');

/** `lib`: { Graph, refuse, checkAttention, causalBias, attrInt, attrInts, attrStr } from ./onnx-graphs.js. */
module.exports = (lib) => {
  const { Graph, refuse, checkAttention, causalBias, attrInt, attrInts, attrStr } = lib;

  const transpose = (g, x, perm) => g.op('Transpose', [x], { attrs: [attrInts('perm', perm)] });
  const scalar = (g, x, name = 'c') => g.init([], [x], name);
  const tensor = (data, dims) => ({ data, dims });
  /** An int64 initializer of any shape (Gather / ScatterElements indices). */
  const int64 = (g, dims, values, prefix) => {
    const name = `${prefix}_${g.n++}`;
    g.inits.push(int64Proto(name, dims, values));
    return name;
  };

  /**
   * sdpaBackward (bhld or blhd, grouped-query heads, causal bottom-right): P recomputed from the
   * forward's lse, P = exp(scale·q·kᵀ (+ causal -Infinity bias) - lse); dV = Pᵀ·dO,
   * dP = dO·Vᵀ, dS = P ⊙ (dP - rowsum(dO ⊙ O)), dQ = dS·K·scale, dK = dSᵀ·Q·scale. A kv head's
   * G query heads are one [G·L] block of rows (a Reshape), so the MatMuls over those rows sum dK
   * and dV over the group.
   */
  function sdpaBackward(a) {
    checkAttention(a, 'sdpaBackward');
    if (a.returnDBias) refuse('sdpaBackward with returnDBias');
    if (a.causal && a.L > a.S) refuse('sdpaBackward with causal and L > S (rows with no visible key: lse -Infinity)');
    const { B, Hq, Hkv, L, S, D, Dv, scale } = a;
    const G = Hq / Hkv;
    const bl = a.layout === 'blhd';
    const g = new Graph();
    const qDims = bl ? [B, L, Hq, D] : [B, Hq, L, D], kDims = bl ? [B, S, Hkv, D] : [B, Hkv, S, D], vDims = bl ? [B, S, Hkv, Dv] : [B, Hkv, S, Dv], oDims = bl ? [B, L, Hq, Dv] : [B, Hq, L, Dv];
    const heads = (x) => (bl ? transpose(g, x, [0, 2, 1, 3]) : x); // -> [B,H,T,X]
    const unheads = (x, out) => (bl ? g.op('Transpose', [x], { attrs: [attrInts('perm', [0, 2, 1, 3])], out }) : g.op('Identity', [x], { out }));
    const grouped = (x, X) => g.op('Reshape', [heads(x), g.ints([B, Hkv, G * L, X])]); // [B,Hkv,G·L,X]
    const q = grouped('q', D), dO = grouped('dOut', Dv), o = grouped('out', Dv);
    const k = heads('k'), v = heads('v');
    const lse = g.op('Reshape', ['lse', g.ints([B, Hkv, G * L, 1])]);
    let s = g.op('Mul', [g.op('MatMul', [q, transpose(g, k, [0, 1, 3, 2])]), scalar(g, scale, 'scale')]);
    if (a.causal) {
      const c = causalBias(L, S);
      const tiled = new Float32Array(G * L * S);
      for (let r = 0; r < G; r++) tiled.set(c, r * L * S);
      s = g.op('Add', [s, g.init([G * L, S], tiled, 'causal')]);
    }
    const P = g.op('Exp', [g.op('Sub', [s, lse])]); // [B,Hkv,G·L,S]
    const dV = g.op('MatMul', [transpose(g, P, [0, 1, 3, 2]), dO]); // [B,Hkv,S,Dv]
    const dP = g.op('MatMul', [dO, transpose(g, v, [0, 1, 3, 2])]);
    const delta = g.op('ReduceSum', [g.op('Mul', [dO, o]), g.ints([-1], 'axes')], { attrs: [attrInt('keepdims', 1)] });
    const dS = g.op('Mul', [P, g.op('Sub', [dP, delta])]);
    const dQ = g.op('Reshape', [g.op('Mul', [g.op('MatMul', [dS, k]), scalar(g, scale, 'scale')]), g.ints([B, Hq, L, D])]);
    const dK = g.op('Mul', [g.op('MatMul', [transpose(g, dS, [0, 1, 3, 2]), q]), scalar(g, scale, 'scale')]);
    unheads(dQ, 'dq');
    unheads(dK, 'dk');
    unheads(dV, 'dv');
    return [{
      name: 'ort-matmul-bwd',
      what: `the math-path backward: P = Exp(MatMul(q, kᵀ)·scale${a.causal ? ' + causal bias' : ''} - lse), dV = Pᵀ·dO, dP = dO·Vᵀ, dS = P ⊙ (dP - ReduceSum(dO ⊙ O)), dQ = dS·K·scale, dK = dSᵀ·Q·scale${G > 1 ? ' (a kv head\'s query heads as one block of rows)' : ''}`,
      model: g.bytes([['dOut', oDims], ['q', qDims], ['k', kDims], ['v', vDims], ['out', oDims], ['lse', [B, Hq, L]]], [['dq', qDims], ['dk', kDims], ['dv', vDims]]),
      feeds: { dOut: tensor(a.dOut, oDims), q: tensor(a.q, qDims), k: tensor(a.k, kDims), v: tensor(a.v, vDims), out: tensor(a.out, oDims), lse: tensor(a.lse, [B, Hq, L]) },
      outputs: ['dq', 'dk', 'dv'],
      collect: (r) => ({ dq: r.dq.data, dk: r.dk.data, dv: r.dv.data }),
    }];
  }

  // ---- HSTU, padded dense ----

  /** The sequences' lengths and the padded length N (the op's maxLength). */
  function hstuShape(a) {
    const lengths = Array.from({ length: a.B }, (_, b) => a.offsets[b + 1] - a.offsets[b]);
    return { lengths, N: a.maxLength };
  }

  /** Jagged [T,H,X] -> zero-padded [B,N,H,X] (jagged_to_padded_dense). */
  function pad(x, a, N, X) {
    const row = a.H * X;
    const out = new Float32Array(a.B * N * row);
    for (let b = 0; b < a.B; b++) out.set(x.subarray(a.offsets[b] * row, a.offsets[b + 1] * row), b * N * row);
    return out;
  }

  /** Padded [B,N,H,X] -> jagged [T,H,X] (the valid rows). */
  function unpad(x, a, N, X) {
    const row = a.H * X;
    const out = new Float32Array(a.offsets[a.B] * row);
    for (let b = 0; b < a.B; b++) out.set(x.subarray(b * N * row, (b * N + a.offsets[b + 1] - a.offsets[b]) * row), a.offsets[b] * row);
    return out;
  }

  /**
   * generative-recommenders' _get_valid_attn_mask for one sequence of n events padded to N:
   * ids p (p - c + 1 clamped at 0 with a contextual prefix c), clamped to maxId = n (- c + 1)
   * (- targets); visible iff i == j or dist > 0 (|dist| when not causal), dist <= maxAttnLen when
   * set, and the prefix (id 0) sees every id < maxId. Written into `dst` [N,N] as value/0.
   */
  function maskInto(dst, N, n, targets, a, value) {
    const c = a.contextualLength;
    let maxId = c > 0 ? n - c + 1 : n;
    if (targets > 0) maxId -= targets;
    const id = (p) => {
      let x = c > 0 ? Math.max(p - c + 1, 0) : p;
      return targets > 0 ? Math.min(x, maxId) : x;
    };
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        let dist = id(i) - id(j);
        if (!a.causal) dist = Math.abs(dist);
        let ok = i === j || dist > 0;
        if (a.maxAttnLen > 0) ok = ok && dist <= a.maxAttnLen;
        if (c > 0) ok = ok || (id(i) === 0 && id(j) < maxId);
        dst[i * N + j] = ok ? value : 0;
      }
    }
  }

  /**
   * The mask with 1/norm folded in: one [1,1,N,N] initializer when it is the same for every
   * sequence (no targets, no contextual prefix, the maxLength divisor: the zero padding makes the
   * padded keys contribute nothing), else a [B,1,N,N] input built on the host.
   */
  function hstuMaskTensor(a, N, lengths) {
    const perSequence = !!a.numTargets || a.contextualLength > 0 || a.normalization === 'length';
    if (!perSequence) {
      const m = new Float32Array(N * N);
      maskInto(m, N, N, 0, a, 1 / a.maxLength);
      return { shared: true, data: m, dims: [1, 1, N, N] };
    }
    const m = new Float32Array(a.B * N * N);
    for (let b = 0; b < a.B; b++) {
      const n = lengths[b];
      if (n === 0) continue;
      const norm = a.normalization === 'length' ? n : a.maxLength;
      maskInto(m.subarray(b * N * N, (b + 1) * N * N), N, n, a.numTargets ? a.numTargets[b] : 0, a, 1 / norm);
    }
    return { shared: false, data: m, dims: [a.B, 1, N, N] };
  }

  /** The time buckets [B,N,N] (int64) of |t_q - t_j|, t_q the next event's time (the last one's own at the end). */
  function timeBuckets(a, N, lengths) {
    const idx = new BigInt64Array(a.B * N * N);
    const th = a.timeBucketThresholds;
    const bucketOf = (delta) => {
      let u = 0;
      while (u < th.length && th[u] <= delta) u++;
      return u;
    };
    for (let b = 0; b < a.B; b++) {
      const o = a.offsets[b], n = lengths[b];
      for (let i = 0; i < n; i++) {
        const tq = a.timestamps[o + Math.min(i + 1, n - 1)];
        for (let j = 0; j < n; j++) idx[(b * N + i) * N + j] = BigInt(bucketOf(Math.abs(tq - a.timestamps[o + j])));
      }
    }
    return idx;
  }

  /**
   * The padded forward inside a graph: returns { z, mask, feeds, inputs, desc, posIdx?, timeIdx? }
   * where z = alpha·q·kᵀ + biases ([B,H,N,N]) and mask the [.,1,N,N] mask/norm value.
   */
  function hstuLogits(g, a) {
    const { B, H, D, Dv } = a;
    const { lengths, N } = hstuShape(a);
    const inputs = [['q', [B, N, H, D]], ['k', [B, N, H, D]], ['v', [B, N, H, Dv]]];
    const feeds = { q: tensor(pad(a.q, a, N, D), [B, N, H, D]), k: tensor(pad(a.k, a, N, D), [B, N, H, D]), v: tensor(pad(a.v, a, N, Dv), [B, N, H, Dv]) };
    const qh = transpose(g, 'q', [0, 2, 1, 3]);
    const kh = transpose(g, 'k', [0, 2, 1, 3]);
    const vh = transpose(g, 'v', [0, 2, 1, 3]);
    let z = g.op('Mul', [g.op('MatMul', [qh, transpose(g, 'k', [0, 2, 3, 1])]), scalar(g, a.alpha, 'alpha')]);
    const desc = [];
    const out = { qh, kh, vh, inputs, feeds, N, lengths };
    if (a.positionBias) {
      // rel_pos_bias[i][j] = table[N-1+j-i]: a Gather of the table by an [N,N] index constant.
      const P = 2 * N - 1;
      const idx = new BigInt64Array(N * N);
      for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) idx[i * N + j] = BigInt(N - 1 + j - i);
      out.posIdx = idx;
      const table = g.init(a.positionBiasPerHead ? [H, P] : [P], a.positionBias, 'pos');
      const gathered = g.op('Gather', [table, int64(g, [N, N], idx, 'posIdx')], { attrs: [attrInt('axis', a.positionBiasPerHead ? 1 : 0)] }); // [H,N,N] or [N,N]
      z = g.op('Add', [z, gathered]);
      desc.push('+ Gather(position table, [N,N] index constant)');
    }
    if (a.timeBias) {
      // The bucket of every pair on the host (float64 timestamps: float32 would round epoch
      // seconds), a [B,N,N] int64 input; the table looked up in the graph.
      out.timeIdx = timeBuckets(a, N, lengths);
      inputs.push(['timeIdx', [B, N, N], 'int64']);
      feeds.timeIdx = { data: out.timeIdx, dims: [B, N, N], type: 'int64' };
      const nb1 = a.numBuckets + 1;
      const table = g.init(a.timeBiasPerHead ? [H, nb1] : [nb1], a.timeBias, 'time');
      let t = g.op('Gather', [table, 'timeIdx'], { attrs: [attrInt('axis', a.timeBiasPerHead ? 1 : 0)] }); // [H,B,N,N] or [B,N,N]
      t = a.timeBiasPerHead ? transpose(g, t, [1, 0, 2, 3]) : g.op('Unsqueeze', [t, g.ints([1], 'axes')]);
      z = g.op('Add', [z, t]);
      desc.push('+ Gather(time table, [B,N,N] bucket input from the host)');
    }
    const m = hstuMaskTensor(a, N, lengths);
    let mask;
    if (m.shared) mask = g.init(m.dims, m.data, 'mask');
    else {
      mask = 'mask';
      inputs.push(['mask', m.dims]);
      feeds.mask = tensor(m.data, m.dims);
    }
    desc.push(m.shared ? 'the [N,N] mask/N constant' : 'the [B,N,N] mask/norm input from the host');
    return { ...out, z, mask, desc };
  }

  /**
   * Big padded graphs run without onnxruntime's CPU memory arena: the backward's [B,H,N,N]
   * intermediates (852 MB each at the bench shape) grew the arena to 9.4 GB of RSS and its second
   * call ran 1.9 s -> 16.9 s here; without it 4.7 GB, 4.4-5.8 s per call (2 threads, busy machine).
   */
  const sessionOptionsFor = (a, N) => (a.B * a.H * N * N >= 1 << 26 ? { enableCpuMemArena: false } : undefined);

  const padNote = (a, N) => `padded dense (every sequence padded to N = ${N} on the host, outside the timed call; B·N² = ${a.B * N * N} pairs computed)`;

  function hstuAttention(a) {
    const g = new Graph();
    const { B, H, Dv } = a;
    const f = hstuLogits(g, a);
    const N = f.N;
    const silu = g.op('Mul', [f.z, g.op('Sigmoid', [f.z])]);
    const A = g.op('Mul', [silu, f.mask]);
    g.op('Transpose', [g.op('MatMul', [A, f.vh])], { attrs: [attrInts('perm', [0, 2, 1, 3])], out: 'out' });
    return [{
      name: 'ort-padded',
      what: `${padNote(a, N)}: Transpose, MatMul(q, kᵀ)·alpha${f.desc.slice(0, -1).map((d) => ` ${d}`).join('')}, z·Sigmoid(z), · ${f.desc[f.desc.length - 1]}, MatMul by v; compared on the valid rows`,
      model: g.bytes(f.inputs, [['out', [B, N, H, Dv]]]),
      feeds: f.feeds,
      outputs: ['out'],
      sessionOptions: sessionOptionsFor(a, N),
      collect: (r) => unpad(r.out.data, a, N, Dv),
    }];
  }

  /**
   * The padded graph's gradient: recompute z, σ = Sigmoid(z), A = z·σ·mask; dV = Aᵀ·dO,
   * dA = dO·vᵀ, dZ = dA·mask·σ·(1 + z·(1 - σ)), dQ = dZ·k·alpha, dK = dZᵀ·q·alpha; the bias
   * tables' gradients as ScatterElements(reduction 'add') of dZ by the same indices the forward
   * gathered with.
   */
  function hstuAttentionBackward(a) {
    const g = new Graph();
    const { B, H, D, Dv } = a;
    const f = hstuLogits(g, a);
    const N = f.N;
    f.inputs.push(['dOut', [B, N, H, Dv]]);
    f.feeds.dOut = tensor(pad(a.dOut, a, N, Dv), [B, N, H, Dv]);
    const dO = transpose(g, 'dOut', [0, 2, 1, 3]);
    const sig = g.op('Sigmoid', [f.z]);
    const A = g.op('Mul', [g.op('Mul', [f.z, sig]), f.mask]);
    const back = (x, out) => g.op('Transpose', [x], { attrs: [attrInts('perm', [0, 2, 1, 3])], out });
    back(g.op('MatMul', [transpose(g, A, [0, 1, 3, 2]), dO]), 'dv');
    const dA = g.op('MatMul', [dO, transpose(g, 'v', [0, 2, 3, 1])]);
    const one = scalar(g, 1, 'one');
    const dsilu = g.op('Mul', [sig, g.op('Add', [one, g.op('Mul', [f.z, g.op('Sub', [one, sig])])])]);
    const dZ = g.op('Mul', [g.op('Mul', [dA, f.mask]), dsilu]); // [B,H,N,N]
    const alpha = scalar(g, a.alpha, 'alpha');
    back(g.op('Mul', [g.op('MatMul', [dZ, f.kh]), alpha]), 'dq');
    back(g.op('Mul', [g.op('MatMul', [transpose(g, dZ, [0, 1, 3, 2]), f.qh]), alpha]), 'dk');
    const outputs = [['dq', [B, N, H, D]], ['dk', [B, N, H, D]], ['dv', [B, N, H, Dv]]];
    const scatterAdd = (zeros, idx, updates, axis, out) => g.op('ScatterElements', [zeros, idx, updates], { attrs: [attrInt('axis', axis), attrStr('reduction', 'add')], out });
    if (a.positionBias) {
      const P = 2 * N - 1;
      if (a.positionBiasPerHead) {
        const per = g.op('Reshape', [g.op('ReduceSum', [dZ, g.ints([0], 'axes')], { attrs: [attrInt('keepdims', 0)] }), g.ints([H, N * N])]);
        const idx = new BigInt64Array(H * N * N);
        for (let h = 0; h < H; h++) idx.set(f.posIdx, h * N * N);
        scatterAdd(g.init([H, P], new Float32Array(H * P), 'zeros'), int64(g, [H, N * N], idx, 'posIdx'), per, 1, 'dPositionBias');
        outputs.push(['dPositionBias', [H, P]]);
      } else {
        const all = g.op('Reshape', [g.op('ReduceSum', [dZ, g.ints([0, 1], 'axes')], { attrs: [attrInt('keepdims', 0)] }), g.ints([N * N])]);
        scatterAdd(g.init([P], new Float32Array(P), 'zeros'), int64(g, [N * N], f.posIdx, 'posIdx'), all, 0, 'dPositionBias');
        outputs.push(['dPositionBias', [P]]);
      }
    }
    if (a.timeBias) {
      const nb1 = a.numBuckets + 1;
      const flatIdx = g.op('Reshape', ['timeIdx', g.ints([1, B * N * N])]);
      if (a.timeBiasPerHead) {
        const per = g.op('Reshape', [transpose(g, dZ, [1, 0, 2, 3]), g.ints([H, B * N * N])]);
        scatterAdd(g.init([H, nb1], new Float32Array(H * nb1), 'zeros'), g.op('Expand', [flatIdx, g.ints([H, B * N * N])]), per, 1, 'dTimeBias');
        outputs.push(['dTimeBias', [H, nb1]]);
      } else {
        const all = g.op('Reshape', [g.op('ReduceSum', [dZ, g.ints([1], 'axes')], { attrs: [attrInt('keepdims', 0)] }), g.ints([1, B * N * N])]);
        g.op('Reshape', [scatterAdd(g.init([1, nb1], new Float32Array(nb1), 'zeros'), flatIdx, all, 1), g.ints([nb1])], { out: 'dTimeBias' });
        outputs.push(['dTimeBias', [nb1]]);
      }
    }
    return [{
      name: 'ort-padded-bwd',
      what: `${padNote(a, N)}, the forward's gradient written out: z = MatMul(q, kᵀ)·alpha${f.desc.slice(0, -1).map((d) => ` ${d}`).join('')}, σ = Sigmoid(z), A = z·σ·mask, dV = Aᵀ·dO, dA = dO·vᵀ, dZ = dA·mask·σ·(1 + z(1 - σ)), dQ = dZ·k·alpha, dK = dZᵀ·q·alpha${a.positionBias || a.timeBias ? ', bias gradients by ScatterElements(add)' : ''}; mask: ${f.desc[f.desc.length - 1]}; compared on the valid rows`,
      model: g.bytes(f.inputs, outputs),
      feeds: f.feeds,
      outputs: outputs.map(([n]) => n),
      sessionOptions: sessionOptionsFor(a, N),
      collect: (r) => {
        const res = { dq: unpad(r.dq.data, a, N, D), dk: unpad(r.dk.data, a, N, D), dv: unpad(r.dv.data, a, N, Dv) };
        if (r.dPositionBias) res.dPositionBias = r.dPositionBias.data;
        if (r.dTimeBias) res.dTimeBias = r.dTimeBias.data;
        return res;
      },
    }];
  }

  return { sdpaBackward, hstuAttention, hstuAttentionBackward };
};

/** Max abs / rel error over whole arrays; NaN wins (as the bench's other error figures). */
function wholeErrors(got, want) {
  const { maxErrors } = require('../run-bench.js');
  if (!got || got.length !== want.length) return { maxAbs: NaN, maxRel: NaN };
  return maxErrors(got, want, { [Symbol.iterator]: function* it() { for (let i = 0; i < want.length; i++) yield i; } });
}

/**
 * Checkers of the multi-output ops: flat args -> check(collected result) -> { maxAbs, maxRel,
 * note } over EVERY output the op returns, each compared whole (dk, dv and the bias gradients
 * sum over all rows, and the backward references compute every row anyway: sampling them would
 * save nothing). The note gives each output's max abs error.
 */
function multiOutputChecker(op, flat) {
  const want = ak.referenceKernels[op](flat, null);
  const names = Object.keys(want).filter((n) => want[n] instanceof Float32Array);
  return (got) => {
    let maxAbs = 0, maxRel = 0;
    const parts = [];
    for (const n of names) {
      const e = wholeErrors(got[n], want[n]);
      maxAbs = Number.isNaN(maxAbs) || Number.isNaN(e.maxAbs) ? NaN : Math.max(maxAbs, e.maxAbs);
      maxRel = Number.isNaN(maxRel) || Number.isNaN(e.maxRel) ? NaN : Math.max(maxRel, e.maxRel);
      parts.push(`${n} ${Number.isNaN(e.maxAbs) ? 'NaN' : e.maxAbs.toExponential(1)}`);
    }
    return { maxAbs, maxRel, note: `max abs error per output (all elements): ${parts.join(', ')}` };
  };
}

/** Rows of hstuAttention's output compared with reference (a deterministic sample of the T·H rows, as the other forward peers). */
const HSTU_CHECK_ROWS = 64;

/** hstuAttention: the float64 reference on sampled (t, h) rows of the jagged output. */
function hstuForwardChecker(op, flat) {
  const { maxErrors } = require('../run-bench.js');
  const rows = ak.sampleRows(flat.offsets[flat.B] * flat.H, HSTU_CHECK_ROWS);
  const want = ak.referenceKernels[op](flat, rows);
  const idx = [];
  for (let r = 0; r < rows.length; r++) if (rows[r]) for (let e = 0; e < flat.Dv; e++) idx.push(r * flat.Dv + e);
  return (got) => (got && got.length === want.length ? maxErrors(got, want, idx) : { maxAbs: NaN, maxRel: NaN });
}

module.exports.CHECKERS = { sdpaBackward: multiOutputChecker, hstuAttention: hstuForwardChecker, hstuAttentionBackward: multiOutputChecker };
