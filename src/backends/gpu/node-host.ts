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

/**
 * Whether the GL driver behind headless-gl is a software rasteriser. headless-gl's RENDERER is
 * always "ANGLE" and it has no WEBGL_debug_renderer_info, so on Linux look at what the context
 * loaded into this process: Mesa's swrast_dri.so / kms_swrast_dri.so (llvmpipe or softpipe), a
 * SwiftShader library, or Mesa's all-in-one libgallium with no GPU device (/dev/dri, /dev/nvidia*)
 * open. Returns the library that gave it away, or null (also off Linux, where it is not known).
 */
function softwareRasteriser(): string | null {
  if (process.platform !== 'linux') return null;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = req('fs') as typeof import('fs');
    const libs = new Set(fs.readFileSync('/proc/self/maps', 'utf8').split('\n').map((l) => l.trim().split(/\s+/)[5]).filter((p): p is string => !!p && p.includes('.so')));
    for (const p of libs) {
      const base = p.slice(p.lastIndexOf('/') + 1);
      if (/swiftshader/i.test(base)) return `${base} (SwiftShader)`;
      if (/^(kms_)?swrast_dri\.so|llvmpipe/i.test(base)) return `Mesa ${base} (llvmpipe / softpipe)`;
    }
    const gallium = [...libs].find((p) => /libgallium/.test(p));
    if (gallium) {
      const devices = fs.readdirSync('/proc/self/fd').map((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`);
        } catch {
          return '';
        }
      });
      if (!devices.some((d) => d.startsWith('/dev/dri/') || d.startsWith('/dev/nvidia'))) return `Mesa ${gallium.slice(gallium.lastIndexOf('/') + 1)} with no GPU device open (llvmpipe)`;
    }
  } catch {
    // unknown
  }
  return null;
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
  const software = softwareRasteriser();
  const renderer = `${String(probe.getParameter(probe.RENDERER))} / ${String(probe.getParameter(probe.VERSION))}${software ? ` · software rasteriser: ${software}` : ''}`;
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
    software,
    mode: 'headlessgl',
    destroy: () => {
      void gpu.destroy();
    },
  };
}
