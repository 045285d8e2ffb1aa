/**
 * Backend selection: a backend named by the caller, or `'auto'` (the lowest autoRank among the
 * available backends that have the op).
 *
 * @module
 */
import { BackendUnavailableError, UnknownBackendError, UnsupportedOpError } from '../errors';
import type { Kernel, OpArgs, OpName } from '../kernels';
import { availability, registry } from './registry';
import type { BackendDefinition } from './types';

/** The backend chosen for a call, its kernel, and why. */
export interface Selected<O extends OpName> {
  def: BackendDefinition;
  kernel: Kernel<O>;
  reason: string;
}

/** Pick the backend for an op: by name (errors when it cannot run the op) or auto. */
export function select<O extends OpName>(op: O, args: OpArgs[O], requested: string): Selected<O> {
  if (requested !== 'auto') {
    const def = registry.get(requested);
    if (!def) throw new UnknownBackendError(requested, [...registry.keys()]);
    const a = availability(def);
    if (!a.available) throw new BackendUnavailableError(def.name, a.reason, a.fix);
    const kernel = def.kernels[op] as Kernel<O> | undefined;
    if (!kernel) throw new UnsupportedOpError(def.name, op);
    return { def, kernel, reason: 'requested by name' };
  }
  let best: { def: BackendDefinition; rank: number } | null = null;
  const considered: string[] = [];
  for (const def of registry.values()) {
    if (!def.kernels[op] || !def.autoRank) continue;
    if (!availability(def).available) {
      considered.push(`${def.name} (unavailable)`);
      continue;
    }
    const rank = def.autoRank(op, args);
    if (rank === null) {
      considered.push(`${def.name} (not for this problem)`);
      continue;
    }
    considered.push(`${def.name} (rank ${rank})`);
    if (!best || rank < best.rank) best = { def, rank };
  }
  if (!best) {
    const ref = registry.get('reference');
    if (ref && ref.kernels[op]) return { def: ref, kernel: ref.kernels[op] as Kernel<O>, reason: 'auto: only reference can run this' };
    throw new UnsupportedOpError('auto', op);
  }
  return {
    def: best.def,
    kernel: best.def.kernels[op] as Kernel<O>,
    reason: `auto: lowest measured rank among ${considered.join(', ')}`,
  };
}

/** Which backend `auto` (or a name) would pick for an op and its checked arguments, and why. */
export function explainSelection<O extends OpName>(op: O, args: OpArgs[O], backend = 'auto'): { backend: string; reason: string } {
  const s = select(op, args, backend);
  return { backend: s.def.name, reason: s.reason };
}
