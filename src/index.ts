/**
 * attnkit: attention kernels for Node.js and browsers behind one cross-checking dispatcher.
 *
 * @packageDocumentation
 */
import './backends/reference';
import './backends/gpu';
import './backends/native';

export {
  AttnkitError,
  ShapeError,
  DTypeError,
  ValueError,
  BackendUnavailableError,
  UnknownBackendError,
  UnsupportedOpError,
  NumericsMismatchError,
  CapacityError,
  type MismatchDetail,
  type VerifyReport,
} from './errors';
// Internal helpers of these modules (checkShape, sizeOf, formatShape, describeType) are not exported.
export {
  asTensor,
  asFloatTensor,
  asMask,
  tensor,
  fromNested,
  mask,
  zeros,
  seededRandom,
  random,
  lengths,
  toNested,
  type Tensor,
  type HalfTensor,
  type MaskTensor,
  type TensorLike,
  type FloatTensorLike,
  type MaskLike,
  type NestedArray,
  type RandomOptions,
} from './tensor';
// Jagged tensors (src/jagged.ts): values [ΣL_b, ...inner] + offsets [B+1], FBGEMM / torchrec convention.
export {
  jagged,
  asJagged,
  toPadded,
  fromPadded,
  lengthsOf,
  offsetsFromLengths,
  type JaggedTensor,
  type JaggedLike,
  type CheckedJagged,
  type JaggedExpectation,
  type ToPaddedOptions,
  type PaddedJagged,
} from './jagged';
// Half precision (src/half.ts); decodeHalf, widenArgs and widening are internal (the dispatcher's).
export {
  toFloat16,
  toBFloat16,
  toFloat32,
  halfTensor,
  float32ToFloat16Bits,
  float32ToBFloat16Bits,
  float16BitsToNumber,
  bfloat16BitsToNumber,
} from './half';
export type {
  Strided,
  DType,
  HalfDType,
  FloatData,
  DTypes,
  Widened,
  OpName,
  RowFilter,
  SdpaArgs,
  MultiHeadAttentionArgs,
  AdditiveAttentionArgs,
  TargetAttentionArgs,
  TransformerEncoderLayerArgs,
  SoftmaxArgs,
  LayerNormArgs,
  LayerNormResult,
  LinearArgs,
  GeluArgs,
  SiluArgs,
  TopKArgs,
  SoftmaxBackwardArgs,
  GeluBackwardArgs,
  SiluBackwardArgs,
  LayerNormBackwardArgs,
  LayerNormBackwardResult,
  LinearBackwardArgs,
  LinearBackwardResult,
  AdditiveScoresBackwardArgs,
  AdditiveScoresBackwardResult,
  EmbeddingBackwardArgs,
  AdamStepArgs,
  AdamStepResult,
  DenseLayer,
  AttentionResult,
  AttentionLimits,
  PoolResult,
  TopKResult,
  SdpaBackwardArgs,
  SdpaBackwardResult,
  HstuAttentionArgs,
  HstuAttentionBackwardArgs,
  HstuAttentionBackwardResult,
  OpArgs,
  OpResults,
  Kernel,
  AsyncKernel,
  ReferenceKernel,
} from './kernels';
export { OPS, OP_NAMES, tolerancesOf } from './ops/registry';
export { BAD_OPTION_VALUES, type OpDescriptor, type OptionSpec, type ParamSpec, type CaseRandom, type OpCase, type KnownAnswer, type BenchCase, type Cost, type NativeFacts } from './ops/descriptor';
export {
  backends,
  registerBackend,
  unregisterBackend,
  resetAvailability,
  getBackend,
  explainSelection,
  sampleRows,
  compareResults,
  type Availability,
  type ComparisonAcc,
  type BackendDefinition,
  type BackendInfo,
  type DispatchOptions,
  type DispatchReport,
  type OutputLayout,
  type Tolerance,
  type VerifyOptions,
} from './dispatch';
export { KvCache, type KvCacheOptions, type KvAppendOptions } from './kvCache';
export { sdpa, sdpaAsync, type SdpaOptions, type AttentionOutput, type WithExtras, type JaggedSdpaOptions, type JaggedAttentionOutput } from './ops/sdpa';
export type { CausalOption, WindowOption } from './ops/attentionLimits';
export { multiHeadAttention, multiHeadAttentionAsync, type MultiHeadAttentionParams, type MultiHeadAttentionOptions } from './ops/multiHeadAttention';
export { additiveAttention, additiveAttentionAsync, type AdditiveAttentionParams, type AdditiveAttentionOptions, type PoolOutput } from './ops/additiveAttention';
export type { JaggedPoolOutput } from './ops/jaggedPool';
export { targetAttention, targetAttentionAsync, type TargetAttentionParams, type TargetLayer, type TargetAttentionOptions } from './ops/targetAttention';
export { transformerEncoderLayer, transformerEncoderLayerAsync, positionalEncoding, type TransformerEncoderLayerParams, type TransformerEncoderLayerOptions } from './ops/transformerEncoderLayer';
export { multiHeadAttentionBackward, multiHeadAttentionBackwardAsync, type MultiHeadAttentionSaved, type MultiHeadAttentionGrads } from './ops/multiHeadAttentionBackward';
export { transformerEncoderLayerBackward, transformerEncoderLayerBackwardAsync, type TransformerEncoderLayerSaved, type TransformerEncoderLayerGrads, type SavedNorm } from './ops/transformerEncoderLayerBackward';
export type { AttentionBlockSaved, AttentionBlockGrads, AttentionBlockParamGrads } from './ops/attentionBlock';
// The HSTU layer (issue #17 item 4): a jagged composite of layerNorm, linear, silu and hstuAttention, and its backward.
export { hstuLayer, hstuLayerAsync, type HstuLayerParams, type HstuLayerOptions, type HstuLayerSaved } from './ops/hstuLayer';
export { hstuLayerBackward, hstuLayerBackwardAsync, type HstuLayerGrads } from './ops/hstuLayerBackward';
export { softmax, softmaxAsync, type SoftmaxOptions } from './ops/softmax';
export { layerNorm, layerNormAsync, type LayerNormOptions, type LayerNormStatsOutput } from './ops/layerNorm';
export { linear, linearAsync } from './ops/linear';
export { gelu, geluAsync, type GeluOptions } from './ops/gelu';
export { silu, siluAsync, type SiluOptions } from './ops/silu';
export { softmaxBackward, softmaxBackwardAsync, type SoftmaxBackwardOptions } from './ops/softmaxBackward';
export { layerNormBackward, layerNormBackwardAsync, type LayerNormStats, type LayerNormGradients } from './ops/layerNormBackward';
export { linearBackward, linearBackwardAsync, type LinearGradients } from './ops/linearBackward';
export { geluBackward, geluBackwardAsync, type GeluBackwardOptions } from './ops/geluBackward';
export { siluBackward, siluBackwardAsync, type SiluBackwardOptions } from './ops/siluBackward';
export { topK, topKAsync, mergeTopK, shardExclude, type TopKOptions, type TopKOutput, type TopKPartial, type MergeTopKOptions, type JaggedExclude } from './ops/topK';
export { sdpaBackward, sdpaBackwardAsync, type SdpaBackwardOptions, type SdpaBackwardOutput } from './ops/sdpaBackward';
export { additiveScoresBackward, additiveScoresBackwardAsync, type AdditiveScoresGradients } from './ops/additiveScoresBackward';
export { additiveAttentionBackward, additiveAttentionBackwardAsync, type AdditiveAttentionSaved, type AdditiveAttentionGrads } from './ops/additiveAttentionBackward';
export { targetAttentionBackward, targetAttentionBackwardAsync, type TargetAttentionSaved, type TargetAttentionGrads, type SavedTargetLayer } from './ops/targetAttentionBackward';
export { embeddingBackward, embeddingBackwardAsync, type EmbeddingBackwardOptions } from './ops/embeddingBackward';
export { adamStep, adamStepAsync, adamState, type AdamState, type AdamStepOptions } from './ops/adamStep';
export { hstuAttention, hstuAttentionAsync, type HstuAttentionOptions, type HstuTimestamps } from './ops/hstuAttention';
export { hstuAttentionBackward, hstuAttentionBackwardAsync, type HstuAttentionBackwardOptions, type HstuAttentionBackwardOutput } from './ops/hstuAttentionBackward';
export { referenceKernels } from './backends/reference';
export type { MhaArgs, EncoderArgs, TargetArgs, AdditiveArgs, MhaParams, MhaOptions, EncoderParams, EncoderOptions, TargetParams, TargetOptions, AdditiveParams, AdditiveOptions } from './aliases';
export { disposeGpu, gpuStats, setGpuKernelCacheLimit, setGpuHostFactory, getGpuHostFactory, createWebGlHost, GpuHostUnavailable, GpuLimitError, GpuFallbackError, type GpuHost, type GpuHostFactory, type GpuJsModule, type GpuJsInstance, type RuntimeStats } from './backends/gpu';
export {
  setThreads,
  getThreads,
  nativeInfo,
  measurePeak,
  measureBandwidth,
  nativeAsyncStats,
  resetNative,
  type NativeAddonInfo,
  type NativeAsyncStats,
  type NativePeak,
  type NativeBandwidth,
  type BandwidthOptions,
} from './backends/native';
