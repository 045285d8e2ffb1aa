// Bad input: every op, every argument gets a typed error that names the argument, before any
// backend runs (checked by registering a backend that records whether it was called).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';

const { random, ShapeError, DTypeError, ValueError, AttnkitError } = ak;
const r = (shape, seed = 1) => random(shape, { seed });
const m = (shape) => ({ data: new Uint8Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape });

let kernelCalls = 0;
ak.registerBackend({
  name: 'spy',
  probe: () => ({ available: true }),
  kernels: Object.fromEntries(ak.OP_NAMES.map((op) => [op, (a) => { kernelCalls++; return ak.referenceKernels[op](a); }])),
  tolerances: { default: { rtol: 0, atol: 0 } },
});
const spy = { backend: 'spy' };

/** For every op: a valid call and a list of [what, call-with-one-bad-argument, error class, argument named]. */
const cases = {
  sdpa: {
    ok: () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy),
    bad: [
      ['q null', () => ak.sdpa(null, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), DTypeError, 'q'],
      ['q plain array', () => ak.sdpa([1, 2, 3], r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), DTypeError, 'q'],
      ['q Float64Array', () => ak.sdpa({ data: new Float64Array(120), shape: [2, 4, 3, 5] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), DTypeError, 'q.data'],
      ['q rank 3', () => ak.sdpa(r([8, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['q shape lies about its data', () => ak.sdpa({ data: new Float32Array(10), shape: [2, 4, 3, 5] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['q negative dim', () => ak.sdpa({ data: new Float32Array(0), shape: [2, -4, 3, 5] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['q fractional dim', () => ak.sdpa({ data: new Float32Array(0), shape: [2, 4.5, 3, 5] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['q NaN dim', () => ak.sdpa({ data: new Float32Array(0), shape: [2, NaN, 3, 5] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['q huge dims overflow', () => ak.sdpa({ data: new Float32Array(4), shape: [2 ** 20, 2 ** 20, 2 ** 20, 4] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['q zero dim', () => ak.sdpa({ data: new Float32Array(0), shape: [2, 4, 0, 5] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'q'],
      ['k batch mismatch', () => ak.sdpa(r([2, 4, 3, 5]), r([1, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'k'],
      ['k head dim mismatch', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 4]), r([2, 2, 7, 6]), {}, spy), ShapeError, 'k'],
      ['Hq % Hkv != 0', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 3, 7, 5]), r([2, 3, 7, 6]), {}, spy), ShapeError, 'k'],
      ['v length mismatch', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 6, 6]), {}, spy), ShapeError, 'v'],
      ['v heads mismatch', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 1, 7, 6]), {}, spy), ShapeError, 'v'],
      ['scale NaN', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { scale: NaN }, spy), ValueError, 'options.scale'],
      ['scale Infinity', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { scale: Infinity }, spy), ValueError, 'options.scale'],
      ['causal not boolean', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { causal: 1 }, spy), DTypeError, 'options.causal'],
      ['causal unknown form', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { causal: 'upper-left' }, spy), ValueError, 'options.causal'],
      ['causal offset fractional', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { causal: { offset: 1.5 } }, spy), ValueError, 'options.causal.offset'],
      ['causal offset array of the wrong length', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { causal: { offset: new Int32Array(3) } }, spy), ShapeError, 'options.causal.offset'],
      ['causal offset Float32Array', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { causal: { offset: new Float32Array(2) } }, spy), DTypeError, 'options.causal.offset'],
      ['window negative', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { window: { left: -1 } }, spy), ValueError, 'options.window.left'],
      ['window fractional', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { window: { right: 2.5 } }, spy), ValueError, 'options.window.right'],
      ['window unknown key', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { window: { size: 4 } }, spy), ValueError, 'options.window.size'],
      ['window a number', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { window: 4 }, spy), DTypeError, 'options.window'],
      ['softcap 0', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { softcap: 0 }, spy), ValueError, 'options.softcap'],
      ['softcap negative', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { softcap: -2 }, spy), ValueError, 'options.softcap'],
      ['softcap Infinity', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { softcap: Infinity }, spy), ValueError, 'options.softcap'],
      ['softcap past float32', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { softcap: 1e38 }, spy), ValueError, 'options.softcap'],
      ['softcap below 1e-10', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { softcap: 1e-50 }, spy), ValueError, 'options.softcap'],
      ['layout unknown', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { layout: 'bshd' }, spy), ValueError, 'options.layout'],
      ['blhd: v heads disagree with k', () => ak.sdpa(r([2, 3, 4, 5]), r([2, 7, 2, 5]), r([2, 7, 3, 6]), { layout: 'blhd' }, spy), ShapeError, 'v'],
      ['returnLogits past 2^31-1 elements', () => ak.sdpa(r([1, 1, 65536, 1]), r([1, 1, 65536, 1]), r([1, 1, 65536, 1]), { returnLogits: true }, spy), ValueError, 'options.returnLogits'],
      ['mha window negative', () => ak.multiHeadAttention(r([1, 3, 4]), r([1, 3, 4]), r([1, 3, 4]), { wq: r([4, 4]), wk: r([4, 4]), wv: r([4, 4]), wo: r([4, 4]) }, { numHeads: 2, window: { left: -3 } }, spy), ValueError, 'options.window.left'],
      ['encoder softcap NaN', () => ak.transformerEncoderLayer(r([1, 4, 8]), ak.OPS.transformerEncoderLayer.cases.small()[1], { numHeads: 2, softcap: NaN }, spy), ValueError, 'options.softcap'],
      ['mask not broadcastable', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { mask: m([3, 6]) }, spy), ShapeError, 'options.mask'],
      ['mask rank 5', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { mask: m([1, 2, 4, 3, 7]) }, spy), ShapeError, 'options.mask'],
      ['mask Float32Array', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { mask: r([3, 7]) }, spy), DTypeError, 'options.mask.data'],
      ['bias not broadcastable', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { bias: r([4, 3, 6]) }, spy), ShapeError, 'options.bias'],
      ['bias Uint8Array', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { bias: m([3, 7]) }, spy), DTypeError, 'options.bias.data'],
      ['keyLengths plain array', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { keyLengths: [1, 2] }, spy), DTypeError, 'options.keyLengths'],
      ['keyLengths wrong length', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { keyLengths: new Int32Array(3) }, spy), ShapeError, 'options.keyLengths'],
      ['keyLengths > S', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { keyLengths: new Int32Array([7, 8]) }, spy), ValueError, 'options.keyLengths[1]'],
      ['keyLengths negative', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { keyLengths: new Int32Array([-1, 2]) }, spy), ValueError, 'options.keyLengths[0]'],
      ['options a string', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), 'causal', spy), DTypeError, 'options'],
      ['getter that throws', () => ak.sdpa({ get data() { throw new Error('boom'); }, shape: [1] }, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy), DTypeError, 'q'],
      ['detached buffer', () => { const t = r([2, 4, 3, 5]); structuredClone(t.data.buffer, { transfer: [t.data.buffer] }); return ak.sdpa(t, r([2, 2, 7, 5]), r([2, 2, 7, 6]), {}, spy); }, AttnkitError, 'q.data'],
      ['out wrong length', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { out: new Float32Array(2 * 4 * 3 * 5) }, spy), ShapeError, 'options.out'],
      ['out Float64Array', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { out: new Float64Array(2 * 4 * 3 * 6) }, spy), DTypeError, 'options.out'],
      ['out a tensor object', () => ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { out: r([2, 4, 3, 6]) }, spy), DTypeError, 'options.out'],
      ['out is q', () => { const q = r([2, 4, 3, 6]); return ak.sdpa(q, r([2, 2, 7, 6]), r([2, 2, 7, 6]), { out: q.data }, spy); }, ValueError, 'options.out'],
      ['out overlaps v', () => { const buf = new Float32Array(2 * 2 * 7 * 6 + 40); const v = { data: buf.subarray(0, 2 * 2 * 7 * 6), shape: [2, 2, 7, 6] }; return ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), v, { out: buf.subarray(buf.length - 2 * 4 * 3 * 6) }, spy); }, ValueError, 'options.out'],
      ['out overlaps bias', () => { const buf = new Float32Array(200); return ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { bias: { data: buf.subarray(0, 21), shape: [3, 7] }, out: buf.subarray(20, 164) }, spy); }, ValueError, 'options.out'],
      ['out detached', () => { const out = new Float32Array(2 * 4 * 3 * 6); structuredClone(out.buffer, { transfer: [out.buffer] }); return ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 5]), r([2, 2, 7, 6]), { out }, spy); }, DTypeError, 'options.out'],
    ],
  },
  multiHeadAttention: (() => {
    const p = { wq: r([6, 8]), wk: r([5, 4]), wv: r([3, 6]), wo: r([12, 7]) };
    const call = (over = {}, opts = { numHeads: 4, numKvHeads: 2 }, q = r([2, 3, 6]), k = r([2, 5, 5]), v = r([2, 5, 3])) => () => ak.multiHeadAttention(q, k, v, { ...p, ...over }, opts, spy);
    return {
      ok: call(),
      bad: [
        ['out given to multiHeadAttention', call({}, { numHeads: 4, numKvHeads: 2, out: new Float32Array(42) }), ValueError, 'options.out'],
        ['numHeads missing', call({}, {}), ValueError, 'options.numHeads'],
        ['numHeads fractional', call({}, { numHeads: 2.5 }), ValueError, 'options.numHeads'],
        ['numKvHeads not a divisor', call({}, { numHeads: 4, numKvHeads: 3 }), ValueError, 'options.numKvHeads'],
        ['misspelt option', call({}, { numHeads: 4, numKvHead: 2 }), ValueError, 'options.numKvHead'],
        ['misspelt param', call({ Wq: r([6, 8]) }), ValueError, 'params.Wq'],
        ['weights over 2^31-1 elements', () => { const x = r([1, 65536, 1]), w = r([1, 1]); return ak.multiHeadAttention(x, x, x, { wq: w, wk: w, wv: w, wo: w }, { numHeads: 1, returnWeights: true }, spy); }, ValueError, 'options.returnWeights'],
        ['wq not divisible by heads', call({ wq: r([6, 9]) }), ShapeError, 'params.wq'],
        ['wq wrong input dim', call({ wq: r([5, 8]) }), ShapeError, 'params.wq'],
        ['wk wrong shape', call({ wk: r([5, 6]) }), ShapeError, 'params.wk'],
        ['wv missing', call({ wv: undefined }), DTypeError, 'params.wv'],
        ['wo wrong input dim', call({ wo: r([8, 7]) }), ShapeError, 'params.wo'],
        ['bq wrong length', call({ bq: r([7]) }), ShapeError, 'params.bq'],
        ['bo Float64', call({ bo: { data: new Float64Array(7), shape: [7] } }), DTypeError, 'params.bo.data'],
        ['key batch mismatch', call({}, undefined, r([2, 3, 6]), r([1, 5, 5])), ShapeError, 'key'],
        ['value length mismatch', call({}, undefined, r([2, 3, 6]), r([2, 5, 5]), r([2, 4, 3])), ShapeError, 'value'],
        ['query rank 2', call({}, undefined, r([3, 6])), ShapeError, 'query'],
        ['mask not broadcastable', () => ak.multiHeadAttention(r([2, 3, 6]), r([2, 5, 5]), r([2, 5, 3]), p, { numHeads: 4, numKvHeads: 2, mask: m([4, 3, 4]) }, spy), ShapeError, 'options.mask'],
      ],
    };
  })(),
  additiveAttention: (() => {
    const p = { wq: r([4, 6]), wk: r([5, 6]), b: r([6]), v: r([6]) };
    const call = (over = {}, q = r([2, 3, 4]), k = r([2, 7, 5]), v = r([2, 7, 2]), opts = {}) => () => ak.additiveAttention(q, k, v, { ...p, ...over }, opts, spy);
    return {
      ok: call(),
      bad: [
        ['wq missing with a query', call({ wq: undefined }), DTypeError, 'params.wq'],
        ['wq wrong shape', call({ wq: r([4, 5]) }), ShapeError, 'params.wq'],
        ['wk wrong input', call({ wk: r([4, 6]) }), ShapeError, 'params.wk'],
        ['b wrong length', call({ b: r([5]) }), ShapeError, 'params.b'],
        ['v wrong length', call({ v: r([7]) }), ShapeError, 'params.v'],
        ['weights over 2^31-1 elements', call({}, r([1, 65536, 4]), r([1, 65536, 5]), r([1, 65536, 2]), { returnWeights: true }), ValueError, 'options.returnWeights'],
        ['values length mismatch', call({}, r([2, 3, 4]), r([2, 7, 5]), r([2, 6, 2])), ShapeError, 'values'],
        ['query batch mismatch', call({}, r([3, 3, 4])), ShapeError, 'query'],
        ['keys plain object', call({}, r([2, 3, 4]), { data: [1], shape: [1] }), DTypeError, 'keys.data'],
        ['mask wrong', call({}, r([2, 3, 4]), r([2, 7, 5]), r([2, 7, 2]), { mask: m([2, 3, 6]) }), ShapeError, 'options.mask'],
        ['keyLengths > S', call({}, r([2, 3, 4]), r([2, 7, 5]), r([2, 7, 2]), { keyLengths: new Int32Array([8, 1]) }), ValueError, 'options.keyLengths[0]'],
        ['returnWeights string', call({}, r([2, 3, 4]), r([2, 7, 5]), r([2, 7, 2]), { returnWeights: 'yes' }), DTypeError, 'options.returnWeights'],
      ],
    };
  })(),
  // additiveAttention over jagged keys / values (#17): 2 users of 2 and 3 keys, L = 3 queries each: a mask of 3·2 + 3·3 = 15 entries.
  'additiveAttention (jagged)': (() => {
    const p = { wq: r([4, 6]), wk: r([5, 6]), b: r([6]), v: r([6]) };
    const offsets = Int32Array.from([0, 2, 5]);
    const keys = { values: r([5, 5], 2), offsets }, values = { values: r([5, 2], 3), offsets };
    const call = (opts) => () => ak.additiveAttention(r([2, 3, 4]), keys, values, p, opts, spy);
    return {
      ok: call({ mask: new Uint8Array(15).fill(1), returnWeights: true }),
      bad: [
        ['mask of the wrong size', call({ mask: new Uint8Array(14) }), ShapeError, 'options.mask'],
        ['mask one entry too long', call({ mask: new Uint8Array(16) }), ShapeError, 'options.mask'],
        ['mask a dense MaskLike', call({ mask: m([2, 3, 3]) }), DTypeError, 'options.mask'],
        ['mask an Int32Array', call({ mask: new Int32Array(15) }), DTypeError, 'options.mask'],
        ['keyLengths with jagged keys', call({ keyLengths: new Int32Array([2, 3]) }), ValueError, 'options.keyLengths'],
      ],
    };
  })(),
  targetAttention: (() => {
    const layers = [{ w: r([12, 4]), b: r([4]) }, { w: r([4, 1]), b: r([1]) }];
    const call = (ls = layers, opts = {}, t = r([2, 3]), h = r([2, 5, 3])) => () => ak.targetAttention(t, h, { layers: ls }, opts, spy);
    return {
      ok: call(),
      bad: [
        ['layers empty', call([]), DTypeError, 'params.layers'],
        ['layers not an array', () => ak.targetAttention(r([2, 3]), r([2, 5, 3]), { layers: 'x' }, {}, spy), DTypeError, 'params.layers'],
        ['first layer not 4D inputs', call([{ w: r([9, 4]), b: r([4]) }, layers[1]]), ShapeError, 'params.layers[0].w'],
        ['last layer width not 1', call([layers[0], { w: r([4, 2]), b: r([2]) }]), ShapeError, 'params.layers[1].w'],
        ['bias wrong length', call([{ w: r([12, 4]), b: r([3]) }, layers[1]]), ShapeError, 'params.layers[0].b'],
        ['alpha wrong length', call([{ w: r([12, 4]), b: r([4]), alpha: r([3]) }, layers[1]], { activation: 'prelu' }), ShapeError, 'params.layers[0].alpha'],
        ['alpha NaN', call([{ w: r([12, 4]), b: r([4]), alpha: NaN }, layers[1]], { activation: 'prelu' }), ValueError, 'params.layers[0].alpha'],
        ['activation unknown', call(layers, { activation: 'tanh' }), ValueError, 'options.activation'],
        ['normalize unknown', call(layers, { normalize: 'l2' }), ValueError, 'options.normalize'],
        ['history dim mismatch', call(layers, {}, r([2, 3]), r([2, 5, 4])), ShapeError, 'history'],
        ['history batch mismatch', call(layers, {}, r([2, 3]), r([3, 5, 3])), ShapeError, 'history'],
        ['keyLengths Float32Array', call(layers, { keyLengths: new Float32Array(2) }), DTypeError, 'options.keyLengths'],
      ],
    };
  })(),
  transformerEncoderLayer: (() => {
    const E = 4;
    const p = { attention: { wq: r([E, E]), wk: r([E, E]), wv: r([E, E]), wo: r([E, E]) }, ffn: { w1: r([E, 6]), w2: r([6, E]) } };
    const call = (over = {}, opts = { numHeads: 2 }, x = r([2, 3, E])) => () => ak.transformerEncoderLayer(x, { ...p, ...over }, opts, spy);
    return {
      ok: call(),
      bad: [
        ['E not divisible by heads', call({}, { numHeads: 3 }), ShapeError, 'x'],
        ['wq not square', call({ attention: { ...p.attention, wq: r([E, 2]) } }), ShapeError, 'params.attention.wq'],
        ['attention missing', call({ attention: undefined }), DTypeError, 'params.attention.wq'],
        ['w2 wrong', call({ ffn: { w1: r([E, 6]), w2: r([5, E]) } }), ShapeError, 'params.ffn.w2'],
        ['norm1.gamma wrong', call({ norm1: { gamma: r([3]) } }), ShapeError, 'params.norm1.gamma'],
        ['norm unknown', call({}, { numHeads: 2, norm: 'mid' }), ValueError, 'options.norm'],
        ['activation unknown', call({}, { numHeads: 2, activation: 'swish' }), ValueError, 'options.activation'],
        ['eps negative', call({}, { numHeads: 2, eps: -1 }), ValueError, 'options.eps'],
        ['keyLengths > L', call({}, { numHeads: 2, keyLengths: new Int32Array([4, 1]) }), ValueError, 'options.keyLengths[0]'],
        ['x rank 2', call({}, { numHeads: 2 }, r([3, E])), ShapeError, 'x'],
      ],
    };
  })(),
  softmax: {
    ok: () => ak.softmax(r([2, 3]), {}, spy),
    bad: [
      ['x scalar', () => ak.softmax({ data: new Float32Array(1), shape: [] }, {}, spy), ShapeError, 'x'],
      ['x Int32Array', () => ak.softmax({ data: new Int32Array(6), shape: [2, 3] }, {}, spy), DTypeError, 'x.data'],
      ['mask not broadcastable', () => ak.softmax(r([2, 3]), { mask: m([2, 2]) }, spy), ShapeError, 'options.mask'],
      ['mask BigInt64Array', () => ak.softmax(r([2, 3]), { mask: { data: new BigInt64Array(3), shape: [3] } }, spy), DTypeError, 'options.mask.data'],
      ['out Int32Array', () => ak.softmax(r([2, 3]), { out: new Int32Array(6) }, spy), DTypeError, 'options.out'],
      ['out overlaps x', () => { const buf = new Float32Array(9); return ak.softmax({ data: buf.subarray(0, 6), shape: [2, 3] }, { out: buf.subarray(3, 9) }, spy); }, ValueError, 'options.out'],
    ],
  },
  layerNorm: {
    ok: () => ak.layerNorm(r([2, 3]), r([3]), r([3]), {}, spy),
    bad: [
      ['gamma wrong length', () => ak.layerNorm(r([2, 3]), r([4]), null, {}, spy), ShapeError, 'gamma'],
      ['beta rank 2', () => ak.layerNorm(r([2, 3]), null, r([1, 3]), {}, spy), ShapeError, 'beta'],
      ['eps NaN', () => ak.layerNorm(r([2, 3]), null, null, { eps: NaN }, spy), ValueError, 'options.eps'],
      ['eps negative number', () => ak.layerNorm(r([2, 3]), null, null, -1, spy), ValueError, 'eps'],
      ['x string', () => ak.layerNorm('x', null, null, {}, spy), DTypeError, 'x'],
      ['out is gamma', () => { const g = r([6]); return ak.layerNorm(r([1, 6]), g, null, { out: g.data }, spy); }, ValueError, 'options.out'],
      ['out wrong length', () => ak.layerNorm(r([2, 3]), null, null, { out: new Float32Array(5) }, spy), ShapeError, 'options.out'],
      ['returnStats a number', () => ak.layerNorm(r([2, 3]), null, null, { returnStats: 1 }, spy), DTypeError, 'options.returnStats'],
      ['returnStats a string', () => ak.layerNorm(r([2, 3]), null, null, { returnStats: 'true' }, spy), DTypeError, 'options.returnStats'],
      ['returnStats null', () => ak.layerNorm(r([2, 3]), null, null, { returnStats: null }, spy), DTypeError, 'options.returnStats'],
      ['returnStats with a bad eps (eps checked first)', () => ak.layerNorm(r([2, 3]), null, null, { eps: -1, returnStats: true }, spy), ValueError, 'options.eps'],
    ],
  },
  linear: {
    ok: () => ak.linear(r([2, 3]), r([3, 4]), r([4]), spy),
    bad: [
      ['w wrong input dim', () => ak.linear(r([2, 3]), r([2, 4]), null, spy), ShapeError, 'w'],
      ['w rank 3', () => ak.linear(r([2, 3]), r([3, 4, 1]), null, spy), ShapeError, 'w'],
      ['b wrong length', () => ak.linear(r([2, 3]), r([3, 4]), r([3]), spy), ShapeError, 'b'],
      ['x subarray view with offset and lying shape', () => ak.linear({ data: r([10]).data.subarray(3), shape: [2, 3] }, r([3, 4]), null, spy), ShapeError, 'x'],
    ],
  },
  gelu: {
    ok: () => ak.gelu(r([5]), {}, spy),
    bad: [
      ['out wrong length', () => ak.gelu(r([5]), { out: new Float32Array(4) }, spy), ShapeError, 'options.out'],
      ['out is x', () => { const x = r([5]); return ak.gelu(x, { out: x.data }, spy); }, ValueError, 'options.out'],
      ['approximate unknown', () => ak.gelu(r([5]), { approximate: 'fast' }, spy), ValueError, 'options.approximate'],
      ['x Proxy with bad data', () => ak.gelu(new Proxy({}, { get: () => 42 }), {}, spy), DTypeError, 'x.data'],
    ],
  },
  topK: {
    ok: () => ak.topK(r([2, 3]), r([9, 3]), 4, { exclude: [[1], null] }, spy),
    bad: [
      ['k zero', () => ak.topK(r([2, 3]), r([9, 3]), 0, {}, spy), ValueError, 'k'],
      ['k > N', () => ak.topK(r([2, 3]), r([9, 3]), 10, {}, spy), ValueError, 'k'],
      ['k fractional', () => ak.topK(r([2, 3]), r([9, 3]), 2.5, {}, spy), ValueError, 'k'],
      ['items dim mismatch', () => ak.topK(r([2, 3]), r([9, 4]), 2, {}, spy), ShapeError, 'items'],
      ['exclude wrong length', () => ak.topK(r([2, 3]), r([9, 3]), 2, { exclude: [[1]] }, spy), ValueError, 'options.exclude'],
      ['exclude index out of range', () => ak.topK(r([2, 3]), r([9, 3]), 2, { exclude: [[9], null] }, spy), ValueError, 'options.exclude[0][0]'],
      ['exclude negative index', () => ak.topK(r([2, 3]), r([9, 3]), 2, { exclude: [null, [-1]] }, spy), ValueError, 'options.exclude[1][0]'],
      ['exclude not a list', () => ak.topK(r([2, 3]), r([9, 3]), 2, { exclude: [5, null] }, spy), DTypeError, 'options.exclude[0]'],
      ['largest a number', () => ak.topK(r([2, 3]), r([9, 3]), 2, { largest: 0 }, spy), DTypeError, 'options.largest'],
      ['largest a string', () => ak.topK(r([2, 3]), r([9, 3]), 2, { largest: 'false' }, spy), DTypeError, 'options.largest'],
      ['largest null', () => ak.topK(r([2, 3]), r([9, 3]), 2, { largest: null }, spy), DTypeError, 'options.largest'],
    ],
  },
  // sdpa on jagged q, k, v (#17): q [ΣLq=5,Hq=4,D=3] over 2 sequences (2, 3 rows), k/v [ΣS=6,Hkv=2,.] (4, 2 rows).
  'sdpa (jagged)': (() => {
    const jt = (rows, H, X, offsets, seed = 1) => ({ values: r([rows, H, X], seed), offsets: Int32Array.from(offsets) });
    const q = jt(5, 4, 3, [0, 2, 5]), k = jt(6, 2, 3, [0, 4, 6], 2), v = jt(6, 2, 7, [0, 4, 6], 3);
    const call = (over, opts = {}, fn = ak.sdpa) => {
      const a = { q, k, v, ...over };
      return () => fn(a.q, a.k, a.v, opts, spy);
    };
    return {
      ok: () => ak.sdpa(q, k, v, { causal: true, mask: new Uint8Array(2 * 4 + 3 * 2).fill(1), bias: new Float32Array(14), returnLse: true }, spy),
      bad: [
        ['k dense with jagged q', call({ k: r([2, 2, 4, 3]) }), DTypeError, 'k'],
        ['v dense with jagged q', call({ v: r([2, 2, 4, 7]) }), DTypeError, 'v'],
        ['k jagged with dense q', () => ak.sdpa(r([2, 4, 3, 3]), k, v, {}, spy), DTypeError, 'k'],
        ['q offsets not starting at 0', call({ q: jt(5, 4, 3, [1, 2, 5]) }), ValueError, 'q.offsets'],
        ['q offsets decreasing', call({ q: jt(5, 4, 3, [0, 3, 2, 5]) }), ValueError, 'q.offsets'],
        ['q last offset != rows', call({ q: jt(5, 4, 3, [0, 2, 4]) }), ShapeError, 'q.offsets'],
        ['q offsets a plain array', call({ q: { values: r([5, 4, 3]), offsets: [0, 2, 5] } }), DTypeError, 'q.offsets'],
        ['q values rank 4', call({ q: { values: r([5, 4, 3, 1]), offsets: Int32Array.from([0, 2, 5]) } }), ShapeError, 'q.values'],
        ['k batch count differs from q', call({ k: jt(6, 2, 3, [0, 1, 4, 6]), v: jt(6, 2, 7, [0, 1, 4, 6]) }), ShapeError, 'k.offsets'],
        ['k head dim differs from q', call({ k: jt(6, 2, 4, [0, 4, 6]) }), ShapeError, 'k.values'],
        ['Hq % Hkv != 0', call({ k: jt(6, 3, 3, [0, 4, 6]), v: jt(6, 3, 7, [0, 4, 6]) }), ShapeError, 'k.values'],
        ['v heads differ from k', call({ v: jt(6, 1, 7, [0, 4, 6]) }), ShapeError, 'v.values'],
        ['v offsets differ from k', call({ v: jt(6, 2, 7, [0, 3, 6]) }), ValueError, 'v.offsets'],
        ['v batch count differs', call({ v: jt(6, 2, 7, [0, 6]) }), ShapeError, 'v.offsets'],
        ['keyLengths with jagged keys', call({}, { keyLengths: new Int32Array([4, 2]) }), ValueError, 'options.keyLengths'],
        ['bias a dense tensor', call({}, { bias: r([4, 5, 6]) }), DTypeError, 'options.bias'],
        ['bias of the wrong size', call({}, { bias: new Float32Array(15) }), ShapeError, 'options.bias'],
        ['returnWeights with jagged rows', call({}, { returnWeights: true }), ValueError, 'options.returnWeights'],
        ['returnLogits with jagged rows', call({}, { returnLogits: true }), ValueError, 'options.returnLogits'],
        ["layout 'bhld'", call({}, { layout: 'bhld' }), ValueError, 'options.layout'],
        ['mask of the wrong size', call({}, { mask: new Uint8Array(13) }), ShapeError, 'options.mask'],
        ['mask a dense MaskLike', call({}, { mask: m([2, 1, 3, 4]) }), DTypeError, 'options.mask'],
        ['causal offsets of the wrong length', call({}, { causal: { offset: new Int32Array(3) } }), ShapeError, 'options.causal.offset'],
        ['scale NaN', call({}, { scale: NaN }), ValueError, 'options.scale'],
        ['out of the wrong size', call({}, { out: new Float32Array(5 * 4 * 7 - 1) }), ShapeError, 'options.out'],
        ['a KvCache as keys', () => ak.sdpa(q, new ak.KvCache({ batch: 2, kvHeads: 2, headDim: 3, capacity: 4 }), {}, spy), DTypeError, 'k'],
        ['sdpaBackward on jagged', () => ak.sdpaBackward(q, q, k, v, q, q, {}, spy), ValueError, 'dOut'],
      ],
    };
  })(),
  sdpaBackward: (() => {
    // q [2,4,3,5], k [2,2,7,5], v [2,2,7,6]: out and dOut [2,4,3,6], lse [2,4,3].
    const q = r([2, 4, 3, 5]), k = r([2, 2, 7, 5], 2), v = r([2, 2, 7, 6], 3);
    const g = r([2, 4, 3, 6], 4), o = r([2, 4, 3, 6], 5), l = r([2, 4, 3], 6);
    const call = (over, opts = {}) => {
      const a = { g, q, k, v, o, l, ...over };
      return () => ak.sdpaBackward(a.g, a.q, a.k, a.v, a.o, a.l, opts, spy);
    };
    return {
      ok: () => ak.sdpaBackward(g, q, k, v, o, l, { causal: true, bias: r([3, 7]), returnDBias: true }, spy),
      bad: [
        ['dOut null', call({ g: null }), DTypeError, 'dOut'],
        ['dOut Float64Array', call({ g: { data: new Float64Array(144), shape: [2, 4, 3, 6] } }), DTypeError, 'dOut.data'],
        ['dOut rows differ from q', call({ g: r([2, 4, 2, 6]) }), ShapeError, 'dOut'],
        ['dOut head dim is D, not Dv', call({ g: r([2, 4, 3, 5]) }), ShapeError, 'dOut'],
        ['dOut float16', call({ g: ak.toFloat16(g) }), DTypeError, 'dOut'],
        ['q float16 (backward is float32)', call({ q: ak.toFloat16(q) }), DTypeError, 'q'],
        ['k bfloat16', call({ k: ak.toBFloat16(k) }), DTypeError, 'k'],
        ['q rank 3', call({ q: r([8, 3, 5]) }), ShapeError, 'q'],
        ['k batch mismatch', call({ k: r([1, 2, 7, 5]) }), ShapeError, 'k'],
        ['Hq % Hkv != 0', call({ k: r([2, 3, 7, 5]), v: r([2, 3, 7, 6]) }), ShapeError, 'k'],
        ['v key count mismatch', call({ v: r([2, 2, 6, 6]) }), ShapeError, 'v'],
        ['out shape mismatch', call({ o: r([2, 4, 3, 7]) }), ShapeError, 'out'],
        ['out missing', call({ o: undefined }), DTypeError, 'out'],
        ['lse [B,Hq,L+1]', call({ l: r([2, 4, 4]) }), ShapeError, 'lse'],
        ['lse rank 4', call({ l: r([2, 4, 3, 1]) }), ShapeError, 'lse'],
        ['lse in the blhd order', call({ l: r([2, 3, 4]) }), ShapeError, 'lse'],
        ['layout blhd with bhld tensors', call({}, { layout: 'blhd' }), ShapeError, 'k'],
        ['bias float16', call({}, { bias: ak.toFloat16(r([3, 7])) }), DTypeError, 'options.bias'],
        ['bias wrong broadcast', call({}, { bias: r([3, 6]) }), ShapeError, 'options.bias'],
        ['mask wrong broadcast', call({}, { mask: m([4, 7]) }), ShapeError, 'options.mask'],
        ['returnDBias without a bias', call({}, { returnDBias: true }), ValueError, 'options.returnDBias'],
        ['returnDBias a string', call({}, { bias: r([3, 7]), returnDBias: 'yes' }), DTypeError, 'options.returnDBias'],
        ['returnLse (a forward option)', call({}, { returnLse: true }), ValueError, 'options.returnLse'],
        ['scale NaN', call({}, { scale: NaN }), ValueError, 'options.scale'],
        ['softcap negative', call({}, { softcap: -1 }), ValueError, 'options.softcap'],
        ['causal unknown form', call({}, { causal: 'upper-left' }), ValueError, 'options.causal'],
        ['window negative', call({}, { window: { left: -1 } }), ValueError, 'options.window.left'],
        ['keyLengths past S', call({}, { keyLengths: new Int32Array([8, 1]) }), ValueError, 'options.keyLengths[0]'],
      ],
    };
  })(),
  embeddingBackward: {
    ok: () => ak.embeddingBackward(r([5, 3]), Int32Array.of(0, 2, 2, 1, 0), 3, { paddingIndex: 1 }, spy),
    bad: [
      ['dOut null', () => ak.embeddingBackward(null, Int32Array.of(0), 3, {}, spy), DTypeError, 'dOut'],
      ['dOut scalar', () => ak.embeddingBackward({ data: new Float32Array(1), shape: [] }, Int32Array.of(0), 3, {}, spy), ShapeError, 'dOut'],
      ['indices a plain array', () => ak.embeddingBackward(r([2, 3]), [0, 1], 3, {}, spy), DTypeError, 'indices'],
      ['indices Float32Array', () => ak.embeddingBackward(r([2, 3]), Float32Array.of(0, 1), 3, {}, spy), DTypeError, 'indices'],
      ['indices of the wrong length', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 1, 2), 3, {}, spy), ShapeError, 'indices'],
      ['indices[1] = numItems', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 3), 3, {}, spy), ValueError, 'indices[1]'],
      ['indices[0] negative', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(-1, 0), 3, {}, spy), ValueError, 'indices[0]'],
      ['numItems 0', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 0, {}, spy), ValueError, 'numItems'],
      ['numItems fractional', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 2.5, {}, spy), ValueError, 'numItems'],
      ['numItems x E past 2^31-1', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 2 ** 30, {}, spy), ValueError, 'numItems'],
      ['paddingIndex = numItems', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 3, { paddingIndex: 3 }, spy), ValueError, 'options.paddingIndex'],
      ['paddingIndex below -numItems', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 3, { paddingIndex: -4 }, spy), ValueError, 'options.paddingIndex'],
      ['paddingIndex fractional', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 3, { paddingIndex: 0.5 }, spy), ValueError, 'options.paddingIndex'],
      ['out wrong length', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 3, { out: new Float32Array(6) }, spy), ShapeError, 'options.out'],
      ['out is dOut', () => { const d = r([3, 3]); return ak.embeddingBackward(d, Int32Array.of(0, 0, 1), 3, { out: d.data }, spy); }, ValueError, 'options.out'],
      ['unknown option', () => ak.embeddingBackward(r([2, 3]), Int32Array.of(0, 0), 3, { padding_idx: 0 }, spy), ValueError, 'options.padding_idx'],
      ['half dOut', () => ak.embeddingBackward(ak.toBFloat16(r([2, 3])), Int32Array.of(0, 0), 3, {}, spy), DTypeError, 'dOut'],
    ],
  },
  adamStep: {
    ok: () => { const p = r([4, 3]); return ak.adamStep(p, r([4, 3], 2), ak.adamState(p), { lr: 0.1 }, spy); },
    bad: [
      ['param null', () => ak.adamStep(null, r([4, 3]), ak.adamState(r([4, 3])), {}, spy), DTypeError, 'param'],
      ['grad of another shape', () => ak.adamStep(r([4, 3]), r([3, 4]), ak.adamState(r([4, 3])), {}, spy), ShapeError, 'grad'],
      ['state missing', () => ak.adamStep(r([4, 3]), r([4, 3]), undefined, {}, spy), DTypeError, 'state'],
      ['state.m too short', () => ak.adamStep(r([4, 3]), r([4, 3]), { m: new Float32Array(11), v: new Float32Array(12), step: 0 }, {}, spy), ShapeError, 'state.m'],
      ['state.v Float64Array', () => ak.adamStep(r([4, 3]), r([4, 3]), { m: new Float32Array(12), v: new Float64Array(12), step: 0 }, {}, spy), DTypeError, 'state.v'],
      ['state.step negative', () => ak.adamStep(r([4, 3]), r([4, 3]), { m: new Float32Array(12), v: new Float32Array(12), step: -1 }, {}, spy), ValueError, 'state.step'],
      ['state.step fractional', () => ak.adamStep(r([4, 3]), r([4, 3]), { m: new Float32Array(12), v: new Float32Array(12), step: 1.5 }, {}, spy), ValueError, 'state.step'],
      ['state.step read-only', () => ak.adamStep(r([4, 3]), r([4, 3]), Object.freeze({ m: new Float32Array(12), v: new Float32Array(12), step: 0 }), {}, spy), ValueError, 'state.step'],
      ['state unknown key', () => ak.adamStep(r([4, 3]), r([4, 3]), { m: new Float32Array(12), v: new Float32Array(12), step: 0, exp_avg: 1 }, {}, spy), ValueError, 'state.exp_avg'],
      ['state.m is param', () => { const p = r([4, 3]); return ak.adamStep(p, r([4, 3]), { m: p.data, v: new Float32Array(12), step: 0 }, {}, spy); }, ValueError, 'state.m'],
      ['grad overlaps param', () => { const b = new Float32Array(20); return ak.adamStep({ data: b.subarray(0, 12), shape: [4, 3] }, { data: b.subarray(8, 20), shape: [4, 3] }, ak.adamState(r([4, 3])), {}, spy); }, ValueError, 'grad'],
      ['lr negative', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { lr: -1 }, spy), ValueError, 'options.lr'],
      ['beta1 = 1', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { beta1: 1 }, spy), ValueError, 'options.beta1'],
      ['beta2 NaN', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { beta2: NaN }, spy), ValueError, 'options.beta2'],
      ['eps negative', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { eps: -1e-8 }, spy), ValueError, 'options.eps'],
      ['weightDecay negative', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { weightDecay: -0.1 }, spy), ValueError, 'options.weightDecay'],
      ['maximize a number', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { maximize: 1 }, spy), DTypeError, 'options.maximize'],
      ['betas (PyTorch spelling)', () => ak.adamStep(r([4, 3]), r([4, 3]), ak.adamState(r([4, 3])), { betas: [0.9, 0.99] }, spy), ValueError, 'options.betas'],
    ],
  },
  hstuAttention: (() => {
    // Jagged q, k [T=6,H=2,D=4], v [6,2,3] over lengths [2, 0, 4].
    const offs = () => Int32Array.of(0, 2, 2, 6);
    const jg = (X, seed = 1, o = offs()) => ({ values: r([o[o.length - 1], 2, X], seed), offsets: o });
    const arg = (over, name, def) => (name in over ? over[name] : def);
    const call = (o = {}, over = {}) => () => ak.hstuAttention(arg(over, 'q', jg(4, 1)), arg(over, 'k', jg(4, 2)), arg(over, 'v', jg(3, 3)), o, spy);
    const times = () => new Float64Array([0, 5, 1, 2, 3, 4]);
    return {
      ok: call({ numTargets: Int32Array.of(1, 0, 2), positionBias: r([2, 7]), timestamps: times(), timeBias: r([5]), contextualLength: 1, maxAttnLen: 2 }),
      bad: [
        ['q null', call({}, { q: null }), DTypeError, 'q'],
        ['q a plain tensor (not jagged)', call({}, { q: r([6, 2, 4]) }), DTypeError, 'q'],
        ['q.offsets a plain array', call({}, { q: { values: r([6, 2, 4]), offsets: [0, 2, 2, 6] } }), DTypeError, 'q.offsets'],
        ['q rank 2', call({}, { q: { values: r([6, 8]), offsets: offs() } }), ShapeError, 'q.values'],
        ['q offsets past the rows', call({}, { q: { values: r([6, 2, 4]), offsets: Int32Array.of(0, 2, 2, 7) } }), ShapeError, 'q.offsets'],
        ['q offsets decreasing', call({}, { q: { values: r([6, 2, 4]), offsets: Int32Array.of(0, 3, 2, 6) } }), ValueError, 'q.offsets'],
        ['q float16', call({}, { q: { values: ak.toFloat16(r([6, 2, 4])), offsets: offs() } }), DTypeError, 'q.values'],
        ['q zero heads', call({}, { q: { values: { data: new Float32Array(0), shape: [6, 0, 4] }, offsets: offs() } }), ShapeError, 'q.values'],
        ['k head dim mismatch', call({}, { k: jg(5, 2) }), ShapeError, 'k.values'],
        ['k heads mismatch', call({}, { k: { values: r([6, 3, 4]), offsets: offs() } }), ShapeError, 'k.values'],
        ['k other offsets (same total)', call({}, { k: { values: r([6, 2, 4]), offsets: Int32Array.of(0, 3, 3, 6) } }), ValueError, 'k.offsets'],
        ['k other batch size', call({}, { k: { values: r([6, 2, 4]), offsets: Int32Array.of(0, 6) } }), ShapeError, 'k.offsets'],
        ['v other offsets', call({}, { v: { values: r([6, 2, 3]), offsets: Int32Array.of(0, 1, 2, 6) } }), ValueError, 'v.offsets'],
        ['v heads mismatch', call({}, { v: { values: r([6, 1, 3]), offsets: offs() } }), ShapeError, 'v.values'],
        ['alpha NaN', call({ alpha: NaN }), ValueError, 'options.alpha'],
        ['maxLength below the longest sequence', call({ maxLength: 3 }), ValueError, 'options.maxLength'],
        ['maxLength 0', call({ maxLength: 0 }), ValueError, 'options.maxLength'],
        ['maxLength fractional', call({ maxLength: 4.5 }), ValueError, 'options.maxLength'],
        ['normalization unknown', call({ normalization: 'sum' }), ValueError, 'options.normalization'],
        ['causal a number', call({ causal: 1 }), DTypeError, 'options.causal'],
        ['numTargets a plain array', call({ numTargets: [0, 0, 0] }), DTypeError, 'options.numTargets'],
        ['numTargets of the wrong length', call({ numTargets: Int32Array.of(0, 0) }), ShapeError, 'options.numTargets'],
        ['numTargets[2] past n_b', call({ numTargets: Int32Array.of(0, 0, 5) }), ValueError, 'options.numTargets[2]'],
        ['numTargets[0] negative', call({ numTargets: Int32Array.of(-1, 0, 0) }), ValueError, 'options.numTargets[0]'],
        ['maxAttnLen negative', call({ maxAttnLen: -1 }), ValueError, 'options.maxAttnLen'],
        ['maxAttnLen fractional', call({ maxAttnLen: 1.5 }), ValueError, 'options.maxAttnLen'],
        ['contextualLength NaN', call({ contextualLength: NaN }), ValueError, 'options.contextualLength'],
        ['contextualLength negative', call({ contextualLength: -2 }), ValueError, 'options.contextualLength'],
        ['positionBias of the wrong length', call({ positionBias: r([8]) }), ShapeError, 'options.positionBias'],
        ['positionBias per head, wrong head count', call({ positionBias: r([3, 7]) }), ShapeError, 'options.positionBias'],
        ['positionBias sized for a maxLength not given', call({ positionBias: r([9]) }), ShapeError, 'options.positionBias'],
        ['positionBias Float64Array data', call({ positionBias: { data: new Float64Array(7), shape: [7] } }), DTypeError, 'options.positionBias.data'],
        ['timestamps without timeBias', call({ timestamps: times() }), ValueError, 'options.timeBias'],
        ['timeBias without timestamps', call({ timeBias: r([5]) }), ValueError, 'options.timestamps'],
        ['timestamps of the wrong length', call({ timestamps: new Float64Array(5), timeBias: r([5]) }), ShapeError, 'options.timestamps'],
        ['timestamps a plain array', call({ timestamps: [0, 1, 2, 3, 4, 5], timeBias: r([5]) }), DTypeError, 'options.timestamps'],
        ['timestamps Uint32Array', call({ timestamps: new Uint32Array(6), timeBias: r([5]) }), DTypeError, 'options.timestamps'],
        ['timestamps[3] NaN', call({ timestamps: Float64Array.of(0, 1, 2, NaN, 4, 5), timeBias: r([5]) }), ValueError, 'options.timestamps[3]'],
        ['timestamps[1] Infinity (Float32Array)', call({ timestamps: Float32Array.of(0, Infinity, 2, 3, 4, 5), timeBias: r([5]) }), ValueError, 'options.timestamps[1]'],
        ['timeBias empty', call({ timestamps: times(), timeBias: { data: new Float32Array(0), shape: [0] } }), ShapeError, 'options.timeBias'],
        ['timeBias per head, wrong head count', call({ timestamps: times(), timeBias: r([3, 5]) }), ShapeError, 'options.timeBias'],
        ['timeBias rank 3', call({ timestamps: times(), timeBias: r([1, 2, 5]) }), ShapeError, 'options.timeBias'],
        ['out of the wrong length', call({ out: new Float32Array(35) }), ShapeError, 'options.out'],
        ['out is v', () => { const v = jg(3, 3); return ak.hstuAttention(jg(4, 1), jg(4, 2), v, { out: v.values.data }, spy); }, ValueError, 'options.out'],
        ['unknown option (sdpa spelling)', call({ scale: 0.5 }), ValueError, 'options.scale'],
      ],
    };
  })(),
  hstuAttentionBackward: (() => {
    const offs = () => Int32Array.of(0, 2, 2, 6);
    const jg = (X, seed = 1, o = offs()) => ({ values: r([o[o.length - 1], 2, X], seed), offsets: o });
    const call = (o = {}, over = {}) => () => ak.hstuAttentionBackward('dOut' in over ? over.dOut : jg(3, 4), jg(4, 1), jg(4, 2), jg(3, 3), o, spy);
    return {
      ok: call({ positionBias: r([7]), timestamps: new Float64Array(6), timeBias: r([2, 4]) }),
      bad: [
        ['dOut null', call({}, { dOut: null }), DTypeError, 'dOut'],
        ['dOut width != Dv', call({}, { dOut: jg(4, 4) }), ShapeError, 'dOut.values'],
        ['dOut other offsets', call({}, { dOut: { values: r([6, 2, 3]), offsets: Int32Array.of(0, 1, 2, 6) } }), ValueError, 'dOut.offsets'],
        ['dOut bfloat16', call({}, { dOut: { values: ak.toBFloat16(r([6, 2, 3])), offsets: offs() } }), DTypeError, 'dOut.values'],
        ['numTargets[1] past n_b', call({ numTargets: Int32Array.of(0, 1, 0) }), ValueError, 'options.numTargets[1]'],
        ['timestamps[0] -Infinity', call({ timestamps: Float64Array.of(-Infinity, 0, 0, 0, 0, 0), timeBias: r([3]) }), ValueError, 'options.timestamps[0]'],
        ['out (the forward has it, the backward does not)', call({ out: new Float32Array(36) }), ValueError, 'options.out'],
      ],
    };
  })(),
};

for (const [op, { ok, bad }] of Object.entries(cases)) {
  test(`${op}: a valid call runs the kernel`, () => {
    const before = kernelCalls;
    ok();
    assert.is(kernelCalls, before + 1);
  });
  test(`${op}: every bad argument is a typed error naming it, before any kernel runs`, () => {
    for (const [what, call, cls, argument] of bad) {
      const before = kernelCalls;
      let err;
      try {
        call();
      } catch (e) {
        err = e;
      }
      assert.ok(err, `${op} / ${what}: expected an error`);
      assert.ok(err instanceof cls, `${op} / ${what}: expected ${cls.name}, got ${err?.name}: ${err?.message}`);
      assert.ok(err.message.startsWith(`${argument}`) || err.message.includes(`${argument}:`), `${op} / ${what}: message names '${argument}': ${err.message}`);
      if (err.argument !== undefined) assert.is(err.argument, argument, `${op} / ${what}: err.argument`);
      assert.is(kernelCalls, before, `${op} / ${what}: no kernel ran`);
    }
  });
}

// hstuLayer (a composite: many kernels per call) checks everything, hstuAttention's options
// included, before its first step.
{
  const E = 4, H = 2, D = 3, Dv = 2, C = 2 * H * Dv + 2 * H * D;
  const offsets = Int32Array.of(0, 3, 3, 5);
  const x = { values: r([5, E]), offsets };
  const p = { inputNorm: { gamma: r([E], 2) }, uvqk: { weight: r([E, C], 3), bias: r([C], 4) }, outputNorm: { beta: r([H * Dv], 5) }, output: { weight: r([H * Dv, E], 6) } };
  const o = { numHeads: H, headDim: D, valueDim: Dv };
  const call = (over = {}, opts = o, xx = x) => () => ak.hstuLayer(xx, { ...p, ...over }, opts, spy);
  const bad = [
    ['x null', call({}, o, null), DTypeError, 'x'],
    ['x a bare tensor', call({}, o, r([5, E])), DTypeError, 'x.values'],
    ['x values rank 3', call({}, o, { values: r([5, 2, 2]), offsets }), ShapeError, 'x.values'],
    ['x offsets end past the rows', call({}, o, { values: r([4, E]), offsets }), ShapeError, 'x.offsets'],
    ['x offsets decreasing', call({}, o, { values: r([5, E]), offsets: Int32Array.of(0, 3, 2, 5) }), ValueError, 'x.offsets'],
    ['x half values', call({}, o, { values: ak.toBFloat16(r([5, E])), offsets }), DTypeError, 'x.values'],
    ['options missing numHeads', call({}, { headDim: D }), ValueError, 'options.numHeads'],
    ['options.headDim 0', call({}, { ...o, headDim: 0 }), ValueError, 'options.headDim'],
    ['options.valueDim fractional', call({}, { ...o, valueDim: 1.5 }), ValueError, 'options.valueDim'],
    ['options.eps negative', call({}, { ...o, eps: -1e-6 }), ValueError, 'options.eps'],
    ['options.returnSaved a number', call({}, { ...o, returnSaved: 1 }), DTypeError, 'options.returnSaved'],
    ['unknown option', call({}, { ...o, numHead: 2 }), ValueError, 'options.numHead'],
    ['params unknown key', call({ norm1: {} }), ValueError, 'params.norm1'],
    ['params.uvqk missing', call({ uvqk: undefined }), DTypeError, 'params.uvqk.weight'],
    ['params.uvqk.weight [E, C-1]', call({ uvqk: { weight: r([E, C - 1]) } }), ShapeError, 'params.uvqk.weight'],
    ['params.uvqk.weight for another headDim', call({}, { ...o, headDim: 2 }), ShapeError, 'params.uvqk.weight'],
    ['params.uvqk.bias [C+1]', call({ uvqk: { weight: r([E, C]), bias: r([C + 1]) } }), ShapeError, 'params.uvqk.bias'],
    ['params.inputNorm.gamma [E+1]', call({ inputNorm: { gamma: r([E + 1]) } }), ShapeError, 'params.inputNorm.gamma'],
    ['params.inputNorm unknown key', call({ inputNorm: { weight: r([E]) } }), ValueError, 'params.inputNorm.weight'],
    ['params.outputNorm.beta [E] (not H·Dv)', call({ outputNorm: { beta: r([E + 1]) } }), ShapeError, 'params.outputNorm.beta'],
    ['params.output.weight [H·Dv+1, E]', call({ output: { weight: r([H * Dv + 1, E]) } }), ShapeError, 'params.output.weight'],
    // hstuAttention's options, through its own checks (before the layer's first step):
    ['options.numTargets of the wrong length', call({}, { ...o, numTargets: new Int32Array(2) }), ShapeError, 'options.numTargets'],
    ['options.numTargets[2] past its sequence', call({}, { ...o, numTargets: Int32Array.of(0, 0, 3) }), ValueError, 'options.numTargets[2]'],
    ['options.timestamps of the wrong length', call({}, { ...o, timestamps: new Float64Array(4), timeBias: r([5]) }), ShapeError, 'options.timestamps'],
    ['options.timestamps without timeBias', call({}, { ...o, timestamps: new Float64Array(5) }), ValueError, 'options.timeBias'],
    ['options.positionBias for another N', call({}, { ...o, positionBias: r([6]) }), ShapeError, 'options.positionBias'],
    ['options.maxLength below the longest sequence', call({}, { ...o, maxLength: 2 }), ValueError, 'options.maxLength'],
    ['options.normalization unknown', call({}, { ...o, normalization: 'sum' }), ValueError, 'options.normalization'],
    ['options.out (the attention output is internal)', call({}, { ...o, out: new Float32Array(5 * H * Dv) }), ValueError, 'options.out'],
    ['params.output.bias [H·Dv]', call({ output: { weight: r([H * Dv, E]), bias: r([H * Dv + 1]) } }), ShapeError, 'params.output.bias'],
  ];
  test('hstuLayer: a valid call runs its steps', () => {
    const before = kernelCalls;
    call()();
    assert.ok(kernelCalls >= before + 6, `the layer dispatched its steps (${kernelCalls - before})`);
  });
  test('hstuLayer: every bad argument is a typed error naming it, before any kernel runs', () => {
    for (const [what, fn, cls, argument] of bad) {
      const before = kernelCalls;
      let err;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      assert.ok(err, `hstuLayer / ${what}: expected an error`);
      assert.ok(err instanceof cls, `hstuLayer / ${what}: expected ${cls.name}, got ${err?.name}: ${err?.message}`);
      assert.ok(err.message.startsWith(`${argument}`) || err.message.includes(`${argument}:`), `hstuLayer / ${what}: message names '${argument}': ${err.message}`);
      if (err.argument !== undefined) assert.is(err.argument, argument, `hstuLayer / ${what}: err.argument`);
      assert.is(kernelCalls, before, `hstuLayer / ${what}: no kernel ran`);
    }
  });
}

test('ShapeError carries expected and received shapes', () => {
  try {
    ak.sdpa(r([2, 4, 3, 5]), r([2, 2, 7, 4]), r([2, 2, 7, 6]));
  } catch (e) {
    assert.instance(e, ShapeError);
    assert.is(e.received, '[2,2,7,4]');
    assert.match(e.expected, /D=5/);
    assert.is(e.code, 'ERR_ATTNKIT_SHAPE');
    return;
  }
  assert.unreachable();
});

test('async twins reject (not throw) on bad input', async () => {
  const p = ak.sdpaAsync(null, null, null);
  assert.instance(p, Promise);
  await p.then(() => assert.unreachable(), (e) => assert.instance(e, DTypeError));
});

test.run();
