/**
 * The browser build's stand-in for `./backends/native` (scripts/build-browser.js swaps it in for
 * every import of that module): the same exports, no addon loader, no backend registered. Code
 * written for Node keeps working where it only asks (`nativeInfo()` says unavailable, with the
 * reason and the fix) and gets a typed {@link BackendUnavailableError} where it needs the addon.
 * The signatures are tied to the real module's by type, so the two cannot drift apart silently.
 *
 * @module
 */
import { BackendUnavailableError } from './errors';
import type * as Native from './backends/native';

export type { NativeAddonInfo, NativeAsyncStats, NativeBandwidth, NativePeak } from './backends/native/loader';
export type { BandwidthOptions } from './backends/native';

const REASON = 'the native backend is a Node.js addon and does not exist in the browser build';
const FIX = "use backend 'gpu' (WebGL) or 'reference' in browsers, or run attnkit in Node.js for the native backend";

function unavailable(): never {
  throw new BackendUnavailableError('native', REASON, FIX);
}

/** Node-only (native thread pool). @throws BackendUnavailableError always, in the browser build. */
export const setThreads: typeof Native.setThreads = () => unavailable();

/** Node-only (native thread pool). @throws BackendUnavailableError always, in the browser build. */
export const getThreads: typeof Native.getThreads = () => unavailable();

/** In the browser build: always `{ available: false }` with the reason and the fix. */
export const nativeInfo: typeof Native.nativeInfo = () => ({ available: false, reason: REASON, fix: FIX });

/** Node-only (native FMA peak). @throws BackendUnavailableError always, in the browser build. */
export const measurePeak: typeof Native.measurePeak = () => unavailable();

/** Node-only (native memory bandwidth). @throws BackendUnavailableError always, in the browser build. */
export const measureBandwidth: typeof Native.measureBandwidth = () => unavailable();

/** Node-only (native async queue). @throws BackendUnavailableError always, in the browser build. */
export const nativeAsyncStats: typeof Native.nativeAsyncStats = () => unavailable();

/** In the browser build there is no native backend to reset: does nothing. */
export const resetNative: typeof Native.resetNative = () => {};
