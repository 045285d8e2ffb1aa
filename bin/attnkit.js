#!/usr/bin/env node
'use strict';
// attnkit CLI entry. headless-gl (the gpu backend in Node) needs an X display: with none, re-run
// this command under `xvfb-run` when it is installed, so `npx attnkit bench` covers the gpu too.
const { spawnSync } = require('child_process');

if (!process.env.DISPLAY && !process.env.ATTNKIT_NO_XVFB && process.platform === 'linux') {
  const probe = spawnSync('sh', ['-c', 'command -v xvfb-run'], { encoding: 'utf8' });
  if (probe.status === 0) {
    const r = spawnSync('xvfb-run', ['-a', '-s', '-screen 0 1x1x24 -nolisten tcp', process.execPath, __filename, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, ATTNKIT_NO_XVFB: '1' },
    });
    process.exit(r.status ?? 1);
  }
}

// Exit explicitly (a GL context or a worker may keep the loop alive), but only after stdout and
// stderr have drained: on a pipe they are asynchronous, and an early process.exit cut `verify`'s
// table at ~128 KB when its output outgrew the pipe.
function exitAfterFlush(code) {
  let pending = 2;
  const done = () => { if (--pending === 0) process.exit(code); };
  process.stdout.write('', done);
  process.stderr.write('', done);
}

require('../bench/cli.js')
  .main()
  .then(exitAfterFlush, (e) => {
    console.error(e && e.stack ? e.stack : e);
    exitAfterFlush(1);
  });
