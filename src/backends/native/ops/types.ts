/**
 * The shape of a native op adapter: one file per op in this directory exports one of these, and
 * src/backends/native/index.ts collects them.
 *
 * @module
 */
import type { Tolerance } from '../../../dispatch';
import type { OpArgs, OpName, OpResults } from '../../../kernels';
import type { NativeAddon } from '../loader';

/** A native op: sync and async kernels over the loaded addon, and its measured tolerance. */
export interface NativeOp<O extends OpName> {
  /** The op. */
  readonly op: O;
  /** Run synchronously (the kernel still uses the thread pool). */
  sync(addon: NativeAddon, args: OpArgs[O]): OpResults[O];
  /** Run off the main thread; the promise settles with the result. */
  async(addon: NativeAddon, args: OpArgs[O]): Promise<OpResults[O]>;
  /** Verify tolerance for this op, measured against reference (see native/README.md). */
  readonly tolerance: Tolerance;
}

/** Call the addon's `<name>` function (sync). */
export function callSync<R>(addon: NativeAddon, name: string, args: object): R {
  const fn = addon[name] as ((a: object) => R) | undefined;
  if (typeof fn !== 'function') throw new Error(`attnkit native: this addon build has no ${name}(); rebuild it (npm run build:native)`);
  return fn(args);
}

/** Call the addon's `<name>Async` function. */
export function callAsync<R>(addon: NativeAddon, name: string, args: object): Promise<R> {
  const fn = addon[`${name}Async`] as ((a: object) => Promise<R>) | undefined;
  if (typeof fn !== 'function') return Promise.reject(new Error(`attnkit native: this addon build has no ${name}Async(); rebuild it (npm run build:native)`));
  return fn(args);
}

/** Every native op adapter registered so far, by op (filled by the op files' side effect). */
export const nativeOps: { [O in OpName]?: NativeOp<O> } = {};

/** Called once by each op file: `registerNativeOp(sdpaOp)`. */
export function registerNativeOp<O extends OpName>(op: NativeOp<O>): void {
  (nativeOps as Record<string, NativeOp<OpName>>)[op.op] = op as unknown as NativeOp<OpName>;
}
