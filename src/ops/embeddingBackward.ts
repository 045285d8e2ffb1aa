/**
 * The gradient of an embedding lookup (issue #15, docs/TRAINING.md): the scatter-add of the
 * output gradient's rows into the table rows their indices name.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import type { EmbeddingBackwardArgs } from '../kernels';
import { liveTypedArray } from '../buffers';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { optionalOut, rowsCols } from '../validate';
import { randT, rnd, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, tensor, type CaseRandom, type KnownAnswer, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link embeddingBackward}. */
export interface EmbeddingBackwardOptions {
  /**
   * PyTorch's `padding_idx`: positions whose index is this item contribute nothing, so its row of
   * the gradient stays 0. An integer in `[-numItems, numItems)`; a negative value counts from the
   * end (`numItems + paddingIndex`), as in PyTorch. Absent: every position contributes.
   */
  paddingIndex?: number;
  /**
   * Write the gradient into this Float32Array (`numItems·E` elements, sharing no memory with dOut
   * or indices) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). Every element is written. If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

/** Largest number of elements a gradient table may have (the typed-array length limit the backends share). */
const MAX_TABLE = 0x7fffffff;

/** `indices` as a live Int32Array of `N` item indices, each in `[0, numItems)`; else a typed error naming it (and the position). */
function checkIndices(value: unknown, N: number, numItems: number, dOutShape: readonly number[]): Int32Array {
  // Not a typed array (a Proxy whose traps throw included): refused before any trap can run.
  if (!ArrayBuffer.isView(value)) throw new DTypeError('indices', 'an Int32Array of N item indices (one per row of dOut)', describeType(value));
  const idx = liveTypedArray(value, 'indices', Int32Array, `an Int32Array of N item indices (one per row of dOut)`);
  if (idx.length !== N) {
    throw new ShapeError('indices', `[N=${N}] (one index per row of dOut ${formatShape(dOutShape)})`, `Int32Array(${idx.length})`);
  }
  for (let n = 0; n < N; n++) {
    const i = idx[n];
    if (i < 0 || i >= numItems) throw new ValueError(`indices[${n}]`, `expected an item index within 0..${numItems - 1} (numItems=${numItems}), received ${i}`);
  }
  return idx;
}

/** The resolved padding row: -1 (none) or an item in `[0, numItems)`. */
function paddingOf(value: unknown, numItems: number): number {
  if (value === undefined) return -1;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new ValueError('options.paddingIndex', `expected an integer item index, received ${typeof value === 'number' ? value : describeType(value)}`);
  }
  if (value < -numItems || value >= numItems) {
    throw new ValueError('options.paddingIndex', `expected an integer within -${numItems}..${numItems - 1} (numItems=${numItems}; negative counts from the end), received ${value}`);
  }
  return value < 0 ? numItems + value : value;
}

function prepareEmbeddingBackward(dOut: TensorLike, indices: Int32Array, numItems: number, options?: EmbeddingBackwardOptions | null): Prepared<'embeddingBackward', Tensor> {
  const d = asTensor(dOut, 'dOut');
  if (d.shape.length < 1) throw new ShapeError('dOut', '[N,E] or [...,E] (rank >= 1)', formatShape(d.shape));
  const { rows: N, cols: E } = rowsCols(d.shape);
  // Positions and widths are int32 in the kernels (an empty dOut may still carry a huge dim).
  if (d.shape.some((x) => x > MAX_TABLE) || N > MAX_TABLE) throw new ShapeError('dOut', `[...,E] with every dim and the row count N within 2^31-1`, formatShape(d.shape));
  if (typeof numItems !== 'number' || !Number.isInteger(numItems) || numItems < 1 || numItems > MAX_TABLE) {
    throw new ValueError('numItems', `expected the table's row count, an integer within 1..${MAX_TABLE}, received ${typeof numItems === 'number' ? numItems : describeType(numItems)}`);
  }
  if (numItems * E > MAX_TABLE) throw new ValueError('numItems', `the [numItems,E]=[${numItems},${E}] gradient would have ${numItems * E} elements, over the 2^31-1 limit`);
  const idx = checkIndices(indices, N, numItems, d.shape);
  const o = optionsFor<EmbeddingBackwardOptions>(embeddingBackwardOp, options);
  const paddingIndex = paddingOf(o.paddingIndex, numItems);
  const shape = [numItems, E];
  const out = optionalOut(o.out, 'options.out', numItems * E, `[numItems,E]=${formatShape(shape)}`, [['dOut', d.data], ['indices', idx]]);
  const args: EmbeddingBackwardArgs = { dOut: d.data, indices: idx, N, E, numItems, paddingIndex, out };
  return { op: 'embeddingBackward', args, layout: () => rowMajorLayout(numItems, { output: shape }), wrap: (r) => ({ data: intoOut(r, out), shape }) };
}

/**
 * The gradient of an embedding lookup `out[n] = table[indices[n]]` (PyTorch `nn.Embedding` /
 * `F.embedding` backward): `dTable [numItems, E]` with row `i` the sum of the rows of `dOut` at the
 * positions whose index is `i` (duplicate indices summed; items never looked up get 0).
 * `dOut` is `[N, E]` or `[..., E]` (its leading dims flattened to N), `indices` an Int32Array of N
 * item indices, each in `[0, numItems)`. `options.paddingIndex` (PyTorch `padding_idx`): positions
 * with that index contribute nothing. Sums run over positions in increasing order: in float64 on
 * reference; in float32 on native and gpu, in blocks of 64 positions added in order (a block's sum,
 * then the running total), so each item's sum has one fixed order whatever the thread count.
 *
 * @example
 * const dTable = embeddingBackward(dEmbedded, tokenIds, vocabSize, { paddingIndex: 0 });
 * @throws ShapeError (dOut, indices), DTypeError (indices not an Int32Array), ValueError naming
 *   `indices[n]` (an index outside `[0, numItems)`), `numItems` or an option.
 */
export function embeddingBackward(dOut: TensorLike, indices: Int32Array, numItems: number, options?: EmbeddingBackwardOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareEmbeddingBackward(dOut, indices, numItems, options), dispatchOptions);
}

/** The async twin of {@link embeddingBackward}. */
export function embeddingBackwardAsync(dOut: TensorLike, indices: Int32Array, numItems: number, options?: EmbeddingBackwardOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareEmbeddingBackward(dOut, indices, numItems, options), dispatchOptions);
}

/** `n` seeded item indices in `[0, numItems)`; `hot` of them (every `stride`-th) set to item `hotItem`. */
function indicesOf(n: number, numItems: number, seed: number, hot = 0, hotItem = 0): Int32Array {
  let s = seed >>> 0 || 1;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s >>> 8) % numItems;
  }
  const stride = hot > 0 ? Math.max(1, Math.floor(n / hot)) : 0;
  for (let k = 0; k < hot && k * stride < n; k++) out[k * stride] = hotItem;
  return out;
}

/** The embeddingBackward descriptor. */
export const embeddingBackwardOp: OpDescriptor<'embeddingBackward'> = defineOp({
  name: 'embeddingBackward',
  summary: 'gradient of an embedding lookup: scatter-add of dOut rows by index (duplicates summed, paddingIndex rows 0)',
  signature: 'embeddingBackward(dOut, indices, numItems, options?, dispatch?)',
  params: [tensor('dOut', []), { name: 'indices', kind: 'indices' }, { name: 'numItems', kind: 'int' }, 'options'],
  options: {
    paddingIndex: { kind: 'finite', doc: "PyTorch padding_idx: an integer item (negative counts from the end) whose positions contribute nothing; its row stays 0" },
    out: { kind: 'out', doc: 'write the gradient into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks and the quick bench cases. Native, worst
    // ISA (all three agree: the sums are additions in one fixed order): max rel error 1.3e-6,
    // then 2.1e-5 of atol needed at 4x that rtol. The atol comes from the duplicates-heavy check
    // (one item at 10,000 positions of random sign: a float32 running total of size ~100 whose
    // result is ~1, reference's float64 sum rounded once).
    native: { rtol: 5.4e-6, atol: 8.5e-5 },
    // gpu on llvmpipe: the same figures (the same blocked float32 order): max rel 1.3e-6, then
    // 2.1e-5 of atol.
    gpu: { rtol: 5.4e-6, atol: 8.5e-5 },
  },
  // One add per element of dOut; reads dOut and indices once, writes the table once.
  cost: (s) => {
    const { N, E, numItems } = s as Record<string, number>;
    return { flops: N * E, bytes: 4 * (N * E + N + numItems * E) };
  },
  fn: embeddingBackward,
  fnAsync: embeddingBackwardAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const cases: KnownAnswer[] = [];
      const rows = [[1, 2, 3], [4, 5, 6], [0.5, -1, 0.25], [-2, 8, 1e-3], [7, -7, 0]];
      const dOut = new Float32Array(rows.flat());
      const idx = Int32Array.from([2, 0, 2, 2, 3]);
      // item 0: row 1; item 1: never looked up (0); item 2: rows 0 + 2 + 3; item 3: row 4.
      const sum2 = [1 + 0.5 - 2, 2 - 1 + 8, 3 + 0.25 + Math.fround(1e-3)];
      cases.push({ label: 'duplicates summed, an unused item', args: [{ data: dOut, shape: [5, 3] }, idx, 4, {}], want: { output: [4, 5, 6, 0, 0, 0, ...sum2, 7, -7, 0] } });
      cases.push({ label: 'paddingIndex 2: its positions add nothing', args: [{ data: dOut, shape: [5, 3] }, idx, 4, { paddingIndex: 2 }], want: { output: [4, 5, 6, 0, 0, 0, 0, 0, 0, 7, -7, 0] } });
      cases.push({ label: 'paddingIndex -2 counts from the end (item 2)', args: [{ data: dOut, shape: [5, 3] }, idx, 4, { paddingIndex: -2 }], want: { output: [4, 5, 6, 0, 0, 0, 0, 0, 0, 7, -7, 0] } });
      cases.push({ label: '[B,L,E] dOut: leading dims flattened', args: [{ data: dOut.slice(0, 12), shape: [2, 2, 3] }, Int32Array.from([1, 1, 0, 1]), 2, {}], want: { output: [0.5, -1, 0.25, 1 + 4 - 2, 2 + 5 + 8, 3 + 6 + Math.fround(1e-3)] } });
      cases.push({ label: 'no positions: all 0', args: [{ data: new Float32Array(0), shape: [0, 3] }, new Int32Array(0), 2, {}], want: { output: [0, 0, 0, 0, 0, 0] } });
      cases.push({ label: 'numItems 1, one position', args: [{ data: Float32Array.of(-3.5, 2), shape: [1, 2] }, Int32Array.of(0), 1, {}], want: { output: [-3.5, 2] } });
      // One item repeated 10,000 times: 10,000·fl(0.1) exactly (a float32 running sum of 0.1 would be 0.1% off).
      const hot = new Int32Array(10001).fill(1);
      hot[5000] = 0;
      const tenth = new Float32Array(10001 * 2).fill(0.1);
      const t = Math.fround(0.1);
      cases.push({ label: 'item 1 repeated 10,000 times', args: [{ data: tenth, shape: [10001, 2] }, hot, 3, {}], want: { output: [t, t, 10000 * t, 10000 * t, 0, 0] } });
      // NaN and ±Infinity reach only the rows that sum them; NaN at a padding position does not leak.
      const nf = Float32Array.of(NaN, 1, Infinity, 2, -Infinity, 3, Infinity, 4, 5, NaN);
      cases.push({ label: 'NaN and ±Infinity propagate; NaN at paddingIndex does not leak', args: [{ data: nf, shape: [5, 2] }, Int32Array.of(0, 1, 2, 1, 3), 4, { paddingIndex: 3 }], want: { output: [NaN, 1, Infinity, 6, -Infinity, 3, 0, 0] } });
      return cases;
    },
    checks(quick) {
      const cases: OpCase[] = [];
      const add = (label: string, shape: number[], numItems: number, seed: number, opts: EmbeddingBackwardOptions = {}, hot = 0, scale = 1): void => {
        const N = shape.slice(0, -1).reduce((a, b) => a * b, 1);
        cases.push({ label, args: [rnd(shape, seed, scale), indicesOf(N, numItems, seed + 1, hot, numItems > 1 ? 1 : 0), numItems, opts] });
      };
      add('[37,17] into 11 items (many duplicates)', [37, 17], 11, 1);
      add('[300,64] into 1000 items (most unused)', [300, 64], 1000, 2);
      add('[4,25,33] into 7 items, paddingIndex 0', [4, 25, 33], 7, 3, { paddingIndex: 0 });
      add('[513,3] into 2 items, paddingIndex -1', [513, 3], 2, 4, { paddingIndex: -1 });
      add('[200,1] into 1 item (E 1, numItems 1)', [200, 1], 1, 5);
      add('[64,9] values ±1e30 into 5 items', [64, 9], 5, 6, {}, 0, 1e30);
      add('[40,7] values ±1e-30 into 3 items', [40, 7], 3, 7, {}, 0, 1e-30);
      // Duplicates-heavy: one item takes 10,000 of the positions (random signs: its sum cancels).
      add('[12000,64] item 1 at 10,000 positions', [12000, 64], 50, 8, {}, 10000);
      if (!quick) add('[20000,16] item 1 at 20,000 positions, paddingIndex 3', [20000, 16], 4, 9, { paddingIndex: 3 }, 20000);
      cases.push({ label: '[0,5] no positions', args: [{ data: new Float32Array(0), shape: [0, 5] }, new Int32Array(0), 3, {}] });
      cases.push({ label: '[6,4] NaN, ±Infinity, -0 and NaN at paddingIndex', args: [tensorOf([6, 4], (i, j) => [NaN, Infinity, -Infinity, -0, 1e30, 2][(i + j) % 6]), Int32Array.of(0, 1, 2, 2, 3, 1), 4, { paddingIndex: 1 }] });
      return cases;
    },
    bench(quick) {
      // SASRec-sized: 128 sequences of 200 positions into a 100,000-item table of width 64.
      const s = quick ? { N: 1024, numItems: 5000, E: 64 } : { N: 128 * 200, numItems: 100000, E: 64 };
      return [
        {
          label: 'item-embedding gradient',
          shape: s,
          make: () => {
            const dOut = rnd([s.N, s.E], 31, 0.1);
            const idx = indicesOf(s.N, s.numItems, 32);
            return { args: [dOut, idx, s.numItems, {}], outArgs: [dOut, idx, s.numItems, { out: new Float32Array(s.numItems * s.E) }] };
          },
        },
      ];
    },
    random(R: CaseRandom, small: boolean) {
      const numItems = R.int(1, small ? 8 : 30);
      const E = R.int(1, small ? 8 : 20);
      const lead = R.bool(0.3) ? [R.int(0, 4), R.int(1, 6)] : [R.int(0, small ? 12 : 40)];
      const N = lead.reduce((a, b) => a * b, 1);
      const idx = new Int32Array(N);
      for (let n = 0; n < N; n++) idx[n] = R.bool(0.3) ? 0 : R.int(0, numItems - 1);
      const opts: EmbeddingBackwardOptions = R.bool(0.4) ? { paddingIndex: R.int(-numItems, numItems - 1) } : {};
      return [randT(R, [...lead, E], 2), idx, numItems, opts];
    },
    small: () => [rnd([64, 16], 33), indicesOf(64, 10, 34, 20), 10, null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(R, a) {
      const idx = a[1] as Int32Array;
      const numItems = a[2] as number;
      const how = R.int(0, 4);
      if (how === 0 && idx.length > 0) {
        const n = R.int(0, idx.length - 1);
        idx[n] = R.pick([numItems, -1, 2 ** 31 - 1]);
        return `indices[${n}] := ${idx[n]} (numItems ${numItems})`;
      }
      if (how === 1) {
        a[1] = R.pick([Float32Array.from(idx), Array.from(idx), new Int32Array(idx.length + 1)]);
        return 'indices := wrong type or length';
      }
      if (how === 2) {
        a[3] = { ...((a[3] as object) ?? {}), paddingIndex: R.pick([numItems, -numItems - 1, 0.5, 2 ** 40]) };
        return `options.paddingIndex := ${(a[3] as EmbeddingBackwardOptions).paddingIndex} (numItems ${numItems})`;
      }
      a[2] = R.pick([0, -1, 1.5, '3', NaN, 2 ** 31]);
      return `numItems := ${String(a[2])}`;
    },
  },
});
