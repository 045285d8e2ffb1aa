/**
 * Worker-thread entry for off-main-thread reference kernels (see ./async).
 *
 * @module
 */
import { parentPort } from 'worker_threads';
import type { OpName, RowFilter } from '../../kernels';
import { referenceKernels } from './index';

parentPort?.on('message', (m: { id: number; op: OpName; args: never; rows: RowFilter }) => {
  try {
    const kernel = referenceKernels[m.op] as ((a: never, r: RowFilter) => unknown) | undefined;
    if (!kernel) throw new Error(`reference has no kernel for op '${m.op}'`);
    const result = kernel(m.args, m.rows);
    parentPort!.postMessage({ id: m.id, ok: true, result });
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: m.id, ok: false, error: { name: err?.name ?? 'Error', message: err?.message ?? String(e) } });
  }
});
