/**
 * THE list of ops. Everything that needs to know which ops exist iterates {@link OPS}: the backend
 * tolerance tables, the bench and `attnkit verify`, the fuzzer and the shared specs, the memory
 * and valgrind subsets, the arm64 check and the README's op table. Adding an op adds one line here.
 *
 * @module
 */
import type { Tolerance } from '../dispatch';
import type { OpName } from '../kernels';
import type { OpDescriptor } from './descriptor';
import { adamStepOp } from './adamStep';
import { additiveAttentionOp } from './additiveAttention';
import { embeddingBackwardOp } from './embeddingBackward';
import { geluOp } from './gelu';
import { geluBackwardOp } from './geluBackward';
import { layerNormOp } from './layerNorm';
import { layerNormBackwardOp } from './layerNormBackward';
import { linearOp } from './linear';
import { linearBackwardOp } from './linearBackward';
import { multiHeadAttentionOp } from './multiHeadAttention';
import { sdpaOp } from './sdpa';
import { sdpaBackwardOp } from './sdpaBackward';
import { siluOp } from './silu';
import { siluBackwardOp } from './siluBackward';
import { softmaxOp } from './softmax';
import { softmaxBackwardOp } from './softmaxBackward';
import { targetAttentionOp } from './targetAttention';
import { topKOp } from './topK';
import { transformerEncoderLayerOp } from './transformerEncoderLayer';
import { additiveScoresBackwardOp } from './additiveScoresBackward';
import { hstuAttentionOp } from './hstuAttention';
import { hstuAttentionBackwardOp } from './hstuAttentionBackward';

/** Every op's descriptor, by name, in a stable order (the order of the README's op table). */
export const OPS: { readonly [O in OpName]: OpDescriptor<O> } = Object.freeze({
  sdpa: sdpaOp,
  multiHeadAttention: multiHeadAttentionOp,
  additiveAttention: additiveAttentionOp,
  targetAttention: targetAttentionOp,
  transformerEncoderLayer: transformerEncoderLayerOp,
  softmax: softmaxOp,
  layerNorm: layerNormOp,
  linear: linearOp,
  gelu: geluOp,
  silu: siluOp,
  topK: topKOp,
  softmaxBackward: softmaxBackwardOp,
  layerNormBackward: layerNormBackwardOp,
  linearBackward: linearBackwardOp,
  geluBackward: geluBackwardOp,
  siluBackward: siluBackwardOp,
  sdpaBackward: sdpaBackwardOp,
  additiveScoresBackward: additiveScoresBackwardOp,
  embeddingBackward: embeddingBackwardOp,
  adamStep: adamStepOp,
  hstuAttention: hstuAttentionOp,
  hstuAttentionBackward: hstuAttentionBackwardOp,
});

/** Every op name, in a stable order. */
export const OP_NAMES: readonly OpName[] = Object.freeze(Object.keys(OPS) as OpName[]);

/** A built-in backend's verify tolerance table, read from the descriptors (with the fallback `default`). */
export function tolerancesOf(backend: 'native' | 'gpu', fallback: Tolerance): { [O in OpName]?: Tolerance } & { default: Tolerance } {
  const t: { [O in OpName]?: Tolerance } & { default: Tolerance } = { default: fallback };
  for (const name of OP_NAMES) t[name] = OPS[name].tolerances[backend];
  return t;
}
