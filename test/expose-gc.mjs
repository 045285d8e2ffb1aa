// Tests that need global.gc(): when launched without --expose-gc (test/run.js runs `node <file>`),
// re-run the calling test file with the flag and exit with its status.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Return when gc() is available; otherwise re-run `moduleUrl` under --expose-gc and exit. */
export function requireGc(moduleUrl) {
  if (typeof globalThis.gc === 'function') return;
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(moduleUrl)], { stdio: 'inherit', env: process.env });
  process.exit(r.status ?? 1);
}
