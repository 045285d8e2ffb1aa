/**
 * attnkit: attention kernels for Node.js and browsers behind one cross-checking dispatcher.
 *
 * @packageDocumentation
 */
import './backends/reference';

export * from './errors';
export * from './tensor';
export type {
  Strided,
  OpName,
  RowFilter,
  SdpaArgs,
  MhaArgs,
  AdditiveArgs,
  TargetArgs,
  EncoderArgs,
  SoftmaxArgs,
  LayerNormArgs,
  LinearArgs,
  GeluArgs,
  TopKArgs,
  DenseLayer,
  AttentionResult,
  PoolResult,
  TopKResult,
  OpArgs,
  OpResults,
  Kernel,
  AsyncKernel,
  ReferenceKernel,
} from './kernels';
export { OP_NAMES } from './kernels';
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
  type BackendDefinition,
  type BackendInfo,
  type DispatchOptions,
  type DispatchReport,
  type OutputLayout,
  type Tolerance,
  type VerifyOptions,
} from './dispatch';
export { sdpa, sdpaAsync, type SdpaOptions, type AttentionOutput, type WithExtras } from './ops/sdpa';
export { referenceKernels } from './backends/reference';
