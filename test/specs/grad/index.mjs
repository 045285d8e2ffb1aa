// Gradient checks of every backward op against central finite differences in float64
// (test/specs/grad/fd.mjs). Each backward op contributes one module here exporting
// `gradCases()`: a list of
//   { label, forward(inputs) -> Float64Array, inputs: { name: { data: Float64Array, shape } },
//     dOut: Float64Array, call(inputs32, dOut32) -> the backward op's result,
//     grads: { inputName: resultField }, oracle?(inputs, dOut) -> { resultField: Float64Array },
//     which?: { inputName: indices } (a sample for large inputs), avoid?: reason }
// `forward` is a float64 oracle written from the forward op's definition, never src/ code.
// test/grad.test.mjs runs them: the reference backward (float64 accumulation, float32 result)
// and the independent float64 backward oracle of test/specs/oracle.mjs against the differences.
// Add `<op>Backward: () => import('./<op>.mjs')` style entries below (one line per op).

/** Backward op name -> its cases module (lazily imported). */
export const GRAD_MODULES = {
  softmaxBackward: () => import('./softmaxBackward.mjs'),
  layerNormBackward: () => import('./layerNormBackward.mjs'),
  linearBackward: () => import('./linearBackward.mjs'),
  geluBackward: () => import('./geluBackward.mjs'),
  siluBackward: () => import('./siluBackward.mjs'),
  sdpaBackward: () => import('./sdpaBackward.mjs'),
  multiHeadAttentionBackward: () => import('./multiHeadAttentionBackward.mjs'),
  transformerEncoderLayerBackward: () => import('./transformerEncoderLayerBackward.mjs'),
  additiveScoresBackward: () => import('./additiveScoresBackward.mjs'),
  additiveAttentionBackward: () => import('./additiveAttentionBackward.mjs'),
  targetAttentionBackward: () => import('./targetAttentionBackward.mjs'),
  embeddingBackward: () => import('./embeddingBackward.mjs'),
  hstuAttentionBackward: () => import('./hstuAttentionBackward.mjs'),
  hstuLayerBackward: () => import('./hstuLayerBackward.mjs'),
};
