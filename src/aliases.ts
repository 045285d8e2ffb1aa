/**
 * The type names of releases before every layer used one name per op. Each is the same type as
 * its new name; kept so that code written against them still compiles.
 *
 * @module
 */
import type { AdditiveAttentionArgs, MultiHeadAttentionArgs, TargetAttentionArgs, TransformerEncoderLayerArgs } from './kernels';
import type { AdditiveAttentionOptions, AdditiveAttentionParams } from './ops/additiveAttention';
import type { MultiHeadAttentionOptions, MultiHeadAttentionParams } from './ops/multiHeadAttention';
import type { TargetAttentionOptions, TargetAttentionParams } from './ops/targetAttention';
import type { TransformerEncoderLayerOptions, TransformerEncoderLayerParams } from './ops/transformerEncoderLayer';

/** @deprecated Use {@link MultiHeadAttentionArgs}. */
export type MhaArgs = MultiHeadAttentionArgs;
/** @deprecated Use {@link TransformerEncoderLayerArgs}. */
export type EncoderArgs = TransformerEncoderLayerArgs;
/** @deprecated Use {@link TargetAttentionArgs}. */
export type TargetArgs = TargetAttentionArgs;
/** @deprecated Use {@link AdditiveAttentionArgs}. */
export type AdditiveArgs = AdditiveAttentionArgs;
/** @deprecated Use {@link MultiHeadAttentionParams}. */
export type MhaParams = MultiHeadAttentionParams;
/** @deprecated Use {@link MultiHeadAttentionOptions}. */
export type MhaOptions = MultiHeadAttentionOptions;
/** @deprecated Use {@link TransformerEncoderLayerParams}. */
export type EncoderParams = TransformerEncoderLayerParams;
/** @deprecated Use {@link TransformerEncoderLayerOptions}. */
export type EncoderOptions = TransformerEncoderLayerOptions;
/** @deprecated Use {@link TargetAttentionParams}. */
export type TargetParams = TargetAttentionParams;
/** @deprecated Use {@link TargetAttentionOptions}. */
export type TargetOptions = TargetAttentionOptions;
/** @deprecated Use {@link AdditiveAttentionParams}. */
export type AdditiveParams = AdditiveAttentionParams;
/** @deprecated Use {@link AdditiveAttentionOptions}. */
export type AdditiveOptions = AdditiveAttentionOptions;
