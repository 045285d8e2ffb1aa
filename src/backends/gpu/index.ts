/**
 * The gpu backend: gpu.js kernels compiled to GLSL, on headless-gl in Node (under an X display,
 * e.g. Xvfb + Mesa llvmpipe) and on WebGL in browsers. Every op is a pipeline of kernels whose
 * intermediates stay in textures, read back once at the end.
 *
 * Never silent: the backend only ever runs kernels whose class is a GL kernel
 * (`HeadlessGLKernel` in Node); gpu.js's CPU and WebAssembly fallbacks are refused. Without the
 * gl module or a display, `backends()` says why and how to fix it.
 *
 * Async: headless-gl loads once per process and cannot be used from worker threads, so the async
 * twins run the GPU pipeline on the main thread after yielding to the event loop once (the GL
 * work itself blocks while it runs).
 *
 * @module
 */
import { BackendUnavailableError, ValueError } from '../../errors';
import { registerBackend, type Availability } from '../../dispatch';
import { tolerancesOf } from '../../ops/registry';
import type { Kernel, OpArgs, OpName, OpResults, Widened } from '../../kernels';
import { widenArgs } from '../../half';
import { BUILD, GpuHostUnavailable, XVFB } from './host';
import { sdpaGpu } from './sdpa';
import { multiHeadAttentionGpu } from './multiHeadAttention';
import { additiveAttentionGpu } from './additiveAttention';
import { targetAttentionGpu } from './targetAttention';
import { transformerEncoderLayerGpu } from './transformerEncoderLayer';
import { softmaxGpu } from './softmax';
import { layerNormGpu } from './layerNorm';
import { linearGpu } from './linear';
import { geluGpu } from './gelu';
import { siluGpu } from './silu';
import { topKGpu } from './topK';
import { softmaxBackwardGpu } from './softmaxBackward';
import { layerNormBackwardGpu } from './layerNormBackward';
import { linearBackwardGpu } from './linearBackward';
import { geluBackwardGpu } from './geluBackward';
import { siluBackwardGpu } from './siluBackward';
import { sdpaBackwardGpu } from './sdpaBackward';
import { additiveScoresBackwardGpu } from './additiveScoresBackward';
import { embeddingBackwardGpu } from './embeddingBackward';
import { adamStepGpu } from './adamStep';
import { hstuAttentionGpu } from './hstuAttention';
import { hstuAttentionBackwardGpu } from './hstuAttentionBackward';
import { Runtime, Scope, fn, type RuntimeStats } from './runtime';

export { GpuLimitError, GpuFallbackError } from './runtime';
export { setGpuHostFactory, getGpuHostFactory, createWebGlHost, GpuHostUnavailable, type GpuHost, type GpuHostFactory, type GpuJsModule, type GpuJsInstance } from './host';
export type { RuntimeStats } from './runtime';

const runtime = new Runtime();

/** Probe: make the context, and run a kernel whose loop (1500 iterations, over gpu.js's 1000 cap) proves constants-bounded loops run whole on a real GL kernel. */
function probe(): Availability {
  try {
    const host = runtime.getHost();
    const scope = new Scope();
    try {
      const src = fn(['a'], '  let s = 0.0;\n  for (let j = 0; j < this.constants.N; j++) { s += a[j]; }\n  return s + this.thread.x;');
      const n = 1500;
      const t = runtime.run(scope, { name: 'probe', src, output: [2, 1, 1], constants: { N: n } }, [new Float32Array(n).fill(1)]);
      const got = runtime.read(t, 2);
      if (got[0] !== n || got[1] !== n + 1) {
        return { available: false, reason: `the GL probe kernel returned [${got[0]}, ${got[1]}], expected [${n}, ${n + 1}] (renderer ${host.renderer})`, fix: 'report this GL driver; use another backend meanwhile' };
      }
    } finally {
      scope.close();
    }
    return { available: true };
  } catch (e) {
    runtime.dispose();
    if (e instanceof GpuHostUnavailable) return { available: false, reason: e.message, fix: e.fix };
    return { available: false, reason: `gpu backend probe failed: ${(e as Error)?.message ?? String(e)}`, fix: `run under ${XVFB}, or: ${BUILD}` };
  }
}

/** A gpu kernel: one op's pipeline, run on the backend's runtime, over widened args (textures are float32). */
type GpuKernel<O extends OpName> = (rt: Runtime, a: Widened<OpArgs[O]>) => OpResults[O];

/**
 * The gpu kernel of every op (one file per op, `<op>.ts`), registered below from this table
 * alone. Adding an op: write `<op>.ts` exporting `<op>Gpu` and add it here.
 */
const kernels: { [O in OpName]: GpuKernel<O> } = {
  sdpa: sdpaGpu,
  multiHeadAttention: multiHeadAttentionGpu,
  additiveAttention: additiveAttentionGpu,
  targetAttention: targetAttentionGpu,
  transformerEncoderLayer: transformerEncoderLayerGpu,
  softmax: softmaxGpu,
  layerNorm: layerNormGpu,
  linear: linearGpu,
  gelu: geluGpu,
  silu: siluGpu,
  topK: topKGpu,
  softmaxBackward: softmaxBackwardGpu,
  layerNormBackward: layerNormBackwardGpu,
  linearBackward: linearBackwardGpu,
  geluBackward: geluBackwardGpu,
  siluBackward: siluBackwardGpu,
  sdpaBackward: sdpaBackwardGpu,
  additiveScoresBackward: additiveScoresBackwardGpu,
  embeddingBackward: embeddingBackwardGpu,
  adamStep: adamStepGpu,
  hstuAttention: hstuAttentionGpu,
  hstuAttentionBackward: hstuAttentionBackwardGpu,
};

function wrap<O extends OpName>(f: GpuKernel<O>): Kernel<O> {
  return (a) => {
    try {
      // Half operands are converted to float32 when uploaded: its textures are float32 (exact).
      return f(runtime, widenArgs(a) as Widened<OpArgs[O]>);
    } catch (e) {
      // The context is recreated lazily after dispose(); if that fails now, say so the typed way.
      if (e instanceof GpuHostUnavailable) throw new BackendUnavailableError('gpu', e.message, e.fix);
      throw e;
    }
  };
}

/**
 * Default verify tolerances: each op's descriptor (src/ops/<op>.ts) holds its gpu tolerance, 4x
 * what `node bench/tolerances.mjs` measures on Mesa llvmpipe (README, Tolerances). Every reduction accumulates in fp32 in GLSL, so the absolute error grows
 * with the length and scale of the sums (about 1e-7 * sqrt(n) * the size of the summed terms):
 * scale atol with your data.
 */
const tolerances = tolerancesOf('gpu', { rtol: 1e-4, atol: 1.2e-5 });

registerBackend({
  name: 'gpu',
  probe,
  kernels: Object.fromEntries(Object.entries(kernels).map(([op, f]) => [op, wrap(f as GpuKernel<OpName>)])) as { [O in OpName]: Kernel<O> },
  tolerances,
  // Measured with bench/gpu.mjs on Mesa llvmpipe (2 vCPUs): every op and shape tried is slower on
  // the GL path than on the CPU backends, so auto never picks gpu; name it to use it.
  autoRank: () => null,
  info: () => {
    const s = runtime.getStats();
    const host = runtime.active ? runtime.getHost() : null;
    return {
      renderer: host?.renderer,
      details: {
        mode: host?.mode,
        ...(host?.software ? { softwareRasteriser: host.software } : {}),
        kernelClass: host?.allowedKernelClasses.join('/'),
        maxTextureSize: host?.maxTextureSize,
        precision: 'single',
        kernelsCached: s.kernelsCached,
        kernelCacheLimit: runtime.cacheLimit,
        async: 'main thread after one yield (headless-gl cannot run in worker threads)',
      },
    };
  },
});

/**
 * Release every compiled gpu kernel, every texture and the GL context. The gpu backend stays
 * registered and available: the next gpu call creates a fresh context.
 */
export function disposeGpu(): void {
  runtime.dispose();
}

/**
 * Counters of the gpu backend's runtime: kernels cached (bounded by the LRU limit), compiled and
 * evicted, textures alive (0 between ops), kernel calls. For tests and diagnostics.
 */
export function gpuStats(): RuntimeStats & { kernelClasses: string[]; cacheLimit: number } {
  return { ...runtime.getStats(), kernelClasses: runtime.kernelClasses(), cacheLimit: runtime.cacheLimit };
}

/** Set how many compiled kernels the gpu backend keeps (each distinct shader holds about 1 MB); default 48. */
export function setGpuKernelCacheLimit(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError('n', `the kernel cache limit must be a positive integer, received ${String(n)}`);
  runtime.cacheLimit = n;
}
