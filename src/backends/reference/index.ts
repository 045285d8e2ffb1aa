/**
 * The reference backend: plain TypeScript, float64 accumulation, float32 results. It is the
 * definition of truth that `verify` compares every other backend with, and it runs everywhere.
 *
 * @module
 */
import { registerBackend, setReferenceAsyncRunner } from '../../dispatch';
import type { OpName, ReferenceKernel } from '../../kernels';
import { widening } from '../../half';
import { referenceAsyncMode, runReferenceInWorker } from './async';
import { adamStepReference } from './adamStep';
import { additiveAttentionReference } from './additiveAttention';
import { embeddingBackwardReference } from './embeddingBackward';
import { geluReference } from './gelu';
import { layerNormReference } from './layerNorm';
import { linearReference } from './linear';
import { multiHeadAttentionReference } from './multiHeadAttention';
import { sdpaReference } from './sdpa';
import { sdpaBackwardReference } from './sdpaBackward';
import { siluReference } from './silu';
import { softmaxReference } from './softmax';
import { targetAttentionReference } from './targetAttention';
import { topKReference } from './topK';
import { transformerEncoderLayerReference } from './transformerEncoderLayer';
import { softmaxBackwardReference } from './softmaxBackward';
import { geluBackwardReference } from './geluBackward';
import { siluBackwardReference } from './siluBackward';
import { layerNormBackwardReference } from './layerNormBackward';
import { linearBackwardReference } from './linearBackward';
import { additiveScoresBackwardReference } from './additiveScoresBackward';
import { hstuAttentionReference } from './hstuAttention';
import { hstuAttentionBackwardReference } from './hstuAttentionBackward';

/**
 * Every reference kernel, by op (each may restrict itself to a row subset for sampled verify).
 * Half-precision operands are widened to float32 first (`widening`, exact).
 * Frozen: `verify` compares against these, so no caller can swap one out.
 */
export const referenceKernels: Readonly<{ [O in OpName]?: ReferenceKernel<O> }> = Object.freeze({
  sdpa: widening(sdpaReference),
  multiHeadAttention: widening(multiHeadAttentionReference),
  additiveAttention: widening(additiveAttentionReference),
  targetAttention: widening(targetAttentionReference),
  transformerEncoderLayer: widening(transformerEncoderLayerReference),
  softmax: softmaxReference,
  layerNorm: layerNormReference,
  linear: widening(linearReference),
  gelu: geluReference,
  silu: siluReference,
  topK: widening(topKReference),
  softmaxBackward: softmaxBackwardReference,
  layerNormBackward: layerNormBackwardReference,
  linearBackward: linearBackwardReference,
  geluBackward: geluBackwardReference,
  siluBackward: siluBackwardReference,
  sdpaBackward: sdpaBackwardReference,
  additiveScoresBackward: additiveScoresBackwardReference,
  embeddingBackward: embeddingBackwardReference,
  adamStep: adamStepReference,
  hstuAttention: hstuAttentionReference,
  hstuAttentionBackward: hstuAttentionBackwardReference,
});

registerBackend({
  name: 'reference',
  probe: () => ({ available: true }),
  kernels: referenceKernels,
  // Reference compared with itself is exact.
  tolerances: { default: { rtol: 0, atol: 0 } },
  // Measured (bench/): reference is the slowest backend on every default shape, so auto picks it last.
  autoRank: () => 100,
  info: () => ({ details: { accumulation: 'float64', async: referenceAsyncMode() } }),
});

setReferenceAsyncRunner(runReferenceInWorker);
