/**
 * The Node-only part of the gpu backend: load headless-gl, make sure it can create a context
 * (on Linux it needs an X display), and start gpu.js in `headlessgl` mode. Every failure becomes
 * a {@link GpuHostUnavailable} with the reason and the command that fixes it. A browser bundle
 * replaces this file (see ./host).
 *
 * @module
 */
import { BUILD, GpuHostUnavailable, XVFB, type GpuHost, type GpuJsInstance, type GpuJsModule } from './host';


interface HeadlessContext {
  getParameter(p: number): unknown;
  getExtension(name: string): { destroy?: () => void; getParameter?: unknown } | null;
  MAX_TEXTURE_SIZE: number;
  RENDERER: number;
  VERSION: number;
}

type GlFactory = (w: number, h: number, opts?: Record<string, unknown>) => HeadlessContext | null;

function req(name: string): unknown {
  // A plain require, kept in this file so that bundlers for the browser never see it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(name);
}

/** Create the headless-gl host, or throw {@link GpuHostUnavailable} saying why and how to fix it. */
export function createHeadlessGlHost(): GpuHost {
  let glFactory: GlFactory;
  try {
    glFactory = req('gl') as GlFactory;
  } catch (e) {
    throw new GpuHostUnavailable(`the gl module (headless-gl) cannot be loaded: ${(e as Error)?.message ?? String(e)}`, BUILD);
  }
  let probe: HeadlessContext | null = null;
  try {
    probe = glFactory(1, 1, { preserveDrawingBuffer: false });
  } catch (e) {
    throw new GpuHostUnavailable(`headless-gl failed to create a context: ${(e as Error)?.message ?? String(e)}`, XVFB);
  }
  if (!probe) {
    const display = process.env.DISPLAY;
    const why = display
      ? `headless-gl could not create a GL context on DISPLAY=${display} (is the X server running, with GLX and Mesa's libgl1-mesa-dri/libglx-mesa0?)`
      : 'headless-gl could not create a GL context: no X display (DISPLAY is unset; headless-gl 8 on Linux needs one, e.g. Xvfb)';
    throw new GpuHostUnavailable(why, display ? `${XVFB}  (or: ${BUILD})` : XVFB);
  }
  const maxTextureSize = Number(probe.getParameter(probe.MAX_TEXTURE_SIZE));
  const renderer = `${String(probe.getParameter(probe.RENDERER))} / ${String(probe.getParameter(probe.VERSION))}`;
  probe.getExtension('STACKGL_destroy_context')?.destroy?.();

  let lib: GpuJsModule;
  try {
    lib = req('gpu.js') as GpuJsModule;
  } catch (e) {
    throw new GpuHostUnavailable(`gpu.js cannot be loaded: ${(e as Error)?.message ?? String(e)}`, 'npm install gpu.js@2.24.1');
  }
  let gpu: GpuJsInstance;
  try {
    // 'headlessgl' and nothing else: gpu.js's default mode would silently pick WebAssembly or CPU.
    gpu = new lib.GPU({ mode: 'headlessgl' });
  } catch (e) {
    throw new GpuHostUnavailable(`gpu.js refused headlessgl mode: ${(e as Error)?.message ?? String(e)}`, XVFB);
  }
  return {
    lib,
    gpu,
    allowedKernelClasses: ['HeadlessGLKernel'],
    maxTextureSize,
    renderer,
    mode: 'headlessgl',
    destroy: () => {
      void gpu.destroy();
    },
  };
}
