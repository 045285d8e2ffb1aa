/**
 * Input builders shared by the op descriptors' case lists (seeded: every run sees the same
 * numbers) and the fuzzer's random-case helpers over a {@link CaseRandom}.
 *
 * @module
 */
import type { CaseRandom } from './descriptor';
import { random, seededRandom, type MaskTensor, type Tensor } from '../tensor';

const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/** A seeded uniform [-1, 1) tensor, times `scale`. */
export function rnd(shape: readonly number[], seed: number, scale = 1): Tensor {
  const t = random([...shape], { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
}

/** A tensor of `fn(...index)` over `shape`. */
export function tensorOf(shape: readonly number[], fn: (...idx: number[]) => number): Tensor {
  const data = new Float32Array(prod(shape));
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < data.length; f++) {
    data[f] = fn(...idx);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return { data, shape: [...shape] };
}

/** A bool mask of `fn(...index)` over `shape`. */
export function maskOf(shape: readonly number[], fn: (...idx: number[]) => boolean): MaskTensor {
  const t = tensorOf(shape, (...i) => (fn(...i) ? 1 : 0));
  return { data: Uint8Array.from(t.data), shape: t.shape };
}

/** Standard-normal logits times `sd` (long rows of these carry weight on many entries). */
export function normalLogits(shape: readonly number[], seed: number, sd: number): Tensor {
  const u = seededRandom(seed), v = seededRandom(seed + 1);
  return tensorOf(shape, () => sd * Math.sqrt(-2 * Math.log((u() + 1e-6) / (1 + 1e-6))) * Math.cos(2 * Math.PI * v()));
}

/** A DIN-style MLP over `[h, t, h-t, h*t]` (input 4·D) with the given hidden widths and one output. */
export function mlpParams(D: number, hidden: readonly number[], seed: number): { layers: { w: Tensor; b: Tensor }[] } {
  const layers: { w: Tensor; b: Tensor }[] = [];
  let inDim = 4 * D;
  [...hidden, 1].forEach((out, l) => {
    layers.push({ w: rnd([inDim, out], seed + 2 * l, 0.2), b: rnd([out], seed + 2 * l + 1, 0.1) });
    inDim = out;
  });
  return { layers };
}

/** Encoder-layer parameters for width E and FFN width F (every bias and norm present). */
export function encoderParams(E: number, F: number, seed: number) {
  return {
    attention: { wq: rnd([E, E], seed, 0.2), bq: rnd([E], seed + 1, 0.1), wk: rnd([E, E], seed + 2, 0.2), bk: rnd([E], seed + 3, 0.1), wv: rnd([E, E], seed + 4, 0.2), bv: rnd([E], seed + 5, 0.1), wo: rnd([E, E], seed + 6, 0.2), bo: rnd([E], seed + 7, 0.1) },
    norm1: { gamma: rnd([E], seed + 8, 0.5), beta: rnd([E], seed + 9, 0.1) },
    ffn: { w1: rnd([E, F], seed + 10, 0.2), b1: rnd([F], seed + 11, 0.1), w2: rnd([F, E], seed + 12, 0.2), b2: rnd([E], seed + 13, 0.1) },
    norm2: { gamma: rnd([E], seed + 14, 0.5), beta: rnd([E], seed + 15, 0.1) },
  };
}

/** `[B]` key lengths: batch 0 full minus one, batch 1 empty, the rest shorter by b. */
export function someLengths(B: number, S: number): Int32Array {
  return new Int32Array(B).map((_, b) => (b === 1 ? 0 : Math.max(0, S - 1 - b)));
}

/** A random plain `{ data, shape }` tensor, uniform in [-scale, scale). */
export function randT(R: CaseRandom, shape: readonly number[], scale = 1): Tensor {
  const d = new Float32Array(prod(shape));
  for (let i = 0; i < d.length; i++) d[i] = (R.f() * 2 - 1) * scale;
  return { data: d, shape: [...shape] };
}

/** A random mask, 3 in 4 entries set. */
export function randMask(R: CaseRandom, shape: readonly number[]): MaskTensor {
  const d = new Uint8Array(prod(shape));
  for (let i = 0; i < d.length; i++) d[i] = R.f() < 0.75 ? 1 : 0;
  return { data: d, shape: [...shape] };
}

/** A random shape broadcastable to `target`: some leading axes dropped, some axes set to 1. */
export function broadcastShape(R: CaseRandom, target: readonly number[]): number[] {
  const drop = R.int(0, target.length - 1);
  return target.slice(drop).map((d) => (R.bool(0.4) ? 1 : d));
}

/** Random key lengths in 0..S. */
export function randLengths(R: CaseRandom, B: number, S: number): Int32Array {
  const a = new Int32Array(B);
  for (let b = 0; b < B; b++) a[b] = R.int(0, S);
  return a;
}

/** A random shape of rank in [minRank, maxRank] with dims in [1, maxDim]. */
export function randShape(R: CaseRandom, minRank: number, maxRank: number, maxDim: number): number[] {
  return Array.from({ length: R.int(minRank, maxRank) }, () => R.int(1, maxDim));
}

/** The shape of a tensor-like case argument. */
export function shapeOf(t: unknown): number[] {
  return [...((t as { shape: readonly number[] }).shape)];
}

/** The options object at position `i` of a case's arguments (created when absent). */
export function optionsArg(args: unknown[], i: number): Record<string, unknown> {
  if (args[i] === undefined || args[i] === null) args[i] = {};
  return args[i] as Record<string, unknown>;
}
