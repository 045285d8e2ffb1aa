/**
 * The backend registry: registration, cached availability probes, and the listing of backends.
 *
 * @module
 */
import { UnsupportedOpError, ValueError, describeType } from '../errors';
import type { OpName, ReferenceKernel } from '../kernels';
import type { Availability, BackendDefinition, BackendInfo } from './types';

/** Registered backends by name, in registration order (auto's tie-break). */
export const registry = new Map<string, BackendDefinition>();
const availabilityCache = new Map<string, Availability>();
let referenceKernels: { [O in OpName]?: ReferenceKernel<O> } = {};

/**
 * Register (or replace) a backend. Backends that ship with attnkit register themselves; a test or
 * an extension can register its own. `reference` cannot be replaced once registered: it is what
 * `verify` compares against.
 * @throws ValueError for a missing name, `'auto'`, or a second `'reference'`.
 */
export function registerBackend(def: BackendDefinition): void {
  if (!def || typeof def.name !== 'string' || !def.name || def.name === 'auto') {
    throw new ValueError('backend.name', `a non-empty name other than 'auto' is required, received ${describeType(def?.name)}`);
  }
  if (def.name === 'reference' && registry.has('reference')) {
    throw new ValueError('backend.name', "'reference' is the specification verify compares against and cannot be replaced; register your backend under another name");
  }
  registry.set(def.name, def);
  availabilityCache.delete(def.name);
  if (def.name === 'reference') referenceKernels = def.kernels as typeof referenceKernels;
}

/**
 * Remove a registered backend (for tests and extensions). Returns true if it existed.
 * @throws ValueError for `'reference'` (verify needs it).
 */
export function unregisterBackend(name: string): boolean {
  if (name === 'reference') throw new ValueError('name', "'reference' cannot be unregistered: verify compares against it");
  availabilityCache.delete(name);
  return registry.delete(name);
}

/** Forget cached availability (e.g. after building the addon in-process). */
export function resetAvailability(name?: string): void {
  if (name === undefined) availabilityCache.clear();
  else availabilityCache.delete(name);
}

/** Whether a registered backend can run here: its probe, run once and cached (resetAvailability forgets it). */
export function availability(def: BackendDefinition): Availability {
  let a = availabilityCache.get(def.name);
  if (!a) {
    try {
      a = def.probe();
    } catch (e) {
      a = { available: false, reason: `probe failed: ${(e as Error)?.message ?? String(e)}` };
    }
    availabilityCache.set(def.name, a);
  }
  return a;
}

/** Every registered backend, whether it can run here, and if not, why and how to fix it. */
export function backends(): BackendInfo[] {
  const out: BackendInfo[] = [];
  for (const def of registry.values()) {
    const a = availability(def);
    const info: BackendInfo = {
      name: def.name,
      available: a.available,
      ops: Object.keys(def.kernels) as OpName[],
    };
    if (!a.available) {
      info.reason = a.reason;
      if (a.fix) info.fix = a.fix;
    } else if (def.info) {
      try {
        Object.assign(info, def.info());
      } catch (e) {
        info.details = { infoError: (e as Error)?.message ?? String(e) };
      }
    }
    out.push(info);
  }
  return out;
}

/** The registered definition of a backend (for tools such as the bench CLI). */
export function getBackend(name: string): BackendDefinition | undefined {
  return registry.get(name);
}

/** The reference kernel of an op (what verify compares against). */
export function referenceKernel<O extends OpName>(op: O): ReferenceKernel<O> {
  const k = referenceKernels[op] as ReferenceKernel<O> | undefined;
  if (!k) throw new UnsupportedOpError('reference', op);
  return k;
}
