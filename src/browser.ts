/**
 * attnkit for browsers: the same public API as the Node entry (it re-exports `./index`), with the
 * `reference` backend (plain TypeScript, float64 accumulation) and the `gpu` backend (gpu.js
 * kernels compiled to GLSL, on WebGL2 — or WebGL 1 where WebGL2 is missing — through gpu.js's
 * browser build).
 *
 * `scripts/build-browser.js` bundles this entry with esbuild into `dist/browser/attnkit.mjs`,
 * replacing the Node-only modules: `./backends/native` by `./browser-native` (same exports, no
 * addon, no backend registered: `nativeInfo()` says why, the rest throws BackendUnavailableError)
 * and the gpu backend's headless-gl host by a stub; it refuses to build if any other Node
 * built-in would be loaded.
 *
 * @packageDocumentation
 */
// gpu.js's browser build (the bundler follows gpu.js's "browser" field to dist/gpu-browser.js).
import * as gpujs from 'gpu.js';
import { createWebGlHost, setGpuHostFactory, GpuHostUnavailable, type GpuHost, type GpuJsModule } from './backends/gpu';

export * from './index';

const lib = gpujs as unknown as GpuJsModule;

/**
 * The browser's GL host: gpu.js in `webgl2` mode (kernel class `WebGL2Kernel`), else `webgl`
 * (`WebGLKernel`). Either way only GL kernels are accepted; gpu.js's CPU fallback never runs.
 */
function browserHost(): GpuHost {
  try {
    return createWebGlHost(lib, 'webgl2');
  } catch (e2) {
    try {
      return createWebGlHost(lib, 'webgl');
    } catch (e1) {
      const why = (e: unknown) => (e as Error)?.message ?? String(e);
      throw new GpuHostUnavailable(
        `no WebGL context for gpu.js (webgl2: ${why(e2)}; webgl: ${why(e1)})`,
        e1 instanceof GpuHostUnavailable ? e1.fix : 'use a browser with WebGL2 and float render targets (EXT_color_buffer_float)',
      );
    }
  }
}

setGpuHostFactory(browserHost);
