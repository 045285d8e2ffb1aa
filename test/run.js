#!/usr/bin/env node
// The test command. Runs every test file in its own process (so each ISA level, thread count and
// GL context gets a fresh process), sums uvu's counts and ends with `N passed, N failed`.
// Usage: node test/run.js [filter]   (filter: substring of a job label)
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const jobs = require('./jobs.js');
const filter = process.argv[2];

function hasXvfbRun() {
  return spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' }).status === 0;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failedJobs = [];
for (const job of jobs()) {
  if (filter && !job.label.includes(filter)) continue;
  let cmd = process.execPath;
  let args = [path.join(root, job.file)];
  if (job.display && !process.env.DISPLAY && hasXvfbRun()) {
    args = ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', cmd, ...args];
    cmd = 'xvfb-run';
  }
  process.stdout.write(`\n=== ${job.label}\n`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...job.env }, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: job.timeoutMs ?? 20 * 60 * 1000 });
  const out = (r.stdout || '') + (r.stderr || '');
  process.stdout.write(out);
  const num = (label) => {
    const m = out.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'));
    return m ? Number(m[1]) : null;
  };
  const total = num('Total');
  const pass = num('Passed');
  const skip = num('Skipped') ?? 0;
  if (total === null || pass === null) {
    failed += 1;
    failedJobs.push(`${job.label} (no uvu summary; exit ${r.status}${r.signal ? `, signal ${r.signal}` : ''}${r.error ? `, ${r.error.message}` : ''})`);
  } else {
    passed += pass;
    skipped += skip;
    const f = total - pass - skip;
    failed += f;
    if (f > 0 || r.status !== 0) {
      if (f === 0) failed += 1;
      failedJobs.push(`${job.label} (exit ${r.status})`);
    }
  }
  process.stdout.write(`--- ${job.label}: ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
}
if (failedJobs.length) process.stdout.write(`\nFailed: ${failedJobs.join('; ')}\n`);
process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
process.exit(failed > 0 ? 1 : 0);
