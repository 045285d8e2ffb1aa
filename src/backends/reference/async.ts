/**
 * Off-main-thread reference kernels: a small pool of worker threads, created lazily, unref'd
 * while idle so they never keep the process alive. Inputs are structured-cloned into the worker,
 * so the caller may reuse its buffers as soon as the call starts.
 *
 * @module
 */
import type { OpArgs, OpName, OpResults, RowFilter } from '../../kernels';

interface Job {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

interface PoolWorker {
  worker: import('worker_threads').Worker;
  busy: number;
}

let pool: PoolWorker[] | null = null;
let nextId = 1;
const jobs = new Map<number, Job>();
let workerThreads: typeof import('worker_threads') | null | undefined;

function loadWorkerThreads(): typeof import('worker_threads') | null {
  if (workerThreads === undefined) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      workerThreads = require('worker_threads') as typeof import('worker_threads');
    } catch {
      workerThreads = null;
    }
  }
  return workerThreads;
}

function poolSize(): number {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const os = require('os') as typeof import('os');
    return Math.max(1, Math.min(4, os.availableParallelism ? os.availableParallelism() : os.cpus().length));
  } catch {
    return 1;
  }
}

function getPool(): PoolWorker[] | null {
  const wt = loadWorkerThreads();
  if (!wt || typeof __dirname !== 'string') return null;
  if (pool) return pool;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const path = require('path') as typeof import('path');
  const file = path.join(__dirname, 'worker.js');
  pool = [];
  for (let i = 0; i < poolSize(); i++) {
    const worker = new wt.Worker(file);
    const pw: PoolWorker = { worker, busy: 0 };
    worker.on('message', (m: { id: number; ok: boolean; result?: unknown; error?: { name: string; message: string } }) => {
      const job = jobs.get(m.id);
      if (!job) return;
      jobs.delete(m.id);
      pw.busy--;
      if (pw.busy === 0) worker.unref();
      if (m.ok) job.resolve(m.result);
      else {
        const e = new Error(m.error?.message ?? 'reference worker failed');
        e.name = m.error?.name ?? 'Error';
        job.reject(e);
      }
    });
    worker.on('error', (e) => {
      // A crashed worker fails every job; the pool is rebuilt on the next call.
      for (const [id, job] of jobs) {
        jobs.delete(id);
        job.reject(e);
      }
      pool = null;
    });
    worker.unref();
    pool.push(pw);
  }
  return pool;
}

/** Where async reference calls run here: `'worker_threads'` in Node, the main thread (after a yield) elsewhere. */
export function referenceAsyncMode(): string {
  return loadWorkerThreads() && typeof __dirname === 'string' ? 'worker_threads' : 'main thread after a yield (no worker_threads)';
}

/** Run a reference kernel in a worker thread (or, where there are none, after yielding once). */
export function runReferenceInWorker<O extends OpName>(op: O, args: OpArgs[O], rows: RowFilter): Promise<OpResults[O]> {
  const p = getPool();
  if (!p) {
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        try {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { referenceKernels } = require('./index') as typeof import('./index');
          resolve((referenceKernels[op] as (a: OpArgs[O], r: RowFilter) => OpResults[O])(args, rows));
        } catch (e) {
          reject(e);
        }
      }, 0);
    });
  }
  let w = p[0];
  for (const c of p) if (c.busy < w.busy) w = c;
  const id = nextId++;
  return new Promise((resolve, reject) => {
    jobs.set(id, { resolve: resolve as (v: unknown) => void, reject });
    w.busy++;
    w.worker.ref();
    w.worker.postMessage({ id, op, args, rows });
  });
}
