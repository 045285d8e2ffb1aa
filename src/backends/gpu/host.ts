/**
 * Where the gpu backend gets its GL: a "host" is a gpu.js `GPU` instance bound to a real GL
 * context, plus the facts the backend needs about it. Node uses headless-gl (./node-host, the
 * only Node-specific file); a browser bundle installs a WebGL host with {@link setGpuHostFactory}
 * (see {@link createWebGlHost}). Nothing here touches Node APIs.
 *
 * @module
 */
import { AttnkitError } from '../../errors';

/** How to run a Node script under an X server (headless-gl needs one). */
export const XVFB = "xvfb-run -a -s '-screen 0 1x1x24 -nolisten tcp' node <your script>";
/** How to install headless-gl's build and run dependencies and rebuild it from source. */
export const BUILD = 'apt-get install build-essential python3 python-is-python3 pkg-config libx11-dev libxi-dev libxext-dev libgl1-mesa-dev libgl1-mesa-dri libglx-mesa0 xvfb xauth (as root; in the attnkit repo: bash scripts/install-system-deps.sh), then npm_config_build_from_source=gl npm rebuild gl';

/** The part of the gpu.js module the backend uses (`require('gpu.js')` or the browser build). */
export interface GpuJsModule {
  /** gpu.js's `GPU` class. */
  GPU: new (settings?: Record<string, unknown>) => GpuJsInstance;
  /** gpu.js's `input(value, size)`: a flat array viewed with dimensions `[x, y, z]`. */
  input: (value: Float32Array, size: number[]) => unknown;
}

/** The part of a gpu.js `GPU` instance the backend uses. */
export interface GpuJsInstance {
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernelRun;
  destroy(): Promise<void> | void;
  context?: unknown;
}

/** A gpu.js kernel "shortcut" (callable, with the real kernel on `.kernel`). */
export interface GpuJsKernelRun {
  (...args: unknown[]): unknown;
  kernel: { constructor: { name: string }; compiledFragmentShader?: string };
  destroy(removeCanvasReferences?: boolean): void;
}

/** A texture returned by a pipeline kernel. */
export interface GpuJsTexture {
  readonly output: number[];
  renderValues(): Float32Array | null;
  delete(): void;
}

/** A GL context with the facts the backend needs: which kernel classes are genuine GL, the limits. */
export interface GpuHost {
  /** The gpu.js module. */
  readonly lib: GpuJsModule;
  /** The GPU instance (one GL context). */
  readonly gpu: GpuJsInstance;
  /** Kernel classes that count as running on the GL context (e.g. `['HeadlessGLKernel']`). */
  readonly allowedKernelClasses: readonly string[];
  /** MAX_TEXTURE_SIZE of the context. */
  readonly maxTextureSize: number;
  /** The GL renderer / vendor strings, for `backends()`. */
  readonly renderer: string;
  /** `'headlessgl'`, `'webgl2'`, ... */
  readonly mode: string;
  /**
   * Set when the GL context is drawn by a software rasteriser on the CPU (Mesa llvmpipe /
   * softpipe, SwiftShader, Microsoft Basic Render): what gave it away. The bench times such a gpu
   * backend at small sizes only.
   */
  readonly software?: string | null;
  /** Release the GL context. */
  destroy(): void;
}

/**
 * Thrown by a host factory when no GL context can be made: the reason (the message) and the fix.
 * Code `ERR_ATTNKIT_GPU_HOST`. The dispatcher turns it into `backends()`' reason and fix, and a
 * `BackendUnavailableError` for `{ backend: 'gpu' }`.
 */
export class GpuHostUnavailable extends AttnkitError {
  /** The command or step that fixes it. */
  readonly fix: string;
  constructor(reason: string, fix: string) {
    super('ERR_ATTNKIT_GPU_HOST', reason);
    this.fix = fix;
  }
}

/** Makes a host, or throws {@link GpuHostUnavailable}. */
export type GpuHostFactory = () => GpuHost;

let factory: GpuHostFactory | null = null;

/**
 * Install the function that creates the GL host (a browser bundle installs a WebGL one; tests can
 * install a failing one). Takes effect at the next (re)creation of the context.
 */
export function setGpuHostFactory(f: GpuHostFactory | null): void {
  factory = f;
}

/** The installed factory, or the default one (headless-gl in Node; none elsewhere). */
export function getGpuHostFactory(): GpuHostFactory {
  if (factory) return factory;
  const isNode = typeof process !== 'undefined' && !!(process as { versions?: { node?: string } }).versions?.node;
  if (!isNode) {
    return () => {
      throw new GpuHostUnavailable(
        'no GL host is installed for this environment',
        "call setGpuHostFactory(() => createWebGlHost(require('gpu.js'))) in the browser bundle",
      );
    };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createHeadlessGlHost } = require('./node-host') as typeof import('./node-host');
  return createHeadlessGlHost;
}

/**
 * A browser host: gpu.js in WebGL2 (or WebGL) mode on a canvas. Only GL kernel classes are
 * accepted: a CPU fallback is an error, never a silent downgrade.
 */
export function createWebGlHost(lib: GpuJsModule, mode: 'webgl2' | 'webgl' = 'webgl2', canvas?: unknown): GpuHost {
  let gpu: GpuJsInstance;
  try {
    gpu = new lib.GPU(canvas ? { mode, canvas } : { mode });
  } catch (e) {
    throw new GpuHostUnavailable(`gpu.js could not start in ${mode} mode: ${(e as Error)?.message ?? String(e)}`, 'use a browser with WebGL2 and float render targets (EXT_color_buffer_float)');
  }
  const ctx = (gpu as { context?: { getParameter?: (p: number) => unknown; MAX_TEXTURE_SIZE?: number; RENDERER?: number } }).context;
  const max = ctx?.getParameter && ctx.MAX_TEXTURE_SIZE !== undefined ? Number(ctx.getParameter(ctx.MAX_TEXTURE_SIZE)) : 4096;
  let renderer = ctx?.getParameter && ctx.RENDERER !== undefined ? String(ctx.getParameter(ctx.RENDERER)) : 'unknown';
  // The unmasked renderer, where the browser offers it (Chromium does): "SwiftShader", "llvmpipe".
  try {
    const c = ctx as { getExtension?: (n: string) => { UNMASKED_RENDERER_WEBGL?: number } | null; getParameter?: (p: number) => unknown } | undefined;
    const dbg = c?.getExtension?.('WEBGL_debug_renderer_info');
    if (dbg && dbg.UNMASKED_RENDERER_WEBGL !== undefined && c?.getParameter) renderer = `${renderer} (${String(c.getParameter(dbg.UNMASKED_RENDERER_WEBGL))})`;
  } catch {
    // keep the masked renderer
  }
  const sw = /swiftshader|llvmpipe|softpipe|software|basic render/i.exec(renderer);
  return {
    lib,
    gpu,
    allowedKernelClasses: mode === 'webgl2' ? ['WebGL2Kernel'] : ['WebGLKernel'],
    maxTextureSize: max,
    renderer,
    software: sw ? `the renderer says ${sw[0]}` : null,
    mode,
    destroy: () => {
      void gpu.destroy();
    },
  };
}
